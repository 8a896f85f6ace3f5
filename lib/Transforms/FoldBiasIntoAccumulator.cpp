//===- FoldBiasIntoAccumulator.cpp - Bias epilogues into accumulators -----===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// Rewrites `fill(0) -> matmul -> add(bias)` into `broadcast(bias) -> matmul`,
// so that the bias costs no pass over the result of its own.
//
//===----------------------------------------------------------------------===//

#include "tesa/Analysis/ScalarEvaluation.h"
#include "tesa/Dialect/Tesa/IR/TesaOps.h"
#include "tesa/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/RegionUtils.h"

namespace tesa {
#define GEN_PASS_DEF_FOLDBIASINTOACCUMULATOR
#include "tesa/Transforms/Passes.h.inc"
} // namespace tesa

using namespace mlir;

namespace {

/// Whether `value` is a tensor of zeros (a fill or a splat constant, seen
/// through the annotations of it).
bool isZeroFilled(Value value) {
  return tesa::getKnownSplat(tesa::skipAnnotations(value)) == 0.0;
}

/// How a bias is added in `add`, an all-parallel generic with two inputs
/// (the product, indexed by the identity like the result, and a projected
/// permutation of it, the bias): the product's operand index (0 or 1) and
/// the addition in the body. The body either yields the addition, or
/// applies more (an activation) to it alone: the product and the bias have
/// no other use in the body.
struct BiasAddition {
  unsigned productIndex;
  arith::AddFOp sum;
};

std::optional<BiasAddition> getBiasAddition(linalg::GenericOp add) {
  if (add.getNumDpsInputs() != 2 || add.getNumDpsInits() != 1 ||
      add.getNumParallelLoops() != add.getNumLoops())
    return std::nullopt;
  Block &body = add.getRegion().front();
  auto sum = dyn_cast<arith::AddFOp>(body.front());
  if (!sum)
    return std::nullopt;
  AffineMap identity = AffineMap::getMultiDimIdentityMap(add.getNumLoops(),
                                                         add.getContext());
  if (add.getIndexingMapsArray()[2] != identity)
    return std::nullopt;
  for (unsigned product : {0u, 1u}) {
    Value productArg = body.getArgument(product);
    Value biasArg = body.getArgument(1 - product);
    if (add.getIndexingMapsArray()[product] == identity &&
        ((sum.getLhs() == productArg && sum.getRhs() == biasArg) ||
         (sum.getRhs() == productArg && sum.getLhs() == biasArg)) &&
        productArg.hasOneUse() && biasArg.hasOneUse() &&
        add.getIndexingMapsArray()[1 - product].isProjectedPermutation())
      return BiasAddition{product, sum};
  }
  return std::nullopt;
}

/// Whether `product`'s operands have narrower elements than its result.
bool hasNarrowerOperands(linalg::LinalgOp product) {
  unsigned resultWidth =
      getElementTypeOrSelf(product->getResult(0)).getIntOrFloatBitWidth();
  return llvm::all_of(product.getDpsInputs(), [&](Value input) {
    return getElementTypeOrSelf(input).getIntOrFloatBitWidth() < resultWidth;
  });
}

/// Whether `add`'s body is its bias addition alone.
bool yieldsSum(linalg::GenericOp add, arith::AddFOp sum) {
  auto yield = cast<linalg::YieldOp>(add.getRegion().front().getTerminator());
  return yield.getNumOperands() == 1 && yield.getOperand(0) == sum;
}

struct FoldBias : OpRewritePattern<linalg::GenericOp> {
  FoldBias(MLIRContext *context, DominanceInfo &dominance)
      : OpRewritePattern(context), dominance(dominance) {}

  LogicalResult matchAndRewrite(linalg::GenericOp add,
                                PatternRewriter &rewriter) const override {
    std::optional<BiasAddition> addition = getBiasAddition(add);
    if (!addition)
      return failure();
    unsigned productIndex = addition->productIndex;
    Value productValue = add.getDpsInputs()[productIndex];
    Operation *product = productValue.getDefiningOp();
    if (!product || !isa<linalg::MatmulOp, linalg::BatchMatmulOp>(product) ||
        !productValue.hasOneUse())
      return failure();
    auto linalgProduct = cast<linalg::LinalgOp>(product);
    if (!linalgProduct.hasPureTensorSemantics() ||
        !isZeroFilled(linalgProduct.getDpsInits()[0]))
      return failure();
    if (auto matmul = dyn_cast<linalg::MatmulOp>(product);
        matmul && matmul.hasUserDefinedMaps())
      return failure();
    if (auto batch = dyn_cast<linalg::BatchMatmulOp>(product);
        batch && batch.hasUserDefinedMaps())
      return failure();

    auto resultType = cast<RankedTensorType>(add.getResult(0).getType());
    if (!resultType.hasStaticShape())
      return failure();
    // The accumulator: the bias broadcast into a tensor of the addition's
    // result type (without an encoding where more follows the addition:
    // the sum is not the result).
    bool onlySum = yieldsSum(add, addition->sum);
    if (!onlySum) {
      // f32 only: an activation left on an f16 product is not fused into
      // its parts yet, while the whole generic is (as the kept-block and
      // contraction kernels' epilogue steps).
      if (!resultType.getElementType().isF32())
        return failure();
      resultType = RankedTensorType::get(resultType.getShape(),
                                         resultType.getElementType());
    }
    // The bias must be available where the product is computed. torch-mlir
    // broadcasts each Linear's bias after its matmul; for a product of
    // narrower operands (an f16 Linear, whose sum is rounded after the
    // bias), the bias's side-effect-free definitions move up. Parts of f32
    // products apply such a bias as an elementwise step instead, which
    // kept-channel parts need: a bias in the accumulator would make them
    // write the channels they skip.
    Value bias = add.getDpsInputs()[1 - productIndex];
    if (!dominance.properlyDominates(bias, product) &&
        (!hasNarrowerOperands(linalgProduct) ||
         failed(moveValueDefinitions(rewriter, bias, product, dominance))))
      return failure();
    Location loc = add.getLoc();
    AffineMap biasMap = add.getIndexingMapsArray()[1 - productIndex];
    AffineMap outputMap = add.getIndexingMapsArray()[2];
    rewriter.setInsertionPoint(product);
    Value empty = tensor::EmptyOp::create(
        rewriter, loc, resultType.getShape(), resultType.getElementType(),
        resultType.getEncoding());
    auto broadcast = linalg::GenericOp::create(
        rewriter, loc, resultType, ValueRange{bias}, ValueRange{empty},
        ArrayRef<AffineMap>{biasMap, outputMap}, add.getIteratorTypesArray(),
        [](OpBuilder &b, Location loc, ValueRange args) {
          linalg::YieldOp::create(b, loc, args[0]);
        });
    // The product, accumulating onto it, with the addition's result type.
    Operation *fused = rewriter.clone(*product);
    fused->setOperand(linalgProduct.getDpsInitsMutable()[0].getOperandNumber(),
                      broadcast.getResult(0));
    fused->getResult(0).setType(resultType);
    if (onlySum) {
      rewriter.replaceOp(add, fused->getResults());
    } else {
      // What follows the addition stays, on the biased product alone.
      Block &body = add.getRegion().front();
      AffineMap identity = add.getIndexingMapsArray()[productIndex];
      rewriter.setInsertionPoint(add);
      auto rest = linalg::GenericOp::create(
          rewriter, loc, add.getResultTypes(), fused->getResults(),
          add.getDpsInits(), ArrayRef<AffineMap>{identity, outputMap},
          add.getIteratorTypesArray(),
          [&](OpBuilder &b, Location, ValueRange args) {
            IRMapping mapping;
            mapping.map(addition->sum.getResult(), args[0]);
            mapping.map(body.getArgument(2), args[1]);
            for (Operation &op : body.without_terminator())
              if (&op != addition->sum.getOperation())
                b.clone(op, mapping);
            b.clone(*body.getTerminator(), mapping);
          });
      rewriter.replaceOp(add, rest.getResults());
    }
    rewriter.eraseOp(product);
    return success();
  }

  DominanceInfo &dominance;
};

struct FoldBiasIntoAccumulatorPass
    : public tesa::impl::FoldBiasIntoAccumulatorBase<
          FoldBiasIntoAccumulatorPass> {
  void runOnOperation() override {
    DominanceInfo &dominance = getAnalysis<DominanceInfo>();
    RewritePatternSet patterns(&getContext());
    patterns.add<FoldBias>(&getContext(), dominance);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
