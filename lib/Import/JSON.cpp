//===- JSON.cpp - Depth-limited llvm::json parsing of untrusted files -----===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "llm/Import/JSON.h"
#include "llm/Support/RuntimeError.h"

#include "Json.h"

#include "llvm/ADT/Twine.h"

using namespace llvm;
using mlir::llm::toLLVMError;

/// Longest nesting accepted; valid config files nest a few levels deep.
static constexpr unsigned kMaxJsonDepth = 64;

static Error fail(const Twine &msg) {
  return createStringError(inconvertibleErrorCode(), msg);
}

Expected<json::Value> mlir::llm::parseJsonBounded(StringRef text,
                                                  StringRef file) {
  // llvm::json::parse recurses once per level, with no limit of its own.
  if (Error e = toLLVMError(
          llmrt::json::checkNesting(text, file.str(), kMaxJsonDepth)))
    return std::move(e);
  Expected<json::Value> parsed = json::parse(text);
  if (!parsed)
    return fail(file + ": not valid JSON: " + toString(parsed.takeError()));
  return parsed;
}
