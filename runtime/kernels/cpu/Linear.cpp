//===- Linear.cpp - Projections and batched matmul ------------------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// y = x · wᵀ with the weight streamed from the parameter archive in its own
// dtype. One activation row (decode) is a GEMV, bound by memory bandwidth:
// threads split the weight rows and each streams its rows once. More rows
// (prefill) run a register-tiled GEMM in which the weight is the broadcast
// operand, so weight rows are read in place (converted to fp32 one small tile
// at a time) and only the activations are repacked.
//
//===----------------------------------------------------------------------===//

#include "Common.h"
#include "Kernels.h"
#include "Simd.h"
#include "ThreadPool.h"

#include <algorithm>
#include <cstring>
#include <vector>

using namespace llmk;

namespace {

/// The [n, k] operand of a GEMM.
struct WeightMatrix {
  const void *data;
  int32_t dtype;
  /// Element (row i, step p) is at i * ld + p when true (linear weights and
  /// transposed matmul operands), at p * ld + i when false (a plain [k, n]).
  bool rowMajor;
  int64_t ld;
};

/// Steps of k per pass over a tile: the weight tile (gemmRows x kBlockK)
/// stays in L1 and the activation block (kBlockM x kBlockK) in L2.
constexpr int64_t kBlockK = 256;
/// Activation rows per block (rounded up to whole panels).
constexpr int64_t kBlockM = 256;
/// Weight tiles per GEMM task: enough reuse of each packed activation slab
/// while leaving tasks for every thread.
constexpr int64_t kTilesPerTask = 6;
/// Bytes of weights a GEMV task streams, so that a task outweighs the cost
/// of scheduling it.
constexpr int64_t kGemvTaskBytes = 64 << 10;

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

void gemv(const float *x, const WeightMatrix &w, const float *bias, float *y,
          int64_t k, int64_t n) {
  const SimdKernels &simd = getSimdKernels();
  int64_t rowBytes = std::max<int64_t>(1, k * dtypeSize(w.dtype));
  int64_t rowsPerTask =
      std::max<int64_t>(4, (kGemvTaskBytes / rowBytes + 3) / 4 * 4);
  parallelFor(ceilDiv(n, rowsPerTask), [&](int64_t task) {
    int64_t begin = task * rowsPerTask;
    int64_t end = std::min(n, begin + rowsPerTask);
    simd.gemv(x, w.data, w.dtype, k, begin, end, bias, y);
  });
}

/// Returns weight rows [row0, row0 + rows) x steps [p0, p0 + kc) as fp32 rows
/// of stride *ld: in place when they already are, else converted (or
/// gathered) into `buffer` (rows x kBlockK).
const float *weightTile(const WeightMatrix &w, int64_t row0, int rows,
                        int64_t p0, int64_t kc, const SimdKernels &simd,
                        float *buffer, int64_t *ld) {
  if (w.rowMajor && w.dtype == LLMK_F32) {
    *ld = w.ld;
    return static_cast<const float *>(w.data) + row0 * w.ld + p0;
  }
  *ld = kBlockK;
  if (w.rowMajor) {
    const char *base = static_cast<const char *>(w.data);
    for (int r = 0; r < rows; ++r)
      simd.convert(base + ((row0 + r) * w.ld + p0) * dtypeSize(w.dtype),
                   w.dtype, buffer + r * kBlockK, kc);
    return buffer;
  }
  for (int64_t p = 0; p < kc; ++p)
    for (int r = 0; r < rows; ++r)
      buffer[r * kBlockK + p] =
          loadWeight(w.data, w.dtype, (p0 + p) * w.ld + row0 + r);
  return buffer;
}

/// y[m, n] = x[m, k] · wᵀ + bias for m > 1 (any m works).
void gemm(const float *x, const WeightMatrix &w, const float *bias, float *y,
          int64_t m, int64_t k, int64_t n) {
  const SimdKernels &simd = getSimdKernels();
  const int64_t cols = simd.gemmCols;
  const int64_t tileRows = simd.gemmRows;
  const int64_t tileSize = tileRows * cols;
  const int64_t blockM = ceilDiv(std::min(m, kBlockM), cols) * cols;
  const int64_t chunkRows = tileRows * kTilesPerTask;

  // Activations transposed into panels [k][cols] so that a tile loads whole
  // vectors of m; zero rows pad the last panel.
  std::vector<float> packed(blockM * k);
  for (int64_t m0 = 0; m0 < m; m0 += blockM) {
    const int64_t blockRows = std::min(blockM, m - m0);
    const int64_t panels = ceilDiv(blockRows, cols);
    parallelFor(panels, [&](int64_t panel) {
      float *dst = packed.data() + panel * k * cols;
      for (int64_t c = 0; c < cols; ++c) {
        int64_t row = panel * cols + c;
        if (row < blockRows) {
          const float *src = x + (m0 + row) * k;
          for (int64_t p = 0; p < k; ++p)
            dst[p * cols + c] = src[p];
        } else {
          for (int64_t p = 0; p < k; ++p)
            dst[p * cols + c] = 0.0f;
        }
      }
    });

    parallelFor(ceilDiv(n, chunkRows), [&](int64_t task) {
      const int64_t n0 = task * chunkRows;
      const int64_t tiles = ceilDiv(std::min(chunkRows, n - n0), tileRows);
      thread_local std::vector<float> acc, buffer;
      acc.resize(tiles * panels * tileSize);
      buffer.resize(tileRows * kBlockK);
      for (int64_t p0 = 0; p0 < k; p0 += kBlockK) {
        const int64_t kc = std::min(kBlockK, k - p0);
        for (int64_t t = 0; t < tiles; ++t) {
          const int64_t row0 = n0 + t * tileRows;
          const int rows = static_cast<int>(std::min(tileRows, n - row0));
          int64_t ld;
          const float *tile =
              weightTile(w, row0, rows, p0, kc, simd, buffer.data(), &ld);
          for (int64_t panel = 0; panel < panels; ++panel) {
            int64_t valid = std::min(cols, blockRows - panel * cols);
            int vectors = static_cast<int>(ceilDiv(valid, simd.width));
            simd.gemmTile(tile, ld, rows,
                          packed.data() + panel * k * cols + p0 * cols, kc,
                          vectors, acc.data() + (t * panels + panel) * tileSize,
                          p0 > 0);
          }
        }
      }
      // The tiles hold yᵀ: write them back transposed, once per task.
      for (int64_t t = 0; t < tiles; ++t) {
        const int64_t row0 = n0 + t * tileRows;
        const int64_t rows = std::min(tileRows, n - row0);
        for (int64_t panel = 0; panel < panels; ++panel) {
          const float *tile = acc.data() + (t * panels + panel) * tileSize;
          int64_t valid = std::min(cols, blockRows - panel * cols);
          for (int64_t c = 0; c < valid; ++c) {
            float *out = y + (m0 + panel * cols + c) * n + row0;
            for (int64_t r = 0; r < rows; ++r)
              out[r] = tile[r * cols + c] + (bias ? bias[row0 + r] : 0.0f);
          }
        }
      }
    });
  }
}

/// y = x · w (w a plain [k, n] fp32 matrix) for one row of x: an axpy over the
/// rows of w, split by columns.
void rowTimesMatrix(const float *x, const float *w, float *y, int64_t k,
                    int64_t n) {
  const SimdKernels &simd = getSimdKernels();
  constexpr int64_t kColumnsPerTask = 512;
  parallelFor(ceilDiv(n, kColumnsPerTask), [&](int64_t task) {
    int64_t c0 = task * kColumnsPerTask;
    int64_t width = std::min(kColumnsPerTask, n - c0);
    std::fill(y + c0, y + c0 + width, 0.0f);
    simd.axpyRows(y + c0, x, w + c0, LLMK_F32, n, k, width);
  });
}

void product(const float *x, const WeightMatrix &w, const float *bias, float *y,
             int64_t m, int64_t k, int64_t n) {
  if (m <= 0 || n <= 0)
    return;
  if (k == 0) {
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j)
        y[i * n + j] = bias ? bias[j] : 0.0f;
    return;
  }
  if (m == 1 && w.rowMajor)
    return gemv(x, w, bias, y, k, n);
  if (m == 1 && !bias && w.dtype == LLMK_F32)
    return rowTimesMatrix(x, static_cast<const float *>(w.data), y, k, n);
  gemm(x, w, bias, y, m, k, n);
}

} // namespace

void llmk::linear(const float *x, const void *w, int32_t dtype,
                  const float *bias, float *y, int64_t m, int64_t k,
                  int64_t n) {
  product(x, WeightMatrix{w, dtype, /*rowMajor=*/true, k}, bias, y, m, k, n);
}

extern "C" void llmk_linear(const float *x, const void *w, int32_t wDtype,
                            const float *bias, float *y, int64_t m, int64_t k,
                            int64_t n) {
  if (m < 0 || k < 0 || n < 0) {
    recordError("llmk_linear: negative dimension");
    return;
  }
  if (!isValidDtype(wDtype) || (m > 0 && k > 0 && !x) ||
      (n > 0 && k > 0 && !w)) {
    recordError("llmk_linear: invalid weight dtype or null operand");
    if (y)
      std::fill(y, y + m * n, 0.0f);
    return;
  }
  llmk::linear(x, w, wDtype, bias, y, m, k, n);
}

extern "C" void llmk_matmul(const float *a, const float *b, float *c,
                            int64_t batch, int64_t m, int64_t k, int64_t n,
                            int32_t transposeB) {
  if (batch < 0 || m < 0 || k < 0 || n < 0) {
    recordError("llmk_matmul: negative dimension");
    return;
  }
  auto one = [&](int64_t i) {
    WeightMatrix w{b + i * k * n, LLMK_F32, transposeB != 0,
                   transposeB ? k : n};
    product(a + i * m * k, w, nullptr, c + i * m * n, m, k, n);
  };
  // Small products (attention-sized) parallelize better across the batch;
  // large ones parallelize inside (a nested loop runs inline).
  if (batch > 1 && m * n * k < (int64_t(1) << 22))
    parallelFor(batch, one);
  else
    for (int64_t i = 0; i < batch; ++i)
      one(i);
}
