//===- CUDADriverAPI.h - The CUDA driver API tesa uses ----------*- C++ -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// Types, constants and entry points of the CUDA driver API as documented in
// cuda.h (CUDA 12), declared here so that nothing needs CUDA's headers: the
// CUDA backend loads the entry points from libcuda.so.1, and the fault
// injection test's stand-in driver forwards them.
//
//===----------------------------------------------------------------------===//

#ifndef TESA_LIB_RUNTIME_CUDADRIVERAPI_H
#define TESA_LIB_RUNTIME_CUDADRIVERAPI_H

#include <cstddef>

namespace tesa::rt::cuda {

using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = void *;
using CUmodule = void *;
using CUfunction = void *;
using CUstream = void *;
using CUevent = void *;
using CUjit_option = int;
using CUfunction_attribute = int;

constexpr CUresult CUDA_ERROR_OUT_OF_MEMORY = 2;
constexpr CUresult CUDA_ERROR_STUB_LIBRARY = 34;
constexpr CUresult CUDA_ERROR_NO_DEVICE = 100;
constexpr CUresult CUDA_ERROR_INVALID_DEVICE = 101;
constexpr unsigned CU_STREAM_NON_BLOCKING = 1;
constexpr unsigned CU_EVENT_DISABLE_TIMING = 2;
constexpr CUjit_option CU_JIT_ERROR_LOG_BUFFER = 5;
constexpr CUjit_option CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6;
constexpr CUjit_option CU_JIT_OPTIMIZATION_LEVEL = 7;
constexpr CUfunction_attribute CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES =
    8;
constexpr int CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION = 4;
constexpr int CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION = 6;
/// cuTensorMapEncodeTiled's enumerations (CUtensorMapDataType,
/// CUtensorMapInterleave, CUtensorMapL2promotion, CUtensorMapFloatOOBfill;
/// CUtensorMapSwizzle is 0-3 for none, 32, 64 and 128 bytes). Out of bounds
/// elements without a fill read as zeros.
constexpr int CU_TENSOR_MAP_DATA_TYPE_FLOAT16 = 6;
constexpr int CU_TENSOR_MAP_INTERLEAVE_NONE = 0;
constexpr int CU_TENSOR_MAP_L2_PROMOTION_L2_128B = 2;
constexpr int CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE = 0;

/// CUlaunchAttribute: an attribute id, then its value (a 64-byte union) at
/// offset 8.
struct CUlaunchAttribute {
  int id;
  char pad[8 - sizeof(int)];
  union {
    char bytes[64];
    int programmaticStreamSerializationAllowed;
    struct {
      unsigned x, y, z;
    } clusterDim;
  } value;
};

/// CUlaunchConfig, the first argument of cuLaunchKernelEx.
struct CUlaunchConfig {
  unsigned gridDimX, gridDimY, gridDimZ;
  unsigned blockDimX, blockDimY, blockDimZ;
  unsigned sharedMemBytes;
  CUstream hStream;
  CUlaunchAttribute *attrs;
  unsigned numAttrs;
};

/// The driver entry points, with the signatures documented in cuda.h. The
/// symbol loaded for each is its versioned name where cuda.h maps the API
/// name to one (cuMemAlloc -> cuMemAlloc_v2).
#define TESA_CUDA_FUNCTIONS(X)                                                 \
  X(cuInit, "cuInit", unsigned)                                                \
  X(cuDeviceGetCount, "cuDeviceGetCount", int *)                               \
  X(cuDeviceGet, "cuDeviceGet", CUdevice *, int)                               \
  X(cuDeviceGetName, "cuDeviceGetName", char *, int, CUdevice)                 \
  X(cuCtxGetCurrent, "cuCtxGetCurrent", CUcontext *)                           \
  X(cuCtxSetCurrent, "cuCtxSetCurrent", CUcontext)                             \
  X(cuCtxGetDevice, "cuCtxGetDevice", CUdevice *)                              \
  X(cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain", CUcontext *,         \
    CUdevice)                                                                  \
  X(cuModuleLoadData, "cuModuleLoadData", CUmodule *, const void *)            \
  X(cuModuleLoadDataEx, "cuModuleLoadDataEx", CUmodule *, const void *,        \
    unsigned, CUjit_option *, void **)                                         \
  X(cuModuleUnload, "cuModuleUnload", CUmodule)                                \
  X(cuModuleGetFunction, "cuModuleGetFunction", CUfunction *, CUmodule,        \
    const char *)                                                              \
  X(cuFuncSetAttribute, "cuFuncSetAttribute", CUfunction,                      \
    CUfunction_attribute, int)                                                 \
  X(cuLaunchKernel, "cuLaunchKernel", CUfunction, unsigned, unsigned,          \
    unsigned, unsigned, unsigned, unsigned, unsigned, CUstream, void **,       \
    void **)                                                                   \
  X(cuMemAlloc, "cuMemAlloc_v2", CUdeviceptr *, size_t)                        \
  X(cuMemFree, "cuMemFree_v2", CUdeviceptr)                                    \
  X(cuMemGetAddressRange, "cuMemGetAddressRange_v2", CUdeviceptr *, size_t *,  \
    CUdeviceptr)                                                               \
  X(cuMemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2", CUdeviceptr, const void *,      \
    size_t, CUstream)                                                          \
  X(cuMemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2", void *, CUdeviceptr, size_t,    \
    CUstream)                                                                  \
  X(cuMemcpyDtoDAsync, "cuMemcpyDtoDAsync_v2", CUdeviceptr, CUdeviceptr,       \
    size_t, CUstream)                                                          \
  X(cuMemcpyAsync, "cuMemcpyAsync", CUdeviceptr, CUdeviceptr, size_t,          \
    CUstream)                                                                  \
  X(cuMemsetD32Async, "cuMemsetD32Async", CUdeviceptr, unsigned, size_t,       \
    CUstream)                                                                  \
  X(cuMemsetD16Async, "cuMemsetD16Async", CUdeviceptr, unsigned short, size_t, \
    CUstream)                                                                  \
  X(cuStreamCreate, "cuStreamCreate", CUstream *, unsigned)                    \
  X(cuStreamDestroy, "cuStreamDestroy_v2", CUstream)                           \
  X(cuStreamSynchronize, "cuStreamSynchronize", CUstream)                      \
  X(cuStreamWaitEvent, "cuStreamWaitEvent", CUstream, CUevent, unsigned)       \
  X(cuEventCreate, "cuEventCreate", CUevent *, unsigned)                       \
  X(cuEventDestroy, "cuEventDestroy_v2", CUevent)                              \
  X(cuEventRecord, "cuEventRecord", CUevent, CUstream)                         \
  X(cuEventSynchronize, "cuEventSynchronize", CUevent)                         \
  X(cuGetErrorName, "cuGetErrorName", CUresult, const char **)                 \
  X(cuGetErrorString, "cuGetErrorString", CUresult, const char **)

} // namespace tesa::rt::cuda

#endif // TESA_LIB_RUNTIME_CUDADRIVERAPI_H
