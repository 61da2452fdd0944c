//===- AlibiSlopesTest.cpp - llm-lower-alibi's slopes against the kernel -===//
//
// Part of LLMC, under the Apache License v2.0.
//
// --llm-lower-alibi replaces a bias computed by llmk_alibi with slopes it
// computes at compile time; the two must agree bit for bit, for head counts
// that are powers of two and those that are not.
//
//===----------------------------------------------------------------------===//

#include "llm/passes/Passes.h"

#include "Kernels.h"

#include "llvm/ADT/bit.h"

#include <gtest/gtest.h>

#include <vector>

namespace {

TEST(AlibiSlopes, MatchTheKernelBitForBit) {
  for (double maxBias : {8.0, 16.0, 4.5}) {
    for (int64_t heads = 1; heads <= 130; ++heads) {
      std::vector<float> kernel(heads);
      llmk_alibi_slopes(kernel.data(), heads, maxBias);
      llvm::SmallVector<float> slopes =
          mlir::llm::computeAlibiSlopes(heads, maxBias);
      ASSERT_EQ(static_cast<int64_t>(slopes.size()), heads);
      for (int64_t h = 0; h < heads; ++h)
        EXPECT_EQ(llvm::bit_cast<uint32_t>(slopes[h]),
                  llvm::bit_cast<uint32_t>(kernel[h]))
            << "heads = " << heads << ", head " << h
            << ", max_bias = " << maxBias;
    }
  }
}

TEST(AlibiSlopes, NoHeadsNoSlopes) {
  EXPECT_TRUE(mlir::llm::computeAlibiSlopes(0, 8.0).empty());
}

} // namespace
