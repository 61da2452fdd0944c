//===- GGMLBlocksTest.cpp - llama.cpp's block formats ---------------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// llmk::dequantizeGGML against gguf-py's reference dequantizer
// (`gguf.quants.dequantize`) on random blocks of every type it reads
// (Inputs/ggml-blocks.bin, from scripts/make_ggml_block_fixtures.py), and
// llmk::decodeGGMLCodes (the kernels' codes, scales and offsets of the
// formats they read) against the same reference.
//
//===----------------------------------------------------------------------===//

#include "GGMLBlocks.h"
#include "Quant.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

namespace {

/// One type's blocks of Inputs/ggml-blocks.bin and gguf-py's values.
struct Case {
  uint32_t type;
  int64_t blocks, elements;
  const char *data;
  std::vector<float> expected;
  float largest = 0;
};

std::vector<Case> readCases(std::string &bytes) {
  std::ifstream in(LLMC_KERNEL_INPUTS "/ggml-blocks.bin", std::ios::binary);
  EXPECT_TRUE(in) << "cannot open " LLMC_KERNEL_INPUTS "/ggml-blocks.bin";
  bytes.assign(std::istreambuf_iterator<char>(in),
               std::istreambuf_iterator<char>());
  std::vector<Case> cases;
  size_t pos = 0;
  while (pos + 8 <= bytes.size()) {
    Case c;
    uint32_t blocks;
    std::memcpy(&c.type, bytes.data() + pos, 4);
    std::memcpy(&blocks, bytes.data() + pos + 4, 4);
    pos += 8;
    int64_t blockBytes;
    EXPECT_TRUE(llmk::getGGMLBlock(c.type, c.elements, blockBytes)) << c.type;
    c.blocks = blocks;
    c.data = bytes.data() + pos;
    pos += blocks * blockBytes;
    c.expected.resize(blocks * c.elements);
    EXPECT_LE(pos + c.expected.size() * 4, bytes.size());
    if (pos + c.expected.size() * 4 > bytes.size())
      break;
    std::memcpy(c.expected.data(), bytes.data() + pos, c.expected.size() * 4);
    pos += c.expected.size() * 4;
    for (float v : c.expected)
      c.largest = std::max(c.largest, std::fabs(v));
    cases.push_back(std::move(c));
  }
  return cases;
}

TEST(GGMLBlocksTest, MatchesTheReference) {
  std::string bytes;
  std::set<uint32_t> seen;
  for (const Case &c : readCases(bytes)) {
    std::vector<float> found(c.expected.size());
    ASSERT_TRUE(llmk::dequantizeGGML(c.type, c.data, c.blocks, found.data()));
    for (size_t i = 0; i < found.size(); ++i)
      ASSERT_NEAR(found[i], c.expected[i], 1e-6f * c.largest)
          << "type " << c.type << " element " << i;
    seen.insert(c.type);
  }
  // Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K..Q6_K, IQ4_NL.
  EXPECT_EQ(seen, (std::set<uint32_t>{2, 3, 6, 7, 8, 10, 11, 12, 13, 14, 20}));
}

TEST(GGMLBlocksTest, KernelCodesMatchTheReference) {
  std::string bytes;
  std::set<uint32_t> seen;
  for (const Case &c : readCases(bytes)) {
    const llmk::GGMLKernelFormat *format = llmk::getGGMLKernelFormat(c.type);
    if (!format)
      continue;
    ASSERT_EQ(format->blockElements, c.elements);
    EXPECT_EQ(llmk::findGGMLKernelFormat(format->checkpoint), format);
    const int64_t n = c.blocks * c.elements;
    std::vector<int8_t> codes(n);
    const int64_t group = format->group;
    std::vector<float> scales(n / group), offsets(n / group);
    ASSERT_TRUE(llmk::decodeGGMLCodes(c.type, c.data, c.blocks, codes.data(),
                                      scales.data(), offsets.data()));
    const int lo = format->bits == 8 ? -128 : 0,
              hi = format->bits == 8 ? 127 : (1 << format->bits) - 1;
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_GE(codes[i], lo) << format->checkpoint << " element " << i;
      ASSERT_LE(codes[i], hi) << format->checkpoint << " element " << i;
      const float scaled = scales[i / group] * static_cast<float>(codes[i]);
      ASSERT_NEAR(scaled + offsets[i / group], c.expected[i], 1e-6f * c.largest)
          << format->checkpoint << " element " << i;
      if (format->symmetric && format->bits == 8)
        ASSERT_EQ(offsets[i / group], 0.0f);
    }
    // Packed for the kernels (f16 scales and offsets) and read back: the
    // values within the f16 rounding of the scale and offset.
    const int64_t k = format->blockElements, rows = c.blocks;
    std::vector<llmk::QuantGrid> grids(n / group);
    for (size_t g = 0; g < grids.size(); ++g) {
      grids[g].scale = scales[g];
      grids[g].offset = offsets[g];
    }
    std::vector<uint8_t> packed(
        llmk::quantPackedBytes(rows, k, format->bits, group));
    llmk::packQuantized(codes.data(), grids.data(), rows, k, format->bits,
                        group, packed.data());
    std::vector<float> row(k);
    for (int64_t r = 0; r < rows; ++r) {
      llmk::dequantize(packed.data(), rows, k, format->bits, group, r, 0, k,
                       row.data());
      for (int64_t i = 0; i < k; ++i) {
        const int64_t g = (r * k + i) / group;
        const float bound =
            (std::fabs(scales[g] * codes[r * k + i]) + std::fabs(offsets[g])) *
                0x1p-11f +
            1e-6f * c.largest;
        ASSERT_NEAR(row[i], c.expected[r * k + i], bound)
            << format->checkpoint << " row " << r << " element " << i;
      }
    }
    seen.insert(c.type);
  }
  EXPECT_EQ(seen, (std::set<uint32_t>{2, 3, 6, 7, 8, 12, 13, 14}));
  EXPECT_EQ(llmk::getGGMLKernelFormat(11), nullptr); // Q3_K
  EXPECT_EQ(llmk::findGGMLKernelFormat("ggml_q3_k"), nullptr);
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
