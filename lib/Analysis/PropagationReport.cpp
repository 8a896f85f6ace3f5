//===- PropagationReport.cpp - What propagation found, per tensor ---------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Analysis/PropagationReport.h"

#include "RuleUtils.h"

#include "mlir/IR/AsmState.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/JSON.h"

using namespace mlir;
using namespace tesa;

static std::string joinNames(const llvm::SetVector<StringRef> &names) {
  std::string text;
  for (StringRef name : names) {
    if (!text.empty())
      text += ", ";
    text += name.str();
  }
  return text;
}

/// Fills in the counts and drivers of `row` for `value`.
static void describe(PropagationReportRow &row, Value value,
                     const SparsityMap &before, const SparsityMap &content,
                     const SparsityMap &demand, const SparsityMap &after) {
  // Counted on the maps' common grid, each cell weighing its elements.
  SmallVector<int64_t> grid =
      SparsityMap::getCommonGrid({&before, &content, &demand, &after});
  int64_t cellElements = 1;
  for (auto [size, cells] : llvm::zip(before.getShape(), grid))
    cellElements *= size / cells;
  std::vector<uint8_t> b = before.getEntriesOn(grid);
  std::vector<uint8_t> c = content.getEntriesOn(grid);
  std::vector<uint8_t> d = demand.getEntriesOn(grid);
  std::vector<uint8_t> a = after.getEntriesOn(grid);
  bool lowerForward = false, lowerBackward = false;
  for (size_t i = 0; i < b.size(); ++i) {
    if (b[i] == kPrunedBits)
      continue;
    if (c[i] == kPrunedBits)
      row.newlyZero += cellElements;
    else if (d[i] == kPrunedBits)
      row.newlyDead += cellElements;
    else if (a[i] < b[i]) {
      row.bitsLowered += cellElements;
      lowerForward |= c[i] < b[i];
      lowerBackward |= d[i] < b[i];
    }
  }
  row.before = before.getBitHistogram();
  row.after = after.getBitHistogram();

  SmallVector<std::string> drivers;
  if (row.newlyZero || lowerForward)
    drivers.push_back(std::string(row.newlyZero ? "zero" : "bits") +
                      " from " + row.producer);
  if (row.newlyDead || lowerBackward) {
    llvm::SetVector<StringRef> users;
    for (Operation *user : value.getUsers())
      users.insert(user->hasTrait<OpTrait::ReturnLike>()
                       ? StringRef("function result")
                       : user->getName().getStringRef());
    drivers.push_back(std::string(row.newlyDead ? "dead for " : "bits for ") +
                      (users.empty() ? std::string("no use")
                                     : joinNames(users)));
  }
  row.drivers = drivers.empty() ? "-" : llvm::join(drivers, "; ");
}

PropagationReport
PropagationReport::build(Operation *root,
                         const SparsityPropagation &propagation) {
  PropagationReport report;
  root->walk([&](FunctionOpInterface function) {
    if (function.isExternal())
      return;
    AsmState state(function);
    auto addRow = [&](Value value, StringRef producer) {
      // Destinations (tensor.empty, and fills that only seed an init) hold
      // no data anyone reads as a tensor.
      bool onlyInit = !value.use_empty() &&
                      llvm::all_of(value.getUses(), [](OpOperand &use) {
                        auto dps =
                            dyn_cast<DestinationStyleOpInterface>(use.getOwner());
                        return dps && dps.isDpsInit(&use);
                      });
      if (onlyInit)
        return;
      RankedTensorType type = getTrackedTensorType(value.getType());
      std::optional<SparsityMap> content = propagation.getContent(value);
      if (!type || !content)
        return;
      SparsityMap demand = *propagation.getDemand(value);
      PropagationReportRow row;
      row.function = function.getName().str();
      llvm::raw_string_ostream name(row.value);
      value.printAsOperand(name, state);
      row.producer = producer.str();
      row.shape.assign(type.getShape().begin(), type.getShape().end());
      llvm::raw_string_ostream element(row.elementType);
      type.getElementType().print(element);
      row.numElements = type.getNumElements();
      describe(row, value, getDeclaredMap(type), *content, demand,
               content->meet(demand));
      report.rows.push_back(std::move(row));
    };
    for (BlockArgument arg : function.getArguments())
      addRow(arg, "argument");
    function.walk([&](Operation *op) {
      for (Value result : op->getResults())
        addRow(result, op->getName().getStringRef());
    });
  });
  return report;
}

static std::string formatShape(ArrayRef<int64_t> shape) {
  std::string text;
  for (int64_t d : shape)
    text += (text.empty() ? "" : "x") + std::to_string(d);
  return text.empty() ? "scalar" : text;
}

static std::string formatPercent(int64_t part, int64_t whole) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::format("%.2f%%", whole ? 100.0 * part / whole : 0.0);
  return text;
}

/// The bit widths of kept elements, e.g. `32` or `8/32`; `-` if none.
static std::string formatBits(const BitHistogram &histogram) {
  std::string text;
  for (uint8_t bits : kAllowedBits)
    if (bits != kPrunedBits && histogram[bits] > 0)
      text += (text.empty() ? "" : "/") + std::to_string(bits);
  return text.empty() ? "-" : text;
}

void PropagationReport::printTable(raw_ostream &os) const {
  std::vector<std::vector<std::string>> table = {
      {"function", "value", "producer", "shape", "pruned before",
       "pruned after", "bits before", "bits after", "driver"}};
  int64_t elements = 0, prunedBefore = 0, prunedAfter = 0;
  for (const PropagationReportRow &row : rows) {
    table.push_back({"@" + row.function, row.value, row.producer,
                     formatShape(row.shape),
                     formatPercent(row.before[kPrunedBits], row.numElements),
                     formatPercent(row.after[kPrunedBits], row.numElements),
                     formatBits(row.before), formatBits(row.after),
                     row.drivers});
    elements += row.numElements;
    prunedBefore += row.before[kPrunedBits];
    prunedAfter += row.after[kPrunedBits];
  }
  std::vector<size_t> widths(table.front().size(), 0);
  for (const auto &line : table)
    for (size_t c = 0; c < line.size(); ++c)
      widths[c] = std::max(widths[c], line[c].size());
  os << "tesa propagation report\n";
  for (const auto &line : table) {
    for (size_t c = 0; c < line.size(); ++c) {
      os << line[c];
      if (c + 1 < line.size())
        os.indent(widths[c] - line[c].size() + 2);
    }
    os << "\n";
  }
  os << "total: " << rows.size() << " tensors, " << elements
     << " elements; pruned before " << prunedBefore << " ("
     << formatPercent(prunedBefore, elements) << "), after " << prunedAfter
     << " (" << formatPercent(prunedAfter, elements) << ")";
  if (prunedBefore > 0)
    os << llvm::format(", %.2fx", double(prunedAfter) / prunedBefore);
  os << "\n";
}

static llvm::json::Object histogramJSON(const BitHistogram &histogram) {
  llvm::json::Object object;
  for (uint8_t bits : kAllowedBits)
    object[std::to_string(bits)] = histogram[bits];
  return object;
}

void PropagationReport::printJSON(raw_ostream &os) const {
  llvm::json::Array values;
  int64_t elements = 0, prunedBefore = 0, prunedAfter = 0;
  for (const PropagationReportRow &row : rows) {
    llvm::json::Array shape;
    for (int64_t d : row.shape)
      shape.push_back(d);
    values.push_back(llvm::json::Object{
        {"function", row.function},
        {"value", row.value},
        {"producer", row.producer},
        {"shape", std::move(shape)},
        {"element_type", row.elementType},
        {"elements", row.numElements},
        {"before", histogramJSON(row.before)},
        {"after", histogramJSON(row.after)},
        {"newly_zero", row.newlyZero},
        {"newly_dead", row.newlyDead},
        {"bits_lowered", row.bitsLowered},
        {"driver", row.drivers},
    });
    elements += row.numElements;
    prunedBefore += row.before[kPrunedBits];
    prunedAfter += row.after[kPrunedBits];
  }
  llvm::json::Object totals{{"tensors", int64_t(rows.size())},
                            {"elements", elements},
                            {"pruned_before", prunedBefore},
                            {"pruned_after", prunedAfter}};
  os << llvm::formatv(
      "{0:2}\n", llvm::json::Value(llvm::json::Object{
                     {"values", std::move(values)}, {"totals", std::move(totals)}}));
}
