//===- Backend.h - The driver interface under tesa's runtime ----*- C++ -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// The runtime (Runtime.cpp, MgpuWrappers.cpp) talks to the GPU only through
// `Backend`, implemented over the CUDA driver API (CUDABackend.cpp) and HIP
// (HIPBackend.cpp), both loaded with dlopen. Handles (modules, functions,
// streams, events, device pointers) are the driver's own, passed as void *.
// Unit tests install a fake backend with setBackendForTesting.
//
//===----------------------------------------------------------------------===//

#ifndef TESA_LIB_RUNTIME_BACKEND_H
#define TESA_LIB_RUNTIME_BACKEND_H

#include "tesa/Runtime/Runtime.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace tesa::rt {

/// Status of failures that have no driver status of their own (runtime
/// misuse, a missing driver library).
constexpr int kRuntimeError = -1;

/// The outcome of a backend operation. A default-constructed Error is
/// success and costs no allocation.
struct Error {
  enum class Kind {
    Failure,     ///< Any failure.
    NoDevice,    ///< Driver library missing or no device present.
    OutOfMemory, ///< The driver could not allocate device memory.
  };

  /// The driver's status (CUresult, hipError_t), kRuntimeError if none; 0
  /// means success.
  int code = 0;
  Kind kind = Kind::Failure;
  /// The driver function that failed, e.g. "cuModuleLoadData".
  const char *call = "";
  /// The driver's description, e.g. "CUDA_ERROR_INVALID_IMAGE (device kernel
  /// image is invalid)".
  std::string detail;

  Error() = default;
  Error(int code, const char *call, std::string detail,
        Kind kind = Kind::Failure)
      : code(code), kind(kind), call(call), detail(std::move(detail)) {}

  explicit operator bool() const { return code != 0; }
  /// "<call> failed: <detail>", or just the detail where there is no call.
  std::string message() const;
};

/// What the runtime counts of the work it asks of backends (see
/// tesa_rt_counters).
struct Counters {
  std::atomic<uint64_t> deviceAllocations{0};
  std::atomic<uint64_t> moduleLoads{0};
  std::atomic<uint64_t> synchronisations{0};
  std::atomic<uint64_t> launches{0};
};

/// One GPU programming interface. Methods are thread-safe once initialize()
/// has succeeded; none of them aborts.
class Backend {
public:
  virtual ~Backend();

  virtual tesa_rt_backend kind() const = 0;
  /// "CUDA" or "HIP".
  const char *name() const;

  /// Loads the driver library and initialises the driver. Called once; a
  /// failure to find the library or a device is Kind::NoDevice with a detail
  /// starting "no CUDA device: " / "no HIP device: ".
  virtual Error initialize() = 0;
  /// Number of devices; only called after initialize() succeeded.
  virtual Error deviceCount(int &count) = 0;
  /// Makes a context current on the calling thread if it has none: the
  /// primary context of device TESA_DEVICE (default 0).
  virtual Error ensureContext() = 0;
  /// The name of the current context's device.
  virtual Error deviceName(char *name, size_t capacity) = 0;

  /// A module from a device binary (cubin, fatbin, HSA code object).
  virtual Error loadModule(const void *data, size_t size, void *&module) = 0;
  /// A module JIT-compiled from NUL-terminated PTX text.
  virtual Error loadModuleFromPTX(const char *ptx, int optLevel,
                                  void *&module) = 0;
  virtual Error unloadModule(void *module) = 0;
  virtual Error getFunction(void *module, const char *name,
                            void *&function) = 0;
  /// Launches `function`, its blocks in clusters of `cluster` blocks (1, 1,
  /// 1: none; a backend without thread block clusters fails for others);
  /// `programmatic`: with programmatic stream serialisation, so that it may
  /// start before the previous kernel of `stream` has finished (a backend
  /// without it launches normally).
  virtual Error launch(void *function, const uint32_t grid[3],
                       const uint32_t block[3], const uint32_t cluster[3],
                       uint32_t sharedMemory, void *stream, void **params,
                       void **extra, bool programmatic) = 0;

  /// Encodes the TMA tensor map of a 2-D f16 tensor (see
  /// mgpuTesaEncodeTensorMap2D) into `map`; backends without TMA fail.
  virtual Error encodeTensorMap2D(void *map, void *global, uint64_t inner,
                                  uint64_t outer, uint64_t outerStrideBytes,
                                  uint32_t boxInner, uint32_t boxOuter,
                                  int swizzle);

  virtual Error allocate(size_t bytes, void *&devicePtr) = 0;
  virtual Error free(void *devicePtr) = 0;
  /// The driver allocation that holds `devicePtr`: its first address and
  /// size. An error when `devicePtr` is not device memory of the context.
  virtual Error allocationRange(const void *devicePtr, uintptr_t &base,
                                size_t &size) = 0;
  /// Asynchronous copies on `stream`.
  virtual Error copyHostToDevice(void *dst, const void *src, size_t bytes,
                                 void *stream) = 0;
  virtual Error copyDeviceToHost(void *dst, const void *src, size_t bytes,
                                 void *stream) = 0;
  virtual Error copyDeviceToDevice(void *dst, const void *src, size_t bytes,
                                   void *stream) = 0;
  /// A copy in any direction, by unified addressing.
  virtual Error copy(void *dst, const void *src, size_t bytes,
                     void *stream) = 0;
  virtual Error memset32(void *dst, uint32_t value, size_t count,
                         void *stream) = 0;
  virtual Error memset16(void *dst, uint16_t value, size_t count,
                         void *stream) = 0;

  virtual Error createStream(void *&stream) = 0;
  virtual Error destroyStream(void *stream) = 0;
  virtual Error synchronizeStream(void *stream) = 0;
  virtual Error streamWaitEvent(void *stream, void *event) = 0;
  virtual Error createEvent(void *&event) = 0;
  virtual Error destroyEvent(void *event) = 0;
  virtual Error recordEvent(void *event, void *stream) = 0;
  virtual Error synchronizeEvent(void *event) = 0;
};

std::unique_ptr<Backend> createCUDABackend();
std::unique_ptr<Backend> createHIPBackend();

/// Replaces the backend of `backend->kind()` and resets the runtime: no
/// backend active, no module loaded, pool and device constants forgotten
/// (not freed), the calling thread's error state cleared and its call ended.
/// Counters keep counting. For unit tests only; no other thread may use the
/// runtime meanwhile.
void setBackendForTesting(std::unique_ptr<Backend> backend);
/// Reinstates the real CUDA and HIP backends and resets as above.
void resetBackendsForTesting();

//===----------------------------------------------------------------------===//
// Helpers for the dlopen-based backends
//===----------------------------------------------------------------------===//

/// dlopen's the first of `names` (a nullptr-terminated list) that loads, with
/// RTLD_NOW | RTLD_LOCAL; never dlclose'd. On failure returns nullptr and the
/// first dlerror() text in `error`.
void *openLibrary(const char *const *names, std::string &error);
/// dlsym, as a function pointer of type `Fn`.
void *lookupSymbol(void *library, const char *name);
template <typename Fn>
bool loadSymbol(void *library, const char *name, Fn &fn) {
  fn = reinterpret_cast<Fn>(lookupSymbol(library, name));
  return fn != nullptr;
}

/// The device selected by TESA_DEVICE (default 0); false with a message if
/// the variable is not a non-negative number.
bool selectedDevice(int &device, std::string &error);

} // namespace tesa::rt

#endif // TESA_LIB_RUNTIME_BACKEND_H
