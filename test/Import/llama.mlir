// The IR the importer emits for LLaMA (test/e2e/llama: hidden 32, 4 heads of
// 8, 4 KV heads, intermediate 64, vocab 96, 2 layers, untied lm_head) and for
// the variants that switch on GQA with tied embeddings and each rope scaling.
// RUN: llm-run %llmc_src_root/test/e2e/llama --input-ids 1,2,3 --emit-mlir %t.mlir
// RUN: FileCheck %s --input-file %t.mlir
// RUN: FileCheck %s --input-file %t.mlir --check-prefix=NOT

// RoPE: unbounded positions; no sliding window.
// CHECK: module attributes {llm.model = #llm.model<type = "llama", kind = decoder, vocab_size = 96, hidden_size = 32, eos_token_ids = [2], context_length = 64>} {
// CHECK-LABEL: func.func @forward(%arg0: tensor<1x3xi64> {llm.arg_kind = #llm.arg_kind<tokens>}, %arg1: tensor<1x3xi64> {llm.arg_kind = #llm.arg_kind<positions>}) -> tensor<1x3x96xf32>
// CHECK-NEXT: %[[TABLE:.*]] = llm.param "model.embed_tokens.weight" : tensor<96x32xf32>
// CHECK-NEXT: %[[H:.*]] = llm.embedding %[[TABLE]][%arg0] : tensor<96x32xf32>, tensor<1x3xi64> -> tensor<1x3x32xf32>
// rms_norm_eps 1e-06 is the op's default epsilon, which the printer elides.
// CHECK-NEXT: %[[NW:.*]] = llm.param "model.layers.0.input_layernorm.weight" : tensor<32xf32>
// CHECK-NEXT: %[[X:.*]] = llm.rms_norm %[[H]], %[[NW]] : tensor<1x3x32xf32>, tensor<32xf32>
// CHECK-NEXT: %[[WQ:.*]] = llm.param "model.layers.0.self_attn.q_proj.weight" : tensor<32x32xf32>
// CHECK-NEXT: %[[Q:.*]] = llm.linear %[[X]], %[[WQ]] : tensor<1x3x32xf32>, tensor<32x32xf32> -> tensor<1x3x32xf32>
// CHECK-NEXT: llm.param "model.layers.0.self_attn.k_proj.weight" : tensor<32x32xf32>
// CHECK-NEXT: %[[K:.*]] = llm.linear
// CHECK-NEXT: llm.param "model.layers.0.self_attn.v_proj.weight" : tensor<32x32xf32>
// CHECK-NEXT: %[[V:.*]] = llm.linear
// Default RoPE: theta 10000 (elided), no scaling, all of head_dim rotated.
// CHECK-NEXT: %[[RQ:.*]] = llm.rope %[[Q]], %arg1 {num_heads = 4 : i64} : tensor<1x3x32xf32>, tensor<1x3xi64>
// CHECK-NEXT: %[[RK:.*]] = llm.rope %[[K]], %arg1 {num_heads = 4 : i64} : tensor<1x3x32xf32>, tensor<1x3xi64>
// CHECK-NEXT: llm.attention %[[RQ]], %[[RK]], %[[V]] {mask = #llm.mask<causal>, num_heads = 4 : i64, num_kv_heads = 4 : i64} :
// CHECK-NEXT: llm.param "model.layers.0.self_attn.o_proj.weight" : tensor<32x32xf32>
// CHECK: llm.param "model.layers.0.post_attention_layernorm.weight" : tensor<32xf32>
// CHECK: %[[G:.*]] = llm.linear {{.*}} -> tensor<1x3x64xf32>
// CHECK-NEXT: llm.param "model.layers.0.mlp.up_proj.weight" : tensor<64x32xf32>
// CHECK-NEXT: %[[U:.*]] = llm.linear
// SwiGLU: llm.glu's default activation is silu.
// CHECK-NEXT: llm.glu %[[G]], %[[U]] : tensor<1x3x64xf32>
// CHECK-NEXT: llm.param "model.layers.0.mlp.down_proj.weight" : tensor<32x64xf32>
// CHECK: llm.param "model.layers.1.input_layernorm.weight"
// CHECK-NOT: model.layers.2.
// CHECK: %[[FW:.*]] = llm.param "model.norm.weight" : tensor<32xf32>
// CHECK-NEXT: %[[NORM:.*]] = llm.rms_norm %{{.*}}, %[[FW]] : tensor<1x3x32xf32>, tensor<32xf32>
// CHECK-NEXT: %[[HEAD:.*]] = llm.param "lm_head.weight" : tensor<96x32xf32>
// CHECK-NEXT: %[[LOGITS:.*]] = llm.linear %[[NORM]], %[[HEAD]] : tensor<1x3x32xf32>, tensor<96x32xf32> -> tensor<1x3x96xf32>
// CHECK-NEXT: return %[[LOGITS]] : tensor<1x3x96xf32>

// No biases (attention_bias and mlp_bias are false), no sliding window, no
// MoE, and no other epsilon or theta than the defaults.
// NOT-NOT: .bias"
// NOT-NOT: window
// NOT-NOT: llm.moe
// NOT-NOT: epsilon
// NOT-NOT: theta
// NOT-NOT: scaling

// Grouped-query attention down to one KV head, with the head tied to the
// embeddings (test/e2e/llama_mqa_tied: vocab 104).
// RUN: llm-run %llmc_src_root/test/e2e/llama_mqa_tied --input-ids 1,2,3 --emit-mlir %t.tied.mlir
// RUN: FileCheck %s --input-file %t.tied.mlir --check-prefix=TIED
// TIED-LABEL: func.func @forward(%arg0: tensor<1x3xi64> {llm.arg_kind = #llm.arg_kind<tokens>}, %arg1: tensor<1x3xi64> {llm.arg_kind = #llm.arg_kind<positions>}) -> tensor<1x3x104xf32>
// TIED: llm.param "model.layers.0.self_attn.k_proj.weight" : tensor<8x32xf32>
// TIED-NEXT: llm.linear {{.*}} -> tensor<1x3x8xf32>
// TIED-NEXT: llm.param "model.layers.0.self_attn.v_proj.weight" : tensor<8x32xf32>
// TIED-NEXT: llm.linear {{.*}} -> tensor<1x3x8xf32>
// TIED-NEXT: llm.rope {{.*}} {num_heads = 4 : i64} : tensor<1x3x32xf32>
// TIED-NEXT: llm.rope {{.*}} {num_heads = 1 : i64} : tensor<1x3x8xf32>
// TIED-NEXT: llm.attention {{.*}} {mask = #llm.mask<causal>, num_heads = 4 : i64, num_kv_heads = 1 : i64} : tensor<1x3x32xf32>, tensor<1x3x8xf32>, tensor<1x3x8xf32> -> tensor<1x3x32xf32>
// TIED: llm.param "model.norm.weight"
// TIED-NOT: lm_head
// TIED: %[[HEAD:.*]] = llm.param "model.embed_tokens.weight" : tensor<104x32xf32>
// TIED-NEXT: %[[LOGITS:.*]] = llm.linear %{{.*}}, %[[HEAD]] : tensor<1x3x32xf32>, tensor<104x32xf32> -> tensor<1x3x104xf32>
// TIED-NEXT: return %[[LOGITS]]

// Rope scaling from rope_parameters: YaRN (factor 4, original 32 positions),
// llama3 (factor 8, original 64) and dynamic NTK, whose original length is
// max_position_embeddings (6). Every rope of every layer carries it.
// RUN: llm-run %llmc_src_root/test/e2e/llama_rope_yarn --input-ids 1,2,3 --emit-mlir %t.yarn.mlir
// RUN: FileCheck %s --input-file %t.yarn.mlir --check-prefix=YARN
// YARN-COUNT-4: llm.rope {{.*}} {num_heads = 2 : i64, scaling = #llm.rope_scaling<kind = yarn, factor = 4.0, original_max_position = 32>} : tensor<1x3x32xf32>
// YARN-NOT: llm.rope
// RUN: llm-run %llmc_src_root/test/e2e/llama_rope_llama3 --input-ids 1,2,3 --emit-mlir %t.llama3.mlir
// RUN: FileCheck %s --input-file %t.llama3.mlir --check-prefix=LLAMA3
// LLAMA3-COUNT-4: llm.rope {{.*}} {num_heads = 2 : i64, scaling = #llm.rope_scaling<kind = llama3, factor = 8.0, original_max_position = 64>} : tensor<1x3x32xf32>
// LLAMA3-NOT: llm.rope
// RUN: llm-run %llmc_src_root/test/e2e/llama_rope_dynamic --input-ids 1,2,3 --emit-mlir %t.dynamic.mlir
// RUN: FileCheck %s --input-file %t.dynamic.mlir --check-prefix=DYNAMIC
// DYNAMIC-COUNT-4: llm.rope {{.*}} {num_heads = 4 : i64, scaling = #llm.rope_scaling<kind = dynamic, factor = 2.0, original_max_position = 6>} : tensor<1x3x32xf32>
// DYNAMIC-NOT: llm.rope
