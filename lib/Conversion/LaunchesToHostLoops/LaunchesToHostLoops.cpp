//===- LaunchesToHostLoops.cpp - Kernel launches as host loops ------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// Runs barrier-free kernel launches as loops on the host: each launch
// becomes nested scf.for loops over its blocks and threads with the
// kernel's body inside. A checking aid for machines without a GPU.
//
//===----------------------------------------------------------------------===//

#include "tesa/Conversion/Passes.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"

namespace tesa {
#define GEN_PASS_DEF_LAUNCHESTOHOSTLOOPS
#include "tesa/Conversion/Passes.h.inc"
} // namespace tesa

using namespace mlir;
using namespace tesa;

namespace {

/// Why `kernel` cannot run as host loops, with the op that prevents it (or
/// null), or nothing where it can.
std::optional<std::pair<std::string, Operation *>>
getHostObstacle(gpu::GPUFuncOp kernel) {
  if (!kernel.getBody().hasOneBlock())
    return std::make_pair(std::string("its body has several blocks"),
                          nullptr);
  if (!kernel.getWorkgroupAttributions().empty() ||
      !kernel.getPrivateAttributions().empty())
    return std::make_pair(std::string("it has memory attributions"),
                          nullptr);
  std::optional<std::pair<std::string, Operation *>> obstacle;
  kernel.getBody().walk([&](Operation *op) {
    if (isa<gpu::ThreadIdOp, gpu::BlockIdOp, gpu::BlockDimOp, gpu::GridDimOp,
            gpu::ReturnOp>(op))
      return WalkResult::advance();
    StringRef dialect = op->getName().getDialectNamespace();
    bool deviceOnly = llvm::is_contained(
        ArrayRef<StringRef>{"gpu", "nvvm", "rocdl", "nvgpu", "llvm"},
        dialect);
    bool namesSymbol = llvm::any_of(op->getAttrs(), [](NamedAttribute attr) {
      return isa<SymbolRefAttr>(attr.getValue());
    });
    if (!deviceOnly && !namesSymbol)
      return WalkResult::advance();
    obstacle = std::make_pair(
        (Twine(deviceOnly ? "it uses '" : "it names a symbol in '") +
         op->getName().getStringRef() + "'")
            .str(),
        op);
    return WalkResult::interrupt();
  });
  return obstacle;
}

/// Replaces `launch` by loops over its blocks and threads around a copy of
/// `kernel`'s body.
void convertLaunch(gpu::LaunchFuncOp launch, gpu::GPUFuncOp kernel) {
  OpBuilder b(launch);
  Location loc = launch.getLoc();
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  gpu::KernelDim3 grid = launch.getGridSizeOperandValues();
  gpu::KernelDim3 block = launch.getBlockSizeOperandValues();
  // Outermost first: blocks z, y, x, then threads z, y, x.
  SmallVector<Value> inductions;
  for (Value size : {grid.z, grid.y, grid.x, block.z, block.y, block.x}) {
    auto loop = scf::ForOp::create(b, loc, zero, size, one);
    b.setInsertionPoint(loop.getBody()->getTerminator());
    inductions.push_back(loop.getInductionVar());
  }
  auto pick = [](gpu::Dimension dimension, Value x, Value y, Value z) {
    return dimension == gpu::Dimension::x   ? x
           : dimension == gpu::Dimension::y ? y
                                            : z;
  };
  IRMapping mapping;
  mapping.map(kernel.getArguments(), launch.getKernelOperands());
  for (Operation &op : kernel.getBody().front()) {
    Value replacement;
    if (auto id = dyn_cast<gpu::BlockIdOp>(op))
      replacement = pick(id.getDimension(), inductions[2], inductions[1],
                         inductions[0]);
    else if (auto id = dyn_cast<gpu::ThreadIdOp>(op))
      replacement = pick(id.getDimension(), inductions[5], inductions[4],
                         inductions[3]);
    else if (auto size = dyn_cast<gpu::BlockDimOp>(op))
      replacement = pick(size.getDimension(), block.x, block.y, block.z);
    else if (auto size = dyn_cast<gpu::GridDimOp>(op))
      replacement = pick(size.getDimension(), grid.x, grid.y, grid.z);
    else if (isa<gpu::ReturnOp>(op))
      continue;
    if (replacement)
      mapping.map(op.getResult(0), replacement);
    else
      b.clone(op, mapping);
  }
  launch.erase();
}

struct LaunchesToHostLoopsPass
    : public tesa::impl::LaunchesToHostLoopsBase<LaunchesToHostLoopsPass> {
  using LaunchesToHostLoopsBase::LaunchesToHostLoopsBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<gpu::LaunchFuncOp> launches;
    module.walk([&](gpu::LaunchFuncOp launch) { launches.push_back(launch); });
    bool failed = false;
    for (gpu::LaunchFuncOp launch : launches) {
      auto kernel = SymbolTable::lookupNearestSymbolFrom<gpu::GPUFuncOp>(
          launch, launch.getKernel());
      std::optional<std::pair<std::string, Operation *>> obstacle;
      if (!kernel)
        obstacle = std::make_pair(std::string("its kernel is not found"),
                                  nullptr);
      else if (launch.getAsyncToken() ||
               !launch.getAsyncDependencies().empty() ||
               launch.getDynamicSharedMemorySize() ||
               launch.hasClusterSize())
        obstacle = std::make_pair(
            std::string("the launch is asynchronous, clustered or asks for "
                        "dynamic shared memory"),
            nullptr);
      else
        obstacle = getHostObstacle(kernel);
      if (obstacle) {
        InFlightDiagnostic error = launch.emitError()
                                   << "cannot run " << launch.getKernel()
                                   << " on the host: " << obstacle->first;
        if (obstacle->second)
          error.attachNote(obstacle->second->getLoc()) << "here";
        failed = true;
        continue;
      }
      convertLaunch(launch, kernel);
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
