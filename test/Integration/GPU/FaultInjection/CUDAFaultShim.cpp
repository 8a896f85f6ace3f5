//===- CUDAFaultShim.cpp - A libcuda.so.1 that fails on request -----------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// A stand-in for the CUDA driver, for the fault injection test: built as
// libcuda.so.1 in a directory of its own, it is what the runtime's
// dlopen("libcuda.so.1") finds when that directory comes first in
// LD_LIBRARY_PATH. Every entry point the runtime uses is forwarded to the
// real driver (TESA_REAL_LIBCUDA, an absolute path), except calls that
// tesa_fault_inject armed, which fail with the CUresult it was given.
//
//===----------------------------------------------------------------------===//

#include "CUDADriverAPI.h"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>
#include <string>
#include <unordered_map>

using namespace tesa::rt::cuda;

namespace {

/// Calls of one entry point that are to fail: after `skip` calls that go
/// through, the next `count` return `error`.
struct Fault {
  int skip = 0;
  int count = 0;
  CUresult error = 0;
};

std::mutex faultMutex;

std::unordered_map<std::string, Fault> &getFaults() {
  static auto *faults = new std::unordered_map<std::string, Fault>;
  return *faults;
}

/// The error the current call of `symbol` is to return, or 0.
CUresult takeFault(const char *symbol) {
  std::lock_guard<std::mutex> lock(faultMutex);
  auto found = getFaults().find(symbol);
  if (found == getFaults().end() || found->second.count == 0)
    return 0;
  Fault &fault = found->second;
  if (fault.skip > 0) {
    --fault.skip;
    return 0;
  }
  --fault.count;
  return fault.error;
}

void *getRealDriver() {
  static void *handle = [] {
    const char *path = std::getenv("TESA_REAL_LIBCUDA");
    return path && *path ? dlopen(path, RTLD_NOW | RTLD_LOCAL) : nullptr;
  }();
  return handle;
}

template <typename... Args> CUresult forward(const char *symbol, Args... args) {
  if (CUresult error = takeFault(symbol))
    return error;
  void *handle = getRealDriver();
  void *function = handle ? dlsym(handle, symbol) : nullptr;
  if (!function)
    return CUDA_ERROR_STUB_LIBRARY;
  return reinterpret_cast<CUresult (*)(Args...)>(function)(args...);
}

} // namespace

/// Arms `symbol` (the driver symbol, e.g. "cuMemAlloc_v2"): after `skip`
/// more calls, `count` calls return `error`. A count of 0 disarms it.
extern "C" __attribute__((visibility("default"))) void
tesa_fault_inject(const char *symbol, int skip, int count, int error) {
  std::lock_guard<std::mutex> lock(faultMutex);
  getFaults()[symbol] = Fault{skip, count, error};
}

// Parameter lists with names, for the arities of TESA_CUDA_FUNCTIONS.
#define TESA_COUNT(...)                                                        \
  TESA_COUNT_(__VA_ARGS__, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1)
#define TESA_COUNT_(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, n, ...) n
#define TESA_CAT(a, b) TESA_CAT_(a, b)
#define TESA_CAT_(a, b) a##b
#define TESA_PARAMS_1(A) A a
#define TESA_PARAMS_2(A, B) A a, B b
#define TESA_PARAMS_3(A, B, C) A a, B b, C c
#define TESA_PARAMS_4(A, B, C, D) A a, B b, C c, D d
#define TESA_PARAMS_5(A, B, C, D, E) A a, B b, C c, D d, E e
#define TESA_PARAMS_11(A, B, C, D, E, F, G, H, I, J, K)                        \
  A a, B b, C c, D d, E e, F f, G g, H h, I i, J j, K k
#define TESA_ARGS_1 a
#define TESA_ARGS_2 a, b
#define TESA_ARGS_3 a, b, c
#define TESA_ARGS_4 a, b, c, d
#define TESA_ARGS_5 a, b, c, d, e
#define TESA_ARGS_11 a, b, c, d, e, f, g, h, i, j, k
#define TESA_PARAMS(...)                                                       \
  TESA_CAT(TESA_PARAMS_, TESA_COUNT(__VA_ARGS__))(__VA_ARGS__)
#define TESA_ARGS(...) TESA_CAT(TESA_ARGS_, TESA_COUNT(__VA_ARGS__))

#define TESA_FORWARD(field, symbol, ...)                                       \
  extern "C" __attribute__((visibility("default")))                            \
  CUresult field(TESA_PARAMS(__VA_ARGS__)) __asm__(symbol);                    \
  CUresult field(TESA_PARAMS(__VA_ARGS__)) {                                   \
    return forward(symbol, TESA_ARGS(__VA_ARGS__));                            \
  }
TESA_CUDA_FUNCTIONS(TESA_FORWARD)
TESA_FORWARD(cuLaunchKernelEx, "cuLaunchKernelEx", const CUlaunchConfig *,
             CUfunction, void **, void **)
#undef TESA_FORWARD
