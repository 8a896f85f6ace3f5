//===- CanonicalizeEncodings.cpp - Canonical #tesa.sparsity everywhere ----===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Dialect/Tesa/IR/TesaAttrs.h"
#include "tesa/Transforms/Passes.h"

#include "mlir/IR/AttrTypeSubElements.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/Pass/PassManager.h"

namespace tesa {
#define GEN_PASS_DEF_CANONICALIZEENCODINGS
#include "tesa/Transforms/Passes.h.inc"
} // namespace tesa

using namespace mlir;
using namespace tesa;

namespace {
struct CanonicalizeEncodingsPass
    : public tesa::impl::CanonicalizeEncodingsBase<CanonicalizeEncodingsPass> {
  using CanonicalizeEncodingsBase::CanonicalizeEncodingsBase;
  void runOnOperation() override;
};
} // namespace

void CanonicalizeEncodingsPass::runOnOperation() {
  // Once every map's data is known good, canonicalisation cannot fail.
  if (failed(verifyEncodingsIn(getOperation())))
    return signalPassFailure();
  auto canonicalize = [&](SparsityAttr encoding) -> SparsityAttr {
    if (!resourceMaps && encoding.hasResourceMap())
      return encoding;
    return *encoding.getCanonical();
  };
  AttrTypeReplacer replacer;
  replacer.addReplacement(
      [&](SparsityAttr encoding) -> Attribute { return canonicalize(encoding); });
  // The replacer does not look into the type of an elements attribute (the
  // value of an arith.constant whose result carries an encoding), which must
  // stay the result's type.
  auto getCanonicalType = [&](Type type) -> RankedTensorType {
    SparsityAttr encoding = getSparsityEncoding(type);
    if (!encoding || canonicalize(encoding) == encoding)
      return {};
    return cast<RankedTensorType>(type).cloneWithEncoding(
        canonicalize(encoding));
  };
  replacer.addReplacement(
      [&](DenseElementsAttr value) -> std::optional<Attribute> {
        if (RankedTensorType type = getCanonicalType(value.getType()))
          return value.reshape(type);
        return std::nullopt;
      });
  replacer.addReplacement(
      [&](DenseResourceElementsAttr value) -> std::optional<Attribute> {
        if (RankedTensorType type = getCanonicalType(value.getType()))
          return DenseResourceElementsAttr::get(type, value.getRawHandle());
        return std::nullopt;
      });
  replacer.recursivelyReplaceElementsIn(getOperation(), /*replaceAttrs=*/true,
                                        /*replaceLocs=*/false,
                                        /*replaceTypes=*/true);
}

void tesa::addEncodingChecks(OpPassManager &pm) {
  pm.addPass(createVerifyEncodings());
  CanonicalizeEncodingsOptions inlineMaps;
  inlineMaps.resourceMaps = false;
  pm.addPass(createCanonicalizeEncodings(inlineMaps));
}
