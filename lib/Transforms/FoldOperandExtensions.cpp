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
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/SmallPtrSet.h"

namespace tesa {
#define GEN_PASS_DEF_FOLDOPERANDEXTENSIONS
#include "tesa/Transforms/Passes.h.inc"
} // namespace tesa

using namespace mlir;

namespace {
struct FoldOperandExtensionsPass
    : public tesa::impl::FoldOperandExtensionsBase<FoldOperandExtensionsPass> {
  using FoldOperandExtensionsBase::FoldOperandExtensionsBase;
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
/// A product's f32 operand that is a tensor moved and widened, element by
/// element: `copy` (an all-parallel linalg.generic of one input, written
/// through the identity and read through a permutation, whose body yields
/// the element, widened from f16 or already f32, times constant factors),
/// possibly collapsed by `collapse` (torch-mlir's heads merged with the
/// batch).
struct WidenedOperand {
  linalg::GenericOp copy;
  tensor::CollapseShapeOp collapse;
  /// The product of the factors.
  double scale = 1.0;
  /// Instead of the above: an f32 operand that the product rounds to f16,
  /// or that it reads as it is.
  Value rounded, kept;

  /// The operand the product reads instead: the input, copied in the
  /// copy's order where that is another, and collapsed where the operand
  /// is.
  Value buildNarrow(OpBuilder &builder);
};
} // namespace

/// `value` as a WidenedOperand whose input is f16 (`widens`) or f32.
static std::optional<WidenedOperand> matchWidenedOperand(Value value,
                                                         bool widens) {
  WidenedOperand operand;
  if ((operand.collapse = value.getDefiningOp<tensor::CollapseShapeOp>()))
    value = operand.collapse.getSrc();
  operand.copy = value.getDefiningOp<linalg::GenericOp>();
  linalg::GenericOp copy = operand.copy;
  if (!copy || copy.getNumDpsInputs() != 1 || copy.getNumDpsInits() != 1 ||
      copy.getNumParallelLoops() != copy.getNumLoops() ||
      !copy.getIndexingMapsArray()[0].isPermutation() ||
      !copy.getIndexingMapsArray()[1].isIdentity() ||
      !(widens ? getElementTypeOrSelf(copy.getDpsInputs()[0]).isF16()
               : getElementTypeOrSelf(copy.getDpsInputs()[0]).isF32()) ||
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
  if (widens) {
    auto extend = element.getDefiningOp<arith::ExtFOp>();
    if (!extend)
      return std::nullopt;
    chain.insert(extend);
    element = extend.getIn();
  }
  if (element != body.getArgument(0))
    return std::nullopt;
  // Nothing else in the body but the factors' constants.
  for (Operation &op : body.without_terminator())
    if (!chain.contains(&op) &&
        (op.getNumResults() != 1 || !getCastConstant(op.getResult(0))))
      return std::nullopt;
  return operand;
}

/// A tensor of `shape` and `element`s (f16 or f32) copied from `input`
/// through `maps` (the input's, then the identity), each element rounded
/// where it is wider.
static Value buildCopy(OpBuilder &builder, Location loc, Value input,
                       ArrayRef<AffineMap> maps, ArrayRef<int64_t> shape,
                       Type element) {
  Value init = tensor::EmptyOp::create(builder, loc, shape, element);
  return linalg::GenericOp::create(
             builder, loc, TypeRange{init.getType()}, ValueRange{input},
             ValueRange{init}, maps,
             SmallVector<utils::IteratorType>(shape.size(),
                                              utils::IteratorType::parallel),
             [&](OpBuilder &b, Location loc, ValueRange args) {
               Value value = args[0];
               if (value.getType() != element)
                 value = arith::TruncFOp::create(b, loc, element, value);
               linalg::YieldOp::create(b, loc, value);
             })
      .getResult(0);
}

/// `narrow` collapsed as `collapse` collapses its wider (or scaled) source.
static Value collapseAs(OpBuilder &builder, tensor::CollapseShapeOp collapse,
                        Value narrow) {
  auto type = RankedTensorType::get(collapse.getResultType().getShape(),
                                    getElementTypeOrSelf(narrow));
  return tensor::CollapseShapeOp::create(builder, collapse.getLoc(), type,
                                         narrow,
                                         collapse.getReassociationIndices());
}

/// `value` (f32) rounded to f16 element by element; a collapsed tensor is
/// rounded before the collapse, next to what made it.
static Value buildRounding(OpBuilder &builder, Value value) {
  if (auto collapse = value.getDefiningOp<tensor::CollapseShapeOp>())
    return collapseAs(builder, collapse,
                      buildRounding(builder, collapse.getSrc()));
  auto type = cast<RankedTensorType>(value.getType());
  SmallVector<AffineMap> maps(2,
                              builder.getMultiDimIdentityMap(type.getRank()));
  return buildCopy(builder, value.getLoc(), value, maps, type.getShape(),
                   builder.getF16Type());
}

/// Whether `op` reads each element of its one input once: through a
/// projected permutation onto all its dimensions, the loops it leaves out
/// of extent 1 (a unit dimension the output adds).
static bool readsEachElementOnce(linalg::GenericOp op) {
  AffineMap map = op.getIndexingMapsArray()[0];
  if (!map.isProjectedPermutation() || !op.getIndexingMapsArray()[1].isIdentity())
    return false;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  for (unsigned loop = 0; loop < map.getNumDims(); ++loop)
    if (!map.isFunctionOfDim(loop) && ranges[loop] != 1)
      return false;
  return true;
}

/// Whether every use of `result` rounds it to f16 element by element (an
/// all-parallel linalg.generic reading each element once whose body is
/// one `arith.truncf`).
static bool isOnlyRoundedToF16(Value result) {
  return !result.use_empty() &&
         llvm::all_of(result.getUsers(), [](Operation *user) {
           auto generic = dyn_cast<linalg::GenericOp>(user);
           if (!generic || generic.getNumDpsInputs() != 1 ||
               generic.getNumParallelLoops() != generic.getNumLoops() ||
               !readsEachElementOnce(generic))
             return false;
           Block &body = generic.getRegion().front();
           auto truncate = dyn_cast<arith::TruncFOp>(body.front());
           return body.getOperations().size() == 2 && truncate &&
                  truncate.getIn() == body.getArgument(0) &&
                  truncate.getType().isF16();
         });
}

Value WidenedOperand::buildNarrow(OpBuilder &builder) {
  if (kept)
    return kept;
  if (rounded)
    return buildRounding(builder, rounded);
  Value narrow = copy.getDpsInputs()[0];
  if (!copy.getIndexingMapsArray()[0].isIdentity())
    narrow = buildCopy(
        builder, copy.getLoc(), narrow, copy.getIndexingMapsArray(),
        cast<RankedTensorType>(copy.getResult(0).getType()).getShape(),
        getElementTypeOrSelf(narrow));
  return collapse ? collapseAs(builder, collapse, narrow) : narrow;
}

/// Whether `value` is an f16 tensor widened, through a chain of ops of one
/// input each that move or convert its elements (linalg.transpose, an
/// all-parallel linalg.generic, a reshape or an annotation).
static bool isMovedFromF16(Value value) {
  while (Operation *op = value.getDefiningOp()) {
    auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
    if (isa<tensor::ExpandShapeOp, tensor::CollapseShapeOp, tesa::AnnotateOp>(
            op))
      value = op->getOperand(0);
    else if (isa<linalg::GenericOp, linalg::TransposeOp>(op) &&
             linalgOp.getNumDpsInputs() == 1 &&
             linalgOp.getNumParallelLoops() == linalgOp.getNumLoops())
      value = linalgOp.getDpsInputs()[0];
    else
      return false;
    if (getElementTypeOrSelf(value).isF16())
      return true;
  }
  return false;
}

/// The operands of `product` the f16 fold reads instead: widened f16
/// tensors, or one of them and an f32 operand the product rounds to f16
/// (with `roundOperands`); none when they are not.
static SmallVector<WidenedOperand>
matchWidenedOperands(linalg::LinalgOp product, bool roundOperands) {
  SmallVector<WidenedOperand> widened;
  for (Value input : product.getDpsInputs()) {
    std::optional<WidenedOperand> operand =
        matchWidenedOperand(input, /*widens=*/true);
    if (!operand) {
      // An f32 operand of a product whose result is only rounded to f16.
      if (!roundOperands || !getElementTypeOrSelf(input).isF32() ||
          !isOnlyRoundedToF16(product->getResult(0)))
        return {};
      operand = WidenedOperand();
      operand->rounded = input;
    }
    widened.push_back(*operand);
  }
  if (widened[0].rounded && widened[1].rounded)
    return {};
  return widened;
}

/// The operands of the f32 `product` the f32 fold reads instead: those an
/// op moves and scales, moved alone, and the others as they are; none
/// when no operand is scaled. One that scales a widened f16 tensor is left
/// to the f16 fold, once --tesa-fuse-elementwise-chains has made its chain
/// one op.
static SmallVector<WidenedOperand>
matchScaledOperands(linalg::LinalgOp product) {
  SmallVector<WidenedOperand> scaled;
  for (Value input : product.getDpsInputs()) {
    std::optional<WidenedOperand> operand =
        matchWidenedOperand(input, /*widens=*/false);
    if (!operand || operand->scale == 1.0 ||
        isMovedFromF16(operand->copy.getDpsInputs()[0])) {
      operand = WidenedOperand();
      operand->kept = input;
    }
    scaled.push_back(*operand);
  }
  if (scaled[0].kept && scaled[1].kept)
    return {};
  return scaled;
}

/// Builds `product` again on the f16 operands its inputs widen, when both
/// are widened and it accumulates in f32 (the named op's body widens the
/// new operands itself), or else on its f32 operands without their scales;
/// the operands' constant factors multiply its result instead.
static void foldExtensions(linalg::LinalgOp product, bool roundOperands) {
  Value accumulator = product.getDpsInits().front();
  if (!getElementTypeOrSelf(accumulator.getType()).isF32())
    return;
  SmallVector<WidenedOperand> widened =
      matchWidenedOperands(product, roundOperands);
  if (widened.empty())
    widened = matchScaledOperands(product);
  if (widened.empty())
    return;
  // A scaled product starts from zero, so that only its sum is scaled.
  double scale = widened[0].scale * widened[1].scale;
  if (scale != 1.0 &&
      tesa::getKnownSplat(tesa::skipAnnotations(accumulator)) != 0.0)
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
  // What the product read before, each once (both operands may be the same
  // copy), readers before what they read: the collapses, the copies, and
  // the rounded operand's collapse, which the rounding replaced.
  llvm::SetVector<Operation *> replaced;
  for (WidenedOperand &operand : widened)
    if (operand.collapse)
      replaced.insert(operand.collapse);
  for (WidenedOperand &operand : widened) {
    if (operand.copy)
      replaced.insert(operand.copy);
    if (Operation *op = operand.rounded ? operand.rounded.getDefiningOp()
                                        : nullptr)
      replaced.insert(op);
  }
  for (Operation *op : replaced)
    if (isOpTriviallyDead(op))
      op->erase();
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
    foldExtensions(product, roundOperands);
}
