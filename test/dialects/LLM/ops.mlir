// RUN: llm-opt %s | llm-opt | FileCheck %s
// RUN: llm-opt %s --mlir-print-op-generic | llm-opt | FileCheck %s

// Round trip of every llm op, type and attribute, in the custom and the
// generic form. Attributes equal to their default are elided by the printer;
// the CHECK lines spell out exactly what is printed.

//===----------------------------------------------------------------------===//
// Types
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @kv_cache_types(
// CHECK-SAME:    %{{.*}}: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f32>,
// CHECK-SAME:    %{{.*}}: !llm.kv_cache<layers = 22, kv_heads = 4, head_dim = 64, block_size = 16, dtype = f16>,
// CHECK-SAME:    %{{.*}}: !llm.kv_cache<layers = 1, kv_heads = 8, head_dim = 128, block_size = 32, dtype = bf16>,
// CHECK-SAME:    %{{.*}}: !llm.kv_cache<layers = 80, kv_heads = 1, head_dim = 96, block_size = 1, dtype = i8>)
// CHECK-NEXT:    return
func.func @kv_cache_types(
    %c0: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f32>,
    %c1: !llm.kv_cache<layers = 22, kv_heads = 4, head_dim = 64, block_size = 16, dtype = f16>,
    %c2: !llm.kv_cache<layers = 1, kv_heads = 8, head_dim = 128, block_size = 32, dtype = bf16>,
    %c3: !llm.kv_cache<layers = 80, kv_heads = 1, head_dim = 96, block_size = 1, dtype = i8>) {
  return
}

// CHECK-LABEL: func.func @qweight_types(
// CHECK-SAME:    %{{.*}}: !llm.qweight<64x128, bits = 8, group = per_channel, scale = f32, symmetric, packing = byte>,
// CHECK-SAME:    %{{.*}}: !llm.qweight<64x128, bits = 8, group = 32, scale = bf16, asymmetric, packing = byte>,
// CHECK-SAME:    %{{.*}}: !llm.qweight<4096x4096, bits = 4, group = 32, scale = f16, symmetric, packing = nibble>,
// CHECK-SAME:    %{{.*}}: !llm.qweight<64x128, bits = 4, group = per_channel, scale = f32, asymmetric, packing = nibble>,
// CHECK-SAME:    %{{.*}}: !llm.qweight<64x128, bits = 4, group = 128, scale = f16, asymmetric, packing = gptq>,
// CHECK-SAME:    %{{.*}}: !llm.qweight<8x8, bits = 4, group = 8, scale = bf16, symmetric, packing = gptq>,
// CHECK-SAME:    %{{.*}}: !llm.qweight<64x128, bits = 4, group = per_channel, scale = bf16, asymmetric, packing = awq>,
// CHECK-SAME:    %{{.*}}: !llm.qweight<8x3, bits = 4, group = 3, scale = f32, symmetric, packing = awq>,
// CHECK-SAME:    %{{.*}}: !llm.qweight<64x256, bits = 5, group = 32, scale = f32, asymmetric, packing = nibble_plane>,
// CHECK-SAME:    %{{.*}}: !llm.qweight<64x256, bits = 6, group = 16, scale = f32, symmetric, packing = nibble_plane>)
// CHECK-NEXT:    return
func.func @qweight_types(
    %q0: !llm.qweight<64x128, bits = 8, group = per_channel, scale = f32, symmetric, packing = byte>,
    %q1: !llm.qweight<64x128, bits = 8, group = 32, scale = bf16, asymmetric, packing = byte>,
    %q2: !llm.qweight<4096x4096, bits = 4, group = 32, scale = f16, symmetric, packing = nibble>,
    %q3: !llm.qweight<64x128, bits = 4, group = per_channel, scale = f32, asymmetric, packing = nibble>,
    %q4: !llm.qweight<64x128, bits = 4, group = 128, scale = f16, asymmetric, packing = gptq>,
    %q5: !llm.qweight<8x8, bits = 4, group = 8, scale = bf16, symmetric, packing = gptq>,
    %q6: !llm.qweight<64x128, bits = 4, group = per_channel, scale = bf16, asymmetric, packing = awq>,
    %q7: !llm.qweight<8x3, bits = 4, group = 3, scale = f32, symmetric, packing = awq>,
    %q8: !llm.qweight<64x256, bits = 5, group = 32, scale = f32, asymmetric, packing = nibble_plane>,
    %q9: !llm.qweight<64x256, bits = 6, group = 16, scale = f32, symmetric, packing = nibble_plane>) {
  return
}

//===----------------------------------------------------------------------===//
// Structure
//===----------------------------------------------------------------------===//

// The layout attributes of llm.param (transpose, row_blocks, stacked,
// panels, int8_activations, quant_method) are printed in attribute-name
// order.
// CHECK-LABEL: func.func @param()
// CHECK-NEXT:    %[[W:.*]] = llm.param "model.layers.0.self_attn.q_proj.weight" : tensor<256x256xf16>
// CHECK-NEXT:    %[[Q:.*]] = llm.param "model.layers.0.mlp.down_proj.qweight" {int8_activations, quant_method = "gptq"} :
// CHECK-SAME:      !llm.qweight<256x688, bits = 4, group = 16, scale = f16, symmetric, packing = nibble>
// CHECK-NEXT:    %[[N:.*]] = llm.param "model.norm.weight" : tensor<256xbf16>
// CHECK-NEXT:    %[[T:.*]] = llm.param "h.0.mlp.c_fc.weight" {transpose} : tensor<3072x768xf32>
// CHECK-NEXT:    %[[K:.*]] = llm.param "h.0.attn.c_attn.weight" {row_blocks = array<i64: 768, 768, 768, 1>, transpose} : tensor<768x768xf32>
// CHECK-NEXT:    %[[B:.*]] = llm.param "h.0.self_attention.query_key_value.weight" {row_blocks = array<i64: 64, 64, 192, 4>} : tensor<256x256xf16>
// CHECK-NEXT:    %[[S:.*]] = llm.param "model.layers.0.block_sparse_moe.experts.w1" {stacked = ["model.layers.0.block_sparse_moe.experts.0.w1.weight", "model.layers.0.block_sparse_moe.experts.1.w1.weight"]} : tensor<2x128x64xbf16>
// CHECK-NEXT:    %[[P:.*]] = llm.param "model.layers.0.mlp.up_proj.weight" {panels = 48 : i64} : tensor<1536x576xbf16>
// CHECK-NEXT:    return %[[W]], %[[Q]], %[[N]], %[[T]], %[[K]], %[[B]], %[[S]], %[[P]] :
func.func @param() -> (tensor<256x256xf16>,
                       !llm.qweight<256x688, bits = 4, group = 16, scale = f16, symmetric, packing = nibble>,
                       tensor<256xbf16>, tensor<3072x768xf32>, tensor<768x768xf32>, tensor<256x256xf16>,
                       tensor<2x128x64xbf16>, tensor<1536x576xbf16>) {
  %w = llm.param "model.layers.0.self_attn.q_proj.weight" : tensor<256x256xf16>
  // Quantized (its values chosen by GPTQ), its projections on int8
  // activations (llm-quantize).
  %q = llm.param "model.layers.0.mlp.down_proj.qweight" {quant_method = "gptq", int8_activations}
      : !llm.qweight<256x688, bits = 4, group = 16, scale = f16, symmetric, packing = nibble>
  %n = llm.param "model.norm.weight" : tensor<256xbf16>
  // GPT-2 Conv1D weights are stored [in, out].
  %t = llm.param "h.0.mlp.c_fc.weight" {transpose} : tensor<3072x768xf32>
  // The key third of GPT-2's fused QKV projection.
  %k = llm.param "h.0.attn.c_attn.weight" {transpose, row_blocks = array<i64: 768, 768, 768, 1>}
      : tensor<768x768xf32>
  // BLOOM interleaves query, key and value per head.
  %b = llm.param "h.0.self_attention.query_key_value.weight" {row_blocks = array<i64: 64, 64, 192, 4>}
      : tensor<256x256xf16>
  // Mixtral stores one tensor per expert.
  %s = llm.param "model.layers.0.block_sparse_moe.experts.w1"
          {stacked = ["model.layers.0.block_sparse_moe.experts.0.w1.weight",
                      "model.layers.0.block_sparse_moe.experts.1.w1.weight"]}
      : tensor<2x128x64xbf16>
  // Packed for the CPU GEMM by llm-pack-weights.
  %p = llm.param "model.layers.0.mlp.up_proj.weight" {panels = 48 : i64} : tensor<1536x576xbf16>
  return %w, %q, %n, %t, %k, %b, %s, %p
      : tensor<256x256xf16>,
        !llm.qweight<256x688, bits = 4, group = 16, scale = f16, symmetric, packing = nibble>,
        tensor<256xbf16>, tensor<3072x768xf32>, tensor<768x768xf32>, tensor<256x256xf16>,
        tensor<2x128x64xbf16>, tensor<1536x576xbf16>
}

// CHECK-LABEL: func.func @embedding(
// CHECK-SAME:    %[[TABLE:[a-z0-9_]+]]: tensor<32000x256xf16>, %[[IDS:[a-z0-9_]+]]: tensor<1x8xi64>,
// CHECK-SAME:    %[[QTABLE:[a-z0-9_]+]]: !llm.qweight<32000x256, bits = 8, group = per_channel, scale = f16, symmetric, packing = byte>,
// CHECK-SAME:    %[[IDS32:[a-z0-9_]+]]: tensor<2x4xi32>, %[[WPE:[a-z0-9_]+]]: tensor<1024x64xf32>, %[[POS:[a-z0-9_]+]]: tensor<?xi64>)
// CHECK-NEXT:    llm.embedding %[[TABLE]][%[[IDS]]] : tensor<32000x256xf16>, tensor<1x8xi64> -> tensor<1x8x256xf16>
// CHECK-NEXT:    llm.embedding %[[QTABLE]][%[[IDS32]]] :
// CHECK-SAME:      !llm.qweight<32000x256, bits = 8, group = per_channel, scale = f16, symmetric, packing = byte>,
// CHECK-SAME:      tensor<2x4xi32> -> tensor<2x4x256xbf16>
// CHECK-NEXT:    llm.embedding %[[WPE]][%[[POS]]] : tensor<1024x64xf32>, tensor<?xi64> -> tensor<?x64xf32>
// CHECK-NEXT:    return
func.func @embedding(
    %table: tensor<32000x256xf16>, %ids: tensor<1x8xi64>,
    %qtable: !llm.qweight<32000x256, bits = 8, group = per_channel, scale = f16, symmetric, packing = byte>,
    %ids32: tensor<2x4xi32>, %wpe: tensor<1024x64xf32>, %pos: tensor<?xi64>) {
  %0 = llm.embedding %table[%ids] : tensor<32000x256xf16>, tensor<1x8xi64> -> tensor<1x8x256xf16>
  %1 = llm.embedding %qtable[%ids32]
      : !llm.qweight<32000x256, bits = 8, group = per_channel, scale = f16, symmetric, packing = byte>,
        tensor<2x4xi32> -> tensor<2x4x256xbf16>
  %2 = llm.embedding %wpe[%pos] : tensor<1024x64xf32>, tensor<?xi64> -> tensor<?x64xf32>
  return
}

// CHECK-LABEL: func.func @linear(
// CHECK-SAME:    %[[X:[a-z0-9_]+]]: tensor<1x8x256xf32>, %[[W:[a-z0-9_]+]]: tensor<512x256xf32>, %[[B:[a-z0-9_]+]]: tensor<512xf32>,
// CHECK-SAME:    %[[XB:[a-z0-9_]+]]: tensor<?x256xbf16>, %[[WB:[a-z0-9_]+]]: tensor<128x256xbf16>,
// CHECK-SAME:    %[[QW:[a-z0-9_]+]]: !llm.qweight<512x256, bits = 4, group = 64, scale = f16, asymmetric, packing = gptq>,
// CHECK-SAME:    %[[XH:[a-z0-9_]+]]: tensor<4x256xf16>, %[[QB:[a-z0-9_]+]]: !llm.qweight<512x256, bits = 4, group = per_channel, scale = bf16, symmetric, packing = awq>)
// CHECK-NEXT:    llm.linear %[[X]], %[[W]], %[[B]] : tensor<1x8x256xf32>, tensor<512x256xf32>, tensor<512xf32> -> tensor<1x8x512xf32>
// CHECK-NEXT:    llm.linear %[[X]], %[[W]] : tensor<1x8x256xf32>, tensor<512x256xf32> -> tensor<1x8x512xf32>
// CHECK-NEXT:    llm.linear %[[XB]], %[[WB]] : tensor<?x256xbf16>, tensor<128x256xbf16> -> tensor<?x128xbf16>
// CHECK-NEXT:    llm.linear %[[X]], %[[QW]], %[[B]] : tensor<1x8x256xf32>,
// CHECK-SAME:      !llm.qweight<512x256, bits = 4, group = 64, scale = f16, asymmetric, packing = gptq>,
// CHECK-SAME:      tensor<512xf32> -> tensor<1x8x512xf32>
// CHECK-NEXT:    llm.linear %[[XH]], %[[QB]] : tensor<4x256xf16>,
// CHECK-SAME:      !llm.qweight<512x256, bits = 4, group = per_channel, scale = bf16, symmetric, packing = awq>
// CHECK-SAME:      -> tensor<4x512xf16>
// CHECK-NEXT:    return
func.func @linear(
    %x: tensor<1x8x256xf32>, %w: tensor<512x256xf32>, %b: tensor<512xf32>,
    %xb: tensor<?x256xbf16>, %wb: tensor<128x256xbf16>,
    %qw: !llm.qweight<512x256, bits = 4, group = 64, scale = f16, asymmetric, packing = gptq>,
    %xh: tensor<4x256xf16>,
    %qb: !llm.qweight<512x256, bits = 4, group = per_channel, scale = bf16, symmetric, packing = awq>) {
  %0 = llm.linear %x, %w, %b
      : tensor<1x8x256xf32>, tensor<512x256xf32>, tensor<512xf32> -> tensor<1x8x512xf32>
  %1 = llm.linear %x, %w : tensor<1x8x256xf32>, tensor<512x256xf32> -> tensor<1x8x512xf32>
  %2 = llm.linear %xb, %wb : tensor<?x256xbf16>, tensor<128x256xbf16> -> tensor<?x128xbf16>
  %3 = llm.linear %x, %qw, %b
      : tensor<1x8x256xf32>,
        !llm.qweight<512x256, bits = 4, group = 64, scale = f16, asymmetric, packing = gptq>,
        tensor<512xf32> -> tensor<1x8x512xf32>
  %4 = llm.linear %xh, %qb
      : tensor<4x256xf16>,
        !llm.qweight<512x256, bits = 4, group = per_channel, scale = bf16, symmetric, packing = awq>
        -> tensor<4x512xf16>
  return
}

// CHECK-LABEL: func.func @matmul(
// CHECK-SAME:    %[[Q:[a-z0-9_]+]]: tensor<1x8x16x64xf32>, %[[K:[a-z0-9_]+]]: tensor<1x8x16x64xf32>,
// CHECK-SAME:    %[[A:[a-z0-9_]+]]: tensor<32x64xf16>, %[[B:[a-z0-9_]+]]: tensor<64x16xf16>,
// CHECK-SAME:    %[[C:[a-z0-9_]+]]: tensor<?x4x?xbf16>, %[[D:[a-z0-9_]+]]: tensor<?x?x8xbf16>)
// CHECK-NEXT:    llm.matmul %[[Q]], %[[K]] {transpose_rhs} : tensor<1x8x16x64xf32>, tensor<1x8x16x64xf32> -> tensor<1x8x16x16xf32>
// CHECK-NEXT:    llm.matmul %[[A]], %[[B]] : tensor<32x64xf16>, tensor<64x16xf16> -> tensor<32x16xf16>
// CHECK-NEXT:    llm.matmul %[[C]], %[[D]] : tensor<?x4x?xbf16>, tensor<?x?x8xbf16> -> tensor<?x4x8xbf16>
// CHECK-NEXT:    return
func.func @matmul(%q: tensor<1x8x16x64xf32>, %k: tensor<1x8x16x64xf32>,
                  %a: tensor<32x64xf16>, %b: tensor<64x16xf16>,
                  %c: tensor<?x4x?xbf16>, %d: tensor<?x?x8xbf16>) {
  %0 = llm.matmul %q, %k {transpose_rhs}
      : tensor<1x8x16x64xf32>, tensor<1x8x16x64xf32> -> tensor<1x8x16x16xf32>
  %1 = llm.matmul %a, %b : tensor<32x64xf16>, tensor<64x16xf16> -> tensor<32x16xf16>
  %2 = llm.matmul %c, %d : tensor<?x4x?xbf16>, tensor<?x?x8xbf16> -> tensor<?x4x8xbf16>
  return
}

//===----------------------------------------------------------------------===//
// Norms and activations
//===----------------------------------------------------------------------===//

// The default epsilon of layer_norm (1e-5) and of rms_norm (1e-6) is elided.
// CHECK-LABEL: func.func @norms(
// CHECK-SAME:    %[[X:[a-z0-9_]+]]: tensor<1x8x256xf32>, %[[G:[a-z0-9_]+]]: tensor<256xf32>, %[[B:[a-z0-9_]+]]: tensor<256xf32>,
// CHECK-SAME:    %[[XB:[a-z0-9_]+]]: tensor<2x64xbf16>, %[[GB:[a-z0-9_]+]]: tensor<64xbf16>,
// CHECK-SAME:    %[[XH:[a-z0-9_]+]]: tensor<?x32xf16>, %[[GH:[a-z0-9_]+]]: tensor<32xf16>)
// CHECK-NEXT:    llm.layer_norm %[[X]], %[[G]], %[[B]] : tensor<1x8x256xf32>, tensor<256xf32>, tensor<256xf32>
// CHECK-NEXT:    llm.layer_norm %[[X]], %[[G]] {epsilon = 9.9999999999999998E-13 : f64} : tensor<1x8x256xf32>, tensor<256xf32>
// CHECK-NEXT:    llm.layer_norm %[[XB]], %[[GB]] : tensor<2x64xbf16>, tensor<64xbf16>
// CHECK-NEXT:    llm.layer_norm %[[XH]], %[[GH]], %[[GH]] {epsilon = 0.000000e+00 : f64} : tensor<?x32xf16>, tensor<32xf16>, tensor<32xf16>
// CHECK-NEXT:    llm.rms_norm %[[X]], %[[G]] {epsilon = 1.000000e-05 : f64} : tensor<1x8x256xf32>, tensor<256xf32>
// CHECK-NEXT:    llm.rms_norm %[[XB]], %[[GB]] : tensor<2x64xbf16>, tensor<64xbf16>
// CHECK-NEXT:    llm.rms_norm %[[XB]], %[[GB]] {weight_offset = 1.000000e+00 : f64} : tensor<2x64xbf16>, tensor<64xbf16>
// CHECK-NEXT:    llm.rms_norm %[[XH]], %[[GH]] {epsilon = 1.000000e-05 : f64, weight_offset = 1.000000e+00 : f64} : tensor<?x32xf16>, tensor<32xf16>
// Per-head: 256 features in 4 groups of 64.
// CHECK-NEXT:    llm.rms_norm %[[X]], %[[GB]] : tensor<1x8x256xf32>, tensor<64xbf16>
// CHECK-NEXT:    return
func.func @norms(%x: tensor<1x8x256xf32>, %g: tensor<256xf32>, %b: tensor<256xf32>,
                 %xb: tensor<2x64xbf16>, %gb: tensor<64xbf16>,
                 %xh: tensor<?x32xf16>, %gh: tensor<32xf16>) {
  %0 = llm.layer_norm %x, %g, %b {epsilon = 1.0e-05}
      : tensor<1x8x256xf32>, tensor<256xf32>, tensor<256xf32>
  %1 = llm.layer_norm %x, %g {epsilon = 1.0e-12} : tensor<1x8x256xf32>, tensor<256xf32>
  %2 = llm.layer_norm %xb, %gb : tensor<2x64xbf16>, tensor<64xbf16>
  %3 = llm.layer_norm %xh, %gh, %gh {epsilon = 0.0} : tensor<?x32xf16>, tensor<32xf16>, tensor<32xf16>
  %4 = llm.rms_norm %x, %g {epsilon = 1.0e-05} : tensor<1x8x256xf32>, tensor<256xf32>
  %5 = llm.rms_norm %xb, %gb {epsilon = 1.0e-06} : tensor<2x64xbf16>, tensor<64xbf16>
  %6 = llm.rms_norm %xb, %gb {weight_offset = 1.0} : tensor<2x64xbf16>, tensor<64xbf16>
  %7 = llm.rms_norm %xh, %gh {epsilon = 1.0e-05, weight_offset = 1.0} : tensor<?x32xf16>, tensor<32xf16>
  %8 = llm.rms_norm %x, %gb : tensor<1x8x256xf32>, tensor<64xbf16>
  return
}

// A gate per row, or per value.
// CHECK-LABEL: func.func @sigmoid_gate(
// CHECK:         llm.sigmoid_gate %{{.*}}, %{{.*}} : tensor<1x8x64xf32>, tensor<1x8x1xf32>
// CHECK:         llm.sigmoid_gate %{{.*}}, %{{.*}} : tensor<1x8x64xf32>, tensor<1x8x64xf32>
func.func @sigmoid_gate(%x: tensor<1x8x64xf32>, %g: tensor<1x8x1xf32>) -> tensor<1x8x64xf32> {
  %0 = llm.sigmoid_gate %x, %g : tensor<1x8x64xf32>, tensor<1x8x1xf32>
  %1 = llm.sigmoid_gate %0, %x : tensor<1x8x64xf32>, tensor<1x8x64xf32>
  return %1 : tensor<1x8x64xf32>
}

// The default GELU approximation (none) and GLU activation (silu) are elided.
// CHECK-LABEL: func.func @activations(
// CHECK-SAME:    %[[X:[a-z0-9_]+]]: tensor<1x8x1024xf32>, %[[G:[a-z0-9_]+]]: tensor<1x8x688xf16>, %[[U:[a-z0-9_]+]]: tensor<1x8x688xf16>,
// CHECK-SAME:    %[[XB:[a-z0-9_]+]]: tensor<?x?xbf16>)
// CHECK-NEXT:    llm.gelu %[[X]] : tensor<1x8x1024xf32>
// CHECK-NEXT:    llm.gelu %[[X]] : tensor<1x8x1024xf32>
// CHECK-NEXT:    llm.gelu %[[X]] {approximate = #llm.gelu_approximation<tanh>} : tensor<1x8x1024xf32>
// CHECK-NEXT:    llm.gelu %[[XB]] {approximate = #llm.gelu_approximation<tanh>} : tensor<?x?xbf16>
// CHECK-NEXT:    llm.silu %[[G]] : tensor<1x8x688xf16>
// CHECK-NEXT:    llm.silu %[[XB]] : tensor<?x?xbf16>
// CHECK-NEXT:    llm.glu %[[G]], %[[U]] : tensor<1x8x688xf16>
// CHECK-NEXT:    llm.glu %[[G]], %[[U]] : tensor<1x8x688xf16>
// CHECK-NEXT:    llm.glu %[[G]], %[[U]] {activation = #llm.activation<gelu>} : tensor<1x8x688xf16>
// CHECK-NEXT:    llm.glu %[[G]], %[[U]] {activation = #llm.activation<gelu_tanh>} : tensor<1x8x688xf16>
// CHECK-NEXT:    llm.glu %[[XB]], %[[XB]] {activation = #llm.activation<relu>} : tensor<?x?xbf16>
// CHECK-NEXT:    return
func.func @activations(%x: tensor<1x8x1024xf32>, %g: tensor<1x8x688xf16>, %u: tensor<1x8x688xf16>,
                       %xb: tensor<?x?xbf16>) {
  %0 = llm.gelu %x : tensor<1x8x1024xf32>
  %1 = llm.gelu %x {approximate = #llm.gelu_approximation<none>} : tensor<1x8x1024xf32>
  %2 = llm.gelu %x {approximate = #llm.gelu_approximation<tanh>} : tensor<1x8x1024xf32>
  %3 = llm.gelu %xb {approximate = #llm.gelu_approximation<tanh>} : tensor<?x?xbf16>
  %4 = llm.silu %g : tensor<1x8x688xf16>
  %5 = llm.silu %xb : tensor<?x?xbf16>
  %6 = llm.glu %g, %u : tensor<1x8x688xf16>
  %7 = llm.glu %g, %u {activation = #llm.activation<silu>} : tensor<1x8x688xf16>
  %8 = llm.glu %g, %u {activation = #llm.activation<gelu>} : tensor<1x8x688xf16>
  %9 = llm.glu %g, %u {activation = #llm.activation<gelu_tanh>} : tensor<1x8x688xf16>
  %10 = llm.glu %xb, %xb {activation = #llm.activation<relu>} : tensor<?x?xbf16>
  return
}

// CHECK-LABEL: func.func @softmax(
// CHECK-SAME:    %[[S:[a-z0-9_]+]]: tensor<1x8x16x16xf32>, %[[L:[a-z0-9_]+]]: tensor<?xbf16>)
// CHECK-NEXT:    llm.softmax %[[S]] {axis = 3 : i64} : tensor<1x8x16x16xf32>
// CHECK-NEXT:    llm.softmax %[[S]] {axis = 0 : i64} : tensor<1x8x16x16xf32>
// CHECK-NEXT:    llm.softmax %[[L]] {axis = 0 : i64} : tensor<?xbf16>
// CHECK-NEXT:    return
func.func @softmax(%s: tensor<1x8x16x16xf32>, %l: tensor<?xbf16>) {
  %0 = llm.softmax %s {axis = 3} : tensor<1x8x16x16xf32>
  %1 = llm.softmax %s {axis = 0 : i64} : tensor<1x8x16x16xf32>
  %2 = llm.softmax %l {axis = 0} : tensor<?xbf16>
  return
}

//===----------------------------------------------------------------------===//
// Positions
//===----------------------------------------------------------------------===//

// The default theta (10000.0) and pairing (neox) are elided; so are the
// parameters of #llm.rope_scaling that equal their defaults (factor = 1.0,
// original_max_position = 0, low_freq_factor = 1.0, high_freq_factor = 4.0,
// beta_fast = 32.0, beta_slow = 1.0, attention_factor = 0.0).
// CHECK-LABEL: func.func @rope(
// CHECK-SAME:    %[[Q:[a-z0-9_]+]]: tensor<1x8x512xf32>, %[[P:[a-z0-9_]+]]: tensor<1x8xi64>,
// CHECK-SAME:    %[[K:[a-z0-9_]+]]: tensor<2x4x128xbf16>, %[[P32:[a-z0-9_]+]]: tensor<2x4xi32>,
// CHECK-SAME:    %[[H:[a-z0-9_]+]]: tensor<?x?x96xf16>, %[[PD:[a-z0-9_]+]]: tensor<?x?xi64>)
// CHECK-NEXT:    llm.rope %[[Q]], %[[P]] {num_heads = 8 : i64} : tensor<1x8x512xf32>, tensor<1x8xi64>
// CHECK-NEXT:    llm.rope %[[Q]], %[[P]] {num_heads = 8 : i64, pairing = #llm.pairing<gptj>, rotary_dim = 32 : i64, theta = 5.000000e+05 : f64} : tensor<1x8x512xf32>, tensor<1x8xi64>
// CHECK-NEXT:    llm.rope %[[K]], %[[P32]] {num_heads = 2 : i64} : tensor<2x4x128xbf16>, tensor<2x4xi32>
// CHECK-NEXT:    llm.rope %[[H]], %[[PD]] {num_heads = 3 : i64, pairing = #llm.pairing<gptj>, rotary_dim = 2 : i64} : tensor<?x?x96xf16>, tensor<?x?xi64>
// CHECK-NEXT:    llm.rope %[[Q]], %[[P]] {num_heads = 8 : i64, scaling = #llm.rope_scaling<kind = none>} : tensor<1x8x512xf32>, tensor<1x8xi64>
// CHECK-NEXT:    llm.rope %[[Q]], %[[P]] {num_heads = 8 : i64, scaling = #llm.rope_scaling<kind = linear>} : tensor<1x8x512xf32>, tensor<1x8xi64>
// CHECK-NEXT:    llm.rope %[[Q]], %[[P]] {num_heads = 8 : i64, scaling = #llm.rope_scaling<kind = linear, factor = 2.0>} : tensor<1x8x512xf32>, tensor<1x8xi64>
// CHECK-NEXT:    llm.rope %[[Q]], %[[P]] {num_heads = 8 : i64, scaling = #llm.rope_scaling<kind = linear, factor = 0.5>} : tensor<1x8x512xf32>, tensor<1x8xi64>
// CHECK-NEXT:    llm.rope %[[Q]], %[[P]] {num_heads = 8 : i64, scaling = #llm.rope_scaling<kind = dynamic, factor = 4.0, original_max_position = 2048>} : tensor<1x8x512xf32>, tensor<1x8xi64>
// CHECK-NEXT:    llm.rope %[[Q]], %[[P]] {num_heads = 8 : i64, scaling = #llm.rope_scaling<kind = yarn, factor = 4.0, original_max_position = 32768, attention_factor = 1.25>} : tensor<1x8x512xf32>, tensor<1x8xi64>
// CHECK-NEXT:    llm.rope %[[Q]], %[[P]] {num_heads = 8 : i64, scaling = #llm.rope_scaling<kind = yarn, factor = 2.5, original_max_position = 4096, beta_fast = 16.0, beta_slow = 2.0>} : tensor<1x8x512xf32>, tensor<1x8xi64>
// CHECK-NEXT:    llm.rope %[[Q]], %[[P]] {num_heads = 8 : i64, scaling = #llm.rope_scaling<kind = llama3, factor = 8.0, original_max_position = 8192>} : tensor<1x8x512xf32>, tensor<1x8xi64>
// CHECK-NEXT:    llm.rope %[[Q]], %[[P]] {num_heads = 8 : i64, scaling = #llm.rope_scaling<kind = llama3, factor = 32.0, original_max_position = 8192, low_freq_factor = 2.0, high_freq_factor = 8.0>} : tensor<1x8x512xf32>, tensor<1x8xi64>
// CHECK-NEXT:    llm.rope %[[K]], %[[P32]] {num_heads = 2 : i64, pairing = #llm.pairing<gptj>, scaling = #llm.rope_scaling<kind = yarn, factor = 1.0E+20, original_max_position = 1, beta_fast = 0.10000000000000001, beta_slow = 1.0E-300>, theta = 1.000000e+06 : f64} : tensor<2x4x128xbf16>, tensor<2x4xi32>
// CHECK-NEXT:    return
func.func @rope(%q: tensor<1x8x512xf32>, %p: tensor<1x8xi64>,
                %k: tensor<2x4x128xbf16>, %p32: tensor<2x4xi32>,
                %h: tensor<?x?x96xf16>, %pd: tensor<?x?xi64>) {
  %0 = llm.rope %q, %p {num_heads = 8} : tensor<1x8x512xf32>, tensor<1x8xi64>
  %1 = llm.rope %q, %p {num_heads = 8, theta = 500000.0, pairing = #llm.pairing<gptj>, rotary_dim = 32}
      : tensor<1x8x512xf32>, tensor<1x8xi64>
  %2 = llm.rope %k, %p32 {num_heads = 2, theta = 10000.0, pairing = #llm.pairing<neox>}
      : tensor<2x4x128xbf16>, tensor<2x4xi32>
  %3 = llm.rope %h, %pd {num_heads = 3, pairing = #llm.pairing<gptj>, rotary_dim = 2}
      : tensor<?x?x96xf16>, tensor<?x?xi64>
  %4 = llm.rope %q, %p {num_heads = 8, scaling = #llm.rope_scaling<kind = none>}
      : tensor<1x8x512xf32>, tensor<1x8xi64>
  %5 = llm.rope %q, %p {num_heads = 8, scaling = #llm.rope_scaling<kind = linear, factor = 1.0>}
      : tensor<1x8x512xf32>, tensor<1x8xi64>
  %6 = llm.rope %q, %p {num_heads = 8, scaling = #llm.rope_scaling<kind = linear, factor = 2.0>}
      : tensor<1x8x512xf32>, tensor<1x8xi64>
  %7 = llm.rope %q, %p {num_heads = 8, scaling = #llm.rope_scaling<kind = linear, factor = 0.5>}
      : tensor<1x8x512xf32>, tensor<1x8xi64>
  %8 = llm.rope %q, %p {num_heads = 8,
                        scaling = #llm.rope_scaling<kind = dynamic, factor = 4.0, original_max_position = 2048>}
      : tensor<1x8x512xf32>, tensor<1x8xi64>
  %9 = llm.rope %q, %p {num_heads = 8,
                        scaling = #llm.rope_scaling<kind = yarn, factor = 4.0, original_max_position = 32768,
                                                    beta_fast = 32.0, beta_slow = 1.0, attention_factor = 1.25>}
      : tensor<1x8x512xf32>, tensor<1x8xi64>
  %10 = llm.rope %q, %p {num_heads = 8,
                         scaling = #llm.rope_scaling<kind = yarn, factor = 2.5, original_max_position = 4096,
                                                     beta_fast = 16.0, beta_slow = 2.0>}
      : tensor<1x8x512xf32>, tensor<1x8xi64>
  %11 = llm.rope %q, %p {num_heads = 8,
                         scaling = #llm.rope_scaling<kind = llama3, factor = 8.0, original_max_position = 8192,
                                                     low_freq_factor = 1.0, high_freq_factor = 4.0>}
      : tensor<1x8x512xf32>, tensor<1x8xi64>
  %12 = llm.rope %q, %p {num_heads = 8,
                         scaling = #llm.rope_scaling<kind = llama3, factor = 32.0, original_max_position = 8192,
                                                     low_freq_factor = 2.0, high_freq_factor = 8.0>}
      : tensor<1x8x512xf32>, tensor<1x8xi64>
  // Floats of #llm.rope_scaling print back bit-exactly.
  %13 = llm.rope %k, %p32 {num_heads = 2, theta = 1.0e6, pairing = #llm.pairing<gptj>,
                           scaling = #llm.rope_scaling<kind = yarn, factor = 1.0e20, original_max_position = 1,
                                                       beta_fast = 0.1, beta_slow = 1.0e-300>}
      : tensor<2x4x128xbf16>, tensor<2x4xi32>
  return
}

// CHECK-LABEL: func.func @position_bias(
// CHECK-SAME:    %[[T:[a-z0-9_]+]]: tensor<32x8xf32>, %[[TH:[a-z0-9_]+]]: tensor<16x4xf16>)
// CHECK-NEXT:    llm.alibi : tensor<12x16x16xf32>
// CHECK-NEXT:    llm.alibi {max_bias = 1.600000e+01 : f64} : tensor<12x1x16xbf16>
// CHECK-NEXT:    llm.alibi : tensor<5x?x?xf16>
// CHECK-NEXT:    llm.relative_position_bias %[[T]] {bidirectional, max_distance = 128 : i64, num_buckets = 32 : i64} : tensor<32x8xf32> -> tensor<8x16x16xf32>
// CHECK-NEXT:    llm.relative_position_bias %[[TH]] {max_distance = 64 : i64, num_buckets = 16 : i64} : tensor<16x4xf16> -> tensor<4x1x16xf16>
// CHECK-NEXT:    return
func.func @position_bias(%table: tensor<32x8xf32>, %table_h: tensor<16x4xf16>) {
  %0 = llm.alibi : tensor<12x16x16xf32>
  %1 = llm.alibi {max_bias = 16.0} : tensor<12x1x16xbf16>
  %2 = llm.alibi {max_bias = 8.0} : tensor<5x?x?xf16>
  %3 = llm.relative_position_bias %table {num_buckets = 32, max_distance = 128, bidirectional}
      : tensor<32x8xf32> -> tensor<8x16x16xf32>
  %4 = llm.relative_position_bias %table_h {num_buckets = 16, max_distance = 64}
      : tensor<16x4xf16> -> tensor<4x1x16xf16>
  return
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @attention(
// CHECK-SAME:    %[[Q:[a-z0-9_]+]]: tensor<1x16x512xf32>, %[[K:[a-z0-9_]+]]: tensor<1x16x128xf32>, %[[V:[a-z0-9_]+]]: tensor<1x16x128xf32>,
// CHECK-SAME:    %[[PAD:[a-z0-9_]+]]: tensor<1x16xi1>, %[[B3:[a-z0-9_]+]]: tensor<8x16x16xf32>, %[[B4:[a-z0-9_]+]]: tensor<1x1x16x16xf32>,
// CHECK-SAME:    %[[QH:[a-z0-9_]+]]: tensor<2x1x256xf16>, %[[KH:[a-z0-9_]+]]: tensor<2x?x256xf16>, %[[VH:[a-z0-9_]+]]: tensor<2x?x128xf16>,
// CHECK-SAME:    %[[QB:[a-z0-9_]+]]: tensor<1x4x64xbf16>, %[[KB:[a-z0-9_]+]]: tensor<1x8x16xbf16>)
// CHECK-NEXT:    llm.attention %[[Q]], %[[K]], %[[V]] {mask = #llm.mask<causal>, num_heads = 8 : i64, num_kv_heads = 2 : i64} :
// CHECK-SAME:      tensor<1x16x512xf32>, tensor<1x16x128xf32>, tensor<1x16x128xf32> -> tensor<1x16x512xf32>
// CHECK-NEXT:    llm.attention %[[Q]], %[[K]], %[[V]] {mask = #llm.mask<bidirectional>, num_heads = 8 : i64, num_kv_heads = 2 : i64, scale = 1.250000e-01 : f64} :
// CHECK-SAME:      tensor<1x16x512xf32>, tensor<1x16x128xf32>, tensor<1x16x128xf32> -> tensor<1x16x512xf32>
// CHECK-NEXT:    llm.attention %[[Q]], %[[K]], %[[V]] {mask = #llm.mask<sliding_window>, num_heads = 8 : i64, num_kv_heads = 2 : i64, window = 8 : i64} :
// CHECK-SAME:      tensor<1x16x512xf32>, tensor<1x16x128xf32>, tensor<1x16x128xf32> -> tensor<1x16x512xf32>
// CHECK-NEXT:    llm.attention %[[Q]], %[[K]], %[[V]] key_padding(%[[PAD]] : tensor<1x16xi1>) {mask = #llm.mask<padding>, num_heads = 8 : i64, num_kv_heads = 2 : i64} :
// CHECK-SAME:      tensor<1x16x512xf32>, tensor<1x16x128xf32>, tensor<1x16x128xf32> -> tensor<1x16x512xf32>
// CHECK-NEXT:    llm.attention %[[Q]], %[[K]], %[[V]] bias(%[[B3]] : tensor<8x16x16xf32>) {mask = #llm.mask<causal>, num_heads = 8 : i64, num_kv_heads = 2 : i64} :
// CHECK-SAME:      tensor<1x16x512xf32>, tensor<1x16x128xf32>, tensor<1x16x128xf32> -> tensor<1x16x512xf32>
// CHECK-NEXT:    llm.attention %[[Q]], %[[K]], %[[V]] key_padding(%[[PAD]] : tensor<1x16xi1>) bias(%[[B4]] : tensor<1x1x16x16xf32>) {mask = #llm.mask<bidirectional>, num_heads = 8 : i64, num_kv_heads = 2 : i64} :
// CHECK-SAME:      tensor<1x16x512xf32>, tensor<1x16x128xf32>, tensor<1x16x128xf32> -> tensor<1x16x512xf32>
// CHECK-NEXT:    llm.attention %[[Q]], %[[K]], %[[V]] key_padding(%[[PAD]] : tensor<1x16xi1>) {mask = #llm.mask<sliding_window>, num_heads = 8 : i64, num_kv_heads = 2 : i64, scale = 1.000000e+00 : f64, window = 1 : i64} :
// CHECK-SAME:      tensor<1x16x512xf32>, tensor<1x16x128xf32>, tensor<1x16x128xf32> -> tensor<1x16x512xf32>
// CHECK-NEXT:    llm.attention %[[QH]], %[[KH]], %[[VH]] {mask = #llm.mask<causal>, num_heads = 4 : i64, num_kv_heads = 4 : i64, scale = 6.250000e-02 : f64} :
// CHECK-SAME:      tensor<2x1x256xf16>, tensor<2x?x256xf16>, tensor<2x?x128xf16> -> tensor<2x1x128xf16>
// CHECK-NEXT:    llm.attention %[[QB]], %[[KB]], %[[KB]] {mask = #llm.mask<bidirectional>, num_heads = 4 : i64, num_kv_heads = 1 : i64} :
// CHECK-SAME:      tensor<1x4x64xbf16>, tensor<1x8x16xbf16>, tensor<1x8x16xbf16> -> tensor<1x4x64xbf16>
// CHECK-NEXT:    return
func.func @attention(
    %q: tensor<1x16x512xf32>, %k: tensor<1x16x128xf32>, %v: tensor<1x16x128xf32>,
    %pad: tensor<1x16xi1>, %bias3: tensor<8x16x16xf32>, %bias4: tensor<1x1x16x16xf32>,
    %qh: tensor<2x1x256xf16>, %kh: tensor<2x?x256xf16>, %vh: tensor<2x?x128xf16>,
    %qb: tensor<1x4x64xbf16>, %kb: tensor<1x8x16xbf16>) {
  %0 = llm.attention %q, %k, %v {num_heads = 8, num_kv_heads = 2, mask = #llm.mask<causal>}
      : tensor<1x16x512xf32>, tensor<1x16x128xf32>, tensor<1x16x128xf32> -> tensor<1x16x512xf32>
  %1 = llm.attention %q, %k, %v {num_heads = 8, num_kv_heads = 2, mask = #llm.mask<bidirectional>,
                                 scale = 0.125}
      : tensor<1x16x512xf32>, tensor<1x16x128xf32>, tensor<1x16x128xf32> -> tensor<1x16x512xf32>
  %2 = llm.attention %q, %k, %v {num_heads = 8, num_kv_heads = 2, mask = #llm.mask<sliding_window>,
                                 window = 8}
      : tensor<1x16x512xf32>, tensor<1x16x128xf32>, tensor<1x16x128xf32> -> tensor<1x16x512xf32>
  %3 = llm.attention %q, %k, %v key_padding(%pad : tensor<1x16xi1>)
          {num_heads = 8, num_kv_heads = 2, mask = #llm.mask<padding>}
      : tensor<1x16x512xf32>, tensor<1x16x128xf32>, tensor<1x16x128xf32> -> tensor<1x16x512xf32>
  %4 = llm.attention %q, %k, %v bias(%bias3 : tensor<8x16x16xf32>)
          {num_heads = 8, num_kv_heads = 2, mask = #llm.mask<causal>}
      : tensor<1x16x512xf32>, tensor<1x16x128xf32>, tensor<1x16x128xf32> -> tensor<1x16x512xf32>
  %5 = llm.attention %q, %k, %v key_padding(%pad : tensor<1x16xi1>) bias(%bias4 : tensor<1x1x16x16xf32>)
          {num_heads = 8, num_kv_heads = 2, mask = #llm.mask<bidirectional>}
      : tensor<1x16x512xf32>, tensor<1x16x128xf32>, tensor<1x16x128xf32> -> tensor<1x16x512xf32>
  %6 = llm.attention %q, %k, %v key_padding(%pad : tensor<1x16xi1>)
          {num_heads = 8, num_kv_heads = 2, mask = #llm.mask<sliding_window>, window = 1, scale = 1.0}
      : tensor<1x16x512xf32>, tensor<1x16x128xf32>, tensor<1x16x128xf32> -> tensor<1x16x512xf32>
  %7 = llm.attention %qh, %kh, %vh {num_heads = 4, num_kv_heads = 4, mask = #llm.mask<causal>, scale = 0.0625}
      : tensor<2x1x256xf16>, tensor<2x?x256xf16>, tensor<2x?x128xf16> -> tensor<2x1x128xf16>
  %8 = llm.attention %qb, %kb, %kb {num_heads = 4, num_kv_heads = 1, mask = #llm.mask<bidirectional>}
      : tensor<1x4x64xbf16>, tensor<1x8x16xbf16>, tensor<1x8x16xbf16> -> tensor<1x4x64xbf16>
  return
}

// The default block sizes (64) are elided.
// CHECK-LABEL: func.func @flash_attention(
// CHECK-SAME:    %[[Q:[a-z0-9_]+]]: tensor<1x16x512xf32>, %[[K:[a-z0-9_]+]]: tensor<1x16x512xf32>, %[[V:[a-z0-9_]+]]: tensor<1x16x512xf32>,
// CHECK-SAME:    %[[PAD:[a-z0-9_]+]]: tensor<1x16xi1>, %[[B:[a-z0-9_]+]]: tensor<8x16x16xf32>, %[[SL:[a-z0-9_]+]]: tensor<8xf32>,
// CHECK-SAME:    %[[QH:[a-z0-9_]+]]: tensor<?x?x256xf16>, %[[KH:[a-z0-9_]+]]: tensor<?x?x64xf16>)
// CHECK-NEXT:    llm.flash_attention %[[Q]], %[[K]], %[[V]] {mask = #llm.mask<causal>, num_heads = 8 : i64, num_kv_heads = 8 : i64, scale = 1.250000e-01 : f64} :
// CHECK-SAME:      tensor<1x16x512xf32>, tensor<1x16x512xf32>, tensor<1x16x512xf32> -> tensor<1x16x512xf32>
// CHECK-NEXT:    llm.flash_attention %[[Q]], %[[K]], %[[V]] alibi_slopes(%[[SL]] : tensor<8xf32>) {block_kv = 32 : i64, block_q = 128 : i64, mask = #llm.mask<sliding_window>, num_heads = 8 : i64, num_kv_heads = 8 : i64, scale = 1.250000e-01 : f64, window = 4 : i64} :
// CHECK-SAME:      tensor<1x16x512xf32>, tensor<1x16x512xf32>, tensor<1x16x512xf32> -> tensor<1x16x512xf32>
// CHECK-NEXT:    llm.flash_attention %[[Q]], %[[K]], %[[V]] key_padding(%[[PAD]] : tensor<1x16xi1>) bias(%[[B]] : tensor<8x16x16xf32>) alibi_slopes(%[[SL]] : tensor<8xf32>) {mask = #llm.mask<padding>, num_heads = 8 : i64, num_kv_heads = 8 : i64, scale = 1.250000e-01 : f64} :
// CHECK-SAME:      tensor<1x16x512xf32>, tensor<1x16x512xf32>, tensor<1x16x512xf32> -> tensor<1x16x512xf32>
// CHECK-NEXT:    llm.flash_attention %[[Q]], %[[K]], %[[V]] key_padding(%[[PAD]] : tensor<1x16xi1>) {block_kv = 16 : i64, mask = #llm.mask<bidirectional>, num_heads = 8 : i64, num_kv_heads = 8 : i64, scale = 1.250000e-01 : f64} :
// CHECK-SAME:      tensor<1x16x512xf32>, tensor<1x16x512xf32>, tensor<1x16x512xf32> -> tensor<1x16x512xf32>
// CHECK-NEXT:    llm.flash_attention %[[QH]], %[[KH]], %[[KH]] {block_q = 16 : i64, mask = #llm.mask<causal>, num_heads = 4 : i64, num_kv_heads = 1 : i64, scale = 1.250000e-01 : f64} :
// CHECK-SAME:      tensor<?x?x256xf16>, tensor<?x?x64xf16>, tensor<?x?x64xf16> -> tensor<?x?x256xf16>
// CHECK-NEXT:    return
func.func @flash_attention(
    %q: tensor<1x16x512xf32>, %k: tensor<1x16x512xf32>, %v: tensor<1x16x512xf32>,
    %pad: tensor<1x16xi1>, %bias: tensor<8x16x16xf32>, %slopes: tensor<8xf32>,
    %qh: tensor<?x?x256xf16>, %kh: tensor<?x?x64xf16>) {
  %0 = llm.flash_attention %q, %k, %v {num_heads = 8, num_kv_heads = 8, scale = 0.125,
                                       mask = #llm.mask<causal>, block_q = 64, block_kv = 64}
      : tensor<1x16x512xf32>, tensor<1x16x512xf32>, tensor<1x16x512xf32> -> tensor<1x16x512xf32>
  %1 = llm.flash_attention %q, %k, %v alibi_slopes(%slopes : tensor<8xf32>)
          {num_heads = 8, num_kv_heads = 8, scale = 0.125, mask = #llm.mask<sliding_window>,
           window = 4, block_q = 128, block_kv = 32}
      : tensor<1x16x512xf32>, tensor<1x16x512xf32>, tensor<1x16x512xf32> -> tensor<1x16x512xf32>
  %2 = llm.flash_attention %q, %k, %v key_padding(%pad : tensor<1x16xi1>) bias(%bias : tensor<8x16x16xf32>)
          alibi_slopes(%slopes : tensor<8xf32>)
          {num_heads = 8, num_kv_heads = 8, scale = 0.125, mask = #llm.mask<padding>}
      : tensor<1x16x512xf32>, tensor<1x16x512xf32>, tensor<1x16x512xf32> -> tensor<1x16x512xf32>
  %3 = llm.flash_attention %q, %k, %v key_padding(%pad : tensor<1x16xi1>)
          {num_heads = 8, num_kv_heads = 8, scale = 0.125, mask = #llm.mask<bidirectional>, block_kv = 16}
      : tensor<1x16x512xf32>, tensor<1x16x512xf32>, tensor<1x16x512xf32> -> tensor<1x16x512xf32>
  %4 = llm.flash_attention %qh, %kh, %kh {num_heads = 4, num_kv_heads = 1, scale = 0.125,
                                          mask = #llm.mask<causal>, block_q = 16}
      : tensor<?x?x256xf16>, tensor<?x?x64xf16>, tensor<?x?x64xf16> -> tensor<?x?x256xf16>
  return
}

// CHECK-LABEL: func.func @paged_attention(
// CHECK-SAME:    %[[Q:[a-z0-9_]+]]: tensor<4x1x512xf32>,
// CHECK-SAME:    %[[C:[a-z0-9_]+]]: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
// CHECK-SAME:    %[[T:[a-z0-9_]+]]: tensor<4x32xi32>, %[[L:[a-z0-9_]+]]: tensor<4xi32>, %[[SL:[a-z0-9_]+]]: tensor<8xf32>,
// CHECK-SAME:    %[[QB:[a-z0-9_]+]]: tensor<?x4x256xbf16>,
// CHECK-SAME:    %[[C8:[a-z0-9_]+]]: !llm.kv_cache<layers = 4, kv_heads = 1, head_dim = 128, block_size = 32, dtype = i8>,
// CHECK-SAME:    %[[T64:[a-z0-9_]+]]: tensor<?x?xi64>, %[[L64:[a-z0-9_]+]]: tensor<?xi64>)
// CHECK-NEXT:    llm.paged_attention %[[Q]], %[[C]], %[[T]], %[[L]] {layer = 0 : i64, mask = #llm.mask<causal>, num_heads = 8 : i64, scale = 1.250000e-01 : f64} :
// CHECK-SAME:      tensor<4x1x512xf32>, !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
// CHECK-SAME:      tensor<4x32xi32>, tensor<4xi32> -> tensor<4x1x512xf32>
// CHECK-NEXT:    llm.paged_attention %[[Q]], %[[C]], %[[T]], %[[L]] alibi_slopes(%[[SL]] : tensor<8xf32>) {layer = 1 : i64, mask = #llm.mask<sliding_window>, num_heads = 8 : i64, scale = 1.250000e-01 : f64, window = 256 : i64} :
// CHECK-SAME:      tensor<4x1x512xf32>, !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
// CHECK-SAME:      tensor<4x32xi32>, tensor<4xi32> -> tensor<4x1x512xf32>
// CHECK-NEXT:    llm.paged_attention %[[QB]], %[[C8]], %[[T64]], %[[L64]] {layer = 3 : i64, mask = #llm.mask<causal>, num_heads = 2 : i64, scale = 0.088388347648318433 : f64} :
// CHECK-SAME:      tensor<?x4x256xbf16>, !llm.kv_cache<layers = 4, kv_heads = 1, head_dim = 128, block_size = 32, dtype = i8>,
// CHECK-SAME:      tensor<?x?xi64>, tensor<?xi64> -> tensor<?x4x256xbf16>
// CHECK-NEXT:    return
func.func @paged_attention(
    %q: tensor<4x1x512xf32>,
    %cache: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
    %tables: tensor<4x32xi32>, %lens: tensor<4xi32>, %slopes: tensor<8xf32>,
    %qb: tensor<?x4x256xbf16>,
    %cache8: !llm.kv_cache<layers = 4, kv_heads = 1, head_dim = 128, block_size = 32, dtype = i8>,
    %tables64: tensor<?x?xi64>, %lens64: tensor<?xi64>) {
  %0 = llm.paged_attention %q, %cache, %tables, %lens
          {layer = 0, num_heads = 8, scale = 0.125, mask = #llm.mask<causal>}
      : tensor<4x1x512xf32>,
        !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
        tensor<4x32xi32>, tensor<4xi32> -> tensor<4x1x512xf32>
  %1 = llm.paged_attention %q, %cache, %tables, %lens alibi_slopes(%slopes : tensor<8xf32>)
          {layer = 1, num_heads = 8, scale = 0.125, mask = #llm.mask<sliding_window>, window = 256}
      : tensor<4x1x512xf32>,
        !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
        tensor<4x32xi32>, tensor<4xi32> -> tensor<4x1x512xf32>
  %2 = llm.paged_attention %qb, %cache8, %tables64, %lens64
          {layer = 3, num_heads = 2, scale = 0.088388347648318433, mask = #llm.mask<causal>}
      : tensor<?x4x256xbf16>,
        !llm.kv_cache<layers = 4, kv_heads = 1, head_dim = 128, block_size = 32, dtype = i8>,
        tensor<?x?xi64>, tensor<?xi64> -> tensor<?x4x256xbf16>
  return
}

// CHECK-LABEL: func.func @paged_attention_t5(
// CHECK-SAME:    %[[Q:[a-z0-9_]+]]: tensor<4x3x96xf32>,
// CHECK-SAME:    %[[C:[a-z0-9_]+]]: !llm.kv_cache<layers = 2, kv_heads = 4, head_dim = 24, block_size = 16, dtype = f32>,
// CHECK-SAME:    %[[T:[a-z0-9_]+]]: tensor<4x8xi32>, %[[L:[a-z0-9_]+]]: tensor<4xi32>, %[[TAB:[a-z0-9_]+]]: tensor<32x4xf32>)
// CHECK-NEXT:    llm.paged_attention %[[Q]], %[[C]], %[[T]], %[[L]] relative_bias_table(%[[TAB]] : tensor<32x4xf32>) {layer = 0 : i64, mask = #llm.mask<causal>, max_distance = 128 : i64, num_buckets = 32 : i64, num_heads = 4 : i64, scale = 1.000000e+00 : f64} :
// CHECK-NEXT:    llm.paged_attention %[[Q]], %[[C]], %[[T]], %[[L]] relative_bias_table(%[[TAB]] : tensor<32x4xf32>) {bidirectional_buckets, layer = 0 : i64, mask = #llm.mask<causal>, max_distance = 128 : i64, num_buckets = 32 : i64, num_heads = 4 : i64, scale = 1.000000e+00 : f64} :
// CHECK-NEXT:    llm.paged_attention %[[Q]], %[[C]], %[[T]], %[[L]] {layer = 1 : i64, mask = #llm.mask<bidirectional>, num_heads = 4 : i64, scale = 1.000000e+00 : f64} :
// CHECK:         return
func.func @paged_attention_t5(
    %q: tensor<4x3x96xf32>,
    %cache: !llm.kv_cache<layers = 2, kv_heads = 4, head_dim = 24, block_size = 16, dtype = f32>,
    %tables: tensor<4x8xi32>, %lens: tensor<4xi32>, %table: tensor<32x4xf32>) {
  // Decoder self-attention with T5's bias from the cached positions.
  %0 = llm.paged_attention %q, %cache, %tables, %lens relative_bias_table(%table : tensor<32x4xf32>)
          {layer = 0, num_heads = 4, scale = 1.0, mask = #llm.mask<causal>, num_buckets = 32, max_distance = 128}
      : tensor<4x3x96xf32>,
        !llm.kv_cache<layers = 2, kv_heads = 4, head_dim = 24, block_size = 16, dtype = f32>,
        tensor<4x8xi32>, tensor<4xi32> -> tensor<4x3x96xf32>
  %1 = llm.paged_attention %q, %cache, %tables, %lens relative_bias_table(%table : tensor<32x4xf32>)
          {layer = 0, num_heads = 4, scale = 1.0, mask = #llm.mask<causal>, num_buckets = 32, max_distance = 128,
           bidirectional_buckets}
      : tensor<4x3x96xf32>,
        !llm.kv_cache<layers = 2, kv_heads = 4, head_dim = 24, block_size = 16, dtype = f32>,
        tensor<4x8xi32>, tensor<4xi32> -> tensor<4x3x96xf32>
  // Cross-attention over a static cache: every cached key.
  %2 = llm.paged_attention %q, %cache, %tables, %lens
          {layer = 1, num_heads = 4, scale = 1.0, mask = #llm.mask<bidirectional>}
      : tensor<4x3x96xf32>,
        !llm.kv_cache<layers = 2, kv_heads = 4, head_dim = 24, block_size = 16, dtype = f32>,
        tensor<4x8xi32>, tensor<4xi32> -> tensor<4x3x96xf32>
  return
}

//===----------------------------------------------------------------------===//
// KV cache
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @kv_cache(
// CHECK-SAME:    %[[C0:[a-z0-9_]+]]: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
// CHECK-SAME:    %[[SLOTS:[a-z0-9_]+]]: tensor<4x1xi32>, %[[K:[a-z0-9_]+]]: tensor<4x1x128xf32>, %[[V:[a-z0-9_]+]]: tensor<4x1x128xf32>,
// CHECK-SAME:    %[[T:[a-z0-9_]+]]: tensor<4x2xi32>,
// CHECK-SAME:    %[[C8:[a-z0-9_]+]]: !llm.kv_cache<layers = 1, kv_heads = 4, head_dim = 32, block_size = 8, dtype = i8>,
// CHECK-SAME:    %[[S64:[a-z0-9_]+]]: tensor<1x?xi64>, %[[KB:[a-z0-9_]+]]: tensor<1x?x128xbf16>, %[[T64:[a-z0-9_]+]]: tensor<?x?xi64>)
// CHECK-SAME:    -> (!llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
// CHECK-SAME:        !llm.kv_cache<layers = 1, kv_heads = 4, head_dim = 32, block_size = 8, dtype = i8>)
// CHECK-NEXT:    %[[C1:.*]] = llm.kv_cache_append %[[C0]][%[[SLOTS]]], %[[K]], %[[V]] {layer = 1 : i64} :
// CHECK-SAME:      !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
// CHECK-SAME:      tensor<4x1xi32>, tensor<4x1x128xf32>, tensor<4x1x128xf32>
// CHECK-NEXT:    %[[C9:.*]] = llm.kv_cache_append %[[C8]][%[[S64]]], %[[KB]], %[[KB]] {layer = 0 : i64} :
// CHECK-SAME:      !llm.kv_cache<layers = 1, kv_heads = 4, head_dim = 32, block_size = 8, dtype = i8>,
// CHECK-SAME:      tensor<1x?xi64>, tensor<1x?x128xbf16>, tensor<1x?x128xbf16>
// CHECK-NEXT:    %{{.*}}, %{{.*}} = llm.kv_cache_gather %[[C1]][%[[T]]] {layer = 0 : i64} :
// CHECK-SAME:      !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
// CHECK-SAME:      tensor<4x2xi32> -> tensor<4x32x128xf32>, tensor<4x32x128xf32>
// CHECK-NEXT:    %{{.*}}, %{{.*}} = llm.kv_cache_gather %[[C9]][%[[T64]]] {layer = 0 : i64} :
// CHECK-SAME:      !llm.kv_cache<layers = 1, kv_heads = 4, head_dim = 32, block_size = 8, dtype = i8>,
// CHECK-SAME:      tensor<?x?xi64> -> tensor<?x?x128xf16>, tensor<?x?x128xf16>
// CHECK-NEXT:    return %[[C1]], %[[C9]] :
func.func @kv_cache(
    %c0: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
    %slots: tensor<4x1xi32>, %k: tensor<4x1x128xf32>, %v: tensor<4x1x128xf32>,
    %tables: tensor<4x2xi32>,
    %c8: !llm.kv_cache<layers = 1, kv_heads = 4, head_dim = 32, block_size = 8, dtype = i8>,
    %slots64: tensor<1x?xi64>, %kb: tensor<1x?x128xbf16>, %tables64: tensor<?x?xi64>)
    -> (!llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
        !llm.kv_cache<layers = 1, kv_heads = 4, head_dim = 32, block_size = 8, dtype = i8>) {
  %c1 = llm.kv_cache_append %c0[%slots], %k, %v {layer = 1}
      : !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
        tensor<4x1xi32>, tensor<4x1x128xf32>, tensor<4x1x128xf32>
  %c9 = llm.kv_cache_append %c8[%slots64], %kb, %kb {layer = 0}
      : !llm.kv_cache<layers = 1, kv_heads = 4, head_dim = 32, block_size = 8, dtype = i8>,
        tensor<1x?xi64>, tensor<1x?x128xbf16>, tensor<1x?x128xbf16>
  %gk, %gv = llm.kv_cache_gather %c1[%tables] {layer = 0}
      : !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
        tensor<4x2xi32> -> tensor<4x32x128xf32>, tensor<4x32x128xf32>
  %hk, %hv = llm.kv_cache_gather %c9[%tables64] {layer = 0}
      : !llm.kv_cache<layers = 1, kv_heads = 4, head_dim = 32, block_size = 8, dtype = i8>,
        tensor<?x?xi64> -> tensor<?x?x128xf16>, tensor<?x?x128xf16>
  return %c1, %c9
      : !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
        !llm.kv_cache<layers = 1, kv_heads = 4, head_dim = 32, block_size = 8, dtype = i8>
}

//===----------------------------------------------------------------------===//
// Mixture of experts
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @moe(
// CHECK-SAME:    %[[X:[a-z0-9_]+]]: tensor<1x8x64xf32>, %[[R:[a-z0-9_]+]]: tensor<8x64xf32>, %[[G:[a-z0-9_]+]]: tensor<8x128x64xf32>,
// CHECK-SAME:    %[[U:[a-z0-9_]+]]: tensor<8x128x64xf32>, %[[D:[a-z0-9_]+]]: tensor<8x64x128xf32>,
// CHECK-SAME:    %[[XB:[a-z0-9_]+]]: tensor<?x64xbf16>, %[[RB:[a-z0-9_]+]]: tensor<4x64xbf16>, %[[GB:[a-z0-9_]+]]: tensor<4x32x64xbf16>,
// CHECK-SAME:    %[[DB:[a-z0-9_]+]]: tensor<4x64x32xbf16>)
// CHECK-NEXT:    llm.moe %[[X]], %[[R]], %[[G]], %[[U]], %[[D]] {normalize, top_k = 2 : i64} :
// CHECK-SAME:      tensor<1x8x64xf32>, tensor<8x64xf32>, tensor<8x128x64xf32>, tensor<8x128x64xf32>, tensor<8x64x128xf32>
// CHECK-NEXT:    llm.moe %[[X]], %[[R]], %[[G]], %[[U]], %[[D]] {top_k = 8 : i64} :
// CHECK-SAME:      tensor<1x8x64xf32>, tensor<8x64xf32>, tensor<8x128x64xf32>, tensor<8x128x64xf32>, tensor<8x64x128xf32>
// CHECK-NEXT:    llm.moe %[[X]], %[[R]], %[[G]], %[[U]], %[[D]] {activation = #llm.activation<gelu>, top_k = 2 : i64} :
// CHECK-SAME:      tensor<1x8x64xf32>, tensor<8x64xf32>, tensor<8x128x64xf32>, tensor<8x128x64xf32>, tensor<8x64x128xf32>
// CHECK-NEXT:    llm.moe %[[X]], %[[R]], %[[G]], %[[U]], %[[D]] {activation = #llm.activation<gelu_tanh>, normalize, top_k = 2 : i64} :
// CHECK-SAME:      tensor<1x8x64xf32>, tensor<8x64xf32>, tensor<8x128x64xf32>, tensor<8x128x64xf32>, tensor<8x64x128xf32>
// CHECK-NEXT:    llm.moe %[[XB]], %[[RB]], %[[GB]], %[[GB]], %[[DB]] {activation = #llm.activation<relu>, top_k = 1 : i64} :
// CHECK-SAME:      tensor<?x64xbf16>, tensor<4x64xbf16>, tensor<4x32x64xbf16>, tensor<4x32x64xbf16>, tensor<4x64x32xbf16>
// CHECK-NEXT:    return
func.func @moe(
    %x: tensor<1x8x64xf32>, %router: tensor<8x64xf32>, %gate: tensor<8x128x64xf32>,
    %up: tensor<8x128x64xf32>, %down: tensor<8x64x128xf32>,
    %xb: tensor<?x64xbf16>, %rb: tensor<4x64xbf16>, %gb: tensor<4x32x64xbf16>, %db: tensor<4x64x32xbf16>) {
  %0 = llm.moe %x, %router, %gate, %up, %down {top_k = 2, normalize}
      : tensor<1x8x64xf32>, tensor<8x64xf32>, tensor<8x128x64xf32>, tensor<8x128x64xf32>,
        tensor<8x64x128xf32>
  %1 = llm.moe %x, %router, %gate, %up, %down {top_k = 8, activation = #llm.activation<silu>}
      : tensor<1x8x64xf32>, tensor<8x64xf32>, tensor<8x128x64xf32>, tensor<8x128x64xf32>,
        tensor<8x64x128xf32>
  %2 = llm.moe %x, %router, %gate, %up, %down {top_k = 2, activation = #llm.activation<gelu>}
      : tensor<1x8x64xf32>, tensor<8x64xf32>, tensor<8x128x64xf32>, tensor<8x128x64xf32>,
        tensor<8x64x128xf32>
  %3 = llm.moe %x, %router, %gate, %up, %down {top_k = 2, normalize, activation = #llm.activation<gelu_tanh>}
      : tensor<1x8x64xf32>, tensor<8x64xf32>, tensor<8x128x64xf32>, tensor<8x128x64xf32>,
        tensor<8x64x128xf32>
  %4 = llm.moe %xb, %rb, %gb, %gb, %db {top_k = 1, activation = #llm.activation<relu>}
      : tensor<?x64xbf16>, tensor<4x64xbf16>, tensor<4x32x64xbf16>, tensor<4x32x64xbf16>,
        tensor<4x64x32xbf16>
  return
}

// The specialized form of llm.moe: route, permute, grouped matmul, combine.
// CHECK-LABEL: func.func @moe_pipeline(
// CHECK-SAME:    %[[LOGITS:[a-z0-9_]+]]: tensor<8x8xf32>, %[[X:[a-z0-9_]+]]: tensor<8x64xf32>, %[[W:[a-z0-9_]+]]: tensor<8x128x64xf32>)
// CHECK-NEXT:    %[[WEIGHTS:.*]], %[[IDX:.*]] = llm.moe_route %[[LOGITS]] {normalize, top_k = 2 : i64} : tensor<8x8xf32> -> tensor<8x2xf32>, tensor<8x2xi32>
// CHECK-NEXT:    %{{.*}}, %{{.*}} = llm.moe_route %[[LOGITS]] {top_k = 1 : i64} : tensor<8x8xf32> -> tensor<8x1xf32>, tensor<8x1xi64>
// CHECK-NEXT:    %[[P:.*]], %[[OFF:.*]], %[[SRC:.*]] = llm.moe_permute %[[X]], %[[IDX]] {num_experts = 8 : i64} :
// CHECK-SAME:      tensor<8x64xf32>, tensor<8x2xi32> -> tensor<16x64xf32>, tensor<9xi32>, tensor<16xi32>
// CHECK-NEXT:    %[[Y:.*]] = llm.grouped_matmul %[[P]], %[[W]], %[[OFF]] : tensor<16x64xf32>, tensor<8x128x64xf32>, tensor<9xi32> -> tensor<16x128xf32>
// CHECK-NEXT:    %[[OUT:.*]] = llm.moe_combine %[[Y]], %[[WEIGHTS]], %[[SRC]] : tensor<16x128xf32>, tensor<8x2xf32>, tensor<16xi32> -> tensor<8x128xf32>
// CHECK-NEXT:    return %[[OUT]] : tensor<8x128xf32>
func.func @moe_pipeline(%logits: tensor<8x8xf32>, %x: tensor<8x64xf32>,
                        %w: tensor<8x128x64xf32>) -> tensor<8x128xf32> {
  %weights, %idx = llm.moe_route %logits {top_k = 2, normalize}
      : tensor<8x8xf32> -> tensor<8x2xf32>, tensor<8x2xi32>
  %w1, %i1 = llm.moe_route %logits {top_k = 1} : tensor<8x8xf32> -> tensor<8x1xf32>, tensor<8x1xi64>
  %p, %off, %src = llm.moe_permute %x, %idx {num_experts = 8}
      : tensor<8x64xf32>, tensor<8x2xi32> -> tensor<16x64xf32>, tensor<9xi32>, tensor<16xi32>
  %y = llm.grouped_matmul %p, %w, %off
      : tensor<16x64xf32>, tensor<8x128x64xf32>, tensor<9xi32> -> tensor<16x128xf32>
  %out = llm.moe_combine %y, %weights, %src
      : tensor<16x128xf32>, tensor<8x2xf32>, tensor<16xi32> -> tensor<8x128xf32>
  return %out : tensor<8x128xf32>
}

// CHECK-LABEL: func.func @moe_pipeline_dynamic(
// CHECK-SAME:    %[[LOGITS:[a-z0-9_]+]]: tensor<?x4xf16>, %[[X:[a-z0-9_]+]]: tensor<?x32xf16>, %[[W:[a-z0-9_]+]]: tensor<4x16x32xf16>)
// CHECK-NEXT:    %[[WEIGHTS:.*]], %[[IDX:.*]] = llm.moe_route %[[LOGITS]] {top_k = 2 : i64} : tensor<?x4xf16> -> tensor<?x2xf16>, tensor<?x2xi64>
// CHECK-NEXT:    %[[P:.*]], %[[OFF:.*]], %[[SRC:.*]] = llm.moe_permute %[[X]], %[[IDX]] {num_experts = 4 : i64} :
// CHECK-SAME:      tensor<?x32xf16>, tensor<?x2xi64> -> tensor<?x32xf16>, tensor<5xi64>, tensor<?xi64>
// CHECK-NEXT:    %[[Y:.*]] = llm.grouped_matmul %[[P]], %[[W]], %[[OFF]] : tensor<?x32xf16>, tensor<4x16x32xf16>, tensor<5xi64> -> tensor<?x16xf16>
// CHECK-NEXT:    %[[OUT:.*]] = llm.moe_combine %[[Y]], %[[WEIGHTS]], %[[SRC]] : tensor<?x16xf16>, tensor<?x2xf16>, tensor<?xi64> -> tensor<?x16xf16>
// CHECK-NEXT:    return %[[OUT]] : tensor<?x16xf16>
func.func @moe_pipeline_dynamic(%logits: tensor<?x4xf16>, %x: tensor<?x32xf16>,
                                %w: tensor<4x16x32xf16>) -> tensor<?x16xf16> {
  %weights, %idx = llm.moe_route %logits {top_k = 2} : tensor<?x4xf16> -> tensor<?x2xf16>, tensor<?x2xi64>
  %p, %off, %src = llm.moe_permute %x, %idx {num_experts = 4}
      : tensor<?x32xf16>, tensor<?x2xi64> -> tensor<?x32xf16>, tensor<5xi64>, tensor<?xi64>
  %y = llm.grouped_matmul %p, %w, %off
      : tensor<?x32xf16>, tensor<4x16x32xf16>, tensor<5xi64> -> tensor<?x16xf16>
  %out = llm.moe_combine %y, %weights, %src
      : tensor<?x16xf16>, tensor<?x2xf16>, tensor<?xi64> -> tensor<?x16xf16>
  return %out : tensor<?x16xf16>
}

//===----------------------------------------------------------------------===//
// Quantization
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @dequantize(
// CHECK-SAME:    %[[Q4:[a-z0-9_]+]]: !llm.qweight<256x256, bits = 4, group = 32, scale = f16, symmetric, packing = nibble>,
// CHECK-SAME:    %[[Q8:[a-z0-9_]+]]: !llm.qweight<64x128, bits = 8, group = per_channel, scale = bf16, asymmetric, packing = byte>)
// CHECK-NEXT:    llm.dequantize %[[Q4]] : !llm.qweight<256x256, bits = 4, group = 32, scale = f16, symmetric, packing = nibble> -> tensor<256x256xf32>
// CHECK-NEXT:    llm.dequantize %[[Q8]] : !llm.qweight<64x128, bits = 8, group = per_channel, scale = bf16, asymmetric, packing = byte> -> tensor<64x128xbf16>
// CHECK-NEXT:    return
func.func @dequantize(
    %q4: !llm.qweight<256x256, bits = 4, group = 32, scale = f16, symmetric, packing = nibble>,
    %q8: !llm.qweight<64x128, bits = 8, group = per_channel, scale = bf16, asymmetric, packing = byte>) {
  %0 = llm.dequantize %q4
      : !llm.qweight<256x256, bits = 4, group = 32, scale = f16, symmetric, packing = nibble>
        -> tensor<256x256xf32>
  %1 = llm.dequantize %q8
      : !llm.qweight<64x128, bits = 8, group = per_channel, scale = bf16, asymmetric, packing = byte>
        -> tensor<64x128xbf16>
  return
}

//===----------------------------------------------------------------------===//
// Sampling
//===----------------------------------------------------------------------===//

// Attributes equal to their defaults (temperature = 1.0, top_k = 0,
// top_p = 1.0, min_p = 0.0, repetition_penalty = 1.0, seed = 0) are elided.
// CHECK-LABEL: func.func @sample(
// CHECK-SAME:    %[[L:[a-z0-9_]+]]: tensor<2x32000xf32>, %[[PREV:[a-z0-9_]+]]: tensor<2x?xi64>,
// CHECK-SAME:    %[[LH:[a-z0-9_]+]]: tensor<1x128xf16>, %[[PREV32:[a-z0-9_]+]]: tensor<1x16xi32>)
// CHECK-NEXT:    llm.sample %[[L]] : tensor<2x32000xf32> -> tensor<2xi64>
// CHECK-NEXT:    llm.sample %[[L]] : tensor<2x32000xf32> -> tensor<2xi64>
// CHECK-NEXT:    llm.sample %[[L]] {seed = 42 : i64, temperature = 0.69999999999999996 : f64, top_k = 40 : i64, top_p = 9.000000e-01 : f64} : tensor<2x32000xf32> -> tensor<2xi64>
// CHECK-NEXT:    llm.sample %[[L]] prev(%[[PREV]] : tensor<2x?xi64>) {min_p = 5.000000e-02 : f64, repetition_penalty = 1.100000e+00 : f64, temperature = 8.000000e-01 : f64} : tensor<2x32000xf32> -> tensor<2xi64>
// CHECK-NEXT:    llm.sample %[[L]] prev(%[[PREV]] : tensor<2x?xi64>) : tensor<2x32000xf32> -> tensor<2xi64>
// CHECK-NEXT:    llm.sample %[[LH]] prev(%[[PREV32]] : tensor<1x16xi32>) {repetition_penalty = 1.300000e+00 : f64, temperature = 0.000000e+00 : f64} : tensor<1x128xf16> -> tensor<1xi32>
// CHECK-NEXT:    llm.sample %[[LH]] {min_p = 1.000000e+00 : f64, temperature = 2.000000e+00 : f64, top_p = 1.000000e-01 : f64} : tensor<1x128xf16> -> tensor<1xi32>
// CHECK-NEXT:    return
func.func @sample(%logits: tensor<2x32000xf32>, %prev: tensor<2x?xi64>,
                  %lh: tensor<1x128xf16>, %prev32: tensor<1x16xi32>) {
  %0 = llm.sample %logits : tensor<2x32000xf32> -> tensor<2xi64>
  %1 = llm.sample %logits {temperature = 1.0, top_k = 0, top_p = 1.0, min_p = 0.0,
                           repetition_penalty = 1.0, seed = 0}
      : tensor<2x32000xf32> -> tensor<2xi64>
  %2 = llm.sample %logits {temperature = 0.7, top_k = 40, top_p = 0.9, seed = 42}
      : tensor<2x32000xf32> -> tensor<2xi64>
  %3 = llm.sample %logits prev(%prev : tensor<2x?xi64>)
          {temperature = 0.8, min_p = 0.05, repetition_penalty = 1.1}
      : tensor<2x32000xf32> -> tensor<2xi64>
  %4 = llm.sample %logits prev(%prev : tensor<2x?xi64>) : tensor<2x32000xf32> -> tensor<2xi64>
  %5 = llm.sample %lh prev(%prev32 : tensor<1x16xi32>) {temperature = 0.0, repetition_penalty = 1.3}
      : tensor<1x128xf16> -> tensor<1xi32>
  %6 = llm.sample %lh {temperature = 2.0, top_p = 0.1, min_p = 1.0} : tensor<1x128xf16> -> tensor<1xi32>
  return
}

//===----------------------------------------------------------------------===//
// Attention layout
//===----------------------------------------------------------------------===//

// Decomposed grouped-query attention, as HFImportOptions::decomposeAttention
// emits it, with dynamic batch and sequence dimensions.
// CHECK-LABEL: func.func @attention_layout(
// CHECK-SAME:    %[[Q:[a-z0-9_]+]]: tensor<1x16x512xf32>, %[[K:[a-z0-9_]+]]: tensor<1x16x128xf32>,
// CHECK-SAME:    %[[D:[a-z0-9_]+]]: tensor<?x?x256xbf16>)
// CHECK-NEXT:    %[[QH:.*]] = llm.split_heads %[[Q]] {num_heads = 8 : i64} : tensor<1x16x512xf32> -> tensor<1x8x16x64xf32>
// CHECK-NEXT:    %[[KH:.*]] = llm.split_heads %[[K]] {num_heads = 2 : i64} : tensor<1x16x128xf32> -> tensor<1x2x16x64xf32>
// CHECK-NEXT:    %[[KR:.*]] = llm.repeat_kv %[[KH]] {repeats = 4 : i64} : tensor<1x2x16x64xf32> -> tensor<1x8x16x64xf32>
// CHECK-NEXT:    %[[S:.*]] = llm.matmul %[[QH]], %[[KR]] {transpose_rhs} : tensor<1x8x16x64xf32>, tensor<1x8x16x64xf32> -> tensor<1x8x16x16xf32>
// CHECK-NEXT:    %[[P:.*]] = llm.softmax %[[S]] {axis = 3 : i64} : tensor<1x8x16x16xf32>
// CHECK-NEXT:    %[[O:.*]] = llm.matmul %[[P]], %[[KR]] : tensor<1x8x16x16xf32>, tensor<1x8x16x64xf32> -> tensor<1x8x16x64xf32>
// CHECK-NEXT:    llm.merge_heads %[[O]] : tensor<1x8x16x64xf32> -> tensor<1x16x512xf32>
// CHECK-NEXT:    %[[DH:.*]] = llm.split_heads %[[D]] {num_heads = 4 : i64} : tensor<?x?x256xbf16> -> tensor<?x4x?x64xbf16>
// CHECK-NEXT:    %[[DR:.*]] = llm.repeat_kv %[[DH]] {repeats = 1 : i64} : tensor<?x4x?x64xbf16> -> tensor<?x4x?x64xbf16>
// CHECK-NEXT:    llm.merge_heads %[[DR]] : tensor<?x4x?x64xbf16> -> tensor<?x?x256xbf16>
// CHECK-NEXT:    return
func.func @attention_layout(%q: tensor<1x16x512xf32>, %k: tensor<1x16x128xf32>,
                            %d: tensor<?x?x256xbf16>) {
  %qh = llm.split_heads %q {num_heads = 8} : tensor<1x16x512xf32> -> tensor<1x8x16x64xf32>
  %kh = llm.split_heads %k {num_heads = 2} : tensor<1x16x128xf32> -> tensor<1x2x16x64xf32>
  %kr = llm.repeat_kv %kh {repeats = 4} : tensor<1x2x16x64xf32> -> tensor<1x8x16x64xf32>
  %s = llm.matmul %qh, %kr {transpose_rhs} : tensor<1x8x16x64xf32>, tensor<1x8x16x64xf32> -> tensor<1x8x16x16xf32>
  %p = llm.softmax %s {axis = 3} : tensor<1x8x16x16xf32>
  %o = llm.matmul %p, %kr : tensor<1x8x16x16xf32>, tensor<1x8x16x64xf32> -> tensor<1x8x16x64xf32>
  %m = llm.merge_heads %o : tensor<1x8x16x64xf32> -> tensor<1x16x512xf32>
  %dh = llm.split_heads %d {num_heads = 4} : tensor<?x?x256xbf16> -> tensor<?x4x?x64xbf16>
  %dr = llm.repeat_kv %dh {repeats = 1} : tensor<?x4x?x64xbf16> -> tensor<?x4x?x64xbf16>
  %dm = llm.merge_heads %dr : tensor<?x4x?x64xbf16> -> tensor<?x?x256xbf16>
  return
}

// CHECK-LABEL: func.func @rope_inv_freq
// CHECK-NEXT: %{{.*}} = llm.rope_inv_freq %arg0 {rotary_dim = 64 : i64, scaling = #llm.rope_scaling<kind = dynamic, factor = 2.0, original_max_position = 2048>, theta = 5.000000e+05 : f64} : tensor<2x16xi64> -> tensor<32xf32>
// CHECK-NEXT: %{{.*}} = llm.rope_inv_freq %arg1 {rotary_dim = 8 : i64} : tensor<1xi32> -> tensor<4xf32>
func.func @rope_inv_freq(%pos: tensor<2x16xi64>, %pos32: tensor<1xi32>) -> (tensor<32xf32>, tensor<4xf32>) {
  %f = llm.rope_inv_freq %pos {rotary_dim = 64, theta = 500000.0,
                               scaling = #llm.rope_scaling<kind = dynamic, factor = 2.0, original_max_position = 2048>}
      : tensor<2x16xi64> -> tensor<32xf32>
  %g = llm.rope_inv_freq %pos32 {rotary_dim = 8} : tensor<1xi32> -> tensor<4xf32>
  return %f, %g : tensor<32xf32>, tensor<4xf32>
}

// CHECK-LABEL: func.func @linear_rope
// CHECK-NEXT: %{{.*}} = llm.linear_rope %arg0, %arg1 bias(%arg2 : tensor<16xf32>), %arg3, %arg4 {attention_scaling = 1.500000e+00 : f64, num_heads = 2 : i64, pairing = #llm.pairing<gptj>, rotary_dim = 4 : i64} : tensor<1x3x8xf32>, tensor<16x8xbf16>, tensor<1x3xi64>, tensor<2xf32> -> tensor<1x3x16xf32>
func.func @linear_rope(%x: tensor<1x3x8xf32>, %w: tensor<16x8xbf16>, %b: tensor<16xf32>, %pos: tensor<1x3xi64>, %t: tensor<2xf32>) -> tensor<1x3x16xf32> {
  %y = llm.linear_rope %x, %w bias(%b : tensor<16xf32>), %pos, %t {num_heads = 2, rotary_dim = 4, pairing = #llm.pairing<gptj>, attention_scaling = 1.5}
      : tensor<1x3x8xf32>, tensor<16x8xbf16>, tensor<1x3xi64>, tensor<2xf32> -> tensor<1x3x16xf32>
  return %y : tensor<1x3x16xf32>
}
