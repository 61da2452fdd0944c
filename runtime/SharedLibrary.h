//===- SharedLibrary.h - Native code from a shared object -------*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
// The CodeProvider of compiled code on disk: a `model.so` that llm-compile
// or the JIT's compile cache wrote, opened with dlopen. Its entry points
// call the kernels (llmk_*) by name, which the dynamic linker resolves from
// libLLMKernelsCPU, loaded with libllmrt.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_RUNTIME_SHAREDLIBRARY_H
#define LLM_RUNTIME_SHAREDLIBRARY_H

#include "Error.h"
#include "Model.h"

#include <memory>
#include <string>

namespace llmrt {

/// Opens the shared object at `path` (every symbol resolved now, so that a
/// missing kernel is an error here, not a crash mid-run); the provider
/// closes it when destroyed. Errors name the file and say why (dlerror).
Expected<std::unique_ptr<CodeProvider>>
openSharedLibrary(const std::string &path);

} // namespace llmrt

#endif // LLM_RUNTIME_SHAREDLIBRARY_H
