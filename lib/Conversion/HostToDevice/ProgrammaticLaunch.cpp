//===- ProgrammaticLaunch.cpp - Kernels that may start early --------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// Makes every kernel wait for its predecessor at its first instruction and
// marks the kernel modules for the runtime, which then launches their
// kernels with programmatic stream serialisation.
//
//===----------------------------------------------------------------------===//

#include "tesa/Conversion/Passes.h"
#include "tesa/Runtime/Runtime.h"

namespace tesa {
#define GEN_PASS_DEF_PROGRAMMATICLAUNCH
#include "tesa/Conversion/Passes.h.inc"
} // namespace tesa

using namespace mlir;

namespace {
struct ProgrammaticLaunchPass
    : public tesa::impl::ProgrammaticLaunchBase<ProgrammaticLaunchPass> {
  void runOnOperation() override;
};
} // namespace

/// Starts `kernel` with `griddepcontrol.wait`, unless it starts so already.
static void waitForPredecessor(gpu::GPUFuncOp kernel) {
  Block &entry = kernel.getBody().front();
  auto first = dyn_cast<NVVM::GriddepcontrolOp>(entry.front());
  if (first && first.getKind() == NVVM::GridDepActionKind::wait)
    return;
  OpBuilder builder = OpBuilder::atBlockBegin(&entry);
  NVVM::GriddepcontrolOp::create(builder, kernel.getLoc(),
                                 NVVM::GridDepActionKind::wait);
}

/// Adds the global that tells the runtime every kernel of `module` waits.
static void markModule(gpu::GPUModuleOp module) {
  if (module.lookupSymbol(TESA_RT_PROGRAMMATIC_LAUNCH_SYMBOL))
    return;
  OpBuilder builder = OpBuilder::atBlockBegin(module.getBody());
  Type i8 = builder.getI8Type();
  LLVM::GlobalOp::create(builder, module.getLoc(), i8, /*isConstant=*/true,
                         LLVM::Linkage::External,
                         TESA_RT_PROGRAMMATIC_LAUNCH_SYMBOL,
                         builder.getI8IntegerAttr(1), /*alignment=*/0,
                         /*addrSpace=*/1);
}

void ProgrammaticLaunchPass::runOnOperation() {
  getOperation().walk([](gpu::GPUModuleOp module) {
    bool hasKernel = false;
    for (auto kernel : module.getOps<gpu::GPUFuncOp>())
      if (kernel.isKernel()) {
        waitForPredecessor(kernel);
        hasKernel = true;
      }
    if (hasKernel)
      markModule(module);
  });
}
