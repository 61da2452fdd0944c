//===- Rope.cpp - Rotary position embedding -------------------------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// The frequencies come from PositionMath.h, shared with --llm-lower-rope;
// cos and sin are evaluated in double and rounded once.
//
//===----------------------------------------------------------------------===//

#include "Common.h"
#include "Kernels.h"
#include "PositionMath.h"
#include "ThreadPool.h"

#include <algorithm>
#include <cmath>
#include <vector>

using namespace llmk;

namespace {

RopeScalingParams scalingParams(int32_t kind, double factor,
                                int64_t originalMaxPosition,
                                double lowFreqFactor, double highFreqFactor,
                                double betaFast, double betaSlow,
                                double attentionFactor) {
  return {kind,          factor,         originalMaxPosition,
          lowFreqFactor, highFreqFactor, betaFast,
          betaSlow,      attentionFactor};
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
  RopeScalingParams scaling =
      scalingParams(scalingKind, factor, originalMaxPosition, lowFreqFactor,
                    highFreqFactor, betaFast, betaSlow, attentionFactor);
  if (tokens < 0 || numHeads < 0 || headDim < 0 || rotaryDim > headDim ||
      !isValidRopeScaling(rotaryDim, theta, scaling)) {
    recordError("llmk_rope: invalid rotary dimensions or scaling parameters");
    if (y && tokens > 0 && features > 0)
      std::fill(y, y + tokens * features, 0.0f);
    return;
  }
  // The length is the largest position + 1 unless the caller knows it.
  if (seqLen < 0)
    seqLen = lengthOfPositions(positions, tokens);
  RopeFrequencies freqs = ropeFrequencies(rotaryDim, theta, scaling, seqLen);
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

extern "C" void llmk_rope_inv_freq_at(
    const int64_t *positions, int64_t count, float *invFreq, int64_t rotaryDim,
    double theta, int32_t scalingKind, double factor,
    int64_t originalMaxPosition, double lowFreqFactor, double highFreqFactor,
    double betaFast, double betaSlow, double attentionFactor) {
  RopeScalingParams scaling =
      scalingParams(scalingKind, factor, originalMaxPosition, lowFreqFactor,
                    highFreqFactor, betaFast, betaSlow, attentionFactor);
  if (count < 0 || !isValidRopeScaling(rotaryDim, theta, scaling)) {
    recordError("llmk_rope_inv_freq_at: invalid rotary dimensions or scaling "
                "parameters");
    if (invFreq && rotaryDim >= 2)
      std::fill(invFreq, invFreq + rotaryDim / 2, 0.0f);
    return;
  }
  RopeFrequencies freqs = ropeFrequencies(rotaryDim, theta, scaling,
                                          lengthOfPositions(positions, count));
  std::copy(freqs.invFreq.begin(), freqs.invFreq.end(), invFreq);
}

namespace {

/// llmk_linear_rope with the projection `project(r0, rows)` of rows
/// [r0, r0 + rows) into y; `invalid` is the (static) error message of
/// invalid rotary dimensions.
template <typename Project>
void projectAndRotate(const char *invalid, Project project, float *y, int64_t m,
                      int64_t n, const int64_t *positions, const float *invFreq,
                      int64_t numHeads, int64_t headDim, int64_t rotaryDim,
                      int32_t gptj, float attentionScaling) {
  if (n != numHeads * headDim || rotaryDim < 2 || rotaryDim % 2 ||
      rotaryDim > headDim) {
    recordError(invalid);
    return;
  }
  // Blocks of rows: each block is projected, then rotated while its output
  // is still in cache (in L2: blocks as tall as the GEMM's tasks, so the
  // weight is streamed once per block).
  constexpr int64_t kRows = 256;
  const int64_t half = rotaryDim / 2;
  for (int64_t r0 = 0; r0 < m; r0 += kRows) {
    int64_t rows = std::min(kRows, m - r0);
    project(r0, rows);
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

} // namespace

extern "C" void llmk_linear_rope(const float *x, const void *w, int32_t wDtype,
                                 int32_t wLayout, const float *bias, float *y,
                                 int64_t m, int64_t k, int64_t n,
                                 const int64_t *positions, const float *invFreq,
                                 int64_t numHeads, int64_t headDim,
                                 int64_t rotaryDim, int32_t gptj,
                                 float attentionScaling) {
  llmk::observeLinear(w, x, m, k);
  projectAndRotate(
      "llmk_linear_rope: invalid rotary dimensions",
      [&](int64_t r0, int64_t rows) {
        llmk::linearUnobserved(x + r0 * k, w, wDtype, wLayout, bias, y + r0 * n,
                               rows, k, n);
      },
      y, m, n, positions, invFreq, numHeads, headDim, rotaryDim, gptj,
      attentionScaling);
}

extern "C" void
llmk_linear_q_rope(const float *x, const void *w, int32_t bits, int64_t group,
                   int32_t flags, const float *bias, float *y, int64_t m,
                   int64_t k, int64_t n, const int64_t *positions,
                   const float *invFreq, int64_t numHeads, int64_t headDim,
                   int64_t rotaryDim, int32_t gptj, float attentionScaling) {
  projectAndRotate(
      "llmk_linear_q_rope: invalid rotary dimensions",
      [&](int64_t r0, int64_t rows) {
        llmk_linear_q(x + r0 * k, w, bits, group, flags, bias, y + r0 * n, rows,
                      k, n);
      },
      y, m, n, positions, invFreq, numHeads, headDim, rotaryDim, gptj,
      attentionScaling);
}
