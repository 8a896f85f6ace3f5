//===- FoldOperandExtensions.cpp - Products read f16 operands directly ----===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// Rewrites `matmul(extf(a16), extf(b16)) -> f32` into `matmul(a16, b16) ->
// f32`: a named product widens its operands to the accumulator's type
// itself, so the two compute the same.
//
//===----------------------------------------------------------------------===//

#include "tesa/Analysis/ScalarEvaluation.h"
#include "tesa/Dialect/Tesa/IR/TesaOps.h"
#include "tesa/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/SmallPtrSet.h"

namespace tesa {
#define GEN_PASS_DEF_FOLDOPERANDEXTENSIONS
#include "tesa/Transforms/Passes.h.inc"
} // namespace tesa

using namespace mlir;

namespace {
struct FoldOperandExtensionsPass
    : public tesa::impl::FoldOperandExtensionsBase<FoldOperandExtensionsPass> {
  void runOnOperation() override;
};
} // namespace

/// The value of a scalar constant, through the casts of it (torch-mlir
/// rounds an f64 scale to f32 inside the body that applies it).
static std::optional<double> getCastConstant(Value value) {
  if (auto truncate = value.getDefiningOp<arith::TruncFOp>()) {
    std::optional<double> wide = getCastConstant(truncate.getIn());
    if (!wide || !truncate.getType().isF32())
      return std::nullopt;
    return double(float(*wide));
  }
  if (auto extend = value.getDefiningOp<arith::ExtFOp>())
    return getCastConstant(extend.getIn());
  return tesa::getScalarConstant(value);
}

namespace {
/// A product's f32 operand that is an f16 tensor widened, element by
/// element: `copy` (an all-parallel linalg.generic of one f16 input,
/// written through the identity and read through a permutation, whose body
/// yields the widened element times constant factors), possibly collapsed
/// by `collapse` (torch-mlir's heads merged with the batch).
struct WidenedOperand {
  linalg::GenericOp copy;
  tensor::CollapseShapeOp collapse;
  /// The product of the factors.
  double scale = 1.0;

  /// Whether the operand is the f16 input itself, widened.
  bool isPlainWidening() {
    return !collapse && scale == 1.0 &&
           llvm::all_of(copy.getIndexingMapsArray(),
                        [](AffineMap map) { return map.isIdentity(); });
  }
  /// The f16 operand: the input, or where the copy moves or scales it or a
  /// reshape follows, an f16 copy of it in the copy's order, reshaped.
  Value buildNarrow(OpBuilder &builder);
};
} // namespace

static std::optional<WidenedOperand> matchWidenedOperand(Value value) {
  WidenedOperand operand;
  if ((operand.collapse = value.getDefiningOp<tensor::CollapseShapeOp>()))
    value = operand.collapse.getSrc();
  operand.copy = value.getDefiningOp<linalg::GenericOp>();
  linalg::GenericOp copy = operand.copy;
  if (!copy || copy.getNumDpsInputs() != 1 || copy.getNumDpsInits() != 1 ||
      copy.getNumParallelLoops() != copy.getNumLoops() ||
      !copy.getIndexingMapsArray()[0].isPermutation() ||
      !copy.getIndexingMapsArray()[1].isIdentity() ||
      !getElementTypeOrSelf(copy.getDpsInputs()[0]).isF16() ||
      !getElementTypeOrSelf(copy.getResult(0)).isF32())
    return std::nullopt;
  // From the yielded value back to the input: factors, then the widening.
  Block &body = copy.getRegion().front();
  Value element = body.getTerminator()->getOperand(0);
  llvm::SmallPtrSet<Operation *, 8> chain;
  while (auto multiply = element.getDefiningOp<arith::MulFOp>()) {
    chain.insert(multiply);
    std::optional<double> factor = getCastConstant(multiply.getRhs());
    element = multiply.getLhs();
    if (!factor) {
      factor = getCastConstant(multiply.getLhs());
      element = multiply.getRhs();
    }
    if (!factor)
      return std::nullopt;
    operand.scale *= *factor;
  }
  auto extend = element.getDefiningOp<arith::ExtFOp>();
  if (!extend || extend.getIn() != body.getArgument(0))
    return std::nullopt;
  chain.insert(extend);
  // Nothing else in the body but the factors' constants.
  for (Operation &op : body.without_terminator())
    if (!chain.contains(&op) && !getCastConstant(op.getResult(0)))
      return std::nullopt;
  return operand;
}

Value WidenedOperand::buildNarrow(OpBuilder &builder) {
  Value input = copy.getDpsInputs()[0];
  if (isPlainWidening())
    return input;
  Location loc = copy.getLoc();
  ArrayRef<int64_t> shape =
      cast<RankedTensorType>(copy.getResult(0).getType()).getShape();
  Type f16 = builder.getF16Type();
  Value init = tensor::EmptyOp::create(builder, loc, shape, f16);
  Value narrow =
      linalg::GenericOp::create(
          builder, loc, TypeRange{init.getType()}, ValueRange{input},
          ValueRange{init}, copy.getIndexingMapsArray(),
          copy.getIteratorTypesArray(),
          [](OpBuilder &b, Location loc, ValueRange args) {
            linalg::YieldOp::create(b, loc, args[0]);
          })
          .getResult(0);
  if (!collapse)
    return narrow;
  auto type = RankedTensorType::get(collapse.getResultType().getShape(), f16);
  return tensor::CollapseShapeOp::create(builder, loc, type, narrow,
                                         collapse.getReassociationIndices());
}

/// Builds `product` again on the f16 operands its inputs widen, when both
/// are widened and it accumulates in f32 (the named op's body widens the
/// new operands itself); the operands' constant factors multiply its result
/// instead.
static void foldExtensions(linalg::LinalgOp product) {
  Value accumulator = product.getDpsInits().front();
  if (!getElementTypeOrSelf(accumulator.getType()).isF32())
    return;
  SmallVector<WidenedOperand> widened;
  for (Value input : product.getDpsInputs()) {
    std::optional<WidenedOperand> operand = matchWidenedOperand(input);
    if (!operand)
      return;
    widened.push_back(*operand);
  }
  // A scaled product starts from zero, so that only its sum is scaled.
  double scale = widened[0].scale * widened[1].scale;
  Value start = accumulator;
  while (auto annotate = start.getDefiningOp<tesa::AnnotateOp>())
    start = annotate.getSource();
  if (scale != 1.0 && tesa::getKnownSplat(start) != 0.0)
    return;
  OpBuilder builder(product);
  Location loc = product.getLoc();
  SmallVector<Value> narrow;
  for (WidenedOperand &operand : widened)
    narrow.push_back(operand.buildNarrow(builder));
  TypeRange results = product->getResultTypes();
  Operation *narrowProduct =
      isa<linalg::MatmulOp>(product.getOperation())
          ? linalg::MatmulOp::create(builder, loc, results, narrow,
                                     ValueRange{accumulator})
                .getOperation()
          : linalg::BatchMatmulOp::create(builder, loc, results, narrow,
                                          ValueRange{accumulator})
                .getOperation();
  Value result = narrowProduct->getResult(0);
  if (scale != 1.0) {
    auto type = cast<RankedTensorType>(result.getType());
    Value init = tensor::EmptyOp::create(builder, loc, type.getShape(),
                                         type.getElementType(),
                                         type.getEncoding());
    Value factor = arith::ConstantOp::create(
        builder, loc, builder.getF32FloatAttr(float(scale)));
    SmallVector<AffineMap> maps(
        2, builder.getMultiDimIdentityMap(type.getRank()));
    result = linalg::GenericOp::create(
                 builder, loc, TypeRange{type}, ValueRange{result},
                 ValueRange{init}, maps,
                 SmallVector<utils::IteratorType>(
                     type.getRank(), utils::IteratorType::parallel),
                 [&](OpBuilder &b, Location loc, ValueRange args) {
                   linalg::YieldOp::create(
                       b, loc,
                       ValueRange{arith::MulFOp::create(b, loc, args[0],
                                                        factor)});
                 })
                 .getResult(0);
  }
  product->getResult(0).replaceAllUsesWith(result);
  product->erase();
  for (WidenedOperand &operand : widened) {
    if (operand.collapse && operand.collapse->use_empty())
      operand.collapse->erase();
    if (operand.copy->use_empty())
      operand.copy->erase();
  }
}

void FoldOperandExtensionsPass::runOnOperation() {
  SmallVector<linalg::LinalgOp> products;
  getOperation()->walk([&](linalg::LinalgOp op) {
    auto matmul = dyn_cast<linalg::MatmulOp>(op.getOperation());
    auto batched = dyn_cast<linalg::BatchMatmulOp>(op.getOperation());
    if ((matmul && !matmul.hasUserDefinedMaps()) ||
        (batched && !batched.hasUserDefinedMaps()))
      products.push_back(op);
  });
  for (linalg::LinalgOp product : products)
    foldExtensions(product);
}
