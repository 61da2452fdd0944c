//===- PositionMath.h - RoPE frequencies and ALiBi slopes -------*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
// The position math that the compiler and the CPU kernels must agree on bit
// for bit: RoPE inverse frequencies for every scaling, ALiBi slopes and T5's
// relative position buckets.
// `--llm-lower-rope` bakes the frequencies into a constant table and
// `--llm-lower-alibi` bakes the slopes into a constant; the kernels compute
// the same values at run time (`llmk_rope`, dynamic NTK's
// `llmk_rope_inv_freq_at`, `llmk_alibi`). One header-only definition, with
// no dependency beyond the C++ library and the kernel ABI's enums, so the
// passes neither call into the runtime nor keep a copy of its math.
//
// Frequencies follow Hugging Face's `ROPE_INIT_FUNCTIONS`
// (modeling_rope_utils.py) operation by operation in fp32, because that is
// what the reference models run: an angle of position * inv_freq near
// position 4096 moves by 2.4e-4 rad per ulp of inv_freq, far beyond the
// parity tolerance, so only the same roundings give the same rotations.
// Where PyTorch evaluates `scalar / tensor` as `tensor.reciprocal() * scalar`
// so do we; pow is evaluated in double and rounded once, i.e. correctly
// rounded, which is what PyTorch's vectorized fp32 version returns in all but
// rare last-bit cases.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_RUNTIME_KERNELS_CPU_POSITIONMATH_H
#define LLM_RUNTIME_KERNELS_CPU_POSITIONMATH_H

#include "Kernels.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace llmk {

/// A RoPE scaling (`#llm.rope_scaling`): `kind` is an `LLMK_ROPE_*` value,
/// the other fields are Hugging Face's `rope_scaling` entries, defaulted as
/// transformers defaults them. `attentionFactor` 0 means YaRN's default.
struct RopeScalingParams {
  int32_t kind = LLMK_ROPE_NONE;
  double factor = 1.0;
  int64_t originalMaxPosition = 0;
  double lowFreqFactor = 1.0;
  double highFreqFactor = 4.0;
  double betaFast = 32.0;
  double betaSlow = 1.0;
  double attentionFactor = 0.0;
};

inline constexpr double kPi = 3.141592653589793;

/// Correctly rounded fp32 pow.
inline float powf32(float base, float exponent) {
  return static_cast<float>(
      std::pow(static_cast<double>(base), static_cast<double>(exponent)));
}

/// `base ** (torch.arange(0, dim, 2).float() / dim)`: pos_freqs.
inline std::vector<float> positionFrequencies(float base, int64_t dim) {
  std::vector<float> freqs(dim / 2);
  for (int64_t i = 0; i < dim / 2; ++i)
    freqs[i] =
        powf32(base, static_cast<float>(2 * i) / static_cast<float>(dim));
  return freqs;
}

/// _compute_default_rope_parameters: 1 / pos_freqs.
inline std::vector<float> defaultInvFreq(float base, int64_t dim) {
  std::vector<float> invFreq = positionFrequencies(base, dim);
  for (float &value : invFreq)
    value = 1.0f / value;
  return invFreq;
}

struct RopeFrequencies {
  std::vector<float> invFreq;
  /// Multiplies cos and sin (YaRN's attention factor; 1 elsewhere).
  float attentionScaling = 1.0f;
};

/// _compute_dynamic_ntk_parameters as called by `dynamic_rope_update` once
/// the sequence outgrows the original context: seq_len is then an int64
/// tensor, so the base is computed in fp32.
inline float dynamicBase(double theta, double factor, int64_t dim,
                         int64_t seqLen, int64_t originalMaxPosition) {
  float ratio = static_cast<float>(factor) * static_cast<float>(seqLen);
  ratio = ratio / static_cast<float>(originalMaxPosition);
  ratio = ratio - static_cast<float>(factor - 1.0);
  double exponent = static_cast<double>(dim) / static_cast<double>(dim - 2);
  float scaled =
      static_cast<float>(std::pow(static_cast<double>(ratio), exponent));
  return static_cast<float>(theta) * scaled;
}

/// _compute_yarn_parameters.
inline RopeFrequencies yarn(double theta, int64_t dim, double factor,
                            int64_t originalMaxPosition, double betaFast,
                            double betaSlow, double attentionFactor) {
  RopeFrequencies result;
  std::vector<float> posFreqs =
      positionFrequencies(static_cast<float>(theta), dim);
  // `beta_fast or 32`, `beta_slow or 1`.
  if (betaFast == 0.0)
    betaFast = 32.0;
  if (betaSlow == 0.0)
    betaSlow = 1.0;
  auto correctionDim = [&](double rotations) {
    return (dim * std::log(originalMaxPosition / (rotations * 2 * kPi))) /
           (2 * std::log(theta));
  };
  double low = std::max(std::floor(correctionDim(betaFast)), 0.0);
  double high = std::min(std::ceil(correctionDim(betaSlow)),
                         static_cast<double>(dim - 1));
  if (low == high)
    high += 0.001; // linear_ramp_factor's guard against a zero-width ramp.
  float lowF = static_cast<float>(low);
  float rangeF = static_cast<float>(high - low);
  float factorF = static_cast<float>(factor);
  result.invFreq.resize(dim / 2);
  for (int64_t i = 0; i < dim / 2; ++i) {
    float extrapolation = 1.0f / posFreqs[i];
    float interpolation = 1.0f / (factorF * posFreqs[i]);
    float ramp = (static_cast<float>(i) - lowF) / rangeF;
    ramp = std::min(std::max(ramp, 0.0f), 1.0f);
    float extrapolationFactor = 1.0f - ramp;
    result.invFreq[i] = interpolation * (1.0f - extrapolationFactor) +
                        extrapolation * extrapolationFactor;
  }
  if (attentionFactor == 0.0)
    attentionFactor = factor <= 1.0 ? 1.0 : 0.1 * std::log(factor) + 1.0;
  result.attentionScaling = static_cast<float>(attentionFactor);
  return result;
}

/// _compute_llama3_parameters.
inline std::vector<float> llama3(double theta, int64_t dim, double factor,
                                 int64_t originalMaxPosition,
                                 double lowFreqFactor, double highFreqFactor) {
  std::vector<float> invFreq = defaultInvFreq(static_cast<float>(theta), dim);
  float lowFreqWavelen =
      static_cast<float>(originalMaxPosition / lowFreqFactor);
  float highFreqWavelen =
      static_cast<float>(originalMaxPosition / highFreqFactor);
  float factorF = static_cast<float>(factor);
  float twoPi = static_cast<float>(2 * kPi);
  float oldContext = static_cast<float>(originalMaxPosition);
  float lowF = static_cast<float>(lowFreqFactor);
  float spanF = static_cast<float>(highFreqFactor - lowFreqFactor);
  for (float &value : invFreq) {
    float wavelen = (1.0f / value) * twoPi;
    float scaled = wavelen > lowFreqWavelen ? value / factorF : value;
    bool medium = !(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen);
    if (medium) {
      float smooth = ((1.0f / wavelen) * oldContext - lowF) / spanF;
      scaled = (1.0f - smooth) * scaled / factorF + smooth * scaled;
    }
    value = scaled;
  }
  return invFreq;
}

/// The inverse frequencies of `dim` rotary features and the cos/sin
/// multiplier, for a sequence of `seqLen` tokens (which only dynamic NTK
/// reads). The parameters must satisfy `isValidRopeScaling`.
inline RopeFrequencies ropeFrequencies(int64_t dim, double theta,
                                       const RopeScalingParams &s,
                                       int64_t seqLen) {
  RopeFrequencies result;
  switch (s.kind) {
  case LLMK_ROPE_LINEAR:
    result.invFreq = defaultInvFreq(static_cast<float>(theta), dim);
    for (float &value : result.invFreq)
      value = value / static_cast<float>(s.factor);
    return result;
  case LLMK_ROPE_DYNAMIC: {
    float base = static_cast<float>(theta);
    if (seqLen > s.originalMaxPosition)
      base = dynamicBase(theta, s.factor, dim, seqLen, s.originalMaxPosition);
    result.invFreq = defaultInvFreq(base, dim);
    return result;
  }
  case LLMK_ROPE_YARN:
    return yarn(theta, dim, s.factor, s.originalMaxPosition, s.betaFast,
                s.betaSlow, s.attentionFactor);
  case LLMK_ROPE_LLAMA3:
    result.invFreq = llama3(theta, dim, s.factor, s.originalMaxPosition,
                            s.lowFreqFactor, s.highFreqFactor);
    return result;
  default:
    result.invFreq = defaultInvFreq(static_cast<float>(theta), dim);
    return result;
  }
}

/// True when `rotaryDim` features with base `theta` and scaling `s` have
/// well-defined frequencies.
inline bool isValidRopeScaling(int64_t rotaryDim, double theta,
                               const RopeScalingParams &s) {
  bool needsFactor =
      s.kind != LLMK_ROPE_NONE && (s.factor <= 0.0 || !std::isfinite(s.factor));
  bool needsContext =
      (s.kind == LLMK_ROPE_DYNAMIC || s.kind == LLMK_ROPE_YARN ||
       s.kind == LLMK_ROPE_LLAMA3) &&
      s.originalMaxPosition <= 0;
  bool badLlama3 =
      s.kind == LLMK_ROPE_LLAMA3 &&
      (s.lowFreqFactor <= 0.0 || s.highFreqFactor <= s.lowFreqFactor);
  return rotaryDim >= 2 && rotaryDim % 2 == 0 && theta > 0.0 &&
         s.kind >= LLMK_ROPE_NONE && s.kind <= LLMK_ROPE_LLAMA3 &&
         !needsFactor && !needsContext && !badLlama3 &&
         !(s.kind == LLMK_ROPE_DYNAMIC && rotaryDim <= 2);
}

/// T5's relative position buckets (T5Attention._relative_position_bucket, in
/// its fp32 arithmetic: the truncation of the log term makes every rounding
/// count). `bucket(key - query)` indexes a [numBuckets, heads] bias table.
/// The kernels compute them at run time; the ONNX importer matches an
/// exported graph's folded bucket table against them.
class RelativeBuckets {
public:
  RelativeBuckets(int64_t numBuckets, int64_t maxDistance, bool bidirectional)
      : buckets(bidirectional ? numBuckets / 2 : numBuckets),
        maxExact(buckets / 2), maxDistance(maxDistance),
        bidirectional(bidirectional),
        logRange(
            maxExact > 0 && maxDistance > maxExact
                ? static_cast<float>(std::log(static_cast<double>(maxDistance) /
                                              static_cast<double>(maxExact)))
                : 0.0f),
        logBuckets(static_cast<float>(buckets - maxExact)) {}
  /// False when the parameters give no exact range or no log range.
  bool isValid() const { return maxExact > 0 && maxDistance > maxExact; }
  /// The bucket of `relative` = key position - query position.
  int64_t bucket(int64_t relative) const {
    int64_t bucket = 0;
    if (bidirectional) {
      bucket += relative > 0 ? buckets : 0;
      relative = relative < 0 ? -relative : relative;
    } else {
      relative = relative < 0 ? -relative : 0;
    }
    if (relative < maxExact)
      return bucket + relative;
    float scaled =
        std::log(static_cast<float>(relative) / static_cast<float>(maxExact)) /
        logRange * logBuckets;
    int64_t large = maxExact + static_cast<int64_t>(scaled);
    return bucket + std::min(large, buckets - 1);
  }

private:
  int64_t buckets, maxExact, maxDistance;
  bool bidirectional;
  float logRange, logBuckets;
};

/// ALiBi slopes of `heads` heads into `out` ([heads]) for `maxBias` (8 in
/// BLOOM): BLOOM's build_alibi_tensor with its 8 generalized to max_bias, an
/// fp32 base raised to integer powers, then the odd powers of the next base
/// for the heads beyond the largest power of two.
inline void alibiSlopes(int64_t heads, double maxBias, float *out) {
  if (heads <= 0)
    return;
  int64_t closest = 1;
  while (closest * 2 <= heads)
    closest *= 2;
  auto fill = [&](int64_t span, int64_t count, int64_t first, int64_t step,
                  float *dst) {
    float base =
        static_cast<float>(std::pow(2.0, -maxBias / static_cast<double>(span)));
    for (int64_t i = 0; i < count; ++i)
      dst[i] = static_cast<float>(
          std::pow(static_cast<double>(base), double(first + i * step)));
  };
  fill(closest, closest, 1, 1, out);
  fill(2 * closest, heads - closest, 1, 2, out + closest);
}

} // namespace llmk

#endif // LLM_RUNTIME_KERNELS_CPU_POSITIONMATH_H
