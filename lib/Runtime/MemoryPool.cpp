//===- MemoryPool.cpp - Per-stream caching pool of device memory ----------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "MemoryPool.h"

#include <algorithm>
#include <cstdint>

using namespace tesa::rt;

size_t MemoryPool::sizeClass(size_t bytes) {
  constexpr size_t kSmallLimit = size_t(1) << 20;
  if (bytes <= kSmallLimit)
    return std::max<size_t>(256, (bytes + 255) & ~size_t(255));
  if (bytes > SIZE_MAX / 2)
    return bytes;
  size_t power = size_t(1) << (63 - __builtin_clzll(bytes));
  size_t granule = power / 4;
  return (bytes + granule - 1) / granule * granule;
}

Error MemoryPool::allocate(Backend &backend, size_t bytes, void *stream,
                           void *&ptr, Counters &counters) {
  std::lock_guard<std::mutex> lock(mutex);
  size_t size = sizeClass(bytes);
  auto it = freeBlocks.find({stream, size});
  if (it != freeBlocks.end() && !it->second.empty()) {
    ptr = it->second.back();
    it->second.pop_back();
    blocks[ptr].second = true;
    return {};
  }
  Error error = backend.allocate(size, ptr);
  if (error.kind == Error::Kind::OutOfMemory && !freeBlocks.empty()) {
    // Give the driver back what other sizes and streams keep, then retry.
    while (!freeBlocks.empty())
      if (Error trimError =
              trimLocked(backend, freeBlocks.begin()->first.first, counters))
        return trimError;
    error = backend.allocate(size, ptr);
  }
  if (error) {
    ptr = nullptr;
    return error;
  }
  ++counters.deviceAllocations;
  blocks[ptr] = {size, true};
  return {};
}

bool MemoryPool::release(void *ptr, void *stream) {
  std::lock_guard<std::mutex> lock(mutex);
  auto it = blocks.find(ptr);
  if (it == blocks.end() || !it->second.second)
    return false;
  it->second.second = false;
  freeBlocks[{stream, it->second.first}].push_back(ptr);
  return true;
}

Error MemoryPool::trim(Backend &backend, void *stream, Counters &counters) {
  std::lock_guard<std::mutex> lock(mutex);
  return trimLocked(backend, stream, counters);
}

Error MemoryPool::trimLocked(Backend &backend, void *stream,
                             Counters &counters) {
  auto begin = freeBlocks.lower_bound({stream, 0});
  auto end = begin;
  bool any = false;
  for (; end != freeBlocks.end() && end->first.first == stream; ++end)
    any |= !end->second.empty();
  Error first;
  if (any) {
    // The blocks' last users may still be queued on the stream.
    ++counters.synchronisations;
    first = backend.synchronizeStream(stream);
  }
  for (auto it = begin; it != end; ++it)
    for (void *ptr : it->second) {
      blocks.erase(ptr);
      if (Error error = backend.free(ptr); error && !first)
        first = std::move(error);
    }
  freeBlocks.erase(begin, end);
  return first;
}

void MemoryPool::forget() {
  std::lock_guard<std::mutex> lock(mutex);
  blocks.clear();
  freeBlocks.clear();
}
