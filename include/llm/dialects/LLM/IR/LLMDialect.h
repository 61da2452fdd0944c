//===- LLMDialect.h - The llm dialect ---------------------------*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_DIALECTS_LLM_IR_LLMDIALECT_H
#define LLM_DIALECTS_LLM_IR_LLMDIALECT_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/Operation.h"

#include "llm/dialects/LLM/IR/LLMAttrs.h"

#include "llm/dialects/LLM/IR/LLMDialect.h.inc"

namespace mlir::llm {

/// The packings a quantized `llm.param`'s `checkpoint_format` names: GPTQ's
/// and AWQ's tensors, and ggml's block formats that the runtime repacks.
llvm::ArrayRef<llvm::StringRef> getCheckpointFormats();

} // namespace mlir::llm

#endif // LLM_DIALECTS_LLM_IR_LLMDIALECT_H
