//===- DropEncodings.cpp - Remove #tesa.sparsity from types ---------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Dialect/Tesa/IR/TesaOps.h"
#include "tesa/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/AttrTypeSubElements.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/BuiltinOps.h"

namespace tesa {
#define GEN_PASS_DEF_DROPENCODINGS
#include "tesa/Transforms/Passes.h.inc"
} // namespace tesa

using namespace mlir;
using namespace tesa;

namespace {
struct DropEncodingsPass
    : public tesa::impl::DropEncodingsBase<DropEncodingsPass> {
  void runOnOperation() override;
};
} // namespace

/// `value` with the encoding dropped from its type; the replacer does not
/// reach the types of dense attributes.
static TypedAttr withoutEncoding(TypedAttr value) {
  auto type = dyn_cast<RankedTensorType>(value.getType());
  if (!type || !getSparsityEncoding(type))
    return value;
  auto plain = RankedTensorType::get(type.getShape(), type.getElementType());
  if (auto dense = dyn_cast<DenseIntOrFPElementsAttr>(value))
    return DenseElementsAttr::getFromRawBuffer(plain, dense.getRawData());
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(value))
    return DenseResourceElementsAttr::get(plain, resource.getRawHandle());
  return value;
}

void DropEncodingsPass::runOnOperation() {
  getOperation().walk([](arith::ConstantOp op) {
    op.setValueAttr(withoutEncoding(op.getValue()));
  });
  AttrTypeReplacer replacer;
  replacer.addReplacement([](RankedTensorType type) -> std::optional<Type> {
    if (!getSparsityEncoding(type))
      return std::nullopt;
    return RankedTensorType::get(type.getShape(), type.getElementType());
  });
  replacer.recursivelyReplaceElementsIn(getOperation(), /*replaceAttrs=*/true,
                                        /*replaceLocs=*/false,
                                        /*replaceTypes=*/true);
  getOperation().walk([](AnnotateOp op) {
    if (op.getSource().getType() == op.getType()) {
      op.replaceAllUsesWith(op.getSource());
      op.erase();
    }
  });
}
