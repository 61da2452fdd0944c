//===- SharedLibrary.cpp - Native code from a shared object ---------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "SharedLibrary.h"

#include <dlfcn.h>

namespace llmrt {
namespace {

class SharedLibraryCode : public CodeProvider {
public:
  explicit SharedLibraryCode(void *handle) : handle(handle) {}
  ~SharedLibraryCode() override { dlclose(handle); }
  void *lookup(std::string_view symbol) override {
    return dlsym(handle, std::string(symbol).c_str());
  }

private:
  void *handle;
};

} // namespace

Expected<std::unique_ptr<CodeProvider>>
openSharedLibrary(const std::string &path) {
  // RTLD_LOCAL: two models' entry points of one name stay apart.
  void *handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *why = dlerror();
    return Status::error(ErrorCode::Format,
                         path + ": cannot load the compiled code: " +
                             (why ? why : "unknown dlopen error"));
  }
  return std::unique_ptr<CodeProvider>(new SharedLibraryCode(handle));
}

} // namespace llmrt
