//===- LLMAttrs.h - Enums and attributes of the llm dialect -----*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_DIALECTS_LLM_IR_LLMATTRS_H
#define LLM_DIALECTS_LLM_IR_LLMATTRS_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/APFloat.h"

#include "llm/dialects/LLM/IR/LLMEnums.h.inc"

namespace mlir::llm {
/// Parses a float parameter of an `llm` attribute or type.
FailureOr<APFloat> parseF64Parameter(AsmParser &parser);
/// Prints a float parameter so that it parses back to the same bits.
void printF64Parameter(AsmPrinter &printer, const APFloat &value);
/// Parses `[1, 2, ...]` into a list of integers.
FailureOr<SmallVector<int64_t>> parseI64List(AsmParser &parser);
/// Prints `[1, 2, ...]`.
void printI64List(AsmPrinter &printer, ArrayRef<int64_t> values);
} // namespace mlir::llm

#define GET_ATTRDEF_CLASSES
#include "llm/dialects/LLM/IR/LLMAttrs.h.inc"

#endif // LLM_DIALECTS_LLM_IR_LLMATTRS_H
