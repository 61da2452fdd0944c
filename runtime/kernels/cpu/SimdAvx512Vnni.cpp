//===- SimdAvx512Vnni.cpp - Quantized products on vpdpbusd ----------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// SimdKernels::gemvQ on AVX-512 VNNI: vpdpbusd multiplies unsigned by
// signed bytes and adds each group of four products to a 32-bit lane, with
// no intermediate saturation. 8-bit weights go in as |w| with the
// activations given w's sign, 4-bit ones as they are (0..15). A 512-bit
// instruction covers two blocks of 32, each lane then scaled by its block's
// activation scale; a block left alone takes 256 bits. Compiled with
// AVX512_VNNI through function target attributes; SimdAvx512.cpp only calls
// it after checking the host. Also the integer tiles of the quantized
// GEMMs (W8A8 with a scale per row, and activations quantized per block)
// and the activations' quantization per block on 512-bit registers.
//
//===----------------------------------------------------------------------===//

#include "Common.h"
#include "Kernels.h"
#include "Quant.h"
#include "Simd.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>

namespace llmk {
namespace {

#define LLMK_TARGET                                                            \
  __attribute__((                                                              \
      target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")))

#include "QuantPlanes.inc"

struct QDot {
  using Acc = __m256;
  LLMK_TARGET static Acc zero() { return _mm256_setzero_ps(); }
  LLMK_TARGET static Acc dot8(const uint8_t *w, const int8_t *x) {
    __m256i wv = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(w));
    __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(x));
    return _mm256_cvtepi32_ps(_mm256_dpbusd_epi32(
        _mm256_setzero_si256(), _mm256_abs_epi8(wv), _mm256_sign_epi8(xv, wv)));
  }
  LLMK_TARGET static Acc dot4(const uint8_t *w, const int8_t *x) {
    __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i *>(w));
    __m256i wv =
        _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(bytes, 4), bytes),
                         _mm256_set1_epi8(0x0f));
    __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(x));
    return _mm256_cvtepi32_ps(
        _mm256_dpbusd_epi32(_mm256_setzero_si256(), wv, xv));
  }
  /// 5 and 6 bits: the nibbles, then a word per higher bit.
  template <int Planes>
  LLMK_TARGET static Acc dotPlanes(const uint8_t *w, const int8_t *x) {
    __m256i wv = planeBytes<Planes>(w);
    __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(x));
    return _mm256_cvtepi32_ps(
        _mm256_dpbusd_epi32(_mm256_setzero_si256(), wv, xv));
  }
  LLMK_TARGET static Acc dot5(const uint8_t *w, const int8_t *x) {
    return dotPlanes<1>(w, x);
  }
  LLMK_TARGET static Acc dot6(const uint8_t *w, const int8_t *x) {
    return dotPlanes<2>(w, x);
  }
  LLMK_TARGET static Acc fma(Acc a, float s, Acc acc) {
    return _mm256_fmadd_ps(a, _mm256_set1_ps(s), acc);
  }
  /// Lanes 0-3 hold values 0-15 (dot8 and dot4 alike), lanes 4-7 the rest.
  LLMK_TARGET static Acc fma2(Acc a, float lo, float hi, Acc acc) {
    return _mm256_fmadd_ps(
        a, _mm256_setr_m128(_mm_set1_ps(lo), _mm_set1_ps(hi)), acc);
  }
  LLMK_TARGET static float reduce(Acc v) {
    __m128 sum =
        _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    sum = _mm_add_ps(sum, _mm_movehl_ps(sum, sum));
    sum = _mm_add_ss(sum, _mm_movehdup_ps(sum));
    return _mm_cvtss_f32(sum);
  }
};

// The 256-bit GEMV over QDot: groups of 16 (gemvQ512 hands them over).
#include "QuantKernels.inc"

/// The activations of pairs of blocks as the 512-bit dot products read
/// them: per pair, 64 values (8 bits: block b then b + 1; 4 bits: the first
/// 16 of b, of b + 1, the last 16 of b, of b + 1, the order in which a pair
/// of 4-bit blocks unpacks) and 16 scales, one per 32-bit lane.
struct PairedActivations {
  std::vector<int8_t> values;
  std::vector<float> scales;
};

template <int Bits>
LLMK_TARGET void pairActivations(const int8_t *xq, const float *xScale,
                                 int64_t pairs, PairedActivations &out) {
  out.values.resize(pairs * 64);
  out.scales.resize(pairs * 16);
  for (int64_t q = 0; q < pairs; ++q) {
    const int8_t *a = xq + 2 * q * 32, *b = a + 32;
    int8_t *v = out.values.data() + q * 64;
    float *s = out.scales.data() + q * 16;
    const float sa = xScale[2 * q], sb = xScale[2 * q + 1];
    if (Bits == 8) {
      std::memcpy(v, a, 64);
      for (int i = 0; i < 16; ++i)
        s[i] = i < 8 ? sa : sb;
    } else {
      std::memcpy(v, a, 16);
      std::memcpy(v + 16, b, 16);
      std::memcpy(v + 32, a + 16, 16);
      std::memcpy(v + 48, b + 16, 16);
      for (int i = 0; i < 16; ++i)
        s[i] = (i / 4) % 2 == 0 ? sa : sb;
    }
  }
}

/// Bytes of a block of `Bits`-bit weights (Quant.h).
template <int Bits> constexpr int64_t blockBytes() {
  return Bits == 8 ? 32 : 16 + 4 * (Bits - 4);
}

/// The 16 int32 lanes of a pair of blocks' dot products (lanes as in
/// PairedActivations). 5 and 6 bits: the two blocks' nibbles as 4 bits
/// unpack them, then each higher plane's 2 x 32 bits, rearranged to the
/// lanes' order, set as one 64-bit mask.
template <int Bits>
LLMK_TARGET inline __m512i pairDot(const uint8_t *w, __m512i x) {
  if constexpr (Bits == 5 || Bits == 6) {
    constexpr int64_t kBytes = blockBytes<Bits>();
    const __m256i v = _mm256_set_m128i(
        _mm_loadu_si128(reinterpret_cast<const __m128i *>(w + kBytes)),
        _mm_loadu_si128(reinterpret_cast<const __m128i *>(w)));
    const __m256i mask = _mm256_set1_epi8(0x0f);
    __m512i wv =
        _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_and_si256(v, mask)),
                           _mm256_and_si256(_mm256_srli_epi16(v, 4), mask), 1);
    for (int p = 0; p < Bits - 4; ++p) {
      uint32_t a, b;
      std::memcpy(&a, w + 16 + 4 * p, 4);
      std::memcpy(&b, w + kBytes + 16 + 4 * p, 4);
      const uint64_t bits = (a & 0xffffu) | uint64_t(b & 0xffffu) << 16 |
                            uint64_t(a >> 16) << 32 | uint64_t(b >> 16) << 48;
      wv = _mm512_mask_add_epi8(wv, static_cast<__mmask64>(bits), wv,
                                _mm512_set1_epi8(static_cast<char>(16 << p)));
    }
    return _mm512_dpbusd_epi32(_mm512_setzero_si512(), wv, x);
  }
  if (Bits == 8) {
    const __m512i wv = _mm512_loadu_si512(w);
    // |w| (unsigned; -128 reads as 128) times x with w's sign.
    const __m512i sx = _mm512_mask_sub_epi8(x, _mm512_movepi8_mask(wv),
                                            _mm512_setzero_si512(), x);
    return _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_abs_epi8(wv), sx);
  }
  const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(w));
  const __m256i mask = _mm256_set1_epi8(0x0f);
  const __m512i wv =
      _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_and_si256(v, mask)),
                         _mm256_and_si256(_mm256_srli_epi16(v, 4), mask), 1);
  return _mm512_dpbusd_epi32(_mm512_setzero_si512(), wv, x);
}

/// gemvQ for `Rows` rows from `j` on 512-bit dot products, two blocks per
/// instruction; an odd last block of a group takes the 256-bit QDot.
template <int Bits, int Rows>
LLMK_TARGET void gemvQRows512(const int8_t *xq, const float *xScale,
                              const float *xSum, const PairedActivations &xp,
                              const uint8_t *w, const uint16_t *params,
                              int64_t blocks, int64_t blocksPerGroup, int64_t j,
                              const float *bias, float *y) {
  constexpr int64_t kBlockBytes = blockBytes<Bits>();
  const int64_t rowBytes = blocks * kBlockBytes;
  const int64_t groups = blocks / blocksPerGroup;
  __m512 total[Rows];
  float offsets[Rows], tails[Rows];
  const uint8_t *row[Rows];
  for (int r = 0; r < Rows; ++r) {
    total[r] = _mm512_setzero_ps();
    offsets[r] = tails[r] = 0.0f;
    row[r] = w + (j + r) * rowBytes;
  }
  // Lane l of a pair's weight scales: the scale of block b (s at 0) or
  // b + 1 (s at 2) of the (s, offset, s, offset) of the two blocks.
  const __m512i scaleLanes =
      Bits == 8
          ? _mm512_set_epi32(2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0)
          : _mm512_set_epi32(2, 2, 2, 2, 0, 0, 0, 0, 2, 2, 2, 2, 0, 0, 0, 0);
  auto prefetch = [&](int r, int64_t b) {
    // The same blocks two groups of rows ahead (consecutive rows are
    // contiguous): measured 15% faster than one group ahead on a 4-bit
    // weight streamed from memory, the same on an 8-bit one.
    __builtin_prefetch(row[r] + b * kBlockBytes + 2 * Rows * rowBytes);
  };
  if (blocksPerGroup == 1) {
    // A scale per block: each pair multiplies by both blocks' scales.
    // Per row, the offsets' terms in the lanes of (s, offset, s, offset):
    // the block sums of the activations meet the offsets in lanes 1 and 3.
    __m128 offsetTerms[Rows];
    for (int r = 0; r < Rows; ++r)
      offsetTerms[r] = _mm_setzero_ps();
    for (int64_t b = 0; b + 1 < blocks; b += 2) {
      const __m512i x = _mm512_loadu_si512(xp.values.data() + b * 32);
      const __m512 xs = _mm512_loadu_ps(xp.scales.data() + b * 8);
      const __m128 sums = _mm_set_ps(xSum[b + 1], 0.0f, xSum[b], 0.0f);
      for (int r = 0; r < Rows; ++r) {
        prefetch(r, b);
        // Two blocks' (scale, offset), f16 -> f32.
        const __m128 pairs =
            _mm_cvtph_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i *>(
                params + ((j + r) * groups + b) * 2)));
        const __m512 ws =
            _mm512_permutexvar_ps(scaleLanes, _mm512_castps128_ps512(pairs));
        total[r] = _mm512_fmadd_ps(
            _mm512_cvtepi32_ps(pairDot<Bits>(row[r] + b * kBlockBytes, x)),
            _mm512_mul_ps(xs, ws), total[r]);
        offsetTerms[r] = _mm_fmadd_ps(pairs, sums, offsetTerms[r]);
      }
    }
    for (int r = 0; r < Rows; ++r) {
      __m128 t = _mm_add_ps(offsetTerms[r],
                            _mm_movehl_ps(offsetTerms[r], offsetTerms[r]));
      t = _mm_add_ss(t, _mm_movehdup_ps(t));
      offsets[r] += _mm_cvtss_f32(t);
    }
    if (blocks % 2) {
      const int64_t b = blocks - 1;
      for (int r = 0; r < Rows; ++r) {
        const uint16_t *p = params + ((j + r) * groups + b) * 2;
        const float scale = halfToFloat(p[0]), offset = halfToFloat(p[1]);
        const uint8_t *block = row[r] + b * kBlockBytes;
        const int8_t *x = xq + b * 32;
        tails[r] += scale * xScale[b] * QDot::reduce(quantDot<Bits>(block, x));
        offsets[r] += offset * xSum[b];
      }
    }
  } else {
    for (int64_t g = 0; g < groups; ++g) {
      __m512 group[Rows];
      float groupTail[Rows];
      for (int r = 0; r < Rows; ++r) {
        group[r] = _mm512_setzero_ps();
        groupTail[r] = 0.0f;
      }
      float groupSum = 0.0f;
      const int64_t b0 = g * blocksPerGroup, b1 = b0 + blocksPerGroup;
      int64_t b = b0;
      for (; b + 1 < b1; b += 2) {
        const __m512i x = _mm512_loadu_si512(xp.values.data() + b * 32);
        const __m512 xs = _mm512_loadu_ps(xp.scales.data() + b * 8);
        groupSum += xSum[b] + xSum[b + 1];
        for (int r = 0; r < Rows; ++r) {
          prefetch(r, b);
          group[r] = _mm512_fmadd_ps(
              _mm512_cvtepi32_ps(pairDot<Bits>(row[r] + b * kBlockBytes, x)),
              xs, group[r]);
        }
      }
      if (b < b1) { // An odd block count (per output channel).
        groupSum += xSum[b];
        for (int r = 0; r < Rows; ++r) {
          const uint8_t *block = row[r] + b * kBlockBytes;
          const int8_t *x = xq + b * 32;
          groupTail[r] = xScale[b] * QDot::reduce(quantDot<Bits>(block, x));
        }
      }
      for (int r = 0; r < Rows; ++r) {
        const uint16_t *p = params + ((j + r) * groups + g) * 2;
        const float scale = halfToFloat(p[0]);
        total[r] = _mm512_fmadd_ps(group[r], _mm512_set1_ps(scale), total[r]);
        tails[r] += scale * groupTail[r];
        offsets[r] += halfToFloat(p[1]) * groupSum;
      }
    }
  }
  for (int r = 0; r < Rows; ++r)
    y[j + r] = _mm512_reduce_add_ps(total[r]) + tails[r] + offsets[r] +
               (bias ? bias[j + r] : 0.0f);
}

/// gemvQRows512 for groups of 16 (two per block, Q6_K's): a pair of blocks
/// is four groups, each a quarter of the lanes (8 bits: values 0-15 and
/// 16-31 of block b, then of b + 1; fewer bits: values 0-15 of b, of
/// b + 1, then 16-31 of b, of b + 1), scaled by its group's scale; each
/// half's offset meets the half's activation sum (`halfSums`: the first
/// halves' sums, then the second halves').
template <int Bits, int Rows>
LLMK_TARGET void
gemvQRowsHalves512(const int8_t *xq, const float *xScale, const float *halfSums,
                   const PairedActivations &xp, const uint8_t *w,
                   const uint16_t *params, int64_t blocks, int64_t j,
                   const float *bias, float *y) {
  constexpr int64_t kBlockBytes = blockBytes<Bits>();
  const int64_t rowBytes = blocks * kBlockBytes;
  const int64_t groups = 2 * blocks;
  __m512 total[Rows];
  __m256 offsetTerms[Rows];
  float tails[Rows];
  const uint8_t *row[Rows];
  for (int r = 0; r < Rows; ++r) {
    total[r] = _mm512_setzero_ps();
    offsetTerms[r] = _mm256_setzero_ps();
    tails[r] = 0.0f;
    row[r] = w + (j + r) * rowBytes;
  }
  // Lanes' scales among the pair's (scale, offset) x (b lo, b hi, b + 1 lo,
  // b + 1 hi).
  const __m512i scaleLanes =
      Bits == 8
          ? _mm512_set_epi32(6, 6, 6, 6, 4, 4, 4, 4, 2, 2, 2, 2, 0, 0, 0, 0)
          : _mm512_set_epi32(6, 6, 6, 6, 2, 2, 2, 2, 4, 4, 4, 4, 0, 0, 0, 0);
  for (int64_t b = 0; b + 1 < blocks; b += 2) {
    const __m512i x = _mm512_loadu_si512(xp.values.data() + b * 32);
    const __m512 xs = _mm512_loadu_ps(xp.scales.data() + b * 8);
    const __m256 sums =
        _mm256_set_ps(halfSums[blocks + b + 1], 0.0f, halfSums[b + 1], 0.0f,
                      halfSums[blocks + b], 0.0f, halfSums[b], 0.0f);
    for (int r = 0; r < Rows; ++r) {
      __builtin_prefetch(row[r] + b * kBlockBytes + 2 * Rows * rowBytes);
      const __m256 pairs =
          _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i *>(
              params + ((j + r) * groups + 2 * b) * 2)));
      const __m512 ws =
          _mm512_permutexvar_ps(scaleLanes, _mm512_castps256_ps512(pairs));
      total[r] = _mm512_fmadd_ps(
          _mm512_cvtepi32_ps(pairDot<Bits>(row[r] + b * kBlockBytes, x)),
          _mm512_mul_ps(xs, ws), total[r]);
      offsetTerms[r] = _mm256_fmadd_ps(pairs, sums, offsetTerms[r]);
    }
  }
  if (blocks % 2) {
    const int64_t b = blocks - 1;
    for (int r = 0; r < Rows; ++r) {
      const uint16_t *p = params + ((j + r) * groups + 2 * b) * 2;
      const float s = xScale[b];
      tails[r] += QDot::reduce(QDot::fma2(
          quantDot<Bits>(row[r] + b * kBlockBytes, xq + b * 32),
          s * halfToFloat(p[0]), s * halfToFloat(p[2]), QDot::zero()));
      tails[r] += halfToFloat(p[1]) * halfSums[b] +
                  halfToFloat(p[3]) * halfSums[blocks + b];
    }
  }
  for (int r = 0; r < Rows; ++r) {
    __m128 t = _mm_add_ps(_mm256_castps256_ps128(offsetTerms[r]),
                          _mm256_extractf128_ps(offsetTerms[r], 1));
    t = _mm_add_ps(t, _mm_movehl_ps(t, t));
    t = _mm_add_ss(t, _mm_movehdup_ps(t));
    y[j + r] = _mm512_reduce_add_ps(total[r]) + tails[r] + _mm_cvtss_f32(t) +
               (bias ? bias[j + r] : 0.0f);
  }
}

template <int Bits>
LLMK_TARGET void gemvQ512Bits(const int8_t *xq, const float *xScale,
                              const float *xSum, const uint8_t *w,
                              const uint16_t *params, int64_t blocks,
                              int64_t blocksPerGroup, int64_t begin,
                              int64_t end, const float *bias, float *y) {
  // Per call (a task of a token's GEMV): O(k) next to its O(rows x k).
  thread_local PairedActivations paired;
  pairActivations<Bits>(xq, xScale, blocks / 2, paired);
  int64_t j = begin;
  if (blocksPerGroup == 0) {
    for (; j + 4 <= end; j += 4)
      gemvQRowsHalves512<Bits, 4>(xq, xScale, xSum, paired, w, params, blocks,
                                  j, bias, y);
    for (; j < end; ++j)
      gemvQRowsHalves512<Bits, 1>(xq, xScale, xSum, paired, w, params, blocks,
                                  j, bias, y);
    return;
  }
  for (; j + 4 <= end; j += 4)
    gemvQRows512<Bits, 4>(xq, xScale, xSum, paired, w, params, blocks,
                          blocksPerGroup, j, bias, y);
  for (; j < end; ++j)
    gemvQRows512<Bits, 1>(xq, xScale, xSum, paired, w, params, blocks,
                          blocksPerGroup, j, bias, y);
}

LLMK_TARGET void gemvQ512(const int8_t *xq, const float *xScale,
                          const float *xSum, const uint8_t *w,
                          const uint16_t *params, int bits, int64_t blocks,
                          int64_t blocksPerGroup, int64_t begin, int64_t end,
                          const float *bias, float *y) {
  switch (bits) {
  case 8:
    return gemvQ512Bits<8>(xq, xScale, xSum, w, params, blocks, blocksPerGroup,
                           begin, end, bias, y);
  case 6:
    return gemvQ512Bits<6>(xq, xScale, xSum, w, params, blocks, blocksPerGroup,
                           begin, end, bias, y);
  case 5:
    return gemvQ512Bits<5>(xq, xScale, xSum, w, params, blocks, blocksPerGroup,
                           begin, end, bias, y);
  default:
    return gemvQ512Bits<4>(xq, xScale, xSum, w, params, blocks, blocksPerGroup,
                           begin, end, bias, y);
  }
}

template <int Rows>
LLMK_TARGET void
gemmQTileFixed(const int8_t *x, int64_t xStride, const uint8_t *w,
               int64_t quads, const int32_t *zeroSums, const float *sums,
               const float *scale, const float *offset, float *c, int64_t ldc,
               int cols, bool accumulate) {
  constexpr int kVectors = LLMK_PANEL_ROWS / 16;
  __m512i acc[Rows][kVectors];
  for (int r = 0; r < Rows; ++r)
    for (int v = 0; v < kVectors; ++v)
      acc[r][v] = _mm512_setzero_si512();
  for (int64_t q = 0; q < quads; ++q) {
    __m512i wv[kVectors];
    for (int v = 0; v < kVectors; ++v)
      wv[v] = _mm512_loadu_si512(w + (q * LLMK_PANEL_ROWS + v * 16) * 4);
    for (int r = 0; r < Rows; ++r) {
      int32_t quad;
      std::memcpy(&quad, x + r * xStride + 4 * q, sizeof(quad));
      const __m512i xb = _mm512_set1_epi32(quad);
      for (int v = 0; v < kVectors; ++v)
        acc[r][v] = _mm512_dpbusd_epi32(acc[r][v], wv[v], xb);
    }
  }
  for (int v = 0; v < kVectors; ++v) {
    const int lanes = std::max(0, std::min(16, cols - v * 16));
    if (!lanes)
      break;
    const __mmask16 mask = static_cast<__mmask16>((1u << lanes) - 1);
    const __m512 sv = _mm512_loadu_ps(scale + v * 16);
    const __m512 ov = _mm512_loadu_ps(offset + v * 16);
    for (int r = 0; r < Rows; ++r) {
      const __m512 f = _mm512_cvtepi32_ps(
          _mm512_sub_epi32(acc[r][v], _mm512_set1_epi32(zeroSums[r])));
      __m512 result =
          _mm512_fmadd_ps(f, sv, _mm512_mul_ps(ov, _mm512_set1_ps(sums[r])));
      float *out = c + r * ldc + v * 16;
      if (accumulate)
        result = _mm512_add_ps(result, _mm512_maskz_loadu_ps(mask, out));
      _mm512_mask_storeu_ps(out, mask, result);
    }
  }
}

using GemmQTileFixedFn = void (*)(const int8_t *, int64_t, const uint8_t *,
                                  int64_t, const int32_t *, const float *,
                                  const float *, const float *, float *,
                                  int64_t, int, bool);

template <int... RowCounts>
constexpr std::array<GemmQTileFixedFn, sizeof...(RowCounts)>
makeQTiles(std::integer_sequence<int, RowCounts...>) {
  return {&gemmQTileFixed<RowCounts + 1>...};
}

/// gemmQTileFixed for 1 to 8 rows (24 accumulators), indexed [rows - 1].
constexpr auto kQTiles = makeQTiles(std::make_integer_sequence<int, 8>());

LLMK_TARGET void gemmQTile(const int8_t *x, int64_t xStride, int rows,
                           const uint8_t *w, int64_t quads,
                           const int32_t *zeroSums, const float *sums,
                           const float *scale, const float *offset, float *c,
                           int64_t ldc, int cols, bool accumulate) {
  kQTiles[rows - 1](x, xStride, w, quads, zeroSums, sums, scale, offset, c, ldc,
                    cols, accumulate);
}

/// GemmQBlocksTileFn for `Rows` rows: per block, 3 x Rows int32
/// accumulators over its 8 quads, then converted, scaled and summed into as
/// many fp32 accumulators.
template <int Rows>
LLMK_TARGET void
gemmQBlocksTileFixed(const int8_t *x, int64_t xStride, const float *xScale,
                     const float *xSum, const int32_t *xZero, int64_t xBlocks,
                     const uint8_t *w, int64_t blocks, const float *scale,
                     const float *offset, float *c, int64_t ldc, int cols,
                     bool accumulate) {
  constexpr int kVectors = LLMK_PANEL_ROWS / 16;
  constexpr int kQuads = kQuantBlock / 4;
  __m512 sum[Rows][kVectors];
  for (int r = 0; r < Rows; ++r)
    for (int v = 0; v < kVectors; ++v)
      sum[r][v] = _mm512_setzero_ps();
  for (int64_t b = 0; b < blocks; ++b) {
    __m512i acc[Rows][kVectors];
    for (int r = 0; r < Rows; ++r)
      for (int v = 0; v < kVectors; ++v)
        acc[r][v] = _mm512_setzero_si512();
    const uint8_t *wb = w + b * kQuads * LLMK_PANEL_ROWS * 4;
    for (int q = 0; q < kQuads; ++q) {
      __m512i wv[kVectors];
      for (int v = 0; v < kVectors; ++v)
        wv[v] = _mm512_loadu_si512(wb + (q * LLMK_PANEL_ROWS + v * 16) * 4);
      for (int r = 0; r < Rows; ++r) {
        int32_t quad;
        std::memcpy(&quad, x + r * xStride + b * kQuantBlock + 4 * q,
                    sizeof(quad));
        const __m512i xb = _mm512_set1_epi32(quad);
        for (int v = 0; v < kVectors; ++v)
          acc[r][v] = _mm512_dpbusd_epi32(acc[r][v], wv[v], xb);
      }
    }
    for (int v = 0; v < kVectors; ++v) {
      const __m512 sv = _mm512_loadu_ps(scale + b * LLMK_PANEL_ROWS + v * 16);
      const __m512 ov = _mm512_loadu_ps(offset + b * LLMK_PANEL_ROWS + v * 16);
      for (int r = 0; r < Rows; ++r) {
        const int64_t i = r * xBlocks + b;
        const __m512 f = _mm512_cvtepi32_ps(
            _mm512_sub_epi32(acc[r][v], _mm512_set1_epi32(xZero[i])));
        sum[r][v] = _mm512_fmadd_ps(
            f, _mm512_mul_ps(sv, _mm512_set1_ps(xScale[i])), sum[r][v]);
        sum[r][v] = _mm512_fmadd_ps(ov, _mm512_set1_ps(xSum[i]), sum[r][v]);
      }
    }
  }
  for (int v = 0; v < kVectors; ++v) {
    const int lanes = std::max(0, std::min(16, cols - v * 16));
    if (!lanes)
      break;
    const __mmask16 mask = static_cast<__mmask16>((1u << lanes) - 1);
    for (int r = 0; r < Rows; ++r) {
      float *out = c + r * ldc + v * 16;
      __m512 result = sum[r][v];
      if (accumulate)
        result = _mm512_add_ps(result, _mm512_maskz_loadu_ps(mask, out));
      _mm512_mask_storeu_ps(out, mask, result);
    }
  }
}

LLMK_TARGET void gemmQBlocksTile(const int8_t *x, int64_t xStride, int rows,
                                 const float *xScale, const float *xSum,
                                 const int32_t *xZero, int64_t xBlocks,
                                 const uint8_t *w, int64_t blocks,
                                 const float *scale, const float *offset,
                                 float *c, int64_t ldc, int cols,
                                 bool accumulate) {
  switch (rows) {
  case 1:
    return gemmQBlocksTileFixed<1>(x, xStride, xScale, xSum, xZero, xBlocks, w,
                                   blocks, scale, offset, c, ldc, cols,
                                   accumulate);
  case 2:
    return gemmQBlocksTileFixed<2>(x, xStride, xScale, xSum, xZero, xBlocks, w,
                                   blocks, scale, offset, c, ldc, cols,
                                   accumulate);
  case 3:
    return gemmQBlocksTileFixed<3>(x, xStride, xScale, xSum, xZero, xBlocks, w,
                                   blocks, scale, offset, c, ldc, cols,
                                   accumulate);
  default:
    return gemmQBlocksTileFixed<4>(x, xStride, xScale, xSum, xZero, xBlocks, w,
                                   blocks, scale, offset, c, ldc, cols,
                                   accumulate);
  }
}

/// quantizeActivations on 512-bit registers: a block is two vectors, its
/// maximum magnitude a reduction, its values rounded by vcvtps2dq (the
/// current rounding mode, as std::nearbyint) and narrowed with saturation
/// after the same clamp; the same bytes and sums as the scalar code.
LLMK_TARGET void quantizeActivations512(const float *x, int64_t k,
                                        QuantizedActivations out) {
  const int64_t blocks = quantBlocks(k);
  const __m512 magnitude = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
  const __m512 zero = _mm512_setzero_ps();
  const __m512i low = _mm512_set1_epi32(-127), high = _mm512_set1_epi32(127);
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t p0 = b * kQuantBlock;
    const int64_t count = std::min(kQuantBlock, k - p0);
    const __mmask16 m0 =
        static_cast<__mmask16>(count >= 16 ? 0xffffu : (1u << count) - 1);
    const __mmask16 m1 =
        static_cast<__mmask16>(count >= 32  ? 0xffffu
                               : count > 16 ? (1u << (count - 16)) - 1
                                            : 0u);
    const __m512 a = _mm512_maskz_loadu_ps(m0, x + p0);
    const __m512 c = _mm512_maskz_loadu_ps(m1, x + p0 + 16);
    // x * 0 == 0 for every finite x, never for an infinity or a NaN.
    const __mmask16 finite =
        _mm512_cmp_ps_mask(_mm512_mul_ps(a, zero), zero, _CMP_EQ_OQ) &
        _mm512_cmp_ps_mask(_mm512_mul_ps(c, zero), zero, _CMP_EQ_OQ);
    if (finite != 0xffff) {
      markNonFinite(out, b, blocks);
      continue;
    }
    const float amax = _mm512_reduce_max_ps(_mm512_max_ps(
        _mm512_and_ps(a, magnitude), _mm512_and_ps(c, magnitude)));
    const float scale = amax / 127.0f;
    const __m512 inverse = _mm512_set1_ps(amax > 0.0f ? 127.0f / amax : 0.0f);
    const __m512i qa = _mm512_min_epi32(
        _mm512_max_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(a, inverse)), low),
        high);
    const __m512i qc = _mm512_min_epi32(
        _mm512_max_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(c, inverse)), low),
        high);
    _mm_storeu_si128(reinterpret_cast<__m128i *>(out.values + p0),
                     _mm512_cvtsepi32_epi8(qa));
    _mm_storeu_si128(reinterpret_cast<__m128i *>(out.values + p0 + 16),
                     _mm512_cvtsepi32_epi8(qc));
    const int32_t firstHalf = _mm512_reduce_add_epi32(qa);
    const int32_t sum = firstHalf + _mm512_reduce_add_epi32(qc);
    out.scales[b] = scale;
    out.sums[b] = scale * static_cast<float>(sum);
    if (out.halfSums) {
      out.halfSums[b] = scale * static_cast<float>(firstHalf);
      out.halfSums[blocks + b] = scale * static_cast<float>(sum - firstHalf);
    }
    if (out.valueSums)
      out.valueSums[b] = sum;
  }
}

bool hostHasVnni() {
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512vnni") &&
           __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512bw");
  }();
  return has;
}

} // namespace

GemmQTileFn getVnniGemmQTile() { return hostHasVnni() ? &gemmQTile : nullptr; }

GemmQBlocksTileFn getVnniGemmQBlocksTile() {
  return hostHasVnni() ? &gemmQBlocksTile : nullptr;
}

QuantizeActivationsFn getAvx512QuantizeActivations() {
  // AVX-512 F, BW, VL and DQ: every AVX-512 host LLMC runs its 512-bit
  // kernels on.
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512dq");
  }();
  return has ? &quantizeActivations512 : nullptr;
}

GemvQFn getVnniGemvQ() { return hostHasVnni() ? &gemvQ512 : nullptr; }

} // namespace llmk

#else

namespace llmk {
GemvQFn getVnniGemvQ() { return nullptr; }
GemmQTileFn getVnniGemmQTile() { return nullptr; }
GemmQBlocksTileFn getVnniGemmQBlocksTile() { return nullptr; }
QuantizeActivationsFn getAvx512QuantizeActivations() { return nullptr; }
} // namespace llmk

#endif
