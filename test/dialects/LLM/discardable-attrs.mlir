// RUN: llm-opt %s -split-input-file -verify-diagnostics | FileCheck %s

// The attributes that the compiler records for the runtime are declared by
// the dialect (LLMBase.td) and verified: #llm.model and llm.arg_kind from
// importers and llm-insert-kv-cache, llm.params, llm.arena_bytes,
// llm.arg_types, llm.result_types and llm.arg_kinds from llm-lower-to-cpu.
// One case per diagnostic, and well-formed modules that round-trip.

// CHECK: module attributes {llm.model = #llm.model<type = "t5", kind = encoder_decoder, vocab_size = 100, hidden_size = 16, eos_token_ids = [1, 7], decoder_start_token_id = 3, sliding_window = 4>}
// CHECK: func.func @kinds(%{{.*}}: tensor<1x5xi64> {llm.arg_kind = #llm.arg_kind<encoder_tokens>}, %{{.*}}: tensor<1x2xi64> {llm.arg_kind = #llm.arg_kind<tokens>}, %{{.*}}: !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 8, block_size = 4, dtype = f32> {llm.arg_kind = #llm.arg_kind<cross_cache>}, %{{.*}}: tensor<1x2xi32> {llm.arg_kind = #llm.arg_kind<cross_slots>})
module attributes {llm.model = #llm.model<type = "t5", kind = encoder_decoder, vocab_size = 100, hidden_size = 16, eos_token_ids = [1, 7], decoder_start_token_id = 3, sliding_window = 4>} {
  func.func @kinds(%enc: tensor<1x5xi64> {llm.arg_kind = #llm.arg_kind<encoder_tokens>},
                   %dec: tensor<1x2xi64> {llm.arg_kind = #llm.arg_kind<tokens>},
                   %cache: !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 8, block_size = 4, dtype = f32> {llm.arg_kind = #llm.arg_kind<cross_cache>},
                   %slots: tensor<1x2xi32> {llm.arg_kind = #llm.arg_kind<cross_slots>}) {
    return
  }
}

// -----

// CHECK: module attributes {llm.params = [{name = "w", type = tensor<4x4xf32>}, {name = "qkv", row_blocks = array<i64: 4, 4, 12, 1>, transpose, type = tensor<4x4xf16>}, {name = "experts", stacked = ["e0", "e1"], type = tensor<2x4xf32>}, {int8_activations, name = "q", type = !llm.qweight<4x32, bits = 8, group = 32, scale = f32, symmetric, packing = byte>}]}
// CHECK: llvm.func @entry(%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr) attributes {llm.arena_bytes = 128 : i64, llm.arg_kinds = [#llm.arg_kind<tokens>, #llm.arg_kind<kv_cache>], llm.arg_types = [tensor<1x3xi64>, !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 8, block_size = 4, dtype = f16>], llm.result_types = [tensor<1x3x8xf32>]}
module attributes {llm.params = [{name = "w", type = tensor<4x4xf32>},
                                 {name = "qkv", type = tensor<4x4xf16>, transpose, row_blocks = array<i64: 4, 4, 12, 1>},
                                 {name = "experts", type = tensor<2x4xf32>, stacked = ["e0", "e1"]},
                                 {name = "q", type = !llm.qweight<4x32, bits = 8, group = 32, scale = f32, symmetric, packing = byte>, int8_activations}]} {
  llvm.func @entry(%params: !llvm.ptr, %arena: !llvm.ptr, %args: !llvm.ptr, %results: !llvm.ptr)
      attributes {llm.arena_bytes = 128 : i64,
                  llm.arg_kinds = [#llm.arg_kind<tokens>, #llm.arg_kind<kv_cache>],
                  llm.arg_types = [tensor<1x3xi64>, !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 8, block_size = 4, dtype = f16>],
                  llm.result_types = [tensor<1x3x8xf32>]} {
    llvm.return
  }
}

// -----

// expected-error @+1 {{'builtin.module' op 'llm.params': expected an array on a module}}
module attributes {llm.params = 3 : i64} {
}

// -----

// expected-error @+1 {{'func.func' op 'llm.params': expected an array on a module}}
func.func @params_on_function() attributes {llm.params = []} {
  return
}

// -----

// expected-error @+1 {{'builtin.module' op 'llm.params' entry 0: expected a dictionary, found "w"}}
module attributes {llm.params = ["w"]} {
}

// -----

// expected-error @+1 {{'builtin.module' op 'llm.params' entry 0: expected a string 'name'}}
module attributes {llm.params = [{type = tensor<4xf32>}]} {
}

// -----

// expected-error @+1 {{'builtin.module' op 'llm.params' entry 1: expected a 'type' holding a ranked tensor or quantized type}}
module attributes {llm.params = [{name = "a", type = tensor<4xf32>}, {name = "b", type = i32}]} {
}

// -----

// expected-error @+1 {{'builtin.module' op 'llm.params' entry 0: unexpected field 'row_blocks' = array<i64: 1, 2> (expected name, type, transpose, row_blocks [4 integers], stacked, panels [a positive integer] or, on a quantized type, int8_activations, quant_method [gptq or awq], checkpoint_format [gptq, gptq_v2, awq, ggml_q8_0, ggml_q4_0, ggml_q4_1, ggml_q5_0, ggml_q5_1, ggml_q4_k, ggml_q5_k, ggml_q6_k] and act_order)}}
module attributes {llm.params = [{name = "a", type = tensor<4xf32>, row_blocks = array<i64: 1, 2>}]} {
}

// -----

// expected-error @+1 {{'builtin.module' op 'llm.params' entry 0: unexpected field 'int8_activations' = unit (expected name, type, transpose, row_blocks [4 integers], stacked, panels [a positive integer] or, on a quantized type, int8_activations, quant_method [gptq or awq], checkpoint_format [gptq, gptq_v2, awq, ggml_q8_0, ggml_q4_0, ggml_q4_1, ggml_q5_0, ggml_q5_1, ggml_q4_k, ggml_q5_k, ggml_q6_k] and act_order)}}
module attributes {llm.params = [{name = "a", type = tensor<4x4xf32>, int8_activations}]} {
}

// -----

// expected-error @+1 {{'builtin.module' op 'llm.params' entry 0: unexpected field 'quant_method' = "gptq" (expected name, type, transpose, row_blocks [4 integers], stacked, panels [a positive integer] or, on a quantized type, int8_activations, quant_method [gptq or awq], checkpoint_format [gptq, gptq_v2, awq, ggml_q8_0, ggml_q4_0, ggml_q4_1, ggml_q5_0, ggml_q5_1, ggml_q4_k, ggml_q5_k, ggml_q6_k] and act_order)}}
module attributes {llm.params = [{name = "a", type = tensor<4x4xf32>, quant_method = "gptq"}]} {
}

// -----

// expected-error @+1 {{'builtin.module' op 'llm.params' entry 0: unexpected field 'quant_method' = "hqq" (expected name, type, transpose, row_blocks [4 integers], stacked, panels [a positive integer] or, on a quantized type, int8_activations, quant_method [gptq or awq], checkpoint_format [gptq, gptq_v2, awq, ggml_q8_0, ggml_q4_0, ggml_q4_1, ggml_q5_0, ggml_q5_1, ggml_q4_k, ggml_q5_k, ggml_q6_k] and act_order)}}
module attributes {llm.params = [{name = "a", type = !llm.qweight<4x32, bits = 4, group = 32, scale = f32, symmetric, packing = nibble>, quant_method = "hqq"}]} {
}

// -----

// expected-error @+1 {{'builtin.module' op 'llm.params' entry 0: unexpected field 'scale' = 2.000000e+00 : f32 (expected name, type, transpose, row_blocks [4 integers], stacked, panels [a positive integer] or, on a quantized type, int8_activations, quant_method [gptq or awq], checkpoint_format [gptq, gptq_v2, awq, ggml_q8_0, ggml_q4_0, ggml_q4_1, ggml_q5_0, ggml_q5_1, ggml_q4_k, ggml_q5_k, ggml_q6_k] and act_order)}}
module attributes {llm.params = [{name = "a", type = tensor<4xf32>, scale = 2.0 : f32}]} {
}

// -----

// expected-error @+1 {{'llvm.func' op 'llm.arena_bytes': expected a non-negative integer, found -64 : i64}}
llvm.func @negative_arena() attributes {llm.arena_bytes = -64 : i64} {
  llvm.return
}

// -----

// expected-error @+1 {{'llvm.func' op 'llm.arg_types' element 1: expected a statically shaped tensor or !llm.kv_cache, found tensor<?xi64>}}
llvm.func @dynamic_argument() attributes {llm.arg_types = [tensor<2xi64>, tensor<?xi64>]} {
  llvm.return
}

// -----

// expected-error @+1 {{'llvm.func' op 'llm.result_types' element 0: expected a statically shaped tensor, found !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 8, block_size = 4, dtype = f32>}}
llvm.func @cache_result() attributes {llm.result_types = [!llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 8, block_size = 4, dtype = f32>]} {
  llvm.return
}

// -----

// expected-error @+1 {{'llvm.func' op 'llm.arg_types': expected an array of types}}
llvm.func @not_an_array() attributes {llm.arg_types = 1 : i64} {
  llvm.return
}

// -----

// expected-error @+1 {{'llvm.func' op unknown attribute 'llm.arena' of the llm dialect}}
llvm.func @unknown() attributes {llm.arena = 1 : i64} {
  llvm.return
}

// -----

// expected-error @+1 {{'llvm.func' op 'llm.arg_kinds' element 1: expected a #llm.arg_kind or unit, found "slots"}}
llvm.func @kinds_not_kinds() attributes {llm.arg_kinds = [unit, "slots"]} {
  llvm.return
}

// -----

// expected-error @+1 {{'llvm.func' op 'llm.arg_kinds': expected an array, found #llm.arg_kind<slots>}}
llvm.func @kinds_not_array() attributes {llm.arg_kinds = #llm.arg_kind<slots>} {
  llvm.return
}

// -----

// expected-error @+1 {{'func.func' op 'llm.model': expected a #llm.model on a module, found #llm.model<type = "gpt2", kind = decoder, vocab_size = 10, hidden_size = 4>}}
func.func @model_on_function() attributes {llm.model = #llm.model<type = "gpt2", kind = decoder, vocab_size = 10, hidden_size = 4>} {
  return
}

// -----

// expected-error @+1 {{'builtin.module' op 'llm.model': expected a #llm.model on a module, found "gpt2"}}
module attributes {llm.model = "gpt2"} {
}

// -----

// expected-error @+1 {{expected vocab_size > 0 and hidden_size > 0, found 0 and 4}}
module attributes {llm.model = #llm.model<type = "gpt2", kind = decoder, vocab_size = 0, hidden_size = 4>} {
}

// -----

// expected-error @+1 {{expected a non-empty model type}}
module attributes {llm.model = #llm.model<type = "", kind = decoder, vocab_size = 10, hidden_size = 4>} {
}

// -----

// expected-error @+1 {{expected sliding_window >= 0, found -4}}
module attributes {llm.model = #llm.model<type = "mistral", kind = decoder, vocab_size = 10, hidden_size = 4, sliding_window = -4>} {
}

// -----

// expected-error @+1 {{expected eos token ids >= 0, found -1}}
module attributes {llm.model = #llm.model<type = "gpt2", kind = decoder, vocab_size = 10, hidden_size = 4, eos_token_ids = [-1]>} {
}

// -----

// expected-error @+1 {{expected decoder_start_token_id in [0, 10), found 10}}
module attributes {llm.model = #llm.model<type = "t5", kind = encoder_decoder, vocab_size = 10, hidden_size = 4, decoder_start_token_id = 10>} {
}

// -----

// expected-error @+1 {{'func.func' op argument 0 of kind 'tokens': expected a ranked tensor of i64, found 'tensor<1x3xi32>'}}
func.func @tokens_i32(%ids: tensor<1x3xi32> {llm.arg_kind = #llm.arg_kind<tokens>}) {
  return
}

// -----

// expected-error @+1 {{'func.func' op argument 1 of kind 'block_tables': expected a ranked tensor of i32, found 'tensor<1x3xi64>'}}
func.func @tables_i64(%ids: tensor<1x3xi64>, %t: tensor<1x3xi64> {llm.arg_kind = #llm.arg_kind<block_tables>}) {
  return
}

// -----

// expected-error @+1 {{'func.func' op argument 0 of kind 'kv_cache': expected !llm.kv_cache, found 'tensor<4xf32>'}}
func.func @cache_tensor(%c: tensor<4xf32> {llm.arg_kind = #llm.arg_kind<kv_cache>}) {
  return
}

// -----

// expected-error @+1 {{'func.func' op argument 0: 'llm.arg_kind': expected a #llm.arg_kind, found "tokens"}}
func.func @kind_string(%ids: tensor<1x3xi64> {llm.arg_kind = "tokens"}) {
  return
}

// -----

// expected-error @+1 {{'func.func' op unknown argument attribute 'llm.role' of the llm dialect}}
func.func @unknown_arg_attr(%ids: tensor<1x3xi64> {llm.role = 1 : i64}) {
  return
}
