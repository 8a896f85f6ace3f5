//===- SparsitySummary.cpp - Per-tensor sparsity table --------------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Dialect/Tesa/IR/TesaAttrs.h"
#include "tesa/Transforms/Passes.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/ToolOutputFile.h"

namespace tesa {
#define GEN_PASS_DEF_SPARSITYSUMMARY
#include "tesa/Transforms/Passes.h.inc"
} // namespace tesa

using namespace mlir;
using namespace tesa;

namespace {
using Row = SmallVector<std::string>;

const char *const kHeader[] = {"function", "value", "shape", "element",
                               "kept",     "pruned", "4b",   "8b",
                               "16b",      "32b",    "grid"};

struct SparsitySummaryPass
    : public tesa::impl::SparsitySummaryBase<SparsitySummaryPass> {
  using Base::Base;
  void runOnOperation() override;

private:
  /// Appends the row for `value` or fails with a diagnostic.
  LogicalResult addRow(StringRef function, Value value, AsmState &state,
                       SmallVectorImpl<Row> &rows);
};
} // namespace

static std::string formatDims(ArrayRef<int64_t> dims) {
  if (dims.empty())
    return "scalar";
  return llvm::join(llvm::map_range(dims,
                                    [](int64_t d) {
                                      return ShapedType::isDynamic(d)
                                                 ? std::string("?")
                                                 : std::to_string(d);
                                    }),
                    "x");
}

/// A share of elements; "-" where there are none.
static std::string formatShare(int64_t part, int64_t whole) {
  if (part == 0)
    return "-";
  return llvm::formatv("{0:F2}%", 100.0 * part / whole).str();
}

LogicalResult SparsitySummaryPass::addRow(StringRef function, Value value,
                                          AsmState &state,
                                          SmallVectorImpl<Row> &rows) {
  auto type = dyn_cast<RankedTensorType>(value.getType());
  if (!type)
    return success();
  SparsityAttr encoding = getSparsityEncoding(type);
  if (!encoding && !includeDense)
    return success();

  // Every block has the same number of elements, so shares are counted on
  // the grid: exact for any shape, dynamic or too large to count elements.
  unsigned rank = type.getRank();
  SmallVector<int64_t> grid = encoding ? encoding.getGridShape(rank)
                                       : SmallVector<int64_t>(rank, 1);
  bool empty = llvm::is_contained(type.getShape(), 0);
  int64_t total = empty ? 0 : ShapedType::getNumElements(grid);
  int64_t kept = total;
  BitHistogram histogram;
  std::string gridText = "dense";
  if (encoding) {
    FailureOr<SparsityMap> map = encoding.getSparsityMap(
        grid, [&] { return emitError(value.getLoc()); });
    if (failed(map))
      return failure();
    if (!empty) {
      kept = map->getNumKept();
      histogram = map->getBitHistogram();
    }
    gridText = formatDims(grid);
    if (type.hasStaticShape()) {
      SmallVector<int64_t> block;
      for (auto [size, cells] : llvm::zip_equal(type.getShape(), grid))
        block.push_back(size / cells);
      gridText += " of " + formatDims(block);
    }
  } else if (Type element = type.getElementType(); element.isIntOrFloat() &&
             isAllowedBits(element.getIntOrFloatBitWidth())) {
    histogram.add(element.getIntOrFloatBitWidth(), total);
  }

  std::string name;
  llvm::raw_string_ostream nameStream(name);
  value.printAsOperand(nameStream, state);

  Row row = {function.str(), name, formatDims(type.getShape()),
             llvm::formatv("{0}", type.getElementType()).str(),
             total == 0 ? std::string("-")
                        : llvm::formatv("{0:F2}%", 100.0 * kept / total).str()};
  for (uint8_t bits : kAllowedBits)
    row.push_back(formatShare(histogram[bits], total));
  row.push_back(gridText);

  if (emitRemarks)
    emitRemark(value.getLoc())
        << name << " " << type << ": kept " << row[4] << ", pruned " << row[5]
        << ", grid " << gridText;
  rows.push_back(std::move(row));
  return success();
}

void SparsitySummaryPass::runOnOperation() {
  Operation *root = getOperation();
  AsmState state(root);
  SmallVector<Row> rows;
  bool failedAny = false;
  root->walk([&](FunctionOpInterface function) {
    std::string name = ("@" + function.getName()).str();
    for (BlockArgument argument : function.getArguments())
      failedAny |= failed(addRow(name, argument, state, rows));
    function.walk([&](Operation *op) {
      for (Value result : op->getResults())
        failedAny |= failed(addRow(name, result, state, rows));
    });
  });
  if (failedAny)
    return signalPassFailure();

  std::string error;
  std::unique_ptr<llvm::ToolOutputFile> output =
      openOutputFile(outputFile, &error);
  if (!output) {
    emitError(root->getLoc()) << "tesa-sparsity-summary: " << error;
    return signalPassFailure();
  }
  llvm::raw_ostream &os = output->os();
  SmallVector<size_t> widths;
  for (const char *title : kHeader)
    widths.push_back(StringRef(title).size());
  for (const Row &row : rows)
    for (auto [width, cell] : llvm::zip_equal(widths, row))
      width = std::max(width, cell.size());
  auto printRow = [&](auto &&cells) {
    std::string line;
    for (auto [width, cell] : llvm::zip_equal(widths, cells))
      line += (StringRef(cell) + std::string(width - StringRef(cell).size() + 2, ' ')).str();
    os << StringRef(line).rtrim() << "\n";
  };
  os << "tesa sparsity summary\n";
  printRow(kHeader);
  for (const Row &row : rows)
    printRow(row);
  if (rows.empty())
    os << "(no tensor carries a #tesa.sparsity encoding)\n";
  output->keep();
  markAllAnalysesPreserved();
}
