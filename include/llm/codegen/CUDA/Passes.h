//===- Passes.h - CUDA code generation passes --------------------*- C++
//-*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_CODEGEN_CUDA_PASSES_H
#define LLM_CODEGEN_CUDA_PASSES_H

#include "llm/dialects/LLM/IR/LLMDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Pass/Pass.h"

namespace mlir::llm {

#define GEN_PASS_DECL
#include "llm/codegen/CUDA/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "llm/codegen/CUDA/Passes.h.inc"

} // namespace mlir::llm

#endif // LLM_CODEGEN_CUDA_PASSES_H
