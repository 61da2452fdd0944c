// RUN: llm-opt %s --llm-lower-rope --split-input-file | FileCheck %s

// The rope of a projection joins its epilogue; the inverse frequencies of
// theta 10000 over a rotary dim of 8 become a constant table.
// CHECK-LABEL: func.func @plain
// CHECK: %[[T:.*]] = arith.constant dense<[1.000000e+00, 1.000000e-01, 0.00999999977, 1.000000e-03]> : tensor<4xf32>
// CHECK: %[[Q:.*]] = llm.linear_rope %arg0, %{{.*}} bias(%{{.*}} : tensor<16xf32>), %arg1, %[[T]] {num_heads = 2 : i64, rotary_dim = 8 : i64}
// CHECK-NOT: llm.rope
// CHECK-NOT: llm.linear %
// CHECK: return %[[Q]]
func.func @plain(%x: tensor<1x3x16xf32>, %pos: tensor<1x3xi64>) -> tensor<1x3x16xf32> {
  %w = llm.param "wq" : tensor<16x16xf32>
  %b = llm.param "bq" : tensor<16xf32>
  %q = llm.linear %x, %w, %b : tensor<1x3x16xf32>, tensor<16x16xf32>, tensor<16xf32> -> tensor<1x3x16xf32>
  %r = llm.rope %q, %pos {num_heads = 2} : tensor<1x3x16xf32>, tensor<1x3xi64>
  return %r : tensor<1x3x16xf32>
}

// -----

// Partial rotary dim, GPT-J pairing and linear scaling (factor 2 halves
// every frequency) are carried over.
// CHECK-LABEL: func.func @partial_gptj_linear
// CHECK: arith.constant dense<[5.000000e-01, 5.000000e-03]> : tensor<2xf32>
// CHECK: llm.linear_rope {{.*}} {num_heads = 2 : i64, pairing = #llm.pairing<gptj>, rotary_dim = 4 : i64}
func.func @partial_gptj_linear(%x: tensor<1x3x16xf32>, %pos: tensor<1x3xi64>) -> tensor<1x3x16xf32> {
  %w = llm.param "wq" : tensor<16x16xbf16>
  %q = llm.linear %x, %w : tensor<1x3x16xf32>, tensor<16x16xbf16> -> tensor<1x3x16xf32>
  %r = llm.rope %q, %pos {num_heads = 2, rotary_dim = 4, theta = 10000.0, pairing = #llm.pairing<gptj>,
                          scaling = #llm.rope_scaling<kind = linear, factor = 2.0>} : tensor<1x3x16xf32>, tensor<1x3xi64>
  return %r : tensor<1x3x16xf32>
}

// -----

// YaRN's attention factor (0.1 ln 4 + 1) becomes the cos/sin multiplier.
// CHECK-LABEL: func.func @yarn
// CHECK: llm.linear_rope {{.*}} {attention_scaling = 1.13862943{{[0-9]*}} : f64
func.func @yarn(%x: tensor<1x3x16xf32>, %pos: tensor<1x3xi64>) -> tensor<1x3x16xf32> {
  %w = llm.param "wq" : tensor<16x16xf32>
  %q = llm.linear %x, %w : tensor<1x3x16xf32>, tensor<16x16xf32> -> tensor<1x3x16xf32>
  %r = llm.rope %q, %pos {num_heads = 2, scaling = #llm.rope_scaling<kind = yarn, factor = 4.0, original_max_position = 32>}
      : tensor<1x3x16xf32>, tensor<1x3xi64>
  return %r : tensor<1x3x16xf32>
}

// -----

// Dynamic NTK depends on the run-time length: the table is computed from
// the positions at run time, the rotation still joins the projection.
// CHECK-LABEL: func.func @dynamic
// CHECK-SAME: (%[[X:[a-z0-9]+]]: tensor<1x3x16xf32>, %[[POS:[a-z0-9]+]]: tensor<1x3xi64>)
// CHECK: %[[W:.*]] = llm.param "wq"
// CHECK: %[[F:.*]] = llm.rope_inv_freq %[[POS]] {rotary_dim = 8 : i64, scaling = #llm.rope_scaling<kind = dynamic, factor = 2.0, original_max_position = 8>} : tensor<1x3xi64> -> tensor<4xf32>
// CHECK: %[[R:.*]] = llm.linear_rope %[[X]], %[[W]], %[[POS]], %[[F]] {num_heads = 2 : i64, rotary_dim = 8 : i64}
// CHECK: return %[[R]]
// CHECK-NOT: llm.rope 
func.func @dynamic(%x: tensor<1x3x16xf32>, %pos: tensor<1x3xi64>) -> tensor<1x3x16xf32> {
  %w = llm.param "wq" : tensor<16x16xf32>
  %q = llm.linear %x, %w : tensor<1x3x16xf32>, tensor<16x16xf32> -> tensor<1x3x16xf32>
  %r = llm.rope %q, %pos {num_heads = 2, scaling = #llm.rope_scaling<kind = dynamic, factor = 2.0, original_max_position = 8>}
      : tensor<1x3x16xf32>, tensor<1x3xi64>
  return %r : tensor<1x3x16xf32>
}

// -----

// A projection with another user, or a rope of something else, stays.
// CHECK-LABEL: func.func @shared_projection
// CHECK: llm.rope
// CHECK: llm.rope
// CHECK-NOT: llm.linear_rope
func.func @shared_projection(%x: tensor<1x3x16xf32>, %pos: tensor<1x3xi64>) -> (tensor<1x3x16xf32>, tensor<1x3x16xf32>, tensor<1x3x16xf32>) {
  %w = llm.param "wq" : tensor<16x16xf32>
  %q = llm.linear %x, %w : tensor<1x3x16xf32>, tensor<16x16xf32> -> tensor<1x3x16xf32>
  %r = llm.rope %q, %pos {num_heads = 2} : tensor<1x3x16xf32>, tensor<1x3xi64>
  %s = llm.rope %x, %pos {num_heads = 2} : tensor<1x3x16xf32>, tensor<1x3xi64>
  return %r, %q, %s : tensor<1x3x16xf32>, tensor<1x3x16xf32>, tensor<1x3x16xf32>
}
