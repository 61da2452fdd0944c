//===- Generate.h - Generation loops: sampling, greedy, beam ----*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
// The generation loops of the runtime, written once over `SequenceSet`: a
// set of growing token sequences whose next-token logits can be asked for.
// Two implementations back it: a `Session` over the paged KV cache (each
// prompt prefilled once, then one decode call per step for every running
// sequence), and the full-sequence entry point, which recomputes each
// sequence from its first token at every step. Greedy decoding and sampling
// (`generate`) and beam search (`beamSearch`) run on either, so the two
// paths pick the same tokens. No MLIR or LLVM.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_RUNTIME_GENERATE_H
#define LLM_RUNTIME_GENERATE_H

#include "Error.h"
#include "Model.h"
#include "Sampler.h"
#include "Session.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace llmrt {

/// A set of growing sequences. Ids are the implementation's.
class SequenceSet {
public:
  virtual ~SequenceSet();
  /// Starts a sequence from `prompt` (the decoder prompt of an
  /// encoder-decoder model, whose encoder reads `encoderInput`). Writes the
  /// logits of every prompt position to `logits` ([prompt, vocab]), or with
  /// PrefillLogits::Last those of the last one ([vocab]), all that
  /// generation reads (a session over a model compiled for generation
  /// computes no others).
  virtual Expected<int64_t> start(TokenSpan prompt, TokenSpan encoderInput,
                                  float *logits,
                                  PrefillLogits which = PrefillLogits::All) = 0;
  /// Appends `tokens[i]` to `seqs[i]` and writes their next-token logits to
  /// row i of `logits`.
  virtual Status extend(const std::vector<int64_t> &seqs,
                        const std::vector<int64_t> &tokens, float *logits) = 0;
  /// A new sequence holding what `seq` holds.
  virtual Expected<int64_t> fork(int64_t seq) = 0;
  virtual void release(int64_t seq) = 0;
  /// Rows of one `extend` call as the native code runs it.
  virtual int64_t getBatch() const = 0;
  /// The model that computes the logits.
  virtual const Model &getModel() const = 0;
};

/// Sequences over `session`'s KV cache.
std::unique_ptr<SequenceSet> makeCachedSequences(Session &session);

/// Sequences recomputed by `model`'s full-sequence entry point (the entry
/// point without a cache): each call runs it once per distinct sequence.
/// Fails when the model has no such entry point or no description.
Expected<std::unique_ptr<SequenceSet>> makeRecomputedSequences(Model &model);

/// One prompt: its tokens (an encoder-decoder model's decoder prompt) and an
/// encoder-decoder model's encoder input.
struct Prompt {
  std::vector<int64_t> tokens;
  std::vector<int64_t> encoderTokens;
};

struct GenerateParams {
  /// How tokens are picked (temperature 0: greedy).
  SamplerParams sampler = sampler_params(0.0);
  /// Most tokens generated per sequence (> 0).
  int64_t maxNewTokens = 16;
  /// Tokens that end a sequence (kept in its output); usually the model's
  /// eos ids, empty to ignore them.
  std::vector<int64_t> stopTokenIds;
  /// > 1: beam search with this many beams (a single prompt, no sampling).
  int64_t numBeams = 1;
  /// Beam search: finished scores are sum of log-probs / length^P.
  double lengthPenalty = 1.0;
  /// Keep the first prompt's logits of every prompt position, and of every
  /// generated token (the row each was chosen from). Prompt logits need a
  /// model whose prefill computes them all (compiled without
  /// last-logits-only); without them, a prefill computes the last
  /// position's alone.
  bool keepPromptLogits = false;
  bool keepStepLogits = false;
  /// Generate past the context the model was trained for
  /// (ModelInfo::contextLength), which rotary positions allow.
  bool ignoreContextLength = false;
  /// Sampling (not beam search): called with the prompt's index and each
  /// token as soon as it is chosen, for streaming; returning false ends that
  /// sequence there (a stop string), the token kept.
  std::function<bool(size_t prompt, int64_t token)> onToken;
};

/// What made logits NaN or infinite, for the end of the error that reports
/// them: the first checkpoint tensor holding a non-finite value, or that
/// every weight is finite (an activation overflowed).
std::string explainNaN(const Model &model);

struct GenerationResult {
  /// Per prompt: the generated tokens (the prompt excluded).
  std::vector<std::vector<int64_t>> tokens;
  /// With keepPromptLogits/keepStepLogits: [prompt length, vocab] and
  /// [generated tokens, vocab] of the first prompt.
  std::vector<float> promptLogits;
  std::vector<float> stepLogits;
  /// Prompt tokens prefilled (encoder tokens apart) and their time,
  /// encoders included.
  int64_t prefillTokens = 0;
  int64_t encoderTokens = 0;
  double prefillSeconds = 0;
  /// From the start until the first token was chosen (time to first token).
  double firstTokenSeconds = 0;
  /// Tokens produced by extend calls, the calls, their rows, and the time of
  /// the loop after the prompts.
  int64_t decodeTokens = 0;
  int64_t decodeSteps = 0;
  int64_t decodeBatch = 0;
  double decodeSeconds = 0;
  /// Beam search: the best hypothesis's score and the steps taken.
  float beamScore = 0;
  int64_t beamSteps = 0;
};

/// A session for `prompts` under `params`: blocks for each prompt and its
/// new tokens (beam search: for the prompt, and for K beams each of which
/// may fork once while the previous K are held), and cross-attention blocks
/// for each encoder input. Fails when `model` has no KV cache.
Expected<SessionOptions> getSessionOptions(const Model &model,
                                           const std::vector<Prompt> &prompts,
                                           const GenerateParams &params);

/// Most beams beam search takes (each holds cache blocks of its own).
inline constexpr int64_t kMaxBeams = 1024;

/// How a message names a parameter, given its field name ("top_p"): a
/// command line names it as its flag ("--top-p").
using ParamNamer = std::function<std::string(const std::string &field)>;

/// Checks `params`: the sampler's fields, max_new_tokens >= 0, num_beams in
/// [1, kMaxBeams], a finite length_penalty, and that beam search neither
/// samples nor penalizes repetition. The message names the parameter with
/// `name` (the field name when null), the expected and the found value.
Status checkGenerateParams(const GenerateParams &params,
                           const ParamNamer &name = nullptr);

/// Fails when the longest prompt (`promptTokens`) plus max_new_tokens runs
/// past the context `info` was trained for, unless
/// `params.ignoreContextLength`: a model extrapolating past its training
/// context produces fluent-looking garbage, so going there is a choice.
Status checkContextLength(const ModelInfo &info, int64_t promptTokens,
                          const GenerateParams &params,
                          const ParamNamer &name = nullptr);

/// Greedy decoding or sampling of every prompt at once: each step extends
/// every unfinished sequence in one call. One sampler and generator serve
/// all sequences, drawing in prompt order.
Expected<GenerationResult> generate(SequenceSet &sequences,
                                    const std::vector<Prompt> &prompts,
                                    const GenerateParams &params,
                                    int64_t vocab);

/// Beam search (BeamSearch.h) of one prompt with `params.numBeams` beams,
/// each a sequence of `sequences`: a beam whose parent is already taken
/// forks the parent.
Expected<GenerationResult> beamSearch(SequenceSet &sequences,
                                      const Prompt &prompt,
                                      const GenerateParams &params,
                                      int64_t vocab);

} // namespace llmrt

#endif // LLM_RUNTIME_GENERATE_H
