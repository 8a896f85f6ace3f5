//===- FormKernelRegions.cpp - Group ops into tesa.kernel regions ---------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// Forms the kernel regions of code generation (docs/codegen.md): a
// contraction with its transposed operands folded into its indexing maps and
// its elementwise consumers as the epilogue, and softmaxes along the last
// dimension as row reductions.
//
//===----------------------------------------------------------------------===//

#include "tesa/Dialect/Tesa/IR/TesaOps.h"
#include "tesa/Transforms/KernelRegions.h"
#include "tesa/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/IR/PatternMatch.h"

namespace tesa {
#define GEN_PASS_DEF_FORMKERNELREGIONS
#include "tesa/Transforms/Passes.h.inc"
} // namespace tesa

using namespace mlir;
using namespace tesa;

namespace {

bool isStaticF32(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  return tensor && tensor.hasStaticShape() && tensor.getElementType().isF32();
}

bool allStaticF32(Operation *op) {
  return llvm::all_of(op->getOperandTypes(), isStaticF32) &&
         llvm::all_of(op->getResultTypes(), isStaticF32);
}

/// `value` seen through the annotations that only assert facts about it.
Value skipAnnotations(Value value) {
  while (auto annotate = value.getDefiningOp<AnnotateOp>())
    value = annotate.getSource();
  return value;
}

/// The only user of `value`, or null.
Operation *getSingleUser(Value value) {
  return value.hasOneUse() ? *value.getUsers().begin() : nullptr;
}

/// Folds the copies that produce the operands of `contraction` (transposes,
/// seen through annotations) into its indexing maps: it then reads the
/// copies' sources directly.
void foldOperandCopies(RewriterBase &rewriter, linalg::GenericOp contraction) {
  SmallVector<AffineMap> maps = contraction.getIndexingMapsArray();
  SmallVector<Value> inputs = contraction.getDpsInputs();
  bool changed = false;
  for (auto [i, input] : llvm::enumerate(inputs)) {
    Value source;
    AffineMap sourceMap;
    if (!matchCopy(skipAnnotations(input), source, sourceMap))
      continue;
    maps[i] = sourceMap.compose(maps[i]);
    inputs[i] = source;
    changed = true;
  }
  if (!changed)
    return;
  rewriter.modifyOpInPlace(contraction, [&] {
    contraction.getInputsMutable().assign(inputs);
    contraction.setIndexingMapsAttr(rewriter.getAffineMapArrayAttr(maps));
  });
}

/// The elementwise consumers that form a contraction's epilogue, in order,
/// starting from its result: each the single user of the previous value
/// (annotations included, which pass it through).
SmallVector<Operation *> collectEpilogue(RewriterBase &rewriter, Value value) {
  SmallVector<Operation *> chain;
  while (Operation *user = getSingleUser(value)) {
    if (auto annotate = dyn_cast<AnnotateOp>(user)) {
      chain.push_back(annotate);
      value = annotate.getResult();
      continue;
    }
    auto linalgOp = dyn_cast<linalg::LinalgOp>(user);
    if (!linalgOp || user->getBlock() != value.getParentBlock() ||
        !allStaticF32(user))
      break;
    auto generic = dyn_cast<linalg::GenericOp>(user);
    if (!generic) {
      if (!linalg::isElementwise(linalgOp) && !isa<linalg::TransposeOp>(user))
        break;
      rewriter.setInsertionPoint(user);
      FailureOr<linalg::GenericOp> generalized =
          linalg::generalizeNamedOp(rewriter, linalgOp);
      if (failed(generalized))
        break;
      generic = *generalized;
    }
    if (!isEpilogueStep(generic, value))
      break;
    chain.push_back(generic);
    value = generic.getResult(0);
  }
  return chain;
}

/// Moves `ops` (in order, the last one's results yielded) into a new
/// `tesa.kernel` of `family` placed where the last one was.
void wrapInKernel(RewriterBase &rewriter, KernelFamily family,
                  ArrayRef<Operation *> ops) {
  Operation *last = ops.back();
  rewriter.setInsertionPoint(last);
  auto kernel = KernelOp::create(rewriter, last->getLoc(),
                                 last->getResultTypes(), family,
                                 /*config=*/nullptr);
  Block *body = rewriter.createBlock(&kernel.getBody());
  rewriter.replaceAllUsesWith(last->getResults(), kernel.getResults());
  for (Operation *op : ops)
    op->moveBefore(body, body->end());
  rewriter.setInsertionPointToEnd(body);
  YieldOp::create(rewriter, last->getLoc(), last->getResults());
}

void formContraction(RewriterBase &rewriter, linalg::LinalgOp op) {
  if (!isContractionForKernel(op))
    return;
  linalg::GenericOp contraction = dyn_cast<linalg::GenericOp>(*op);
  if (!contraction) {
    rewriter.setInsertionPoint(op);
    FailureOr<linalg::GenericOp> generalized =
        linalg::generalizeNamedOp(rewriter, op);
    if (failed(generalized))
      return;
    contraction = *generalized;
  }
  foldOperandCopies(rewriter, contraction);
  SmallVector<Operation *> ops = {contraction};
  llvm::append_range(ops,
                     collectEpilogue(rewriter, contraction.getResult(0)));
  wrapInKernel(rewriter, KernelFamily::Contraction, ops);
}

void formRowReduction(RewriterBase &rewriter, linalg::SoftmaxOp op) {
  auto type = cast<ShapedType>(op.getInput().getType());
  if (!allStaticF32(op) || int64_t(op.getDimension()) != type.getRank() - 1)
    return;
  wrapInKernel(rewriter, KernelFamily::RowReduction, {op});
}

struct FormKernelRegionsPass
    : public tesa::impl::FormKernelRegionsBase<FormKernelRegionsPass> {
  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    SmallVector<linalg::LinalgOp> contractions;
    SmallVector<linalg::SoftmaxOp> softmaxes;
    getOperation()->walk([&](Operation *op) {
      if (op->getParentOfType<KernelOp>())
        return;
      if (auto softmax = dyn_cast<linalg::SoftmaxOp>(op))
        softmaxes.push_back(softmax);
      else if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op))
        if (linalg::isaContractionOpInterface(linalgOp))
          contractions.push_back(linalgOp);
    });
    for (linalg::LinalgOp op : contractions)
      formContraction(rewriter, op);
    for (linalg::SoftmaxOp op : softmaxes)
      formRowReduction(rewriter, op);
    // Copies whose readers now read their sources (and the annotations
    // before them), last first.
    SmallVector<Operation *> copies;
    getOperation()->walk([&](Operation *op) {
      if (isa<linalg::TransposeOp, AnnotateOp>(op))
        copies.push_back(op);
    });
    for (Operation *op : llvm::reverse(copies))
      if (op->use_empty())
        rewriter.eraseOp(op);
  }
};

} // namespace
