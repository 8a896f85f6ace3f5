//===- CUDABackend.cpp - The runtime over the CUDA driver API -------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// libcuda.so.1 is dlopen'ed on first use; nothing here needs CUDA's headers.
//
//===----------------------------------------------------------------------===//

#include "Backend.h"
#include "CUDADriverAPI.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <mutex>
#include <unordered_map>

using namespace tesa::rt;
using namespace tesa::rt::cuda;

namespace {

struct Driver {
#define TESA_DECLARE(field, symbol, ...)                                       \
  CUresult (*field)(__VA_ARGS__) = nullptr;
  TESA_CUDA_FUNCTIONS(TESA_DECLARE)
#undef TESA_DECLARE
  /// CUDA 12 drivers and later; null before.
  CUresult (*cuLaunchKernelEx)(const CUlaunchConfig *, CUfunction, void **,
                               void **) = nullptr;
  CUresult (*cuTensorMapEncodeTiled)(
      void *, int, unsigned, void *, const unsigned long long *,
      const unsigned long long *, const unsigned *, const unsigned *, int, int,
      int, int) = nullptr;
};

CUdeviceptr toDevice(const void *ptr) {
  return static_cast<CUdeviceptr>(reinterpret_cast<uintptr_t>(ptr));
}

class CUDABackend final : public Backend {
public:
  tesa_rt_backend kind() const override { return TESA_RT_BACKEND_CUDA; }

  Error initialize() override {
    static const char *const names[] = {"libcuda.so.1", nullptr};
    std::string why;
    void *library = openLibrary(names, why);
    if (!library)
      return noDevice("libcuda.so.1 could not be loaded (" + why + ")");
#define TESA_LOAD(field, symbol, ...)                                          \
  if (!loadSymbol(library, symbol, driver.field))                              \
    return Error(kRuntimeError, "",                                            \
                 "no CUDA device: libcuda.so.1 lacks " symbol                  \
                 " (driver too old?)");
    TESA_CUDA_FUNCTIONS(TESA_LOAD)
#undef TESA_LOAD
    (void)loadSymbol(library, "cuLaunchKernelEx", driver.cuLaunchKernelEx);
    (void)loadSymbol(library, "cuTensorMapEncodeTiled",
                     driver.cuTensorMapEncodeTiled);
    if (CUresult result = driver.cuInit(0)) {
      Error error = noDevice("cuInit failed: " + describe(result));
      error.code = result;
      if (result != CUDA_ERROR_NO_DEVICE &&
          result != CUDA_ERROR_INVALID_DEVICE &&
          result != CUDA_ERROR_STUB_LIBRARY)
        error.kind = Error::Kind::Failure;
      return error;
    }
    return {};
  }

  Error deviceCount(int &count) override {
    count = 0;
    return check(driver.cuDeviceGetCount(&count), "cuDeviceGetCount");
  }

  Error ensureContext() override {
    CUcontext current = nullptr;
    if (Error error =
            check(driver.cuCtxGetCurrent(&current), "cuCtxGetCurrent"))
      return error;
    if (current)
      return {};
    std::lock_guard<std::mutex> lock(mutex);
    if (!primary) {
      int ordinal = 0, count = 0;
      std::string why;
      if (!selectedDevice(ordinal, why))
        return Error(kRuntimeError, "", why);
      if (Error error = deviceCount(count))
        return error;
      if (ordinal >= count)
        return noDevice("TESA_DEVICE is " + std::to_string(ordinal) +
                        " but the CUDA device count is " +
                        std::to_string(count));
      CUdevice device = 0;
      if (Error error =
              check(driver.cuDeviceGet(&device, ordinal), "cuDeviceGet"))
        return error;
      if (Error error = check(driver.cuDevicePrimaryCtxRetain(&primary, device),
                              "cuDevicePrimaryCtxRetain"))
        return error;
    }
    return check(driver.cuCtxSetCurrent(primary), "cuCtxSetCurrent");
  }

  Error deviceName(char *name, size_t capacity) override {
    CUdevice device = 0;
    if (Error error = check(driver.cuCtxGetDevice(&device), "cuCtxGetDevice"))
      return error;
    int length = static_cast<int>(std::min<size_t>(capacity, INT_MAX));
    return check(driver.cuDeviceGetName(name, length, device),
                 "cuDeviceGetName");
  }

  Error loadModule(const void *data, size_t, void *&module) override {
    return check(driver.cuModuleLoadData(&module, data), "cuModuleLoadData");
  }

  Error loadModuleFromPTX(const char *ptx, int optLevel,
                          void *&module) override {
    char log[8192] = {0};
    CUjit_option options[] = {CU_JIT_ERROR_LOG_BUFFER,
                              CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES,
                              CU_JIT_OPTIMIZATION_LEVEL};
    void *values[] = {
        log, reinterpret_cast<void *>(static_cast<uintptr_t>(sizeof(log) - 1)),
        reinterpret_cast<void *>(
            static_cast<uintptr_t>(std::clamp(optLevel, 0, 4)))};
    Error error =
        check(driver.cuModuleLoadDataEx(&module, ptx, 3, options, values),
              "cuModuleLoadDataEx (PTX JIT)");
    if (error && log[0])
      error.detail += std::string(": ") + log;
    return error;
  }

  Error unloadModule(void *module) override {
    {
      // Its functions' handles may be reused by a later module.
      std::lock_guard<std::mutex> lock(mutex);
      sharedMemoryAllowed.clear();
    }
    return check(driver.cuModuleUnload(module), "cuModuleUnload");
  }

  Error getFunction(void *module, const char *name, void *&function) override {
    return check(driver.cuModuleGetFunction(&function, module, name),
                 "cuModuleGetFunction");
  }

  Error launch(void *function, const uint32_t grid[3], const uint32_t block[3],
               const uint32_t cluster[3], uint32_t sharedMemory, void *stream,
               void **params, void **extra, bool programmatic) override {
    if (sharedMemory)
      if (Error error = allowSharedMemory(function, sharedMemory))
        return error;
    bool clustered = cluster[0] * cluster[1] * cluster[2] != 1;
    if ((programmatic || clustered) && driver.cuLaunchKernelEx) {
      CUlaunchAttribute attributes[2] = {};
      unsigned count = 0;
      if (programmatic) {
        attributes[count].id =
            CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION;
        attributes[count++].value.programmaticStreamSerializationAllowed = 1;
      }
      if (clustered) {
        attributes[count].id = CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION;
        attributes[count++].value.clusterDim = {cluster[0], cluster[1],
                                                cluster[2]};
      }
      CUlaunchConfig config = {grid[0],    grid[1],  grid[2],      block[0],
                               block[1],   block[2], sharedMemory, stream,
                               attributes, count};
      return check(driver.cuLaunchKernelEx(&config, function, params, extra),
                   "cuLaunchKernelEx");
    }
    if (clustered)
      return Error(kRuntimeError, "cuLaunchKernelEx",
                   "the driver has no cuLaunchKernelEx, which launches "
                   "thread block clusters");
    return check(driver.cuLaunchKernel(function, grid[0], grid[1], grid[2],
                                       block[0], block[1], block[2],
                                       sharedMemory, stream, params, extra),
                 "cuLaunchKernel");
  }

  Error encodeTensorMap2D(void *map, void *global, uint64_t inner,
                          uint64_t outer, uint64_t outerStrideBytes,
                          uint32_t boxInner, uint32_t boxOuter,
                          int swizzle) override {
    if (!driver.cuTensorMapEncodeTiled)
      return Error(kRuntimeError, "",
                   "libcuda.so.1 lacks cuTensorMapEncodeTiled (a CUDA 12 "
                   "driver is needed for TMA)");
    const unsigned long long dims[2] = {inner, outer};
    const unsigned long long strides[1] = {outerStrideBytes};
    const unsigned box[2] = {boxInner, boxOuter};
    const unsigned elementStrides[2] = {1, 1};
    return check(driver.cuTensorMapEncodeTiled(
                     map, CU_TENSOR_MAP_DATA_TYPE_FLOAT16, 2, global, dims,
                     strides, box, elementStrides,
                     CU_TENSOR_MAP_INTERLEAVE_NONE, swizzle,
                     CU_TENSOR_MAP_L2_PROMOTION_L2_128B,
                     CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE),
                 "cuTensorMapEncodeTiled");
  }

  Error allocate(size_t bytes, void *&devicePtr) override {
    CUdeviceptr ptr = 0;
    Error error = check(driver.cuMemAlloc(&ptr, bytes), "cuMemAlloc");
    if (error.code == CUDA_ERROR_OUT_OF_MEMORY)
      error.kind = Error::Kind::OutOfMemory;
    devicePtr = reinterpret_cast<void *>(static_cast<uintptr_t>(ptr));
    return error;
  }

  Error free(void *devicePtr) override {
    return check(driver.cuMemFree(toDevice(devicePtr)), "cuMemFree");
  }

  Error allocationRange(const void *devicePtr, uintptr_t &base,
                        size_t &size) override {
    CUdeviceptr first = 0;
    Error error = check(
        driver.cuMemGetAddressRange(&first, &size, toDevice(devicePtr)),
        "cuMemGetAddressRange");
    base = static_cast<uintptr_t>(first);
    return error;
  }

  Error copyHostToDevice(void *dst, const void *src, size_t bytes,
                         void *stream) override {
    return check(driver.cuMemcpyHtoDAsync(toDevice(dst), src, bytes, stream),
                 "cuMemcpyHtoDAsync");
  }

  Error copyDeviceToHost(void *dst, const void *src, size_t bytes,
                         void *stream) override {
    return check(driver.cuMemcpyDtoHAsync(dst, toDevice(src), bytes, stream),
                 "cuMemcpyDtoHAsync");
  }

  Error copyDeviceToDevice(void *dst, const void *src, size_t bytes,
                           void *stream) override {
    return check(
        driver.cuMemcpyDtoDAsync(toDevice(dst), toDevice(src), bytes, stream),
        "cuMemcpyDtoDAsync");
  }

  Error copy(void *dst, const void *src, size_t bytes, void *stream) override {
    return check(
        driver.cuMemcpyAsync(toDevice(dst), toDevice(src), bytes, stream),
        "cuMemcpyAsync");
  }

  Error memset32(void *dst, uint32_t value, size_t count,
                 void *stream) override {
    return check(driver.cuMemsetD32Async(toDevice(dst), value, count, stream),
                 "cuMemsetD32Async");
  }

  Error memset16(void *dst, uint16_t value, size_t count,
                 void *stream) override {
    return check(driver.cuMemsetD16Async(toDevice(dst), value, count, stream),
                 "cuMemsetD16Async");
  }

  Error createStream(void *&stream) override {
    return check(driver.cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING),
                 "cuStreamCreate");
  }

  Error destroyStream(void *stream) override {
    return check(driver.cuStreamDestroy(stream), "cuStreamDestroy");
  }

  Error synchronizeStream(void *stream) override {
    return check(driver.cuStreamSynchronize(stream), "cuStreamSynchronize");
  }

  Error streamWaitEvent(void *stream, void *event) override {
    return check(driver.cuStreamWaitEvent(stream, event, 0),
                 "cuStreamWaitEvent");
  }

  Error createEvent(void *&event) override {
    return check(driver.cuEventCreate(&event, CU_EVENT_DISABLE_TIMING),
                 "cuEventCreate");
  }

  Error destroyEvent(void *event) override {
    return check(driver.cuEventDestroy(event), "cuEventDestroy");
  }

  Error recordEvent(void *event, void *stream) override {
    return check(driver.cuEventRecord(event, stream), "cuEventRecord");
  }

  Error synchronizeEvent(void *event) override {
    return check(driver.cuEventSynchronize(event), "cuEventSynchronize");
  }

private:
  /// "CUDA_ERROR_NAME (description)".
  std::string describe(CUresult result) const {
    const char *name = nullptr, *text = nullptr;
    if (driver.cuGetErrorName(result, &name) != 0 || !name)
      return "CUDA error " + std::to_string(result);
    std::string detail = name;
    if (driver.cuGetErrorString(result, &text) == 0 && text)
      detail += std::string(" (") + text + ")";
    return detail;
  }

  Error check(CUresult result, const char *call) const {
    if (result == 0)
      return {};
    return Error(result, call, describe(result));
  }

  /// Opts `function` in to `bytes` of dynamic shared memory, once per
  /// function and size. Without it a kernel may use 48 KB of shared memory
  /// in all, its static shared memory included (a kernel with 48 KB of
  /// dynamic shared memory fails to launch on an H200 without it); the
  /// staged tensor-core kernel takes more.
  Error allowSharedMemory(void *function, uint32_t bytes) {
    std::lock_guard<std::mutex> lock(mutex);
    uint32_t &allowed = sharedMemoryAllowed[function];
    if (allowed >= bytes)
      return {};
    if (Error error = check(
            driver.cuFuncSetAttribute(
                function, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                int(bytes)),
            "cuFuncSetAttribute"))
      return error;
    allowed = bytes;
    return {};
  }

  static Error noDevice(std::string why) {
    return Error(kRuntimeError, "", "no CUDA device: " + why,
                 Error::Kind::NoDevice);
  }

  Driver driver;
  std::mutex mutex;
  /// The primary context retained for threads without a current context;
  /// never released.
  CUcontext primary = nullptr;
  /// The dynamic shared memory each function was opted in to.
  std::unordered_map<void *, uint32_t> sharedMemoryAllowed;
};

} // namespace

std::unique_ptr<Backend> tesa::rt::createCUDABackend() {
  return std::make_unique<CUDABackend>();
}
