//===- Bloom.cpp - BLOOM --------------------------------------------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// ALiBi instead of positions, a LayerNorm after the embeddings, a fused QKV
// interleaved per head, a tanh GELU MLP, and tied embeddings.
//
//===----------------------------------------------------------------------===//

#include "Models.h"

#include "llvm/Support/FormatVariadic.h"

using namespace mlir;
using namespace mlir::llm;
using namespace mlir::llm::hf;

llvm::Error hf::buildBloom(Config &c, Emitter &e, ModuleOp module,
                           const HFImportOptions &options) {
  int64_t seq = options.seqLen;
  // Checkpoints of BloomForCausalLM nest the weights under "transformer.".
  e.selectPrefix("word_embeddings.weight", {"transformer.", ""});
  int64_t vocab = c.getPositive("vocab_size");
  int64_t hidden = c.has("hidden_size") ? c.getPositive("hidden_size")
                                        : c.getPositive("n_embed");
  int64_t layers = c.has("n_layer") ? c.getPositive("n_layer")
                                    : c.getPositive("num_hidden_layers");
  int64_t heads = c.has("n_head") ? c.getPositive("n_head")
                                  : c.getPositive("num_attention_heads");
  double eps = c.getPositiveDouble("layer_norm_epsilon", 1e-5);
  c.check(hidden % heads == 0,
          llvm::formatv("field 'n_head': expected a divisor of hidden_size "
                        "{0}, found {1}",
                        hidden, heads));
  c.check(!c.getBool("apply_residual_connection_post_layernorm", false),
          "field 'apply_residual_connection_post_layernorm': expected false, "
          "found true");
  if (c.failed())
    return c.takeError();
  int64_t headDim = hidden / heads;

  auto seqTy = e.i64({e.batch, seq});
  llvm::SmallVector<Value> args = e.beginFunction(
      module, {{seqTy, ArgKind::Tokens}, {seqTy, ArgKind::Positions}},
      {e.f32({e.batch, seq, vocab})});
  Value h = e.embedding(args[0], "word_embeddings.weight", vocab, hidden);
  h = e.layerNorm(h, "word_embeddings_layernorm", eps);
  // Fused QKV rows are [head, {q, k, v}, head_dim].
  auto part = [&](int64_t index) {
    ParamLayout l;
    l.rowBlocks =
        std::array<int64_t, 4>{index * headDim, headDim, 3 * headDim, heads};
    l.fusedRows = 3 * headDim * heads;
    return l;
  };
  Value alibi;
  if (!e.failed())
    alibi = AlibiOp::create(e.builder, e.loc, e.f32({heads, seq, seq}),
                            e.builder.getF64FloatAttr(8.0));
  for (int64_t i = 0; i < layers && !e.failed(); ++i) {
    std::string p = llvm::formatv("h.{0}.", i).str();
    Value x = e.layerNorm(h, p + "input_layernorm", eps);
    std::string qkv = p + "self_attention.query_key_value";
    Value q = e.linear(x, qkv, hidden, true, part(0));
    Value k = e.linear(x, qkv, hidden, true, part(1));
    Value v = e.linear(x, qkv, hidden, true, part(2));
    Value a = e.attention(q, k, v, heads, heads, std::nullopt, MaskKind::Causal,
                          std::nullopt, alibi);
    h = e.add(h, e.linear(a, p + "self_attention.dense", hidden, true));
    x = e.layerNorm(h, p + "post_attention_layernorm", eps);
    Value f = e.linear(x, p + "mlp.dense_h_to_4h", 4 * hidden, true);
    f = e.gelu(f, GeluApproximation::Tanh);
    h = e.add(h, e.linear(f, p + "mlp.dense_4h_to_h", hidden, true));
  }
  h = e.layerNorm(h, "ln_f", eps);
  // A GGUF file has its own output tensor.
  e.endFunction(
      e.linear(h, e.hasTensor("lm_head.weight") ? "lm_head" : "word_embeddings",
               vocab, false));
  return e.takeError();
}
