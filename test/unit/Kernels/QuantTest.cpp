//===- QuantTest.cpp - Quantized weights and llmk_linear_q ----------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// Round-to-nearest quantization into the kernels' layout (Quant.h), its
// inverse, and llmk_linear_q on every instruction set the host has, against
// references computed here from the dequantized weights: the fp32 GEMM path
// (4 rows and more) exactly, and the integer GEMV path (fewer rows) against
// the activations quantized per block of 32 as the kernel's contract says.
//
//===----------------------------------------------------------------------===//

#include "Quant.h"
#include "Kernels.h"
#include "Simd.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <vector>

using namespace llmk;

namespace {

std::vector<float> randomFloats(int64_t count, uint32_t seed, float scale) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> values(count);
  for (float &v : values)
    v = dist(rng);
  return values;
}

struct Packed {
  std::vector<uint8_t> bytes;
  std::vector<float> dequantized; // [n, k]
};

Packed quantize(const std::vector<float> &w, int64_t n, int64_t k, int bits,
                int64_t group, bool symmetric, bool quads = false) {
  Packed p;
  p.bytes.assign(quantPackedBytes(n, k, bits, group, quads), 0xcd);
  quantizeWeight(w.data(), n, k, bits, group, symmetric, p.bytes.data(), quads);
  p.dequantized.resize(n * k);
  for (int64_t row = 0; row < n; ++row)
    dequantize(p.bytes.data(), n, k, bits, group, row, 0, k,
               p.dequantized.data() + row * k);
  return p;
}

TEST(QuantizeTest, CheckQuantizationNamesTheProblem) {
  EXPECT_EQ(checkQuantization(8, 0, 70), "");
  EXPECT_EQ(checkQuantization(4, 128, 256), "");
  EXPECT_EQ(checkQuantization(3, 32, 64),
            "expected 8, 6, 5 or 4 bits, found 3");
  EXPECT_EQ(checkQuantization(4, 48, 96),
            "expected a group size of 0 (per output channel), 16 or a "
            "multiple of 32, found 48");
  EXPECT_EQ(checkQuantization(8, 16, 64), "");
  EXPECT_EQ(checkQuantization(8, 16, 48),
            "expected groups of 16 over a multiple of 32 input features, "
            "found 48");
  EXPECT_EQ(checkQuantization(4, 64, 96),
            "expected a group size that divides the 96 input features, "
            "found 64");
}

/// Every element comes back within half a step of its group's scale, and
/// the layout's sizes hold.
TEST(QuantizeTest, RoundTripWithinHalfAStep) {
  uint32_t seed = 1;
  for (int bits : {8, 6, 5, 4})
    for (bool symmetric : {true, false})
      for (auto [k, group] : {std::pair<int64_t, int64_t>{70, 0},
                              {64, 32},
                              {64, 16},
                              {256, 64},
                              {256, 128},
                              {96, 0}}) {
        const int64_t n = 7;
        std::vector<float> w = randomFloats(n * k, ++seed, 0.05f);
        Packed p = quantize(w, n, k, bits, group, symmetric);
        const int64_t size = group == 0 ? k : group;
        for (int64_t row = 0; row < n; ++row)
          for (int64_t g = 0; g < k / size; ++g) {
            float lo = 0, hi = 0, amax = 0;
            for (int64_t i = 0; i < size; ++i) {
              float v = w[row * k + g * size + i];
              lo = std::min(lo, v);
              hi = std::max(hi, v);
              amax = std::max(amax, std::fabs(v));
            }
            const float levels = static_cast<float>((1 << bits) - 1);
            const float half = static_cast<float>(1 << (bits - 1));
            const float step = symmetric
                                   ? (bits == 8 ? amax / 127.0f : amax / half)
                                   : (hi - lo) / levels;
            // Q4_0 maps the extreme to -8: values of the other sign past
            // 7 steps clamp to 7 and err by up to a step.
            float extreme = 0;
            for (int64_t i = 0; i < size; ++i)
              if (std::fabs(w[row * k + g * size + i]) > std::fabs(extreme))
                extreme = w[row * k + g * size + i];
            for (int64_t i = 0; i < size; ++i) {
              int64_t at = row * k + g * size + i;
              float bound = 0.5f * step;
              if (bits != 8 && symmetric && extreme != 0)
                bound = std::max(
                    bound, (w[at] / (extreme / -half) - (half - 1.0f)) * step);
              // The scale and offset are stored in f16 (11 significant
              // bits): the scale may be off by 2^-11 of itself, which moves
              // a value up to 128 steps out by 128 x 2^-11 steps, and the
              // offset by 2^-11 of itself (|min| + 128 steps at most).
              const float scaleError = 128.0f * step / 2048.0f;
              const float offsetError =
                  symmetric ? 0.0f : (std::fabs(lo) + 128.0f * step) / 2048.0f;
              ASSERT_LE(std::fabs(p.dequantized[at] - w[at]),
                        bound + scaleError + offsetError + 1e-9f)
                  << bits << " bits" << (symmetric ? " symmetric" : "")
                  << " group " << group << " k " << k << " at " << at;
            }
          }
      }
}

/// llama.cpp's Q4_0 rule: the element of largest magnitude maps to -8 and
/// comes back exactly when its scale is an f16 value (-0.75 / -8); 8-bit
/// symmetric keeps the extreme to the f16 rounding of its scale.
TEST(QuantizeTest, SymmetricExtremesAreExact) {
  std::vector<float> w(32, 0.01f);
  w[5] = -0.75f;
  w[9] = 0.5f;
  Packed q4 = quantize(w, 1, 32, 4, 32, true);
  EXPECT_EQ(q4.dequantized[5], -0.75f);
  Packed q8 = quantize(w, 1, 32, 8, 32, true);
  EXPECT_NEAR(q8.dequantized[5], -0.75f, 0.75f / 2048);
  // A zero group stays zero.
  std::vector<float> zeros(64, 0.0f);
  for (int bits : {4, 8})
    for (bool symmetric : {true, false}) {
      Packed p = quantize(zeros, 1, 64, bits, 32, symmetric);
      for (float v : p.dequantized)
        EXPECT_EQ(v, 0.0f);
    }
}

/// quantizeActivations on AVX-512 gives the scalar code's values, scales
/// and sums bit for bit: blocks with a tail, all zeros, a NaN, an infinity,
/// and values whose scaled magnitude ties at .5.
TEST(QuantizeTest, WideActivationsMatchScalar) {
  if (!getAvx512QuantizeActivations())
    GTEST_SKIP() << "no AVX-512 on this host";
  for (int64_t k : {1, 16, 17, 32, 70, 256, 1000}) {
    std::vector<float> x = randomFloats(k, 40 + uint32_t(k), 3.0f);
    if (k >= 70) {
      std::fill(x.begin() + 32, x.begin() + 64, 0.0f);
      x[k - 1] = std::numeric_limits<float>::quiet_NaN();
      x[0] = 127.0f, x[1] = 0.5f, x[2] = -1.5f, x[3] = 2.5f;
    }
    if (k == 256)
      x[100] = -std::numeric_limits<float>::infinity();
    const int64_t blocks = quantBlocks(k);
    struct Out {
      std::vector<int8_t> values;
      std::vector<float> scales, sums, halves;
      std::vector<int32_t> valueSums;
    };
    auto run = [&](Isa isa) {
      setMaxIsa(isa);
      Out o{std::vector<int8_t>(blocks * 32, 99), std::vector<float>(blocks),
            std::vector<float>(blocks), std::vector<float>(2 * blocks),
            std::vector<int32_t>(blocks)};
      quantizeActivations(x.data(), k,
                          {o.values.data(), o.scales.data(), o.sums.data(),
                           o.halves.data(), o.valueSums.data()});
      setMaxIsa(getHostIsa());
      return o;
    };
    Out wide = run(getHostIsa()), scalar = run(Isa::Scalar);
    EXPECT_EQ(wide.values, scalar.values) << "k=" << k;
    EXPECT_EQ(wide.valueSums, scalar.valueSums) << "k=" << k;
    auto sameBits = [](const std::vector<float> &a,
                       const std::vector<float> &b) {
      return a.size() == b.size() &&
             std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
    };
    EXPECT_TRUE(sameBits(wide.scales, scalar.scales)) << "k=" << k;
    EXPECT_TRUE(sameBits(wide.sums, scalar.sums)) << "k=" << k;
    EXPECT_TRUE(sameBits(wide.halves, scalar.halves)) << "k=" << k;
  }
}

/// The activations quantized per block of 32 as llmk_linear_q's contract
/// says: scale max|x| / 127, values rounded to nearest (ties to even).
std::vector<float> quantizedActivations(const float *x, int64_t k) {
  std::vector<float> out(k);
  for (int64_t p0 = 0; p0 < k; p0 += 32) {
    int64_t count = std::min<int64_t>(32, k - p0);
    float amax = 0;
    for (int64_t i = 0; i < count; ++i)
      amax = std::max(amax, std::fabs(x[p0 + i]));
    float scale = amax / 127.0f;
    for (int64_t i = 0; i < count; ++i)
      out[p0 + i] =
          amax > 0 ? std::nearbyint(x[p0 + i] * (127.0f / amax)) * scale : 0;
  }
  return out;
}

const char *isaName(Isa isa) {
  return isa == Isa::Avx512Bf16 ? "avx512bf16"
         : isa == Isa::Avx512   ? "avx512"
         : isa == Isa::Avx2     ? "avx2"
                                : "scalar";
}

class LinearQTest : public ::testing::TestWithParam<std::tuple<Isa, int>> {
protected:
  void SetUp() override {
    Isa isa = std::get<0>(GetParam());
    if (isa > getHostIsa())
      GTEST_SKIP() << isaName(isa) << " is not supported by this host";
    setMaxIsa(isa);
    llmk_set_num_threads(std::get<1>(GetParam()));
    (void)llmk_take_error();
  }
  void TearDown() override {
    setMaxIsa(getHostIsa());
    llmk_set_num_threads(0);
  }
};

TEST_P(LinearQTest, MatchesTheDequantizedReference) {
  // m, k, n, group: the integer GEMV (m < 4) and the dequantizing GEMM,
  // with n off the row groups of 4 and the panel (48), k with a partial
  // block (per-channel only) and past one GEMM k slice (256).
  const int64_t cases[][4] = {
      {1, 32, 1, 0},
      {1, 64, 5, 32},
      {1, 70, 37, 0},
      {2, 256, 9, 128},
      {3, 96, 100, 32},
      {1, 768, 130, 64},
      {4, 64, 50, 32},
      {17, 70, 49, 0},
      {9, 520, 97, 0},
      {33, 256, 13, 64},
      // Groups of 16 (two per block, as ggml's Q6_K): GEMV and GEMM.
      {1, 64, 5, 16},
      {3, 256, 9, 16},
      {2, 96, 7, 16},
      {5, 96, 50, 16}};
  uint32_t seed = 100;
  for (int bits : {8, 6, 5, 4})
    for (bool symmetric : {true, false})
      for (const auto &c : cases) {
        const int64_t m = c[0], k = c[1], n = c[2], group = c[3];
        for (bool withBias : {false, true}) {
          std::vector<float> x = randomFloats(m * k, ++seed, 1.0f);
          std::vector<float> w = randomFloats(n * k, ++seed, 0.05f);
          std::vector<float> bias = randomFloats(n, ++seed, 0.1f);
          Packed p = quantize(w, n, k, bits, group, symmetric);
          std::vector<float> y(m * n, 123.0f);
          llmk_linear_q(x.data(), p.bytes.data(), bits, group, 0,
                        withBias ? bias.data() : nullptr, y.data(), m, k, n);
          ASSERT_EQ(llmk_take_error(), nullptr);
          const bool integer = m < 4;
          for (int64_t i = 0; i < m; ++i) {
            std::vector<float> xi(x.begin() + i * k, x.begin() + (i + 1) * k);
            if (integer)
              xi = quantizedActivations(xi.data(), k);
            for (int64_t j = 0; j < n; ++j) {
              double sum = withBias ? bias[j] : 0.0, magnitude = 0;
              for (int64_t q = 0; q < k; ++q) {
                sum += double(xi[q]) * p.dequantized[j * k + q];
                magnitude +=
                    std::fabs(double(xi[q]) * p.dequantized[j * k + q]);
              }
              ASSERT_NEAR(y[i * n + j], sum, 1e-5 * magnitude + 1e-6)
                  << bits << " bits" << (symmetric ? " symmetric" : "")
                  << " m=" << m << " k=" << k << " n=" << n
                  << " group=" << group << (withBias ? " bias" : "") << " at ("
                  << i << ", " << j << ")";
            }
          }
        }
      }
}

/// The activations of a row quantized to int8 with one scale, max|x| / 127
/// (W8A8).
std::vector<float> perRowActivations(const float *x, int64_t k) {
  float amax = 0;
  for (int64_t i = 0; i < k; ++i)
    amax = std::max(amax, std::fabs(x[i]));
  std::vector<float> out(k, 0.0f);
  if (amax > 0)
    for (int64_t i = 0; i < k; ++i)
      out[i] = std::nearbyint(x[i] * (127.0f / amax)) * (amax / 127.0f);
  return out;
}

/// W8A8: from 4 rows, integer tiles on per-row int8 activations (the VNNI
/// tile where the host has it, portable C elsewhere); fewer rows keep the
/// GEMV's blocks of 32.
TEST_P(LinearQTest, Int8ActivationsMatchTheReference) {
  const int64_t cases[][4] = {
      {4, 64, 50, 32},   {17, 70, 49, 0},   {9, 520, 97, 0}, {33, 256, 13, 64},
      {6, 896, 100, 64}, {5, 768, 48, 128}, {2, 96, 20, 32}};
  uint32_t seed = 700;
  for (int bits : {8, 6, 5, 4})
    for (bool symmetric : {true, false})
      for (const auto &c : cases) {
        const int64_t m = c[0], k = c[1], n = c[2], group = c[3];
        std::vector<float> x = randomFloats(m * k, ++seed, 1.0f);
        std::vector<float> w = randomFloats(n * k, ++seed, 0.05f);
        std::vector<float> bias = randomFloats(n, ++seed, 0.1f);
        Packed p = quantize(w, n, k, bits, group, symmetric, /*quads=*/true);
        std::vector<float> y(m * n, 123.0f);
        llmk_linear_q(x.data(), p.bytes.data(), bits, group, 1, bias.data(),
                      y.data(), m, k, n);
        ASSERT_EQ(llmk_take_error(), nullptr);
        for (int64_t i = 0; i < m; ++i) {
          std::vector<float> xi =
              m >= 4 ? perRowActivations(x.data() + i * k, k)
                     : quantizedActivations(x.data() + i * k, k);
          for (int64_t j = 0; j < n; ++j) {
            double sum = bias[j], magnitude = 0;
            for (int64_t q = 0; q < k; ++q) {
              sum += double(xi[q]) * p.dequantized[j * k + q];
              magnitude += std::fabs(double(xi[q]) * p.dequantized[j * k + q]);
            }
            ASSERT_NEAR(y[i * n + j], sum, 1e-5 * magnitude + 1e-6)
                << bits << " bits" << (symmetric ? " symmetric" : "")
                << " m=" << m << " k=" << k << " n=" << n << " group=" << group
                << " at (" << i << ", " << j << ")";
          }
        }
      }
}

/// LLMK_QUANT_INT8_BLOCKS: from 4 rows, on a host with VNNI and at 8 or 4
/// bits in groups of whole blocks, integer tiles on activations quantized
/// per block of 32, as the GEMV's (llama.cpp's numerics); otherwise the
/// dequantizing GEMM. The portable tile gives the VNNI tile's results bit
/// for bit, and the per-block reference on every host.
TEST_P(LinearQTest, Int8BlocksMatchTheReference) {
  const int64_t cases[][4] = {
      {4, 64, 50, 32},   {17, 70, 49, 0},   {9, 520, 97, 0},
      {33, 256, 13, 64}, {6, 896, 100, 32}, {5, 768, 48, 128},
      {2, 96, 20, 32},   {600, 96, 60, 32}, {7, 96, 20, 16}};
  const bool vnni = getVnniGemmQBlocksTile() != nullptr &&
                    getSimdKernels().isa >= Isa::Avx512;
  uint32_t seed = 1300;
  for (int bits : {8, 6, 5, 4})
    for (bool symmetric : {true, false})
      for (const auto &c : cases) {
        const int64_t m = c[0], k = c[1], n = c[2], group = c[3];
        std::vector<float> x = randomFloats(m * k, ++seed, 1.0f);
        std::vector<float> w = randomFloats(n * k, ++seed, 0.05f);
        std::vector<float> bias = randomFloats(n, ++seed, 0.1f);
        Packed p = quantize(w, n, k, bits, group, symmetric);
        std::vector<float> y(m * n, 123.0f);
        llmk_linear_q(x.data(), p.bytes.data(), bits, group,
                      LLMK_QUANT_INT8_BLOCKS, bias.data(), y.data(), m, k, n);
        ASSERT_EQ(llmk_take_error(), nullptr);
        const bool tiles = (bits == 8 || bits == 4) && group % 32 == 0;
        const bool blockActivations = m < 4 || (vnni && tiles);
        std::vector<float> portable(m * n, 0.0f);
        if (tiles) {
          linearQuantizedBlocksPortable(x.data(), p.bytes.data(), bits, group,
                                        bias.data(), portable.data(), m, k, n);
          if (vnni && m >= 4)
            ASSERT_EQ(y, portable) << bits << " bits m=" << m << " k=" << k
                                   << " n=" << n << " group=" << group;
        }
        for (int64_t i = 0; i < m; ++i) {
          std::vector<float> xb = quantizedActivations(x.data() + i * k, k);
          const std::vector<float> &xi =
              blockActivations ? xb
                               : std::vector<float>(x.begin() + i * k,
                                                    x.begin() + (i + 1) * k);
          for (int64_t j = 0; j < n; ++j) {
            double sum = bias[j], blocked = bias[j], magnitude = 0;
            for (int64_t q = 0; q < k; ++q) {
              sum += double(xi[q]) * p.dequantized[j * k + q];
              blocked += double(xb[q]) * p.dequantized[j * k + q];
              magnitude += std::fabs(double(xi[q]) * p.dequantized[j * k + q]);
            }
            ASSERT_NEAR(y[i * n + j], sum, 1e-5 * magnitude + 1e-6)
                << bits << " bits" << (symmetric ? " symmetric" : "")
                << " m=" << m << " k=" << k << " n=" << n << " group=" << group
                << " at (" << i << ", " << j << ")";
            if (tiles)
              ASSERT_NEAR(portable[i * n + j], blocked, 1e-5 * magnitude + 1e-6)
                  << "portable tile: " << bits << " bits m=" << m << " k=" << k
                  << " n=" << n << " group=" << group;
          }
        }
      }
  // A NaN or infinity in a row makes that row's outputs NaN (infinite or
  // NaN on the fp32 GEMM); the others stay finite.
  const int64_t m = 5, k = 64, n = 6;
  std::vector<float> w = randomFloats(n * k, 7, 0.05f);
  Packed p = quantize(w, n, k, 4, 32, true);
  std::vector<float> x(m * k, 0.5f), y(m * n);
  x[2 * k + 40] = std::numeric_limits<float>::infinity();
  llmk_linear_q(x.data(), p.bytes.data(), 4, 32, LLMK_QUANT_INT8_BLOCKS,
                nullptr, y.data(), m, k, n);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j)
      EXPECT_EQ(!std::isfinite(y[i * n + j]), i == 2) << i << ", " << j;
  // Both kinds of int8 activations at once: refused.
  llmk_linear_q(x.data(), p.bytes.data(), 4, 32,
                LLMK_QUANT_INT8_BLOCKS | LLMK_QUANT_INT8_ACTIVATIONS, nullptr,
                y.data(), m, k, n);
  EXPECT_NE(llmk_take_error(), nullptr);
}

/// With LLMK_QUANT_PERMUTED the kernel reads x in the order stored after
/// the weight: the same result as the unpermuted kernel on x permuted by
/// hand, bit for bit, on the GEMV and on the GEMM (and W8A8's tiles).
TEST_P(LinearQTest, PermutedInputsAreGathered) {
  const int64_t cases[][4] = {{1, 64, 20, 32}, {3, 96, 9, 32}, {7, 128, 50, 0}};
  uint32_t seed = 900;
  for (int32_t extra : {0, int32_t(LLMK_QUANT_INT8_ACTIVATIONS)})
    for (const auto &c : cases) {
      const int64_t m = c[0], k = c[1], n = c[2], group = c[3];
      const bool quads = extra != 0;
      std::vector<float> x = randomFloats(m * k, ++seed, 1.0f);
      std::vector<float> w = randomFloats(n * k, ++seed, 0.05f);
      Packed p = quantize(w, n, k, 4, group, false, quads);
      // A permutation: stored feature t reads input feature perm[t].
      std::vector<int32_t> perm(k);
      for (int64_t t = 0; t < k; ++t)
        perm[t] = static_cast<int32_t>((t * 37 + 11) % k);
      std::vector<uint8_t> bytes = p.bytes;
      int64_t offset = quantPermOffset(n, k, 4, group, quads);
      bytes.resize(offset + k * 4, 0);
      std::memcpy(bytes.data() + offset, perm.data(), k * 4);
      std::vector<float> xp(m * k);
      for (int64_t r = 0; r < m; ++r)
        for (int64_t t = 0; t < k; ++t)
          xp[r * k + t] = x[r * k + perm[t]];
      std::vector<float> y(m * n), expected(m * n);
      llmk_linear_q(x.data(), bytes.data(), 4, group,
                    LLMK_QUANT_PERMUTED | extra, nullptr, y.data(), m, k, n);
      ASSERT_EQ(llmk_take_error(), nullptr);
      llmk_linear_q(xp.data(), p.bytes.data(), 4, group, extra, nullptr,
                    expected.data(), m, k, n);
      EXPECT_EQ(y, expected) << "m=" << m << " k=" << k << " n=" << n;
    }
}

TEST_P(LinearQTest, NonFiniteActivationsGiveNaN) {
  const int64_t k = 64, n = 6;
  std::vector<float> w = randomFloats(n * k, 7, 0.05f);
  Packed p = quantize(w, n, k, 4, 32, true);
  std::vector<float> x(k, 0.5f), y(n);
  x[40] = std::numeric_limits<float>::infinity();
  llmk_linear_q(x.data(), p.bytes.data(), 4, 32, 0, nullptr, y.data(), 1, k, n);
  for (float v : y)
    EXPECT_TRUE(std::isnan(v));
}

TEST_P(LinearQTest, InvalidQuantizationIsAnError) {
  std::vector<float> x(96), y(2, 5.0f);
  std::vector<uint8_t> w(quantPackedBytes(2, 96, 4, 32));
  llmk_linear_q(x.data(), w.data(), 4, 64, 0, nullptr, y.data(), 1, 96, 2);
  const char *error = llmk_take_error();
  ASSERT_NE(error, nullptr);
  EXPECT_EQ(std::string(error),
            "llmk_linear_q: invalid quantization or flags, or null "
            "operand");
  EXPECT_EQ(y[0], 0.0f);
  // Groups of 16 with int8 activations: the W8A8 GEMM reads whole blocks.
  std::vector<uint8_t> w16(quantPackedBytes(2, 96, 8, 16, true));
  llmk_linear_q(x.data(), w16.data(), 8, 16, 1, nullptr, y.data(), 1, 96, 2);
  error = llmk_take_error();
  ASSERT_NE(error, nullptr);
}

INSTANTIATE_TEST_SUITE_P(
    Isas, LinearQTest,
    ::testing::Combine(::testing::Values(Isa::Scalar, Isa::Avx2, Isa::Avx512,
                                         Isa::Avx512Bf16),
                       ::testing::Values(1, 3)),
    [](const ::testing::TestParamInfo<std::tuple<Isa, int>> &info) {
      return std::string(isaName(std::get<0>(info.param))) + "_" +
             std::to_string(std::get<1>(info.param)) + "threads";
    });

} // namespace
