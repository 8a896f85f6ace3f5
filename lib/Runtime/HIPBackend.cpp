//===- HIPBackend.cpp - The runtime over HIP ------------------------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// libamdhip64.so is dlopen'ed on first use; nothing here needs HIP's headers.
//
//===----------------------------------------------------------------------===//

#include "Backend.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdlib>

using namespace tesa::rt;

namespace {

// These types and constants mirror HIP's API as documented in
// hip_runtime_api.h (ROCm 5 and 6); only what tesa uses is declared.
using hipError_t = int;
using hipDevice_t = int;
using hipModule_t = void *;
using hipFunction_t = void *;
using hipStream_t = void *;
using hipEvent_t = void *;

constexpr hipError_t hipErrorOutOfMemory = 2;
constexpr hipError_t hipErrorNoDevice = 100;
constexpr hipError_t hipErrorInvalidDevice = 101;
constexpr int hipMemcpyHostToDevice = 1;
constexpr int hipMemcpyDeviceToHost = 2;
constexpr int hipMemcpyDeviceToDevice = 3;
constexpr int hipMemcpyDefault = 4;
constexpr unsigned hipStreamNonBlocking = 1;
constexpr unsigned hipEventDisableTiming = 2;

/// HIP's entry points, with the signatures of hip_runtime_api.h.
#define TESA_HIP_FUNCTIONS(X)                                                  \
  X(hipInit, hipError_t, unsigned)                                             \
  X(hipGetDeviceCount, hipError_t, int *)                                      \
  X(hipSetDevice, hipError_t, int)                                             \
  X(hipGetDevice, hipError_t, int *)                                           \
  X(hipDeviceGetName, hipError_t, char *, int, hipDevice_t)                    \
  X(hipModuleLoadData, hipError_t, hipModule_t *, const void *)                \
  X(hipModuleUnload, hipError_t, hipModule_t)                                  \
  X(hipModuleGetFunction, hipError_t, hipFunction_t *, hipModule_t,            \
    const char *)                                                              \
  X(hipModuleLaunchKernel, hipError_t, hipFunction_t, unsigned, unsigned,      \
    unsigned, unsigned, unsigned, unsigned, unsigned, hipStream_t, void **,    \
    void **)                                                                   \
  X(hipMalloc, hipError_t, void **, size_t)                                    \
  X(hipFree, hipError_t, void *)                                               \
  X(hipMemGetAddressRange, hipError_t, void **, size_t *, void *)              \
  X(hipMemcpyAsync, hipError_t, void *, const void *, size_t, int,             \
    hipStream_t)                                                               \
  X(hipMemsetD32Async, hipError_t, void *, int, size_t, hipStream_t)           \
  X(hipMemsetD16Async, hipError_t, void *, unsigned short, size_t,             \
    hipStream_t)                                                               \
  X(hipStreamCreateWithFlags, hipError_t, hipStream_t *, unsigned)             \
  X(hipStreamDestroy, hipError_t, hipStream_t)                                 \
  X(hipStreamSynchronize, hipError_t, hipStream_t)                             \
  X(hipStreamWaitEvent, hipError_t, hipStream_t, hipEvent_t, unsigned)         \
  X(hipEventCreateWithFlags, hipError_t, hipEvent_t *, unsigned)               \
  X(hipEventDestroy, hipError_t, hipEvent_t)                                   \
  X(hipEventRecord, hipError_t, hipEvent_t, hipStream_t)                       \
  X(hipEventSynchronize, hipError_t, hipEvent_t)                               \
  X(hipGetErrorName, const char *, hipError_t)                                 \
  X(hipGetErrorString, const char *, hipError_t)

struct Runtime {
#define TESA_DECLARE(name, result, ...) result (*name)(__VA_ARGS__) = nullptr;
  TESA_HIP_FUNCTIONS(TESA_DECLARE)
#undef TESA_DECLARE
};

class HIPBackend final : public Backend {
public:
  tesa_rt_backend kind() const override { return TESA_RT_BACKEND_HIP; }

  Error initialize() override {
    static const char *const names[] = {"libamdhip64.so", "libamdhip64.so.6",
                                        "libamdhip64.so.5", nullptr};
    std::string why;
    void *library = openLibrary(names, why);
    if (!library)
      return noDevice("libamdhip64.so could not be loaded (" + why + ")");
#define TESA_LOAD(name, ...)                                                   \
  if (!loadSymbol(library, #name, hip.name))                                   \
    return Error(kRuntimeError, "",                                            \
                 "no HIP device: libamdhip64.so lacks " #name);
    TESA_HIP_FUNCTIONS(TESA_LOAD)
#undef TESA_LOAD
    if (hipError_t result = hip.hipInit(0)) {
      Error error = noDevice("hipInit failed: " + describe(result));
      error.code = result;
      // ROCm answers hipErrorInvalidDevice on machines without AMD GPU.
      if (result != hipErrorNoDevice && result != hipErrorInvalidDevice)
        error.kind = Error::Kind::Failure;
      return error;
    }
    return {};
  }

  Error deviceCount(int &count) override {
    count = 0;
    Error error = check(hip.hipGetDeviceCount(&count), "hipGetDeviceCount");
    if (error.code == hipErrorNoDevice) {
      count = 0;
      return {};
    }
    return error;
  }

  /// HIP threads always have a current device (0 unless set); TESA_DEVICE,
  /// where set, selects the device of each thread once.
  Error ensureContext() override {
    thread_local bool selected = false;
    if (selected || !std::getenv("TESA_DEVICE"))
      return {};
    int ordinal = 0, count = 0;
    std::string why;
    if (!selectedDevice(ordinal, why))
      return Error(kRuntimeError, "", why);
    if (Error error = deviceCount(count))
      return error;
    if (ordinal >= count)
      return noDevice("TESA_DEVICE is " + std::to_string(ordinal) +
                      " but the HIP device count is " + std::to_string(count));
    if (Error error = check(hip.hipSetDevice(ordinal), "hipSetDevice"))
      return error;
    selected = true;
    return {};
  }

  Error deviceName(char *name, size_t capacity) override {
    int device = 0;
    if (Error error = check(hip.hipGetDevice(&device), "hipGetDevice"))
      return error;
    int length = static_cast<int>(std::min<size_t>(capacity, INT_MAX));
    return check(hip.hipDeviceGetName(name, length, device),
                 "hipDeviceGetName");
  }

  Error loadModule(const void *data, size_t, void *&module) override {
    return check(hip.hipModuleLoadData(&module, data), "hipModuleLoadData");
  }

  Error loadModuleFromPTX(const char *, int, void *&module) override {
    module = nullptr;
    return Error(kRuntimeError, "",
                 "PTX modules (mgpuModuleLoadJIT) need the CUDA backend");
  }

  Error unloadModule(void *module) override {
    return check(hip.hipModuleUnload(module), "hipModuleUnload");
  }

  Error getFunction(void *module, const char *name, void *&function) override {
    return check(hip.hipModuleGetFunction(&function, module, name),
                 "hipModuleGetFunction");
  }

  Error launch(void *function, const uint32_t grid[3], const uint32_t block[3],
               const uint32_t cluster[3], uint32_t sharedMemory, void *stream,
               void **params, void **extra, bool /*programmatic*/) override {
    if (cluster[0] * cluster[1] * cluster[2] != 1)
      return Error(kRuntimeError, "hipModuleLaunchKernel",
                   "thread block clusters are not supported on HIP");
    return check(hip.hipModuleLaunchKernel(function, grid[0], grid[1], grid[2],
                                           block[0], block[1], block[2],
                                           sharedMemory, stream, params, extra),
                 "hipModuleLaunchKernel");
  }

  Error allocate(size_t bytes, void *&devicePtr) override {
    devicePtr = nullptr;
    Error error = check(hip.hipMalloc(&devicePtr, bytes), "hipMalloc");
    if (error.code == hipErrorOutOfMemory)
      error.kind = Error::Kind::OutOfMemory;
    return error;
  }

  Error free(void *devicePtr) override {
    return check(hip.hipFree(devicePtr), "hipFree");
  }

  Error allocationRange(const void *devicePtr, uintptr_t &base,
                        size_t &size) override {
    void *first = nullptr;
    Error error = check(hip.hipMemGetAddressRange(
                            &first, &size, const_cast<void *>(devicePtr)),
                        "hipMemGetAddressRange");
    base = reinterpret_cast<uintptr_t>(first);
    return error;
  }

  Error copyHostToDevice(void *dst, const void *src, size_t bytes,
                         void *stream) override {
    return memcpy(dst, src, bytes, hipMemcpyHostToDevice, stream);
  }

  Error copyDeviceToHost(void *dst, const void *src, size_t bytes,
                         void *stream) override {
    return memcpy(dst, src, bytes, hipMemcpyDeviceToHost, stream);
  }

  Error copyDeviceToDevice(void *dst, const void *src, size_t bytes,
                           void *stream) override {
    return memcpy(dst, src, bytes, hipMemcpyDeviceToDevice, stream);
  }

  Error copy(void *dst, const void *src, size_t bytes, void *stream) override {
    return memcpy(dst, src, bytes, hipMemcpyDefault, stream);
  }

  Error memset32(void *dst, uint32_t value, size_t count,
                 void *stream) override {
    return check(
        hip.hipMemsetD32Async(dst, static_cast<int>(value), count, stream),
        "hipMemsetD32Async");
  }

  Error memset16(void *dst, uint16_t value, size_t count,
                 void *stream) override {
    return check(hip.hipMemsetD16Async(dst, value, count, stream),
                 "hipMemsetD16Async");
  }

  Error createStream(void *&stream) override {
    return check(hip.hipStreamCreateWithFlags(&stream, hipStreamNonBlocking),
                 "hipStreamCreateWithFlags");
  }

  Error destroyStream(void *stream) override {
    return check(hip.hipStreamDestroy(stream), "hipStreamDestroy");
  }

  Error synchronizeStream(void *stream) override {
    return check(hip.hipStreamSynchronize(stream), "hipStreamSynchronize");
  }

  Error streamWaitEvent(void *stream, void *event) override {
    return check(hip.hipStreamWaitEvent(stream, event, 0),
                 "hipStreamWaitEvent");
  }

  Error createEvent(void *&event) override {
    return check(hip.hipEventCreateWithFlags(&event, hipEventDisableTiming),
                 "hipEventCreateWithFlags");
  }

  Error destroyEvent(void *event) override {
    return check(hip.hipEventDestroy(event), "hipEventDestroy");
  }

  Error recordEvent(void *event, void *stream) override {
    return check(hip.hipEventRecord(event, stream), "hipEventRecord");
  }

  Error synchronizeEvent(void *event) override {
    return check(hip.hipEventSynchronize(event), "hipEventSynchronize");
  }

private:
  Error memcpy(void *dst, const void *src, size_t bytes, int kind,
               void *stream) {
    return check(hip.hipMemcpyAsync(dst, src, bytes, kind, stream),
                 "hipMemcpyAsync");
  }

  /// "hipErrorName (description)".
  std::string describe(hipError_t result) const {
    const char *name = hip.hipGetErrorName(result);
    const char *text = hip.hipGetErrorString(result);
    std::string detail =
        name ? std::string(name) : "HIP error " + std::to_string(result);
    if (text)
      detail += std::string(" (") + text + ")";
    return detail;
  }

  Error check(hipError_t result, const char *call) const {
    if (result == 0)
      return {};
    return Error(result, call, describe(result));
  }

  static Error noDevice(std::string why) {
    return Error(kRuntimeError, "", "no HIP device: " + why,
                 Error::Kind::NoDevice);
  }

  Runtime hip;
};

} // namespace

std::unique_ptr<Backend> tesa::rt::createHIPBackend() {
  return std::make_unique<HIPBackend>();
}
