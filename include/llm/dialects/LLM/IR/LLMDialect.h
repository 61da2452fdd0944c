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

#endif // LLM_DIALECTS_LLM_IR_LLMDIALECT_H
