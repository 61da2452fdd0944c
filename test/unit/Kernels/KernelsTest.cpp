//===- KernelsTest.cpp - CPU microkernels against scalar references -------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// Every kernel of runtime/kernels/cpu/Kernels.h is compared with a naive
// reference written here (in double where rounding matters), on every
// instruction set the host supports and with several thread counts.
//
//===----------------------------------------------------------------------===//

#include "Kernels.h"
#include "Common.h"
#include "Layout.h"
#include "PositionMath.h"
#include "Quant.h"
#include "Simd.h"
#include "ThreadPool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <vector>

using namespace llmk;

namespace {

constexpr double kPi = 3.141592653589793;
constexpr float kInf = std::numeric_limits<float>::infinity();

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

std::vector<float> randomFloats(size_t count, uint32_t seed, float low = -1.0f,
                                float high = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(low, high);
  std::vector<float> values(count);
  for (float &value : values)
    value = dist(rng);
  return values;
}

/// The value of IEEE binary16 `bits`, decoded arithmetically (independently
/// of the kernels' bit manipulation).
double halfValue(uint16_t bits) {
  int sign = bits >> 15 ? -1 : 1;
  int exponent = (bits >> 10) & 0x1f;
  int mantissa = bits & 0x3ff;
  if (exponent == 0x1f)
    return mantissa ? std::numeric_limits<double>::quiet_NaN()
                    : sign * std::numeric_limits<double>::infinity();
  if (exponent == 0)
    return sign * std::ldexp(mantissa, -24);
  return sign * std::ldexp(1024 + mantissa, exponent - 25);
}

double bf16Value(uint16_t bits) {
  uint32_t word = static_cast<uint32_t>(bits) << 16;
  float value;
  std::memcpy(&value, &word, sizeof(value));
  return value;
}

/// Weights stored in one of the LLMK dtypes, with their exact values.
struct Weights {
  std::vector<float> f32;
  std::vector<uint16_t> bits;
  std::vector<double> values;
  int32_t dtype;
  const void *data() const {
    return dtype == LLMK_F32 ? static_cast<const void *>(f32.data())
                             : static_cast<const void *>(bits.data());
  }
};

Weights randomWeights(size_t count, int32_t dtype, uint32_t seed) {
  Weights w;
  w.dtype = dtype;
  std::mt19937 rng(seed);
  if (dtype == LLMK_F32) {
    w.f32 = randomFloats(count, seed);
    w.values.assign(w.f32.begin(), w.f32.end());
    return w;
  }
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (size_t i = 0; i < count; ++i) {
    uint16_t bits;
    if (dtype == LLMK_F16) {
      // Random sign, exponent 2^-9 .. 2^0 and mantissa.
      bits = static_cast<uint16_t>((rng() & 0x8000) | ((6 + rng() % 10) << 10) |
                                   (rng() & 0x3ff));
      w.values.push_back(halfValue(bits));
    } else {
      float value = dist(rng);
      uint32_t word;
      std::memcpy(&word, &value, sizeof(word));
      bits = static_cast<uint16_t>(word >> 16);
      w.values.push_back(bf16Value(bits));
    }
    w.bits.push_back(bits);
  }
  return w;
}

const char *dtypeName(int32_t dtype) {
  return dtype == LLMK_F32 ? "f32" : dtype == LLMK_F16 ? "f16" : "bf16";
}

const char *isaName(Isa isa) {
  return isa == Isa::Avx512Bf16 ? "avx512bf16"
         : isa == Isa::Avx512   ? "avx512"
         : isa == Isa::Avx2     ? "avx2"
                                : "scalar";
}

/// Restricts the kernels to one instruction set and a thread count for the
/// duration of a test; skips instruction sets the host lacks.
class KernelEnvironment {
public:
  void enter(Isa isa, int threads) {
    if (isa > getHostIsa())
      skipped = true;
    setMaxIsa(isa);
    llmk_set_num_threads(threads);
    (void)llmk_take_error();
  }
  void leave() {
    setMaxIsa(getHostIsa());
    llmk_set_num_threads(0);
  }
  bool skipped = false;
};

/// Fixture over (instruction set, thread count).
class IsaTest : public ::testing::TestWithParam<std::tuple<Isa, int>> {
protected:
  void SetUp() override {
    env.enter(std::get<0>(GetParam()), std::get<1>(GetParam()));
    if (env.skipped)
      GTEST_SKIP() << isaName(std::get<0>(GetParam()))
                   << " is not supported by this host";
    ASSERT_EQ(getSimdKernels().isa, std::get<0>(GetParam()));
  }
  void TearDown() override { env.leave(); }
  KernelEnvironment env;
};

std::string
isaTestName(const ::testing::TestParamInfo<std::tuple<Isa, int>> &info) {
  return std::string(isaName(std::get<0>(info.param))) + "_" +
         std::to_string(std::get<1>(info.param)) + "threads";
}

const auto kIsaAndThreads = ::testing::Combine(
    ::testing::Values(Isa::Scalar, Isa::Avx2, Isa::Avx512, Isa::Avx512Bf16),
    ::testing::Values(1, 3));

//===----------------------------------------------------------------------===//
// Thread pool, errors, conversions
//===----------------------------------------------------------------------===//

TEST(ThreadPoolTest, EveryIndexRunsOnce) {
  for (int threads : {1, 2, 4, 7}) {
    llmk_set_num_threads(threads);
    EXPECT_EQ(llmk_get_num_threads(), threads);
    for (int64_t count : {0, 1, 5, 1000}) {
      std::vector<std::atomic<int>> hits(count);
      parallelFor(count, [&](int64_t i) { hits[i].fetch_add(1); });
      for (int64_t i = 0; i < count; ++i)
        EXPECT_EQ(hits[i].load(), 1) << "index " << i << " of " << count;
    }
  }
  llmk_set_num_threads(0);
  EXPECT_GE(llmk_get_num_threads(), 1);
}

TEST(ThreadPoolTest, NestedLoopsRunInline) {
  llmk_set_num_threads(4);
  std::vector<std::atomic<int>> hits(64);
  parallelFor(8, [&](int64_t outer) {
    parallelFor(8, [&](int64_t inner) { hits[outer * 8 + inner]++; });
  });
  for (auto &hit : hits)
    EXPECT_EQ(hit.load(), 1);
  llmk_set_num_threads(0);
}

TEST(ErrorTest, FirstErrorIsKeptUntilTaken) {
  (void)llmk_take_error();
  EXPECT_EQ(llmk_take_error(), nullptr);
  recordError("first");
  recordError("second");
  EXPECT_STREQ(llmk_take_error(), "first");
  EXPECT_EQ(llmk_take_error(), nullptr);
}

TEST(ConversionTest, HalfSpecialValues) {
  EXPECT_EQ(halfToFloat(0x0000), 0.0f);
  EXPECT_TRUE(std::signbit(halfToFloat(0x8000)));
  EXPECT_EQ(halfToFloat(0x3c00), 1.0f);
  EXPECT_EQ(halfToFloat(0xc000), -2.0f);
  EXPECT_EQ(halfToFloat(0x7bff), 65504.0f);
  EXPECT_EQ(halfToFloat(0x0001), std::ldexp(1.0f, -24)); // Smallest subnormal.
  EXPECT_EQ(halfToFloat(0x03ff), std::ldexp(1023.0f, -24));
  EXPECT_EQ(halfToFloat(0x0400), std::ldexp(1.0f, -14)); // Smallest normal.
  EXPECT_EQ(halfToFloat(0x7c00), kInf);
  EXPECT_EQ(halfToFloat(0xfc00), -kInf);
  EXPECT_TRUE(std::isnan(halfToFloat(0x7e00)));
  for (uint32_t bits = 0; bits < 0x10000; ++bits) {
    if (((bits >> 10) & 0x1f) == 0x1f)
      continue;
    ASSERT_EQ(halfToFloat(static_cast<uint16_t>(bits)),
              halfValue(static_cast<uint16_t>(bits)))
        << std::hex << bits;
  }
}

TEST(ConversionTest, Bf16IsTheUpperHalf) {
  EXPECT_EQ(bf16ToFloat(0x3f80), 1.0f);
  EXPECT_EQ(bf16ToFloat(0xc040), -3.0f);
  EXPECT_EQ(bf16ToFloat(0x7f80), kInf);
  EXPECT_TRUE(std::isnan(bf16ToFloat(0x7fc0)));
}

class ConvertTest : public IsaTest {};

TEST_P(ConvertTest, EveryHalfBitPatternThroughSimd) {
  std::vector<uint16_t> bits(0x10000);
  for (uint32_t i = 0; i < bits.size(); ++i)
    bits[i] = static_cast<uint16_t>(i);
  std::vector<float> out(bits.size());
  getSimdKernels().convert(bits.data(), LLMK_F16, out.data(), bits.size() - 3);
  for (uint32_t i = 0; i + 3 < bits.size(); ++i) {
    float expected = halfToFloat(bits[i]);
    if (std::isnan(expected))
      ASSERT_TRUE(std::isnan(out[i])) << std::hex << i;
    else
      ASSERT_EQ(out[i], expected) << std::hex << i;
  }
  getSimdKernels().convert(bits.data(), LLMK_BF16, out.data(), 1001);
  for (uint32_t i = 0; i < 1001; ++i)
    ASSERT_EQ(out[i], bf16ToFloat(bits[i]));
}

INSTANTIATE_TEST_SUITE_P(Isas, ConvertTest, kIsaAndThreads, isaTestName);

//===----------------------------------------------------------------------===//
// linear and matmul
//===----------------------------------------------------------------------===//

/// Checks y[m, n] against x · wᵀ + bias in double, with a tolerance that
/// scales with sum |x * w| (the bound of fp32 accumulation error).
void expectLinear(const std::vector<float> &x, const std::vector<double> &w,
                  const float *bias, const std::vector<float> &y, int64_t m,
                  int64_t k, int64_t n, const std::string &what) {
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double sum = bias ? bias[j] : 0.0,
             magnitude = bias ? std::fabs(bias[j]) : 0.0;
      for (int64_t p = 0; p < k; ++p) {
        sum += x[i * k + p] * w[j * k + p];
        magnitude += std::fabs(x[i * k + p] * w[j * k + p]);
      }
      ASSERT_NEAR(y[i * n + j], sum, 4e-6 * magnitude + 1e-30)
          << what << " at (" << i << ", " << j << ")";
    }
  }
}

class LinearTest : public IsaTest {};

/// `value` rounded to the nearest bf16 (ties to even), as a float.
float roundedToBf16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  uint32_t lower = bits & 0xffffu, upper = bits >> 16;
  if (lower > 0x8000u || (lower == 0x8000u && (upper & 1u)))
    ++upper;
  return bf16Value(static_cast<uint16_t>(upper));
}

/// Whether llmk_linear of m rows runs on the bf16 dot product, which rounds
/// the activations to bf16: bf16 weights in panels, more than one row, and
/// a kernel table that has it (AVX512_BF16 hosts).
bool usesBf16Dot(int32_t dtype, int32_t layout, int64_t m) {
  return dtype == LLMK_BF16 && layout == LLMK_LAYOUT_PANELS && m > 1 &&
         getSimdKernels().gemmPanelBf16 != nullptr;
}

/// The activations as the kernel multiplies them.
std::vector<float> operandActivations(const std::vector<float> &x,
                                      int32_t dtype, int32_t layout,
                                      int64_t m) {
  if (!usesBf16Dot(dtype, layout, m))
    return x;
  std::vector<float> rounded(x.size());
  std::transform(x.begin(), x.end(), rounded.begin(), roundedToBf16);
  return rounded;
}

/// `w` ([n, k]) in LLMK_LAYOUT_PANELS, as the runtime packs it.
std::vector<uint8_t> packed(const Weights &w, int64_t n, int64_t k) {
  int64_t es = w.dtype == LLMK_F32 ? 4 : 2;
  std::vector<uint8_t> bytes(llmk::panelElements(n, k) * es, 0xff);
  llmk::packPanels(w.data(), es, n, k, bytes.data());
  return bytes;
}

TEST_P(LinearTest, MatchesReference) {
  const int64_t sizes[][3] = {
      // m, k, n: GEMV (m = 1) and GEMM, with k and n off the vector width
      // and the panel (48), k past one k slice (256), m past one tile (up to
      // 8 rows) and past one task's rows (288), n past one task's panels.
      {1, 1, 1},     {1, 7, 3},     {1, 64, 64},   {1, 100, 37},  {1, 515, 9},
      {1, 33, 200},  {2, 33, 5},    {3, 64, 17},   {5, 100, 64},  {17, 31, 100},
      {48, 300, 50}, {49, 257, 13}, {130, 96, 70}, {270, 40, 30}, {9, 520, 97},
      {300, 20, 49}, {33, 64, 700}, {4, 1030, 145}};
  uint32_t seed = 1;
  for (int32_t layout : {LLMK_LAYOUT_ROWS, LLMK_LAYOUT_PANELS}) {
    for (int32_t dtype : {LLMK_F32, LLMK_F16, LLMK_BF16}) {
      for (const auto &size : sizes) {
        int64_t m = size[0], k = size[1], n = size[2];
        for (bool withBias : {false, true}) {
          std::vector<float> x = randomFloats(m * k, ++seed);
          Weights w = randomWeights(n * k, dtype, ++seed);
          std::vector<uint8_t> panels;
          if (layout == LLMK_LAYOUT_PANELS)
            panels = packed(w, n, k);
          std::vector<float> bias = randomFloats(n, ++seed);
          std::vector<float> y(m * n, 12345.0f);
          llmk_linear(x.data(),
                      layout == LLMK_LAYOUT_PANELS
                          ? static_cast<const void *>(panels.data())
                          : w.data(),
                      dtype, layout, withBias ? bias.data() : nullptr, y.data(),
                      m, k, n);
          EXPECT_EQ(llmk_take_error(), nullptr);
          // On the bf16 dot product the products of the rounded
          // activations are exact and sum in fp32: the same bound.
          expectLinear(
              operandActivations(x, dtype, layout, m), w.values,
              withBias ? bias.data() : nullptr, y, m, k, n,
              std::string(dtypeName(dtype)) +
                  (layout == LLMK_LAYOUT_PANELS ? " panels" : "") +
                  " m=" + std::to_string(m) + " k=" + std::to_string(k) +
                  " n=" + std::to_string(n) + (withBias ? " bias" : ""));
        }
      }
    }
  }
}

/// The accuracy of f16 and bf16 weights: their kernels convert exactly to
/// fp32 and accumulate in fp32 in the same order as the fp32 kernels, so the
/// result is bit for bit that of the fp32 weights they represent (prefill
/// GEMM and decode GEMV, in panels and in rows). The one exception is the
/// prefill of bf16 panels on the bf16 dot product (Bf16DotAccuracy).
TEST_P(LinearTest, HalfWeightsEqualTheirFp32Values) {
  const int64_t sizes[][3] = {{1, 300, 100}, {37, 520, 97}, {300, 64, 50}};
  uint32_t seed = 500;
  for (int32_t layout : {LLMK_LAYOUT_ROWS, LLMK_LAYOUT_PANELS}) {
    for (int32_t dtype : {LLMK_F16, LLMK_BF16}) {
      for (const auto &size : sizes) {
        int64_t m = size[0], k = size[1], n = size[2];
        if (usesBf16Dot(dtype, layout, m))
          continue;
        std::vector<float> x = randomFloats(m * k, ++seed);
        Weights half = randomWeights(n * k, dtype, ++seed);
        Weights full;
        full.dtype = LLMK_F32;
        full.f32.assign(half.values.begin(), half.values.end());
        full.values = half.values;
        std::vector<uint8_t> halfPanels, fullPanels;
        if (layout == LLMK_LAYOUT_PANELS) {
          halfPanels = packed(half, n, k);
          fullPanels = packed(full, n, k);
        }
        auto operand = [&](const Weights &w, const std::vector<uint8_t> &p) {
          return layout == LLMK_LAYOUT_PANELS
                     ? static_cast<const void *>(p.data())
                     : w.data();
        };
        std::vector<float> yHalf(m * n), yFull(m * n);
        llmk_linear(x.data(), operand(half, halfPanels), dtype, layout, nullptr,
                    yHalf.data(), m, k, n);
        llmk_linear(x.data(), operand(full, fullPanels), LLMK_F32, layout,
                    nullptr, yFull.data(), m, k, n);
        ASSERT_EQ(0, std::memcmp(yHalf.data(), yFull.data(),
                                 yHalf.size() * sizeof(float)))
            << dtypeName(dtype)
            << (layout == LLMK_LAYOUT_PANELS ? " panels" : " rows")
            << " m=" << m << " k=" << k << " n=" << n;
      }
    }
  }
}

/// The accuracy of prefill with bf16 weights on the bf16 dot product, against
/// the fp32 kernels on the same weights: the activations are rounded to
/// bf16, so each product is off by at most 2^-8 of itself (a rounding of
/// x), and the result by at most 2^-8 of sum |x w| beyond the fp32 error.
TEST_P(LinearTest, Bf16DotAccuracy) {
  if (!getSimdKernels().gemmPanelBf16)
    GTEST_SKIP() << isaName(getSimdKernels().isa) << " has no bf16 dot product";
  const int64_t sizes[][3] = {
      {2, 2, 1}, {5, 7, 49}, {37, 520, 97}, {300, 64, 50}, {64, 768, 96}};
  uint32_t seed = 900;
  double worst = 0;
  for (const auto &size : sizes) {
    int64_t m = size[0], k = size[1], n = size[2];
    std::vector<float> x = randomFloats(m * k, ++seed);
    Weights w = randomWeights(n * k, LLMK_BF16, ++seed);
    Weights full;
    full.dtype = LLMK_F32;
    full.f32.assign(w.values.begin(), w.values.end());
    std::vector<uint8_t> bf16Panels = packed(w, n, k),
                         fp32Panels = packed(full, n, k);
    std::vector<float> bias = randomFloats(n, ++seed);
    std::vector<float> yDot(m * n), yFull(m * n);
    llmk_linear(x.data(), bf16Panels.data(), LLMK_BF16, LLMK_LAYOUT_PANELS,
                bias.data(), yDot.data(), m, k, n);
    llmk_linear(x.data(), fp32Panels.data(), LLMK_F32, LLMK_LAYOUT_PANELS,
                bias.data(), yFull.data(), m, k, n);
    ASSERT_EQ(llmk_take_error(), nullptr);
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double magnitude = 0;
        for (int64_t p = 0; p < k; ++p)
          magnitude += std::fabs(x[i * k + p] * w.values[j * k + p]);
        double error = std::fabs(yDot[i * n + j] - yFull[i * n + j]);
        ASSERT_LE(error, (std::ldexp(1.0, -8) + 8e-6) * magnitude + 1e-6)
            << "m=" << m << " k=" << k << " n=" << n << " at (" << i << ", "
            << j << ")";
        worst = std::max(worst, error / std::max(magnitude, 1e-30));
      }
  }
  std::printf("bf16 dot product: max |y - y_fp32| = %.3g x sum |x w|\n", worst);
}

TEST(PackPanelsTest, PlacesEveryElementAndZeroPads) {
  // Element (i, p) of an [n, k] weight lands at ((i / 48) * k + p) * 48 +
  // i % 48; the rows past n in the last panel are zero.
  const int64_t n = 50, k = 3;
  std::vector<uint16_t> w(n * k);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t p = 0; p < k; ++p)
      w[i * k + p] = static_cast<uint16_t>(1 + i * 10 + p);
  ASSERT_EQ(llmk::panelElements(n, k), 2 * 48 * k);
  std::vector<uint16_t> out(llmk::panelElements(n, k), 0xffff);
  llmk::packPanels(w.data(), 2, n, k, out.data());
  for (int64_t i = 0; i < 96; ++i)
    for (int64_t p = 0; p < k; ++p)
      ASSERT_EQ(out[((i / 48) * k + p) * 48 + i % 48], i < n ? w[i * k + p] : 0)
          << "row " << i << " step " << p;
}

TEST_P(LinearTest, EmptyReductionGivesBias) {
  std::vector<float> bias = {1.5f, -2.0f, 3.0f};
  std::vector<float> y(6, 7.0f);
  llmk_linear(nullptr, nullptr, LLMK_F32, LLMK_LAYOUT_ROWS, bias.data(),
              y.data(), 2, 0, 3);
  EXPECT_EQ(y, (std::vector<float>{1.5f, -2.0f, 3.0f, 1.5f, -2.0f, 3.0f}));
}

TEST_P(LinearTest, InvalidDtypeRecordsError) {
  std::vector<float> x(4, 1.0f), w(8, 1.0f), y(2, 5.0f);
  llmk_linear(x.data(), w.data(), 7, LLMK_LAYOUT_ROWS, nullptr, y.data(), 1, 4,
              2);
  EXPECT_NE(llmk_take_error(), nullptr);
  EXPECT_EQ(y, (std::vector<float>{0.0f, 0.0f}));
}

TEST_P(LinearTest, InvalidLayoutRecordsError) {
  std::vector<float> x(4, 1.0f), w(8, 1.0f), y(2, 5.0f);
  llmk_linear(x.data(), w.data(), LLMK_F32, 2, nullptr, y.data(), 1, 4, 2);
  const char *error = llmk_take_error();
  ASSERT_NE(error, nullptr);
  EXPECT_NE(std::string(error).find("layout"), std::string::npos);
  EXPECT_EQ(y, (std::vector<float>{0.0f, 0.0f}));
}

TEST_P(LinearTest, MatmulBothLayouts) {
  const int64_t sizes[][4] = {// batch, m, k, n
                              {1, 1, 300, 70},
                              {3, 1, 33, 600},
                              {2, 4, 16, 9},
                              {3, 37, 65, 41},
                              {2, 64, 128, 64}};
  uint32_t seed = 100;
  for (const auto &size : sizes) {
    int64_t batch = size[0], m = size[1], k = size[2], n = size[3];
    for (int transposeB : {0, 1}) {
      std::vector<float> a = randomFloats(batch * m * k, ++seed);
      std::vector<float> b = randomFloats(batch * k * n, ++seed);
      std::vector<float> c(batch * m * n, 99.0f);
      llmk_matmul(a.data(), b.data(), c.data(), batch, m, k, n, transposeB);
      for (int64_t bi = 0; bi < batch; ++bi) {
        // As [n, k] weights for expectLinear.
        std::vector<float> xs(a.begin() + bi * m * k,
                              a.begin() + (bi + 1) * m * k);
        std::vector<double> w(n * k);
        for (int64_t j = 0; j < n; ++j)
          for (int64_t p = 0; p < k; ++p)
            w[j * k + p] = transposeB ? b[bi * k * n + j * k + p]
                                      : b[bi * k * n + p * n + j];
        std::vector<float> ys(c.begin() + bi * m * n,
                              c.begin() + (bi + 1) * m * n);
        expectLinear(xs, w, nullptr, ys, m, k, n,
                     "matmul batch " + std::to_string(bi) +
                         (transposeB ? " transposed" : ""));
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Isas, LinearTest, kIsaAndThreads, isaTestName);

//===----------------------------------------------------------------------===//
// embedding
//===----------------------------------------------------------------------===//

class EmbeddingTest : public IsaTest {};

TEST_P(EmbeddingTest, GathersRowsInEveryDtype) {
  const int64_t vocab = 11, dim = 37;
  for (int32_t dtype : {LLMK_F32, LLMK_F16, LLMK_BF16}) {
    Weights table = randomWeights(vocab * dim, dtype, 7);
    std::vector<int64_t> ids = {3, 0, 10, 3, 7};
    std::vector<float> out(ids.size() * dim, -1.0f);
    llmk_embedding(ids.data(), table.data(), dtype, LLMK_LAYOUT_ROWS,
                   out.data(), ids.size(), vocab, dim);
    EXPECT_EQ(llmk_take_error(), nullptr);
    for (size_t i = 0; i < ids.size(); ++i)
      for (int64_t d = 0; d < dim; ++d)
        ASSERT_EQ(out[i * dim + d], table.values[ids[i] * dim + d])
            << dtypeName(dtype) << " token " << i << " feature " << d;
  }
}

TEST_P(EmbeddingTest, GathersRowsOfATableInPanels) {
  // A tied table packed for the LM head: vocab past one panel.
  const int64_t vocab = 100, dim = 19;
  for (int32_t dtype : {LLMK_F32, LLMK_F16, LLMK_BF16}) {
    Weights table = randomWeights(vocab * dim, dtype, 8);
    std::vector<uint8_t> panels = packed(table, vocab, dim);
    std::vector<int64_t> ids = {99, 0, 47, 48, 95, 96, 3};
    std::vector<float> out(ids.size() * dim, -1.0f);
    llmk_embedding(ids.data(), panels.data(), dtype, LLMK_LAYOUT_PANELS,
                   out.data(), ids.size(), vocab, dim);
    EXPECT_EQ(llmk_take_error(), nullptr);
    for (size_t i = 0; i < ids.size(); ++i)
      for (int64_t d = 0; d < dim; ++d)
        ASSERT_EQ(out[i * dim + d], table.values[ids[i] * dim + d])
            << dtypeName(dtype) << " token " << ids[i] << " feature " << d;
  }
}

TEST_P(EmbeddingTest, OutOfRangeIdWritesZerosAndRecordsError) {
  const int64_t vocab = 4, dim = 5;
  std::vector<float> table = randomFloats(vocab * dim, 3);
  std::vector<int64_t> ids = {1, 4, -1, 2};
  std::vector<float> out(ids.size() * dim, -7.0f);
  llmk_embedding(ids.data(), table.data(), LLMK_F32, LLMK_LAYOUT_ROWS,
                 out.data(), ids.size(), vocab, dim);
  const char *error = llmk_take_error();
  ASSERT_NE(error, nullptr);
  EXPECT_NE(std::string(error).find("out of range"), std::string::npos);
  for (int64_t d = 0; d < dim; ++d) {
    EXPECT_EQ(out[0 * dim + d], table[1 * dim + d]);
    EXPECT_EQ(out[1 * dim + d], 0.0f);
    EXPECT_EQ(out[2 * dim + d], 0.0f);
    EXPECT_EQ(out[3 * dim + d], table[2 * dim + d]);
  }
}

INSTANTIATE_TEST_SUITE_P(Isas, EmbeddingTest, kIsaAndThreads, isaTestName);

//===----------------------------------------------------------------------===//
// rope
//===----------------------------------------------------------------------===//

struct RopeConfig {
  int64_t headDim = 64, rotaryDim = 64;
  double theta = 10000.0;
  int32_t gptj = 0, kind = LLMK_ROPE_NONE;
  double factor = 1.0;
  int64_t originalMaxPosition = 0;
  double lowFreqFactor = 0.0, highFreqFactor = 0.0;
  double betaFast = 0.0, betaSlow = 0.0, attentionFactor = 0.0;
  int64_t seqLen = 0;
};

/// inv_freq and attention scaling as transformers' modeling_rope_utils
/// computes them: torch fp32 tensor ops, with python scalars (double)
/// rounded to fp32 where they meet a tensor, and `scalar / tensor` evaluated
/// as `tensor.reciprocal() * scalar`.
std::vector<float> referenceInvFreq(const RopeConfig &c, float *scaling) {
  const int64_t dim = c.rotaryDim;
  *scaling = 1.0f;
  auto fpow = [](float base, float exponent) {
    return static_cast<float>(std::pow(double(base), double(exponent)));
  };
  // base ** (torch.arange(0, dim, 2).float() / dim)
  auto posFreqs = [&](float base) {
    std::vector<float> freqs;
    for (int64_t i = 0; i < dim; i += 2)
      freqs.push_back(fpow(base, float(i) / float(dim)));
    return freqs;
  };
  std::vector<float> inv;
  float base = static_cast<float>(c.theta);
  if (c.kind == LLMK_ROPE_DYNAMIC && c.seqLen > c.originalMaxPosition) {
    // base * ((factor * seq_len / max_pos) - (factor - 1)) ** (dim / (dim - 2))
    float t = float(c.factor) * float(c.seqLen);
    t = t / float(c.originalMaxPosition);
    t = t - float(c.factor - 1);
    base = float(c.theta) *
           float(std::pow(double(t), double(dim) / double(dim - 2)));
  }
  for (float f : posFreqs(base))
    inv.push_back(1.0f / f);
  if (c.kind == LLMK_ROPE_LINEAR) {
    for (float &v : inv)
      v /= float(c.factor);
  } else if (c.kind == LLMK_ROPE_YARN) {
    double betaFast = c.betaFast ? c.betaFast : 32,
           betaSlow = c.betaSlow ? c.betaSlow : 1;
    auto corr = [&](double rot) {
      return (dim * std::log(c.originalMaxPosition / (rot * 2 * kPi))) /
             (2 * std::log(c.theta));
    };
    double low = std::max(std::floor(corr(betaFast)), 0.0);
    double high = std::min(std::ceil(corr(betaSlow)), double(dim - 1));
    if (low == high)
      high += 0.001;
    std::vector<float> pf = posFreqs(float(c.theta));
    for (int64_t i = 0; i < dim / 2; ++i) {
      float extra = 1.0f / pf[i];
      float interp = 1.0f / (float(c.factor) * pf[i]);
      float ramp =
          std::clamp((float(i) - float(low)) / float(high - low), 0.0f, 1.0f);
      float extraFactor = 1.0f - ramp;
      inv[i] = interp * (1.0f - extraFactor) + extra * extraFactor;
    }
    *scaling = c.attentionFactor
                   ? float(c.attentionFactor)
                   : float(c.factor <= 1 ? 1.0 : 0.1 * std::log(c.factor) + 1);
  } else if (c.kind == LLMK_ROPE_LLAMA3) {
    double lowWavelen = c.originalMaxPosition / c.lowFreqFactor;
    double highWavelen = c.originalMaxPosition / c.highFreqFactor;
    for (float &v : inv) {
      float wavelen = (1.0f / v) * float(2 * kPi);
      float llama = wavelen > float(lowWavelen) ? v / float(c.factor) : v;
      float smooth = ((1.0f / wavelen) * float(c.originalMaxPosition) -
                      float(c.lowFreqFactor)) /
                     float(c.highFreqFactor - c.lowFreqFactor);
      float smoothed =
          (1.0f - smooth) * llama / float(c.factor) + smooth * llama;
      bool medium =
          !(wavelen < float(highWavelen)) && !(wavelen > float(lowWavelen));
      v = medium ? smoothed : llama;
    }
  }
  return inv;
}

/// inv_freq and attention scaling straight from the formulas, in double:
/// independent of the fp32 evaluation order above, so it checks the
/// formulas themselves (at small positions, where fp32 rounding is small).
std::vector<double> formulaInvFreq(const RopeConfig &c, double *scaling) {
  const int64_t dim = c.rotaryDim, half = dim / 2;
  *scaling = 1.0;
  double base = c.theta;
  if (c.kind == LLMK_ROPE_DYNAMIC && c.seqLen > c.originalMaxPosition)
    base *=
        std::pow(c.factor * c.seqLen / c.originalMaxPosition - (c.factor - 1),
                 double(dim) / (dim - 2));
  std::vector<double> inv(half);
  for (int64_t i = 0; i < half; ++i)
    inv[i] = std::pow(base, -2.0 * i / dim);
  if (c.kind == LLMK_ROPE_LINEAR)
    for (double &v : inv)
      v /= c.factor;
  if (c.kind == LLMK_ROPE_YARN) {
    // Dimensions below `low` keep their frequency (extrapolation), above
    // `high` are interpolated (divided by the factor), linear in between.
    double betaFast = c.betaFast ? c.betaFast : 32;
    double betaSlow = c.betaSlow ? c.betaSlow : 1;
    auto dimFor = [&](double rotations) {
      return dim * std::log(c.originalMaxPosition / (rotations * 2 * kPi)) /
             (2 * std::log(c.theta));
    };
    double low = std::max(0.0, std::floor(dimFor(betaFast)));
    double high = std::min(double(dim - 1), std::ceil(dimFor(betaSlow)));
    for (int64_t i = 0; i < half; ++i) {
      double ramp = std::clamp((i - low) / (high - low), 0.0, 1.0);
      inv[i] = inv[i] / c.factor * ramp + inv[i] * (1 - ramp);
    }
    *scaling =
        c.attentionFactor ? c.attentionFactor : 0.1 * std::log(c.factor) + 1;
  }
  if (c.kind == LLMK_ROPE_LLAMA3) {
    for (double &v : inv) {
      double wavelen = 2 * kPi / v;
      if (wavelen > c.originalMaxPosition / c.lowFreqFactor) {
        v /= c.factor;
      } else if (wavelen >= c.originalMaxPosition / c.highFreqFactor) {
        double smooth = (c.originalMaxPosition / wavelen - c.lowFreqFactor) /
                        (c.highFreqFactor - c.lowFreqFactor);
        v = (1 - smooth) * v / c.factor + smooth * v;
      }
    }
  }
  return inv;
}

/// q * cos + rotate_half(q) * sin (NeoX) or rotate_every_two (GPT-J), with
/// angles position * inv_freq in fp32 and cos/sin of that angle.
std::vector<float> referenceRope(const RopeConfig &c,
                                 const std::vector<float> &x,
                                 const std::vector<int64_t> &positions,
                                 int64_t heads) {
  float scaling;
  std::vector<float> inv = referenceInvFreq(c, &scaling);
  std::vector<float> y = x;
  const int64_t half = c.rotaryDim / 2;
  for (size_t t = 0; t < positions.size(); ++t) {
    for (int64_t h = 0; h < heads; ++h) {
      const float *in = x.data() + (t * heads + h) * c.headDim;
      float *out = y.data() + (t * heads + h) * c.headDim;
      for (int64_t i = 0; i < half; ++i) {
        float angle = float(positions[t]) * inv[i];
        double cosine = float(std::cos(double(angle))) * scaling;
        double sine = float(std::sin(double(angle))) * scaling;
        int64_t a = c.gptj ? 2 * i : i, b = c.gptj ? 2 * i + 1 : i + half;
        out[a] = float(in[a] * cosine - in[b] * sine);
        out[b] = float(in[b] * cosine + in[a] * sine);
      }
    }
  }
  return y;
}

std::vector<float> runRope(const RopeConfig &c, const std::vector<float> &x,
                           const std::vector<int64_t> &positions,
                           int64_t heads) {
  std::vector<float> y(x.size(), 1e9f);
  llmk_rope(x.data(), positions.data(), y.data(), positions.size(), heads,
            c.headDim, c.rotaryDim, c.theta, c.gptj, c.kind, c.factor,
            c.originalMaxPosition, c.lowFreqFactor, c.highFreqFactor,
            c.betaFast, c.betaSlow, c.attentionFactor, c.seqLen);
  return y;
}

class RopeTest : public IsaTest {
protected:
  void check(const RopeConfig &c, const std::string &what) {
    const int64_t heads = 3;
    std::vector<int64_t> positions = {0, 1, 2, 7, 100, 1000, 4095, 7000};
    std::vector<float> x =
        randomFloats(positions.size() * heads * c.headDim, 17);
    std::vector<float> y = runRope(c, x, positions, heads);
    ASSERT_EQ(llmk_take_error(), nullptr) << what;
    std::vector<float> expected = referenceRope(c, x, positions, heads);
    for (size_t i = 0; i < y.size(); ++i) {
      int64_t feature = i % c.headDim;
      if (feature >= c.rotaryDim)
        ASSERT_EQ(y[i], x[i]) << what << ": pass-through feature " << i;
      else
        ASSERT_NEAR(y[i], expected[i], 1e-6) << what << ": element " << i;
    }
    // Positions 0 to 7 against the double-precision formulas.
    double scaling;
    std::vector<double> inv = formulaInvFreq(c, &scaling);
    const int64_t half = c.rotaryDim / 2;
    for (size_t t = 0; t < 4; ++t) {
      for (int64_t h = 0; h < heads; ++h) {
        const float *in = x.data() + (t * heads + h) * c.headDim;
        const float *out = y.data() + (t * heads + h) * c.headDim;
        for (int64_t i = 0; i < half; ++i) {
          double angle = positions[t] * inv[i];
          double cosine = std::cos(angle) * scaling;
          double sine = std::sin(angle) * scaling;
          int64_t a = c.gptj ? 2 * i : i, b = c.gptj ? 2 * i + 1 : i + half;
          ASSERT_NEAR(out[a], in[a] * cosine - in[b] * sine, 2e-6)
              << what << ": formula, position " << positions[t] << " pair "
              << i;
          ASSERT_NEAR(out[b], in[b] * cosine + in[a] * sine, 2e-6)
              << what << ": formula, position " << positions[t] << " pair "
              << i;
        }
      }
    }
  }
};

TEST_P(RopeTest, DefaultNeoxAndGptj) {
  RopeConfig c;
  check(c, "neox");
  c.gptj = 1;
  check(c, "gptj");
}

TEST_P(RopeTest, PartialRotaryDim) {
  RopeConfig c;
  c.headDim = 80;
  c.rotaryDim = 20; // GPT-NeoX rotary_pct = 0.25.
  check(c, "neox partial");
  c.headDim = 256;
  c.rotaryDim = 64; // GPT-J.
  c.gptj = 1;
  check(c, "gptj partial");
}

TEST_P(RopeTest, HandComputedRotation) {
  // One pair: position 3 rotates (x0, x1) by 3 rad.
  RopeConfig c;
  c.headDim = c.rotaryDim = 2;
  std::vector<float> x = {0.6f, -0.8f};
  std::vector<float> y = runRope(c, x, {3}, 1);
  EXPECT_NEAR(y[0], 0.6 * std::cos(3.0) + 0.8 * std::sin(3.0), 1e-7);
  EXPECT_NEAR(y[1], -0.8 * std::cos(3.0) + 0.6 * std::sin(3.0), 1e-7);
  // Four features, theta 100: frequencies 1 and 1/10; NeoX pairs (0, 2) and
  // (1, 3), GPT-J pairs (0, 1) and (2, 3).
  c.headDim = c.rotaryDim = 4;
  c.theta = 100.0;
  x = {1.0f, 2.0f, 3.0f, 4.0f};
  y = runRope(c, x, {5}, 1);
  EXPECT_NEAR(y[0], 1 * std::cos(5.0) - 3 * std::sin(5.0), 1e-6);
  EXPECT_NEAR(y[2], 3 * std::cos(5.0) + 1 * std::sin(5.0), 1e-6);
  EXPECT_NEAR(y[1], 2 * std::cos(0.5) - 4 * std::sin(0.5), 1e-6);
  EXPECT_NEAR(y[3], 4 * std::cos(0.5) + 2 * std::sin(0.5), 1e-6);
  c.gptj = 1;
  y = runRope(c, x, {5}, 1);
  EXPECT_NEAR(y[0], 1 * std::cos(5.0) - 2 * std::sin(5.0), 1e-6);
  EXPECT_NEAR(y[1], 2 * std::cos(5.0) + 1 * std::sin(5.0), 1e-6);
  EXPECT_NEAR(y[2], 3 * std::cos(0.5) - 4 * std::sin(0.5), 1e-6);
  EXPECT_NEAR(y[3], 4 * std::cos(0.5) + 3 * std::sin(0.5), 1e-6);
}

TEST_P(RopeTest, AnglesAreFp32Products) {
  // At position 7000 the fp32 product position * inv_freq differs from the
  // exact one by up to 2e-4 rad: HF's rounding must be reproduced.
  RopeConfig c;
  std::vector<float> x(c.headDim, 1.0f);
  std::vector<float> y = runRope(c, x, {7000}, 1);
  float invFreq1 = 1.0f / float(std::pow(10000.0, double(2.0f / 64.0f)));
  float angle = 7000.0f * invFreq1;
  EXPECT_NEAR(y[1], std::cos(double(angle)) - std::sin(double(angle)), 1e-6);
  double exactAngle = 7000.0 / std::pow(10000.0, 2.0 / 64.0);
  EXPECT_GT(std::fabs(double(angle) - exactAngle), 1e-5);
}

TEST_P(RopeTest, LinearScaling) {
  RopeConfig c;
  c.kind = LLMK_ROPE_LINEAR;
  c.factor = 4.0;
  check(c, "linear");
  // Linear scaling by 2 at position 2p equals no scaling at position p.
  std::vector<float> x = randomFloats(64, 5);
  c.factor = 2.0;
  std::vector<float> scaled = runRope(c, x, {600}, 1);
  RopeConfig none;
  std::vector<float> plain = runRope(none, x, {300}, 1);
  for (int i = 0; i < 64; ++i)
    EXPECT_NEAR(scaled[i], plain[i], 2e-6);
}

TEST_P(RopeTest, DynamicNtk) {
  RopeConfig c;
  c.kind = LLMK_ROPE_DYNAMIC;
  c.factor = 2.0;
  c.originalMaxPosition = 2048;
  c.seqLen = 2048; // Not beyond the original context: unscaled.
  check(c, "dynamic within context");
  std::vector<float> x = randomFloats(64, 6);
  RopeConfig none;
  EXPECT_EQ(runRope(c, x, {1500}, 1), runRope(none, x, {1500}, 1));
  c.seqLen = 7001;
  check(c, "dynamic beyond context");
  EXPECT_NE(runRope(c, x, {1500}, 1), runRope(none, x, {1500}, 1));
  // A negative seqLen means max(position) + 1, as dynamic_rope_update
  // derives it.
  std::vector<float> x2 = randomFloats(2 * 64, 7);
  RopeConfig derived = c;
  derived.seqLen = -1;
  EXPECT_EQ(runRope(derived, x2, {1500, 7000}, 1),
            runRope(c, x2, {1500, 7000}, 1));
  EXPECT_NE(runRope(derived, x2, {1500, 5000}, 1),
            runRope(c, x2, {1500, 5000}, 1));
  c.rotaryDim = 32;
  check(c, "dynamic partial");
}

TEST_P(RopeTest, Yarn) {
  RopeConfig c;
  c.headDim = c.rotaryDim = 128;
  c.kind = LLMK_ROPE_YARN;
  c.factor = 4.0;
  c.originalMaxPosition = 4096;
  c.theta = 1e6;
  check(c, "yarn default betas");
  c.betaFast = 16;
  c.betaSlow = 2;
  c.attentionFactor = 1.25;
  check(c, "yarn explicit");
  // Position 0: no rotation, only the attention factor 0.1 ln(4) + 1.
  c.attentionFactor = 0.0;
  std::vector<float> x = randomFloats(128, 8);
  std::vector<float> y = runRope(c, x, {0}, 1);
  for (int i = 0; i < 128; ++i)
    EXPECT_FLOAT_EQ(y[i], x[i] * float(0.1 * std::log(4.0) + 1.0));
}

TEST_P(RopeTest, Llama3) {
  RopeConfig c;
  c.headDim = c.rotaryDim = 128;
  c.kind = LLMK_ROPE_LLAMA3;
  c.theta = 500000.0;
  c.factor = 8.0;
  c.lowFreqFactor = 1.0;
  c.highFreqFactor = 4.0;
  c.originalMaxPosition = 8192;
  check(c, "llama3");
  // High frequencies (wavelen < 2048) are untouched; low ones (wavelen >
  // 8192) are divided by the factor, like linear scaling.
  std::vector<float> x = randomFloats(128, 9);
  std::vector<float> y = runRope(c, x, {3000}, 1);
  RopeConfig none = c;
  none.kind = LLMK_ROPE_NONE;
  std::vector<float> plain = runRope(none, x, {3000}, 1);
  RopeConfig linear = c;
  linear.kind = LLMK_ROPE_LINEAR;
  std::vector<float> scaled = runRope(linear, x, {3000}, 1);
  EXPECT_EQ(y[0], plain[0]);    // Pair 0: wavelen 2 pi.
  EXPECT_EQ(y[63], scaled[63]); // Pair 63: wavelen ~2.4e6.
  bool mediumDiffers = false;   // Some pair is interpolated in between.
  for (int i = 0; i < 64; ++i)
    mediumDiffers |= y[i] != plain[i] && y[i] != scaled[i];
  EXPECT_TRUE(mediumDiffers);
}

TEST_P(RopeTest, InPlaceAndInvalidArguments) {
  RopeConfig c;
  std::vector<float> x = randomFloats(2 * 2 * 64, 10);
  std::vector<float> expected = runRope(c, x, {3, 9}, 2);
  std::vector<int64_t> positions = {3, 9};
  llmk_rope(x.data(), positions.data(), x.data(), 2, 2, 64, 64, 10000.0, 0,
            LLMK_ROPE_NONE, 1.0, 0, 0, 0, 0, 0, 0, 0);
  EXPECT_EQ(x, expected);
  std::vector<float> y(64, 1.0f);
  llmk_rope(x.data(), positions.data(), y.data(), 1, 1, 64, 65, 10000.0, 0,
            LLMK_ROPE_NONE, 1.0, 0, 0, 0, 0, 0, 0, 0);
  EXPECT_NE(llmk_take_error(), nullptr);
  EXPECT_EQ(y, std::vector<float>(64, 0.0f));
}

/// llmk_linear_rope with the table of llmk::ropeFrequencies (length-independent
/// kinds) or llmk_rope_inv_freq_at (dynamic NTK, from the positions) equals
/// llmk_rope applied to llmk_linear's output, for 300 rows (more than one
/// block of 256) and both pairings.
TEST_P(RopeTest, LinearRopeMatchesRopeOfLinear) {
  const int64_t rows = 300, in = 48, heads = 2, headDim = 32;
  const int64_t out = heads * headDim;
  std::vector<float> x = randomFloats(rows * in, 21);
  std::vector<float> w = randomFloats(out * in, 22);
  std::vector<float> bias = randomFloats(out, 23);
  std::vector<int64_t> positions(rows);
  for (int64_t r = 0; r < rows; ++r)
    positions[r] = 10 * r + 3; // Up to 2993, past the original 1024.
  std::vector<RopeConfig> configs(5);
  configs[1].kind = LLMK_ROPE_LINEAR;
  configs[1].factor = 4.0;
  configs[2].kind = LLMK_ROPE_DYNAMIC;
  configs[2].factor = 2.0;
  configs[2].originalMaxPosition = 1024;
  configs[3].kind = LLMK_ROPE_YARN;
  configs[3].factor = 8.0;
  configs[3].originalMaxPosition = 1024;
  configs[4].kind = LLMK_ROPE_LLAMA3;
  configs[4].factor = 8.0;
  configs[4].originalMaxPosition = 1024;
  configs[4].lowFreqFactor = 1.0;
  configs[4].highFreqFactor = 4.0;
  for (int32_t gptj : {0, 1}) {
    for (RopeConfig c : configs) {
      c.headDim = headDim;
      c.rotaryDim = 16; // Partial: the other 16 features pass through.
      c.gptj = gptj;
      c.seqLen = -1;
      std::string what =
          "kind " + std::to_string(c.kind) + ", gptj " + std::to_string(gptj);
      std::vector<float> projected(rows * out);
      llmk_linear(x.data(), w.data(), LLMK_F32, LLMK_LAYOUT_ROWS, bias.data(),
                  projected.data(), rows, in, out);
      std::vector<float> expected = runRope(c, projected, positions, heads);
      std::vector<float> invFreq(c.rotaryDim / 2);
      float scaling = 1.0f;
      if (c.kind == LLMK_ROPE_DYNAMIC) {
        llmk_rope_inv_freq_at(positions.data(), rows, invFreq.data(),
                              c.rotaryDim, c.theta, c.kind, c.factor,
                              c.originalMaxPosition, 0, 0, 0, 0, 0);
      } else {
        llmk::RopeScalingParams params;
        params.kind = c.kind;
        params.factor = c.factor;
        params.originalMaxPosition = c.originalMaxPosition;
        params.lowFreqFactor = c.lowFreqFactor;
        params.highFreqFactor = c.highFreqFactor;
        params.betaFast = c.betaFast;
        params.betaSlow = c.betaSlow;
        params.attentionFactor = c.attentionFactor;
        ASSERT_TRUE(llmk::isValidRopeScaling(c.rotaryDim, c.theta, params))
            << what;
        llmk::RopeFrequencies freqs =
            llmk::ropeFrequencies(c.rotaryDim, c.theta, params, 0);
        invFreq = freqs.invFreq;
        scaling = freqs.attentionScaling;
      }
      std::vector<float> y(rows * out, 1e9f);
      llmk_linear_rope(x.data(), w.data(), LLMK_F32, LLMK_LAYOUT_ROWS,
                       bias.data(), y.data(), rows, in, out, positions.data(),
                       invFreq.data(), heads, headDim, c.rotaryDim, gptj,
                       scaling);
      ASSERT_EQ(llmk_take_error(), nullptr) << what;
      for (size_t i = 0; i < y.size(); ++i)
        ASSERT_NEAR(y[i], expected[i], 1e-5) << what << ", element " << i;
    }
  }
  // Dynamic NTK within the original context is the unscaled table.
  std::vector<float> dynamicTable(8);
  std::vector<int64_t> early = {5, 1023};
  llmk_rope_inv_freq_at(early.data(), 2, dynamicTable.data(), 16, 10000.0,
                        LLMK_ROPE_DYNAMIC, 2.0, 1024, 0, 0, 0, 0, 0);
  EXPECT_EQ(
      dynamicTable,
      llmk::ropeFrequencies(16, 10000.0, llmk::RopeScalingParams(), 0).invFreq);
  // Invalid parameters are reported and give a zero table.
  llmk_rope_inv_freq_at(early.data(), 2, dynamicTable.data(), 16, 10000.0,
                        LLMK_ROPE_DYNAMIC, 2.0, 0, 0, 0, 0, 0, 0);
  EXPECT_NE(llmk_take_error(), nullptr);
  EXPECT_EQ(dynamicTable, std::vector<float>(8, 0.0f));
}

INSTANTIATE_TEST_SUITE_P(Isas, RopeTest, kIsaAndThreads, isaTestName);

//===----------------------------------------------------------------------===//
// attention
//===----------------------------------------------------------------------===//

struct AttentionCase {
  std::string name;
  int64_t batch = 1, qLen = 8, kvLen = 8, heads = 4, kvHeads = 4;
  int64_t headDim = 64, vHeadDim = 64;
  int32_t mask = LLMK_MASK_CAUSAL;
  int64_t window = 0;
  bool padding = false, alibi = false;
  /// Bias layout: 0 none, 1 [heads, q, kv] (batch stride 0), 2 [batch, 1,
  /// q, kv] (head stride 0), 3 [batch, heads, q, kv] with -inf entries.
  int bias = 0;
};

/// softmax(q·kᵀ * scale + bias + alibi + mask) · v, row by row in double.
std::vector<float>
referenceAttention(const AttentionCase &c, const std::vector<float> &q,
                   const std::vector<float> &k, const std::vector<float> &v,
                   const std::vector<uint8_t> &padding,
                   const std::vector<float> &bias, int64_t biasBatchStride,
                   int64_t biasHeadStride, const std::vector<float> &slopes,
                   float scale) {
  std::vector<float> out(c.batch * c.qLen * c.heads * c.vHeadDim);
  const int64_t group = c.heads / c.kvHeads;
  std::vector<double> scores(c.kvLen);
  for (int64_t b = 0; b < c.batch; ++b)
    for (int64_t h = 0; h < c.heads; ++h)
      for (int64_t i = 0; i < c.qLen; ++i) {
        const int64_t kvh = h / group, pos = i + c.kvLen - c.qLen;
        double maxScore = -INFINITY;
        for (int64_t j = 0; j < c.kvLen; ++j) {
          bool visible = true;
          if (c.mask == LLMK_MASK_CAUSAL)
            visible = j <= pos;
          if (c.mask == LLMK_MASK_SLIDING_WINDOW)
            visible = j <= pos && j > pos - c.window;
          if (!padding.empty() && !padding[b * c.kvLen + j])
            visible = false;
          double s = 0;
          for (int64_t d = 0; d < c.headDim; ++d)
            s += double(q[((b * c.qLen + i) * c.heads + h) * c.headDim + d]) *
                 k[((b * c.kvLen + j) * c.kvHeads + kvh) * c.headDim + d];
          s *= scale;
          if (!bias.empty())
            s += bias[b * biasBatchStride + h * biasHeadStride + i * c.kvLen +
                      j];
          if (!slopes.empty())
            s += double(slopes[h]) * double(j - pos);
          scores[j] = visible ? s : -INFINITY;
          maxScore = std::max(maxScore, scores[j]);
        }
        double sum = 0;
        for (int64_t j = 0; j < c.kvLen; ++j) {
          scores[j] =
              maxScore == -INFINITY ? 0 : std::exp(scores[j] - maxScore);
          sum += scores[j];
        }
        for (int64_t d = 0; d < c.vHeadDim; ++d) {
          double o = 0;
          for (int64_t j = 0; j < c.kvLen; ++j)
            o += scores[j] *
                 v[((b * c.kvLen + j) * c.kvHeads + kvh) * c.vHeadDim + d];
          out[((b * c.qLen + i) * c.heads + h) * c.vHeadDim + d] =
              sum > 0 ? float(o / sum) : 0.0f;
        }
      }
  return out;
}

class AttentionTest : public IsaTest {
protected:
  void run(const AttentionCase &c) {
    SCOPED_TRACE(c.name);
    uint32_t seed = static_cast<uint32_t>(std::hash<std::string>()(c.name));
    std::vector<float> q =
        randomFloats(c.batch * c.qLen * c.heads * c.headDim, seed);
    std::vector<float> k =
        randomFloats(c.batch * c.kvLen * c.kvHeads * c.headDim, seed + 1);
    std::vector<float> v =
        randomFloats(c.batch * c.kvLen * c.kvHeads * c.vHeadDim, seed + 2);
    // Larger logits than random unit vectors give, so that the softmax is
    // peaked and a wrong max or rescale shows.
    for (float &value : q)
      value *= 3.0f;
    std::vector<uint8_t> padding;
    if (c.padding) {
      std::mt19937 rng(seed + 3);
      padding.resize(c.batch * c.kvLen);
      for (auto &valid : padding)
        valid = rng() % 4 != 0;
      // Left padding in batch 0; nothing valid in the last batch.
      for (int64_t j = 0; j < std::min<int64_t>(3, c.kvLen); ++j)
        padding[j] = 0;
      if (c.batch > 1)
        std::fill(padding.end() - c.kvLen, padding.end(), 0);
    }
    std::vector<float> bias;
    int64_t batchStride = 0, headStride = 0;
    if (c.bias) {
      bool perBatch = c.bias != 1, perHead = c.bias != 2;
      headStride = perHead ? c.qLen * c.kvLen : 0;
      batchStride = perBatch ? (perHead ? c.heads : 1) * c.qLen * c.kvLen : 0;
      bias = randomFloats((perBatch ? c.batch : 1) * (perHead ? c.heads : 1) *
                              c.qLen * c.kvLen,
                          seed + 4, -2.0f, 2.0f);
      if (c.bias == 3)
        for (size_t i = 0; i < bias.size(); i += 5)
          bias[i] = -kInf;
    }
    std::vector<float> slopes;
    if (c.alibi) {
      slopes.resize(c.heads);
      llmk::alibiSlopes(c.heads, 8.0, slopes.data());
    }
    const float scale = 1.0f / std::sqrt(float(c.headDim));
    std::vector<float> out(c.batch * c.qLen * c.heads * c.vHeadDim, 1e9f);
    llmk_attention(q.data(), k.data(), v.data(),
                   padding.empty() ? nullptr : padding.data(),
                   bias.empty() ? nullptr : bias.data(), batchStride,
                   headStride, slopes.empty() ? nullptr : slopes.data(),
                   out.data(), c.batch, c.qLen, c.kvLen, c.heads, c.kvHeads,
                   c.headDim, c.vHeadDim, scale, c.mask, c.window);
    ASSERT_EQ(llmk_take_error(), nullptr);
    std::vector<float> expected = referenceAttention(
        c, q, k, v, padding, bias, batchStride, headStride, slopes, scale);
    for (size_t i = 0; i < out.size(); ++i)
      ASSERT_NEAR(out[i], expected[i],
                  1e-5 * std::max(1.0f, std::fabs(expected[i])))
          << "element " << i;
  }
};

TEST_P(AttentionTest, Causal) {
  AttentionCase c;
  c.name = "causal";
  c.qLen = c.kvLen = 37;
  run(c);
  c.name = "causal prefix (qLen < kvLen), several key blocks, GQA";
  c.qLen = 5;
  c.kvLen = 300;
  c.heads = 8;
  c.kvHeads = 2;
  c.headDim = c.vHeadDim = 128;
  run(c);
  c.name = "causal qLen > kvLen: leading rows see nothing";
  c.qLen = 12;
  c.kvLen = 7;
  c.heads = c.kvHeads = 2;
  c.headDim = c.vHeadDim = 32;
  run(c);
}

TEST_P(AttentionTest, HeadDims) {
  for (int64_t d : {32, 64, 80, 128, 72, 19}) {
    AttentionCase c;
    c.name = "head dim " + std::to_string(d);
    c.qLen = c.kvLen = 40;
    c.headDim = c.vHeadDim = d;
    run(c);
  }
  AttentionCase c;
  c.name = "value head dim differs";
  c.headDim = 64;
  c.vHeadDim = 40;
  c.qLen = 9;
  c.kvLen = 140;
  run(c);
}

TEST_P(AttentionTest, Bidirectional) {
  AttentionCase c;
  c.name = "bidirectional";
  c.mask = LLMK_MASK_BIDIRECTIONAL;
  c.batch = 2;
  c.qLen = c.kvLen = 70;
  c.headDim = c.vHeadDim = 80;
  run(c);
  c.name = "bidirectional cross attention, kv longer than a block";
  c.qLen = 33;
  c.kvLen = 261;
  run(c);
}

TEST_P(AttentionTest, SlidingWindow) {
  AttentionCase c;
  c.name = "sliding window prefill";
  c.mask = LLMK_MASK_SLIDING_WINDOW;
  c.window = 16;
  c.qLen = c.kvLen = 200;
  c.heads = 4;
  c.kvHeads = 2;
  run(c);
  c.name = "sliding window decode";
  c.qLen = 1;
  c.kvLen = 300;
  c.window = 100;
  run(c);
  c.name = "sliding window wider than the sequence";
  c.qLen = c.kvLen = 50;
  c.window = 4096;
  run(c);
}

TEST_P(AttentionTest, Padding) {
  AttentionCase c;
  c.name = "padding mask (last batch fully masked)";
  c.mask = LLMK_MASK_PADDING;
  c.padding = true;
  c.batch = 3;
  c.qLen = c.kvLen = 45;
  run(c);
  c.name = "causal with key padding";
  c.mask = LLMK_MASK_CAUSAL;
  c.qLen = 10;
  c.kvLen = 150;
  run(c);
  c.name = "sliding window with key padding";
  c.mask = LLMK_MASK_SLIDING_WINDOW;
  c.window = 20;
  run(c);
  // Fewer than four queries take the row-by-row path: every mask again.
  for (int32_t mask : {LLMK_MASK_CAUSAL, LLMK_MASK_BIDIRECTIONAL,
                       LLMK_MASK_SLIDING_WINDOW, LLMK_MASK_PADDING}) {
    for (int64_t qLen : {1, 3}) {
      c.name = "row path, mask " + std::to_string(mask) + ", qLen " +
               std::to_string(qLen);
      c.mask = mask;
      c.qLen = qLen;
      c.kvLen = 150;
      c.window = 40;
      c.heads = 4;
      c.kvHeads = 2;
      run(c);
    }
  }
}

TEST_P(AttentionTest, GqaAndMqa) {
  AttentionCase c;
  c.name = "GQA prefill";
  c.heads = 8;
  c.kvHeads = 2;
  c.qLen = c.kvLen = 65;
  run(c);
  c.name = "MQA decode";
  c.heads = 8;
  c.kvHeads = 1;
  c.qLen = 1;
  c.kvLen = 513;
  c.batch = 2;
  run(c);
  c.name = "MQA prefill";
  c.qLen = c.kvLen = 50;
  run(c);
}

TEST_P(AttentionTest, BiasAndAlibi) {
  AttentionCase c;
  c.name = "bias [heads, q, kv], batch stride 0";
  c.batch = 2;
  c.mask = LLMK_MASK_BIDIRECTIONAL;
  c.qLen = 17;
  c.kvLen = 150;
  c.bias = 1;
  run(c);
  c.name = "bias [batch, 1, q, kv], head stride 0";
  c.bias = 2;
  run(c);
  c.name = "bias with -inf entries, causal";
  c.bias = 3;
  c.mask = LLMK_MASK_CAUSAL;
  run(c);
  c.name = "alibi causal";
  c.bias = 0;
  c.alibi = true;
  c.heads = c.kvHeads = 12;
  c.qLen = c.kvLen = 140;
  run(c);
  c.name = "alibi decode with bias";
  c.qLen = 1;
  c.bias = 1;
  run(c);
  c.name = "decode with -inf bias, bidirectional";
  c.alibi = false;
  c.bias = 3;
  c.mask = LLMK_MASK_BIDIRECTIONAL;
  c.qLen = 2;
  run(c);
}

TEST_P(AttentionTest, AlibiSlopesMatchAlibiBias) {
  // The in-kernel slopes and an llm.alibi bias tensor are the same thing.
  const int64_t heads = 6, qLen = 5, kvLen = 20, d = 32;
  std::vector<float> q = randomFloats(qLen * heads * d, 1),
                     k = randomFloats(kvLen * heads * d, 2),
                     v = randomFloats(kvLen * heads * d, 3);
  std::vector<float> slopes(heads), bias(heads * qLen * kvLen);
  llmk::alibiSlopes(heads, 8.0, slopes.data());
  llmk_alibi(bias.data(), heads, qLen, kvLen, 8.0);
  std::vector<float> withSlopes(qLen * heads * d), withBias(qLen * heads * d);
  llmk_attention(q.data(), k.data(), v.data(), nullptr, nullptr, 0, 0,
                 slopes.data(), withSlopes.data(), 1, qLen, kvLen, heads, heads,
                 d, d, 0.25f, LLMK_MASK_CAUSAL, 0);
  llmk_attention(q.data(), k.data(), v.data(), nullptr, bias.data(), 0,
                 qLen * kvLen, nullptr, withBias.data(), 1, qLen, kvLen, heads,
                 heads, d, d, 0.25f, LLMK_MASK_CAUSAL, 0);
  EXPECT_EQ(withSlopes, withBias);
}

TEST_P(AttentionTest, InvalidHeadsRecordError) {
  std::vector<float> q(6 * 4, 1.0f), out(6 * 4, 3.0f);
  llmk_attention(q.data(), q.data(), q.data(), nullptr, nullptr, 0, 0, nullptr,
                 out.data(), 1, 1, 1, 6, 4, 4, 4, 1.0f, LLMK_MASK_CAUSAL, 0);
  EXPECT_NE(llmk_take_error(), nullptr);
  EXPECT_EQ(out, std::vector<float>(out.size(), 0.0f));
}

INSTANTIATE_TEST_SUITE_P(Isas, AttentionTest, kIsaAndThreads, isaTestName);

//===----------------------------------------------------------------------===//
// Position biases
//===----------------------------------------------------------------------===//

TEST(AlibiTest, SlopesForEightHeads) {
  // BLOOM: base 2^-(8/8); slopes base^1 .. base^8.
  std::vector<float> slopes(8);
  llmk::alibiSlopes(8, 8.0, slopes.data());
  const float expected[] = {0.5f,     0.25f,     0.125f,     0.0625f,
                            0.03125f, 0.015625f, 0.0078125f, 0.00390625f};
  for (int h = 0; h < 8; ++h)
    EXPECT_EQ(slopes[h], expected[h]) << "head " << h;
}

TEST(AlibiTest, SlopesForTwelveHeads) {
  // Eight heads as above, then extra base 2^-(8/16) to the powers 1, 3, 5, 7.
  std::vector<float> slopes(12);
  llmk::alibiSlopes(12, 8.0, slopes.data());
  const float expected[] = {0.5f,        0.25f,       0.125f,     0.0625f,
                            0.03125f,    0.015625f,   0.0078125f, 0.00390625f,
                            0.70710678f, 0.35355339f, 0.1767767f, 0.08838835f};
  for (int h = 0; h < 12; ++h)
    EXPECT_FLOAT_EQ(slopes[h], expected[h]) << "head " << h;
}

TEST(AlibiTest, OtherHeadCountsAndMaxBias) {
  // 16 heads: BLOOM raises the fp32 base 2^-0.5 = 0.70710677 (a little low)
  // to the powers 1 .. 16 in fp32, so the last slope is 0.0039062488, not
  // 2^-8.
  std::vector<float> slopes(16);
  llmk::alibiSlopes(16, 8.0, slopes.data());
  const float base = 0.70710677f;
  for (int h = 0; h < 16; ++h) {
    EXPECT_EQ(slopes[h], float(std::pow(double(base), h + 1))) << h;
    EXPECT_NEAR(slopes[h], std::pow(2.0, -0.5 * (h + 1)),
                4e-7 * std::pow(2.0, -0.5 * (h + 1)));
  }
  EXPECT_EQ(slopes[15], 0.0039062488f);
  llmk::alibiSlopes(1, 8.0, slopes.data());
  EXPECT_EQ(slopes[0], 0.00390625f);
  // max_bias 16 (MPT-style variants) doubles the exponents.
  llmk::alibiSlopes(4, 16.0, slopes.data());
  EXPECT_EQ(slopes[0], 0.0625f);
  EXPECT_EQ(slopes[3], 1.0f / 65536.0f);
}

TEST(AlibiTest, BiasIsSlopeTimesOffset) {
  const int64_t heads = 3, qLen = 2, kvLen = 4;
  std::vector<float> bias(heads * qLen * kvLen), slopes(heads);
  llmk_alibi(bias.data(), heads, qLen, kvLen, 8.0);
  llmk::alibiSlopes(heads, 8.0, slopes.data());
  // Query i sits at position i + 2.
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t i = 0; i < qLen; ++i)
      for (int64_t j = 0; j < kvLen; ++j)
        EXPECT_EQ(bias[(h * qLen + i) * kvLen + j],
                  slopes[h] * float(j - (i + 2)));
  // 3 heads: 2^-4 and 2^-8, then the extra base 2^-2 to the power 1.
  EXPECT_EQ(slopes[0], 0.0625f);
  EXPECT_EQ(slopes[1], 0.00390625f);
  EXPECT_EQ(slopes[2], 0.25f);
}

/// Buckets read back through a table whose entry is the bucket index.
std::vector<int64_t> relativeBuckets(int64_t qLen, int64_t kvLen,
                                     int64_t numBuckets, int64_t maxDistance,
                                     bool bidirectional) {
  const int64_t heads = 2;
  std::vector<float> table(numBuckets * heads);
  for (int64_t b = 0; b < numBuckets; ++b)
    for (int64_t h = 0; h < heads; ++h)
      table[b * heads + h] = float(b * 10 + h);
  std::vector<float> out(heads * qLen * kvLen);
  llmk_relative_position_bias(table.data(), out.data(), heads, qLen, kvLen,
                              numBuckets, maxDistance, bidirectional);
  std::vector<int64_t> buckets(qLen * kvLen);
  for (int64_t i = 0; i < qLen * kvLen; ++i) {
    EXPECT_EQ(int64_t(out[qLen * kvLen + i]) % 10, 1); // Head 1's column.
    buckets[i] = int64_t(out[i]) / 10;
  }
  return buckets;
}

TEST(RelativePositionTest, BidirectionalBuckets) {
  // T5 encoder: 32 buckets, max distance 128: 16 buckets per direction, 8
  // of them exact; beyond, 8 + int(log(r / 8) / log(16) * 8), at most 15.
  // Row 0 of a 300 x 300 bias sees keys at relative positions j.
  std::vector<int64_t> all = relativeBuckets(300, 300, 32, 128, true);
  std::vector<int64_t> b(all.begin(), all.begin() + 300);
  EXPECT_EQ(b[0], 0);
  EXPECT_EQ(b[1], 17);
  EXPECT_EQ(b[7], 23);
  EXPECT_EQ(b[8], 24);   // log(1) = 0.
  EXPECT_EQ(b[12], 25);  // 8 * log(1.5) / log(16) = 1.17.
  EXPECT_EQ(b[16], 26);  // Exactly 2.
  EXPECT_EQ(b[20], 26);  // 2.64.
  EXPECT_EQ(b[31], 27);  // 3.91.
  EXPECT_EQ(b[32], 28);  // Exactly 4.
  EXPECT_EQ(b[100], 31); // 7.29.
  EXPECT_EQ(b[127], 31); // 7.98.
  EXPECT_EQ(b[128], 31); // 8, clamped to 15.
  EXPECT_EQ(b[299], 31);
  // Keys before the query: the lower 16 buckets. Query 299 of 300.
  const std::vector<int64_t> &back = all;
  const int64_t row = 299 * 300;
  EXPECT_EQ(back[row + 299], 0);
  EXPECT_EQ(back[row + 298], 1);  // Relative -1.
  EXPECT_EQ(back[row + 292], 7);  // -7.
  EXPECT_EQ(back[row + 291], 8);  // -8.
  EXPECT_EQ(back[row + 279], 10); // -20.
  EXPECT_EQ(back[row + 267], 12); // -32.
  EXPECT_EQ(back[row + 199], 15); // -100.
  EXPECT_EQ(back[row + 0], 15);
  // Row 0 of the same matrix sees keys after it: relative +1 is bucket 17.
  EXPECT_EQ(back[1], 17);
}

TEST(RelativePositionTest, UnidirectionalBuckets) {
  // T5 decoder: future keys share bucket 0; the past uses all 32 buckets, 16
  // exact, then 16 + int(log(r / 16) / log(8) * 16), at most 31.
  // Query 0 of 1 with 1200 keys sits at position 1199.
  std::vector<int64_t> b = relativeBuckets(1, 1200, 32, 128, false);
  auto at = [&](int64_t relative) { return b[1199 + relative]; };
  EXPECT_EQ(at(0), 0);
  EXPECT_EQ(at(-1), 1);
  EXPECT_EQ(at(-15), 15);
  EXPECT_EQ(at(-16), 16);
  EXPECT_EQ(at(-20), 17);  // 16 * log(1.25) / log(8) = 1.72.
  EXPECT_EQ(at(-64), 26);  // 10.67.
  EXPECT_EQ(at(-127), 31); // 15.94.
  EXPECT_EQ(at(-128), 31); // 16, clamped.
  EXPECT_EQ(at(-1199), 31);
  // Future keys (qLen > 1 decoder prefill): query 0 of 4 with 4 keys.
  std::vector<int64_t> square = relativeBuckets(4, 4, 32, 128, false);
  EXPECT_EQ(square[0 * 4 + 3], 0);
  EXPECT_EQ(square[3 * 4 + 0], 3);
}

//===----------------------------------------------------------------------===//
// Activations, softmax, norms, elementwise
//===----------------------------------------------------------------------===//

class ElementwiseTest : public IsaTest {};

TEST_P(ElementwiseTest, Activations) {
  const int64_t n = 40000; // Several parallel chunks.
  std::vector<float> x = randomFloats(n, 21, -8.0f, 8.0f);
  x[0] = 0.0f;
  x[1] = -20.0f;
  x[2] = 20.0f;
  std::vector<float> y(n);
  auto expectEach = [&](auto reference, const char *what) {
    for (int64_t i = 0; i < n; ++i) {
      double expected = reference(double(x[i]));
      ASSERT_NEAR(y[i], expected, 4e-7 * std::max(1.0, std::fabs(expected)))
          << what << " at x = " << x[i];
    }
  };
  llmk_gelu(x.data(), y.data(), n, 0);
  expectEach(
      [](double v) { return 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))); },
      "gelu");
  llmk_gelu(x.data(), y.data(), n, 1);
  expectEach(
      [](double v) {
        return 0.5 * v *
               (1 + std::tanh(std::sqrt(2 / kPi) * (v + 0.044715 * v * v * v)));
      },
      "gelu tanh");
  llmk_silu(x.data(), y.data(), n);
  expectEach([](double v) { return v / (1 + std::exp(-v)); }, "silu");

  llmk_relu(x.data(), y.data(), n);
  expectEach([](double v) { return v > 0 ? v : 0.0; }, "relu");
  float nan = std::numeric_limits<float>::quiet_NaN(), relu;
  llmk_relu(&nan, &relu, 1);
  EXPECT_TRUE(std::isnan(relu)); // torch.relu propagates NaN.

  std::vector<float> up = randomFloats(n, 22);
  for (int32_t act :
       {LLMK_ACT_SILU, LLMK_ACT_GELU, LLMK_ACT_GELU_TANH, LLMK_ACT_RELU}) {
    llmk_glu(x.data(), up.data(), y.data(), n, act);
    for (int64_t i = 0; i < n; ++i) {
      double g = x[i], a;
      switch (act) {
      case LLMK_ACT_SILU:
        a = g / (1 + std::exp(-g));
        break;
      case LLMK_ACT_GELU:
        a = 0.5 * g * (1 + std::erf(g / std::sqrt(2.0)));
        break;
      case LLMK_ACT_GELU_TANH:
        a = 0.5 * g *
            (1 + std::tanh(std::sqrt(2 / kPi) * (g + 0.044715 * g * g * g)));
        break;
      default:
        a = g > 0 ? g : 0;
      }
      double expected = a * up[i];
      ASSERT_NEAR(y[i], expected, 4e-7 * std::max(1.0, std::fabs(expected)))
          << "glu activation " << act << " at " << i;
    }
  }
  // SwiGLU's vector path at the extremes: saturation on both sides, and NaN
  // propagates as in torch.
  std::vector<float> gates = {-200.0f, -90.0f, 90.0f, 200.0f, nan};
  std::vector<float> ones(gates.size(), 1.0f), swish(gates.size());
  llmk_glu(gates.data(), ones.data(), swish.data(), gates.size(),
           LLMK_ACT_SILU);
  EXPECT_NEAR(swish[0], 0.0f, 1e-30f);
  EXPECT_NEAR(swish[1], 0.0f, 1e-30f);
  EXPECT_EQ(swish[2], 90.0f);
  EXPECT_EQ(swish[3], 200.0f);
  EXPECT_TRUE(std::isnan(swish[4]));
}

/// llmk_sigmoid_gate: sigmoid(gate) * x with one gate per row (Qwen2-MoE's
/// shared expert) or per value; a gate of another width is an error.
TEST_P(ElementwiseTest, SigmoidGate) {
  const int64_t rows = 5, cols = 37;
  std::vector<float> x = randomFloats(rows * cols, 31);
  std::vector<float> rowGates = randomFloats(rows, 32, -6.0f, 6.0f);
  std::vector<float> gates = randomFloats(rows * cols, 33, -6.0f, 6.0f);
  std::vector<float> y(rows * cols);
  llmk_sigmoid_gate(x.data(), rowGates.data(), y.data(), rows, cols, 1);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < cols; ++i) {
      double expected = x[r * cols + i] / (1 + std::exp(-double(rowGates[r])));
      ASSERT_NEAR(y[r * cols + i], expected,
                  4e-7 * std::max(1.0, std::fabs(expected)))
          << r << ", " << i;
    }
  llmk_sigmoid_gate(x.data(), gates.data(), y.data(), rows, cols, cols);
  for (int64_t i = 0; i < rows * cols; ++i) {
    double expected = x[i] / (1 + std::exp(-double(gates[i])));
    ASSERT_NEAR(y[i], expected, 4e-7 * std::max(1.0, std::fabs(expected))) << i;
  }
  // Saturated gates: 0 and x.
  float big[] = {-200.0f, 200.0f}, ones[] = {3.0f, 3.0f}, out[2];
  llmk_sigmoid_gate(ones, big, out, 2, 1, 1);
  EXPECT_EQ(out[0], 0.0f);
  EXPECT_EQ(out[1], 3.0f);
  ASSERT_EQ(llmk_take_error(), nullptr);
  llmk_sigmoid_gate(x.data(), gates.data(), y.data(), rows, cols, 2);
  const char *error = llmk_take_error();
  ASSERT_NE(error, nullptr);
  EXPECT_EQ(std::string(error),
            "llmk_sigmoid_gate: expected a gate per row or per value");
}

TEST_P(ElementwiseTest, Softmax) {
  const int64_t rows = 7, cols = 1001;
  std::vector<float> x = randomFloats(rows * cols, 23, -30.0f, 30.0f);
  x[5] = -kInf;
  std::fill(x.begin() + 6 * cols, x.end(), -kInf); // A fully masked row.
  std::vector<float> y(rows * cols);
  llmk_softmax(x.data(), y.data(), rows, cols);
  for (int64_t r = 0; r < rows - 1; ++r) {
    // x - max is an fp32 subtraction in PyTorch too; the rest in double.
    float maxValue = -kInf;
    double sum = 0;
    for (int64_t c = 0; c < cols; ++c)
      maxValue = std::max(maxValue, x[r * cols + c]);
    for (int64_t c = 0; c < cols; ++c)
      sum += std::exp(double(x[r * cols + c] - maxValue));
    for (int64_t c = 0; c < cols; ++c) {
      double expected = std::exp(double(x[r * cols + c] - maxValue)) / sum;
      ASSERT_NEAR(y[r * cols + c], expected, 1e-6 * expected + 1e-30)
          << r << ", " << c;
    }
  }
  EXPECT_EQ(y[5], 0.0f);
  for (int64_t c = 0; c < cols; ++c)
    EXPECT_EQ(y[6 * cols + c], 0.0f);
  // In place.
  llmk_softmax(x.data(), x.data(), rows, cols);
  EXPECT_EQ(x, y);
}

TEST_P(ElementwiseTest, LayerNorm) {
  const int64_t rows = 5, dim = 768;
  std::vector<float> x = randomFloats(rows * dim, 24, -3.0f, 5.0f);
  std::vector<float> w = randomFloats(dim, 25), b = randomFloats(dim, 26);
  std::vector<float> y(rows * dim);
  for (bool withBias : {true, false}) {
    llmk_layer_norm(x.data(), w.data(), withBias ? b.data() : nullptr, y.data(),
                    rows, dim, 1e-5f);
    for (int64_t r = 0; r < rows; ++r) {
      double mean = 0, var = 0;
      for (int64_t i = 0; i < dim; ++i)
        mean += x[r * dim + i];
      mean /= dim;
      for (int64_t i = 0; i < dim; ++i)
        var += (x[r * dim + i] - mean) * (x[r * dim + i] - mean);
      var /= dim; // Biased.
      for (int64_t i = 0; i < dim; ++i) {
        double expected =
            (x[r * dim + i] - mean) / std::sqrt(var + 1e-5) * w[i] +
            (withBias ? b[i] : 0.0);
        ASSERT_NEAR(y[r * dim + i], expected,
                    1e-6 * std::max(1.0, std::fabs(expected)));
      }
    }
  }
}

TEST_P(ElementwiseTest, RmsNorm) {
  const int64_t rows = 4, dim = 4096 + 3;
  std::vector<float> x = randomFloats(rows * dim, 27, -4.0f, 4.0f);
  std::vector<float> w = randomFloats(dim, 28);
  std::vector<float> y(rows * dim);
  for (float offset : {0.0f, 1.0f}) { // Llama, Gemma.
    llmk_rms_norm(x.data(), w.data(), y.data(), rows, dim, 1e-6f, offset);
    for (int64_t r = 0; r < rows; ++r) {
      double squares = 0;
      for (int64_t i = 0; i < dim; ++i)
        squares += double(x[r * dim + i]) * x[r * dim + i];
      double inverse = 1 / std::sqrt(squares / dim + 1e-6);
      for (int64_t i = 0; i < dim; ++i) {
        double expected = x[r * dim + i] * inverse * (w[i] + offset);
        ASSERT_NEAR(y[r * dim + i], expected,
                    5e-7 * std::max(1.0, std::fabs(expected)));
      }
    }
  }
}

TEST_P(ElementwiseTest, BinaryScaleAndCopy) {
  const int64_t n = 50001;
  std::vector<float> a = randomFloats(n, 29), b = randomFloats(n, 30), y(n);
  llmk_add(a.data(), b.data(), y.data(), n);
  for (int64_t i = 0; i < n; ++i)
    ASSERT_EQ(y[i], a[i] + b[i]);
  llmk_sub(a.data(), b.data(), y.data(), n);
  for (int64_t i = 0; i < n; ++i)
    ASSERT_EQ(y[i], a[i] - b[i]);
  llmk_mul(a.data(), b.data(), y.data(), n);
  for (int64_t i = 0; i < n; ++i)
    ASSERT_EQ(y[i], a[i] * b[i]);
  llmk_scale(a.data(), y.data(), n, -0.375f);
  for (int64_t i = 0; i < n; ++i)
    ASSERT_EQ(y[i], a[i] * -0.375f);
  std::vector<float> copy(n, 0.0f);
  llmk_copy(a.data(), copy.data(), n * sizeof(float));
  EXPECT_EQ(copy, a);
}

TEST_P(ElementwiseTest, SimdExpAndScores) {
  // The attention primitives directly: exp(s - shift) with -inf lanes, tails.
  const SimdKernels &simd = getSimdKernels();
  for (int64_t count : {1, 5, 16, 37}) {
    std::vector<float> s = randomFloats(count, 31, -80.0f, 5.0f), p(count);
    s[0] = -kInf;
    float sum = simd.expShift(s.data(), 5.0f, count, p.data());
    double expectedSum = 0;
    for (int64_t j = 0; j < count; ++j) {
      // The shift is subtracted in fp32.
      double expected = std::exp(double(s[j] - 5.0f));
      expectedSum += expected;
      ASSERT_NEAR(p[j], expected, 3e-7 * expected) << j;
    }
    EXPECT_EQ(p[0], 0.0f);
    EXPECT_NEAR(sum, expectedSum, 1e-6 * expectedSum + 1e-30);
  }
}

INSTANTIATE_TEST_SUITE_P(Isas, ElementwiseTest, kIsaAndThreads, isaTestName);

//===----------------------------------------------------------------------===//
// moe
//===----------------------------------------------------------------------===//

class MoeTest : public IsaTest {};

/// Mixtral's sparse MoE block in double.
std::vector<double> referenceMoe(const std::vector<float> &x,
                                 const Weights &router, const Weights &gate,
                                 const Weights &up, const Weights &down,
                                 int64_t tokens, int64_t hidden, int64_t inter,
                                 int64_t experts, int64_t topK, bool normalize,
                                 int32_t activation) {
  std::vector<double> y(tokens * hidden, 0.0);
  for (int64_t t = 0; t < tokens; ++t) {
    std::vector<double> probs(experts);
    double maxLogit = -INFINITY, sum = 0;
    for (int64_t e = 0; e < experts; ++e) {
      double logit = 0;
      for (int64_t i = 0; i < hidden; ++i)
        logit += x[t * hidden + i] * router.values[e * hidden + i];
      probs[e] = logit;
      maxLogit = std::max(maxLogit, logit);
    }
    for (double &p : probs)
      sum += p = std::exp(p - maxLogit);
    for (double &p : probs)
      p /= sum;
    std::vector<int64_t> order(experts);
    for (int64_t e = 0; e < experts; ++e)
      order[e] = e;
    // Descending probability, ties to the lower index.
    std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return probs[a] != probs[b] ? probs[a] > probs[b] : a < b;
    });
    double total = 0;
    for (int64_t j = 0; j < topK; ++j)
      total += probs[order[j]];
    for (int64_t j = 0; j < topK; ++j) {
      int64_t e = order[j];
      double weight = normalize ? probs[e] / total : probs[e];
      std::vector<double> hiddenUnits(inter);
      for (int64_t r = 0; r < inter; ++r) {
        double g = 0, u = 0;
        for (int64_t i = 0; i < hidden; ++i) {
          g += x[t * hidden + i] * gate.values[(e * inter + r) * hidden + i];
          u += x[t * hidden + i] * up.values[(e * inter + r) * hidden + i];
        }
        double a = activation == LLMK_ACT_SILU
                       ? g / (1 + std::exp(-g))
                       : 0.5 * g * (1 + std::erf(g / std::sqrt(2.0)));
        hiddenUnits[r] = a * u;
      }
      for (int64_t i = 0; i < hidden; ++i) {
        double o = 0;
        for (int64_t r = 0; r < inter; ++r)
          o += hiddenUnits[r] * down.values[(e * hidden + i) * inter + r];
        y[t * hidden + i] += weight * o;
      }
    }
  }
  return y;
}

/// An MoE layer through llm-specialize-moe's kernels: the router's
/// projection, route, permute, the grouped products (the decode form when
/// `decode`), llmk_glu and combine. Float experts in their dtype (`packed`
/// null), or quantized ones: packed[0..2] each `bits` in groups of `group`,
/// one matrix every quantExpertBytes.
std::vector<float> specializedMoe(const std::vector<float> &x,
                                  const Weights &router, const void *gate,
                                  const void *up, const void *down,
                                  int32_t dtype, int bits, int64_t group,
                                  int64_t tokens, int64_t hidden, int64_t inter,
                                  int64_t experts, int64_t topK, bool normalize,
                                  int32_t activation, bool decode) {
  std::vector<float> logits(tokens * experts);
  llmk_linear(x.data(), router.data(), router.dtype, LLMK_LAYOUT_ROWS, nullptr,
              logits.data(), tokens, hidden, experts);
  const int64_t rows = tokens * topK;
  std::vector<float> weights(rows), permuted(rows * hidden), g(rows * inter),
      u(rows * inter), d(rows * hidden), y(tokens * hidden, 7.0f);
  std::vector<int32_t> indices(rows), offsets(experts + 1), sources(rows);
  llmk_moe_route(logits.data(), weights.data(), indices.data(), tokens, experts,
                 topK, normalize);
  llmk_moe_permute(x.data(), indices.data(), permuted.data(), offsets.data(),
                   sources.data(), tokens, hidden, experts, topK, 0);
  auto grouped = [&](const float *in, const void *w, float *out, int64_t k,
                     int64_t n) {
    if (bits)
      (decode ? llmk_grouped_gemv_q : llmk_grouped_matmul_q)(
          in, w, bits, group, offsets.data(), out, rows, k, n, experts);
    else
      (decode ? llmk_grouped_gemv
              : llmk_grouped_matmul)(in, w, dtype, LLMK_LAYOUT_ROWS,
                                     offsets.data(), out, rows, k, n, experts);
  };
  grouped(permuted.data(), gate, g.data(), hidden, inter);
  grouped(permuted.data(), up, u.data(), hidden, inter);
  llmk_glu(g.data(), u.data(), g.data(), rows * inter, activation);
  grouped(g.data(), down, d.data(), inter, hidden);
  llmk_moe_combine(d.data(), weights.data(), sources.data(), y.data(), tokens,
                   hidden, topK);
  return y;
}

TEST_P(MoeTest, MatchesMixtral) {
  const int64_t tokens = 6, hidden = 40, inter = 72, experts = 5;
  for (int32_t dtype : {LLMK_F32, LLMK_BF16, LLMK_F16}) {
    for (int64_t topK : {1, 2, 3}) {
      for (bool normalize : {true, false}) {
        int32_t activation = topK == 3 ? LLMK_ACT_GELU : LLMK_ACT_SILU;
        std::vector<float> x = randomFloats(tokens * hidden, 40);
        Weights router = randomWeights(experts * hidden, dtype, 41);
        Weights gate = randomWeights(experts * inter * hidden, dtype, 42);
        Weights up = randomWeights(experts * inter * hidden, dtype, 43);
        Weights down = randomWeights(experts * hidden * inter, dtype, 44);
        std::vector<double> expected =
            referenceMoe(x, router, gate, up, down, tokens, hidden, inter,
                         experts, topK, normalize, activation);
        double scale = 0;
        for (double value : expected)
          scale = std::max(scale, std::fabs(value));
        for (bool decode : {false, true}) {
          std::vector<float> y =
              specializedMoe(x, router, gate.data(), up.data(), down.data(),
                             dtype, 0, 0, tokens, hidden, inter, experts, topK,
                             normalize, activation, decode);
          ASSERT_EQ(llmk_take_error(), nullptr);
          for (size_t i = 0; i < y.size(); ++i)
            ASSERT_NEAR(y[i], expected[i], 5e-6 * scale)
                << dtypeName(dtype) << " top " << topK
                << (normalize ? " normalized" : "")
                << (decode ? " decode" : " prefill") << " element " << i;
        }
      }
    }
  }
}

/// Quantized experts (llmk_grouped_*_q): the same layer over the dequantized
/// experts, within what quantizing the activations per block of 32 costs
/// the integer GEMV (experts that get fewer than 4 tokens); a wrong expert
/// stride or group would be far off.
TEST_P(MoeTest, QuantizedExpertsMatchTheDequantizedOnes) {
  const int64_t tokens = 7, hidden = 64, inter = 96, experts = 4;
  for (int bits : {8, 4})
    for (int64_t group : {int64_t(0), int64_t(32)}) {
      std::vector<float> x = randomFloats(tokens * hidden, 60);
      Weights router = randomWeights(experts * hidden, LLMK_F32, 61);
      Weights stacked[3];
      std::vector<uint8_t> packed[3];
      const uint32_t seeds[3] = {62, 63, 64};
      for (int which = 0; which < 3; ++which) {
        const int64_t n = which == 2 ? hidden : inter;
        const int64_t k = which == 2 ? inter : hidden;
        std::vector<float> w = randomFloats(experts * n * k, seeds[which]);
        const int64_t stride = quantExpertBytes(n, k, bits, group);
        packed[which].assign(experts * stride, 0);
        stacked[which].dtype = LLMK_F32;
        stacked[which].values.resize(experts * n * k);
        std::vector<float> row(k);
        for (int64_t e = 0; e < experts; ++e) {
          quantizeWeight(w.data() + e * n * k, n, k, bits, group, false,
                         packed[which].data() + e * stride);
          for (int64_t r = 0; r < n; ++r) {
            dequantize(packed[which].data() + e * stride, n, k, bits, group, r,
                       0, k, row.data());
            for (int64_t i = 0; i < k; ++i)
              stacked[which].values[(e * n + r) * k + i] = row[i];
          }
        }
      }
      std::vector<double> expected =
          referenceMoe(x, router, stacked[0], stacked[1], stacked[2], tokens,
                       hidden, inter, experts, 2, true, LLMK_ACT_SILU);
      double scale = 0;
      for (double value : expected)
        scale = std::max(scale, std::fabs(value));
      for (bool decode : {false, true}) {
        std::vector<float> y = specializedMoe(
            x, router, packed[0].data(), packed[1].data(), packed[2].data(),
            LLMK_F32, bits, group, tokens, hidden, inter, experts, 2, true,
            LLMK_ACT_SILU, decode);
        ASSERT_EQ(llmk_take_error(), nullptr);
        for (size_t i = 0; i < y.size(); ++i)
          ASSERT_NEAR(y[i], expected[i], 2e-2 * scale)
              << bits << " bits, group " << group
              << (decode ? " decode" : " prefill") << ", element " << i;
      }
    }
}

TEST_P(MoeTest, TiesPickTheLowerExpert) {
  // A zero router gives every expert probability 1/4: top-2 must be experts
  // 0 and 1, each weighted 1/2 after normalization.
  const int64_t hidden = 8, inter = 4, experts = 4;
  std::vector<float> x = randomFloats(hidden, 50);
  std::vector<float> router(experts * hidden, 0.0f);
  std::vector<float> gate(experts * inter * hidden, 0.0f),
      up(experts * inter * hidden, 0.0f), down(experts * hidden * inter, 0.0f);
  // Expert e: gate = up = identity-ish on feature 0, down writes e + 1 to
  // every output, so y identifies the experts used.
  for (int64_t e = 0; e < experts; ++e) {
    gate[(e * inter) * hidden] = 1.0f;
    up[(e * inter) * hidden] = 1.0f;
    for (int64_t i = 0; i < hidden; ++i)
      down[(e * hidden + i) * inter] = float(e + 1);
  }
  x[0] = 2.0f;
  Weights zero;
  zero.dtype = LLMK_F32;
  zero.f32 = router;
  std::vector<float> y =
      specializedMoe(x, zero, gate.data(), up.data(), down.data(), LLMK_F32, 0,
                     0, 1, hidden, inter, experts, 2, true, LLMK_ACT_RELU,
                     /*decode=*/true);
  // relu(2) * 2 = 4; 0.5 * 4 * 1 + 0.5 * 4 * 2 = 6.
  for (int64_t i = 0; i < hidden; ++i)
    EXPECT_FLOAT_EQ(y[i], 6.0f);
}

/// The two forms agree bit for bit where each expert has one row (a
/// decoded token's): the prefill form's product of one row is the GEMV the
/// decode form runs, float (rows and panels) and quantized; with more rows
/// per expert the decode form is llmk_linear's GEMV row by row.
TEST_P(MoeTest, DecodeFormIsTheGemvOfEachRow) {
  const int64_t k = 64, n = 200, experts = 8;
  const std::vector<int32_t> one = {0, 1, 1, 2, 3, 3, 3, 4, 5};
  const std::vector<int32_t> several = {0, 0, 3, 3, 4, 4, 4, 6, 9};
  for (const std::vector<int32_t> &offsets : {one, several}) {
    const int64_t rows = offsets.back() + 1; // One row a capacity dropped.
    std::vector<float> x = randomFloats(rows * k, 100);
    for (int32_t dtype : {LLMK_F32, LLMK_BF16})
      for (int32_t layout : {LLMK_LAYOUT_ROWS, LLMK_LAYOUT_PANELS}) {
        Weights w = randomWeights(experts * n * k, dtype, 101);
        const int64_t es = dtype == LLMK_F32 ? 4 : 2;
        const int64_t each =
            layout == LLMK_LAYOUT_PANELS ? panelElements(n, k) : n * k;
        std::vector<uint8_t> stored(experts * each * es);
        for (int64_t e = 0; e < experts; ++e) {
          const auto *src =
              static_cast<const uint8_t *>(w.data()) + e * n * k * es;
          if (layout == LLMK_LAYOUT_PANELS)
            packPanels(src, es, n, k, stored.data() + e * each * es);
          else
            std::memcpy(stored.data() + e * each * es, src, n * k * es);
        }
        std::vector<float> gemv(rows * n, 3.0f), gemm(rows * n, 4.0f),
            perRow(rows * n, 0.0f);
        llmk_grouped_gemv(x.data(), stored.data(), dtype, layout,
                          offsets.data(), gemv.data(), rows, k, n, experts);
        llmk_grouped_matmul(x.data(), stored.data(), dtype, layout,
                            offsets.data(), gemm.data(), rows, k, n, experts);
        for (int64_t e = 0; e < experts; ++e)
          for (int64_t r = offsets[e]; r < offsets[e + 1]; ++r)
            llmk_linear(x.data() + r * k, stored.data() + e * each * es, dtype,
                        layout, nullptr, perRow.data() + r * n, 1, k, n);
        ASSERT_EQ(llmk_take_error(), nullptr);
        EXPECT_EQ(gemv, perRow) << dtypeName(dtype) << " layout " << layout;
        if (&offsets == &one)
          EXPECT_EQ(gemv, gemm) << dtypeName(dtype) << " layout " << layout;
      }
    for (int bits : {8, 4})
      for (int64_t group : {int64_t(16), int64_t(32), int64_t(0)}) {
        const int64_t stride = quantExpertBytes(n, k, bits, group);
        std::vector<uint8_t> packed(experts * stride);
        for (int64_t e = 0; e < experts; ++e) {
          std::vector<float> w = randomFloats(n * k, 110 + uint32_t(e));
          quantizeWeight(w.data(), n, k, bits, group, bits == 8,
                         packed.data() + e * stride);
        }
        std::vector<float> gemv(rows * n, 3.0f), gemm(rows * n, 4.0f),
            perRow(rows * n, 0.0f);
        llmk_grouped_gemv_q(x.data(), packed.data(), bits, group,
                            offsets.data(), gemv.data(), rows, k, n, experts);
        llmk_grouped_matmul_q(x.data(), packed.data(), bits, group,
                              offsets.data(), gemm.data(), rows, k, n, experts);
        for (int64_t e = 0; e < experts; ++e)
          for (int64_t r = offsets[e]; r < offsets[e + 1]; ++r)
            llmk_linear_q(x.data() + r * k, packed.data() + e * stride, bits,
                          group, 0, nullptr, perRow.data() + r * n, 1, k, n);
        ASSERT_EQ(llmk_take_error(), nullptr);
        EXPECT_EQ(gemv, perRow) << bits << " bits, group " << group;
        if (&offsets == &one)
          EXPECT_EQ(gemv, gemm) << bits << " bits, group " << group;
      }
  }
}

/// llmk_grouped_matmul against a scalar reference: empty groups (never
/// read), one-row groups, unequal sizes; offsets that do not cover the rows
/// are an error.
TEST_P(MoeTest, GroupedMatmulMatchesReference) {
  const int64_t k = 37, n = 53, experts = 6;
  const std::vector<int32_t> offsets = {0, 0, 1, 9, 9, 30, 31};
  const int64_t rows = offsets.back();
  for (int32_t dtype : {LLMK_F32, LLMK_F16, LLMK_BF16})
    for (int32_t layout : {LLMK_LAYOUT_ROWS, LLMK_LAYOUT_PANELS}) {
      std::vector<float> x = randomFloats(rows * k, 80);
      Weights w = randomWeights(experts * n * k, dtype, 81);
      // Panels: each expert's matrix packed on its own, one after another.
      const int64_t es = dtype == LLMK_F32 ? 4 : 2, each = panelElements(n, k);
      std::vector<uint8_t> panels(experts * each * es);
      for (int64_t e = 0; e < experts; ++e)
        packPanels(static_cast<const uint8_t *>(w.data()) + e * n * k * es, es,
                   n, k, panels.data() + e * each * es);
      for (auto *kernel : {llmk_grouped_matmul, llmk_grouped_gemv}) {
        std::vector<float> y(rows * n, 9.0f);
        kernel(x.data(),
               layout == LLMK_LAYOUT_PANELS
                   ? static_cast<const void *>(panels.data())
                   : w.data(),
               dtype, layout, offsets.data(), y.data(), rows, k, n, experts);
        ASSERT_EQ(llmk_take_error(), nullptr);
        for (int64_t e = 0; e < experts; ++e)
          for (int64_t r = offsets[e]; r < offsets[e + 1]; ++r)
            for (int64_t j = 0; j < n; ++j) {
              double sum = 0, magnitude = 0;
              for (int64_t i = 0; i < k; ++i) {
                double p = double(x[r * k + i]) * w.values[(e * n + j) * k + i];
                sum += p;
                magnitude += std::fabs(p);
              }
              // bf16 panels from 2 rows may take the bf16 dot product, on
              // activations rounded to bf16 (LinearTest.Bf16DotAccuracy).
              const double tolerance =
                  dtype == LLMK_BF16 && layout == LLMK_LAYOUT_PANELS ? 0x1p-8
                                                                     : 1e-5;
              ASSERT_NEAR(y[r * n + j], sum, tolerance * magnitude + 1e-7)
                  << dtypeName(dtype) << " layout " << layout << " expert " << e
                  << " row " << r
                  << (kernel == llmk_grouped_gemv ? " (decode form)" : "");
            }
      }
    }
  std::vector<float> x(rows * k), y(rows * n, 1.0f), w(experts * n * k);
  for (auto *kernel : {llmk_grouped_matmul, llmk_grouped_gemv}) {
    const std::string name = kernel == llmk_grouped_gemv
                                 ? "llmk_grouped_gemv"
                                 : "llmk_grouped_matmul";
    std::vector<int32_t> bad = {0, 2, 1, 9, 9, 30, 31};
    kernel(x.data(), w.data(), LLMK_F32, LLMK_LAYOUT_ROWS, bad.data(), y.data(),
           rows, k, n, experts);
    const char *error = llmk_take_error();
    ASSERT_NE(error, nullptr);
    EXPECT_EQ(std::string(error),
              name + ": invalid weights, or offsets not nondecreasing from 0 "
                     "to at most the rows");
    EXPECT_EQ(y[0], 0.0f);
    bad = {0, 0, 1, 9, 9, 30, 32};
    kernel(x.data(), w.data(), LLMK_F32, LLMK_LAYOUT_ROWS, bad.data(), y.data(),
           rows, k, n, experts);
    ASSERT_NE(llmk_take_error(), nullptr);
  }
}

/// llmk_grouped_matmul_q: each expert's rows through llmk_linear_q on its
/// quantized matrix (one every quantExpertBytes), bit for bit; empty
/// experts skipped, rows past the offsets zero.
TEST_P(MoeTest, QuantizedGroupedMatmulIsLinearQPerExpert) {
  const int64_t k = 64, n = 40, experts = 4;
  const std::vector<int32_t> offsets = {0, 3, 3, 8, 9};
  const int64_t rows = 11; // two rows past offsets[experts]
  for (int bits : {8, 4}) {
    const int64_t stride = quantExpertBytes(n, k, bits, 32);
    std::vector<uint8_t> packed(experts * stride);
    for (int64_t e = 0; e < experts; ++e) {
      std::vector<float> w = randomFloats(n * k, 90 + uint32_t(e));
      quantizeWeight(w.data(), n, k, bits, 32, true,
                     packed.data() + e * stride);
    }
    std::vector<float> x = randomFloats(rows * k, 95);
    std::vector<float> y(rows * n, 3.0f), expected(rows * n, 0.0f);
    llmk_grouped_matmul_q(x.data(), packed.data(), bits, 32, offsets.data(),
                          y.data(), rows, k, n, experts);
    ASSERT_EQ(llmk_take_error(), nullptr);
    for (int64_t e = 0; e < experts; ++e) {
      const int64_t count = offsets[e + 1] - offsets[e];
      if (count)
        llmk_linear_q(x.data() + offsets[e] * k, packed.data() + e * stride,
                      bits, 32, 0, nullptr, expected.data() + offsets[e] * n,
                      count, k, n);
    }
    EXPECT_EQ(y, expected) << bits << " bits";
  }
  std::vector<float> x(rows * k), y(rows * n);
  std::vector<uint8_t> w(experts * quantExpertBytes(n, k, 4, 32));
  llmk_grouped_matmul_q(x.data(), w.data(), 4, 48, offsets.data(), y.data(),
                        rows, k, n, experts);
  ASSERT_NE(llmk_take_error(), nullptr);
  llmk_grouped_gemv_q(x.data(), w.data(), 4, 48, offsets.data(), y.data(), rows,
                      k, n, experts);
  ASSERT_NE(llmk_take_error(), nullptr);
}

/// Routing ties go to the lower expert; permutation groups copies by expert
/// in token order; an expert index out of range is an error.
TEST_P(MoeTest, RoutePermuteCombine) {
  // Token 0: experts 1 and 3 tie above the rest; token 1: expert 2 first.
  const std::vector<float> logits = {0.0f, 2.0f, 1.0f, 2.0f,
                                     0.5f, 0.0f, 3.0f, 0.5f};
  std::vector<float> weights(4);
  std::vector<int32_t> indices(4);
  llmk_moe_route(logits.data(), weights.data(), indices.data(), 2, 4, 2, 1);
  EXPECT_EQ(indices, (std::vector<int32_t>{1, 3, 2, 0}));
  EXPECT_FLOAT_EQ(weights[0], 0.5f);
  EXPECT_FLOAT_EQ(weights[1], 0.5f);
  EXPECT_FLOAT_EQ(weights[2] + weights[3], 1.0f);
  const std::vector<float> x = {1, 2, 3, 4};
  std::vector<float> permuted(8);
  std::vector<int32_t> offsets(5), sources(4);
  llmk_moe_permute(x.data(), indices.data(), permuted.data(), offsets.data(),
                   sources.data(), 2, 2, 4, 2, 0);
  EXPECT_EQ(offsets, (std::vector<int32_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(sources, (std::vector<int32_t>{3, 0, 2, 1}));
  EXPECT_EQ(permuted, (std::vector<float>{3, 4, 1, 2, 3, 4, 1, 2}));
  // Combine with the rows as they are: each token gets its own values back,
  // scaled by its weights' sum (1).
  std::vector<float> y(4);
  llmk_moe_combine(permuted.data(), weights.data(), sources.data(), y.data(), 2,
                   2, 2);
  for (int i = 0; i < 4; ++i)
    EXPECT_NEAR(y[i], x[i], 1e-6f) << i;
  ASSERT_EQ(llmk_take_error(), nullptr);
  indices[1] = 4;
  llmk_moe_permute(x.data(), indices.data(), permuted.data(), offsets.data(),
                   sources.data(), 2, 2, 4, 2, 0);
  const char *error = llmk_take_error();
  ASSERT_NE(error, nullptr);
  EXPECT_EQ(std::string(error),
            "llmk_moe_permute: an expert index outside [0, experts)");
}

/// A capacity of 2 rows per expert: 5 tokens all choosing expert 1 (and
/// one another): expert 1 keeps its first two copies in token order, the
/// rest are dropped (zero rows past offsets[experts], source -1), which the
/// grouped product leaves zero and the combine skips.
TEST_P(MoeTest, CapacityDropsLaterCopies) {
  const int64_t tokens = 5, hidden = 3, experts = 3, topK = 2;
  const std::vector<int32_t> indices = {1, 0, 1, 2, 1, 0, 1, 2, 1, 0};
  std::vector<float> x(tokens * hidden);
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = float(i + 1);
  const int64_t rows = tokens * topK;
  std::vector<float> permuted(rows * hidden, 7.0f);
  std::vector<int32_t> offsets(experts + 1), sources(rows);
  llmk_moe_permute(x.data(), indices.data(), permuted.data(), offsets.data(),
                   sources.data(), tokens, hidden, experts, topK, 2);
  ASSERT_EQ(llmk_take_error(), nullptr);
  EXPECT_EQ(offsets, (std::vector<int32_t>{0, 2, 4, 6}));
  // Expert 0: choices 1, 5; expert 1: 0, 2; expert 2: 3, 7; dropped: 4, 6,
  // 8, 9.
  EXPECT_EQ(sources, (std::vector<int32_t>{1, 5, 0, 2, 3, 7, -1, -1, -1, -1}));
  for (int64_t r = 6; r < rows; ++r)
    for (int64_t i = 0; i < hidden; ++i)
      EXPECT_EQ(permuted[r * hidden + i], 0.0f);
  // Identity experts (w = I): the combine gives each token the weights of
  // its kept choices times its own values.
  std::vector<float> w(experts * hidden * hidden, 0.0f);
  for (int64_t e = 0; e < experts; ++e)
    for (int64_t i = 0; i < hidden; ++i)
      w[(e * hidden + i) * hidden + i] = 1.0f;
  std::vector<float> y(rows * hidden, 5.0f), out(tokens * hidden);
  llmk_grouped_matmul(permuted.data(), w.data(), LLMK_F32, LLMK_LAYOUT_ROWS,
                      offsets.data(), y.data(), rows, hidden, hidden, experts);
  const std::vector<float> weights(rows, 0.5f);
  llmk_moe_combine(y.data(), weights.data(), sources.data(), out.data(), tokens,
                   hidden, topK);
  ASSERT_EQ(llmk_take_error(), nullptr);
  // Kept choices per token: t0 both (0, 1), t1 both (2, 3), t2 one (5),
  // t3 one (7), t4 none.
  const float kept[] = {1.0f, 1.0f, 0.5f, 0.5f, 0.0f};
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t i = 0; i < hidden; ++i)
      EXPECT_FLOAT_EQ(out[t * hidden + i], kept[t] * x[t * hidden + i])
          << t << ", " << i;
}

INSTANTIATE_TEST_SUITE_P(Isas, MoeTest, kIsaAndThreads, isaTestName);

TEST(SimdDispatchTest, HostDetectionAndCap) {
  Isa host = getHostIsa();
  setMaxIsa(Isa::Scalar);
  EXPECT_EQ(getSimdKernels().isa, Isa::Scalar);
  setMaxIsa(Isa::Avx512);
  EXPECT_EQ(getSimdKernels().isa, std::min(host, Isa::Avx512));
  // Only the table of the bf16 dot product has its GEMM tile.
  EXPECT_EQ(getSimdKernels().gemmPanelBf16, nullptr);
  setMaxIsa(Isa::Avx512Bf16);
  EXPECT_EQ(getSimdKernels().isa, host);
  EXPECT_STREQ(getSimdKernels().name, isaName(host));
  EXPECT_EQ(getSimdKernels().gemmPanelBf16 != nullptr, host == Isa::Avx512Bf16);
}

} // namespace
