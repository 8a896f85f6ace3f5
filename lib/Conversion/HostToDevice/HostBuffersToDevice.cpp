//===- HostBuffersToDevice.cpp - Host program buffers in device memory ----===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// Rewrites the bufferized host program's memref allocations, copies and
// frees into their gpu dialect counterparts, so that every buffer a kernel
// sees lives in device memory.
//
//===----------------------------------------------------------------------===//

#include "tesa/Conversion/Passes.h"

#include "mlir/Dialect/MemRef/Utils/MemRefUtils.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace tesa {
#define GEN_PASS_DEF_HOSTBUFFERSTODEVICE
#include "tesa/Conversion/Passes.h.inc"
} // namespace tesa

using namespace mlir;

namespace {
struct HostBuffersToDevicePass
    : public tesa::impl::HostBuffersToDeviceBase<HostBuffersToDevicePass> {
  void runOnOperation() override;
};
} // namespace

/// The first use of `buffer`, or of a view of it, that hands it out of its
/// block (a terminator operand), or null.
static Operation *findEscapingUse(Value buffer) {
  SmallVector<Value> worklist{buffer};
  while (!worklist.empty()) {
    Value value = worklist.pop_back_val();
    for (Operation *user : value.getUsers()) {
      if (user->hasTrait<OpTrait::IsTerminator>())
        return user;
      if (auto view = dyn_cast<ViewLikeOpInterface>(user))
        if (view.getViewSource() == value)
          llvm::append_range(worklist, user->getResults());
    }
  }
  return nullptr;
}

/// Replaces `alloc` by a gpu.alloc freed where the program freed it, or at
/// the end of its block.
static LogicalResult moveAllocationToDevice(memref::AllocOp alloc) {
  if (Operation *escape = findEscapingUse(alloc.getResult()))
    return alloc.emitOpError()
           << "buffer leaves its block through '" << escape->getName()
           << "'; device buffers must be freed where they are allocated "
              "(run --buffer-results-to-out-params first)";
  OpBuilder builder(alloc);
  auto deviceAlloc = gpu::AllocOp::create(
      builder, alloc.getLoc(), alloc.getType(), /*asyncToken=*/Type(),
      /*asyncDependencies=*/ValueRange(), alloc.getDynamicSizes(),
      alloc.getSymbolOperands(), /*hostShared=*/false);
  bool freed = llvm::any_of(alloc->getUsers(), [](Operation *user) {
    return isa<memref::DeallocOp>(user);
  });
  if (!freed) {
    builder.setInsertionPoint(alloc->getBlock()->getTerminator());
    memref::DeallocOp::create(builder, alloc.getLoc(), alloc.getResult());
  }
  alloc.replaceAllUsesWith(deviceAlloc.getMemref());
  alloc.erase();
  return success();
}

/// Whether a copy of `type` can be a `gpu.memcpy`: the GPU-to-LLVM lowering
/// of memcpy takes only identity layouts (a contiguous slice at an offset
/// is copied by a kernel instead).
static bool isMemcpyable(MemRefType type) {
  return type.hasStaticShape() && type.getLayout().isIdentity();
}

void HostBuffersToDevicePass::runOnOperation() {
  func::FuncOp func = getOperation();
  if (func->getParentOfType<gpu::GPUModuleOp>())
    return;

  WalkResult stackBuffers = func.walk([](memref::AllocaOp alloca) {
    alloca.emitOpError() << "host stack buffer cannot be given to a kernel; "
                            "allocate it with memref.alloc";
    return WalkResult::interrupt();
  });
  if (stackBuffers.wasInterrupted())
    return signalPassFailure();

  SmallVector<memref::AllocOp> allocs;
  func.walk([&](memref::AllocOp alloc) { allocs.push_back(alloc); });
  for (memref::AllocOp alloc : allocs)
    if (failed(moveAllocationToDevice(alloc)))
      return signalPassFailure();

  func.walk([](memref::DeallocOp dealloc) {
    OpBuilder builder(dealloc);
    gpu::DeallocOp::create(builder, dealloc.getLoc(), /*asyncToken=*/Type(),
                           ValueRange(), dealloc.getMemref());
    dealloc.erase();
  });

  func.walk([](memref::CopyOp copy) {
    OpBuilder builder(copy);
    auto sourceType = cast<MemRefType>(copy.getSource().getType());
    auto targetType = cast<MemRefType>(copy.getTarget().getType());
    if (sourceType == targetType && isMemcpyable(sourceType))
      gpu::MemcpyOp::create(builder, copy.getLoc(), /*asyncToken=*/Type(),
                            ValueRange(), copy.getTarget(), copy.getSource());
    else
      linalg::CopyOp::create(builder, copy.getLoc(), copy.getSource(),
                             copy.getTarget());
    copy.erase();
  });
}
