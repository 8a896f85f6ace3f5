//===- RuntimeState.h - State shared by the C API and mgpu ABI --*- C++ -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// Process-wide state (backends, modules, pool, device constants, counters)
// lives in one object that is created on first use and never destroyed, so
// that functions called from global destructors at exit still find it. The
// error state is per thread and trivially destructible for the same reason.
//
//===----------------------------------------------------------------------===//

#ifndef TESA_LIB_RUNTIME_RUNTIMESTATE_H
#define TESA_LIB_RUNTIME_RUNTIMESTATE_H

#include "Backend.h"
#include "MemoryPool.h"

#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace tesa::rt {

struct Module;

/// A kernel of a loaded module, as handed to generated code.
struct Function {
  Module *module;
  /// The name pointer generated code passed (a constant of its library).
  const char *key;
  std::string name;
  void *handle;
};

/// A module registered by mgpuModuleLoad or mgpuModuleLoadJIT. Generated
/// libraries register their modules from global constructors, maybe on a
/// machine without GPU, so the backend loads a module only when the first
/// of its functions is asked for.
struct Module {
  const void *data;
  size_t size;
  bool isPTX;
  int optLevel;

  /// Guards what follows.
  std::mutex mutex;
  /// The backend that loaded `handle`; both null until loaded.
  Backend *loadedBy = nullptr;
  void *handle = nullptr;
  /// Whether its kernels are launched with programmatic stream
  /// serialisation (TESA_RT_PROGRAMMATIC_LAUNCH_SYMBOL; set when loaded).
  bool programmaticLaunch = false;
  std::vector<std::unique_ptr<Function>> functions;

  Module(const void *data, size_t size, bool isPTX, int optLevel)
      : data(data), size(size), isPTX(isPTX), optLevel(optLevel) {}
};

/// A weight uploaded by mgpuTesaDeviceConstant.
struct DeviceConstant {
  size_t bytes;
  void *devicePtr;
};

struct State {
  /// The backend of one kind and the outcome of its initialisation.
  struct Slot {
    std::unique_ptr<Backend> backend;
    bool initialized = false;
    Error error;
  };

  /// Guards slots, modules and constants.
  std::mutex mutex;
  Slot slots[2];
  /// The backend of the process, fixed by the first successful tesa_rt_init
  /// or tesa_rt_begin_call.
  std::atomic<Backend *> active{nullptr};
  /// Set by an atexit handler: the driver may be torn down already.
  std::atomic<bool> exiting{false};
  bool exitHandlerRegistered = false;
  std::unordered_set<Module *> modules;
  std::unordered_map<const void *, DeviceConstant> constants;
  /// Tensor maps encoded by mgpuTesaEncodeTensorMap2D, by their arguments
  /// (the tensor's address, its shape and stride, the box and the swizzle).
  std::map<std::array<uint64_t, 7>, std::array<unsigned char, 128>>
      tensorMaps;
  MemoryPool pool;
  Counters counters;

  State();
};

/// The process's state, created on first use and never destroyed.
State &state();

/// Initialises the backend of `kind` (once), makes it the process's backend
/// and makes a context current on the calling thread.
Error activate(tesa_rt_backend kind);

/// The process's backend; nullptr if there is none, after recording (as a
/// consequence, see recordConsequence) that `caller` ran before
/// initialisation.
Backend *activeBackend(const char *caller);

//===----------------------------------------------------------------------===//
// Per-thread error state
//===----------------------------------------------------------------------===//

/// Records a failure: inside a call only the first one is kept, outside a
/// call the last one. A zero `status` is recorded as kRuntimeError.
void recordError(int status, const std::string &message);
inline void recordError(const Error &error) {
  recordError(error.code, error.message());
}
/// Records `message` unless a failure is already recorded: for functions
/// given a NULL handle, which an earlier failure usually explains.
void recordConsequence(const char *message);
/// The stream bound by tesa_rt_begin_call, and whether a call is under way.
bool inCall();
/// Whether a call is under way and has failed: generated code then issues no
/// more work (its buffers may be missing, and a kernel given a NULL buffer
/// would lose the context for every later call).
bool callFailed();
void *boundStream();

} // namespace tesa::rt

#endif // TESA_LIB_RUNTIME_RUNTIMESTATE_H
