//===- RuntimeError.h - The runtime's errors as llvm::Error -----*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// The runtime (libLLMRuntime) reports failures as llmrt::Status and
// llmrt::Expected<T> (runtime/Error.h) because it links no LLVM; compiler
// code that calls it converts them here, keeping the message.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_SUPPORT_RUNTIMEERROR_H
#define LLM_SUPPORT_RUNTIMEERROR_H

#include "Error.h"

#include "llvm/Support/Error.h"

namespace mlir {
namespace llm {

/// Success for an ok `status`, otherwise an llvm::Error with its message.
inline llvm::Error toLLVMError(const llmrt::Status &status) {
  if (status.isOk())
    return llvm::Error::success();
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 status.message());
}

} // namespace llm
} // namespace mlir

#endif // LLM_SUPPORT_RUNTIMEERROR_H
