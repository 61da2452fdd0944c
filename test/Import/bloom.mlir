// The IR the importer emits for BLOOM (test/e2e/bloom: hidden 40, 5 heads of
// 8, vocab 136, tied head; the weights of BloomForCausalLM under
// "transformer."): ALiBi instead of positions, a LayerNorm after the
// embeddings, and a fused query_key_value whose rows interleave q, k and v per
// head, read as row blocks of 8 every 24 rows, 5 times.
// RUN: llm-run %llmc_src_root/test/e2e/bloom --input-ids 1,2,3 --emit-mlir %t.mlir
// RUN: FileCheck %s --input-file %t.mlir
// RUN: FileCheck %s --input-file %t.mlir --check-prefix=NOT

// ALiBi: unbounded positions.
// CHECK: module attributes {llm.model = #llm.model<type = "bloom", kind = decoder, vocab_size = 136, hidden_size = 40, eos_token_ids = [2]>} {
// CHECK-LABEL: func.func @forward(%arg0: tensor<1x3xi64> {llm.arg_kind = #llm.arg_kind<tokens>}, %arg1: tensor<1x3xi64> {llm.arg_kind = #llm.arg_kind<positions>}) -> tensor<1x3x136xf32>
// CHECK-NEXT: %[[TABLE:.*]] = llm.param "transformer.word_embeddings.weight" : tensor<136x40xf32>
// CHECK-NEXT: llm.embedding %[[TABLE]][%arg0] : tensor<136x40xf32>, tensor<1x3xi64> -> tensor<1x3x40xf32>
// CHECK-NEXT: llm.param "transformer.word_embeddings_layernorm.weight" : tensor<40xf32>
// CHECK-NEXT: llm.param "transformer.word_embeddings_layernorm.bias" : tensor<40xf32>
// CHECK-NEXT: llm.layer_norm
// One [heads, seq, seq] ALiBi bias for all layers; max_bias 8 is the default.
// CHECK-NEXT: %[[ALIBI:.*]] = llm.alibi : tensor<5x3x3xf32>
// CHECK-NEXT: llm.param "transformer.h.0.input_layernorm.weight" : tensor<40xf32>
// CHECK: llm.param "transformer.h.0.self_attention.query_key_value.weight" {row_blocks = array<i64: 0, 8, 24, 5>} : tensor<40x40xf32>
// CHECK-NEXT: llm.param "transformer.h.0.self_attention.query_key_value.bias" {row_blocks = array<i64: 0, 8, 24, 5>} : tensor<40xf32>
// CHECK-NEXT: %[[Q:.*]] = llm.linear
// CHECK-NEXT: llm.param "transformer.h.0.self_attention.query_key_value.weight" {row_blocks = array<i64: 8, 8, 24, 5>} : tensor<40x40xf32>
// CHECK-NEXT: llm.param "transformer.h.0.self_attention.query_key_value.bias" {row_blocks = array<i64: 8, 8, 24, 5>} : tensor<40xf32>
// CHECK-NEXT: %[[K:.*]] = llm.linear
// CHECK-NEXT: llm.param "transformer.h.0.self_attention.query_key_value.weight" {row_blocks = array<i64: 16, 8, 24, 5>} : tensor<40x40xf32>
// CHECK-NEXT: llm.param "transformer.h.0.self_attention.query_key_value.bias" {row_blocks = array<i64: 16, 8, 24, 5>} : tensor<40xf32>
// CHECK-NEXT: %[[V:.*]] = llm.linear
// CHECK-NEXT: llm.attention %[[Q]], %[[K]], %[[V]] bias(%[[ALIBI]] : tensor<5x3x3xf32>) {mask = #llm.mask<causal>, num_heads = 5 : i64, num_kv_heads = 5 : i64} : tensor<1x3x40xf32>, tensor<1x3x40xf32>, tensor<1x3x40xf32> -> tensor<1x3x40xf32>
// CHECK-NEXT: llm.param "transformer.h.0.self_attention.dense.weight" : tensor<40x40xf32>
// CHECK: llm.param "transformer.h.0.mlp.dense_h_to_4h.weight" : tensor<160x40xf32>
// CHECK-NEXT: llm.param "transformer.h.0.mlp.dense_h_to_4h.bias" : tensor<160xf32>
// CHECK-NEXT: %[[F:.*]] = llm.linear
// CHECK-NEXT: llm.gelu %[[F]] {approximate = #llm.gelu_approximation<tanh>} : tensor<1x3x160xf32>
// CHECK-NEXT: llm.param "transformer.h.0.mlp.dense_4h_to_h.weight" : tensor<40x160xf32>
// CHECK: llm.attention {{.*}} bias(%[[ALIBI]] : tensor<5x3x3xf32>)
// CHECK: llm.param "transformer.ln_f.bias" : tensor<40xf32>
// CHECK-NEXT: %[[NORM:.*]] = llm.layer_norm
// CHECK-NEXT: %[[HEAD:.*]] = llm.param "transformer.word_embeddings.weight" : tensor<136x40xf32>
// CHECK-NEXT: %[[LOGITS:.*]] = llm.linear %[[NORM]], %[[HEAD]] : tensor<1x3x40xf32>, tensor<136x40xf32> -> tensor<1x3x136xf32>
// CHECK-NEXT: return %[[LOGITS]] : tensor<1x3x136xf32>

// The positions argument is unused: no position embedding, no RoPE.
// NOT-NOT: %arg1{{[^:]}}
// NOT-NOT: llm.rope
// NOT-NOT: lm_head
// NOT-NOT: transpose
