//===- TensorMap.h - TMA copies and mbarriers in kernels --------*- C++ -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// The tile layer's sm_90 copy engine: the tensor memory accelerator (TMA)
// copies a box of a 2-D tensor from global memory into shared memory, in
// the swizzled layout of the tensor map that describes the tensor, and
// signals an mbarrier in shared memory with the bytes it wrote. The host
// encodes each tensor map at call time (mgpuTesaEncodeTensorMap2D) and
// passes it by value: a kernel takes it as an `!llvm.array<16 x i64>`
// argument whose address `--tesa-tensor-map-params` makes the kernel
// parameter's own. Shared addresses here are index values (bytes in the
// shared window), as getSharedAddress gives them.
//
//===----------------------------------------------------------------------===//

#ifndef TESA_CODEGEN_TENSORMAP_H
#define TESA_CODEGEN_TENSORMAP_H

#include "tesa/Codegen/KernelEmitter.h"

namespace tesa {

/// Bytes of one mbarrier in shared memory.
constexpr int64_t kMBarrierBytes = 8;
/// The address space of NVVM pointers to the shared memory of any block
/// of the cluster.
constexpr unsigned kSharedClusterSpace = 7;

/// The type of a tensor-map argument: 128 bytes, copied into the launch's
/// parameters.
mlir::Type getTensorMapType(mlir::MLIRContext *context);

/// The TMA copy engine of a kernel, over its tensor-map arguments.
class TensorMapEmitter {
public:
  explicit TensorMapEmitter(KernelEmitter &e) : e(e) {}

  /// The address TMA reads tensor-map argument `map` from.
  mlir::Value getAddress(mlir::Value map);
  /// Prefetches the descriptor of tensor-map argument `map` for the copies
  /// that will read it.
  void prefetch(mlir::Value map);
  /// Initialises the mbarrier at shared address `barrier` to complete a
  /// phase after `count` arrivals (one thread).
  void initBarrier(mlir::Value barrier, int64_t count);
  /// Makes the initialised mbarriers visible to the other threads and to
  /// TMA (before the block synchronises).
  void fenceBarrierInit();
  /// Arrives on `barrier` and expects `bytes` more bytes of copies on it.
  void arriveExpectingBytes(mlir::Value barrier, int64_t bytes);
  /// The same for `bytes` (an index) known when the kernel runs.
  void arriveExpectingBytes(mlir::Value barrier, mlir::Value bytes);
  /// Arrives on `barrier`.
  void arrive(mlir::Value barrier);
  /// Arrives on `barrier` where `predicate` holds, as a predicated
  /// instruction rather than a branch (which would make the warpgroup's
  /// wgmma products around it wait for each other).
  void arriveIf(mlir::Value barrier, mlir::Value predicate);
  /// Waits until the phase of `barrier` with parity `parity` (an index, 0
  /// or 1) has completed.
  void wait(mlir::Value barrier, mlir::Value parity);
  /// Copies the box of the tensor map at `mapAddress` whose first element
  /// is at (`inner`, `outer`) (index values) to shared address
  /// `destination`, completing its bytes on `barrier`.
  void load(mlir::Value mapAddress, mlir::Value inner, mlir::Value outer,
            mlir::Value destination, mlir::Value barrier);
  /// The same box, written at `destination` and completed on `barrier` in
  /// each of the first `blocks` blocks of the cluster (TMA multicast).
  void loadToCluster(mlir::Value mapAddress, mlir::Value inner,
                     mlir::Value outer, mlir::Value destination,
                     mlir::Value barrier, int64_t blocks);
  /// Arrives on the mbarrier at `barrier` in block `rank` (an i32) of the
  /// cluster where `predicate` holds, with release semantics at the block's
  /// scope, as a predicated instruction (see arriveIf).
  void arriveInClusterIf(mlir::Value barrier, mlir::Value rank,
                         mlir::Value predicate);
  /// Copies `bytes` (a multiple of 16) contiguous bytes of global memory
  /// at generic address `source` (an index, 16-byte aligned) to shared
  /// address `destination`, completing them on `barrier` (a bulk copy,
  /// no tensor map).
  void loadBytes(mlir::Value source, int64_t bytes, mlir::Value destination,
                 mlir::Value barrier);

private:
  /// `address` (an index) as a pointer to shared memory.
  mlir::Value toShared(mlir::Value address);
  /// The copy of `load` and `loadToCluster`, with a multicast mask of
  /// blocks (an i16) or none.
  void loadBox(mlir::Value mapAddress, mlir::Value inner, mlir::Value outer,
               mlir::Value destination, mlir::Value barrier,
               mlir::Value multicastMask);
  mlir::Value toI32(mlir::Value index);

  KernelEmitter &e;
};

/// The mbarriers of a ring of `stages` slots that one copying thread fills
/// by TMA and `consumers` warpgroups read: step g takes slot g mod stages in
/// round g / stages. Each slot has a `full` mbarrier (the copier's arrival
/// and the copies' bytes complete it) and an `empty` one (one arrival a
/// consumer frees it), `full` ones first, at shared address `barriers`.
/// A ring of `clusterBlocks` blocks is one the blocks of a cluster fill
/// together (each copy multicast into all of them): each consumer frees a
/// slot in every block, and a slot is free once every block's consumers
/// have freed it.
class MBarrierRing {
public:
  MBarrierRing(KernelEmitter &e, TensorMapEmitter &copies, mlir::Value barriers,
               int64_t stages, int64_t clusterBlocks = 1)
      : e(e), copies(copies), barriers(barriers), stages(stages),
        clusterBlocks(clusterBlocks) {}

  /// Bytes of a ring's mbarriers.
  static int64_t getBytes(int64_t stages) {
    return 2 * stages * kMBarrierBytes;
  }
  /// The `full` and `empty` mbarriers of slot `slot` (an index).
  mlir::Value full(mlir::Value slot);
  mlir::Value empty(mlir::Value slot);
  /// Thread 0 of the block (`thread` is the thread's id) prefetches the
  /// tensor maps whose copies fill the ring (`maps`, kernel arguments) and
  /// initialises every slot's mbarriers for `consumers` consumers; then the
  /// block (the cluster, for a ring of several blocks) synchronises. The
  /// prefetch brings each map's descriptor in while the block sets up, so that
  /// the first copy does not fetch it.
  void init(mlir::Value thread, int64_t consumers, mlir::ValueRange maps = {});
  /// The copier, before step `step` (in slot `slot`, round `round`): waits
  /// until the consumers freed the slot of step `step` - stages.
  void waitUntilFree(mlir::Value step, mlir::Value slot, mlir::Value round);
  /// A consumer: waits until the copies of step `step` (in `slot`) landed.
  void waitUntilFull(mlir::Value step, mlir::Value slot);
  /// Whether thread `inGroup` of a consumer warpgroup frees its slots: the
  /// first, or in a ring of several blocks the first `clusterBlocks`, each
  /// freeing the slot in one block (see releaseIf).
  mlir::Value releasesSlots(mlir::Value inGroup);
  /// A consumer frees the slot of step `step` where `predicate` holds. In a
  /// ring of several blocks, consumer thread `inGroup` r (r < clusterBlocks,
  /// releasesSlots) frees it in block r: a warp's arrivals in all blocks
  /// are one instruction, not one thread's arrivals one after another.
  void releaseIf(mlir::Value step, mlir::Value predicate,
                 mlir::Value inGroup = {});

private:
  KernelEmitter &e;
  TensorMapEmitter &copies;
  mlir::Value barriers;
  int64_t stages, clusterBlocks;
};

/// Every thread of every block of the cluster: arrives at the cluster's
/// barrier (release) and waits until all have (acquire).
void emitClusterBarrier(KernelEmitter &e);

} // namespace tesa

#endif // TESA_CODEGEN_TENSORMAP_H
