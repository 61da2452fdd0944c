// RUN: llm-opt %s --llm-specialize-moe --split-input-file --verify-diagnostics | FileCheck %s
// RUN: llm-opt %s --llm-specialize-moe="capacity-factor=1.25" --split-input-file --verify-diagnostics | FileCheck %s --check-prefix=CAP
// RUN: not llm-opt %s --llm-specialize-moe="capacity-factor=-1" --split-input-file 2>&1 | FileCheck %s --check-prefix=NEG
// NEG: llm-specialize-moe: expected capacity-factor >= 0 (0: no limit), found -1
// RUN: llm-opt %s --llm-specialize-moe="decode-max-tokens=4" --split-input-file --verify-diagnostics | FileCheck %s --check-prefix=THR
// RUN: not llm-opt %s --llm-specialize-moe="decode-max-tokens=-1" --split-input-file 2>&1 | FileCheck %s --check-prefix=NEGD
// NEGD: llm-specialize-moe: expected decode-max-tokens >= 0 (0: always the prefill form), found -1

// Prefill: 2 x 8 tokens, 8 experts, top-2 renormalized (Mixtral). The
// router becomes a projection, then route, permute (16 x 2 = 32 rows,
// offsets for 8 experts), the three grouped products with the gate fused in
// llm.glu, and the combine back to [2, 8, 64]. 16 tokens are more than
// decode-max-tokens (8): the prefill form, no {decode}.
// CHECK-LABEL: func.func @prefill_top2
// CHECK: %[[L:.*]] = llm.linear %[[X:[a-z0-9]+]], %[[R:[a-z0-9]+]] : tensor<2x8x64xf32>, tensor<8x64xf32> -> tensor<2x8x8xf32>
// CHECK: %[[W:.*]], %[[I:.*]] = llm.moe_route %[[L]] {normalize, top_k = 2 : i64} : tensor<2x8x8xf32> -> tensor<2x8x2xf32>, tensor<2x8x2xi32>
// CHECK: %[[P:.*]], %[[OFF:.*]], %[[SRC:.*]] = llm.moe_permute %[[X]], %[[I]] {num_experts = 8 : i64} : tensor<2x8x64xf32>, tensor<2x8x2xi32> -> tensor<32x64xf32>, tensor<9xi32>, tensor<32xi32>
// CHECK: %[[G:.*]] = llm.grouped_matmul %[[P]], %{{.*}}, %[[OFF]] : tensor<32x64xf32>, tensor<8x128x64xf32>, tensor<9xi32> -> tensor<32x128xf32>
// CHECK: %[[U:.*]] = llm.grouped_matmul %[[P]], %{{.*}}, %[[OFF]] : tensor<32x64xf32>, tensor<8x128x64xf32>, tensor<9xi32> -> tensor<32x128xf32>
// CHECK: %[[A:.*]] = llm.glu %[[G]], %[[U]] : tensor<32x128xf32>
// CHECK: %[[D:.*]] = llm.grouped_matmul %[[A]], %{{.*}}, %[[OFF]] : tensor<32x128xf32>, tensor<8x64x128xf32>, tensor<9xi32> -> tensor<32x64xf32>
// CHECK: %[[Y:.*]] = llm.moe_combine %[[D]], %[[W]], %[[SRC]] : tensor<32x64xf32>, tensor<2x8x2xf32>, tensor<32xi32> -> tensor<2x8x64xf32>
// CHECK: return %[[Y]]
// CHECK-NOT: llm.moe %
// With capacity-factor 1.25: at most ceil(1.25 x 32 / 8) = 5 rows per
// expert; no capacity (0, elided) without the option.
// CAP-LABEL: func.func @prefill_top2
// CAP: llm.moe_permute %{{.*}}, %{{.*}} {capacity = 5 : i64, num_experts = 8 : i64}
// THR-LABEL: func.func @prefill_top2
// THR-NOT: decode
// THR: llm.moe_combine
func.func @prefill_top2(%x: tensor<2x8x64xf32>) -> tensor<2x8x64xf32> {
  %r = llm.param "router" : tensor<8x64xf32>
  %g = llm.param "gate" : tensor<8x128x64xf32>
  %u = llm.param "up" : tensor<8x128x64xf32>
  %d = llm.param "down" : tensor<8x64x128xf32>
  %y = llm.moe %x, %r, %g, %u, %d {top_k = 2, normalize}
      : tensor<2x8x64xf32>, tensor<8x64xf32>, tensor<8x128x64xf32>, tensor<8x128x64xf32>, tensor<8x64x128xf32>
  return %y : tensor<2x8x64xf32>
}

// -----

// Decode: one token of each of 3 sequences, top-1 without renormalization
// (each token's weight is its softmax probability), GELU experts: 3 rows,
// the decode form (at most decode-max-tokens tokens, 8 or 4).
// CHECK-LABEL: func.func @decode_top1
// CHECK: llm.moe_route %{{.*}} {top_k = 1 : i64} : tensor<3x1x4xf32> -> tensor<3x1x1xf32>, tensor<3x1x1xi32>
// CHECK: %[[P:.*]], %[[OFF:.*]], %{{.*}} = llm.moe_permute {{.*}} -> tensor<3x32xf32>, tensor<5xi32>, tensor<3xi32>
// CHECK: llm.grouped_matmul %[[P]], %{{.*}}, %[[OFF]] {decode} : tensor<3x32xf32>, tensor<4x48x32xf32>, tensor<5xi32> -> tensor<3x48xf32>
// CHECK: llm.grouped_matmul %[[P]], %{{.*}}, %[[OFF]] {decode}
// CHECK: llm.glu %{{.*}}, %{{.*}} {activation = #llm.activation<gelu>} : tensor<3x48xf32>
// CHECK: llm.grouped_matmul %{{.*}}, %{{.*}}, %[[OFF]] {decode} : tensor<3x48xf32>, tensor<4x32x48xf32>, tensor<5xi32> -> tensor<3x32xf32>
// CHECK: llm.moe_combine {{.*}} -> tensor<3x1x32xf32>
// THR-LABEL: func.func @decode_top1
// THR-COUNT-3: llm.grouped_matmul {{.*}} {decode}
func.func @decode_top1(%x: tensor<3x1x32xf32>) -> tensor<3x1x32xf32> {
  %r = llm.param "router" : tensor<4x32xf32>
  %g = llm.param "gate" : tensor<4x48x32xf32>
  %u = llm.param "up" : tensor<4x48x32xf32>
  %d = llm.param "down" : tensor<4x32x48xf32>
  %y = llm.moe %x, %r, %g, %u, %d {top_k = 1, activation = #llm.activation<gelu>}
      : tensor<3x1x32xf32>, tensor<4x32xf32>, tensor<4x48x32xf32>, tensor<4x48x32xf32>, tensor<4x32x48xf32>
  return %y : tensor<3x1x32xf32>
}

// -----

// Top-4 of 8, and 8 of 64 experts (Qwen3-MoE-like), bf16 weights kept as
// they are. 5 tokens: the decode form by default, the prefill form with
// decode-max-tokens=4.
// CHECK-LABEL: func.func @wide
// CHECK: llm.moe_route %{{.*}} {top_k = 4 : i64} : tensor<1x5x8xf32> -> tensor<1x5x4xf32>, tensor<1x5x4xi32>
// CHECK: llm.moe_permute {{.*}} {num_experts = 8 : i64} {{.*}} -> tensor<20x32xf32>, tensor<9xi32>, tensor<20xi32>
// CHECK: llm.moe_route %{{.*}} {normalize, top_k = 8 : i64} : tensor<1x5x64xf32> -> tensor<1x5x8xf32>, tensor<1x5x8xi32>
// CHECK: llm.moe_permute {{.*}} {num_experts = 64 : i64} {{.*}} -> tensor<40x32xf32>, tensor<65xi32>, tensor<40xi32>
// CHECK: llm.grouped_matmul %{{.*}}, %{{.*}}, %{{.*}} {decode} : tensor<40x32xf32>, tensor<64x16x32xbf16>, tensor<65xi32> -> tensor<40x16xf32>
// THR-LABEL: func.func @wide
// THR: llm.grouped_matmul %{{.*}}, %{{.*}}, %{{.*}} : tensor<20x32xf32>, tensor<8x16x32xf32>, tensor<9xi32> -> tensor<20x16xf32>
// THR: llm.grouped_matmul %{{.*}}, %{{.*}}, %{{.*}} : tensor<40x32xf32>, tensor<64x16x32xbf16>, tensor<65xi32> -> tensor<40x16xf32>
// THR-NOT: decode
// THR-LABEL: func.func @shared_expert
func.func @wide(%x: tensor<1x5x32xf32>) -> tensor<1x5x32xf32> {
  %r = llm.param "router" : tensor<8x32xf32>
  %g = llm.param "gate" : tensor<8x16x32xf32>
  %d = llm.param "down" : tensor<8x32x16xf32>
  %y = llm.moe %x, %r, %g, %g, %d {top_k = 4}
      : tensor<1x5x32xf32>, tensor<8x32xf32>, tensor<8x16x32xf32>, tensor<8x16x32xf32>, tensor<8x32x16xf32>
  %r64 = llm.param "router64" : tensor<64x32xbf16>
  %g64 = llm.param "gate64" : tensor<64x16x32xbf16>
  %d64 = llm.param "down64" : tensor<64x32x16xbf16>
  %z = llm.moe %y, %r64, %g64, %g64, %d64 {top_k = 8, normalize}
      : tensor<1x5x32xf32>, tensor<64x32xbf16>, tensor<64x16x32xbf16>, tensor<64x16x32xbf16>, tensor<64x32x16xbf16>
  return %z : tensor<1x5x32xf32>
}

// -----

// A shared expert (Qwen2-MoE, as the importer emits it: a dense SwiGLU
// scaled by llm.sigmoid_gate, added to the routed output) stays as it is;
// only the routed layer is specialized, top-2 without renormalization.
// CHECK-LABEL: func.func @shared_expert
// CHECK: llm.moe_route %{{.*}} {top_k = 2 : i64}
// CHECK: %[[ROUTED:.*]] = llm.moe_combine
// CHECK: %[[S:.*]] = llm.linear %{{.*}}, %{{.*}} : tensor<1x4x32xf32>, tensor<48x32xf32> -> tensor<1x4x48xf32>
// CHECK: %[[GATE:.*]] = llm.linear %{{.*}}, %{{.*}} : tensor<1x4x32xf32>, tensor<1x32xf32> -> tensor<1x4x1xf32>
// CHECK: %[[SCALED:.*]] = llm.sigmoid_gate %{{.*}}, %[[GATE]] : tensor<1x4x32xf32>, tensor<1x4x1xf32>
// CHECK: arith.addf %[[ROUTED]], %[[SCALED]]
func.func @shared_expert(%x: tensor<1x4x32xf32>) -> tensor<1x4x32xf32> {
  %r = llm.param "router" : tensor<8x32xf32>
  %g = llm.param "gate" : tensor<8x16x32xf32>
  %d = llm.param "down" : tensor<8x32x16xf32>
  %routed = llm.moe %x, %r, %g, %g, %d {top_k = 2}
      : tensor<1x4x32xf32>, tensor<8x32xf32>, tensor<8x16x32xf32>, tensor<8x16x32xf32>, tensor<8x32x16xf32>
  %sg = llm.param "shared.gate_proj" : tensor<48x32xf32>
  %su = llm.param "shared.up_proj" : tensor<48x32xf32>
  %sd = llm.param "shared.down_proj" : tensor<32x48xf32>
  %a = llm.linear %x, %sg : tensor<1x4x32xf32>, tensor<48x32xf32> -> tensor<1x4x48xf32>
  %b = llm.linear %x, %su : tensor<1x4x32xf32>, tensor<48x32xf32> -> tensor<1x4x48xf32>
  %h = llm.glu %a, %b : tensor<1x4x48xf32>
  %s = llm.linear %h, %sd : tensor<1x4x48xf32>, tensor<32x48xf32> -> tensor<1x4x32xf32>
  %w = llm.param "shared_expert_gate" : tensor<1x32xf32>
  %gate = llm.linear %x, %w : tensor<1x4x32xf32>, tensor<1x32xf32> -> tensor<1x4x1xf32>
  %scaled = llm.sigmoid_gate %s, %gate : tensor<1x4x32xf32>, tensor<1x4x1xf32>
  %y = arith.addf %routed, %scaled : tensor<1x4x32xf32>
  return %y : tensor<1x4x32xf32>
}

// -----

// Quantized experts (llm-quantize's) go into the grouped products as they
// are, each of gate, up and down quantized or not on its own.
// CHECK-LABEL: func.func @quantized
// CHECK: llm.grouped_matmul %{{.*}}, %{{.*}}, %{{.*}} {decode} : tensor<6x64xf32>, !llm.qweight<4x128x64, bits = 4, group = 32, scale = f32, symmetric, packing = nibble>, tensor<5xi32> -> tensor<6x128xf32>
// CHECK: llm.grouped_matmul %{{.*}}, %{{.*}}, %{{.*}} {decode} : tensor<6x128xf32>, !llm.qweight<4x64x128, bits = 4, group = 32, scale = f32, symmetric, packing = nibble>, tensor<5xi32> -> tensor<6x64xf32>
// CHECK-LABEL: func.func @quantized_unlike
// CHECK: llm.grouped_matmul %{{.*}}, %{{.*}}, %{{.*}} {decode} : tensor<6x64xf32>, !llm.qweight<4x128x64, bits = 4, group = 32, scale = f32, symmetric, packing = nibble>, tensor<5xi32> -> tensor<6x128xf32>
// CHECK: llm.grouped_matmul %{{.*}}, %{{.*}}, %{{.*}} {decode} : tensor<6x128xf32>, tensor<4x64x128xf32>, tensor<5xi32> -> tensor<6x64xf32>
// CHECK-NOT: llm.moe %
func.func @quantized(%x: tensor<1x3x64xf32>) -> tensor<1x3x64xf32> {
  %r = llm.param "router" : tensor<4x64xf32>
  %g = llm.param "gate" {stacked = ["g0", "g1", "g2", "g3"]} : !llm.qweight<4x128x64, bits = 4, group = 32, scale = f32, symmetric, packing = nibble>
  %d = llm.param "down" {stacked = ["d0", "d1", "d2", "d3"]} : !llm.qweight<4x64x128, bits = 4, group = 32, scale = f32, symmetric, packing = nibble>
  %y = llm.moe %x, %r, %g, %g, %d {top_k = 2}
      : tensor<1x3x64xf32>, tensor<4x64xf32>, !llm.qweight<4x128x64, bits = 4, group = 32, scale = f32, symmetric, packing = nibble>, !llm.qweight<4x128x64, bits = 4, group = 32, scale = f32, symmetric, packing = nibble>, !llm.qweight<4x64x128, bits = 4, group = 32, scale = f32, symmetric, packing = nibble>
  return %y : tensor<1x3x64xf32>
}
func.func @quantized_unlike(%x: tensor<1x3x64xf32>) -> tensor<1x3x64xf32> {
  %r = llm.param "router" : tensor<4x64xf32>
  %g = llm.param "gate" {stacked = ["g0", "g1", "g2", "g3"]} : !llm.qweight<4x128x64, bits = 4, group = 32, scale = f32, symmetric, packing = nibble>
  %d = llm.param "down_f" : tensor<4x64x128xf32>
  %y = llm.moe %x, %r, %g, %g, %d {top_k = 2}
      : tensor<1x3x64xf32>, tensor<4x64xf32>, !llm.qweight<4x128x64, bits = 4, group = 32, scale = f32, symmetric, packing = nibble>, !llm.qweight<4x128x64, bits = 4, group = 32, scale = f32, symmetric, packing = nibble>, tensor<4x64x128xf32>
  return %y : tensor<1x3x64xf32>
}

// -----

// Dynamic shapes: the routing buffers cannot be sized; reported, left (no
// backend lowers them: llm-lower-to-cpu wants static shapes).
// CHECK-LABEL: func.func @dynamic
// CHECK: llm.moe
// CHECK-NOT: llm.moe_route
func.func @dynamic(%x: tensor<1x?x64xf32>) -> tensor<1x?x64xf32> {
  %r = llm.param "router" : tensor<4x64xf32>
  %g = llm.param "gate" : tensor<4x128x64xf32>
  %d = llm.param "down" : tensor<4x64x128xf32>
  // expected-remark @+1 {{llm-specialize-moe: left as it is: dynamic shapes (the routing buffers are sized at compile time)}}
  %y = llm.moe %x, %r, %g, %g, %d {top_k = 2}
      : tensor<1x?x64xf32>, tensor<4x64xf32>, tensor<4x128x64xf32>, tensor<4x128x64xf32>, tensor<4x64x128xf32>
  return %y : tensor<1x?x64xf32>
}

// -----

// top_k past the expert count is the op's verifier's error, before any pass.
func.func @too_many(%x: tensor<1x3x64xf32>) -> tensor<1x3x64xf32> {
  %r = llm.param "router" : tensor<4x64xf32>
  %g = llm.param "gate" : tensor<4x128x64xf32>
  %d = llm.param "down" : tensor<4x64x128xf32>
  // expected-error @+1 {{'llm.moe' op expected top_k in [1, 4] (the number of experts), found 5}}
  %y = llm.moe %x, %r, %g, %g, %d {top_k = 5}
      : tensor<1x3x64xf32>, tensor<4x64xf32>, tensor<4x128x64xf32>, tensor<4x128x64xf32>, tensor<4x64x128xf32>
  return %y : tensor<1x3x64xf32>
}
