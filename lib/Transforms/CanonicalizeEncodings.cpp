//===- CanonicalizeEncodings.cpp - Canonical #tesa.sparsity everywhere ----===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Dialect/Tesa/IR/TesaAttrs.h"
#include "tesa/Transforms/Passes.h"

#include "mlir/IR/AttrTypeSubElements.h"

namespace tesa {
#define GEN_PASS_DEF_CANONICALIZEENCODINGS
#include "tesa/Transforms/Passes.h.inc"
} // namespace tesa

using namespace mlir;
using namespace tesa;

namespace {
struct CanonicalizeEncodingsPass
    : public tesa::impl::CanonicalizeEncodingsBase<CanonicalizeEncodingsPass> {
  void runOnOperation() override;
};
} // namespace

void CanonicalizeEncodingsPass::runOnOperation() {
  // Once every map's data is known good, canonicalisation cannot fail.
  if (failed(verifyEncodingsIn(getOperation())))
    return signalPassFailure();
  AttrTypeReplacer replacer;
  replacer.addReplacement([](SparsityAttr encoding) -> Attribute {
    return *encoding.getCanonical();
  });
  replacer.recursivelyReplaceElementsIn(getOperation(), /*replaceAttrs=*/true,
                                        /*replaceLocs=*/false,
                                        /*replaceTypes=*/true);
}
