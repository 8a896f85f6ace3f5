//===- Decompose.cpp - Split sparse products into parts -------------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Analysis/DecompositionPlan.h"
#include "tesa/Analysis/SparsityLattice.h"
#include "tesa/Dialect/Tesa/IR/TesaOps.h"
#include "tesa/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/FormatVariadic.h"

namespace tesa {
#define GEN_PASS_DEF_DECOMPOSE
#include "tesa/Transforms/Passes.h.inc"
} // namespace tesa

using namespace mlir;
using namespace tesa;

namespace {

struct DecomposePass : public tesa::impl::DecomposeBase<DecomposePass> {
  using DecomposeBase::DecomposeBase;
  void runOnOperation() override;

private:
  FailureOr<DecompositionOptions> parseOptions();
  void decompose(linalg::MatmulOp op, const ChipDescription &chip,
                 const DecompositionOptions &options);
};

/// Whether `map`, over a tensor of `type`, prunes anything or keeps anything
/// below full precision.
bool isSparse(RankedTensorType type, const SparsityMap &map) {
  return map.getUniformBits() != getFullBits(type.getElementType());
}

/// Why `op` cannot be decomposed, or an empty string.
std::string getUnsupportedReason(linalg::MatmulOp op) {
  if (op.hasUserDefinedMaps())
    return "it has user-defined indexing maps";
  for (Value value : SmallVector<Value>{op.getDpsInputs()[0], op.getDpsInputs()[1],
                      op.getDpsInits()[0], op->getResult(0)}) {
    auto type = dyn_cast<RankedTensorType>(value.getType());
    if (!type)
      return "it works on buffers, not tensors";
    if (!type.hasStaticShape())
      return "its shapes are dynamic";
    if (!type.getElementType().isF32())
      return llvm::formatv("element type {0} is not f32",
                           type.getElementType())
          .str();
  }
  return "";
}

std::string describe(ArrayRef<PlannedPart> parts) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << parts.size() << (parts.size() == 1 ? " part" : " parts");
  for (const PlannedPart &part : parts) {
    os << "; ";
    if (part.kind == PlannedPart::Kind::Block)
      os << part.numUnits << " blocks of " << part.blockRows << "x"
         << part.blockColumns;
    else
      os << part.numUnits << " fine-grained elements";
    os << " at " << part.bits << " bits";
  }
  return text;
}

} // namespace

FailureOr<DecompositionOptions> DecomposePass::parseOptions() {
  DecompositionOptions options;
  if (plan == "auto")
    options.mode = DecompositionOptions::Mode::Auto;
  else if (plan == "fine")
    options.mode = DecompositionOptions::Mode::Fine;
  else if (plan == "block")
    options.mode = DecompositionOptions::Mode::Block;
  else
    return emitError(getOperation().getLoc())
           << "unknown plan '" << plan << "'; expected auto, fine or block";
  StringRef channels, reduction;
  std::tie(channels, reduction) = StringRef(blockShape).split('x');
  if (channels.getAsInteger(10, options.forcedBlock.channels) ||
      reduction.getAsInteger(10, options.forcedBlock.reduction) ||
      options.forcedBlock.channels <= 0 || options.forcedBlock.reduction <= 0)
    return emitError(getOperation().getLoc())
           << "block-shape '" << blockShape
           << "' is not <channels>x<reduction> with positive sizes";
  return options;
}

void DecomposePass::runOnOperation() {
  llvm::Expected<const ChipDescription &> chipDescription = getChip(chip);
  if (!chipDescription) {
    emitError(getOperation().getLoc())
        << llvm::toString(chipDescription.takeError());
    return signalPassFailure();
  }
  FailureOr<DecompositionOptions> options = parseOptions();
  if (failed(options))
    return signalPassFailure();
  SmallVector<linalg::MatmulOp> matmuls;
  getOperation().walk([&](linalg::MatmulOp op) { matmuls.push_back(op); });
  for (linalg::MatmulOp op : matmuls)
    decompose(op, chipDescription.get(), *options);
}

void DecomposePass::decompose(linalg::MatmulOp op, const ChipDescription &chip,
                              const DecompositionOptions &options) {
  auto lhsType = dyn_cast<RankedTensorType>(op.getDpsInputs()[0].getType());
  auto rhsType = dyn_cast<RankedTensorType>(op.getDpsInputs()[1].getType());
  if (!lhsType || !rhsType ||
      (!getSparsityEncoding(lhsType) && !getSparsityEncoding(rhsType)))
    return;
  std::string reason = getUnsupportedReason(op);
  if (!reason.empty()) {
    op.emitRemark() << "sparse product not decomposed: " << reason
                    << "; it is computed densely";
    return;
  }
  SparsityMap lhsMap = getDeclaredMap(lhsType);
  SparsityMap rhsMap = getDeclaredMap(rhsType);
  bool lhsSparse = isSparse(lhsType, lhsMap);
  bool rhsSparse = isSparse(rhsType, rhsMap);
  if (!lhsSparse && !rhsSparse)
    return;
  // Decompose the operand with fewer kept elements.
  unsigned sparseIndex =
      lhsSparse && (!rhsSparse || lhsMap.getNumKept() <= rhsMap.getNumKept())
          ? 0
          : 1;
  Value sparse = op.getDpsInputs()[sparseIndex];
  const SparsityMap &sparseMap = sparseIndex == 0 ? lhsMap : rhsMap;
  SmallVector<PlannedPart> parts = planDecomposition(
      sparseMap, /*channelsAlongRows=*/sparseIndex == 0, chip, options);
  if (emitRemarks)
    op.emitRemark() << "decomposed operand " << sparseIndex << " into "
                    << describe(parts);

  OpBuilder builder(op);
  auto sparseType = cast<RankedTensorType>(sparse.getType());
  Type resultType = op->getResult(0).getType();
  Value accumulator = op.getDpsInits()[0];
  for (const PlannedPart &part : parts) {
    auto partType = withSparsityEncoding(
        sparseType, SparsityAttr::get(op.getContext(), part.map));
    Value partValue =
        ExtractPartOp::create(builder, op.getLoc(), partType, sparse);
    Value lhs = sparseIndex == 0 ? partValue : op.getDpsInputs()[0];
    Value rhs = sparseIndex == 1 ? partValue : op.getDpsInputs()[1];
    SmallVector<int64_t> block;
    if (part.kind == PlannedPart::Kind::Block)
      block = {part.blockRows, part.blockColumns};
    accumulator = PartMatmulOp::create(
        builder, op.getLoc(), resultType, lhs, rhs, accumulator, sparseIndex,
        part.kind == PlannedPart::Kind::Block ? "block" : "fine", block,
        part.bits);
  }
  if (accumulator.getType() != resultType)
    accumulator = AnnotateOp::create(builder, op.getLoc(), resultType,
                                     accumulator);
  op->getResult(0).replaceAllUsesWith(accumulator);
  op.erase();
}
