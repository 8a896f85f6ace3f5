//===- HoistAllocations.cpp - Allocations before the loops of a block -----===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// Moves each allocation that takes no operands to the start of its block, so
// that the parallel loops it sat between are adjacent and
// `scf-parallel-loop-fusion` can fuse them (an allocation has a memory
// effect, and the fusion only looks past ops without one).
//
//===----------------------------------------------------------------------===//

#include "tesa/Conversion/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

namespace tesa {
#define GEN_PASS_DEF_HOISTALLOCATIONS
#include "tesa/Conversion/Passes.h.inc"
} // namespace tesa

using namespace mlir;

namespace {

/// Whether `op` allocates a buffer from nothing but its type: a
/// memref.alloc or a synchronous gpu.alloc of a static shape.
bool allocatesFromTypeAlone(Operation *op) {
  return isa<memref::AllocOp, gpu::AllocOp>(op) && op->getNumOperands() == 0 &&
         op->getNumResults() == 1;
}

struct HoistAllocationsPass
    : public tesa::impl::HoistAllocationsBase<HoistAllocationsPass> {
  void runOnOperation() override {
    SmallVector<Operation *> allocations;
    getOperation()->walk([&](Operation *op) {
      if (allocatesFromTypeAlone(op))
        allocations.push_back(op);
    });
    // In reverse, each to the front: their order is kept.
    for (Operation *op : llvm::reverse(allocations))
      op->moveBefore(&op->getBlock()->front());
  }
};

} // namespace
