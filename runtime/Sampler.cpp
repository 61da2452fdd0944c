//===- Sampler.cpp - Next-token sampling and stop criteria ----------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// See Sampler.h for the semantics; the order of the steps is that of the
// `llm.sample` op.
//
//===----------------------------------------------------------------------===//

#include "Sampler.h"
#include "Common.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>

namespace llmrt {

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
constexpr float kPosInf = std::numeric_limits<float>::infinity();

uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

} // namespace

//===----------------------------------------------------------------------===//
// Parameters
//===----------------------------------------------------------------------===//

SamplerParams sampler_default_params() { return SamplerParams(); }

SamplerParams sampler_params(double temperature, int64_t top_k, double top_p,
                             double min_p, double repetition_penalty,
                             uint64_t seed) {
  SamplerParams p;
  p.temperature = temperature;
  p.top_k = top_k;
  p.top_p = top_p;
  p.min_p = min_p;
  p.repetition_penalty = repetition_penalty;
  p.seed = seed;
  return p;
}

std::string format_number(double value) {
  if (std::isnan(value))
    return "nan";
  if (std::isinf(value))
    return value > 0 ? "inf" : "-inf";
  char buffer[40];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buffer, sizeof(buffer), "%.*g", precision, value);
    if (std::strtod(buffer, nullptr) == value)
      break;
  }
  return buffer;
}

std::string describe_sampler_params(const SamplerParams &p) {
  std::string penalty =
      "repetition-penalty " + format_number(p.repetition_penalty);
  if (p.temperature == 0.0)
    return p.repetition_penalty == 1.0 ? "greedy" : "greedy, " + penalty;
  return "temperature " + format_number(p.temperature) + ", top-k " +
         std::to_string(p.top_k) + ", top-p " + format_number(p.top_p) +
         ", min-p " + format_number(p.min_p) + ", " + penalty + ", seed " +
         std::to_string(p.seed);
}

std::string SamplerParamError::message() const {
  return param + ": expected " + expected + ", found " + found;
}

bool check_sampler_params(const SamplerParams &params,
                          SamplerParamError *error) {
  auto fail = [&](const char *param, const char *expected, std::string found) {
    if (error)
      *error = SamplerParamError{param, expected, std::move(found)};
    return false;
  };
  // Written so that NaN fails every comparison.
  double t = params.temperature;
  if (!(t >= 0) || std::isinf(t))
    return fail("temperature", "a finite value >= 0", format_number(t));
  if (params.top_k < 0)
    return fail("top_k", "a value >= 0", std::to_string(params.top_k));
  double p = params.top_p;
  if (!(p > 0 && p <= 1))
    return fail("top_p", "a value in (0, 1]", format_number(p));
  double m = params.min_p;
  if (!(m >= 0 && m <= 1))
    return fail("min_p", "a value in [0, 1]", format_number(m));
  double r = params.repetition_penalty;
  if (!(r > 0) || std::isinf(r))
    return fail("repetition_penalty", "a finite value > 0", format_number(r));
  return true;
}

std::string validate_sampler_params(const SamplerParams &params) {
  SamplerParamError error;
  if (check_sampler_params(params, &error))
    return std::string();
  return error.message();
}

//===----------------------------------------------------------------------===//
// Rng
//===----------------------------------------------------------------------===//

uint64_t splitmix64(uint64_t &state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

Rng::Rng(uint64_t seed) {
  uint64_t state = seed;
  for (uint64_t &s : s_)
    s = splitmix64(state);
}

uint64_t Rng::next() {
  uint64_t result = rotl(s_[1] * 5, 7) * 9;
  uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Rng::uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

void Rng::getState(uint64_t state[4]) const { std::copy(s_, s_ + 4, state); }

void Rng::setState(const uint64_t state[4]) { std::copy(state, state + 4, s_); }

//===----------------------------------------------------------------------===//
// Sampler
//===----------------------------------------------------------------------===//

void apply_repetition_penalty(float *logits, int64_t vocab, TokenSpan prev,
                              double penalty) {
  // transformers gathers the logits of the previous tokens, transforms them
  // and scatters them back, so a repeated token is penalized once.
  std::vector<int64_t> ids(prev.begin(), prev.end());
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  for (int64_t id : ids) {
    if (id < 0 || id >= vocab)
      continue;
    double logit = logits[id];
    logits[id] =
        static_cast<float>(logit < 0 ? logit * penalty : logit / penalty);
  }
}

Sampler::Sampler(const SamplerParams &params)
    : params_(params), paramsError_(validate_sampler_params(params)) {}

bool Sampler::prepare(const float *logits, int64_t vocab, TokenSpan prev) {
  error_.clear();
  cands_.clear();
  weights_.clear();
  total_ = 0;
  if (!paramsError_.empty()) {
    error_ = paramsError_;
    return false;
  }
  if (!logits) {
    error_ = "logits: expected a non-null pointer";
    return false;
  }
  if (vocab <= 0) {
    error_ = "vocab: expected a value > 0, found " + std::to_string(vocab);
    return false;
  }
  for (size_t i = 0; i < prev.size(); ++i) {
    if (prev[i] < 0 || prev[i] >= vocab) {
      error_ = "previous tokens: token id " + std::to_string(prev[i]) +
               " (at position " + std::to_string(i) +
               ") is outside the vocabulary [0, " + std::to_string(vocab) + ")";
      return false;
    }
  }
  for (int64_t i = 0; i < vocab; ++i) {
    if (std::isnan(logits[i])) {
      error_ = "logits: the logit of token " + std::to_string(i) + " is NaN";
      return false;
    }
  }

  // 1. Repetition penalty, on a copy.
  const float *row = logits;
  if (params_.repetition_penalty != 1.0 && !prev.empty()) {
    work_.assign(logits, logits + vocab);
    apply_repetition_penalty(work_.data(), vocab, prev,
                             params_.repetition_penalty);
    row = work_.data();
  }

  // 2. Greedy: the first maximum, as torch.argmax.
  if (isGreedy()) {
    int64_t best = 0;
    for (int64_t i = 1; i < vocab; ++i)
      if (row[i] > row[best])
        best = i;
    cands_.push_back(best);
    weights_.push_back(1.0);
    total_ = 1.0;
    return true;
  }

  // 2'. Temperature.
  if (params_.temperature != 1.0) {
    if (row != work_.data())
      work_.assign(logits, logits + vocab);
    double t = params_.temperature;
    bool overflow = false;
    for (int64_t i = 0; i < vocab; ++i) {
      float scaled = static_cast<float>(work_[i] / t);
      overflow |= std::isinf(scaled) && std::isfinite(work_[i]);
      scratch_.resize(vocab);
      scratch_[i] = work_[i];
      work_[i] = scaled;
    }
    // A temperature so small (1e-39) that logits / temperature leave float's
    // range would turn the tokens above 0 into a tie of +inf and sample them
    // uniformly. Scaled relative to the largest logit nothing overflows, and
    // the distribution is the limit it tends to: the maximum's.
    if (overflow) {
      float max = kNegInf;
      for (int64_t i = 0; i < vocab; ++i)
        if (std::isfinite(scratch_[i]))
          max = std::max(max, scratch_[i]);
      for (int64_t i = 0; i < vocab; ++i)
        work_[i] =
            static_cast<float>((static_cast<double>(scratch_[i]) - max) / t);
    }
    row = work_.data();
  }

  // 3. Top-k: the k-th largest logit by selection, O(vocab); every token at
  // or above it stays. -inf tokens have probability 0 and are dropped here.
  int64_t k = params_.top_k;
  bool topK = k > 0 && k < vocab;
  if (topK) {
    scratch_.assign(row, row + vocab);
    std::nth_element(scratch_.begin(), scratch_.begin() + (k - 1),
                     scratch_.end(), std::greater<float>());
    float kth = scratch_[k - 1];
    for (int64_t i = 0; i < vocab; ++i)
      if (row[i] >= kth && row[i] != kNegInf)
        cands_.push_back(i);
  } else {
    for (int64_t i = 0; i < vocab; ++i)
      if (row[i] != kNegInf)
        cands_.push_back(i);
  }
  if (cands_.empty()) {
    error_ = "logits: every logit is -inf, there is no token to sample";
    return false;
  }

  float maxLogit = kNegInf;
  for (int64_t id : cands_)
    maxLogit = std::max(maxLogit, row[id]);
  // exp(l - max); the limit of the softmax when the maximum is +inf.
  auto weight = [maxLogit](float logit) -> double {
    if (maxLogit == kPosInf)
      return logit == kPosInf ? 1.0 : 0.0;
    return std::exp(static_cast<double>(logit) - maxLogit);
  };

  // 4. Top-p. transformers sorts ascending (a stable sort) and drops the
  // tokens whose cumulative probability is <= 1 - top_p: in descending
  // order (ties: higher id first, the reverse of the stable ascending
  // order) a token stays while the mass of the tokens before it is below
  // top_p. With top-k the candidates are few and sorted at once; otherwise
  // the sorted prefix grows (selection, then a sort of the selected)
  // until the nucleus is complete.
  if (params_.top_p < 1.0) {
    double sum = 0;
    for (int64_t id : cands_)
      sum += weight(row[id]);
    auto before = [row](int64_t a, int64_t b) {
      return row[a] > row[b] || (row[a] == row[b] && a > b);
    };
    size_t n = cands_.size();
    size_t sorted = 0;
    size_t end = topK ? n : std::min<size_t>(n, 256);
    size_t keep = n;
    double above = 0;
    bool done = false;
    while (!done) {
      // `before` is a total order, so the result does not depend on the
      // standard library's algorithms. A heap (partial_sort) is fastest for
      // a short prefix, selection then sorting for a long one.
      if (16 * (end - sorted) < n - sorted) {
        std::partial_sort(cands_.begin() + sorted, cands_.begin() + end,
                          cands_.end(), before);
      } else {
        if (end < n)
          std::nth_element(cands_.begin() + sorted, cands_.begin() + end,
                           cands_.end(), before);
        std::sort(cands_.begin() + sorted, cands_.begin() + end, before);
      }
      for (size_t j = sorted; j < end; ++j) {
        if (j > 0 && above / sum >= params_.top_p) {
          keep = j;
          done = true;
          break;
        }
        above += weight(row[cands_[j]]);
      }
      sorted = end;
      if (end == n)
        done = true;
      end = std::min(n, end * 4);
    }
    cands_.resize(keep);
  }

  // 5. Min-p: p_i >= min_p * p_max, i.e. exp(l_i - l_max) >= min_p. The
  // most probable token survives top-p, so maxLogit still holds.
  if (params_.min_p > 0.0) {
    double minP = params_.min_p;
    cands_.erase(
        std::remove_if(cands_.begin(), cands_.end(),
                       [&](int64_t id) { return weight(row[id]) < minP; }),
        cands_.end());
  }

  // 6. Unnormalized probabilities of what is left; tokens whose probability
  // underflows to 0 (or is 0 beside a +inf logit) cannot be drawn.
  weights_.reserve(cands_.size());
  size_t kept = 0;
  for (int64_t id : cands_) {
    double w = weight(row[id]);
    if (!(w > 0))
      continue;
    cands_[kept++] = id;
    weights_.push_back(w);
    total_ += w;
  }
  cands_.resize(kept);
  return true;
}

int64_t Sampler::sample(const float *logits, int64_t vocab, TokenSpan prev,
                        Rng &rng) {
  if (!prepare(logits, vocab, prev))
    return -1;
  if (isGreedy())
    return cands_[0];
  double u = rng.uniform() * total_;
  double acc = 0;
  for (size_t j = 0; j < cands_.size(); ++j) {
    acc += weights_[j];
    if (u < acc)
      return cands_[j];
  }
  // Rounding left u at or past the sum: the last token that can be drawn.
  for (size_t j = cands_.size(); j-- > 0;)
    if (weights_[j] > 0)
      return cands_[j];
  return cands_[0];
}

bool Sampler::distribution(const float *logits, int64_t vocab, TokenSpan prev,
                           std::vector<TokenProb> &out) {
  out.clear();
  if (!prepare(logits, vocab, prev))
    return false;
  out.reserve(cands_.size());
  for (size_t j = 0; j < cands_.size(); ++j)
    out.push_back(TokenProb{cands_[j], weights_[j] / total_});
  return true;
}

//===----------------------------------------------------------------------===//
// StopCriteria
//===----------------------------------------------------------------------===//

StopReason StopCriteria::check(int64_t last, int64_t num_generated) const {
  if (std::find(stop_token_ids.begin(), stop_token_ids.end(), last) !=
      stop_token_ids.end())
    return StopReason::StopToken;
  if (max_new_tokens > 0 && num_generated >= max_new_tokens)
    return StopReason::MaxLength;
  return StopReason::None;
}

const char *stop_reason_name(StopReason reason) {
  switch (reason) {
  case StopReason::None:
    return "none";
  case StopReason::StopToken:
    return "stop token";
  case StopReason::MaxLength:
    return "max length";
  }
  return "unknown";
}

} // namespace llmrt

extern "C" void llmrt_sample(const float *logits, int64_t batch, int64_t vocab,
                             const void *prev, int64_t prevLen,
                             int32_t prevBytes, void *out, int32_t outBytes,
                             double temperature, int64_t topK, double topP,
                             double minP, double repetitionPenalty,
                             uint64_t seed, uint64_t *state) {
  auto store = [&](int64_t row, int64_t id) {
    if (outBytes == 4)
      static_cast<int32_t *>(out)[row] = static_cast<int32_t>(id);
    else
      static_cast<int64_t *>(out)[row] = id;
  };
  if (!logits || !out || !state || batch < 0 || vocab <= 0 || prevLen < 0 ||
      (outBytes != 4 && outBytes != 8) ||
      (prev && prevBytes != 4 && prevBytes != 8)) {
    llmk::recordError("llmrt_sample: invalid arguments");
    return;
  }
  using namespace llmrt;
  SamplerParams params =
      sampler_params(temperature, topK, topP, minP, repetitionPenalty, seed);
  Rng rng(seed);
  if (state[0])
    rng.setState(state + 1);
  Sampler sampler(params);
  std::vector<int64_t> history(prev ? prevLen : 0);
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t i = 0; i < static_cast<int64_t>(history.size()); ++i)
      history[i] = prevBytes == 4
                       ? static_cast<const int32_t *>(prev)[b * prevLen + i]
                       : static_cast<const int64_t *>(prev)[b * prevLen + i];
    int64_t next =
        sampler.sample(logits + b * vocab, vocab, TokenSpan(history), rng);
    if (next < 0)
      llmk::recordError("llmrt_sample: cannot sample (a NaN logit, every "
                        "logit -inf, or a previous token outside the "
                        "vocabulary)");
    store(b, next);
  }
  state[0] = 1;
  rng.getState(state + 1);
}
