//===- CudaKernelsTest.cpp - The CUDA kernels, verified without a GPU -----===//
//
// Part of LLMC, under the Apache License v2.0.
//
// Three layers, as the CUDA backend is verified on machines without a GPU:
//   - the kernels' tile-level math (runtime/cuda/kernels/Common.cuh),
//     compiled here for the host, against the CPU kernels' results;
//   - every kernel compiles under NVRTC for sm_80 and sm_90, for every
//     supported head dimension, with no local-memory spills and at most 64
//     registers per thread (the occupancy Kernels.cu documents);
//   - device execution, skipped with the reason where no device exists.
// NVRTC is loaded with dlopen: where it is missing the compile tests are
// skipped, saying so.
//
//===----------------------------------------------------------------------===//

#include "KVCache.h"
#include "Kernels.h"
#include "PositionMath.h"
#include "Quant.h"
#include "Sampler.h"
#include "cuda/Device.h"
#include "cuda/KernelSources.h"
#include "cuda/Launchers.h"
#include "cuda/Nvrtc.h"
#include "cuda/kernels/Common.cuh"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>

using namespace llmrt;
using namespace llmrt::cuda;

namespace {

std::vector<float> randomRow(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-6.0f, 6.0f);
  std::vector<float> row(n);
  for (float &v : row)
    v = dist(rng);
  return row;
}

/// Each value's bf16 bits: the upper half of its fp32 (truncated).
std::vector<uint16_t> truncateToBf16(const std::vector<float> &values) {
  std::vector<uint16_t> out(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    uint32_t bits;
    std::memcpy(&bits, &values[i], 4);
    out[i] = static_cast<uint16_t>(bits >> 16);
  }
  return out;
}

/// The online softmax (one value at a time, and merged from splits in any
/// order) gives llmk_softmax's probabilities: rows of 1, 31, 37 and 129
/// values (not multiples of a tile), with masked (-inf) entries.
TEST(CudaHostLogicTest, OnlineSoftmaxMatchesTheCPUKernel) {
  for (size_t n : {size_t(1), size_t(31), size_t(37), size_t(129)}) {
    std::vector<float> row = randomRow(n, static_cast<uint32_t>(n));
    if (n > 2)
      row[n / 2] = -INFINITY;
    std::vector<float> expected(n);
    llmk_softmax(row.data(), expected.data(), 1, static_cast<int64_t>(n));
    llmc_cuda::OnlineSoftmax whole = llmc_cuda::onlineSoftmaxEmpty();
    for (float v : row)
      whole = llmc_cuda::onlineSoftmaxAdd(whole, v);
    for (size_t splits : {size_t(1), size_t(3), size_t(8)}) {
      // Split-K: parts reduced on their own, merged last to first.
      std::vector<llmc_cuda::OnlineSoftmax> parts(
          splits, llmc_cuda::onlineSoftmaxEmpty());
      for (size_t i = 0; i < n; ++i)
        parts[i * splits / n] =
            llmc_cuda::onlineSoftmaxAdd(parts[i * splits / n], row[i]);
      llmc_cuda::OnlineSoftmax merged = llmc_cuda::onlineSoftmaxEmpty();
      for (size_t p = splits; p-- > 0;)
        merged = llmc_cuda::onlineSoftmaxMerge(merged, parts[p]);
      for (size_t i = 0; i < n; ++i) {
        EXPECT_NEAR(llmc_cuda::onlineSoftmaxProbability(whole, row[i]),
                    expected[i], 1e-6f)
            << n << " values, element " << i;
        EXPECT_NEAR(llmc_cuda::onlineSoftmaxProbability(merged, row[i]),
                    expected[i], 1e-6f)
            << n << " values in " << splits << " splits, element " << i;
      }
    }
  }
  // An all-masked row has no probability anywhere (and no NaN).
  llmc_cuda::OnlineSoftmax masked =
      llmc_cuda::onlineSoftmaxAdd(llmc_cuda::onlineSoftmaxEmpty(), -INFINITY);
  EXPECT_EQ(llmc_cuda::onlineSoftmaxProbability(masked, -INFINITY), 0.0f);
}

/// The paged-attention kernels' slot arithmetic is the block manager's:
/// every position of a sequence that grew over several reservations, and
/// an evicted block (-1).
TEST(CudaHostLogicTest, PagedSlotsMatchTheBlockManager) {
  for (int64_t blockSize : {int64_t(1), int64_t(4), int64_t(16)}) {
    BlockManager blocks(64, blockSize);
    int64_t other = blocks.addSequence(), seq = blocks.addSequence();
    std::string error;
    for (int64_t step : {3, 1, 7, 2, 13}) {
      ASSERT_TRUE(blocks.reserve(other, 2, error)) << error;
      ASSERT_TRUE(blocks.reserve(seq, step, error)) << error;
    }
    if (blockSize == 4)
      blocks.evictBefore(seq, 8);
    const int64_t length = blocks.getLength(seq);
    std::vector<int32_t> table(64), slots(length);
    ASSERT_TRUE(blocks.getBlockTable(seq, table.data(), 64));
    blocks.getSlots(seq, 0, length, slots.data());
    for (int64_t pos = 0; pos < length; ++pos)
      EXPECT_EQ(llmc_cuda::pagedSlot(table.data(), static_cast<int>(blockSize),
                                     static_cast<int>(pos)),
                slots[pos])
          << "block size " << blockSize << ", position " << pos;
  }
}

/// bf16 as the GEMV reads it: the upper half of the fp32.
TEST(CudaHostLogicTest, Bf16BitsAreTheUpperHalf) {
  for (float v : {1.0f, -2.5f, 3.140625f, 0.0f, -0.0f, 65280.0f}) {
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    EXPECT_EQ(llmc_cuda::bf16ToFloat(static_cast<uint16_t>(bits >> 16)), v);
  }
}

/// The quantized GEMV's dequantization is the CPU kernels' (llmk::
/// dequantize), element for element: 8, 4, 5 and 6 bits, per row and in
/// groups of 32 and 16, a row length that is not a multiple of 32.
TEST(CudaHostLogicTest, DequantizationMatchesTheCPUKernels) {
  for (int bits : {8, 4, 5, 6})
    for (int64_t group : {int64_t(0), int64_t(32), int64_t(16)}) {
      const int64_t n = 5, k = group ? 96 : 70;
      if (!llmk::checkQuantization(bits, group, k).empty())
        continue;
      std::vector<float> w(n * k);
      std::mt19937 rng(static_cast<uint32_t>(bits * 100 + group));
      std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
      for (float &v : w)
        v = dist(rng);
      std::vector<uint8_t> packed(
          llmk::quantPackedBytes(n, k, bits, group, false));
      llmk::quantizeWeight(w.data(), n, k, bits, group, bits != 8,
                           packed.data());
      std::vector<float> row(k);
      for (int64_t r = 0; r < n; ++r) {
        llmk::dequantize(packed.data(), n, k, bits, group, r, 0, k, row.data());
        for (int64_t c = 0; c < k; ++c)
          ASSERT_EQ(llmc_cuda::dequantizeElement(packed.data(), n, k, bits,
                                                 group, r, c),
                    row[c])
              << bits << " bits, group " << group << ", (" << r << ", " << c
              << ")";
      }
    }
}

/// The sampling kernel's keep rule, emulated on the host with its own
/// searches (KeySearch over orderedKey, fp32 masses, in the kernel's
/// order), keeps exactly the candidates of the CPU sampler's distribution:
/// top-k, top-p, min-p and their combinations, at several temperatures.
std::vector<int64_t> deviceKeptTokens(const std::vector<float> &row,
                                      float temperature, int topK, float topP,
                                      float minP) {
  const int vocab = static_cast<int>(row.size());
  float zMax = -INFINITY;
  for (float x : row)
    zMax = std::max(zMax, x / temperature);
  unsigned topKKey = 0, topPKey = 0;
  if (topK > 0 && topK < vocab) {
    llmc_cuda::KeySearch search{0u, 0xffffffffu};
    while (!llmc_cuda::keySearchDone(search)) {
      const unsigned probe = llmc_cuda::keySearchProbe(search);
      int count = 0;
      for (float x : row)
        count += llmc_cuda::orderedKey(x / temperature) >= probe;
      search = llmc_cuda::keySearchUpdate(search, probe, count >= topK);
    }
    topKKey = search.lo;
  }
  if (topP < 1.0f) {
    float total = 0.0f;
    for (float x : row)
      if (llmc_cuda::samplingKeeps(x / temperature, zMax, topKKey, 0, 0.0f))
        total += std::exp(x / temperature - zMax);
    llmc_cuda::KeySearch search{0u, 0xffffffffu};
    while (!llmc_cuda::keySearchDone(search)) {
      const unsigned probe = llmc_cuda::keySearchProbe(search);
      float mass = 0.0f;
      for (float x : row) {
        const float z = x / temperature;
        if (llmc_cuda::orderedKey(z) >= probe &&
            llmc_cuda::samplingKeeps(z, zMax, topKKey, 0, 0.0f))
          mass += std::exp(z - zMax);
      }
      search = llmc_cuda::keySearchUpdate(search, probe, mass >= topP * total);
    }
    topPKey = search.lo;
  }
  std::vector<int64_t> kept;
  for (int i = 0; i < vocab; ++i)
    if (llmc_cuda::samplingKeeps(row[i] / temperature, zMax, topKKey, topPKey,
                                 minP))
      kept.push_back(i);
  return kept;
}

TEST(CudaHostLogicTest, SamplingKeepsTheSamplersCandidates) {
  struct Case {
    float temperature;
    int topK;
    float topP, minP;
  };
  const Case cases[] = {{1.0f, 0, 1.0f, 0.0f},   {1.0f, 1, 1.0f, 0.0f},
                        {0.7f, 5, 1.0f, 0.0f},   {1.0f, 50, 1.0f, 0.0f},
                        {1.0f, 0, 0.9f, 0.0f},   {1.3f, 0, 0.5f, 0.0f},
                        {0.8f, 0, 0.05f, 0.0f},  {1.0f, 40, 0.8f, 0.0f},
                        {1.0f, 0, 1.0f, 0.05f},  {0.9f, 20, 0.95f, 0.01f},
                        {1.0f, 999, 1.0f, 0.0f}, {2.0f, 0, 0.99f, 0.0f}};
  for (uint32_t seed = 1; seed <= 6; ++seed) {
    std::vector<float> row = randomRow(1000, 100 + seed);
    row[7] = -INFINITY; // a masked token is never kept
    for (const Case &c : cases) {
      llmrt::Sampler sampler(
          llmrt::sampler_params(c.temperature, c.topK, c.topP, c.minP));
      std::vector<llmrt::TokenProb> distribution;
      ASSERT_TRUE(sampler.distribution(row.data(), 1000, {}, distribution))
          << sampler.error();
      std::vector<int64_t> want;
      for (const llmrt::TokenProb &candidate : distribution)
        want.push_back(candidate.id);
      std::sort(want.begin(), want.end());
      EXPECT_EQ(deviceKeptTokens(row, c.temperature, c.topK, c.topP, c.minP),
                want)
          << "seed " << seed << ", temperature " << c.temperature << ", top-k "
          << c.topK << ", top-p " << c.topP << ", min-p " << c.minP;
    }
  }
}

/// Ordered keys order as the floats (signed zeros, subnormals, infinities)
/// and map back; the sampler's uniform numbers lie in [0, 1), depend only
/// on (seed, step), and are spread out.
TEST(CudaHostLogicTest, OrderedKeysAndUniformNumbers) {
  const float values[] = {-INFINITY, -3e38f, -1.0f, -1e-40f, -0.0f,
                          0.0f,      1e-40f, 1.0f,  3e38f,   INFINITY};
  for (size_t i = 0; i < std::size(values); ++i) {
    EXPECT_EQ(llmc_cuda::keyToFloat(llmc_cuda::orderedKey(values[i])),
              values[i]);
    if (i > 0)
      EXPECT_LT(llmc_cuda::orderedKey(values[i - 1]),
                llmc_cuda::orderedKey(values[i]))
          << values[i - 1] << " < " << values[i];
  }
  std::vector<int> buckets(10, 0);
  for (unsigned long long step = 0; step < 10000; ++step) {
    const float u = llmc_cuda::sampleUniform(42, step);
    ASSERT_GE(u, 0.0f);
    ASSERT_LT(u, 1.0f);
    EXPECT_EQ(u, llmc_cuda::sampleUniform(42, step));
    ++buckets[static_cast<int>(u * 10)];
  }
  for (int count : buckets)
    EXPECT_NEAR(count, 1000, 150);
  EXPECT_NE(llmc_cuda::sampleUniform(1, 0), llmc_cuda::sampleUniform(2, 0));
}

/// GELU and the RoPE rotation, as the kernels compute them, against the
/// CPU kernels: both GELUs within 1e-6, the rotation (the angle's cosine
/// and sine in double) bit for bit with NeoX and GPT-J pairs, a partial
/// rotary dimension, positions past 4096.
TEST(CudaHostLogicTest, GeluAndRopeMatchTheCPUKernels) {
  std::vector<float> x = randomRow(4096, 21), want(x.size());
  for (int tanhApprox : {0, 1}) {
    llmk_gelu(x.data(), want.data(), static_cast<int64_t>(x.size()),
              tanhApprox);
    // The CPU kernel's vector GELU is within 4e-7 of the exact function
    // (relative to max(1, |gelu|)); the device's erff/tanhf form as well.
    for (size_t i = 0; i < x.size(); ++i)
      ASSERT_NEAR(llmc_cuda::geluOf(x[i], tanhApprox), want[i],
                  1e-6f * std::max(1.0f, std::fabs(want[i])))
          << "tanh " << tanhApprox << ", x " << x[i];
  }
  const int tokens = 3, heads = 2, headDim = 64;
  const std::vector<int64_t> positions = {0, 17, 5000};
  for (int rotaryDim : {64, 32})
    for (int gptj : {0, 1}) {
      std::vector<float> in = randomRow(tokens * heads * headDim, 22),
                         cpu(in.size()), host(in);
      llmk_rope(in.data(), positions.data(), cpu.data(), tokens, heads, headDim,
                rotaryDim, 10000.0, gptj, LLMK_ROPE_NONE, 1.0, 0, 1.0, 4.0,
                32.0, 1.0, 0.0, -1);
      std::vector<float> invFreq = llmk::defaultInvFreq(10000.0f, rotaryDim);
      for (int t = 0; t < tokens; ++t)
        for (int h = 0; h < heads; ++h)
          for (int i = 0; i < rotaryDim / 2; ++i) {
            const float angle = static_cast<float>(positions[t]) * invFreq[i];
            const float c = static_cast<float>(std::cos(double(angle)));
            const float s = static_cast<float>(std::sin(double(angle)));
            int a, b;
            llmc_cuda::ropePair(i, rotaryDim, gptj, &a, &b);
            const int at = (t * heads + h) * headDim;
            llmc_cuda::ropeRotate(in[at + a], in[at + b], c, s, &host[at + a],
                                  &host[at + b]);
          }
      EXPECT_EQ(host, cpu) << "rotary " << rotaryDim << ", gptj " << gptj;
    }
}

/// FlashAttention's tile order on the host: each query's keys in tiles of
/// 64, masked by visibleKeyRange, merged by the online softmax (the
/// kernel's order, in fp32) give llmk_attention's output: causal,
/// bidirectional and sliding-window masks, GQA, queries after a cached
/// prefix (qLen < kvLen), lengths not multiples of the tile, ALiBi.
TEST(CudaHostLogicTest, FlashAttentionTilesMatchTheCPUKernel) {
  const int heads = 4, kvHeads = 2, d = 16;
  for (int mask : {llmc_cuda::kMaskCausal, llmc_cuda::kMaskBidirectional,
                   llmc_cuda::kMaskSlidingWindow})
    for (auto [qLen, kvLen] : {std::pair<int, int>{70, 70}, {5, 133}, {1, 1}})
      for (bool alibi : {false, true}) {
        const int window = 37;
        std::vector<float> q = randomRow(qLen * heads * d, 1),
                           k = randomRow(kvLen * kvHeads * d, 2),
                           v = randomRow(kvLen * kvHeads * d, 3);
        std::vector<float> slopes = {0.5f, 0.25f, 0.125f, 0.0625f};
        const float scale = 0.25f;
        std::vector<float> expected(qLen * heads * d);
        llmk_attention(q.data(), k.data(), v.data(), nullptr, nullptr, 0, 0,
                       alibi ? slopes.data() : nullptr, expected.data(), 1,
                       qLen, kvLen, heads, kvHeads, d, d, scale, mask, window);
        for (int h = 0; h < heads; ++h)
          for (int i = 0; i < qLen; ++i) {
            int first, last;
            llmc_cuda::visibleKeyRange(i, qLen, kvLen, mask, window, &first,
                                       &last);
            const int kvHead = h / (heads / kvHeads);
            llmc_cuda::OnlineSoftmax state = llmc_cuda::onlineSoftmaxEmpty();
            std::vector<float> acc(d, 0.0f);
            for (int key0 = 0; key0 < kvLen; key0 += 64) {
              std::vector<float> scores;
              float tileMax = -INFINITY;
              for (int key = key0; key < std::min(kvLen, key0 + 64); ++key) {
                float s = -INFINITY;
                if (key >= first && key < last) {
                  s = 0.0f;
                  for (int c = 0; c < d; ++c)
                    s += q[(i * heads + h) * d + c] * scale *
                         k[(key * kvHeads + kvHead) * d + c];
                  if (alibi)
                    s += slopes[h] *
                         static_cast<float>(key - (i + kvLen - qLen));
                }
                scores.push_back(s);
                tileMax = std::max(tileMax, s);
              }
              const float newMax = std::max(state.max, tileMax);
              const float rescale =
                  newMax == -INFINITY ? 1.0f : std::exp(state.max - newMax);
              state.sum *= rescale;
              for (float &a : acc)
                a *= rescale;
              for (size_t j = 0; j < scores.size(); ++j) {
                const float p = scores[j] == -INFINITY
                                    ? 0.0f
                                    : std::exp(scores[j] - newMax);
                state.sum += p;
                for (int c = 0; c < d; ++c)
                  acc[c] += p * v[((key0 + j) * kvHeads + kvHead) * d + c];
              }
              state.max = newMax;
            }
            for (int c = 0; c < d; ++c)
              ASSERT_NEAR(state.sum > 0 ? acc[c] / state.sum : 0.0f,
                          expected[(i * heads + h) * d + c], 2e-5f)
                  << "mask " << mask << ", " << qLen << " queries over "
                  << kvLen << " keys" << (alibi ? ", ALiBi" : "") << ", head "
                  << h << ", query " << i << ", dim " << c;
          }
      }
}

/// Greedy decoding's merge: partial maxima of 256 strided lanes, merged in
/// a shuffled order, give the CPU sampler's greedy token on rows with ties
/// (the first maximum wins) and -inf entries.
TEST(CudaHostLogicTest, ArgMaxMergeIsTheSamplersGreedyPick) {
  std::mt19937 rng(9);
  llmrt::Sampler greedy(llmrt::sampler_params(0.0));
  llmrt::Rng unused(0);
  for (int trial = 0; trial < 100; ++trial) {
    const int vocab = 1 + static_cast<int>(rng() % 700);
    std::vector<float> row(vocab);
    for (float &v : row)
      v = static_cast<float>(static_cast<int>(rng() % 9)) - 4.0f; // ties
    if (vocab > 3)
      row[rng() % vocab] = -INFINITY;
    std::vector<llmc_cuda::ArgMax> lanes(256, llmc_cuda::argMaxEmpty());
    for (int i = 0; i < vocab; ++i)
      lanes[i % 256] = llmc_cuda::argMaxMerge(lanes[i % 256], {row[i], i});
    std::shuffle(lanes.begin(), lanes.end(), rng);
    llmc_cuda::ArgMax all = llmc_cuda::argMaxEmpty();
    for (const llmc_cuda::ArgMax &lane : lanes)
      all = llmc_cuda::argMaxMerge(all, lane);
    EXPECT_EQ(all.index, greedy.sample(row.data(), vocab, {}, unused))
        << "trial " << trial;
  }
}

/// The mma.sync.m16n8k16 fragment maps the GEMM loads and stores with
/// cover each tile exactly once over the warp: A's 16 x 16 bf16 (4
/// registers of 2 per lane), B's 16 x 8 (2 registers of 2), C's 16 x 8
/// fp32 (4 values).
TEST(CudaHostLogicTest, MmaFragmentsCoverTheirTiles) {
  std::vector<int> a(16 * 16, 0), b(16 * 8, 0), c(16 * 8, 0);
  for (int lane = 0; lane < 32; ++lane) {
    for (int r = 0; r < 4; ++r)
      for (int half = 0; half < 2; ++half)
        ++a[llmc_cuda::mmaRowA(lane, r) * 16 + llmc_cuda::mmaColA(lane, r) +
            half];
    for (int r = 0; r < 2; ++r)
      for (int half = 0; half < 2; ++half)
        ++b[(llmc_cuda::mmaRowB(lane, r) + half) * 8 +
            llmc_cuda::mmaColB(lane)];
    for (int v = 0; v < 4; ++v)
      ++c[llmc_cuda::mmaRowC(lane, v) * 8 + llmc_cuda::mmaColC(lane, v)];
  }
  EXPECT_EQ(a, std::vector<int>(16 * 16, 1));
  EXPECT_EQ(b, std::vector<int>(16 * 8, 1));
  EXPECT_EQ(c, std::vector<int>(16 * 8, 1));
}

/// Every kernel compiles under NVRTC for sm_80 and sm_90 and every head
/// dimension, without spills, within its register budget: 64 per thread,
/// 128 for the tensor-core GEMM (its 32 accumulators and fragments), 255
/// for FlashAttention (the query's fragments and the output's accumulators
/// stay in registers: 2 to 3 blocks of 128 threads per SM).
TEST(CudaKernelsTest, EveryKernelCompilesWithoutSpills) {
  llmrt::Expected<std::pair<int, int>> version = getNvrtcVersion();
  if (!version)
    GTEST_SKIP() << "no NVRTC on this machine: " << version.error();
  const CudaSource source = getKernelSource();
  for (int arch : {80, 90})
    for (int headDim : {8, 16, 32, 64, 80, 96, 128}) {
      llmrt::Expected<CompiledKernel> compiled = compileCuda(
          source, arch, {"-DLLMC_HEAD_DIM=" + std::to_string(headDim)});
      ASSERT_TRUE(bool(compiled)) << compiled.error();
      EXPECT_FALSE(compiled->cubin.empty());
      std::vector<KernelResources> kernels = parsePtxasResources(compiled->log);
      for (const std::string &name : getKernelNames()) {
        // FlashAttention's tiles take head dimensions in multiples of 16.
        if (name == "llmc_flash_attention" && headDim % 16 != 0)
          continue;
        auto found = std::find_if(
            kernels.begin(), kernels.end(),
            [&](const KernelResources &k) { return k.name == name; });
        ASSERT_NE(found, kernels.end())
            << name << " missing from ptxas's report for sm_" << arch << ":\n"
            << compiled->log;
        EXPECT_EQ(found->spillStores, 0) << name << " sm_" << arch;
        EXPECT_EQ(found->spillLoads, 0) << name << " sm_" << arch;
        EXPECT_GT(found->registers, 0) << name << " sm_" << arch;
        const int budget =
            name == "llmc_flash_attention" ? 255
            : name == "llmc_gemm_bf16" || name == "llmc_gemm_q" ||
                    name == "llmc_gemm_w" || name == "llmc_grouped_gemm"
                ? 128
                : 64;
        EXPECT_LE(found->registers, budget)
            << name << " sm_" << arch << " head dim " << headDim;
        // The table of docs/CUDA.md.
        std::printf("resources: sm_%d head_dim %d %s: %d registers, %d bytes "
                    "smem, %d bytes stack\n",
                    arch, headDim, name.c_str(), found->registers,
                    found->sharedBytes, found->stackBytes);
      }
    }
}

/// The GEMM runs on tensor cores: its SASS (cuobjdump -sass of the cubin
/// NVRTC made) has HMMA instructions, 16 per 32-k step on both sm_80 and
/// sm_90; the decode GEMV has none.
TEST(CudaKernelsTest, GemmUsesTensorCores) {
  if (!getNvrtcVersion())
    GTEST_SKIP() << "no NVRTC on this machine";
  // $LLMC_CUOBJDUMP, else the one scripts/fetch_test_inputs.sh installs,
  // else the toolkit's.
  std::string cuobjdump;
  for (const char *candidate :
       {static_cast<const char *>(std::getenv("LLMC_CUOBJDUMP")),
        LLMC_TEST_INPUTS "/cuda-tools/bin/cuobjdump",
        "/usr/local/cuda/bin/cuobjdump"})
    if (cuobjdump.empty() && candidate && access(candidate, X_OK) == 0)
      cuobjdump = candidate;
  if (cuobjdump.empty())
    GTEST_SKIP() << "no cuobjdump on this machine (scripts/"
                    "fetch_test_inputs.sh installs one; LLMC_CUOBJDUMP "
                    "names another)";
  for (int arch : {80, 90}) {
    llmrt::Expected<CompiledKernel> compiled =
        compileCuda(getKernelSource(), arch, {"-DLLMC_HEAD_DIM=64"});
    ASSERT_TRUE(bool(compiled)) << compiled.error();
    char path[] = "/tmp/llmc-cubin-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(write(fd, compiled->cubin.data(), compiled->cubin.size()),
              static_cast<ssize_t>(compiled->cubin.size()));
    close(fd);
    // cuobjdump runs nvdisasm, from its own folder.
    std::string folder = cuobjdump.substr(0, cuobjdump.rfind('/'));
    std::string command = "NVDISASM_PATH='" + folder + "' PATH='" + folder +
                          ":" +
                          (std::getenv("PATH") ? std::getenv("PATH") : "") +
                          "' '" + cuobjdump + "' -sass " + path + " 2>&1";
    FILE *pipe = popen(command.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    std::string sass;
    char buffer[4096];
    while (size_t n = fread(buffer, 1, sizeof(buffer), pipe))
      sass.append(buffer, n);
    pclose(pipe);
    unlink(path);
    // The SASS of each kernel: from its "Function : name" line to the next.
    auto hmmaIn = [&](const std::string &kernel) {
      size_t begin = sass.find("Function : " + kernel);
      if (begin == std::string::npos)
        return -1;
      size_t end = sass.find("Function : ", begin + 1);
      std::string body = sass.substr(begin, end - begin);
      int count = 0;
      for (size_t at = body.find("HMMA"); at != std::string::npos;
           at = body.find("HMMA", at + 4))
        ++count;
      return count;
    };
    EXPECT_EQ(hmmaIn("llmc_gemm_bf16"), 16) << "sm_" << arch << ":\n" << sass;
    // The quantized GEMM shares the tile: dequantizing stays off the HMMAs.
    EXPECT_EQ(hmmaIn("llmc_gemm_q"), 16) << "sm_" << arch;
    EXPECT_EQ(hmmaIn("llmc_gemm_w"), 16) << "sm_" << arch;
    EXPECT_EQ(hmmaIn("llmc_grouped_gemm"), 16) << "sm_" << arch;
    EXPECT_EQ(hmmaIn("llmc_grouped_rows"), 0) << "sm_" << arch;
    EXPECT_EQ(hmmaIn("llmc_linear_rows"), 0) << "sm_" << arch;
    EXPECT_EQ(hmmaIn("llmc_grouped_gemv_bf16"), 0) << "sm_" << arch;
    EXPECT_EQ(hmmaIn("llmc_gemv_bf16"), 0) << "sm_" << arch;
    // FlashAttention at d = 64, per 64-key tile: S = Q K^T in 8 tiles of 8
    // keys x 4 steps of 16 dims, O += P V in 8 tiles of 8 dims x 4 steps
    // of 16 keys.
    EXPECT_EQ(hmmaIn("llmc_flash_attention"), 64) << "sm_" << arch;
  }
}

/// Cubins are cached on disk by source, options, architecture and NVRTC
/// version: the second compile is read back, the same bytes; another
/// architecture or option is another entry; a damaged entry is compiled
/// again.
TEST(CudaKernelsTest, CubinCache) {
  if (!getNvrtcVersion())
    GTEST_SKIP() << "no NVRTC on this machine";
  char dir[] = "/tmp/llmc-cubins-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string cache = std::string(dir) + "/cuda";
  const CudaSource source = getKernelSource();
  bool hit = true;
  llmrt::Expected<CompiledKernel> first =
      compileCudaCached(source, 80, {"-DLLMC_HEAD_DIM=64"}, cache, &hit);
  ASSERT_TRUE(bool(first)) << first.error();
  EXPECT_FALSE(hit);
  llmrt::Expected<CompiledKernel> second =
      compileCudaCached(source, 80, {"-DLLMC_HEAD_DIM=64"}, cache, &hit);
  ASSERT_TRUE(bool(second)) << second.error();
  EXPECT_TRUE(hit);
  EXPECT_EQ(second->cubin, first->cubin);
  ASSERT_TRUE(
      bool(compileCudaCached(source, 90, {"-DLLMC_HEAD_DIM=64"}, cache, &hit)));
  EXPECT_FALSE(hit);
  ASSERT_TRUE(bool(
      compileCudaCached(source, 80, {"-DLLMC_HEAD_DIM=128"}, cache, &hit)));
  EXPECT_FALSE(hit);
  // Cut every entry short: each is compiled again, and then read back.
  std::string list = "ls " + cache + "/*.cubin";
  FILE *files = popen(list.c_str(), "r");
  char line[512];
  int entries = 0;
  while (files && std::fgets(line, sizeof(line), files)) {
    std::string path(line);
    path.pop_back();
    ASSERT_EQ(truncate(path.c_str(), 100), 0);
    ++entries;
  }
  if (files)
    pclose(files);
  EXPECT_EQ(entries, 3);
  llmrt::Expected<CompiledKernel> again =
      compileCudaCached(source, 80, {"-DLLMC_HEAD_DIM=64"}, cache, &hit);
  ASSERT_TRUE(bool(again)) << again.error();
  EXPECT_FALSE(hit);
  EXPECT_EQ(again->cubin, first->cubin);
  ASSERT_TRUE(
      bool(compileCudaCached(source, 80, {"-DLLMC_HEAD_DIM=64"}, cache, &hit)));
  EXPECT_TRUE(hit);
  std::string remove = std::string("rm -rf ") + dir;
  EXPECT_EQ(std::system(remove.c_str()), 0);
}

/// A compile error carries NVRTC's log.
TEST(CudaKernelsTest, CompileErrorsCarryTheLog) {
  if (!getNvrtcVersion())
    GTEST_SKIP() << "no NVRTC on this machine";
  CudaSource bad{
      "bad.cu", "extern \"C\" __global__ void k() { undeclared(); }", {}};
  llmrt::Expected<CompiledKernel> compiled = compileCuda(bad, 80, {});
  ASSERT_FALSE(bool(compiled));
  EXPECT_NE(compiled.error().find("bad.cu: NVRTC failed for sm_80"),
            std::string::npos)
      << compiled.error();
  EXPECT_NE(compiled.error().find("undeclared"), std::string::npos)
      << compiled.error();
}

/// Device parity, kernel by kernel, against the CPU kernels: run wherever a
/// CUDA device exists, skipped with the reason where none does (these
/// machines). Each kernel is compiled by NVRTC for the device's
/// architecture.
class CudaDeviceTest : public ::testing::Test {
protected:
  void SetUp() override {
    llmrt::Expected<std::unique_ptr<CudaDevice>> opened = CudaDevice::open();
    if (!opened)
      GTEST_SKIP() << opened.error();
    device = std::move(*opened);
    llmrt::Expected<CompiledKernel> compiled = compileCuda(
        getKernelSource(), device->getArch(), {"-DLLMC_HEAD_DIM=64"});
    ASSERT_TRUE(bool(compiled)) << compiled.error();
    Status loaded = device->loadModule(compiled->cubin);
    ASSERT_TRUE(loaded.isOk()) << loaded.message();
  }

  template <typename T> DeviceBuffer put(const std::vector<T> &values) {
    llmrt::Expected<DeviceBuffer> buffer =
        device->allocate(values.size() * sizeof(T));
    EXPECT_TRUE(bool(buffer)) << buffer.error();
    EXPECT_TRUE(
        device->upload(*buffer, values.data(), values.size() * sizeof(T))
            .isOk());
    return std::move(*buffer);
  }
  std::vector<float> get(const DeviceBuffer &buffer, size_t count) {
    std::vector<float> values(count);
    EXPECT_TRUE(
        device->download(values.data(), buffer, count * sizeof(float)).isOk());
    return values;
  }
  void run(const char *kernel, std::array<unsigned, 3> grid,
           std::array<unsigned, 3> block, std::vector<void *> args) {
    Status status =
        device->launch(kernel, grid.data(), block.data(), args.data());
    ASSERT_TRUE(status.isOk()) << kernel << ": " << status.message();
  }

  std::unique_ptr<CudaDevice> device;
};

void expectClose(const std::vector<float> &got, const std::vector<float> &want,
                 float relative, const char *what) {
  ASSERT_EQ(got.size(), want.size());
  float scale = 0;
  for (float v : want)
    scale = std::max(scale, std::fabs(v));
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], want[i], relative * std::max(scale, 1e-6f))
        << what << ", element " << i;
}

TEST_F(CudaDeviceTest, NormSoftmaxAndSwiGLU) {
  const int rows = 3, cols = 300;
  std::vector<float> x = randomRow(rows * cols, 1), w = randomRow(cols, 2),
                     up = randomRow(rows * cols, 3);
  std::vector<float> want(rows * cols);
  llmk_rms_norm(x.data(), w.data(), want.data(), rows, cols, 1e-5f, 0.0f);
  DeviceBuffer dx = put(x), dw = put(w), dy = put(want), du = put(up);
  uint64_t px = dx.get(), pw = dw.get(), py = dy.get(), pu = du.get();
  int c = cols, r = rows;
  float eps = 1e-5f, offset = 0.0f;
  run("llmc_rms_norm", {rows, 1, 1}, {256, 1, 1},
      {&px, &pw, &py, &c, &eps, &offset});
  expectClose(get(dy, rows * cols), want, 1e-5f, "rms_norm");
  llmk_softmax(x.data(), want.data(), rows, cols);
  run("llmc_softmax_rows", {1, 1, 1}, {128, 1, 1}, {&px, &py, &r, &c});
  expectClose(get(dy, rows * cols), want, 1e-5f, "softmax");
  for (size_t i = 0; i < want.size(); ++i)
    want[i] = x[i] / (1.0f + std::exp(-x[i])) * up[i];
  long long count = rows * cols;
  run("llmc_silu_mul", {(rows * cols + 255) / 256, 1, 1}, {256, 1, 1},
      {&px, &pu, &py, &count});
  expectClose(get(dy, rows * cols), want, 1e-5f, "silu_mul");
}

TEST_F(CudaDeviceTest, GreedyArgmax) {
  const int rows = 4, vocab = 1000;
  std::vector<float> logits = randomRow(rows * vocab, 11);
  logits[2 * vocab + 10] = logits[2 * vocab + 900] = 100.0f; // a tie
  std::vector<long long> want(rows);
  llmrt::Sampler greedy(llmrt::sampler_params(0.0));
  llmrt::Rng unused(0);
  for (int r = 0; r < rows; ++r)
    want[r] = greedy.sample(logits.data() + r * vocab, vocab, {}, unused);
  DeviceBuffer dl = put(logits), di = put(want);
  uint64_t pl = dl.get(), pi = di.get();
  int v = vocab;
  run("llmc_argmax_rows", {rows, 1, 1}, {256, 1, 1}, {&pl, &pi, &v});
  std::vector<long long> got(rows);
  ASSERT_TRUE(
      device->download(got.data(), di, rows * sizeof(long long)).isOk());
  EXPECT_EQ(got, want);
}

TEST_F(CudaDeviceTest, GemvBf16AndQuantized) {
  const int n = 37, k = 256;
  std::vector<float> x = randomRow(k, 4), weights = randomRow(n * k, 5);
  std::vector<uint16_t> bf16 = truncateToBf16(weights);
  std::vector<float> want(n, 0.0f);
  for (int r = 0; r < n; ++r)
    for (int c = 0; c < k; ++c)
      want[r] += llmc_cuda::bf16ToFloat(bf16[r * k + c]) * x[c];
  DeviceBuffer dw = put(bf16), dx = put(x), dy = put(want);
  uint64_t pw = dw.get(), px = dx.get(), py = dy.get();
  int nn = n, kk = k;
  run("llmc_gemv_bf16", {(n + 3) / 4, 1, 1}, {128, 1, 1},
      {&pw, &px, &py, &nn, &kk});
  expectClose(get(dy, n), want, 1e-4f, "gemv_bf16");
  for (int bits : {8, 4}) {
    std::vector<uint8_t> packed(llmk::quantPackedBytes(n, k, bits, 32, false));
    llmk::quantizeWeight(weights.data(), n, k, bits, 32, true, packed.data());
    std::fill(want.begin(), want.end(), 0.0f);
    for (int r = 0; r < n; ++r)
      for (int c = 0; c < k; ++c)
        want[r] +=
            llmc_cuda::dequantizeElement(packed.data(), n, k, bits, 32, r, c) *
            x[c];
    DeviceBuffer dq = put(packed);
    uint64_t pq = dq.get();
    int b = bits, group = 32;
    run("llmc_gemv_q", {(n + 3) / 4, 1, 1}, {128, 1, 1},
        {&pq, &px, &py, &nn, &kk, &b, &group});
    expectClose(get(dy, n), want, 1e-4f, "gemv_q");
  }
}

TEST_F(CudaDeviceTest, TensorCoreGemm) {
  const int m = 70, n = 100, k = 96;
  std::vector<float> a = randomRow(m * k, 6), w = randomRow(n * k, 7);
  std::vector<uint16_t> ab = truncateToBf16(a), wb = truncateToBf16(w);
  std::vector<float> want(m * n, 0.0f);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j)
      for (int c = 0; c < k; ++c)
        want[i * n + j] += llmc_cuda::bf16ToFloat(ab[i * k + c]) *
                           llmc_cuda::bf16ToFloat(wb[j * k + c]);
  DeviceBuffer da = put(ab), dw = put(wb), dc = put(want);
  uint64_t pa = da.get(), pw = dw.get(), pc = dc.get();
  int mm = m, nn = n, kk = k;
  run("llmc_gemm_bf16", {(n + 63) / 64, (m + 63) / 64, 1}, {128, 1, 1},
      {&pa, &pw, &pc, &mm, &nn, &kk});
  expectClose(get(dc, m * n), want, 1e-4f, "gemm_bf16");
}

TEST_F(CudaDeviceTest, FlashAndPagedAttention) {
  const int heads = 4, kvHeads = 2, d = 64, qLen = 70, kvLen = 70;
  std::vector<float> q = randomRow(qLen * heads * d, 8),
                     k = randomRow(kvLen * kvHeads * d, 9),
                     v = randomRow(kvLen * kvHeads * d, 10);
  const float scale = 0.125f;
  std::vector<float> want(qLen * heads * d);
  llmk_attention(q.data(), k.data(), v.data(), nullptr, nullptr, 0, 0, nullptr,
                 want.data(), 1, qLen, kvLen, heads, kvHeads, d, d, scale,
                 llmc_cuda::kMaskCausal, 0);
  DeviceBuffer dq = put(q), dk = put(k), dv = put(v), dout = put(want);
  uint64_t pq = dq.get(), pk = dk.get(), pv = dv.get(), po = dout.get(),
           none = 0;
  int ql = qLen, kl = kvLen, h = heads, kh = kvHeads,
      mask = llmc_cuda::kMaskCausal, window = 0;
  float s = scale;
  run("llmc_flash_attention", {(qLen + 63) / 64, heads, 1}, {128, 1, 1},
      {&pq, &pk, &pv, &none, &none, &none, &po, &ql, &kl, &h, &kh, &mask,
       &window, &s});
  // bf16 operands: within 2% of the largest output.
  expectClose(get(dout, want.size()), want, 2e-2f, "flash_attention");
  // Decode of the last query over the same keys, in a paged cache of
  // blocks of 16 (LLMKCache's layout, one layer, the blocks in reverse
  // order), split 3 ways.
  const int blockSize = 16, width = (kvLen + blockSize - 1) / blockSize,
            splits = 3;
  std::vector<int> table(width), lens = {kvLen};
  std::vector<float> cache(size_t(width) * 2 * kvHeads * blockSize * d);
  for (int b = 0; b < width; ++b)
    table[b] = width - 1 - b;
  for (int pos = 0; pos < kvLen; ++pos)
    for (int head = 0; head < kvHeads; ++head)
      for (int kv = 0; kv < 2; ++kv)
        for (int e = 0; e < d; ++e)
          cache[llmc_cuda::cacheRowOffset(
                    width, kvHeads, blockSize, d, 0,
                    llmc_cuda::pagedSlot(table.data(), blockSize, pos), kv,
                    head) +
                e] = (kv ? v : k)[(size_t(pos) * kvHeads + head) * d + e];
  std::vector<float> lastQ(q.end() - heads * d, q.end());
  std::vector<float> wantLast(want.end() - heads * d, want.end());
  DeviceBuffer dlq = put(lastQ), dt = put(table), dl = put(lens),
               dcache = put(cache),
               dpart = put(std::vector<float>(heads * splits * d)),
               dstates = put(std::vector<float>(heads * splits * 2)),
               dlast = put(wantLast);
  uint64_t plq = dlq.get(), pt = dt.get(), pl = dl.get(), pp = dpart.get(),
           ps = dstates.get(), plast = dlast.get(), pc = dcache.get();
  int tw = width, bs = blockSize, sp = splits, one = 1, layer = 0, f32 = 0;
  long long blocks = width;
  run("llmc_paged_attention_split", {1, heads, splits}, {32, 1, 1},
      {&plq,  &pc,     &f32,   &none, &pt,  &pl,   &none,  &none,
       &none, &layer,  &pp,    &ps,   &one, &h,    &kh,    &tw,
       &bs,   &blocks, &layer, &sp,   &s,   &mask, &window});
  run("llmc_attention_reduce", {1, heads, 1}, {64, 1, 1},
      {&pp, &ps, &plast, &h, &sp});
  expectClose(get(dlast, wantLast.size()), wantLast, 1e-4f, "paged_attention");
}

TEST_F(CudaDeviceTest, LayerNormGeluRopeAndEmbedding) {
  const int rows = 3, cols = 300;
  std::vector<float> x = randomRow(rows * cols, 31), w = randomRow(cols, 32),
                     b = randomRow(cols, 33), want(rows * cols);
  llmk_layer_norm(x.data(), w.data(), b.data(), want.data(), rows, cols, 1e-5f);
  DeviceBuffer dx = put(x), dw = put(w), db = put(b), dy = put(want);
  uint64_t px = dx.get(), pw = dw.get(), pb = db.get(), py = dy.get();
  int c = cols;
  float eps = 1e-5f;
  run("llmc_layer_norm", {rows, 1, 1}, {256, 1, 1},
      {&px, &pw, &pb, &py, &c, &eps});
  expectClose(get(dy, want.size()), want, 1e-5f, "layer_norm");
  for (int tanhApprox : {0, 1}) {
    llmk_gelu(x.data(), want.data(), rows * cols, tanhApprox);
    long long count = rows * cols;
    run("llmc_gelu", {(rows * cols + 255) / 256, 1, 1}, {256, 1, 1},
        {&px, &py, &count, &tanhApprox});
    expectClose(get(dy, want.size()), want, 1e-6f, "gelu");
  }
  // RoPE: 3 tokens of 2 heads of 64, rotary 32 (the rest copied).
  const int heads = 2, headDim = 64, rotaryDim = 32;
  const std::vector<long long> positions = {0, 17, 5000};
  std::vector<float> q = randomRow(3 * heads * headDim, 34), rotated(q.size());
  llmk_rope(q.data(), reinterpret_cast<const int64_t *>(positions.data()),
            rotated.data(), 3, heads, headDim, rotaryDim, 10000.0, 0,
            LLMK_ROPE_NONE, 1.0, 0, 1.0, 4.0, 32.0, 1.0, 0.0, -1);
  std::vector<float> invFreq = llmk::defaultInvFreq(10000.0f, rotaryDim);
  DeviceBuffer dq = put(q), dpos = put(positions), dinv = put(invFreq),
               dr = put(rotated);
  uint64_t pq = dq.get(), ppos = dpos.get(), pinv = dinv.get(), pr = dr.get();
  int h = heads, d = headDim, rd = rotaryDim, gptj = 0;
  float scaling = 1.0f;
  run("llmc_rope", {3, 1, 1}, {128, 1, 1},
      {&pq, &ppos, &pinv, &pr, &h, &d, &rd, &gptj, &scaling});
  expectClose(get(dr, rotated.size()), rotated, 1e-6f, "rope");
  // Embedding of bf16 rows, one id out of range (zeros and the flag).
  const int vocab = 10, dim = 48;
  std::vector<float> table = randomRow(vocab * dim, 35);
  std::vector<uint16_t> tableBf16 = truncateToBf16(table);
  const std::vector<long long> ids = {3, 9, 10};
  std::vector<float> rowsWanted(ids.size() * dim, 0.0f);
  for (int t = 0; t < 2; ++t)
    for (int i = 0; i < dim; ++i)
      rowsWanted[t * dim + i] =
          llmc_cuda::bf16ToFloat(tableBf16[ids[t] * dim + i]);
  DeviceBuffer dids = put(ids), dt = put(tableBf16), de = put(rowsWanted),
               dflag = put(std::vector<int>{0});
  uint64_t pids = dids.get(), pt = dt.get(), pe = de.get(), pflag = dflag.get();
  int dtype = 1, v = vocab, dd = dim;
  run("llmc_embedding", {3, 1, 1}, {128, 1, 1},
      {&pids, &pt, &dtype, &pe, &v, &dd, &pflag});
  EXPECT_EQ(get(de, rowsWanted.size()), rowsWanted) << "embedding";
  int flag = 0;
  ASSERT_TRUE(device->download(&flag, dflag, sizeof(flag)).isOk());
  EXPECT_EQ(flag, 1) << "an id outside the vocabulary sets the error flag";
}

TEST_F(CudaDeviceTest, GroupedGemvAndQuantizedGemm) {
  // 3 routed rows over 4 experts of [n, k].
  const int experts = 4, n = 40, k = 64, rows = 3;
  std::vector<float> weights = randomRow(experts * n * k, 41),
                     x = randomRow(rows * k, 42);
  std::vector<uint16_t> bf16 = truncateToBf16(weights);
  const std::vector<int> routed = {2, 0, 2};
  std::vector<float> want(rows * n, 0.0f);
  for (int r = 0; r < rows; ++r)
    for (int f = 0; f < n; ++f)
      for (int c = 0; c < k; ++c)
        want[r * n + f] +=
            llmc_cuda::bf16ToFloat(bf16[(routed[r] * n + f) * k + c]) *
            x[r * k + c];
  DeviceBuffer dw = put(bf16), dx = put(x), de = put(routed), dy = put(want);
  uint64_t pw = dw.get(), px = dx.get(), pe = de.get(), py = dy.get();
  int nn = n, kk = k;
  run("llmc_grouped_gemv_bf16", {(n + 3) / 4, rows, 1}, {128, 1, 1},
      {&pw, &px, &pe, &py, &nn, &kk});
  expectClose(get(dy, want.size()), want, 1e-4f, "grouped_gemv_bf16");
  // The quantized GEMM against the dequantized weight, bf16 activations.
  const int m = 70, qn = 100, qk = 96;
  std::vector<float> a = randomRow(m * qk, 43), wq = randomRow(qn * qk, 44);
  std::vector<uint16_t> ab = truncateToBf16(a);
  for (int bits : {8, 4}) {
    std::vector<uint8_t> packed(
        llmk::quantPackedBytes(qn, qk, bits, 32, false));
    llmk::quantizeWeight(wq.data(), qn, qk, bits, 32, true, packed.data());
    std::vector<float> product(m * qn, 0.0f);
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < qn; ++j)
        for (int c = 0; c < qk; ++c)
          product[i * qn + j] += llmc_cuda::bf16ToFloat(ab[i * qk + c]) *
                                 llmc_cuda::dequantizeElement(
                                     packed.data(), qn, qk, bits, 32, j, c);
    DeviceBuffer da = put(ab), dq = put(packed), dc = put(product);
    uint64_t pa = da.get(), pq = dq.get(), pc = dc.get();
    int mm = m, n2 = qn, k2 = qk, b = bits, group = 32;
    run("llmc_gemm_q", {(qn + 63) / 64, (m + 63) / 64, 1}, {128, 1, 1},
        {&pa, &pq, &pc, &mm, &n2, &k2, &b, &group});
    // The dequantized weight rounds to bf16 on the tensor cores.
    expectClose(get(dc, product.size()), product, 1e-2f, "gemm_q");
  }
}

/// Sampling on the device: the same (seed, step) gives the same token; every
/// token drawn is a candidate of the CPU sampler's distribution; over 4000
/// steps the tokens' frequencies are its probabilities.
TEST_F(CudaDeviceTest, SamplingIsReproducibleAndDrawsTheDistribution) {
  const int vocab = 500, steps = 4000;
  std::vector<float> row = randomRow(vocab, 51);
  const float temperature = 0.8f, topP = 0.9f, minP = 0.0f;
  const int topK = 20;
  llmrt::Sampler sampler(llmrt::sampler_params(temperature, topK, topP, minP));
  std::vector<llmrt::TokenProb> distribution;
  ASSERT_TRUE(sampler.distribution(row.data(), vocab, {}, distribution));
  std::vector<float> logits;
  std::vector<unsigned long long> seeds(steps, 7), stepOf(steps);
  for (int s = 0; s < steps; ++s) {
    logits.insert(logits.end(), row.begin(), row.end());
    stepOf[s] = s;
  }
  DeviceBuffer dl = put(logits), dids = put(std::vector<long long>(steps)),
               ds = put(seeds), dst = put(stepOf);
  uint64_t pl = dl.get(), pids = dids.get(), ps = ds.get(), pst = dst.get();
  int v = vocab, k = topK;
  float t = temperature, p = topP, mp = minP;
  auto draw = [&] {
    run("llmc_sample_rows", {steps, 1, 1}, {256, 1, 1},
        {&pl, &pids, &v, &t, &k, &p, &mp, &ps, &pst});
    std::vector<long long> ids(steps);
    EXPECT_TRUE(
        device->download(ids.data(), dids, steps * sizeof(long long)).isOk());
    return ids;
  };
  std::vector<long long> first = draw(), second = draw();
  EXPECT_EQ(first, second);
  std::vector<int> counts(vocab, 0);
  for (long long id : first) {
    ASSERT_GE(id, 0);
    ASSERT_LT(id, vocab);
    ++counts[id];
  }
  int covered = 0;
  for (const llmrt::TokenProb &candidate : distribution) {
    covered += counts[candidate.id];
    EXPECT_NEAR(counts[candidate.id] / double(steps), candidate.prob, 0.03)
        << "token " << candidate.id;
  }
  EXPECT_EQ(covered, steps) << "a token outside the sampler's candidates";
}

} // namespace

//===----------------------------------------------------------------------===//
// The launchers (Launchers.h) on the host executor: what llm-lower-to-cuda's
// code calls, checked against the CPU kernels without a GPU.
//===----------------------------------------------------------------------===//

namespace {

/// Runs launcher calls on a host executor; the pending error after them.
class HostLaunches {
public:
  HostLaunches() : executor(createHostLaunchExecutor()) {
    (void)takeLaunchError();
    setLaunchExecutor(executor.get());
  }
  ~HostLaunches() { setLaunchExecutor(nullptr); }
  std::unique_ptr<LaunchExecutor> executor;
};

LaunchArg argOf(LaunchArg::Kind kind, int64_t value) {
  LaunchArg a;
  a.kind = kind;
  a.i64 = value;
  return a;
}

} // namespace

TEST(CudaLaunchersTest, HostExecutorChecksArgumentsAndGrids) {
  std::unique_ptr<LaunchExecutor> host = createHostLaunchExecutor();
  std::vector<float> x(8, 1.0f), w(8, 1.0f), y(8);
  KernelLaunch norm;
  norm.kernel = "llmc_rms_norm";
  norm.grid[0] = 1;
  norm.block[0] = 256;
  LaunchArg px, pw, py;
  px.kind = pw.kind = py.kind = LaunchArg::Ptr;
  px.ptr = x.data();
  pw.ptr = w.data();
  py.ptr = y.data();
  LaunchArg eps, offset;
  eps.kind = offset.kind = LaunchArg::F32;
  eps.f32 = 1e-5f;
  offset.f32 = 0.0f;
  // cols as a long long where the kernel takes an int.
  norm.args = {px, pw, py, argOf(LaunchArg::I64, 8), eps, offset};
  Status wrongKind = host->launch(norm);
  EXPECT_EQ(wrongKind.message(),
            "llmc_rms_norm: argument 3: expected an int, found a long long");
  norm.args = {px, pw, py, argOf(LaunchArg::I32, 8), eps};
  EXPECT_EQ(host->launch(norm).message(),
            "llmc_rms_norm: expected argument 5, found 5 arguments");
  norm.args = {px, pw, py, argOf(LaunchArg::I32, 8), eps, offset};
  ASSERT_TRUE(host->launch(norm).isOk());
  EXPECT_NEAR(y[0], 1.0f, 1e-5f);
  // A GEMV grid of 1 block (4 warps) for 5 outputs.
  std::vector<float> wide(5 * 8, 1.0f), out(5);
  KernelLaunch gemv;
  gemv.kernel = "llmc_linear_rows";
  gemv.grid[0] = 1;
  gemv.block[0] = 128;
  LaunchArg pwide, pout, none;
  pwide.kind = pout.kind = none.kind = LaunchArg::Ptr;
  pwide.ptr = wide.data();
  pout.ptr = out.data();
  none.ptr = nullptr;
  gemv.args = {pwide,
               argOf(LaunchArg::I32, LLMK_F32),
               px,
               none,
               pout,
               argOf(LaunchArg::I32, 1),
               argOf(LaunchArg::I32, 5),
               argOf(LaunchArg::I32, 8)};
  EXPECT_NE(host->launch(gemv).message().find("does not cover"),
            std::string::npos);
  gemv.grid[0] = 2;
  ASSERT_TRUE(host->launch(gemv).isOk());
  EXPECT_EQ(out[4], 8.0f);
  KernelLaunch unknown;
  unknown.kernel = "llmc_nothing";
  EXPECT_EQ(host->launch(unknown).message(),
            "the host executor runs no kernel 'llmc_nothing'");
}

TEST(CudaLaunchersTest, NoExecutorIsAnError) {
  (void)takeLaunchError();
  std::vector<float> x(4), y(4);
  llmc_cuda_add(x.data(), x.data(), y.data(), 4);
  EXPECT_EQ(takeLaunchError(), "llmc_cuda_add: no CUDA executor is set (the "
                               "model was not loaded for --target=cuda)");
  EXPECT_EQ(takeLaunchError(), "");
}

/// llmc_cuda_linear against llmk_linear: a few rows take the fp32 GEMV
/// (equal to rounding), 20 rows the tensor-core GEMM (x and w in bf16).
TEST(CudaLaunchersTest, LinearMatchesTheCPUKernel) {
  HostLaunches launches;
  const int64_t k = 64, n = 24;
  std::vector<float> w = randomRow(n * k, 51), bias = randomRow(n, 52);
  for (int64_t m : {3, 20}) {
    std::vector<float> x = randomRow(m * k, 53), got(m * n), want(m * n);
    llmk_linear(x.data(), w.data(), LLMK_F32, LLMK_LAYOUT_ROWS, bias.data(),
                want.data(), m, k, n);
    llmc_cuda_linear(x.data(), w.data(), LLMK_F32, LLMK_LAYOUT_ROWS,
                     bias.data(), got.data(), m, k, n);
    ASSERT_EQ(takeLaunchError(), "");
    expectClose(got, want, m < 16 ? 1e-5f : 1e-2f, "linear");
  }
  // Panels are the CPU kernels' layout.
  std::vector<float> x(k), y(n);
  llmc_cuda_linear(x.data(), w.data(), LLMK_F32, LLMK_LAYOUT_PANELS, nullptr,
                   y.data(), 1, k, n);
  EXPECT_NE(takeLaunchError().find("expected a weight in rows"),
            std::string::npos);
}

/// llmc_cuda_linear_q against llmk_linear_q on weights quantized by the
/// runtime (8 and 4 bits, groups of 32 and per row): the dequantizing GEMV
/// for 3 rows, the dequantizing GEMM (x in bf16) for 20.
TEST(CudaLaunchersTest, QuantizedLinearMatchesTheCPUKernel) {
  HostLaunches launches;
  const int64_t k = 64, n = 24;
  std::vector<float> w = randomRow(n * k, 71), bias = randomRow(n, 72);
  for (int bits : {8, 4})
    for (int64_t group : {int64_t(32), int64_t(0)}) {
      std::vector<uint8_t> packed(
          llmk::quantPackedBytes(n, k, bits, group, false));
      llmk::quantizeWeight(w.data(), n, k, bits, group, bits != 8,
                           packed.data());
      for (int64_t m : {3, 20}) {
        std::vector<float> x = randomRow(m * k, 73), got(m * n), want(m * n);
        llmk_linear_q(x.data(), packed.data(), bits, group, 0, bias.data(),
                      want.data(), m, k, n);
        llmc_cuda_linear_q(x.data(), packed.data(), bits, group, 0, bias.data(),
                           got.data(), m, k, n);
        ASSERT_EQ(takeLaunchError(), "");
        // The CPU kernel's few-row path quantizes x to int8: 1e-2 there too.
        expectClose(got, want, 1e-2f, "linear_q");
      }
    }
  // Act-order: the stored features are input features perm[t] (the
  // permutation after the packed weight); x is read in that order.
  const int64_t permAt = llmk::quantPermOffset(n, k, 4, 32);
  std::vector<uint8_t> packed(size_t(permAt + k * 4));
  llmk::quantizeWeight(w.data(), n, k, 4, 32, true, packed.data());
  auto *perm = reinterpret_cast<int32_t *>(packed.data() + permAt);
  for (int64_t t = 0; t < k; ++t)
    perm[t] = static_cast<int32_t>((t * 7) % k);
  for (int64_t m : {3, 20}) {
    std::vector<float> x = randomRow(m * k, 74), got(m * n), want(m * n);
    llmk_linear_q(x.data(), packed.data(), 4, 32, LLMK_QUANT_PERMUTED, nullptr,
                  want.data(), m, k, n);
    llmc_cuda_linear_q(x.data(), packed.data(), 4, 32, LLMK_QUANT_PERMUTED,
                       nullptr, got.data(), m, k, n);
    ASSERT_EQ(takeLaunchError(), "");
    expectClose(got, want, 1e-2f, "linear_q act-order");
  }
}

/// llmc_cuda_paged_attention against llmk_paged_attention on the same
/// cache: decode and a 5-query prefill (split paged attention and its
/// reduction), a 20-query prefill (gathered keys, FlashAttention), causal,
/// sliding window and ALiBi, blocks out of order.
TEST(CudaLaunchersTest, PagedAttentionMatchesTheCPUKernel) {
  HostLaunches launches;
  const int64_t heads = 4, kvHeads = 2, d = 16, blockSize = 4, blocks = 12,
                layers = 2, len = 37;
  std::vector<float> data =
      randomRow(size_t(layers * blocks * 2 * kvHeads * blockSize * d), 61);
  LLMKCache cache{data.data(), nullptr, blocks,    layers,
                  kvHeads,     d,       blockSize, LLMK_F32};
  std::vector<int32_t> table = {11, 3, 7, 0, 5, 9, 2, 8, 1, 4, 6, 10};
  std::vector<int32_t> lens = {static_cast<int32_t>(len)};
  std::vector<float> slopes = {0.5f, 0.25f, 0.125f, 0.0625f};
  // 1 and 5 queries: the split kernel; 20 (a prefill): the keys gathered
  // from the cache and FlashAttention on tensor cores (bf16: 2e-2).
  for (int64_t qLen : {1, 5, 20})
    for (int32_t mask : {LLMK_MASK_CAUSAL, LLMK_MASK_SLIDING_WINDOW})
      for (bool alibi : {false, true}) {
        std::vector<float> q = randomRow(qLen * heads * d, 62), got(q.size()),
                           want(q.size());
        // Scores of a trained model's size for the bf16 path (|q.k| up
        // to ~15, not ~150: bf16's 0.4% of 150 would move a softmax).
        if (qLen >= 16)
          for (float &x : q)
            x *= 0.1f;
        const float *s = alibi ? slopes.data() : nullptr;
        llmk_paged_attention(q.data(), &cache, 1, table.data(),
                             int64_t(table.size()), lens.data(), s, nullptr, 0,
                             0, 0, want.data(), 1, qLen, heads, 0.25f, mask, 6);
        llmc_cuda_paged_attention(q.data(), &cache, 1, table.data(),
                                  int64_t(table.size()), lens.data(), s,
                                  nullptr, 0, 0, 0, got.data(), 1, qLen, heads,
                                  0.25f, mask, 6);
        ASSERT_EQ(takeLaunchError(), "");
        expectClose(got, want, qLen < 16 ? 1e-5f : 2e-2f, "paged attention");
      }
  // T5's relative bias from a [buckets, heads] table, both directions.
  std::vector<float> biasTable = randomRow(32 * heads, 63);
  for (int32_t bidirectional : {0, 1})
    for (int64_t qLen : {1, 5}) {
      std::vector<float> q = randomRow(qLen * heads * d, 64), got(q.size()),
                         want(q.size());
      llmk_paged_attention(q.data(), &cache, 0, table.data(),
                           int64_t(table.size()), lens.data(), nullptr,
                           biasTable.data(), 32, 20, bidirectional, want.data(),
                           1, qLen, heads, 1.0f, LLMK_MASK_CAUSAL, 0);
      llmc_cuda_paged_attention(
          q.data(), &cache, 0, table.data(), int64_t(table.size()), lens.data(),
          nullptr, biasTable.data(), 32, 20, bidirectional, got.data(), 1, qLen,
          heads, 1.0f, LLMK_MASK_CAUSAL, 0);
      ASSERT_EQ(takeLaunchError(), "");
      expectClose(got, want, 1e-5f, "paged attention, relative bias");
      // The same buckets as a [heads, qLen, kvLen] tensor.
      std::vector<float> wantBias(heads * qLen * len), gotBias(wantBias.size());
      llmk_relative_position_bias(biasTable.data(), wantBias.data(), heads,
                                  qLen, len, 32, 20, bidirectional);
      llmc_cuda_relative_position_bias(biasTable.data(), gotBias.data(), heads,
                                       qLen, len, 32, 20, bidirectional);
      ASSERT_EQ(takeLaunchError(), "");
      EXPECT_EQ(gotBias, wantBias);
    }
}

/// The launchers on the device executor, over device memory: the same
/// checks as on the host executor, now of the kernels themselves. Skipped
/// without a device.
TEST_F(CudaDeviceTest, LaunchersMatchTheCPUKernels) {
  llmrt::Expected<std::unique_ptr<LaunchExecutor>> executor =
      createDeviceLaunchExecutor(0, 16, "");
  ASSERT_TRUE(bool(executor)) << executor.error();
  (void)takeLaunchError();
  setLaunchExecutor(executor->get());
  auto at = [](const DeviceBuffer &b) {
    return reinterpret_cast<float *>(b.get());
  };
  // Projections: the GEMV per row and the tensor-core GEMM.
  const int64_t k = 64, n = 24;
  std::vector<float> w = randomRow(n * k, 51), bias = randomRow(n, 52);
  DeviceBuffer dw = put(w), db = put(bias);
  for (int64_t m : {3, 20}) {
    std::vector<float> x = randomRow(m * k, 53), want(m * n);
    llmk_linear(x.data(), w.data(), LLMK_F32, LLMK_LAYOUT_ROWS, bias.data(),
                want.data(), m, k, n);
    DeviceBuffer dx = put(x), dy = put(want);
    llmc_cuda_linear(at(dx), at(dw), LLMK_F32, LLMK_LAYOUT_ROWS, at(db), at(dy),
                     m, k, n);
    ASSERT_EQ(takeLaunchError(), "");
    expectClose(get(dy, want.size()), want, m < 16 ? 1e-5f : 1e-2f,
                "llmc_cuda_linear");
  }
  // The cache: append 37 tokens' keys and values, then attend (decode and
  // a 5-query prefill), against the CPU kernels on a host copy.
  const int64_t heads = 4, kvHeads = 2, d = 16, blockSize = 4, blocks = 12,
                len = 37;
  std::vector<float> hostData(size_t(blocks * 2 * kvHeads * blockSize * d));
  LLMKCache hostCache{hostData.data(), nullptr, blocks,    1,
                      kvHeads,         d,       blockSize, LLMK_F32};
  DeviceBuffer dcache = put(hostData);
  LLMKCache deviceCache = hostCache;
  deviceCache.data = at(dcache);
  std::vector<int32_t> table = {11, 3, 7, 0, 5, 9, 2, 8, 1, 4, 6, 10},
                       slots(len), lens = {static_cast<int32_t>(len)};
  for (int64_t p = 0; p < len; ++p)
    slots[p] = table[p / blockSize] * blockSize + p % blockSize;
  std::vector<float> keys = randomRow(len * kvHeads * d, 54),
                     values = randomRow(len * kvHeads * d, 55);
  DeviceBuffer dslots = put(slots), dk = put(keys), dv = put(values),
               dtable = put(table), dlens = put(lens);
  llmk_kv_cache_append(&hostCache, 0, slots.data(), keys.data(), values.data(),
                       len);
  llmc_cuda_kv_cache_append(&deviceCache, 0,
                            reinterpret_cast<int32_t *>(dslots.get()), at(dk),
                            at(dv), len);
  ASSERT_EQ(takeLaunchError(), "");
  expectClose(get(dcache, hostData.size()), hostData, 0.0f, "kv append");
  for (int64_t qLen : {1, 5}) {
    std::vector<float> q = randomRow(qLen * heads * d, 56), want(q.size());
    llmk_paged_attention(q.data(), &hostCache, 0, table.data(),
                         int64_t(table.size()), lens.data(), nullptr, nullptr,
                         0, 0, 0, want.data(), 1, qLen, heads, 0.25f,
                         LLMK_MASK_CAUSAL, 0);
    DeviceBuffer dq = put(q), dout = put(want);
    llmc_cuda_paged_attention(
        at(dq), &deviceCache, 0, reinterpret_cast<int32_t *>(dtable.get()),
        int64_t(table.size()), reinterpret_cast<int32_t *>(dlens.get()),
        nullptr, nullptr, 0, 0, 0, at(dout), 1, qLen, heads, 0.25f,
        LLMK_MASK_CAUSAL, 0);
    ASSERT_EQ(takeLaunchError(), "");
    expectClose(get(dout, want.size()), want, 1e-4f, "paged attention");
  }
  setLaunchExecutor(nullptr);
}

/// The MoE launchers against the CPU kernels: routing, the permutation with
/// a capacity (dropped copies), the grouped projections (the GEMV per row
/// within 1e-5; 40 rows through the grouped tensor-core GEMM within 1e-2;
/// quantized experts) and the combine.
TEST(CudaLaunchersTest, MixtureOfExpertsMatchesTheCPUKernels) {
  HostLaunches launches;
  const int64_t tokens = 20, experts = 4, topK = 2, hidden = 32, n = 24;
  const int64_t rows = tokens * topK;
  std::vector<float> logits = randomRow(tokens * experts, 81),
                     x = randomRow(tokens * hidden, 82);
  std::vector<float> wantWeights(rows), gotWeights(rows);
  std::vector<int32_t> wantIdx(rows), gotIdx(rows);
  llmk_moe_route(logits.data(), wantWeights.data(), wantIdx.data(), tokens,
                 experts, topK, 1);
  llmc_cuda_moe_route(logits.data(), gotWeights.data(), gotIdx.data(), tokens,
                      experts, topK, 1);
  ASSERT_EQ(takeLaunchError(), "");
  EXPECT_EQ(gotIdx, wantIdx);
  expectClose(gotWeights, wantWeights, 1e-6f, "route weights");
  for (int64_t capacity : {0, 6}) {
    std::vector<float> wantPerm(rows * hidden), gotPerm(rows * hidden);
    std::vector<int32_t> wantOff(experts + 1), gotOff(experts + 1),
        wantSrc(rows), gotSrc(rows);
    llmk_moe_permute(x.data(), wantIdx.data(), wantPerm.data(), wantOff.data(),
                     wantSrc.data(), tokens, hidden, experts, topK, capacity);
    llmc_cuda_moe_permute(x.data(), wantIdx.data(), gotPerm.data(),
                          gotOff.data(), gotSrc.data(), tokens, hidden, experts,
                          topK, capacity);
    ASSERT_EQ(takeLaunchError(), "");
    EXPECT_EQ(gotOff, wantOff) << "capacity " << capacity;
    EXPECT_EQ(gotSrc, wantSrc) << "capacity " << capacity;
    EXPECT_EQ(gotPerm, wantPerm) << "capacity " << capacity;
    // The experts' projections [experts, n, hidden], float and int8.
    std::vector<float> w = randomRow(experts * n * hidden, 83);
    std::vector<float> want(rows * n), got(rows * n);
    llmk_grouped_matmul(wantPerm.data(), w.data(), LLMK_F32, LLMK_LAYOUT_ROWS,
                        wantOff.data(), want.data(), rows, hidden, n, experts);
    llmc_cuda_grouped_gemv(wantPerm.data(), w.data(), LLMK_F32,
                           LLMK_LAYOUT_ROWS, wantOff.data(), got.data(), rows,
                           hidden, n, experts);
    ASSERT_EQ(takeLaunchError(), "");
    expectClose(got, want, 1e-5f, "grouped gemv");
    std::fill(got.begin(), got.end(), 7.0f);
    llmc_cuda_grouped_matmul(wantPerm.data(), w.data(), LLMK_F32,
                             LLMK_LAYOUT_ROWS, wantOff.data(), got.data(), rows,
                             hidden, n, experts);
    ASSERT_EQ(takeLaunchError(), "");
    expectClose(got, want, 1e-2f, "grouped gemm");
    const int64_t each = llmk::quantExpertBytes(n, hidden, 8, 32);
    std::vector<uint8_t> packed(size_t(experts * each));
    for (int64_t e = 0; e < experts; ++e)
      llmk::quantizeWeight(w.data() + e * n * hidden, n, hidden, 8, 32, false,
                           packed.data() + e * each);
    llmk_grouped_matmul_q(wantPerm.data(), packed.data(), 8, 32, wantOff.data(),
                          want.data(), rows, hidden, n, experts);
    llmc_cuda_grouped_gemv_q(wantPerm.data(), packed.data(), 8, 32,
                             wantOff.data(), got.data(), rows, hidden, n,
                             experts);
    ASSERT_EQ(takeLaunchError(), "");
    expectClose(got, want, 1e-2f, "grouped gemv q");
    // Combine, from the CPU's expert outputs.
    std::vector<float> wantY(tokens * n), gotY(tokens * n);
    llmk_moe_combine(want.data(), wantWeights.data(), wantSrc.data(),
                     wantY.data(), tokens, n, topK);
    llmc_cuda_moe_combine(want.data(), wantWeights.data(), wantSrc.data(),
                          gotY.data(), tokens, n, topK);
    ASSERT_EQ(takeLaunchError(), "");
    expectClose(gotY, wantY, 1e-6f, "combine");
  }
  // An expert index out of range is the launch's error.
  std::vector<int32_t> bad(rows, 0), off(experts + 1), src(rows);
  bad[3] = 9;
  std::vector<float> perm(rows * hidden);
  llmc_cuda_moe_permute(x.data(), bad.data(), perm.data(), off.data(),
                        src.data(), tokens, hidden, experts, topK, 0);
  EXPECT_EQ(takeLaunchError(), "llmc_cuda_moe_permute: an expert index "
                               "outside [0, 4)");
}

/// The kernels' error flags are read back once, when the error is asked
/// for: several launches, one of them out of range, give its message; the
/// flags are zero again after.
TEST(CudaLaunchersTest, ErrorFlagsAreReadOnce) {
  HostLaunches launches;
  std::vector<float> table = randomRow(4 * 8, 91), out(3 * 8);
  std::vector<int64_t> good = {0, 1, 3}, bad = {0, 7, 1};
  llmc_cuda_embedding(good.data(), table.data(), LLMK_F32, LLMK_LAYOUT_ROWS,
                      out.data(), 3, 4, 8);
  llmc_cuda_embedding(bad.data(), table.data(), LLMK_F32, LLMK_LAYOUT_ROWS,
                      out.data(), 3, 4, 8);
  llmc_cuda_embedding(good.data(), table.data(), LLMK_F32, LLMK_LAYOUT_ROWS,
                      out.data(), 3, 4, 8);
  EXPECT_EQ(takeLaunchError(),
            "llmc_cuda_embedding: a token id outside the vocabulary [0, 4)");
  llmc_cuda_embedding(good.data(), table.data(), LLMK_F32, LLMK_LAYOUT_ROWS,
                      out.data(), 3, 4, 8);
  EXPECT_EQ(takeLaunchError(), "");
  EXPECT_EQ(out[8], table[8]);
}

/// The cache append into f32, f16, bf16 and int8 caches stores what the
/// CPU kernel stores, bit for bit (the same round-to-nearest-even
/// conversions, subnormals and overflow included; int8's scales).
TEST(CudaLaunchersTest, CacheAppendMatchesTheCPUKernel) {
  HostLaunches launches;
  const int64_t blocks = 3, kvHeads = 2, d = 8, blockSize = 4, tokens = 5;
  std::vector<float> k = randomRow(tokens * kvHeads * d, 95),
                     v = randomRow(tokens * kvHeads * d, 96);
  // Values past f16's range and below its normal range.
  k[0] = 70000.0f;
  k[1] = 3e-6f;
  k[2] = -1e-9f;
  std::vector<int32_t> slots = {5, 0, 11, -1, 2};
  for (int32_t dtype : {int32_t(LLMK_F32), int32_t(LLMK_F16),
                        int32_t(LLMK_BF16), int32_t(LLMK_I8)}) {
    const size_t values = size_t(blocks * 2 * kvHeads * blockSize * d);
    const size_t bytes = values * (dtype == LLMK_F32  ? 4
                                   : dtype == LLMK_I8 ? 1
                                                      : 2);
    std::vector<uint8_t> want(bytes, 0), got(bytes, 0);
    std::vector<float> wantScales(values / d, 0.0f),
        gotScales(values / d, 0.0f);
    LLMKCache a{want.data(), wantScales.data(), blocks, 1, kvHeads,
                d,           blockSize,         dtype};
    LLMKCache b{got.data(), gotScales.data(), blocks, 1, kvHeads,
                d,          blockSize,        dtype};
    llmk_kv_cache_append(&a, 0, slots.data(), k.data(), v.data(), tokens);
    llmc_cuda_kv_cache_append(&b, 0, slots.data(), k.data(), v.data(), tokens);
    ASSERT_EQ(takeLaunchError(), "");
    EXPECT_EQ(got, want) << "dtype " << dtype;
    EXPECT_EQ(gotScales, wantScales) << "dtype " << dtype;
  }
}

/// The remaining launchers against their CPU kernels: the batched matmul
/// (both forms), ALiBi's bias tensor, SiLU, and sampling (the runtime's
/// sampler on copies: the same ids from the same seed).
TEST(CudaLaunchersTest, MatmulAlibiSiluAndSamplingMatchTheCPUKernels) {
  HostLaunches launches;
  const int64_t batch = 2, m = 3, k = 5, n = 4;
  std::vector<float> a = randomRow(batch * m * k, 101),
                     b = randomRow(batch * k * n, 102);
  for (int32_t transposeB : {0, 1}) {
    std::vector<float> want(batch * m * n), got(want.size());
    llmk_matmul(a.data(), b.data(), want.data(), batch, m, k, n, transposeB);
    llmc_cuda_matmul(a.data(), b.data(), got.data(), batch, m, k, n,
                     transposeB);
    ASSERT_EQ(takeLaunchError(), "");
    expectClose(got, want, 1e-5f, "matmul");
  }
  std::vector<float> wantBias(6 * 3 * 7), gotBias(wantBias.size());
  llmk_alibi(wantBias.data(), 6, 3, 7, 8.0);
  llmc_cuda_alibi(gotBias.data(), 6, 3, 7, 8.0);
  ASSERT_EQ(takeLaunchError(), "");
  EXPECT_EQ(gotBias, wantBias);
  std::vector<float> x = randomRow(50, 103), wantSilu(50), gotSilu(50);
  llmk_silu(x.data(), wantSilu.data(), 50);
  llmc_cuda_silu(x.data(), gotSilu.data(), 50);
  ASSERT_EQ(takeLaunchError(), "");
  expectClose(gotSilu, wantSilu, 1e-6f, "silu");
  std::vector<float> logits = randomRow(3 * 40, 104);
  std::vector<int64_t> wantIds(3), gotIds(3);
  uint64_t wantState[5] = {0, 0, 0, 0, 0}, gotState[5] = {0, 0, 0, 0, 0};
  for (int step = 0; step < 3; ++step) {
    llmrt_sample(logits.data(), 3, 40, nullptr, 0, 4, wantIds.data(), 8, 0.9,
                 10, 0.95, 0.0, 1.0, 7, wantState);
    llmc_cuda_sample(logits.data(), 3, 40, nullptr, 0, 4, gotIds.data(), 8, 0.9,
                     10, 0.95, 0.0, 1.0, 7, gotState);
    ASSERT_EQ(takeLaunchError(), "");
    EXPECT_EQ(gotIds, wantIds) << "step " << step;
  }
}

/// A table the launchers uploaded belongs to its executor: a new executor
/// (here likely at the freed one's address, with its scratch at the freed
/// scratch's) uploads it again rather than trusting memory it never wrote.
TEST(CudaLaunchersTest, UploadedTablesBelongToTheirExecutor) {
  std::vector<float> want(4 * 2 * 5);
  llmk_alibi(want.data(), 4, 2, 5, 8.0);
  for (int round = 0; round < 3; ++round) {
    HostLaunches launches;
    std::vector<float> got(want.size());
    llmc_cuda_alibi(got.data(), 4, 2, 5, 8.0);
    ASSERT_EQ(takeLaunchError(), "");
    EXPECT_EQ(got, want) << "executor " << round;
  }
}
