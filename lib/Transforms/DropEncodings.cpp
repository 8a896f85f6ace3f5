//===- DropEncodings.cpp - Remove #tesa.sparsity from types ---------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Dialect/Tesa/IR/TesaOps.h"
#include "tesa/Transforms/Passes.h"

#include "mlir/IR/AttrTypeSubElements.h"
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

void DropEncodingsPass::runOnOperation() {
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
