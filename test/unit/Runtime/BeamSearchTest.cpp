//===- BeamSearchTest.cpp - Tests of runtime/BeamSearch.h -----------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// A toy model: the next-token distribution depends on the generated tokens
// through a table; logits are log-probabilities.
//
//===----------------------------------------------------------------------===//

#include "BeamSearch.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

using namespace llmrt;

namespace {

using Table = std::map<std::vector<int64_t>, std::vector<double>>;

/// Logits log(p) from `table` (uniform for prefixes it does not list); every
/// call is recorded in `calls`.
struct ToyModel {
  Table table;
  int64_t vocab;
  std::vector<std::vector<Beam>> calls;

  BeamLogitsFn fn() {
    return [this](const std::vector<Beam> &beams, float *logits,
                  std::string &) {
      calls.push_back(beams);
      for (size_t b = 0; b < beams.size(); ++b) {
        auto it = table.find(beams[b].tokens);
        for (int64_t t = 0; t < vocab; ++t)
          logits[b * vocab + t] =
              static_cast<float>(it == table.end() ? -std::log(double(vocab))
                                                   : std::log(it->second[t]));
      }
      return true;
    };
  }
};

/// Greedy decoding of the same model, for comparison.
std::vector<int64_t> greedy(const Table &table, int64_t vocab, int64_t steps) {
  std::vector<int64_t> tokens;
  for (int64_t s = 0; s < steps; ++s) {
    auto it = table.find(tokens);
    int64_t best = 0;
    if (it != table.end())
      for (int64_t t = 1; t < vocab; ++t)
        if (it->second[t] > it->second[best])
          best = t;
    tokens.push_back(best);
  }
  return tokens;
}

// Greedy takes the likelier first token (0: 0.5) and then at best 0.3; beam
// search keeps 1 (0.4), which is followed by a token of 0.9: 0.36 > 0.15.
Table divergingTable() {
  return {{{}, {0.5, 0.4, 0.05, 0.05}},
          {{0}, {0.3, 0.3, 0.2, 0.2}},
          {{1}, {0.05, 0.9, 0.025, 0.025}}};
}

TEST(BeamSearchTest, FindsWhatGreedyMisses) {
  ToyModel model{divergingTable(), 4, {}};
  BeamSearchParams params;
  params.num_beams = 2;
  params.max_new_tokens = 2;
  BeamSearchResult result = beam_search(params, 4, model.fn());
  ASSERT_TRUE(result.ok) << result.error;
  EXPECT_EQ(greedy(model.table, 4, 2), (std::vector<int64_t>{0, 0}));
  EXPECT_EQ(result.tokens, (std::vector<int64_t>{1, 1}));
  EXPECT_NEAR(result.score, std::log(0.4 * 0.9) / 2, 1e-5);
  EXPECT_EQ(result.steps, 2);

  // One beam never revisits its first choice: it is greedy here.
  params.num_beams = 1;
  result = beam_search(params, 4, model.fn());
  ASSERT_TRUE(result.ok) << result.error;
  EXPECT_EQ(result.tokens, (std::vector<int64_t>{0, 0}));
}

TEST(BeamSearchTest, CallbackSeesBeamsAndParents) {
  ToyModel model{divergingTable(), 4, {}};
  BeamSearchParams params;
  params.num_beams = 2;
  params.max_new_tokens = 2;
  ASSERT_TRUE(beam_search(params, 4, model.fn()).ok);
  ASSERT_EQ(model.calls.size(), 2u);
  // First call: every beam is the prompt; only beam 0 counts.
  const std::vector<Beam> &first = model.calls[0];
  ASSERT_EQ(first.size(), 2u);
  for (const Beam &beam : first) {
    EXPECT_TRUE(beam.tokens.empty());
    EXPECT_EQ(beam.parent, -1);
  }
  EXPECT_EQ(first[0].score, 0.0f);
  EXPECT_EQ(first[1].score, -1.0e9f);
  // Second call: the two best first tokens, best first, both from beam 0.
  const std::vector<Beam> &second = model.calls[1];
  ASSERT_EQ(second.size(), 2u);
  EXPECT_EQ(second[0].tokens, (std::vector<int64_t>{0}));
  EXPECT_EQ(second[1].tokens, (std::vector<int64_t>{1}));
  EXPECT_EQ(second[0].parent, 0);
  EXPECT_EQ(second[1].parent, 0);
  EXPECT_NEAR(second[0].score, std::log(0.5), 1e-6);
  EXPECT_NEAR(second[1].score, std::log(0.4), 1e-6);
}

// Token 0 is eos. Greedy stops at once ([0]: log 0.5 = -0.69); [1, 1, 0] has
// the lower sum (-0.98) but the better mean (-0.33).
Table eosTable() {
  return {{{}, {0.5, 0.4, 0.05, 0.05}},
          {{1}, {0.02, 0.96, 0.01, 0.01}},
          {{1, 1}, {0.98, 0.01, 0.005, 0.005}}};
}

TEST(BeamSearchTest, EosAndLengthPenalty) {
  BeamSearchParams params;
  params.num_beams = 2;
  params.max_new_tokens = 4;
  params.eos_token_ids = {0};

  // length_penalty 1: scores are means; the longer hypothesis wins. Then the
  // best running beam ([1, 1, 1]: -5.56 / 3) cannot beat the worst finished
  // one ([0]: -0.69), so the search stops before max_new_tokens.
  ToyModel model{eosTable(), 4, {}};
  BeamSearchResult result = beam_search(params, 4, model.fn());
  ASSERT_TRUE(result.ok) << result.error;
  EXPECT_EQ(result.tokens, (std::vector<int64_t>{1, 1, 0}));
  EXPECT_NEAR(result.score, std::log(0.4 * 0.96 * 0.98) / 3, 1e-5);
  EXPECT_EQ(result.steps, 3);
  // A finished hypothesis never runs on: no later beam extends [0].
  for (const std::vector<Beam> &call : model.calls)
    for (const Beam &beam : call)
      EXPECT_TRUE(beam.tokens.empty() || beam.tokens[0] != 0);

  // length_penalty 0: scores are sums; the short hypothesis wins.
  params.length_penalty = 0.0;
  result = beam_search(params, 4, ToyModel{eosTable(), 4, {}}.fn());
  ASSERT_TRUE(result.ok) << result.error;
  EXPECT_EQ(result.tokens, (std::vector<int64_t>{0}));
  EXPECT_NEAR(result.score, std::log(0.5), 1e-6);

  // Without an eos, every hypothesis runs to max_new_tokens.
  params.eos_token_ids.clear();
  params.length_penalty = 1.0;
  result = beam_search(params, 4, ToyModel{eosTable(), 4, {}}.fn());
  ASSERT_TRUE(result.ok) << result.error;
  EXPECT_EQ(result.tokens.size(), 4u);
  EXPECT_EQ(result.steps, 4);
}

// An eos among the candidates past the first K is dropped, not finished.
TEST(BeamSearchTest, EosOutsideTheTopKIsDropped) {
  // K = 1 keeps 2 candidates; eos (0) is the second at the first step. With
  // length_penalty 0, [0] (log 0.35 = -1.05) would beat [1, 3] (log 0.275 =
  // -1.29) if it were finished.
  Table table = {{{}, {0.35, 0.55, 0.05, 0.05}}, {{1}, {0.1, 0.2, 0.2, 0.5}}};
  BeamSearchParams params;
  params.num_beams = 1;
  params.max_new_tokens = 2;
  params.eos_token_ids = {0};
  params.length_penalty = 0.0;
  BeamSearchResult result = beam_search(params, 4, ToyModel{table, 4, {}}.fn());
  ASSERT_TRUE(result.ok) << result.error;
  EXPECT_EQ(result.tokens, (std::vector<int64_t>{1, 3}));
}

TEST(BeamSearchTest, Errors) {
  ToyModel model{divergingTable(), 4, {}};
  BeamSearchParams params;
  params.num_beams = 0;
  params.max_new_tokens = 2;
  BeamSearchResult result = beam_search(params, 4, model.fn());
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.error, "num_beams: expected a value >= 1, found 0");
  EXPECT_TRUE(model.calls.empty());

  params.num_beams = 2;
  params.max_new_tokens = 0;
  EXPECT_EQ(beam_search(params, 4, model.fn()).error,
            "max_new_tokens: expected a value >= 1, found 0");
  params.max_new_tokens = 2;
  params.length_penalty = NAN;
  EXPECT_EQ(beam_search(params, 4, model.fn()).error,
            "length_penalty: expected a finite value, found nan");
  params.length_penalty = 1.0;

  // 3 beams keep 6 candidates: a vocabulary of 1 has only 3.
  params.num_beams = 3;
  EXPECT_FALSE(beam_search(params, 1, model.fn()).ok);
  params.num_beams = 2;

  BeamLogitsFn failing = [](const std::vector<Beam> &, float *,
                            std::string &error) {
    error = "model failed";
    return false;
  };
  EXPECT_EQ(beam_search(params, 4, failing).error, "model failed");

  BeamLogitsFn nan = [](const std::vector<Beam> &beams, float *logits,
                        std::string &) {
    for (size_t i = 0; i < beams.size() * 4; ++i)
      logits[i] = i == 2 ? NAN : 0.0f;
    return true;
  };
  EXPECT_EQ(beam_search(params, 4, nan).error, "logit 2 of beam 0 is NaN");
}

} // namespace
