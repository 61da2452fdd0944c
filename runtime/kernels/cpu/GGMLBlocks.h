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

} // namespace llmk

#endif // LLM_RUNTIME_KERNELS_CPU_GGMLBLOCKS_H
