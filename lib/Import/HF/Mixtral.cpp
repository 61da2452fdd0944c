//===- Mixtral.cpp - Mixtral: the LLaMA family with experts ---------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// Everything but the feed-forward block is the LLaMA-family builder's
// (Llama.cpp); this file owns what is MoE-specific: the expert count, top-k,
// and the router and stacked expert weights of llm.moe.
//
//===----------------------------------------------------------------------===//

#include "Llama.h"
#include "Models.h"

#include "llvm/Support/FormatVariadic.h"

using namespace mlir;
using namespace mlir::llm;
using namespace mlir::llm::hf;

namespace {
/// `block_sparse_moe`: a router over `num_local_experts` SwiGLU experts, of
/// which each token uses the `num_experts_per_tok` best.
class MixtralMoE : public LlamaFeedForward {
public:
  void readConfig(Config &c) override {
    experts = c.getPositive("num_local_experts");
    topK = c.getPositive("num_experts_per_tok");
    c.check(topK <= experts,
            llvm::formatv("field 'num_experts_per_tok': expected at most "
                          "num_local_experts {0}, found {1}",
                          experts, topK));
  }

  Value emit(Emitter &e, Value x, const std::string &layer,
             const LlamaFeedForwardSizes &sizes) override {
    int64_t hidden = sizes.hidden, inter = sizes.intermediate;
    std::string m = layer + "block_sparse_moe.";
    Value router = e.param(m + "gate.weight", {experts, hidden}, true);
    // The router's shape bounds num_local_experts by the checkpoint before
    // 3 x experts tensor names are built (2e9 experts ran out of memory).
    if (e.failed())
      return nullptr;
    // Expert j's w1/w3/w2 are its gate/up/down projections; llm.moe takes
    // each stacked over the experts.
    std::vector<std::string> w1, w2, w3;
    for (int64_t j = 0; j < experts; ++j) {
      w1.push_back(llvm::formatv("{0}experts.{1}.w1.weight", m, j).str());
      w2.push_back(llvm::formatv("{0}experts.{1}.w2.weight", m, j).str());
      w3.push_back(llvm::formatv("{0}experts.{1}.w3.weight", m, j).str());
    }
    Value gate = e.stackedParam(m + "experts.w1", w1, {inter, hidden});
    Value up = e.stackedParam(m + "experts.w3", w3, {inter, hidden});
    Value down = e.stackedParam(m + "experts.w2", w2, {hidden, inter});
    if (e.failed())
      return nullptr;
    // Mixtral renormalizes the weights of the top-k experts (normalize).
    return MoEOp::create(e.builder, e.loc, x.getType(), x, router, gate, up,
                         down, e.builder.getI64IntegerAttr(topK),
                         e.builder.getUnitAttr(),
                         ActivationAttr::get(&e.context, Activation::SiLU));
  }

private:
  int64_t experts = 0, topK = 0;
};
} // namespace

/// Mixtral, like Mistral, applies `sliding_window` without
/// `use_sliding_window`.
static LlamaVariant mixtralVariant() {
  LlamaVariant variant;
  variant.slidingWindow = true;
  return variant;
}

void hf::readMixtralInfo(Config &config, HFModelInfo &info) {
  readLlamaFamilyInfo(config, mixtralVariant(), info);
}

llvm::Error hf::buildMixtral(Config &c, Emitter &e, ModuleOp module,
                             const HFImportOptions &options) {
  MixtralMoE moe;
  return buildLlamaFamily(c, e, module, options.seqLen, mixtralVariant(), moe);
}
