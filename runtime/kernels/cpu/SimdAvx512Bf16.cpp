//===- SimdAvx512Bf16.cpp - The bf16 dot-product GEMM tile ----------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// The AVX-512 table with gemmPanelBf16: prefill against bf16 weights on
// vdpbf16ps, which multiplies pairs of bf16 values exactly and adds both
// products to an fp32 accumulator, two k steps per instruction where an fp32
// FMA does one. The activations are rounded to bf16 (as llama.cpp does for
// BF16 models); the weights already are. Compiled with AVX512_BF16 through
// function target attributes; Simd.cpp only picks this table after checking
// the host.
//
//===----------------------------------------------------------------------===//

#include "Kernels.h"
#include "Simd.h"

#include <algorithm>
#include <array>
#include <utility>

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>

namespace llmk {
namespace {

#define LLMK_TARGET                                                            \
  __attribute__((                                                              \
      target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,avx2,fma,f16c")))

constexpr int kWidth = 16;
/// Output vectors per pass over the panel: the whole panel (48 columns).
constexpr int kVectors = LLMK_PANEL_ROWS / kWidth;
/// bf16 weights per pair of steps of a panel.
constexpr int kPairStride = 2 * LLMK_PANEL_ROWS;
/// Activation rows of a tile, at most: 8 x 3 accumulators.
constexpr int kTileRows = 8;
static_assert(LLMK_PANEL_ROWS % kWidth == 0, "a panel is whole vectors");

LLMK_TARGET inline __mmask16 laneMask(int count) {
  return static_cast<__mmask16>((1u << count) - 1);
}

/// Lanes of output vector `v` that exist among `cols` columns.
LLMK_TARGET inline int validLanes(int cols, int v) {
  return std::max(0, std::min(kWidth, cols - v * kWidth));
}

/// gemmPanelBf16 with `Rows` activation rows and the panel's first `Vectors`
/// output vectors (those that hold columns): each pair of steps loads the
/// weight vectors once and broadcasts each row's pair once.
template <int Rows, int Vectors>
LLMK_TARGET void gemmPanelBf16Fixed(const uint32_t *a, int64_t aStride,
                                    const uint16_t *b, int64_t pairs, float *c,
                                    int64_t ldc, int cols, bool accumulate,
                                    const float *bias) {
  __m512 sum[Rows][Vectors];
  for (int v = 0; v < Vectors; ++v) {
    const int lanes = validLanes(cols, v);
    __m512 start = _mm512_setzero_ps();
    if (!accumulate && bias && lanes)
      start = _mm512_maskz_loadu_ps(laneMask(lanes), bias + v * kWidth);
    for (int r = 0; r < Rows; ++r)
      sum[r][v] =
          accumulate && lanes
              ? _mm512_maskz_loadu_ps(laneMask(lanes), c + r * ldc + v * kWidth)
              : start;
  }
  for (int64_t q = 0; q < pairs; ++q, b += kPairStride, a += aStride) {
    __m512bh w[Vectors];
    for (int v = 0; v < Vectors; ++v)
      w[v] = (__m512bh)_mm512_loadu_si512(b + v * 2 * kWidth);
    for (int r = 0; r < Rows; ++r) {
      const __m512bh x = (__m512bh)_mm512_set1_epi32(static_cast<int>(a[r]));
      for (int v = 0; v < Vectors; ++v)
        sum[r][v] = _mm512_dpbf16_ps(sum[r][v], x, w[v]);
    }
  }
  for (int v = 0; v < Vectors; ++v) {
    const int lanes = validLanes(cols, v);
    for (int r = 0; r < Rows && lanes; ++r)
      _mm512_mask_storeu_ps(c + r * ldc + v * kWidth, laneMask(lanes),
                            sum[r][v]);
  }
}

using GemmPanelBf16Fn = void (*)(const uint32_t *, int64_t, const uint16_t *,
                                 int64_t, float *, int64_t, int, bool,
                                 const float *);

template <int Rows, int... VectorCounts>
constexpr std::array<GemmPanelBf16Fn, sizeof...(VectorCounts)>
makeRow(std::integer_sequence<int, VectorCounts...>) {
  return {&gemmPanelBf16Fixed<Rows, VectorCounts + 1>...};
}

template <int... RowCounts>
constexpr std::array<std::array<GemmPanelBf16Fn, kVectors>,
                     sizeof...(RowCounts)>
makeTable(std::integer_sequence<int, RowCounts...>) {
  return {
      makeRow<RowCounts + 1>(std::make_integer_sequence<int, kVectors>())...};
}

/// gemmPanelBf16Fixed for every row and vector count, indexed [rows - 1]
/// [vectors - 1].
constexpr auto kTiles = makeTable(std::make_integer_sequence<int, kTileRows>());

LLMK_TARGET void gemmPanelBf16(const uint32_t *a, int64_t aStride, int rows,
                               const uint16_t *b, int64_t pairs, float *c,
                               int64_t ldc, int cols, bool accumulate,
                               const float *bias) {
  const int vectors = std::min(kVectors, (cols + kWidth - 1) / kWidth);
  kTiles[rows - 1][vectors - 1](a, aStride, b, pairs, c, ldc, cols, accumulate,
                                bias);
}

LLMK_TARGET void interleaveBf16Pairs(const uint16_t *panel, int64_t steps,
                                     uint16_t *pairs) {
  // Lane 2i takes element i of the even step, lane 2i + 1 element i of the
  // odd one (its index + 32 in vpermt2w's second operand).
  alignas(64) uint16_t order[32];
  for (int i = 0; i < 16; ++i) {
    order[2 * i] = static_cast<uint16_t>(i);
    order[2 * i + 1] = static_cast<uint16_t>(32 + i);
  }
  const __m512i index = _mm512_load_si512(order);
  for (int64_t p = 0; p < steps; p += 2, pairs += kPairStride) {
    const uint16_t *even = panel + p * LLMK_PANEL_ROWS;
    const uint16_t *odd = even + LLMK_PANEL_ROWS;
    for (int v = 0; v < kVectors; ++v) {
      const __m512i e = _mm512_castsi256_si512(_mm256_loadu_si256(
          reinterpret_cast<const __m256i *>(even + v * kWidth)));
      const __m512i o =
          p + 1 < steps
              ? _mm512_castsi256_si512(_mm256_loadu_si256(
                    reinterpret_cast<const __m256i *>(odd + v * kWidth)))
              : _mm512_setzero_si512();
      _mm512_storeu_si512(pairs + v * 2 * kWidth,
                          _mm512_permutex2var_epi16(e, index, o));
    }
  }
}

/// The AVX-512 table with the bf16 GEMM tile; null without the AVX-512 one.
const SimdKernels *makeKernels() {
  const SimdKernels *base = getAvx512Kernels();
  if (!base || base->panelTileRows > kTileRows)
    return nullptr;
  static SimdKernels kernels = *base;
  kernels.isa = Isa::Avx512Bf16;
  kernels.name = "avx512bf16";
  kernels.gemmPanelBf16 = &gemmPanelBf16;
  kernels.interleaveBf16Pairs = &interleaveBf16Pairs;
  return &kernels;
}

} // namespace

const SimdKernels *getAvx512Bf16Kernels() {
  static const SimdKernels *kernels = makeKernels();
  return kernels;
}

} // namespace llmk

#else

namespace llmk {
const SimdKernels *getAvx512Bf16Kernels() { return nullptr; }
} // namespace llmk

#endif
