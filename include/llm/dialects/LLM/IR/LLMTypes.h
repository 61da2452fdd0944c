//===- LLMTypes.h - Types of the llm dialect --------------------*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_DIALECTS_LLM_IR_LLMTYPES_H
#define LLM_DIALECTS_LLM_IR_LLMTYPES_H

#include "llm/dialects/LLM/IR/LLMAttrs.h"
#include "mlir/IR/Types.h"

#define GET_TYPEDEF_CLASSES
#include "llm/dialects/LLM/IR/LLMTypes.h.inc"

#endif // LLM_DIALECTS_LLM_IR_LLMTYPES_H
