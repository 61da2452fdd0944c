// RUN: llm-opt %s --llm-fuse-attention | FileCheck %s
// RUN: llm-opt %s --llm-fuse-attention="block-q=32 block-kv=16" | FileCheck %s --check-prefix=BLOCKS
// RUN: not llm-opt %s --llm-fuse-attention="block-q=0" 2>&1 | FileCheck %s --check-prefix=BAD-BLOCK

// BAD-BLOCK: error: llm-fuse-attention: expected block-q > 0 and block-kv > 0, found block-q = 0, block-kv = 64

// Each recognized spelling of decomposed attention becomes one
// llm.flash_attention over the packed q, k and v, and every decomposed op
// goes away; each form whose result could differ is left unchanged.

// The importer's form (HFImportOptions::decomposeAttention) for a
// grouped-query model without bias: the scale on the query heads, the kv
// heads repeated, an additive causal mask.
// CHECK-LABEL: func.func @gqa_causal_scaled_query(
// CHECK-SAME:    %[[Q:[a-z0-9_]+]]: tensor<1x4x32xf32>, %[[K:[a-z0-9_]+]]: tensor<1x4x16xf32>, %[[V:[a-z0-9_]+]]: tensor<1x4x16xf32>)
// CHECK-NEXT:    %[[O:.*]] = llm.flash_attention %[[Q]], %[[K]], %[[V]] {mask = #llm.mask<causal>, num_heads = 4 : i64, num_kv_heads = 2 : i64, scale = 0.3535533{{[0-9]*}} : f64} :
// CHECK-SAME:      tensor<1x4x32xf32>, tensor<1x4x16xf32>, tensor<1x4x16xf32> -> tensor<1x4x32xf32>
// CHECK-NEXT:    return %[[O]]
// BLOCKS-LABEL: func.func @gqa_causal_scaled_query(
// BLOCKS:         llm.flash_attention {{.*}}{block_kv = 16 : i64, block_q = 32 : i64, mask = #llm.mask<causal>, num_heads = 4 : i64, num_kv_heads = 2 : i64,
func.func @gqa_causal_scaled_query(%q: tensor<1x4x32xf32>, %k: tensor<1x4x16xf32>, %v: tensor<1x4x16xf32>) -> tensor<1x4x32xf32> {
  %qh = llm.split_heads %q {num_heads = 4} : tensor<1x4x32xf32> -> tensor<1x4x4x8xf32>
  %kh = llm.split_heads %k {num_heads = 2} : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %vh = llm.split_heads %v {num_heads = 2} : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %kr = llm.repeat_kv %kh {repeats = 2} : tensor<1x2x4x8xf32> -> tensor<1x4x4x8xf32>
  %vr = llm.repeat_kv %vh {repeats = 2} : tensor<1x2x4x8xf32> -> tensor<1x4x4x8xf32>
  %c = arith.constant dense<0.353553385> : tensor<1x4x4x8xf32>
  %qs = arith.mulf %qh, %c : tensor<1x4x4x8xf32>
  %s = llm.matmul %qs, %kr {transpose_rhs} : tensor<1x4x4x8xf32>, tensor<1x4x4x8xf32> -> tensor<1x4x4x4xf32>
  %mask = arith.constant dense<[[[[0.0, 0xFF800000, 0xFF800000, 0xFF800000], [0.0, 0.0, 0xFF800000, 0xFF800000], [0.0, 0.0, 0.0, 0xFF800000], [0.0, 0.0, 0.0, 0.0]], [[0.0, 0xFF800000, 0xFF800000, 0xFF800000], [0.0, 0.0, 0xFF800000, 0xFF800000], [0.0, 0.0, 0.0, 0xFF800000], [0.0, 0.0, 0.0, 0.0]], [[0.0, 0xFF800000, 0xFF800000, 0xFF800000], [0.0, 0.0, 0xFF800000, 0xFF800000], [0.0, 0.0, 0.0, 0xFF800000], [0.0, 0.0, 0.0, 0.0]], [[0.0, 0xFF800000, 0xFF800000, 0xFF800000], [0.0, 0.0, 0xFF800000, 0xFF800000], [0.0, 0.0, 0.0, 0xFF800000], [0.0, 0.0, 0.0, 0.0]]]]> : tensor<1x4x4x4xf32>
  %sm = arith.addf %s, %mask : tensor<1x4x4x4xf32>
  %p = llm.softmax %sm {axis = 3} : tensor<1x4x4x4xf32>
  %o = llm.matmul %p, %vr : tensor<1x4x4x4xf32>, tensor<1x4x4x8xf32> -> tensor<1x4x4x8xf32>
  %m = llm.merge_heads %o : tensor<1x4x4x8xf32> -> tensor<1x4x32xf32>
  return %m : tensor<1x4x32xf32>
}

// Multi-query attention (one kv head), the mask added on the left.
// CHECK-LABEL: func.func @mqa(
// CHECK-NEXT:    llm.flash_attention %{{.*}} {mask = #llm.mask<causal>, num_heads = 4 : i64, num_kv_heads = 1 : i64, scale = 1.250000e-01 : f64} :
// CHECK-SAME:      tensor<1x4x32xf32>, tensor<1x4x8xf32>, tensor<1x4x8xf32> -> tensor<1x4x32xf32>
// CHECK-NEXT:    return
func.func @mqa(%q: tensor<1x4x32xf32>, %k: tensor<1x4x8xf32>, %v: tensor<1x4x8xf32>) -> tensor<1x4x32xf32> {
  %qh = llm.split_heads %q {num_heads = 4} : tensor<1x4x32xf32> -> tensor<1x4x4x8xf32>
  %kh = llm.split_heads %k {num_heads = 1} : tensor<1x4x8xf32> -> tensor<1x1x4x8xf32>
  %vh = llm.split_heads %v {num_heads = 1} : tensor<1x4x8xf32> -> tensor<1x1x4x8xf32>
  %kr = llm.repeat_kv %kh {repeats = 4} : tensor<1x1x4x8xf32> -> tensor<1x4x4x8xf32>
  %vr = llm.repeat_kv %vh {repeats = 4} : tensor<1x1x4x8xf32> -> tensor<1x4x4x8xf32>
  %s = llm.matmul %qh, %kr {transpose_rhs} : tensor<1x4x4x8xf32>, tensor<1x4x4x8xf32> -> tensor<1x4x4x4xf32>
  %c = arith.constant dense<0.125> : tensor<1x4x4x4xf32>
  %ss = arith.mulf %s, %c : tensor<1x4x4x4xf32>
  %mask = arith.constant dense<[[[[0.0, 0xFF800000, 0xFF800000, 0xFF800000], [0.0, 0.0, 0xFF800000, 0xFF800000], [0.0, 0.0, 0.0, 0xFF800000], [0.0, 0.0, 0.0, 0.0]], [[0.0, 0xFF800000, 0xFF800000, 0xFF800000], [0.0, 0.0, 0xFF800000, 0xFF800000], [0.0, 0.0, 0.0, 0xFF800000], [0.0, 0.0, 0.0, 0.0]], [[0.0, 0xFF800000, 0xFF800000, 0xFF800000], [0.0, 0.0, 0xFF800000, 0xFF800000], [0.0, 0.0, 0.0, 0xFF800000], [0.0, 0.0, 0.0, 0.0]], [[0.0, 0xFF800000, 0xFF800000, 0xFF800000], [0.0, 0.0, 0xFF800000, 0xFF800000], [0.0, 0.0, 0.0, 0xFF800000], [0.0, 0.0, 0.0, 0.0]]]]> : tensor<1x4x4x4xf32>
  %sm = arith.addf %mask, %ss : tensor<1x4x4x4xf32>
  %p = llm.softmax %sm {axis = 3} : tensor<1x4x4x4xf32>
  %o = llm.matmul %p, %vr : tensor<1x4x4x4xf32>, tensor<1x4x4x8xf32> -> tensor<1x4x4x8xf32>
  %m = llm.merge_heads %o : tensor<1x4x4x8xf32> -> tensor<1x4x32xf32>
  return %m : tensor<1x4x32xf32>
}

// No mask and the scores divided by sqrt(head_dim): bidirectional (BERT).
// CHECK-LABEL: func.func @bidirectional_divided(
// CHECK-SAME:    %[[Q:[a-z0-9_]+]]: tensor<1x4x16xf32>, %[[K:[a-z0-9_]+]]: tensor<1x6x16xf32>, %[[V:[a-z0-9_]+]]: tensor<1x6x32xf32>)
// CHECK-NEXT:    llm.flash_attention %[[Q]], %[[K]], %[[V]] {mask = #llm.mask<bidirectional>, num_heads = 2 : i64, num_kv_heads = 2 : i64, scale = 2.500000e-01 : f64} :
// CHECK-SAME:      tensor<1x4x16xf32>, tensor<1x6x16xf32>, tensor<1x6x32xf32> -> tensor<1x4x32xf32>
// CHECK-NEXT:    return
func.func @bidirectional_divided(%q: tensor<1x4x16xf32>, %k: tensor<1x6x16xf32>, %v: tensor<1x6x32xf32>) -> tensor<1x4x32xf32> {
  %qh = llm.split_heads %q {num_heads = 2} : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %kh = llm.split_heads %k {num_heads = 2} : tensor<1x6x16xf32> -> tensor<1x2x6x8xf32>
  %vh = llm.split_heads %v {num_heads = 2} : tensor<1x6x32xf32> -> tensor<1x2x6x16xf32>
  %s = llm.matmul %qh, %kh {transpose_rhs} : tensor<1x2x4x8xf32>, tensor<1x2x6x8xf32> -> tensor<1x2x4x6xf32>
  %c = arith.constant dense<4.0> : tensor<1x2x4x6xf32>
  %sd = arith.divf %s, %c : tensor<1x2x4x6xf32>
  %p = llm.softmax %sd {axis = 3} : tensor<1x2x4x6xf32>
  %o = llm.matmul %p, %vh : tensor<1x2x4x6xf32>, tensor<1x2x6x16xf32> -> tensor<1x2x4x16xf32>
  %m = llm.merge_heads %o : tensor<1x2x4x16xf32> -> tensor<1x4x32xf32>
  return %m : tensor<1x4x32xf32>
}

// An all-zero mask hides nothing: bidirectional, and no scale at all means
// a scale of 1 (T5).
// CHECK-LABEL: func.func @zero_mask_unscaled(
// CHECK-NEXT:    llm.flash_attention %{{.*}} {mask = #llm.mask<bidirectional>, num_heads = 2 : i64, num_kv_heads = 2 : i64, scale = 1.000000e+00 : f64}
// CHECK-NEXT:    return
func.func @zero_mask_unscaled(%q: tensor<1x4x16xf32>) -> tensor<1x4x16xf32> {
  %qh = llm.split_heads %q {num_heads = 2} : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %s = llm.matmul %qh, %qh {transpose_rhs} : tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x4xf32>
  %zero = arith.constant dense<0.0> : tensor<1x2x4x4xf32>
  %sm = arith.addf %s, %zero : tensor<1x2x4x4xf32>
  %p = llm.softmax %sm {axis = 3} : tensor<1x2x4x4xf32>
  %o = llm.matmul %p, %qh : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  %m = llm.merge_heads %o : tensor<1x2x4x8xf32> -> tensor<1x4x16xf32>
  return %m : tensor<1x4x16xf32>
}

// Causal with fewer queries than keys (the queries are the last
// positions), masked with float32's lowest value as transformers does, and
// the scale as a splat on the left of the multiplication.
// CHECK-LABEL: func.func @causal_offset_finite_mask(
// CHECK-NEXT:    llm.flash_attention %{{.*}} {mask = #llm.mask<causal>, num_heads = 2 : i64, num_kv_heads = 2 : i64, scale = 5.000000e-01 : f64} :
// CHECK-SAME:      tensor<1x2x16xf32>, tensor<1x4x16xf32>, tensor<1x4x16xf32> -> tensor<1x2x16xf32>
// CHECK-NEXT:    return
func.func @causal_offset_finite_mask(%q: tensor<1x2x16xf32>, %k: tensor<1x4x16xf32>, %v: tensor<1x4x16xf32>) -> tensor<1x2x16xf32> {
  %qh = llm.split_heads %q {num_heads = 2} : tensor<1x2x16xf32> -> tensor<1x2x2x8xf32>
  %kh = llm.split_heads %k {num_heads = 2} : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %vh = llm.split_heads %v {num_heads = 2} : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %s = llm.matmul %qh, %kh {transpose_rhs} : tensor<1x2x2x8xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x2x4xf32>
  %c = arith.constant dense<0.5> : tensor<1x2x2x4xf32>
  %ss = arith.mulf %c, %s : tensor<1x2x2x4xf32>
  %mask = arith.constant dense<[[[[0.0, 0.0, 0.0, -3.40282347E+38], [0.0, 0.0, 0.0, 0.0]], [[0.0, 0.0, 0.0, -3.40282347E+38], [0.0, 0.0, 0.0, 0.0]]]]> : tensor<1x2x2x4xf32>
  %sm = arith.addf %ss, %mask : tensor<1x2x2x4xf32>
  %p = llm.softmax %sm {axis = 3} : tensor<1x2x2x4xf32>
  %o = llm.matmul %p, %vh : tensor<1x2x2x4xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x2x8xf32>
  %m = llm.merge_heads %o : tensor<1x2x2x8xf32> -> tensor<1x2x16xf32>
  return %m : tensor<1x2x16xf32>
}

// A sliding window of 2 keys (Mistral), recognized from the constant.
// CHECK-LABEL: func.func @sliding_window(
// CHECK-NEXT:    llm.flash_attention %{{.*}} {mask = #llm.mask<sliding_window>, num_heads = 2 : i64, num_kv_heads = 2 : i64, scale = 1.000000e+00 : f64, window = 2 : i64}
// CHECK-NEXT:    return
func.func @sliding_window(%q: tensor<1x4x16xf32>) -> tensor<1x4x16xf32> {
  %qh = llm.split_heads %q {num_heads = 2} : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %s = llm.matmul %qh, %qh {transpose_rhs} : tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x4xf32>
  %mask = arith.constant dense<[[[[0.0, 0xFF800000, 0xFF800000, 0xFF800000], [0.0, 0.0, 0xFF800000, 0xFF800000], [0xFF800000, 0.0, 0.0, 0xFF800000], [0xFF800000, 0xFF800000, 0.0, 0.0]], [[0.0, 0xFF800000, 0xFF800000, 0xFF800000], [0.0, 0.0, 0xFF800000, 0xFF800000], [0xFF800000, 0.0, 0.0, 0xFF800000], [0xFF800000, 0xFF800000, 0.0, 0.0]]]]> : tensor<1x2x4x4xf32>
  %sm = arith.addf %s, %mask : tensor<1x2x4x4xf32>
  %p = llm.softmax %sm {axis = 3} : tensor<1x2x4x4xf32>
  %o = llm.matmul %p, %qh : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  %m = llm.merge_heads %o : tensor<1x2x4x8xf32> -> tensor<1x4x16xf32>
  return %m : tensor<1x4x16xf32>
}

// The mask as arith.select of an i1 constant: true keeps the score...
// CHECK-LABEL: func.func @select_keep(
// CHECK-NEXT:    llm.flash_attention %{{.*}} {mask = #llm.mask<causal>, num_heads = 2 : i64, num_kv_heads = 2 : i64, scale = 1.250000e-01 : f64}
// CHECK-NEXT:    return
func.func @select_keep(%q: tensor<1x4x16xf32>) -> tensor<1x4x16xf32> {
  %qh = llm.split_heads %q {num_heads = 2} : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %s = llm.matmul %qh, %qh {transpose_rhs} : tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x4xf32>
  %c = arith.constant dense<0.125> : tensor<1x2x4x4xf32>
  %ss = arith.mulf %s, %c : tensor<1x2x4x4xf32>
  %keep = arith.constant dense<[[[[true, false, false, false], [true, true, false, false], [true, true, true, false], [true, true, true, true]], [[true, false, false, false], [true, true, false, false], [true, true, true, false], [true, true, true, true]]]]> : tensor<1x2x4x4xi1>
  %ninf = arith.constant dense<0xFF800000> : tensor<1x2x4x4xf32>
  %sm = arith.select %keep, %ss, %ninf : tensor<1x2x4x4xi1>, tensor<1x2x4x4xf32>
  %p = llm.softmax %sm {axis = 3} : tensor<1x2x4x4xf32>
  %o = llm.matmul %p, %qh : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  %m = llm.merge_heads %o : tensor<1x2x4x8xf32> -> tensor<1x4x16xf32>
  return %m : tensor<1x4x16xf32>
}

// ... or true hides it.
// CHECK-LABEL: func.func @select_hide(
// CHECK-NEXT:    llm.flash_attention %{{.*}} {mask = #llm.mask<causal>, num_heads = 2 : i64, num_kv_heads = 2 : i64, scale = 1.000000e+00 : f64}
// CHECK-NEXT:    return
func.func @select_hide(%q: tensor<1x4x16xf32>) -> tensor<1x4x16xf32> {
  %qh = llm.split_heads %q {num_heads = 2} : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %s = llm.matmul %qh, %qh {transpose_rhs} : tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x4xf32>
  %hide = arith.constant dense<[[[[false, true, true, true], [false, false, true, true], [false, false, false, true], [false, false, false, false]], [[false, true, true, true], [false, false, true, true], [false, false, false, true], [false, false, false, false]]]]> : tensor<1x2x4x4xi1>
  %ninf = arith.constant dense<0xFF800000> : tensor<1x2x4x4xf32>
  %sm = arith.select %hide, %ninf, %s : tensor<1x2x4x4xi1>, tensor<1x2x4x4xf32>
  %p = llm.softmax %sm {axis = 3} : tensor<1x2x4x4xf32>
  %o = llm.matmul %p, %qh : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  %m = llm.merge_heads %o : tensor<1x2x4x8xf32> -> tensor<1x4x16xf32>
  return %m : tensor<1x4x16xf32>
}

// A splat condition keeps every key (bidirectional) without being expanded:
// a [1, 1, 40000, 40000] splat once became 1.6e9 bools (pipeline-fuzzer).
// CHECK-LABEL: func.func @select_splat_keep_all(
// CHECK-NEXT:    llm.flash_attention %{{.*}} {mask = #llm.mask<bidirectional>, num_heads = 1 : i64, num_kv_heads = 1 : i64, scale = 1.000000e+00 : f64}
// CHECK-NEXT:    return
func.func @select_splat_keep_all(%q: tensor<1x40000x8xf32>) -> tensor<1x40000x8xf32> {
  %qh = llm.split_heads %q {num_heads = 1} : tensor<1x40000x8xf32> -> tensor<1x1x40000x8xf32>
  %s = llm.matmul %qh, %qh {transpose_rhs} : tensor<1x1x40000x8xf32>, tensor<1x1x40000x8xf32> -> tensor<1x1x40000x40000xf32>
  %c = arith.constant dense<true> : tensor<1x1x40000x40000xi1>
  %ninf = arith.constant dense<0xFF800000> : tensor<1x1x40000x40000xf32>
  %sm = arith.select %c, %s, %ninf : tensor<1x1x40000x40000xi1>, tensor<1x1x40000x40000xf32>
  %p = llm.softmax %sm {axis = 3} : tensor<1x1x40000x40000xf32>
  %o = llm.matmul %p, %qh : tensor<1x1x40000x40000xf32>, tensor<1x1x40000x8xf32> -> tensor<1x1x40000x8xf32>
  %m = llm.merge_heads %o : tensor<1x1x40000x8xf32> -> tensor<1x40000x8xf32>
  return %m : tensor<1x40000x8xf32>
}

// A splat condition that hides every key is not a mask the fused op has.
// CHECK-LABEL: func.func @select_splat_hide_all(
// CHECK-NOT:     llm.flash_attention
// CHECK:         llm.softmax
func.func @select_splat_hide_all(%q: tensor<1x4x16xf32>) -> tensor<1x4x16xf32> {
  %qh = llm.split_heads %q {num_heads = 2} : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %s = llm.matmul %qh, %qh {transpose_rhs} : tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x4xf32>
  %c = arith.constant dense<false> : tensor<1x2x4x4xi1>
  %ninf = arith.constant dense<0xFF800000> : tensor<1x2x4x4xf32>
  %sm = arith.select %c, %s, %ninf : tensor<1x2x4x4xi1>, tensor<1x2x4x4xf32>
  %p = llm.softmax %sm {axis = 3} : tensor<1x2x4x4xf32>
  %o = llm.matmul %p, %qh : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  %m = llm.merge_heads %o : tensor<1x2x4x8xf32> -> tensor<1x4x16xf32>
  return %m : tensor<1x4x16xf32>
}

// ALiBi (BLOOM): the [heads, q_len, kv_len] bias, expanded to the scores'
// rank, added to the scaled scores before the causal mask. The fused op
// takes its per-head slopes (2 heads: 2^-4, 2^-8), as --llm-lower-alibi
// makes them, and the bias is gone.
// CHECK-LABEL: func.func @alibi_bias(
// CHECK-SAME:    %[[Q:[a-z0-9_]+]]: tensor<1x4x16xf32>)
// CHECK-NEXT:    %[[S:.*]] = arith.constant dense<[6.250000e-02, 3.906250e-03]> : tensor<2xf32>
// CHECK-NEXT:    llm.flash_attention %[[Q]], %[[Q]], %[[Q]] alibi_slopes(%[[S]] : tensor<2xf32>) {mask = #llm.mask<causal>, num_heads = 2 : i64, num_kv_heads = 2 : i64, scale = 0.3535533{{[0-9]*}} : f64}
// CHECK-NEXT:    return
func.func @alibi_bias(%q: tensor<1x4x16xf32>) -> tensor<1x4x16xf32> {
  %qh = llm.split_heads %q {num_heads = 2} : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %s = llm.matmul %qh, %qh {transpose_rhs} : tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x4xf32>
  %c = arith.constant dense<0.353553385> : tensor<1x2x4x4xf32>
  %ss = arith.mulf %s, %c : tensor<1x2x4x4xf32>
  %alibi = llm.alibi : tensor<2x4x4xf32>
  %bias = tensor.expand_shape %alibi [[0, 1], [2], [3]] output_shape [1, 2, 4, 4] : tensor<2x4x4xf32> into tensor<1x2x4x4xf32>
  %sb = arith.addf %ss, %bias : tensor<1x2x4x4xf32>
  %mask = arith.constant dense<[[[[0.0, 0xFF800000, 0xFF800000, 0xFF800000], [0.0, 0.0, 0xFF800000, 0xFF800000], [0.0, 0.0, 0.0, 0xFF800000], [0.0, 0.0, 0.0, 0.0]], [[0.0, 0xFF800000, 0xFF800000, 0xFF800000], [0.0, 0.0, 0xFF800000, 0xFF800000], [0.0, 0.0, 0.0, 0xFF800000], [0.0, 0.0, 0.0, 0.0]]]]> : tensor<1x2x4x4xf32>
  %sm = arith.addf %sb, %mask : tensor<1x2x4x4xf32>
  %p = llm.softmax %sm {axis = 3} : tensor<1x2x4x4xf32>
  %o = llm.matmul %p, %qh : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  %m = llm.merge_heads %o : tensor<1x2x4x8xf32> -> tensor<1x4x16xf32>
  return %m : tensor<1x4x16xf32>
}

// T5's relative position bias, added after the mask, unscaled scores.
// CHECK-LABEL: func.func @relative_bias(
// CHECK-SAME:    %[[Q:[a-z0-9_]+]]: tensor<1x4x16xf32>, %[[T:[a-z0-9_]+]]: tensor<32x2xf32>)
// CHECK-NEXT:    %[[B:.*]] = llm.relative_position_bias %[[T]] {max_distance = 128 : i64, num_buckets = 32 : i64} : tensor<32x2xf32> -> tensor<2x4x4xf32>
// CHECK-NEXT:    llm.flash_attention %[[Q]], %[[Q]], %[[Q]] bias(%[[B]] : tensor<2x4x4xf32>) {mask = #llm.mask<causal>, num_heads = 2 : i64, num_kv_heads = 2 : i64, scale = 1.000000e+00 : f64}
// CHECK-NEXT:    return
func.func @relative_bias(%q: tensor<1x4x16xf32>, %table: tensor<32x2xf32>) -> tensor<1x4x16xf32> {
  %qh = llm.split_heads %q {num_heads = 2} : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %s = llm.matmul %qh, %qh {transpose_rhs} : tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x4xf32>
  %mask = arith.constant dense<[[[[0.0, 0xFF800000, 0xFF800000, 0xFF800000], [0.0, 0.0, 0xFF800000, 0xFF800000], [0.0, 0.0, 0.0, 0xFF800000], [0.0, 0.0, 0.0, 0.0]], [[0.0, 0xFF800000, 0xFF800000, 0xFF800000], [0.0, 0.0, 0xFF800000, 0xFF800000], [0.0, 0.0, 0.0, 0xFF800000], [0.0, 0.0, 0.0, 0.0]]]]> : tensor<1x2x4x4xf32>
  %sm = arith.addf %s, %mask : tensor<1x2x4x4xf32>
  %rel = llm.relative_position_bias %table {num_buckets = 32, max_distance = 128} : tensor<32x2xf32> -> tensor<2x4x4xf32>
  %bias = tensor.expand_shape %rel [[0, 1], [2], [3]] output_shape [1, 2, 4, 4] : tensor<2x4x4xf32> into tensor<1x2x4x4xf32>
  %sb = arith.addf %bias, %sm : tensor<1x2x4x4xf32>
  %p = llm.softmax %sb {axis = 3} : tensor<1x2x4x4xf32>
  %o = llm.matmul %p, %qh : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  %m = llm.merge_heads %o : tensor<1x2x4x8xf32> -> tensor<1x4x16xf32>
  return %m : tensor<1x4x16xf32>
}

// Any bias tensor of the scores' shape, here with a batch of 2; a
// [heads, q_len, kv_len] bias broadcast over the batch is taken unbroadcast.
// CHECK-LABEL: func.func @batched_biases(
// CHECK-SAME:    %[[Q:[a-z0-9_]+]]: tensor<2x4x16xf32>, %[[B4:[a-z0-9_]+]]: tensor<2x2x4x4xf32>, %[[B3:[a-z0-9_]+]]: tensor<2x4x4xf32>)
// CHECK-NEXT:    %[[O1:.*]] = llm.flash_attention %[[Q]], %[[Q]], %[[Q]] bias(%[[B4]] : tensor<2x2x4x4xf32>) {mask = #llm.mask<bidirectional>, num_heads = 2 : i64, num_kv_heads = 2 : i64, scale = 1.000000e+00 : f64}
// CHECK-NEXT:    %[[O2:.*]] = llm.flash_attention %[[Q]], %[[Q]], %[[Q]] bias(%[[B3]] : tensor<2x4x4xf32>) {mask = #llm.mask<bidirectional>, num_heads = 2 : i64, num_kv_heads = 2 : i64, scale = 1.000000e+00 : f64}
// CHECK-NEXT:    return %[[O1]], %[[O2]]
func.func @batched_biases(%q: tensor<2x4x16xf32>, %b4: tensor<2x2x4x4xf32>, %b3: tensor<2x4x4xf32>) -> (tensor<2x4x16xf32>, tensor<2x4x16xf32>) {
  %qh = llm.split_heads %q {num_heads = 2} : tensor<2x4x16xf32> -> tensor<2x2x4x8xf32>
  %s = llm.matmul %qh, %qh {transpose_rhs} : tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32> -> tensor<2x2x4x4xf32>
  %sb = arith.addf %s, %b4 : tensor<2x2x4x4xf32>
  %p = llm.softmax %sb {axis = 3} : tensor<2x2x4x4xf32>
  %o = llm.matmul %p, %qh : tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  %m = llm.merge_heads %o : tensor<2x2x4x8xf32> -> tensor<2x4x16xf32>
  %s2 = llm.matmul %qh, %qh {transpose_rhs} : tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32> -> tensor<2x2x4x4xf32>
  %init = tensor.empty() : tensor<2x2x4x4xf32>
  %bb = linalg.broadcast ins(%b3 : tensor<2x4x4xf32>) outs(%init : tensor<2x2x4x4xf32>) dimensions = [0]
  %sb2 = arith.addf %s2, %bb : tensor<2x2x4x4xf32>
  %p2 = llm.softmax %sb2 {axis = 3} : tensor<2x2x4x4xf32>
  %o2 = llm.matmul %p2, %qh : tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  %m2 = llm.merge_heads %o2 : tensor<2x2x4x8xf32> -> tensor<2x4x16xf32>
  return %m, %m2 : tensor<2x4x16xf32>, tensor<2x4x16xf32>
}

// Scales on the packed query and on the key heads multiply.
// CHECK-LABEL: func.func @scaled_packed_query_and_key(
// CHECK-SAME:    %[[Q:[a-z0-9_]+]]: tensor<1x4x16xf32>, %[[K:[a-z0-9_]+]]: tensor<1x4x16xf32>)
// CHECK-NEXT:    llm.flash_attention %[[Q]], %[[K]], %[[K]] {mask = #llm.mask<bidirectional>, num_heads = 2 : i64, num_kv_heads = 2 : i64, scale = 1.250000e-01 : f64}
// CHECK-NEXT:    return
func.func @scaled_packed_query_and_key(%q: tensor<1x4x16xf32>, %k: tensor<1x4x16xf32>) -> tensor<1x4x16xf32> {
  %c = arith.constant dense<0.25> : tensor<1x4x16xf32>
  %qs = arith.mulf %q, %c : tensor<1x4x16xf32>
  %qh = llm.split_heads %qs {num_heads = 2} : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %kh = llm.split_heads %k {num_heads = 2} : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %two = arith.constant dense<2.0> : tensor<1x2x4x8xf32>
  %ks = arith.divf %kh, %two : tensor<1x2x4x8xf32>
  %s = llm.matmul %qh, %ks {transpose_rhs} : tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x4xf32>
  %p = llm.softmax %s {axis = 3} : tensor<1x2x4x4xf32>
  %o = llm.matmul %p, %kh : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  %m = llm.merge_heads %o : tensor<1x2x4x8xf32> -> tensor<1x4x16xf32>
  return %m : tensor<1x4x16xf32>
}

// A -inf mask may come before the scale: scaling keeps -inf.
// CHECK-LABEL: func.func @mask_then_scale(
// CHECK-NEXT:    llm.flash_attention %{{.*}} {mask = #llm.mask<causal>, num_heads = 2 : i64, num_kv_heads = 2 : i64, scale = 1.250000e-01 : f64}
// CHECK-NEXT:    return
func.func @mask_then_scale(%q: tensor<1x4x16xf32>) -> tensor<1x4x16xf32> {
  %qh = llm.split_heads %q {num_heads = 2} : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %s = llm.matmul %qh, %qh {transpose_rhs} : tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x4xf32>
  %mask = arith.constant dense<[[[[0.0, 0xFF800000, 0xFF800000, 0xFF800000], [0.0, 0.0, 0xFF800000, 0xFF800000], [0.0, 0.0, 0.0, 0xFF800000], [0.0, 0.0, 0.0, 0.0]], [[0.0, 0xFF800000, 0xFF800000, 0xFF800000], [0.0, 0.0, 0xFF800000, 0xFF800000], [0.0, 0.0, 0.0, 0xFF800000], [0.0, 0.0, 0.0, 0.0]]]]> : tensor<1x2x4x4xf32>
  %sm = arith.addf %s, %mask : tensor<1x2x4x4xf32>
  %c = arith.constant dense<0.125> : tensor<1x2x4x4xf32>
  %ss = arith.mulf %sm, %c : tensor<1x2x4x4xf32>
  %p = llm.softmax %ss {axis = 3} : tensor<1x2x4x4xf32>
  %o = llm.matmul %p, %qh : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  %m = llm.merge_heads %o : tensor<1x2x4x8xf32> -> tensor<1x4x16xf32>
  return %m : tensor<1x4x16xf32>
}

// The key transposed explicitly, multiplied without transpose_rhs.
// CHECK-LABEL: func.func @transposed_key(
// CHECK-SAME:    %[[Q:[a-z0-9_]+]]: tensor<1x4x16xf32>, %[[K:[a-z0-9_]+]]: tensor<1x6x16xf32>)
// CHECK-NEXT:    llm.flash_attention %[[Q]], %[[K]], %[[K]] {mask = #llm.mask<bidirectional>, num_heads = 2 : i64, num_kv_heads = 2 : i64, scale = 1.000000e+00 : f64}
// CHECK-NEXT:    return
func.func @transposed_key(%q: tensor<1x4x16xf32>, %k: tensor<1x6x16xf32>) -> tensor<1x4x16xf32> {
  %qh = llm.split_heads %q {num_heads = 2} : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %kh = llm.split_heads %k {num_heads = 2} : tensor<1x6x16xf32> -> tensor<1x2x6x8xf32>
  %init = tensor.empty() : tensor<1x2x8x6xf32>
  %kt = linalg.transpose ins(%kh : tensor<1x2x6x8xf32>) outs(%init : tensor<1x2x8x6xf32>) permutation = [0, 1, 3, 2]
  %s = llm.matmul %qh, %kt : tensor<1x2x4x8xf32>, tensor<1x2x8x6xf32> -> tensor<1x2x4x6xf32>
  %p = llm.softmax %s {axis = 3} : tensor<1x2x4x6xf32>
  %o = llm.matmul %p, %kh : tensor<1x2x4x6xf32>, tensor<1x2x6x8xf32> -> tensor<1x2x4x8xf32>
  %m = llm.merge_heads %o : tensor<1x2x4x8xf32> -> tensor<1x4x16xf32>
  return %m : tensor<1x4x16xf32>
}

// PyTorch's spelling: view + transpose for the heads (the key straight to
// [b, h, d, s]), and transpose + view back.
// CHECK-LABEL: func.func @reshape_transpose_heads(
// CHECK-SAME:    %[[Q:[a-z0-9_]+]]: tensor<1x4x16xf32>, %[[K:[a-z0-9_]+]]: tensor<1x4x16xf32>, %[[V:[a-z0-9_]+]]: tensor<1x4x16xf32>)
// CHECK-NEXT:    %[[O:.*]] = llm.flash_attention %[[Q]], %[[K]], %[[V]] {mask = #llm.mask<causal>, num_heads = 2 : i64, num_kv_heads = 2 : i64, scale = 0.3535533{{[0-9]*}} : f64} :
// CHECK-SAME:      tensor<1x4x16xf32>, tensor<1x4x16xf32>, tensor<1x4x16xf32> -> tensor<1x4x16xf32>
// CHECK-NEXT:    return %[[O]]
func.func @reshape_transpose_heads(%q: tensor<1x4x16xf32>, %k: tensor<1x4x16xf32>, %v: tensor<1x4x16xf32>) -> tensor<1x4x16xf32> {
  %q4 = tensor.expand_shape %q [[0], [1], [2, 3]] output_shape [1, 4, 2, 8] : tensor<1x4x16xf32> into tensor<1x4x2x8xf32>
  %k4 = tensor.expand_shape %k [[0], [1], [2, 3]] output_shape [1, 4, 2, 8] : tensor<1x4x16xf32> into tensor<1x4x2x8xf32>
  %v4 = tensor.expand_shape %v [[0], [1], [2, 3]] output_shape [1, 4, 2, 8] : tensor<1x4x16xf32> into tensor<1x4x2x8xf32>
  %e0 = tensor.empty() : tensor<1x2x4x8xf32>
  %qh = linalg.transpose ins(%q4 : tensor<1x4x2x8xf32>) outs(%e0 : tensor<1x2x4x8xf32>) permutation = [0, 2, 1, 3]
  %vh = linalg.transpose ins(%v4 : tensor<1x4x2x8xf32>) outs(%e0 : tensor<1x2x4x8xf32>) permutation = [0, 2, 1, 3]
  %e1 = tensor.empty() : tensor<1x2x8x4xf32>
  %kt = linalg.transpose ins(%k4 : tensor<1x4x2x8xf32>) outs(%e1 : tensor<1x2x8x4xf32>) permutation = [0, 2, 3, 1]
  %s = llm.matmul %qh, %kt : tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32> -> tensor<1x2x4x4xf32>
  %c = arith.constant dense<2.82842708> : tensor<1x2x4x4xf32>
  %sd = arith.divf %s, %c : tensor<1x2x4x4xf32>
  %mask = arith.constant dense<[[[[0.0, 0xFF800000, 0xFF800000, 0xFF800000], [0.0, 0.0, 0xFF800000, 0xFF800000], [0.0, 0.0, 0.0, 0xFF800000], [0.0, 0.0, 0.0, 0.0]], [[0.0, 0xFF800000, 0xFF800000, 0xFF800000], [0.0, 0.0, 0xFF800000, 0xFF800000], [0.0, 0.0, 0.0, 0xFF800000], [0.0, 0.0, 0.0, 0.0]]]]> : tensor<1x2x4x4xf32>
  %sm = arith.addf %sd, %mask : tensor<1x2x4x4xf32>
  %p = llm.softmax %sm {axis = 3} : tensor<1x2x4x4xf32>
  %o = llm.matmul %p, %vh : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  %e2 = tensor.empty() : tensor<1x4x2x8xf32>
  %ot = linalg.transpose ins(%o : tensor<1x2x4x8xf32>) outs(%e2 : tensor<1x4x2x8xf32>) permutation = [0, 2, 1, 3]
  %m = tensor.collapse_shape %ot [[0], [1], [2, 3]] : tensor<1x4x2x8xf32> into tensor<1x4x16xf32>
  return %m : tensor<1x4x16xf32>
}

//===----------------------------------------------------------------------===//
// Refused: the IR stays as it is.
//===----------------------------------------------------------------------===//

// Softmax over the queries, not the keys.
// CHECK-LABEL: func.func @softmax_not_last_axis(
// CHECK-NOT:     llm.flash_attention
// CHECK:         llm.softmax %{{.*}} {axis = 2 : i64}
// CHECK:         llm.merge_heads
func.func @softmax_not_last_axis(%q: tensor<1x4x16xf32>) -> tensor<1x4x16xf32> {
  %qh = llm.split_heads %q {num_heads = 2} : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %s = llm.matmul %qh, %qh {transpose_rhs} : tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x4xf32>
  %p = llm.softmax %s {axis = 2} : tensor<1x2x4x4xf32>
  %o = llm.matmul %p, %qh : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  %m = llm.merge_heads %o : tensor<1x2x4x8xf32> -> tensor<1x4x16xf32>
  return %m : tensor<1x4x16xf32>
}

// A mask that hides the past instead of the future.
// CHECK-LABEL: func.func @mask_not_causal(
// CHECK-NOT:     llm.flash_attention
// CHECK:         arith.addf
// CHECK:         llm.merge_heads
func.func @mask_not_causal(%q: tensor<1x4x16xf32>) -> tensor<1x4x16xf32> {
  %qh = llm.split_heads %q {num_heads = 2} : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %s = llm.matmul %qh, %qh {transpose_rhs} : tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x4xf32>
  %mask = arith.constant dense<[[[[0.0, 0.0, 0.0, 0.0], [0xFF800000, 0.0, 0.0, 0.0], [0xFF800000, 0xFF800000, 0.0, 0.0], [0xFF800000, 0xFF800000, 0xFF800000, 0.0]], [[0.0, 0.0, 0.0, 0.0], [0xFF800000, 0.0, 0.0, 0.0], [0xFF800000, 0xFF800000, 0.0, 0.0], [0xFF800000, 0xFF800000, 0xFF800000, 0.0]]]]> : tensor<1x2x4x4xf32>
  %sm = arith.addf %s, %mask : tensor<1x2x4x4xf32>
  %p = llm.softmax %sm {axis = 3} : tensor<1x2x4x4xf32>
  %o = llm.matmul %p, %qh : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  %m = llm.merge_heads %o : tensor<1x2x4x8xf32> -> tensor<1x4x16xf32>
  return %m : tensor<1x4x16xf32>
}

// A mask that differs between heads.
// CHECK-LABEL: func.func @mask_per_head(
// CHECK-NOT:     llm.flash_attention
// CHECK:         llm.merge_heads
func.func @mask_per_head(%q: tensor<1x4x16xf32>) -> tensor<1x4x16xf32> {
  %qh = llm.split_heads %q {num_heads = 2} : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %s = llm.matmul %qh, %qh {transpose_rhs} : tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x4xf32>
  %mask = arith.constant dense<[[[[0.0, 0xFF800000, 0xFF800000, 0xFF800000], [0.0, 0.0, 0xFF800000, 0xFF800000], [0.0, 0.0, 0.0, 0xFF800000], [0.0, 0.0, 0.0, 0.0]], [[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]]]> : tensor<1x2x4x4xf32>
  %sm = arith.addf %s, %mask : tensor<1x2x4x4xf32>
  %p = llm.softmax %sm {axis = 3} : tensor<1x2x4x4xf32>
  %o = llm.matmul %p, %qh : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  %m = llm.merge_heads %o : tensor<1x2x4x8xf32> -> tensor<1x4x16xf32>
  return %m : tensor<1x4x16xf32>
}

// A constant that is neither 0 nor -inf is a bias, not a mask kind.
// CHECK-LABEL: func.func @constant_not_a_mask(
// CHECK-NOT:     llm.flash_attention
// CHECK:         llm.merge_heads
func.func @constant_not_a_mask(%q: tensor<1x4x16xf32>) -> tensor<1x4x16xf32> {
  %qh = llm.split_heads %q {num_heads = 2} : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %s = llm.matmul %qh, %qh {transpose_rhs} : tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x4xf32>
  %mask = arith.constant dense<-1.0> : tensor<1x2x4x4xf32>
  %sm = arith.addf %s, %mask : tensor<1x2x4x4xf32>
  %p = llm.softmax %sm {axis = 3} : tensor<1x2x4x4xf32>
  %o = llm.matmul %p, %qh : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  %m = llm.merge_heads %o : tensor<1x2x4x8xf32> -> tensor<1x4x16xf32>
  return %m : tensor<1x4x16xf32>
}

// The scores are also returned: they must exist.
// CHECK-LABEL: func.func @scores_used_twice(
// CHECK-NOT:     llm.flash_attention
// CHECK:         llm.merge_heads
func.func @scores_used_twice(%q: tensor<1x4x16xf32>) -> (tensor<1x4x16xf32>, tensor<1x2x4x4xf32>) {
  %qh = llm.split_heads %q {num_heads = 2} : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %s = llm.matmul %qh, %qh {transpose_rhs} : tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x4xf32>
  %p = llm.softmax %s {axis = 3} : tensor<1x2x4x4xf32>
  %o = llm.matmul %p, %qh : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  %m = llm.merge_heads %o : tensor<1x2x4x8xf32> -> tensor<1x4x16xf32>
  return %m, %s : tensor<1x4x16xf32>, tensor<1x2x4x4xf32>
}

// The probabilities are also returned (attention weights).
// CHECK-LABEL: func.func @probabilities_used_twice(
// CHECK-NOT:     llm.flash_attention
// CHECK:         llm.merge_heads
func.func @probabilities_used_twice(%q: tensor<1x4x16xf32>) -> (tensor<1x4x16xf32>, tensor<1x2x4x4xf32>) {
  %qh = llm.split_heads %q {num_heads = 2} : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %s = llm.matmul %qh, %qh {transpose_rhs} : tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x4xf32>
  %p = llm.softmax %s {axis = 3} : tensor<1x2x4x4xf32>
  %o = llm.matmul %p, %qh : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  %m = llm.merge_heads %o : tensor<1x2x4x8xf32> -> tensor<1x4x16xf32>
  return %m, %p : tensor<1x4x16xf32>, tensor<1x2x4x4xf32>
}

// Q·K without transpose_rhs (shapes agree because head_dim = kv_len).
// CHECK-LABEL: func.func @key_not_transposed(
// CHECK-NOT:     llm.flash_attention
// CHECK:         llm.merge_heads
func.func @key_not_transposed(%q: tensor<1x8x16xf32>) -> tensor<1x8x16xf32> {
  %qh = llm.split_heads %q {num_heads = 2} : tensor<1x8x16xf32> -> tensor<1x2x8x8xf32>
  %s = llm.matmul %qh, %qh : tensor<1x2x8x8xf32>, tensor<1x2x8x8xf32> -> tensor<1x2x8x8xf32>
  %p = llm.softmax %s {axis = 3} : tensor<1x2x8x8xf32>
  %o = llm.matmul %p, %qh : tensor<1x2x8x8xf32>, tensor<1x2x8x8xf32> -> tensor<1x2x8x8xf32>
  %m = llm.merge_heads %o : tensor<1x2x8x8xf32> -> tensor<1x8x16xf32>
  return %m : tensor<1x8x16xf32>
}

// Keys of 2 heads repeated twice, values of 4 heads: no single num_kv_heads.
// CHECK-LABEL: func.func @mismatched_heads(
// CHECK-NOT:     llm.flash_attention
// CHECK:         llm.merge_heads
func.func @mismatched_heads(%q: tensor<1x4x32xf32>, %k: tensor<1x4x16xf32>, %v: tensor<1x4x32xf32>) -> tensor<1x4x32xf32> {
  %qh = llm.split_heads %q {num_heads = 4} : tensor<1x4x32xf32> -> tensor<1x4x4x8xf32>
  %kh = llm.split_heads %k {num_heads = 2} : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %kr = llm.repeat_kv %kh {repeats = 2} : tensor<1x2x4x8xf32> -> tensor<1x4x4x8xf32>
  %vh = llm.split_heads %v {num_heads = 4} : tensor<1x4x32xf32> -> tensor<1x4x4x8xf32>
  %s = llm.matmul %qh, %kr {transpose_rhs} : tensor<1x4x4x8xf32>, tensor<1x4x4x8xf32> -> tensor<1x4x4x4xf32>
  %p = llm.softmax %s {axis = 3} : tensor<1x4x4x4xf32>
  %o = llm.matmul %p, %vh : tensor<1x4x4x4xf32>, tensor<1x4x4x8xf32> -> tensor<1x4x4x8xf32>
  %m = llm.merge_heads %o : tensor<1x4x4x8xf32> -> tensor<1x4x32xf32>
  return %m : tensor<1x4x32xf32>
}

// The bias is added before the scale, so it would be scaled too.
// CHECK-LABEL: func.func @scaled_bias(
// CHECK-NOT:     llm.flash_attention
// CHECK:         llm.merge_heads
func.func @scaled_bias(%q: tensor<1x4x16xf32>, %b: tensor<1x2x4x4xf32>) -> tensor<1x4x16xf32> {
  %qh = llm.split_heads %q {num_heads = 2} : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %s = llm.matmul %qh, %qh {transpose_rhs} : tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x4xf32>
  %sb = arith.addf %s, %b : tensor<1x2x4x4xf32>
  %c = arith.constant dense<0.125> : tensor<1x2x4x4xf32>
  %ss = arith.mulf %sb, %c : tensor<1x2x4x4xf32>
  %p = llm.softmax %ss {axis = 3} : tensor<1x2x4x4xf32>
  %o = llm.matmul %p, %qh : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  %m = llm.merge_heads %o : tensor<1x2x4x8xf32> -> tensor<1x4x16xf32>
  return %m : tensor<1x4x16xf32>
}

// A finite mask before the scale: a scale would shrink what hides keys.
// CHECK-LABEL: func.func @finite_mask_then_scale(
// CHECK-NOT:     llm.flash_attention
// CHECK:         llm.merge_heads
func.func @finite_mask_then_scale(%q: tensor<1x2x16xf32>, %k: tensor<1x4x16xf32>) -> tensor<1x2x16xf32> {
  %qh = llm.split_heads %q {num_heads = 2} : tensor<1x2x16xf32> -> tensor<1x2x2x8xf32>
  %kh = llm.split_heads %k {num_heads = 2} : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %s = llm.matmul %qh, %kh {transpose_rhs} : tensor<1x2x2x8xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x2x4xf32>
  %mask = arith.constant dense<[[[[0.0, 0.0, 0.0, -3.40282347E+38], [0.0, 0.0, 0.0, 0.0]], [[0.0, 0.0, 0.0, -3.40282347E+38], [0.0, 0.0, 0.0, 0.0]]]]> : tensor<1x2x2x4xf32>
  %sm = arith.addf %s, %mask : tensor<1x2x2x4xf32>
  %c = arith.constant dense<1.0e-30> : tensor<1x2x2x4xf32>
  %ss = arith.mulf %sm, %c : tensor<1x2x2x4xf32>
  %p = llm.softmax %ss {axis = 3} : tensor<1x2x2x4xf32>
  %o = llm.matmul %p, %kh : tensor<1x2x2x4xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x2x8xf32>
  %m = llm.merge_heads %o : tensor<1x2x2x8xf32> -> tensor<1x2x16xf32>
  return %m : tensor<1x2x16xf32>
}

// A negative scale, which llm.flash_attention cannot carry.
// CHECK-LABEL: func.func @negative_scale(
// CHECK-NOT:     llm.flash_attention
// CHECK:         llm.merge_heads
func.func @negative_scale(%q: tensor<1x4x16xf32>) -> tensor<1x4x16xf32> {
  %qh = llm.split_heads %q {num_heads = 2} : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %s = llm.matmul %qh, %qh {transpose_rhs} : tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x4xf32>
  %c = arith.constant dense<-0.125> : tensor<1x2x4x4xf32>
  %ss = arith.mulf %s, %c : tensor<1x2x4x4xf32>
  %p = llm.softmax %ss {axis = 3} : tensor<1x2x4x4xf32>
  %o = llm.matmul %p, %qh : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  %m = llm.merge_heads %o : tensor<1x2x4x8xf32> -> tensor<1x4x16xf32>
  return %m : tensor<1x4x16xf32>
}

// Repeated query heads are not attention over distinct heads.
// CHECK-LABEL: func.func @repeated_query(
// CHECK-NOT:     llm.flash_attention
// CHECK:         llm.merge_heads
func.func @repeated_query(%q: tensor<1x4x8xf32>, %k: tensor<1x4x16xf32>) -> tensor<1x4x16xf32> {
  %qh = llm.split_heads %q {num_heads = 1} : tensor<1x4x8xf32> -> tensor<1x1x4x8xf32>
  %qr = llm.repeat_kv %qh {repeats = 2} : tensor<1x1x4x8xf32> -> tensor<1x2x4x8xf32>
  %kh = llm.split_heads %k {num_heads = 2} : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %s = llm.matmul %qr, %kh {transpose_rhs} : tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x4xf32>
  %p = llm.softmax %s {axis = 3} : tensor<1x2x4x4xf32>
  %o = llm.matmul %p, %kh : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  %m = llm.merge_heads %o : tensor<1x2x4x8xf32> -> tensor<1x4x16xf32>
  return %m : tensor<1x4x16xf32>
}

// arith.select against a value that does not hide keys.
// CHECK-LABEL: func.func @select_not_a_mask(
// CHECK-NOT:     llm.flash_attention
// CHECK:         llm.merge_heads
func.func @select_not_a_mask(%q: tensor<1x4x16xf32>) -> tensor<1x4x16xf32> {
  %qh = llm.split_heads %q {num_heads = 2} : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %s = llm.matmul %qh, %qh {transpose_rhs} : tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x4xf32>
  %keep = arith.constant dense<[[[[true, false, false, false], [true, true, false, false], [true, true, true, false], [true, true, true, true]], [[true, false, false, false], [true, true, false, false], [true, true, true, false], [true, true, true, true]]]]> : tensor<1x2x4x4xi1>
  %zero = arith.constant dense<0.0> : tensor<1x2x4x4xf32>
  %sm = arith.select %keep, %s, %zero : tensor<1x2x4x4xi1>, tensor<1x2x4x4xf32>
  %p = llm.softmax %sm {axis = 3} : tensor<1x2x4x4xf32>
  %o = llm.matmul %p, %qh : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  %m = llm.merge_heads %o : tensor<1x2x4x8xf32> -> tensor<1x4x16xf32>
  return %m : tensor<1x4x16xf32>
}
