//===- ClusterSums.h - Split-K sums added up across a cluster --*- C++ -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// Split-K inside one launch on sm_90: the blocks of a thread block cluster
// each compute a slice of a tile's reduction, leave their f32 sums in their
// own shared memory, and read each other's through distributed shared
// memory (`mapa` + `ld.shared::cluster`), so that no workspace in global
// memory and no second kernel are needed. Every block of the cluster
// writes its sums, waits at the cluster barrier (whose arrive releases and
// whose wait acquires the writes), adds up the sums it finishes in block
// rank order (the same order for every element, so results do not depend
// on timing), and waits at the barrier again before it exits, so that no
// block's shared memory goes away while another reads it.
//
// The layout of the sums: sum i of thread t of `threads` lies at byte
// (i * threads + t) * 4 of the block's area, so that consecutive threads
// write consecutive words.
//
//===----------------------------------------------------------------------===//

#ifndef TESA_CODEGEN_CLUSTERSUMS_H
#define TESA_CODEGEN_CLUSTERSUMS_H

#include "tesa/Codegen/KernelEmitter.h"

#include <cstdint>

namespace tesa {

/// Emits the shared-memory side of a cluster's split-K sums (see the file
/// comment) for `threads` threads that each hold `count` f32 sums, in an
/// area of shared memory at shared address `base` (an index) of every
/// block.
class ClusterSums {
public:
  ClusterSums(KernelEmitter &e, mlir::Value base, int64_t threads,
              int64_t count)
      : e(e), base(base), threads(threads), count(count) {}

  /// Bytes of a block's area.
  static int64_t getBytes(int64_t threads, int64_t count) {
    return threads * count * 4;
  }
  /// Thread `thread` writes `sum` as its sum `i` into its block's area.
  void write(mlir::Value thread, int64_t i, mlir::Value sum);
  /// Every thread of every block of the cluster: the cluster barrier.
  void barrier();
  /// Sum `i` (an index) of thread `thread` added up over the areas of the
  /// cluster's first `blocks` blocks, in rank order.
  mlir::Value add(mlir::Value thread, mlir::Value i, int64_t blocks);

private:
  /// A pointer to sum `i` (an index) of `thread` in this block's area.
  mlir::Value getAddress(mlir::Value thread, mlir::Value i);

  KernelEmitter &e;
  mlir::Value base;
  int64_t threads, count;
};

} // namespace tesa

#endif // TESA_CODEGEN_CLUSTERSUMS_H
