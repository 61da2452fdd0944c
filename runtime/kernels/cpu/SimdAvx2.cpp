//===- SimdAvx2.cpp - AVX2 inner loops of the CPU kernels -----------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// Compiled for AVX2 + FMA + F16C through function target attributes, so the
// library itself still runs on any x86-64; Simd.cpp only calls into this
// table after checking the host.
//
//===----------------------------------------------------------------------===//

#include "Common.h"
#include "Kernels.h"
#include "Quant.h"
#include "Simd.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>

namespace llmk {
namespace {

#define LLMK_TARGET __attribute__((target("avx2,fma,f16c")))

/// Eight floats in a ymm register.
struct Vec {
  static constexpr int kWidth = 8;
  using Type = __m256;

  LLMK_TARGET static __m256i laneMask(int count) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(count),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  LLMK_TARGET static Type zero() { return _mm256_setzero_ps(); }
  LLMK_TARGET static Type set1(float value) { return _mm256_set1_ps(value); }
  LLMK_TARGET static Type load(const float *p) { return _mm256_loadu_ps(p); }
  LLMK_TARGET static Type loadPartial(const float *p, int count) {
    return _mm256_maskload_ps(p, laneMask(count));
  }
  LLMK_TARGET static void store(float *p, Type v) { _mm256_storeu_ps(p, v); }
  LLMK_TARGET static void storePartial(float *p, Type v, int count) {
    _mm256_maskstore_ps(p, laneMask(count), v);
  }
  LLMK_TARGET static Type loadBf16(const uint16_t *p) {
    __m128i bits = _mm_loadu_si128(reinterpret_cast<const __m128i *>(p));
    return _mm256_castsi256_ps(
        _mm256_slli_epi32(_mm256_cvtepu16_epi32(bits), 16));
  }
  LLMK_TARGET static Type loadF16(const uint16_t *p) {
    return _mm256_cvtph_ps(
        _mm_loadu_si128(reinterpret_cast<const __m128i *>(p)));
  }
  LLMK_TARGET static Type loadI8(const int8_t *p) {
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(
        _mm_loadl_epi64(reinterpret_cast<const __m128i *>(p))));
  }
  LLMK_TARGET static Type fma(Type a, Type b, Type c) {
    return _mm256_fmadd_ps(a, b, c);
  }
  LLMK_TARGET static Type add(Type a, Type b) { return _mm256_add_ps(a, b); }
  LLMK_TARGET static Type sub(Type a, Type b) { return _mm256_sub_ps(a, b); }
  LLMK_TARGET static Type mul(Type a, Type b) { return _mm256_mul_ps(a, b); }
  LLMK_TARGET static Type div(Type a, Type b) { return _mm256_div_ps(a, b); }
  LLMK_TARGET static Type max(Type a, Type b) { return _mm256_max_ps(a, b); }

  /// exp to about 1 ulp (Cephes' expf): x = n ln2 + r, |r| <= ln2 / 2, a
  /// degree-5 polynomial for exp(r), then the exponent bits. Inputs below
  /// -87.3 (including -inf) give exactly 0.
  LLMK_TARGET static Type exp(Type x) {
    __m256 underflow = _mm256_cmp_ps(x, _mm256_set1_ps(-87.3f), _CMP_LT_OQ);
    x = _mm256_min_ps(x, _mm256_set1_ps(88.0f));
    x = _mm256_max_ps(x, _mm256_set1_ps(-87.3f));
    __m256 n = _mm256_floor_ps(_mm256_fmadd_ps(
        x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f)));
    x = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    x = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), x);
    __m256 y = _mm256_set1_ps(1.9875691500e-4f);
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.3981999507e-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(8.3334519073e-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(4.1665795894e-2f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.6666665459e-1f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(5.0000001201e-1f));
    y = _mm256_fmadd_ps(y, _mm256_mul_ps(x, x),
                        _mm256_add_ps(x, _mm256_set1_ps(1.0f)));
    __m256i exponent = _mm256_slli_epi32(
        _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    y = _mm256_mul_ps(y, _mm256_castsi256_ps(exponent));
    return _mm256_andnot_ps(underflow, y);
  }

  LLMK_TARGET static float reduceAdd(Type v) {
    __m128 sum =
        _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    sum = _mm_add_ps(sum, _mm_movehl_ps(sum, sum));
    sum = _mm_add_ss(sum, _mm_movehdup_ps(sum));
    return _mm_cvtss_f32(sum);
  }
};

constexpr Isa kIsa = Isa::Avx2;
constexpr const char *kIsaName = "avx2";
constexpr int kGemmRows = 6;
constexpr int kGemmVectors = 2;
constexpr int kPanelTileRows = 4;
constexpr int kPanelPass = 3;
constexpr int kAxpyVectors = 8;

#include "QuantPlanes.inc"

/// Block dot products of the quantized GEMV on vpmaddubsw, which multiplies
/// unsigned by signed bytes into saturating 16-bit pair sums: 8-bit weights
/// go in as |w| with the activations given w's sign (|w| <= 128 and |x| <=
/// 127 keep a pair sum within 16 bits), 4-bit ones as they are (0..15).
struct QDot {
  using Acc = __m256;
  LLMK_TARGET static Acc zero() { return _mm256_setzero_ps(); }
  LLMK_TARGET static Acc sumPairs(__m256i products) {
    return _mm256_cvtepi32_ps(
        _mm256_madd_epi16(products, _mm256_set1_epi16(1)));
  }
  LLMK_TARGET static Acc dot8(const uint8_t *w, const int8_t *x) {
    __m256i wv = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(w));
    __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(x));
    return sumPairs(_mm256_maddubs_epi16(_mm256_sign_epi8(wv, wv),
                                         _mm256_sign_epi8(xv, wv)));
  }
  LLMK_TARGET static Acc dot4(const uint8_t *w, const int8_t *x) {
    __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i *>(w));
    __m256i wv =
        _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(bytes, 4), bytes),
                         _mm256_set1_epi8(0x0f));
    __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(x));
    return sumPairs(_mm256_maddubs_epi16(wv, xv));
  }
  /// 5 and 6 bits: the nibbles, then a word per higher bit.
  template <int Planes>
  LLMK_TARGET static Acc dotPlanes(const uint8_t *w, const int8_t *x) {
    __m256i wv = planeBytes<Planes>(w);
    __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(x));
    return sumPairs(_mm256_maddubs_epi16(wv, xv));
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
  LLMK_TARGET static float reduce(Acc v) { return Vec::reduceAdd(v); }
};

#include "QuantKernels.inc"

#include "SimdKernels.inc"

} // namespace

const SimdKernels *getAvx2Kernels() { return &kKernels; }

} // namespace llmk

#else

namespace llmk {
const SimdKernels *getAvx2Kernels() { return nullptr; }
} // namespace llmk

#endif
