//===- NormalizeRowPrograms.cpp - Row steps in the forms regions take -----===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// Rewrites what importers write around reductions into the forms that row
// programs take (see matchRowProgram): a reduction's results that nothing
// reads are dropped with the computation only they need (torch-mlir's row
// maximum also computes its index), and a per-row value read through a
// tensor.expand_shape that only inserts unit dimensions is read directly,
// and a splat constant input becomes a scalar in the body.
//
//===----------------------------------------------------------------------===//

#include "tesa/Dialect/Tesa/IR/TesaOps.h"
#include "tesa/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/SetVector.h"

namespace tesa {
#define GEN_PASS_DEF_NORMALIZEROWPROGRAMS
#include "tesa/Transforms/Passes.h.inc"
} // namespace tesa

using namespace mlir;

namespace {

/// The ops of `body` that compute `values`, in body order; fails when one
/// of them reads a block argument in `excluded`.
FailureOr<SmallVector<Operation *>>
getComputation(Block &body, ValueRange values,
               ArrayRef<BlockArgument> excluded) {
  llvm::SetVector<Operation *> needed;
  SmallVector<Value> worklist(values.begin(), values.end());
  while (!worklist.empty()) {
    Value value = worklist.pop_back_val();
    if (auto argument = dyn_cast<BlockArgument>(value)) {
      if (llvm::is_contained(excluded, argument))
        return failure();
      continue;
    }
    Operation *op = value.getDefiningOp();
    if (op->getBlock() != &body || !needed.insert(op))
      continue;
    llvm::append_range(worklist, op->getOperands());
  }
  SmallVector<Operation *> ordered;
  for (Operation &op : body.without_terminator())
    if (needed.contains(&op))
      ordered.push_back(&op);
  return ordered;
}

/// Drops the results of a linalg.generic that nothing reads, when the
/// results that are read do not depend on them.
struct EraseUnreadResults : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    if (op->getNumResults() < 2 || op.getNumDpsInits() != op->getNumResults())
      return failure();
    Block &body = op.getRegion().front();
    auto yield = cast<linalg::YieldOp>(body.getTerminator());
    SmallVector<unsigned> kept;
    SmallVector<BlockArgument> dropped;
    for (OpResult result : op->getResults()) {
      unsigned i = result.getResultNumber();
      if (result.use_empty())
        dropped.push_back(body.getArgument(op.getNumDpsInputs() + i));
      else
        kept.push_back(i);
    }
    if (dropped.empty() || kept.empty())
      return failure();
    SmallVector<Value> keptYields, keptInits, keptResults;
    SmallVector<AffineMap> maps(op.getIndexingMapsArray());
    maps.resize(op.getNumDpsInputs());
    SmallVector<Type> resultTypes;
    for (unsigned i : kept) {
      keptYields.push_back(yield.getValues()[i]);
      keptInits.push_back(op.getDpsInits()[i]);
      maps.push_back(op.getIndexingMapsArray()[op.getNumDpsInputs() + i]);
      resultTypes.push_back(op->getResult(i).getType());
    }
    FailureOr<SmallVector<Operation *>> computation =
        getComputation(body, keptYields, dropped);
    if (failed(computation))
      return rewriter.notifyMatchFailure(
          op, "a result that is read depends on one that is not");
    auto replacement = linalg::GenericOp::create(
        rewriter, op.getLoc(), resultTypes, op.getDpsInputs(), keptInits,
        maps, op.getIteratorTypesArray(),
        [&](OpBuilder &b, Location loc, ValueRange arguments) {
          IRMapping mapping;
          for (unsigned i = 0; i < op.getNumDpsInputs(); ++i)
            mapping.map(body.getArgument(i), arguments[i]);
          for (auto [j, i] : llvm::enumerate(kept))
            mapping.map(body.getArgument(op.getNumDpsInputs() + i),
                        arguments[op.getNumDpsInputs() + j]);
          for (Operation *bodyOp : *computation)
            b.clone(*bodyOp, mapping);
          SmallVector<Value> yielded;
          for (Value value : keptYields)
            yielded.push_back(mapping.lookupOrDefault(value));
          linalg::YieldOp::create(b, loc, yielded);
        });
    for (auto [j, i] : llvm::enumerate(kept))
      rewriter.replaceAllUsesWith(op->getResult(i), replacement->getResult(j));
    rewriter.eraseOp(op);
    return success();
  }
};

/// For a tensor.expand_shape that only inserts unit dimensions: for each
/// dimension of its result, whether it is one of them (each source
/// dimension keeps one result dimension, its last of size `source size`).
std::optional<SmallVector<bool>> getInsertedUnitDims(tensor::ExpandShapeOp op) {
  ArrayRef<int64_t> source = op.getSrcType().getShape();
  ArrayRef<int64_t> result = op.getResultType().getShape();
  if (!op.getSrcType().hasStaticShape() || !op.getResultType().hasStaticShape())
    return std::nullopt;
  SmallVector<bool> inserted(result.size(), true);
  for (auto [dim, group] : llvm::enumerate(op.getReassociationIndices())) {
    auto kept = llvm::find_if(llvm::reverse(group), [&, dim = dim](int64_t d) {
      return result[d] == source[dim];
    });
    if (kept == llvm::reverse(group).end())
      return std::nullopt;
    for (int64_t d : group)
      if (d != *kept && result[d] != 1)
        return std::nullopt;
    inserted[*kept] = false;
  }
  return inserted;
}

/// Makes a linalg.generic that reads a tensor through a tensor.expand_shape
/// inserting unit dimensions read the source, through its map without the
/// inserted dimensions' results (their index is always 0).
struct ReadThroughUnitExpansion : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    if (linalg::isaContractionOpInterface(op))
      return failure();
    SmallVector<AffineMap> maps = op.getIndexingMapsArray();
    SmallVector<Value> inputs = op.getDpsInputs();
    bool changed = false;
    for (auto [i, input] : llvm::enumerate(inputs)) {
      auto expand = input.getDefiningOp<tensor::ExpandShapeOp>();
      if (!expand)
        continue;
      std::optional<SmallVector<bool>> inserted = getInsertedUnitDims(expand);
      if (!inserted)
        continue;
      SmallVector<AffineExpr> results;
      for (auto [d, result] : llvm::enumerate(maps[i].getResults()))
        if (!(*inserted)[d])
          results.push_back(result);
      maps[i] = AffineMap::get(maps[i].getNumDims(), 0, results,
                               op.getContext());
      inputs[i] = expand.getSrc();
      changed = true;
    }
    if (!changed)
      return failure();
    rewriter.modifyOpInPlace(op, [&] {
      op.getInputsMutable().assign(inputs);
      op.setIndexingMapsAttr(rewriter.getAffineMapArrayAttr(maps));
    });
    return success();
  }
};

/// Makes a linalg.generic read a splat constant input as a scalar constant
/// in its body (torch-mlir's safe softmax selects from a tensor of zeros).
struct ReadSplatsAsScalars : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    Block &body = op.getRegion().front();
    for (OpOperand *input : op.getDpsInputOperands()) {
      // Annotations only assert facts about the values they pass on.
      Value value = tesa::skipAnnotations(input->get());
      DenseElementsAttr splat;
      if (!matchPattern(value, m_Constant(&splat)) || !splat.isSplat())
        continue;
      unsigned index = input->getOperandNumber();
      rewriter.setInsertionPointToStart(&body);
      Value scalar = arith::ConstantOp::create(
          rewriter, op.getLoc(),
          cast<TypedAttr>(splat.getSplatValue<Attribute>()));
      rewriter.replaceAllUsesWith(body.getArgument(index), scalar);
      SmallVector<AffineMap> maps = op.getIndexingMapsArray();
      SmallVector<Value> inputs = op.getDpsInputs();
      maps.erase(maps.begin() + index);
      inputs.erase(inputs.begin() + index);
      rewriter.modifyOpInPlace(op, [&] {
        op.getInputsMutable().assign(inputs);
        op.setIndexingMapsAttr(rewriter.getAffineMapArrayAttr(maps));
        body.eraseArgument(index);
      });
      return success();
    }
    return failure();
  }
};

struct NormalizeRowProgramsPass
    : public tesa::impl::NormalizeRowProgramsBase<NormalizeRowProgramsPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<EraseUnreadResults, ReadThroughUnitExpansion,
                 ReadSplatsAsScalars>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
