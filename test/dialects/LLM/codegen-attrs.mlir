// RUN: llm-opt %s -split-input-file -verify-diagnostics | FileCheck %s

// The attributes that llm-lower-to-cpu records for the runtime are declared
// by the dialect (LLMBase.td) and verified: one case per diagnostic, and a
// well-formed module that round-trips.

// CHECK: module attributes {llm.params = [{name = "w", type = tensor<4x4xf32>}, {name = "qkv", row_blocks = array<i64: 4, 4, 12, 1>, transpose, type = tensor<4x4xf16>}, {name = "experts", stacked = ["e0", "e1"], type = tensor<2x4xf32>}]}
// CHECK: llvm.func @entry(%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr) attributes {llm.arena_bytes = 128 : i64, llm.arg_types = [tensor<1x3xi64>, !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 8, block_size = 4, dtype = f16>], llm.result_types = [tensor<1x3x8xf32>]}
module attributes {llm.params = [{name = "w", type = tensor<4x4xf32>},
                                 {name = "qkv", type = tensor<4x4xf16>, transpose, row_blocks = array<i64: 4, 4, 12, 1>},
                                 {name = "experts", type = tensor<2x4xf32>, stacked = ["e0", "e1"]}]} {
  llvm.func @entry(%params: !llvm.ptr, %arena: !llvm.ptr, %args: !llvm.ptr, %results: !llvm.ptr)
      attributes {llm.arena_bytes = 128 : i64,
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

// expected-error @+1 {{'builtin.module' op 'llm.params' entry 0: unexpected field 'row_blocks' = array<i64: 1, 2> (expected name, type, transpose, row_blocks [4 integers] or stacked)}}
module attributes {llm.params = [{name = "a", type = tensor<4xf32>, row_blocks = array<i64: 1, 2>}]} {
}

// -----

// expected-error @+1 {{'builtin.module' op 'llm.params' entry 0: unexpected field 'scale' = 2.000000e+00 : f32 (expected name, type, transpose, row_blocks [4 integers] or stacked)}}
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
