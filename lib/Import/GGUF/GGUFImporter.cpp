//===- GGUFImporter.cpp - GGUF files as models ----------------------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "llm/Import/GGUFImporter.h"

#include "GGMLBlocks.h"
#include "GGUF.h"
#include "SafeTensors.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"

#include <cmath>
#include <cstring>
#include <optional>
#include <tuple>

using namespace mlir;
using namespace mlir::llm;
using llmrt::GGUFFile;
using llmrt::GGUFTensor;
using llmrt::GGUFValue;

namespace {

llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// The bytes the archive's tensors point into: the file's mapping and the
/// converted copies.
struct Holder {
  std::unique_ptr<GGUFFile> file;
  std::vector<std::vector<uint8_t>> buffers;
};

class Metadata {
public:
  Metadata(const GGUFFile &file, std::string arch)
      : file(file), arch(std::move(arch)) {}

  /// `{arch}.key` (or `key` when it starts with "general." or
  /// "tokenizer."), an integer of any integer type.
  llvm::Expected<std::optional<int64_t>> integer(llvm::StringRef key) const {
    std::string full = qualify(key);
    const GGUFValue *v = file.find(full);
    if (!v)
      return std::nullopt;
    if (!v->isInteger() || v->integer < 0)
      return makeError(llvm::formatv("{0}: metadata '{1}': expected a "
                                     "non-negative integer, found {2}",
                                     file.path(), full, v->describe()));
    return v->integer;
  }
  llvm::Expected<int64_t> required(llvm::StringRef key) const {
    llvm::Expected<std::optional<int64_t>> v = integer(key);
    if (!v)
      return v.takeError();
    if (!*v || **v <= 0)
      return makeError(llvm::formatv(
          "{0}: metadata '{1}': expected a positive integer, found {2}",
          file.path(), qualify(key),
          *v ? std::to_string(**v) : std::string("no such key")));
    return **v;
  }
  llvm::Expected<std::optional<double>> real(llvm::StringRef key) const {
    std::string full = qualify(key);
    const GGUFValue *v = file.find(full);
    if (!v)
      return std::nullopt;
    if (v->isFloat())
      return v->real;
    if (v->isInteger())
      return static_cast<double>(v->integer);
    return makeError(llvm::formatv("{0}: metadata '{1}': expected a number, "
                                   "found {2}",
                                   file.path(), full, v->describe()));
  }
  llvm::Expected<std::optional<bool>> boolean(llvm::StringRef key) const {
    std::string full = qualify(key);
    const GGUFValue *v = file.find(full);
    if (!v)
      return std::nullopt;
    if (v->type != llmrt::GGUFType::Bool)
      return makeError(llvm::formatv("{0}: metadata '{1}': expected a bool, "
                                     "found {2}",
                                     file.path(), full, v->describe()));
    return v->integer != 0;
  }
  std::string string(llvm::StringRef key) const {
    const GGUFValue *v = file.find(qualify(key));
    return v && v->type == llmrt::GGUFType::String ? v->string : "";
  }

  const std::string &path() const { return file.path(); }
  std::string qualify(llvm::StringRef key) const {
    if (key.starts_with("general.") || key.starts_with("tokenizer."))
      return key.str();
    return arch + "." + key.str();
  }

private:
  const GGUFFile &file;
  std::string arch;
};

/// Llama 3's RoPE scaling from the per-frequency divisors that llama.cpp's
/// converter writes instead of its parameters (rope_freqs.weight: frequency
/// i is base^(-2i/d) / r_i). The factor is the largest divisor; between 1
/// and the factor the divisors lie on a line in 1 / wavelength, whose two
/// coefficients give the low and high frequency factors relative to the
/// original context (rope.scaling.original_context_length, else the
/// context over the factor: only the ratios matter). The parameters found
/// must give back every divisor within 1e-4, or the file's divisors are not
/// Llama 3's and are refused.
llvm::Expected<std::optional<llvm::json::Object>>
llama3Scaling(const Metadata &meta, const GGUFTensor &t, double base,
              int64_t dim) {
  const std::string &path = meta.path();
  const int64_t n = dim / 2;
  if (t.type != static_cast<uint32_t>(llmrt::GGMLType::F32) ||
      t.dims.size() != 1 || t.dims[0] != n)
    return makeError(llvm::formatv(
        "{0}: tensor 'rope_freqs.weight': expected {1} F32 divisors (one per "
        "rotary frequency), found {2} values of type {3}",
        path, n, t.getNumElements(),
        llmrt::getGGMLTypeInfo(t.type) ? llmrt::getGGMLTypeInfo(t.type)->name
                                       : "?"));
  std::vector<double> r(n), u(n);
  double factor = 0;
  for (int64_t i = 0; i < n; ++i) {
    float v;
    std::memcpy(&v, t.data + 4 * i, 4);
    r[i] = v;
    u[i] = std::pow(base, -2.0 * i / dim) / (2 * M_PI);
    factor = std::max(factor, r[i]);
  }
  auto refuse = [&](const std::string &why) {
    return makeError(llvm::formatv(
        "{0}: tensor 'rope_freqs.weight': expected Llama 3's RoPE divisors "
        "(1 for high frequencies, a factor for low ones, a smooth ramp "
        "between), found {1}",
        path, why));
  };
  for (double v : r)
    if (!(v >= 1.0 - 1e-6) || !std::isfinite(v))
      return refuse("a divisor of " + std::to_string(v));
  if (factor <= 1.0 + 1e-6)
    return std::optional<llvm::json::Object>();
  llvm::Expected<std::optional<int64_t>> originalKey =
      meta.integer("rope.scaling.original_context_length");
  if (!originalKey)
    return originalKey.takeError();
  llvm::Expected<int64_t> context = meta.required("context_length");
  if (!context)
    return context.takeError();
  const double original = static_cast<double>(originalKey->value_or(
      std::max<int64_t>(1, std::llround(*context / factor))));
  // The ramp: s = (1/r - 1/factor) / (1 - 1/factor) = original * u / (high -
  // low) - low / (high - low), for the divisors strictly between.
  double su = 0, ss = 0, suu = 0, sus = 0;
  int count = 0;
  for (int64_t i = 0; i < n; ++i)
    if (r[i] > 1.0 + 1e-5 && r[i] < factor * (1.0 - 1e-5)) {
      double s = (1.0 / r[i] - 1.0 / factor) / (1.0 - 1.0 / factor);
      su += u[i], ss += s, suu += u[i] * u[i], sus += u[i] * s, ++count;
    }
  double low, high;
  if (count >= 2 && count * suu - su * su > 0) {
    double a = (count * sus - su * ss) / (count * suu - su * su);
    double b = (ss - a * su) / count;
    if (!(a > 0))
      return refuse("a ramp that does not rise with the frequency");
    low = -b * original / a;
    high = low + original / a;
  } else {
    // No ramp to fit: the edges between the plain and the scaled
    // frequencies, half-way between the divisors on either side.
    double uOne = HUGE_VAL, uScaled = 0, uRest = HUGE_VAL, uFactor = 0;
    for (int64_t i = 0; i < n; ++i) {
      if (r[i] <= 1.0 + 1e-5)
        uOne = std::min(uOne, u[i]);
      else
        uScaled = std::max(uScaled, u[i]);
      if (r[i] >= factor * (1.0 - 1e-5))
        uFactor = std::max(uFactor, u[i]);
      else
        uRest = std::min(uRest, u[i]);
    }
    high = original * (uOne == HUGE_VAL ? 2 * uScaled : (uOne + uScaled) / 2);
    low = original * (uRest == HUGE_VAL ? uFactor / 2 : (uRest + uFactor) / 2);
  }
  if (!(low > 0) || !(high > low))
    return refuse("no ramp between positive low and high frequency factors");
  for (int64_t i = 0; i < n; ++i) {
    double wavelen = 1.0 / u[i], expected;
    if (wavelen < original / high)
      expected = 1.0;
    else if (wavelen > original / low)
      expected = factor;
    else {
      double s = (original / wavelen - low) / (high - low);
      expected = 1.0 / ((1.0 - s) / factor + s);
    }
    if (std::fabs(expected - r[i]) > 1e-4 * r[i])
      return refuse(llvm::formatv("divisor {0} = {1}, where the best Llama 3 "
                                  "fit (factor {2}, low {3}, high {4}) gives "
                                  "{5}",
                                  i, r[i], factor, low, high, expected)
                        .str());
  }
  return std::optional<llvm::json::Object>(llvm::json::Object{
      {"rope_type", "llama3"},
      {"factor", factor},
      {"low_freq_factor", low},
      {"high_freq_factor", high},
      {"original_max_position_embeddings", static_cast<int64_t>(original)}});
}

/// RoPE scaling: rope.scaling.type none, linear (factor) or yarn (factor,
/// original context, YaRN's beta_fast, beta_slow and attention factor), and
/// Llama 3's rope_freqs.weight.
llvm::Error ropeScaling(const Metadata &meta, const GGUFFile &file, double base,
                        int64_t headDim, llvm::json::Object &config) {
  const std::string &path = meta.path();
  std::string scaling = meta.string("rope.scaling.type");
  llvm::Expected<std::optional<int64_t>> dims =
      meta.integer("rope.dimension_count");
  if (!dims)
    return dims.takeError();
  if (*dims && **dims != headDim)
    return makeError(llvm::formatv(
        "{0}: metadata '{1}': expected the head size {2} (LLMC rotates whole "
        "heads), found {3}",
        path, meta.qualify("rope.dimension_count"), headDim, **dims));
  if (!scaling.empty() && scaling != "none") {
    if (scaling != "linear" && scaling != "yarn")
      return makeError(llvm::formatv(
          "{0}: metadata '{1}': expected none, linear or yarn (the RoPE "
          "scalings LLMC reads from GGUF), found '{2}'",
          path, meta.qualify("rope.scaling.type"), scaling));
    llvm::json::Object rope{{"rope_type", scaling}};
    for (auto [key, field] :
         {std::pair<llvm::StringRef, llvm::StringRef>{"rope.scaling.factor",
                                                      "factor"},
          {"rope.scaling.yarn_beta_fast", "beta_fast"},
          {"rope.scaling.yarn_beta_slow", "beta_slow"},
          {"rope.scaling.yarn_attn_factor", "attention_factor"}}) {
      llvm::Expected<std::optional<double>> v = meta.real(key);
      if (!v)
        return v.takeError();
      if (*v && (field == "factor" || scaling == "yarn"))
        rope[field] = **v;
    }
    if (scaling == "yarn") {
      llvm::Expected<int64_t> original =
          meta.required("rope.scaling.original_context_length");
      if (!original)
        return original.takeError();
      rope["original_max_position_embeddings"] = *original;
      // What transformers' YaRN has no parameter for.
      for (auto [key, neutral] : {std::pair<llvm::StringRef, double>{
                                      "rope.scaling.yarn_ext_factor", 1.0},
                                  {"rope.scaling.attn_factor", 1.0},
                                  {"rope.scaling.yarn_log_multiplier", 0.0}}) {
        llvm::Expected<std::optional<double>> v = meta.real(key);
        if (!v)
          return v.takeError();
        if (*v && **v != neutral)
          return makeError(
              llvm::formatv("{0}: metadata '{1}': expected {2} (LLMC's YaRN is "
                            "transformers'), found {3}",
                            path, meta.qualify(key), neutral, **v));
      }
    }
    config["rope_scaling"] = std::move(rope);
  }
  if (const GGUFTensor *freqs = file.lookup("rope_freqs.weight")) {
    if (config.get("rope_scaling"))
      return makeError(llvm::formatv(
          "{0}: tensor 'rope_freqs.weight': expected no per-frequency "
          "divisors beside rope.scaling.type {1}, found them",
          path, scaling));
    llvm::Expected<std::optional<llvm::json::Object>> llama3 =
        llama3Scaling(meta, *freqs, base, headDim);
    if (!llama3)
      return llama3.takeError();
    if (*llama3)
      config["rope_scaling"] = std::move(**llama3);
  }
  return llvm::Error::success();
}

using NamePairs = llvm::ArrayRef<std::pair<llvm::StringRef, llvm::StringRef>>;

/// Sets `model_type` and the required positive integers `fields` (GGUF
/// key -> config field) of {arch}.* metadata.
llvm::Error requiredFields(const Metadata &meta, llvm::StringRef modelType,
                           NamePairs fields, llvm::json::Object &config) {
  config["model_type"] = modelType;
  for (auto [key, field] : fields) {
    llvm::Expected<int64_t> v = meta.required(key);
    if (!v)
      return v.takeError();
    config[field] = *v;
  }
  return llvm::Error::success();
}

/// The sizes LLaMA-family and BERT configs name alike.
const std::pair<llvm::StringRef, llvm::StringRef> kTransformerFields[] = {
    {"embedding_length", "hidden_size"},
    {"feed_forward_length", "intermediate_size"},
    {"block_count", "num_hidden_layers"},
    {"attention.head_count", "num_attention_heads"},
    {"context_length", "max_position_embeddings"}};

/// `pad_token_id` from tokenizer.ggml.padding_token_id (0 without it).
llvm::Error padTokenId(const Metadata &meta, llvm::json::Object &config) {
  llvm::Expected<std::optional<int64_t>> pad =
      meta.integer("tokenizer.ggml.padding_token_id");
  if (!pad)
    return pad.takeError();
  config["pad_token_id"] = pad->value_or(0);
  return llvm::Error::success();
}

/// The config of a GPT-2-style family (GPT-2, BLOOM) from {arch}.*
/// metadata: `model_type`, the required integers `fields` (GGUF key ->
/// config field) and the LayerNorm epsilon.
llvm::Error layerNormConfig(const Metadata &meta, llvm::StringRef modelType,
                            NamePairs fields, llvm::json::Object &config) {
  if (llvm::Error err = requiredFields(meta, modelType, fields, config))
    return err;
  llvm::Expected<std::optional<double>> eps =
      meta.real("attention.layer_norm_epsilon");
  if (!eps)
    return eps.takeError();
  config["layer_norm_epsilon"] = eps->value_or(1e-5);
  return llvm::Error::success();
}

/// GPT-2's config (llama.cpp's GPT2Model converter).
llvm::Error gpt2Config(const Metadata &meta, llvm::json::Object &config) {
  static const std::pair<llvm::StringRef, llvm::StringRef> kFields[] = {
      {"embedding_length", "n_embd"},
      {"feed_forward_length", "n_inner"},
      {"block_count", "n_layer"},
      {"attention.head_count", "n_head"},
      {"context_length", "n_positions"}};
  config["activation_function"] = "gelu_new";
  return layerNormConfig(meta, "gpt2", kFields, config);
}

/// BLOOM's config (llama.cpp's BloomModel converter).
llvm::Error bloomConfig(const Metadata &meta, llvm::json::Object &config) {
  static const std::pair<llvm::StringRef, llvm::StringRef> kFields[] = {
      {"embedding_length", "hidden_size"},
      {"block_count", "n_layer"},
      {"attention.head_count", "n_head"}};
  return layerNormConfig(meta, "bloom", kFields, config);
}

/// BERT's config (llama.cpp's BertModel converter): an encoder with
/// bidirectional attention, the exact GELU and token-type embeddings.
llvm::Error bertConfig(const Metadata &meta, const GGUFFile &file,
                       llvm::json::Object &config) {
  if (llvm::Error err =
          requiredFields(meta, "bert", kTransformerFields, config))
    return err;
  llvm::Expected<std::optional<double>> eps =
      meta.real("attention.layer_norm_epsilon");
  if (!eps)
    return eps.takeError();
  config["layer_norm_eps"] = eps->value_or(1e-12);
  llvm::Expected<std::optional<bool>> causal = meta.boolean("attention.causal");
  if (!causal)
    return causal.takeError();
  if (causal->value_or(false))
    return makeError(llvm::formatv(
        "{0}: metadata 'bert.attention.causal': expected false (BERT "
        "attends both ways), found true",
        meta.path()));
  // The token types: the table's rows (the converter writes their count as
  // tokenizer.ggml.token_type_count too).
  const GGUFTensor *types = file.lookup("token_types.weight");
  config["type_vocab_size"] =
      types && types->dims.size() == 2 ? types->dims[1] : int64_t(1);
  config["hidden_act"] = "gelu";
  return padTokenId(meta, config);
}

/// T5's config (llama.cpp's T5Model converter). GGUF has no key for the
/// relative attention's maximum distance: 128, as every T5 checkpoint and
/// llama.cpp use. The feed-forward block is gated (T5 v1.1: GELU, tanh) when
/// the file has ffn_gate tensors, else ReLU; without an output tensor the
/// head is the embedding and the decoder output is scaled by
/// d_model^-0.5, as transformers does for tied T5.
llvm::Error t5Config(const Metadata &meta, const GGUFFile &file,
                     llvm::json::Object &config) {
  static const std::pair<llvm::StringRef, llvm::StringRef> kFields[] = {
      {"embedding_length", "d_model"},
      {"feed_forward_length", "d_ff"},
      {"block_count", "num_layers"},
      {"attention.head_count", "num_heads"}};
  if (llvm::Error err = requiredFields(meta, "t5", kFields, config))
    return err;
  int64_t dModel = *config.getInteger("d_model"),
          heads = *config.getInteger("num_heads");
  for (auto [key, field, fallback] :
       {std::tuple<llvm::StringRef, llvm::StringRef, int64_t>{
            "decoder_block_count", "num_decoder_layers",
            *config.getInteger("num_layers")},
        {"attention.key_length", "d_kv", dModel / heads},
        {"attention.relative_buckets_count", "relative_attention_num_buckets",
         32},
        {"decoder_start_token_id", "decoder_start_token_id", 0}}) {
    llvm::Expected<std::optional<int64_t>> v = meta.integer(key);
    if (!v)
      return v.takeError();
    config[field] = v->value_or(fallback);
  }
  llvm::Expected<std::optional<int64_t>> valueLength =
      meta.integer("attention.value_length");
  if (!valueLength)
    return valueLength.takeError();
  if (*valueLength && **valueLength != *config.getInteger("d_kv"))
    return makeError(llvm::formatv(
        "{0}: metadata 't5.attention.value_length': expected {1} (the key "
        "length; T5 has one d_kv), found {2}",
        meta.path(), *config.getInteger("d_kv"), **valueLength));
  config["relative_attention_max_distance"] = 128;
  llvm::Expected<std::optional<double>> rms =
      meta.real("attention.layer_norm_rms_epsilon");
  if (!rms)
    return rms.takeError();
  llvm::Expected<std::optional<double>> eps =
      meta.real("attention.layer_norm_epsilon");
  if (!eps)
    return eps.takeError();
  config["layer_norm_epsilon"] = rms->value_or(eps->value_or(1e-6));
  config["feed_forward_proj"] =
      file.lookup("enc.blk.0.ffn_gate.weight") ? "gated-gelu" : "relu";
  const bool tied = file.lookup("output.weight") == nullptr;
  config["scale_decoder_outputs"] = tied;
  return padTokenId(meta, config);
}

/// The Hugging Face name of GGUF tensor `name` of a GPT-2-style family, or
/// "": a whole-model tensor by `global`, blk.N.T.weight/bias by `layer` as
/// h.N.<layer[T]>.weight/bias.
std::string layerNormName(llvm::StringRef name, NamePairs global,
                          NamePairs layer) {
  for (auto [from, to] : global)
    if (name == from)
      return to.str();
  if (!name.consume_front("blk."))
    return "";
  auto [index, rest] = name.split('.');
  unsigned number;
  if (index.getAsInteger(10, number))
    return "";
  auto [tensor, kind] = rest.split('.');
  if (kind != "weight" && kind != "bias")
    return "";
  for (auto [from, to] : layer)
    if (tensor == from)
      return ("h." + index + "." + to + "." + kind).str();
  return "";
}

/// The Hugging Face name of BLOOM GGUF tensor `name`, or "".
std::string bloomName(llvm::StringRef name) {
  static const std::pair<llvm::StringRef, llvm::StringRef> kGlobal[] = {
      {"token_embd.weight", "word_embeddings.weight"},
      {"token_embd_norm.weight", "word_embeddings_layernorm.weight"},
      {"token_embd_norm.bias", "word_embeddings_layernorm.bias"},
      {"output_norm.weight", "ln_f.weight"},
      {"output_norm.bias", "ln_f.bias"},
      {"output.weight", "lm_head.weight"}};
  static const std::pair<llvm::StringRef, llvm::StringRef> kLayer[] = {
      {"attn_norm", "input_layernorm"},
      {"attn_qkv", "self_attention.query_key_value"},
      {"attn_output", "self_attention.dense"},
      {"ffn_norm", "post_attention_layernorm"},
      {"ffn_up", "mlp.dense_h_to_4h"},
      {"ffn_down", "mlp.dense_4h_to_h"}};
  return layerNormName(name, kGlobal, kLayer);
}

/// The Hugging Face name of GPT-2 GGUF tensor `name`, or "".
std::string gpt2Name(llvm::StringRef name) {
  static const std::pair<llvm::StringRef, llvm::StringRef> kGlobal[] = {
      {"token_embd.weight", "wte.weight"},
      {"position_embd.weight", "wpe.weight"},
      {"output_norm.weight", "ln_f.weight"},
      {"output_norm.bias", "ln_f.bias"},
      {"output.weight", "lm_head.weight"}};
  static const std::pair<llvm::StringRef, llvm::StringRef> kLayer[] = {
      {"attn_norm", "ln_1"},          {"attn_qkv", "attn.c_attn"},
      {"attn_output", "attn.c_proj"}, {"ffn_norm", "ln_2"},
      {"ffn_up", "mlp.c_fc"},         {"ffn_down", "mlp.c_proj"}};
  return layerNormName(name, kGlobal, kLayer);
}

/// The Hugging Face name of BERT GGUF tensor `name`, or "".
std::string bertName(llvm::StringRef name) {
  static const std::pair<llvm::StringRef, llvm::StringRef> kGlobal[] = {
      {"token_embd.weight", "embeddings.word_embeddings.weight"},
      {"token_types.weight", "embeddings.token_type_embeddings.weight"},
      {"position_embd.weight", "embeddings.position_embeddings.weight"},
      {"token_embd_norm.weight", "embeddings.LayerNorm.weight"},
      {"token_embd_norm.bias", "embeddings.LayerNorm.bias"}};
  static const std::pair<llvm::StringRef, llvm::StringRef> kLayer[] = {
      {"attn_q", "attention.self.query"},
      {"attn_k", "attention.self.key"},
      {"attn_v", "attention.self.value"},
      {"attn_output", "attention.output.dense"},
      {"attn_output_norm", "attention.output.LayerNorm"},
      {"ffn_up", "intermediate.dense"},
      {"ffn_down", "output.dense"},
      {"layer_output_norm", "output.LayerNorm"}};
  std::string hf = layerNormName(name, kGlobal, kLayer);
  // layerNormName writes GPT-2's h.N.
  if (llvm::StringRef(hf).starts_with("h."))
    hf = "encoder.layer." + hf.substr(2);
  return hf;
}

/// The Hugging Face name of T5 GGUF tensor `name`, or "": enc.blk.N.* and
/// dec.blk.N.* as encoder/decoder.block.N.layer.L.*, the feed-forward
/// block's up projection wi_1 when `gated`, else wi.
std::string t5Name(llvm::StringRef name, bool gated) {
  static const std::pair<llvm::StringRef, llvm::StringRef> kGlobal[] = {
      {"token_embd.weight", "shared.weight"},
      {"output.weight", "lm_head.weight"},
      {"enc.output_norm.weight", "encoder.final_layer_norm.weight"},
      {"dec.output_norm.weight", "decoder.final_layer_norm.weight"}};
  for (auto [from, to] : kGlobal)
    if (name == from)
      return to.str();
  const bool decoder = name.consume_front("dec.blk.");
  if (!decoder && !name.consume_front("enc.blk."))
    return "";
  auto [index, rest] = name.split('.');
  unsigned number;
  if (index.getAsInteger(10, number) || !rest.consume_back(".weight"))
    return "";
  const char *ffn = decoder ? "2" : "1";
  std::string part;
  static const std::pair<llvm::StringRef, llvm::StringRef> kAttention[] = {
      {"q", "q"}, {"k", "k"}, {"v", "v"}, {"o", "o"}};
  if (rest == "attn_norm")
    part = "0.layer_norm";
  else if (rest == "attn_rel_b")
    part = "0.SelfAttention.relative_attention_bias";
  else if (decoder && rest == "cross_attn_norm")
    part = "1.layer_norm";
  else if (rest == "ffn_norm")
    part = std::string(ffn) + ".layer_norm";
  else if (rest == "ffn_gate" && gated)
    part = std::string(ffn) + ".DenseReluDense.wi_0";
  else if (rest == "ffn_up")
    part = std::string(ffn) + ".DenseReluDense." + (gated ? "wi_1" : "wi");
  else if (rest == "ffn_down")
    part = std::string(ffn) + ".DenseReluDense.wo";
  else
    for (auto [from, to] : kAttention) {
      if (rest == ("attn_" + from).str())
        part = ("0.SelfAttention." + to).str();
      if (decoder && rest == ("cross_attn_" + from).str())
        part = ("1.EncDecAttention." + to).str();
    }
  if (part.empty())
    return "";
  return ((decoder ? "decoder.block." : "encoder.block.") + index + ".layer." +
          part + ".weight")
      .str();
}

/// The experts of a stacked tensor blk.N.ffn_{gate,up,down}_exps.weight
/// ([experts, rows, cols]) as Mixtral's per-expert tensors
/// model.layers.N.block_sparse_moe.experts.E.w1/w3/w2.weight: F32, F16 and
/// BF16 in place, block formats dequantized to f32 (counted in
/// `dequantized`).
llvm::Error splitExperts(const GGUFTensor &t,
                         std::vector<std::vector<uint8_t>> &buffers,
                         std::vector<llmrt::TensorInfo> &tensors,
                         std::map<std::string, int64_t> &dequantized,
                         llvm::StringRef path) {
  llvm::StringRef name = t.name;
  name.consume_front("blk.");
  auto [layer, rest] = name.split('.');
  unsigned index;
  static const std::pair<llvm::StringRef, llvm::StringRef> kWhich[] = {
      {"ffn_gate_exps.weight", "w1"},
      {"ffn_down_exps.weight", "w2"},
      {"ffn_up_exps.weight", "w3"}};
  llvm::StringRef which;
  for (auto [from, to] : kWhich)
    if (rest == from)
      which = to;
  if (!llvm::StringRef(t.name).starts_with("blk.") ||
      layer.getAsInteger(10, index) || which.empty() || t.dims.size() != 3)
    return makeError(llvm::formatv(
        "{0}: tensor '{1}': expected blk.N.ffn_gate_exps/ffn_up_exps/"
        "ffn_down_exps.weight of 3 dims [experts, rows, cols], found '{1}' "
        "of {2} dims",
        path, t.name, t.dims.size()));
  const int64_t experts = t.dims[2], rows = t.dims[1], cols = t.dims[0];
  const uint8_t *data = t.data;
  llmrt::DType dtype;
  uint64_t elementSize;
  switch (static_cast<llmrt::GGMLType>(t.type)) {
  case llmrt::GGMLType::F32:
    dtype = llmrt::DType::F32, elementSize = 4;
    break;
  case llmrt::GGMLType::F16:
    dtype = llmrt::DType::F16, elementSize = 2;
    break;
  case llmrt::GGMLType::BF16:
    dtype = llmrt::DType::BF16, elementSize = 2;
    break;
  default: {
    int64_t elements, bytes;
    if (!llmk::getGGMLBlock(t.type, elements, bytes))
      return makeError(llvm::formatv(
          "{0}: tensor '{1}': type {2}, which LLMC does not read", path, t.name,
          llmrt::getGGMLTypeInfo(t.type) ? llmrt::getGGMLTypeInfo(t.type)->name
                                         : std::to_string(t.type)));
    std::vector<uint8_t> &buffer =
        buffers.emplace_back(static_cast<size_t>(t.getNumElements()) * 4);
    llmk::dequantizeGGML(t.type, t.data, t.getNumElements() / elements,
                         reinterpret_cast<float *>(buffer.data()));
    data = buffer.data();
    dtype = llmrt::DType::F32, elementSize = 4;
    ++dequantized[llmrt::getGGMLTypeInfo(t.type)->name];
  }
  }
  const uint64_t expertBytes = static_cast<uint64_t>(rows * cols) * elementSize;
  for (int64_t e = 0; e < experts; ++e) {
    llmrt::TensorInfo info;
    info.name = llvm::formatv("model.layers.{0}.block_sparse_moe.experts.{1}."
                              "{2}.weight",
                              layer, e, which)
                    .str();
    info.file = path.str();
    info.dtype = dtype;
    info.shape = {rows, cols};
    info.numBytes = expertBytes;
    info.data = data + e * expertBytes;
    tensors.push_back(std::move(info));
  }
  return llvm::Error::success();
}

/// The Hugging Face name of GGUF tensor `name`, or "" for an unknown one.
std::string hfName(llvm::StringRef name, llvm::StringRef arch, bool gated) {
  if (arch == "gpt2")
    return gpt2Name(name);
  if (arch == "bert")
    return bertName(name);
  if (arch == "t5")
    return t5Name(name, gated);
  if (arch == "bloom")
    return bloomName(name);
  static const std::pair<llvm::StringRef, llvm::StringRef> kGlobal[] = {
      {"token_embd.weight", "model.embed_tokens.weight"},
      {"output_norm.weight", "model.norm.weight"},
      {"output.weight", "lm_head.weight"}};
  for (auto [from, to] : kGlobal)
    if (name == from)
      return to.str();
  static const std::pair<llvm::StringRef, llvm::StringRef> kLayer[] = {
      {"attn_norm.weight", "input_layernorm.weight"},
      {"ffn_norm.weight", "post_attention_layernorm.weight"},
      {"attn_q.weight", "self_attn.q_proj.weight"},
      {"attn_k.weight", "self_attn.k_proj.weight"},
      {"attn_v.weight", "self_attn.v_proj.weight"},
      {"attn_output.weight", "self_attn.o_proj.weight"},
      {"attn_q.bias", "self_attn.q_proj.bias"},
      {"attn_k.bias", "self_attn.k_proj.bias"},
      {"attn_v.bias", "self_attn.v_proj.bias"},
      {"attn_output.bias", "self_attn.o_proj.bias"},
      {"ffn_gate.weight", "mlp.gate_proj.weight"},
      {"ffn_up.weight", "mlp.up_proj.weight"},
      {"ffn_down.weight", "mlp.down_proj.weight"},
      {"ffn_gate_inp.weight", "block_sparse_moe.gate.weight"},
      {"ffn_gate.bias", "mlp.gate_proj.bias"},
      {"ffn_up.bias", "mlp.up_proj.bias"},
      {"ffn_down.bias", "mlp.down_proj.bias"}};
  if (!name.consume_front("blk."))
    return "";
  auto [layer, rest] = name.split('.');
  unsigned index;
  if (layer.getAsInteger(10, index))
    return "";
  for (auto [from, to] : kLayer)
    if (rest == from)
      return ("model.layers." + layer + "." + to).str();
  return "";
}

} // namespace

bool mlir::llm::isGGUFPath(llvm::StringRef path) {
  return path.ends_with_insensitive(".gguf");
}

llvm::Expected<GGUFModel> mlir::llm::openGGUF(llvm::StringRef path) {
  llmrt::Expected<std::unique_ptr<GGUFFile>> opened =
      GGUFFile::open(path.str());
  if (!opened)
    return makeError(opened.error());
  auto holder = std::make_shared<Holder>();
  holder->file = std::move(*opened);
  const GGUFFile &file = *holder->file;

  const GGUFValue *archValue = file.find("general.architecture");
  std::string arch = archValue && archValue->type == llmrt::GGUFType::String
                         ? archValue->string
                         : "";
  if (arch != "llama" && arch != "qwen2" && arch != "gpt2" && arch != "bloom" &&
      arch != "bert" && arch != "t5")
    return makeError(llvm::formatv(
        "{0}: metadata 'general.architecture': expected llama, qwen2, gpt2, "
        "bloom, bert or t5 (the GGUF architectures LLMC imports), found {1}",
        path, archValue ? archValue->describe() : "no such key"));
  Metadata meta(file, arch);

  // The config the Hugging Face importer reads.
  llvm::json::Object config;
  int64_t hidden = 0, heads = 0, kvHeads = 0, headDim = 0;
  if (arch == "bert" || arch == "t5") {
    if (llvm::Error err = arch == "bert" ? bertConfig(meta, file, config)
                                         : t5Config(meta, file, config))
      return std::move(err);
  } else if (arch == "gpt2" || arch == "bloom") {
    llvm::Error err =
        arch == "gpt2" ? gpt2Config(meta, config) : bloomConfig(meta, config);
    if (err)
      return std::move(err);
    if (arch == "bloom") {
      hidden = *config.getInteger("hidden_size");
      heads = *config.getInteger("n_head");
    }
  } else {
    if (llvm::Error err =
            requiredFields(meta, arch, kTransformerFields, config))
      return std::move(err);
    hidden = *config.getInteger("hidden_size");
    heads = *config.getInteger("num_attention_heads");
    llvm::Expected<std::optional<int64_t>> kv =
        meta.integer("attention.head_count_kv");
    if (!kv)
      return kv.takeError();
    kvHeads = kv->value_or(heads);
    // Mixtral-style experts (llama files with expert_count).
    llvm::Expected<std::optional<int64_t>> experts =
        meta.integer("expert_count");
    if (!experts)
      return experts.takeError();
    if (*experts && **experts > 0) {
      if (arch != "llama")
        return makeError(llvm::formatv(
            "{0}: metadata '{1}.expert_count': expected none for {1} (LLMC "
            "reads experts from llama files, as Mixtral's), found {2}",
            path, arch, **experts));
      llvm::Expected<int64_t> used = meta.required("expert_used_count");
      if (!used)
        return used.takeError();
      config["model_type"] = "mixtral";
      config["num_local_experts"] = **experts;
      config["num_experts_per_tok"] = *used;
    }
    config["num_key_value_heads"] = kvHeads;
    headDim = heads ? hidden / heads : 0;
    llvm::Expected<std::optional<int64_t>> keyLength =
        meta.integer("attention.key_length");
    if (!keyLength)
      return keyLength.takeError();
    if (*keyLength)
      headDim = **keyLength;
    config["head_dim"] = headDim;
    llvm::Expected<std::optional<double>> eps =
        meta.real("attention.layer_norm_rms_epsilon");
    if (!eps)
      return eps.takeError();
    config["rms_norm_eps"] = eps->value_or(1e-5);
    llvm::Expected<std::optional<double>> theta = meta.real("rope.freq_base");
    if (!theta)
      return theta.takeError();
    config["rope_theta"] = theta->value_or(10000.0);
    if (llvm::Error err =
            ropeScaling(meta, file, theta->value_or(10000.0), headDim, config))
      return std::move(err);
    // Sliding-window attention (Mistral-style files are llama ones with the
    // window).
    llvm::Expected<std::optional<int64_t>> window =
        meta.integer("attention.sliding_window");
    if (!window)
      return window.takeError();
    if (*window && **window > 0) {
      if (arch != "llama")
        return makeError(llvm::formatv(
            "{0}: metadata '{1}.attention.sliding_window': expected none for "
            "{1} (LLMC reads a window from llama files), found {2}",
            path, arch, **window));
      config["model_type"] = "mistral";
      config["sliding_window"] = **window;
    }
  }
  for (auto [key, field] : {std::pair<llvm::StringRef, llvm::StringRef>{
                                "tokenizer.ggml.bos_token_id", "bos_token_id"},
                            {"tokenizer.ggml.eos_token_id", "eos_token_id"}}) {
    llvm::Expected<std::optional<int64_t>> id = meta.integer(key);
    if (!id)
      return id.takeError();
    if (*id)
      config[field] = **id;
  }
  const GGUFTensor *embed = file.lookup("token_embd.weight");
  if (!embed || embed->dims.size() != 2)
    return makeError(llvm::formatv(
        "{0}: tensor 'token_embd.weight': expected a [vocab, hidden] "
        "embedding, found {1}",
        path,
        embed ? "a tensor of " + std::to_string(embed->dims.size()) + " dims"
              : std::string("none")));
  config["vocab_size"] = embed->dims[1];
  // Tied embeddings in a block format the kernels read: the LM head reads
  // the blocks as they are (a decoded token then streams the quantized
  // table, not an f32 copy) and the lookup a table dequantized at load.
  const llmk::GGMLKernelFormat *embedFormat =
      llmk::getGGMLKernelFormat(embed->type);
  const bool tied = file.lookup("output.weight") == nullptr;
  const bool quantizedHead = tied && arch != "bert" && embedFormat &&
                             embed->dims[0] % embedFormat->blockElements == 0;
  if (arch != "bert")
    config["tie_word_embeddings"] = tied && !quantizedHead;
  const bool gated = file.lookup("enc.blk.0.ffn_gate.weight") != nullptr;

  // The tensors, renamed; query and key rows of llama back in the
  // Hugging Face order.
  GGUFModel result;
  std::vector<llmrt::TensorInfo> tensors;
  std::map<std::string, int64_t> dequantized;
  // Projections in the block formats the kernels read as they are.
  std::map<std::string, std::string> formats;
  for (const GGUFTensor &t : file.tensors()) {
    if (t.name == "rope_freqs.weight")
      continue; // read into the RoPE scaling above
    if (llvm::StringRef(t.name).ends_with("_exps.weight")) {
      // Experts stacked [experts, rows, cols]: one tensor per expert, as
      // the Mixtral importer reads them (block formats dequantized).
      if (llvm::Error err =
              splitExperts(t, holder->buffers, tensors, dequantized, path))
        return std::move(err);
      continue;
    }
    std::string name = hfName(t.name, arch, gated);
    if (name.empty())
      return makeError(llvm::formatv(
          "{0}: tensor '{1}': expected a tensor of a {2} model ({3}), found "
          "'{1}'",
          path, t.name, arch,
          arch == "gpt2"
              ? "token_embd, position_embd, output_norm, output, "
                "blk.N.attn_norm/attn_qkv/attn_output/ffn_norm/ffn_up/"
                "ffn_down"
          : arch == "bert"
              ? "token_embd, token_types, position_embd, token_embd_norm, "
                "blk.N.attn_q/attn_k/attn_v/attn_output/attn_output_norm/"
                "ffn_up/ffn_down/layer_output_norm"
          : arch == "t5"
              ? "token_embd, output, enc.output_norm, dec.output_norm, "
                "enc.blk.N.attn_norm/attn_q/attn_k/attn_v/attn_o/attn_rel_b/"
                "ffn_norm/ffn_gate/ffn_up/ffn_down, dec.blk.N.* with "
                "cross_attn_norm/cross_attn_q/cross_attn_k/cross_attn_v/"
                "cross_attn_o"
              : "token_embd, output_norm, output, blk.N.attn_norm/attn_q/"
                "attn_k/attn_v/attn_output/ffn_norm/ffn_gate/ffn_up/"
                "ffn_down, and with experts ffn_gate_inp/ffn_gate_exps/"
                "ffn_up_exps/ffn_down_exps"));
    llmrt::TensorInfo info;
    info.name = name;
    info.file = path.str();
    for (auto it = t.dims.rbegin(); it != t.dims.rend(); ++it)
      info.shape.push_back(*it);
    const uint8_t *data = t.data;
    size_t elementSize;
    const llmrt::GGMLType ggmlType = static_cast<llmrt::GGMLType>(t.type);
    // Projections the kernels may read quantized (not GPT-2's fused QKV,
    // which the model reads in row blocks).
    const bool projection =
        llvm::StringRef(name).ends_with("_proj.weight") ||
        name == "lm_head.weight" ||
        (arch == "gpt2" &&
         llvm::StringRef(name).ends_with("mlp.c_fc.weight")) ||
        (arch == "bloom" &&
         (llvm::StringRef(name).ends_with(".dense.weight") ||
          llvm::StringRef(name).ends_with("_4h.weight") ||
          llvm::StringRef(name).ends_with("_4h_to_h.weight"))) ||
        (arch == "bert" && (llvm::StringRef(name).ends_with(".dense.weight") ||
                            llvm::StringRef(name).ends_with("query.weight") ||
                            llvm::StringRef(name).ends_with("key.weight") ||
                            llvm::StringRef(name).ends_with("value.weight"))) ||
        (arch == "t5" && llvm::StringRef(name).contains("Attention.") &&
         !llvm::StringRef(name).contains("relative_attention_bias")) ||
        (arch == "t5" && llvm::StringRef(name).contains("DenseReluDense."));
    const llmk::GGMLKernelFormat *kernelFormat =
        llmk::getGGMLKernelFormat(t.type);
    const char *format = kernelFormat ? kernelFormat->checkpoint : nullptr;
    if (projection && format && t.dims.size() == 2 &&
        t.dims[0] % kernelFormat->blockElements == 0) {
      // Kept quantized: the raw blocks, a row of them per output feature.
      info.dtype = llmrt::DType::U8;
      info.shape = {t.dims[1], static_cast<int64_t>(t.numBytes) / t.dims[1]};
      info.numBytes = t.numBytes;
      formats[name] = format;
      elementSize = 0;
    } else
      switch (ggmlType) {
      case llmrt::GGMLType::F32:
        info.dtype = llmrt::DType::F32;
        elementSize = 4;
        break;
      case llmrt::GGMLType::F16:
        info.dtype = llmrt::DType::F16;
        elementSize = 2;
        break;
      case llmrt::GGMLType::BF16:
        info.dtype = llmrt::DType::BF16;
        elementSize = 2;
        break;
      default: {
        int64_t elements, bytes;
        if (!llmk::getGGMLBlock(t.type, elements, bytes))
          return makeError(llvm::formatv(
              "{0}: tensor '{1}': type {2}, which LLMC does not read (expected "
              "F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K-Q6_K or "
              "IQ4_NL)",
              path, t.name,
              llmrt::getGGMLTypeInfo(t.type)
                  ? llmrt::getGGMLTypeInfo(t.type)->name
                  : std::to_string(t.type)));
        std::vector<uint8_t> &buffer = holder->buffers.emplace_back(
            static_cast<size_t>(t.getNumElements()) * 4);
        llmk::dequantizeGGML(t.type, t.data, t.getNumElements() / elements,
                             reinterpret_cast<float *>(buffer.data()));
        data = buffer.data();
        info.dtype = llmrt::DType::F32;
        elementSize = 4;
        ++dequantized[llmrt::getGGMLTypeInfo(t.type)->name];
        break;
      }
      }
    if (elementSize)
      info.numBytes = static_cast<uint64_t>(t.getNumElements()) * elementSize;
    // llama's converter interleaves the two rotary halves of each head's
    // query and key rows: GGUF row 2i holds row i, row 2i + 1 row i + hd/2.
    bool query = llvm::StringRef(t.name).ends_with(".attn_q.weight") ||
                 llvm::StringRef(t.name).ends_with(".attn_q.bias");
    bool key = llvm::StringRef(t.name).ends_with(".attn_k.weight") ||
               llvm::StringRef(t.name).ends_with(".attn_k.bias");
    if (arch == "llama" && (query || key)) {
      int64_t n = query ? heads : kvHeads;
      int64_t rows = info.shape[0];
      int64_t rowBytes = static_cast<int64_t>(info.numBytes) / rows;
      if (n <= 0 || rows != n * headDim || headDim % 2 != 0)
        return makeError(llvm::formatv(
            "{0}: tensor '{1}': expected {2} rows ({3} heads of {4}), found "
            "{5}",
            path, t.name, n * headDim, n, headDim, rows));
      std::vector<uint8_t> &buffer =
          holder->buffers.emplace_back(info.numBytes);
      for (int64_t h = 0; h < n; ++h)
        for (int64_t i = 0; i < headDim; ++i) {
          int64_t from = i < headDim / 2 ? 2 * i : 2 * (i - headDim / 2) + 1;
          std::memcpy(buffer.data() + (h * headDim + i) * rowBytes,
                      data + (h * headDim + from) * rowBytes, rowBytes);
        }
      data = buffer.data();
    }
    // BLOOM's converter regroups the fused QKV rows from [head, {q, k, v},
    // head_dim] to [{q, k, v}, head, head_dim]: back to BLOOM's order.
    if (arch == "bloom" &&
        (llvm::StringRef(t.name).ends_with(".attn_qkv.weight") ||
         llvm::StringRef(t.name).ends_with(".attn_qkv.bias"))) {
      int64_t rows = info.shape[0];
      int64_t rowBytes = static_cast<int64_t>(info.numBytes) / rows;
      headDim = heads ? hidden / heads : 0;
      if (heads <= 0 || rows != 3 * hidden || hidden % heads != 0)
        return makeError(llvm::formatv(
            "{0}: tensor '{1}': expected {2} rows (query, key and value of "
            "{3} heads of {4}), found {5}",
            path, t.name, 3 * hidden, heads, headDim, rows));
      std::vector<uint8_t> &buffer =
          holder->buffers.emplace_back(info.numBytes);
      for (int64_t r = 0; r < rows; ++r) {
        int64_t part = r / hidden, h = (r % hidden) / headDim, i = r % headDim;
        std::memcpy(buffer.data() + ((h * 3 + part) * headDim + i) * rowBytes,
                    data + r * rowBytes, rowBytes);
      }
      data = buffer.data();
    }
    info.data = data;
    tensors.push_back(std::move(info));
    if (quantizedHead && &t == embed) {
      llmrt::TensorInfo head;
      head.name = "lm_head.weight";
      head.file = path.str();
      head.dtype = llmrt::DType::U8;
      head.shape = {t.dims[1], static_cast<int64_t>(t.numBytes) / t.dims[1]};
      head.numBytes = t.numBytes;
      head.data = t.data;
      formats[head.name] = embedFormat->checkpoint;
      tensors.push_back(std::move(head));
    }
  }
  for (auto &[type, count] : dequantized)
    result.notes.push_back(llvm::formatv("{0}: {1} tensor(s) of {2} "
                                         "dequantized to f32 at load",
                                         path, count, type));

  std::string json;
  llvm::raw_string_ostream os(json);
  os << llvm::json::Value(std::move(config));
  os.flush();
  llvm::Expected<std::unique_ptr<HFModel>> model =
      HFModel::fromConfig(json, (path + " (metadata)").str(), path);
  if (!model)
    return model.takeError();
  result.model = std::move(*model);
  result.model->setGGMLFormats(std::move(formats));
  result.model->setConv1DOutIn(arch == "gpt2");
  result.weights = llmrt::SafeTensorsArchive::fromTensors(
      path.str(), std::move(tensors), holder);
  return std::move(result);
}
