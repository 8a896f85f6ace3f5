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
#include "tesa/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace tesa {
#define GEN_PASS_DEF_FOLDBIASINTOACCUMULATOR
#include "tesa/Transforms/Passes.h.inc"
} // namespace tesa

using namespace mlir;

namespace {

/// Whether `value` is a tensor of zeros (a fill or a splat constant).
bool isZeroFilled(Value value) { return tesa::getKnownSplat(value) == 0.0; }

/// The operand index (0 or 1) of the product in `add`, an all-parallel
/// generic whose body adds its two inputs and whose product operand and
/// result are indexed by the identity; none if `add` is not one.
std::optional<unsigned> getProductOperand(linalg::GenericOp add) {
  if (add.getNumDpsInputs() != 2 || add.getNumDpsInits() != 1 ||
      add.getNumParallelLoops() != add.getNumLoops())
    return std::nullopt;
  Block &body = add.getRegion().front();
  if (body.getOperations().size() != 2)
    return std::nullopt;
  auto sum = dyn_cast<arith::AddFOp>(body.front());
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  if (!sum || yield.getNumOperands() != 1 || yield.getOperand(0) != sum)
    return std::nullopt;
  AffineMap identity = AffineMap::getMultiDimIdentityMap(add.getNumLoops(),
                                                         add.getContext());
  if (add.getIndexingMapsArray()[2] != identity)
    return std::nullopt;
  for (unsigned product : {0u, 1u}) {
    Value other = body.getArgument(1 - product);
    if (add.getIndexingMapsArray()[product] == identity &&
        ((sum.getLhs() == body.getArgument(product) && sum.getRhs() == other) ||
         (sum.getRhs() == body.getArgument(product) && sum.getLhs() == other)) &&
        add.getIndexingMapsArray()[1 - product].isProjectedPermutation())
      return product;
  }
  return std::nullopt;
}

struct FoldBias : OpRewritePattern<linalg::GenericOp> {
  FoldBias(MLIRContext *context, DominanceInfo &dominance)
      : OpRewritePattern(context), dominance(dominance) {}

  LogicalResult matchAndRewrite(linalg::GenericOp add,
                                PatternRewriter &rewriter) const override {
    std::optional<unsigned> productIndex = getProductOperand(add);
    if (!productIndex)
      return failure();
    Value productValue = add.getDpsInputs()[*productIndex];
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

    // The bias must be available where the product is computed.
    Value bias = add.getDpsInputs()[1 - *productIndex];
    auto resultType = cast<RankedTensorType>(add.getResult(0).getType());
    if (!dominance.properlyDominates(bias, product) ||
        !resultType.hasStaticShape())
      return failure();

    // The accumulator: the bias broadcast into a tensor of the addition's
    // result type.
    Location loc = add.getLoc();
    AffineMap biasMap = add.getIndexingMapsArray()[1 - *productIndex];
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
    rewriter.replaceOp(add, fused->getResults());
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
