// RUN: llm-opt %s -split-input-file -verify-diagnostics

// One case per diagnostic of the llm dialect: every verifier message of
// LLMOps.cpp, LLMTypes.cpp and LLMAttrs.cpp (each call site of the shared
// checkRank/checkShape/checkPositive/checkSameElementType helpers with its
// own operand name), the ODS trait messages, and malformed type, attribute
// and enum syntax. Messages are matched in full, expected and found values
// included.

//===----------------------------------------------------------------------===//
// llm.param
//===----------------------------------------------------------------------===//

func.func @param_empty_name() {
  // expected-error @+1 {{'llm.param' op expected a non-empty parameter name}}
  %0 = llm.param "" : tensor<4xf32>
  return
}

// -----

func.func @param_dynamic_shape() {
  // expected-error @+1 {{'llm.param' op expected a statically shaped parameter, found 'tensor<?x256xf32>'}}
  %0 = llm.param "model.embed_tokens.weight" : tensor<?x256xf32>
  return
}

// -----

func.func @param_transpose_qweight() {
  // expected-error @+1 {{'llm.param' op expected a tensor result for 'transpose' or 'row_blocks', found '!llm.qweight<64x128, bits = 8, group = per_channel, scale = f16, symmetric, packing = byte>'}}
  %0 = llm.param "w" {transpose}
      : !llm.qweight<64x128, bits = 8, group = per_channel, scale = f16, symmetric, packing = byte>
  return
}

// -----

func.func @param_transpose_rank() {
  // expected-error @+1 {{'llm.param' op expected a result of rank 2 for 'transpose', found rank 3}}
  %0 = llm.param "w" {transpose} : tensor<4x64x128xf32>
  return
}

// -----

func.func @param_panels_rank() {
  // expected-error @+1 {{'llm.param' op expected a tensor result of rank 2 (or 3: stacked experts) for 'panels', found 'tensor<64xf32>'}}
  %0 = llm.param "w" {panels = 48 : i64} : tensor<64xf32>
  return
}

// -----

func.func @param_panels_zero() {
  // expected-error @+1 {{'llm.param' op expected 'panels' > 0 rows per panel, found 0}}
  %0 = llm.param "w" {panels = 0 : i64} : tensor<64x8xf32>
  return
}

// -----

func.func @param_int8_activations_float() {
  // expected-error @+1 {{'llm.param' op expected a !llm.qweight result for 'int8_activations', found 'tensor<64x8xf32>'}}
  %0 = llm.param "w" {int8_activations} : tensor<64x8xf32>
  return
}

// -----

func.func @param_quant_method_float() {
  // expected-error @+1 {{'llm.param' op expected a !llm.qweight result for 'quant_method', found 'tensor<64x32xf32>'}}
  %0 = llm.param "w" {quant_method = "gptq"} : tensor<64x32xf32>
  return
}

// -----

func.func @param_checkpoint_format_float() {
  // expected-error @+1 {{'llm.param' op expected a !llm.qweight result for 'checkpoint_format', found 'tensor<64x32xf32>'}}
  %0 = llm.param "w" {checkpoint_format = "gptq"} : tensor<64x32xf32>
  return
}

// -----

func.func @param_checkpoint_format_unknown() {
  // expected-error @+1 {{'llm.param' op expected 'checkpoint_format' one of gptq, gptq_v2, awq, ggml_q8_0, ggml_q4_0, ggml_q4_1, ggml_q5_0, ggml_q5_1, ggml_q4_k, ggml_q5_k, ggml_q6_k, found "exl2"}}
  %0 = llm.param "w" {checkpoint_format = "exl2"} : !llm.qweight<64x32, bits = 4, group = 32, scale = f32, asymmetric, packing = nibble>
  return
}

// -----

func.func @param_checkpoint_format_calibrated() {
  // expected-error @+1 {{'llm.param' op expected 'checkpoint_format' (values from the checkpoint) without 'quant_method' (values from calibration)}}
  %0 = llm.param "w" {checkpoint_format = "awq", quant_method = "awq"} : !llm.qweight<64x32, bits = 4, group = 32, scale = f32, asymmetric, packing = nibble>
  return
}

// -----

func.func @param_act_order_awq() {
  // expected-error @+1 {{'llm.param' op expected 'act_order' with a GPTQ 'checkpoint_format' (gptq or gptq_v2)}}
  %0 = llm.param "w" {act_order, checkpoint_format = "awq"} : !llm.qweight<64x32, bits = 4, group = 32, scale = f32, asymmetric, packing = nibble>
  return
}

// -----

func.func @param_quant_method_unknown() {
  // expected-error @+1 {{'llm.param' op expected 'quant_method' "gptq" or "awq", found "rtn"}}
  %0 = llm.param "w" {quant_method = "rtn"} : !llm.qweight<64x32, bits = 4, group = 32, scale = f32, symmetric, packing = nibble>
  return
}

// -----

func.func @param_row_blocks_arity() {
  // expected-error @+1 {{'llm.param' op expected row_blocks = [start, size, stride, count] (4 values), found 3 values}}
  %0 = llm.param "w" {row_blocks = array<i64: 0, 64, 64>} : tensor<64x128xf32>
  return
}

// -----

func.func @param_row_blocks_overlap() {
  // expected-error @+1 {{'llm.param' op expected row_blocks with start >= 0, size > 0, count > 0 and stride >= size, found [0, 64, 32, 2]}}
  %0 = llm.param "w" {row_blocks = array<i64: 0, 64, 32, 2>} : tensor<128x128xf32>
  return
}

// -----

func.func @param_row_blocks_start() {
  // expected-error @+1 {{'llm.param' op expected row_blocks with start >= 0, size > 0, count > 0 and stride >= size, found [-1, 64, 64, 1]}}
  %0 = llm.param "w" {row_blocks = array<i64: -1, 64, 64, 1>} : tensor<64x128xf32>
  return
}

// -----

func.func @param_row_blocks_rows() {
  // expected-error @+1 {{'llm.param' op expected row_blocks to select 64 rows (the result's first dimension), found 128}}
  %0 = llm.param "w" {row_blocks = array<i64: 0, 64, 192, 2>} : tensor<64x128xf32>
  return
}

// -----

func.func @param_stacked_count() {
  // expected-error @+1 {{'llm.param' op expected a first dimension of 3 (the number of stacked tensors), found 8}}
  %0 = llm.param "w" {stacked = ["e0", "e1", "e2"]} : tensor<8x4x4xf32>
  return
}

// -----

func.func @param_stacked_qweight_rank_2() {
  // expected-error @+1 {{'llm.param' op expected a tensor or a rank-3 !llm.qweight result for 'stacked', found '!llm.qweight<64x128, bits = 8, group = per_channel, scale = f32, symmetric, packing = byte>'}}
  %0 = llm.param "w" {stacked = ["e0", "e1"]} : !llm.qweight<64x128, bits = 8, group = per_channel, scale = f32, symmetric, packing = byte>
  return
}

// -----

func.func @param_stacked_and_transpose() {
  // expected-error @+1 {{'llm.param' op expected 'stacked' without 'transpose' or 'row_blocks'}}
  %0 = llm.param "w" {stacked = ["e0", "e1"], transpose} : tensor<2x4xf32>
  return
}

// -----

func.func @param_stacked_and_row_blocks() {
  // expected-error @+1 {{'llm.param' op expected 'stacked' without 'transpose' or 'row_blocks'}}
  %0 = llm.param "w" {stacked = ["e0", "e1"], row_blocks = array<i64: 0, 1, 1, 2>} : tensor<2x4x4xf32>
  return
}

// -----

func.func @param_stacked_names() {
  // expected-error @+1 {{'llm.param' op attribute 'stacked' failed to satisfy constraint: string array attribute}}
  %0 = "llm.param"() <{name = "w", stacked = [1, 2]}> : () -> tensor<2x4xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// llm.embedding
//===----------------------------------------------------------------------===//

func.func @embedding_table_rank(%table: tensor<32000xf32>, %ids: tensor<1x8xi64>) {
  // expected-error @+1 {{'llm.embedding' op expected table of rank 2 ([rows, columns]), found rank 1}}
  %0 = llm.embedding %table[%ids] : tensor<32000xf32>, tensor<1x8xi64> -> tensor<1x8x256xf32>
  return
}

// -----

func.func @embedding_result_shape(%table: tensor<100x16xf32>, %ids: tensor<1x8xi64>) {
  // expected-error @+1 {{'llm.embedding' op expected result shape [1, 8, 16], found [1, 8, 32]}}
  %0 = llm.embedding %table[%ids] : tensor<100x16xf32>, tensor<1x8xi64> -> tensor<1x8x32xf32>
  return
}

// -----

func.func @embedding_qweight_result_shape(
    %table: !llm.qweight<100x16, bits = 8, group = per_channel, scale = f16, symmetric, packing = byte>,
    %ids: tensor<8xi32>) {
  // expected-error @+1 {{'llm.embedding' op expected result shape [8, 16], found [1, 8, 16]}}
  %0 = llm.embedding %table[%ids]
      : !llm.qweight<100x16, bits = 8, group = per_channel, scale = f16, symmetric, packing = byte>,
        tensor<8xi32> -> tensor<1x8x16xf32>
  return
}

// -----

func.func @embedding_result_element_type(%table: tensor<100x16xbf16>, %ids: tensor<1x8xi64>) {
  // expected-error @+1 {{'llm.embedding' op expected result element type f32 or 'bf16' (the table's), found 'f16'}}
  %0 = llm.embedding %table[%ids] : tensor<100x16xbf16>, tensor<1x8xi64> -> tensor<1x8x16xf16>
  return
}

// -----

//===----------------------------------------------------------------------===//
// llm.linear
//===----------------------------------------------------------------------===//

func.func @linear_weight_rank(%x: tensor<4x8xf32>, %w: tensor<16xf32>) {
  // expected-error @+1 {{'llm.linear' op expected weight of rank 2 ([rows, columns]), found rank 1}}
  %0 = llm.linear %x, %w : tensor<4x8xf32>, tensor<16xf32> -> tensor<4x16xf32>
  return
}

// -----

func.func @linear_input_rank(%x: tensor<f32>, %w: tensor<16x1xf32>) {
  // expected-error @+1 {{'llm.linear' op expected input of rank >= 1, found rank 0}}
  %0 = llm.linear %x, %w : tensor<f32>, tensor<16x1xf32> -> tensor<16xf32>
  return
}

// -----

func.func @linear_input_features(%x: tensor<4x8xf32>, %w: tensor<16x12xf32>) {
  // expected-error @+1 {{'llm.linear' op expected input features (last dimension) 12 to match weight [out, in] = [16, 12], found 8}}
  %0 = llm.linear %x, %w : tensor<4x8xf32>, tensor<16x12xf32> -> tensor<4x16xf32>
  return
}

// -----

func.func @linear_qweight_input_features(
    %x: tensor<4x8xf32>,
    %w: !llm.qweight<16x32, bits = 4, group = 32, scale = f16, symmetric, packing = nibble>) {
  // expected-error @+1 {{'llm.linear' op expected input features (last dimension) 32 to match weight [out, in] = [16, 32], found 8}}
  %0 = llm.linear %x, %w
      : tensor<4x8xf32>, !llm.qweight<16x32, bits = 4, group = 32, scale = f16, symmetric, packing = nibble>
        -> tensor<4x16xf32>
  return
}

// -----

func.func @linear_bias_shape(%x: tensor<4x8xf32>, %w: tensor<16x8xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{'llm.linear' op expected bias shape [16], found [8]}}
  %0 = llm.linear %x, %w, %b : tensor<4x8xf32>, tensor<16x8xf32>, tensor<8xf32> -> tensor<4x16xf32>
  return
}

// -----

func.func @linear_result_shape(%x: tensor<4x8xf32>, %w: tensor<16x8xf32>) {
  // expected-error @+1 {{'llm.linear' op expected result shape [4, 16], found [4, 8]}}
  %0 = llm.linear %x, %w : tensor<4x8xf32>, tensor<16x8xf32> -> tensor<4x8xf32>
  return
}

// -----

func.func @linear_result_element_type(%x: tensor<4x8xf32>, %w: tensor<16x8xf32>) {
  // expected-error @+1 {{'llm.linear' op expected result element type 'f32' (as the input), found 'bf16'}}
  %0 = llm.linear %x, %w : tensor<4x8xf32>, tensor<16x8xf32> -> tensor<4x16xbf16>
  return
}

// -----

//===----------------------------------------------------------------------===//
// llm.matmul
//===----------------------------------------------------------------------===//

func.func @matmul_lhs_rank(%a: tensor<8xf32>, %b: tensor<8x4xf32>) {
  // expected-error @+1 {{'llm.matmul' op expected lhs of rank >= 2, found rank 1}}
  %0 = llm.matmul %a, %b : tensor<8xf32>, tensor<8x4xf32> -> tensor<4xf32>
  return
}

// -----

func.func @matmul_rhs_rank(%a: tensor<2x4x8xf32>, %b: tensor<8x4xf32>) {
  // expected-error @+1 {{'llm.matmul' op expected rhs of rank 3 (as lhs), found rank 2}}
  %0 = llm.matmul %a, %b : tensor<2x4x8xf32>, tensor<8x4xf32> -> tensor<2x4x4xf32>
  return
}

// -----

func.func @matmul_batch(%a: tensor<2x4x8xf32>, %b: tensor<3x8x4xf32>) {
  // expected-error @+1 {{'llm.matmul' op expected equal batch dimensions, found [2] and [3]}}
  %0 = llm.matmul %a, %b : tensor<2x4x8xf32>, tensor<3x8x4xf32> -> tensor<2x4x4xf32>
  return
}

// -----

func.func @matmul_contraction(%a: tensor<4x8xf32>, %b: tensor<4x8xf32>) {
  // expected-error @+1 {{'llm.matmul' op expected contraction dimension of rhs to be 8 (lhs columns), found 4}}
  %0 = llm.matmul %a, %b : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x8xf32>
  return
}

// -----

func.func @matmul_contraction_transposed(%a: tensor<1x4x8xf32>, %b: tensor<1x8x4xf32>) {
  // expected-error @+1 {{'llm.matmul' op expected contraction dimension of rhs to be 8 (lhs columns), found 4}}
  %0 = llm.matmul %a, %b {transpose_rhs} : tensor<1x4x8xf32>, tensor<1x8x4xf32> -> tensor<1x4x8xf32>
  return
}

// -----

func.func @matmul_result_shape(%a: tensor<4x8xf32>, %b: tensor<8x4xf32>) {
  // expected-error @+1 {{'llm.matmul' op expected result shape [4, 4], found [4, 5]}}
  %0 = llm.matmul %a, %b : tensor<4x8xf32>, tensor<8x4xf32> -> tensor<4x5xf32>
  return
}

// -----

func.func @matmul_result_element_type(%a: tensor<4x8xf16>, %b: tensor<8x4xf16>) {
  // expected-error @+1 {{'llm.matmul' op expected result element type 'f16' (as lhs), found 'f32'}}
  %0 = llm.matmul %a, %b : tensor<4x8xf16>, tensor<8x4xf16> -> tensor<4x4xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// llm.layer_norm and llm.rms_norm
//===----------------------------------------------------------------------===//

func.func @layer_norm_input_rank(%x: tensor<f32>, %g: tensor<1xf32>) {
  // expected-error @+1 {{'llm.layer_norm' op expected input of rank >= 1, found rank 0}}
  %0 = llm.layer_norm %x, %g : tensor<f32>, tensor<1xf32>
  return
}

// -----

func.func @layer_norm_weight_shape(%x: tensor<4x8xf32>, %g: tensor<16xf32>) {
  // expected-error @+1 {{'llm.layer_norm' op expected weight shape [8], found [16]}}
  %0 = llm.layer_norm %x, %g : tensor<4x8xf32>, tensor<16xf32>
  return
}

// -----

func.func @layer_norm_bias_shape(%x: tensor<4x8xf32>, %g: tensor<8xf32>, %b: tensor<1x8xf32>) {
  // expected-error @+1 {{'llm.layer_norm' op expected bias shape [8], found [1, 8]}}
  %0 = llm.layer_norm %x, %g, %b : tensor<4x8xf32>, tensor<8xf32>, tensor<1x8xf32>
  return
}

// -----

func.func @layer_norm_epsilon(%x: tensor<4x8xf32>, %g: tensor<8xf32>) {
  // expected-error @+1 {{'llm.layer_norm' op expected epsilon >= 0, found -1.000000e-05}}
  %0 = llm.layer_norm %x, %g {epsilon = -1.0e-05} : tensor<4x8xf32>, tensor<8xf32>
  return
}

// -----

func.func @layer_norm_result_type(%x: tensor<4x8xf32>, %g: tensor<8xf32>) {
  // expected-error @+1 {{'llm.layer_norm' op failed to verify that all of {input, result} have same type}}
  %0 = "llm.layer_norm"(%x, %g) <{epsilon = 1.0e-05 : f64, operandSegmentSizes = array<i32: 1, 1, 0>}>
      : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf16>
  return
}

// -----

func.func @rms_norm_input_rank(%x: tensor<bf16>, %g: tensor<1xbf16>) {
  // expected-error @+1 {{'llm.rms_norm' op expected input of rank >= 1, found rank 0}}
  %0 = llm.rms_norm %x, %g : tensor<bf16>, tensor<1xbf16>
  return
}

// -----

func.func @rms_norm_weight_shape(%x: tensor<1x16x256xf32>, %g: tensor<512xf32>) {
  // expected-error @+1 {{'llm.rms_norm' op expected weight shape [256], found [512]}}
  %0 = llm.rms_norm %x, %g : tensor<1x16x256xf32>, tensor<512xf32>
  return
}

// -----

// A smaller weight must divide the last dimension into groups.
func.func @rms_norm_weight_groups(%x: tensor<1x16x256xf32>, %g: tensor<48xf32>) {
  // expected-error @+1 {{'llm.rms_norm' op expected a weight of 256 elements (the last dimension) or of a divisor of it (one per group), found 48}}
  %0 = llm.rms_norm %x, %g : tensor<1x16x256xf32>, tensor<48xf32>
  return
}

// -----

func.func @rms_norm_epsilon(%x: tensor<1x16x256xf32>, %g: tensor<256xf32>) {
  // expected-error @+1 {{'llm.rms_norm' op expected epsilon >= 0, found -1.000000e+00}}
  %0 = llm.rms_norm %x, %g {epsilon = -1.0} : tensor<1x16x256xf32>, tensor<256xf32>
  return
}

// -----

func.func @rms_norm_result_type(%x: tensor<1x16x256xf32>, %g: tensor<256xf32>) {
  // expected-error @+1 {{'llm.rms_norm' op failed to verify that all of {input, result} have same type}}
  %0 = "llm.rms_norm"(%x, %g) : (tensor<1x16x256xf32>, tensor<256xf32>) -> tensor<1x16x128xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// Activations and softmax
//===----------------------------------------------------------------------===//

func.func @gelu_result_type(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'llm.gelu' op requires the same type for all operands and results}}
  %0 = "llm.gelu"(%x) : (tensor<4x8xf32>) -> tensor<4x8xf16>
  return
}

// -----

func.func @silu_result_type(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'llm.silu' op requires the same type for all operands and results}}
  %0 = "llm.silu"(%x) : (tensor<4x8xf32>) -> tensor<4x8xbf16>
  return
}

// -----

func.func @silu_result_shape(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'llm.silu' op all non-scalar operands/results must have the same shape and base type}}
  %0 = "llm.silu"(%x) : (tensor<4x8xf32>) -> tensor<8x4xf32>
  return
}

// -----

func.func @gelu_result_dynamic(%x: tensor<4x8xf32>) {
  // expected-error @+2 {{'llm.gelu' op inferred type(s) 'tensor<4x8xf32>' are incompatible with return type(s) of operation 'tensor<4x?xf32>'}}
  // expected-error @+1 {{'llm.gelu' op failed to infer returned types}}
  %0 = "llm.gelu"(%x) : (tensor<4x8xf32>) -> tensor<4x?xf32>
  return
}

// -----

func.func @glu_operand_types(%gate: tensor<4x8xf32>, %up: tensor<4x8xbf16>) {
  // expected-error @+1 {{'llm.glu' op requires the same type for all operands and results}}
  %0 = "llm.glu"(%gate, %up) : (tensor<4x8xf32>, tensor<4x8xbf16>) -> tensor<4x8xf32>
  return
}

// -----

func.func @softmax_result_type(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'llm.softmax' op requires the same type for all operands and results}}
  %0 = "llm.softmax"(%x) <{axis = 1 : i64}> : (tensor<4x8xf32>) -> tensor<4x8xf16>
  return
}

// -----

func.func @softmax_axis_too_large(%x: tensor<1x8x16x16xf32>) {
  // expected-error @+1 {{'llm.softmax' op expected axis in [0, 4), found 4}}
  %0 = llm.softmax %x {axis = 4} : tensor<1x8x16x16xf32>
  return
}

// -----

func.func @softmax_axis_negative(%x: tensor<16x16xf32>) {
  // expected-error @+1 {{'llm.softmax' op expected axis in [0, 2), found -1}}
  %0 = llm.softmax %x {axis = -1} : tensor<16x16xf32>
  return
}

// -----

func.func @softmax_axis_type(%x: tensor<16x16xf32>) {
  // expected-error @+1 {{'llm.softmax' op attribute 'axis' failed to satisfy constraint: 64-bit signless integer attribute}}
  %0 = llm.softmax %x {axis = 1 : i32} : tensor<16x16xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// llm.rope
//===----------------------------------------------------------------------===//

func.func @rope_input_rank(%q: tensor<512xf32>, %pos: tensor<1xi64>) {
  // expected-error @+1 {{'llm.rope' op expected input of rank >= 2 ([..., seq, num_heads * head_dim]), found rank 1}}
  %0 = llm.rope %q, %pos {num_heads = 8} : tensor<512xf32>, tensor<1xi64>
  return
}

// -----

func.func @rope_num_heads(%q: tensor<1x8x512xf32>, %pos: tensor<1x8xi64>) {
  // expected-error @+1 {{'llm.rope' op expected num_heads > 0, found 0}}
  %0 = llm.rope %q, %pos {num_heads = 0} : tensor<1x8x512xf32>, tensor<1x8xi64>
  return
}

// -----

func.func @rope_dynamic_hidden(%q: tensor<1x8x?xf32>, %pos: tensor<1x8xi64>) {
  // expected-error @+1 {{'llm.rope' op expected a static hidden size dimension}}
  %0 = llm.rope %q, %pos {num_heads = 8} : tensor<1x8x?xf32>, tensor<1x8xi64>
  return
}

// -----

func.func @rope_heads_divide(%q: tensor<1x8x512xf32>, %pos: tensor<1x8xi64>) {
  // expected-error @+1 {{'llm.rope' op expected num_heads 3 to divide the hidden size 512, found remainder 2}}
  %0 = llm.rope %q, %pos {num_heads = 3} : tensor<1x8x512xf32>, tensor<1x8xi64>
  return
}

// -----

func.func @rope_rotary_dim_odd(%q: tensor<1x8x512xf32>, %pos: tensor<1x8xi64>) {
  // expected-error @+1 {{'llm.rope' op expected a positive even rotary_dim, found 3}}
  %0 = llm.rope %q, %pos {num_heads = 8, rotary_dim = 3} : tensor<1x8x512xf32>, tensor<1x8xi64>
  return
}

// -----

func.func @rope_rotary_dim_negative(%q: tensor<1x8x512xf32>, %pos: tensor<1x8xi64>) {
  // expected-error @+1 {{'llm.rope' op expected a positive even rotary_dim, found -2}}
  %0 = llm.rope %q, %pos {num_heads = 8, rotary_dim = -2} : tensor<1x8x512xf32>, tensor<1x8xi64>
  return
}

// -----

func.func @rope_rotary_dim_too_large(%q: tensor<1x8x512xf32>, %pos: tensor<1x8xi64>) {
  // expected-error @+1 {{'llm.rope' op expected rotary_dim <= head_dim 64, found 128}}
  %0 = llm.rope %q, %pos {num_heads = 8, rotary_dim = 128} : tensor<1x8x512xf32>, tensor<1x8xi64>
  return
}

// -----

func.func @rope_odd_head_dim(%q: tensor<1x8x40xf32>, %pos: tensor<1x8xi64>) {
  // expected-error @+1 {{'llm.rope' op expected an even head_dim for full rotary, found 5}}
  %0 = llm.rope %q, %pos {num_heads = 8} : tensor<1x8x40xf32>, tensor<1x8xi64>
  return
}

// -----

func.func @rope_theta(%q: tensor<1x8x512xf32>, %pos: tensor<1x8xi64>) {
  // expected-error @+1 {{'llm.rope' op expected theta > 0, found 0.000000e+00}}
  %0 = llm.rope %q, %pos {num_heads = 8, theta = 0.0} : tensor<1x8x512xf32>, tensor<1x8xi64>
  return
}

// -----

func.func @rope_positions_shape(%q: tensor<1x8x512xf32>, %pos: tensor<8xi64>) {
  // expected-error @+1 {{'llm.rope' op expected positions shape [1, 8], found [8]}}
  %0 = llm.rope %q, %pos {num_heads = 8} : tensor<1x8x512xf32>, tensor<8xi64>
  return
}

// -----

func.func @rope_result_type(%q: tensor<1x8x512xf32>, %pos: tensor<1x8xi64>) {
  // expected-error @+1 {{'llm.rope' op failed to verify that all of {input, result} have same type}}
  %0 = "llm.rope"(%q, %pos) <{num_heads = 8 : i64}>
      : (tensor<1x8x512xf32>, tensor<1x8xi64>) -> tensor<1x8x512xbf16>
  return
}

// -----

//===----------------------------------------------------------------------===//
// llm.alibi and llm.relative_position_bias
//===----------------------------------------------------------------------===//

func.func @alibi_rank() {
  // expected-error @+1 {{'llm.alibi' op expected result of rank 3 ([heads, q_len, kv_len]), found rank 2}}
  %0 = llm.alibi : tensor<16x16xf32>
  return
}

// -----

func.func @alibi_max_bias() {
  // expected-error @+1 {{'llm.alibi' op expected max_bias > 0, found -8.000000e+00}}
  %0 = llm.alibi {max_bias = -8.0} : tensor<12x16x16xf32>
  return
}

// -----

func.func @alibi_q_len() {
  // expected-error @+1 {{'llm.alibi' op expected q_len <= kv_len, found q_len = 16, kv_len = 8}}
  %0 = llm.alibi : tensor<12x16x8xf32>
  return
}

// -----

func.func @relative_position_bias_num_buckets(%table: tensor<32x8xf32>) {
  // expected-error @+1 {{'llm.relative_position_bias' op expected num_buckets > 0, found 0}}
  %0 = llm.relative_position_bias %table {num_buckets = 0, max_distance = 128}
      : tensor<32x8xf32> -> tensor<8x16x16xf32>
  return
}

// -----

func.func @relative_position_bias_odd_buckets(%table: tensor<31x8xf32>) {
  // expected-error @+1 {{'llm.relative_position_bias' op expected an even num_buckets for bidirectional buckets, found 31}}
  %0 = llm.relative_position_bias %table {num_buckets = 31, max_distance = 128, bidirectional}
      : tensor<31x8xf32> -> tensor<8x16x16xf32>
  return
}

// -----

func.func @relative_position_bias_max_distance_bidirectional(%table: tensor<32x8xf32>) {
  // expected-error @+1 {{'llm.relative_position_bias' op expected max_distance > 8 (the exact-distance buckets), found 8}}
  %0 = llm.relative_position_bias %table {num_buckets = 32, max_distance = 8, bidirectional}
      : tensor<32x8xf32> -> tensor<8x16x16xf32>
  return
}

// -----

func.func @relative_position_bias_max_distance(%table: tensor<32x8xf32>) {
  // expected-error @+1 {{'llm.relative_position_bias' op expected max_distance > 16 (the exact-distance buckets), found 12}}
  %0 = llm.relative_position_bias %table {num_buckets = 32, max_distance = 12}
      : tensor<32x8xf32> -> tensor<8x16x16xf32>
  return
}

// -----

func.func @relative_position_bias_table_rank(%table: tensor<32xf32>) {
  // expected-error @+1 {{'llm.relative_position_bias' op expected table of rank 2 ([num_buckets, heads]), found rank 1}}
  %0 = llm.relative_position_bias %table {num_buckets = 32, max_distance = 128}
      : tensor<32xf32> -> tensor<8x16x16xf32>
  return
}

// -----

func.func @relative_position_bias_result_rank(%table: tensor<32x8xf32>) {
  // expected-error @+1 {{'llm.relative_position_bias' op expected result of rank 3 ([heads, q_len, kv_len]), found rank 4}}
  %0 = llm.relative_position_bias %table {num_buckets = 32, max_distance = 128}
      : tensor<32x8xf32> -> tensor<1x8x16x16xf32>
  return
}

// -----

func.func @relative_position_bias_table_shape(%table: tensor<32x8xf32>) {
  // expected-error @+1 {{'llm.relative_position_bias' op expected table shape [32, 4], found [32, 8]}}
  %0 = llm.relative_position_bias %table {num_buckets = 32, max_distance = 128}
      : tensor<32x8xf32> -> tensor<4x16x16xf32>
  return
}

// -----

func.func @relative_position_bias_buckets_mismatch(%table: tensor<16x8xf32>) {
  // expected-error @+1 {{'llm.relative_position_bias' op expected table shape [32, 8], found [16, 8]}}
  %0 = llm.relative_position_bias %table {num_buckets = 32, max_distance = 128}
      : tensor<16x8xf32> -> tensor<8x16x16xf32>
  return
}

// -----

func.func @relative_position_bias_element_type(%table: tensor<32x8xf32>) {
  // expected-error @+1 {{'llm.relative_position_bias' op expected result element type 'f32' (as the table), found 'f16'}}
  %0 = llm.relative_position_bias %table {num_buckets = 32, max_distance = 128}
      : tensor<32x8xf32> -> tensor<8x16x16xf16>
  return
}

// -----

//===----------------------------------------------------------------------===//
// llm.attention
//===----------------------------------------------------------------------===//

func.func @attention_query_rank(
    %q: tensor<1x8x16x64xf32>, %k: tensor<1x16x512xf32>, %v: tensor<1x16x512xf32>) {
  // expected-error @+1 {{'llm.attention' op expected query of rank 3 ([batch, seq, heads * head_dim]), found rank 4}}
  %0 = llm.attention %q, %k, %v {num_heads = 8, num_kv_heads = 8, mask = #llm.mask<causal>}
      : tensor<1x8x16x64xf32>, tensor<1x16x512xf32>, tensor<1x16x512xf32> -> tensor<1x16x512xf32>
  return
}

// -----

func.func @attention_key_rank(
    %q: tensor<1x16x512xf32>, %k: tensor<16x512xf32>, %v: tensor<1x16x512xf32>) {
  // expected-error @+1 {{'llm.attention' op expected key of rank 3 ([batch, seq, heads * head_dim]), found rank 2}}
  %0 = llm.attention %q, %k, %v {num_heads = 8, num_kv_heads = 8, mask = #llm.mask<causal>}
      : tensor<1x16x512xf32>, tensor<16x512xf32>, tensor<1x16x512xf32> -> tensor<1x16x512xf32>
  return
}

// -----

func.func @attention_value_rank(
    %q: tensor<1x16x512xf32>, %k: tensor<1x16x512xf32>, %v: tensor<1x1x16x512xf32>) {
  // expected-error @+1 {{'llm.attention' op expected value of rank 3 ([batch, seq, heads * head_dim]), found rank 4}}
  %0 = llm.attention %q, %k, %v {num_heads = 8, num_kv_heads = 8, mask = #llm.mask<causal>}
      : tensor<1x16x512xf32>, tensor<1x16x512xf32>, tensor<1x1x16x512xf32> -> tensor<1x16x512xf32>
  return
}

// -----

func.func @attention_num_heads(
    %q: tensor<1x16x512xf32>, %k: tensor<1x16x512xf32>, %v: tensor<1x16x512xf32>) {
  // expected-error @+1 {{'llm.attention' op expected num_heads > 0, found 0}}
  %0 = llm.attention %q, %k, %v {num_heads = 0, num_kv_heads = 8, mask = #llm.mask<causal>}
      : tensor<1x16x512xf32>, tensor<1x16x512xf32>, tensor<1x16x512xf32> -> tensor<1x16x512xf32>
  return
}

// -----

func.func @attention_dynamic_query_features(
    %q: tensor<1x16x?xf32>, %k: tensor<1x16x512xf32>, %v: tensor<1x16x512xf32>) {
  // expected-error @+1 {{'llm.attention' op expected a static query features dimension}}
  %0 = llm.attention %q, %k, %v {num_heads = 8, num_kv_heads = 8, mask = #llm.mask<causal>}
      : tensor<1x16x?xf32>, tensor<1x16x512xf32>, tensor<1x16x512xf32> -> tensor<1x16x512xf32>
  return
}

// -----

func.func @attention_heads_divide_query(
    %q: tensor<1x16x512xf32>, %k: tensor<1x16x512xf32>, %v: tensor<1x16x512xf32>) {
  // expected-error @+1 {{'llm.attention' op expected num_heads 3 to divide the query features 512, found remainder 2}}
  %0 = llm.attention %q, %k, %v {num_heads = 3, num_kv_heads = 3, mask = #llm.mask<causal>}
      : tensor<1x16x512xf32>, tensor<1x16x512xf32>, tensor<1x16x512xf32> -> tensor<1x16x512xf32>
  return
}

// -----

func.func @attention_num_kv_heads(
    %q: tensor<1x16x512xf32>, %k: tensor<1x16x512xf32>, %v: tensor<1x16x512xf32>) {
  // expected-error @+1 {{'llm.attention' op expected num_kv_heads > 0, found -2}}
  %0 = llm.attention %q, %k, %v {num_heads = 8, num_kv_heads = -2, mask = #llm.mask<causal>}
      : tensor<1x16x512xf32>, tensor<1x16x512xf32>, tensor<1x16x512xf32> -> tensor<1x16x512xf32>
  return
}

// -----

func.func @attention_kv_heads_divide(
    %q: tensor<1x16x512xf32>, %k: tensor<1x16x192xf32>, %v: tensor<1x16x192xf32>) {
  // expected-error @+1 {{'llm.attention' op expected num_kv_heads 3 to divide num_heads 8 (grouped-query attention), found remainder 2}}
  %0 = llm.attention %q, %k, %v {num_heads = 8, num_kv_heads = 3, mask = #llm.mask<causal>}
      : tensor<1x16x512xf32>, tensor<1x16x192xf32>, tensor<1x16x192xf32> -> tensor<1x16x512xf32>
  return
}

// -----

func.func @attention_key_shape(
    %q: tensor<1x16x512xf32>, %k: tensor<1x16x256xf32>, %v: tensor<1x16x128xf32>) {
  // expected-error @+1 {{'llm.attention' op expected key shape [1, ?, 128], found [1, 16, 256]}}
  %0 = llm.attention %q, %k, %v {num_heads = 8, num_kv_heads = 2, mask = #llm.mask<causal>}
      : tensor<1x16x512xf32>, tensor<1x16x256xf32>, tensor<1x16x128xf32> -> tensor<1x16x512xf32>
  return
}

// -----

func.func @attention_key_batch(
    %q: tensor<2x16x512xf32>, %k: tensor<1x16x128xf32>, %v: tensor<1x16x128xf32>) {
  // expected-error @+1 {{'llm.attention' op expected key shape [2, ?, 128], found [1, 16, 128]}}
  %0 = llm.attention %q, %k, %v {num_heads = 8, num_kv_heads = 2, mask = #llm.mask<causal>}
      : tensor<2x16x512xf32>, tensor<1x16x128xf32>, tensor<1x16x128xf32> -> tensor<2x16x512xf32>
  return
}

// -----

func.func @attention_dynamic_value_features(
    %q: tensor<1x16x512xf32>, %k: tensor<1x16x128xf32>, %v: tensor<1x16x?xf32>) {
  // expected-error @+1 {{'llm.attention' op expected a static value features dimension}}
  %0 = llm.attention %q, %k, %v {num_heads = 8, num_kv_heads = 2, mask = #llm.mask<causal>}
      : tensor<1x16x512xf32>, tensor<1x16x128xf32>, tensor<1x16x?xf32> -> tensor<1x16x512xf32>
  return
}

// -----

func.func @attention_kv_heads_divide_value(
    %q: tensor<1x16x512xf32>, %k: tensor<1x16x128xf32>, %v: tensor<1x16x129xf32>) {
  // expected-error @+1 {{'llm.attention' op expected num_kv_heads 2 to divide the value features 129, found remainder 1}}
  %0 = llm.attention %q, %k, %v {num_heads = 8, num_kv_heads = 2, mask = #llm.mask<causal>}
      : tensor<1x16x512xf32>, tensor<1x16x128xf32>, tensor<1x16x129xf32> -> tensor<1x16x512xf32>
  return
}

// -----

func.func @attention_value_shape(
    %q: tensor<1x16x512xf32>, %k: tensor<1x16x128xf32>, %v: tensor<1x8x128xf32>) {
  // expected-error @+1 {{'llm.attention' op expected value shape [1, 16, 128] (batch and kv_len of key), found [1, 8, 128]}}
  %0 = llm.attention %q, %k, %v {num_heads = 8, num_kv_heads = 2, mask = #llm.mask<causal>}
      : tensor<1x16x512xf32>, tensor<1x16x128xf32>, tensor<1x8x128xf32> -> tensor<1x16x512xf32>
  return
}

// -----

func.func @attention_result_shape(
    %q: tensor<1x16x512xf32>, %k: tensor<1x16x128xf32>, %v: tensor<1x16x64xf32>) {
  // expected-error @+1 {{'llm.attention' op expected result shape [1, 16, 256], found [1, 16, 512]}}
  %0 = llm.attention %q, %k, %v {num_heads = 8, num_kv_heads = 2, mask = #llm.mask<causal>}
      : tensor<1x16x512xf32>, tensor<1x16x128xf32>, tensor<1x16x64xf32> -> tensor<1x16x512xf32>
  return
}

// -----

func.func @attention_result_element_type(
    %q: tensor<1x16x512xf16>, %k: tensor<1x16x128xf16>, %v: tensor<1x16x128xf16>) {
  // expected-error @+1 {{'llm.attention' op expected result element type 'f16' (as the query), found 'f32'}}
  %0 = llm.attention %q, %k, %v {num_heads = 8, num_kv_heads = 2, mask = #llm.mask<causal>}
      : tensor<1x16x512xf16>, tensor<1x16x128xf16>, tensor<1x16x128xf16> -> tensor<1x16x512xf32>
  return
}

// -----

func.func @attention_key_element_type(
    %q: tensor<1x16x512xf32>, %k: tensor<1x16x128xbf16>, %v: tensor<1x16x128xf32>) {
  // expected-error @+1 {{'llm.attention' op expected key element type 'f32' (as the query), found 'bf16'}}
  %0 = llm.attention %q, %k, %v {num_heads = 8, num_kv_heads = 2, mask = #llm.mask<causal>}
      : tensor<1x16x512xf32>, tensor<1x16x128xbf16>, tensor<1x16x128xf32> -> tensor<1x16x512xf32>
  return
}

// -----

func.func @attention_value_element_type(
    %q: tensor<1x16x512xf32>, %k: tensor<1x16x128xf32>, %v: tensor<1x16x128xf16>) {
  // expected-error @+1 {{'llm.attention' op expected value element type 'f32' (as the query), found 'f16'}}
  %0 = llm.attention %q, %k, %v {num_heads = 8, num_kv_heads = 2, mask = #llm.mask<causal>}
      : tensor<1x16x512xf32>, tensor<1x16x128xf32>, tensor<1x16x128xf16> -> tensor<1x16x512xf32>
  return
}

// -----

func.func @attention_missing_window(
    %q: tensor<1x16x512xf32>, %k: tensor<1x16x128xf32>, %v: tensor<1x16x128xf32>) {
  // expected-error @+1 {{'llm.attention' op expected a 'window' attribute for mask 'sliding_window'}}
  %0 = llm.attention %q, %k, %v {num_heads = 8, num_kv_heads = 2, mask = #llm.mask<sliding_window>}
      : tensor<1x16x512xf32>, tensor<1x16x128xf32>, tensor<1x16x128xf32> -> tensor<1x16x512xf32>
  return
}

// -----

func.func @attention_window(
    %q: tensor<1x16x512xf32>, %k: tensor<1x16x128xf32>, %v: tensor<1x16x128xf32>) {
  // expected-error @+1 {{'llm.attention' op expected window > 0, found 0}}
  %0 = llm.attention %q, %k, %v {num_heads = 8, num_kv_heads = 2, mask = #llm.mask<sliding_window>, window = 0}
      : tensor<1x16x512xf32>, tensor<1x16x128xf32>, tensor<1x16x128xf32> -> tensor<1x16x512xf32>
  return
}

// -----

func.func @attention_window_for_causal(
    %q: tensor<1x16x512xf32>, %k: tensor<1x16x128xf32>, %v: tensor<1x16x128xf32>) {
  // expected-error @+1 {{'llm.attention' op expected no 'window' attribute for mask 'causal', found window = 8}}
  %0 = llm.attention %q, %k, %v {num_heads = 8, num_kv_heads = 2, mask = #llm.mask<causal>, window = 8}
      : tensor<1x16x512xf32>, tensor<1x16x128xf32>, tensor<1x16x128xf32> -> tensor<1x16x512xf32>
  return
}

// -----

func.func @attention_window_for_bidirectional(
    %q: tensor<1x16x512xf32>, %k: tensor<1x16x128xf32>, %v: tensor<1x16x128xf32>) {
  // expected-error @+1 {{'llm.attention' op expected no 'window' attribute for mask 'bidirectional', found window = 4096}}
  %0 = llm.attention %q, %k, %v {num_heads = 8, num_kv_heads = 2, mask = #llm.mask<bidirectional>, window = 4096}
      : tensor<1x16x512xf32>, tensor<1x16x128xf32>, tensor<1x16x128xf32> -> tensor<1x16x512xf32>
  return
}

// -----

func.func @attention_scale(
    %q: tensor<1x16x512xf32>, %k: tensor<1x16x128xf32>, %v: tensor<1x16x128xf32>) {
  // expected-error @+1 {{'llm.attention' op expected scale > 0, found -1.250000e-01}}
  %0 = llm.attention %q, %k, %v {num_heads = 8, num_kv_heads = 2, mask = #llm.mask<causal>, scale = -0.125}
      : tensor<1x16x512xf32>, tensor<1x16x128xf32>, tensor<1x16x128xf32> -> tensor<1x16x512xf32>
  return
}

// -----

func.func @attention_causal_q_len(
    %q: tensor<1x16x512xf32>, %k: tensor<1x8x128xf32>, %v: tensor<1x8x128xf32>) {
  // expected-error @+1 {{'llm.attention' op expected q_len <= kv_len for mask 'causal', found q_len = 16, kv_len = 8}}
  %0 = llm.attention %q, %k, %v {num_heads = 8, num_kv_heads = 2, mask = #llm.mask<causal>}
      : tensor<1x16x512xf32>, tensor<1x8x128xf32>, tensor<1x8x128xf32> -> tensor<1x16x512xf32>
  return
}

// -----

func.func @attention_sliding_window_q_len(
    %q: tensor<1x16x512xf32>, %k: tensor<1x8x128xf32>, %v: tensor<1x8x128xf32>) {
  // expected-error @+1 {{'llm.attention' op expected q_len <= kv_len for mask 'sliding_window', found q_len = 16, kv_len = 8}}
  %0 = llm.attention %q, %k, %v {num_heads = 8, num_kv_heads = 2, mask = #llm.mask<sliding_window>, window = 4}
      : tensor<1x16x512xf32>, tensor<1x8x128xf32>, tensor<1x8x128xf32> -> tensor<1x16x512xf32>
  return
}

// -----

func.func @attention_padding_without_key_padding(
    %q: tensor<1x16x512xf32>, %k: tensor<1x16x128xf32>, %v: tensor<1x16x128xf32>) {
  // expected-error @+1 {{'llm.attention' op expected a 'key_padding' operand for mask 'padding'}}
  %0 = llm.attention %q, %k, %v {num_heads = 8, num_kv_heads = 2, mask = #llm.mask<padding>}
      : tensor<1x16x512xf32>, tensor<1x16x128xf32>, tensor<1x16x128xf32> -> tensor<1x16x512xf32>
  return
}

// -----

func.func @attention_key_padding_shape(
    %q: tensor<1x16x512xf32>, %k: tensor<1x16x128xf32>, %v: tensor<1x16x128xf32>,
                                       %pad: tensor<1x8xi1>) {
  // expected-error @+1 {{'llm.attention' op expected key_padding shape [1, 16], found [1, 8]}}
  %0 = llm.attention %q, %k, %v key_padding(%pad : tensor<1x8xi1>)
          {num_heads = 8, num_kv_heads = 2, mask = #llm.mask<padding>}
      : tensor<1x16x512xf32>, tensor<1x16x128xf32>, tensor<1x16x128xf32> -> tensor<1x16x512xf32>
  return
}

// -----

func.func @attention_bias_heads(
    %q: tensor<1x16x512xf32>, %k: tensor<1x16x128xf32>, %v: tensor<1x16x128xf32>,
                                %bias: tensor<4x16x16xf32>) {
  // expected-error @+1 {{'llm.attention' op expected bias broadcastable to [batch, heads, q_len, kv_len] = [1, 8, 16, 16], found [4, 16, 16]}}
  %0 = llm.attention %q, %k, %v bias(%bias : tensor<4x16x16xf32>)
          {num_heads = 8, num_kv_heads = 2, mask = #llm.mask<causal>}
      : tensor<1x16x512xf32>, tensor<1x16x128xf32>, tensor<1x16x128xf32> -> tensor<1x16x512xf32>
  return
}

// -----

func.func @attention_bias_4d(
    %q: tensor<2x16x512xf32>, %k: tensor<2x32x128xf32>, %v: tensor<2x32x128xf32>,
                             %bias: tensor<3x8x16x32xf32>) {
  // expected-error @+1 {{'llm.attention' op expected bias broadcastable to [batch, heads, q_len, kv_len] = [2, 8, 16, 32], found [3, 8, 16, 32]}}
  %0 = llm.attention %q, %k, %v bias(%bias : tensor<3x8x16x32xf32>)
          {num_heads = 8, num_kv_heads = 2, mask = #llm.mask<causal>}
      : tensor<2x16x512xf32>, tensor<2x32x128xf32>, tensor<2x32x128xf32> -> tensor<2x16x512xf32>
  return
}

// -----

func.func @attention_bias_rank(
    %q: tensor<1x16x512xf32>, %k: tensor<1x16x128xf32>, %v: tensor<1x16x128xf32>,
                               %bias: tensor<16x16xf32>) {
  // expected-error @+1 {{'llm.attention' op expected bias broadcastable to [batch, heads, q_len, kv_len] = [1, 8, 16, 16], found [16, 16]}}
  %0 = llm.attention %q, %k, %v bias(%bias : tensor<16x16xf32>)
          {num_heads = 8, num_kv_heads = 2, mask = #llm.mask<bidirectional>}
      : tensor<1x16x512xf32>, tensor<1x16x128xf32>, tensor<1x16x128xf32> -> tensor<1x16x512xf32>
  return
}

// -----

func.func @attention_key_padding_type(
    %q: tensor<1x16x512xf32>, %k: tensor<1x16x128xf32>, %v: tensor<1x16x128xf32>,
                                      %pad: tensor<1x16xi8>) {
  // expected-error @+1 {{'llm.attention' op operand #3 must be ranked tensor of 1-bit signless integer values, but got 'tensor<1x16xi8>'}}
  %0 = llm.attention %q, %k, %v key_padding(%pad : tensor<1x16xi8>)
          {num_heads = 8, num_kv_heads = 2, mask = #llm.mask<padding>}
      : tensor<1x16x512xf32>, tensor<1x16x128xf32>, tensor<1x16x128xf32> -> tensor<1x16x512xf32>
  return
}

// -----

func.func @attention_missing_mask(
    %q: tensor<1x16x512xf32>, %k: tensor<1x16x128xf32>, %v: tensor<1x16x128xf32>) {
  // expected-error @+1 {{'llm.attention' op requires attribute 'mask'}}
  %0 = llm.attention %q, %k, %v {num_heads = 8, num_kv_heads = 2}
      : tensor<1x16x512xf32>, tensor<1x16x128xf32>, tensor<1x16x128xf32> -> tensor<1x16x512xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// llm.flash_attention
//===----------------------------------------------------------------------===//

func.func @flash_attention_query_rank(
    %q: tensor<16x512xf32>, %k: tensor<1x16x512xf32>, %v: tensor<1x16x512xf32>) {
  // expected-error @+1 {{'llm.flash_attention' op expected query of rank 3 ([batch, seq, heads * head_dim]), found rank 2}}
  %0 = llm.flash_attention %q, %k, %v {num_heads = 8, num_kv_heads = 8, scale = 0.125, mask = #llm.mask<causal>}
      : tensor<16x512xf32>, tensor<1x16x512xf32>, tensor<1x16x512xf32> -> tensor<1x16x512xf32>
  return
}

// -----

func.func @flash_attention_kv_heads_divide(
    %q: tensor<1x16x512xf32>, %k: tensor<1x16x320xf32>, %v: tensor<1x16x320xf32>) {
  // expected-error @+1 {{'llm.flash_attention' op expected num_kv_heads 5 to divide num_heads 8 (grouped-query attention), found remainder 3}}
  %0 = llm.flash_attention %q, %k, %v {num_heads = 8, num_kv_heads = 5, scale = 0.125, mask = #llm.mask<causal>}
      : tensor<1x16x512xf32>, tensor<1x16x320xf32>, tensor<1x16x320xf32> -> tensor<1x16x512xf32>
  return
}

// -----

func.func @flash_attention_scale(
    %q: tensor<1x16x512xf32>, %k: tensor<1x16x512xf32>, %v: tensor<1x16x512xf32>) {
  // expected-error @+1 {{'llm.flash_attention' op expected scale > 0, found 0.000000e+00}}
  %0 = llm.flash_attention %q, %k, %v {num_heads = 8, num_kv_heads = 8, scale = 0.0, mask = #llm.mask<causal>}
      : tensor<1x16x512xf32>, tensor<1x16x512xf32>, tensor<1x16x512xf32> -> tensor<1x16x512xf32>
  return
}

// -----

func.func @flash_attention_missing_scale(
    %q: tensor<1x16x512xf32>, %k: tensor<1x16x512xf32>, %v: tensor<1x16x512xf32>) {
  // expected-error @+1 {{'llm.flash_attention' op requires attribute 'scale'}}
  %0 = llm.flash_attention %q, %k, %v {num_heads = 8, num_kv_heads = 8, mask = #llm.mask<causal>}
      : tensor<1x16x512xf32>, tensor<1x16x512xf32>, tensor<1x16x512xf32> -> tensor<1x16x512xf32>
  return
}

// -----

func.func @flash_attention_window(
    %q: tensor<1x16x512xf32>, %k: tensor<1x16x512xf32>, %v: tensor<1x16x512xf32>) {
  // expected-error @+1 {{'llm.flash_attention' op expected no 'window' attribute for mask 'padding', found window = 16}}
  %0 = llm.flash_attention %q, %k, %v {num_heads = 8, num_kv_heads = 8, scale = 0.125,
                                       mask = #llm.mask<padding>, window = 16}
      : tensor<1x16x512xf32>, tensor<1x16x512xf32>, tensor<1x16x512xf32> -> tensor<1x16x512xf32>
  return
}

// -----

func.func @flash_attention_block_q(
    %q: tensor<1x16x512xf32>, %k: tensor<1x16x512xf32>, %v: tensor<1x16x512xf32>) {
  // expected-error @+1 {{'llm.flash_attention' op expected block_q > 0, found 0}}
  %0 = llm.flash_attention %q, %k, %v {num_heads = 8, num_kv_heads = 8, scale = 0.125,
                                       mask = #llm.mask<causal>, block_q = 0}
      : tensor<1x16x512xf32>, tensor<1x16x512xf32>, tensor<1x16x512xf32> -> tensor<1x16x512xf32>
  return
}

// -----

func.func @flash_attention_block_kv(
    %q: tensor<1x16x512xf32>, %k: tensor<1x16x512xf32>, %v: tensor<1x16x512xf32>) {
  // expected-error @+1 {{'llm.flash_attention' op expected block_kv > 0, found -64}}
  %0 = llm.flash_attention %q, %k, %v {num_heads = 8, num_kv_heads = 8, scale = 0.125,
                                       mask = #llm.mask<causal>, block_kv = -64}
      : tensor<1x16x512xf32>, tensor<1x16x512xf32>, tensor<1x16x512xf32> -> tensor<1x16x512xf32>
  return
}

// -----

func.func @flash_attention_alibi_slopes(
    %q: tensor<1x16x512xf32>, %k: tensor<1x16x512xf32>, %v: tensor<1x16x512xf32>,
                                        %slopes: tensor<4xf32>) {
  // expected-error @+1 {{'llm.flash_attention' op expected alibi_slopes shape [8], found [4]}}
  %0 = llm.flash_attention %q, %k, %v alibi_slopes(%slopes : tensor<4xf32>)
          {num_heads = 8, num_kv_heads = 8, scale = 0.125, mask = #llm.mask<causal>}
      : tensor<1x16x512xf32>, tensor<1x16x512xf32>, tensor<1x16x512xf32> -> tensor<1x16x512xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// llm.paged_attention
//===----------------------------------------------------------------------===//

func.func @paged_attention_layer(
    %q: tensor<4x1x512xf32>,
    %cache: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
    %tables: tensor<4x32xi32>, %lens: tensor<4xi32>) {
  // expected-error @+1 {{'llm.paged_attention' op expected layer in [0, 2), found 2}}
  %0 = llm.paged_attention %q, %cache, %tables, %lens
          {layer = 2, num_heads = 8, scale = 0.125, mask = #llm.mask<causal>}
      : tensor<4x1x512xf32>,
        !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
        tensor<4x32xi32>, tensor<4xi32> -> tensor<4x1x512xf32>
  return
}

// -----

func.func @paged_attention_negative_layer(
    %q: tensor<4x1x512xf32>,
    %cache: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
    %tables: tensor<4x32xi32>, %lens: tensor<4xi32>) {
  // expected-error @+1 {{'llm.paged_attention' op expected layer in [0, 2), found -1}}
  %0 = llm.paged_attention %q, %cache, %tables, %lens
          {layer = -1, num_heads = 8, scale = 0.125, mask = #llm.mask<causal>}
      : tensor<4x1x512xf32>,
        !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
        tensor<4x32xi32>, tensor<4xi32> -> tensor<4x1x512xf32>
  return
}

// -----

func.func @paged_attention_query_rank(
    %q: tensor<4x512xf32>,
    %cache: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
    %tables: tensor<4x32xi32>, %lens: tensor<4xi32>) {
  // expected-error @+1 {{'llm.paged_attention' op expected query of rank 3 ([batch, q_len, heads * head_dim]), found rank 2}}
  %0 = llm.paged_attention %q, %cache, %tables, %lens
          {layer = 0, num_heads = 8, scale = 0.125, mask = #llm.mask<causal>}
      : tensor<4x512xf32>,
        !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
        tensor<4x32xi32>, tensor<4xi32> -> tensor<4x512xf32>
  return
}

// -----

func.func @paged_attention_num_heads(
    %q: tensor<4x1x512xf32>,
    %cache: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
    %tables: tensor<4x32xi32>, %lens: tensor<4xi32>) {
  // expected-error @+1 {{'llm.paged_attention' op expected num_heads > 0, found 0}}
  %0 = llm.paged_attention %q, %cache, %tables, %lens
          {layer = 0, num_heads = 0, scale = 0.125, mask = #llm.mask<causal>}
      : tensor<4x1x512xf32>,
        !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
        tensor<4x32xi32>, tensor<4xi32> -> tensor<4x1x512xf32>
  return
}

// -----

func.func @paged_attention_kv_heads_divide(
    %q: tensor<4x1x192xf32>,
    %cache: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
    %tables: tensor<4x32xi32>, %lens: tensor<4xi32>) {
  // expected-error @+1 {{'llm.paged_attention' op expected the cache's kv_heads 2 to divide num_heads 3, found remainder 1}}
  %0 = llm.paged_attention %q, %cache, %tables, %lens
          {layer = 0, num_heads = 3, scale = 0.125, mask = #llm.mask<causal>}
      : tensor<4x1x192xf32>,
        !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
        tensor<4x32xi32>, tensor<4xi32> -> tensor<4x1x192xf32>
  return
}

// -----

func.func @paged_attention_query_features(
    %q: tensor<4x1x256xf32>,
    %cache: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
    %tables: tensor<4x32xi32>, %lens: tensor<4xi32>) {
  // expected-error @+1 {{'llm.paged_attention' op expected query features 512 (num_heads * the cache's head_dim), found 256}}
  %0 = llm.paged_attention %q, %cache, %tables, %lens
          {layer = 0, num_heads = 8, scale = 0.125, mask = #llm.mask<causal>}
      : tensor<4x1x256xf32>,
        !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
        tensor<4x32xi32>, tensor<4xi32> -> tensor<4x1x256xf32>
  return
}

// -----

func.func @paged_attention_block_tables_rank(
    %q: tensor<4x1x512xf32>,
    %cache: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
    %tables: tensor<128xi32>, %lens: tensor<4xi32>) {
  // expected-error @+1 {{'llm.paged_attention' op expected block_tables of rank 2 ([batch, max_blocks]), found rank 1}}
  %0 = llm.paged_attention %q, %cache, %tables, %lens
          {layer = 0, num_heads = 8, scale = 0.125, mask = #llm.mask<causal>}
      : tensor<4x1x512xf32>,
        !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
        tensor<128xi32>, tensor<4xi32> -> tensor<4x1x512xf32>
  return
}

// -----

func.func @paged_attention_block_tables_shape(
    %q: tensor<4x1x512xf32>,
    %cache: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
    %tables: tensor<2x32xi32>, %lens: tensor<4xi32>) {
  // expected-error @+1 {{'llm.paged_attention' op expected block_tables shape [4, ?], found [2, 32]}}
  %0 = llm.paged_attention %q, %cache, %tables, %lens
          {layer = 0, num_heads = 8, scale = 0.125, mask = #llm.mask<causal>}
      : tensor<4x1x512xf32>,
        !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
        tensor<2x32xi32>, tensor<4xi32> -> tensor<4x1x512xf32>
  return
}

// -----

func.func @paged_attention_context_lens_shape(
    %q: tensor<4x1x512xf32>,
    %cache: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
    %tables: tensor<4x32xi32>, %lens: tensor<4x1xi32>) {
  // expected-error @+1 {{'llm.paged_attention' op expected context_lens shape [4], found [4, 1]}}
  %0 = llm.paged_attention %q, %cache, %tables, %lens
          {layer = 0, num_heads = 8, scale = 0.125, mask = #llm.mask<causal>}
      : tensor<4x1x512xf32>,
        !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
        tensor<4x32xi32>, tensor<4x1xi32> -> tensor<4x1x512xf32>
  return
}

// -----

func.func @paged_attention_buckets_without_table(
    %q: tensor<4x1x512xf32>,
    %cache: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
    %tables: tensor<4x32xi32>, %lens: tensor<4xi32>) {
  // expected-error @+1 {{'llm.paged_attention' op expected num_buckets, max_distance and bidirectional_buckets only with a relative_bias_table, found no table}}
  %0 = llm.paged_attention %q, %cache, %tables, %lens
          {layer = 0, num_heads = 8, scale = 0.125, mask = #llm.mask<causal>, num_buckets = 32, max_distance = 128}
      : tensor<4x1x512xf32>,
        !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
        tensor<4x32xi32>, tensor<4xi32> -> tensor<4x1x512xf32>
  return
}

// -----

func.func @paged_attention_table_without_buckets(
    %q: tensor<4x1x512xf32>,
    %cache: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
    %tables: tensor<4x32xi32>, %lens: tensor<4xi32>, %table: tensor<32x8xf32>) {
  // expected-error @+1 {{'llm.paged_attention' op expected num_buckets and max_distance with a relative_bias_table, found no num_buckets}}
  %0 = llm.paged_attention %q, %cache, %tables, %lens relative_bias_table(%table : tensor<32x8xf32>)
          {layer = 0, num_heads = 8, scale = 0.125, mask = #llm.mask<causal>, max_distance = 128}
      : tensor<4x1x512xf32>,
        !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
        tensor<4x32xi32>, tensor<4xi32> -> tensor<4x1x512xf32>
  return
}

// -----

func.func @paged_attention_table_without_max_distance(
    %q: tensor<4x1x512xf32>,
    %cache: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
    %tables: tensor<4x32xi32>, %lens: tensor<4xi32>, %table: tensor<32x8xf32>) {
  // expected-error @+1 {{'llm.paged_attention' op expected num_buckets and max_distance with a relative_bias_table, found no max_distance}}
  %0 = llm.paged_attention %q, %cache, %tables, %lens relative_bias_table(%table : tensor<32x8xf32>)
          {layer = 0, num_heads = 8, scale = 0.125, mask = #llm.mask<causal>, num_buckets = 32}
      : tensor<4x1x512xf32>,
        !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
        tensor<4x32xi32>, tensor<4xi32> -> tensor<4x1x512xf32>
  return
}

// -----

func.func @paged_attention_table_shape(
    %q: tensor<4x1x512xf32>,
    %cache: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
    %tables: tensor<4x32xi32>, %lens: tensor<4xi32>, %table: tensor<32x4xf32>) {
  // expected-error @+1 {{'llm.paged_attention' op expected relative_bias_table shape [32, 8], found [32, 4]}}
  %0 = llm.paged_attention %q, %cache, %tables, %lens relative_bias_table(%table : tensor<32x4xf32>)
          {layer = 0, num_heads = 8, scale = 0.125, mask = #llm.mask<causal>, num_buckets = 32, max_distance = 128}
      : tensor<4x1x512xf32>,
        !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
        tensor<4x32xi32>, tensor<4xi32> -> tensor<4x1x512xf32>
  return
}

// -----

func.func @paged_attention_table_rank(
    %q: tensor<4x1x512xf32>,
    %cache: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
    %tables: tensor<4x32xi32>, %lens: tensor<4xi32>, %table: tensor<32xf32>) {
  // expected-error @+1 {{'llm.paged_attention' op expected relative_bias_table of rank 2 ([num_buckets, num_heads]), found rank 1}}
  %0 = llm.paged_attention %q, %cache, %tables, %lens relative_bias_table(%table : tensor<32xf32>)
          {layer = 0, num_heads = 8, scale = 0.125, mask = #llm.mask<causal>, num_buckets = 32, max_distance = 128}
      : tensor<4x1x512xf32>,
        !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
        tensor<4x32xi32>, tensor<4xi32> -> tensor<4x1x512xf32>
  return
}

// -----

func.func @paged_attention_table_max_distance(
    %q: tensor<4x1x512xf32>,
    %cache: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
    %tables: tensor<4x32xi32>, %lens: tensor<4xi32>, %table: tensor<32x8xf32>) {
  // expected-error @+1 {{'llm.paged_attention' op expected max_distance > 16 (the exact-distance buckets), found 16}}
  %0 = llm.paged_attention %q, %cache, %tables, %lens relative_bias_table(%table : tensor<32x8xf32>)
          {layer = 0, num_heads = 8, scale = 0.125, mask = #llm.mask<causal>, num_buckets = 32, max_distance = 16}
      : tensor<4x1x512xf32>,
        !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
        tensor<4x32xi32>, tensor<4xi32> -> tensor<4x1x512xf32>
  return
}

// -----

func.func @paged_attention_table_odd_bidirectional(
    %q: tensor<4x1x512xf32>,
    %cache: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
    %tables: tensor<4x32xi32>, %lens: tensor<4xi32>, %table: tensor<31x8xf32>) {
  // expected-error @+1 {{'llm.paged_attention' op expected an even num_buckets for bidirectional buckets, found 31}}
  %0 = llm.paged_attention %q, %cache, %tables, %lens relative_bias_table(%table : tensor<31x8xf32>)
          {layer = 0, num_heads = 8, scale = 0.125, mask = #llm.mask<causal>, num_buckets = 31, max_distance = 128, bidirectional_buckets}
      : tensor<4x1x512xf32>,
        !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
        tensor<4x32xi32>, tensor<4xi32> -> tensor<4x1x512xf32>
  return
}

// -----

func.func @paged_attention_table_dtype(
    %q: tensor<4x1x512xf32>,
    %cache: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
    %tables: tensor<4x32xi32>, %lens: tensor<4xi32>, %table: tensor<32x8xf16>) {
  // expected-error @+1 {{'llm.paged_attention' op expected relative_bias_table element type 'f32' (as the query), found 'f16'}}
  %0 = llm.paged_attention %q, %cache, %tables, %lens relative_bias_table(%table : tensor<32x8xf16>)
          {layer = 0, num_heads = 8, scale = 0.125, mask = #llm.mask<causal>, num_buckets = 32, max_distance = 128}
      : tensor<4x1x512xf32>,
        !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
        tensor<4x32xi32>, tensor<4xi32> -> tensor<4x1x512xf32>
  return
}

// -----

func.func @paged_attention_table_and_alibi(
    %q: tensor<4x1x512xf32>,
    %cache: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
    %tables: tensor<4x32xi32>, %lens: tensor<4xi32>, %table: tensor<32x8xf32>, %slopes: tensor<8xf32>) {
  // expected-error @+1 {{'llm.paged_attention' op expected alibi_slopes or relative_bias_table, found both}}
  %0 = llm.paged_attention %q, %cache, %tables, %lens alibi_slopes(%slopes : tensor<8xf32>) relative_bias_table(%table : tensor<32x8xf32>)
          {layer = 0, num_heads = 8, scale = 0.125, mask = #llm.mask<causal>, num_buckets = 32, max_distance = 128}
      : tensor<4x1x512xf32>,
        !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
        tensor<4x32xi32>, tensor<4xi32> -> tensor<4x1x512xf32>
  return
}

// -----

func.func @paged_attention_mask_padding(
    %q: tensor<4x1x512xf32>,
    %cache: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
    %tables: tensor<4x32xi32>, %lens: tensor<4xi32>) {
  // expected-error @+1 {{'llm.paged_attention' op expected mask 'causal', 'sliding_window' or 'bidirectional', found 'padding'}}
  %0 = llm.paged_attention %q, %cache, %tables, %lens
          {layer = 0, num_heads = 8, scale = 0.125, mask = #llm.mask<padding>}
      : tensor<4x1x512xf32>,
        !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
        tensor<4x32xi32>, tensor<4xi32> -> tensor<4x1x512xf32>
  return
}

// -----

func.func @paged_attention_missing_window(
    %q: tensor<4x1x512xf32>,
    %cache: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
    %tables: tensor<4x32xi32>, %lens: tensor<4xi32>) {
  // expected-error @+1 {{'llm.paged_attention' op expected a 'window' attribute for mask 'sliding_window'}}
  %0 = llm.paged_attention %q, %cache, %tables, %lens
          {layer = 0, num_heads = 8, scale = 0.125, mask = #llm.mask<sliding_window>}
      : tensor<4x1x512xf32>,
        !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
        tensor<4x32xi32>, tensor<4xi32> -> tensor<4x1x512xf32>
  return
}

// -----

func.func @paged_attention_window(
    %q: tensor<4x1x512xf32>,
    %cache: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
    %tables: tensor<4x32xi32>, %lens: tensor<4xi32>) {
  // expected-error @+1 {{'llm.paged_attention' op expected window > 0, found -1}}
  %0 = llm.paged_attention %q, %cache, %tables, %lens
          {layer = 0, num_heads = 8, scale = 0.125, mask = #llm.mask<sliding_window>, window = -1}
      : tensor<4x1x512xf32>,
        !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
        tensor<4x32xi32>, tensor<4xi32> -> tensor<4x1x512xf32>
  return
}

// -----

func.func @paged_attention_window_for_causal(
    %q: tensor<4x1x512xf32>,
    %cache: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
    %tables: tensor<4x32xi32>, %lens: tensor<4xi32>) {
  // expected-error @+1 {{'llm.paged_attention' op expected no 'window' attribute for mask 'causal', found window = 256}}
  %0 = llm.paged_attention %q, %cache, %tables, %lens
          {layer = 0, num_heads = 8, scale = 0.125, mask = #llm.mask<causal>, window = 256}
      : tensor<4x1x512xf32>,
        !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
        tensor<4x32xi32>, tensor<4xi32> -> tensor<4x1x512xf32>
  return
}

// -----

func.func @paged_attention_scale(
    %q: tensor<4x1x512xf32>,
    %cache: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
    %tables: tensor<4x32xi32>, %lens: tensor<4xi32>) {
  // expected-error @+1 {{'llm.paged_attention' op expected scale > 0, found -1.000000e+00}}
  %0 = llm.paged_attention %q, %cache, %tables, %lens
          {layer = 0, num_heads = 8, scale = -1.0, mask = #llm.mask<causal>}
      : tensor<4x1x512xf32>,
        !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
        tensor<4x32xi32>, tensor<4xi32> -> tensor<4x1x512xf32>
  return
}

// -----

func.func @paged_attention_result_shape(
    %q: tensor<4x1x512xf32>,
    %cache: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
    %tables: tensor<4x32xi32>, %lens: tensor<4xi32>) {
  // expected-error @+1 {{'llm.paged_attention' op expected result shape [4, 1, 512], found [4, 2, 512]}}
  %0 = llm.paged_attention %q, %cache, %tables, %lens
          {layer = 0, num_heads = 8, scale = 0.125, mask = #llm.mask<causal>}
      : tensor<4x1x512xf32>,
        !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
        tensor<4x32xi32>, tensor<4xi32> -> tensor<4x2x512xf32>
  return
}

// -----

func.func @paged_attention_result_element_type(
    %q: tensor<4x1x512xf32>,
    %cache: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
    %tables: tensor<4x32xi32>, %lens: tensor<4xi32>) {
  // expected-error @+1 {{'llm.paged_attention' op expected result element type 'f32' (as the query), found 'f16'}}
  %0 = llm.paged_attention %q, %cache, %tables, %lens
          {layer = 0, num_heads = 8, scale = 0.125, mask = #llm.mask<causal>}
      : tensor<4x1x512xf32>,
        !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
        tensor<4x32xi32>, tensor<4xi32> -> tensor<4x1x512xf16>
  return
}

// -----

func.func @paged_attention_alibi_slopes(
    %q: tensor<4x1x512xf32>,
    %cache: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
    %tables: tensor<4x32xi32>, %lens: tensor<4xi32>, %slopes: tensor<2xf32>) {
  // expected-error @+1 {{'llm.paged_attention' op expected alibi_slopes shape [8], found [2]}}
  %0 = llm.paged_attention %q, %cache, %tables, %lens alibi_slopes(%slopes : tensor<2xf32>)
          {layer = 0, num_heads = 8, scale = 0.125, mask = #llm.mask<causal>}
      : tensor<4x1x512xf32>,
        !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
        tensor<4x32xi32>, tensor<4xi32> -> tensor<4x1x512xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// llm.kv_cache_append
//===----------------------------------------------------------------------===//

func.func @kv_cache_append_layer(
    %c: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
    %slots: tensor<4x1xi32>, %k: tensor<4x1x128xf32>, %v: tensor<4x1x128xf32>) {
  // expected-error @+1 {{'llm.kv_cache_append' op expected layer in [0, 2), found 5}}
  %0 = llm.kv_cache_append %c[%slots], %k, %v {layer = 5}
      : !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
        tensor<4x1xi32>, tensor<4x1x128xf32>, tensor<4x1x128xf32>
  return
}

// -----

func.func @kv_cache_append_key_rank(
    %c: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
    %slots: tensor<4x1xi32>, %k: tensor<4x128xf32>, %v: tensor<4x128xf32>) {
  // expected-error @+1 {{'llm.kv_cache_append' op expected key of rank 3 ([batch, seq, kv_heads * head_dim]), found rank 2}}
  %0 = llm.kv_cache_append %c[%slots], %k, %v {layer = 0}
      : !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
        tensor<4x1xi32>, tensor<4x128xf32>, tensor<4x128xf32>
  return
}

// -----

func.func @kv_cache_append_key_shape(
    %c: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
    %slots: tensor<4x1xi32>, %k: tensor<4x1x64xf32>, %v: tensor<4x1x64xf32>) {
  // expected-error @+1 {{'llm.kv_cache_append' op expected key shape [4, 1, 128], found [4, 1, 64]}}
  %0 = llm.kv_cache_append %c[%slots], %k, %v {layer = 0}
      : !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
        tensor<4x1xi32>, tensor<4x1x64xf32>, tensor<4x1x64xf32>
  return
}

// -----

func.func @kv_cache_append_value_shape(
    %c: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
    %slots: tensor<4x1xi32>, %k: tensor<4x1x128xf32>, %v: tensor<4x2x128xf32>) {
  // expected-error @+1 {{'llm.kv_cache_append' op expected value shape [4, 1, 128], found [4, 2, 128]}}
  %0 = llm.kv_cache_append %c[%slots], %k, %v {layer = 0}
      : !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
        tensor<4x1xi32>, tensor<4x1x128xf32>, tensor<4x2x128xf32>
  return
}

// -----

func.func @kv_cache_append_slots_shape(
    %c: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
    %slots: tensor<4xi32>, %k: tensor<4x1x128xf32>, %v: tensor<4x1x128xf32>) {
  // expected-error @+1 {{'llm.kv_cache_append' op expected slots shape [4, 1], found [4]}}
  %0 = llm.kv_cache_append %c[%slots], %k, %v {layer = 0}
      : !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
        tensor<4xi32>, tensor<4x1x128xf32>, tensor<4x1x128xf32>
  return
}

// -----

func.func @kv_cache_append_value_element_type(
    %c: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
    %slots: tensor<4x1xi32>, %k: tensor<4x1x128xf32>, %v: tensor<4x1x128xf16>) {
  // expected-error @+1 {{'llm.kv_cache_append' op expected value element type 'f32' (as the key), found 'f16'}}
  %0 = llm.kv_cache_append %c[%slots], %k, %v {layer = 0}
      : !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
        tensor<4x1xi32>, tensor<4x1x128xf32>, tensor<4x1x128xf16>
  return
}

// -----

func.func @kv_cache_append_result_type(
    %c: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
    %slots: tensor<4x1xi32>, %k: tensor<4x1x128xf32>, %v: tensor<4x1x128xf32>) {
  // expected-error @+1 {{'llm.kv_cache_append' op failed to verify that all of {cache, result} have same type}}
  %0 = "llm.kv_cache_append"(%c, %slots, %k, %v) <{layer = 0 : i64}>
      : (!llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
         tensor<4x1xi32>, tensor<4x1x128xf32>, tensor<4x1x128xf32>)
        -> !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = bf16>
  return
}

// -----

//===----------------------------------------------------------------------===//
// llm.kv_cache_gather
//===----------------------------------------------------------------------===//

func.func @kv_cache_gather_layer(
    %c: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
    %tables: tensor<4x2xi32>) {
  // expected-error @+1 {{'llm.kv_cache_gather' op expected layer in [0, 2), found -1}}
  %k, %v = llm.kv_cache_gather %c[%tables] {layer = -1}
      : !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
        tensor<4x2xi32> -> tensor<4x32x128xf32>, tensor<4x32x128xf32>
  return
}

// -----

func.func @kv_cache_gather_block_tables_rank(
    %c: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
    %tables: tensor<1x4x2xi32>) {
  // expected-error @+1 {{'llm.kv_cache_gather' op expected block_tables of rank 2 ([batch, max_blocks]), found rank 3}}
  %k, %v = llm.kv_cache_gather %c[%tables] {layer = 0}
      : !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
        tensor<1x4x2xi32> -> tensor<4x32x128xf32>, tensor<4x32x128xf32>
  return
}

// -----

func.func @kv_cache_gather_key_shape(
    %c: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
    %tables: tensor<4x2xi32>) {
  // expected-error @+1 {{'llm.kv_cache_gather' op expected key shape [4, 32, 128], found [4, 16, 128]}}
  %k, %v = llm.kv_cache_gather %c[%tables] {layer = 0}
      : !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
        tensor<4x2xi32> -> tensor<4x16x128xf32>, tensor<4x32x128xf32>
  return
}

// -----

func.func @kv_cache_gather_value_shape(
    %c: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
    %tables: tensor<4x?xi32>) {
  // expected-error @+1 {{'llm.kv_cache_gather' op expected value shape [4, ?, 128], found [4, 32, 64]}}
  %k, %v = llm.kv_cache_gather %c[%tables] {layer = 0}
      : !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
        tensor<4x?xi32> -> tensor<4x?x128xf32>, tensor<4x32x64xf32>
  return
}

// -----

func.func @kv_cache_gather_value_element_type(
    %c: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
    %tables: tensor<4x2xi32>) {
  // expected-error @+1 {{'llm.kv_cache_gather' op expected value element type 'f16' (as the key), found 'f32'}}
  %k, %v = llm.kv_cache_gather %c[%tables] {layer = 0}
      : !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
        tensor<4x2xi32> -> tensor<4x32x128xf16>, tensor<4x32x128xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// llm.moe
//===----------------------------------------------------------------------===//

func.func @moe_input_rank(
    %x: tensor<64xf32>, %r: tensor<8x64xf32>, %g: tensor<8x128x64xf32>, %d: tensor<8x64x128xf32>) {
  // expected-error @+1 {{'llm.moe' op expected input of rank >= 2, found rank 1}}
  %0 = llm.moe %x, %r, %g, %g, %d {top_k = 2}
      : tensor<64xf32>, tensor<8x64xf32>, tensor<8x128x64xf32>, tensor<8x128x64xf32>, tensor<8x64x128xf32>
  return
}

// -----

func.func @moe_router_rank(
    %x: tensor<8x64xf32>, %r: tensor<8x64x1xf32>, %g: tensor<8x128x64xf32>, %d: tensor<8x64x128xf32>) {
  // expected-error @+1 {{'llm.moe' op expected router of rank 2 ([experts, hidden]), found rank 3}}
  %0 = llm.moe %x, %r, %g, %g, %d {top_k = 2}
      : tensor<8x64xf32>, tensor<8x64x1xf32>, tensor<8x128x64xf32>, tensor<8x128x64xf32>, tensor<8x64x128xf32>
  return
}

// -----

func.func @moe_gate_rank(
    %x: tensor<8x64xf32>, %r: tensor<8x64xf32>, %g: tensor<128x64xf32>, %u: tensor<8x128x64xf32>,
                         %d: tensor<8x64x128xf32>) {
  // expected-error @+1 {{'llm.moe' op expected gate of rank 3 ([experts, inter, hidden]), found rank 2}}
  %0 = llm.moe %x, %r, %g, %u, %d {top_k = 2}
      : tensor<8x64xf32>, tensor<8x64xf32>, tensor<128x64xf32>, tensor<8x128x64xf32>, tensor<8x64x128xf32>
  return
}

// -----

func.func @moe_router_shape(
    %x: tensor<8x64xf32>, %r: tensor<8x32xf32>, %g: tensor<8x128x64xf32>, %d: tensor<8x64x128xf32>) {
  // expected-error @+1 {{'llm.moe' op expected router shape [8, 64], found [8, 32]}}
  %0 = llm.moe %x, %r, %g, %g, %d {top_k = 2}
      : tensor<8x64xf32>, tensor<8x32xf32>, tensor<8x128x64xf32>, tensor<8x128x64xf32>, tensor<8x64x128xf32>
  return
}

// -----

func.func @moe_gate_shape(
    %x: tensor<8x64xf32>, %r: tensor<8x64xf32>, %g: tensor<4x128x64xf32>, %u: tensor<8x128x64xf32>,
                          %d: tensor<8x64x128xf32>) {
  // expected-error @+1 {{'llm.moe' op expected gate shape [8, 128, 64], found [4, 128, 64]}}
  %0 = llm.moe %x, %r, %g, %u, %d {top_k = 2}
      : tensor<8x64xf32>, tensor<8x64xf32>, tensor<4x128x64xf32>, tensor<8x128x64xf32>, tensor<8x64x128xf32>
  return
}

// -----

func.func @moe_up_shape(
    %x: tensor<8x64xf32>, %r: tensor<8x64xf32>, %g: tensor<8x128x64xf32>, %u: tensor<8x96x64xf32>,
                        %d: tensor<8x64x128xf32>) {
  // expected-error @+1 {{'llm.moe' op expected up shape [8, 128, 64], found [8, 96, 64]}}
  %0 = llm.moe %x, %r, %g, %u, %d {top_k = 2}
      : tensor<8x64xf32>, tensor<8x64xf32>, tensor<8x128x64xf32>, tensor<8x96x64xf32>, tensor<8x64x128xf32>
  return
}

// -----

func.func @moe_down_shape(
    %x: tensor<8x64xf32>, %r: tensor<8x64xf32>, %g: tensor<8x128x64xf32>, %d: tensor<8x128x64xf32>) {
  // expected-error @+1 {{'llm.moe' op expected down shape [8, 64, 128], found [8, 128, 64]}}
  %0 = llm.moe %x, %r, %g, %g, %d {top_k = 2}
      : tensor<8x64xf32>, tensor<8x64xf32>, tensor<8x128x64xf32>, tensor<8x128x64xf32>, tensor<8x128x64xf32>
  return
}

// -----

func.func @moe_top_k_too_large(
    %x: tensor<8x64xf32>, %r: tensor<8x64xf32>, %g: tensor<8x128x64xf32>, %d: tensor<8x64x128xf32>) {
  // expected-error @+1 {{'llm.moe' op expected top_k in [1, 8] (the number of experts), found 9}}
  %0 = llm.moe %x, %r, %g, %g, %d {top_k = 9}
      : tensor<8x64xf32>, tensor<8x64xf32>, tensor<8x128x64xf32>, tensor<8x128x64xf32>, tensor<8x64x128xf32>
  return
}

// -----

func.func @moe_top_k_zero(
    %x: tensor<8x64xf32>, %r: tensor<8x64xf32>, %g: tensor<8x128x64xf32>, %d: tensor<8x64x128xf32>) {
  // expected-error @+1 {{'llm.moe' op expected top_k in [1, 8] (the number of experts), found 0}}
  %0 = llm.moe %x, %r, %g, %g, %d {top_k = 0}
      : tensor<8x64xf32>, tensor<8x64xf32>, tensor<8x128x64xf32>, tensor<8x128x64xf32>, tensor<8x64x128xf32>
  return
}

// -----

func.func @moe_result_type(
    %x: tensor<8x64xf32>, %r: tensor<8x64xf32>, %g: tensor<8x128x64xf32>, %d: tensor<8x64x128xf32>) {
  // expected-error @+1 {{'llm.moe' op failed to verify that all of {input, result} have same type}}
  %0 = "llm.moe"(%x, %r, %g, %g, %d) <{top_k = 2 : i64}>
      : (tensor<8x64xf32>, tensor<8x64xf32>, tensor<8x128x64xf32>, tensor<8x128x64xf32>, tensor<8x64x128xf32>)
        -> tensor<8x128xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// llm.moe_route
//===----------------------------------------------------------------------===//

func.func @moe_route_logits_rank(%logits: tensor<8xf32>) {
  // expected-error @+1 {{'llm.moe_route' op expected logits of rank >= 2 ([tokens..., experts]), found rank 1}}
  %w, %i = llm.moe_route %logits {top_k = 2} : tensor<8xf32> -> tensor<2xf32>, tensor<2xi32>
  return
}

// -----

// Tokens in leading dimensions: the results keep them.
func.func @moe_route_leading_dims(%logits: tensor<1x8x8xf32>) {
  // expected-error @+1 {{'llm.moe_route' op expected weights shape [1, 8, 2], found [8, 2]}}
  %w, %i = llm.moe_route %logits {top_k = 2} : tensor<1x8x8xf32> -> tensor<8x2xf32>, tensor<8x2xi32>
  return
}

// -----

func.func @moe_route_top_k(%logits: tensor<8x4xf32>) {
  // expected-error @+1 {{'llm.moe_route' op expected top_k in [1, 4] (the number of experts), found 5}}
  %w, %i = llm.moe_route %logits {top_k = 5} : tensor<8x4xf32> -> tensor<8x5xf32>, tensor<8x5xi32>
  return
}

// -----

func.func @moe_route_weights_shape(%logits: tensor<8x8xf32>) {
  // expected-error @+1 {{'llm.moe_route' op expected weights shape [8, 2], found [8, 1]}}
  %w, %i = llm.moe_route %logits {top_k = 2} : tensor<8x8xf32> -> tensor<8x1xf32>, tensor<8x2xi32>
  return
}

// -----

func.func @moe_route_indices_shape(%logits: tensor<8x8xf32>) {
  // expected-error @+1 {{'llm.moe_route' op expected indices shape [8, 2], found [16]}}
  %w, %i = llm.moe_route %logits {top_k = 2} : tensor<8x8xf32> -> tensor<8x2xf32>, tensor<16xi32>
  return
}

// -----

func.func @moe_route_weights_element_type(%logits: tensor<8x8xbf16>) {
  // expected-error @+1 {{'llm.moe_route' op expected weights element type 'bf16' (as the logits), found 'f32'}}
  %w, %i = llm.moe_route %logits {top_k = 2} : tensor<8x8xbf16> -> tensor<8x2xf32>, tensor<8x2xi32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// llm.moe_permute
//===----------------------------------------------------------------------===//

func.func @moe_permute_num_experts(%x: tensor<8x64xf32>, %idx: tensor<8x2xi32>) {
  // expected-error @+1 {{'llm.moe_permute' op expected num_experts > 0, found 0}}
  %p, %off, %src = llm.moe_permute %x, %idx {num_experts = 0}
      : tensor<8x64xf32>, tensor<8x2xi32> -> tensor<16x64xf32>, tensor<1xi32>, tensor<16xi32>
  return
}

// -----

func.func @moe_permute_input_rank(%x: tensor<64xf32>, %idx: tensor<8x2xi32>) {
  // expected-error @+1 {{'llm.moe_permute' op expected input of rank >= 2 ([tokens..., hidden]), found rank 1}}
  %p, %off, %src = llm.moe_permute %x, %idx {num_experts = 8}
      : tensor<64xf32>, tensor<8x2xi32> -> tensor<16x64xf32>, tensor<9xi32>, tensor<16xi32>
  return
}

// -----

// The indices' leading dimensions are the input's.
func.func @moe_permute_leading_dims(%x: tensor<1x8x64xf32>, %idx: tensor<8x2xi32>) {
  // expected-error @+1 {{'llm.moe_permute' op expected indices shape [1, 8, 2], found [8, 2]}}
  %p, %off, %src = llm.moe_permute %x, %idx {num_experts = 8}
      : tensor<1x8x64xf32>, tensor<8x2xi32> -> tensor<16x64xf32>, tensor<9xi32>, tensor<16xi32>
  return
}

// -----

func.func @moe_permute_indices_rank(%x: tensor<8x64xf32>, %idx: tensor<16xi32>) {
  // expected-error @+1 {{'llm.moe_permute' op expected indices of rank >= 2 ([tokens..., top_k]), found rank 1}}
  %p, %off, %src = llm.moe_permute %x, %idx {num_experts = 8}
      : tensor<8x64xf32>, tensor<16xi32> -> tensor<16x64xf32>, tensor<9xi32>, tensor<16xi32>
  return
}

// -----

func.func @moe_permute_indices_shape(%x: tensor<8x64xf32>, %idx: tensor<4x2xi32>) {
  // expected-error @+1 {{'llm.moe_permute' op expected indices shape [8, 2], found [4, 2]}}
  %p, %off, %src = llm.moe_permute %x, %idx {num_experts = 8}
      : tensor<8x64xf32>, tensor<4x2xi32> -> tensor<16x64xf32>, tensor<9xi32>, tensor<16xi32>
  return
}

// -----

func.func @moe_permute_permuted_shape(%x: tensor<8x64xf32>, %idx: tensor<8x2xi32>) {
  // expected-error @+1 {{'llm.moe_permute' op expected permuted shape [16, 64], found [8, 64]}}
  %p, %off, %src = llm.moe_permute %x, %idx {num_experts = 8}
      : tensor<8x64xf32>, tensor<8x2xi32> -> tensor<8x64xf32>, tensor<9xi32>, tensor<16xi32>
  return
}

// -----

func.func @moe_permute_offsets_shape(%x: tensor<8x64xf32>, %idx: tensor<8x2xi32>) {
  // expected-error @+1 {{'llm.moe_permute' op expected offsets shape [9], found [8]}}
  %p, %off, %src = llm.moe_permute %x, %idx {num_experts = 8}
      : tensor<8x64xf32>, tensor<8x2xi32> -> tensor<16x64xf32>, tensor<8xi32>, tensor<16xi32>
  return
}

// -----

func.func @moe_permute_sources_shape(%x: tensor<8x64xf32>, %idx: tensor<8x2xi32>) {
  // expected-error @+1 {{'llm.moe_permute' op expected sources shape [16], found [8, 2]}}
  %p, %off, %src = llm.moe_permute %x, %idx {num_experts = 8}
      : tensor<8x64xf32>, tensor<8x2xi32> -> tensor<16x64xf32>, tensor<9xi32>, tensor<8x2xi32>
  return
}

// -----

func.func @moe_permute_permuted_element_type(%x: tensor<8x64xf32>, %idx: tensor<8x2xi32>) {
  // expected-error @+1 {{'llm.moe_permute' op expected permuted element type 'f32' (as the input), found 'bf16'}}
  %p, %off, %src = llm.moe_permute %x, %idx {num_experts = 8}
      : tensor<8x64xf32>, tensor<8x2xi32> -> tensor<16x64xbf16>, tensor<9xi32>, tensor<16xi32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// llm.grouped_matmul
//===----------------------------------------------------------------------===//

func.func @grouped_matmul_input_rank(
    %x: tensor<1x16x64xf32>, %w: tensor<8x128x64xf32>, %off: tensor<9xi32>) {
  // expected-error @+1 {{'llm.grouped_matmul' op expected input of rank 2 ([rows, in]), found rank 3}}
  %0 = llm.grouped_matmul %x, %w, %off
      : tensor<1x16x64xf32>, tensor<8x128x64xf32>, tensor<9xi32> -> tensor<16x128xf32>
  return
}

// -----

func.func @grouped_matmul_weights_rank(
    %x: tensor<16x64xf32>, %w: tensor<128x64xf32>, %off: tensor<9xi32>) {
  // expected-error @+1 {{'llm.grouped_matmul' op expected weights of rank 3 ([experts, out, in]), found rank 2}}
  %0 = llm.grouped_matmul %x, %w, %off : tensor<16x64xf32>, tensor<128x64xf32>, tensor<9xi32> -> tensor<16x128xf32>
  return
}

// -----

func.func @grouped_matmul_in_features(
    %x: tensor<16x64xf32>, %w: tensor<8x128x32xf32>, %off: tensor<9xi32>) {
  // expected-error @+1 {{'llm.grouped_matmul' op expected weights in-features 64 (the input's columns), found 32}}
  %0 = llm.grouped_matmul %x, %w, %off
      : tensor<16x64xf32>, tensor<8x128x32xf32>, tensor<9xi32> -> tensor<16x128xf32>
  return
}

// -----

func.func @grouped_matmul_offsets_shape(
    %x: tensor<16x64xf32>, %w: tensor<8x128x64xf32>, %off: tensor<8xi32>) {
  // expected-error @+1 {{'llm.grouped_matmul' op expected offsets shape [9], found [8]}}
  %0 = llm.grouped_matmul %x, %w, %off
      : tensor<16x64xf32>, tensor<8x128x64xf32>, tensor<8xi32> -> tensor<16x128xf32>
  return
}

// -----

func.func @grouped_matmul_result_shape(
    %x: tensor<16x64xf32>, %w: tensor<8x128x64xf32>, %off: tensor<9xi32>) {
  // expected-error @+1 {{'llm.grouped_matmul' op expected result shape [16, 128], found [16, 64]}}
  %0 = llm.grouped_matmul %x, %w, %off
      : tensor<16x64xf32>, tensor<8x128x64xf32>, tensor<9xi32> -> tensor<16x64xf32>
  return
}

// -----

func.func @grouped_matmul_result_element_type(
    %x: tensor<16x64xf16>, %w: tensor<8x128x64xf16>, %off: tensor<9xi32>) {
  // expected-error @+1 {{'llm.grouped_matmul' op expected result element type 'f16' (as the input), found 'f32'}}
  %0 = llm.grouped_matmul %x, %w, %off
      : tensor<16x64xf16>, tensor<8x128x64xf16>, tensor<9xi32> -> tensor<16x128xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// llm.moe_combine
//===----------------------------------------------------------------------===//

func.func @moe_combine_expert_out_rank(
    %eo: tensor<16xf32>, %w: tensor<8x2xf32>, %src: tensor<16xi32>) {
  // expected-error @+1 {{'llm.moe_combine' op expected expert_out of rank 2 ([tokens * top_k, hidden]), found rank 1}}
  %0 = llm.moe_combine %eo, %w, %src : tensor<16xf32>, tensor<8x2xf32>, tensor<16xi32> -> tensor<8x64xf32>
  return
}

// -----

func.func @moe_combine_weights_rank(
    %eo: tensor<16x64xf32>, %w: tensor<16xf32>, %src: tensor<16xi32>) {
  // expected-error @+1 {{'llm.moe_combine' op expected weights of rank >= 2 ([tokens..., top_k]), found rank 1}}
  %0 = llm.moe_combine %eo, %w, %src : tensor<16x64xf32>, tensor<16xf32>, tensor<16xi32> -> tensor<8x64xf32>
  return
}

// -----

func.func @moe_combine_expert_out_shape(
    %eo: tensor<8x64xf32>, %w: tensor<8x2xf32>, %src: tensor<16xi32>) {
  // expected-error @+1 {{'llm.moe_combine' op expected expert_out shape [16, 64], found [8, 64]}}
  %0 = llm.moe_combine %eo, %w, %src : tensor<8x64xf32>, tensor<8x2xf32>, tensor<16xi32> -> tensor<8x64xf32>
  return
}

// -----

func.func @moe_combine_sources_shape(
    %eo: tensor<16x64xf32>, %w: tensor<8x2xf32>, %src: tensor<8xi32>) {
  // expected-error @+1 {{'llm.moe_combine' op expected sources shape [16], found [8]}}
  %0 = llm.moe_combine %eo, %w, %src : tensor<16x64xf32>, tensor<8x2xf32>, tensor<8xi32> -> tensor<8x64xf32>
  return
}

// -----

func.func @moe_combine_result_shape(
    %eo: tensor<16x64xf32>, %w: tensor<8x2xf32>, %src: tensor<16xi32>) {
  // expected-error @+1 {{'llm.moe_combine' op expected result shape [8, 64], found [16, 64]}}
  %0 = llm.moe_combine %eo, %w, %src : tensor<16x64xf32>, tensor<8x2xf32>, tensor<16xi32> -> tensor<16x64xf32>
  return
}

// -----

func.func @moe_combine_result_element_type(
    %eo: tensor<16x64xbf16>, %w: tensor<8x2xbf16>, %src: tensor<16xi32>) {
  // expected-error @+1 {{'llm.moe_combine' op expected result element type 'bf16' (as expert_out), found 'f32'}}
  %0 = llm.moe_combine %eo, %w, %src : tensor<16x64xbf16>, tensor<8x2xbf16>, tensor<16xi32> -> tensor<8x64xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// llm.dequantize
//===----------------------------------------------------------------------===//

func.func @dequantize_result_shape(
    %q: !llm.qweight<256x256, bits = 4, group = 32, scale = f16, symmetric, packing = nibble>) {
  // expected-error @+1 {{'llm.dequantize' op expected result shape [256, 256], found [256, 128]}}
  %0 = llm.dequantize %q
      : !llm.qweight<256x256, bits = 4, group = 32, scale = f16, symmetric, packing = nibble>
        -> tensor<256x128xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// llm.sample
//===----------------------------------------------------------------------===//

func.func @sample_logits_rank(%logits: tensor<32000xf32>) {
  // expected-error @+1 {{'llm.sample' op expected logits of rank 2 ([batch, vocab]), found rank 1}}
  %0 = llm.sample %logits : tensor<32000xf32> -> tensor<1xi64>
  return
}

// -----

func.func @sample_result_shape(%logits: tensor<2x32000xf32>) {
  // expected-error @+1 {{'llm.sample' op expected result shape [2], found [2, 1]}}
  %0 = llm.sample %logits : tensor<2x32000xf32> -> tensor<2x1xi64>
  return
}

// -----

func.func @sample_temperature(%logits: tensor<2x32000xf32>) {
  // expected-error @+1 {{'llm.sample' op expected temperature >= 0, found -5.000000e-01}}
  %0 = llm.sample %logits {temperature = -0.5} : tensor<2x32000xf32> -> tensor<2xi64>
  return
}

// -----

func.func @sample_top_k(%logits: tensor<2x32000xf32>) {
  // expected-error @+1 {{'llm.sample' op expected top_k >= 0 (0 disables it), found -1}}
  %0 = llm.sample %logits {top_k = -1} : tensor<2x32000xf32> -> tensor<2xi64>
  return
}

// -----

func.func @sample_top_p_zero(%logits: tensor<2x32000xf32>) {
  // expected-error @+1 {{'llm.sample' op expected top_p in (0, 1], found 0.000000e+00}}
  %0 = llm.sample %logits {top_p = 0.0} : tensor<2x32000xf32> -> tensor<2xi64>
  return
}

// -----

func.func @sample_top_p_above_one(%logits: tensor<2x32000xf32>) {
  // expected-error @+1 {{'llm.sample' op expected top_p in (0, 1], found 1.500000e+00}}
  %0 = llm.sample %logits {top_p = 1.5} : tensor<2x32000xf32> -> tensor<2xi64>
  return
}

// -----

func.func @sample_min_p(%logits: tensor<2x32000xf32>) {
  // expected-error @+1 {{'llm.sample' op expected min_p in [0, 1], found 2.000000e+00}}
  %0 = llm.sample %logits {min_p = 2.0} : tensor<2x32000xf32> -> tensor<2xi64>
  return
}

// -----

func.func @sample_min_p_negative(%logits: tensor<2x32000xf32>) {
  // expected-error @+1 {{'llm.sample' op expected min_p in [0, 1], found -1.000000e-01}}
  %0 = llm.sample %logits {min_p = -0.1} : tensor<2x32000xf32> -> tensor<2xi64>
  return
}

// -----

func.func @sample_repetition_penalty(%logits: tensor<2x32000xf32>, %prev: tensor<2x16xi64>) {
  // expected-error @+1 {{'llm.sample' op expected repetition_penalty > 0, found 0.000000e+00}}
  %0 = llm.sample %logits prev(%prev : tensor<2x16xi64>) {repetition_penalty = 0.0}
      : tensor<2x32000xf32> -> tensor<2xi64>
  return
}

// -----

func.func @sample_prev_tokens_rank(%logits: tensor<2x32000xf32>, %prev: tensor<16xi64>) {
  // expected-error @+1 {{'llm.sample' op expected prev_tokens of rank 2 ([batch, n]), found rank 1}}
  %0 = llm.sample %logits prev(%prev : tensor<16xi64>) {repetition_penalty = 1.2}
      : tensor<2x32000xf32> -> tensor<2xi64>
  return
}

// -----

func.func @sample_prev_tokens_shape(%logits: tensor<2x32000xf32>, %prev: tensor<1x16xi64>) {
  // expected-error @+1 {{'llm.sample' op expected prev_tokens shape [2, ?], found [1, 16]}}
  %0 = llm.sample %logits prev(%prev : tensor<1x16xi64>) {repetition_penalty = 1.2}
      : tensor<2x32000xf32> -> tensor<2xi64>
  return
}

// -----

func.func @sample_penalty_without_prev_tokens(%logits: tensor<2x32000xf32>) {
  // expected-error @+1 {{'llm.sample' op expected a 'prev_tokens' operand for repetition_penalty 1.200000e+00}}
  %0 = llm.sample %logits {repetition_penalty = 1.2} : tensor<2x32000xf32> -> tensor<2xi64>
  return
}

// -----

//===----------------------------------------------------------------------===//
// !llm.kv_cache
//===----------------------------------------------------------------------===//

// expected-error @+2 {{expected kv_cache layers > 0, found 0}}
func.func private @kv_cache_layers(
    !llm.kv_cache<layers = 0, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>)

// -----

// expected-error @+2 {{expected kv_cache kv_heads > 0, found -4}}
func.func private @kv_cache_kv_heads(
    !llm.kv_cache<layers = 2, kv_heads = -4, head_dim = 64, block_size = 16, dtype = f16>)

// -----

// expected-error @+2 {{expected kv_cache head_dim > 0, found 0}}
func.func private @kv_cache_head_dim(
    !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 0, block_size = 16, dtype = f16>)

// -----

// expected-error @+2 {{expected kv_cache block_size > 0, found 0}}
func.func private @kv_cache_block_size(
    !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 0, dtype = f16>)

// -----

// expected-error @+2 {{expected kv_cache dtype f32, f16, bf16 or i8, found 'f64'}}
func.func private @kv_cache_dtype(
    !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f64>)

// -----

// An i8 cache is signless; si8 is rejected.
// expected-error @+2 {{expected kv_cache dtype f32, f16, bf16 or i8, found 'si8'}}
func.func private @kv_cache_dtype_signed(
    !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = si8>)

// -----

// expected-error @+2 {{expected 'block_size'}}
func.func private @kv_cache_missing_block_size(
    !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, dtype = f16>)

// -----

// expected-error @+1 {{expected 'layers'}}
func.func private @kv_cache_unnamed_parameters(!llm.kv_cache<2, 2, 64, 16, f16>)

// -----

//===----------------------------------------------------------------------===//
// !llm.qweight
//===----------------------------------------------------------------------===//

// expected-error @+2 {{expected a qweight of rank 2 ([out, in]) or 3 ([experts, out, in]), found rank 1}}
func.func private @qweight_rank_1(
    !llm.qweight<4096, bits = 8, group = per_channel, scale = f16, symmetric, packing = byte>)

// -----

// expected-error @+2 {{expected a qweight of rank 2 ([out, in]) or 3 ([experts, out, in]), found rank 4}}
func.func private @qweight_rank_4(
    !llm.qweight<2x8x64x64, bits = 8, group = per_channel, scale = f16, symmetric, packing = byte>)

// -----

// Stacked experts: each [out, in] matrix is checked (here the input
// dimension against the group).
// expected-error @+2 {{expected qweight group size 64 to divide the input dimension 96}}
func.func private @qweight_experts_group(
    !llm.qweight<8x64x96, bits = 8, group = 64, scale = f16, symmetric, packing = byte>)

// -----

// expected-error @+2 {{expected positive qweight dimensions, found 0x128}}
func.func private @qweight_zero_dim(
    !llm.qweight<0x128, bits = 8, group = per_channel, scale = f16, symmetric, packing = byte>)

// -----

// expected-error @+2 {{expected qweight bits 4, 5, 6 or 8, found 2}}
func.func private @qweight_bits(
    !llm.qweight<64x128, bits = 2, group = 32, scale = f16, symmetric, packing = nibble>)

// -----

// expected-error @+2 {{expected qweight bits 4, 5, 6 or 8, found 16}}
func.func private @qweight_bits_16(
    !llm.qweight<64x128, bits = 16, group = 32, scale = f16, symmetric, packing = byte>)

// -----

// The group size 0 is how per_channel is stored; written as a number it is rejected.
// expected-error @+2 {{expected qweight group size > 0 or per_channel, found 0}}
func.func private @qweight_group_zero(
    !llm.qweight<64x128, bits = 8, group = 0, scale = f16, symmetric, packing = byte>)

// -----

// expected-error @+2 {{expected qweight group size > 0 or per_channel, found -32}}
func.func private @qweight_group_negative(
    !llm.qweight<64x128, bits = 8, group = -32, scale = f16, symmetric, packing = byte>)

// -----

// expected-error @+2 {{expected qweight group size 48 to divide the input dimension 128}}
func.func private @qweight_group_divide(
    !llm.qweight<64x128, bits = 4, group = 48, scale = f16, symmetric, packing = nibble>)

// -----

// expected-error @+2 {{expected qweight scale type f32, f16 or bf16, found 'f64'}}
func.func private @qweight_scale_f64(
    !llm.qweight<64x128, bits = 8, group = 32, scale = f64, symmetric, packing = byte>)

// -----

// expected-error @+2 {{expected qweight scale type f32, f16 or bf16, found 'i8'}}
func.func private @qweight_scale_int(
    !llm.qweight<64x128, bits = 8, group = 32, scale = i8, symmetric, packing = byte>)

// -----

// expected-error @+2 {{expected packing 'byte' for 8-bit qweight, found 'nibble'}}
func.func private @qweight_8bit_nibble(
    !llm.qweight<64x128, bits = 8, group = 32, scale = f16, symmetric, packing = nibble>)

// -----

// expected-error @+2 {{expected packing 'byte' for 8-bit qweight, found 'gptq'}}
func.func private @qweight_8bit_gptq(
    !llm.qweight<64x128, bits = 8, group = 32, scale = f16, symmetric, packing = gptq>)

// -----

// expected-error @+2 {{expected packing 'nibble', 'gptq' or 'awq' for 4-bit qweight, found 'byte'}}
func.func private @qweight_4bit_byte(
    !llm.qweight<64x128, bits = 4, group = 32, scale = f16, symmetric, packing = byte>)

// -----

// expected-error @+2 {{expected packing 'nibble', 'gptq' or 'awq' for 4-bit qweight, found 'nibble_plane'}}
func.func private @qweight_4bit_nibble_plane(
    !llm.qweight<64x128, bits = 4, group = 32, scale = f16, symmetric, packing = nibble_plane>)

// -----

// expected-error @+2 {{expected packing 'nibble_plane' with 5 or 6 bits and only then, found 5 bits and 'nibble'}}
func.func private @qweight_5bit_nibble(
    !llm.qweight<64x128, bits = 5, group = 32, scale = f32, symmetric, packing = nibble>)

// -----

// expected-error @+2 {{expected an input dimension divisible by 32 for 'nibble_plane' packing, found 48}}
func.func private @qweight_nibble_plane_width(
    !llm.qweight<64x48, bits = 5, group = 16, scale = f32, symmetric, packing = nibble_plane>)

// -----

// expected-error @+2 {{expected an even input dimension for 'nibble' packing, found 7}}
func.func private @qweight_nibble_odd(
    !llm.qweight<64x7, bits = 4, group = per_channel, scale = f16, symmetric, packing = nibble>)

// -----

// expected-error @+2 {{expected an input dimension divisible by 8 for 'gptq' packing, found 12}}
func.func private @qweight_gptq_input(
    !llm.qweight<64x12, bits = 4, group = 4, scale = f16, asymmetric, packing = gptq>)

// -----

// expected-error @+2 {{expected an output dimension divisible by 8 for 'awq' packing, found 12}}
func.func private @qweight_awq_output(
    !llm.qweight<12x64, bits = 4, group = 32, scale = f16, asymmetric, packing = awq>)

// -----

// expected-error @+2 {{expected 'symmetric' or 'asymmetric'}}
func.func private @qweight_missing_symmetry(
    !llm.qweight<64x128, bits = 8, group = 32, scale = f16, packing = byte>)

// -----

// expected-error @+2 {{expected packing 'byte', 'nibble', 'nibble_plane', 'gptq' or 'awq', found 'int4'}}
func.func private @qweight_unknown_packing(
    !llm.qweight<64x128, bits = 4, group = 32, scale = f16, symmetric, packing = int4>)

// -----

// expected-error @+2 {{expected static shape}}
func.func private @qweight_dynamic_dim(
    !llm.qweight<?x128, bits = 8, group = 32, scale = f16, symmetric, packing = byte>)

// -----

// expected-error @+2 {{expected ','}}
func.func private @qweight_missing_packing(
    !llm.qweight<64x128, bits = 8, group = 32, scale = f16, symmetric>)

// -----

// expected-error @+2 {{expected 'group'}}
func.func private @qweight_swapped_keywords(
    !llm.qweight<64x128, bits = 8, scale = f16, group = 32, symmetric, packing = byte>)

// -----

// expected-error @+1 {{unknown  type `qcache` in dialect `llm`}}
func.func private @unknown_type(!llm.qcache<64x128>)

// -----

//===----------------------------------------------------------------------===//
// #llm.rope_scaling
//===----------------------------------------------------------------------===//

// expected-error @+1 {{expected rope scaling factor > 0, found 0.000000e+00}}
#factor_zero = #llm.rope_scaling<kind = linear, factor = 0.0>

// -----

// expected-error @+1 {{expected rope scaling factor > 0, found -2.000000e+00}}
#factor_negative = #llm.rope_scaling<kind = llama3, factor = -2.0, original_max_position = 8192>

// -----

// expected-error @+1 {{expected original_max_position > 0 for 'dynamic' rope scaling, found 0}}
#dynamic_original = #llm.rope_scaling<kind = dynamic, factor = 2.0>

// -----

// expected-error @+1 {{expected original_max_position > 0 for 'yarn' rope scaling, found -1}}
#yarn_original = #llm.rope_scaling<kind = yarn, factor = 4.0, original_max_position = -1>

// -----

// expected-error @+1 {{expected original_max_position > 0 for 'llama3' rope scaling, found 0}}
#llama3_original = #llm.rope_scaling<kind = llama3, factor = 8.0, original_max_position = 0>

// -----

// expected-error @+1 {{expected original_max_position >= 0, found -4096}}
#linear_original = #llm.rope_scaling<kind = linear, factor = 2.0, original_max_position = -4096>

// -----

// expected-error @+1 {{expected 0 < low_freq_factor < high_freq_factor for 'llama3' rope scaling, found low_freq_factor = 4.000000e+00, high_freq_factor = 4.000000e+00}}
#llama3_band = #llm.rope_scaling<kind = llama3, factor = 8.0, original_max_position = 8192,
                                 low_freq_factor = 4.0>

// -----

// expected-error @+1 {{expected 0 < low_freq_factor < high_freq_factor for 'llama3' rope scaling, found low_freq_factor = 0.000000e+00, high_freq_factor = 4.000000e+00}}
#llama3_low = #llm.rope_scaling<kind = llama3, factor = 8.0, original_max_position = 8192,
                                low_freq_factor = 0.0>

// -----

// expected-error @+1 {{expected beta_fast > beta_slow > 0 for 'yarn' rope scaling, found beta_fast = 1.000000e+00, beta_slow = 3.200000e+01}}
#yarn_betas = #llm.rope_scaling<kind = yarn, factor = 4.0, original_max_position = 4096,
                                beta_fast = 1.0, beta_slow = 32.0>

// -----

// expected-error @+1 {{expected beta_fast > beta_slow > 0 for 'yarn' rope scaling, found beta_fast = 3.200000e+01, beta_slow = 0.000000e+00}}
#yarn_beta_slow = #llm.rope_scaling<kind = yarn, factor = 4.0, original_max_position = 4096,
                                    beta_slow = 0.0>

// -----

// expected-error @+1 {{expected attention_factor >= 0, found -1.000000e+00}}
#attention_factor = #llm.rope_scaling<kind = yarn, factor = 4.0, original_max_position = 4096,
                                      attention_factor = -1.0>

// -----

// The scaling is checked where it is used, too.
func.func @rope_scaling_in_op(%q: tensor<1x8x512xf32>, %pos: tensor<1x8xi64>) {
  // expected-error @+1 {{expected original_max_position > 0 for 'yarn' rope scaling, found 0}}
  %0 = llm.rope %q, %pos {num_heads = 8, scaling = #llm.rope_scaling<kind = yarn, factor = 4.0>}
      : tensor<1x8x512xf32>, tensor<1x8xi64>
  return
}

// -----

// expected-error @+2 {{expected ::mlir::llm::RopeScalingKind to be one of: none, linear, dynamic, yarn, llama3}}
// expected-error @+1 {{failed to parse LLM_RopeScalingAttr parameter 'kind' which is to be a `::mlir::llm::RopeScalingKind`}}
#unknown_kind = #llm.rope_scaling<kind = ntk, factor = 2.0>

// -----

// expected-error @+1 {{struct is missing required parameter: kind}}
#missing_kind = #llm.rope_scaling<factor = 2.0>

// -----

// Float parameters need a float literal.
// expected-error @+3 {{unexpected decimal integer literal for a floating point value}}
// expected-note @+2 {{add a trailing dot to make the literal a float}}
// expected-error @+1 {{failed to parse LLM_RopeScalingAttr parameter 'factor' which is to be a `::llvm::APFloat`}}
#integer_factor = #llm.rope_scaling<kind = linear, factor = 2>

// -----

//===----------------------------------------------------------------------===//
// Enum attributes
//===----------------------------------------------------------------------===//

// expected-error @+2 {{expected ::mlir::llm::MaskKind to be one of: causal, bidirectional, sliding_window, padding}}
// expected-error @+1 {{failed to parse LLM_MaskKindAttr parameter 'value' which is to be a `::mlir::llm::MaskKind`}}
#unknown_mask = #llm.mask<diagonal>

// -----

func.func @unknown_pairing(%q: tensor<1x8x512xf32>, %pos: tensor<1x8xi64>) {
  // expected-error @+2 {{expected ::mlir::llm::RopePairing to be one of: neox, gptj}}
  // expected-error @+1 {{failed to parse LLM_RopePairingAttr parameter 'value' which is to be a `::mlir::llm::RopePairing`}}
  %0 = llm.rope %q, %pos {num_heads = 8, pairing = #llm.pairing<rotate_half>}
      : tensor<1x8x512xf32>, tensor<1x8xi64>
  return
}

// -----

func.func @unknown_activation(%g: tensor<4x8xf32>, %u: tensor<4x8xf32>) {
  // expected-error @+2 {{expected ::mlir::llm::Activation to be one of: silu, gelu, gelu_tanh, relu}}
  // expected-error @+1 {{failed to parse LLM_ActivationAttr parameter 'value' which is to be a `::mlir::llm::Activation`}}
  %0 = llm.glu %g, %u {activation = #llm.activation<swish>} : tensor<4x8xf32>
  return
}

// -----

func.func @unknown_gelu_approximation(%x: tensor<4x8xf32>) {
  // expected-error @+2 {{expected ::mlir::llm::GeluApproximation to be one of: none, tanh}}
  // expected-error @+1 {{failed to parse LLM_GeluApproximationAttr parameter 'value' which is to be a `::mlir::llm::GeluApproximation`}}
  %0 = llm.gelu %x {approximate = #llm.gelu_approximation<erf>} : tensor<4x8xf32>
  return
}

// -----

func.func @wrong_enum_attribute(
    %q: tensor<1x16x512xf32>, %k: tensor<1x16x512xf32>, %v: tensor<1x16x512xf32>) {
  // expected-error @+1 {{'llm.attention' op attribute 'mask' failed to satisfy constraint: attention mask kind}}
  %0 = llm.attention %q, %k, %v {num_heads = 8, num_kv_heads = 8, mask = #llm.activation<silu>}
      : tensor<1x16x512xf32>, tensor<1x16x512xf32>, tensor<1x16x512xf32> -> tensor<1x16x512xf32>
  return
}

// -----

func.func @param_stacked_rank0() {
  // expected-error @+1 {{'llm.param' op expected a result of rank >= 1 for 'stacked', found rank 0}}
  %0 = llm.param "w" {stacked = []} : tensor<f32>
  return
}

// -----

func.func @param_row_blocks_rank0() {
  // expected-error @+1 {{'llm.param' op expected a result of rank >= 1 for 'row_blocks', found rank 0}}
  %0 = llm.param "w" {row_blocks = array<i64: 0, 1, 1, 1>} : tensor<f32>
  return
}

// -----

// expected-error @+1 {{expected qweight bits 4, 5, 6 or 8, found -8}}
func.func @qweight_negative_bits(%w: !llm.qweight<64x64, bits = -8, group = 32, scale = f16, symmetric, packing = nibble>) {
  return
}

// -----

// expected-error @+1 {{expected a finite rope scaling factor, found INF}}
func.func @rope_scaling_inf() attributes {s = #llm.rope_scaling<kind = linear, factor = 0x7FF0000000000000>} {
  return
}

// -----

func.func @moe_route_dynamic_experts(%l: tensor<4x?xf32>) {
  // expected-error @+1 {{'llm.moe_route' op expected top_k >= 1, found 0}}
  %w, %i = llm.moe_route %l {top_k = 0} : tensor<4x?xf32> -> tensor<4x0xf32>, tensor<4x0xi32>
  return
}

// -----

func.func @attention_bias_dtype(%q: tensor<1x4x64xf32>, %b: tensor<8x4x4xf16>) {
  // expected-error @+1 {{'llm.attention' op expected bias element type 'f32' (as the query), found 'f16'}}
  %o = llm.attention %q, %q, %q bias(%b : tensor<8x4x4xf16>) {num_heads = 8, num_kv_heads = 8, mask = #llm.mask<causal>}
      : tensor<1x4x64xf32>, tensor<1x4x64xf32>, tensor<1x4x64xf32> -> tensor<1x4x64xf32>
  return
}

// -----

func.func @flash_slopes_dtype(%q: tensor<1x4x64xf32>, %s: tensor<8xf16>) {
  // expected-error @+1 {{'llm.flash_attention' op expected alibi_slopes element type f32, found 'f16'}}
  %o = llm.flash_attention %q, %q, %q alibi_slopes(%s : tensor<8xf16>) {num_heads = 8, num_kv_heads = 8, scale = 0.25, mask = #llm.mask<causal>}
      : tensor<1x4x64xf32>, tensor<1x4x64xf32>, tensor<1x4x64xf32> -> tensor<1x4x64xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// Attention layout
//===----------------------------------------------------------------------===//

func.func @split_heads_rank(%x: tensor<8x64xf32>) {
  // expected-error @+1 {{'llm.split_heads' op expected input of rank 3 ([batch, seq, heads * head_dim]), found rank 2}}
  %0 = llm.split_heads %x {num_heads = 4} : tensor<8x64xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

func.func @split_heads_zero_heads(%x: tensor<1x8x64xf32>) {
  // expected-error @+1 {{'llm.split_heads' op expected num_heads > 0, found 0}}
  %0 = llm.split_heads %x {num_heads = 0} : tensor<1x8x64xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

func.func @split_heads_dynamic_features(%x: tensor<1x8x?xf32>) {
  // expected-error @+1 {{'llm.split_heads' op expected a static input features dimension}}
  %0 = llm.split_heads %x {num_heads = 4} : tensor<1x8x?xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

func.func @split_heads_indivisible(%x: tensor<1x8x64xf32>) {
  // expected-error @+1 {{'llm.split_heads' op expected num_heads 6 to divide the input features 64, found remainder 4}}
  %0 = llm.split_heads %x {num_heads = 6} : tensor<1x8x64xf32> -> tensor<1x6x8x10xf32>
  return
}

// -----

func.func @split_heads_result_shape(%x: tensor<1x8x64xf32>) {
  // expected-error @+1 {{'llm.split_heads' op expected result shape [1, 4, 8, 16], found [1, 8, 4, 16]}}
  %0 = llm.split_heads %x {num_heads = 4} : tensor<1x8x64xf32> -> tensor<1x8x4x16xf32>
  return
}

// -----

func.func @split_heads_element_type(%x: tensor<1x8x64xf32>) {
  // expected-error @+1 {{'llm.split_heads' op expected result element type 'f32' (as the input), found 'f16'}}
  %0 = llm.split_heads %x {num_heads = 4} : tensor<1x8x64xf32> -> tensor<1x4x8x16xf16>
  return
}

// -----

func.func @merge_heads_rank(%x: tensor<1x8x64xf32>) {
  // expected-error @+1 {{'llm.merge_heads' op expected input of rank 4 ([batch, heads, seq, head_dim]), found rank 3}}
  %0 = llm.merge_heads %x : tensor<1x8x64xf32> -> tensor<1x8x64xf32>
  return
}

// -----

func.func @merge_heads_result_shape(%x: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{'llm.merge_heads' op expected result shape [1, 8, 64], found [1, 4, 128]}}
  %0 = llm.merge_heads %x : tensor<1x4x8x16xf32> -> tensor<1x4x128xf32>
  return
}

// -----

func.func @merge_heads_element_type(%x: tensor<1x4x8x16xbf16>) {
  // expected-error @+1 {{'llm.merge_heads' op expected result element type 'bf16' (as the input), found 'f32'}}
  %0 = llm.merge_heads %x : tensor<1x4x8x16xbf16> -> tensor<1x8x64xf32>
  return
}

// -----

func.func @repeat_kv_rank(%x: tensor<1x8x32xf32>) {
  // expected-error @+1 {{'llm.repeat_kv' op expected input of rank 4 ([batch, kv_heads, seq, head_dim]), found rank 3}}
  %0 = llm.repeat_kv %x {repeats = 2} : tensor<1x8x32xf32> -> tensor<1x8x64xf32>
  return
}

// -----

func.func @repeat_kv_zero_repeats(%x: tensor<1x2x8x16xf32>) {
  // expected-error @+1 {{'llm.repeat_kv' op expected repeats > 0, found 0}}
  %0 = llm.repeat_kv %x {repeats = 0} : tensor<1x2x8x16xf32> -> tensor<1x2x8x16xf32>
  return
}

// -----

func.func @repeat_kv_result_shape(%x: tensor<1x2x8x16xf32>) {
  // expected-error @+1 {{'llm.repeat_kv' op expected result shape [1, 8, 8, 16], found [1, 4, 8, 16]}}
  %0 = llm.repeat_kv %x {repeats = 4} : tensor<1x2x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

func.func @repeat_kv_element_type(%x: tensor<1x2x8x16xf16>) {
  // expected-error @+1 {{'llm.repeat_kv' op expected result element type 'f16' (as the input), found 'f32'}}
  %0 = llm.repeat_kv %x {repeats = 2} : tensor<1x2x8x16xf16> -> tensor<1x4x8x16xf32>
  return
}

// -----

func.func @rope_inv_freq_odd(%p: tensor<1x3xi64>) {
  // expected-error @+1 {{'llm.rope_inv_freq' op expected a positive even rotary_dim, found 7}}
  %f = llm.rope_inv_freq %p {rotary_dim = 7} : tensor<1x3xi64> -> tensor<3xf32>
  return
}

// -----

func.func @rope_inv_freq_theta(%p: tensor<1x3xi64>) {
  // expected-error @+1 {{'llm.rope_inv_freq' op expected theta > 0, found 0.000000e+00}}
  %f = llm.rope_inv_freq %p {rotary_dim = 8, theta = 0.0} : tensor<1x3xi64> -> tensor<4xf32>
  return
}

// -----

func.func @rope_inv_freq_dynamic_dim(%p: tensor<1x3xi64>) {
  // expected-error @+1 {{'llm.rope_inv_freq' op expected rotary_dim > 2 for dynamic NTK scaling (its base exponent is dim / (dim - 2)), found 2}}
  %f = llm.rope_inv_freq %p {rotary_dim = 2, scaling = #llm.rope_scaling<kind = dynamic, factor = 2.0, original_max_position = 16>} : tensor<1x3xi64> -> tensor<1xf32>
  return
}

// -----

func.func @rope_inv_freq_shape(%p: tensor<1x3xi64>) {
  // expected-error @+1 {{'llm.rope_inv_freq' op expected result shape [4], found [8]}}
  %f = llm.rope_inv_freq %p {rotary_dim = 8} : tensor<1x3xi64> -> tensor<8xf32>
  return
}

// -----

func.func @rope_inv_freq_dtype(%p: tensor<1x3xi64>) {
  // expected-error @+1 {{'llm.rope_inv_freq' op expected an f32 result, found 'f16'}}
  %f = llm.rope_inv_freq %p {rotary_dim = 8} : tensor<1x3xi64> -> tensor<4xf16>
  return
}

// -----

func.func @linear_rope_rank(%x: tensor<8xf32>, %w: tensor<16x8xf32>, %p: tensor<3xi64>, %t: tensor<4xf32>) {
  // expected-error @+1 {{'llm.linear_rope' op expected input of rank >= 2 ([..., seq, in]), found rank 1}}
  %y = llm.linear_rope %x, %w, %p, %t {num_heads = 2, rotary_dim = 8} : tensor<8xf32>, tensor<16x8xf32>, tensor<3xi64>, tensor<4xf32> -> tensor<16xf32>
  return
}

// -----

func.func @linear_rope_in(%x: tensor<1x3x4xf32>, %w: tensor<16x8xf32>, %p: tensor<1x3xi64>, %t: tensor<4xf32>) {
  // expected-error @+1 {{'llm.linear_rope' op expected input features (last dimension) 8 to match weight [out, in] = [16, 8], found 4}}
  %y = llm.linear_rope %x, %w, %p, %t {num_heads = 2, rotary_dim = 8} : tensor<1x3x4xf32>, tensor<16x8xf32>, tensor<1x3xi64>, tensor<4xf32> -> tensor<1x3x16xf32>
  return
}

// -----

func.func @linear_rope_positions(%x: tensor<1x3x8xf32>, %w: tensor<16x8xf32>, %p: tensor<1x4xi64>, %t: tensor<4xf32>) {
  // expected-error @+1 {{'llm.linear_rope' op expected positions shape [1, 3], found [1, 4]}}
  %y = llm.linear_rope %x, %w, %p, %t {num_heads = 2, rotary_dim = 8} : tensor<1x3x8xf32>, tensor<16x8xf32>, tensor<1x4xi64>, tensor<4xf32> -> tensor<1x3x16xf32>
  return
}

// -----

func.func @linear_rope_heads(%x: tensor<1x3x8xf32>, %w: tensor<16x8xf32>, %p: tensor<1x3xi64>, %t: tensor<4xf32>) {
  // expected-error @+1 {{'llm.linear_rope' op expected num_heads 3 to divide the output features 16, found remainder 1}}
  %y = llm.linear_rope %x, %w, %p, %t {num_heads = 3, rotary_dim = 8} : tensor<1x3x8xf32>, tensor<16x8xf32>, tensor<1x3xi64>, tensor<4xf32> -> tensor<1x3x16xf32>
  return
}

// -----

func.func @linear_rope_rotary(%x: tensor<1x3x8xf32>, %w: tensor<16x8xf32>, %p: tensor<1x3xi64>, %t: tensor<4xf32>) {
  // expected-error @+1 {{'llm.linear_rope' op expected an even rotary_dim in (0, 8] (the head dim), found 10}}
  %y = llm.linear_rope %x, %w, %p, %t {num_heads = 2, rotary_dim = 10} : tensor<1x3x8xf32>, tensor<16x8xf32>, tensor<1x3xi64>, tensor<4xf32> -> tensor<1x3x16xf32>
  return
}

// -----

func.func @linear_rope_table(%x: tensor<1x3x8xf32>, %w: tensor<16x8xf32>, %p: tensor<1x3xi64>, %t: tensor<3xf32>) {
  // expected-error @+1 {{'llm.linear_rope' op expected inv_freq shape [4], found [3]}}
  %y = llm.linear_rope %x, %w, %p, %t {num_heads = 2, rotary_dim = 8} : tensor<1x3x8xf32>, tensor<16x8xf32>, tensor<1x3xi64>, tensor<3xf32> -> tensor<1x3x16xf32>
  return
}

// -----

func.func @linear_rope_result(%x: tensor<1x3x8xf32>, %w: tensor<16x8xf32>, %p: tensor<1x3xi64>, %t: tensor<4xf32>) {
  // expected-error @+1 {{'llm.linear_rope' op expected result shape [1, 3, 16], found [1, 3, 8]}}
  %y = llm.linear_rope %x, %w, %p, %t {num_heads = 2, rotary_dim = 8} : tensor<1x3x8xf32>, tensor<16x8xf32>, tensor<1x3xi64>, tensor<4xf32> -> tensor<1x3x8xf32>
  return
}

// -----

func.func @linear_rope_bias(%x: tensor<1x3x8xf32>, %w: tensor<16x8xf32>, %b: tensor<8xf32>, %p: tensor<1x3xi64>, %t: tensor<4xf32>) {
  // expected-error @+1 {{'llm.linear_rope' op expected bias shape [16], found [8]}}
  %y = llm.linear_rope %x, %w bias(%b : tensor<8xf32>), %p, %t {num_heads = 2, rotary_dim = 8} : tensor<1x3x8xf32>, tensor<16x8xf32>, tensor<1x3xi64>, tensor<4xf32> -> tensor<1x3x16xf32>
  return
}

// -----

func.func @linear_rope_table_type(%x: tensor<1x3x8xf32>, %w: tensor<16x8xf32>, %p: tensor<1x3xi64>, %t: tensor<4xf16>) {
  // expected-error @+1 {{'llm.linear_rope' op expected inv_freq element type 'f32' (as the result), found 'f16'}}
  %y = llm.linear_rope %x, %w, %p, %t {num_heads = 2, rotary_dim = 8} : tensor<1x3x8xf32>, tensor<16x8xf32>, tensor<1x3xi64>, tensor<4xf16> -> tensor<1x3x16xf32>
  return
}

// -----

func.func @linear_rope_weight_rank(%x: tensor<1x3x8xf32>, %w: tensor<16xf32>, %p: tensor<1x3xi64>, %t: tensor<4xf32>) {
  // expected-error @+1 {{'llm.linear_rope' op expected weight of rank 2 ([rows, columns]), found rank 1}}
  %y = llm.linear_rope %x, %w, %p, %t {num_heads = 2, rotary_dim = 8} : tensor<1x3x8xf32>, tensor<16xf32>, tensor<1x3xi64>, tensor<4xf32> -> tensor<1x3x16xf32>
  return
}

// -----

func.func @sigmoid_gate_shape(%x: tensor<1x8x64xf32>, %g: tensor<1x8x2xf32>) {
  // expected-error @+1 {{'llm.sigmoid_gate' op expected gate shape [1, 8, 1] (one per row) or [1, 8, 64], found [1, 8, 2]}}
  %0 = llm.sigmoid_gate %x, %g : tensor<1x8x64xf32>, tensor<1x8x2xf32>
  return
}

// -----

func.func @sigmoid_gate_element_type(%x: tensor<1x8x64xf32>, %g: tensor<1x8x1xf16>) {
  // expected-error @+1 {{'llm.sigmoid_gate' op expected gate element type 'f32' (as the input), found 'f16'}}
  %0 = llm.sigmoid_gate %x, %g : tensor<1x8x64xf32>, tensor<1x8x1xf16>
  return
}

// -----

func.func @moe_permute_capacity(%x: tensor<8x64xf32>, %idx: tensor<8x2xi32>) {
  // expected-error @+1 {{'llm.moe_permute' op expected capacity >= 0 (0: no limit), found -1}}
  %p, %off, %src = llm.moe_permute %x, %idx {num_experts = 8, capacity = -1}
      : tensor<8x64xf32>, tensor<8x2xi32> -> tensor<16x64xf32>, tensor<9xi32>, tensor<16xi32>
  return
}
