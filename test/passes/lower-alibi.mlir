// RUN: llm-opt %s --llm-lower-alibi | FileCheck %s
// RUN: llm-opt %s --llm-lower-alibi --mlir-print-elementsattrs-with-hex-if-larger=0 | FileCheck %s --check-prefix=HEX

// An ALiBi bias becomes per-head slopes, the values of llmk_alibi_slopes
// bit for bit (the HEX lines hold their little-endian f32 bytes), and the
// materialized [heads, q_len, kv_len] bias disappears.

// 8 heads (a power of two): 2^(-8 (h + 1) / 8) = 1/2, 1/4, ..., 1/256.
// CHECK-LABEL: func.func @flash_8_heads(
// CHECK-SAME:    %[[Q:[a-z0-9_]+]]: tensor<1x16x512xf32>)
// CHECK-NEXT:    %[[S:.*]] = arith.constant dense<[5.000000e-01, 2.500000e-01, 1.250000e-01, 6.250000e-02, 3.125000e-02, 1.562500e-02, 7.812500e-03, 3.906250e-03]> : tensor<8xf32>
// CHECK-NEXT:    %[[O:.*]] = llm.flash_attention %[[Q]], %[[Q]], %[[Q]] alibi_slopes(%[[S]] : tensor<8xf32>) {block_kv = 32 : i64, mask = #llm.mask<causal>, num_heads = 8 : i64, num_kv_heads = 8 : i64, scale = 1.250000e-01 : f64} :
// CHECK-SAME:      tensor<1x16x512xf32>, tensor<1x16x512xf32>, tensor<1x16x512xf32> -> tensor<1x16x512xf32>
// CHECK-NEXT:    return %[[O]]
// HEX-LABEL: func.func @flash_8_heads(
// HEX:         arith.constant dense<"0x0000003F0000803E0000003E0000803D0000003D0000803C0000003C0000803B"> : tensor<8xf32>
func.func @flash_8_heads(%q: tensor<1x16x512xf32>) -> tensor<1x16x512xf32> {
  %bias = llm.alibi : tensor<8x16x16xf32>
  %o = llm.flash_attention %q, %q, %q bias(%bias : tensor<8x16x16xf32>)
      {num_heads = 8, num_kv_heads = 8, scale = 0.125, mask = #llm.mask<causal>, block_kv = 32}
      : tensor<1x16x512xf32>, tensor<1x16x512xf32>, tensor<1x16x512xf32> -> tensor<1x16x512xf32>
  return %o : tensor<1x16x512xf32>
}

// 12 heads (BLOOM-style, not a power of two): the 8 slopes of 8 heads, then
// the odd powers of 2^(-8 / 16): 2^-0.5, 2^-1.5, 2^-2.5, 2^-3.5. llm.attention
// becomes llm.flash_attention with its effective scale 1/sqrt(head_dim).
// One bias shared by two layers goes away with its last user.
// CHECK-LABEL: func.func @attention_12_heads(
// CHECK-SAME:    %[[Q:[a-z0-9_]+]]: tensor<1x4x96xf32>, %[[K:[a-z0-9_]+]]: tensor<1x4x48xf32>)
// CHECK-NOT:     llm.alibi
// CHECK:         %[[S:.*]] = arith.constant dense<[5.000000e-01, 2.500000e-01, 1.250000e-01, 6.250000e-02, 3.125000e-02, 1.562500e-02, 7.812500e-03, 3.906250e-03, 0.707106769, 0.353553385, 0.176776677, 0.0883883387]> : tensor<12xf32>
// CHECK-NOT:     llm.alibi
// CHECK:         %[[A:.*]] = llm.flash_attention %[[Q]], %[[K]], %[[K]] alibi_slopes(%[[S]] : tensor<12xf32>) {mask = #llm.mask<causal>, num_heads = 12 : i64, num_kv_heads = 6 : i64, scale = 0.35355339059327373 : f64} :
// CHECK-SAME:      tensor<1x4x96xf32>, tensor<1x4x48xf32>, tensor<1x4x48xf32> -> tensor<1x4x96xf32>
// CHECK-NEXT:    %[[B:.*]] = llm.flash_attention %[[A]], %[[K]], %[[K]] alibi_slopes(%[[S]] : tensor<12xf32>) {mask = #llm.mask<sliding_window>, num_heads = 12 : i64, num_kv_heads = 6 : i64, scale = 5.000000e-01 : f64, window = 2 : i64} :
// CHECK-NEXT:    return %[[B]]
// HEX-LABEL: func.func @attention_12_heads(
// HEX:         arith.constant dense<"0x0000003F0000803E0000003E0000803D0000003D0000803C0000003C0000803BF304353FF304B53EF204353EF204B53D"> : tensor<12xf32>
func.func @attention_12_heads(%q: tensor<1x4x96xf32>, %k: tensor<1x4x48xf32>) -> tensor<1x4x96xf32> {
  %bias = llm.alibi : tensor<12x4x4xf32>
  %a = llm.attention %q, %k, %k bias(%bias : tensor<12x4x4xf32>)
      {num_heads = 12, num_kv_heads = 6, mask = #llm.mask<causal>}
      : tensor<1x4x96xf32>, tensor<1x4x48xf32>, tensor<1x4x48xf32> -> tensor<1x4x96xf32>
  %b = llm.attention %a, %k, %k bias(%bias : tensor<12x4x4xf32>)
      {num_heads = 12, num_kv_heads = 6, scale = 0.5, mask = #llm.mask<sliding_window>, window = 2}
      : tensor<1x4x96xf32>, tensor<1x4x48xf32>, tensor<1x4x48xf32> -> tensor<1x4x96xf32>
  return %b : tensor<1x4x96xf32>
}

// A larger max_bias, a bias expanded to [1, heads, q_len, kv_len], and the
// key padding carried over.
// CHECK-LABEL: func.func @expanded_bias_max_bias_16(
// CHECK-SAME:    %[[Q:[a-z0-9_]+]]: tensor<1x4x32xf32>, %[[PAD:[a-z0-9_]+]]: tensor<1x4xi1>)
// CHECK-NEXT:    %[[S:.*]] = arith.constant dense<[6.250000e-02, 3.906250e-03, 2.44140625E-4, 1.52587891E-5]> : tensor<4xf32>
// CHECK-NEXT:    llm.flash_attention %[[Q]], %[[Q]], %[[Q]] key_padding(%[[PAD]] : tensor<1x4xi1>) alibi_slopes(%[[S]] : tensor<4xf32>) {mask = #llm.mask<padding>, num_heads = 4 : i64, num_kv_heads = 4 : i64, scale = 1.000000e+00 : f64}
// CHECK-NEXT:    return
func.func @expanded_bias_max_bias_16(%q: tensor<1x4x32xf32>, %pad: tensor<1x4xi1>) -> tensor<1x4x32xf32> {
  %alibi = llm.alibi {max_bias = 16.0} : tensor<4x4x4xf32>
  %bias = tensor.expand_shape %alibi [[0, 1], [2], [3]] output_shape [1, 4, 4, 4] : tensor<4x4x4xf32> into tensor<1x4x4x4xf32>
  %o = llm.flash_attention %q, %q, %q key_padding(%pad : tensor<1x4xi1>) bias(%bias : tensor<1x4x4x4xf32>)
      {num_heads = 4, num_kv_heads = 4, scale = 1.0, mask = #llm.mask<padding>}
      : tensor<1x4x32xf32>, tensor<1x4x32xf32>, tensor<1x4x32xf32> -> tensor<1x4x32xf32>
  return %o : tensor<1x4x32xf32>
}

// A one-head bias broadcast to every head: every head gets its slope.
// CHECK-LABEL: func.func @broadcast_head(
// CHECK-NEXT:    arith.constant dense<3.906250e-03> : tensor<4xf32>
// CHECK-NEXT:    llm.flash_attention
// CHECK-NEXT:    return
func.func @broadcast_head(%q: tensor<1x4x32xf32>) -> tensor<1x4x32xf32> {
  %bias = llm.alibi : tensor<1x4x4xf32>
  %o = llm.attention %q, %q, %q bias(%bias : tensor<1x4x4xf32>)
      {num_heads = 4, num_kv_heads = 4, mask = #llm.mask<bidirectional>}
      : tensor<1x4x32xf32>, tensor<1x4x32xf32>, tensor<1x4x32xf32> -> tensor<1x4x32xf32>
  return %o : tensor<1x4x32xf32>
}

// Left alone: a bias that is not ALiBi, attention without a bias, and
// attention that already has slopes. An ALiBi bias that something else
// also reads stays for that reader.
// CHECK-LABEL: func.func @unchanged(
// CHECK-SAME:    %[[Q:[a-z0-9_]+]]: tensor<1x4x32xf32>, %[[T:[a-z0-9_]+]]: tensor<32x4xf32>, %[[S:[a-z0-9_]+]]: tensor<4xf32>, %[[B:[a-z0-9_]+]]: tensor<4x4x4xf32>)
// CHECK:         %[[REL:.*]] = llm.relative_position_bias %[[T]]
// CHECK-NEXT:    llm.attention %[[Q]], %[[Q]], %[[Q]] bias(%[[REL]] : tensor<4x4x4xf32>)
// CHECK-NEXT:    llm.attention %[[Q]], %[[Q]], %[[Q]] {
// CHECK-NEXT:    llm.flash_attention %[[Q]], %[[Q]], %[[Q]] bias(%[[B]] : tensor<4x4x4xf32>) alibi_slopes(%[[S]] : tensor<4xf32>)
// CHECK-NEXT:    %[[ALIBI:.*]] = llm.alibi : tensor<4x4x4xf32>
// CHECK-NEXT:    llm.flash_attention %[[Q]], %[[Q]], %[[Q]] alibi_slopes(
// CHECK-NEXT:    arith.addf %[[ALIBI]], %[[ALIBI]]
// CHECK-NEXT:    return
func.func @unchanged(%q: tensor<1x4x32xf32>, %table: tensor<32x4xf32>, %slopes: tensor<4xf32>, %b: tensor<4x4x4xf32>)
    -> (tensor<1x4x32xf32>, tensor<1x4x32xf32>, tensor<1x4x32xf32>, tensor<1x4x32xf32>, tensor<4x4x4xf32>) {
  %rel = llm.relative_position_bias %table {num_buckets = 32, max_distance = 128} : tensor<32x4xf32> -> tensor<4x4x4xf32>
  %a = llm.attention %q, %q, %q bias(%rel : tensor<4x4x4xf32>) {num_heads = 4, num_kv_heads = 4, mask = #llm.mask<causal>}
      : tensor<1x4x32xf32>, tensor<1x4x32xf32>, tensor<1x4x32xf32> -> tensor<1x4x32xf32>
  %b0 = llm.attention %q, %q, %q {num_heads = 4, num_kv_heads = 4, mask = #llm.mask<causal>}
      : tensor<1x4x32xf32>, tensor<1x4x32xf32>, tensor<1x4x32xf32> -> tensor<1x4x32xf32>
  %c = llm.flash_attention %q, %q, %q bias(%b : tensor<4x4x4xf32>) alibi_slopes(%slopes : tensor<4xf32>)
      {num_heads = 4, num_kv_heads = 4, scale = 0.25, mask = #llm.mask<causal>}
      : tensor<1x4x32xf32>, tensor<1x4x32xf32>, tensor<1x4x32xf32> -> tensor<1x4x32xf32>
  %alibi = llm.alibi : tensor<4x4x4xf32>
  %d = llm.attention %q, %q, %q bias(%alibi : tensor<4x4x4xf32>) {num_heads = 4, num_kv_heads = 4, mask = #llm.mask<causal>}
      : tensor<1x4x32xf32>, tensor<1x4x32xf32>, tensor<1x4x32xf32> -> tensor<1x4x32xf32>
  %e = arith.addf %alibi, %alibi : tensor<4x4x4xf32>
  return %a, %b0, %c, %d, %e : tensor<1x4x32xf32>, tensor<1x4x32xf32>, tensor<1x4x32xf32>, tensor<1x4x32xf32>, tensor<4x4x4xf32>
}
