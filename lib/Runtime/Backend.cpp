//===- Backend.cpp - Helpers shared by the runtime's backends -------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "Backend.h"

#include <cerrno>
#include <cstdlib>
#include <dlfcn.h>

using namespace tesa::rt;

std::string Error::message() const {
  if (!*call)
    return detail;
  return std::string(call) + " failed: " + detail;
}

Backend::~Backend() = default;

Error Backend::encodeTensorMap2D(void *, void *, uint64_t, uint64_t, uint64_t,
                                 uint32_t, uint32_t, int) {
  return Error(kRuntimeError, "",
               "this backend has no tensor memory accelerator (TMA)");
}

const char *Backend::name() const {
  return kind() == TESA_RT_BACKEND_HIP ? "HIP" : "CUDA";
}

void *tesa::rt::openLibrary(const char *const *names, std::string &error) {
  error.clear();
  for (; *names; ++names) {
    if (void *library = dlopen(*names, RTLD_NOW | RTLD_LOCAL))
      return library;
    const char *text = dlerror();
    if (error.empty())
      error = text ? text : "unknown dlopen error";
  }
  return nullptr;
}

void *tesa::rt::lookupSymbol(void *library, const char *name) {
  return dlsym(library, name);
}

bool tesa::rt::selectedDevice(int &device, std::string &error) {
  device = 0;
  const char *text = std::getenv("TESA_DEVICE");
  if (!text || !*text)
    return true;
  char *end = nullptr;
  errno = 0;
  long value = std::strtol(text, &end, 10);
  if (errno || *end || value < 0 || value > 1 << 20) {
    error = std::string("TESA_DEVICE='") + text + "' is not a device number";
    return false;
  }
  device = static_cast<int>(value);
  return true;
}
