//===- SimdAvx512.cpp - AVX-512 inner loops of the CPU kernels ------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// Compiled for AVX-512 (F, BW, VL, DQ) through function target attributes;
// Simd.cpp only calls into this table after checking the host.
//
//===----------------------------------------------------------------------===//

#include "Common.h"
#include "Kernels.h"
#include "Simd.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>

namespace llmk {
namespace {

#define LLMK_TARGET                                                            \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")))

/// Sixteen floats in a zmm register.
struct Vec {
  static constexpr int kWidth = 16;
  using Type = __m512;

  LLMK_TARGET static __mmask16 laneMask(int count) {
    return static_cast<__mmask16>((1u << count) - 1);
  }
  LLMK_TARGET static Type zero() { return _mm512_setzero_ps(); }
  LLMK_TARGET static Type set1(float value) { return _mm512_set1_ps(value); }
  LLMK_TARGET static Type load(const float *p) { return _mm512_loadu_ps(p); }
  LLMK_TARGET static Type loadPartial(const float *p, int count) {
    return _mm512_maskz_loadu_ps(laneMask(count), p);
  }
  LLMK_TARGET static void store(float *p, Type v) { _mm512_storeu_ps(p, v); }
  LLMK_TARGET static void storePartial(float *p, Type v, int count) {
    _mm512_mask_storeu_ps(p, laneMask(count), v);
  }
  LLMK_TARGET static Type loadBf16(const uint16_t *p) {
    __m256i bits = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(p));
    return _mm512_castsi512_ps(
        _mm512_slli_epi32(_mm512_cvtepu16_epi32(bits), 16));
  }
  LLMK_TARGET static Type loadF16(const uint16_t *p) {
    return _mm512_cvtph_ps(
        _mm256_loadu_si256(reinterpret_cast<const __m256i *>(p)));
  }
  LLMK_TARGET static Type loadI8(const int8_t *p) {
    return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(
        _mm_loadu_si128(reinterpret_cast<const __m128i *>(p))));
  }
  LLMK_TARGET static Type fma(Type a, Type b, Type c) {
    return _mm512_fmadd_ps(a, b, c);
  }
  LLMK_TARGET static Type add(Type a, Type b) { return _mm512_add_ps(a, b); }
  LLMK_TARGET static Type sub(Type a, Type b) { return _mm512_sub_ps(a, b); }
  LLMK_TARGET static Type mul(Type a, Type b) { return _mm512_mul_ps(a, b); }
  LLMK_TARGET static Type div(Type a, Type b) { return _mm512_div_ps(a, b); }
  LLMK_TARGET static Type max(Type a, Type b) { return _mm512_max_ps(a, b); }

  /// exp to about 1 ulp (Cephes' expf polynomial; see SimdAvx2.cpp), scaled
  /// by 2^n with vscalefps. Inputs below -87.3 (including -inf) give 0.
  LLMK_TARGET static Type exp(Type x) {
    __mmask16 inRange =
        _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.3f), _CMP_GE_OQ);
    x = _mm512_min_ps(x, _mm512_set1_ps(88.0f));
    x = _mm512_max_ps(x, _mm512_set1_ps(-87.3f));
    __m512 n = _mm512_roundscale_ps(
        _mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504088896341f),
                        _mm512_set1_ps(0.5f)),
        _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    x = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    x = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), x);
    __m512 y = _mm512_set1_ps(1.9875691500e-4f);
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(1.3981999507e-3f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(8.3334519073e-3f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(4.1665795894e-2f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(1.6666665459e-1f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(5.0000001201e-1f));
    y = _mm512_fmadd_ps(y, _mm512_mul_ps(x, x),
                        _mm512_add_ps(x, _mm512_set1_ps(1.0f)));
    return _mm512_maskz_mov_ps(inRange, _mm512_scalef_ps(y, n));
  }

  LLMK_TARGET static float reduceAdd(Type v) {
    __m256 half =
        _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    __m128 sum = _mm_add_ps(_mm256_castps256_ps128(half),
                            _mm256_extractf128_ps(half, 1));
    sum = _mm_add_ps(sum, _mm_movehl_ps(sum, sum));
    sum = _mm_add_ss(sum, _mm_movehdup_ps(sum));
    return _mm_cvtss_f32(sum);
  }
};

constexpr Isa kIsa = Isa::Avx512;
constexpr const char *kIsaName = "avx512";
// The attention tile: 6 queries by 64 keys or value features (a head dim of
// 64 is one tile wide; 24 accumulators).
constexpr int kGemmRows = 6;
constexpr int kGemmVectors = 4;
constexpr int kPanelTileRows = 8;
constexpr int kPanelPass = 3;
constexpr int kAxpyVectors = 8;

/// The quantized GEMV: on vpdpbusd where the host has AVX-512 VNNI, else
/// AVX2's (vpmaddubsw; 256-bit blocks either way).
LLMK_TARGET void gemvQ(const int8_t *xq, const float *xScale, const float *xSum,
                       const uint8_t *w, const uint16_t *params, int bits,
                       int64_t blocks, int64_t blocksPerGroup, int64_t begin,
                       int64_t end, const float *bias, float *y) {
  static const GemvQFn fn =
      getVnniGemvQ() ? getVnniGemvQ() : getAvx2Kernels()->gemvQ;
  fn(xq, xScale, xSum, w, params, bits, blocks, blocksPerGroup, begin, end,
     bias, y);
}

#include "SimdKernels.inc"

} // namespace

const SimdKernels *getAvx512Kernels() { return &kKernels; }

} // namespace llmk

#else

namespace llmk {
const SimdKernels *getAvx512Kernels() { return nullptr; }
} // namespace llmk

#endif
