//===- FuseEpilogues.cpp - Activations into the last part of a product ----===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// Moves the body of an elementwise op that consumes a product's last part
// into the part's epilogue region, after rebuilding elementwise ops that
// sit between a reshape and its inverse on the unreshaped tensor.
//
//===----------------------------------------------------------------------===//

#include "tesa/Dialect/Tesa/IR/TesaOps.h"
#include "tesa/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace tesa {
#define GEN_PASS_DEF_FUSEEPILOGUES
#include "tesa/Transforms/Passes.h.inc"
} // namespace tesa

using namespace mlir;
using namespace tesa;

namespace {

struct FuseEpiloguesPass
    : public tesa::impl::FuseEpiloguesBase<FuseEpiloguesPass> {
  void runOnOperation() override;
};

/// An elementwise op fusable into the part that produces one of its inputs.
struct Epilogue {
  linalg::LinalgOp op;
  PartMatmulOp part;
  /// The part's operand number in `op`.
  unsigned partInput;
};

/// The constant op defining `value`, if any.
Operation *getConstant(Value value) {
  Operation *constant = value.getDefiningOp();
  return constant && matchPattern(constant, m_Constant()) ? constant : nullptr;
}

/// The constant op a tensor is filled with, if it is one.
Operation *getFillConstant(Value tensor) {
  auto fill = tensor.getDefiningOp<linalg::FillOp>();
  return fill ? getConstant(fill.value()) : nullptr;
}

/// `op` as an epilogue of the part producing one of its inputs, if it is
/// one: all-parallel, identity maps, a single result of the part's shape
/// and element type, a body without side effects that ignores the output's value, and
/// no input but the part's result and constant-filled tensors.
std::optional<Epilogue> matchEpilogue(linalg::LinalgOp op) {
  if (!op.hasPureTensorSemantics() || op->getNumResults() != 1 ||
      op.getNumDpsInits() != 1 ||
      op.getNumParallelLoops() != op.getNumLoops() ||
      !llvm::all_of(op.getIndexingMapsArray(),
                    [](AffineMap map) { return map.isIdentity(); }))
    return std::nullopt;
  std::optional<Epilogue> match;
  for (OpOperand *input : op.getDpsInputOperands()) {
    auto part = input->get().getDefiningOp<PartMatmulOp>();
    if (part && !match && !part.hasEpilogue() && part->hasOneUse()) {
      match = Epilogue{op, part, input->getOperandNumber()};
      continue;
    }
    if (!getFillConstant(input->get()))
      return std::nullopt;
  }
  if (!match)
    return std::nullopt;
  auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
  auto partType = cast<RankedTensorType>(match->part.getType());
  if (resultType.getElementType() != partType.getElementType() ||
      resultType.getShape() != partType.getShape())
    return std::nullopt;
  // The body: pure arith and math ops of the inputs, and of constants
  // defined outside it (copied in), as the epilogue region allows.
  Block *body = op.getBlock();
  if (!body->getArguments().back().use_empty())
    return std::nullopt;
  for (Operation &bodyOp : *body) {
    if (&bodyOp != body->getTerminator() &&
        !PartMatmulOp::canBeInEpilogue(&bodyOp))
      return std::nullopt;
    for (Value operand : bodyOp.getOperands())
      if (operand.getParentBlock() != body && !getConstant(operand))
        return std::nullopt;
  }
  return match;
}

/// Replaces `epilogue.op` by a copy of its part that carries its body.
void fuse(const Epilogue &epilogue) {
  linalg::LinalgOp op = epilogue.op;
  PartMatmulOp part = epilogue.part;
  OpBuilder builder(op);
  auto fused = cast<PartMatmulOp>(builder.clone(*part));
  fused->getResult(0).setType(op->getResult(0).getType());
  // The region takes one element of the result, of its element type.
  Block *region = builder.createBlock(
      &fused.getEpilogue(), {}, {getElementTypeOrSelf(fused.getType())},
      {op.getLoc()});
  Block *body = op.getBlock();
  IRMapping mapping;
  for (OpOperand *input : op.getDpsInputOperands()) {
    BlockArgument argument = body->getArgument(input->getOperandNumber());
    if (input->getOperandNumber() == epilogue.partInput) {
      mapping.map(argument, region->getArgument(0));
      continue;
    }
    mapping.map(argument,
                builder.clone(*getFillConstant(input->get()))->getResult(0));
  }
  // Constants from outside the body are copied in.
  for (Operation &bodyOp : *body)
    for (Value operand : bodyOp.getOperands())
      if (operand.getParentBlock() != body && !mapping.contains(operand))
        mapping.map(operand,
                    builder.clone(*getConstant(operand))->getResult(0));
  for (Operation &bodyOp : body->without_terminator())
    builder.clone(bodyOp, mapping);
  Value value = mapping.lookup(body->getTerminator()->getOperand(0));
  YieldOp::create(builder, op.getLoc(), value);
  op->replaceAllUsesWith(fused->getResults());
  op->erase();
  part->erase();
}

/// An elementwise op between a tensor.expand_shape and a
/// tensor.collapse_shape that undoes it (torch-mlir expands each Linear's
/// result to the batch's shape for its activation, then collapses it for
/// the next product) runs on the unexpanded tensor instead, where it can be
/// a part's epilogue, or an elementwise step the part's kernel applies:
///
///   %e = tensor.expand_shape %v [[0, 1], [2]] : tensor<128x3072xf16> into tensor<1x128x3072xf16>
///   %g = linalg.generic {identity maps} ins(%e) outs(...) -> tensor<1x128x3072xf16>
///   %c = tensor.collapse_shape %g [[0, 1], [2]] : ... into tensor<128x3072xf16>
///
/// becomes one linalg.generic of %v with %c's type.
struct ElementwiseBetweenReshapes
    : OpRewritePattern<tensor::CollapseShapeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(tensor::CollapseShapeOp collapse,
                                PatternRewriter &rewriter) const override {
    auto op = collapse.getSrc().getDefiningOp<linalg::GenericOp>();
    if (!op || !op->hasOneUse() || op->getNumResults() != 1 ||
        op.getNumDpsInits() != 1 || op.getNumDpsInputs() == 0 ||
        op.getNumParallelLoops() != op.getNumLoops() ||
        !llvm::all_of(op.getIndexingMapsArray(),
                      [](AffineMap map) { return map.isIdentity(); }) ||
        !op.getBlock()->getArguments().back().use_empty())
      return failure();
    auto expand = op.getDpsInputs()[0].getDefiningOp<tensor::ExpandShapeOp>();
    if (!expand ||
        !llvm::all_of(op.getDpsInputs(),
                      [&](Value input) { return input == expand; }) ||
        expand.getReassociationIndices() !=
            collapse.getReassociationIndices())
      return failure();
    Value source = expand.getSrc();
    auto resultType = collapse.getResultType();
    unsigned rank = resultType.getRank();
    Location loc = op.getLoc();
    Value init = tensor::EmptyOp::create(
        rewriter, loc, resultType.getShape(), resultType.getElementType(),
        resultType.getEncoding());
    SmallVector<Value> inputs(op.getNumDpsInputs(), source);
    SmallVector<AffineMap> maps(
        op.getNumDpsInputs() + 1,
        rewriter.getMultiDimIdentityMap(rank));
    auto flat = linalg::GenericOp::create(
        rewriter, loc, TypeRange{resultType}, inputs, ValueRange{init}, maps,
        SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel));
    rewriter.inlineRegionBefore(op.getRegion(), flat.getRegion(),
                                flat.getRegion().begin());
    rewriter.replaceOp(collapse, flat.getResults());
    rewriter.eraseOp(op);
    return success();
  }
};

} // namespace

void FuseEpiloguesPass::runOnOperation() {
  RewritePatternSet reshapes(&getContext());
  reshapes.add<ElementwiseBetweenReshapes>(&getContext());
  if (failed(applyPatternsGreedily(getOperation(), std::move(reshapes))))
    return signalPassFailure();
  SmallVector<Epilogue> epilogues;
  getOperation()->walk([&](linalg::LinalgOp op) {
    if (std::optional<Epilogue> epilogue = matchEpilogue(op))
      epilogues.push_back(*epilogue);
  });
  for (const Epilogue &epilogue : epilogues)
    fuse(epilogue);
}
