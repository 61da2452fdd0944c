// RUN: llm-opt %s --llm-pack-weights --split-input-file | FileCheck %s
// RUN: llm-opt %s --llm-pack-weights="panel-rows=16" --split-input-file | FileCheck %s --check-prefix=ROWS16
// RUN: not llm-opt %s --llm-pack-weights="panel-rows=0" --split-input-file 2>&1 | FileCheck %s --check-prefix=ZERO

// The weights that only projections read go to panels: llm.linear (f32,
// bf16, f16), llm.linear_rope; a norm weight (1-D) and a bias do not.
// CHECK-LABEL: func.func @projections
// CHECK: llm.param "wq" {panels = 48 : i64} : tensor<16x8xf32>
// CHECK: llm.param "wb" {panels = 48 : i64} : tensor<16x8xbf16>
// CHECK: llm.param "wh" {panels = 48 : i64} : tensor<16x8xf16>
// CHECK: llm.param "wr" {panels = 48 : i64} : tensor<16x8xf32>
// CHECK: llm.param "bias" : tensor<16xf32>
// CHECK: llm.param "norm" : tensor<8xf32>
// ROWS16-LABEL: func.func @projections
// ROWS16: llm.param "wq" {panels = 16 : i64} : tensor<16x8xf32>
// ZERO: error: llm-pack-weights: expected panel-rows > 0, found 0
func.func @projections(%x: tensor<1x3x8xf32>, %pos: tensor<1x3xi64>, %t: tensor<2xf32>) -> (tensor<1x3x16xf32>, tensor<1x3x16xf32>, tensor<1x3x16xf32>, tensor<1x3x16xf32>) {
  %wq = llm.param "wq" : tensor<16x8xf32>
  %wb = llm.param "wb" : tensor<16x8xbf16>
  %wh = llm.param "wh" : tensor<16x8xf16>
  %wr = llm.param "wr" : tensor<16x8xf32>
  %b = llm.param "bias" : tensor<16xf32>
  %n = llm.param "norm" : tensor<8xf32>
  %h = llm.rms_norm %x, %n : tensor<1x3x8xf32>, tensor<8xf32>
  %q = llm.linear %h, %wq, %b : tensor<1x3x8xf32>, tensor<16x8xf32>, tensor<16xf32> -> tensor<1x3x16xf32>
  %k = llm.linear %h, %wb : tensor<1x3x8xf32>, tensor<16x8xbf16> -> tensor<1x3x16xf32>
  %v = llm.linear %h, %wh : tensor<1x3x8xf32>, tensor<16x8xf16> -> tensor<1x3x16xf32>
  %r = llm.linear_rope %h, %wr bias(%b : tensor<16xf32>), %pos, %t {num_heads = 2, rotary_dim = 4}
      : tensor<1x3x8xf32>, tensor<16x8xf32>, tensor<1x3xi64>, tensor<2xf32> -> tensor<1x3x16xf32>
  return %q, %k, %v, %r : tensor<1x3x16xf32>, tensor<1x3x16xf32>, tensor<1x3x16xf32>, tensor<1x3x16xf32>
}

// -----

// A tied table: the embedding lookup and the LM head share the panels.
// CHECK-LABEL: func.func @tied
// CHECK: llm.param "embed" {panels = 48 : i64} : tensor<100x8xf32>
func.func @tied(%ids: tensor<1x3xi64>) -> tensor<1x3x100xf32> {
  %table = llm.param "embed" : tensor<100x8xf32>
  %h = llm.embedding %table[%ids] : tensor<100x8xf32>, tensor<1x3xi64> -> tensor<1x3x8xf32>
  %logits = llm.linear %h, %table : tensor<1x3x8xf32>, tensor<100x8xf32> -> tensor<1x3x100xf32>
  return %logits : tensor<1x3x100xf32>
}

// -----

// Any other reader keeps the archive's rows: a matmul operand, a weight also
// used as an activation, a 3-D (stacked) expert weight, an unused param. The
// decision is per name: "shared" is read by a matmul in @other, so its
// linear in @first keeps rows too, and both entry points agree.
// CHECK-LABEL: func.func @first
// CHECK: llm.param "shared" : tensor<8x8xf32>
// CHECK: llm.param "alone" {panels = 48 : i64} : tensor<8x8xf32>
// CHECK-LABEL: func.func @other
// CHECK: llm.param "shared" : tensor<8x8xf32>
// CHECK: llm.param "input_too" : tensor<8x8xf32>
// CHECK: llm.param "unused" : tensor<8x8xf32>
func.func @first(%x: tensor<8x8xf32>) -> (tensor<8x8xf32>, tensor<8x8xf32>) {
  %w = llm.param "shared" : tensor<8x8xf32>
  %a = llm.param "alone" : tensor<8x8xf32>
  %y = llm.linear %x, %w : tensor<8x8xf32>, tensor<8x8xf32> -> tensor<8x8xf32>
  %z = llm.linear %x, %a : tensor<8x8xf32>, tensor<8x8xf32> -> tensor<8x8xf32>
  return %y, %z : tensor<8x8xf32>, tensor<8x8xf32>
}
func.func @other(%x: tensor<8x8xf32>) -> (tensor<8x8xf32>, tensor<8x8xf32>) {
  %w = llm.param "shared" : tensor<8x8xf32>
  %i = llm.param "input_too" : tensor<8x8xf32>
  %u = llm.param "unused" : tensor<8x8xf32>
  %y = llm.matmul %x, %w : tensor<8x8xf32>, tensor<8x8xf32> -> tensor<8x8xf32>
  %z = llm.linear %i, %i : tensor<8x8xf32>, tensor<8x8xf32> -> tensor<8x8xf32>
  return %y, %z : tensor<8x8xf32>, tensor<8x8xf32>
}

// -----

// Mixtral's experts are stacked 3-D weights read by llm.moe: left alone.
// CHECK-LABEL: func.func @experts
// CHECK: llm.param "router" : tensor<4x8xf32>
// CHECK: llm.param "gate" {stacked = ["g0", "g1", "g2", "g3"]} : tensor<4x16x8xf32>
func.func @experts(%x: tensor<1x3x8xf32>) -> tensor<1x3x8xf32> {
  %r = llm.param "router" : tensor<4x8xf32>
  %g = llm.param "gate" {stacked = ["g0", "g1", "g2", "g3"]} : tensor<4x16x8xf32>
  %u = llm.param "up" {stacked = ["u0", "u1", "u2", "u3"]} : tensor<4x16x8xf32>
  %d = llm.param "down" {stacked = ["d0", "d1", "d2", "d3"]} : tensor<4x8x16xf32>
  %y = llm.moe %x, %r, %g, %u, %d {top_k = 2}
      : tensor<1x3x8xf32>, tensor<4x8xf32>, tensor<4x16x8xf32>, tensor<4x16x8xf32>, tensor<4x8x16xf32>
  return %y : tensor<1x3x8xf32>
}

// -----

// Experts stacked [experts, out, in] that only llm.grouped_matmul reads:
// each expert's matrix packed alone (panels on the 3-D parameter); the same
// experts read by a whole llm.moe layer are not.
// CHECK-LABEL: func.func @grouped_experts
// CHECK: llm.param "gate" {panels = 48 : i64} : tensor<4x64x32xbf16>
// CHECK: llm.param "moe_gate" : tensor<4x64x32xf32>
// ROWS16-LABEL: func.func @grouped_experts
// ROWS16: llm.param "gate" {panels = 16 : i64} : tensor<4x64x32xbf16>
func.func @grouped_experts(%x: tensor<6x32xf32>, %off: tensor<5xi32>, %y: tensor<1x3x32xf32>) -> (tensor<6x64xf32>, tensor<1x3x32xf32>) {
  %g = llm.param "gate" : tensor<4x64x32xbf16>
  %r = llm.grouped_matmul %x, %g, %off : tensor<6x32xf32>, tensor<4x64x32xbf16>, tensor<5xi32> -> tensor<6x64xf32>
  %router = llm.param "router" : tensor<4x32xf32>
  %mg = llm.param "moe_gate" : tensor<4x64x32xf32>
  %md = llm.param "moe_down" : tensor<4x32x64xf32>
  %m = llm.moe %y, %router, %mg, %mg, %md {top_k = 2}
      : tensor<1x3x32xf32>, tensor<4x32xf32>, tensor<4x64x32xf32>, tensor<4x64x32xf32>, tensor<4x32x64xf32>
  return %r, %m : tensor<6x64xf32>, tensor<1x3x32xf32>
}
