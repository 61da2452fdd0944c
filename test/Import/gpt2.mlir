// The IR the importer emits for GPT-2 (test/e2e/gpt2: n_embd 32, 4 heads,
// n_positions 64, n_inner null = 4 * 32, vocab 112, gelu_new, tied head; the
// weights of GPT2LMHeadModel under "transformer."). The fused c_attn
// [in, 3 * out] is read as three transposed row blocks, and every Conv1D
// weight transposed.
// RUN: llm-run %llmc_src_root/test/e2e/gpt2 --input-ids 1,2,3 --emit-mlir %t.mlir
// RUN: FileCheck %s --input-file %t.mlir
// RUN: FileCheck %s --input-file %t.mlir --check-prefix=NOT

// n_positions bounds the sequence; eos_token_id 111.
// CHECK: module attributes {llm.model = #llm.model<type = "gpt2", kind = decoder, vocab_size = 112, hidden_size = 32, eos_token_ids = [111], max_positions = 64>} {
// CHECK-LABEL: func.func @forward(%arg0: tensor<1x3xi64> {llm.arg_kind = #llm.arg_kind<tokens>}, %arg1: tensor<1x3xi64> {llm.arg_kind = #llm.arg_kind<positions>}) -> tensor<1x3x112xf32>
// Learned absolute positions: wpe indexed by the positions argument.
// CHECK-NEXT: %[[WTE:.*]] = llm.param "transformer.wte.weight" : tensor<112x32xf32>
// CHECK-NEXT: %[[TOK:.*]] = llm.embedding %[[WTE]][%arg0] : tensor<112x32xf32>, tensor<1x3xi64> -> tensor<1x3x32xf32>
// CHECK-NEXT: %[[WPE:.*]] = llm.param "transformer.wpe.weight" : tensor<64x32xf32>
// CHECK-NEXT: %[[POS:.*]] = llm.embedding %[[WPE]][%arg1] : tensor<64x32xf32>, tensor<1x3xi64> -> tensor<1x3x32xf32>
// CHECK-NEXT: arith.addf %[[TOK]], %[[POS]] : tensor<1x3x32xf32>
// layer_norm_epsilon 1e-05 is the op's default epsilon, which the printer elides.
// CHECK-NEXT: llm.param "transformer.h.0.ln_1.weight" : tensor<32xf32>
// CHECK-NEXT: llm.param "transformer.h.0.ln_1.bias" : tensor<32xf32>
// CHECK-NEXT: llm.layer_norm %{{.*}}, %{{.*}}, %{{.*}} : tensor<1x3x32xf32>, tensor<32xf32>, tensor<32xf32>
// CHECK-NEXT: llm.param "transformer.h.0.attn.c_attn.weight" {row_blocks = array<i64: 0, 32, 32, 1>, transpose} : tensor<32x32xf32>
// CHECK-NEXT: llm.param "transformer.h.0.attn.c_attn.bias" {row_blocks = array<i64: 0, 32, 32, 1>} : tensor<32xf32>
// CHECK-NEXT: %[[Q:.*]] = llm.linear
// CHECK-NEXT: llm.param "transformer.h.0.attn.c_attn.weight" {row_blocks = array<i64: 32, 32, 32, 1>, transpose} : tensor<32x32xf32>
// CHECK-NEXT: llm.param "transformer.h.0.attn.c_attn.bias" {row_blocks = array<i64: 32, 32, 32, 1>} : tensor<32xf32>
// CHECK-NEXT: %[[K:.*]] = llm.linear
// CHECK-NEXT: llm.param "transformer.h.0.attn.c_attn.weight" {row_blocks = array<i64: 64, 32, 32, 1>, transpose} : tensor<32x32xf32>
// CHECK-NEXT: llm.param "transformer.h.0.attn.c_attn.bias" {row_blocks = array<i64: 64, 32, 32, 1>} : tensor<32xf32>
// CHECK-NEXT: %[[V:.*]] = llm.linear
// CHECK-NEXT: llm.attention %[[Q]], %[[K]], %[[V]] {mask = #llm.mask<causal>, num_heads = 4 : i64, num_kv_heads = 4 : i64} : tensor<1x3x32xf32>, tensor<1x3x32xf32>, tensor<1x3x32xf32> -> tensor<1x3x32xf32>
// CHECK-NEXT: llm.param "transformer.h.0.attn.c_proj.weight" {transpose} : tensor<32x32xf32>
// CHECK-NEXT: llm.param "transformer.h.0.attn.c_proj.bias" : tensor<32xf32>
// CHECK: llm.param "transformer.h.0.mlp.c_fc.weight" {transpose} : tensor<128x32xf32>
// CHECK-NEXT: llm.param "transformer.h.0.mlp.c_fc.bias" : tensor<128xf32>
// CHECK-NEXT: %[[F:.*]] = llm.linear {{.*}} -> tensor<1x3x128xf32>
// gelu_new is the tanh approximation.
// CHECK-NEXT: llm.gelu %[[F]] {approximate = #llm.gelu_approximation<tanh>} : tensor<1x3x128xf32>
// CHECK-NEXT: llm.param "transformer.h.0.mlp.c_proj.weight" {transpose} : tensor<32x128xf32>
// CHECK: llm.param "transformer.h.1.ln_1.weight" : tensor<32xf32>
// CHECK-NEXT: llm.param "transformer.h.1.ln_1.bias" : tensor<32xf32>
// CHECK-NOT: transformer.h.2.
// Tied head: the logits reuse wte.
// CHECK: llm.param "transformer.ln_f.bias" : tensor<32xf32>
// CHECK-NEXT: %[[NORM:.*]] = llm.layer_norm
// CHECK-NEXT: %[[HEAD:.*]] = llm.param "transformer.wte.weight" : tensor<112x32xf32>
// CHECK-NEXT: %[[LOGITS:.*]] = llm.linear %[[NORM]], %[[HEAD]] : tensor<1x3x32xf32>, tensor<112x32xf32> -> tensor<1x3x112xf32>
// CHECK-NEXT: return %[[LOGITS]] : tensor<1x3x112xf32>

// NOT-NOT: lm_head
// NOT-NOT: llm.rope
// NOT-NOT: epsilon
// NOT-NOT: scale =
