//===- MgpuWrappers.cpp - The mgpu* ABI that generated code calls ---------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// MLIR's gpu-to-llvm lowering emits calls to these functions. Unlike MLIR's
// own wrappers, these load modules lazily, cache kernels, run on the stream
// bound by tesa_rt_begin_call, take device memory from a caching pool and
// record failures instead of aborting.
//
//===----------------------------------------------------------------------===//

#include "RuntimeState.h"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <string_view>

using namespace tesa::rt;

namespace {

/// Records a device allocation failure of `bytes`.
void recordAllocationError(const Error &error, uint64_t bytes) {
  if (error.kind == Error::Kind::OutOfMemory)
    recordError(error.code, "out of device memory allocating " +
                                std::to_string(bytes) +
                                " bytes: " + error.detail);
  else
    recordError(error.code, "device allocation of " + std::to_string(bytes) +
                                " bytes: " + error.message());
}

/// Whether the environment lets the runtime launch kernels early
/// (TESA_PROGRAMMATIC_LAUNCH, default on; "0" turns it off).
bool programmaticLaunchAllowed() {
  const char *text = std::getenv("TESA_PROGRAMMATIC_LAUNCH");
  return !text || std::strcmp(text, "0") != 0;
}

/// Whether the module's image names the global that marks its kernels for
/// programmatic launch (TESA_RT_PROGRAMMATIC_LAUNCH_SYMBOL): in a cubin's
/// string table, or in PTX text. Searched in the image rather than asked of
/// the driver, for which the global missing from a module is an API error
/// (compute-sanitizer reports each).
bool isMarked(const Module &module) {
  const char *data = static_cast<const char *>(module.data);
  std::string_view image(data, module.isPTX ? std::strlen(data) : module.size);
  return image.find(TESA_RT_PROGRAMMATIC_LAUNCH_SYMBOL) !=
         std::string_view::npos;
}

/// Loads `module` with `backend` unless it is loaded; `module.mutex` held.
bool loadLocked(Module &module, Backend &backend) {
  if (module.handle) {
    if (module.loadedBy == &backend)
      return true;
    recordError(kRuntimeError, std::string("a module loaded with ") +
                                   module.loadedBy->name() + " is used with " +
                                   backend.name());
    return false;
  }
  void *handle = nullptr;
  Error error =
      module.isPTX
          ? backend.loadModuleFromPTX(static_cast<const char *>(module.data),
                                      module.optLevel, handle)
          : backend.loadModule(module.data, module.size, handle);
  if (error) {
    recordError(error);
    return false;
  }
  module.handle = handle;
  module.loadedBy = &backend;
  module.programmaticLaunch = programmaticLaunchAllowed() && isMarked(module);
  ++state().counters.moduleLoads;
  return true;
}

void *registerModule(const void *data, size_t size, bool isPTX, int optLevel) {
  if (!data) {
    recordError(kRuntimeError, "mgpuModuleLoad: the module's data is NULL");
    return nullptr;
  }
  State &s = state();
  auto *module = new Module(data, size, isPTX, optLevel);
  std::lock_guard<std::mutex> lock(s.mutex);
  s.modules.insert(module);
  return module;
}

bool fitsUnsigned(intptr_t value) {
  return value >= 1 && static_cast<uintmax_t>(value) <= UINT_MAX;
}

} // namespace

//===----------------------------------------------------------------------===//
// Modules and kernels
//===----------------------------------------------------------------------===//

void *mgpuModuleLoad(void *data, size_t size) {
  return registerModule(data, size, /*isPTX=*/false, 0);
}

void *mgpuModuleLoadJIT(void *ptx, int optLevel) {
  return registerModule(ptx, ptx ? std::strlen(static_cast<char *>(ptx)) : 0,
                        /*isPTX=*/true, optLevel);
}

void mgpuModuleUnload(void *handle) {
  State &s = state();
  // At exit the driver may be gone; the process frees everything anyway.
  if (!handle || s.exiting.load())
    return;
  auto *module = static_cast<Module *>(handle);
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    if (!s.modules.erase(module))
      return;
  }
  // A module whose backend was replaced (tests) has been forgotten: its
  // handle is null. Unloading needs a context on this thread, which may be
  // the one calling dlclose; failures are ignored (nobody could see them).
  if (module->handle && !module->loadedBy->ensureContext())
    (void)module->loadedBy->unloadModule(module->handle);
  delete module;
}

void *mgpuModuleGetFunction(void *handle, const char *name) {
  if (!handle || !name) {
    recordConsequence("mgpuModuleGetFunction: NULL module or name (did "
                      "mgpuModuleLoad fail?)");
    return nullptr;
  }
  auto &module = *static_cast<Module *>(handle);
  std::lock_guard<std::mutex> lock(module.mutex);
  for (const std::unique_ptr<Function> &function : module.functions)
    if (function->key == name)
      return function.get();
  for (const std::unique_ptr<Function> &function : module.functions)
    if (function->name == name)
      return function.get();

  Backend *backend = activeBackend("mgpuModuleGetFunction");
  if (!backend || !loadLocked(module, *backend))
    return nullptr;
  void *function = nullptr;
  if (Error error = backend->getFunction(module.handle, name, function)) {
    recordError(error.code, "kernel '" + std::string(name) +
                                "' not found: " + error.message());
    return nullptr;
  }
  module.functions.push_back(std::unique_ptr<Function>(
      new Function{&module, name, std::string(name), function}));
  return module.functions.back().get();
}

/// Launches the kernel `handle` in clusters of `cluster` blocks (1, 1, 1:
/// none), as mgpuLaunchKernel and mgpuLaunchClusterKernel ask.
static void launchKernel(const char *caller, void *handle,
                         const intptr_t cluster[3], const intptr_t grid[3],
                         const intptr_t block[3], int32_t smem, void *stream,
                         void **params, void **extra) {
  if (!handle) {
    recordConsequence((std::string(caller) +
                       ": NULL function (did mgpuModuleGetFunction fail?)")
                          .c_str());
    return;
  }
  if (callFailed())
    return;
  const auto &function = *static_cast<const Function *>(handle);
  const intptr_t *asked[3] = {grid, block, cluster};
  bool valid = smem >= 0;
  for (const intptr_t *dimensions : asked)
    valid = valid && std::all_of(dimensions, dimensions + 3, fitsUnsigned);
  if (!valid) {
    recordError(kRuntimeError, "kernel launch of '" + function.name +
                                   "' failed: invalid grid, block, cluster "
                                   "or shared memory size");
    return;
  }
  uint32_t sizes[3][3];
  for (int i = 0; i < 3; ++i)
    for (int d = 0; d < 3; ++d)
      sizes[i][d] = uint32_t(asked[i][d]);
  Backend &backend = *function.module->loadedBy;
  if (Error error = backend.launch(
          function.handle, sizes[0], sizes[1], sizes[2], uint32_t(smem), stream,
          params, extra, function.module->programmaticLaunch)) {
    recordError(error.code, "kernel launch of '" + function.name +
                                "' failed: " + error.detail);
    return;
  }
  ++state().counters.launches;
}

void mgpuLaunchKernel(void *handle, intptr_t gridX, intptr_t gridY,
                      intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                      intptr_t blockZ, int32_t smem, void *stream,
                      void **params, void **extra, size_t /*paramsCount*/) {
  const intptr_t cluster[3] = {1, 1, 1}, grid[3] = {gridX, gridY, gridZ},
                 block[3] = {blockX, blockY, blockZ};
  launchKernel("mgpuLaunchKernel", handle, cluster, grid, block, smem, stream,
               params, extra);
}

void mgpuLaunchClusterKernel(void *handle, intptr_t clusterX, intptr_t clusterY,
                             intptr_t clusterZ, intptr_t gridX, intptr_t gridY,
                             intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                             intptr_t blockZ, int32_t smem, void *stream,
                             void **params, void **extra,
                             size_t /*paramsCount*/) {
  const intptr_t cluster[3] = {clusterX, clusterY, clusterZ},
                 grid[3] = {gridX, gridY, gridZ},
                 block[3] = {blockX, blockY, blockZ};
  launchKernel("mgpuLaunchClusterKernel", handle, cluster, grid, block, smem,
               stream, params, extra);
}

//===----------------------------------------------------------------------===//
// Streams and events
//===----------------------------------------------------------------------===//

void *mgpuStreamCreate(void) {
  if (inCall())
    return boundStream();
  Backend *backend = activeBackend("mgpuStreamCreate");
  void *stream = nullptr;
  if (backend)
    if (Error error = backend->createStream(stream))
      recordError(error);
  return stream;
}

void mgpuStreamDestroy(void *stream) {
  if (!stream || (inCall() && stream == boundStream()))
    return;
  Backend *backend = activeBackend("mgpuStreamDestroy");
  if (!backend)
    return;
  State &s = state();
  if (Error error = s.pool.trim(*backend, stream, s.counters))
    recordError(error);
  if (Error error = backend->destroyStream(stream))
    recordError(error);
}

void mgpuStreamSynchronize(void *stream) {
  if (inCall() && stream == boundStream())
    return;
  Backend *backend = activeBackend("mgpuStreamSynchronize");
  if (!backend)
    return;
  ++state().counters.synchronisations;
  if (Error error = backend->synchronizeStream(stream))
    recordError(error);
}

void mgpuStreamWaitEvent(void *stream, void *event) {
  if (!event) {
    recordConsequence("mgpuStreamWaitEvent: NULL event");
    return;
  }
  if (Backend *backend = activeBackend("mgpuStreamWaitEvent"))
    if (Error error = backend->streamWaitEvent(stream, event))
      recordError(error);
}

void *mgpuEventCreate(void) {
  void *event = nullptr;
  if (Backend *backend = activeBackend("mgpuEventCreate"))
    if (Error error = backend->createEvent(event))
      recordError(error);
  return event;
}

void mgpuEventDestroy(void *event) {
  if (!event)
    return;
  if (Backend *backend = activeBackend("mgpuEventDestroy"))
    if (Error error = backend->destroyEvent(event))
      recordError(error);
}

void mgpuEventSynchronize(void *event) {
  if (!event) {
    recordConsequence("mgpuEventSynchronize: NULL event");
    return;
  }
  Backend *backend = activeBackend("mgpuEventSynchronize");
  if (!backend)
    return;
  ++state().counters.synchronisations;
  if (Error error = backend->synchronizeEvent(event))
    recordError(error);
}

void mgpuEventRecord(void *event, void *stream) {
  if (!event) {
    recordConsequence("mgpuEventRecord: NULL event");
    return;
  }
  if (Backend *backend = activeBackend("mgpuEventRecord"))
    if (Error error = backend->recordEvent(event, stream))
      recordError(error);
}

//===----------------------------------------------------------------------===//
// Memory
//===----------------------------------------------------------------------===//

void *mgpuMemAlloc(uint64_t bytes, void *stream, int8_t isHostShared) {
  if (isHostShared) {
    recordError(kRuntimeError,
                "mgpuMemAlloc: host-shared allocations are not supported");
    return nullptr;
  }
  Backend *backend = activeBackend("mgpuMemAlloc");
  if (!backend)
    return nullptr;
  State &s = state();
  void *ptr = nullptr;
  if (Error error = s.pool.allocate(*backend, bytes, stream, ptr, s.counters))
    recordAllocationError(error, bytes);
  return ptr;
}

void mgpuMemFree(void *ptr, void *stream) {
  if (ptr && !state().pool.release(ptr, stream))
    recordError(kRuntimeError, "mgpuMemFree: the pointer was not allocated "
                               "by mgpuMemAlloc or is freed already");
}

void mgpuMemcpy(void *dst, void *src, size_t bytes, void *stream) {
  if (bytes == 0)
    return;
  if (!dst || !src) {
    recordConsequence("mgpuMemcpy: NULL pointer (did mgpuMemAlloc fail?)");
    return;
  }
  if (callFailed())
    return;
  if (Backend *backend = activeBackend("mgpuMemcpy"))
    if (Error error = backend->copy(dst, src, bytes, stream))
      recordError(error);
}

void mgpuMemset32(void *dst, uint32_t value, size_t count, void *stream) {
  if (count == 0)
    return;
  if (!dst) {
    recordConsequence("mgpuMemset32: NULL pointer (did mgpuMemAlloc fail?)");
    return;
  }
  if (callFailed())
    return;
  if (Backend *backend = activeBackend("mgpuMemset32"))
    if (Error error = backend->memset32(dst, value, count, stream))
      recordError(error);
}

void mgpuMemset16(void *dst, uint16_t value, size_t count, void *stream) {
  if (count == 0)
    return;
  if (!dst) {
    recordConsequence("mgpuMemset16: NULL pointer (did mgpuMemAlloc fail?)");
    return;
  }
  if (callFailed())
    return;
  if (Backend *backend = activeBackend("mgpuMemset16"))
    if (Error error = backend->memset16(dst, value, count, stream))
      recordError(error);
}

void mgpuTesaEncodeTensorMap2D(void *map, void *global, int64_t inner,
                               int64_t outer, int64_t outerStrideBytes,
                               int32_t boxInner, int32_t boxOuter,
                               int32_t swizzle) {
  if (!map || !global) {
    recordConsequence("mgpuTesaEncodeTensorMap2D: NULL map or tensor (did "
                      "mgpuMemAlloc fail?)");
    return;
  }
  if (callFailed())
    return;
  if (inner <= 0 || outer <= 0 || outerStrideBytes <= 0 || boxInner <= 0 ||
      boxOuter <= 0 || swizzle < 0 || swizzle > 3) {
    recordError(kRuntimeError, "mgpuTesaEncodeTensorMap2D: invalid shape, "
                               "box or swizzle");
    return;
  }
  // Encoded once per tensor and box: a launch on the same buffers (every
  // call of a library whose buffers come from the pool) copies the map.
  const std::array<uint64_t, 7> key = {
      uint64_t(reinterpret_cast<uintptr_t>(global)), uint64_t(inner),
      uint64_t(outer), uint64_t(outerStrideBytes), uint64_t(boxInner),
      uint64_t(boxOuter), uint64_t(swizzle)};
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  auto found = s.tensorMaps.find(key);
  if (found != s.tensorMaps.end()) {
    std::memcpy(map, found->second.data(), found->second.size());
    return;
  }
  Backend *backend = activeBackend("mgpuTesaEncodeTensorMap2D");
  if (!backend)
    return;
  if (Error error = backend->encodeTensorMap2D(
          map, global, uint64_t(inner), uint64_t(outer),
          uint64_t(outerStrideBytes), uint32_t(boxInner), uint32_t(boxOuter),
          swizzle)) {
    recordError(error);
    return;
  }
  // Buffers that keep moving would grow the cache without bound.
  constexpr size_t kMaxTensorMaps = 4096;
  if (s.tensorMaps.size() >= kMaxTensorMaps)
    s.tensorMaps.clear();
  std::memcpy(s.tensorMaps[key].data(), map, 128);
}

void *mgpuTesaDeviceConstant(const void *host, uint64_t bytes) {
  if (!host) {
    recordConsequence("mgpuTesaDeviceConstant: NULL host pointer");
    return nullptr;
  }
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  auto it = s.constants.find(host);
  if (it != s.constants.end() && it->second.bytes == bytes)
    return it->second.devicePtr;

  Backend *backend = activeBackend("mgpuTesaDeviceConstant");
  if (!backend)
    return nullptr;
  void *devicePtr = nullptr;
  if (Error error =
          backend->allocate(std::max<uint64_t>(bytes, 1), devicePtr)) {
    recordAllocationError(error, bytes);
    return nullptr;
  }
  ++s.counters.deviceAllocations;
  // Upload on the caller's stream and wait: the host copy may be read only
  // until this returns, and this happens once per constant.
  void *stream = inCall() ? boundStream() : nullptr;
  Error error;
  if (bytes)
    error = backend->copyHostToDevice(devicePtr, host, bytes, stream);
  if (!error && bytes) {
    ++s.counters.synchronisations;
    error = backend->synchronizeStream(stream);
  }
  if (error) {
    recordError(error);
    (void)backend->free(devicePtr);
    return nullptr;
  }
  // A constant of another size at the same address belongs to a library
  // loaded after an earlier one was unloaded; the old copy is leaked, since
  // work still queued may read it.
  s.constants[host] = {bytes, devicePtr};
  return devicePtr;
}
