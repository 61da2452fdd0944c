//===- LLMDialect.cpp - The llm dialect -----------------------------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "llm/dialects/LLM/IR/LLMDialect.h"
#include "llm/dialects/LLM/IR/LLMOps.h"

using namespace mlir;
using namespace mlir::llm;

#include "llm/dialects/LLM/IR/LLMDialect.cpp.inc"
#include "llm/dialects/LLM/IR/LLMInterfaces.cpp.inc"

void LLMDialect::initialize() {
  registerAttributes();
  registerTypes();
  addOperations<
#define GET_OP_LIST
#include "llm/dialects/LLM/IR/LLMOps.cpp.inc"
      >();
}
