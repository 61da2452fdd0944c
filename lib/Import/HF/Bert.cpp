//===- Bert.cpp - BERT and RoBERTa encoders -------------------------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// Post-norm encoders with word, position and token-type embeddings and
// bidirectional attention; the model returns the last hidden state. RoBERTa
// is BERT whose positions start after the padding index.
//
//===----------------------------------------------------------------------===//

#include "Models.h"

#include "llvm/Support/FormatVariadic.h"

using namespace mlir;
using namespace mlir::llm;
using namespace mlir::llm::hf;

void hf::readBertInfo(Config &config, HFModelInfo &info) {
  info.hiddenSize = config.getPositive("hidden_size");
  info.maxPositions = config.getPositive("max_position_embeddings");
}

void hf::readRobertaInfo(Config &config, HFModelInfo &info) {
  readBertInfo(config, info);
  // Positions start after the padding index: at least one must remain.
  int64_t pad = config.getInt("pad_token_id", 1);
  config.check(config.failed() || (pad >= 0 && pad <= info.maxPositions - 2),
               llvm::formatv("field 'pad_token_id': expected a padding "
                             "index in [0, {0}] (max_position_embeddings "
                             "- 2), found {1}",
                             info.maxPositions - 2, pad));
  info.positionOffset = pad + 1;
  info.maxPositions -= info.positionOffset;
}

/// The encoder of both, whose tensors start with `prefix` in checkpoints of
/// task models (BertForMaskedLM, ...).
static llvm::Error buildEncoder(Config &c, Emitter &e, ModuleOp module,
                                int64_t seq, llvm::StringRef prefix) {
  e.selectPrefix("embeddings.word_embeddings.weight", {"", prefix});
  int64_t vocab = c.getPositive("vocab_size");
  int64_t hidden = c.getPositive("hidden_size");
  int64_t layers = c.getPositive("num_hidden_layers");
  int64_t heads = c.getPositive("num_attention_heads");
  int64_t inter = c.getPositive("intermediate_size");
  int64_t positions = c.getPositive("max_position_embeddings");
  int64_t typeVocab = c.getPositive("type_vocab_size", 2);
  double eps = c.getPositiveDouble("layer_norm_eps", 1e-12);
  std::string act = c.getString("hidden_act", "gelu");
  c.check(act == "gelu" || act == "gelu_new",
          llvm::formatv("field 'hidden_act': expected 'gelu' or 'gelu_new', "
                        "found '{0}'",
                        act));
  c.check(hidden % heads == 0,
          llvm::formatv("field 'num_attention_heads': expected a divisor of "
                        "hidden_size {0}, found {1}",
                        hidden, heads));
  std::string posType = c.getString("position_embedding_type", "absolute");
  c.check(posType == "absolute",
          llvm::formatv("field 'position_embedding_type': expected "
                        "'absolute', found '{0}'",
                        posType));
  if (c.failed())
    return c.takeError();

  auto seqTy = e.i64({1, seq});
  llvm::SmallVector<Value> args =
      e.beginFunction(module,
                      {{seqTy, ArgKind::Tokens},
                       {seqTy, ArgKind::Positions},
                       {seqTy, ArgKind::TokenTypes}},
                      {e.f32({1, seq, hidden})});
  Value h = e.add(
      e.add(e.embedding(args[0], "embeddings.word_embeddings.weight", vocab,
                        hidden),
            e.embedding(args[2], "embeddings.token_type_embeddings.weight",
                        typeVocab, hidden)),
      e.embedding(args[1], "embeddings.position_embeddings.weight", positions,
                  hidden));
  h = e.layerNorm(h, "embeddings.LayerNorm", eps);
  GeluApproximation approx =
      act == "gelu" ? GeluApproximation::None : GeluApproximation::Tanh;
  for (int64_t i = 0; i < layers && !e.failed(); ++i) {
    std::string p = llvm::formatv("encoder.layer.{0}.", i).str();
    Value q = e.linear(h, p + "attention.self.query", hidden, true);
    Value k = e.linear(h, p + "attention.self.key", hidden, true);
    Value v = e.linear(h, p + "attention.self.value", hidden, true);
    Value a = e.attention(q, k, v, heads, heads, std::nullopt,
                          MaskKind::Bidirectional);
    h = e.layerNorm(
        e.add(h, e.linear(a, p + "attention.output.dense", hidden, true)),
        p + "attention.output.LayerNorm", eps);
    Value f = e.linear(h, p + "intermediate.dense", inter, true);
    f = e.gelu(f, approx);
    h = e.layerNorm(e.add(h, e.linear(f, p + "output.dense", hidden, true)),
                    p + "output.LayerNorm", eps);
  }
  e.endFunction(h);
  return e.takeError();
}

llvm::Error hf::buildBert(Config &c, Emitter &e, ModuleOp module,
                          const HFImportOptions &options) {
  return buildEncoder(c, e, module, options.seqLen, "bert.");
}

llvm::Error hf::buildRoberta(Config &c, Emitter &e, ModuleOp module,
                             const HFImportOptions &options) {
  return buildEncoder(c, e, module, options.seqLen, "roberta.");
}
