//===- RuntimeTest.cpp - libtesa_runtime on fake and real backends --------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// Most tests install FakeBackend, which keeps "device" memory in host memory
// and counts what the runtime asks of it. The RealBackend tests use the real
// CUDA and HIP backends: without a GPU they check the "no device" answers,
// with a CUDA GPU they run a PTX kernel end to end.
//
//===----------------------------------------------------------------------===//

#include "tesa/Runtime/Runtime.h"
#include "Backend.h"
#include "MemoryPool.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace tesa::rt;

namespace {

constexpr tesa_rt_backend kFake = TESA_RT_BACKEND_CUDA;

/// A backend over host memory. A module is text listing its kernels'
/// names; text starting "BAD" fails to load. Kernel "fill" runs on the host:
/// params are (uint32_t *dst, uint32_t value, uint32_t count).
class FakeBackend final : public Backend {
public:
  std::atomic<int> initializations{0}, contexts{0}, moduleLoads{0},
      moduleUnloads{0}, functionLookups{0}, launches{0}, allocations{0},
      frees{0}, uploads{0}, synchronisations{0}, streamsDestroyed{0};
  std::atomic<void *> lastLaunchStream{nullptr};
  std::atomic<bool> failLaunches{false};
  std::atomic<bool> lastLaunchProgrammatic{false};
  std::array<uint32_t, 3> lastLaunchCluster = {0, 0, 0};
  /// Whether tensor maps can be encoded (as the base, no TMA, otherwise);
  /// each encoded map holds its box's inner size in every byte.
  std::atomic<bool> hasTma{false};
  std::atomic<int> tensorMapEncodes{0};
  /// Allocations above this size report out of memory.
  std::atomic<size_t> memoryLimit{SIZE_MAX};

  ~FakeBackend() override {
    for (auto [ptr, bytes] : live)
      std::free(ptr);
  }

  tesa_rt_backend kind() const override { return kFake; }
  Error initialize() override {
    ++initializations;
    return {};
  }
  Error deviceCount(int &count) override {
    count = 1;
    return {};
  }
  Error ensureContext() override {
    ++contexts;
    return {};
  }
  Error encodeTensorMap2D(void *map, void *global, uint64_t inner,
                          uint64_t outer, uint64_t stride, uint32_t boxInner,
                          uint32_t boxOuter, int swizzle) override {
    if (!hasTma)
      return Backend::encodeTensorMap2D(map, global, inner, outer, stride,
                                        boxInner, boxOuter, swizzle);
    ++tensorMapEncodes;
    std::memset(map, int(boxInner), 128);
    return {};
  }
  Error deviceName(char *name, size_t capacity) override {
    std::strncpy(name, "Fake GPU", capacity);
    return {};
  }

  Error loadModule(const void *data, size_t size, void *&module) override {
    std::string text(static_cast<const char *>(data), size);
    if (text.rfind("BAD", 0) == 0)
      return Error(200, "fakeModuleLoad",
                   "FAKE_ERROR_INVALID_IMAGE (device kernel image is "
                   "invalid)");
    std::lock_guard<std::mutex> lock(mutex);
    modules.push_back(std::make_unique<std::string>(" " + text + " "));
    module = modules.back().get();
    ++moduleLoads;
    return {};
  }
  Error loadModuleFromPTX(const char *ptx, int, void *&module) override {
    return loadModule(ptx, std::strlen(ptx), module);
  }
  Error unloadModule(void *) override {
    ++moduleUnloads;
    return {};
  }
  Error getFunction(void *module, const char *name, void *&function) override {
    ++functionLookups;
    const std::string &text = *static_cast<std::string *>(module);
    if (text.find(" " + std::string(name) + " ") == std::string::npos)
      return Error(500, "fakeModuleGetFunction",
                   "FAKE_ERROR_NOT_FOUND (named symbol not found)");
    std::lock_guard<std::mutex> lock(mutex);
    functions.push_back(std::make_unique<std::string>(name));
    function = functions.back().get();
    return {};
  }
  Error launch(void *function, const uint32_t *, const uint32_t *,
               const uint32_t *cluster, uint32_t, void *stream, void **params,
               void **, bool programmatic) override {
    lastLaunchProgrammatic = programmatic;
    lastLaunchCluster = {cluster[0], cluster[1], cluster[2]};
    if (failLaunches)
      return Error(700, "fakeLaunchKernel",
                   "FAKE_ERROR_ILLEGAL_ADDRESS (an illegal memory access was "
                   "encountered)");
    lastLaunchStream = stream;
    ++launches;
    if (*static_cast<std::string *>(function) == "fill") {
      auto *dst = *static_cast<uint32_t **>(params[0]);
      uint32_t value = *static_cast<uint32_t *>(params[1]);
      uint32_t count = *static_cast<uint32_t *>(params[2]);
      std::fill(dst, dst + count, value);
    }
    return {};
  }

  Error allocate(size_t bytes, void *&ptr) override {
    if (bytes > memoryLimit)
      return Error(2, "fakeMemAlloc",
                   "FAKE_ERROR_OUT_OF_MEMORY (out of memory)",
                   Error::Kind::OutOfMemory);
    ptr = std::malloc(bytes);
    std::lock_guard<std::mutex> lock(mutex);
    live[ptr] = bytes;
    ++allocations;
    return {};
  }
  Error free(void *ptr) override {
    std::lock_guard<std::mutex> lock(mutex);
    if (!live.erase(ptr))
      return Error(1, "fakeMemFree", "FAKE_ERROR_INVALID_VALUE");
    std::free(ptr);
    ++frees;
    return {};
  }
  Error allocationRange(const void *ptr, uintptr_t &base,
                        size_t &size) override {
    std::lock_guard<std::mutex> lock(mutex);
    auto next = live.upper_bound(const_cast<void *>(ptr));
    if (next != live.begin()) {
      auto [first, bytes] = *std::prev(next);
      base = reinterpret_cast<uintptr_t>(first);
      size = bytes;
      if (reinterpret_cast<uintptr_t>(ptr) < base + size)
        return {};
    }
    return Error(1, "fakeMemGetAddressRange", "FAKE_ERROR_INVALID_VALUE");
  }
  Error copyHostToDevice(void *dst, const void *src, size_t bytes,
                         void *) override {
    ++uploads;
    std::memcpy(dst, src, bytes);
    return {};
  }
  Error copyDeviceToHost(void *dst, const void *src, size_t bytes,
                         void *) override {
    std::memcpy(dst, src, bytes);
    return {};
  }
  Error copyDeviceToDevice(void *dst, const void *src, size_t bytes,
                           void *) override {
    std::memcpy(dst, src, bytes);
    return {};
  }
  Error copy(void *dst, const void *src, size_t bytes, void *) override {
    std::memcpy(dst, src, bytes);
    return {};
  }
  Error memset32(void *dst, uint32_t value, size_t count, void *) override {
    std::fill_n(static_cast<uint32_t *>(dst), count, value);
    return {};
  }
  Error memset16(void *dst, uint16_t value, size_t count, void *) override {
    std::fill_n(static_cast<uint16_t *>(dst), count, value);
    return {};
  }

  Error createStream(void *&stream) override {
    std::lock_guard<std::mutex> lock(mutex);
    streams.push_back(std::make_unique<int>(0));
    stream = streams.back().get();
    return {};
  }
  Error destroyStream(void *) override {
    ++streamsDestroyed;
    return {};
  }
  Error synchronizeStream(void *) override {
    ++synchronisations;
    return {};
  }
  Error streamWaitEvent(void *, void *) override { return {}; }
  Error createEvent(void *&event) override { return createStream(event); }
  Error destroyEvent(void *) override { return {}; }
  Error recordEvent(void *, void *) override { return {}; }
  Error synchronizeEvent(void *) override {
    ++synchronisations;
    return {};
  }

private:
  std::mutex mutex;
  std::map<void *, size_t> live;
  std::vector<std::unique_ptr<std::string>> modules, functions;
  std::vector<std::unique_ptr<int>> streams;
};

/// Module text (see FakeBackend); constants of the "library", like the blobs
/// that generated code registers.
const char kModuleText[] = "part0 part1 fill";
const char kBadModuleText[] = "BAD image";

void *loadFakeModule(const char *text) {
  return mgpuModuleLoad(const_cast<char *>(text), std::strlen(text));
}

std::string lastError() { return tesa_rt_last_error(); }

bool startsWith(const std::string &text, const std::string &prefix) {
  return text.rfind(prefix, 0) == 0;
}

class RuntimeTest : public ::testing::Test {
protected:
  void SetUp() override {
    auto owned = std::make_unique<FakeBackend>();
    fake = owned.get();
    setBackendForTesting(std::move(owned));
    tesa_rt_get_counters(&start);
  }

  void TearDown() override {
    // Leave no call open for the next test, whatever failed.
    tesa_rt_end_call();
    resetBackendsForTesting();
  }

  /// Counters since SetUp.
  tesa_rt_counters counters() const {
    tesa_rt_counters now;
    tesa_rt_get_counters(&now);
    return {now.device_allocations - start.device_allocations,
            now.module_loads - start.module_loads,
            now.synchronisations - start.synchronisations,
            now.launches - start.launches};
  }

  /// One call of "generated code": allocates two buffers, fills one with
  /// `value`, copies it to `out` and frees both, as gpu-to-llvm code does.
  void runCall(void *module, void *stream, uint32_t *out, uint32_t value,
               uint32_t count = 100) {
    ASSERT_EQ(tesa_rt_begin_call(kFake, stream), 0) << lastError();
    void *s = mgpuStreamCreate();
    auto *a = static_cast<uint32_t *>(mgpuMemAlloc(count * 4, s, 0));
    void *b = mgpuMemAlloc(3000, s, 0);
    void *fill = mgpuModuleGetFunction(module, "fill");
    void *params[] = {&a, &value, &count};
    mgpuLaunchKernel(fill, 1, 1, 1, 128, 1, 1, 0, s, params, nullptr, 3);
    mgpuMemcpy(out, a, count * 4, s);
    mgpuMemFree(b, s);
    mgpuMemFree(a, s);
    mgpuStreamSynchronize(s);
    mgpuStreamDestroy(s);
    EXPECT_EQ(tesa_rt_end_call(), 0) << lastError();
  }

  FakeBackend *fake = nullptr;
  tesa_rt_counters start{};
};

//===----------------------------------------------------------------------===//
// Modules and kernels
//===----------------------------------------------------------------------===//

TEST_F(RuntimeTest, ModuleIsLoadedLazilyAndOnce) {
  void *module = loadFakeModule(kModuleText);
  ASSERT_NE(module, nullptr);
  // Registration, as from a global constructor: no driver, no init.
  EXPECT_EQ(fake->initializations, 0);
  EXPECT_EQ(fake->moduleLoads, 0);

  int stream;
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(tesa_rt_begin_call(kFake, &stream), 0) << lastError();
    void *part0 = mgpuModuleGetFunction(module, "part0");
    ASSERT_NE(part0, nullptr) << lastError();
    mgpuLaunchKernel(part0, 4, 1, 1, 128, 1, 1, 0, mgpuStreamCreate(), nullptr,
                     nullptr, 0);
    EXPECT_EQ(tesa_rt_end_call(), 0) << lastError();
  }
  EXPECT_EQ(fake->initializations, 1);
  EXPECT_EQ(fake->moduleLoads, 1);
  EXPECT_EQ(counters().module_loads, 1u);
  EXPECT_EQ(counters().launches, 10u);
  EXPECT_EQ(fake->lastLaunchStream, &stream);

  mgpuModuleUnload(module);
  EXPECT_EQ(fake->moduleUnloads, 1);
}

/// Launches kernel "part0" of a module with `text` once, in a call.
static void launchPart0(const char *text) {
  void *module = loadFakeModule(text);
  int stream;
  ASSERT_EQ(tesa_rt_begin_call(kFake, &stream), 0) << lastError();
  mgpuLaunchKernel(mgpuModuleGetFunction(module, "part0"), 1, 1, 1, 32, 1, 1,
                   0, mgpuStreamCreate(), nullptr, nullptr, 0);
  EXPECT_EQ(tesa_rt_end_call(), 0) << lastError();
  mgpuModuleUnload(module);
}

TEST_F(RuntimeTest, MarkedModulesLaunchProgrammatically) {
  static const char kMarked[] = "part0 " TESA_RT_PROGRAMMATIC_LAUNCH_SYMBOL;
  launchPart0(kMarked);
  EXPECT_TRUE(fake->lastLaunchProgrammatic);
  launchPart0(kModuleText);
  EXPECT_FALSE(fake->lastLaunchProgrammatic);

  // The environment turns it off for modules loaded afterwards.
  ::setenv("TESA_PROGRAMMATIC_LAUNCH", "0", 1);
  launchPart0(kMarked);
  ::unsetenv("TESA_PROGRAMMATIC_LAUNCH");
  EXPECT_FALSE(fake->lastLaunchProgrammatic);
  EXPECT_EQ(counters().launches, 3u);
}

TEST_F(RuntimeTest, ClusterLaunchesPassTheirClusters) {
  void *module = loadFakeModule(kModuleText);
  ASSERT_EQ(tesa_rt_begin_call(kFake, nullptr), 0) << lastError();
  void *part0 = mgpuModuleGetFunction(module, "part0");
  mgpuLaunchClusterKernel(part0, 4, 1, 1, 8, 2, 1, 160, 1, 1, 0, nullptr,
                          nullptr, nullptr, 0);
  EXPECT_EQ(fake->lastLaunchCluster, (std::array<uint32_t, 3>{4, 1, 1}));
  mgpuLaunchKernel(part0, 1, 1, 1, 32, 1, 1, 0, nullptr, nullptr, nullptr, 0);
  EXPECT_EQ(fake->lastLaunchCluster, (std::array<uint32_t, 3>{1, 1, 1}));
  EXPECT_EQ(tesa_rt_end_call(), 0) << lastError();
  // A cluster of no blocks is refused before the backend sees it.
  ASSERT_EQ(tesa_rt_begin_call(kFake, nullptr), 0) << lastError();
  mgpuLaunchClusterKernel(part0, 0, 1, 1, 8, 1, 1, 32, 1, 1, 0, nullptr,
                          nullptr, nullptr, 0);
  EXPECT_NE(tesa_rt_end_call(), 0);
  EXPECT_TRUE(startsWith(lastError(), "kernel launch of 'part0' failed:"))
      << lastError();
  EXPECT_EQ(fake->launches, 2);
  mgpuModuleUnload(module);
}

TEST_F(RuntimeTest, FunctionLookupIsCached) {
  void *module = loadFakeModule(kModuleText);
  ASSERT_EQ(tesa_rt_init(kFake), 0) << lastError();
  void *first = mgpuModuleGetFunction(module, "part1");
  ASSERT_NE(first, nullptr) << lastError();
  EXPECT_EQ(mgpuModuleGetFunction(module, "part1"), first);
  // Another pointer to the same name: found by comparing strings.
  char copy[] = "part1";
  EXPECT_EQ(mgpuModuleGetFunction(module, copy), first);
  EXPECT_EQ(fake->functionLookups, 1);
  EXPECT_NE(mgpuModuleGetFunction(module, "part0"), first);
  EXPECT_EQ(fake->functionLookups, 2);
  mgpuModuleUnload(module);
}

TEST_F(RuntimeTest, MissingKernelIsReported) {
  void *module = loadFakeModule(kModuleText);
  ASSERT_EQ(tesa_rt_begin_call(kFake, nullptr), 0);
  EXPECT_EQ(mgpuModuleGetFunction(module, "part7"), nullptr);
  EXPECT_EQ(tesa_rt_end_call(), 500);
  EXPECT_EQ(lastError(), "kernel 'part7' not found: fakeModuleGetFunction "
                         "failed: FAKE_ERROR_NOT_FOUND (named symbol not "
                         "found)");
  mgpuModuleUnload(module);
}

TEST_F(RuntimeTest, FailedModuleLoadGivesNullHandlesThatDoNotCrash) {
  void *module = loadFakeModule(kBadModuleText);
  ASSERT_NE(module, nullptr); // Registration cannot fail; loading does.
  ASSERT_EQ(tesa_rt_begin_call(kFake, nullptr), 0);
  void *function = mgpuModuleGetFunction(module, "part0");
  EXPECT_EQ(function, nullptr);
  mgpuLaunchKernel(function, 1, 1, 1, 1, 1, 1, 0, nullptr, nullptr, nullptr, 0);
  EXPECT_EQ(mgpuModuleGetFunction(nullptr, "part0"), nullptr);
  EXPECT_EQ(tesa_rt_end_call(), 200);
  EXPECT_EQ(lastError(), "fakeModuleLoad failed: FAKE_ERROR_INVALID_IMAGE "
                         "(device kernel image is invalid)");
  EXPECT_EQ(fake->launches, 0);
  // The next call tries again (and fails again) rather than crashing.
  ASSERT_EQ(tesa_rt_begin_call(kFake, nullptr), 0);
  EXPECT_EQ(lastError(), "");
  EXPECT_EQ(mgpuModuleGetFunction(module, "part0"), nullptr);
  EXPECT_EQ(tesa_rt_end_call(), 200);
  mgpuModuleUnload(module);
  mgpuModuleUnload(nullptr);
}

TEST_F(RuntimeTest, UnloadIsSafeWhateverTheModuleState) {
  // Never loaded: nothing reaches the backend.
  mgpuModuleUnload(loadFakeModule(kModuleText));
  // Loaded by a backend that was replaced since.
  void *module = loadFakeModule(kModuleText);
  ASSERT_EQ(tesa_rt_init(kFake), 0);
  ASSERT_NE(mgpuModuleGetFunction(module, "part0"), nullptr);
  setBackendForTesting(std::make_unique<FakeBackend>());
  fake = nullptr;
  mgpuModuleUnload(module);
  // Unknown handles and double unloads are ignored.
  mgpuModuleUnload(module);
}

TEST_F(RuntimeTest, NothingWorksBeforeInitialisation) {
  EXPECT_EQ(mgpuMemAlloc(16, nullptr, 0), nullptr);
  EXPECT_TRUE(startsWith(lastError(), "mgpuMemAlloc: the tesa runtime is not "
                                      "initialised"))
      << lastError();
  void *module = loadFakeModule(kModuleText);
  EXPECT_EQ(mgpuModuleGetFunction(module, "part0"), nullptr);
  EXPECT_NE(tesa_rt_malloc(16, &module), 0);
  EXPECT_EQ(fake->moduleLoads, 0);
  mgpuModuleUnload(module);
}

//===----------------------------------------------------------------------===//
// Streams and calls
//===----------------------------------------------------------------------===//

TEST_F(RuntimeTest, CallBindsItsStream) {
  int stream;
  ASSERT_EQ(tesa_rt_begin_call(kFake, &stream), 0);
  EXPECT_EQ(mgpuStreamCreate(), &stream);
  mgpuStreamSynchronize(&stream);
  mgpuStreamDestroy(&stream);
  EXPECT_EQ(tesa_rt_end_call(), 0);
  EXPECT_EQ(fake->synchronisations, 0);
  EXPECT_EQ(fake->streamsDestroyed, 0);
  EXPECT_EQ(counters().synchronisations, 0u);

  // Outside a call the functions are real.
  void *own = mgpuStreamCreate();
  ASSERT_NE(own, nullptr);
  EXPECT_NE(own, &stream);
  mgpuStreamSynchronize(own);
  mgpuStreamDestroy(own);
  EXPECT_EQ(fake->synchronisations, 1);
  EXPECT_EQ(fake->streamsDestroyed, 1);
  EXPECT_EQ(counters().synchronisations, 1u);

  EXPECT_EQ(tesa_rt_synchronize(&stream), 0);
  EXPECT_EQ(counters().synchronisations, 2u);
}

TEST_F(RuntimeTest, ContextIsEnsuredAtInitAndEveryCall) {
  ASSERT_EQ(tesa_rt_init(kFake), 0);
  ASSERT_EQ(tesa_rt_init(kFake), 0);
  ASSERT_EQ(tesa_rt_begin_call(kFake, nullptr), 0);
  ASSERT_EQ(tesa_rt_end_call(), 0);
  EXPECT_EQ(fake->initializations, 1);
  EXPECT_EQ(fake->contexts, 3);
}

TEST_F(RuntimeTest, CallsDoNotNest) {
  ASSERT_EQ(tesa_rt_begin_call(kFake, nullptr), 0);
  EXPECT_NE(tesa_rt_begin_call(kFake, nullptr), 0);
  EXPECT_NE(tesa_rt_end_call(), 0);
  EXPECT_TRUE(startsWith(lastError(), "tesa_rt_begin_call: calls do not nest"))
      << lastError();
  // Unbalanced end.
  ASSERT_EQ(tesa_rt_begin_call(kFake, nullptr), 0);
  ASSERT_EQ(tesa_rt_end_call(), 0);
  EXPECT_NE(tesa_rt_end_call(), 0);
}

TEST_F(RuntimeTest, FirstFailureOfACallIsKeptUntilTheNextCall) {
  void *module = loadFakeModule(kModuleText);
  ASSERT_EQ(tesa_rt_begin_call(kFake, nullptr), 0);
  void *part0 = mgpuModuleGetFunction(module, "part0");
  fake->failLaunches = true;
  mgpuLaunchKernel(part0, 1, 1, 1, 1, 1, 1, 0, nullptr, nullptr, nullptr, 0);
  // Later failures do not replace the first.
  EXPECT_EQ(mgpuMemAlloc(16, nullptr, /*isHostShared=*/1), nullptr);
  mgpuLaunchKernel(nullptr, 1, 1, 1, 1, 1, 1, 0, nullptr, nullptr, nullptr, 0);
  const std::string expected =
      "kernel launch of 'part0' failed: FAKE_ERROR_ILLEGAL_ADDRESS (an "
      "illegal memory access was encountered)";
  EXPECT_EQ(tesa_rt_end_call(), 700);
  EXPECT_EQ(lastError(), expected);
  // The message survives the end of the call...
  EXPECT_EQ(lastError(), expected);
  // ...and the next call starts clean.
  fake->failLaunches = false;
  ASSERT_EQ(tesa_rt_begin_call(kFake, nullptr), 0);
  EXPECT_EQ(lastError(), "");
  mgpuLaunchKernel(part0, 1, 1, 1, 1, 1, 1, 0, nullptr, nullptr, nullptr, 0);
  EXPECT_EQ(tesa_rt_end_call(), 0);
  mgpuModuleUnload(module);
}

TEST_F(RuntimeTest, NoWorkIsIssuedOnceACallFailed) {
  void *module = loadFakeModule(kModuleText);
  fake->memoryLimit = 1 << 20;
  ASSERT_EQ(tesa_rt_begin_call(kFake, nullptr), 0);
  void *fill = mgpuModuleGetFunction(module, "fill");
  void *buffer = mgpuMemAlloc(64, nullptr, 0);
  EXPECT_EQ(mgpuMemAlloc(2 << 20, nullptr, 0), nullptr);
  // A kernel given the missing buffer would fault; none of the work that
  // follows a failure is issued, even on buffers that exist.
  uint32_t value = 7, count = 16;
  void *params[] = {&buffer, &value, &count};
  mgpuLaunchKernel(fill, 1, 1, 1, 16, 1, 1, 0, nullptr, params, nullptr, 3);
  mgpuMemset32(buffer, 0, 16, nullptr);
  uint32_t host[16] = {};
  mgpuMemcpy(host, buffer, sizeof(host), nullptr);
  mgpuMemFree(buffer, nullptr);
  EXPECT_EQ(tesa_rt_end_call(), 2);
  EXPECT_EQ(fake->launches, 0);
  EXPECT_EQ(counters().launches, 0u);
  EXPECT_TRUE(startsWith(lastError(), "out of device memory allocating "))
      << lastError();
  mgpuModuleUnload(module);
}

TEST_F(RuntimeTest, InvalidLaunchDimensionsAreReported) {
  void *module = loadFakeModule(kModuleText);
  ASSERT_EQ(tesa_rt_begin_call(kFake, nullptr), 0);
  void *part0 = mgpuModuleGetFunction(module, "part0");
  mgpuLaunchKernel(part0, 0, 1, 1, 1, 1, 1, 0, nullptr, nullptr, nullptr, 0);
  EXPECT_NE(tesa_rt_end_call(), 0);
  EXPECT_TRUE(startsWith(lastError(), "kernel launch of 'part0' failed:"))
      << lastError();
  EXPECT_EQ(fake->launches, 0);
  mgpuModuleUnload(module);
}

TEST_F(RuntimeTest, TensorMapsAreCheckedAndNeedTMA) {
  void *module = loadFakeModule(kModuleText);
  alignas(64) unsigned char map[128] = {};
  float tensor[64] = {};
  // A bad box: the call fails and launches nothing after it.
  ASSERT_EQ(tesa_rt_begin_call(kFake, nullptr), 0);
  mgpuTesaEncodeTensorMap2D(map, tensor, 64, 64, 128, 0, 64, 3);
  void *part0 = mgpuModuleGetFunction(module, "part0");
  mgpuLaunchKernel(part0, 1, 1, 1, 1, 1, 1, 0, nullptr, nullptr, nullptr, 0);
  EXPECT_NE(tesa_rt_end_call(), 0);
  EXPECT_TRUE(startsWith(lastError(), "mgpuTesaEncodeTensorMap2D: invalid"))
      << lastError();
  EXPECT_EQ(fake->launches, 0);
  // A backend without TMA says so.
  ASSERT_EQ(tesa_rt_begin_call(kFake, nullptr), 0);
  mgpuTesaEncodeTensorMap2D(map, tensor, 64, 64, 128, 64, 64, 3);
  EXPECT_NE(tesa_rt_end_call(), 0);
  EXPECT_NE(std::string(lastError()).find("no tensor memory accelerator"),
            std::string::npos)
      << lastError();
  mgpuModuleUnload(module);
}

TEST_F(RuntimeTest, TensorMapsAreEncodedOncePerTensorAndBox) {
  fake->hasTma = true;
  alignas(64) unsigned char first[128] = {}, second[128] = {};
  float tensor[64] = {};
  for (unsigned char *map : {first, second}) {
    ASSERT_EQ(tesa_rt_begin_call(kFake, nullptr), 0);
    mgpuTesaEncodeTensorMap2D(map, tensor, 64, 64, 128, 32, 64, 2);
    ASSERT_EQ(tesa_rt_end_call(), 0) << lastError();
  }
  EXPECT_EQ(fake->tensorMapEncodes, 1);
  EXPECT_EQ(first[0], 32);
  EXPECT_EQ(std::memcmp(first, second, sizeof(first)), 0);
  // Another box is another map.
  ASSERT_EQ(tesa_rt_begin_call(kFake, nullptr), 0);
  mgpuTesaEncodeTensorMap2D(second, tensor, 64, 64, 128, 64, 64, 3);
  ASSERT_EQ(tesa_rt_end_call(), 0) << lastError();
  EXPECT_EQ(fake->tensorMapEncodes, 2);
  EXPECT_EQ(second[0], 64);
}

//===----------------------------------------------------------------------===//
// Memory
//===----------------------------------------------------------------------===//

TEST_F(RuntimeTest, PoolMakesRepeatedCallsAllocationFree) {
  void *module = loadFakeModule(kModuleText);
  int stream;
  std::vector<uint32_t> out(100, 0);
  runCall(module, &stream, out.data(), 7);
  EXPECT_EQ(out, std::vector<uint32_t>(100, 7));
  EXPECT_EQ(counters().device_allocations, 2u);
  for (uint32_t value = 1; value <= 5; ++value) {
    runCall(module, &stream, out.data(), value);
    EXPECT_EQ(out, std::vector<uint32_t>(100, value));
  }
  EXPECT_EQ(counters().device_allocations, 2u);
  EXPECT_EQ(fake->allocations, 2);
  EXPECT_EQ(fake->frees, 0);
  EXPECT_EQ(counters().synchronisations, 0u);
  EXPECT_EQ(counters().module_loads, 1u);

  // Blocks are kept per stream: another stream gets its own.
  int other;
  runCall(module, &other, out.data(), 9);
  EXPECT_EQ(counters().device_allocations, 4u);

  // A nearby size of the same class reuses the block.
  ASSERT_EQ(tesa_rt_begin_call(kFake, &stream), 0);
  void *block = mgpuMemAlloc(2900, &stream, 0);
  mgpuMemFree(block, &stream);
  EXPECT_EQ(tesa_rt_end_call(), 0) << lastError();
  EXPECT_EQ(counters().device_allocations, 4u);
  mgpuModuleUnload(module);
}

TEST(MemoryPoolTest, SizeClasses) {
  EXPECT_EQ(MemoryPool::sizeClass(0), 256u);
  EXPECT_EQ(MemoryPool::sizeClass(1), 256u);
  EXPECT_EQ(MemoryPool::sizeClass(256), 256u);
  EXPECT_EQ(MemoryPool::sizeClass(257), 512u);
  EXPECT_EQ(MemoryPool::sizeClass(1 << 20), size_t(1) << 20);
  EXPECT_EQ(MemoryPool::sizeClass((1 << 20) + 1), size_t(5) << 18);
  EXPECT_EQ(MemoryPool::sizeClass(123456789), size_t(128) << 20);
  for (size_t bytes = 1; bytes < (size_t(1) << 40); bytes = bytes * 3 + 1) {
    size_t size = MemoryPool::sizeClass(bytes);
    EXPECT_GE(size, bytes);
    EXPECT_LE(size, std::max<size_t>(256, bytes + bytes / 4 + 255));
  }
}

TEST_F(RuntimeTest, HostSharedAllocationsAreRefused) {
  ASSERT_EQ(tesa_rt_begin_call(kFake, nullptr), 0);
  EXPECT_EQ(mgpuMemAlloc(64, nullptr, 1), nullptr);
  EXPECT_NE(tesa_rt_end_call(), 0);
  EXPECT_EQ(lastError(),
            "mgpuMemAlloc: host-shared allocations are not supported");
}

TEST_F(RuntimeTest, OutOfMemoryIsReadable) {
  fake->memoryLimit = 1 << 20;
  ASSERT_EQ(tesa_rt_begin_call(kFake, nullptr), 0);
  // A cached block is returned to the driver before giving up.
  mgpuMemFree(mgpuMemAlloc(1000, nullptr, 0), nullptr);
  EXPECT_EQ(mgpuMemAlloc(123456789, nullptr, 0), nullptr);
  EXPECT_EQ(tesa_rt_end_call(), 2);
  EXPECT_EQ(fake->frees, 1);
  EXPECT_EQ(lastError(), "out of device memory allocating 123456789 bytes: "
                         "FAKE_ERROR_OUT_OF_MEMORY (out of memory)");
  void *ptr = nullptr;
  EXPECT_EQ(tesa_rt_malloc(123456, &ptr), 0);
  EXPECT_EQ(tesa_rt_malloc(2 << 20, &ptr), 2);
  EXPECT_TRUE(startsWith(lastError(),
                         "out of device memory allocating 2097152 bytes: "));
}

// The only test that reaches tesa_rt_check_buffer's range check, which reads
// TESA_CHECK_BUFFERS once.
TEST_F(RuntimeTest, EntryPointBuffersAreChecked) {
  ASSERT_EQ(setenv("TESA_CHECK_BUFFERS", "1", 1), 0);
  ASSERT_EQ(tesa_rt_init(kFake), 0);
  void *buffer = nullptr;
  ASSERT_EQ(tesa_rt_malloc(256, &buffer), 0);
  auto *bytes = static_cast<char *>(buffer);
  const char *what = "f: arg1 (8x8 float32)";

  ASSERT_EQ(tesa_rt_begin_call(kFake, nullptr), 0);
  EXPECT_EQ(tesa_rt_check_buffer(bytes, 256, what), 0) << lastError();
  EXPECT_EQ(tesa_rt_check_buffer(bytes + 16, 240, what), 0) << lastError();
  EXPECT_EQ(tesa_rt_check_buffer(nullptr, 0, what), 0);
  EXPECT_EQ(tesa_rt_end_call(), 0);

  auto failure = [&](const void *pointer, uint64_t size) {
    EXPECT_EQ(tesa_rt_begin_call(kFake, nullptr), 0);
    EXPECT_NE(tesa_rt_check_buffer(pointer, size, what), 0);
    // The first failure is the call's.
    EXPECT_EQ(tesa_rt_check_buffer(bytes, 256, what), 0);
    EXPECT_NE(tesa_rt_end_call(), 0);
    return lastError();
  };
  EXPECT_EQ(failure(nullptr, 256), "f: arg1 (8x8 float32) is NULL");
  EXPECT_TRUE(startsWith(failure(bytes + 4, 16), "f: arg1 (8x8 float32) at 0x"))
      << lastError();
  EXPECT_NE(lastError().find("is not aligned to 16 bytes"), std::string::npos);
  EXPECT_NE(failure(bytes + 16, 256).find(
                "needs 256 bytes from 0x"),
            std::string::npos)
      << lastError();
  EXPECT_NE(lastError().find("its allocation ends 240 bytes after it"),
            std::string::npos);
  alignas(16) static char host[64];
  EXPECT_NE(failure(host, 64).find(
                "is not device memory of the current context: "
                "fakeMemGetAddressRange failed: FAKE_ERROR_INVALID_VALUE"),
            std::string::npos)
      << lastError();
  EXPECT_EQ(tesa_rt_free(buffer), 0);
}

TEST_F(RuntimeTest, FreeingAForeignPointerIsAnError) {
  ASSERT_EQ(tesa_rt_begin_call(kFake, nullptr), 0);
  int local;
  mgpuMemFree(&local, nullptr);
  mgpuMemFree(nullptr, nullptr);
  EXPECT_NE(tesa_rt_end_call(), 0);
  EXPECT_TRUE(startsWith(lastError(), "mgpuMemFree:")) << lastError();
}

TEST_F(RuntimeTest, DeviceConstantIsUploadedOnce) {
  static const float weights[64] = {1, 2, 3, 4};
  void *first = nullptr;
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(tesa_rt_begin_call(kFake, nullptr), 0);
    void *device = mgpuTesaDeviceConstant(weights, sizeof(weights));
    ASSERT_NE(device, nullptr) << lastError();
    if (i == 0)
      first = device;
    EXPECT_EQ(device, first);
    EXPECT_EQ(tesa_rt_end_call(), 0);
  }
  EXPECT_EQ(fake->uploads, 1);
  EXPECT_EQ(counters().device_allocations, 1u);
  EXPECT_EQ(std::memcmp(first, weights, sizeof(weights)), 0);
}

TEST_F(RuntimeTest, CopiesAndMemsets) {
  ASSERT_EQ(tesa_rt_init(kFake), 0);
  void *device = nullptr;
  ASSERT_EQ(tesa_rt_malloc(64, &device), 0);
  EXPECT_EQ(counters().device_allocations, 1u);
  std::vector<uint8_t> in(64), out(64, 0);
  for (size_t i = 0; i < in.size(); ++i)
    in[i] = uint8_t(i);
  EXPECT_EQ(tesa_rt_memcpy_htod(device, in.data(), 64, nullptr), 0);
  EXPECT_EQ(tesa_rt_memcpy_dtoh(out.data(), device, 64, nullptr), 0);
  EXPECT_EQ(in, out);
  EXPECT_EQ(counters().synchronisations, 2u);
  mgpuMemset32(device, 0x01020304, 4, nullptr);
  mgpuMemset16(static_cast<char *>(device) + 16, 0xabcd, 8, nullptr);
  EXPECT_EQ(tesa_rt_memcpy_dtoh(out.data(), device, 64, nullptr), 0);
  uint32_t word;
  std::memcpy(&word, out.data() + 12, 4);
  EXPECT_EQ(word, 0x01020304u);
  uint16_t half;
  std::memcpy(&half, out.data() + 30, 2);
  EXPECT_EQ(half, 0xabcd);
  EXPECT_EQ(out[32], 32);
  EXPECT_EQ(tesa_rt_free(device), 0);
  char name[64];
  EXPECT_EQ(tesa_rt_device_name(name, sizeof(name)), 0);
  EXPECT_STREQ(name, "Fake GPU");
}

TEST_F(RuntimeTest, ConcurrentCallsShareModulesAndKeepPoolsPerStream) {
  void *module = loadFakeModule(kModuleText);
  constexpr int kThreads = 4, kCalls = 50;
  std::vector<std::thread> threads;
  std::vector<int> streams(kThreads);
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      std::vector<uint32_t> out(100);
      for (int i = 0; i < kCalls; ++i) {
        runCall(module, &streams[t], out.data(), uint32_t(t));
        EXPECT_EQ(out, std::vector<uint32_t>(100, uint32_t(t)));
      }
    });
  for (std::thread &thread : threads)
    thread.join();
  EXPECT_EQ(fake->moduleLoads, 1);
  EXPECT_EQ(fake->functionLookups, 1);
  EXPECT_EQ(counters().device_allocations, 2u * kThreads);
  EXPECT_EQ(counters().launches, uint64_t(kThreads) * kCalls);
  mgpuModuleUnload(module);
}

//===----------------------------------------------------------------------===//
// Real backends
//===----------------------------------------------------------------------===//

class RealBackendTest : public ::testing::Test {
protected:
  void SetUp() override { resetBackendsForTesting(); }
  void TearDown() override {
    tesa_rt_end_call();
    resetBackendsForTesting();
  }

  /// Skips the test if `kind` has a device.
  void expectNoDevice(tesa_rt_backend kind, const std::string &prefix) {
    int count = -1;
    int status = tesa_rt_device_count(kind, &count);
    if (status == 0 && count > 0)
      GTEST_SKIP() << "a device is present";
    // A driver that is present but fails otherwise (status != 0) must still
    // say why below.
    if (status == 0)
      EXPECT_EQ(count, 0);
    else
      EXPECT_TRUE(startsWith(lastError(), prefix)) << lastError();
    EXPECT_NE(tesa_rt_init(kind), 0);
    EXPECT_TRUE(startsWith(lastError(), prefix)) << lastError();
    // A call fails the same way; generated code then does nothing.
    EXPECT_NE(tesa_rt_begin_call(kind, nullptr), 0);
    EXPECT_TRUE(startsWith(lastError(), prefix)) << lastError();
    EXPECT_EQ(mgpuMemAlloc(16, nullptr, 0), nullptr);
    EXPECT_EQ(mgpuModuleGetFunction(nullptr, "part0"), nullptr);
    EXPECT_NE(tesa_rt_end_call(), 0);
    EXPECT_TRUE(startsWith(lastError(), prefix)) << lastError();
  }
};

TEST_F(RealBackendTest, CUDAWithoutDevice) {
  expectNoDevice(TESA_RT_BACKEND_CUDA, "no CUDA device: ");
}

TEST_F(RealBackendTest, HIPWithoutDevice) {
  expectNoDevice(TESA_RT_BACKEND_HIP, "no HIP device: ");
}

TEST_F(RealBackendTest, UnknownBackend) {
  int count = 0;
  EXPECT_NE(tesa_rt_device_count(static_cast<tesa_rt_backend>(7), &count), 0);
  EXPECT_EQ(lastError(), "unknown tesa_rt_backend 7");
}

/// fill(uint32_t *dst, uint32_t value, uint32_t count), for sm_50 and up.
const char kFillPTX[] = R"(
.version 6.0
.target sm_50
.address_size 64

.visible .entry fill(.param .u64 dst, .param .u32 value, .param .u32 count)
{
  .reg .pred %p<2>;
  .reg .b32 %r<6>;
  .reg .b64 %rd<5>;
  ld.param.u64 %rd1, [dst];
  ld.param.u32 %r1, [value];
  ld.param.u32 %r2, [count];
  mov.u32 %r3, %ctaid.x;
  mov.u32 %r4, %ntid.x;
  mov.u32 %r5, %tid.x;
  mad.lo.s32 %r3, %r3, %r4, %r5;
  setp.ge.u32 %p1, %r3, %r2;
  @%p1 bra DONE;
  cvta.to.global.u64 %rd2, %rd1;
  mul.wide.u32 %rd3, %r3, 4;
  add.s64 %rd4, %rd2, %rd3;
  st.global.u32 [%rd4], %r1;
DONE:
  ret;
}
)";

TEST_F(RealBackendTest, CUDARunsAPTXKernel) {
  int count = 0;
  if (tesa_rt_device_count(TESA_RT_BACKEND_CUDA, &count) != 0 || count == 0)
    GTEST_SKIP() << "no CUDA device";
  ASSERT_EQ(tesa_rt_init(TESA_RT_BACKEND_CUDA), 0) << lastError();
  char name[256];
  ASSERT_EQ(tesa_rt_device_name(name, sizeof(name)), 0) << lastError();
  std::printf("device: %s\n", name);

  void *module = mgpuModuleLoadJIT(const_cast<char *>(kFillPTX), 2);
  void *stream = mgpuStreamCreate();
  ASSERT_NE(stream, nullptr) << lastError();
  void *result = nullptr;
  uint32_t n = 1000;
  ASSERT_EQ(tesa_rt_malloc(n * 4, &result), 0) << lastError();
  tesa_rt_counters before;
  for (uint32_t call = 0; call < 3; ++call) {
    if (call == 1)
      tesa_rt_get_counters(&before);
    ASSERT_EQ(tesa_rt_begin_call(TESA_RT_BACKEND_CUDA, stream), 0)
        << lastError();
    void *s = mgpuStreamCreate();
    void *buffer = mgpuMemAlloc(n * 4, s, 0);
    mgpuMemset32(buffer, 0, n, s);
    void *fill = mgpuModuleGetFunction(module, "fill");
    uint32_t value = 40 + call;
    void *params[] = {&buffer, &value, &n};
    mgpuLaunchKernel(fill, (n + 127) / 128, 1, 1, 128, 1, 1, 0, s, params,
                     nullptr, 3);
    mgpuMemcpy(result, buffer, n * 4, s);
    mgpuMemFree(buffer, s);
    mgpuStreamSynchronize(s);
    mgpuStreamDestroy(s);
    ASSERT_EQ(tesa_rt_end_call(), 0) << lastError();
    std::vector<uint32_t> host(n);
    ASSERT_EQ(tesa_rt_memcpy_dtoh(host.data(), result, n * 4, stream), 0)
        << lastError();
    EXPECT_EQ(host, std::vector<uint32_t>(n, value));
  }
  tesa_rt_counters after;
  tesa_rt_get_counters(&after);
  EXPECT_EQ(after.device_allocations, before.device_allocations);
  EXPECT_EQ(after.module_loads, before.module_loads);
  // Only the tesa_rt_memcpy_dtoh of the test synchronised.
  EXPECT_EQ(after.synchronisations, before.synchronisations + 2);

  // Driver errors are readable.
  ASSERT_EQ(tesa_rt_begin_call(TESA_RT_BACKEND_CUDA, stream), 0);
  void *fill = mgpuModuleGetFunction(module, "fill");
  mgpuLaunchKernel(fill, 1, 1, 1, 4096, 1, 1, 0, stream, nullptr, nullptr, 0);
  EXPECT_NE(tesa_rt_end_call(), 0);
  EXPECT_TRUE(startsWith(lastError(), "kernel launch of 'fill' failed: "
                                      "CUDA_ERROR_INVALID_VALUE"))
      << lastError();
  static const char garbage[] = "\x7f"
                                "ELF not really a cubin";
  void *bad = mgpuModuleLoad(const_cast<char *>(garbage), sizeof(garbage));
  ASSERT_EQ(tesa_rt_begin_call(TESA_RT_BACKEND_CUDA, stream), 0);
  EXPECT_EQ(mgpuModuleGetFunction(bad, "fill"), nullptr);
  EXPECT_NE(tesa_rt_end_call(), 0);
  EXPECT_TRUE(startsWith(lastError(), "cuModuleLoadData failed: CUDA_ERROR_"))
      << lastError();
  std::printf("bad module: %s\n", tesa_rt_last_error());

  void *weights = nullptr;
  static const uint32_t host[4] = {1, 2, 3, 4};
  ASSERT_EQ(tesa_rt_begin_call(TESA_RT_BACKEND_CUDA, stream), 0);
  weights = mgpuTesaDeviceConstant(host, sizeof(host));
  EXPECT_EQ(mgpuTesaDeviceConstant(host, sizeof(host)), weights);
  ASSERT_EQ(tesa_rt_end_call(), 0) << lastError();
  uint32_t back[4] = {};
  ASSERT_EQ(tesa_rt_memcpy_dtoh(back, weights, sizeof(back), stream), 0);
  EXPECT_EQ(std::memcmp(back, host, sizeof(host)), 0);

  EXPECT_EQ(tesa_rt_free(result), 0) << lastError();
  mgpuStreamDestroy(stream);
  mgpuModuleUnload(bad);
  mgpuModuleUnload(module);
}

} // namespace
