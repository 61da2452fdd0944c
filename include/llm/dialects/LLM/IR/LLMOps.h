//===- LLMOps.h - Operations of the llm dialect -----------------*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_DIALECTS_LLM_IR_LLMOPS_H
#define LLM_DIALECTS_LLM_IR_LLMOPS_H

#include "llm/dialects/LLM/IR/LLMAttrs.h"
#include "llm/dialects/LLM/IR/LLMDialect.h"
#include "llm/dialects/LLM/IR/LLMInterfaces.h"
#include "llm/dialects/LLM/IR/LLMTypes.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#define GET_OP_CLASSES
#include "llm/dialects/LLM/IR/LLMOps.h.inc"

namespace mlir::llm {

/// True when `use` is the weight operand of a projection (`llm.linear` or
/// `llm.linear_rope`): the operands that passes may give a projection-only
/// layout or type (llm-pack-weights, llm-quantize).
bool isProjectionWeight(OpOperand &use);

} // namespace mlir::llm

#endif // LLM_DIALECTS_LLM_IR_LLMOPS_H
