//===- BeamSearch.cpp - Beam search over a logits callback ----------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "BeamSearch.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>

namespace llmrt {

namespace {
/// transformers' stand-in for minus infinity in beam scores.
constexpr float kMinusBig = -1.0e9f;

std::string formatNumber(double value) {
  std::ostringstream os;
  os.precision(17);
  os << value;
  return os.str();
}

/// A finished hypothesis.
struct Hypothesis {
  float score;
  std::vector<int64_t> tokens;
};
} // namespace

std::string validate_beam_search_params(const BeamSearchParams &params) {
  if (params.num_beams < 1)
    return "num_beams: expected a value >= 1, found " +
           std::to_string(params.num_beams);
  if (params.max_new_tokens < 1)
    return "max_new_tokens: expected a value >= 1, found " +
           std::to_string(params.max_new_tokens);
  if (!std::isfinite(params.length_penalty))
    return "length_penalty: expected a finite value, found " +
           formatNumber(params.length_penalty);
  return "";
}

BeamSearchResult beam_search(const BeamSearchParams &params, int64_t vocab,
                             const BeamLogitsFn &logitsFn) {
  BeamSearchResult result;
  result.error = validate_beam_search_params(params);
  if (!result.error.empty())
    return result;
  if (vocab <= 0) {
    result.error =
        "vocab: expected a value > 0, found " + std::to_string(vocab);
    return result;
  }
  const int64_t beams = params.num_beams;
  const int64_t numEos = static_cast<int64_t>(params.eos_token_ids.size());
  // transformers keeps max(2, 1 + #eos) * K candidates, so that at least K
  // of them do not end with an eos.
  const int64_t keep = std::max<int64_t>(2, 1 + numEos) * beams;
  if (keep > beams * vocab) {
    result.error = "a vocabulary of " + std::to_string(vocab) +
                   " tokens has fewer than the " + std::to_string(keep) +
                   " candidates " + std::to_string(beams) +
                   " beams keep per step";
    return result;
  }
  auto isEos = [&](int64_t token) {
    return std::find(params.eos_token_ids.begin(), params.eos_token_ids.end(),
                     token) != params.eos_token_ids.end();
  };

  std::vector<Beam> running(beams);
  for (int64_t b = 1; b < beams; ++b)
    running[b].score = kMinusBig;
  std::vector<Hypothesis> finished; // Best first, at most K.
  std::vector<float> logits(beams * vocab), scores(beams * vocab);
  std::vector<int64_t> order(beams * vocab);
  std::vector<float> candScore(keep), penalized(keep);
  std::vector<bool> candHit(keep);
  std::vector<int64_t> candOrder(keep);

  for (int64_t step = 0;; ++step) {
    std::string error;
    if (!logitsFn(running, logits.data(), error)) {
      result.error = error.empty() ? "the logits callback failed" : error;
      return result;
    }
    ++result.steps;

    // Running score + log_softmax of each beam's logits.
    for (int64_t b = 0; b < beams; ++b) {
      const float *row = logits.data() + b * vocab;
      double max = -INFINITY;
      for (int64_t t = 0; t < vocab; ++t) {
        if (std::isnan(row[t])) {
          result.error = "logit " + std::to_string(t) + " of beam " +
                         std::to_string(b) + " is NaN";
          result.nanLogits = true;
          return result;
        }
        max = std::max<double>(max, row[t]);
      }
      if (max == -INFINITY) {
        result.error = "every logit of beam " + std::to_string(b) + " is -inf";
        return result;
      }
      double sum = 0;
      for (int64_t t = 0; t < vocab; ++t)
        sum += std::exp(static_cast<double>(row[t]) - max);
      double logZ = max + std::log(sum);
      float *out = scores.data() + b * vocab;
      for (int64_t t = 0; t < vocab; ++t) {
        float logProb = static_cast<float>(static_cast<double>(row[t]) - logZ);
        out[t] = logProb + running[b].score;
      }
    }

    // The best `keep` candidates over (beam, token), best first.
    std::iota(order.begin(), order.end(), 0);
    auto better = [&](int64_t a, int64_t b) {
      return scores[a] > scores[b] || (scores[a] == scores[b] && a < b);
    };
    std::partial_sort(order.begin(), order.begin() + keep, order.end(), better);

    // Which candidates hit a stopping criterion (eos or the length limit).
    const int64_t generated = step + 1;
    const bool lengthHit = generated >= params.max_new_tokens;
    bool allHit = true;
    for (int64_t c = 0; c < keep; ++c) {
      candScore[c] = scores[order[c]];
      candHit[c] = lengthHit || isEos(order[c] % vocab);
      allHit = allHit && candHit[c];
      penalized[c] = candHit[c] ? candScore[c] + kMinusBig : candScore[c];
    }
    auto extend = [&](int64_t c) {
      const Beam &from = running[order[c] / vocab];
      std::vector<int64_t> tokens = from.tokens;
      tokens.push_back(order[c] % vocab);
      return tokens;
    };

    // Finished hypotheses: the hitting candidates among the first K, scored
    // by sum / generated ** length_penalty, merged with the previous ones.
    const float lengthDivisor = static_cast<float>(
        std::pow(static_cast<double>(generated), params.length_penalty));
    std::vector<Hypothesis> merged = finished;
    for (int64_t c = 0; c < beams; ++c)
      if (candHit[c])
        merged.push_back({candScore[c] / lengthDivisor, extend(c)});
    // Ties: the earlier (older, then better-ranked) hypothesis first.
    std::vector<size_t> rank(merged.size());
    std::iota(rank.begin(), rank.end(), 0);
    std::sort(rank.begin(), rank.end(), [&](size_t a, size_t b) {
      return merged[a].score > merged[b].score ||
             (merged[a].score == merged[b].score && a < b);
    });
    std::vector<Hypothesis> best;
    for (size_t i = 0; i < rank.size() && i < size_t(beams); ++i)
      best.push_back(std::move(merged[rank[i]]));
    finished = std::move(best);

    if (lengthHit || allHit)
      break;

    // The next running beams: the K best candidates once hitting ones are
    // pushed down by -1e9.
    std::iota(candOrder.begin(), candOrder.end(), 0);
    std::sort(candOrder.begin(), candOrder.end(), [&](int64_t a, int64_t b) {
      return penalized[a] > penalized[b] ||
             (penalized[a] == penalized[b] && a < b);
    });
    std::vector<Beam> next(beams);
    for (int64_t i = 0; i < beams; ++i) {
      int64_t c = candOrder[i];
      next[i].tokens = extend(c);
      next[i].parent = order[c] / vocab;
      next[i].score = penalized[c];
    }
    running = std::move(next);

    // early_stopping=False: stop once K hypotheses are finished and the best
    // running beam, scored at its current length, does not beat the worst.
    if (static_cast<int64_t>(finished.size()) == beams) {
      float best = running[0].score / lengthDivisor;
      if (!(best > finished.back().score))
        break;
    }
  }

  result.ok = true;
  result.tokens = finished.front().tokens;
  result.score = finished.front().score;
  return result;
}

} // namespace llmrt
