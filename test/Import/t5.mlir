// The IR the importer emits for T5 (test/e2e/t5: d_model 32, 2 heads of
// d_kv 12, d_ff 64, vocab 112, 8 relative-position buckets up to distance 16,
// ReLU feed-forward, tied head scaled by d_model^-0.5), for 3 encoder tokens
// and 2 decoder tokens; and for T5 v1.1 (test/e2e/t5_v11: gated-gelu, its
// own lm_head, no output scaling).
// RUN: llm-run %llmc_src_root/test/e2e/t5 --input-ids 1,2,3 --decoder-input-ids 0,5 --emit-mlir %t.mlir
// RUN: FileCheck %s --input-file %t.mlir
// RUN: FileCheck %s --input-file %t.mlir --check-prefix=NOT

// decoder_start_token_id 0 is the default, which the printer elides.
// CHECK: module attributes {llm.model = #llm.model<type = "t5", kind = encoder_decoder, vocab_size = 112, hidden_size = 32, eos_token_ids = [1]>} {
// (encoder ids, decoder ids) -> logits over the decoder tokens.
// CHECK-LABEL: func.func @forward(%arg0: tensor<1x3xi64> {llm.arg_kind = #llm.arg_kind<encoder_tokens>}, %arg1: tensor<1x2xi64> {llm.arg_kind = #llm.arg_kind<tokens>}) -> tensor<1x2x112xf32>
// CHECK-NEXT: %[[SHARED:.*]] = llm.param "shared.weight" : tensor<112x32xf32>
// CHECK-NEXT: llm.embedding %[[SHARED]][%arg0] : tensor<112x32xf32>, tensor<1x3xi64> -> tensor<1x3x32xf32>
// Layer 0's table biases every encoder layer: bidirectional buckets.
// CHECK-NEXT: %[[ET:.*]] = llm.param "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight" : tensor<8x2xf32>
// CHECK-NEXT: %[[EB:.*]] = llm.relative_position_bias %[[ET]] {bidirectional, max_distance = 16 : i64, num_buckets = 8 : i64} : tensor<8x2xf32> -> tensor<2x3x3xf32>
// layer_norm_epsilon 1e-06 is llm.rms_norm's default epsilon.
// CHECK-NEXT: llm.param "encoder.block.0.layer.0.layer_norm.weight" : tensor<32xf32>
// CHECK-NEXT: llm.rms_norm %{{.*}}, %{{.*}} : tensor<1x3x32xf32>, tensor<32xf32>
// CHECK-NEXT: llm.param "encoder.block.0.layer.0.SelfAttention.q.weight" : tensor<24x32xf32>
// CHECK-NEXT: %[[Q:.*]] = llm.linear {{.*}} -> tensor<1x3x24xf32>
// CHECK-NEXT: llm.param "encoder.block.0.layer.0.SelfAttention.k.weight" : tensor<24x32xf32>
// CHECK-NEXT: %[[K:.*]] = llm.linear
// CHECK-NEXT: llm.param "encoder.block.0.layer.0.SelfAttention.v.weight" : tensor<24x32xf32>
// CHECK-NEXT: %[[V:.*]] = llm.linear
// Unscaled attention: scale 1, not head_dim^-0.5.
// CHECK-NEXT: llm.attention %[[Q]], %[[K]], %[[V]] bias(%[[EB]] : tensor<2x3x3xf32>) {mask = #llm.mask<bidirectional>, num_heads = 2 : i64, num_kv_heads = 2 : i64, scale = 1.000000e+00 : f64} : tensor<1x3x24xf32>, tensor<1x3x24xf32>, tensor<1x3x24xf32> -> tensor<1x3x24xf32>
// CHECK-NEXT: llm.param "encoder.block.0.layer.0.SelfAttention.o.weight" : tensor<32x24xf32>
// CHECK: llm.param "encoder.block.0.layer.1.DenseReluDense.wi.weight" : tensor<64x32xf32>
// CHECK-NEXT: %[[F:.*]] = llm.linear
// ReLU as max(x, 0).
// CHECK-NEXT: %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : tensor<1x3x64xf32>
// CHECK-NEXT: arith.maximumf %[[F]], %[[ZERO]] : tensor<1x3x64xf32>
// CHECK-NEXT: llm.param "encoder.block.0.layer.1.DenseReluDense.wo.weight" : tensor<32x64xf32>
// CHECK: llm.attention {{.*}} bias(%[[EB]] : tensor<2x3x3xf32>)
// CHECK: llm.param "encoder.final_layer_norm.weight" : tensor<32xf32>
// CHECK-NEXT: %[[ENC:.*]] = llm.rms_norm
// CHECK-NEXT: %[[SHARED2:.*]] = llm.param "shared.weight" : tensor<112x32xf32>
// CHECK-NEXT: llm.embedding %[[SHARED2]][%arg1] : tensor<112x32xf32>, tensor<1x2xi64> -> tensor<1x2x32xf32>
// Causal buckets over the decoder tokens.
// CHECK-NEXT: %[[DT:.*]] = llm.param "decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight" : tensor<8x2xf32>
// CHECK-NEXT: %[[DB:.*]] = llm.relative_position_bias %[[DT]] {max_distance = 16 : i64, num_buckets = 8 : i64} : tensor<8x2xf32> -> tensor<2x2x2xf32>
// CHECK: llm.attention {{.*}} bias(%[[DB]] : tensor<2x2x2xf32>) {mask = #llm.mask<causal>, num_heads = 2 : i64, num_kv_heads = 2 : i64, scale = 1.000000e+00 : f64} : tensor<1x2x24xf32>, tensor<1x2x24xf32>, tensor<1x2x24xf32> -> tensor<1x2x24xf32>
// Cross-attention: keys and values from the encoder output, no bias.
// CHECK: llm.param "decoder.block.0.layer.1.EncDecAttention.q.weight" : tensor<24x32xf32>
// CHECK-NEXT: %[[CQ:.*]] = llm.linear {{.*}} -> tensor<1x2x24xf32>
// CHECK-NEXT: llm.param "decoder.block.0.layer.1.EncDecAttention.k.weight" : tensor<24x32xf32>
// CHECK-NEXT: %[[CK:.*]] = llm.linear %[[ENC]], {{.*}} -> tensor<1x3x24xf32>
// CHECK-NEXT: llm.param "decoder.block.0.layer.1.EncDecAttention.v.weight" : tensor<24x32xf32>
// CHECK-NEXT: %[[CV:.*]] = llm.linear %[[ENC]], {{.*}} -> tensor<1x3x24xf32>
// CHECK-NEXT: llm.attention %[[CQ]], %[[CK]], %[[CV]] {mask = #llm.mask<bidirectional>, num_heads = 2 : i64, num_kv_heads = 2 : i64, scale = 1.000000e+00 : f64} : tensor<1x2x24xf32>, tensor<1x3x24xf32>, tensor<1x3x24xf32> -> tensor<1x2x24xf32>
// CHECK: llm.attention {{.*}} bias(%[[DB]] : tensor<2x2x2xf32>) {mask = #llm.mask<causal>
// The tied head sees the decoder output times 32^-0.5.
// CHECK: llm.param "decoder.final_layer_norm.weight" : tensor<32xf32>
// CHECK-NEXT: %[[NORM:.*]] = llm.rms_norm
// CHECK-NEXT: %[[SCALE:.*]] = arith.constant dense<0.176776692> : tensor<1x2x32xf32>
// CHECK-NEXT: %[[SCALED:.*]] = arith.mulf %[[NORM]], %[[SCALE]] : tensor<1x2x32xf32>
// CHECK-NEXT: %[[HEAD:.*]] = llm.param "shared.weight" : tensor<112x32xf32>
// CHECK-NEXT: %[[LOGITS:.*]] = llm.linear %[[SCALED]], %[[HEAD]] : tensor<1x2x32xf32>, tensor<112x32xf32> -> tensor<1x2x112xf32>
// CHECK-NEXT: return %[[LOGITS]] : tensor<1x2x112xf32>

// NOT-NOT: lm_head
// NOT-NOT: llm.glu
// NOT-NOT: llm.gelu
// NOT-NOT: block.2.

// llm-insert-kv-cache moves the encoder into forward_encode, whose encoder
// ids keep their kind; the decoder's tokens keep theirs, beside the kinds of
// the caches the pass adds; the module keeps llm.model.
// RUN: llm-opt %t.mlir --llm-insert-kv-cache="block-size=4 max-seq-len=16" | FileCheck %s --check-prefix=KV
// KV: module attributes {llm.model = #llm.model<type = "t5", kind = encoder_decoder, vocab_size = 112, hidden_size = 32, eos_token_ids = [1]>} {
// KV-LABEL: func.func @forward(%arg0: tensor<1x2xi64> {llm.arg_kind = #llm.arg_kind<tokens>}, %arg1: !llm.kv_cache<{{.*}}> {llm.arg_kind = #llm.arg_kind<kv_cache>}, {{.*}} {llm.arg_kind = #llm.arg_kind<cross_cache>}
// KV-LABEL: func.func @forward_encode(%arg0: tensor<1x3xi64> {llm.arg_kind = #llm.arg_kind<encoder_tokens>}, %arg1: !llm.kv_cache<{{.*}}> {llm.arg_kind = #llm.arg_kind<cross_cache>}, %arg2: tensor<1x3xi32> {llm.arg_kind = #llm.arg_kind<cross_slots>}) -> !llm.kv_cache

// RUN: llm-run %llmc_src_root/test/e2e/t5_v11 --input-ids 1,2,3 --decoder-input-ids 0,5 --emit-mlir %t.v11.mlir
// RUN: FileCheck %s --input-file %t.v11.mlir --check-prefix=V11
// RUN: FileCheck %s --input-file %t.v11.mlir --check-prefix=NOT11
// gated-gelu: glu of wi_0 (tanh GELU) and wi_1.
// V11: %[[G:.*]] = llm.linear {{.*}} -> tensor<1x3x64xf32>
// V11-NEXT: llm.param "encoder.block.0.layer.1.DenseReluDense.wi_1.weight" : tensor<64x32xf32>
// V11-NEXT: %[[U:.*]] = llm.linear
// V11-NEXT: llm.glu %[[G]], %[[U]] {activation = #llm.activation<gelu_tanh>} : tensor<1x3x64xf32>
// V11-NEXT: llm.param "encoder.block.0.layer.1.DenseReluDense.wo.weight" : tensor<32x64xf32>
// Its own head, unscaled.
// V11: llm.param "decoder.final_layer_norm.weight" : tensor<32xf32>
// V11-NEXT: %[[NORM:.*]] = llm.rms_norm
// V11-NEXT: %[[HEAD:.*]] = llm.param "lm_head.weight" : tensor<112x32xf32>
// V11-NEXT: %[[LOGITS:.*]] = llm.linear %[[NORM]], %[[HEAD]] : tensor<1x2x32xf32>, tensor<112x32xf32> -> tensor<1x2x112xf32>
// V11-NEXT: return %[[LOGITS]]
// NOT11-NOT: arith.mulf
// NOT11-NOT: arith.maximumf
// NOT11-NOT: DenseReluDense.wi.weight

// generation_config.json's decoder_start_token_id (here 5), which llm-run
// also passes as the decoder prompt when --decoder-input-ids is absent.
// RUN: %python %llmc_src_root/test/e2e/errors/Inputs/corrupt.py %llmc_src_root/test/e2e/t5 %t.start set-json generation_config.json decoder_start_token_id 5
// RUN: llm-run %t.start --input-ids 1,2,3 --emit-mlir %t.start.mlir
// RUN: FileCheck %s --input-file %t.start.mlir --check-prefix=START
// START: module attributes {llm.model = #llm.model<type = "t5", kind = encoder_decoder, vocab_size = 112, hidden_size = 32, eos_token_ids = [1], decoder_start_token_id = 5>} {
// START-NEXT: func.func @forward(%arg0: tensor<1x3xi64> {llm.arg_kind = #llm.arg_kind<encoder_tokens>}, %arg1: tensor<1x1xi64> {llm.arg_kind = #llm.arg_kind<tokens>}) -> tensor<1x1x112xf32>
