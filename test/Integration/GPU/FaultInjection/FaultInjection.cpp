//===- FaultInjection.cpp - Faults under a compiled library ---------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// tesa-fault-injection LIBRARY GROUP [EXPECTED-PREFIX]
//
// Calls the entry point `mlp` of LIBRARY (examples/mlp.mlir compiled for the
// GPU) through its C ABI, as a deployment would (dlopen, dlsym), while
// faults happen, and checks that each fault is a readable error, that
// nothing crashes, and that the library computes the same result as before
// afterwards wherever the fault allows it. Groups:
//
//   injected   the real CUDA driver with the stand-in of CUDAFaultShim.cpp
//              first in LD_LIBRARY_PATH and TESA_CHECK_BUFFERS=1: device
//              memory exhausted for real; launches, allocations, module
//              loads and a synchronisation failing by injection; a kernel
//              binary corrupted on disk; NULL, misaligned, too small and
//              host buffers.
//   sticky     a kernel that reads an address nothing holds: the error is
//              readable and later calls fail cleanly (the context is lost).
//   no-device  every call fails with a message that starts with
//              EXPECTED-PREFIX (for a missing or broken driver, no visible
//              device, a bad TESA_DEVICE).
//
// Prints one line per check and "fault injection (GROUP): N checks, F
// failed"; exit status 1 if any failed.
//
//===----------------------------------------------------------------------===//

#include <dlfcn.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace {

constexpr int kCUDA = 1; // TESA_RT_BACKEND_CUDA
// mlp: x 16x256, w1 256x512, w2 512x128 -> 16x128, all float32.
constexpr size_t kX = 16 * 256, kW1 = 256 * 512, kW2 = 512 * 128, kY = 16 * 128;

int checks = 0, failures = 0;

bool expect(bool condition, const std::string &what,
            const std::string &detail = "") {
  ++checks;
  if (!condition)
    ++failures;
  std::printf("%s: %s%s%s\n", condition ? "ok" : "FAIL", what.c_str(),
              detail.empty() ? "" : " -- ", detail.c_str());
  std::fflush(stdout);
  return condition;
}

bool contains(const std::string &text, const char *part) {
  return text.find(part) != std::string::npos;
}

/// The library's C API, looked up as a deployment would.
struct Library {
  void *handle = nullptr;
  int (*init)(int) = nullptr;
  const char *(*lastError)() = nullptr;
  int (*malloc)(size_t, void **) = nullptr;
  int (*free)(void *) = nullptr;
  int (*copyIn)(void *, const void *, size_t, void *) = nullptr;
  int (*copyOut)(void *, const void *, size_t, void *) = nullptr;
  int (*synchronize)(void *) = nullptr;
  int (*mlp)(void *, const float *, const float *, const float *,
             float *) = nullptr;

  std::string error() const { return lastError(); }
};

template <typename T> bool lookup(void *handle, const char *name, T &field) {
  field = reinterpret_cast<T>(dlsym(handle, name));
  return expect(field != nullptr, std::string("the library exports ") + name);
}

bool openLibrary(const std::string &path, Library &library) {
  library.handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  const char *why = library.handle ? "" : dlerror();
  if (!expect(library.handle != nullptr, "dlopen " + path, why ? why : ""))
    return false;
  return lookup(library.handle, "tesa_rt_init", library.init) &&
         lookup(library.handle, "tesa_rt_last_error", library.lastError) &&
         lookup(library.handle, "tesa_rt_malloc", library.malloc) &&
         lookup(library.handle, "tesa_rt_free", library.free) &&
         lookup(library.handle, "tesa_rt_memcpy_htod", library.copyIn) &&
         lookup(library.handle, "tesa_rt_memcpy_dtoh", library.copyOut) &&
         lookup(library.handle, "tesa_rt_synchronize", library.synchronize) &&
         lookup(library.handle, "mlp", library.mlp);
}

/// The device buffers of one call, x, w1 and w2 filled with the same
/// pseudo-random values every run.
struct Buffers {
  float *x = nullptr, *w1 = nullptr, *w2 = nullptr, *y = nullptr;
};

bool allocate(Library &library, Buffers &buffers) {
  uint32_t seed = 12345;
  auto fill = [&](float *&device, size_t count) {
    if (library.malloc(count * 4, reinterpret_cast<void **>(&device)) != 0)
      return false;
    std::vector<float> host(count);
    for (float &value : host) {
      seed = seed * 1664525u + 1013904223u;
      value = static_cast<float>(seed >> 8) / float(1 << 24) - 0.5f;
    }
    return library.copyIn(device, host.data(), count * 4, nullptr) == 0;
  };
  return expect(fill(buffers.x, kX) && fill(buffers.w1, kW1) &&
                    fill(buffers.w2, kW2) && fill(buffers.y, kY),
                "inputs allocated and uploaded", library.error());
}

/// One call and its result; `status` is the first failure of the call, the
/// synchronisation or the copy.
struct Outcome {
  int status = 0;
  std::string message;
  std::vector<float> result;
};

Outcome call(Library &library, const Buffers &buffers, void *stream = nullptr) {
  Outcome outcome;
  outcome.status =
      library.mlp(stream, buffers.x, buffers.w1, buffers.w2, buffers.y);
  if (outcome.status == 0)
    outcome.status = library.synchronize(stream);
  if (outcome.status == 0) {
    outcome.result.resize(kY);
    outcome.status =
        library.copyOut(outcome.result.data(), buffers.y, kY * 4, stream);
  }
  if (outcome.status != 0)
    outcome.message = library.error();
  return outcome;
}

/// A call expected to fail with a message containing `part`.
void expectFailure(const Outcome &outcome, const std::string &what,
                   const char *part) {
  expect(outcome.status != 0 && contains(outcome.message, part),
         what + ": fails with \"..." + part + "...\"",
         "status " + std::to_string(outcome.status) + ": " + outcome.message);
}

/// A call expected to succeed with `reference`'s result.
void expectRecovered(const Outcome &outcome,
                     const std::vector<float> &reference,
                     const std::string &what) {
  expect(outcome.status == 0 && outcome.result == reference,
         what + ": the next call computes the same result",
         outcome.status ? outcome.message : "");
}

/// The stand-in driver's control and the real driver's entry points the
/// test needs itself (both through the same libcuda.so.1).
struct Driver {
  void (*inject)(const char *, int, int, int) = nullptr;
  int (*streamCreate)(void **, unsigned) = nullptr;
};

bool openDriver(Driver &driver) {
  void *handle = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!expect(handle != nullptr, "libcuda.so.1 opens"))
    return false;
  return lookup(handle, "tesa_fault_inject", driver.inject) &&
         lookup(handle, "cuStreamCreate", driver.streamCreate);
}

/// The memory of the device, taken in ever smaller pieces until none is left.
std::vector<void *> exhaustDeviceMemory(Library &library) {
  std::vector<void *> taken;
  for (size_t piece = size_t(1) << 30; piece >= 4096; piece /= 2) {
    void *pointer = nullptr;
    while (library.malloc(piece, &pointer) == 0)
      taken.push_back(pointer);
  }
  return taken;
}

/// The library's bytes with the ELF header of its embedded kernel binary
/// (e_machine EM_CUDA) overwritten.
bool writeCorruptedCopy(const std::string &from, const std::string &to) {
  std::ifstream in(from, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)),
                    std::istreambuf_iterator<char>());
  const std::string magic = "\x7f"
                            "ELF";
  for (size_t at = bytes.find(magic, 1); at != std::string::npos;
       at = bytes.find(magic, at + 1)) {
    if (at + 20 > bytes.size() || uint8_t(bytes[at + 18]) != 190)
      continue;
    std::fill(bytes.begin() + at + 4, bytes.begin() + at + 64, '\x5a');
    std::ofstream(to, std::ios::binary) << bytes;
    return true;
  }
  return false;
}

void runInjected(const std::string &path) {
  Library library;
  Driver driver;
  Buffers buffers;
  if (!openLibrary(path, library) || !openDriver(driver) ||
      !expect(library.init(kCUDA) == 0, "tesa_rt_init", library.error()) ||
      !allocate(library, buffers))
    return;

  // Real exhaustion, before the first call: the module and the call's
  // temporaries need memory that is not there.
  std::vector<void *> taken = exhaustDeviceMemory(library);
  expect(!taken.empty(), "device memory exhausted",
         std::to_string(taken.size()) + " allocations");
  Outcome outcome = call(library, buffers);
  expect(outcome.status != 0 &&
             (contains(outcome.message, "OUT_OF_MEMORY") ||
              contains(outcome.message, "out of device memory")),
         "a call without device memory: fails with an out-of-memory error",
         "status " + std::to_string(outcome.status) + ": " + outcome.message);
  for (void *pointer : taken)
    library.free(pointer);
  Outcome first = call(library, buffers);
  if (!expect(first.status == 0, "memory freed: the call succeeds",
              first.message))
    return;
  const std::vector<float> reference = first.result;
  expectRecovered(call(library, buffers), reference, "a second call");

  auto injectLaunches = [&](int skip, int count, int error) {
    driver.inject("cuLaunchKernel", skip, count, error);
    driver.inject("cuLaunchKernelEx", skip, count, error);
  };
  const int kOutOfResources = 701, kIllegalAddress = 700, kInvalidImage = 200,
            kOutOfMemory = 2;
  injectLaunches(0, 1, kOutOfResources);
  outcome = call(library, buffers);
  injectLaunches(0, 0, 0);
  expectFailure(outcome, "first launch fails",
                "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES");
  expect(contains(outcome.message, "kernel launch of '"),
         "the message names the kernel", outcome.message);
  expectRecovered(call(library, buffers), reference, "launch failure");

  injectLaunches(1, 1, kOutOfResources);
  outcome = call(library, buffers);
  injectLaunches(0, 0, 0);
  expectFailure(outcome, "second launch fails",
                "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES");
  expectRecovered(call(library, buffers), reference, "later launch failure");

  // A new stream has no pooled memory: its first call allocates. Both the
  // allocation and the retry after trimming the pool fail.
  void *stream = nullptr;
  expect(driver.streamCreate(&stream, 1) == 0, "a stream is created");
  driver.inject("cuMemAlloc_v2", 0, 2, kOutOfMemory);
  outcome = call(library, buffers, stream);
  driver.inject("cuMemAlloc_v2", 0, 0, 0);
  expectFailure(outcome, "allocation fails", "out of device memory allocating");
  expectRecovered(call(library, buffers, stream), reference,
                  "allocation failure");

  driver.inject("cuStreamSynchronize", 0, 1, kIllegalAddress);
  outcome = call(library, buffers);
  expectFailure(outcome, "synchronisation fails", "CUDA_ERROR_ILLEGAL_ADDRESS");
  expectRecovered(call(library, buffers), reference, "synchronisation failure");

  // A second copy of the library has its own runtime and loads its module
  // on its first call.
  std::string copyPath = path + ".copy.so";
  {
    std::ifstream in(path, std::ios::binary);
    std::ofstream(copyPath, std::ios::binary) << in.rdbuf();
  }
  Library copy;
  if (openLibrary(copyPath, copy)) {
    driver.inject("cuModuleLoadData", 0, 1, kInvalidImage);
    driver.inject("cuModuleLoadDataEx", 0, 1, kInvalidImage);
    outcome = call(copy, buffers);
    driver.inject("cuModuleLoadData", 0, 0, 0);
    driver.inject("cuModuleLoadDataEx", 0, 0, 0);
    expectFailure(outcome, "module load fails", "CUDA_ERROR_INVALID_IMAGE");
    expectRecovered(call(copy, buffers), reference, "module load failure");
  }

  std::string corruptPath = path + ".corrupt.so";
  Library corrupt;
  if (expect(writeCorruptedCopy(path, corruptPath),
             "the library embeds a kernel binary to corrupt") &&
      openLibrary(corruptPath, corrupt)) {
    outcome = call(corrupt, buffers);
    expectFailure(outcome, "corrupted kernel binary", "cuModuleLoad");
    expectFailure(call(corrupt, buffers), "corrupted kernel binary, again",
                  "cuModuleLoad");
    expectRecovered(call(library, buffers), reference,
                    "corrupted binary in another library");
  }

  // Buffers the entry point refuses before it launches anything.
  auto withBuffer = [&](float *Buffers::*field, const void *pointer) {
    Buffers bad = buffers;
    bad.*field = static_cast<float *>(const_cast<void *>(pointer));
    return call(library, bad);
  };
  expectFailure(withBuffer(&Buffers::x, nullptr), "NULL x",
                "mlp: arg0 (16x256 float32) is NULL");
  expectFailure(withBuffer(&Buffers::y, nullptr), "NULL result",
                "mlp: result0 (16x128 float32) is NULL");
  expectFailure(
      withBuffer(&Buffers::x, reinterpret_cast<char *>(buffers.x) + 4),
      "misaligned x", "is not aligned to 16 bytes");
  void *small = nullptr;
  library.malloc(64, &small);
  expectFailure(withBuffer(&Buffers::w1, small),
                "w1 too small (TESA_CHECK_BUFFERS=1)",
                "mlp: arg1 (256x512 float32) needs 524288 bytes");
  alignas(16) static float host[kX];
  expectFailure(withBuffer(&Buffers::x, host), "host memory as x",
                "is not device memory of the current context");
  expectRecovered(call(library, buffers), reference, "bad buffers");
  library.free(small);
}

void runSticky(const std::string &path) {
  Library library;
  Buffers buffers;
  if (!openLibrary(path, library) ||
      !expect(library.init(kCUDA) == 0, "tesa_rt_init", library.error()) ||
      !allocate(library, buffers))
    return;
  Outcome first = call(library, buffers);
  if (!expect(first.status == 0, "a first call succeeds", first.message))
    return;
  // Aligned, but no allocation is there (range checks are off).
  Buffers bad = buffers;
  bad.x = reinterpret_cast<float *>(uintptr_t(1) << 44);
  expectFailure(call(library, bad), "a kernel reads an address nothing holds",
                "CUDA_ERROR_ILLEGAL_ADDRESS");
  Outcome after = call(library, buffers);
  expect(after.status != 0 && !after.message.empty(),
         "the context is lost: later calls fail readably", after.message);
}

void runNoDevice(const std::string &path, const std::string &prefix) {
  Library library;
  if (!openLibrary(path, library))
    return;
  int status = library.init(kCUDA);
  std::string message = library.error();
  expect(status != 0 && message.rfind(prefix, 0) == 0,
         "tesa_rt_init fails with \"" + prefix + "...\"", message);
  alignas(16) static float host[kX];
  status = library.mlp(nullptr, host, host, host, host);
  message = library.error();
  expect(status != 0 && message.rfind(prefix, 0) == 0,
         "mlp fails with \"" + prefix + "...\"", message);
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 3) {
    std::fprintf(stderr,
                 "usage: %s LIBRARY injected|sticky|no-device "
                 "[EXPECTED-PREFIX]\n",
                 argv[0]);
    return 1;
  }
  std::string path = argv[1], group = argv[2];
  if (group == "injected")
    runInjected(path);
  else if (group == "sticky")
    runSticky(path);
  else if (group == "no-device")
    runNoDevice(path, argc > 3 ? argv[3] : "no CUDA device: ");
  else {
    std::fprintf(stderr, "unknown group '%s'\n", group.c_str());
    return 1;
  }
  std::printf("fault injection (%s): %d checks, %d failed\n", group.c_str(),
              checks, failures);
  return failures ? 1 : 0;
}
