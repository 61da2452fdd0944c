//===- GPT2.cpp - GPT-2 ---------------------------------------------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// Learned positions, pre-norm LayerNorm, a fused QKV and Conv1D weights
// stored [in, out] (read transposed; a GGUF file stores them [out, in]), a
// tanh GELU MLP, and tied embeddings (or an lm_head.weight, as a GGUF file
// has its own output tensor).
//
//===----------------------------------------------------------------------===//

#include "Models.h"

#include "llvm/Support/FormatVariadic.h"

using namespace mlir;
using namespace mlir::llm;
using namespace mlir::llm::hf;

void hf::readGPT2Info(Config &config, HFModelInfo &info) {
  info.hiddenSize = config.getPositive("n_embd");
  info.maxPositions = config.getPositive("n_positions", 1024);
}

llvm::Error hf::buildGPT2(Config &c, Emitter &e, ModuleOp module,
                          const HFImportOptions &options) {
  int64_t seq = options.seqLen;
  // Checkpoints of GPT2LMHeadModel nest the weights under "transformer.".
  e.selectPrefix("wte.weight", {"transformer.", ""});
  int64_t vocab = c.getPositive("vocab_size");
  int64_t hidden = c.getPositive("n_embd");
  int64_t layers = c.getPositive("n_layer");
  int64_t heads = c.getPositive("n_head");
  int64_t positions = c.getPositive("n_positions", 1024);
  int64_t inner = c.getPositive("n_inner", 4 * hidden);
  double eps = c.getPositiveDouble("layer_norm_epsilon", 1e-5);
  std::string act = c.getString("activation_function", "gelu_new");
  c.check(act == "gelu_new" || act == "gelu" || act == "gelu_pytorch_tanh",
          llvm::formatv("field 'activation_function': expected 'gelu_new', "
                        "'gelu_pytorch_tanh' or 'gelu', found '{0}'",
                        act));
  c.check(hidden % heads == 0,
          llvm::formatv("field 'n_head': expected a divisor of n_embd {0}, "
                        "found {1}",
                        hidden, heads));
  c.check(seq <= positions,
          llvm::formatv("field 'n_positions': the model supports {0} "
                        "positions, the input needs {1}",
                        positions, seq));
  c.check(
      !c.getBool("scale_attn_by_inverse_layer_idx", false),
      "field 'scale_attn_by_inverse_layer_idx': expected false, found true");
  c.check(c.getBool("scale_attn_weights", true),
          "field 'scale_attn_weights': expected true, found false");
  if (c.failed())
    return c.takeError();
  GeluApproximation approx =
      act == "gelu" ? GeluApproximation::None : GeluApproximation::Tanh;

  auto seqTy = e.i64({e.batch, seq});
  llvm::SmallVector<Value> args = e.beginFunction(
      module, {{seqTy, ArgKind::Tokens}, {seqTy, ArgKind::Positions}},
      {e.f32({e.batch, seq, vocab})});
  Value h = e.add(e.embedding(args[0], "wte.weight", vocab, hidden),
                  e.embedding(args[1], "wpe.weight", positions, hidden));
  auto part = [&](int64_t index, int64_t size) {
    ParamLayout l;
    l.transpose = !e.conv1dOutIn;
    l.rowBlocks = std::array<int64_t, 4>{index * size, size, size, 1};
    l.fusedRows = 3 * size;
    return l;
  };
  ParamLayout conv1d;
  conv1d.transpose = !e.conv1dOutIn;
  for (int64_t i = 0; i < layers && !e.failed(); ++i) {
    std::string p = llvm::formatv("h.{0}.", i).str();
    Value x = e.layerNorm(h, p + "ln_1", eps);
    Value q = e.linear(x, p + "attn.c_attn", hidden, true, part(0, hidden));
    Value k = e.linear(x, p + "attn.c_attn", hidden, true, part(1, hidden));
    Value v = e.linear(x, p + "attn.c_attn", hidden, true, part(2, hidden));
    Value a =
        e.attention(q, k, v, heads, heads, std::nullopt, MaskKind::Causal);
    h = e.add(h, e.linear(a, p + "attn.c_proj", hidden, true, conv1d));
    x = e.layerNorm(h, p + "ln_2", eps);
    Value f = e.linear(x, p + "mlp.c_fc", inner, true, conv1d);
    f = e.gelu(f, approx);
    h = e.add(h, e.linear(f, p + "mlp.c_proj", hidden, true, conv1d));
  }
  h = e.layerNorm(h, "ln_f", eps);
  e.endFunction(e.linear(h, e.hasTensor("lm_head.weight") ? "lm_head" : "wte",
                         vocab, false));
  return e.takeError();
}
