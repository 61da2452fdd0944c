// The IR the importer emits for Mistral (test/e2e/mistral: the LLaMA layout
// with 4 heads of 8 over 2 KV heads, and sliding_window 4, which Mistral
// applies without use_sliding_window).
// RUN: llm-run %llmc_src_root/test/e2e/mistral --input-ids 1,2,3 --emit-mlir %t.mlir
// RUN: FileCheck %s --input-file %t.mlir
// RUN: FileCheck %s --input-file %t.mlir --check-prefix=NOT

// Every layer has the window of 4, which the runtime may therefore use to
// free the cache blocks before it.
// CHECK: module attributes {llm.model = #llm.model<type = "mistral", kind = decoder, vocab_size = 96, hidden_size = 32, eos_token_ids = [2], context_length = 64, sliding_window = 4>} {
// CHECK-LABEL: func.func @forward(%arg0: tensor<1x3xi64> {llm.arg_kind = #llm.arg_kind<tokens>}, %arg1: tensor<1x3xi64> {llm.arg_kind = #llm.arg_kind<positions>}) -> tensor<1x3x96xf32>
// CHECK-NEXT: llm.param "model.embed_tokens.weight" : tensor<96x32xf32>
// CHECK: llm.param "model.layers.0.self_attn.q_proj.weight" : tensor<32x32xf32>
// CHECK-NEXT: %[[Q:.*]] = llm.linear
// CHECK-NEXT: llm.param "model.layers.0.self_attn.k_proj.weight" : tensor<16x32xf32>
// CHECK-NEXT: %[[K:.*]] = llm.linear {{.*}} -> tensor<1x3x16xf32>
// CHECK-NEXT: llm.param "model.layers.0.self_attn.v_proj.weight" : tensor<16x32xf32>
// CHECK-NEXT: %[[V:.*]] = llm.linear {{.*}} -> tensor<1x3x16xf32>
// CHECK-NEXT: %[[RQ:.*]] = llm.rope %[[Q]], %arg1 {num_heads = 4 : i64} : tensor<1x3x32xf32>, tensor<1x3xi64>
// CHECK-NEXT: %[[RK:.*]] = llm.rope %[[K]], %arg1 {num_heads = 2 : i64} : tensor<1x3x16xf32>, tensor<1x3xi64>
// CHECK-NEXT: llm.attention %[[RQ]], %[[RK]], %[[V]] {mask = #llm.mask<sliding_window>, num_heads = 4 : i64, num_kv_heads = 2 : i64, window = 4 : i64} : tensor<1x3x32xf32>, tensor<1x3x16xf32>, tensor<1x3x16xf32> -> tensor<1x3x32xf32>
// CHECK: llm.param "model.layers.0.mlp.gate_proj.weight" : tensor<64x32xf32>
// CHECK: llm.glu
// CHECK: llm.param "model.layers.1.self_attn.k_proj.weight" : tensor<16x32xf32>
// Every layer has the window.
// CHECK: llm.attention {{.*}} {mask = #llm.mask<sliding_window>, num_heads = 4 : i64, num_kv_heads = 2 : i64, window = 4 : i64}
// CHECK: llm.param "model.norm.weight" : tensor<32xf32>
// CHECK-NEXT: llm.rms_norm
// CHECK-NEXT: llm.param "lm_head.weight" : tensor<96x32xf32>

// NOT-NOT: .bias"
// NOT-NOT: #llm.mask<causal>
// NOT-NOT: theta
// NOT-NOT: llm.moe
