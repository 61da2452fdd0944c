// The IR the importer emits for Qwen2 (test/e2e/qwen2: 4 heads of 8 over 2
// KV heads, vocab 128, rope_theta 1e6): biases on q/k/v (attention_bias
// defaults to true for Qwen2) but not on o_proj or the MLP, and no sliding
// window (use_sliding_window is false).
// RUN: llm-run %llmc_src_root/test/e2e/qwen2 --input-ids 1,2,3 --emit-mlir %t.mlir
// RUN: FileCheck %s --input-file %t.mlir
// RUN: FileCheck %s --input-file %t.mlir --check-prefix=NOT

// CHECK: module attributes {llm.model = #llm.model<type = "qwen2", kind = decoder, vocab_size = 128, hidden_size = 32, eos_token_ids = [2], context_length = 64>} {
// CHECK-LABEL: func.func @forward(%arg0: tensor<1x3xi64> {llm.arg_kind = #llm.arg_kind<tokens>}, %arg1: tensor<1x3xi64> {llm.arg_kind = #llm.arg_kind<positions>}) -> tensor<1x3x128xf32>
// CHECK-NEXT: llm.param "model.embed_tokens.weight" : tensor<128x32xf32>
// CHECK: %[[WQ:.*]] = llm.param "model.layers.0.self_attn.q_proj.weight" : tensor<32x32xf32>
// CHECK-NEXT: %[[BQ:.*]] = llm.param "model.layers.0.self_attn.q_proj.bias" : tensor<32xf32>
// CHECK-NEXT: %[[Q:.*]] = llm.linear %{{.*}}, %[[WQ]], %[[BQ]] : tensor<1x3x32xf32>, tensor<32x32xf32>, tensor<32xf32> -> tensor<1x3x32xf32>
// CHECK-NEXT: llm.param "model.layers.0.self_attn.k_proj.weight" : tensor<16x32xf32>
// CHECK-NEXT: llm.param "model.layers.0.self_attn.k_proj.bias" : tensor<16xf32>
// CHECK-NEXT: %[[K:.*]] = llm.linear
// CHECK-NEXT: llm.param "model.layers.0.self_attn.v_proj.weight" : tensor<16x32xf32>
// CHECK-NEXT: llm.param "model.layers.0.self_attn.v_proj.bias" : tensor<16xf32>
// CHECK-NEXT: %[[V:.*]] = llm.linear
// CHECK-NEXT: %[[RQ:.*]] = llm.rope %[[Q]], %arg1 {num_heads = 4 : i64, theta = 1.000000e+06 : f64} : tensor<1x3x32xf32>, tensor<1x3xi64>
// CHECK-NEXT: %[[RK:.*]] = llm.rope %[[K]], %arg1 {num_heads = 2 : i64, theta = 1.000000e+06 : f64} : tensor<1x3x16xf32>, tensor<1x3xi64>
// CHECK-NEXT: llm.attention %[[RQ]], %[[RK]], %[[V]] {mask = #llm.mask<causal>, num_heads = 4 : i64, num_kv_heads = 2 : i64} : tensor<1x3x32xf32>, tensor<1x3x16xf32>, tensor<1x3x16xf32> -> tensor<1x3x32xf32>
// CHECK-NEXT: %[[WO:.*]] = llm.param "model.layers.0.self_attn.o_proj.weight" : tensor<32x32xf32>
// CHECK-NEXT: llm.linear %{{.*}}, %[[WO]] : tensor<1x3x32xf32>, tensor<32x32xf32> -> tensor<1x3x32xf32>
// CHECK: %[[WG:.*]] = llm.param "model.layers.0.mlp.gate_proj.weight" : tensor<64x32xf32>
// CHECK-NEXT: llm.linear %{{.*}}, %[[WG]] : tensor<1x3x32xf32>, tensor<64x32xf32> -> tensor<1x3x64xf32>
// CHECK: llm.param "model.layers.1.self_attn.v_proj.bias" : tensor<16xf32>
// CHECK: llm.param "lm_head.weight" : tensor<128x32xf32>

// NOT-NOT: o_proj.bias
// NOT-NOT: mlp.{{.*}}.bias
// NOT-NOT: window
// NOT-NOT: llm.moe

// The model's sliding window, for the runtime, is the one every layer has.
// With use_sliding_window, transformers windows layer i only when
// layer_types[i] is "sliding_attention", or, without layer_types, when i >=
// max_window_layers (28 here): the layers below use full attention, so that
// no window is common to every layer unless the list says so for all, or
// max_window_layers is 0.
// RUN: %python %llmc_src_root/test/e2e/errors/Inputs/corrupt.py %llmc_src_root/test/e2e/qwen2 %t.on set-json config.json use_sliding_window true
// RUN: %python %llmc_src_root/test/e2e/errors/Inputs/corrupt.py %t.on %t.full set-json config.json sliding_window 4
// RUN: llm-run %t.full --input-ids 1,2,3 --emit-mlir %t.full.mlir
// RUN: FileCheck %s --input-file %t.full.mlir --check-prefix=PARTIAL
// RUN: %python %llmc_src_root/test/e2e/errors/Inputs/corrupt.py %t.full %t.mixed set-json config.json layer_types '["full_attention", "sliding_attention"]'
// RUN: llm-run %t.mixed --input-ids 1,2,3 --emit-mlir %t.mixed.mlir
// RUN: FileCheck %s --input-file %t.mixed.mlir --check-prefix=PARTIAL
// RUN: %python %llmc_src_root/test/e2e/errors/Inputs/corrupt.py %t.full %t.sliding set-json config.json layer_types '["sliding_attention", "sliding_attention"]'
// RUN: llm-run %t.sliding --input-ids 1,2,3 --emit-mlir %t.sliding.mlir
// RUN: FileCheck %s --input-file %t.sliding.mlir --check-prefix=EVERY
// RUN: %python %llmc_src_root/test/e2e/errors/Inputs/corrupt.py %t.full %t.bylayer delete-json config.json layer_types
// RUN: llm-run %t.bylayer --input-ids 1,2,3 --emit-mlir %t.bylayer.mlir
// RUN: FileCheck %s --input-file %t.bylayer.mlir --check-prefix=PARTIAL
// RUN: %python %llmc_src_root/test/e2e/errors/Inputs/corrupt.py %t.bylayer %t.fromzero set-json config.json max_window_layers 0
// RUN: llm-run %t.fromzero --input-ids 1,2,3 --emit-mlir %t.fromzero.mlir
// RUN: FileCheck %s --input-file %t.fromzero.mlir --check-prefix=EVERY
// PARTIAL: module attributes {llm.model = #llm.model<type = "qwen2", kind = decoder, vocab_size = 128, hidden_size = 32, eos_token_ids = [2], context_length = 64>} {
// EVERY: module attributes {llm.model = #llm.model<type = "qwen2", kind = decoder, vocab_size = 128, hidden_size = 32, eos_token_ids = [2], context_length = 64, sliding_window = 4>} {
