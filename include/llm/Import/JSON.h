//===- JSON.h - Depth-limited llvm::json parsing ----------------*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// The compiler reads config.json with llvm::json. The runtime has its own
// parser (runtime/Json.h) with the same error messages.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_IMPORT_JSON_H
#define LLM_IMPORT_JSON_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

namespace mlir {
namespace llm {

/// Parses untrusted JSON text (config.json, generation_config.json) with
/// llvm::json::parse after checking that it nests at most 64 levels deep: the
/// parser recurses once per level and has no limit of its own, so a file of
/// 100k '[' would overflow the stack. Errors read "<file>: not valid JSON:
/// ..." or "<file>: JSON nesting at byte N is too deep: ...". Numbers in the
/// result may be doubles: read integers with json::Value::getAsUINT64() or
/// after a range check, never with getAsInteger() alone (undefined behavior
/// on a double equal to 2^63).
llvm::Expected<llvm::json::Value> parseJsonBounded(llvm::StringRef text,
                                                   llvm::StringRef file);

} // namespace llm
} // namespace mlir

#endif // LLM_IMPORT_JSON_H
