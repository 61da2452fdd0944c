// The IR the importer emits for BERT (test/e2e/bert: hidden 32, 4 heads,
// intermediate 64, vocab 100, 64 positions, 2 token types, layer_norm_eps
// 1e-12, exact gelu): a post-norm encoder whose result is the last hidden
// state, for one sequence.
// RUN: llm-run %llmc_src_root/test/e2e/bert --input-ids 1,2,3 --emit-mlir %t.mlir
// RUN: FileCheck %s --input-file %t.mlir
// RUN: FileCheck %s --input-file %t.mlir --check-prefix=NOT

// What the runtime needs: an encoder of 64 positions, with no eos.
// CHECK: module attributes {llm.model = #llm.model<type = "bert", kind = encoder, vocab_size = 100, hidden_size = 32, max_positions = 64>} {
// (ids, positions, token types) -> hidden.
// CHECK-LABEL: func.func @forward(%arg0: tensor<1x3xi64> {llm.arg_kind = #llm.arg_kind<tokens>}, %arg1: tensor<1x3xi64> {llm.arg_kind = #llm.arg_kind<positions>}, %arg2: tensor<1x3xi64> {llm.arg_kind = #llm.arg_kind<token_types>}) -> tensor<1x3x32xf32>
// CHECK-NEXT: %[[WORD:.*]] = llm.param "embeddings.word_embeddings.weight" : tensor<100x32xf32>
// CHECK-NEXT: %[[W:.*]] = llm.embedding %[[WORD]][%arg0] : tensor<100x32xf32>, tensor<1x3xi64> -> tensor<1x3x32xf32>
// CHECK-NEXT: %[[TYPES:.*]] = llm.param "embeddings.token_type_embeddings.weight" : tensor<2x32xf32>
// CHECK-NEXT: %[[T:.*]] = llm.embedding %[[TYPES]][%arg2] : tensor<2x32xf32>, tensor<1x3xi64> -> tensor<1x3x32xf32>
// CHECK-NEXT: %[[WT:.*]] = arith.addf %[[W]], %[[T]]
// CHECK-NEXT: %[[POSITIONS:.*]] = llm.param "embeddings.position_embeddings.weight" : tensor<64x32xf32>
// CHECK-NEXT: %[[P:.*]] = llm.embedding %[[POSITIONS]][%arg1] : tensor<64x32xf32>, tensor<1x3xi64> -> tensor<1x3x32xf32>
// CHECK-NEXT: arith.addf %[[WT]], %[[P]]
// CHECK-NEXT: llm.param "embeddings.LayerNorm.weight" : tensor<32xf32>
// CHECK-NEXT: llm.param "embeddings.LayerNorm.bias" : tensor<32xf32>
// CHECK-NEXT: %[[H:.*]] = llm.layer_norm {{.*}} {epsilon = 9.9999999999999998E-13 : f64} : tensor<1x3x32xf32>, tensor<32xf32>, tensor<32xf32>
// CHECK-NEXT: llm.param "encoder.layer.0.attention.self.query.weight" : tensor<32x32xf32>
// CHECK-NEXT: llm.param "encoder.layer.0.attention.self.query.bias" : tensor<32xf32>
// CHECK-NEXT: %[[Q:.*]] = llm.linear %[[H]]
// CHECK-NEXT: llm.param "encoder.layer.0.attention.self.key.weight" : tensor<32x32xf32>
// CHECK-NEXT: llm.param "encoder.layer.0.attention.self.key.bias" : tensor<32xf32>
// CHECK-NEXT: %[[K:.*]] = llm.linear %[[H]]
// CHECK-NEXT: llm.param "encoder.layer.0.attention.self.value.weight" : tensor<32x32xf32>
// CHECK-NEXT: llm.param "encoder.layer.0.attention.self.value.bias" : tensor<32xf32>
// CHECK-NEXT: %[[V:.*]] = llm.linear %[[H]]
// CHECK-NEXT: llm.attention %[[Q]], %[[K]], %[[V]] {mask = #llm.mask<bidirectional>, num_heads = 4 : i64, num_kv_heads = 4 : i64} : tensor<1x3x32xf32>, tensor<1x3x32xf32>, tensor<1x3x32xf32> -> tensor<1x3x32xf32>
// CHECK-NEXT: llm.param "encoder.layer.0.attention.output.dense.weight" : tensor<32x32xf32>
// CHECK-NEXT: llm.param "encoder.layer.0.attention.output.dense.bias" : tensor<32xf32>
// CHECK-NEXT: %[[A:.*]] = llm.linear
// Post-norm: the residual sum is normed.
// CHECK-NEXT: %[[SUM:.*]] = arith.addf %[[H]], %[[A]]
// CHECK-NEXT: llm.param "encoder.layer.0.attention.output.LayerNorm.weight" : tensor<32xf32>
// CHECK-NEXT: llm.param "encoder.layer.0.attention.output.LayerNorm.bias" : tensor<32xf32>
// CHECK-NEXT: llm.layer_norm %[[SUM]], {{.*}} {epsilon = 9.9999999999999998E-13 : f64}
// CHECK-NEXT: llm.param "encoder.layer.0.intermediate.dense.weight" : tensor<64x32xf32>
// CHECK-NEXT: llm.param "encoder.layer.0.intermediate.dense.bias" : tensor<64xf32>
// CHECK-NEXT: %[[F:.*]] = llm.linear
// hidden_act gelu is the exact (erf) GELU: no approximation attribute.
// CHECK-NEXT: llm.gelu %[[F]] : tensor<1x3x64xf32>
// CHECK-NEXT: llm.param "encoder.layer.0.output.dense.weight" : tensor<32x64xf32>
// CHECK: llm.param "encoder.layer.1.output.LayerNorm.bias" : tensor<32xf32>
// CHECK-NEXT: %[[OUT:.*]] = llm.layer_norm
// CHECK-NEXT: return %[[OUT]] : tensor<1x3x32xf32>

// NOT-NOT: #llm.mask<causal>
// NOT-NOT: llm.rope
// NOT-NOT: approximate
// NOT-NOT: pooler
// NOT-NOT: encoder.layer.2.
