//===- LowerPartsToLinalg.cpp - Decomposed parts as plain linalg ----------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Analysis/SparsityLattice.h"
#include "tesa/Dialect/Tesa/IR/TesaOps.h"
#include "tesa/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace tesa {
#define GEN_PASS_DEF_LOWERPARTSTOLINALG
#include "tesa/Transforms/Passes.h.inc"
} // namespace tesa

using namespace mlir;
using namespace tesa;

namespace {

using BodyFn = function_ref<Value(OpBuilder &, Location, ValueRange)>;

/// An elementwise linalg.generic over 2-D `inputs` (each read through its
/// map) producing a tensor of `resultType`.
Value buildGeneric(OpBuilder &builder, Location loc, RankedTensorType resultType,
                   ValueRange inputs, ArrayRef<AffineMap> inputMaps,
                   BodyFn body) {
  Value empty = tensor::EmptyOp::create(builder, loc, resultType.getShape(),
                                        resultType.getElementType(),
                                        resultType.getEncoding());
  SmallVector<AffineMap> maps(inputMaps);
  maps.push_back(builder.getMultiDimIdentityMap(resultType.getRank()));
  SmallVector<utils::IteratorType> iterators(resultType.getRank(),
                                             utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             builder, loc, TypeRange{resultType}, inputs, ValueRange{empty},
             maps, iterators,
             [&](OpBuilder &b, Location l, ValueRange args) {
               linalg::YieldOp::create(b, l, body(b, l, args));
             })
      .getResult(0);
}


/// `value` with each element rounded to f16 and back.
Value roundToF16(OpBuilder &builder, Location loc, Value value) {
  auto type = cast<RankedTensorType>(value.getType());
  return buildGeneric(
      builder, loc, RankedTensorType::get(type.getShape(), builder.getF32Type()),
      value, builder.getMultiDimIdentityMap(2),
      [](OpBuilder &b, Location l, ValueRange args) -> Value {
        Value half = arith::TruncFOp::create(b, l, b.getF16Type(), args[0]);
        return arith::ExtFOp::create(b, l, b.getF32Type(), half);
      });
}

/// Symmetric quantisation of a 2-D f32 tensor with one scale per row
/// (`perRow`) or per column: scale = max |x| / qmax, q = round(x / scale)
/// (to nearest even), clamped to [-qmax, qmax]; q = 0 where the scale is 0.
std::pair<Value, Value> quantise(OpBuilder &builder, Location loc, Value value,
                                 bool perRow, int64_t qmax) {
  auto type = cast<RankedTensorType>(value.getType());
  int64_t channels = type.getDimSize(perRow ? 0 : 1);
  auto f32 = builder.getF32Type();
  auto scaleType = RankedTensorType::get({channels}, f32);
  Value zeros = linalg::FillOp::create(
                    builder, loc,
                    arith::ConstantOp::create(builder, loc,
                                              builder.getF32FloatAttr(0.0))
                        .getResult(),
                    ValueRange{tensor::EmptyOp::create(builder, loc,
                                                       scaleType.getShape(),
                                                       f32)})
                    .getResult(0);
  Value maxAbs =
      linalg::ReduceOp::create(
          builder, loc, ValueRange{value}, ValueRange{zeros},
          /*dimensions=*/ArrayRef<int64_t>{perRow ? 1 : 0},
          [](OpBuilder &b, Location l, ValueRange args) {
            Value magnitude = math::AbsFOp::create(b, l, args[0]);
            linalg::YieldOp::create(
                b, l, ValueRange{arith::MaximumFOp::create(b, l, magnitude,
                                                           args[1])});
          })
          .getResult(0);
  Value scales = buildGeneric(
      builder, loc, scaleType, maxAbs, builder.getMultiDimIdentityMap(1),
      [&](OpBuilder &b, Location l, ValueRange args) {
        return PartMatmulOp::buildScale(b, l, args[0], qmax);
      });
  // One inverse per scale, as the kernels compute it.
  Value inverses = buildGeneric(
      builder, loc, scaleType, scales, builder.getMultiDimIdentityMap(1),
      [&](OpBuilder &b, Location l, ValueRange args) {
        return PartMatmulOp::buildInverseScale(b, l, args[0]);
      });
  MLIRContext *ctx = builder.getContext();
  AffineMap channelMap = AffineMap::get(
      2, 0, getAffineDimExpr(perRow ? 0 : 1, ctx), ctx);
  Value quantised = buildGeneric(
      builder, loc,
      RankedTensorType::get(type.getShape(), builder.getI8Type()),
      ValueRange{value, inverses},
      {builder.getMultiDimIdentityMap(2), channelMap},
      [&](OpBuilder &b, Location l, ValueRange args) {
        return PartMatmulOp::buildQuantise(b, l, args[0], args[1], qmax);
      });
  return {quantised, scales};
}

struct LowerExtractPart : OpRewritePattern<ExtractPartOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ExtractPartOp op,
                                PatternRewriter &rewriter) const override {
    auto type = cast<RankedTensorType>(op.getType());
    if (!type.hasStaticShape())
      return rewriter.notifyMatchFailure(op, "dynamic shape");
    // The mask on the part's canonical grid, read through floordiv maps.
    SparsityMap part = getDeclaredMap(type).getCanonical();
    ArrayRef<int64_t> grid = part.getGridShape();
    SmallVector<int8_t> keep;
    for (uint8_t bits : part.getEntries())
      keep.push_back(bits != 0);
    auto maskType = RankedTensorType::get(grid, rewriter.getI8Type());
    Value mask = arith::ConstantOp::create(
        rewriter, op.getLoc(),
        DenseElementsAttr::get(maskType, ArrayRef<int8_t>(keep)));
    SmallVector<AffineExpr> gridExprs;
    for (unsigned d = 0; d < grid.size(); ++d)
      gridExprs.push_back(rewriter.getAffineDimExpr(d).floorDiv(
          type.getDimSize(d) / grid[d]));
    AffineMap maskMap =
        AffineMap::get(grid.size(), 0, gridExprs, rewriter.getContext());
    Value result = buildGeneric(
        rewriter, op.getLoc(), type, ValueRange{op.getSource(), mask},
        {rewriter.getMultiDimIdentityMap(grid.size()), maskMap},
        [](OpBuilder &b, Location l, ValueRange args) -> Value {
          Value zero = arith::ConstantOp::create(
              b, l, b.getZeroAttr(args[0].getType()));
          Value kept = arith::CmpIOp::create(
              b, l, arith::CmpIPredicate::ne, args[1],
              arith::ConstantOp::create(b, l, b.getI8IntegerAttr(0)));
          return arith::SelectOp::create(b, l, kept, args[0], zero);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct LowerPartMatmul : OpRewritePattern<PartMatmulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(PartMatmulOp op,
                                PatternRewriter &rewriter) const override {
    Value result = lowerProduct(op, rewriter);
    // The epilogue, element by element.
    if (op.hasEpilogue())
      result = buildGeneric(
          rewriter, op.getLoc(), cast<RankedTensorType>(result.getType()),
          ValueRange{result}, {rewriter.getMultiDimIdentityMap(2)},
          [&](OpBuilder &b, Location, ValueRange args) {
            return op.buildEpilogue(b, args[0]);
          });
    rewriter.replaceOp(op, result);
    return success();
  }

  /// acc + lhs * rhs at the part's width.
  static Value lowerProduct(PartMatmulOp op, PatternRewriter &rewriter) {
    Location loc = op.getLoc();
    Value lhs = op.getLhs(), rhs = op.getRhs(), acc = op.getAcc();
    auto resultType = cast<RankedTensorType>(op.getType());
    int64_t bits = op.getBits();
    if (bits == 32 || bits == 16) {
      // f32 operands of a 16-bit part are rounded; f16 ones are read as
      // they are (into an f32 accumulator, the matmul widens them).
      if (bits == 16 && getElementTypeOrSelf(lhs.getType()).isF32()) {
        lhs = roundToF16(rewriter, loc, lhs);
        rhs = roundToF16(rewriter, loc, rhs);
      }
      return linalg::MatmulOp::create(rewriter, loc, TypeRange{resultType},
                                      ValueRange{lhs, rhs}, ValueRange{acc})
          .getResult(0);
    }
    // Integer parts: the lhs has a scale per row, the rhs per column.
    int64_t sparseMax = op.getSparseQmax();
    bool lhsSparse = op.getSparseOperand() == 0;
    auto [lhsQ, lhsScales] = quantise(rewriter, loc, lhs, /*perRow=*/true,
                                      lhsSparse ? sparseMax : 127);
    auto [rhsQ, rhsScales] = quantise(rewriter, loc, rhs, /*perRow=*/false,
                                      lhsSparse ? 127 : sparseMax);
    auto i32Type =
        RankedTensorType::get(resultType.getShape(), rewriter.getI32Type());
    Value zero = linalg::FillOp::create(
                     rewriter, loc,
                     arith::ConstantOp::create(rewriter, loc,
                                               rewriter.getI32IntegerAttr(0))
                         .getResult(),
                     ValueRange{tensor::EmptyOp::create(
                         rewriter, loc, i32Type.getShape(),
                         rewriter.getI32Type())})
                     .getResult(0);
    Value products =
        linalg::MatmulOp::create(rewriter, loc, TypeRange{i32Type},
                                 ValueRange{lhsQ, rhsQ}, ValueRange{zero})
            .getResult(0);
    MLIRContext *ctx = rewriter.getContext();
    return buildGeneric(
        rewriter, loc, resultType,
        ValueRange{products, lhsScales, rhsScales, acc},
        {rewriter.getMultiDimIdentityMap(2),
         AffineMap::get(2, 0, getAffineDimExpr(0, ctx), ctx),
         AffineMap::get(2, 0, getAffineDimExpr(1, ctx), ctx),
         rewriter.getMultiDimIdentityMap(2)},
        [](OpBuilder &b, Location l, ValueRange args) {
          return PartMatmulOp::buildDequantise(b, l, args[0], args[1], args[2],
                                               args[3]);
        });
  }
};

struct LowerPartsToLinalgPass
    : public tesa::impl::LowerPartsToLinalgBase<LowerPartsToLinalgPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<LowerExtractPart, LowerPartMatmul>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
