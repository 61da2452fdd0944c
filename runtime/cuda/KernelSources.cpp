//===- KernelSources.cpp - The CUDA kernels' sources, for NVRTC -----------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "KernelSources.h"

#include <cstring>

namespace llmrt::cuda {
namespace {
struct File {
  const char *name;
  const char *text;
};
const File kFiles[] = {
#include "CudaKernelSources.inc"
};
} // namespace

CudaSource getKernelSource() {
  CudaSource source;
  for (const File &file : kFiles) {
    if (std::strcmp(file.name, "Kernels.cu") == 0) {
      source.name = file.name;
      source.text = file.text;
    } else {
      source.headers.emplace_back(file.name, file.text);
    }
  }
  return source;
}

const std::vector<std::string> &getKernelNames() {
  static const std::vector<std::string> names = {"llmc_rms_norm",
                                                 "llmc_softmax_rows",
                                                 "llmc_gemv_bf16",
                                                 "llmc_silu_mul",
                                                 "llmc_paged_attention_split",
                                                 "llmc_attention_reduce",
                                                 "llmc_gemm_bf16",
                                                 "llmc_gemv_q",
                                                 "llmc_flash_attention",
                                                 "llmc_argmax_rows",
                                                 "llmc_grouped_gemv_bf16",
                                                 "llmc_gemm_q",
                                                 "llmc_layer_norm",
                                                 "llmc_gelu",
                                                 "llmc_rope",
                                                 "llmc_embedding",
                                                 "llmc_sample_rows",
                                                 "llmc_linear_rows",
                                                 "llmc_to_bf16",
                                                 "llmc_gemm_w",
                                                 "llmc_add_bias",
                                                 "llmc_glu",
                                                 "llmc_binary",
                                                 "llmc_kv_cache_append",
                                                 "llmc_moe_route",
                                                 "llmc_moe_offsets",
                                                 "llmc_moe_gather",
                                                 "llmc_grouped_rows",
                                                 "llmc_grouped_gemm",
                                                 "llmc_grouped_tail",
                                                 "llmc_moe_combine",
                                                 "llmc_moe_rows_of",
                                                 "llmc_sigmoid_gate",
                                                 "llmc_attention_rows",
                                                 "llmc_relative_bias",
                                                 "llmc_matmul",
                                                 "llmc_alibi",
                                                 "llmc_permute_cols",
                                                 "llmc_gather_cache"};
  return names;
}

} // namespace llmrt::cuda
