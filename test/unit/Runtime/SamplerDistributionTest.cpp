//===- SamplerDistributionTest.cpp - What the sampler draws ---------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// The frequencies of many seeded draws from fixed logits against the
// probabilities that Sampler.h documents, computed here again from the
// definitions (transformers' processors, in the header's order: repetition
// penalty, temperature, top-k, top-p, min-p), with Pearson's chi-square test
// at p = 0.001. The seed is fixed, so a test gives the same statistic on
// every run and cannot flake; a wrong expectation (a filter in another
// order, an off-by-one at a boundary, a biased draw) moves the statistic far
// past the critical value at these sample sizes. Tokens that a filter
// excludes must never be drawn, whatever the statistic.
//
// The reference does not call the sampler's code, and it is written
// differently where it can be: top-p sorts ascending and drops the tokens
// whose cumulative probability is <= 1 - top_p, as transformers does, where
// the sampler walks down from the top.
//
//===----------------------------------------------------------------------===//

#include "Sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <set>
#include <string>
#include <vector>

using namespace llmrt;

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr double kPi = 3.14159265358979323846;

/// Draws per case: the expected count of the rarest candidate stays well
/// above 5 (where the chi-square approximation holds), and every case runs
/// in a few tens of milliseconds.
constexpr int64_t kDraws = 200000;

/// Filters are checked for boundaries closer than this: the sampler rounds
/// logits to float, so a case that close would test rounding, not the
/// filter.
constexpr double kBoundaryMargin = 1e-6;

/// Fourteen tokens with spread-out logits, no ties, and one -inf (token 7)
/// that no setting may ever draw.
const std::vector<float> kLogits = {1.2f, -0.4f, 2.5f,  0.3f,  -1.5f,
                                    0.9f, 1.9f,  -kInf, -0.8f, 0.0f,
                                    2.2f, -1.1f, 0.6f,  1.5f};

SamplerParams makeParams(double temperature, int64_t topK = 0,
                         double topP = 1.0, double minP = 0.0,
                         double penalty = 1.0, uint64_t seed = 0) {
  return sampler_params(temperature, topK, topP, minP, penalty, seed);
}

//===----------------------------------------------------------------------===//
// The reference distribution
//===----------------------------------------------------------------------===//

/// The logits after repetition penalty and temperature. Sampler.h rounds
/// both results to float (torch keeps float32 logits), so this does too.
std::vector<double> processedLogits(const std::vector<float> &logits,
                                    const std::vector<int64_t> &history,
                                    double penalty, double temperature) {
  std::vector<double> out(logits.begin(), logits.end());
  // Once per distinct token, however often it occurs.
  for (int64_t id : std::set<int64_t>(history.begin(), history.end())) {
    double l = out[id];
    out[id] = static_cast<float>(l < 0 ? l * penalty : l / penalty);
  }
  for (double &l : out)
    l = static_cast<float>(l / temperature);
  return out;
}

/// Softmax over the tokens in `keep`; 0 elsewhere.
std::vector<double> softmaxOver(const std::vector<double> &logits,
                                const std::vector<bool> &keep) {
  double max = -std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < logits.size(); ++i)
    if (keep[i])
      max = std::max(max, logits[i]);
  std::vector<double> probs(logits.size(), 0.0);
  double sum = 0;
  for (size_t i = 0; i < logits.size(); ++i)
    if (keep[i])
      sum += probs[i] = std::exp(logits[i] - max);
  for (double &p : probs)
    p /= sum;
  return probs;
}

/// TopKLogitsWarper: keep every token whose logit is >= the k-th largest.
void applyTopK(const std::vector<double> &logits, int64_t k,
               std::vector<bool> &keep) {
  if (k <= 0 || k >= static_cast<int64_t>(logits.size()))
    return;
  std::vector<double> sorted = logits;
  std::sort(sorted.begin(), sorted.end(), std::greater<double>());
  for (size_t i = 0; i < logits.size(); ++i)
    keep[i] = keep[i] && logits[i] >= sorted[k - 1];
}

/// TopPLogitsWarper: sort ascending (ties by id), drop the tokens whose
/// cumulative probability is <= 1 - top_p, keep the most probable one.
void applyTopP(const std::vector<double> &logits, double topP,
               std::vector<bool> &keep) {
  if (topP >= 1.0)
    return;
  std::vector<double> probs = softmaxOver(logits, keep);
  std::vector<size_t> order;
  for (size_t i = 0; i < logits.size(); ++i)
    if (keep[i])
      order.push_back(i);
  // torch's stable sort: ties in id order.
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return logits[a] < logits[b] || (logits[a] == logits[b] && a < b);
  });
  double cumulative = 0;
  for (size_t j = 0; j < order.size(); ++j) {
    cumulative += probs[order[j]];
    EXPECT_GT(std::fabs(cumulative - (1 - topP)), kBoundaryMargin)
        << "top_p " << topP << " is at a boundary of this case";
    if (cumulative <= 1 - topP && j + 1 < order.size())
      keep[order[j]] = false;
  }
}

/// MinPLogitsWarper: keep the tokens with probability >= min_p * the top's.
void applyMinP(const std::vector<double> &logits, double minP,
               std::vector<bool> &keep) {
  if (minP <= 0.0)
    return;
  std::vector<double> probs = softmaxOver(logits, keep);
  double top = *std::max_element(probs.begin(), probs.end());
  for (size_t i = 0; i < logits.size(); ++i) {
    if (!keep[i])
      continue;
    EXPECT_GT(std::fabs(probs[i] - minP * top), kBoundaryMargin * top)
        << "min_p " << minP << " is at a boundary of this case";
    keep[i] = probs[i] >= minP * top;
  }
}

enum class FilterOrder {
  /// Sampler.h's and transformers' order.
  TopKTopPMinP,
  /// Min-p before top-p: only to show that a case tells the orders apart.
  TopKMinPTopP,
};

/// The probability of each token under `params`, from the definitions.
std::vector<double>
expectedDistribution(const std::vector<float> &logits,
                     const SamplerParams &params,
                     const std::vector<int64_t> &history,
                     FilterOrder order = FilterOrder::TopKTopPMinP) {
  std::vector<double> l = processedLogits(
      logits, history, params.repetition_penalty, params.temperature);
  std::vector<bool> keep(l.size());
  for (size_t i = 0; i < l.size(); ++i)
    keep[i] = l[i] != -std::numeric_limits<double>::infinity();
  applyTopK(l, params.top_k, keep);
  if (order == FilterOrder::TopKTopPMinP) {
    applyTopP(l, params.top_p, keep);
    applyMinP(l, params.min_p, keep);
  } else {
    applyMinP(l, params.min_p, keep);
    applyTopP(l, params.top_p, keep);
  }
  return softmaxOver(l, keep);
}

std::set<int64_t> support(const std::vector<double> &probs) {
  std::set<int64_t> ids;
  for (size_t i = 0; i < probs.size(); ++i)
    if (probs[i] > 0)
      ids.insert(i);
  return ids;
}

//===----------------------------------------------------------------------===//
// Chi-square
//===----------------------------------------------------------------------===//

/// P(X > x) for X chi-square with `df` degrees of freedom, in closed form
/// for integer df (a finite Poisson sum for even df, erfc plus a finite sum
/// for odd df), so the critical values need no table and no approximation.
double chiSquareSurvival(double x, int df) {
  double half = x / 2;
  if (df % 2 == 0) {
    double term = 1, sum = 1;
    for (int i = 1; i < df / 2; ++i)
      sum += term *= half / i;
    return std::exp(-half) * sum;
  }
  double sum = std::erfc(std::sqrt(half));
  double term = std::sqrt(2 * x / kPi) * std::exp(-half);
  for (int i = 1; i <= (df - 1) / 2; ++i) {
    sum += term;
    term *= x / (2 * i + 1);
  }
  return sum;
}

/// The x with P(X > x) = p, by bisection (the survival is decreasing).
double chiSquareCritical(int df, double p) {
  double lo = 0, hi = 1000;
  for (int i = 0; i < 200; ++i) {
    double mid = (lo + hi) / 2;
    (chiSquareSurvival(mid, df) > p ? lo : hi) = mid;
  }
  return lo;
}

/// Draws `kDraws` tokens with `params` (seeded by params.seed) and the same
/// history each time, and checks them against `expected`: no token with
/// probability 0 is ever drawn, and Pearson's statistic over the others is
/// below the critical value at p = 0.001.
void expectDrawsMatch(const SamplerParams &params,
                      const std::vector<float> &logits,
                      const std::vector<int64_t> &history,
                      const std::vector<double> &expected) {
  const int64_t vocab = logits.size();
  Sampler sampler(params);

  // The distribution the sampler reports agrees with the reference to
  // rounding; the draws are checked separately below.
  std::vector<TokenProb> reported;
  EXPECT_TRUE(sampler.distribution(logits.data(), vocab, history, reported))
      << sampler.error();
  std::vector<double> reportedProbs(vocab, 0.0);
  for (const TokenProb &tp : reported)
    reportedProbs[tp.id] = tp.prob;
  for (int64_t i = 0; i < vocab; ++i)
    EXPECT_NEAR(reportedProbs[i], expected[i], 1e-6) << "token " << i;

  Rng rng(params.seed);
  std::vector<int64_t> counts(vocab, 0);
  for (int64_t n = 0; n < kDraws; ++n) {
    int64_t id = sampler.sample(logits.data(), vocab, history, rng);
    if (id < 0 || id >= vocab) {
      ADD_FAILURE() << "sample returned " << id << ": " << sampler.error();
      return;
    }
    ++counts[id];
  }

  double chi2 = 0;
  int cells = 0;
  for (int64_t i = 0; i < vocab; ++i) {
    if (expected[i] == 0) {
      EXPECT_EQ(counts[i], 0) << "token " << i << " is excluded but drawn";
      continue;
    }
    double e = expected[i] * kDraws;
    EXPECT_GE(e, 5.0) << "token " << i
                      << ": too rare for the chi-square approximation";
    chi2 += (counts[i] - e) * (counts[i] - e) / e;
    ++cells;
  }
  // One candidate is drawn every time: nothing to test but the exclusions.
  if (cells < 2)
    return;
  int df = cells - 1;
  double critical = chiSquareCritical(df, 0.001);
  EXPECT_LT(chi2, critical)
      << "df " << df << ", " << describe_sampler_params(params);
  // In the XML report (--gtest_output=xml), one property per case.
  std::string key = "chi2 " + describe_sampler_params(params);
  for (char &c : key)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.')
      c = '_';
  ::testing::Test::RecordProperty(key, std::to_string(chi2) + " (df " +
                                           std::to_string(df) + ", critical " +
                                           std::to_string(critical) + ")");
}

TEST(SamplerDistribution, ChiSquareCriticalValues) {
  // Published p = 0.001 critical values (e.g. NIST/SEMATECH e-Handbook,
  // table 1.3.6.7.4), to three decimals.
  EXPECT_NEAR(chiSquareCritical(1, 0.001), 10.828, 1e-3);
  EXPECT_NEAR(chiSquareCritical(2, 0.001), 13.816, 1e-3);
  EXPECT_NEAR(chiSquareCritical(5, 0.001), 20.515, 1e-3);
  EXPECT_NEAR(chiSquareCritical(6, 0.001), 22.458, 1e-3);
  EXPECT_NEAR(chiSquareCritical(9, 0.001), 27.877, 1e-3);
  EXPECT_NEAR(chiSquareCritical(12, 0.001), 32.909, 1e-3);
}

//===----------------------------------------------------------------------===//
// One setting at a time
//===----------------------------------------------------------------------===//

TEST(SamplerDistribution, Temperature) {
  for (double t : {0.5, 1.0, 2.0}) {
    SCOPED_TRACE("temperature " + format_number(t));
    SamplerParams params = makeParams(t, 0, 1, 0, 1, 11);
    std::vector<double> expected = expectedDistribution(kLogits, params, {});
    // Only the -inf token is excluded.
    EXPECT_EQ(support(expected).size(), kLogits.size() - 1);
    expectDrawsMatch(params, kLogits, {}, expected);
  }
}

TEST(SamplerDistribution, TopK) {
  for (int64_t k : {1, 5}) {
    SCOPED_TRACE("top_k " + std::to_string(k));
    SamplerParams params = makeParams(1.0, k, 1, 0, 1, 12);
    std::vector<double> expected = expectedDistribution(kLogits, params, {});
    EXPECT_EQ(support(expected).size(), static_cast<size_t>(k));
    expectDrawsMatch(params, kLogits, {}, expected);
  }
}

TEST(SamplerDistribution, TopP) {
  // 0.6: three tokens; 0.9: seven.
  for (double p : {0.6, 0.9}) {
    SCOPED_TRACE("top_p " + format_number(p));
    SamplerParams params = makeParams(1.0, 0, p, 0, 1, 13);
    std::vector<double> expected = expectedDistribution(kLogits, params, {});
    EXPECT_LT(support(expected).size(), kLogits.size() - 1);
    expectDrawsMatch(params, kLogits, {}, expected);
  }
}

TEST(SamplerDistribution, MinP) {
  // 0.05: ten tokens; 0.2: six.
  for (double m : {0.05, 0.2}) {
    SCOPED_TRACE("min_p " + format_number(m));
    SamplerParams params = makeParams(1.0, 0, 1, m, 1, 14);
    std::vector<double> expected = expectedDistribution(kLogits, params, {});
    EXPECT_LT(support(expected).size(), kLogits.size() - 1);
    expectDrawsMatch(params, kLogits, {}, expected);
  }
}

TEST(SamplerDistribution, RepetitionPenalty) {
  // Positive (2, 10), negative (4, twice; 11), zero (9) and -inf (7) logits;
  // a penalty below 1 rewards the same tokens instead.
  std::vector<int64_t> history = {2, 4, 4, 10, 11, 9, 7};
  for (double penalty : {1.8, 0.6}) {
    SCOPED_TRACE("repetition_penalty " + format_number(penalty));
    SamplerParams params = makeParams(1.0, 0, 1, 0, penalty, 15);
    std::vector<double> expected =
        expectedDistribution(kLogits, params, history);
    std::vector<double> unpenalized =
        expectedDistribution(kLogits, makeParams(1.0), {});
    // Against token 0, which is not in the history, a penalty > 1 makes a
    // token less likely whatever the sign of its logit, and one < 1 more.
    for (int64_t id : {2, 4}) {
      double ratio = expected[id] / expected[0];
      double before = unpenalized[id] / unpenalized[0];
      if (penalty > 1)
        EXPECT_LT(ratio, before) << "token " << id;
      else
        EXPECT_GT(ratio, before) << "token " << id;
    }
    EXPECT_EQ(support(expected).size(), kLogits.size() - 1);
    expectDrawsMatch(params, kLogits, history, expected);
  }
}

//===----------------------------------------------------------------------===//
// Every setting at once
//===----------------------------------------------------------------------===//

TEST(SamplerDistribution, AllFiltersTogether) {
  // Chosen so that every step matters: the penalty changes which tokens
  // survive, top-k drops 4 finite tokens, top-p 1 more and min-p 1 more, and
  // min-p before top-p would give another set (so the order is tested too).
  std::vector<int64_t> history = {2, 1, 6, 1};
  SamplerParams params = makeParams(1.5, 9, 0.9, 0.3, 1.5, 16);
  std::vector<double> expected = expectedDistribution(kLogits, params, history);
  EXPECT_EQ(support(expected), (std::set<int64_t>{0, 2, 5, 6, 10, 12, 13}));

  SamplerParams noPenalty = params;
  noPenalty.repetition_penalty = 1.0;
  EXPECT_NE(support(expectedDistribution(kLogits, noPenalty, history)),
            support(expected));
  SamplerParams topKOnly = makeParams(1.5, 9, 1.0, 0.0, 1.5);
  EXPECT_EQ(support(expectedDistribution(kLogits, topKOnly, history)).size(),
            9u);
  SamplerParams noMinP = params;
  noMinP.min_p = 0;
  EXPECT_EQ(support(expectedDistribution(kLogits, noMinP, history)).size(), 8u);
  EXPECT_NE(support(expectedDistribution(kLogits, params, history,
                                         FilterOrder::TopKMinPTopP)),
            support(expected));

  expectDrawsMatch(params, kLogits, history, expected);
}

} // namespace
