//===- LaunchesToHostLoops.cpp - Kernel launches as host loops ------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// Runs kernel launches as loops on the host (HostLaunch): a checking aid
// for machines without a GPU. A launch whose kernel has an op the host
// loops give no meaning to is an error naming it.
//
//===----------------------------------------------------------------------===//

#include "HostLaunch.h"
#include "tesa/Conversion/Passes.h"

#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"

namespace tesa {
#define GEN_PASS_DEF_LAUNCHESTOHOSTLOOPS
#include "tesa/Conversion/Passes.h.inc"
} // namespace tesa

using namespace mlir;
using namespace tesa;
using namespace tesa::host_loops;

namespace {

using Obstacle = std::pair<std::string, Operation *>;

/// Why `kernel` cannot run as host loops, with the op that prevents it (or
/// null), or nothing where it can.
std::optional<Obstacle> getHostObstacle(gpu::GPUFuncOp kernel) {
  if (!kernel.getBody().hasOneBlock())
    return Obstacle("its body has several blocks", nullptr);
  if (!kernel.getPrivateAttributions().empty())
    return Obstacle("it has private attributions", nullptr);
  for (BlockArgument buffer : kernel.getWorkgroupAttributions())
    if (!cast<MemRefType>(buffer.getType()).hasStaticShape())
      return Obstacle("a workgroup attribution has a dynamic shape", nullptr);
  auto kernels = kernel->getParentOfType<gpu::GPUModuleOp>();
  std::optional<Obstacle> obstacle;
  bool namesInstruction = false;
  kernel.getBody().walk([&](Operation *op) {
    if (isEmulated(op))
      return WalkResult::advance();
    if (synchronizes(op) && !isa<scf::ForOp, scf::IfOp>(op)) {
      obstacle = Obstacle(("its threads synchronise inside '" +
                           op->getName().getStringRef() + "'")
                              .str(),
                          op);
      return WalkResult::interrupt();
    }
    if (auto table = dyn_cast<memref::GetGlobalOp>(op))
      if (SymbolTable::lookupSymbolIn(kernels, table.getNameAttr()))
        return WalkResult::advance();
    StringRef dialect = op->getName().getDialectNamespace();
    bool deviceOnly = llvm::is_contained(
        ArrayRef<StringRef>{"gpu", "nvvm", "rocdl", "nvgpu", "llvm"}, dialect);
    bool namesSymbol = llvm::any_of(op->getAttrs(), [](NamedAttribute attr) {
      return isa<SymbolRefAttr>(attr.getValue());
    });
    if (!deviceOnly && !namesSymbol)
      return WalkResult::advance();
    // The first GPU instruction names the obstacle best (a wgmma, rather
    // than the LLVM constants around it).
    bool instruction = dialect != "llvm" && dialect != "gpu";
    if (!obstacle || (instruction && !namesInstruction)) {
      obstacle =
          Obstacle((Twine(deviceOnly ? "it uses '" : "it names a symbol in '") +
                    op->getName().getStringRef() + "'")
                       .str(),
                   op);
      namesInstruction = instruction;
    }
    return instruction ? WalkResult::interrupt() : WalkResult::advance();
  });
  return obstacle;
}

struct LaunchesToHostLoopsPass
    : public tesa::impl::LaunchesToHostLoopsBase<LaunchesToHostLoopsPass> {
  using LaunchesToHostLoopsBase::LaunchesToHostLoopsBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<gpu::LaunchFuncOp> launches;
    module.walk([&](gpu::LaunchFuncOp launch) { launches.push_back(launch); });
    HostGlobals globals;
    bool failed = false;
    for (gpu::LaunchFuncOp launch : launches) {
      auto kernel = SymbolTable::lookupNearestSymbolFrom<gpu::GPUFuncOp>(
          launch, launch.getKernel());
      std::optional<Obstacle> obstacle;
      if (!kernel)
        obstacle = Obstacle("its kernel is not found", nullptr);
      else if (launch.getAsyncToken() ||
               !launch.getAsyncDependencies().empty() ||
               launch.hasClusterSize())
        obstacle = Obstacle("the launch is asynchronous or clustered", nullptr);
      else
        obstacle = getHostObstacle(kernel);
      if (obstacle) {
        (void)reportObstacle(launch, obstacle->first, obstacle->second);
        failed = true;
        continue;
      }
      if (mlir::failed(HostLaunch(launch, kernel, globals).emit())) {
        failed = true;
        continue;
      }
      launch.erase();
    }
    if (failed)
      return signalPassFailure();
    // Kernel modules that no launch names any more.
    llvm::DenseSet<StringRef> used;
    module.walk([&](gpu::LaunchFuncOp launch) {
      used.insert(launch.getKernelModuleName().getValue());
    });
    for (auto kernels :
         llvm::make_early_inc_range(module.getOps<gpu::GPUModuleOp>()))
      if (!used.contains(kernels.getName()))
        kernels.erase();
    if (module.getOps<gpu::GPUModuleOp>().empty())
      module->removeAttr(gpu::GPUDialect::getContainerModuleAttrName());
  }
};

} // namespace
