//===- ConvolutionsAsProducts.cpp - Dense convolutions as implicit GEMMs --===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// Rewrites the 2-D convolutions the decomposition left as they are into
// patches times the flattened filter, so that kernel regions compute their
// products.
//
//===----------------------------------------------------------------------===//

#include "MatmulForms.h"
#include "tesa/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"

namespace tesa {
#define GEN_PASS_DEF_CONVOLUTIONSASPRODUCTS
#include "tesa/Transforms/Passes.h.inc"
} // namespace tesa

using namespace mlir;

namespace {
struct ConvolutionsAsProductsPass
    : public tesa::impl::ConvolutionsAsProductsBase<
          ConvolutionsAsProductsPass> {
  void runOnOperation() override;
};
} // namespace

void ConvolutionsAsProductsPass::runOnOperation() {
  SmallVector<linalg::LinalgOp> convolutions;
  getOperation()->walk([&](linalg::LinalgOp op) {
    if (isa<linalg::Conv2DNchwFchwOp, linalg::Conv2DNhwcHwcfOp>(
            op.getOperation()))
      convolutions.push_back(op);
  });
  for (linalg::LinalgOp op : convolutions) {
    // A convolution that cannot be rewritten stays on the generic path.
    std::string reason;
    (void)tesa::convolutionAsMatmul(op, reason, /*allowF16=*/true);
  }
}
