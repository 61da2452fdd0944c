// RUN: llm-opt %s --llm-insert-kv-cache="block-size=4 max-seq-len=10 cache-dtype=f16" --split-input-file --verify-diagnostics | FileCheck %s

// Two layers of GQA attention over the function's own 3 tokens become
// appends to one cache and paged attention over it; the function gains the
// cache, the slots, the block tables (ceil(10 / 4) = 3 blocks) and lengths.

// CHECK-LABEL: func.func @two_layers
// CHECK-SAME: (%[[Q:.*]]: tensor<2x3x64xf32>, %[[K:.*]]: tensor<2x3x32xf32>, %[[V:.*]]: tensor<2x3x32xf32>,
// CHECK-SAME: %[[C:.*]]: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 16, block_size = 4, dtype = f16>,
// CHECK-SAME: %[[S:.*]]: tensor<2x3xi32>, %[[T:.*]]: tensor<2x3xi32>, %[[L:.*]]: tensor<2xi32>)
// CHECK: %[[C0:.*]] = llm.kv_cache_append %[[C]][%[[S]]], %[[K]], %[[V]] {layer = 0 : i64}
// CHECK: %[[A0:.*]] = llm.paged_attention %[[Q]], %[[C0]], %[[T]], %[[L]] {layer = 0 : i64, mask = #llm.mask<causal>, num_heads = 4 : i64, scale = 2.500000e-01 : f64}
// CHECK: %[[C1:.*]] = llm.kv_cache_append %[[C0]][%[[S]]], %[[K]], %[[V]] {layer = 1 : i64}
// CHECK: %[[A1:.*]] = llm.paged_attention %[[A0]], %[[C1]], %[[T]], %[[L]] {layer = 1 : i64, mask = #llm.mask<sliding_window>, num_heads = 4 : i64, scale = 5.000000e-01 : f64, window = 2 : i64}
// CHECK: return %[[A1]]
// CHECK-NOT: llm.attention
func.func @two_layers(%q: tensor<2x3x64xf32>, %k: tensor<2x3x32xf32>, %v: tensor<2x3x32xf32>) -> tensor<2x3x64xf32> {
  %a = llm.attention %q, %k, %v {num_heads = 4, num_kv_heads = 2, mask = #llm.mask<causal>}
      : tensor<2x3x64xf32>, tensor<2x3x32xf32>, tensor<2x3x32xf32> -> tensor<2x3x64xf32>
  %b = llm.attention %a, %k, %v {num_heads = 4, num_kv_heads = 2, scale = 0.5, mask = #llm.mask<sliding_window>, window = 2}
      : tensor<2x3x64xf32>, tensor<2x3x32xf32>, tensor<2x3x32xf32> -> tensor<2x3x64xf32>
  return %b : tensor<2x3x64xf32>
}

// -----

// ALiBi slopes (after llm-lower-alibi) are carried to the paged attention.
// CHECK-LABEL: func.func @alibi_slopes
// CHECK: llm.paged_attention {{.*}} alibi_slopes(%{{.*}} : tensor<4xf32>)
func.func @alibi_slopes(%q: tensor<1x2x64xf32>, %s: tensor<4xf32>) -> tensor<1x2x64xf32> {
  %a = llm.flash_attention %q, %q, %q alibi_slopes(%s : tensor<4xf32>) {num_heads = 4, num_kv_heads = 4, scale = 0.25, mask = #llm.mask<causal>}
      : tensor<1x2x64xf32>, tensor<1x2x64xf32>, tensor<1x2x64xf32> -> tensor<1x2x64xf32>
  return %a : tensor<1x2x64xf32>
}

// -----

// A function without attention is left alone.
// CHECK-LABEL: func.func @no_attention(%{{.*}}: tensor<2xf32>) -> tensor<2xf32>
func.func @no_attention(%x: tensor<2xf32>) -> tensor<2xf32> {
  return %x : tensor<2xf32>
}

// -----

func.func @bidirectional(%q: tensor<1x2x64xf32>) -> tensor<1x2x64xf32> {
  // expected-error @+1 {{'llm.attention' op llm-insert-kv-cache: expected causal or sliding-window attention, found mask 'bidirectional'}}
  %a = llm.attention %q, %q, %q {num_heads = 4, num_kv_heads = 4, mask = #llm.mask<bidirectional>}
      : tensor<1x2x64xf32>, tensor<1x2x64xf32>, tensor<1x2x64xf32> -> tensor<1x2x64xf32>
  return %a : tensor<1x2x64xf32>
}

// -----

func.func @bias(%q: tensor<1x2x64xf32>, %b: tensor<4x2x2xf32>) -> tensor<1x2x64xf32> {
  // expected-error @+1 {{'llm.attention' op llm-insert-kv-cache: attention with a key_padding or bias operand cannot use the cache (run llm-lower-alibi for ALiBi)}}
  %a = llm.attention %q, %q, %q bias(%b : tensor<4x2x2xf32>) {num_heads = 4, num_kv_heads = 4, mask = #llm.mask<causal>}
      : tensor<1x2x64xf32>, tensor<1x2x64xf32>, tensor<1x2x64xf32> -> tensor<1x2x64xf32>
  return %a : tensor<1x2x64xf32>
}

// -----

func.func @cross_attention(%q: tensor<1x2x64xf32>, %kv: tensor<1x5x64xf32>) -> tensor<1x2x64xf32> {
  // expected-error @+1 {{'llm.attention' op llm-insert-kv-cache: expected attention over the function's own tokens (q_len == kv_len), found q_len = 2, kv_len = 5}}
  %a = llm.attention %q, %kv, %kv {num_heads = 4, num_kv_heads = 4, mask = #llm.mask<causal>}
      : tensor<1x2x64xf32>, tensor<1x5x64xf32>, tensor<1x5x64xf32> -> tensor<1x2x64xf32>
  return %a : tensor<1x2x64xf32>
}

// -----

func.func @layers_disagree(%q: tensor<1x2x64xf32>, %k: tensor<1x2x32xf32>) -> tensor<1x2x64xf32> {
  %a = llm.attention %q, %q, %q {num_heads = 4, num_kv_heads = 4, mask = #llm.mask<causal>}
      : tensor<1x2x64xf32>, tensor<1x2x64xf32>, tensor<1x2x64xf32> -> tensor<1x2x64xf32>
  // expected-error @+1 {{'llm.attention' op llm-insert-kv-cache: expected every layer to have 4 kv heads of 16 features over [1, 2] tokens}}
  %b = llm.attention %a, %k, %k {num_heads = 4, num_kv_heads = 2, mask = #llm.mask<causal>}
      : tensor<1x2x64xf32>, tensor<1x2x32xf32>, tensor<1x2x32xf32> -> tensor<1x2x64xf32>
  return %b : tensor<1x2x64xf32>
}
