//===- Llama.cpp - LLaMA, Mistral and Qwen2 -------------------------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// The LLaMA-family decoder (RMSNorm, grouped-query attention with RoPE,
// SwiGLU), which Mixtral reuses with its own feed-forward block, and the
// dense members of the family.
//
//===----------------------------------------------------------------------===//

#include "Llama.h"
#include "Models.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;
using namespace mlir::llm;
using namespace mlir::llm::hf;

/// Reads rope scaling from `rope_scaling` (transformers v4) or
/// `rope_parameters` (v5). Returns a null attribute for plain RoPE.
static RopeScalingAttr readRopeScaling(Config &config, MLIRContext &context,
                                       double &theta) {
  std::optional<Config> scaling = config.getObject("rope_scaling");
  if (!scaling)
    scaling = config.getObject("rope_parameters");
  if (!scaling)
    return {};
  if (scaling->has("rope_theta"))
    theta = scaling->getPositiveDouble("rope_theta", theta);
  std::string type = scaling->getString("rope_type", "");
  if (type.empty())
    type = scaling->getString("type", "default");
  std::optional<RopeScalingKind> kind;
  if (type == "default")
    kind = RopeScalingKind::None;
  else if (type == "linear")
    kind = RopeScalingKind::Linear;
  else if (type == "dynamic")
    kind = RopeScalingKind::Dynamic;
  else if (type == "yarn")
    kind = RopeScalingKind::Yarn;
  else if (type == "llama3")
    kind = RopeScalingKind::Llama3;
  if (!kind) {
    config.fail(llvm::formatv("{0}: field 'rope_type': unsupported rope "
                              "scaling '{1}'; supported: default, linear, "
                              "dynamic, yarn, llama3",
                              scaling->getFile(), type));
    return {};
  }
  if (*kind == RopeScalingKind::None)
    return {};
  double factor = scaling->getDouble("factor", 1.0);
  int64_t original =
      scaling->getInt("original_max_position_embeddings",
                      config.getInt("max_position_embeddings", 0));
  // Dynamic NTK measures growth against max_position_embeddings.
  if (*kind == RopeScalingKind::Dynamic)
    original = config.getInt("max_position_embeddings", original);
  double attentionFactor = scaling->getDouble("attention_factor", 0.0);
  double lowFreqFactor = scaling->getDouble("low_freq_factor", 1.0);
  double highFreqFactor = scaling->getDouble("high_freq_factor", 4.0);
  double betaFast = scaling->getDouble("beta_fast", 32.0);
  double betaSlow = scaling->getDouble("beta_slow", 1.0);
  if (*kind == RopeScalingKind::Yarn && scaling->has("mscale"))
    config.fail(llvm::formatv("{0}: field 'mscale': YaRN with mscale is not "
                              "supported; supported YaRN fields: factor, "
                              "original_max_position_embeddings, beta_fast, "
                              "beta_slow, attention_factor",
                              scaling->getFile()));
  if (llvm::Error err = scaling->takeError()) {
    config.fail(llvm::toString(std::move(err)));
    return {};
  }
  // The attribute's verifier checks the values: report its message as an
  // error of the config (a bare diagnostic left plain RoPE in place).
  std::string invalid;
  ScopedDiagnosticHandler capture(&context, [&](Diagnostic &diag) {
    if (invalid.empty())
      invalid = diag.str();
    return success();
  });
  auto emitError = [&] { return mlir::emitError(UnknownLoc::get(&context)); };
  RopeScalingAttr attr = RopeScalingAttr::getChecked(
      emitError, &context, *kind, llvm::APFloat(factor), original,
      llvm::APFloat(lowFreqFactor), llvm::APFloat(highFreqFactor),
      llvm::APFloat(betaFast), llvm::APFloat(betaSlow),
      llvm::APFloat(attentionFactor));
  if (!attr)
    config.fail(
        llvm::formatv("{0}: {1}", scaling->getFile(),
                      invalid.empty() ? "invalid rope scaling" : invalid));
  return attr;
}

/// The window the importer gives the attention of every layer, or
/// std::nullopt for plain causal attention. The builder and the model info
/// both read it here, so that they agree.
static std::optional<int64_t> readSlidingWindow(Config &c,
                                                const LlamaVariant &variant) {
  bool slidingEnabled =
      variant.slidingWindow || c.getBool("use_sliding_window", false);
  if (slidingEnabled && c.has("sliding_window"))
    return c.getPositive("sliding_window");
  return std::nullopt;
}

/// Whether transformers gives every layer the sliding window (when there is
/// one). Qwen2 windows layer i only when `layer_types[i]` is
/// "sliding_attention" or, without `layer_types`, when i >=
/// `max_window_layers` (28 by default): the layers below use full attention.
/// The builder windows every layer whenever readSlidingWindow gives a
/// window, but the model info must not let the runtime drop cache blocks that
/// a layer with full attention in transformers still reads.
static bool everyLayerWindowed(Config &c, const LlamaVariant &variant) {
  if (!variant.maxWindowLayers)
    return true;
  if (c.has("layer_types")) {
    std::vector<std::string> types = c.getStringList("layer_types");
    int64_t layers = c.getPositive("num_hidden_layers");
    return static_cast<int64_t>(types.size()) == layers &&
           llvm::all_of(types, [](const std::string &type) {
             return type == "sliding_attention";
           });
  }
  return c.getInt("max_window_layers", 28) <= 0;
}

/// The context the model was trained for, 0 when it has none: its
/// `max_position_embeddings`, which rope scaling can stretch (linear: factor
/// times that; YaRN and Llama 3: factor times the original context, when that
/// is longer). Dynamic NTK rescales as the sequence grows, so it sets no
/// limit. Rotary positions have no table to run off, so the runtime refuses
/// positions past this only by default (a learned table's `max_positions`
/// is a hard limit).
static int64_t readContextLength(Config &config) {
  if (!config.has("max_position_embeddings"))
    return 0;
  int64_t context = config.getPositive("max_position_embeddings");
  // The scaling's own errors are reported by the builder.
  Config scratch(config);
  std::optional<Config> scaling = scratch.getObject("rope_scaling");
  if (!scaling)
    scaling = scratch.getObject("rope_parameters");
  if (!scaling)
    return context;
  std::string type = scaling->getString("rope_type", "");
  if (type.empty())
    type = scaling->getString("type", "default");
  double factor = scaling->getDouble("factor", 1.0);
  double original = context;
  if (type == "yarn" || type == "llama3")
    original = scaling->getInt("original_max_position_embeddings", context);
  else if (type == "dynamic")
    return 0;
  else if (type != "linear")
    return context;
  double stretched = factor * original;
  if (scaling->failed() || !(stretched > context))
    return context;
  // Past 2^53 positions nothing is a limit.
  return stretched < 0x1p53 ? static_cast<int64_t>(stretched) : 0;
}

void hf::readLlamaFamilyInfo(Config &config, const LlamaVariant &variant,
                             HFModelInfo &info) {
  readHiddenSize(config, info);
  info.contextLength = readContextLength(config);
  // The builder reports what is wrong with the window's fields, in its order
  // of fields, when the model is imported: read them through a copy whose
  // errors are dropped, so that open() fails where and as it did before.
  Config scratch(config);
  std::optional<int64_t> window = readSlidingWindow(scratch, variant);
  if (window && everyLayerWindowed(scratch, variant) && !scratch.failed())
    info.slidingWindow = *window;
}

llvm::Error hf::buildLlamaFamily(Config &c, Emitter &e, ModuleOp module,
                                 int64_t seq, const LlamaVariant &variant,
                                 LlamaFeedForward &feedForward) {
  int64_t vocab = c.getPositive("vocab_size");
  int64_t hidden = c.getPositive("hidden_size");
  int64_t layers = c.getPositive("num_hidden_layers");
  int64_t heads = c.getPositive("num_attention_heads");
  int64_t kvHeads = c.getPositive("num_key_value_heads", heads);
  int64_t headDim = c.has("head_dim") ? c.getPositive("head_dim") : 0;
  if (!headDim) {
    c.check(hidden % heads == 0,
            llvm::formatv("field 'num_attention_heads': expected a divisor of "
                          "hidden_size {0}, found {1}",
                          hidden, heads));
    headDim = heads ? hidden / heads : 0;
  }
  c.check(heads % kvHeads == 0,
          llvm::formatv("field 'num_key_value_heads': expected a divisor of "
                        "num_attention_heads {0}, found {1}",
                        heads, kvHeads));
  double eps = c.getPositiveDouble("rms_norm_eps", 1e-6);
  double theta = c.getPositiveDouble("rope_theta", 10000.0);
  RopeScalingAttr scaling = readRopeScaling(c, e.context, theta);
  bool tied = c.getBool("tie_word_embeddings", false);
  bool qkvBias = c.getBool(variant.qkvBiasKey, variant.qkvBias);
  bool oBias = c.getBool("attention_bias", false);
  LlamaFeedForwardSizes sizes;
  sizes.hidden = hidden;
  sizes.bias = c.getBool("mlp_bias", false);
  std::string act = c.getString("hidden_act", "silu");
  c.check(
      act == "silu",
      llvm::formatv("field 'hidden_act': expected 'silu', found '{0}'", act));
  std::optional<int64_t> window = readSlidingWindow(c, variant);
  feedForward.readConfig(c);
  sizes.intermediate = c.getPositive("intermediate_size");
  if (c.failed())
    return c.takeError();

  auto seqTy = e.i64({e.batch, seq});
  llvm::SmallVector<Value> args = e.beginFunction(
      module, {{seqTy, ArgKind::Tokens}, {seqTy, ArgKind::Positions}},
      {e.f32({e.batch, seq, vocab})});
  Value ids = args[0], positions = args[1];
  Value h = e.embedding(ids, "model.embed_tokens.weight", vocab, hidden);
  MaskKind mask = window ? MaskKind::SlidingWindow : MaskKind::Causal;
  for (int64_t i = 0; i < layers && !e.failed(); ++i) {
    std::string p = llvm::formatv("model.layers.{0}.", i).str();
    Value x = e.rmsNorm(h, p + "input_layernorm.weight", eps);
    Value q = e.linear(x, p + "self_attn.q_proj", heads * headDim, qkvBias);
    Value k = e.linear(x, p + "self_attn.k_proj", kvHeads * headDim, qkvBias);
    Value v = e.linear(x, p + "self_attn.v_proj", kvHeads * headDim, qkvBias);
    if (variant.qkNorm) {
      q = e.rmsNorm(q, p + "self_attn.q_norm.weight", eps, headDim);
      k = e.rmsNorm(k, p + "self_attn.k_norm.weight", eps, headDim);
    }
    q = e.rope(q, positions, heads, headDim, theta, scaling);
    k = e.rope(k, positions, kvHeads, headDim, theta, scaling);
    Value a = e.attention(q, k, v, heads, kvHeads, std::nullopt, mask, window);
    h = e.add(h, e.linear(a, p + "self_attn.o_proj", hidden, oBias));
    x = e.rmsNorm(h, p + "post_attention_layernorm.weight", eps);
    h = e.add(h, feedForward.emit(e, x, p, sizes));
  }
  h = e.rmsNorm(h, "model.norm.weight", eps);
  bool untied = !tied && e.hasTensor("lm_head.weight");
  if (!tied && !untied)
    e.fail("missing tensor 'lm_head.weight' (config.json has "
           "tie_word_embeddings = false)");
  Value logits =
      e.linear(h, untied ? "lm_head" : "model.embed_tokens", vocab, false);
  e.endFunction(logits);
  return e.takeError();
}

Value hf::swigluMLP(Emitter &e, Value x, const std::string &prefix,
                    int64_t intermediate, int64_t hidden, bool bias) {
  Value g = e.linear(x, prefix + "gate_proj", intermediate, bias);
  Value u = e.linear(x, prefix + "up_proj", intermediate, bias);
  Value act = e.glu(g, u, Activation::SiLU);
  return e.linear(act, prefix + "down_proj", hidden, bias);
}

namespace {
/// The dense SwiGLU MLP.
class DenseMLP : public LlamaFeedForward {
public:
  Value emit(Emitter &e, Value x, const std::string &layer,
             const LlamaFeedForwardSizes &sizes) override {
    return swigluMLP(e, x, layer + "mlp.", sizes.intermediate, sizes.hidden,
                     sizes.bias);
  }
};
} // namespace

/// Mistral applies `sliding_window` without `use_sliding_window`.
static LlamaVariant mistralVariant() {
  LlamaVariant variant;
  variant.slidingWindow = true;
  return variant;
}

/// Qwen2 has q/k/v biases, and windows only the layers from
/// `max_window_layers` on.
static LlamaVariant qwen2Variant() {
  LlamaVariant variant;
  variant.qkvBias = true;
  variant.maxWindowLayers = true;
  return variant;
}

void hf::readLlamaInfo(Config &config, HFModelInfo &info) {
  readLlamaFamilyInfo(config, LlamaVariant(), info);
}

void hf::readMistralInfo(Config &config, HFModelInfo &info) {
  readLlamaFamilyInfo(config, mistralVariant(), info);
}

void hf::readQwen2Info(Config &config, HFModelInfo &info) {
  readLlamaFamilyInfo(config, qwen2Variant(), info);
}

llvm::Error hf::buildLlama(Config &c, Emitter &e, ModuleOp module,
                           const HFImportOptions &options) {
  DenseMLP mlp;
  return buildLlamaFamily(c, e, module, options.seqLen, LlamaVariant(), mlp);
}

llvm::Error hf::buildMistral(Config &c, Emitter &e, ModuleOp module,
                             const HFImportOptions &options) {
  DenseMLP mlp;
  return buildLlamaFamily(c, e, module, options.seqLen, mistralVariant(), mlp);
}

llvm::Error hf::buildQwen2(Config &c, Emitter &e, ModuleOp module,
                           const HFImportOptions &options) {
  DenseMLP mlp;
  return buildLlamaFamily(c, e, module, options.seqLen, qwen2Variant(), mlp);
}
