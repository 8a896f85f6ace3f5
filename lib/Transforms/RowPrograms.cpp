//===- RowPrograms.cpp - Which ops form a row program ---------------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// The matcher of row programs (softmax, layer norm and their elementwise
// neighbours), shared by region formation and the row-reduction family.
// Importers write a per-row value with or without the reduced dimension:
// `tensor<128x1xf32>` read through `(d0, d1) -> (d0, 0)` (torch-mlir's
// keepdim) is the same per-row value as `tensor<128xf32>` read through
// `(d0, d1) -> (d0)`; and rows with a batch of one, 1x128x768, read a
// tensor<128x768xf32> whole through `(d0, d1, d2) -> (d1, d2)`.
//
//===----------------------------------------------------------------------===//

#include "tesa/Dialect/Tesa/IR/TesaOps.h"
#include "tesa/Transforms/KernelRegions.h"

#include "llvm/ADT/DenseSet.h"

using namespace mlir;
using namespace tesa;

namespace {

llvm::Error rowError(const Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 message.str());
}

/// The loops of a step, relative to the rows.
enum class LoopShape {
  /// Rows, then the column.
  Elements,
  /// The rows alone.
  Rows,
  /// The rows, then a unit loop (keepdim).
  KeepDimRows,
};

std::optional<LoopShape> getLoopShape(linalg::GenericOp op,
                                      ArrayRef<int64_t> rows,
                                      int64_t length) {
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  if (ArrayRef<int64_t>(ranges) == rows)
    return LoopShape::Rows;
  if (ranges.size() != rows.size() + 1 ||
      ArrayRef<int64_t>(ranges).drop_back() != rows)
    return std::nullopt;
  if (ranges.back() == length)
    return LoopShape::Elements;
  if (ranges.back() == 1)
    return LoopShape::KeepDimRows;
  return std::nullopt;
}

/// How a step with loops of `shape` (static ranges `ranges`) reads a
/// tensor of `type` through `map`. Unit dimensions do not move an element's
/// flat offset, so results indexing them are left out: a constant 0 on a
/// unit dimension of the tensor (a reduced dimension kept), or a unit loop
/// over the rows (a batch of one, or the unit loop of KeepDimRows).
std::optional<RowAccess> classifyAccess(AffineMap map, ShapedType type,
                                        ArrayRef<int64_t> ranges,
                                        unsigned rowRank, LoopShape shape) {
  auto isUnitRowLoop = [&](unsigned d) {
    return ranges[d] == 1 && (d < rowRank || shape == LoopShape::KeepDimRows);
  };
  SmallVector<unsigned> dims;
  for (auto [i, result] : llvm::enumerate(map.getResults())) {
    auto constant = dyn_cast<AffineConstantExpr>(result);
    if (constant && constant.getValue() == 0 && type.getDimSize(i) == 1)
      continue;
    auto dim = dyn_cast<AffineDimExpr>(result);
    if (!dim)
      return std::nullopt;
    if (!isUnitRowLoop(dim.getPosition()))
      dims.push_back(dim.getPosition());
  }
  SmallVector<unsigned> rowDims;
  for (unsigned d = 0; d < rowRank; ++d)
    if (!isUnitRowLoop(d))
      rowDims.push_back(d);
  if (shape == LoopShape::Elements) {
    if (dims.size() == rowDims.size() + 1 && dims.back() == rowRank &&
        ArrayRef(dims).drop_back() == ArrayRef(rowDims))
      return RowAccess::Whole;
    if (dims.size() == 1 && dims[0] == rowRank)
      return RowAccess::PerColumn;
  }
  if (dims == rowDims)
    return RowAccess::PerRow;
  if (map.isProjectedPermutation(/*allowZeroInResults=*/true))
    return RowAccess::Strided;
  return std::nullopt;
}

/// Checks the steps of a row program and collects what they read.
class RowProgramMatcher {
public:
  explicit RowProgramMatcher(RowProgram &program) : program(program) {}
  llvm::Error matchStep(linalg::GenericOp op);

private:
  llvm::Error matchOperand(linalg::GenericOp op, OpOperand &operand,
                           RowStepKind kind, LoopShape shape);

  RowProgram &program;
  llvm::DenseSet<Value> produced;
};

llvm::Error RowProgramMatcher::matchStep(linalg::GenericOp op) {
  if (op->getNumResults() != 1 || op.getNumDpsInits() != 1)
    return rowError("an op is not over the rows of the region's result");
  std::optional<LoopShape> shape =
      getLoopShape(op, program.rows, program.length);
  if (!shape)
    return rowError("an op is over other rows than the region's result");
  unsigned loops = op.getNumLoops();
  bool allParallel = op.getNumParallelLoops() == loops;
  RowStepKind kind = RowStepKind::RowElementwise;
  if (*shape == LoopShape::Elements)
    kind = allParallel ? RowStepKind::Elementwise : RowStepKind::Reduction;
  else if (!allParallel)
    return rowError("an op over the rows reduces");
  if (kind == RowStepKind::Reduction &&
      (op.getNumParallelLoops() != loops - 1 || !getRowCombiner(op)))
    return rowError(
        "a reduction does not combine with addf, maximumf or andi");
  Block &body = op.getRegion().front();
  if (kind != RowStepKind::Reduction && !body.getArguments().back().use_empty())
    return rowError("an elementwise op reads its output");
  for (Operation &bodyOp : body.without_terminator())
    for (Value operand : bodyOp.getOperands())
      if (operand.getParentRegion() != &op.getRegion() &&
          !operand.getDefiningOp<arith::ConstantOp>())
        return rowError("an op's body uses a value from outside");
  program.accesses.emplace_back();
  for (OpOperand &operand : op->getOpOperands())
    if (llvm::Error error = matchOperand(op, operand, kind, *shape))
      return error;
  program.steps.push_back(op);
  program.kinds.push_back(kind);
  produced.insert(op.getResult(0));
  return llvm::Error::success();
}

llvm::Error RowProgramMatcher::matchOperand(linalg::GenericOp op,
                                            OpOperand &operand,
                                            RowStepKind kind,
                                            LoopShape shape) {
  Value value = operand.get();
  std::optional<RowAccess> access = classifyAccess(
      op.getMatchingIndexingMap(&operand), cast<ShapedType>(value.getType()),
      op.getStaticLoopRanges(), program.rows.size(), shape);
  bool isInit = op.isDpsInit(&operand);
  if (isInit) {
    RowAccess expected = kind == RowStepKind::Elementwise ? RowAccess::Whole
                                                          : RowAccess::PerRow;
    if (access != expected)
      return rowError("an op writes its result through an unexpected map");
  }
  if (!access)
    return rowError("an operand is read neither whole, per row nor per column");
  program.accesses.back().push_back(*access);
  // Only a reduction reads its init: a constant, or a value.
  if (isInit && (kind != RowStepKind::Reduction || getRowInitialConstant(op)))
    return llvm::Error::success();
  if (produced.contains(value)) {
    auto type = cast<ShapedType>(value.getType());
    bool whole = type.getShape().drop_back() == ArrayRef(program.rows) &&
                 type.getShape().back() == program.length;
    if ((*access == RowAccess::Whole) != whole ||
        *access == RowAccess::PerColumn || *access == RowAccess::Strided)
      return rowError("a value of the region is read through another shape");
    return llvm::Error::success();
  }
  if (!isKernelTensorType(value.getType()))
    return rowError("an operand is not a static f32 or f16 tensor");
  if (!llvm::is_contained(program.inputs, value))
    program.inputs.push_back(value);
  return llvm::Error::success();
}

} // namespace

Operation *tesa::getRowCombiner(linalg::GenericOp reduction) {
  Block &body = reduction.getRegion().front();
  Value result = body.getTerminator()->getOperand(0);
  Operation *combiner = result.getDefiningOp();
  BlockArgument out = body.getArguments().back();
  if (!combiner || !llvm::is_contained(combiner->getOperands(), out) ||
      !out.hasOneUse())
    return nullptr;
  if (!isa<arith::AddFOp, arith::MaximumFOp, arith::MaxNumFOp,
           arith::AndIOp>(combiner))
    return nullptr;
  return combiner;
}

arith::ConstantOp tesa::getRowInitialConstant(linalg::GenericOp op) {
  auto fill =
      skipAnnotations(op.getDpsInits()[0]).getDefiningOp<linalg::FillOp>();
  if (!fill)
    return nullptr;
  return fill.getInputs()[0].getDefiningOp<arith::ConstantOp>();
}

llvm::Expected<RowProgram> tesa::matchRowProgram(ArrayRef<Operation *> ops) {
  RowProgram program;
  auto last = ops.empty() ? nullptr : dyn_cast<linalg::GenericOp>(ops.back());
  if (!last || last->getNumResults() != 1 ||
      !isKernelTensorType(last->getResult(0).getType()) ||
      cast<RankedTensorType>(last->getResult(0).getType()).getRank() == 0)
    return rowError("the region's result is not a static f32 or f16 tensor");
  program.result = last->getResult(0);
  auto type = cast<RankedTensorType>(program.result.getType());
  program.rows = llvm::to_vector(type.getShape().drop_back());
  program.length = type.getShape().back();
  RowProgramMatcher matcher(program);
  for (Operation *op : ops) {
    auto generic = dyn_cast<linalg::GenericOp>(op);
    if (!generic)
      return rowError("'" + op->getName().getStringRef() +
                      "' is not a linalg.generic");
    if (llvm::Error error = matcher.matchStep(generic))
      return std::move(error);
  }
  if (program.kinds.back() != RowStepKind::Elementwise)
    return rowError("the region does not end in an elementwise op over rows");
  return program;
}
