//===- SimdAvx512Vnni.cpp - The quantized GEMV on vpdpbusd ----------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// SimdKernels::gemvQ on AVX-512 VNNI: vpdpbusd multiplies unsigned by
// signed bytes and adds each group of four products to a 32-bit lane, with
// no intermediate saturation. 8-bit weights go in as |w| with the
// activations given w's sign, 4-bit ones as they are (0..15). Compiled with
// AVX512_VNNI through function target attributes; SimdAvx512.cpp only calls
// it after checking the host.
//
//===----------------------------------------------------------------------===//

#include "Kernels.h"
#include "Quant.h"
#include "Simd.h"

#include <cstdint>

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>

namespace llmk {
namespace {

#define LLMK_TARGET                                                            \
  __attribute__((                                                              \
      target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")))

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
  LLMK_TARGET static Acc fma(Acc a, float s, Acc acc) {
    return _mm256_fmadd_ps(a, _mm256_set1_ps(s), acc);
  }
  LLMK_TARGET static float reduce(Acc v) {
    __m128 sum =
        _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    sum = _mm_add_ps(sum, _mm_movehl_ps(sum, sum));
    sum = _mm_add_ss(sum, _mm_movehdup_ps(sum));
    return _mm_cvtss_f32(sum);
  }
};

#include "QuantKernels.inc"

} // namespace

GemvQFn getVnniGemvQ() {
  static const GemvQFn fn = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512vnni") &&
                   __builtin_cpu_supports("avx512vl") &&
                   __builtin_cpu_supports("avx512bw")
               ? &gemvQ
               : nullptr;
  }();
  return fn;
}

} // namespace llmk

#else

namespace llmk {
GemvQFn getVnniGemvQ() { return nullptr; }
} // namespace llmk

#endif
