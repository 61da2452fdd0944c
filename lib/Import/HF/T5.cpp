//===- T5.cpp - T5 encoder-decoders ---------------------------------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// RMSNorm without mean, unscaled attention with a learned relative position
// bias (bucketed, computed in layer 0 and shared by all layers), plain or
// gated feed-forward blocks (T5 v1.1), and cross-attention over the encoder.
//
//===----------------------------------------------------------------------===//

#include "Models.h"

#include "llvm/Support/FormatVariadic.h"

#include <cmath>

using namespace mlir;
using namespace mlir::llm;
using namespace mlir::llm::hf;

void hf::readT5Info(Config &config, HFModelInfo &info) {
  info.hiddenSize = config.getPositive("d_model");
  info.decoderStartTokenId = config.getInt("decoder_start_token_id", 0);
}

llvm::Error hf::buildT5(Config &c, Emitter &e, ModuleOp module,
                        const HFImportOptions &options) {
  int64_t seq = options.seqLen, decSeq = options.decoderSeqLen;
  int64_t vocab = c.getPositive("vocab_size");
  int64_t dModel = c.getPositive("d_model");
  int64_t dKv = c.getPositive("d_kv");
  int64_t dFF = c.getPositive("d_ff");
  int64_t layers = c.getPositive("num_layers");
  int64_t decLayers = c.getPositive("num_decoder_layers", layers);
  int64_t heads = c.getPositive("num_heads");
  int64_t buckets = c.getPositive("relative_attention_num_buckets", 32);
  int64_t maxDistance = c.getPositive("relative_attention_max_distance", 128);
  double eps = c.getPositiveDouble("layer_norm_epsilon", 1e-6);
  // The encoder splits its buckets between the two directions; in each, T5
  // spends half on exact distances and the logarithmic rest needs a larger
  // maximum distance (the decoder's one direction: buckets / 2).
  c.check(buckets % 2 == 0,
          llvm::formatv("field 'relative_attention_num_buckets': expected an "
                        "even number (the encoder's two directions), found {0}",
                        buckets));
  c.check(maxDistance > buckets / 2,
          llvm::formatv("field 'relative_attention_max_distance': expected a "
                        "value > {0} (relative_attention_num_buckets / 2, the "
                        "exact-distance buckets), found {1}",
                        buckets / 2, maxDistance));
  bool tied = c.getBool("tie_word_embeddings", true);
  // Tied T5 heads see the decoder output scaled by d_model^-0.5
  // (transformers 5 names the switch scale_decoder_outputs).
  bool scaleOutputs = c.getBool("scale_decoder_outputs", tied);
  std::string ff = c.getString("feed_forward_proj", "relu");
  bool gated = llvm::StringRef(ff).starts_with("gated-");
  llvm::StringRef actName = gated ? llvm::StringRef(ff).drop_front(6) : ff;
  std::optional<Activation> act;
  if (actName == "relu")
    act = Activation::ReLU;
  else if (actName == "gelu")
    act = gated ? Activation::GELUTanh : Activation::GELU;
  else if (actName == "silu")
    act = Activation::SiLU;
  else if (actName == "gelu_new")
    act = Activation::GELUTanh;
  c.check(act.has_value(),
          llvm::formatv("field 'feed_forward_proj': expected relu, gelu, "
                        "gated-gelu, gated-relu or gated-silu, found '{0}'",
                        ff));
  c.check(decSeq > 0, "the decoder needs at least one token "
                      "(--decoder-input-ids)");
  if (c.failed())
    return c.takeError();
  int64_t inner = heads * dKv;

  // Row b of the batch is one (encoder input, decoder input) pair.
  llvm::SmallVector<Value> args =
      e.beginFunction(module,
                      {{e.i64({e.batch, seq}), ArgKind::EncoderTokens},
                       {e.i64({e.batch, decSeq}), ArgKind::Tokens}},
                      {e.f32({e.batch, decSeq, vocab})});
  auto feedForward = [&](Value x, const std::string &p) -> Value {
    std::string d = p + "DenseReluDense.";
    if (!gated) {
      Value f = e.linear(x, d + "wi", dFF, false);
      if (*act == Activation::ReLU)
        f = e.relu(f);
      else
        f = e.gelu(f, *act == Activation::GELU ? GeluApproximation::None
                                               : GeluApproximation::Tanh);
      return e.linear(f, d + "wo", dModel, false);
    }
    Value g = e.linear(x, d + "wi_0", dFF, false);
    Value u = e.linear(x, d + "wi_1", dFF, false);
    Value f = e.glu(g, u, *act);
    return e.linear(f, d + "wo", dModel, false);
  };
  auto relBias = [&](llvm::StringRef name, int64_t q, bool bidirectional) {
    Value table = e.param(name, {buckets, heads});
    if (e.failed())
      return Value();
    auto op = RelativePositionBiasOp::create(
        e.builder, e.loc, e.f32({heads, q, q}), table,
        e.builder.getI64IntegerAttr(buckets),
        e.builder.getI64IntegerAttr(maxDistance),
        bidirectional ? e.builder.getUnitAttr() : UnitAttr());
    return Value(op);
  };

  // Encoder.
  Value h = e.embedding(args[0], "shared.weight", vocab, dModel);
  Value encBias = relBias(
      "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
      seq, true);
  for (int64_t i = 0; i < layers && !e.failed(); ++i) {
    std::string p = llvm::formatv("encoder.block.{0}.layer.", i).str();
    Value x = e.rmsNorm(h, p + "0.layer_norm.weight", eps);
    std::string a = p + "0.SelfAttention.";
    Value att = e.attention(
        e.linear(x, a + "q", inner, false), e.linear(x, a + "k", inner, false),
        e.linear(x, a + "v", inner, false), heads, heads, 1.0,
        MaskKind::Bidirectional, std::nullopt, encBias);
    h = e.add(h, e.linear(att, a + "o", dModel, false));
    h = e.add(
        h, feedForward(e.rmsNorm(h, p + "1.layer_norm.weight", eps), p + "1."));
  }
  Value enc = e.rmsNorm(h, "encoder.final_layer_norm.weight", eps);

  // Decoder.
  h = e.embedding(args[1], "shared.weight", vocab, dModel);
  Value decBias = relBias(
      "decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
      decSeq, false);
  for (int64_t i = 0; i < decLayers && !e.failed(); ++i) {
    std::string p = llvm::formatv("decoder.block.{0}.layer.", i).str();
    Value x = e.rmsNorm(h, p + "0.layer_norm.weight", eps);
    std::string a = p + "0.SelfAttention.";
    Value att = e.attention(e.linear(x, a + "q", inner, false),
                            e.linear(x, a + "k", inner, false),
                            e.linear(x, a + "v", inner, false), heads, heads,
                            1.0, MaskKind::Causal, std::nullopt, decBias);
    h = e.add(h, e.linear(att, a + "o", dModel, false));
    x = e.rmsNorm(h, p + "1.layer_norm.weight", eps);
    std::string ca = p + "1.EncDecAttention.";
    att = e.attention(e.linear(x, ca + "q", inner, false),
                      e.linear(enc, ca + "k", inner, false),
                      e.linear(enc, ca + "v", inner, false), heads, heads, 1.0,
                      MaskKind::Bidirectional);
    h = e.add(h, e.linear(att, ca + "o", dModel, false));
    h = e.add(
        h, feedForward(e.rmsNorm(h, p + "2.layer_norm.weight", eps), p + "2."));
  }
  h = e.rmsNorm(h, "decoder.final_layer_norm.weight", eps);
  if (scaleOutputs)
    h = e.scale(h, 1.0 / std::sqrt(static_cast<double>(dModel)));
  // T5 v1.1 checkpoints carry their own head even where the config claims
  // tied embeddings; transformers then leaves them untied.
  bool untied = e.hasTensor("lm_head.weight");
  if (!tied && !untied)
    e.fail("missing tensor 'lm_head.weight' (config.json has "
           "tie_word_embeddings = false)");
  e.endFunction(e.linear(h, untied ? "lm_head" : "shared", vocab, false));
  return e.takeError();
}
