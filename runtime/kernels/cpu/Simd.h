//===- Simd.h - Per-ISA inner loops of the CPU kernels ----------*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
// The few loops that decide the speed of the kernels (GEMM tile, GEMV,
// attention dot products) are compiled once per instruction set: portable
// C++, AVX2+FMA+F16C and AVX-512, plus the AVX-512 table with the bf16 dot
// product (AVX512_BF16) for prefill with bf16 weights. The best one the host
// supports is picked at run time; LLMK_ISA=scalar|avx2|avx512|avx512bf16 or
// setMaxIsa lowers the choice, which is how the tests cover every path on one
// machine.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_RUNTIME_KERNELS_CPU_SIMD_H
#define LLM_RUNTIME_KERNELS_CPU_SIMD_H

#include <cstdint>

namespace llmk {

/// Instruction sets with a compiled kernel table, weakest first.
enum class Isa { Scalar = 0, Avx2 = 1, Avx512 = 2, Avx512Bf16 = 3 };

/// The inner loops of one instruction set. Matrices are fp32 and row-major
/// unless a dtype (`LLMKDtype`) says otherwise.
struct SimdKernels {
  /// The table's instruction set and its name.
  Isa isa;
  const char *name;
  /// GEMM register tile: `gemmRows` weight rows (outputs along n) by
  /// `gemmCols` activation rows (along m), `gemmCols` a multiple of `width`.
  int gemmRows;
  int gemmCols;
  int width;
  /// Panel GEMM tile: at most `panelTileRows` activation rows by one weight
  /// panel (LLMK_PANEL_ROWS output features). Packed activations interleave
  /// this many rows.
  int panelTileRows;

  /// acc[r * gemmCols + c] (+)= sum_p w[r * ldw + p] * xPanel[p * gemmCols +
  /// c] for r < rows and c < vectors * width. `xPanel` holds kc steps of
  /// gemmCols activations (zero padded); `accumulate` false starts from 0.
  void (*gemmTile)(const float *w, int64_t ldw, int rows, const float *xPanel,
                   int64_t kc, int vectors, float *acc, bool accumulate);

  /// The GEMM against weights in panels (LLMK_LAYOUT_PANELS):
  /// c[r * ldc + j] (+)= sum_p a[p * aStride + r] * b[p * LLMK_PANEL_ROWS + j]
  /// for r < rows (<= panelTileRows) and j < cols (<= LLMK_PANEL_ROWS). `b`
  /// is kc steps of one fp32 panel; `a` interleaves the rows' activations
  /// (aStride apart per step). Without `accumulate`, c starts from bias[j]
  /// (or 0 when `bias` is null) instead of its own values.
  void (*gemmPanel)(const float *a, int64_t aStride, int rows, const float *b,
                    int64_t kc, float *c, int64_t ldc, int cols,
                    bool accumulate, const float *bias);

  /// y[j] = x · w[:, j] + (bias ? bias[j] : 0) for the output features j of
  /// panels [begin, end) of `w` ([n, k] in `dtype`, packed in panels), j < n.
  void (*gemvPanels)(const float *x, const void *w, int32_t dtype, int64_t k,
                     int64_t n, int64_t begin, int64_t end, const float *bias,
                     float *y);

  /// y[i] = dot(x, row i of w) + (bias ? bias[i] : 0) for i in [begin, end);
  /// `w` is [n, k] in `dtype`.
  void (*gemv)(const float *x, const void *w, int32_t dtype, int64_t k,
               int64_t begin, int64_t end, const float *bias, float *y);

  /// dst[i] = float(src[i]) for i < count.
  void (*convert)(const void *src, int32_t dtype, float *dst, int64_t count);

  /// out[j] = dot(q, k + j * kStride) over d features, for j < count; `k`
  /// holds rows of `dtype` (LLMK_F32, LLMK_F16, LLMK_BF16, or LLMK_I8 without
  /// scales), converted on the fly; strides are in elements.
  void (*dotRows)(const float *q, const void *k, int32_t dtype, int64_t kStride,
                  int64_t count, int64_t d, float *out);

  /// o[0, d) += sum_{j < count} p[j] * v[j * vStride + (0, d)], with `v` in
  /// `dtype` as for dotRows.
  void (*axpyRows)(float *o, const float *p, const void *v, int32_t dtype,
                   int64_t vStride, int64_t count, int64_t d);

  /// p[j] = exp(s[j] - shift) for j < count (exp(-inf) = 0); returns the sum.
  /// `p` may alias `s`.
  float (*expShift)(const float *s, float shift, int64_t count, float *p);

  /// y[i] = silu(gate[i]) * up[i] for i < count (SwiGLU); `y` may alias
  /// either input.
  void (*siluMul)(const float *gate, const float *up, float *y, int64_t count);

  /// y[i] = gelu(x[i]) for i < count, exact (erf) or GPT-2's tanh form:
  /// 0.5 (1 + tanh u) = sigmoid(2u) with the vector exp, erf by Abramowitz
  /// and Stegun 7.1.26 (|error| < 1.5e-7); within 4e-7 of the exact value
  /// relative to max(1, |gelu|). `y` may alias `x`.
  void (*gelu)(const float *x, float *y, int64_t count, bool tanhApprox);

  /// x[i] *= s for i < count.
  void (*scale)(float *x, int64_t count, float s);

  /// The quantized GEMV (Quant.h's layout) over output rows [begin, end):
  /// y[j] = bias[j] + sum over blocks b of xScale[b] * scale[j, g(b)] *
  /// (q[j, b] · xq[b]) + offset[j, g(b)] * xSum[b], where xq holds the
  /// activations quantized per block of 32 to int8 with scales xScale, and
  /// xSum[b] = xScale[b] * (the sum of xq over block b). `w` is the packed
  /// values, `params` the (scale, offset) pairs (f16); bits is 8 or 4.
  /// blocksPerGroup 0 means groups of 16, two per block (Quant.h): each
  /// half of a block's product takes its own pair, and xSum then holds
  /// QuantizedActivations::halfSums (2 * blocks: the first halves' sums,
  /// then the last halves').
  void (*gemvQ)(const int8_t *xq, const float *xScale, const float *xSum,
                const uint8_t *w, const uint16_t *params, int bits,
                int64_t blocks, int64_t blocksPerGroup, int64_t begin,
                int64_t end, const float *bias, float *y);

  /// gemmPanel on the bf16 dot product (vdpbf16ps), for bf16 weights; null
  /// where the host has none. Steps go in pairs: `a` holds, per pair q and
  /// row r, a[q * aStride + r] = bf16(x[r][2q]) | bf16(x[r][2q + 1]) << 16,
  /// and `b` holds per pair the panel's 2 x LLMK_PANEL_ROWS bf16 weights
  /// interleaved, b[q * 2 * LLMK_PANEL_ROWS + 2 * j + s] = w[2q + s][j]. The
  /// products are exact and sum in fp32, two steps at a time.
  void (*gemmPanelBf16)(const uint32_t *a, int64_t aStride, int rows,
                        const uint16_t *b, int64_t pairs, float *c, int64_t ldc,
                        int cols, bool accumulate, const float *bias);
  /// The `b` operand of gemmPanelBf16 from `steps` steps of a bf16 panel
  /// (steps x LLMK_PANEL_ROWS): pairs[q * 2 * LLMK_PANEL_ROWS + 2 * j + s] =
  /// panel[(2q + s) * LLMK_PANEL_ROWS + j], zero for step 2q + s = steps.
  /// Null with gemmPanelBf16.
  void (*interleaveBf16Pairs)(const uint16_t *panel, int64_t steps,
                              uint16_t *pairs);
};

/// The instruction set the host supports best.
Isa getHostIsa();

/// Caps the instruction set the kernels use (the lower of `isa` and the
/// host's). Not thread-safe against running kernels; for tests and benches.
void setMaxIsa(Isa isa);

/// The table the kernels use now.
const SimdKernels &getSimdKernels();

/// The table of one instruction set, or null when it was not compiled in.
const SimdKernels *getScalarKernels();
const SimdKernels *getAvx2Kernels();
const SimdKernels *getAvx512Kernels();
const SimdKernels *getAvx512Bf16Kernels();

/// SimdKernels::gemvQ on AVX-512 VNNI (vpdpbusd), or null when the host or
/// the compiler has none.
using GemvQFn = void (*)(const int8_t *, const float *, const float *,
                         const uint8_t *, const uint16_t *, int, int64_t,
                         int64_t, int64_t, int64_t, const float *, float *);
GemvQFn getVnniGemvQ();

/// One tile of the int8-activation (W8A8) prefill GEMM, for `rows` <= 8
/// rows of activations and one panel of LLMK_PANEL_ROWS output columns over
/// a segment of `quads` x 4 steps that lies in one weight group: with
/// acc[r][c] = sum_p w[p][c] * x[r][p] (w unsigned bytes, `w` holding per
/// quad the panel's 48 columns' 4 consecutive values, x signed bytes),
/// c[r][j] (+)= scale[j] * (acc[r][j] - zeroSums[r]) + offset[j] * sums[r]
/// for j < cols. `scale` and `offset` hold 48 floats.
using GemmQTileFn = void (*)(const int8_t *x, int64_t xStride, int rows,
                             const uint8_t *w, int64_t quads,
                             const int32_t *zeroSums, const float *sums,
                             const float *scale, const float *offset, float *c,
                             int64_t ldc, int cols, bool accumulate);
/// GemmQTileFn on AVX-512 VNNI, or null when the host or compiler has none.
GemmQTileFn getVnniGemmQTile();

/// One tile of the block-activation integer GEMM (llmk_linear_q with
/// LLMK_QUANT_INT8_BLOCKS), for `rows` <= 4 rows of activations quantized
/// per block of 32 and one panel of LLMK_PANEL_ROWS output columns over
/// `blocks` blocks: per block b, with acc[r][j] = sum over its 32 steps of
/// w[p][j] * x[r][p] (w unsigned bytes, four consecutive steps of the
/// panel's 48 columns per quad; x signed bytes),
///   c[r][j] (+)= sum_b xScale[r][b] * scale[b][j] * (acc[r][j] -
///                xZero[r][b]) + offset[b][j] * xSum[r][b]
/// for j < cols, summed in registers and stored once. Row r's values start
/// at x + r * xStride; its per-block xScale (max|x| / 127), xSum (xScale
/// times the sum of the values) and xZero (the weight's zero point times
/// that sum) at r * xBlocks; scale and offset hold 48 floats per block.
using GemmQBlocksTileFn = void (*)(const int8_t *x, int64_t xStride, int rows,
                                   const float *xScale, const float *xSum,
                                   const int32_t *xZero, int64_t xBlocks,
                                   const uint8_t *w, int64_t blocks,
                                   const float *scale, const float *offset,
                                   float *c, int64_t ldc, int cols,
                                   bool accumulate);
/// GemmQBlocksTileFn on AVX-512 VNNI, or null when the host or compiler has
/// none.
GemmQBlocksTileFn getVnniGemmQBlocksTile();

} // namespace llmk

#endif // LLM_RUNTIME_KERNELS_CPU_SIMD_H
