//===- Sampler.h - Next-token sampling and stop criteria --------*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
// The runtime's sampler: it picks the next token from a row of logits with
// the semantics of the `llm.sample` op (LLMOps.td), in this order:
//
//   1. repetition penalty over the previous tokens (transformers'
//      RepetitionPenaltyLogitsProcessor: for each distinct previous token,
//      logit < 0 ? logit * penalty : logit / penalty);
//   2. temperature == 0: greedy, the argmax (ties: the lowest id, as
//      torch.argmax); the filters below do not apply and no random number is
//      drawn. Otherwise logits / temperature;
//   3. top-k (0: off): keeps every token whose logit is >= the k-th largest
//      logit (transformers' TopKLogitsWarper, so tokens tied with the k-th
//      are all kept);
//   4. top-p (1: off): the smallest set of most probable tokens whose
//      probability reaches top_p (transformers' TopPLogitsWarper: sort
//      ascending, drop tokens whose cumulative probability is <= 1 - top_p,
//      keep at least one; ties are ordered as torch's stable sort orders
//      them, so of tied tokens the lower ids are dropped first);
//   5. min-p (0: off): keeps tokens with probability >= min_p * the largest
//      probability (transformers' MinPLogitsWarper);
//   6. softmax over what is left and one draw from `Rng`.
//
// The penalized and temperature-scaled logits are rounded to float (as torch
// keeps float32 logits); probabilities are computed in double. Results agree
// with transformers except where rounding decides a filter boundary.
//
// Determinism: `Rng` is xoshiro256** seeded by splitmix64, implemented here
// (no <random> distributions, which differ between standard libraries), and
// the order in which candidates are visited is fixed by the parameters alone,
// so a seed gives the same tokens on every platform and standard library.
// Each non-greedy `sample` call takes exactly one number from the generator.
//
// Cost per call: O(vocab) without top-p, and with top-k (k << vocab) plus
// top-p O(vocab + k log k). Top-p alone sorts only the nucleus: a sorted
// prefix grows geometrically from 256 candidates (selection, then a sort of
// what was selected) until it holds the nucleus, O(vocab log(n / 256) +
// n log n) for a nucleus of n tokens.
//
// Nothing here aborts on bad input: `validate_sampler_params` and
// `Sampler::sample` report errors as readable strings. No MLIR or LLVM.
//
// Naming: fields and free functions are snake_case, as in llama.h-style C
// APIs (`sampler_default_params()`); classes and their methods follow LLVM.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_RUNTIME_SAMPLER_H
#define LLM_RUNTIME_SAMPLER_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace llmrt {

/// Sampling parameters; the defaults are those of `llm.sample` (sampling at
/// temperature 1 with every filter off). Use `sampler_default_params()` and
/// change the fields you need.
struct SamplerParams {
  /// >= 0; 0 selects greedy decoding (argmax).
  double temperature = 1.0;
  /// >= 0; 0 disables top-k.
  int64_t top_k = 0;
  /// In (0, 1]; 1 disables top-p.
  double top_p = 1.0;
  /// In [0, 1]; 0 disables min-p.
  double min_p = 0.0;
  /// > 0; 1 disables the penalty.
  double repetition_penalty = 1.0;
  /// Seed of the `Rng` that callers create for this sampler.
  uint64_t seed = 0;
};

/// The defaults: temperature 1, top_k 0, top_p 1, min_p 0,
/// repetition_penalty 1, seed 0.
SamplerParams sampler_default_params();

/// Every field at once, in `llm.sample`'s order.
SamplerParams sampler_params(double temperature, int64_t top_k = 0,
                             double top_p = 1.0, double min_p = 0.0,
                             double repetition_penalty = 1.0,
                             uint64_t seed = 0);

/// The first invalid field of a `SamplerParams`.
struct SamplerParamError {
  /// The field's name: "temperature", "top_k", "top_p", "min_p" or
  /// "repetition_penalty".
  std::string param;
  /// What was expected, e.g. "a value in (0, 1]".
  std::string expected;
  /// The value found, printed so that it reads back as the same number
  /// (e.g. "1.5", "nan", "-3").
  std::string found;
  /// "top_p: expected a value in (0, 1], found 1.5".
  std::string message() const;
};

/// Checks every field (NaN and infinities are invalid everywhere). Returns
/// true when `params` are valid; otherwise false, and fills `*error` (when
/// not null) with the first invalid field in declaration order.
bool check_sampler_params(const SamplerParams &params,
                          SamplerParamError *error);

/// Returns "" when `params` are valid, else `SamplerParamError::message()`.
std::string validate_sampler_params(const SamplerParams &params);

/// One line for a log: "greedy", "greedy, repetition-penalty 1.3" or
/// "temperature 0.8, top-k 20, top-p 1, min-p 0, repetition-penalty 1,
/// seed 7".
std::string describe_sampler_params(const SamplerParams &params);

/// The shortest "%g" rendering of `value` that reads back as `value`
/// ("nan", "inf" and "-inf" for the others).
std::string format_number(double value);

/// A non-owning view of token ids (C++17 has no std::span).
class TokenSpan {
public:
  TokenSpan() = default;
  TokenSpan(const int64_t *data, size_t size) : data_(data), size_(size) {}
  TokenSpan(const std::vector<int64_t> &ids)
      : data_(ids.data()), size_(ids.size()) {}
  const int64_t *data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const int64_t *begin() const { return data_; }
  const int64_t *end() const { return data_ + size_; }
  int64_t operator[](size_t i) const { return data_[i]; }

private:
  const int64_t *data_ = nullptr;
  size_t size_ = 0;
};

/// splitmix64: one step of the generator that seeds `Rng`. Advances `state`.
uint64_t splitmix64(uint64_t &state);

/// xoshiro256** (Blackman and Vigna), seeded by four splitmix64 outputs of
/// the seed. Every seed, 0 included, is valid; the sequence is the same on
/// every platform.
class Rng {
public:
  explicit Rng(uint64_t seed = 0);
  /// The next 64 random bits.
  uint64_t next();
  /// A double uniform in [0, 1): the top 53 bits of `next()` times 2^-53.
  double uniform();
  /// The generator's state, to store it and resume from it later.
  void getState(uint64_t state[4]) const;
  void setState(const uint64_t state[4]);

private:
  uint64_t s_[4];
};

/// A candidate token and its probability after every filter.
struct TokenProb {
  int64_t id;
  double prob;
};

/// Applies transformers' repetition penalty in place: each distinct id of
/// `prev` in [0, vocab) has its logit multiplied by `penalty` when negative
/// and divided by it otherwise (computed in double and rounded to float). Ids
/// outside [0, vocab) are skipped (`Sampler::sample` rejects them beforehand).
void apply_repetition_penalty(float *logits, int64_t vocab, TokenSpan prev,
                              double penalty);

/// Picks tokens with fixed parameters; holds scratch buffers sized to the
/// vocabulary, so reuse one instance per sequence (not thread-safe).
class Sampler {
public:
  /// `params` need not be valid: an invalid set makes every `sample` call
  /// fail with the message of `validate_sampler_params`.
  explicit Sampler(const SamplerParams &params = sampler_default_params());

  const SamplerParams &params() const { return params_; }
  bool isGreedy() const { return params_.temperature == 0.0; }

  /// Returns the next token in [0, vocab) given the `vocab` logits of the
  /// last position and the tokens of the sequence so far (`prev`: for
  /// repetition penalty; transformers passes prompt + generated tokens).
  /// Returns -1 and sets `error()` when the parameters are invalid, `logits`
  /// is null, `vocab` <= 0, a logit is NaN, a `prev` id is outside
  /// [0, vocab), or (when sampling) every logit is -inf. Greedy decoding
  /// does not advance `rng`; sampling takes one `rng.uniform()`.
  int64_t sample(const float *logits, int64_t vocab, TokenSpan prev, Rng &rng);

  /// The distribution `sample` draws from: the candidates left after every
  /// filter, with probabilities summing to 1, in the order `sample` visits
  /// them. Greedy: the argmax with probability 1. Returns false and sets
  /// `error()` on the errors of `sample`.
  bool distribution(const float *logits, int64_t vocab, TokenSpan prev,
                    std::vector<TokenProb> &out);

  /// The reason of the last failure; "" after a success.
  const std::string &error() const { return error_; }

private:
  // Fills `cands_` (ids) and `weights_` (unnormalized probabilities, total
  // `total_`), or sets error_ and returns false. Greedy: one candidate.
  bool prepare(const float *logits, int64_t vocab, TokenSpan prev);

  SamplerParams params_;
  std::string paramsError_;
  std::string error_;
  std::vector<float> work_;    // processed logits, [vocab]
  std::vector<float> scratch_; // top-k selection
  std::vector<int64_t> cands_;
  std::vector<double> weights_;
  double total_ = 0;
};

/// Why generation stops.
enum class StopReason {
  None = 0,  ///< keep generating
  StopToken, ///< the last token is one of `stop_token_ids`
  MaxLength, ///< `max_new_tokens` tokens have been generated
};

/// Stop conditions of a generation loop: a set of stop token ids (e.g. the
/// model's eos_token_id list; the stop token is part of the output, as in
/// transformers) and a maximum number of generated tokens.
struct StopCriteria {
  std::vector<int64_t> stop_token_ids;
  /// Maximum number of new tokens; <= 0 means no limit.
  int64_t max_new_tokens = 0;

  /// Called after each generated token: `last` is the token just generated
  /// and `num_generated` the count of new tokens so far, `last` included. A
  /// stop token wins over the length limit when both apply.
  StopReason check(int64_t last, int64_t num_generated) const;
};

/// "none", "stop token" or "max length".
const char *stop_reason_name(StopReason reason);

} // namespace llmrt

// `llmrt_sample`, the lowering of `llm.sample`, is declared with the other
// functions that generated code calls, in kernels/cpu/Kernels.def.

#endif // LLM_RUNTIME_SAMPLER_H
