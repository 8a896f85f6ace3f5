//===- FormAttentionRegions.cpp - Scores, softmax and context as one ------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// Merges the three regions of an attention head (scores, softmax, context)
// into one `attention` region where the attention family computes it on
// the chip (see the pass description in Passes.td).
//
//===----------------------------------------------------------------------===//

#include "tesa/Dialect/Tesa/IR/TesaOps.h"
#include "tesa/Target/ChipDescription.h"
#include "tesa/Transforms/KernelRegions.h"
#include "tesa/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/SmallPtrSet.h"

#include <array>

namespace tesa {
#define GEN_PASS_DEF_FORMATTENTIONREGIONS
#include "tesa/Transforms/Passes.h.inc"
} // namespace tesa

using namespace mlir;
using namespace tesa;

namespace {

/// The annotations (tesa.annotate outside any region) of `kernel`'s one
/// result.
SmallVector<AnnotateOp> getAnnotations(KernelOp kernel) {
  SmallVector<AnnotateOp> annotations;
  for (Operation *user : kernel.getResult(0).getUsers())
    if (auto annotate = dyn_cast<AnnotateOp>(user))
      if (!annotate->getParentOfType<KernelOp>())
        annotations.push_back(annotate);
  return annotations;
}

/// The region of `family` that is the only reader of `kernel`'s one
/// result, directly or through annotations of it, or null.
KernelOp getOnlyReader(KernelOp kernel, KernelFamily family) {
  if (kernel.getNumResults() != 1 || kernel.getResult(0).use_empty())
    return nullptr;
  KernelOp reader;
  SmallVector<Operation *> users(kernel.getResult(0).getUsers());
  for (AnnotateOp annotate : getAnnotations(kernel)) {
    llvm::erase(users, annotate.getOperation());
    if (annotate->getBlock() != kernel->getBlock())
      return nullptr;
    llvm::append_range(users, annotate.getResult().getUsers());
  }
  for (Operation *user : users) {
    auto region = user->getParentOfType<KernelOp>();
    if (!region || (reader && region != reader))
      return nullptr;
    reader = region;
  }
  if (!reader)
    return nullptr;
  if (reader.getFamily() != family ||
      reader->getBlock() != kernel->getBlock())
    return nullptr;
  return reader;
}

/// The ops of `kernels`' bodies, in order, without their terminators.
SmallVector<Operation *> getBodyOps(ArrayRef<KernelOp> kernels) {
  SmallVector<Operation *> ops;
  for (KernelOp kernel : kernels)
    llvm::append_range(ops, kernel.getBodyOps());
  return ops;
}

/// Replaces the three regions by one attention region at the last one's
/// place, whose body is theirs: each region's result read inside the next
/// is the value its body yields, and its annotations between the regions
/// move into the body.
void merge(RewriterBase &rewriter, ArrayRef<KernelOp> kernels) {
  KernelOp last = kernels.back();
  rewriter.setInsertionPoint(last);
  auto attention =
      KernelOp::create(rewriter, last.getLoc(), last.getResultTypes(),
                       KernelFamily::Attention, /*config=*/nullptr);
  Block *body = rewriter.createBlock(&attention.getBody());
  for (KernelOp kernel : kernels) {
    YieldOp yield = kernel.getYield();
    SmallVector<AnnotateOp> annotations;
    if (kernel != last) {
      annotations = getAnnotations(kernel);
      rewriter.replaceAllUsesWith(kernel.getResult(0), yield.getValues()[0]);
    }
    for (Operation &op :
         llvm::make_early_inc_range(kernel.getBody().front()))
      if (&op != yield.getOperation())
        op.moveBefore(body, body->end());
    for (AnnotateOp annotate : annotations)
      annotate->moveBefore(body, body->end());
  }
  rewriter.setInsertionPointToEnd(body);
  YieldOp::create(rewriter, last.getLoc(), last.getYield().getValues());
  rewriter.replaceOp(last, attention.getResults());
  for (KernelOp kernel : kernels.drop_back())
    rewriter.eraseOp(kernel);
}

struct FormAttentionRegionsPass
    : public tesa::impl::FormAttentionRegionsBase<FormAttentionRegionsPass> {
  using FormAttentionRegionsBase::FormAttentionRegionsBase;

  void runOnOperation() override {
    llvm::Expected<const ChipDescription &> found = getChip(chip);
    if (!found) {
      emitError(getOperation()->getLoc()) << llvm::toString(found.takeError());
      return signalPassFailure();
    }
    SmallVector<KernelOp> candidates;
    getOperation()->walk([&](KernelOp kernel) {
      if (kernel.getFamily() == KernelFamily::Contraction)
        candidates.push_back(kernel);
    });
    // Found first, merged after: merging erases regions.
    SmallVector<std::array<KernelOp, 3>> attentions;
    llvm::SmallPtrSet<Operation *, 16> taken;
    for (KernelOp scores : candidates) {
      KernelOp softmax = getOnlyReader(scores, KernelFamily::RowReduction);
      KernelOp context =
          softmax ? getOnlyReader(softmax, KernelFamily::Contraction)
                  : nullptr;
      if (!context || taken.contains(scores) || taken.contains(context))
        continue;
      std::array<KernelOp, 3> kernels = {scores, softmax, context};
      FailureOr<AttentionBody> body = matchAttentionBody(getBodyOps(kernels));
      if (failed(body) || !computedOnChip(*body, *found))
        continue;
      attentions.push_back(kernels);
      for (KernelOp kernel : kernels)
        taken.insert(kernel);
    }
    IRRewriter rewriter(&getContext());
    for (ArrayRef<KernelOp> kernels : attentions)
      merge(rewriter, kernels);
  }

  /// Whether the attention family computes `body` on `chip`.
  bool computedOnChip(const AttentionBody &body, const ChipDescription &chip) {
    TileConfigAttr config = chooseAttentionConfig(&getContext(), chip, body);
    if (config && config.getAtom() == MmaAtom::FmaF32)
      return true;
    // The probabilities stay in registers: only V is copied. Q, K and V
    // are read where the tensors their copies view are.
    if (!fitsTensorCoreTiles(body.scores, 0, /*throughViews=*/true) ||
        !fitsTensorCoreTiles(body.scores, 1, /*throughViews=*/true) ||
        !fitsTensorCoreTiles(body.context, 1, /*throughViews=*/true))
      return false;
    return config != nullptr;
  }
};

} // namespace
