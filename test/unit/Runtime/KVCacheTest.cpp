//===- KVCacheTest.cpp - Block manager and paged attention ----------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "KVCache.h"
#include "Kernels.h"
#include "PositionMath.h"
#include "Simd.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

using namespace llmrt;

namespace {

TEST(BlockManagerTest, AllocatesReusesAndRefusesWhenFull) {
  BlockManager manager(/*numBlocks=*/4, /*blockSize=*/4);
  std::string error;
  int64_t a = manager.addSequence();
  ASSERT_TRUE(manager.reserve(a, 5, error)); // 2 blocks
  EXPECT_EQ(manager.getNumFreeBlocks(), 2);
  int64_t b = manager.addSequence();
  ASSERT_TRUE(manager.reserve(b, 8, error)); // 2 blocks
  EXPECT_EQ(manager.getNumFreeBlocks(), 0);
  // Full: an error that says why, and the sequence is unchanged.
  EXPECT_FALSE(manager.reserve(a, 4, error));
  EXPECT_EQ(error, "KV cache full: sequence 0 needs 1 more blocks of 4 "
                   "tokens, 0 of 4 are free");
  EXPECT_EQ(manager.getLength(a), 5);
  // Growing within the last block needs no new block.
  EXPECT_TRUE(manager.reserve(a, 3, error));
  EXPECT_EQ(manager.getLength(a), 8);
  manager.release(b);
  EXPECT_EQ(manager.getNumFreeBlocks(), 2);
  int64_t c = manager.addSequence();
  EXPECT_TRUE(manager.reserve(c, 8, error));
  EXPECT_EQ(manager.getNumFreeBlocks(), 0);
}

TEST(BlockManagerTest, SlotsAndBlockTables) {
  BlockManager manager(8, 4);
  std::string error;
  int64_t a = manager.addSequence();
  int64_t b = manager.addSequence();
  ASSERT_TRUE(manager.reserve(a, 2, error));
  ASSERT_TRUE(manager.reserve(b, 6, error));
  ASSERT_TRUE(manager.reserve(a, 4, error));
  // a owns blocks 0 then 3 (b took 1 and 2 in between).
  int32_t table[4];
  ASSERT_TRUE(manager.getBlockTable(a, table, 4));
  EXPECT_EQ(std::vector<int32_t>(table, table + 4),
            (std::vector<int32_t>{0, 3, -1, -1}));
  int32_t slots[6];
  manager.getSlots(a, 0, 6, slots);
  EXPECT_EQ(std::vector<int32_t>(slots, slots + 6),
            (std::vector<int32_t>{0, 1, 2, 3, 12, 13}));
  EXPECT_FALSE(manager.getBlockTable(a, table, 1));
}

TEST(BlockManagerTest, SlidingWindowEviction) {
  BlockManager manager(4, 4);
  std::string error;
  int64_t a = manager.addSequence();
  ASSERT_TRUE(manager.reserve(a, 10, error)); // 3 blocks
  manager.evictBefore(a, 9);                  // blocks 0 and 1 hold 0..7
  EXPECT_EQ(manager.getNumFreeBlocks(), 3);
  int32_t table[3];
  ASSERT_TRUE(manager.getBlockTable(a, table, 3));
  EXPECT_EQ(table[0], -1);
  EXPECT_EQ(table[1], -1);
  EXPECT_GE(table[2], 0);
  // Freed blocks serve the sequence's growth.
  ASSERT_TRUE(manager.reserve(a, 12, error));
  EXPECT_EQ(manager.getLength(a), 22);
}

TEST(KVCachePoolTest, BytesPerToken) {
  KVCacheConfig config;
  config.numLayers = 22;
  config.kvHeads = 4;
  config.headDim = 64;
  config.blockSize = 16;
  config.dtype = LLMK_F16;
  EXPECT_DOUBLE_EQ(getKVBytesPerToken(config), 22528.0);
  config.dtype = LLMK_I8;
  EXPECT_DOUBLE_EQ(getKVBytesPerToken(config), 2.0 * 22 * 256 * (1 + 4.0 / 64));
  std::string error;
  config.dtype = 7;
  EXPECT_EQ(KVCachePool::create(config, 4, error), nullptr);
  EXPECT_EQ(error,
            "KV cache: expected dtype f32, f16, bf16 or i8, found code 7");
  config.dtype = LLMK_F32;
  EXPECT_EQ(KVCachePool::create(config, int64_t(1) << 60, error), nullptr);
  EXPECT_EQ(error, "KV cache: 1152921504606846976 blocks of 16 tokens do not "
                   "fit in 64-bit sizes");
}

/// Paged attention over keys scattered in blocks equals dense attention.
struct PagedCase {
  int32_t dtype;
  int64_t heads, kvHeads, headDim;
  int32_t mask;
  int64_t window;
  bool alibi;
  double tolerance;
  /// Queries per sequence: 32 and more take the gather + dense path.
  int64_t qLen = 3;
  /// T5's relative position bias (unidirectional buckets) from a table.
  bool relative = false;
};

class PagedAttentionTest : public ::testing::TestWithParam<PagedCase> {};

TEST_P(PagedAttentionTest, MatchesDenseAttention) {
  const PagedCase &p = GetParam();
  const int64_t blockSize = 4, batch = 2, qLen = p.qLen;
  const int64_t lengths[batch] = {qLen + 16, qLen + 8};
  const int64_t maxBlocks = (lengths[0] + blockSize - 1) / blockSize;
  KVCacheConfig config{/*numLayers=*/2, p.kvHeads, p.headDim, blockSize,
                       p.dtype};
  std::string error;
  auto pool = KVCachePool::create(config, /*numBlocks=*/2 * maxBlocks, error);
  ASSERT_TRUE(pool) << error;
  BlockManager manager(2 * maxBlocks, blockSize);
  std::mt19937 rng(42);
  std::normal_distribution<float> normal;
  int64_t qWidth = p.heads * p.headDim, kvWidth = p.kvHeads * p.headDim;
  std::vector<float> slopes(p.heads);
  llmk::alibiSlopes(p.heads, 8.0, slopes.data());
  float scale = 1.0f / std::sqrt(static_cast<float>(p.headDim));

  std::vector<int32_t> tables(batch * maxBlocks);
  std::vector<std::vector<float>> keys(batch), values(batch), queries(batch);
  for (int64_t b = 0; b < batch; ++b) {
    int64_t seq = manager.addSequence();
    int64_t n = lengths[b];
    keys[b].resize(n * kvWidth);
    values[b].resize(n * kvWidth);
    queries[b].resize(n * qWidth);
    for (float &x : keys[b])
      x = normal(rng);
    for (float &x : values[b])
      x = normal(rng);
    for (float &x : queries[b])
      x = normal(rng);
    // Append token by token, as decoding does, into layer 1.
    for (int64_t t = 0; t < n; ++t) {
      ASSERT_TRUE(manager.reserve(seq, 1, error)) << error;
      int32_t slot;
      manager.getSlots(seq, t, 1, &slot);
      llmk_kv_cache_append(pool->descriptor(), 1, &slot,
                           keys[b].data() + t * kvWidth,
                           values[b].data() + t * kvWidth, 1);
    }
    ASSERT_TRUE(
        manager.getBlockTable(seq, tables.data() + b * maxBlocks, maxBlocks));
  }
  ASSERT_EQ(llmk_take_error(), nullptr);

  // The last qLen queries of each sequence, batched, against dense
  // attention.
  std::vector<float> q(batch * qLen * qWidth), out(q.size());
  std::vector<int32_t> lens(lengths, lengths + batch);
  for (int64_t b = 0; b < batch; ++b)
    std::copy_n(queries[b].data() + (lengths[b] - qLen) * qWidth, qLen * qWidth,
                q.data() + b * qLen * qWidth);
  // A T5 bias table: 8 buckets, max distance 12, so that the distances of
  // the test reach the logarithmic buckets.
  const int64_t numBuckets = 8, maxDistance = 12;
  std::vector<float> table(numBuckets * p.heads);
  for (float &x : table)
    x = normal(rng);
  // Every instruction set the host has: the paged kernel reads f16/bf16
  // rows in place with each set's conversions.
  for (llmk::Isa isa :
       {llmk::Isa::Scalar, llmk::Isa::Avx2, llmk::Isa::Avx512}) {
    if (isa > llmk::getHostIsa())
      continue;
    llmk::setMaxIsa(isa);
    SCOPED_TRACE(llmk::getSimdKernels().name);
    llmk_paged_attention(
        q.data(), pool->descriptor(), 1, tables.data(), maxBlocks, lens.data(),
        p.alibi ? slopes.data() : nullptr, p.relative ? table.data() : nullptr,
        numBuckets, maxDistance, 0, out.data(), batch, qLen, p.heads, scale,
        p.mask, p.window);
    ASSERT_EQ(llmk_take_error(), nullptr);
    for (int64_t b = 0; b < batch; ++b) {
      std::vector<float> ref(qLen * qWidth), bias;
      if (p.relative) {
        bias.resize(p.heads * qLen * lengths[b]);
        llmk_relative_position_bias(table.data(), bias.data(), p.heads, qLen,
                                    lengths[b], numBuckets, maxDistance, 0);
      }
      llmk_attention(
          q.data() + b * qLen * qWidth, keys[b].data(), values[b].data(),
          nullptr, p.relative ? bias.data() : nullptr, 0, qLen * lengths[b],
          p.alibi ? slopes.data() : nullptr, ref.data(), 1, qLen, lengths[b],
          p.heads, p.kvHeads, p.headDim, p.headDim, scale, p.mask, p.window);
      for (int64_t i = 0; i < qLen * qWidth; ++i)
        ASSERT_NEAR(out[b * qLen * qWidth + i], ref[i], p.tolerance)
            << "sequence " << b << " element " << i;
    }
  }
  llmk::setMaxIsa(llmk::getHostIsa());
}

INSTANTIATE_TEST_SUITE_P(
    Cases, PagedAttentionTest,
    ::testing::Values(
        PagedCase{LLMK_F32, 4, 4, 16, LLMK_MASK_CAUSAL, 0, false, 1e-5},
        PagedCase{LLMK_F32, 8, 2, 32, LLMK_MASK_CAUSAL, 0, false, 1e-5},
        PagedCase{LLMK_F32, 4, 1, 64, LLMK_MASK_SLIDING_WINDOW, 5, false, 1e-5},
        PagedCase{LLMK_F32, 5, 5, 8, LLMK_MASK_CAUSAL, 0, true, 1e-5},
        // Rounding the cache to 16 bits bounds the error by the value range
        // times 2^-11 (f16) or 2^-8 (bf16).
        PagedCase{LLMK_F16, 8, 2, 32, LLMK_MASK_CAUSAL, 0, false, 4e-3},
        PagedCase{LLMK_BF16, 8, 2, 32, LLMK_MASK_CAUSAL, 0, false, 3e-2},
        // int8 with a scale per token and head: |error| <= absmax / 254 per
        // value, which through softmax and the value sum stays below 5e-2.
        PagedCase{LLMK_I8, 8, 2, 32, LLMK_MASK_CAUSAL, 0, false, 5e-2},
        // Prefill-sized query runs go through the gather + dense kernel.
        PagedCase{LLMK_F32, 8, 2, 32, LLMK_MASK_CAUSAL, 0, false, 1e-5, 40},
        PagedCase{LLMK_F32, 4, 1, 64, LLMK_MASK_SLIDING_WINDOW, 5, false, 1e-5,
                  33},
        PagedCase{LLMK_F32, 5, 5, 8, LLMK_MASK_CAUSAL, 0, true, 1e-5, 36},
        PagedCase{LLMK_F16, 8, 2, 32, LLMK_MASK_CAUSAL, 0, false, 4e-3, 40},
        // Cross-attention over a static cache: every key, both paths.
        PagedCase{LLMK_F32, 4, 4, 16, LLMK_MASK_BIDIRECTIONAL, 0, false, 1e-5},
        PagedCase{LLMK_F32, 8, 2, 32, LLMK_MASK_BIDIRECTIONAL, 0, false, 1e-5,
                  40},
        // T5's relative position bias from the table, for decode-sized and
        // prefill-sized query runs.
        PagedCase{LLMK_F32, 4, 4, 16, LLMK_MASK_CAUSAL, 0, false, 1e-5, 3,
                  true},
        PagedCase{LLMK_F32, 4, 4, 16, LLMK_MASK_CAUSAL, 0, false, 1e-5, 1,
                  true},
        PagedCase{LLMK_F32, 6, 6, 8, LLMK_MASK_CAUSAL, 0, false, 1e-5, 40,
                  true},
        PagedCase{LLMK_F16, 4, 4, 16, LLMK_MASK_CAUSAL, 0, false, 4e-3, 3,
                  true}));

/// A cross-attention cache longer than the queries' own positions allow in
/// causal attention: bidirectional attention reads all of it, whatever
/// q_len.
TEST(PagedAttentionCrossTest, MoreQueriesThanKeys) {
  const int64_t heads = 2, headDim = 8, keysLen = 3, qLen = 5, blockSize = 2;
  KVCacheConfig config{1, heads, headDim, blockSize, LLMK_F32};
  std::string error;
  auto pool = KVCachePool::create(config, 2, error);
  ASSERT_TRUE(pool) << error;
  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  std::vector<float> k(keysLen * heads * headDim), v(k.size()),
      q(qLen * heads * headDim), out(q.size()), ref(q.size());
  for (std::vector<float> *x : {&k, &v, &q})
    for (float &e : *x)
      e = normal(rng);
  int32_t slots[keysLen] = {2, 3, 0}, blockTable[2] = {1, 0};
  int32_t length = keysLen;
  llmk_kv_cache_append(pool->descriptor(), 0, slots, k.data(), v.data(),
                       keysLen);
  llmk_paged_attention(q.data(), pool->descriptor(), 0, blockTable, 2, &length,
                       nullptr, nullptr, 0, 0, 0, out.data(), 1, qLen, heads,
                       0.5f, LLMK_MASK_BIDIRECTIONAL, 0);
  ASSERT_EQ(llmk_take_error(), nullptr);
  llmk_attention(q.data(), k.data(), v.data(), nullptr, nullptr, 0, 0, nullptr,
                 ref.data(), 1, qLen, keysLen, heads, heads, headDim, headDim,
                 0.5f, LLMK_MASK_BIDIRECTIONAL, 0);
  for (size_t i = 0; i < out.size(); ++i)
    ASSERT_NEAR(out[i], ref[i], 1e-5) << "element " << i;
}

} // namespace

namespace {

/// Bad block tables and lengths are reported through llmk_take_error, with
/// zeros or the valid part of the sum, never an out-of-bounds read.
TEST(PagedAttentionErrorTest, InvalidBlocksAndLengths) {
  const int64_t heads = 2, headDim = 8, blockSize = 4;
  KVCacheConfig config{1, heads, headDim, blockSize, LLMK_F32};
  std::string error;
  auto pool = KVCachePool::create(config, 2, error);
  ASSERT_TRUE(pool) << error;
  std::vector<float> kv(8 * heads * headDim, 1.0f);
  int32_t slots[8] = {0, 1, 2, 3, 4, 5, 6, 7};
  llmk_kv_cache_append(pool->descriptor(), 0, slots, kv.data(), kv.data(), 8);
  ASSERT_EQ(llmk_take_error(), nullptr);
  std::vector<float> q(heads * headDim, 0.5f), out(q.size(), 7.0f);

  // A block index past the pool: reported; the other block still counts.
  int32_t badTable[2] = {0, 9};
  int32_t length = 8;
  llmk_paged_attention(q.data(), pool->descriptor(), 0, badTable, 2, &length,
                       nullptr, nullptr, 0, 0, 0, out.data(), 1, 1, heads, 0.5f,
                       LLMK_MASK_CAUSAL, 0);
  const char *message = llmk_take_error();
  ASSERT_NE(message, nullptr);
  EXPECT_STREQ(message, "llmk_paged_attention: block index outside the cache");
  for (float x : out)
    EXPECT_FLOAT_EQ(x, 1.0f); // The mean of the valid block's ones.

  // A length beyond the blocks of the table: reported, zeros written.
  int32_t table[2] = {0, 1};
  length = 9;
  llmk_paged_attention(q.data(), pool->descriptor(), 0, table, 2, &length,
                       nullptr, nullptr, 0, 0, 0, out.data(), 1, 1, heads, 0.5f,
                       LLMK_MASK_CAUSAL, 0);
  message = llmk_take_error();
  ASSERT_NE(message, nullptr);
  EXPECT_STREQ(message, "llmk_paged_attention: context length exceeds the "
                        "sequence's blocks");
  for (float x : out)
    EXPECT_EQ(x, 0.0f);
}

} // namespace
