//===- QwenMoE.cpp - Qwen2-MoE and Qwen3-MoE ------------------------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// The LLaMA-family decoder (Llama.cpp) with Qwen's sparse blocks: a router
// over `num_experts` SwiGLU experts of `moe_intermediate_size`, the top
// `num_experts_per_tok` renormalized only when `norm_topk_prob`, in the
// layers `decoder_sparse_step` and `mlp_only_layers` leave sparse (the
// others keep a dense MLP of `intermediate_size`). Qwen2-MoE adds a shared
// expert of `shared_expert_intermediate_size` whose output a per-token
// sigmoid gate scales, and q/k/v biases (`qkv_bias`); Qwen3-MoE normalizes
// each query and key head (q_norm, k_norm) before RoPE.
//
//===----------------------------------------------------------------------===//

#include "Llama.h"
#include "Models.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;
using namespace mlir::llm;
using namespace mlir::llm::hf;

namespace {
class QwenMoE : public LlamaFeedForward {
public:
  explicit QwenMoE(bool sharedExpert) : sharedExpert(sharedExpert) {}

  void readConfig(Config &c) override {
    // transformers 5 saves Qwen3-MoE's num_experts as num_local_experts.
    const char *expertsKey =
        c.has("num_experts") ? "num_experts" : "num_local_experts";
    experts = c.getPositive(expertsKey);
    topK = c.getPositive("num_experts_per_tok");
    c.check(topK <= experts,
            llvm::formatv("field 'num_experts_per_tok': expected at most "
                          "{0} {1}, found {2}",
                          expertsKey, experts, topK));
    normalize = c.getBool("norm_topk_prob", false);
    moeIntermediate = c.getPositive("moe_intermediate_size");
    if (sharedExpert)
      sharedIntermediate = c.getPositive("shared_expert_intermediate_size");
    sparseStep = c.getPositive("decoder_sparse_step", 1);
    mlpOnly = c.getIntList("mlp_only_layers");
  }

  Value emit(Emitter &e, Value x, const std::string &layer,
             const LlamaFeedForwardSizes &sizes) override {
    // The layer's index, from its prefix "model.layers.N.".
    int64_t index = 0;
    llvm::StringRef(layer).rtrim('.').rsplit('.').second.getAsInteger(10,
                                                                      index);
    std::string m = layer + "mlp.";
    // transformers' Qwen2MoeDecoderLayer: sparse unless listed in
    // mlp_only_layers or off the decoder_sparse_step.
    if (llvm::is_contained(mlpOnly, index) || (index + 1) % sparseStep != 0)
      return swigluMLP(e, x, m, sizes.intermediate, sizes.hidden, false);
    int64_t hidden = sizes.hidden;
    Value router = e.param(m + "gate.weight", {experts, hidden}, true);
    if (e.failed())
      return nullptr;
    std::vector<std::string> gates, ups, downs;
    for (int64_t j = 0; j < experts; ++j) {
      std::string p = llvm::formatv("{0}experts.{1}.", m, j).str();
      gates.push_back(p + "gate_proj.weight");
      ups.push_back(p + "up_proj.weight");
      downs.push_back(p + "down_proj.weight");
    }
    Value gate = e.stackedParam(m + "experts.gate_proj", gates,
                                {moeIntermediate, hidden});
    Value up =
        e.stackedParam(m + "experts.up_proj", ups, {moeIntermediate, hidden});
    Value down = e.stackedParam(m + "experts.down_proj", downs,
                                {hidden, moeIntermediate});
    if (e.failed())
      return nullptr;
    Value routed =
        MoEOp::create(e.builder, e.loc, x.getType(), x, router, gate, up, down,
                      e.builder.getI64IntegerAttr(topK),
                      normalize ? e.builder.getUnitAttr() : UnitAttr(),
                      ActivationAttr::get(&e.context, Activation::SiLU));
    if (!sharedExpert)
      return routed;
    // The shared expert, every token through it, scaled by
    // sigmoid(shared_expert_gate · x).
    Value shared = swigluMLP(e, x, m + "shared_expert.", sharedIntermediate,
                             hidden, false);
    Value sharedGate = e.linear(x, m + "shared_expert_gate", 1, false);
    return e.add(routed, e.sigmoidGate(shared, sharedGate));
  }

private:
  bool sharedExpert;
  int64_t experts = 0, topK = 0, moeIntermediate = 0, sharedIntermediate = 0,
          sparseStep = 1;
  bool normalize = false;
  std::vector<int64_t> mlpOnly;
};

/// Qwen2-MoE: Qwen2's attention (q/k/v biases, here `qkv_bias`; windows
/// from `max_window_layers`).
LlamaVariant qwen2MoeVariant() {
  LlamaVariant variant;
  variant.qkvBias = true;
  variant.qkvBiasKey = "qkv_bias";
  variant.maxWindowLayers = true;
  return variant;
}

/// Qwen3-MoE: no biases by default, per-head query and key norms.
LlamaVariant qwen3MoeVariant() {
  LlamaVariant variant;
  variant.qkNorm = true;
  return variant;
}
} // namespace

void hf::readQwen2MoeInfo(Config &config, HFModelInfo &info) {
  readLlamaFamilyInfo(config, qwen2MoeVariant(), info);
}

void hf::readQwen3MoeInfo(Config &config, HFModelInfo &info) {
  readLlamaFamilyInfo(config, qwen3MoeVariant(), info);
}

llvm::Error hf::buildQwen2Moe(Config &c, Emitter &e, ModuleOp module,
                              const HFImportOptions &options) {
  QwenMoE moe(/*sharedExpert=*/true);
  return buildLlamaFamily(c, e, module, options.seqLen, qwen2MoeVariant(), moe);
}

llvm::Error hf::buildQwen3Moe(Config &c, Emitter &e, ModuleOp module,
                              const HFImportOptions &options) {
  QwenMoE moe(/*sharedExpert=*/false);
  return buildLlamaFamily(c, e, module, options.seqLen, qwen3MoeVariant(), moe);
}
