//===- Runtime.cpp - tesa's GPU runtime, C API ----------------------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// The tesa_rt_* functions of tesa/Runtime/Runtime.h, the process and thread
// state they share with the mgpu* ABI (MgpuWrappers.cpp), and the hooks that
// let unit tests replace a backend.
//
//===----------------------------------------------------------------------===//

#include "RuntimeState.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

using namespace tesa::rt;

//===----------------------------------------------------------------------===//
// State
//===----------------------------------------------------------------------===//

namespace {

/// One thread's error state and call. Trivially destructible, so that it
/// stays usable in functions that run at thread or process exit.
struct ThreadState {
  int status;
  bool inCall;
  void *stream;
  char message[1024];
};
thread_local ThreadState threadState;

const char *const kNotInitialised =
    ": the tesa runtime is not initialised (call tesa_rt_init or "
    "tesa_rt_begin_call first)";

State::Slot *slotOf(State &s, tesa_rt_backend kind) {
  if (kind == TESA_RT_BACKEND_CUDA)
    return &s.slots[0];
  if (kind == TESA_RT_BACKEND_HIP)
    return &s.slots[1];
  return nullptr;
}

/// Initialises the backend of `kind` once; `s.mutex` must be held.
Error initializeLocked(State &s, tesa_rt_backend kind, Backend *&backend) {
  State::Slot *slot = slotOf(s, kind);
  if (!slot)
    return Error(kRuntimeError, "",
                 "unknown tesa_rt_backend " + std::to_string(int(kind)));
  backend = slot->backend.get();
  if (!slot->initialized) {
    slot->initialized = true;
    slot->error = backend->initialize();
    if (!slot->error && !s.exitHandlerRegistered) {
      s.exitHandlerRegistered = true;
      std::atexit(+[] { state().exiting.store(true); });
    }
  }
  return slot->error;
}

/// Forgets everything that refers to a backend's objects, and the calling
/// thread's error state and call.
void resetLocked(State &s) {
  threadState = ThreadState();
  for (Module *module : s.modules) {
    std::lock_guard<std::mutex> lock(module->mutex);
    module->loadedBy = nullptr;
    module->handle = nullptr;
    module->functions.clear();
  }
  s.constants.clear();
  s.tensorMaps.clear();
  s.pool.forget();
  s.active.store(nullptr);
}

/// The process's backend for C API function `caller`, which reports its
/// own misuse even after an earlier failure (unlike activeBackend).
Backend *backendFor(const char *caller) {
  Backend *backend = state().active.load(std::memory_order_acquire);
  if (!backend)
    recordError(kRuntimeError, caller + std::string(kNotInitialised));
  return backend;
}

int fail(const Error &error) {
  recordError(error);
  return threadState.status;
}

int fail(const std::string &message) {
  recordError(kRuntimeError, message);
  return threadState.status;
}

} // namespace

State::State() {
  slots[0].backend = createCUDABackend();
  slots[1].backend = createHIPBackend();
}

State &tesa::rt::state() {
  static State *instance = new State;
  return *instance;
}

Error tesa::rt::activate(tesa_rt_backend kind) {
  State &s = state();
  Backend *active = s.active.load(std::memory_order_acquire);
  if (!active) {
    std::lock_guard<std::mutex> lock(s.mutex);
    Backend *backend = nullptr;
    if (Error error = initializeLocked(s, kind, backend))
      return error;
    if (!s.active.load())
      s.active.store(backend, std::memory_order_release);
    active = s.active.load();
  }
  if (active->kind() != kind)
    return Error(kRuntimeError, "",
                 std::string("the tesa runtime already uses ") +
                     active->name() + "; a process cannot also use " +
                     (kind == TESA_RT_BACKEND_HIP ? "HIP" : "CUDA"));
  return active->ensureContext();
}

Backend *tesa::rt::activeBackend(const char *caller) {
  Backend *backend = state().active.load(std::memory_order_acquire);
  // Usually explained by a failed tesa_rt_init or tesa_rt_begin_call.
  if (!backend && threadState.status == 0)
    recordError(kRuntimeError, caller + std::string(kNotInitialised));
  return backend;
}

void tesa::rt::recordError(int status, const std::string &message) {
  ThreadState &t = threadState;
  if (t.inCall && t.status != 0)
    return;
  t.status = status ? status : kRuntimeError;
  size_t length = std::min(message.size(), sizeof(t.message) - 1);
  std::memcpy(t.message, message.data(), length);
  t.message[length] = 0;
}

void tesa::rt::recordConsequence(const char *message) {
  if (threadState.status == 0)
    recordError(kRuntimeError, message);
}

bool tesa::rt::inCall() { return threadState.inCall; }
bool tesa::rt::callFailed() {
  return threadState.inCall && threadState.status != 0;
}
void *tesa::rt::boundStream() { return threadState.stream; }

void tesa::rt::setBackendForTesting(std::unique_ptr<Backend> backend) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  resetLocked(s);
  State::Slot *slot = slotOf(s, backend->kind());
  *slot = State::Slot();
  slot->backend = std::move(backend);
}

void tesa::rt::resetBackendsForTesting() {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  resetLocked(s);
  s.slots[0] = State::Slot();
  s.slots[0].backend = createCUDABackend();
  s.slots[1] = State::Slot();
  s.slots[1].backend = createHIPBackend();
}

//===----------------------------------------------------------------------===//
// C API
//===----------------------------------------------------------------------===//

int tesa_rt_init(tesa_rt_backend backend) {
  if (Error error = activate(backend))
    return fail(error);
  return 0;
}

const char *tesa_rt_last_error(void) { return threadState.message; }

int tesa_rt_device_count(tesa_rt_backend kind, int *count) {
  if (!count)
    return fail("tesa_rt_device_count: count is NULL");
  *count = 0;
  State &s = state();
  Backend *backend = nullptr;
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    if (Error error = initializeLocked(s, kind, backend))
      return error.kind == Error::Kind::NoDevice ? 0 : fail(error);
  }
  if (Error error = backend->deviceCount(*count))
    return fail(error);
  return 0;
}

int tesa_rt_device_name(char *name, size_t capacity) {
  if (!name || capacity == 0)
    return fail("tesa_rt_device_name: no room for the name");
  name[0] = 0;
  Backend *backend = backendFor("tesa_rt_device_name");
  if (!backend)
    return threadState.status;
  if (Error error = backend->deviceName(name, capacity))
    return fail(error);
  name[capacity - 1] = 0;
  return 0;
}

int tesa_rt_malloc(size_t bytes, void **device_ptr) {
  if (!device_ptr)
    return fail("tesa_rt_malloc: device_ptr is NULL");
  *device_ptr = nullptr;
  Backend *backend = backendFor("tesa_rt_malloc");
  if (!backend)
    return threadState.status;
  Error error = backend->allocate(std::max<size_t>(bytes, 1), *device_ptr);
  if (error.kind == Error::Kind::OutOfMemory)
    return fail(Error(error.code, "",
                      "out of device memory allocating " +
                          std::to_string(bytes) + " bytes: " + error.detail));
  if (error)
    return fail(error);
  ++state().counters.deviceAllocations;
  return 0;
}

int tesa_rt_free(void *device_ptr) {
  if (!device_ptr)
    return 0;
  Backend *backend = backendFor("tesa_rt_free");
  if (!backend)
    return threadState.status;
  if (Error error = backend->free(device_ptr))
    return fail(error);
  return 0;
}

namespace {
/// A copy on `stream`, waited for if `wait`.
template <typename Copy>
int copy(const char *caller, void *dst, const void *src, size_t bytes,
         tesa_rt_stream stream, bool wait, Copy issue) {
  if (bytes == 0)
    return 0;
  if (!dst || !src)
    return fail(std::string(caller) + ": NULL pointer");
  Backend *backend = backendFor(caller);
  if (!backend)
    return threadState.status;
  if (Error error = issue(*backend))
    return fail(error);
  if (wait)
    return tesa_rt_synchronize(stream);
  return 0;
}
} // namespace

int tesa_rt_memcpy_htod(void *dst, const void *src, size_t bytes,
                        tesa_rt_stream stream) {
  return copy(
      "tesa_rt_memcpy_htod", dst, src, bytes, stream, true,
      [&](Backend &b) { return b.copyHostToDevice(dst, src, bytes, stream); });
}

int tesa_rt_memcpy_dtoh(void *dst, const void *src, size_t bytes,
                        tesa_rt_stream stream) {
  return copy(
      "tesa_rt_memcpy_dtoh", dst, src, bytes, stream, true,
      [&](Backend &b) { return b.copyDeviceToHost(dst, src, bytes, stream); });
}

int tesa_rt_memcpy_dtod(void *dst, const void *src, size_t bytes,
                        tesa_rt_stream stream) {
  return copy("tesa_rt_memcpy_dtod", dst, src, bytes, stream, false,
              [&](Backend &b) {
                return b.copyDeviceToDevice(dst, src, bytes, stream);
              });
}

int tesa_rt_synchronize(tesa_rt_stream stream) {
  Backend *backend = backendFor("tesa_rt_synchronize");
  if (!backend)
    return threadState.status;
  ++state().counters.synchronisations;
  if (Error error = backend->synchronizeStream(stream))
    return fail(error);
  return 0;
}

int tesa_rt_begin_call(tesa_rt_backend backend, tesa_rt_stream stream) {
  ThreadState &t = threadState;
  if (t.inCall)
    return fail("tesa_rt_begin_call: calls do not nest (is a "
                "tesa_rt_end_call missing?)");
  t.status = 0;
  t.message[0] = 0;
  if (Error error = activate(backend))
    return fail(error);
  t.inCall = true;
  t.stream = stream;
  return 0;
}

int tesa_rt_end_call(void) {
  ThreadState &t = threadState;
  if (!t.inCall)
    return t.status ? t.status
                    : fail("tesa_rt_end_call without tesa_rt_begin_call");
  t.inCall = false;
  t.stream = nullptr;
  return t.status;
}

namespace {
/// What entry points require of every buffer (see tesa_rt_check_buffer).
constexpr uintptr_t kBufferAlignment = 16;

/// Whether TESA_CHECK_BUFFERS asks for allocation ranges to be checked.
bool checkAllocationRanges() {
  static const bool enabled = [] {
    const char *text = std::getenv("TESA_CHECK_BUFFERS");
    return text && *text && std::strcmp(text, "0") != 0;
  }();
  return enabled;
}

std::string formatAddress(uintptr_t address) {
  char text[32];
  std::snprintf(text, sizeof(text), "0x%llx",
                static_cast<unsigned long long>(address));
  return text;
}
} // namespace

int tesa_rt_check_buffer(const void *pointer, uint64_t bytes,
                         const char *what) {
  std::string name = what ? what : "a buffer";
  if (bytes == 0)
    return 0;
  if (!pointer)
    return fail(name + " is NULL");
  auto address = reinterpret_cast<uintptr_t>(pointer);
  if (address % kBufferAlignment)
    return fail(name + " at " + formatAddress(address) +
                " is not aligned to " + std::to_string(kBufferAlignment) +
                " bytes (the kernels read 16 bytes at a time)");
  if (!checkAllocationRanges())
    return 0;
  Backend *backend = backendFor("tesa_rt_check_buffer");
  if (!backend)
    return threadState.status;
  uintptr_t base = 0;
  size_t size = 0;
  if (Error error = backend->allocationRange(pointer, base, size))
    return fail(Error(error.code, "",
                      name + " at " + formatAddress(address) +
                          " is not device memory of the current context: " +
                          error.message()));
  uint64_t available = base + size - address;
  if (available < bytes)
    return fail(name + " needs " + std::to_string(bytes) + " bytes from " +
                formatAddress(address) + ", but its allocation ends " +
                std::to_string(available) + " bytes after it");
  return 0;
}

int tesa_rt_get_counters(tesa_rt_counters *counters) {
  if (!counters)
    return fail("tesa_rt_get_counters: counters is NULL");
  Counters &c = state().counters;
  counters->device_allocations = c.deviceAllocations.load();
  counters->module_loads = c.moduleLoads.load();
  counters->synchronisations = c.synchronisations.load();
  counters->launches = c.launches.load();
  return 0;
}
