// The IR the importer emits for Mixtral (test/e2e/mixtral: 4 heads of 8 over
// 2 KV heads, rms_norm_eps 1e-5, rope_theta 1e6, sliding_window null, and a
// mixture of 4 experts of intermediate size 64 with top-2 routing in place of
// the MLP).
// RUN: llm-run %llmc_src_root/test/e2e/mixtral --input-ids 1,2,3 --emit-mlir %t.mlir
// RUN: FileCheck %s --input-file %t.mlir
// RUN: FileCheck %s --input-file %t.mlir --check-prefix=NOT

// CHECK: module attributes {llm.model = #llm.model<type = "mixtral", kind = decoder, vocab_size = 96, hidden_size = 32, eos_token_ids = [2], context_length = 64>} {
// CHECK-LABEL: func.func @forward(%arg0: tensor<1x3xi64> {llm.arg_kind = #llm.arg_kind<tokens>}, %arg1: tensor<1x3xi64> {llm.arg_kind = #llm.arg_kind<positions>}) -> tensor<1x3x96xf32>
// CHECK: llm.param "model.layers.0.input_layernorm.weight" : tensor<32xf32>
// CHECK-NEXT: llm.rms_norm {{.*}} {epsilon = 1.000000e-05 : f64} : tensor<1x3x32xf32>, tensor<32xf32>
// CHECK: llm.param "model.layers.0.self_attn.k_proj.weight" : tensor<16x32xf32>
// CHECK: llm.rope {{.*}} {num_heads = 4 : i64, theta = 1.000000e+06 : f64} : tensor<1x3x32xf32>
// CHECK-NEXT: llm.rope {{.*}} {num_heads = 2 : i64, theta = 1.000000e+06 : f64} : tensor<1x3x16xf32>
// No window: Mixtral would apply sliding_window, but it is null.
// CHECK-NEXT: llm.attention {{.*}} {mask = #llm.mask<causal>, num_heads = 4 : i64, num_kv_heads = 2 : i64} :
// CHECK: llm.param "model.layers.0.post_attention_layernorm.weight" : tensor<32xf32>
// CHECK-NEXT: %[[X:.*]] = llm.rms_norm {{.*}} {epsilon = 1.000000e-05 : f64}
// CHECK-NEXT: %[[ROUTER:.*]] = llm.param "model.layers.0.block_sparse_moe.gate.weight" : tensor<4x32xf32>
// The experts' w1 (gate), w3 (up) and w2 (down), each stacked over the 4.
// CHECK-NEXT: %[[GATE:.*]] = llm.param "model.layers.0.block_sparse_moe.experts.w1" {stacked = ["model.layers.0.block_sparse_moe.experts.0.w1.weight", "model.layers.0.block_sparse_moe.experts.1.w1.weight", "model.layers.0.block_sparse_moe.experts.2.w1.weight", "model.layers.0.block_sparse_moe.experts.3.w1.weight"]} : tensor<4x64x32xf32>
// CHECK-NEXT: %[[UP:.*]] = llm.param "model.layers.0.block_sparse_moe.experts.w3" {stacked = ["model.layers.0.block_sparse_moe.experts.0.w3.weight", "model.layers.0.block_sparse_moe.experts.1.w3.weight", "model.layers.0.block_sparse_moe.experts.2.w3.weight", "model.layers.0.block_sparse_moe.experts.3.w3.weight"]} : tensor<4x64x32xf32>
// CHECK-NEXT: %[[DOWN:.*]] = llm.param "model.layers.0.block_sparse_moe.experts.w2" {stacked = ["model.layers.0.block_sparse_moe.experts.0.w2.weight", "model.layers.0.block_sparse_moe.experts.1.w2.weight", "model.layers.0.block_sparse_moe.experts.2.w2.weight", "model.layers.0.block_sparse_moe.experts.3.w2.weight"]} : tensor<4x32x64xf32>
// Top-2 of the router's softmax, renormalized; silu is llm.moe's default.
// CHECK-NEXT: %[[Y:.*]] = llm.moe %[[X]], %[[ROUTER]], %[[GATE]], %[[UP]], %[[DOWN]] {normalize, top_k = 2 : i64} : tensor<1x3x32xf32>, tensor<4x32xf32>, tensor<4x64x32xf32>, tensor<4x64x32xf32>, tensor<4x32x64xf32>
// CHECK-NEXT: arith.addf %{{.*}}, %[[Y]] : tensor<1x3x32xf32>
// CHECK: llm.moe {{.*}} {normalize, top_k = 2 : i64}
// CHECK: llm.param "model.norm.weight" : tensor<32xf32>
// CHECK-NEXT: llm.rms_norm {{.*}} {epsilon = 1.000000e-05 : f64}
// CHECK-NEXT: llm.param "lm_head.weight" : tensor<96x32xf32>

// NOT-NOT: mlp.
// NOT-NOT: llm.glu
// NOT-NOT: window
// NOT-NOT: .bias"
