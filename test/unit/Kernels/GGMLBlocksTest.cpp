//===- GGMLBlocksTest.cpp - llama.cpp's block formats ---------------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// llmk::dequantizeGGML against gguf-py's reference dequantizer
// (`gguf.quants.dequantize`) on random blocks of every type it reads
// (Inputs/ggml-blocks.bin, from scripts/make_ggml_block_fixtures.py).
//
//===----------------------------------------------------------------------===//

#include "GGMLBlocks.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

namespace {

TEST(GGMLBlocksTest, MatchesTheReference) {
  std::ifstream in(LLMC_KERNEL_INPUTS "/ggml-blocks.bin", std::ios::binary);
  ASSERT_TRUE(in) << "cannot open " LLMC_KERNEL_INPUTS "/ggml-blocks.bin";
  std::string bytes((std::istreambuf_iterator<char>(in)),
                    std::istreambuf_iterator<char>());
  size_t pos = 0;
  std::set<uint32_t> seen;
  while (pos < bytes.size()) {
    uint32_t type, blocks;
    std::memcpy(&type, bytes.data() + pos, 4);
    std::memcpy(&blocks, bytes.data() + pos + 4, 4);
    pos += 8;
    int64_t elements, blockBytes;
    ASSERT_TRUE(llmk::getGGMLBlock(type, elements, blockBytes)) << type;
    const char *data = bytes.data() + pos;
    pos += blocks * blockBytes;
    std::vector<float> expected(blocks * elements), found(blocks * elements);
    std::memcpy(expected.data(), bytes.data() + pos, expected.size() * 4);
    pos += expected.size() * 4;
    ASSERT_LE(pos, bytes.size());
    ASSERT_TRUE(llmk::dequantizeGGML(type, data, blocks, found.data()));
    float largest = 0;
    for (float v : expected)
      largest = std::max(largest, std::fabs(v));
    for (size_t i = 0; i < found.size(); ++i)
      ASSERT_NEAR(found[i], expected[i], 1e-6f * largest)
          << "type " << type << " element " << i;
    seen.insert(type);
  }
  // Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K..Q6_K, IQ4_NL.
  EXPECT_EQ(seen, (std::set<uint32_t>{2, 3, 6, 7, 8, 10, 11, 12, 13, 14, 20}));
}

TEST(GGMLBlocksTest, FloatTypesAndUnknownOnes) {
  const uint16_t half = 0x3C00, bf16 = 0x3F80; // 1.0 each
  float out = 0;
  ASSERT_TRUE(llmk::dequantizeGGML(1, &half, 1, &out));
  EXPECT_EQ(out, 1.0f);
  ASSERT_TRUE(llmk::dequantizeGGML(30, &bf16, 1, &out));
  EXPECT_EQ(out, 1.0f);
  out = 7;
  EXPECT_FALSE(llmk::dequantizeGGML(16, &half, 1, &out)); // IQ2_XXS
  EXPECT_EQ(out, 7.0f);
  int64_t elements, bytes;
  EXPECT_FALSE(llmk::getGGMLBlock(4, elements, bytes));
}

} // namespace
