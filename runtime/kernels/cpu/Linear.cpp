//===- Linear.cpp - Projections and batched matmul ------------------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// y = x · wᵀ with the weight in its own dtype. One activation row (decode)
// is a GEMV, bound by memory bandwidth: threads split the weight and each
// streams its share once. More rows (prefill) run a GEMM on register tiles of
// up to `panelTileRows` activation rows by one panel of LLMK_PANEL_ROWS output
// features, in the BLIS order:
//   - the activations are packed once per call, the rows of a tile
//     interleaved, so a tile broadcasts them from one small contiguous block;
//   - weights packed in panels at load time (Layout.h) are read in place
//     (fp32) or converted one kBlockK-step slice at a time (f16, bf16) into
//     a per-thread buffer that stays in L2 while every row tile of the task
//     runs over it; other operands (row-major weights, matmul operands) are
//     packed into panels the same way;
//   - tasks are blocks of rows x groups of panels, enough of them to keep
//     every thread busy, each writing its own part of y;
//   - bf16 panels on a host with AVX512_BF16 run the same blocking on the
//     bf16 dot product (gemmBf16Dot), the activations rounded to bf16.
//
//===----------------------------------------------------------------------===//

#include "Common.h"
#include "Kernels.h"
#include "Layout.h"
#include "Quant.h"
#include "Simd.h"
#include "ThreadPool.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

using namespace llmk;

namespace {

constexpr int64_t kPanel = LLMK_PANEL_ROWS;

/// How the [n, k] operand of a product is stored.
enum class Form {
  /// LLMK_LAYOUT_PANELS.
  Panels,
  /// Row i at i * ld (linear weights, transposed matmul operands).
  Rows,
  /// Column i at i: element (i, p) at p * ld + i (a plain [k, n] matrix).
  Columns,
  /// Quantized (Quant.h's layout), `bits` and `group` set.
  Quantized,
};

/// The [n, k] operand of a GEMM.
struct WeightMatrix {
  const void *data;
  int32_t dtype;
  Form form;
  int64_t ld;
  int bits = 0;
  int64_t group = 0;
};

/// Steps of k per slice, at most: a tile's activations (panelTileRows x
/// kBlockK, 8 KB) stay in L1 and a panel's slice (kBlockK x kPanel, 48 KB)
/// in L2 while the tiles pass over it; the output tile is read and written
/// once per slice. (128 and 1024 measured within noise of 256 on the
/// shapes of llm-bench.)
constexpr int64_t kBlockK = 256;
/// Activation rows per task, at most: the packed slice of a block of rows
/// (kBlockM x kBlockK) stays in L2 while the task's panels pass over it.
constexpr int64_t kBlockM = 288;
/// Panels per task, at most.
constexpr int64_t kMaxTaskPanels = 6;
/// Packed activations per call, at most (bytes): longer inputs run in blocks
/// of rows.
constexpr int64_t kMaxPackedBytes = 32 << 20;
/// Bytes of weights a GEMV task streams, so that a task outweighs the cost
/// of scheduling it.
constexpr int64_t kGemvTaskBytes = 64 << 10;

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// The tasks of a GEMM over `tiles` row tiles and `panels` panels: row
/// groups of whole tiles (about `rowsPerGroup` of the `rows` rows) x groups
/// of panels, small enough that every thread gets several.
struct GemmTasks {
  GemmTasks(int64_t rows, int64_t rowsPerGroup, int64_t tiles, int64_t panels)
      : tiles(tiles), panels(panels) {
    const int64_t rowGroups = ceilDiv(rows, rowsPerGroup);
    tilesPerGroup = ceilDiv(tiles, rowGroups);
    panelsPerTask = std::clamp<int64_t>(
        panels * rowGroups / std::max<int64_t>(1, 4 * getNumThreads()), 1,
        kMaxTaskPanels);
    panelGroups = ceilDiv(panels, panelsPerTask);
    count = rowGroups * panelGroups;
  }
  /// Task `task`'s row tiles [t0, t1) and panels [j0, j1).
  void range(int64_t task, int64_t &t0, int64_t &t1, int64_t &j0,
             int64_t &j1) const {
    j0 = (task % panelGroups) * panelsPerTask;
    j1 = std::min(panels, j0 + panelsPerTask);
    t0 = task / panelGroups * tilesPerGroup;
    t1 = std::min(tiles, t0 + tilesPerGroup);
  }
  int64_t tiles, panels, tilesPerGroup = 0, panelsPerTask = 0, panelGroups = 0,
                         count = 0;
};

/// A growable scratch buffer aligned to a cache line, so that the vector
/// loads of the panels and activations converted into it never split across
/// two lines. Kept per thread between calls.
template <typename T> class ScratchBuffer {
public:
  T *get(int64_t count) {
    if (count > capacity) {
      void *p = nullptr;
      if (::posix_memalign(&p, 64, static_cast<size_t>(count) * sizeof(T)))
        p = nullptr;
      storage.reset(static_cast<T *>(p));
      capacity = p ? count : 0;
    }
    return storage.get();
  }

private:
  struct Free {
    void operator()(T *p) const { std::free(p); }
  };
  std::unique_ptr<T, Free> storage;
  int64_t capacity = 0;
};

void gemv(const float *x, const WeightMatrix &w, const float *bias, float *y,
          int64_t k, int64_t n) {
  const SimdKernels &simd = getSimdKernels();
  int64_t rowBytes = std::max<int64_t>(1, k * dtypeSize(w.dtype));
  if (w.form == Form::Panels) {
    // Whole groups of four panels per task (the GEMV reads up to four
    // streams at once), unless that leaves a thread without two tasks.
    int64_t panels = ceilDiv(n, kPanel);
    int64_t panelsPerTask =
        std::max<int64_t>(1, kGemvTaskBytes / (rowBytes * kPanel));
    if (panels >= 8 * getNumThreads())
      panelsPerTask = std::max<int64_t>(4, panelsPerTask / 4 * 4);
    parallelFor(ceilDiv(panels, panelsPerTask), [&](int64_t task) {
      int64_t begin = task * panelsPerTask;
      int64_t end = std::min(panels, begin + panelsPerTask);
      simd.gemvPanels(x, w.data, w.dtype, k, n, begin, end, bias, y);
    });
    return;
  }
  int64_t rowsPerTask =
      std::max<int64_t>(4, (kGemvTaskBytes / rowBytes + 3) / 4 * 4);
  parallelFor(ceilDiv(n, rowsPerTask), [&](int64_t task) {
    int64_t begin = task * rowsPerTask;
    int64_t end = std::min(n, begin + rowsPerTask);
    simd.gemv(x, w.data, w.dtype, k, begin, end, bias, y);
  });
}

/// Panel `j` of `w` over steps [p0, p0 + kc), as kc x kPanel fp32 values:
/// in place when the weight already is an fp32 panel, else converted or
/// gathered into `buffer` (zero past row n).
const float *panelSlice(const WeightMatrix &w, int64_t j, int64_t p0,
                        int64_t kc, int64_t k, int64_t n,
                        const SimdKernels &simd, float *buffer) {
  const char *base = static_cast<const char *>(w.data);
  const int64_t es = dtypeSize(w.dtype);
  const int64_t row0 = j * kPanel;
  const int64_t rows = std::min(kPanel, n - row0);
  switch (w.form) {
  case Form::Panels: {
    const char *slice = base + ((j * k + p0) * kPanel) * es;
    if (w.dtype == LLMK_F32)
      return reinterpret_cast<const float *>(slice);
    simd.convert(slice, w.dtype, buffer, kc * kPanel);
    return buffer;
  }
  case Form::Rows: {
    // Each row's slice converted contiguously, then scattered into the
    // panel's column.
    static thread_local float row[kBlockK];
    for (int64_t r = 0; r < kPanel; ++r) {
      if (r < rows)
        simd.convert(base + ((row0 + r) * w.ld + p0) * es, w.dtype, row, kc);
      for (int64_t p = 0; p < kc; ++p)
        buffer[p * kPanel + r] = r < rows ? row[p] : 0.0f;
    }
    return buffer;
  }
  case Form::Quantized: {
    // Chunks of 32 steps: each row's chunk dequantized contiguously, then
    // the 48 x 32 chunk transposed into the panel while it is in L1.
    constexpr int64_t kChunk = 32;
    static thread_local float chunk[kPanel * kChunk];
    for (int64_t c0 = 0; c0 < kc; c0 += kChunk) {
      const int64_t steps = std::min(kChunk, kc - c0);
      for (int64_t r = 0; r < kPanel; ++r) {
        float *dst = chunk + r * kChunk;
        if (r < rows)
          dequantize(w.data, n, k, w.bits, w.group, row0 + r, p0 + c0, steps,
                     dst);
        else
          std::fill(dst, dst + steps, 0.0f);
      }
      for (int64_t p = 0; p < steps; ++p)
        for (int64_t r = 0; r < kPanel; ++r)
          buffer[(c0 + p) * kPanel + r] = chunk[r * kChunk + p];
    }
    return buffer;
  }
  case Form::Columns:
    for (int64_t p = 0; p < kc; ++p) {
      float *dst = buffer + p * kPanel;
      simd.convert(base + ((p0 + p) * w.ld + row0) * es, w.dtype, dst, rows);
      std::fill(dst + rows, dst + kPanel, 0.0f);
    }
    return buffer;
  }
  return buffer;
}

/// Rows [0, rows) of `src` (k steps each, row stride k) rounded to the
/// nearest bf16 (ties to even; a NaN stays a quiet NaN rather than rounding
/// into an infinity) and packed for SimdKernels::gemmPanelBf16: dst[q * mr
/// + r] = bf16(src[r][2q]) | bf16(src[r][2q + 1]) << 16 (zero past k).
/// Each row is converted on its own, contiguously and branch-free (the
/// compiler vectorizes it), then the words are transposed into the tile:
/// measured 3-4x faster than converting in the tile's order, which was 40%
/// of the time of the 64-expert shape's small GEMMs.
void packBf16Tile(const float *src, int64_t k, int64_t rows, int64_t mr,
                  uint32_t *dst) {
  const int64_t pairs = ceilDiv(k, 2);
  thread_local std::vector<uint16_t> halves;
  halves.resize(static_cast<size_t>(mr * 2 * pairs));
  for (int64_t r = 0; r < rows; ++r) {
    const float *in = src + r * k;
    uint16_t *out = halves.data() + r * 2 * pairs;
    for (int64_t i = 0; i < k; ++i) {
      uint32_t bits;
      std::memcpy(&bits, in + i, sizeof(bits));
      const uint32_t rounded = (bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16;
      const uint32_t quiet = (bits >> 16) | 0x40u;
      out[i] = static_cast<uint16_t>(
          (bits & 0x7fffffffu) > 0x7f800000u ? quiet : rounded);
    }
    if (k % 2)
      out[k] = 0;
  }
  for (int64_t q = 0; q < pairs; ++q)
    for (int64_t r = 0; r < rows; ++r) {
      const uint16_t *pair = halves.data() + r * 2 * pairs + 2 * q;
      dst[q * mr + r] = uint32_t(pair[0]) | uint32_t(pair[1]) << 16;
    }
}

/// gemm for bf16 weights in panels on the bf16 dot product
/// (SimdKernels::gemmPanelBf16): the same blocking, over pairs of steps. The
/// activations are packed rounded to bf16, a pair of steps of a row in one
/// 32-bit word; each panel slice is interleaved by pairs of steps into the
/// task's buffer, which every row tile of the task then reads.
void gemmBf16Dot(const float *x, const WeightMatrix &w, const float *bias,
                 float *y, int64_t m, int64_t k, int64_t n) {
  const SimdKernels &simd = getSimdKernels();
  const int64_t mr = simd.panelTileRows;
  const int64_t panels = ceilDiv(n, kPanel);
  const int64_t pairs = ceilDiv(k, 2);
  const int64_t kSlices = ceilDiv(k, kBlockK);
  // Even, so that slices hold whole pairs.
  const int64_t sliceK = ceilDiv(ceilDiv(k, kSlices), 8) * 8;
  const int64_t rowsPerBlock =
      std::max<int64_t>(mr, kMaxPackedBytes / (4 * pairs) / mr * mr);

  thread_local ScratchBuffer<uint32_t> packedStorage;
  uint32_t *packed =
      packedStorage.get(std::min(ceilDiv(m, mr) * mr, rowsPerBlock) * pairs);
  if (!packed) {
    recordError("llmk_linear: cannot allocate the packed activations");
    std::fill(y, y + m * n, 0.0f);
    return;
  }
  const auto *weights = static_cast<const uint16_t *>(w.data);

  for (int64_t m0 = 0; m0 < m; m0 += rowsPerBlock) {
    const int64_t blockRows = std::min(rowsPerBlock, m - m0);
    const int64_t tiles = ceilDiv(blockRows, mr);
    parallelFor(tiles, [&](int64_t tile) {
      packBf16Tile(x + (m0 + tile * mr) * k, k,
                   std::min(mr, blockRows - tile * mr), mr,
                   packed + tile * mr * pairs);
    });

    const GemmTasks tasks(blockRows, kBlockM, tiles, panels);
    parallelFor(tasks.count, [&](int64_t task) {
      int64_t t0, t1, j0, j1;
      tasks.range(task, t0, t1, j0, j1);
      thread_local ScratchBuffer<uint16_t> scratch;
      uint16_t *buffer = scratch.get(sliceK * kPanel);
      if (!buffer) {
        recordError("llmk_linear: cannot allocate a panel buffer");
        return;
      }
      for (int64_t p0 = 0; p0 < k; p0 += sliceK) {
        const int64_t kc = std::min(sliceK, k - p0);
        const int64_t slicePairs = ceilDiv(kc, 2);
        for (int64_t j = j0; j < j1; ++j) {
          // Steps 2q and 2q + 1 of the panel side by side, per column.
          simd.interleaveBf16Pairs(weights + (j * k + p0) * kPanel, kc, buffer);
          const int cols = static_cast<int>(std::min(kPanel, n - j * kPanel));
          for (int64_t t = t0; t < t1; ++t) {
            const int rows = static_cast<int>(std::min(mr, blockRows - t * mr));
            simd.gemmPanelBf16(packed + t * mr * pairs + p0 / 2 * mr, mr, rows,
                               buffer, slicePairs,
                               y + (m0 + t * mr) * n + j * kPanel, n, cols,
                               p0 > 0, bias ? bias + j * kPanel : nullptr);
          }
        }
      }
    });
  }
}

/// y[m, n] = x[m, k] · wᵀ + bias for m > 1 (any m works).
void gemm(const float *x, const WeightMatrix &w, const float *bias, float *y,
          int64_t m, int64_t k, int64_t n) {
  const SimdKernels &simd = getSimdKernels();
  if (w.dtype == LLMK_BF16 && w.form == Form::Panels && simd.gemmPanelBf16)
    return gemmBf16Dot(x, w, bias, y, m, k, n);
  const int64_t mr = simd.panelTileRows;
  const int64_t panels = ceilDiv(n, kPanel);
  // Slices of k of about equal length, none of them a short remainder.
  const int64_t kSlices = ceilDiv(k, kBlockK);
  const int64_t sliceK = ceilDiv(ceilDiv(k, kSlices), 8) * 8;
  const int64_t rowsPerBlock =
      std::max<int64_t>(mr, kMaxPackedBytes / (4 * k) / mr * mr);

  // The packed activations: per tile of mr rows, k steps of mr values.
  thread_local ScratchBuffer<float> packedStorage;
  float *packed =
      packedStorage.get(std::min(ceilDiv(m, mr) * mr, rowsPerBlock) * k);
  if (!packed) {
    recordError("llmk_linear: cannot allocate the packed activations");
    std::fill(y, y + m * n, 0.0f);
    return;
  }

  for (int64_t m0 = 0; m0 < m; m0 += rowsPerBlock) {
    const int64_t blockRows = std::min(rowsPerBlock, m - m0);
    const int64_t tiles = ceilDiv(blockRows, mr);
    parallelFor(tiles, [&](int64_t tile) {
      float *dst = packed + tile * mr * k;
      const int64_t rows = std::min(mr, blockRows - tile * mr);
      const float *src = x + (m0 + tile * mr) * k;
      // A step of every row at a time: contiguous writes.
      for (int64_t p = 0; p < k; ++p)
        for (int64_t r = 0; r < rows; ++r)
          dst[p * mr + r] = src[r * k + p];
    });

    // Tasks: row groups of about kBlockM rows (whole tiles) x groups of
    // panels, small enough that every thread gets several. A quantized
    // weight is dequantized once per slice and row group: one group of up
    // to twice as many rows halves that work.
    const GemmTasks tasks(blockRows,
                          w.form == Form::Quantized ? 2 * kBlockM : kBlockM,
                          tiles, panels);
    parallelFor(tasks.count, [&](int64_t task) {
      int64_t t0, t1, j0, j1;
      tasks.range(task, t0, t1, j0, j1);
      thread_local ScratchBuffer<float> scratch;
      float *buffer = scratch.get(sliceK * kPanel);
      if (!buffer) {
        recordError("llmk_linear: cannot allocate a panel buffer");
        return;
      }
      for (int64_t p0 = 0; p0 < k; p0 += sliceK) {
        const int64_t kc = std::min(sliceK, k - p0);
        // The panel's slice stays in L2 while the row tiles pass over it,
        // each tile's activations in L1.
        for (int64_t j = j0; j < j1; ++j) {
          const float *slice = panelSlice(w, j, p0, kc, k, n, simd, buffer);
          const int cols = static_cast<int>(std::min(kPanel, n - j * kPanel));
          for (int64_t t = t0; t < t1; ++t) {
            const int rows = static_cast<int>(std::min(mr, blockRows - t * mr));
            simd.gemmPanel(packed + t * mr * k + p0 * mr, mr, rows, slice, kc,
                           y + (m0 + t * mr) * n + j * kPanel, n, cols, p0 > 0,
                           bias ? bias + j * kPanel : nullptr);
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
  if (m == 1 && w.form != Form::Columns)
    return gemv(x, w, bias, y, k, n);
  if (m == 1 && !bias && w.dtype == LLMK_F32)
    return rowTimesMatrix(x, static_cast<const float *>(w.data), y, k, n);
  gemm(x, w, bias, y, m, k, n);
}

} // namespace

void llmk::linear(const float *x, const void *w, int32_t dtype, int32_t layout,
                  const float *bias, float *y, int64_t m, int64_t k,
                  int64_t n) {
  Form form = layout == LLMK_LAYOUT_PANELS ? Form::Panels : Form::Rows;
  product(x, WeightMatrix{w, dtype, form, k}, bias, y, m, k, n);
}

namespace {

/// packPanels for elements of type T (the bytes of the dtype, moved as is).
template <typename T>
void packPanelsTyped(const T *in, int64_t n, int64_t k, T *out) {
  parallelFor(ceilDiv(n, kPanel), [&](int64_t j) {
    T *panel = out + j * k * kPanel;
    const int64_t rows = std::min(kPanel, n - j * kPanel);
    if (rows < kPanel)
      std::fill(panel, panel + k * kPanel, T(0));
    // Blocks of steps, so the rows being read and the panel being written
    // both stay in cache.
    constexpr int64_t kSteps = 64;
    for (int64_t p0 = 0; p0 < k; p0 += kSteps) {
      const int64_t steps = std::min(kSteps, k - p0);
      for (int64_t r = 0; r < rows; ++r) {
        const T *row = in + (j * kPanel + r) * k + p0;
        T *dst = panel + p0 * kPanel + r;
        for (int64_t p = 0; p < steps; ++p)
          dst[p * kPanel] = row[p];
      }
    }
  });
}

} // namespace

void llmk::packPanels(const void *src, int64_t elementBytes, int64_t n,
                      int64_t k, void *dst) {
  switch (elementBytes) {
  case 4:
    return packPanelsTyped(static_cast<const uint32_t *>(src), n, k,
                           static_cast<uint32_t *>(dst));
  case 2:
    return packPanelsTyped(static_cast<const uint16_t *>(src), n, k,
                           static_cast<uint16_t *>(dst));
  default: {
    // Any other element size: element by element.
    const char *in = static_cast<const char *>(src);
    char *out = static_cast<char *>(dst);
    const int64_t es = elementBytes;
    std::memset(out, 0, panelElements(n, k) * es);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t p = 0; p < k; ++p)
        std::memcpy(out + (((i / kPanel) * k + p) * kPanel + i % kPanel) * es,
                    in + (i * k + p) * es, es);
  }
  }
}

namespace {
// Per thread: a calibration observes the model it runs on its own thread,
// and other threads' models (C API users) are not observed. The entry
// points call these from the calling thread, never from the pool's.
thread_local LinearObserver linearObserver = nullptr;
thread_local void *linearObserverContext = nullptr;
} // namespace

void llmk::setLinearObserver(LinearObserver observer, void *context) {
  linearObserver = observer;
  linearObserverContext = context;
}

void llmk::observeLinear(const void *w, const float *x, int64_t m, int64_t k) {
  if (linearObserver && m > 0 && k > 0 && x && w)
    linearObserver(linearObserverContext, w, x, m, k);
}

extern "C" void llmk_linear(const float *x, const void *w, int32_t wDtype,
                            int32_t wLayout, const float *bias, float *y,
                            int64_t m, int64_t k, int64_t n) {
  observeLinear(w, x, m, k);
  linearUnobserved(x, w, wDtype, wLayout, bias, y, m, k, n);
}

void llmk::linearUnobserved(const float *x, const void *w, int32_t wDtype,
                            int32_t wLayout, const float *bias, float *y,
                            int64_t m, int64_t k, int64_t n) {
  if (m < 0 || k < 0 || n < 0) {
    recordError("llmk_linear: negative dimension");
    return;
  }
  if (!isValidDtype(wDtype) || !isValidLayout(wLayout) ||
      (m > 0 && k > 0 && !x) || (n > 0 && k > 0 && !w)) {
    recordError("llmk_linear: invalid weight dtype or layout, or null operand");
    if (y)
      std::fill(y, y + m * n, 0.0f);
    return;
  }
  llmk::linear(x, w, wDtype, wLayout, bias, y, m, k, n);
}

namespace {

/// The quantized GEMV's view of a weight of `bits` in groups of `group`.
int64_t blocksPerGroupOf(int64_t k, int64_t group) {
  if (group == kQuantBlock / 2)
    return 0; // Groups of 16: the halves' sums (SimdKernels::gemvQ).
  return group == 0 ? quantBlocks(k) : group / kQuantBlock;
}

/// The quantized product for few rows: each row's activations quantized per
/// block, then the integer GEMV over the weight, split by output rows.
void gemvQuantized(const float *x, const WeightMatrix &w, const float *bias,
                   float *y, int64_t m, int64_t k, int64_t n) {
  const SimdKernels &simd = getSimdKernels();
  const int64_t blocks = quantBlocks(k);
  // Groups of 16: blocksPerGroup 0, and the halves' sums (SimdKernels).
  const bool halves = w.group == kQuantBlock / 2;
  const int64_t blocksPerGroup = blocksPerGroupOf(k, w.group);
  // The caller's buffers, named through pointers: the workers of
  // parallelFor would each see their own (empty) thread_local.
  thread_local std::vector<int8_t> valueStorage;
  thread_local std::vector<float> scaleStorage, sumStorage, halfStorage;
  valueStorage.resize(blocks * kQuantBlock);
  scaleStorage.resize(blocks);
  sumStorage.resize(blocks);
  halfStorage.resize(halves ? 2 * blocks : 0);
  const int8_t *values = valueStorage.data();
  const float *scales = scaleStorage.data();
  const float *sums = halves ? halfStorage.data() : sumStorage.data();
  const auto *bytes = static_cast<const uint8_t *>(w.data);
  const auto *params = reinterpret_cast<const uint16_t *>(
      bytes + quantParamsOffset(n, k, w.bits));
  const int64_t rowBytes = blocks * quantBlockBytes(w.bits);
  // Rows per task: whole groups of four, about kGemvTaskBytes of weights.
  const int64_t rowsPerTask =
      std::max<int64_t>(4, (kGemvTaskBytes / rowBytes + 3) / 4 * 4);
  for (int64_t i = 0; i < m; ++i) {
    quantizeActivations(x + i * k, k,
                        {valueStorage.data(), scaleStorage.data(),
                         sumStorage.data(),
                         halves ? halfStorage.data() : nullptr});
    float *out = y + i * n;
    parallelFor(ceilDiv(n, rowsPerTask), [&](int64_t task) {
      int64_t begin = task * rowsPerTask;
      int64_t end = std::min(n, begin + rowsPerTask);
      simd.gemvQ(values, scales, sums, bytes, params, w.bits, blocks,
                 blocksPerGroup, begin, end, bias, out);
    });
  }
}

/// GemmQTileFn in portable C: the reference of the VNNI tile.
void gemmQTilePortable(const int8_t *x, int64_t xStride, int rows,
                       const uint8_t *w, int64_t quads, const int32_t *zeroSums,
                       const float *sums, const float *scale,
                       const float *offset, float *c, int64_t ldc, int cols,
                       bool accumulate) {
  for (int r = 0; r < rows; ++r)
    for (int j = 0; j < cols; ++j) {
      int32_t acc = 0;
      for (int64_t q = 0; q < quads; ++q)
        for (int i = 0; i < 4; ++i)
          acc += int32_t(w[(q * kPanel + j) * 4 + i]) *
                 int32_t(x[r * xStride + 4 * q + i]);
      float result = scale[j] * static_cast<float>(acc - zeroSums[r]) +
                     offset[j] * sums[r];
      float *out = c + r * ldc + j;
      *out = accumulate ? *out + result : result;
    }
}

/// Rows per tile of the W8A8 GEMM (4 x 48 int32 accumulators; 8 rows ran
/// slower).
constexpr int64_t kQuantTileRows = 4;

/// The W8A8 product (`llmk_linear_q` with `activations` 1, from
/// kMinQuantizedGemmRows rows): each row of x is quantized to int8 with one
/// scale (max|x| / 127), and integer tiles (GemmQTileFn) read the weight's
/// GEMM copy (quantQuadsOffset: unsigned bytes, four consecutive steps per
/// column, packed when the weight was bound); a tile's sums cover one
/// segment of a slice that lies in one weight group, converted and scaled
/// by the group's scale and offset, and the row's scale applies at the end.
void gemmQuantizedInt8(const float *x, const WeightMatrix &w, const float *bias,
                       float *y, int64_t m, int64_t k, int64_t n) {
  const int64_t blocks = quantBlocks(k), kp = blocks * kQuantBlock;
  const int64_t groupSize = w.group == 0 ? kp : w.group;
  const int64_t groups = quantGroups(k, w.group);
  const auto *bytes = static_cast<const uint8_t *>(w.data);
  const auto *params = reinterpret_cast<const uint16_t *>(
      bytes + quantParamsOffset(n, k, w.bits));
  const uint8_t *quads = bytes + quantQuadsOffset(n, k, w.bits, w.group);
  // 8 bits are stored signed: as unsigned bytes q + 128, whose sums exceed
  // the signed ones by 128 x the activations' sum.
  const int32_t zero = w.bits == 8 ? 128 : 0;
  GemmQTileFn tile =
      getSimdKernels().isa >= Isa::Avx512 ? getVnniGemmQTile() : nullptr;
  if (!tile)
    tile = &gemmQTilePortable;

  // The activations: int8 rows of kp steps (zero past k), a scale per row
  // and the sum of each block.
  // Kept between calls (no page faults on a fresh allocation per call),
  // named through pointers: the workers of parallelFor would each see
  // their own thread_local.
  thread_local std::vector<int8_t> xqStorage;
  thread_local std::vector<float> rowScaleStorage;
  thread_local std::vector<int32_t> blockSumStorage;
  xqStorage.resize(m * kp);
  rowScaleStorage.resize(m);
  blockSumStorage.resize(m * blocks);
  int8_t *const xq = xqStorage.data();
  float *const rowScale = rowScaleStorage.data();
  int32_t *const blockSum = blockSumStorage.data();
  parallelFor(m, [&](int64_t i) {
    const float *row = x + i * k;
    float amax = 0.0f;
    bool finite = true;
    for (int64_t p = 0; p < k; ++p) {
      finite &= std::isfinite(row[p]);
      amax = std::max(amax, std::fabs(row[p]));
    }
    const float inverse = amax > 0.0f ? 127.0f / amax : 0.0f;
    rowScale[i] =
        finite ? amax / 127.0f : std::numeric_limits<float>::quiet_NaN();
    int8_t *q = xq + i * kp;
    for (int64_t p = 0; p < kp; ++p) {
      int v = p < k && finite
                  ? static_cast<int>(std::nearbyint(row[p] * inverse))
                  : 0;
      q[p] = static_cast<int8_t>(std::clamp(v, -127, 127));
    }
    for (int64_t b = 0; b < blocks; ++b) {
      int32_t sum = 0;
      for (int64_t p = 0; p < kQuantBlock; ++p)
        sum += q[b * kQuantBlock + p];
      blockSum[i * blocks + b] = sum;
    }
  });

  const int64_t panels = ceilDiv(n, kPanel);
  const int64_t tiles = ceilDiv(m, kQuantTileRows);
  // Slices of whole blocks, about kBlockK steps.
  const int64_t sliceK =
      std::max<int64_t>(kQuantBlock, kBlockK / kQuantBlock * kQuantBlock);
  const GemmTasks tasks(m, 2 * kBlockM, tiles, panels);
  parallelFor(tasks.count, [&](int64_t task) {
    int64_t t0, t1, j0, j1;
    tasks.range(task, t0, t1, j0, j1);
    float scale[kPanel], offset[kPanel];
    for (int64_t p0 = 0; p0 < kp; p0 += sliceK) {
      const int64_t kc = std::min(sliceK, kp - p0);
      for (int64_t j = j0; j < j1; ++j) {
        const int64_t row0 = j * kPanel;
        const int cols = static_cast<int>(std::min(kPanel, n - row0));
        // The slice in the GEMM's copy, packed when the weight was bound.
        const uint8_t *packed = quads + (j * kp + p0) * kPanel;
        // Segments of the slice within one group.
        for (int64_t s0 = p0; s0 < p0 + kc;) {
          const int64_t g = std::min(groups - 1, s0 / groupSize);
          const int64_t s1 =
              std::min(p0 + kc, (s0 / groupSize + 1) * groupSize);
          for (int64_t c = 0; c < kPanel; ++c) {
            const uint16_t *pair =
                params +
                ((row0 + std::min<int64_t>(c, cols - 1)) * groups + g) * 2;
            scale[c] = c < cols ? halfToFloat(pair[0]) : 0.0f;
            offset[c] = c < cols ? halfToFloat(pair[1]) : 0.0f;
          }
          for (int64_t t = t0; t < t1; ++t) {
            const int64_t r0 = t * kQuantTileRows;
            const int rows = static_cast<int>(std::min(kQuantTileRows, m - r0));
            int32_t zeroSums[kQuantTileRows];
            float sums[kQuantTileRows];
            for (int r = 0; r < rows; ++r) {
              int32_t sum = 0;
              for (int64_t b = s0 / kQuantBlock; b < s1 / kQuantBlock; ++b)
                sum += blockSum[(r0 + r) * blocks + b];
              zeroSums[r] = zero * sum;
              sums[r] = static_cast<float>(sum);
            }
            tile(xq + r0 * kp + s0, kp, rows, packed + (s0 - p0) * kPanel,
                 (s1 - s0) / 4, zeroSums, sums, scale, offset,
                 y + r0 * n + row0, n, cols, s0 > 0);
          }
          s0 = s1;
        }
      }
    }
    // The rows' scales and the bias, once every slice is in.
    for (int64_t t = t0; t < t1; ++t)
      for (int64_t r = t * kQuantTileRows;
           r < std::min(m, (t + 1) * kQuantTileRows); ++r)
        for (int64_t j = j0 * kPanel; j < std::min(n, j1 * kPanel); ++j)
          y[r * n + j] = y[r * n + j] * rowScale[r] + (bias ? bias[j] : 0.0f);
  });
}

/// GemmQBlocksTileFn in portable C: the reference of the VNNI tile (the
/// same operations in the same order).
void gemmQBlocksTilePortable(const int8_t *x, int64_t xStride, int rows,
                             const float *xScale, const float *xSum,
                             const int32_t *xZero, int64_t xBlocks,
                             const uint8_t *w, int64_t blocks,
                             const float *scale, const float *offset, float *c,
                             int64_t ldc, int cols, bool accumulate) {
  constexpr int64_t kQuads = kQuantBlock / 4;
  for (int r = 0; r < rows; ++r)
    for (int j = 0; j < cols; ++j) {
      float sum = 0.0f;
      for (int64_t b = 0; b < blocks; ++b) {
        int32_t acc = 0;
        for (int64_t q = 0; q < kQuads; ++q)
          for (int i = 0; i < 4; ++i)
            acc += int32_t(w[((b * kQuads + q) * kPanel + j) * 4 + i]) *
                   int32_t(x[r * xStride + b * kQuantBlock + 4 * q + i]);
        const int64_t at = r * xBlocks + b;
        sum = std::fma(static_cast<float>(acc - xZero[at]),
                       scale[b * kPanel + j] * xScale[at], sum);
        sum = std::fma(offset[b * kPanel + j], xSum[at], sum);
      }
      float *out = c + r * ldc + j;
      *out = accumulate ? *out + sum : sum;
    }
}

/// The integer tiles' copy of blocks [b0, b1) of panel `j` of a weight
/// packed at 8 or 4 bits (Quant.h): per block, 8 quads holding the 48
/// columns' 4 consecutive codes as unsigned bytes (8 bits: q + 128),
/// column-minor; then per block the columns' scales and offsets. Columns
/// past row n are zero.
void packQuadSlice(const WeightMatrix &w, int64_t n, int64_t j, int64_t b0,
                   int64_t b1, uint8_t *quads, float *scale, float *offset) {
  const int64_t blocks = quantBlocks(w.ld),
                blockBytes = quantBlockBytes(w.bits);
  const int64_t groups = quantGroups(w.ld, w.group);
  const int64_t blocksPerGroup = w.group == 0 ? blocks : w.group / kQuantBlock;
  const auto *bytes = static_cast<const uint8_t *>(w.data);
  const auto *params = reinterpret_cast<const uint16_t *>(
      bytes + quantParamsOffset(n, w.ld, w.bits));
  const int64_t row0 = j * kPanel;
  const int64_t rows = std::min(kPanel, n - row0);
  auto *dst = reinterpret_cast<uint32_t *>(quads);
  constexpr int64_t kQuads = kQuantBlock / 4;
  for (int64_t r = 0; r < kPanel; ++r)
    for (int64_t b = b0; b < b1; ++b) {
      uint32_t *d = dst + (b - b0) * kQuads * kPanel + r;
      float &s = scale[(b - b0) * kPanel + r],
            &o = offset[(b - b0) * kPanel + r];
      if (r >= rows) {
        for (int64_t q = 0; q < kQuads; ++q)
          d[q * kPanel] = 0;
        s = o = 0.0f;
        continue;
      }
      const uint8_t *src = bytes + ((row0 + r) * blocks + b) * blockBytes;
      uint32_t words[kQuads];
      if (w.bits == 8) {
        std::memcpy(words, src, sizeof(words));
        for (uint32_t &word : words)
          word ^= 0x80808080u;
      } else {
        // Byte i: value i in its low nibble, value i + 16 in its high one.
        uint32_t in[kQuads / 2];
        std::memcpy(in, src, sizeof(in));
        for (int64_t q = 0; q < kQuads / 2; ++q) {
          words[q] = in[q] & 0x0f0f0f0fu;
          words[q + kQuads / 2] = (in[q] >> 4) & 0x0f0f0f0fu;
        }
      }
      for (int64_t q = 0; q < kQuads; ++q)
        d[q * kPanel] = words[q];
      const uint16_t *pair =
          params + ((row0 + r) * groups + b / blocksPerGroup) * 2;
      s = halfToFloat(pair[0]);
      o = halfToFloat(pair[1]);
    }
}

/// The product on int8 activations quantized per block of 32, as the GEMV
/// quantizes them (`llmk_linear_q` with LLMK_QUANT_INT8_BLOCKS, from
/// kMinQuantizedGemmRows rows; llama.cpp's numerics for its block formats):
/// for each slice of 8 blocks and each panel, a task packs the panel's codes
/// into the integer tiles' order (packQuadSlice: bytes, not floats, with no
/// copy of the weight kept), then every row tile of the task sums the
/// slice's blocks, each block's integer dot products scaled by its
/// activation scale and the weight group's scale, plus the group's offset
/// times the block's activation sum. `tile` is the VNNI tile (or, for
/// tests, the portable one); weights at 8 or 4 bits in groups of whole
/// blocks.
void gemmQuantizedBlocks(const float *x, const WeightMatrix &w,
                         const float *bias, float *y, int64_t m, int64_t k,
                         int64_t n, GemmQBlocksTileFn tile) {
  const int64_t blocks = quantBlocks(k), kp = blocks * kQuantBlock;
  const int32_t zero = w.bits == 8 ? 128 : 0;
  thread_local std::vector<int8_t> valueStorage;
  thread_local std::vector<float> scaleStorage, sumStorage;
  thread_local std::vector<int32_t> zeroStorage;
  valueStorage.resize(m * kp);
  scaleStorage.resize(m * blocks);
  sumStorage.resize(m * blocks);
  zeroStorage.resize(m * blocks);
  int8_t *const xq = valueStorage.data();
  float *const xScale = scaleStorage.data();
  float *const xSum = sumStorage.data();
  int32_t *const xZero = zeroStorage.data();
  parallelFor(m, [&](int64_t i) {
    quantizeActivations(x + i * k, k,
                        {xq + i * kp, xScale + i * blocks, xSum + i * blocks,
                         nullptr, xZero + i * blocks});
    for (int64_t b = 0; b < blocks; ++b)
      xZero[i * blocks + b] *= zero;
  });

  const int64_t panels = ceilDiv(n, kPanel);
  const int64_t tiles = ceilDiv(m, kQuantTileRows);
  constexpr int64_t kSliceBlocks = kBlockK / kQuantBlock;
  const GemmTasks tasks(m, 2 * kBlockM, tiles, panels);
  parallelFor(tasks.count, [&](int64_t task) {
    int64_t t0, t1, j0, j1;
    tasks.range(task, t0, t1, j0, j1);
    thread_local ScratchBuffer<uint8_t> quadStorage;
    thread_local ScratchBuffer<float> paramStorage;
    uint8_t *quads = quadStorage.get(kSliceBlocks * kQuantBlock * kPanel);
    float *scale = paramStorage.get(2 * kSliceBlocks * kPanel);
    if (!quads || !scale) {
      recordError("llmk_linear_q: cannot allocate a panel buffer");
      return;
    }
    float *offset = scale + kSliceBlocks * kPanel;
    for (int64_t b0 = 0; b0 < blocks; b0 += kSliceBlocks) {
      const int64_t b1 = std::min(blocks, b0 + kSliceBlocks);
      for (int64_t j = j0; j < j1; ++j) {
        packQuadSlice(w, n, j, b0, b1, quads, scale, offset);
        const int cols = static_cast<int>(std::min(kPanel, n - j * kPanel));
        for (int64_t t = t0; t < t1; ++t) {
          const int64_t r0 = t * kQuantTileRows;
          const int rows = static_cast<int>(std::min(kQuantTileRows, m - r0));
          tile(xq + r0 * kp + b0 * kQuantBlock, kp, rows,
               xScale + r0 * blocks + b0, xSum + r0 * blocks + b0,
               xZero + r0 * blocks + b0, blocks, quads, b1 - b0, scale, offset,
               y + r0 * n + j * kPanel, n, cols, b0 > 0);
        }
      }
    }
    if (bias)
      for (int64_t r = t0 * kQuantTileRows;
           r < std::min(m, t1 * kQuantTileRows); ++r)
        for (int64_t j = j0 * kPanel; j < std::min(n, j1 * kPanel); ++j)
          y[r * n + j] += bias[j];
  });
}

/// Rows from which a quantized product dequantizes the weight into the fp32
/// GEMM (whose rate then does not depend on the bits) rather than running
/// the integer GEMV once per row.
constexpr int64_t kMinQuantizedGemmRows = 4;

} // namespace

void llmk::linearQuantizedBlocksPortable(const float *x, const void *w,
                                         int32_t bits, int64_t group,
                                         const float *bias, float *y, int64_t m,
                                         int64_t k, int64_t n) {
  gemmQuantizedBlocks(
      x, WeightMatrix{w, LLMK_F32, Form::Quantized, k, bits, group}, bias, y, m,
      k, n, &gemmQBlocksTilePortable);
}

extern "C" void llmk_linear_q(const float *x, const void *w, int32_t bits,
                              int64_t group, int32_t flags, const float *bias,
                              float *y, int64_t m, int64_t k, int64_t n) {
  if (m < 0 || k < 0 || n < 0) {
    recordError("llmk_linear_q: negative dimension");
    return;
  }
  if (!checkQuantization(bits, group, k).empty() ||
      (flags & ~(LLMK_QUANT_INT8_ACTIVATIONS | LLMK_QUANT_PERMUTED |
                 LLMK_QUANT_INT8_BLOCKS)) != 0 ||
      ((flags & LLMK_QUANT_INT8_ACTIVATIONS) &&
       (flags & LLMK_QUANT_INT8_BLOCKS)) ||
      (group == kQuantBlock / 2 && (flags & LLMK_QUANT_INT8_ACTIVATIONS)) ||
      (m > 0 && k > 0 && !x) || (n > 0 && k > 0 && !w)) {
    recordError("llmk_linear_q: invalid quantization or flags, or null "
                "operand");
    if (y)
      std::fill(y, y + m * n, 0.0f);
    return;
  }
  if (m == 0 || n == 0)
    return;
  if (flags & LLMK_QUANT_PERMUTED) {
    // The rows of x in the weight's order of input features, in a buffer
    // of the calling thread's that grows to the largest call.
    static thread_local std::vector<float> permuted;
    const auto *perm = reinterpret_cast<const int32_t *>(
        static_cast<const uint8_t *>(w) +
        quantPermOffset(n, k, bits, group,
                        (flags & LLMK_QUANT_INT8_ACTIVATIONS) != 0));
    permuted.resize(static_cast<size_t>(m * k));
    for (int64_t r = 0; r < m; ++r)
      for (int64_t t = 0; t < k; ++t)
        permuted[r * k + t] = x[r * k + perm[t]];
    x = permuted.data();
  }
  const bool int8Activations = (flags & LLMK_QUANT_INT8_ACTIVATIONS) != 0;
  WeightMatrix weight{w, LLMK_F32, Form::Quantized, k, bits, group};
  if (k > 0 && int8Activations && m >= kMinQuantizedGemmRows)
    return gemmQuantizedInt8(x, weight, bias, y, m, k, n);
  // Block activations where the integer tile runs (VNNI) and the weight's
  // groups are whole blocks of 8- or 4-bit codes; else the fp32 GEMM on the
  // dequantized weight.
  if (k > 0 && (flags & LLMK_QUANT_INT8_BLOCKS) && m >= kMinQuantizedGemmRows &&
      (bits == 8 || bits == 4) && group % kQuantBlock == 0 &&
      getSimdKernels().isa >= Isa::Avx512)
    if (GemmQBlocksTileFn tile = getVnniGemmQBlocksTile())
      return gemmQuantizedBlocks(x, weight, bias, y, m, k, n, tile);
  if (k == 0 || m >= kMinQuantizedGemmRows)
    return product(x, weight, bias, y, m, k, n);
  gemvQuantized(x, weight, bias, y, m, k, n);
}

extern "C" void llmk_matmul(const float *a, const float *b, float *c,
                            int64_t batch, int64_t m, int64_t k, int64_t n,
                            int32_t transposeB) {
  if (batch < 0 || m < 0 || k < 0 || n < 0) {
    recordError("llmk_matmul: negative dimension");
    return;
  }
  auto one = [&](int64_t i) {
    WeightMatrix w{b + i * k * n, LLMK_F32,
                   transposeB ? Form::Rows : Form::Columns, transposeB ? k : n};
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

void llmk::groupedGemv(const float *x, const void *w, int32_t dtype,
                       int32_t layout, int bits, int64_t group, int64_t stride,
                       const int32_t *offsets, float *y, int64_t k, int64_t n,
                       int64_t experts) {
  const SimdKernels &simd = getSimdKernels();
  const int64_t rows = offsets[experts];
  if (rows <= 0 || n <= 0)
    return;
  if (k == 0) {
    std::fill(y, y + rows * n, 0.0f);
    return;
  }
  // The experts some row chose, in a buffer of the calling thread's.
  thread_local std::vector<int32_t> busyStorage;
  busyStorage.clear();
  for (int64_t e = 0; e < experts; ++e)
    if (offsets[e + 1] > offsets[e])
      busyStorage.push_back(static_cast<int32_t>(e));
  const int32_t *busy = busyStorage.data();
  const int64_t busyCount = static_cast<int64_t>(busyStorage.size());

  // Quantized: every row's activations quantized per block up front.
  const int64_t blocks = quantBlocks(k);
  const bool halves = bits != 0 && group == kQuantBlock / 2;
  thread_local std::vector<int8_t> valueStorage;
  thread_local std::vector<float> scaleStorage, sumStorage, halfStorage;
  if (bits != 0) {
    valueStorage.resize(rows * blocks * kQuantBlock);
    scaleStorage.resize(rows * blocks);
    sumStorage.resize(rows * blocks);
    halfStorage.resize(halves ? rows * 2 * blocks : 0);
    for (int64_t r = 0; r < rows; ++r)
      quantizeActivations(
          x + r * k, k,
          {valueStorage.data() + r * blocks * kQuantBlock,
           scaleStorage.data() + r * blocks, sumStorage.data() + r * blocks,
           halves ? halfStorage.data() + r * 2 * blocks : nullptr});
  }
  const int8_t *values = valueStorage.data();
  const float *scales = scaleStorage.data();
  const float *sums = halves ? halfStorage.data() : sumStorage.data();
  const int64_t sumStride = halves ? 2 * blocks : blocks;

  // Units of output rows: four panels or four rows (the GEMVs read four
  // streams at once: tasks of one panel measured 10-15% slower); units per
  // task: about kGemvTaskBytes of weights, fewer when that would leave a
  // thread without four tasks over all the chosen experts.
  const bool panels = bits == 0 && layout == LLMK_LAYOUT_PANELS;
  const int64_t rowBytes = bits != 0
                               ? blocks * quantBlockBytes(bits)
                               : std::max<int64_t>(1, k * dtypeSize(dtype));
  const int64_t unit = panels ? 4 * kPanel : 4;
  const int64_t units = ceilDiv(n, unit);
  const int64_t perTask = std::clamp<int64_t>(
      busyCount * units / (4 * getNumThreads()), 1,
      std::max<int64_t>(1, kGemvTaskBytes / (unit * rowBytes)));
  const int64_t chunks = ceilDiv(units, perTask);
  const int64_t blocksPerGroup = blocksPerGroupOf(k, group);
  parallelFor(busyCount * chunks, [&](int64_t task) {
    const int32_t e = busy[task / chunks];
    const int64_t u0 = task % chunks * perTask;
    const int64_t u1 = std::min(units, u0 + perTask);
    const char *we = static_cast<const char *>(w) + e * stride;
    // The expert's rows over one slice of its matrix: the slice is read
    // from memory once, then from cache for the rows after the first.
    for (int64_t r = offsets[e]; r < offsets[e + 1]; ++r) {
      if (panels) {
        simd.gemvPanels(x + r * k, we, dtype, k, n, 4 * u0,
                        std::min(ceilDiv(n, kPanel), 4 * u1), nullptr,
                        y + r * n);
      } else if (bits == 0) {
        simd.gemv(x + r * k, we, dtype, k, u0 * unit, std::min(n, u1 * unit),
                  nullptr, y + r * n);
      } else {
        const auto *bytes = reinterpret_cast<const uint8_t *>(we);
        simd.gemvQ(values + r * blocks * kQuantBlock, scales + r * blocks,
                   sums + r * sumStride, bytes,
                   reinterpret_cast<const uint16_t *>(
                       bytes + quantParamsOffset(n, k, bits)),
                   bits, blocks, blocksPerGroup, u0 * unit,
                   std::min(n, u1 * unit), nullptr, y + r * n);
      }
    }
  });
}
