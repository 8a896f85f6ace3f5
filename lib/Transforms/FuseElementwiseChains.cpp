//===- FuseElementwiseChains.cpp - One op for a chain of elementwise ops --===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// Fuses each elementwise op into its only reader when that is elementwise
// too (upstream's linalg::fuseElementwiseOps), and a copy of a plain
// broadcast into each of its readers, so that a chain such as
// torch-mlir's head transpose, f16-to-f32 widening and scaling of a query
// is one op: one launch on the generic path, or one step of a region.
//
//===----------------------------------------------------------------------===//

#include "tesa/Dialect/Tesa/IR/TesaOps.h"
#include "tesa/Transforms/KernelRegions.h"
#include "tesa/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace tesa {
#define GEN_PASS_DEF_FUSEELEMENTWISECHAINS
#include "tesa/Transforms/Passes.h.inc"
} // namespace tesa

using namespace mlir;

namespace {

/// Whether `op` is elementwise over static tensors: all loops parallel, one
/// result, a generic or a transpose.
bool isElementwiseOnTensors(Operation *op) {
  auto linalgOp = dyn_cast_or_null<linalg::LinalgOp>(op);
  return linalgOp && isa<linalg::GenericOp, linalg::TransposeOp>(op) &&
         linalgOp.hasPureTensorSemantics() && op->getNumResults() == 1 &&
         linalgOp.getNumParallelLoops() == linalgOp.getNumLoops() &&
         llvm::all_of(op->getOperandTypes(), [](Type type) {
           auto tensor = dyn_cast<RankedTensorType>(type);
           return tensor && tensor.hasStaticShape();
         });
}

/// `op` as a linalg.generic, generalised in place if it is a named op.
linalg::GenericOp asGeneric(RewriterBase &rewriter, Operation *op) {
  if (auto generic = dyn_cast<linalg::GenericOp>(op))
    return generic;
  rewriter.setInsertionPoint(op);
  FailureOr<linalg::GenericOp> generic =
      linalg::generalizeNamedOp(rewriter, cast<linalg::LinalgOp>(op));
  return succeeded(generic) ? *generic : nullptr;
}

/// The number of elements of a static tensor type.
int64_t getNumElements(Type type) {
  return cast<RankedTensorType>(type).getNumElements();
}

/// Whether elementwise `op` computes each element from its inputs alone,
/// as a kernel region's epilogue step can: f16, f32 or boolean tensors,
/// arith and math ops, no loop index and no read of another tensor (a
/// gather's tensor.extract).
bool isPlainElementwise(Operation *op) {
  auto isStepType = [](Type type) {
    return tesa::isKernelTensorType(type) || tesa::isMaskTensorType(type);
  };
  if (!llvm::all_of(op->getOperandTypes(), isStepType))
    return false;
  auto generic = dyn_cast<linalg::GenericOp>(op);
  return !generic ||
         llvm::all_of(generic.getBody()->getOperations(), [](Operation &inner) {
           return isa<arith::ArithDialect, math::MathDialect>(
                      inner.getDialect()) ||
                  isa<linalg::YieldOp>(inner);
         });
}

/// Whether `producer` only broadcasts smaller tensors, plainly (see
/// isPlainElementwise): a reader that computes it again reads those
/// smaller tensors instead of its whole result. torch-mlir's attention
/// mask is one: a boolean per query and per key, broadcast and selected
/// into 0 / -inf once, then added to every layer's scores.
bool isBroadcastProducer(Operation *producer) {
  int64_t resultSize = getNumElements(producer->getResult(0).getType());
  return isPlainElementwise(producer) &&
         llvm::all_of(cast<linalg::LinalgOp>(producer).getDpsInputs(),
                      [&](Value input) {
                        return getNumElements(input.getType()) < resultSize;
                      });
}

/// Fuses into `consumer` the first elementwise producer it alone reads;
/// with `plainOnly`, the first plain one (see isPlainElementwise) it alone
/// reads or that only broadcasts (see isBroadcastProducer; a copy is fused
/// then). Returns the fused op, or null when there is none.
Operation *fuseOneProducer(RewriterBase &rewriter, linalg::GenericOp consumer,
                           bool plainOnly) {
  for (OpOperand *input : consumer.getDpsInputOperands()) {
    Operation *producer = input->get().getDefiningOp();
    if (!isElementwiseOnTensors(producer) ||
        producer->getBlock() != consumer->getBlock())
      continue;
    if (plainOnly && !isPlainElementwise(producer))
      continue;
    bool shared = !input->get().hasOneUse();
    if (shared && !(plainOnly && isBroadcastProducer(producer)))
      continue;
    // A transpose is generalised in place.
    producer = asGeneric(rewriter, producer);
    if (!producer || !linalg::areElementwiseOpsFusable(input))
      continue;
    // The fused op takes the consumer's place; a shared producer is copied
    // there first, and the copy fused.
    rewriter.setInsertionPoint(consumer);
    Value sharedValue = input->get();
    if (shared) {
      producer = rewriter.clone(*producer);
      rewriter.modifyOpInPlace(consumer,
                               [&] { input->set(producer->getResult(0)); });
    }
    FailureOr<linalg::ElementwiseOpFusionResult> fused =
        linalg::fuseElementwiseOps(rewriter, input);
    if (failed(fused)) {
      if (shared) {
        rewriter.modifyOpInPlace(consumer, [&] { input->set(sharedValue); });
        rewriter.eraseOp(producer);
      }
      continue;
    }
    for (auto [original, replacement] : fused->replacements)
      rewriter.replaceAllUsesExcept(original, replacement, fused->fusedOp);
    rewriter.eraseOp(consumer);
    if (producer->use_empty())
      rewriter.eraseOp(producer);
    return fused->fusedOp;
  }
  return nullptr;
}

/// Whether `operand` of an elementwise op reads a product's result through
/// a tensor.expand_shape (a convolution rewritten as a batched product,
/// whose result is expanded back to the images' shape).
bool readsExpandedProduct(OpOperand *operand) {
  auto expand = operand->get().getDefiningOp<tensor::ExpandShapeOp>();
  auto product =
      expand ? expand.getSrc().getDefiningOp<linalg::LinalgOp>() : nullptr;
  return product && linalg::isaContractionOpInterface(product) &&
         isElementwiseOnTensors(operand->getOwner());
}

/// Makes the elementwise readers of an annotated expansion of a product
/// read the expansion itself. A sparse product computed densely (an f16
/// convolution that was not decomposed) gives back its declared encoding
/// through a tesa.annotate, which would hide the expansion from the folding
/// below; the annotation only declares which elements are zero or not
/// needed, so the readers compute the same from the unannotated value.
void readExpandedProductsUnannotated(Operation *root) {
  root->walk([](tesa::AnnotateOp annotate) {
    auto expand = annotate.getSource().getDefiningOp<tensor::ExpandShapeOp>();
    if (!expand)
      return;
    for (OpOperand &use : llvm::make_early_inc_range(annotate->getUses())) {
      auto reader = dyn_cast<linalg::GenericOp>(use.getOwner());
      if (reader && reader.isDpsInput(&use) && isElementwiseOnTensors(reader))
        use.set(expand.getResult());
    }
  });
}

struct FuseElementwiseChainsPass
    : public tesa::impl::FuseElementwiseChainsBase<FuseElementwiseChainsPass> {
  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    // First the plain ops, broadcasts copied into their readers, then the
    // others: a mask broadcast from a gather's booleans stays a broadcast
    // of the gather's small result, which every layer's scores can read.
    for (bool plainOnly : {true, false}) {
      SmallVector<linalg::GenericOp> consumers;
      getOperation()->walk([&](Operation *op) {
        if (isa<linalg::GenericOp>(op) && isElementwiseOnTensors(op))
          consumers.push_back(cast<linalg::GenericOp>(op));
      });
      // In program order, each consumer takes its producers one at a time.
      for (linalg::GenericOp consumer : consumers)
        while (Operation *fused =
                   fuseOneProducer(rewriter, consumer, plainOnly))
          consumer = cast<linalg::GenericOp>(fused);
    }
    // Then elementwise ops of expanded products work on the products' shape
    // (upstream's folding of reshapes by collapsing loops), where the
    // product's epilogue can take them.
    readExpandedProductsUnannotated(getOperation());
    RewritePatternSet reshapes(&getContext());
    linalg::populateFoldReshapeOpsByCollapsingPatterns(reshapes,
                                                       readsExpandedProduct);
    if (failed(applyPatternsGreedily(getOperation(), std::move(reshapes))))
      return signalPassFailure();
  }
};

} // namespace
