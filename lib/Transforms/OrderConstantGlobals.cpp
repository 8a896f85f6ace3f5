//===- OrderConstantGlobals.cpp - Deterministic constant globals ----------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Transforms/Passes.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/Support/FormatVariadic.h"

namespace tesa {
#define GEN_PASS_DEF_ORDERCONSTANTGLOBALS
#include "tesa/Transforms/Passes.h.inc"
} // namespace tesa

using namespace mlir;
using namespace tesa;

namespace {
struct OrderConstantGlobalsPass
    : public tesa::impl::OrderConstantGlobalsBase<OrderConstantGlobalsPass> {
  void runOnOperation() override;
};
} // namespace

/// Whether `global` is one that bufferization made for a tensor constant.
static bool isBufferizedConstant(memref::GlobalOp global) {
  return global.getConstant() && global.getSymName().starts_with("__constant_");
}

void OrderConstantGlobalsPass::runOnOperation() {
  ModuleOp module = getOperation();
  SymbolTable symbols(module);
  // The globals in the order of their first use, then the unused ones.
  llvm::SetVector<memref::GlobalOp> globals;
  module.walk([&](memref::GetGlobalOp use) {
    auto global = symbols.lookup<memref::GlobalOp>(use.getName());
    if (global && isBufferizedConstant(global))
      globals.insert(global);
  });
  for (auto global : module.getOps<memref::GlobalOp>())
    if (isBufferizedConstant(global))
      globals.insert(global);

  for (auto [index, constGlobal] : llvm::enumerate(globals)) {
    memref::GlobalOp global = constGlobal;
    std::string name = llvm::formatv("__tesa_constant_{0}", index).str();
    if (symbols.lookup(name)) {
      global.emitError() << "cannot rename the constant global to '" << name
                         << "': the module already has a symbol of that name";
      return signalPassFailure();
    }
    if (failed(symbols.rename(global, name)))
      return signalPassFailure();
  }
  // At the start of the module, in that order.
  for (memref::GlobalOp global : llvm::reverse(globals))
    global->moveBefore(&module.getBody()->front());
}
