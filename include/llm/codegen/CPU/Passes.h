//===- Passes.h - CPU code generation passes --------------------*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_CODEGEN_CPU_PASSES_H
#define LLM_CODEGEN_CPU_PASSES_H

#include "llm/dialects/LLM/IR/LLMDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Pass/Pass.h"

namespace mlir::llm {

#define GEN_PASS_DECL
#include "llm/codegen/CPU/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "llm/codegen/CPU/Passes.h.inc"

} // namespace mlir::llm

#endif // LLM_CODEGEN_CPU_PASSES_H
