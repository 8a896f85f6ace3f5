//===- VerifyEncodings.cpp - Check #tesa.sparsity map data ----------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Dialect/Tesa/IR/TesaAttrs.h"
#include "tesa/Transforms/Passes.h"


namespace tesa {
#define GEN_PASS_DEF_VERIFYENCODINGS
#include "tesa/Transforms/Passes.h.inc"
} // namespace tesa

using namespace mlir;
using namespace tesa;

namespace {
struct VerifyEncodingsPass
    : public tesa::impl::VerifyEncodingsBase<VerifyEncodingsPass> {
  void runOnOperation() override;
};
} // namespace

void VerifyEncodingsPass::runOnOperation() {
  if (failed(verifyEncodingsIn(getOperation())))
    return signalPassFailure();
  markAllAnalysesPreserved();
}
