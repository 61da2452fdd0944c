//===- Pipelines.h - The canonical pass pipelines of LLMC -------*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_PIPELINES_PIPELINES_H
#define LLM_PIPELINES_PIPELINES_H

#include "llm/passes/Passes.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir::llm {

/// Options of the CPU pipeline (`--llm-cpu-pipeline="kv-cache=1 ..."`).
struct CPUPipelineOptions : public PassPipelineOptions<CPUPipelineOptions> {
  Option<bool> attentionPasses{
      *this, "attention-passes",
      llvm::cl::desc("Run llm-lower-alibi and llm-fuse-attention (off only "
                     "to debug the unfused path)"),
      llvm::cl::init(true)};
  Option<bool> kvCache{*this, "kv-cache",
                       llvm::cl::desc("Serve attention from a paged KV cache "
                                      "(prefill/decode entry points)"),
                       llvm::cl::init(false)};
  Option<int64_t> blockSize{*this, "block-size",
                            llvm::cl::desc("Tokens per KV-cache block"),
                            llvm::cl::init(kDefaultKVBlockSize)};
  Option<std::string> cacheDtype{
      *this, "cache-dtype",
      llvm::cl::desc("KV-cache storage: f32, f16, bf16 or i8"),
      llvm::cl::init("f32")};
  Option<int64_t> maxSeqLen{
      *this, "max-seq-len",
      llvm::cl::desc("Longest sequence a block table describes"),
      llvm::cl::init(2048)};
  Option<int64_t> decodeBatch{
      *this, "decode-batch",
      llvm::cl::desc("With kv-cache: also derive <function>_decode for this "
                     "many sequences of one token (0: none)"),
      llvm::cl::init(0)};
  Option<bool> lastLogitsOnly{
      *this, "last-logits-only",
      llvm::cl::desc("With kv-cache: the prefill entry points compute the "
                     "logits of each sequence's last position only "
                     "(llm-last-logits), all that generation reads"),
      llvm::cl::init(false)};
  Option<int64_t> moeDecodeMaxTokens{
      *this, "moe-decode-max-tokens",
      llvm::cl::desc("llm-specialize-moe's decode-max-tokens: MoE layers of "
                     "at most this many tokens take the decode form (0: "
                     "always the prefill form)"),
      llvm::cl::init(8)};
  Option<int64_t> quantizeBits{
      *this, "quantize-bits",
      llvm::cl::desc("Quantize the projections' weights to this many bits, "
                     "8 or 4 (llm-quantize); 0: keep them in float"),
      llvm::cl::init(0)};
  Option<int64_t> quantizeGroupSize{*this, "quantize-group-size",
                                    llvm::cl::desc("llm-quantize's group-size"),
                                    llvm::cl::init(32)};
  Option<bool> quantizeSymmetric{*this, "quantize-symmetric",
                                 llvm::cl::desc("llm-quantize's symmetric"),
                                 llvm::cl::init(true)};
  Option<std::string> quantizeActivations{
      *this, "quantize-activations",
      llvm::cl::desc("llm-quantize's activations: none or int8 (W8A8)"),
      llvm::cl::init("none")};
  Option<std::string> quantizeMethod{
      *this, "quantize-method",
      llvm::cl::desc("llm-quantize's method: rtn, gptq or awq"),
      llvm::cl::init("rtn")};
  Option<std::string> quantizeSkip{*this, "quantize-skip",
                                   llvm::cl::desc("llm-quantize's skip"),
                                   llvm::cl::init("lm_head")};
  Option<bool> packWeights{
      *this, "pack-weights",
      llvm::cl::desc("Store the weights of projections in the panels the CPU "
                     "GEMM streams, repacked once at load (llm-pack-weights)"),
      llvm::cl::init(true)};
  Option<std::string> target{
      *this, "target",
      llvm::cl::desc("cpu: end with llm-lower-to-cpu; cuda: end with "
                     "llm-lower-to-cuda (host code launching the CUDA "
                     "kernels), weights left in rows"),
      llvm::cl::init("cpu")};
};

/// llm dialect -> LLVM dialect calling the CPU microkernels, or (target
/// cuda) their CUDA launchers.
void buildCPUPipeline(OpPassManager &pm, const CPUPipelineOptions &options);

/// Registers `--llm-cpu-pipeline` with the pass registry.
void registerLLMPipelines();

} // namespace mlir::llm

#endif // LLM_PIPELINES_PIPELINES_H
