//===- BeamSearch.h - Beam search over a logits callback --------*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
// Beam search with the semantics of transformers 5.x
// `generate(num_beams=K, do_sample=False, length_penalty=P,
// early_stopping=False, num_return_sequences=1)` (GenerationMixin.
// _beam_search and its helpers), for one prompt and no logits processor:
//
//   * K running beams start as the prompt with scores [0, -1e9, ..., -1e9]
//     (float32), so that the first step only extends beam 0.
//   * Each step: log_softmax of every beam's float32 logits, plus the beam's
//     running score (float32 sums); the top C = max(2, 1 + #eos) * K
//     candidates over (beam, token), best first (ties: the lower beam * vocab
//     + token index first).
//   * A candidate "hits a stopping criterion" when its token is an eos id or
//     when it reaches max_new_tokens generated tokens. Such candidates among
//     the first K of the C become finished hypotheses, scored
//     sum_logprobs / (generated_length ** length_penalty), where
//     generated_length counts the generated tokens, the eos included: the
//     tokens after the prompt for decoder-only models and after the decoder
//     prompt (the start token) for encoder-decoder models, as transformers'
//     `cur_len + 1 - decoder_prompt_len`. The K best finished hypotheses are
//     kept; hitting candidates past the first K are dropped.
//   * The next running beams are the K best candidates that did not hit a
//     criterion (hitting ones get -1e9 added, as in transformers).
//   * Stop after the step that reaches max_new_tokens; or when K hypotheses
//     are finished and the best running score divided by (tokens generated
//     so far ** length_penalty) is not above the worst finished score
//     (early_stopping=False's heuristic); or when every candidate hit a
//     criterion.
//   * The answer is the best finished hypothesis (there is always one: the
//     last step finishes the first K candidates).
//
// Scores follow torch's float32 arithmetic (log-probabilities are computed
// in double and rounded to float, sums and length-penalty divisions are in
// float), so results agree with transformers except at near-ties.
//
// The model is a callback that returns the next-token logits of the running
// beams, which lets the caller back it with a batched, cached decode (K
// beams = K sequences; `Beam::parent` tells which previous sequence a beam
// extends) or with a full recompute per beam. No MLIR or LLVM.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_RUNTIME_BEAMSEARCH_H
#define LLM_RUNTIME_BEAMSEARCH_H

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace llmrt {

struct BeamSearchParams {
  /// >= 1: K, the number of running beams and finished hypotheses.
  int64_t num_beams = 1;
  /// >= 1: the most tokens a hypothesis may generate.
  int64_t max_new_tokens = 0;
  /// Finite: the exponent of the generated length that finished scores are
  /// divided by (> 0 favours longer hypotheses, < 0 shorter ones).
  double length_penalty = 1.0;
  /// Tokens that finish a hypothesis (it keeps them); may be empty.
  std::vector<int64_t> eos_token_ids;
};

/// "" when `params` are valid, else what is wrong ("num_beams: expected a
/// value >= 1, found 0").
std::string validate_beam_search_params(const BeamSearchParams &params);

/// A running beam whose next-token logits the search asks for.
struct Beam {
  /// The generated tokens (the prompt excluded).
  std::vector<int64_t> tokens;
  /// The index, in the previous call's beams, of the beam that this one
  /// extends by its last token; -1 in the first call, where every beam is
  /// the prompt alone.
  int64_t parent = -1;
  /// The running score: the float32 sum of the tokens' log-probabilities
  /// (-1e9 for beams 1..K-1 of the first call).
  float score = 0;
};

/// Fills `logits` ([beams.size(), vocab], row i for beams[i]) with the
/// next-token logits of each beam. Returns false and sets `error` to stop
/// the search.
using BeamLogitsFn = std::function<bool(const std::vector<Beam> &beams,
                                        float *logits, std::string &error)>;

struct BeamSearchResult {
  /// False when the parameters were invalid, a logit was NaN or the callback
  /// failed; `error` says why.
  bool ok = false;
  std::string error;
  /// The error is a NaN logit.
  bool nanLogits = false;
  /// The best finished hypothesis, the prompt excluded (an eos it ended
  /// with included).
  std::vector<int64_t> tokens;
  /// Its score: sum of log-probabilities / (tokens.size() ** length_penalty).
  float score = 0;
  /// Calls made to the callback.
  int64_t steps = 0;
};

/// Runs the search over a vocabulary of `vocab` (> 0) tokens.
BeamSearchResult beam_search(const BeamSearchParams &params, int64_t vocab,
                             const BeamLogitsFn &logits);

} // namespace llmrt

#endif // LLM_RUNTIME_BEAMSEARCH_H
