//===- Common.h - Helpers shared by the CPU kernels -------------*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_RUNTIME_KERNELS_CPU_COMMON_H
#define LLM_RUNTIME_KERNELS_CPU_COMMON_H

#include "Kernels.h"

#include <cstdint>
#include <cstring>

namespace llmk {

/// Records `message` (a string literal) as the pending error unless one is
/// already pending; `llmk_take_error` returns it.
void recordError(const char *message);

/// True for the dtypes of `LLMKDtype`.
inline bool isValidDtype(int32_t dtype) {
  return dtype == LLMK_F32 || dtype == LLMK_F16 || dtype == LLMK_BF16;
}

/// True for the LLMK_LAYOUT_* values.
inline bool isValidLayout(int32_t layout) {
  return layout == LLMK_LAYOUT_ROWS || layout == LLMK_LAYOUT_PANELS;
}

/// Bytes per element of a valid dtype.
inline int64_t dtypeSize(int32_t dtype) { return dtype == LLMK_F32 ? 4 : 2; }

/// bf16 is the upper half of an fp32.
inline float bf16ToFloat(uint16_t value) {
  uint32_t bits = static_cast<uint32_t>(value) << 16;
  float result;
  std::memcpy(&result, &bits, sizeof(result));
  return result;
}

/// IEEE binary16 to fp32, exact for every input (subnormals, inf, NaN).
/// Branch-light so that the portable path vectorizes.
inline float halfToFloat(uint16_t value) {
  uint32_t sign = static_cast<uint32_t>(value & 0x8000) << 16;
  uint32_t exponent = (value >> 10) & 0x1f;
  uint32_t mantissa = value & 0x3ff;
  float result;
  if (exponent == 0) {
    // Zero or subnormal: mantissa * 2^-24, exact in fp32.
    result = static_cast<float>(mantissa) * 0x1p-24f;
  } else {
    uint32_t bits = (exponent == 0x1f ? 0x7f800000 : (exponent + 112) << 23) |
                    (mantissa << 13);
    std::memcpy(&result, &bits, sizeof(result));
  }
  uint32_t bits;
  std::memcpy(&bits, &result, sizeof(bits));
  bits |= sign;
  std::memcpy(&result, &bits, sizeof(result));
  return result;
}

/// Element `index` of a weight array in `dtype`, as fp32.
inline float loadWeight(const void *data, int32_t dtype, int64_t index) {
  if (dtype == LLMK_F32)
    return static_cast<const float *>(data)[index];
  uint16_t bits = static_cast<const uint16_t *>(data)[index];
  return dtype == LLMK_BF16 ? bf16ToFloat(bits) : halfToFloat(bits);
}

/// y[m, n] = x[m, k] · w[n, k]ᵀ + bias, as `llmk_linear` but without argument
/// checks; for kernels built from projections (MoE).
void linear(const float *x, const void *w, int32_t dtype, int32_t layout,
            const float *bias, float *y, int64_t m, int64_t k, int64_t n);

/// The decode form of the grouped product (llmk_grouped_gemv and _q): the
/// rows [offsets[e], offsets[e + 1]) of x [rows, k] times expert e's [n, k]
/// matrix into y, every chosen expert's matrix streamed once and the
/// output rows of all of them split across the threads in one parallel
/// region. Expert e's matrix starts e * `stride` bytes into `w`: with
/// `bits` 0 in `dtype` and `layout` (rows or panels), else quantized as
/// llmk_linear_q's weight (bits, group). Rows past offsets[experts] are
/// not written. Without argument checks.
void groupedGemv(const float *x, const void *w, int32_t dtype, int32_t layout,
                 int bits, int64_t group, int64_t stride,
                 const int32_t *offsets, float *y, int64_t k, int64_t n,
                 int64_t experts);

/// `llmk_linear` (with its argument checks) without calling the calibration
/// observer: for kernels that call it in pieces after observing the whole.
void linearUnobserved(const float *x, const void *w, int32_t dtype,
                      int32_t layout, const float *bias, float *y, int64_t m,
                      int64_t k, int64_t n);

/// Calls the observer of setLinearObserver (Quant.h), if one is set.
void observeLinear(const void *w, const float *x, int64_t m, int64_t k);

/// Applies `activation` (LLMK_ACT_*) to one value.
float activate(float x, int32_t activation);

} // namespace llmk

#endif // LLM_RUNTIME_KERNELS_CPU_COMMON_H
