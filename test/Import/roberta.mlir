// The IR the importer emits for RoBERTa (test/e2e/roberta: the BERT encoder
// with vocab 110 and one token type). Its positions start after the padding
// index (pad_token_id 1: at 2), which llm-run passes in the positions
// argument; the position table keeps all 64 rows.
// RUN: llm-run %llmc_src_root/test/e2e/roberta --input-ids 1,2,3 --emit-mlir %t.mlir
// RUN: FileCheck %s --input-file %t.mlir
// RUN: FileCheck %s --input-file %t.mlir --check-prefix=NOT

// Positions from 2: 62 of the 64 rows remain.
// CHECK: module attributes {llm.model = #llm.model<type = "roberta", kind = encoder, vocab_size = 110, hidden_size = 32, position_offset = 2, eos_token_ids = [2], max_positions = 62>} {
// CHECK-LABEL: func.func @forward(%arg0: tensor<1x3xi64> {llm.arg_kind = #llm.arg_kind<tokens>}, %arg1: tensor<1x3xi64> {llm.arg_kind = #llm.arg_kind<positions>}, %arg2: tensor<1x3xi64> {llm.arg_kind = #llm.arg_kind<token_types>}) -> tensor<1x3x32xf32>
// CHECK-NEXT: %[[WORD:.*]] = llm.param "embeddings.word_embeddings.weight" : tensor<110x32xf32>
// CHECK-NEXT: llm.embedding %[[WORD]][%arg0] : tensor<110x32xf32>, tensor<1x3xi64> -> tensor<1x3x32xf32>
// CHECK-NEXT: %[[TYPES:.*]] = llm.param "embeddings.token_type_embeddings.weight" : tensor<1x32xf32>
// CHECK-NEXT: llm.embedding %[[TYPES]][%arg2] : tensor<1x32xf32>, tensor<1x3xi64> -> tensor<1x3x32xf32>
// CHECK-NEXT: arith.addf
// CHECK-NEXT: %[[POSITIONS:.*]] = llm.param "embeddings.position_embeddings.weight" : tensor<64x32xf32>
// CHECK-NEXT: llm.embedding %[[POSITIONS]][%arg1] : tensor<64x32xf32>, tensor<1x3xi64> -> tensor<1x3x32xf32>
// CHECK: llm.layer_norm {{.*}} {epsilon = 9.9999999999999998E-13 : f64}
// CHECK-NEXT: llm.param "encoder.layer.0.attention.self.query.weight" : tensor<32x32xf32>
// CHECK-NEXT: llm.param "encoder.layer.0.attention.self.query.bias" : tensor<32xf32>
// CHECK: llm.attention {{.*}} {mask = #llm.mask<bidirectional>, num_heads = 4 : i64, num_kv_heads = 4 : i64} : tensor<1x3x32xf32>, tensor<1x3x32xf32>, tensor<1x3x32xf32> -> tensor<1x3x32xf32>
// CHECK: llm.param "encoder.layer.0.intermediate.dense.weight" : tensor<64x32xf32>
// CHECK-NEXT: llm.param "encoder.layer.0.intermediate.dense.bias" : tensor<64xf32>
// CHECK-NEXT: %[[F:.*]] = llm.linear
// CHECK-NEXT: llm.gelu %[[F]] : tensor<1x3x64xf32>
// CHECK: llm.param "encoder.layer.1.output.LayerNorm.bias" : tensor<32xf32>
// CHECK-NEXT: %[[OUT:.*]] = llm.layer_norm
// CHECK-NEXT: return %[[OUT]] : tensor<1x3x32xf32>

// NOT-NOT: roberta.
// NOT-NOT: #llm.mask<causal>
// NOT-NOT: approximate
// NOT-NOT: encoder.layer.2.
