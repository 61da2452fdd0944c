//===- Llama.h - The LLaMA-family builder, shared by Mixtral ----*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// Private to the Hugging Face importer. LLaMA, Mistral, Qwen2, Mixtral,
// Qwen2-MoE and Qwen3-MoE share embeddings, attention, RoPE, norms and
// head; they differ in a few defaults and in the feed-forward block, which
// a family supplies.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_LIB_IMPORT_HF_LLAMA_H
#define LLM_LIB_IMPORT_HF_LLAMA_H

#include "Config.h"
#include "Emitter.h"

namespace mlir::llm::hf {

/// The defaults that tell the LLaMA-family members apart.
struct LlamaVariant {
  /// q/k/v projections have biases unless `qkvBiasKey` says otherwise
  /// (Qwen2).
  bool qkvBias = false;
  /// The config field of the q/k/v biases (Qwen2-MoE: qkv_bias).
  const char *qkvBiasKey = "attention_bias";
  /// RMSNorm of each query and key head before RoPE, `self_attn.q_norm` and
  /// `k_norm` of head_dim weights (Qwen3).
  bool qkNorm = false;
  /// `sliding_window` applies without `use_sliding_window` (Mistral,
  /// Mixtral).
  bool slidingWindow = false;
  /// transformers windows only some layers: those `layer_types` calls
  /// "sliding_attention" or, without it, those from `max_window_layers` on
  /// (Qwen2).
  bool maxWindowLayers = false;
};

/// What the feed-forward block of every layer is built from.
struct LlamaFeedForwardSizes {
  int64_t hidden = 0;
  /// `intermediate_size`: of the MLP, or of each expert.
  int64_t intermediate = 0;
  /// `mlp_bias`.
  bool bias = false;
};

/// The feed-forward block of a LLaMA-family layer (after
/// post_attention_layernorm, before the residual add).
class LlamaFeedForward {
public:
  virtual ~LlamaFeedForward() = default;
  /// Reads the block's own config fields. It runs after `sliding_window` and
  /// before `intermediate_size`: the order in which fields are read decides
  /// which error a config with several reports.
  virtual void readConfig(Config &config) {}
  /// Emits the block on the normed `x` of the layer whose tensors start with
  /// `layer` ("model.layers.3.").
  virtual Value emit(Emitter &e, Value x, const std::string &layer,
                     const LlamaFeedForwardSizes &sizes) = 0;
};

/// The SwiGLU MLP down(silu(gate(x)) * up(x)) of the projections
/// `prefix`gate_proj, up_proj and down_proj.
Value swigluMLP(Emitter &e, Value x, const std::string &prefix,
                int64_t intermediate, int64_t hidden, bool bias);

/// Reads the HFModelInfo fields of a LLaMA-family model: its hidden size and
/// its sliding window when every layer has it. Errors of the window's fields
/// are the builder's, at import time.
void readLlamaFamilyInfo(Config &config, const LlamaVariant &variant,
                         HFModelInfo &info);

/// Builds a LLaMA-family decoder: (ids [B, S], positions [B, S]) -> logits
/// [B, S, V], with `feedForward` in every layer.
llvm::Error buildLlamaFamily(Config &c, Emitter &e, ModuleOp module,
                             int64_t seq, const LlamaVariant &variant,
                             LlamaFeedForward &feedForward);

} // namespace mlir::llm::hf

#endif // LLM_LIB_IMPORT_HF_LLAMA_H
