// RUN: llm-opt %s --llm-insert-kv-cache="block-size=4 max-seq-len=10 cache-dtype=f16" --split-input-file --verify-diagnostics | FileCheck %s

// Two layers of GQA attention over the function's own 3 tokens become
// appends to one cache and paged attention over it; the function gains the
// cache, the slots, the block tables (ceil(10 / 4) = 3 blocks) and lengths,
// each marked with its llm.arg_kind for the runtime.

// CHECK-LABEL: func.func @two_layers
// CHECK-SAME: (%[[Q:.*]]: tensor<2x3x64xf32>, %[[K:.*]]: tensor<2x3x32xf32>, %[[V:.*]]: tensor<2x3x32xf32>,
// CHECK-SAME: %[[C:[a-z0-9]+]]: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 16, block_size = 4, dtype = f16> {llm.arg_kind = #llm.arg_kind<kv_cache>},
// CHECK-SAME: %[[S:[a-z0-9]+]]: tensor<2x3xi32> {llm.arg_kind = #llm.arg_kind<slots>}, %[[T:[a-z0-9]+]]: tensor<2x3xi32> {llm.arg_kind = #llm.arg_kind<block_tables>}, %[[L:[a-z0-9]+]]: tensor<2xi32> {llm.arg_kind = #llm.arg_kind<context_lens>})
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

// Encoder-decoder: the decoder's causal self-attention reads the cache with
// T5's bias computed from the cached positions (the table, not the [h, 2, 2]
// bias over the call's own tokens); cross-attention reads a second cache.
// The encoder and the cross keys/values move to @seq2seq_encode, which
// fills that cache once per input; @seq2seq no longer takes the encoder
// ids. The cross-attention block table covers the 5 encoder tokens
// (ceil(5 / 4) = 2 blocks).

// CHECK-LABEL: func.func @seq2seq
// CHECK-SAME: (%[[DEC:[a-z0-9]+]]: tensor<2x2xi64>,
// CHECK-SAME: %[[C:[a-z0-9]+]]: !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 8, block_size = 4, dtype = f16> {llm.arg_kind = #llm.arg_kind<kv_cache>},
// CHECK-SAME: %[[S:[a-z0-9]+]]: tensor<2x2xi32> {llm.arg_kind = #llm.arg_kind<slots>}, %[[T:[a-z0-9]+]]: tensor<2x3xi32> {llm.arg_kind = #llm.arg_kind<block_tables>}, %[[L:[a-z0-9]+]]: tensor<2xi32> {llm.arg_kind = #llm.arg_kind<context_lens>},
// CHECK-SAME: %[[X:[a-z0-9]+]]: !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 8, block_size = 4, dtype = f16> {llm.arg_kind = #llm.arg_kind<cross_cache>},
// CHECK-SAME: %[[XT:[a-z0-9]+]]: tensor<2x2xi32> {llm.arg_kind = #llm.arg_kind<cross_block_tables>}, %[[XL:[a-z0-9]+]]: tensor<2xi32> {llm.arg_kind = #llm.arg_kind<cross_context_lens>}) -> tensor<2x2x16xf32>
// CHECK-NOT: llm.attention
// CHECK-NOT: llm.relative_position_bias
// CHECK: %[[TAB:[a-z0-9]+]] = llm.param "dec.bias"
// CHECK: %[[C0:[a-z0-9]+]] = llm.kv_cache_append %[[C]][%[[S]]]
// CHECK: %[[SA:[a-z0-9]+]] = llm.paged_attention %{{.*}}, %[[C0]], %[[T]], %[[L]] relative_bias_table(%[[TAB]] : tensor<8x2xf32>) {layer = 0 : i64, mask = #llm.mask<causal>, max_distance = 16 : i64, num_buckets = 8 : i64, num_heads = 2 : i64, scale = 1.000000e+00 : f64}
// CHECK: %[[Q:[a-z0-9]+]] = llm.linear %[[SA]]
// CHECK: %[[CA:[a-z0-9]+]] = llm.paged_attention %[[Q]], %[[X]], %[[XT]], %[[XL]] {layer = 0 : i64, mask = #llm.mask<bidirectional>, num_heads = 2 : i64, scale = 1.000000e+00 : f64}
// CHECK: return %[[CA]]

// CHECK-LABEL: func.func @seq2seq_encode
// CHECK-SAME: (%[[ENC:[a-z0-9]+]]: tensor<2x5xi64>,
// CHECK-SAME: %[[X:[a-z0-9]+]]: !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 8, block_size = 4, dtype = f16> {llm.arg_kind = #llm.arg_kind<cross_cache>},
// CHECK-SAME: %[[XS:[a-z0-9]+]]: tensor<2x5xi32> {llm.arg_kind = #llm.arg_kind<cross_slots>}) -> !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 8, block_size = 4, dtype = f16>
// CHECK: llm.embedding %{{.*}}[%[[ENC]]]
// CHECK: llm.relative_position_bias {{.*}}bidirectional
// CHECK: %[[H:[a-z0-9]+]] = llm.attention {{.*}}mask = #llm.mask<bidirectional>
// CHECK: %[[K:[a-z0-9]+]] = llm.linear %[[H]], %{{.*}} : {{.*}} -> tensor<2x5x16xf32>
// CHECK: %[[V:[a-z0-9]+]] = llm.linear %[[H]], %{{.*}} : {{.*}} -> tensor<2x5x16xf32>
// CHECK: %[[X1:[a-z0-9]+]] = llm.kv_cache_append %[[X]][%[[XS]]], %[[K]], %[[V]] {layer = 0 : i64}
// CHECK: return %[[X1]]
func.func @seq2seq(%enc_ids: tensor<2x5xi64>, %dec_ids: tensor<2x2xi64>) -> tensor<2x2x16xf32> {
  %emb = llm.param "shared" : tensor<32x16xf32>
  %w = llm.param "w" : tensor<16x16xf32>
  %e = llm.embedding %emb[%enc_ids] : tensor<32x16xf32>, tensor<2x5xi64> -> tensor<2x5x16xf32>
  %etab = llm.param "enc.bias" : tensor<8x2xf32>
  %ebias = llm.relative_position_bias %etab {bidirectional, max_distance = 16, num_buckets = 8} : tensor<8x2xf32> -> tensor<2x5x5xf32>
  %h = llm.attention %e, %e, %e bias(%ebias : tensor<2x5x5xf32>) {num_heads = 2, num_kv_heads = 2, scale = 1.0, mask = #llm.mask<bidirectional>}
      : tensor<2x5x16xf32>, tensor<2x5x16xf32>, tensor<2x5x16xf32> -> tensor<2x5x16xf32>
  %d = llm.embedding %emb[%dec_ids] : tensor<32x16xf32>, tensor<2x2xi64> -> tensor<2x2x16xf32>
  %dtab = llm.param "dec.bias" : tensor<8x2xf32>
  %dbias = llm.relative_position_bias %dtab {max_distance = 16, num_buckets = 8} : tensor<8x2xf32> -> tensor<2x2x2xf32>
  %sa = llm.attention %d, %d, %d bias(%dbias : tensor<2x2x2xf32>) {num_heads = 2, num_kv_heads = 2, scale = 1.0, mask = #llm.mask<causal>}
      : tensor<2x2x16xf32>, tensor<2x2x16xf32>, tensor<2x2x16xf32> -> tensor<2x2x16xf32>
  %q = llm.linear %sa, %w : tensor<2x2x16xf32>, tensor<16x16xf32> -> tensor<2x2x16xf32>
  %k = llm.linear %h, %w : tensor<2x5x16xf32>, tensor<16x16xf32> -> tensor<2x5x16xf32>
  %v = llm.linear %h, %w : tensor<2x5x16xf32>, tensor<16x16xf32> -> tensor<2x5x16xf32>
  %ca = llm.attention %q, %k, %v {num_heads = 2, num_kv_heads = 2, scale = 1.0, mask = #llm.mask<bidirectional>}
      : tensor<2x2x16xf32>, tensor<2x5x16xf32>, tensor<2x5x16xf32> -> tensor<2x2x16xf32>
  return %ca : tensor<2x2x16xf32>
}

// -----

// A function without attention is left alone.
// CHECK-LABEL: func.func @no_attention(%{{.*}}: tensor<2xf32>) -> tensor<2xf32>
func.func @no_attention(%x: tensor<2xf32>) -> tensor<2xf32> {
  return %x : tensor<2xf32>
}

// -----

// Bidirectional self-attention of one query over one key is the same as
// causal (an imported graph's 1x1 mask cannot say which): served as causal.
// CHECK-LABEL: func.func @one_token
// CHECK: llm.kv_cache_append
// CHECK: llm.paged_attention {{.*}} {layer = 0 : i64, mask = #llm.mask<causal>, num_heads = 4 : i64, scale = 2.500000e-01 : f64}
func.func @one_token(%q: tensor<1x1x64xf32>) -> tensor<1x1x64xf32> {
  %a = llm.attention %q, %q, %q {num_heads = 4, num_kv_heads = 4, mask = #llm.mask<bidirectional>}
      : tensor<1x1x64xf32>, tensor<1x1x64xf32>, tensor<1x1x64xf32> -> tensor<1x1x64xf32>
  return %a : tensor<1x1x64xf32>
}

// -----

func.func @bidirectional(%q: tensor<1x2x64xf32>) -> tensor<1x2x64xf32> {
  // expected-error @+1 {{'llm.attention' op llm-insert-kv-cache: expected causal or sliding-window attention, or bidirectional cross-attention whose keys and values do not depend on the query's tokens, found mask 'bidirectional' over the query's own tokens}}
  %a = llm.attention %q, %q, %q {num_heads = 4, num_kv_heads = 4, mask = #llm.mask<bidirectional>}
      : tensor<1x2x64xf32>, tensor<1x2x64xf32>, tensor<1x2x64xf32> -> tensor<1x2x64xf32>
  return %a : tensor<1x2x64xf32>
}

// -----

func.func @bias(%q: tensor<1x2x64xf32>, %b: tensor<4x2x2xf32>) -> tensor<1x2x64xf32> {
  // expected-error @+1 {{'llm.attention' op llm-insert-kv-cache: attention with a key_padding or bias operand cannot use the cache (run llm-lower-alibi for ALiBi; a relative position bias must come from llm.relative_position_bias)}}
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

// -----

// Bidirectional attention whose keys come from the query's own tokens (an
// encoder) cannot be cached.
func.func @encoder_only(%x: tensor<1x2x64xf32>) -> tensor<1x2x64xf32> {
  // expected-error @+1 {{'llm.attention' op llm-insert-kv-cache: expected causal or sliding-window attention, or bidirectional cross-attention whose keys and values do not depend on the query's tokens, found mask 'bidirectional' over the query's own tokens}}
  %a = llm.attention %x, %x, %x {num_heads = 4, num_kv_heads = 4, mask = #llm.mask<bidirectional>}
      : tensor<1x2x64xf32>, tensor<1x2x64xf32>, tensor<1x2x64xf32> -> tensor<1x2x64xf32>
  return %a : tensor<1x2x64xf32>
}

// -----

// Cross-attention with a bias tensor has no cached form.
func.func @cross_bias(%q: tensor<1x2x64xf32>, %kv: tensor<1x5x64xf32>, %b: tensor<4x2x5xf32>) -> tensor<1x2x64xf32> {
  // expected-error @+1 {{'llm.attention' op llm-insert-kv-cache: attention with a key_padding or bias operand cannot use the cache (run llm-lower-alibi for ALiBi; a relative position bias must come from llm.relative_position_bias)}}
  %a = llm.attention %q, %kv, %kv bias(%b : tensor<4x2x5xf32>) {num_heads = 4, num_kv_heads = 4, mask = #llm.mask<bidirectional>}
      : tensor<1x2x64xf32>, tensor<1x5x64xf32>, tensor<1x5x64xf32> -> tensor<1x2x64xf32>
  return %a : tensor<1x2x64xf32>
}

// -----

// Cross-attention layers must share one cache geometry.
func.func @cross_disagree(%q: tensor<1x2x64xf32>, %kv: tensor<1x5x64xf32>, %kv2: tensor<1x5x32xf32>) -> tensor<1x2x64xf32> {
  %a = llm.attention %q, %kv, %kv {num_heads = 4, num_kv_heads = 4, mask = #llm.mask<bidirectional>}
      : tensor<1x2x64xf32>, tensor<1x5x64xf32>, tensor<1x5x64xf32> -> tensor<1x2x64xf32>
  // expected-error @+1 {{'llm.attention' op llm-insert-kv-cache: expected every cross-attention layer to have 4 kv heads of 16 features over [1, 5] tokens}}
  %b = llm.attention %a, %kv2, %kv2 {num_heads = 4, num_kv_heads = 2, mask = #llm.mask<bidirectional>}
      : tensor<1x2x64xf32>, tensor<1x5x32xf32>, tensor<1x5x32xf32> -> tensor<1x2x64xf32>
  return %b : tensor<1x2x64xf32>
}

// -----

// The encoder entry point's name must be free.
func.func @taken_encode() {
  return
}
// expected-error @+1 {{'func.func' op llm-insert-kv-cache: expected no function named 'taken_encode' (the encoder entry point)}}
func.func @taken(%q: tensor<1x2x64xf32>, %kv: tensor<1x5x64xf32>) -> tensor<1x2x64xf32> {
  %a = llm.attention %q, %kv, %kv {num_heads = 4, num_kv_heads = 4, mask = #llm.mask<bidirectional>}
      : tensor<1x2x64xf32>, tensor<1x5x64xf32>, tensor<1x5x64xf32> -> tensor<1x2x64xf32>
  return %a : tensor<1x2x64xf32>
}
