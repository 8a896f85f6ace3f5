/*===- Runtime.h - tesa's GPU runtime, C API ----------------------*- C -*-===*\
|*                                                                            *|
|* Part of the tesa project.                                                  *|
|*                                                                            *|
|*===----------------------------------------------------------------------===*|
|*                                                                            *|
|* libtesa_runtime runs the code that `tesa-compile` produces. It has no      *|
|* link-time dependency on CUDA, HIP, MLIR or LLVM: the CUDA backend loads    *|
|* libcuda.so.1 (driver API) and the HIP backend libamdhip64.so with dlopen   *|
|* on first use, so the library builds and runs on machines without a GPU and *|
|* answers "no CUDA device" / "no HIP device" there.                          *|
|*                                                                            *|
|* Every function returns 0 on success and a nonzero status on failure; the   *|
|* failure's message is then available from tesa_rt_last_error() on the same  *|
|* thread. No function aborts the process.                                    *|
|*                                                                            *|
|* Generated host code calls the `mgpu*` functions declared at the end (the   *|
|* ABI of MLIR's gpu-to-llvm lowering). Inside a call bracketed by            *|
|* tesa_rt_begin_call / tesa_rt_end_call they run on the caller's stream:     *|
|* stream creation returns that stream and stream synchronisation is a no-op, *|
|* because generated host code never reads device memory. Device buffers come *|
|* from a per-stream caching pool and kernel modules are loaded once, so a    *|
|* call in the steady state neither allocates, synchronises nor loads.        *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef TESA_RUNTIME_RUNTIME_H
#define TESA_RUNTIME_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define TESA_RT_EXPORT __attribute__((visibility("default")))
#else
#define TESA_RT_EXPORT
#endif

/// The GPU programming interface a library was compiled for.
typedef enum tesa_rt_backend {
  TESA_RT_BACKEND_CUDA = 1, ///< NVIDIA, driver API (libcuda.so.1).
  TESA_RT_BACKEND_HIP = 2,  ///< AMD, HIP (libamdhip64.so).
} tesa_rt_backend;

/// A CUstream or hipStream_t; NULL is the backend's default stream.
typedef void *tesa_rt_stream;

/// Loads the backend's driver library, initialises it and makes a context
/// current on the calling thread: the thread's current context if it has one
/// (so PyTorch's and CuPy's memory is usable), else the primary context of
/// device TESA_DEVICE (environment, default 0). Idempotent and thread-safe.
TESA_RT_EXPORT int tesa_rt_init(tesa_rt_backend backend);

/// The message of the last failure on this thread ("" if none).
TESA_RT_EXPORT const char *tesa_rt_last_error(void);

/// Number of devices of `backend` (0, and status 0, when its driver library
/// is missing or reports no device).
TESA_RT_EXPORT int tesa_rt_device_count(tesa_rt_backend backend, int *count);

/// The name of the device in use, e.g. "NVIDIA H100 80GB HBM3".
TESA_RT_EXPORT int tesa_rt_device_name(char *name, size_t capacity);

/// Device memory outside the pool (for callers' inputs and outputs).
TESA_RT_EXPORT int tesa_rt_malloc(size_t bytes, void **device_ptr);
TESA_RT_EXPORT int tesa_rt_free(void *device_ptr);

/// Copies on `stream`, asynchronous with respect to the host for device to
/// device; host to device and device to host complete before returning.
TESA_RT_EXPORT int tesa_rt_memcpy_htod(void *dst, const void *src,
                                       size_t bytes, tesa_rt_stream stream);
TESA_RT_EXPORT int tesa_rt_memcpy_dtoh(void *dst, const void *src,
                                       size_t bytes, tesa_rt_stream stream);
TESA_RT_EXPORT int tesa_rt_memcpy_dtod(void *dst, const void *src,
                                       size_t bytes, tesa_rt_stream stream);

/// Waits for all work queued on `stream`; reports asynchronous failures
/// (for example a launch that faulted) as an error.
TESA_RT_EXPORT int tesa_rt_synchronize(tesa_rt_stream stream);

/// Brackets one call of generated code on `stream` on this thread: clears the
/// thread's error state and binds the stream. tesa_rt_end_call unbinds it and
/// returns the status of the first failure inside the call (its message stays
/// in tesa_rt_last_error()). Calls do not nest.
TESA_RT_EXPORT int tesa_rt_begin_call(tesa_rt_backend backend,
                                      tesa_rt_stream stream);
TESA_RT_EXPORT int tesa_rt_end_call(void);

/// Checks, inside a call, one buffer an entry point was given: `pointer`
/// must not be NULL (unless `bytes` is 0) and must be aligned to 16 bytes.
/// With TESA_CHECK_BUFFERS=1 (environment, read once) it must also be device
/// memory whose driver allocation holds `bytes` from `pointer` (a
/// cuMemGetAddressRange per buffer: off by default; a pooling allocator's
/// block is larger than the tensor carved from it, so this finds only
/// buffers beyond the block). `what` names the buffer in the message, e.g.
/// "mlp: arg1 (256x512 float32)". Records the failure in the call and
/// returns its status; generated entry points call it for every buffer
/// before launching anything.
TESA_RT_EXPORT int tesa_rt_check_buffer(const void *pointer, uint64_t bytes,
                                        const char *what);

/// Counters for tests and benchmarks: driver-level allocations, module loads
/// and stream synchronisations performed since the process started.
typedef struct tesa_rt_counters {
  uint64_t device_allocations;
  uint64_t module_loads;
  uint64_t synchronisations;
  uint64_t launches;
} tesa_rt_counters;
TESA_RT_EXPORT int tesa_rt_get_counters(tesa_rt_counters *counters);

/*===-- ABI of MLIR's gpu-to-llvm lowering, called by generated code -----===*/
/* Failures are recorded in the thread's error state (see above); functions  */
/* returning a handle return NULL then and later calls that get NULL do      */
/* nothing.                                                                  */

TESA_RT_EXPORT void *mgpuModuleLoad(void *data, size_t size);
TESA_RT_EXPORT void *mgpuModuleLoadJIT(void *ptx, int optLevel);
TESA_RT_EXPORT void mgpuModuleUnload(void *module);
TESA_RT_EXPORT void *mgpuModuleGetFunction(void *module, const char *name);
TESA_RT_EXPORT void mgpuLaunchKernel(void *function, intptr_t gridX,
                                     intptr_t gridY, intptr_t gridZ,
                                     intptr_t blockX, intptr_t blockY,
                                     intptr_t blockZ, int32_t smem,
                                     void *stream, void **params,
                                     void **extra, size_t paramsCount);
/* As mgpuLaunchKernel, the blocks in clusters of clusterX x clusterY x     */
/* clusterZ (sm_90 thread block clusters; other backends fail).             */
TESA_RT_EXPORT void
mgpuLaunchClusterKernel(void *function, intptr_t clusterX, intptr_t clusterY,
                        intptr_t clusterZ, intptr_t gridX, intptr_t gridY,
                        intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                        intptr_t blockZ, int32_t smem, void *stream,
                        void **params, void **extra, size_t paramsCount);
TESA_RT_EXPORT void *mgpuStreamCreate(void);
TESA_RT_EXPORT void mgpuStreamDestroy(void *stream);
TESA_RT_EXPORT void mgpuStreamSynchronize(void *stream);
TESA_RT_EXPORT void mgpuStreamWaitEvent(void *stream, void *event);
TESA_RT_EXPORT void *mgpuEventCreate(void);
TESA_RT_EXPORT void mgpuEventDestroy(void *event);
TESA_RT_EXPORT void mgpuEventSynchronize(void *event);
TESA_RT_EXPORT void mgpuEventRecord(void *event, void *stream);
TESA_RT_EXPORT void *mgpuMemAlloc(uint64_t bytes, void *stream,
                                  int8_t isHostShared);
TESA_RT_EXPORT void mgpuMemFree(void *ptr, void *stream);
TESA_RT_EXPORT void mgpuMemcpy(void *dst, void *src, size_t bytes,
                               void *stream);
TESA_RT_EXPORT void mgpuMemset32(void *dst, uint32_t value, size_t count,
                                 void *stream);
TESA_RT_EXPORT void mgpuMemset16(void *dst, uint16_t value, size_t count,
                                 void *stream);

/// The device global (any type) whose presence in a kernel module says that
/// every kernel of the module waits for the previous kernel of its stream
/// (`griddepcontrol.wait`) before it touches memory. The runtime launches
/// the kernels of such a module with programmatic stream serialisation
/// (sm_90+, CUDA 12 drivers), so that each may start while its predecessor
/// finishes; TESA_PROGRAMMATIC_LAUNCH=0 (environment) turns that off.
/// `--tesa-programmatic-launch` emits it.
#define TESA_RT_PROGRAMMATIC_LAUNCH_SYMBOL "__tesa_programmatic_launch"

/// tesa's addition to the ABI: the device copy of a constant in host memory
/// (a weight compiled into the library), uploaded on first use and cached
/// for the life of the process.
TESA_RT_EXPORT void *mgpuTesaDeviceConstant(const void *host, uint64_t bytes);

/// tesa's addition to the ABI: encodes into `map` (128 bytes, 64-byte
/// aligned) the TMA tensor map of a 2-D f16 tensor at device address
/// `global`, `inner` elements along its contiguous dimension by `outer`
/// rows `outerStrideBytes` apart, read in boxes of `boxInner` x `boxOuter`
/// elements with swizzle `swizzle` (0: none, 1: 32, 2: 64, 3: 128 bytes);
/// elements outside the tensor read as zeros. A kernel that loads tiles by
/// TMA receives the map by value. Each distinct map is encoded once and
/// kept (until the runtime resets). On failure the call's error is
/// recorded and its launches are skipped.
TESA_RT_EXPORT void mgpuTesaEncodeTensorMap2D(void *map, void *global,
                                              int64_t inner, int64_t outer,
                                              int64_t outerStrideBytes,
                                              int32_t boxInner,
                                              int32_t boxOuter,
                                              int32_t swizzle);

#ifdef __cplusplus
}
#endif

#endif /* TESA_RUNTIME_RUNTIME_H */
