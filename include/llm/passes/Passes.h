//===- Passes.h - Passes of LLMC --------------------------------*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_PASSES_PASSES_H
#define LLM_PASSES_PASSES_H

#include "mlir/Pass/Pass.h"

namespace mlir::llm {

#define GEN_PASS_DECL
#include "llm/passes/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "llm/passes/Passes.h.inc"

} // namespace mlir::llm

#endif // LLM_PASSES_PASSES_H
