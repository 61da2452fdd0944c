//===- Rope.cpp - Rotary position embedding -------------------------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// Frequencies follow Hugging Face's `ROPE_INIT_FUNCTIONS`
// (modeling_rope_utils.py) operation by operation in fp32, because that is
// what the reference models run: an angle of position * inv_freq near
// position 4096 moves by 2.4e-4 rad per ulp of inv_freq, far beyond the
// parity tolerance, so only the same roundings give the same rotations.
// Where PyTorch evaluates `scalar / tensor` as `tensor.reciprocal() * scalar`
// so do we; pow, cos and sin are evaluated in double and rounded once, i.e.
// correctly rounded, which is what PyTorch's vectorized fp32 versions return
// in all but rare last-bit cases.
//
//===----------------------------------------------------------------------===//

#include "Common.h"
#include "Kernels.h"
#include "ThreadPool.h"

#include <algorithm>
#include <cmath>
#include <vector>

using namespace llmk;

namespace {

constexpr double kPi = 3.141592653589793;

/// Correctly rounded fp32 pow.
float powf32(float base, float exponent) {
  return static_cast<float>(
      std::pow(static_cast<double>(base), static_cast<double>(exponent)));
}

/// `base ** (torch.arange(0, dim, 2).float() / dim)`: pos_freqs.
std::vector<float> positionFrequencies(float base, int64_t dim) {
  std::vector<float> freqs(dim / 2);
  for (int64_t i = 0; i < dim / 2; ++i)
    freqs[i] =
        powf32(base, static_cast<float>(2 * i) / static_cast<float>(dim));
  return freqs;
}

/// _compute_default_rope_parameters: 1 / pos_freqs.
std::vector<float> defaultInvFreq(float base, int64_t dim) {
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
float dynamicBase(double theta, double factor, int64_t dim, int64_t seqLen,
                  int64_t originalMaxPosition) {
  float ratio = static_cast<float>(factor) * static_cast<float>(seqLen);
  ratio = ratio / static_cast<float>(originalMaxPosition);
  ratio = ratio - static_cast<float>(factor - 1.0);
  double exponent = static_cast<double>(dim) / static_cast<double>(dim - 2);
  float scaled =
      static_cast<float>(std::pow(static_cast<double>(ratio), exponent));
  return static_cast<float>(theta) * scaled;
}

/// _compute_yarn_parameters.
RopeFrequencies yarn(double theta, int64_t dim, double factor,
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
std::vector<float> llama3(double theta, int64_t dim, double factor,
                          int64_t originalMaxPosition, double lowFreqFactor,
                          double highFreqFactor) {
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

RopeFrequencies ropeFrequencies(int64_t dim, double theta, int32_t kind,
                                double factor, int64_t originalMaxPosition,
                                double lowFreqFactor, double highFreqFactor,
                                double betaFast, double betaSlow,
                                double attentionFactor, int64_t seqLen) {
  RopeFrequencies result;
  switch (kind) {
  case LLMK_ROPE_LINEAR:
    result.invFreq = defaultInvFreq(static_cast<float>(theta), dim);
    for (float &value : result.invFreq)
      value = value / static_cast<float>(factor);
    return result;
  case LLMK_ROPE_DYNAMIC: {
    float base = static_cast<float>(theta);
    if (seqLen > originalMaxPosition)
      base = dynamicBase(theta, factor, dim, seqLen, originalMaxPosition);
    result.invFreq = defaultInvFreq(base, dim);
    return result;
  }
  case LLMK_ROPE_YARN:
    return yarn(theta, dim, factor, originalMaxPosition, betaFast, betaSlow,
                attentionFactor);
  case LLMK_ROPE_LLAMA3:
    result.invFreq = llama3(theta, dim, factor, originalMaxPosition,
                            lowFreqFactor, highFreqFactor);
    return result;
  default:
    result.invFreq = defaultInvFreq(static_cast<float>(theta), dim);
    return result;
  }
}

/// True when the scaling parameters are usable for `rotaryDim` features.
bool validScaling(int64_t rotaryDim, double theta, int32_t scalingKind,
                  double factor, int64_t originalMaxPosition,
                  double lowFreqFactor, double highFreqFactor) {
  bool needsFactor = scalingKind != LLMK_ROPE_NONE &&
                     (factor <= 0.0 || !std::isfinite(factor));
  bool needsContext =
      (scalingKind == LLMK_ROPE_DYNAMIC || scalingKind == LLMK_ROPE_YARN ||
       scalingKind == LLMK_ROPE_LLAMA3) &&
      originalMaxPosition <= 0;
  bool badLlama3 = scalingKind == LLMK_ROPE_LLAMA3 &&
                   (lowFreqFactor <= 0.0 || highFreqFactor <= lowFreqFactor);
  return rotaryDim >= 2 && rotaryDim % 2 == 0 && theta > 0.0 &&
         scalingKind >= LLMK_ROPE_NONE && scalingKind <= LLMK_ROPE_LLAMA3 &&
         !needsFactor && !needsContext && !badLlama3 &&
         !(scalingKind == LLMK_ROPE_DYNAMIC && rotaryDim <= 2);
}

/// Like transformers' dynamic_rope_update: the sequence length is the
/// largest position + 1.
int64_t lengthOfPositions(const int64_t *positions, int64_t count) {
  int64_t seqLen = 0;
  for (int64_t t = 0; t < count; ++t)
    seqLen = std::max(seqLen, positions[t] + 1);
  return seqLen;
}

} // namespace

extern "C" void llmk_rope(const float *x, const int64_t *positions, float *y,
                          int64_t tokens, int64_t numHeads, int64_t headDim,
                          int64_t rotaryDim, double theta, int32_t gptj,
                          int32_t scalingKind, double factor,
                          int64_t originalMaxPosition, double lowFreqFactor,
                          double highFreqFactor, double betaFast,
                          double betaSlow, double attentionFactor,
                          int64_t seqLen) {
  int64_t features = numHeads * headDim;
  if (tokens < 0 || numHeads < 0 || headDim < 0 || rotaryDim > headDim ||
      !validScaling(rotaryDim, theta, scalingKind, factor, originalMaxPosition,
                    lowFreqFactor, highFreqFactor)) {
    recordError("llmk_rope: invalid rotary dimensions or scaling parameters");
    if (y && tokens > 0 && features > 0)
      std::fill(y, y + tokens * features, 0.0f);
    return;
  }
  // The length is the largest position + 1 unless the caller knows it.
  if (seqLen < 0)
    seqLen = lengthOfPositions(positions, tokens);
  RopeFrequencies freqs = ropeFrequencies(
      rotaryDim, theta, scalingKind, factor, originalMaxPosition, lowFreqFactor,
      highFreqFactor, betaFast, betaSlow, attentionFactor, seqLen);
  const int64_t half = rotaryDim / 2;
  constexpr int64_t kTokensPerTask = 16;
  parallelFor((tokens + kTokensPerTask - 1) / kTokensPerTask,
              [&](int64_t task) {
                std::vector<float> cosines(half), sines(half);
                int64_t end = std::min(tokens, (task + 1) * kTokensPerTask);
                for (int64_t t = task * kTokensPerTask; t < end; ++t) {
                  // freqs = inv_freq @ position_ids.float(): one fp32 product.
                  float position = static_cast<float>(positions[t]);
                  for (int64_t i = 0; i < half; ++i) {
                    float angle = position * freqs.invFreq[i];
                    cosines[i] = static_cast<float>(std::cos(double(angle))) *
                                 freqs.attentionScaling;
                    sines[i] = static_cast<float>(std::sin(double(angle))) *
                               freqs.attentionScaling;
                  }
                  for (int64_t h = 0; h < numHeads; ++h) {
                    const float *in = x + t * features + h * headDim;
                    float *out = y + t * features + h * headDim;
                    // q * cos + rotate_half(q) * sin (or rotate_every_two).
                    for (int64_t i = 0; i < half; ++i) {
                      int64_t a = gptj ? 2 * i : i;
                      int64_t b = gptj ? 2 * i + 1 : i + half;
                      float x1 = in[a], x2 = in[b];
                      float c = cosines[i], s = sines[i];
                      out[a] = x1 * c - x2 * s;
                      out[b] = x2 * c + x1 * s;
                    }
                    if (out != in)
                      std::copy(in + rotaryDim, in + headDim, out + rotaryDim);
                  }
                }
              });
}

extern "C" int32_t llmk_rope_inv_freq(float *invFreq, float *attentionScaling,
                                      int64_t rotaryDim, double theta,
                                      int32_t scalingKind, double factor,
                                      int64_t originalMaxPosition,
                                      double lowFreqFactor,
                                      double highFreqFactor, double betaFast,
                                      double betaSlow, double attentionFactor) {
  if (rotaryDim < 2 || rotaryDim % 2 || !(theta > 0.0) ||
      scalingKind < LLMK_ROPE_NONE || scalingKind > LLMK_ROPE_LLAMA3 ||
      scalingKind == LLMK_ROPE_DYNAMIC)
    return 0;
  RopeFrequencies freqs = ropeFrequencies(
      rotaryDim, theta, scalingKind, factor, originalMaxPosition, lowFreqFactor,
      highFreqFactor, betaFast, betaSlow, attentionFactor,
      /*seqLen=*/0);
  std::copy(freqs.invFreq.begin(), freqs.invFreq.end(), invFreq);
  *attentionScaling = freqs.attentionScaling;
  return 1;
}

extern "C" void llmk_rope_inv_freq_at(
    const int64_t *positions, int64_t count, float *invFreq, int64_t rotaryDim,
    double theta, int32_t scalingKind, double factor,
    int64_t originalMaxPosition, double lowFreqFactor, double highFreqFactor,
    double betaFast, double betaSlow, double attentionFactor) {
  if (count < 0 ||
      !validScaling(rotaryDim, theta, scalingKind, factor, originalMaxPosition,
                    lowFreqFactor, highFreqFactor)) {
    recordError("llmk_rope_inv_freq_at: invalid rotary dimensions or scaling "
                "parameters");
    if (invFreq && rotaryDim >= 2)
      std::fill(invFreq, invFreq + rotaryDim / 2, 0.0f);
    return;
  }
  RopeFrequencies freqs = ropeFrequencies(
      rotaryDim, theta, scalingKind, factor, originalMaxPosition, lowFreqFactor,
      highFreqFactor, betaFast, betaSlow, attentionFactor,
      lengthOfPositions(positions, count));
  std::copy(freqs.invFreq.begin(), freqs.invFreq.end(), invFreq);
}

extern "C" void llmk_linear_rope(const float *x, const void *w, int32_t wDtype,
                                 const float *bias, float *y, int64_t m,
                                 int64_t k, int64_t n, const int64_t *positions,
                                 const float *invFreq, int64_t numHeads,
                                 int64_t headDim, int64_t rotaryDim,
                                 int32_t gptj, float attentionScaling) {
  if (n != numHeads * headDim || rotaryDim < 2 || rotaryDim % 2 ||
      rotaryDim > headDim) {
    recordError("llmk_linear_rope: invalid rotary dimensions");
    return;
  }
  // Blocks of rows: each block is projected, then rotated while its output
  // is still in cache.
  constexpr int64_t kRows = 16;
  const int64_t half = rotaryDim / 2;
  for (int64_t r0 = 0; r0 < m; r0 += kRows) {
    int64_t rows = std::min(kRows, m - r0);
    llmk_linear(x + r0 * k, w, wDtype, bias, y + r0 * n, rows, k, n);
    parallelFor(rows, [&](int64_t r) {
      std::vector<float> cosines(half), sines(half);
      float position = static_cast<float>(positions[r0 + r]);
      for (int64_t i = 0; i < half; ++i) {
        float angle = position * invFreq[i];
        cosines[i] =
            static_cast<float>(std::cos(double(angle))) * attentionScaling;
        sines[i] =
            static_cast<float>(std::sin(double(angle))) * attentionScaling;
      }
      float *row = y + (r0 + r) * n;
      for (int64_t h = 0; h < numHeads; ++h) {
        float *head = row + h * headDim;
        for (int64_t i = 0; i < half; ++i) {
          int64_t a = gptj ? 2 * i : i;
          int64_t b = gptj ? 2 * i + 1 : i + half;
          float x1 = head[a], x2 = head[b];
          head[a] = x1 * cosines[i] - x2 * sines[i];
          head[b] = x2 * cosines[i] + x1 * sines[i];
        }
      }
    });
  }
}
