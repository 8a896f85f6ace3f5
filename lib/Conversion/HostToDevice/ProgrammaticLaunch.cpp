//===- ProgrammaticLaunch.cpp - Kernels that may start early --------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// Makes every kernel wait for its predecessor before it touches memory that
// the predecessor may write, and marks the kernel modules for the runtime,
// which then launches their kernels with programmatic stream serialisation.
//
//===----------------------------------------------------------------------===//

#include "tesa/Conversion/Passes.h"
#include "tesa/Runtime/Runtime.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

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

/// Whether `op` is a load from a constant global (a compile-time table),
/// which no kernel writes.
static bool isConstantTableLoad(Operation *op) {
  auto load = dyn_cast<memref::LoadOp>(op);
  if (!load)
    return false;
  auto getGlobal = load.getMemRef().getDefiningOp<memref::GetGlobalOp>();
  if (!getGlobal)
    return false;
  auto global = SymbolTable::lookupNearestSymbolFrom<memref::GlobalOp>(
      getGlobal, getGlobal.getNameAttr());
  return global && global.getConstant();
}

/// Whether `op` and every op nested in it may run before the predecessor
/// has completed: they touch only the block's own state (registers,
/// shared-memory mbarriers, its barrier), constant tables and the kernel's
/// parameters (tensor-map prefetches), none of which an earlier kernel
/// writes.
static bool isIndependentOfPredecessor(Operation *op) {
  WalkResult result = op->walk([](Operation *nested) {
    if (isa<NVVM::MBarrierInitOp, NVVM::FenceMbarrierInitOp, gpu::BarrierOp,
            NVVM::Barrier0Op>(nested) ||
        isConstantTableLoad(nested))
      return WalkResult::advance();
    if (auto prefetch = dyn_cast<NVVM::PrefetchOp>(nested))
      return prefetch.getTensormap() ? WalkResult::advance()
                                     : WalkResult::interrupt();
    // Ops whose effects are their nested ops' (scf.if) are checked
    // through those.
    if (nested->hasTrait<OpTrait::HasRecursiveMemoryEffects>() ||
        isMemoryEffectFree(nested))
      return WalkResult::advance();
    return WalkResult::interrupt();
  });
  return !result.wasInterrupted();
}

/// Makes `kernel` wait for its predecessor (`griddepcontrol.wait`) before
/// its first top-level op that may read or write what an earlier kernel
/// wrote, unless it waits already: its set-up (index math, mbarriers,
/// tensor-map prefetches, constant tables) overlaps the predecessor's end.
static void waitForPredecessor(gpu::GPUFuncOp kernel) {
  Block &entry = kernel.getBody().front();
  for (auto wait : entry.getOps<NVVM::GriddepcontrolOp>())
    if (wait.getKind() == NVVM::GridDepActionKind::wait)
      return;
  Operation *first = &entry.front();
  while (first != entry.getTerminator() && isIndependentOfPredecessor(first))
    first = first->getNextNode();
  OpBuilder builder(first);
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
