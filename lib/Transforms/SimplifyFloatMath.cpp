//===- SimplifyFloatMath.cpp - Cheaper forms of exact scalar float math ---===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// Folds math ops of 16-bit float constants and turns divisions by constants
// into multiplications where that computes the same quotient for every
// input (see Passes.td).
//
//===----------------------------------------------------------------------===//

#include "tesa/Analysis/ScalarEvaluation.h"
#include "tesa/Support/HalfFloatMath.h"
#include "tesa/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"
#include "llvm/ADT/DenseMap.h"

namespace tesa {
#define GEN_PASS_DEF_SIMPLIFYFLOATMATH
#include "tesa/Transforms/Passes.h.inc"
} // namespace tesa

using namespace mlir;
using namespace tesa;

namespace {
struct SimplifyFloatMathPass
    : public tesa::impl::SimplifyFloatMathBase<SimplifyFloatMathPass> {
  void runOnOperation() override;
};

/// A `math` op of float constants whose result is a 16-bit float, as the
/// constant a correctly rounded op gives.
struct FoldHalfFloatMathOfConstants : public RewritePattern {
  FoldHalfFloatMathOfConstants(MLIRContext *context)
      : RewritePattern(MatchAnyOpTypeTag(), /*benefit=*/1, context) {}

  LogicalResult matchAndRewrite(Operation *op,
                                PatternRewriter &rewriter) const override {
    if (!isa_and_nonnull<math::MathDialect>(op->getDialect()) ||
        op->getNumResults() != 1)
      return failure();
    auto type = dyn_cast<FloatType>(op->getResult(0).getType());
    if (!type || !isHalfFloatFormat(type.getFloatSemantics()))
      return failure();
    SmallVector<double> operands;
    for (Value operand : op->getOperands()) {
      FloatAttr constant;
      if (!matchPattern(operand, m_Constant(&constant)))
        return failure();
      operands.push_back(constant.getValueAsDouble());
    }
    FailureOr<double> value = evaluateScalarOp(op, operands);
    if (failed(value))
      return failure();
    APFloat rounded = roundToFormat(type.getFloatSemantics(), *value);
    rewriter.replaceOpWithNewOp<arith::ConstantOp>(
        op, type, FloatAttr::get(type, rounded));
    return success();
  }
};

/// `x / c` for a constant `c` as a multiplication: by 1/c in the same type
/// where c is a power of two with an exact reciprocal, else, for 16-bit
/// formats, by the f32 reciprocal of c where every value of the format
/// gets its quotient.
struct DivideByConstant : public OpRewritePattern<arith::DivFOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(arith::DivFOp op,
                                PatternRewriter &rewriter) const override {
    auto type = dyn_cast<FloatType>(op.getType());
    FloatAttr divisorAttr;
    if (!type || !matchPattern(op.getRhs(), m_Constant(&divisorAttr)))
      return failure();
    APFloat divisor = divisorAttr.getValue();
    if (!divisor.isFiniteNonZero())
      return failure();
    Location loc = op.getLoc();
    APFloat inverse(0.0);
    if (divisor.getExactInverse(&inverse)) {
      Value factor = arith::ConstantOp::create(rewriter, loc, type,
                                               FloatAttr::get(type, inverse));
      rewriter.replaceOpWithNewOp<arith::MulFOp>(op, op.getLhs(), factor);
      return success();
    }
    std::optional<float> reciprocal = getExactReciprocal(divisor);
    if (!reciprocal)
      return failure();
    Type f32 = rewriter.getF32Type();
    Value wide = arith::ExtFOp::create(rewriter, loc, f32, op.getLhs());
    Value factor = arith::ConstantOp::create(
        rewriter, loc, f32, rewriter.getF32FloatAttr(*reciprocal));
    Value product = arith::MulFOp::create(rewriter, loc, wide, factor);
    rewriter.replaceOpWithNewOp<arith::TruncFOp>(op, type, product);
    return success();
  }

private:
  /// The f32 reciprocal of the 16-bit `divisor` if multiplying by it
  /// divides every value of the format exactly; each divisor is checked
  /// once (65536 divisions).
  std::optional<float> getExactReciprocal(const APFloat &divisor) const {
    const llvm::fltSemantics &semantics = divisor.getSemantics();
    if (!isHalfFloatFormat(semantics))
      return std::nullopt;
    float value = divisor.convertToFloat();
    APFloat reciprocal(1.0f);
    reciprocal.divide(APFloat(value), APFloat::rmNearestTiesToEven);
    float candidate = reciprocal.convertToFloat();
    auto key =
        std::make_pair(&semantics, divisor.bitcastToAPInt().getZExtValue());
    auto [it, inserted] = checked.try_emplace(key, false);
    if (inserted)
      it->second = isReciprocalMultiplicationExact(divisor, candidate);
    return it->second ? std::optional<float>(candidate) : std::nullopt;
  }

  /// Whether each divisor's reciprocal was exact, by format and bits.
  mutable llvm::DenseMap<std::pair<const llvm::fltSemantics *, uint64_t>, bool>
      checked;
};
} // namespace

void SimplifyFloatMathPass::runOnOperation() {
  // Patterns of this run only: DivideByConstant keeps what it has checked.
  RewritePatternSet patterns(&getContext());
  patterns.add<FoldHalfFloatMathOfConstants, DivideByConstant>(&getContext());
  walkAndApplyPatterns(getOperation(),
                       FrozenRewritePatternSet(std::move(patterns)));
}
