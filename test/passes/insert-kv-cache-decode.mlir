// RUN: llm-opt %s --llm-insert-kv-cache="block-size=4 max-seq-len=10 decode-batch=4" --split-input-file --verify-diagnostics | FileCheck %s

// decode-batch: the prefill function (one sequence of 3 tokens) also gets
// its decode entry point for 4 sequences of one token. Activations and the
// per-token arguments go from [1, 3, ...] to [4, 1, ...], the block tables
// and lengths from [1, ...] to [4, ...]; weights, the splat constant of the
// residual scale and the cache keep or take the right shapes.

// CHECK-LABEL: func.func @block(
// CHECK-SAME: %{{[a-z0-9]+}}: tensor<1x3xi64>, %{{[a-z0-9]+}}: !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 8, block_size = 4, dtype = f32> {llm.arg_kind = #llm.arg_kind<kv_cache>}, %{{[a-z0-9]+}}: tensor<1x3xi32> {llm.arg_kind = #llm.arg_kind<slots>}, %{{[a-z0-9]+}}: tensor<1x3xi32> {llm.arg_kind = #llm.arg_kind<block_tables>}, %{{[a-z0-9]+}}: tensor<1xi32> {llm.arg_kind = #llm.arg_kind<context_lens>}) -> tensor<1x3x16xf32>

// CHECK-LABEL: func.func @block_decode(
// CHECK-SAME: %[[IDS:[a-z0-9]+]]: tensor<4x1xi64>, %[[C:[a-z0-9]+]]: !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 8, block_size = 4, dtype = f32> {llm.arg_kind = #llm.arg_kind<kv_cache>}, %[[S:[a-z0-9]+]]: tensor<4x1xi32> {llm.arg_kind = #llm.arg_kind<slots>}, %[[T:[a-z0-9]+]]: tensor<4x3xi32> {llm.arg_kind = #llm.arg_kind<block_tables>}, %[[L:[a-z0-9]+]]: tensor<4xi32> {llm.arg_kind = #llm.arg_kind<context_lens>}) -> tensor<4x1x16xf32>
// CHECK: %[[E:.*]] = llm.embedding %{{.*}}[%[[IDS]]] : tensor<32x16xf32>, tensor<4x1xi64> -> tensor<4x1x16xf32>
// CHECK: %[[K:.*]] = llm.linear %[[E]], %{{.*}} : tensor<4x1x16xf32>, tensor<16x16xf32> -> tensor<4x1x16xf32>
// CHECK: %[[C1:.*]] = llm.kv_cache_append %[[C]][%[[S]]], %[[K]], %[[K]] {layer = 0 : i64} : {{.*}}, tensor<4x1xi32>, tensor<4x1x16xf32>, tensor<4x1x16xf32>
// CHECK: %[[A:.*]] = llm.paged_attention %[[K]], %[[C1]], %[[T]], %[[L]] {{.*}} : tensor<4x1x16xf32>, {{.*}}, tensor<4x3xi32>, tensor<4xi32> -> tensor<4x1x16xf32>
// CHECK: %[[HALF:.*]] = arith.constant dense<5.000000e-01> : tensor<4x1x16xf32>
// CHECK: %[[R:.*]] = arith.mulf %[[A]], %[[HALF]] : tensor<4x1x16xf32>
// CHECK: return %[[R]] : tensor<4x1x16xf32>
func.func @block(%ids: tensor<1x3xi64>) -> tensor<1x3x16xf32> {
  %emb = llm.param "emb" : tensor<32x16xf32>
  %w = llm.param "w" : tensor<16x16xf32>
  %e = llm.embedding %emb[%ids] : tensor<32x16xf32>, tensor<1x3xi64> -> tensor<1x3x16xf32>
  %k = llm.linear %e, %w : tensor<1x3x16xf32>, tensor<16x16xf32> -> tensor<1x3x16xf32>
  %a = llm.attention %k, %k, %k {num_heads = 2, num_kv_heads = 2, mask = #llm.mask<causal>}
      : tensor<1x3x16xf32>, tensor<1x3x16xf32>, tensor<1x3x16xf32> -> tensor<1x3x16xf32>
  %half = arith.constant dense<0.5> : tensor<1x3x16xf32>
  %r = arith.mulf %a, %half : tensor<1x3x16xf32>
  return %r : tensor<1x3x16xf32>
}

// -----

// A constant that is not a splat cannot take the decode shape: the pass
// says so instead of emitting a function that does not verify.
// expected-error @+1 {{'func.func' op llm-insert-kv-cache: cannot derive the decode entry point 'table_decode' for 4 sequences of one token (see the diagnostics above)}}
func.func @table(%q: tensor<1x2x16xf32>) -> tensor<1x2x16xf32> {
  %a = llm.attention %q, %q, %q {num_heads = 2, num_kv_heads = 2, mask = #llm.mask<causal>}
      : tensor<1x2x16xf32>, tensor<1x2x16xf32>, tensor<1x2x16xf32> -> tensor<1x2x16xf32>
  %c = arith.constant dense<[[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
                              [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]]]> : tensor<1x2x16xf32>
  // expected-error @+1 {{'arith.addf' op requires the same type for all operands and results}}
  %r = arith.addf %a, %c : tensor<1x2x16xf32>
  return %r : tensor<1x2x16xf32>
}

// -----

// The decode entry point's name must be free.
func.func @taken_decode() {
  return
}
// expected-error @+1 {{'func.func' op llm-insert-kv-cache: expected no function named 'taken_decode' (the decode entry point)}}
func.func @taken(%q: tensor<1x2x16xf32>) -> tensor<1x2x16xf32> {
  %a = llm.attention %q, %q, %q {num_heads = 2, num_kv_heads = 2, mask = #llm.mask<causal>}
      : tensor<1x2x16xf32>, tensor<1x2x16xf32>, tensor<1x2x16xf32> -> tensor<1x2x16xf32>
  return %a : tensor<1x2x16xf32>
}
