//===- InlineKernelRegions.cpp - Put the ops of tesa.kernel back ----------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Dialect/Tesa/IR/TesaOps.h"
#include "tesa/Transforms/KernelRegions.h"
#include "tesa/Transforms/Passes.h"

namespace tesa {
#define GEN_PASS_DEF_INLINEKERNELREGIONS
#include "tesa/Transforms/Passes.h.inc"
} // namespace tesa

using namespace mlir;

namespace {

struct InlineKernelRegionsPass
    : public tesa::impl::InlineKernelRegionsBase<InlineKernelRegionsPass> {
  void runOnOperation() override {
    SmallVector<tesa::KernelOp> kernels;
    getOperation()->walk([&](tesa::KernelOp op) { kernels.push_back(op); });
    IRRewriter rewriter(&getContext());
    for (tesa::KernelOp kernel : kernels)
      tesa::inlineKernelRegion(rewriter, kernel);
  }
};

} // namespace
