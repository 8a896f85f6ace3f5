//===- ExpandHalfErf.cpp - erf of 16-bit floats without branches ----------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// Rewrites `math.erf` on f16 and bf16 into the f32 polynomials of
// tesa::HalfErfPolynomials (see Passes.td), op for op as
// tesa::evaluateHalfErf computes them.
//
//===----------------------------------------------------------------------===//

#include "tesa/Support/HalfFloatMath.h"
#include "tesa/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"

namespace tesa {
#define GEN_PASS_DEF_EXPANDHALFERF
#include "tesa/Transforms/Passes.h.inc"
} // namespace tesa

using namespace mlir;
using namespace tesa;

namespace {
struct ExpandHalfErfPass
    : public tesa::impl::ExpandHalfErfBase<ExpandHalfErfPass> {
  void runOnOperation() override;
};
} // namespace

/// An f32 constant.
static Value getF32Constant(ImplicitLocOpBuilder &builder, float value) {
  return arith::ConstantOp::create(builder, builder.getF32FloatAttr(value));
}

/// `coefficients` (lowest degree first) at `x` by Horner's rule with fused
/// multiply-adds.
template <size_t N>
static Value buildPolynomial(ImplicitLocOpBuilder &builder,
                             const std::array<float, N> &coefficients,
                             Value x) {
  Value result = getF32Constant(builder, coefficients[N - 1]);
  for (size_t i = N - 1; i-- > 0;)
    result = math::FmaOp::create(builder, result, x,
                                 getF32Constant(builder, coefficients[i]));
  return result;
}

namespace {
/// `math.erf` of a 16-bit float as tesa::evaluateHalfErf computes it.
struct ExpandErf : public OpRewritePattern<math::ErfOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(math::ErfOp op,
                                PatternRewriter &rewriter) const override {
    auto type = dyn_cast<FloatType>(op.getType());
    if (!type || !isHalfFloatFormat(type.getFloatSemantics()))
      return failure();
    using P = HalfErfPolynomials;
    ImplicitLocOpBuilder builder(op.getLoc(), rewriter);
    Value x =
        arith::ExtFOp::create(builder, builder.getF32Type(), op.getOperand());
    Value magnitude = math::AbsFOp::create(builder, x);
    Value t = arith::MinimumFOp::create(builder, magnitude,
                                        getF32Constant(builder, P::clamp));
    Value square = arith::MulFOp::create(builder, t, t);
    Value magnitudeOfErf = math::FmaOp::create(
        builder, t, buildPolynomial(builder, P::odd, square), t);
    // x's sign bit on the rounded magnitude, which has none: rounding to
    // nearest is symmetric, so this is the rounded copysign, and it costs
    // one `or` where LLVM's f16 copysign took an abs, a negation and a
    // select on the sign.
    Value rounded = arith::TruncFOp::create(builder, type, magnitudeOfErf);
    Type bits = builder.getIntegerType(16);
    Value sign = arith::AndIOp::create(
        builder, arith::BitcastOp::create(builder, bits, op.getOperand()),
        arith::ConstantOp::create(builder,
                                  builder.getIntegerAttr(bits, 0x8000)));
    Value signedBits = arith::OrIOp::create(
        builder, arith::BitcastOp::create(builder, bits, rounded), sign);
    rewriter.replaceOpWithNewOp<arith::BitcastOp>(op, type, signedBits);
    return success();
  }
};
} // namespace

void ExpandHalfErfPass::runOnOperation() {
  RewritePatternSet patterns(&getContext());
  patterns.add<ExpandErf>(&getContext());
  walkAndApplyPatterns(getOperation(),
                       FrozenRewritePatternSet(std::move(patterns)));
}
