//===- GGMLBlocks.h - llama.cpp's quantized block formats -------*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
// The block formats of ggml (llama.cpp's tensor library), in which GGUF
// files store quantized weights: a row is a sequence of blocks, each a few
// f16 scales and packed integers for 32 (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1,
// IQ4_NL) or 256 (the K-quants Q2_K to Q6_K) consecutive values. This is
// their exact dequantization, in fp32 as ggml's reference code computes it
// (ggml-quants.c, dequantize_row_*), operation for operation: the reference
// that the GGUF importer's dequantize-at-load path and the quantized kernels
// are tested against.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_RUNTIME_KERNELS_CPU_GGMLBLOCKS_H
#define LLM_RUNTIME_KERNELS_CPU_GGMLBLOCKS_H

#include <cstdint>

namespace llmk {

/// ggml's tensor type numbers (ggml.h's `enum ggml_type`) that LLMC names.
enum class GGMLType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  IQ4_NL = 20,
  BF16 = 30,
};

/// Elements and bytes per block of ggml type `type` (ggml.h's numbering),
/// when dequantizeGGML reads it; false for the others.
bool getGGMLBlock(uint32_t type, int64_t &elements, int64_t &bytes);

/// The `blocks` blocks of ggml type `type` at `data`, dequantized into
/// `out` (blocks * elements per block values). F32, F16 and BF16 count one
/// element per block. Returns false (writing nothing) for a type it does
/// not read.
bool dequantizeGGML(uint32_t type, const void *data, int64_t blocks,
                    float *out);

/// A ggml block format that the quantized kernels read (Quant.h's layout)
/// after an exact repacking: every group of `group` (32, or 16 for Q6_K)
/// values of a block is `bits`-bit codes c with value scale * c + offset,
/// the codes as QuantGrid stores them (8 bits: signed; 4 and 5 bits:
/// unsigned).
///   Q8_0  8 bits, d * q                    Q4_0  4 bits, d * q - 8d
///   Q5_0  5 bits, d * q - 16d              Q4_1  4 bits, d * q + m
///   Q5_1  5 bits, d * q + m                Q4_K  4 bits, (d sc) q - dmin m
///   Q5_K  5 bits, (d sc) q - dmin m        Q6_K  6 bits, (d sc) q - 32 d sc,
///                                                groups of 16
/// (5- and 6-bit codes in the kernels' layouts of those widths: 6 bits per
/// weight with the pair where ggml holds 5.5 or 6, and 8 (two pairs per
/// block) where Q6_K holds 6.56.) The scales and offsets are fp32 here; the
/// kernels' layout keeps them as f16, which holds d, m, 8d, 16d and 32 d sc
/// as exactly as d sc, but rounds the K-quants' products d * sc and
/// dmin * m (11 significant bits of 17 to 19): a relative 2^-12 on average,
/// 2^-11 at most.
struct GGMLKernelFormat {
  GGMLType type;
  /// The `checkpoint_format` of the imported weight, e.g. "ggml_q4_k".
  const char *checkpoint;
  int bits;
  /// Whether every offset is 0 or a fixed multiple of the scale (Q8_0,
  /// Q4_0, Q5_0): the `symmetric` of the !llm.qweight type.
  bool symmetric;
  int64_t blockElements, blockBytes;
  /// Values per (scale, offset): 32, or 16.
  int64_t group;
};

/// The kernel format of ggml type `type`, or null when the kernels do not
/// read its blocks.
const GGMLKernelFormat *getGGMLKernelFormat(uint32_t type);
/// The kernel format whose `checkpoint` is `checkpoint`, or null.
const GGMLKernelFormat *findGGMLKernelFormat(const char *checkpoint);

/// The `blocks` blocks of a kernel format at `data` as codes (`blocks *
/// blockElements`) and, per group, `scales` and `offsets` (fp32, exact).
/// Returns false for a type without a kernel format.
bool decodeGGMLCodes(uint32_t type, const void *data, int64_t blocks,
                     int8_t *codes, float *scales, float *offsets);

} // namespace llmk

#endif // LLM_RUNTIME_KERNELS_CPU_GGMLBLOCKS_H
