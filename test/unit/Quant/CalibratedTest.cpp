//===- CalibratedTest.cpp - GPTQ and AWQ numerics -------------------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// The statistics of a projection's inputs against direct sums, round to
// nearest against the runtime's packed weights (byte for byte, through
// llmk::packQuantized), GPTQ against round to nearest (equal where the
// Hessian is diagonal, far better where the inputs are correlated), and
// AWQ's scale and clipping searches never worse than round to nearest by
// their own measure, and better where one input feature dominates.
//
//===----------------------------------------------------------------------===//

#include "llm/Quant/Calibrated.h"

#include "Quant.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

using namespace llmq;

namespace {

std::vector<float> randomFloats(int64_t count, uint32_t seed, float scale) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> values(count);
  for (float &v : values)
    v = dist(rng);
  return values;
}

/// Inputs [rows, k] whose features are strongly correlated: each is a mix
/// of a few shared factors plus a little noise of its own.
std::vector<float> correlatedInputs(int64_t rows, int64_t k, uint32_t seed) {
  constexpr int64_t kFactors = 4;
  std::vector<float> mixing = randomFloats(kFactors * k, seed, 1.0f);
  std::vector<float> factors = randomFloats(rows * kFactors, seed + 1, 1.0f);
  std::vector<float> noise = randomFloats(rows * k, seed + 2, 0.05f);
  std::vector<float> x(rows * k);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < k; ++i) {
      float v = noise[r * k + i];
      for (int64_t f = 0; f < kFactors; ++f)
        v += factors[r * kFactors + f] * mixing[f * k + i];
      x[r * k + i] = v;
    }
  return x;
}

double rtnError(const std::vector<float> &w, int64_t n, int64_t k,
                const InputStatistics &stats, const Scheme &scheme) {
  std::vector<float> back =
      dequantize(quantizeRTN(w.data(), n, k, scheme), n, k, scheme);
  return outputError(w.data(), back.data(), n, k, stats);
}

TEST(CalibratedTest, StatisticsSumTheInputs) {
  const int64_t k = 40, rows = 13;
  std::vector<float> x = randomFloats(rows * k, 1, 1.0f);
  InputStatistics stats(k);
  stats.add(x.data(), 5);
  stats.add(x.data() + 5 * k, rows - 5);
  ASSERT_EQ(stats.getRows(), rows);
  std::vector<double> mean = stats.getMeanMagnitude();
  for (int64_t i = 0; i < k; ++i) {
    double abs = 0;
    for (int64_t r = 0; r < rows; ++r)
      abs += std::fabs(x[r * k + i]);
    EXPECT_NEAR(mean[i], abs / rows, 1e-6);
    for (int64_t j = 0; j < k; ++j) {
      double sum = 0;
      for (int64_t r = 0; r < rows; ++r)
        sum += static_cast<double>(x[r * k + i]) * x[r * k + j];
      EXPECT_NEAR(stats.getGram()[i * k + j], sum, 1e-4 * (1 + std::fabs(sum)));
    }
  }
  // Divided inputs: x_i / d_i.
  std::vector<float> divisors(k);
  for (int64_t i = 0; i < k; ++i)
    divisors[i] = 0.5f + 0.1f * static_cast<float>(i);
  InputStatistics divided = stats.dividedBy(divisors);
  EXPECT_EQ(divided.getRows(), rows);
  double expected =
      stats.getGram()[3 * k + 7] / (double(divisors[3]) * divisors[7]);
  EXPECT_NEAR(divided.getGram()[3 * k + 7], expected,
              1e-12 * std::fabs(expected));
  EXPECT_NEAR(divided.getMeanMagnitude()[5], mean[5] / divisors[5], 1e-9);
}

/// quantizeRTN's codes and grids, packed, are the runtime's own
/// quantization byte for byte (the values GPTQ starts from, and the grids
/// AWQ's search measures).
TEST(CalibratedTest, RoundToNearestIsTheRuntimes) {
  const int64_t n = 7, k = 96;
  std::vector<float> w = randomFloats(n * k, 2, 0.3f);
  for (int bits : {8, 4})
    for (int64_t group : {int64_t(0), int64_t(32)})
      for (bool symmetric : {true, false}) {
        Scheme scheme{bits, group, symmetric};
        QuantizedMatrix q = quantizeRTN(w.data(), n, k, scheme);
        std::vector<llmk::QuantGrid> grids(q.scales.size());
        for (size_t i = 0; i < grids.size(); ++i) {
          grids[i].scale = q.scales[i];
          grids[i].offset = q.offsets[i];
        }
        int64_t bytes = llmk::quantPackedBytes(n, k, bits, group, true);
        std::vector<uint8_t> ours(bytes), runtime(bytes);
        llmk::packQuantized(q.codes.data(), grids.data(), n, k, bits, group,
                            ours.data(), true);
        llmk::quantizeWeight(w.data(), n, k, bits, group, symmetric,
                             runtime.data(), true);
        EXPECT_EQ(ours, runtime) << bits << " bits, group " << group
                                 << (symmetric ? ", symmetric" : "");
        // And dequantize agrees with the kernels' reading of the packing.
        std::vector<float> back = dequantize(q, n, k, scheme);
        std::vector<float> row(k);
        llmk::dequantize(runtime.data(), n, k, bits, group, 3, 0, k,
                         row.data());
        for (int64_t i = 0; i < k; ++i)
          EXPECT_FLOAT_EQ(back[3 * k + i], row[i]);
      }
}

/// With a diagonal Hessian no rounding error spreads: GPTQ rounds to
/// nearest.
TEST(CalibratedTest, GPTQOnUncorrelatedInputsRoundsToNearest) {
  const int64_t n = 6, k = 64;
  std::vector<float> w = randomFloats(n * k, 3, 0.2f);
  // Rows of the identity scaled: X^T X is diagonal.
  std::vector<float> x(k * k, 0.0f);
  for (int64_t i = 0; i < k; ++i)
    x[i * k + i] = 1.0f + 0.01f * static_cast<float>(i);
  InputStatistics stats(k);
  stats.add(x.data(), k);
  for (bool actOrder : {false, true}) {
    GPTQOptions options;
    options.actOrder = actOrder;
    Scheme scheme{4, 32, false};
    QuantizedMatrix gptq = quantizeGPTQ(w.data(), n, k, stats, scheme, options);
    QuantizedMatrix rtn = quantizeRTN(w.data(), n, k, scheme);
    EXPECT_EQ(gptq.codes, rtn.codes) << "act-order " << actOrder;
    EXPECT_EQ(gptq.scales, rtn.scales);
    EXPECT_EQ(gptq.offsets, rtn.offsets);
  }
}

/// On correlated inputs, GPTQ's output error is a fraction of rounding to
/// nearest's, in every scheme, in order and with act-order, and its codes
/// stay on the grids.
TEST(CalibratedTest, GPTQBeatsRoundToNearest) {
  const int64_t n = 24, k = 160, rows = 400;
  std::vector<float> w = randomFloats(n * k, 4, 0.1f);
  std::vector<float> x = correlatedInputs(rows, k, 5);
  InputStatistics stats(k);
  stats.add(x.data(), rows);
  for (int bits : {4, 8})
    for (int64_t group : {int64_t(0), int64_t(32)})
      for (bool symmetric : {true, false})
        for (bool actOrder : {false, true}) {
          Scheme scheme{bits, group, symmetric};
          GPTQOptions options;
          options.actOrder = actOrder;
          options.blockSize = 48; // batches that do not divide k
          std::string note;
          QuantizedMatrix q =
              quantizeGPTQ(w.data(), n, k, stats, scheme, options, &note);
          EXPECT_EQ(note, "");
          std::vector<float> back = dequantize(q, n, k, scheme);
          double gptq = outputError(w.data(), back.data(), n, k, stats);
          double rtn = rtnError(w, n, k, stats, scheme);
          EXPECT_LT(gptq, 0.5 * rtn) << bits << " bits, group " << group
                                     << (symmetric ? ", symmetric" : "")
                                     << (actOrder ? ", act-order" : "");
          int lo = bits == 8 ? (symmetric ? -127 : -128) : 0;
          int hi = bits == 8 ? 127 : 15;
          for (int8_t c : q.codes)
            ASSERT_TRUE(c >= lo && c <= hi) << int(c);
        }
}

/// A feature no input used is zeroed; a singular Hessian (fewer inputs
/// than features) is damped, not refused.
TEST(CalibratedTest, GPTQDeadFeaturesAndSingularHessians) {
  const int64_t n = 4, k = 64, rows = 8;
  std::vector<float> w = randomFloats(n * k, 6, 0.1f);
  std::vector<float> x = correlatedInputs(rows, k, 7);
  for (int64_t r = 0; r < rows; ++r)
    x[r * k + 10] = 0.0f;
  InputStatistics stats(k);
  stats.add(x.data(), rows);
  Scheme scheme{8, 0, true};
  QuantizedMatrix q = quantizeGPTQ(w.data(), n, k, stats, scheme, {});
  for (int64_t r = 0; r < n; ++r)
    EXPECT_EQ(q.codes[r * k + 10], 0);
  std::vector<float> back = dequantize(q, n, k, scheme);
  EXPECT_LE(outputError(w.data(), back.data(), n, k, stats),
            rtnError(w, n, k, stats, scheme));
}

/// When one input feature is far larger than the others, AWQ scales it up
/// (its weights lose less to rounding) and the output error falls; its
/// measure never exceeds rounding to nearest's.
TEST(CalibratedTest, AWQScalesTheSalientFeature) {
  const int64_t n = 32, k = 64, rows = 256;
  std::vector<float> w1 = randomFloats(n * k, 8, 0.1f);
  std::vector<float> w2 = randomFloats(n * k, 9, 0.1f);
  std::vector<float> x = randomFloats(rows * k, 10, 1.0f);
  for (int64_t r = 0; r < rows; ++r)
    x[r * k + 17] *= 40.0f;
  InputStatistics stats(k);
  stats.add(x.data(), rows);
  Scheme scheme{4, 0, false};
  AWQResult found =
      searchAWQScales({{w1.data(), n}, {w2.data(), n}}, k, stats, scheme);
  EXPECT_GE(found.ratio, 0.0);
  EXPECT_LT(found.errorAfter, 0.8 * found.errorBefore);
  for (int64_t i = 0; i < k; ++i)
    if (i != 17)
      EXPECT_GT(found.scales[17], found.scales[i]);
  // errorBefore is rounding to nearest's.
  EXPECT_NEAR(found.errorBefore,
              rtnError(w1, n, k, stats, scheme) +
                  rtnError(w2, n, k, stats, scheme),
              1e-6 * found.errorBefore);
  // Uniform inputs and weights leave nothing to gain: never worse.
  std::vector<float> plain = randomFloats(rows * k, 11, 1.0f);
  InputStatistics flat(k);
  flat.add(plain.data(), rows);
  AWQResult none = searchAWQScales({{w1.data(), n}}, k, flat, scheme);
  EXPECT_LE(none.errorAfter, none.errorBefore);
}

/// The clipping search only shrinks weights, by at most the last ratio,
/// and lowers (never raises) each group's error.
TEST(CalibratedTest, AWQClippingShrinksAndNeverHurts) {
  const int64_t n = 16, k = 64, rows = 128;
  std::vector<float> w = randomFloats(n * k, 12, 0.1f);
  // Outliers that stretch their rows' grids.
  for (int64_t r = 0; r < n; r += 3)
    w[r * k + (r % k)] = 0.9f;
  std::vector<float> x = correlatedInputs(rows, k, 13);
  InputStatistics stats(k);
  stats.add(x.data(), rows);
  for (int64_t group : {int64_t(0), int64_t(32)})
    for (bool symmetric : {true, false}) {
      Scheme scheme{4, group, symmetric};
      std::vector<float> clipped = w;
      auto [before, after] =
          clipAWQ(clipped.data(), n, k, stats, scheme, /*steps=*/10);
      EXPECT_LT(after, before);
      // One group per row: the groups' own errors are the whole error.
      if (group == 0)
        EXPECT_NEAR(before, rtnError(w, n, k, stats, scheme), 1e-6 * before);
      // Clamped to at least 1 - 0.025 * 9 of the group's range, same sign.
      for (int64_t e = 0; e < n * k; ++e) {
        EXPECT_LE(std::fabs(clipped[e]), std::fabs(w[e]) + 1e-7f);
        EXPECT_GE(std::fabs(clipped[e]), 0.775f * std::fabs(w[e]) - 1e-7f);
        EXPECT_GE(clipped[e] * w[e], 0.0f);
      }
    }
}

} // namespace
