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
#include "Quant.h"
#include "cuda/KernelSources.h"
#include "cuda/Nvrtc.h"
#include "cuda/kernels/Common.cuh"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
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

/// Top-p's cut is transformers' rule (sort ascending, drop the tokens whose
/// cumulative probability is at most 1 - p, keep at least one), on exact
/// (dyadic) distributions so that no rounding decides a boundary.
TEST(CudaHostLogicTest, TopPCountIsTransformersRule) {
  std::mt19937 rng(5);
  for (int trial = 0; trial < 200; ++trial) {
    const int count = 1 + static_cast<int>(rng() % 12);
    std::vector<int> units(count, 1);
    for (int extra = 64 - count; extra > 0; --extra)
      ++units[rng() % count];
    std::sort(units.begin(), units.end(), std::greater<int>());
    std::vector<float> probabilities;
    for (int u : units)
      probabilities.push_back(static_cast<float>(u) / 64.0f);
    const float p = static_cast<float>(1 + rng() % 64) / 64.0f;
    // transformers: ascending order, cumulative sums, drop <= 1 - p.
    int kept = 0;
    double cumulative = 0;
    for (int i = count - 1; i >= 0; --i) {
      cumulative += probabilities[i];
      if (cumulative > 1.0 - p)
        ++kept;
    }
    kept = std::max(kept, 1);
    EXPECT_EQ(llmc_cuda::topPCount(probabilities.data(), count, p), kept)
        << "trial " << trial << ", p " << p;
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
    for (int headDim : {64, 80, 96, 128}) {
      llmrt::Expected<CompiledKernel> compiled = compileCuda(
          source, arch, {"-DLLMC_HEAD_DIM=" + std::to_string(headDim)});
      ASSERT_TRUE(bool(compiled)) << compiled.error();
      EXPECT_FALSE(compiled->cubin.empty());
      std::vector<KernelResources> kernels = parsePtxasResources(compiled->log);
      for (const std::string &name : getKernelNames()) {
        auto found = std::find_if(
            kernels.begin(), kernels.end(),
            [&](const KernelResources &k) { return k.name == name; });
        ASSERT_NE(found, kernels.end())
            << name << " missing from ptxas's report for sm_" << arch << ":\n"
            << compiled->log;
        EXPECT_EQ(found->spillStores, 0) << name << " sm_" << arch;
        EXPECT_EQ(found->spillLoads, 0) << name << " sm_" << arch;
        EXPECT_GT(found->registers, 0) << name << " sm_" << arch;
        const int budget = name == "llmc_flash_attention" ? 255
                           : name == "llmc_gemm_bf16"     ? 128
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
    EXPECT_EQ(hmmaIn("llmc_gemv_bf16"), 0) << "sm_" << arch;
    // FlashAttention at d = 64, per 64-key tile: S = Q K^T in 8 tiles of 8
    // keys x 4 steps of 16 dims, O += P V in 8 tiles of 8 dims x 4 steps
    // of 16 keys.
    EXPECT_EQ(hmmaIn("llmc_flash_attention"), 64) << "sm_" << arch;
  }
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

/// Device execution: where there is no device, skipped with the reason.
TEST(CudaKernelsTest, DeviceParity) {
  llmrt::Expected<int> devices = countCudaDevices();
  if (!devices)
    GTEST_SKIP() << devices.error();
  GTEST_SKIP() << *devices
               << " CUDA device(s) present, but the device runtime (module "
                  "loading and launches) is not in this build yet";
}

} // namespace
