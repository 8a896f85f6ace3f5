//===- PromoteLoopAccumulators.cpp - Loop accumulators in registers -------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// Scalar replacement in the parallel loops of the generic path: a value a
// sequential loop reads and writes back at one place each iteration (a
// convolution's or pooling's sum) is carried by the loop instead; a load of
// what the block just stored takes the stored value; a store that the next
// store overwrites unread goes; a buffer that is only written goes.
//
//===----------------------------------------------------------------------===//

#include "tesa/Conversion/Passes.h"

#include "mlir/Analysis/AliasAnalysis.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace tesa {
#define GEN_PASS_DEF_PROMOTELOOPACCUMULATORS
#include "tesa/Conversion/Passes.h.inc"
} // namespace tesa

using namespace mlir;

namespace {
struct PromoteLoopAccumulatorsPass
    : public tesa::impl::PromoteLoopAccumulatorsBase<
          PromoteLoopAccumulatorsPass> {
  void runOnOperation() override;
};
} // namespace

/// Whether `load` and `store` access one element: the same buffer at the
/// same index values.
static bool samePlace(memref::LoadOp load, memref::StoreOp store) {
  return load.getMemRef() == store.getMemRef() &&
         load.getIndices() == store.getIndices();
}

/// The buffers `op` and the ops nested in it read and write through
/// memref.load and memref.store; false if any other op in it may touch
/// memory.
static bool collectAccesses(Operation *op, SmallVectorImpl<Value> &reads,
                            SmallVectorImpl<Value> &writes) {
  return !op
              ->walk([&](Operation *inner) {
                if (auto load = dyn_cast<memref::LoadOp>(inner))
                  reads.push_back(load.getMemRef());
                else if (auto store = dyn_cast<memref::StoreOp>(inner))
                  writes.push_back(store.getMemRef());
                else if (!inner->hasTrait<
                             OpTrait::HasRecursiveMemoryEffects>() &&
                         !isMemoryEffectFree(inner))
                  return WalkResult::interrupt();
                return WalkResult::advance();
              })
              .wasInterrupted();
}

/// Carries the value `loop` reads and writes back at one loop-invariant
/// place each iteration in an iteration argument: loaded once before the
/// loop, stored once after it. Nothing else in the loop may touch the
/// buffer or write memory, and nothing it reads may alias the buffer.
/// Returns the new loop, or null.
static scf::ForOp promoteAccumulator(scf::ForOp loop,
                                     AliasAnalysis &aliases) {
  Block *body = loop.getBody();
  for (auto load : body->getOps<memref::LoadOp>()) {
    Value buffer = load.getMemRef();
    if (!llvm::all_of(load.getIndices(), [&](Value index) {
          return loop.isDefinedOutsideOfLoop(index);
        }) ||
        !loop.isDefinedOutsideOfLoop(buffer))
      continue;
    memref::StoreOp store;
    for (auto candidate : body->getOps<memref::StoreOp>())
      if (samePlace(load, candidate) && load->isBeforeInBlock(candidate))
        store = candidate;
    if (!store)
      continue;
    SmallVector<Value> reads, writes;
    bool known = llvm::all_of(*body, [&](Operation &op) {
      return &op == load || &op == store ||
             collectAccesses(&op, reads, writes);
    });
    if (!known || !writes.empty() || llvm::any_of(reads, [&](Value read) {
          return !aliases.alias(read, buffer).isNo();
        }))
      continue;
    IRRewriter rewriter(loop.getContext());
    rewriter.setInsertionPoint(loop);
    Value initial = memref::LoadOp::create(rewriter, load.getLoc(), buffer,
                                           load.getIndices());
    Value stored = store.getValueToStore();
    FailureOr<LoopLikeOpInterface> carried =
        loop.replaceWithAdditionalYields(
            rewriter, initial, /*replaceInitOperandUsesInLoop=*/false,
            [&](OpBuilder &, Location, ArrayRef<BlockArgument>) {
              return SmallVector<Value>{stored};
            });
    if (failed(carried))
      return nullptr;
    auto newLoop = cast<scf::ForOp>(carried->getOperation());
    rewriter.replaceAllUsesWith(load.getResult(),
                                newLoop.getRegionIterArgs().back());
    rewriter.setInsertionPointAfter(newLoop);
    memref::StoreOp::create(rewriter, store.getLoc(),
                            newLoop.getResults().back(), buffer,
                            store.getIndices());
    rewriter.eraseOp(store);
    rewriter.eraseOp(load);
    return newLoop;
  }
  return nullptr;
}

/// In `block`: loads of the place a store just wrote take the stored value,
/// and stores that a later store to the same place overwrites unread go.
static void forwardStores(Block &block, AliasAnalysis &aliases) {
  // The stores whose element nothing has read or may have written since.
  SmallVector<memref::StoreOp> stores;
  SmallVector<Operation *> dead;
  auto forget = [&](Value buffer) {
    llvm::erase_if(stores, [&](memref::StoreOp store) {
      return !aliases.alias(store.getMemRef(), buffer).isNo();
    });
  };
  for (Operation &op : block) {
    if (auto load = dyn_cast<memref::LoadOp>(op)) {
      auto earlier = llvm::find_if(llvm::reverse(stores),
                                   [&](memref::StoreOp store) {
                                     return samePlace(load, store);
                                   });
      if (earlier != stores.rend()) {
        load.getResult().replaceAllUsesWith((*earlier).getValueToStore());
        dead.push_back(load);
      } else {
        forget(load.getMemRef());
      }
      continue;
    }
    if (auto store = dyn_cast<memref::StoreOp>(op)) {
      for (memref::StoreOp earlier : stores)
        if (earlier.getMemRef() == store.getMemRef() &&
            earlier.getIndices() == store.getIndices())
          dead.push_back(earlier);
      forget(store.getMemRef());
      stores.push_back(store);
      continue;
    }
    SmallVector<Value> reads, writes;
    if (!collectAccesses(&op, reads, writes)) {
      stores.clear();
      continue;
    }
    for (Value buffer : llvm::concat<Value>(reads, writes))
      forget(buffer);
  }
  for (Operation *op : dead)
    op->erase();
}

/// Removes `alloc` (memref.alloc or, on the device, gpu.alloc) and its
/// stores when nothing reads it.
static void eraseIfWriteOnly(Operation *alloc) {
  Value buffer = alloc->getResult(0);
  if (!llvm::all_of(alloc->getUsers(), [&](Operation *user) {
        auto store = dyn_cast<memref::StoreOp>(user);
        return (store && store.getMemRef() == buffer) ||
               isa<memref::DeallocOp, gpu::DeallocOp>(user);
      }))
    return;
  for (Operation *user : llvm::make_early_inc_range(alloc->getUsers()))
    user->erase();
  alloc->erase();
}

void PromoteLoopAccumulatorsPass::runOnOperation() {
  auto &aliases = getAnalysis<AliasAnalysis>();
  getOperation()->walk([&](scf::ParallelOp parallel) {
    // Innermost loops first: a promoted loop's load and store then sit in
    // the loop around it.
    SmallVector<scf::ForOp> loops;
    parallel.getBody()->walk([&](scf::ForOp loop) { loops.push_back(loop); });
    for (scf::ForOp loop : loops)
      while (scf::ForOp carried = promoteAccumulator(loop, aliases))
        loop = carried;
    forwardStores(*parallel.getBody(), aliases);
  });
  SmallVector<Operation *> allocs;
  getOperation()->walk([&](Operation *op) {
    auto deviceAlloc = dyn_cast<gpu::AllocOp>(op);
    if (isa<memref::AllocOp>(op) ||
        (deviceAlloc && !deviceAlloc.getAsyncToken() &&
         deviceAlloc.getAsyncDependencies().empty()))
      allocs.push_back(op);
  });
  for (Operation *alloc : allocs)
    eraseIfWriteOnly(alloc);
}
