//===- Quant.h - The layout of quantized weights the kernels read -*- C++
//-*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
// A weight the compiler quantized (`!llm.qweight`, llm-quantize) is packed
// once, when the runtime binds the parameters, into the layout that
// llmk_linear_q reads:
//
//   - values: for each output row, ceil(k / 32) blocks of 32 input features,
//     in order; a block is 32 signed bytes (8 bits), 16 bytes of 4-bit
//     values (byte i holds value i in its low nibble and value i + 16 in its
//     high nibble, unsigned 0..15), or, at 5 and 6 bits (unsigned 0..31,
//     0..63: ggml's Q5 and Q6 codes), those 16 bytes of the low 4 bits
//     followed by one 32-bit word per higher bit, whose bit i is that bit of
//     value i. A last partial block is padded with 0;
//   - then, 64-byte aligned, for each output row and each group of
//     `group` input features (one group per row when `group` is 0), the
//     pair (scale, offset) as two f16 values: an element dequantizes to
//     scale * q + offset. (At 4 bits in groups of 32: 5 bits per weight.)
//
// The activations are quantized per block of 32 to int8 (scale max|x| / 127)
// when the product runs on integer dot products, so a block never straddles
// two groups: `group` is 0 or a multiple of 32 that divides k, or 16 (ggml
// Q6_K's sub-blocks): two groups per block, each half of a block's dot
// product scaled by its own pair, with k a multiple of 32. (Groups of 16
// are read by the GEMV and the dequantizing GEMM, not by the W8A8 GEMM or
// the MoE kernels.)
//
//===----------------------------------------------------------------------===//

#ifndef LLM_RUNTIME_KERNELS_CPU_QUANT_H
#define LLM_RUNTIME_KERNELS_CPU_QUANT_H

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>

namespace llmk {

/// Input features per block of quantized values.
constexpr int64_t kQuantBlock = 32;

/// Blocks of a row of k input features.
inline int64_t quantBlocks(int64_t k) {
  return (k + kQuantBlock - 1) / kQuantBlock;
}

/// Bytes of one block of `bits`-bit values.
inline int64_t quantBlockBytes(int bits) {
  return bits == 8 ? kQuantBlock : kQuantBlock / 2 + 4 * (bits - 4);
}

/// Groups per row: k / group, or 1 per row for group 0.
inline int64_t quantGroups(int64_t k, int64_t group) {
  return group == 0 ? 1 : k / group;
}

/// Offset of the (scale, offset) pairs in the packed weight.
inline int64_t quantParamsOffset(int64_t n, int64_t k, int bits) {
  return (n * quantBlocks(k) * quantBlockBytes(bits) + 63) / 64 * 64;
}

/// Offset of the integer GEMM's copy of the values (W8A8), after the
/// pairs: per panel of 48 rows (LLMK_PANEL_ROWS), quantBlocks(k) * 8 quads
/// of 4 consecutive steps for each of the panel's columns, as unsigned
/// bytes (8 bits: q + 128; 4 bits: q), zero past row n.
inline int64_t quantQuadsOffset(int64_t n, int64_t k, int bits, int64_t group) {
  return (quantParamsOffset(n, k, bits) +
          n * quantGroups(k, group) * 2 * int64_t(sizeof(uint16_t)) + 63) /
         64 * 64;
}

/// Rows of the panels of the GEMM's copy.
inline int64_t quantQuadRows(int64_t n) { return (n + 47) / 48 * 48; }

/// Bytes of a packed [n, k] weight; with `quads`, the GEMM's copy too.
inline int64_t quantPackedBytes(int64_t n, int64_t k, int bits, int64_t group,
                                bool quads = false) {
  if (quads)
    return quantQuadsOffset(n, k, bits, group) +
           quantQuadRows(n) * quantBlocks(k) * kQuantBlock;
  return quantParamsOffset(n, k, bits) +
         n * quantGroups(k, group) * 2 * int64_t(sizeof(uint16_t));
}

/// Bytes from one expert's packed [n, k] matrix to the next in a stacked
/// quantized weight (llmk_grouped_matmul_q): each packed as one weight,
/// 64-aligned.
inline int64_t quantExpertBytes(int64_t n, int64_t k, int bits, int64_t group) {
  return (quantPackedBytes(n, k, bits, group) + 63) / 64 * 64;
}

/// Offset of the permutation of the input features (k int32: stored
/// feature t is input feature perm[t]) that follows a weight packed with
/// LLMK_QUANT_PERMUTED.
inline int64_t quantPermOffset(int64_t n, int64_t k, int bits, int64_t group,
                               bool quads = false) {
  return (quantPackedBytes(n, k, bits, group, quads) + 63) / 64 * 64;
}

/// Empty when (bits, group) is a quantization of [*, k] that the kernels
/// read, else what is wrong with it.
std::string checkQuantization(int bits, int64_t group, int64_t k);

/// Quantizes the row-major fp32 [n, k] weight `w` to nearest (RTN) into
/// `out` (quantPackedBytes bytes), per group: with `symmetric`, 8-bit values
/// in [-127, 127] with scale max|w| / 127, and 4-bit values in [-8, 7] with
/// scale w_m / -8 where w_m is the element of largest magnitude (llama.cpp's
/// Q4_0), and 5- and 6-bit ones likewise in [-16, 15] and [-32, 31] (Q5_0);
/// otherwise the group's [min, max] on 2^bits levels. With `quads`,
/// also writes the integer GEMM's copy (quantQuadsOffset), which
/// llmk_linear_q reads with int8 activations. Runs on the kernels' thread
/// pool. (bits, group) must pass checkQuantization.
void quantizeWeight(const float *w, int64_t n, int64_t k, int bits,
                    int64_t group, bool symmetric, void *out,
                    bool quads = false);

/// The values one group of a quantized weight can take: code c (as stored:
/// signed at 8 bits, 0..15 at 4) stands for scale * c + offset, with
/// scale and offset as f16 values (as stored).
struct QuantGrid {
  float scale = 0.0f, offset = 0.0f;
  /// The codes: [-127, 127] (8 bits, symmetric), [-128, 127] (8 bits, with
  /// a zero point), [0, 15] (4 bits), [0, 31] (5 bits), [0, 63] (6 bits).
  int lo = 0, hi = 0;

  /// The code nearest `w`.
  int quantize(float w) const;
  float value(int code) const {
    return scale * static_cast<float>(code) + offset;
  }
};

/// The grid that quantizeWeight chooses for the `count` values `w` of one
/// group (see there).
QuantGrid chooseQuantGrid(const float *w, int64_t count, int bits,
                          bool symmetric);

/// Packs chosen codes into `out` (quantPackedBytes bytes), the layout
/// quantizeWeight writes: `codes` is [n, k] (QuantGrid's codes), `grids`
/// [n, quantGroups(k, group)]. For quantizers that pick codes themselves
/// (GPTQ). With `quads`, also writes the integer GEMM's copy.
void packQuantized(const int8_t *codes, const QuantGrid *grids, int64_t n,
                   int64_t k, int bits, int64_t group, void *out,
                   bool quads = false);

/// Input features [p0, p0 + count) of row `row` of a packed weight,
/// dequantized into `dst`.
void dequantize(const void *packed, int64_t n, int64_t k, int bits,
                int64_t group, int64_t row, int64_t p0, int64_t count,
                float *dst);

/// Calibration (GPTQ, AWQ): called by llmk_linear and llmk_linear_rope,
/// once per call, on the calling thread and before the product, with the
/// call's weight and its input x ([m, k]). The observer is per thread: it
/// sees the calls the setting thread makes.
using LinearObserver = void (*)(void *context, const void *w, const float *x,
                                int64_t m, int64_t k);

/// Sets the calling thread's observer (null: none, the default).
void setLinearObserver(LinearObserver observer, void *context);

/// Activations quantized per block of 32, as SimdKernels::gemvQ reads them.
struct QuantizedActivations {
  /// quantBlocks(k) * 32 values (zero past k).
  int8_t *values;
  /// Per block: max|x| / 127, and that scale times the sum of the values.
  float *scales, *sums;
  /// Optional (groups of 16): per block, the scale times the sum of its
  /// first 16 values, then per block that of its last 16 (2 * blocks).
  float *halfSums = nullptr;
  /// Optional: per block, the sum of its values.
  int32_t *valueSums = nullptr;
};

/// Block `b` (of `blocks`) of `out` holding a NaN or an infinity: zero
/// values and NaN scale and sums, so that the outputs are NaN as in fp32.
inline void markNonFinite(const QuantizedActivations &out, int64_t b,
                          int64_t blocks) {
  std::fill(out.values + b * kQuantBlock, out.values + (b + 1) * kQuantBlock,
            0);
  out.scales[b] = out.sums[b] = std::numeric_limits<float>::quiet_NaN();
  if (out.halfSums)
    out.halfSums[b] = out.halfSums[blocks + b] = out.sums[b];
  if (out.valueSums)
    out.valueSums[b] = 0;
}

/// Quantizes the k activations `x` to nearest into `out` (on AVX-512 where
/// the kernels run it: the same values bit for bit).
void quantizeActivations(const float *x, int64_t k, QuantizedActivations out);

/// quantizeActivations on AVX-512, or null when the host or the compiler has
/// none.
using QuantizeActivationsFn = void (*)(const float *, int64_t,
                                       QuantizedActivations);
QuantizeActivationsFn getAvx512QuantizeActivations();

/// llmk_linear_q's product on block-quantized int8 activations
/// (LLMK_QUANT_INT8_BLOCKS) on the portable tile, whatever the host: the
/// reference of the VNNI path, for tests. `bits` is 8 or 4 and `group` a
/// multiple of 32 or 0; m >= 1.
void linearQuantizedBlocksPortable(const float *x, const void *w, int32_t bits,
                                   int64_t group, const float *bias, float *y,
                                   int64_t m, int64_t k, int64_t n);

} // namespace llmk

#endif // LLM_RUNTIME_KERNELS_CPU_QUANT_H
