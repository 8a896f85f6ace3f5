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

#include "tesa/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"

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

/// The f16 tensor that `value` widens to f32 element by element (an
/// all-parallel generic with identity maps whose body is one `arith.extf`),
/// or null.
static Value getWidenedF16(Value value) {
  auto generic = value.getDefiningOp<linalg::GenericOp>();
  if (!generic || generic.getNumDpsInputs() != 1 ||
      generic.getNumDpsInits() != 1 ||
      generic.getNumParallelLoops() != generic.getNumLoops() ||
      !llvm::all_of(generic.getIndexingMapsArray(),
                    [](AffineMap map) { return map.isIdentity(); }))
    return nullptr;
  Block &body = generic.getRegion().front();
  if (body.getOperations().size() != 2)
    return nullptr;
  auto extend = dyn_cast<arith::ExtFOp>(body.front());
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  if (!extend || extend.getIn() != body.getArgument(0) ||
      yield.getValues().front() != extend.getResult() ||
      !extend.getIn().getType().isF16() || !extend.getType().isF32())
    return nullptr;
  return generic.getDpsInputs().front();
}

/// Builds `product` again on the f16 operands its inputs widen, when both
/// are widened and it accumulates in f32 (the named op's body widens the
/// new operands itself).
static void foldExtensions(linalg::LinalgOp product) {
  Value accumulator = product.getDpsInits().front();
  if (!getElementTypeOrSelf(accumulator.getType()).isF32())
    return;
  SmallVector<Value> narrow;
  for (Value input : product.getDpsInputs()) {
    Value f16 = getWidenedF16(input);
    if (!f16)
      return;
    narrow.push_back(f16);
  }
  OpBuilder builder(product);
  Location loc = product.getLoc();
  TypeRange results = product->getResultTypes();
  Operation *narrowProduct =
      isa<linalg::MatmulOp>(product.getOperation())
          ? linalg::MatmulOp::create(builder, loc, results, narrow,
                                     ValueRange{accumulator})
                .getOperation()
          : linalg::BatchMatmulOp::create(builder, loc, results, narrow,
                                          ValueRange{accumulator})
                .getOperation();
  SmallVector<Operation *> widenings;
  for (Value input : product.getDpsInputs())
    widenings.push_back(input.getDefiningOp());
  product->replaceAllUsesWith(narrowProduct);
  product->erase();
  for (Operation *widening : widenings)
    if (widening->use_empty())
      widening->erase();
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
