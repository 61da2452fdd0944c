//===- ParseJsonBoundedTest.cpp - Depth-limited llvm::json parsing --------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "llm/Import/JSON.h"

#include <gtest/gtest.h>

#include <string>

using namespace mlir::llm;

namespace {

TEST(ParseJsonBoundedTest, BoundsNestingAndNamesTheFile) {
  // 64 levels parse; the 65th is refused before llvm::json::parse recurses.
  std::string ok = std::string(64, '[') + std::string(64, ']');
  llvm::Expected<llvm::json::Value> v = parseJsonBounded(ok, "ok.json");
  ASSERT_TRUE(!!v) << llvm::toString(v.takeError());
  EXPECT_NE(v->getAsArray(), nullptr);
  for (std::string text : {std::string(65, '[') + std::string(65, ']'),
                           std::string(100'000, '[')}) {
    llvm::Expected<llvm::json::Value> deep =
        parseJsonBounded(text, "deep.json");
    ASSERT_FALSE(!!deep);
    EXPECT_EQ(llvm::toString(deep.takeError()),
              "deep.json: JSON nesting at byte 64 is too deep: expected at "
              "most 64 levels, found more");
  }
  // Brackets inside strings do not count.
  std::string quoted = "[\"" + std::string(1000, '[') + "\"]";
  llvm::Expected<llvm::json::Value> s = parseJsonBounded(quoted, "s.json");
  ASSERT_TRUE(!!s) << llvm::toString(s.takeError());
  llvm::Expected<llvm::json::Value> bad = parseJsonBounded("{", "bad.json");
  ASSERT_FALSE(!!bad);
  EXPECT_EQ(llvm::toString(bad.takeError()),
            "bad.json: not valid JSON: [1:1, byte=1]: Expected object key");
}

} // namespace
