//===- CAPI.h - What the C API's implementations share ----------*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
// The C API of libllmrt (llm-c/Runtime.h) and that of the JIT library
// (llm-c/JIT.h) hand out the same model handle and report errors the same
// way; this header gives both the handle's layout and the error path.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_RUNTIME_CAPI_H
#define LLM_RUNTIME_CAPI_H

#include "llm-c/Runtime.h"

#include "Error.h"
#include "Model.h"

#include <memory>

struct llmrt_model {
  std::unique_ptr<llmrt::Model> model;
};

namespace llmrt::capi {

/// Records `status`'s message as the thread's last error and returns its
/// code (`status` must be a failure).
LLMRT_API llmrt_status fail(const Status &status);
/// LLMRT_OK for a success, else `fail(status)`.
LLMRT_API llmrt_status check(const Status &status);

} // namespace llmrt::capi

#endif // LLM_RUNTIME_CAPI_H
