//===- VerifyEncodings.cpp - Check #tesa.sparsity map data ----------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Dialect/Tesa/IR/TesaAttrs.h"
#include "tesa/Transforms/Passes.h"

#include "mlir/IR/AttrTypeSubElements.h"
#include "llvm/ADT/DenseSet.h"

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
  // Each distinct type is checked once, at the first op that mentions it.
  llvm::DenseSet<Type> checked;
  bool failed = false;
  getOperation()->walk([&](Operation *op) {
    AttrTypeWalker walker;
    walker.addWalk([&](RankedTensorType type) {
      SparsityAttr encoding = getSparsityEncoding(type);
      if (!encoding || !checked.insert(type).second)
        return;
      if (mlir::failed(encoding.verifyEncodingAndData(
              type.getShape(), type.getElementType(),
              [&] { return op->emitError() << "in type " << type << ": "; })))
        failed = true;
    });
    walker.walk(op->getAttrDictionary());
    for (Type type : op->getResultTypes())
      walker.walk(type);
    for (Region &region : op->getRegions())
      for (Block &block : region)
        for (BlockArgument argument : block.getArguments())
          walker.walk(argument.getType());
  });
  if (failed)
    signalPassFailure();
  markAllAnalysesPreserved();
}
