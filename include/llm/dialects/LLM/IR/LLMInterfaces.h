//===- LLMInterfaces.h - Op interfaces of the llm dialect -------*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_DIALECTS_LLM_IR_LLMINTERFACES_H
#define LLM_DIALECTS_LLM_IR_LLMINTERFACES_H

#include "llm/dialects/LLM/IR/LLMAttrs.h"
#include "mlir/IR/OpDefinition.h"

#include "llm/dialects/LLM/IR/LLMInterfaces.h.inc"

#endif // LLM_DIALECTS_LLM_IR_LLMINTERFACES_H
