//===- ConvolutionsAsProducts.cpp - Dense convolutions as implicit GEMMs --===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// Rewrites the 2-D convolutions the decomposition left as they are into
// products that kernel regions compute: 1x1 NCHW convolutions as batched
// products over the images, the others as patches times the flattened
// filter.
//
//===----------------------------------------------------------------------===//

#include "MatmulForms.h"
#include "tesa/Dialect/Tesa/IR/TesaOps.h"
#include "tesa/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace tesa {
#define GEN_PASS_DEF_CONVOLUTIONSASPRODUCTS
#include "tesa/Transforms/Passes.h.inc"
} // namespace tesa

using namespace mlir;

namespace {
struct ConvolutionsAsProductsPass
    : public tesa::impl::ConvolutionsAsProductsBase<
          ConvolutionsAsProductsPass> {
  using Base::Base;
  void runOnOperation() override;
};

/// `value` without its encoding (no claim about its elements).
Value withoutEncoding(OpBuilder &builder, Location loc, Value value) {
  auto type = cast<RankedTensorType>(value.getType());
  if (!type.getEncoding())
    return value;
  return tesa::AnnotateOp::create(
      builder, loc, RankedTensorType::get(type.getShape(),
                                          type.getElementType()),
      value);
}

/// Rewrites a 1x1 NCHW convolution with unit strides (MobileNet's
/// expansions and projections) as a batched product over the images,
/// out[n, f, p] = sum_c W[f, c] * x[n, c, p] with p = (h, w): a
/// linalg.generic contraction whose batch n the filter does not have. The
/// reshapes are free: no patches, no transposes. Fails, leaving `op`, for
/// any other convolution, and for element types other than all f32 or f16
/// operands accumulating in f32 or f16.
LogicalResult pointwiseAsBatchedProduct(linalg::Conv2DNchwFchwOp op) {
  auto inputType = cast<RankedTensorType>(op.getInputs()[0].getType());
  auto filterType = cast<RankedTensorType>(op.getInputs()[1].getType());
  auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
  if (!inputType.hasStaticShape() || !filterType.hasStaticShape() ||
      !resultType.hasStaticShape() || filterType.getDimSize(2) != 1 ||
      filterType.getDimSize(3) != 1 ||
      !llvm::all_of(op.getStrides().getValues<int64_t>(),
                    [](int64_t s) { return s == 1; }) ||
      inputType.getShape().drop_front(2) != resultType.getShape().drop_front(2))
    return failure();
  Type element = inputType.getElementType();
  Type accumulator = resultType.getElementType();
  if (filterType.getElementType() != element ||
      !(element.isF32() || element.isF16()) ||
      !(accumulator == element || accumulator.isF32()))
    return failure();
  OpBuilder builder(op);
  Location loc = op.getLoc();
  SmallVector<ReassociationIndices> image = {{0}, {1}, {2, 3}};
  Value x = tensor::CollapseShapeOp::create(
      builder, loc, withoutEncoding(builder, loc, op.getInputs()[0]), image);
  Value w = tensor::CollapseShapeOp::create(
      builder, loc, withoutEncoding(builder, loc, op.getInputs()[1]),
      SmallVector<ReassociationIndices>{{0}, {1, 2, 3}});
  Value acc = tensor::CollapseShapeOp::create(
      builder, loc, withoutEncoding(builder, loc, op.getOutputs()[0]), image);
  MLIRContext *ctx = builder.getContext();
  AffineExpr n, f, p, c;
  bindDims(ctx, n, f, p, c);
  SmallVector<AffineMap> maps = {AffineMap::get(4, 0, {f, c}, ctx),
                                 AffineMap::get(4, 0, {n, c, p}, ctx),
                                 AffineMap::get(4, 0, {n, f, p}, ctx)};
  SmallVector<utils::IteratorType> iterators(3, utils::IteratorType::parallel);
  iterators.push_back(utils::IteratorType::reduction);
  auto product = linalg::GenericOp::create(
      builder, loc, acc.getType(), ValueRange{w, x}, acc, maps, iterators,
      [&](OpBuilder &b, Location bodyLoc, ValueRange args) {
        Value lhs = args[0], rhs = args[1];
        if (element != accumulator) {
          lhs = arith::ExtFOp::create(b, bodyLoc, accumulator, lhs);
          rhs = arith::ExtFOp::create(b, bodyLoc, accumulator, rhs);
        }
        Value product = arith::MulFOp::create(b, bodyLoc, lhs, rhs);
        linalg::YieldOp::create(
            b, bodyLoc,
            ValueRange{arith::AddFOp::create(b, bodyLoc, args[2], product)});
      });
  Value result = tensor::ExpandShapeOp::create(
      builder, loc,
      RankedTensorType::get(resultType.getShape(), accumulator),
      product->getResult(0), image);
  if (result.getType() != resultType)
    result = tesa::AnnotateOp::create(builder, loc, resultType, result);
  op->getResult(0).replaceAllUsesWith(result);
  op->erase();
  return success();
}
} // namespace

void ConvolutionsAsProductsPass::runOnOperation() {
  SmallVector<linalg::LinalgOp> convolutions;
  getOperation()->walk([&](linalg::LinalgOp op) {
    if (isa<linalg::Conv2DNchwFchwOp, linalg::Conv2DNhwcHwcfOp>(
            op.getOperation()))
      convolutions.push_back(op);
  });
  for (linalg::LinalgOp op : convolutions) {
    auto nchw = dyn_cast<linalg::Conv2DNchwFchwOp>(op.getOperation());
    if (nchw && succeeded(pointwiseAsBatchedProduct(nchw)))
      continue;
    if (onlyPointwise)
      continue;
    // A convolution that cannot be rewritten stays on the generic path.
    std::string reason;
    (void)tesa::convolutionAsMatmul(op, reason, /*allowF16=*/true);
  }
}
