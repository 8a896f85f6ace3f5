//===- DropUnitBatchLoops.cpp - Row steps over the products' coordinates --===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// Drops the unit loops of the ops that read a batched product's result
// through their other loops (see the pass description in Passes.td), with
// upstream's unit-extent folding restricted to them.
//
//===----------------------------------------------------------------------===//

#include "tesa/Dialect/Tesa/IR/TesaOps.h"
#include "tesa/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/SmallBitVector.h"

namespace tesa {
#define GEN_PASS_DEF_DROPUNITBATCHLOOPS
#include "tesa/Transforms/Passes.h.inc"
} // namespace tesa

using namespace mlir;

namespace {

/// The extents of `type` other than 1.
SmallVector<int64_t> getNonUnitShape(RankedTensorType type) {
  return llvm::filter_to_vector(type.getShape(),
                                [](int64_t size) { return size != 1; });
}

/// Whether `value` is a tensor.expand_shape that only inserts unit
/// dimensions (this pass's expansion of a result whose loops it dropped).
bool isUnitExpansion(Value value) {
  auto expand =
      tesa::skipAnnotations(value).getDefiningOp<tensor::ExpandShapeOp>();
  return expand && getNonUnitShape(expand.getSrcType()) ==
                       getNonUnitShape(expand.getResultType());
}

/// Whether `input` of `op` is a batched tensor the unit loops `unit` of
/// `op` do not index: at least three of its extents are other than 1, and
/// those are read through all of `op`'s other loops, in some order; and
/// its map skips a unit loop or it is a unit expansion.
bool readsBatchedTensor(linalg::GenericOp op, OpOperand *input,
                        const llvm::SmallBitVector &unit) {
  auto type = dyn_cast<RankedTensorType>(input->get().getType());
  AffineMap map = op.getMatchingIndexingMap(input);
  if (!type || !type.hasStaticShape())
    return false;
  llvm::SmallBitVector read(unit.size());
  for (auto [size, result] : llvm::zip(type.getShape(), map.getResults())) {
    if (size == 1)
      continue;
    auto dim = dyn_cast<AffineDimExpr>(result);
    if (!dim || unit[dim.getPosition()] || read[dim.getPosition()])
      return false;
    read.set(dim.getPosition());
  }
  if (read.count() < 3 || (read | unit).count() != unit.size())
    return false;
  bool skipsUnitLoop = llvm::any_of(unit.set_bits(), [&](unsigned loop) {
    return !map.isFunctionOfDim(loop);
  });
  return skipsUnitLoop || isUnitExpansion(input->get());
}

/// The loops of `op` to drop where they have unit range: all of them when
/// `op` is not a contraction and reads a batched tensor (see
/// readsBatchedTensor), none otherwise.
SmallVector<unsigned> getUnitLoopsToDrop(Operation *op) {
  auto generic = dyn_cast<linalg::GenericOp>(op);
  if (!generic || linalg::isaContractionOpInterface(generic))
    return {};
  SmallVector<int64_t> ranges = generic.getStaticLoopRanges();
  if (llvm::any_of(ranges, ShapedType::isDynamic))
    return {};
  llvm::SmallBitVector unit(ranges.size());
  for (auto [loop, range] : llvm::enumerate(ranges))
    unit[loop] = range == 1;
  if (unit.none() ||
      llvm::none_of(generic.getDpsInputOperands(), [&](OpOperand *input) {
        return readsBatchedTensor(generic, input, unit);
      }))
    return {};
  return llvm::to_vector(llvm::seq<unsigned>(0, ranges.size()));
}

/// `type` without its encoding.
RankedTensorType getPlainType(RankedTensorType type) {
  return RankedTensorType::get(type.getShape(), type.getElementType());
}

/// Upstream's collapsing of an operand, which takes no encoded tensor: an
/// expansion this pass made (through the annotations after it) gives back
/// its source (without an encoding); a linalg.fill (a reduction's init) becomes a fill of the
/// collapsed shape, where row programs and attention regions find their
/// initial value; and another encoded tensor is collapsed through an
/// annotation without the encoding (it only declares facts about the
/// values).
linalg::ControlDropUnitDims::CollapseFnTy
collapseAnnotated(linalg::ControlDropUnitDims::CollapseFnTy collapse) {
  return [collapse](RewriterBase &rewriter, Location loc, Value operand,
                    ArrayRef<int64_t> targetShape,
                    ArrayRef<ReassociationIndices> reassociation,
                    const linalg::ControlDropUnitDims &control)
             -> FailureOr<Value> {
    Value source = tesa::skipAnnotations(operand);
    auto expand = source.getDefiningOp<tensor::ExpandShapeOp>();
    if (expand && expand.getSrcType().getShape() == targetShape) {
      RankedTensorType type = expand.getSrcType();
      if (!type.getEncoding())
        return expand.getSrc();
      return tesa::AnnotateOp::create(rewriter, loc, getPlainType(type),
                                      expand.getSrc())
          .getResult();
    }
    if (auto fill = source.getDefiningOp<linalg::FillOp>()) {
      Value empty = tensor::EmptyOp::create(
          rewriter, loc, targetShape,
          getElementTypeOrSelf(fill.getResult(0).getType()));
      return linalg::FillOp::create(rewriter, loc, fill.getInputs()[0], empty)
          .getResult(0);
    }
    auto type = dyn_cast<RankedTensorType>(operand.getType());
    if (type && type.getEncoding())
      operand = tesa::AnnotateOp::create(rewriter, loc, getPlainType(type),
                                         operand);
    return collapse(rewriter, loc, operand, targetShape, reassociation,
                    control);
  };
}

/// Upstream's expansion of a result back to its type, which takes no
/// encoded tensor: an encoded result is expanded without the encoding and
/// annotated with it.
linalg::ControlDropUnitDims::ExpandFnTy
expandAnnotated(linalg::ControlDropUnitDims::ExpandFnTy expand) {
  return [expand](RewriterBase &rewriter, Location loc, Value result,
                  Value destination,
                  ArrayRef<ReassociationIndices> reassociation,
                  const linalg::ControlDropUnitDims &control)
             -> FailureOr<Value> {
    auto type = dyn_cast<RankedTensorType>(destination.getType());
    if (!type || !type.getEncoding())
      return expand(rewriter, loc, result, destination, reassociation,
                    control);
    Value plain = tesa::AnnotateOp::create(rewriter, loc, getPlainType(type),
                                           destination);
    FailureOr<Value> expanded =
        expand(rewriter, loc, result, plain, reassociation, control);
    if (failed(expanded))
      return failure();
    return tesa::AnnotateOp::create(rewriter, loc, type, *expanded)
        .getResult();
  };
}

/// A transpose of a unit expansion (the heads' permute of an attention's
/// context, once the context's conversion is over its coordinates) as the
/// linalg.generic whose unit loops the folding drops.
struct GeneralizeTransposeOfExpansion
    : OpRewritePattern<linalg::TransposeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::TransposeOp op,
                                PatternRewriter &rewriter) const override {
    if (!isUnitExpansion(op.getInput()) ||
        getNonUnitShape(cast<RankedTensorType>(op.getInput().getType()))
                .size() < 3)
      return failure();
    return linalg::generalizeNamedOp(rewriter, op);
  }
};

struct DropUnitBatchLoopsPass
    : public tesa::impl::DropUnitBatchLoopsBase<DropUnitBatchLoopsPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<GeneralizeTransposeOfExpansion>(&getContext());
    linalg::ControlDropUnitDims control;
    control.controlFn = getUnitLoopsToDrop;
    control.collapseFn = collapseAnnotated(control.collapseFn);
    control.expandFn = expandAnnotated(control.expandFn);
    linalg::populateFoldUnitExtentDimsPatterns(patterns, control);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
