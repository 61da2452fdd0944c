//===- JSON.cpp - Depth-limited llvm::json parsing of untrusted files -----===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "llm/Import/JSON.h"

#include "llvm/ADT/Twine.h"

using namespace llvm;

/// Longest nesting accepted; valid config files nest a few levels deep.
static constexpr unsigned kMaxJsonDepth = 64;

static Error fail(const Twine &msg) {
  return createStringError(inconvertibleErrorCode(), msg);
}

/// Rejects nesting deeper than kMaxJsonDepth before llvm::json::parse sees the
/// text. On any prefix the parser accepts, this lexer agrees with it on which
/// bytes are inside strings, so it bounds the parser's recursion.
static Error checkNesting(StringRef text, StringRef what) {
  unsigned depth = 0;
  bool inString = false;
  for (size_t i = 0, e = text.size(); i < e; ++i) {
    char c = text[i];
    if (inString) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        inString = false;
      continue;
    }
    switch (c) {
    case '"':
      inString = true;
      break;
    case '{':
    case '[':
      if (++depth > kMaxJsonDepth)
        return fail(what + ": JSON nesting at byte " + Twine(i) +
                    " is too deep: expected at most " + Twine(kMaxJsonDepth) +
                    " levels, found more");
      break;
    case '}':
    case ']':
      if (depth)
        --depth;
      break;
    default:
      break;
    }
  }
  return Error::success();
}

Expected<json::Value> mlir::llm::parseJsonBounded(StringRef text,
                                                  StringRef file) {
  if (Error e = checkNesting(text, file))
    return std::move(e);
  Expected<json::Value> parsed = json::parse(text);
  if (!parsed)
    return fail(file + ": not valid JSON: " + toString(parsed.takeError()));
  return parsed;
}
