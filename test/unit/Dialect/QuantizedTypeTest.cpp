//===- QuantizedTypeTest.cpp - Storage arithmetic of !llm.qweight ---------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "llm/dialects/LLM/IR/LLMOps.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/IR/Diagnostics.h"

#include <gtest/gtest.h>

using namespace mlir;
using namespace mlir::llm;

namespace {

class QuantizedTypeTest : public ::testing::Test {
protected:
  QuantizedTypeTest() { context.loadDialect<LLMDialect>(); }

  QuantizedType get(ArrayRef<int64_t> shape, unsigned bits, int64_t group,
                    Type scale, bool symmetric, QuantPacking packing) {
    return QuantizedType::getChecked(
        [&] { return emitError(UnknownLoc::get(&context)); }, &context, shape,
        bits, group, scale, symmetric, packing);
  }

  Type f16() { return Float16Type::get(&context); }
  Type f32() { return Float32Type::get(&context); }

  MLIRContext context;
};

TEST_F(QuantizedTypeTest, Q4_0LikeLayoutIsFourAndAHalfBits) {
  // llama.cpp's Q4_0: 32 weights share an f16 scale: 4.5 bits per weight.
  QuantizedType t = get({4096, 4096}, 4, 32, f16(), true, QuantPacking::Nibble);
  ASSERT_TRUE(t);
  EXPECT_EQ(t.getNumGroups(), 4096 * 4096 / 32);
  EXPECT_EQ(t.getPackedWeightBytes(), 4096 * 4096 / 2);
  EXPECT_EQ(t.getScaleBytes(), 4096 * 4096 / 32 * 2);
  EXPECT_EQ(t.getZeroPointBytes(), 0);
  EXPECT_DOUBLE_EQ(t.getBitsPerWeight(), 4.5);
}

TEST_F(QuantizedTypeTest, Q8_0LikeLayoutIsEightAndAHalfBits) {
  QuantizedType t = get({256, 512}, 8, 32, f16(), true, QuantPacking::Byte);
  ASSERT_TRUE(t);
  EXPECT_EQ(t.getStorageBytes(), 256 * 512 + 256 * 512 / 32 * 2);
  EXPECT_DOUBLE_EQ(t.getBitsPerWeight(), 8.5);
}

TEST_F(QuantizedTypeTest, GPTQWithZeroPoints) {
  // GPTQ 4-bit, group 128, f16 scales, packed 4-bit zero points.
  QuantizedType t =
      get({4096, 11008}, 4, 128, f16(), false, QuantPacking::GPTQ);
  ASSERT_TRUE(t);
  int64_t groups = 4096 * 11008 / 128;
  EXPECT_EQ(t.getNumGroups(), groups);
  EXPECT_EQ(t.getZeroPointBytes(), groups / 2);
  EXPECT_EQ(t.getStorageBytes(), 4096 * 11008 / 2 + groups * 2 + groups / 2);
  EXPECT_DOUBLE_EQ(t.getBitsPerWeight(), 4.0 + 16.0 / 128 + 4.0 / 128);
}

TEST_F(QuantizedTypeTest, PerChannelInt8) {
  QuantizedType t = get({1000, 300}, 8, 0, f32(), true, QuantPacking::Byte);
  ASSERT_TRUE(t);
  EXPECT_EQ(t.getEffectiveGroupSize(), 300);
  EXPECT_EQ(t.getNumGroups(), 1000);
  EXPECT_EQ(t.getStorageBytes(), 1000 * 300 + 1000 * 4);
}

TEST_F(QuantizedTypeTest, OddZeroPointCountRoundsUpToWholeBytes) {
  // 3 groups of 4-bit zero points occupy 2 bytes.
  QuantizedType t = get({3, 64}, 4, 64, f16(), false, QuantPacking::Nibble);
  ASSERT_TRUE(t);
  EXPECT_EQ(t.getZeroPointBytes(), 2);
}

TEST_F(QuantizedTypeTest, RejectsGroupThatDoesNotDivideInput) {
  std::string message;
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
    message = diag.str();
    return success();
  });
  EXPECT_FALSE(get({64, 100}, 4, 32, f16(), true, QuantPacking::Nibble));
  EXPECT_EQ(message,
            "expected qweight group size 32 to divide the input dimension 100");
}

TEST_F(QuantizedTypeTest, RejectsPackingThatDoesNotFitBits) {
  std::string message;
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
    message = diag.str();
    return success();
  });
  EXPECT_FALSE(get({64, 64}, 8, 32, f16(), true, QuantPacking::Nibble));
  EXPECT_EQ(message,
            "expected packing 'byte' for 8-bit qweight, found 'nibble'");
}

TEST_F(QuantizedTypeTest, ParsesAndPrints) {
  Type t = parseType(
      "!llm.qweight<128x256, bits = 4, group = per_channel, scale = bf16, "
      "asymmetric, packing = awq>",
      &context);
  ASSERT_TRUE(t);
  auto q = cast<QuantizedType>(t);
  EXPECT_EQ(q.getGroupSize(), 0);
  EXPECT_FALSE(q.getSymmetric());
  EXPECT_EQ(q.getPacking(), QuantPacking::AWQ);
  std::string text;
  llvm::raw_string_ostream os(text);
  t.print(os);
  EXPECT_EQ(text, "!llm.qweight<128x256, bits = 4, group = per_channel, "
                  "scale = bf16, asymmetric, packing = awq>");
}

} // namespace
