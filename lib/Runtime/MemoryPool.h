//===- MemoryPool.h - Per-stream caching pool of device memory --*- C++ -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// mgpuMemAlloc / mgpuMemFree go through this pool. A freed block is kept on
// the free list of its (stream, size class) and handed out again to the next
// allocation of that class on that stream: work on one stream runs in order,
// so the block's previous users have finished when the new user runs. In the
// steady state (the same sequence of allocations call after call) nothing
// reaches the driver and no host memory is allocated either.
//
//===----------------------------------------------------------------------===//

#ifndef TESA_LIB_RUNTIME_MEMORYPOOL_H
#define TESA_LIB_RUNTIME_MEMORYPOOL_H

#include "Backend.h"

#include <map>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

namespace tesa::rt {

class MemoryPool {
public:
  /// The bytes actually allocated for a request of `bytes`: a multiple of 256
  /// up to 1 MiB, above that a multiple of a quarter of the largest power of
  /// two not above `bytes` (so at most 25% more than asked).
  static size_t sizeClass(size_t bytes);

  /// A block of at least `bytes` for `stream`. Allocates from the driver only
  /// if no block of that class is free on `stream`; when the driver is out of
  /// memory, returns every cached block to the driver (after synchronising
  /// its stream) and tries once more.
  Error allocate(Backend &backend, size_t bytes, void *stream, void *&ptr,
                 Counters &counters);

  /// Puts `ptr` on the free list of `stream`; false if `ptr` is not a block
  /// of this pool that is in use.
  bool release(void *ptr, void *stream);

  /// Returns the cached blocks of `stream` to the driver, after synchronising
  /// it, e.g. when the stream is destroyed.
  Error trim(Backend &backend, void *stream, Counters &counters);

  /// Forgets every block without freeing it (unit tests).
  void forget();

private:
  Error trimLocked(Backend &backend, void *stream, Counters &counters);

  std::mutex mutex;
  /// Every block of the pool and its size class, true while in use.
  std::unordered_map<void *, std::pair<size_t, bool>> blocks;
  /// Free blocks per (stream, size class).
  std::map<std::pair<void *, size_t>, std::vector<void *>> freeBlocks;
};

} // namespace tesa::rt

#endif // TESA_LIB_RUNTIME_MEMORYPOOL_H
