//===- Kernels.cpp - Elementwise, normalization and routing kernels -------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// The kernels whose cost is a pass over memory: embeddings, norms,
// activations, softmax, position biases, and the MoE layer built on
// `linear`. Each follows the arithmetic of the Hugging Face module it stands
// for (noted per kernel) in fp32, with reductions in double where PyTorch's
// fp32 reduction is already accurate to the last bit or two.
//
//===----------------------------------------------------------------------===//

#include "Kernels.h"
#include "Common.h"
#include "PositionMath.h"
#include "Quant.h"
#include "Simd.h"
#include "ThreadPool.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

using namespace llmk;

namespace {

std::atomic<const char *> pendingError{nullptr};

/// Elements per task of an elementwise loop: large enough that scheduling
/// is noise, small enough to spread a decode-sized vector over threads.
constexpr int64_t kElementsPerTask = 1 << 14;

/// Runs fn(begin, end) over [0, count) in parallel chunks.
template <typename Fn> void forRanges(int64_t count, int64_t grain, Fn fn) {
  if (count <= 0)
    return;
  int64_t tasks = (count + grain - 1) / grain;
  parallelFor(tasks, [&](int64_t task) {
    fn(task * grain, std::min(count, (task + 1) * grain));
  });
}

/// Rows per task for row-wise kernels over `cols` values.
int64_t rowGrain(int64_t cols) {
  return std::max<int64_t>(1, kElementsPerTask / std::max<int64_t>(1, cols));
}

float geluExact(float x) {
  // nn.functional.gelu: x * 0.5 * (1 + erf(x / sqrt(2))).
  return x * 0.5f * (1.0f + std::erf(x * 0.70710678118654752f));
}

float geluTanh(float x) {
  // GPT-2's gelu_new: 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))).
  float inner = 0.7978845608028654f * (x + 0.044715f * (x * x * x));
  return 0.5f * x * (1.0f + std::tanh(inner));
}

float silu(float x) { return x / (1.0f + std::exp(-x)); }

} // namespace

void llmk::recordError(const char *message) {
  const char *expected = nullptr;
  pendingError.compare_exchange_strong(expected, message);
}

float llmk::activate(float x, int32_t activation) {
  switch (activation) {
  case LLMK_ACT_GELU:
    return geluExact(x);
  case LLMK_ACT_GELU_TANH:
    return geluTanh(x);
  case LLMK_ACT_RELU:
    return x > 0.0f || x != x ? x : 0.0f; // NaN propagates, as in torch.relu.
  default:
    return silu(x);
  }
}

extern "C" {

void llmk_set_num_threads(int32_t n) { setNumThreads(n); }

int32_t llmk_get_num_threads(void) { return getNumThreads(); }

const char *llmk_take_error(void) { return pendingError.exchange(nullptr); }

void llmk_embedding(const int64_t *ids, const void *table, int32_t dtype,
                    int32_t layout, float *out, int64_t count, int64_t vocab,
                    int64_t dim) {
  if (count <= 0 || dim <= 0)
    return;
  if (!isValidDtype(dtype) || !isValidLayout(layout)) {
    recordError("llmk_embedding: invalid table dtype or layout");
    std::fill(out, out + count * dim, 0.0f);
    return;
  }
  const SimdKernels &simd = getSimdKernels();
  const char *rows = static_cast<const char *>(table);
  forRanges(count, rowGrain(dim), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      int64_t id = ids[i];
      if (id < 0 || id >= vocab) {
        recordError("llmk_embedding: token id out of range");
        std::fill(out + i * dim, out + (i + 1) * dim, 0.0f);
        continue;
      }
      if (layout == LLMK_LAYOUT_ROWS) {
        simd.convert(rows + id * dim * dtypeSize(dtype), dtype, out + i * dim,
                     dim);
        continue;
      }
      // A row of a panel is a column: one value per LLMK_PANEL_ROWS.
      int64_t base =
          (id / LLMK_PANEL_ROWS) * dim * LLMK_PANEL_ROWS + id % LLMK_PANEL_ROWS;
      for (int64_t p = 0; p < dim; ++p)
        out[i * dim + p] = loadWeight(table, dtype, base + p * LLMK_PANEL_ROWS);
    }
  });
}

void llmk_rms_norm(const float *x, const float *w, float *y, int64_t rows,
                   int64_t dim, float eps, float weightOffset) {
  if (dim <= 0)
    return;
  // LlamaRMSNorm: x * rsqrt(mean(x^2) + eps), then * weight (Gemma:
  // * (1 + weight)).
  forRanges(rows, rowGrain(dim), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float *in = x + r * dim;
      double sumSquares = 0.0;
      for (int64_t i = 0; i < dim; ++i)
        sumSquares += static_cast<double>(in[i]) * in[i];
      float variance = static_cast<float>(sumSquares / dim);
      float inverse = 1.0f / std::sqrt(variance + eps);
      float *dst = y + r * dim;
      for (int64_t i = 0; i < dim; ++i)
        dst[i] = (in[i] * inverse) * (w[i] + weightOffset);
    }
  });
}

void llmk_layer_norm(const float *x, const float *w, const float *b, float *y,
                     int64_t rows, int64_t dim, float eps) {
  if (dim <= 0)
    return;
  // nn.LayerNorm: biased variance, (x - mean) / sqrt(var + eps) * w + b.
  forRanges(rows, rowGrain(dim), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float *in = x + r * dim;
      double sum = 0.0;
      for (int64_t i = 0; i < dim; ++i)
        sum += in[i];
      double mean = sum / dim;
      double squares = 0.0;
      for (int64_t i = 0; i < dim; ++i)
        squares += (in[i] - mean) * (in[i] - mean);
      float meanF = static_cast<float>(mean);
      float inverse = static_cast<float>(1.0 / std::sqrt(squares / dim + eps));
      float *dst = y + r * dim;
      for (int64_t i = 0; i < dim; ++i) {
        float value = (in[i] - meanF) * inverse * w[i];
        dst[i] = b ? value + b[i] : value;
      }
    }
  });
}

void llmk_alibi(float *out, int64_t heads, int64_t qLen, int64_t kvLen,
                double maxBias) {
  if (heads <= 0 || qLen <= 0 || kvLen <= 0)
    return;
  std::vector<float> slopes(heads);
  alibiSlopes(heads, maxBias, slopes.data());
  forRanges(heads * qLen, rowGrain(kvLen), [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      float slope = slopes[row / qLen];
      int64_t position = row % qLen + kvLen - qLen;
      float *dst = out + row * kvLen;
      for (int64_t j = 0; j < kvLen; ++j)
        dst[j] = slope * static_cast<float>(j - position);
    }
  });
}

void llmk_relative_position_bias(const float *table, float *out, int64_t heads,
                                 int64_t qLen, int64_t kvLen,
                                 int64_t numBuckets, int64_t maxDistance,
                                 int32_t bidirectional) {
  if (heads <= 0 || qLen <= 0 || kvLen <= 0)
    return;
  RelativeBuckets buckets(numBuckets, maxDistance, bidirectional);
  if (!buckets.isValid()) {
    recordError("llmk_relative_position_bias: too few buckets or too short a "
                "max distance");
    std::fill(out, out + heads * qLen * kvLen, 0.0f);
    return;
  }
  // Buckets depend only on j - i: compute each distance once.
  // Index d = j - i + qLen - 1 holds relative position d - (kvLen - 1).
  std::vector<int64_t> bucketByDistance(qLen + kvLen - 1);
  for (int64_t d = 0; d < qLen + kvLen - 1; ++d)
    bucketByDistance[d] = buckets.bucket(d - (kvLen - 1));
  for (int64_t b : bucketByDistance) {
    if (b < 0 || b >= numBuckets) {
      recordError("llmk_relative_position_bias: bucket out of range");
      return;
    }
  }
  forRanges(heads * qLen, rowGrain(kvLen), [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      int64_t h = row / qLen, i = row % qLen;
      float *dst = out + row * kvLen;
      for (int64_t j = 0; j < kvLen; ++j) {
        dst[j] = table[bucketByDistance[j - i + qLen - 1] * heads + h];
      }
    }
  });
}

void llmk_gelu(const float *x, float *y, int64_t n, int32_t tanhApprox) {
  const SimdKernels &simd = getSimdKernels();
  forRanges(n, kElementsPerTask, [&](int64_t begin, int64_t end) {
    simd.gelu(x + begin, y + begin, end - begin, tanhApprox != 0);
  });
}

void llmk_silu(const float *x, float *y, int64_t n) {
  forRanges(n, kElementsPerTask, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      y[i] = silu(x[i]);
  });
}

void llmk_relu(const float *x, float *y, int64_t n) {
  // max(x, 0) with NaN propagated, as torch.relu and arith.maximumf do.
  forRanges(n, kElementsPerTask, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      y[i] = x[i] > 0.0f || x[i] != x[i] ? x[i] : 0.0f;
  });
}

void llmk_glu(const float *gate, const float *up, float *y, int64_t n,
              int32_t activation) {
  if (activation == LLMK_ACT_SILU) {
    const SimdKernels &simd = getSimdKernels();
    forRanges(n, kElementsPerTask, [&](int64_t begin, int64_t end) {
      simd.siluMul(gate + begin, up + begin, y + begin, end - begin);
    });
    return;
  }
  forRanges(n, kElementsPerTask, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      y[i] = activate(gate[i], activation) * up[i];
  });
}

void llmk_sigmoid_gate(const float *x, const float *gate, float *y,
                       int64_t rows, int64_t cols, int64_t gateCols) {
  if (rows <= 0 || cols <= 0)
    return;
  if (gateCols != 1 && gateCols != cols) {
    recordError("llmk_sigmoid_gate: expected a gate per row or per value");
    std::fill(y, y + rows * cols, 0.0f);
    return;
  }
  forRanges(rows, rowGrain(cols), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r)
      for (int64_t i = 0; i < cols; ++i) {
        const float g = gate[r * gateCols + (gateCols == 1 ? 0 : i)];
        y[r * cols + i] = x[r * cols + i] / (1.0f + std::exp(-g));
      }
  });
}

void llmk_softmax(const float *x, float *y, int64_t rows, int64_t cols) {
  if (cols <= 0)
    return;
  forRanges(rows, rowGrain(cols), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float *in = x + r * cols;
      float *dst = y + r * cols;
      float maxValue = *std::max_element(in, in + cols);
      if (maxValue == -std::numeric_limits<float>::infinity()) {
        // Fully masked: zeros, not NaN.
        std::fill(dst, dst + cols, 0.0f);
        continue;
      }
      double sum = 0.0;
      for (int64_t i = 0; i < cols; ++i) {
        dst[i] = std::exp(in[i] - maxValue);
        sum += dst[i];
      }
      float inverse = static_cast<float>(1.0 / sum);
      for (int64_t i = 0; i < cols; ++i)
        dst[i] *= inverse;
    }
  });
}

void llmk_add(const float *a, const float *b, float *y, int64_t n) {
  forRanges(n, kElementsPerTask, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      y[i] = a[i] + b[i];
  });
}

void llmk_mul(const float *a, const float *b, float *y, int64_t n) {
  forRanges(n, kElementsPerTask, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      y[i] = a[i] * b[i];
  });
}

void llmk_sub(const float *a, const float *b, float *y, int64_t n) {
  forRanges(n, kElementsPerTask, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      y[i] = a[i] - b[i];
  });
}

void llmk_scale(const float *x, float *y, int64_t n, float s) {
  forRanges(n, kElementsPerTask, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      y[i] = x[i] * s;
  });
}

void llmk_copy(const void *src, void *dst, int64_t bytes) {
  if (bytes > 0 && src != dst)
    std::memmove(dst, src, static_cast<size_t>(bytes));
}

} // extern "C"
