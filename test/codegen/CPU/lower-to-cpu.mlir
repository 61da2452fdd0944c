// RUN: llm-opt %s --llm-lower-to-cpu --split-input-file --verify-diagnostics | FileCheck %s

// A norm, two projections and a residual: weights are loaded from the
// params table, intermediates live at planned 64-byte-aligned arena offsets
// (3 live tensors of 64 bytes at most: 192 bytes), and the returned value is
// written straight into the caller's result buffer.

// CHECK: module attributes {llm.params = [{name = "norm", type = tensor<8xf32>}, {name = "w1", type = tensor<8x8xbf16>}]}
// CHECK-DAG: llvm.func @llmk_rms_norm(!llvm.ptr, !llvm.ptr, !llvm.ptr, i64, i64, f32, f32)
// CHECK-DAG: llvm.func @llmk_linear(!llvm.ptr, !llvm.ptr, i32, i32, !llvm.ptr, !llvm.ptr, i64, i64, i64)
// CHECK-DAG: llvm.func @llmk_add(!llvm.ptr, !llvm.ptr, !llvm.ptr, i64)
// CHECK: llvm.func @block(%[[PARAMS:.*]]: !llvm.ptr, %[[ARENA:.*]]: !llvm.ptr, %[[ARGS:.*]]: !llvm.ptr, %[[RESULTS:.*]]: !llvm.ptr)
// CHECK-SAME: llm.arena_bytes = 192 : i64, llm.arg_kinds = [unit], llm.arg_types = [tensor<2x8xf32>], llm.result_types = [tensor<2x8xf32>]
// CHECK: %[[XSLOT:.*]] = llvm.getelementptr %[[ARGS]][0]
// CHECK: %[[X:.*]] = llvm.load %[[XSLOT]]
// CHECK: %[[NSLOT:.*]] = llvm.getelementptr %[[PARAMS]][0]
// CHECK: %[[NORM:.*]] = llvm.load %[[NSLOT]]
// CHECK: %[[WSLOT:.*]] = llvm.getelementptr %[[PARAMS]][1]
// CHECK: %[[W:.*]] = llvm.load %[[WSLOT]]
// CHECK: %[[H:.*]] = llvm.getelementptr %[[ARENA]][0] : (!llvm.ptr) -> !llvm.ptr, i8
// CHECK: llvm.call @llmk_rms_norm(%[[X]], %[[NORM]], %[[H]],
// CHECK: %[[P:.*]] = llvm.getelementptr %[[ARENA]][64] : (!llvm.ptr) -> !llvm.ptr, i8
// CHECK: %[[BF16:.*]] = llvm.mlir.constant(2 : i32) : i32
// CHECK: %[[ROWS:.*]] = llvm.mlir.constant(0 : i32) : i32
// CHECK: llvm.call @llmk_linear(%[[H]], %[[W]], %[[BF16]], %[[ROWS]], %{{.*}}, %[[P]],
// CHECK: %[[Q:.*]] = llvm.getelementptr %[[ARENA]][128] : (!llvm.ptr) -> !llvm.ptr, i8
// CHECK: llvm.call @llmk_linear(%[[H]], %[[W]], %{{.*}}, %{{.*}}, %{{.*}}, %[[Q]],
// CHECK: %[[OSLOT:.*]] = llvm.getelementptr %[[RESULTS]][0]
// CHECK: %[[OUT:.*]] = llvm.load %[[OSLOT]]
// CHECK: llvm.call @llmk_add(%[[P]], %[[Q]], %[[OUT]],
// CHECK: llvm.return
// CHECK-NOT: func.func
func.func @block(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %norm = llm.param "norm" : tensor<8xf32>
  %w = llm.param "w1" : tensor<8x8xbf16>
  %h = llm.rms_norm %x, %norm : tensor<2x8xf32>, tensor<8xf32>
  %p = llm.linear %h, %w : tensor<2x8xf32>, tensor<8x8xbf16> -> tensor<2x8xf32>
  %q = llm.linear %h, %w : tensor<2x8xf32>, tensor<8x8xbf16> -> tensor<2x8xf32>
  %r = arith.addf %p, %q : tensor<2x8xf32>
  return %r : tensor<2x8xf32>
}

// -----

// A weight in panels (llm-pack-weights) is read in place in that layout by
// the projection and by the embedding lookup of the same (tied) table.
// CHECK-LABEL: llvm.func @tied
// CHECK: %[[F32:.*]] = llvm.mlir.constant(0 : i32) : i32
// CHECK: %[[PANELS:.*]] = llvm.mlir.constant(1 : i32) : i32
// CHECK: llvm.call @llmk_embedding(%{{.*}}, %{{.*}}, %[[F32]], %[[PANELS]],
// CHECK: %[[PANELS2:.*]] = llvm.mlir.constant(1 : i32) : i32
// CHECK: llvm.call @llmk_linear(%{{.*}}, %{{.*}}, %{{.*}}, %[[PANELS2]],
func.func @tied(%ids: tensor<1x3xi64>) -> tensor<1x3x100xf32> {
  %table = llm.param "embed" {panels = 48 : i64} : tensor<100x8xf32>
  %h = llm.embedding %table[%ids] : tensor<100x8xf32>, tensor<1x3xi64> -> tensor<1x3x8xf32>
  %logits = llm.linear %h, %table : tensor<1x3x8xf32>, tensor<100x8xf32> -> tensor<1x3x100xf32>
  return %logits : tensor<1x3x100xf32>
}

// -----

// The kernels read panels of 48 rows only.
func.func @panels_of_another_height(%x: tensor<2x8xf32>) -> tensor<2x64xf32> {
  %w = llm.param "w" {panels = 32 : i64} : tensor<64x8xf32>
  // expected-error @+1 {{expected a weight in panels of 48 rows (the CPU kernels' LLMK_PANEL_ROWS), found panels = 32}}
  %y = llm.linear %x, %w : tensor<2x8xf32>, tensor<64x8xf32> -> tensor<2x64xf32>
  return %y : tensor<2x64xf32>
}

// -----

// A splat multiplier becomes llmk_scale; a dense constant becomes a
// read-only global.
// CHECK: llvm.mlir.global internal constant @__llm_constant_scale_0(dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>)
// CHECK-LABEL: llvm.func @scale
// CHECK: %[[G:.*]] = llvm.mlir.addressof @__llm_constant_scale_0
// CHECK: llvm.call @llmk_scale(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) : (!llvm.ptr, !llvm.ptr, i64, f32) -> ()
// CHECK: llvm.call @llmk_add(%{{.*}}, %[[G]],
func.func @scale(%x: tensor<2xf32>) -> tensor<2xf32> {
  %c = arith.constant dense<0.5> : tensor<2xf32>
  %d = arith.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %y = arith.mulf %x, %c : tensor<2xf32>
  %z = arith.addf %y, %d : tensor<2xf32>
  return %z : tensor<2xf32>
}

// -----

// Returning an argument copies it into the result buffer.
// CHECK-LABEL: llvm.func @identity
// CHECK: %[[BYTES:.*]] = llvm.mlir.constant(16 : i64) : i64
// CHECK: llvm.call @llmk_copy(%{{.*}}, %{{.*}}, %[[BYTES]])
func.func @identity(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}

// -----

func.func @softmax_axis(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{'llm.softmax' op llm-lower-to-cpu: expected softmax over the last axis, found axis 0}}
  %y = llm.softmax %x {axis = 0} : tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

// A quantized weight (llm-quantize's) calls the integer kernels with its
// bits and group size; llm.linear_rope too.
// CHECK-LABEL: llvm.func @quantized
// CHECK: %[[BITS:.*]] = llvm.mlir.constant(4 : i32) : i32
// CHECK: %[[GROUP:.*]] = llvm.mlir.constant(32 : i64) : i64
// CHECK: llvm.call @llmk_linear_q(%{{.*}}, %{{.*}}, %[[BITS]], %[[GROUP]],
// CHECK: %[[BITS8:.*]] = llvm.mlir.constant(8 : i32) : i32
// CHECK: %[[PER_CHANNEL:.*]] = llvm.mlir.constant(0 : i64) : i64
// CHECK: llvm.call @llmk_linear_q_rope(%{{.*}}, %{{.*}}, %[[BITS8]], %[[PER_CHANNEL]],
func.func @quantized(%x: tensor<1x64xf32>, %pos: tensor<1xi64>, %t: tensor<2xf32>) -> (tensor<1x64xf32>, tensor<1x64xf32>) {
  %w = llm.param "w" : !llm.qweight<64x64, bits = 4, group = 32, scale = f32, symmetric, packing = nibble>
  %y = llm.linear %x, %w : tensor<1x64xf32>, !llm.qweight<64x64, bits = 4, group = 32, scale = f32, symmetric, packing = nibble> -> tensor<1x64xf32>
  %w8 = llm.param "w8" : !llm.qweight<64x64, bits = 8, group = per_channel, scale = f32, asymmetric, packing = byte>
  %r = llm.linear_rope %x, %w8, %pos, %t {num_heads = 16, rotary_dim = 4}
      : tensor<1x64xf32>, !llm.qweight<64x64, bits = 8, group = per_channel, scale = f32, asymmetric, packing = byte>, tensor<1xi64>, tensor<2xf32> -> tensor<1x64xf32>
  return %y, %r : tensor<1x64xf32>, tensor<1x64xf32>
}

// -----

// A per-head RMSNorm (a weight of one head's size) normalizes rows x heads
// rows of head_dim.
// CHECK-LABEL: llvm.func @per_head_norm
// CHECK: %[[ROWS:.*]] = llvm.mlir.constant(12 : i64) : i64
// CHECK: %[[SIZE:.*]] = llvm.mlir.constant(16 : i64) : i64
// CHECK: llvm.call @llmk_rms_norm(%{{.*}}, %{{.*}}, %{{.*}}, %[[ROWS]], %[[SIZE]],
func.func @per_head_norm(%x: tensor<1x3x64xf32>) -> tensor<1x3x64xf32> {
  %w = llm.param "q_norm" : tensor<16xf32>
  %y = llm.rms_norm %x, %w : tensor<1x3x64xf32>, tensor<16xf32>
  return %y : tensor<1x3x64xf32>
}

// -----

// A weight in one of llama.cpp's block formats (checkpoint_format ggml_*)
// passes LLMK_QUANT_INT8_BLOCKS (4): prefill on activations quantized per
// block of 32, as llama.cpp's; llm-quantize's weight passes no flag.
// CHECK-LABEL: llvm.func @ggml_blocks
// CHECK: %[[B1:.*]] = llvm.mlir.constant(4 : i32) : i32
// CHECK: %[[G1:.*]] = llvm.mlir.constant(32 : i64) : i64
// CHECK: %[[BLOCKS:.*]] = llvm.mlir.constant(4 : i32) : i32
// CHECK: llvm.call @llmk_linear_q(%{{.*}}, %{{.*}}, %[[B1]], %[[G1]], %[[BLOCKS]],
// CHECK: %[[B2:.*]] = llvm.mlir.constant(4 : i32) : i32
// CHECK: %[[G2:.*]] = llvm.mlir.constant(32 : i64) : i64
// CHECK: %[[NONE:.*]] = llvm.mlir.constant(0 : i32) : i32
// CHECK: llvm.call @llmk_linear_q(%{{.*}}, %{{.*}}, %[[B2]], %[[G2]], %[[NONE]],
func.func @ggml_blocks(%x: tensor<5x64xf32>) -> (tensor<5x64xf32>, tensor<5x64xf32>) {
  %w = llm.param "w" {checkpoint_format = "ggml_q4_0"} : !llm.qweight<64x64, bits = 4, group = 32, scale = f32, symmetric, packing = nibble>
  %y = llm.linear %x, %w : tensor<5x64xf32>, !llm.qweight<64x64, bits = 4, group = 32, scale = f32, symmetric, packing = nibble> -> tensor<5x64xf32>
  %v = llm.param "v" : !llm.qweight<64x64, bits = 4, group = 32, scale = f32, symmetric, packing = nibble>
  %z = llm.linear %x, %v : tensor<5x64xf32>, !llm.qweight<64x64, bits = 4, group = 32, scale = f32, symmetric, packing = nibble> -> tensor<5x64xf32>
  return %y, %z : tensor<5x64xf32>, tensor<5x64xf32>
}

// -----

// llm-specialize-moe's ops, each one kernel call on arena buffers: route
// (i32 indices), permute, the grouped products in their two forms (prefill:
// llmk_grouped_matmul, {decode}: llmk_grouped_gemv; _q for quantized
// experts, with their bits and group), and combine.
// CHECK-LABEL: llvm.func @moe_dispatch
// CHECK: %[[TOPK:.*]] = llvm.mlir.constant(2 : i64) : i64
// CHECK: %[[NORM:.*]] = llvm.mlir.constant(1 : i32) : i32
// CHECK: llvm.call @llmk_moe_route(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[TOPK]], %[[NORM]])
// CHECK: llvm.call @llmk_moe_permute(
// CHECK: llvm.call @llmk_grouped_matmul(
// CHECK: llvm.call @llmk_grouped_gemv(
// CHECK: %[[QBITS:.*]] = llvm.mlir.constant(4 : i32) : i32
// CHECK: %[[QGROUP:.*]] = llvm.mlir.constant(32 : i64) : i64
// CHECK: llvm.call @llmk_grouped_matmul_q(%{{.*}}, %{{.*}}, %[[QBITS]], %[[QGROUP]],
// CHECK: llvm.call @llmk_grouped_gemv_q(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}},
// CHECK: llvm.call @llmk_moe_combine(
// CHECK-NOT: llvm.call @llmk_moe(
func.func @moe_dispatch(%x: tensor<3x64xf32>, %logits: tensor<3x4xf32>) -> tensor<3x64xf32> {
  %w, %i = llm.moe_route %logits {top_k = 2, normalize} : tensor<3x4xf32> -> tensor<3x2xf32>, tensor<3x2xi32>
  %p, %off, %src = llm.moe_permute %x, %i {num_experts = 4} : tensor<3x64xf32>, tensor<3x2xi32> -> tensor<6x64xf32>, tensor<5xi32>, tensor<6xi32>
  %g = llm.param "gate" : tensor<4x128x64xf32>
  %a = llm.grouped_matmul %p, %g, %off : tensor<6x64xf32>, tensor<4x128x64xf32>, tensor<5xi32> -> tensor<6x128xf32>
  %b = llm.grouped_matmul %p, %g, %off {decode} : tensor<6x64xf32>, tensor<4x128x64xf32>, tensor<5xi32> -> tensor<6x128xf32>
  %q = llm.param "up" {stacked = ["u0", "u1", "u2", "u3"]} : !llm.qweight<4x128x64, bits = 4, group = 32, scale = f32, symmetric, packing = nibble>
  %c = llm.grouped_matmul %p, %q, %off : tensor<6x64xf32>, !llm.qweight<4x128x64, bits = 4, group = 32, scale = f32, symmetric, packing = nibble>, tensor<5xi32> -> tensor<6x128xf32>
  %d = llm.grouped_matmul %p, %q, %off {decode} : tensor<6x64xf32>, !llm.qweight<4x128x64, bits = 4, group = 32, scale = f32, symmetric, packing = nibble>, tensor<5xi32> -> tensor<6x128xf32>
  %ab = arith.addf %a, %b : tensor<6x128xf32>
  %cd = arith.addf %c, %d : tensor<6x128xf32>
  %h = arith.addf %ab, %cd : tensor<6x128xf32>
  %dn = llm.param "down" : tensor<4x64x128xf32>
  %o = llm.grouped_matmul %h, %dn, %off : tensor<6x128xf32>, tensor<4x64x128xf32>, tensor<5xi32> -> tensor<6x64xf32>
  %y = llm.moe_combine %o, %w, %src : tensor<6x64xf32>, tensor<3x2xf32>, tensor<6xi32> -> tensor<3x64xf32>
  return %y : tensor<3x64xf32>
}

// -----

// llm.moe has no kernel of its own: llm-specialize-moe must run first.
func.func @moe_whole(%x: tensor<1x3x64xf32>) -> tensor<1x3x64xf32> {
  %r = llm.param "router" : tensor<4x64xf32>
  %g = llm.param "gate" : tensor<4x128x64xf32>
  %d = llm.param "down" : tensor<4x64x128xf32>
  // expected-error @+1 {{'llm.moe' op llm-lower-to-cpu: expected llm-specialize-moe to have rewritten llm.moe (into llm.moe_route, llm.moe_permute, llm.grouped_matmul and llm.moe_combine, which the CPU kernels implement)}}
  %y = llm.moe %x, %r, %g, %g, %d {top_k = 2}
      : tensor<1x3x64xf32>, tensor<4x64xf32>, tensor<4x128x64xf32>, tensor<4x128x64xf32>, tensor<4x64x128xf32>
  return %y : tensor<1x3x64xf32>
}

// -----

// The kernels read the quantized weights llm-quantize makes (f32 scales,
// byte or nibble packing), not a checkpoint's GPTQ or AWQ packing or f16
// scales; no other op reads quantized weights.
func.func @quantized_f16_scales(%x: tensor<1x64xf32>) -> tensor<1x64xf32> {
  %w = llm.param "w" : !llm.qweight<64x64, bits = 4, group = 32, scale = f16, symmetric, packing = nibble>
  // expected-error @+1 {{'llm.linear' op llm-lower-to-cpu: expected a quantized weight with f32 scales and 'byte', 'nibble' or 'nibble_plane' packing (the runtime's layouts), found !llm.qweight<64x64, bits = 4, group = 32, scale = f16, symmetric, packing = nibble>}}
  %y = llm.linear %x, %w : tensor<1x64xf32>, !llm.qweight<64x64, bits = 4, group = 32, scale = f16, symmetric, packing = nibble> -> tensor<1x64xf32>
  return %y : tensor<1x64xf32>
}

// -----

func.func @quantized_gptq(%x: tensor<1x64xf32>) -> tensor<1x64xf32> {
  %w = llm.param "w" : !llm.qweight<64x64, bits = 4, group = 32, scale = f32, symmetric, packing = gptq>
  // expected-error @+1 {{found !llm.qweight<64x64, bits = 4, group = 32, scale = f32, symmetric, packing = gptq>}}
  %y = llm.linear %x, %w : tensor<1x64xf32>, !llm.qweight<64x64, bits = 4, group = 32, scale = f32, symmetric, packing = gptq> -> tensor<1x64xf32>
  return %y : tensor<1x64xf32>
}

// -----

func.func @quantized_embedding(%ids: tensor<1x3xi64>) -> tensor<1x3x64xf32> {
  %t = llm.param "t" : !llm.qweight<100x64, bits = 8, group = 32, scale = f32, symmetric, packing = byte>
  // expected-error @+1 {{'llm.embedding' op llm-lower-to-cpu: expected a float weight: this op's kernel does not read quantized weights, found !llm.qweight<100x64, bits = 8, group = 32, scale = f32, symmetric, packing = byte>}}
  %h = llm.embedding %t[%ids] : !llm.qweight<100x64, bits = 8, group = 32, scale = f32, symmetric, packing = byte>, tensor<1x3xi64> -> tensor<1x3x64xf32>
  return %h : tensor<1x3x64xf32>
}

// -----

func.func @f16_activations(%x: tensor<4xf16>) -> tensor<4xf16> {
  // expected-error @+1 {{'llm.silu' op llm-lower-to-cpu: expected f32 results (the CPU kernels compute in fp32), found 'f16'}}
  %y = llm.silu %x : tensor<4xf16>
  return %y : tensor<4xf16>
}

// -----

// expected-error @+1 {{'func.func' op llm-lower-to-cpu: expected statically shaped tensor arguments and results, found 'tensor<?xf32>'}}
func.func @dynamic(%x: tensor<?xf32>) -> tensor<?xf32> {
  return %x : tensor<?xf32>
}

// -----

func.func @unsupported(%x: tensor<2x4xf32>) -> tensor<4x2xf32> {
  // expected-error @+1 {{'tensor.empty' op llm-lower-to-cpu: no CPU lowering for this operation}}
  %e = tensor.empty() : tensor<4x2xf32>
  %t = linalg.transpose ins(%x : tensor<2x4xf32>) outs(%e : tensor<4x2xf32>) permutation = [1, 0]
  return %t : tensor<4x2xf32>
}

// -----

func.func @relu_not_zero(%x: tensor<4xf32>) -> tensor<4xf32> {
  %c = arith.constant dense<1.0> : tensor<4xf32>
  // expected-error @+1 {{'arith.maximumf' op llm-lower-to-cpu: expected max(x, 0) (ReLU)}}
  %y = arith.maximumf %x, %c : tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// Paged attention with T5's relative bias passes the table and the bucket
// parameters to the kernel (8 buckets, max distance 16, unidirectional);
// cross-attention passes a null table. A function that returns its updated
// cache (an encoder filling the cross-attention cache) writes it in place:
// the cache is no result buffer, and nothing is copied out.

// CHECK-LABEL: llvm.func @decode
// CHECK-SAME: llm.result_types = [tensor<1x1x16xf32>]
// CHECK: %[[PSLOT:[0-9]+]] = llvm.getelementptr %arg0[0]
// CHECK: %[[TABLE:[0-9]+]] = llvm.load %[[PSLOT]]
// CHECK: %[[B8:[0-9]+]] = llvm.mlir.constant(8 : i64) : i64
// CHECK: %[[D16:[0-9]+]] = llvm.mlir.constant(16 : i64) : i64
// CHECK: %[[UNI:[0-9]+]] = llvm.mlir.constant(0 : i32) : i32
// CHECK: llvm.call @llmk_paged_attention({{.*}}, %[[TABLE]], %[[B8]], %[[D16]], %[[UNI]],
// CHECK: %[[NOSLOPES:[0-9]+]] = llvm.mlir.zero : !llvm.ptr
// CHECK: %[[NOTABLE:[0-9]+]] = llvm.mlir.zero : !llvm.ptr
// CHECK: llvm.call @llmk_paged_attention({{.*}}, %[[NOSLOPES]], %[[NOTABLE]],
func.func @decode(%q: tensor<1x1x16xf32>,
                  %cache: !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 8, block_size = 4, dtype = f32>,
                  %tables: tensor<1x4xi32>, %lens: tensor<1xi32>) -> tensor<1x1x16xf32> {
  %table = llm.param "bias" : tensor<8x2xf32>
  %a = llm.paged_attention %q, %cache, %tables, %lens relative_bias_table(%table : tensor<8x2xf32>)
          {layer = 0, num_heads = 2, scale = 1.0, mask = #llm.mask<causal>, num_buckets = 8, max_distance = 16}
      : tensor<1x1x16xf32>, !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 8, block_size = 4, dtype = f32>,
        tensor<1x4xi32>, tensor<1xi32> -> tensor<1x1x16xf32>
  %b = llm.paged_attention %a, %cache, %tables, %lens
          {layer = 0, num_heads = 2, scale = 1.0, mask = #llm.mask<bidirectional>}
      : tensor<1x1x16xf32>, !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 8, block_size = 4, dtype = f32>,
        tensor<1x4xi32>, tensor<1xi32> -> tensor<1x1x16xf32>
  return %b : tensor<1x1x16xf32>
}

// CHECK-LABEL: llvm.func @encode
// CHECK-SAME: llm.arg_types = [tensor<1x3x16xf32>, !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 8, block_size = 4, dtype = f32>, tensor<1x3xi32>], llm.result_types = []
// CHECK: llvm.call @llmk_kv_cache_append
// CHECK-NOT: llmk_copy
// CHECK: llvm.return
func.func @encode(%kv: tensor<1x3x16xf32>,
                  %cache: !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 8, block_size = 4, dtype = f32>,
                  %slots: tensor<1x3xi32>) -> !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 8, block_size = 4, dtype = f32> {
  %c = llm.kv_cache_append %cache[%slots], %kv, %kv {layer = 0}
      : !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 8, block_size = 4, dtype = f32>, tensor<1x3xi32>, tensor<1x3x16xf32>, tensor<1x3x16xf32>
  return %c : !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 8, block_size = 4, dtype = f32>
}

// -----

// llm.sample calls the runtime sampler with the op's parameters, the id
// widths (i32 history: 4 bytes, i64 result: 8) and a zeroed global of its
// own holding the generator between calls.

// CHECK: llvm.mlir.global internal @__llm_sampler_pick_0(dense<0> : tensor<5xi64>) {{.*}} : !llvm.array<5 x i64>
// CHECK-LABEL: llvm.func @pick
// CHECK-SAME: llm.result_types = [tensor<3xi64>]
// CHECK-DAG: %[[B:.*]] = llvm.mlir.constant(3 : i64) : i64
// CHECK-DAG: %[[V:.*]] = llvm.mlir.constant(50 : i64) : i64
// CHECK-DAG: %[[N:.*]] = llvm.mlir.constant(4 : i64) : i64
// CHECK-DAG: %[[W4:.*]] = llvm.mlir.constant(4 : i32) : i32
// CHECK-DAG: %[[W8:.*]] = llvm.mlir.constant(8 : i32) : i32
// CHECK-DAG: %[[T:.*]] = llvm.mlir.constant(8.000000e-01 : f64) : f64
// CHECK-DAG: %[[K:.*]] = llvm.mlir.constant(10 : i64) : i64
// CHECK-DAG: %[[SEED:.*]] = llvm.mlir.constant(42 : i64) : i64
// CHECK-DAG: %[[STATE:.*]] = llvm.mlir.addressof @__llm_sampler_pick_0
// CHECK: llvm.call @llmrt_sample(%{{.*}}, %[[B]], %[[V]], %{{.*}}, %[[N]], %[[W4]], %{{.*}}, %[[W8]], %[[T]], %[[K]], %{{.*}}, %{{.*}}, %{{.*}}, %[[SEED]], %[[STATE]])
func.func @pick(%l: tensor<3x50xf32>, %prev: tensor<3x4xi32>) -> tensor<3xi64> {
  %n = llm.sample %l prev(%prev : tensor<3x4xi32>) {temperature = 0.8, top_k = 10, top_p = 0.9, repetition_penalty = 1.3, seed = 42}
      : tensor<3x50xf32> -> tensor<3xi64>
  return %n : tensor<3xi64>
}

// -----

// The run-time rope table (dynamic NTK) is one kernel call over all the
// positions (2 x 3), with the scaling's kind (2 = dynamic), factor and
// original context.

// CHECK-LABEL: llvm.func @dynamic_table
// CHECK-DAG: %[[N:.*]] = llvm.mlir.constant(6 : i64) : i64
// CHECK-DAG: %[[DIM:.*]] = llvm.mlir.constant(8 : i64) : i64
// CHECK-DAG: %[[KIND:.*]] = llvm.mlir.constant(2 : i32) : i32
// CHECK-DAG: %[[FACTOR:.*]] = llvm.mlir.constant(2.000000e+00 : f64) : f64
// CHECK-DAG: %[[ORIG:.*]] = llvm.mlir.constant(16 : i64) : i64
// CHECK: llvm.call @llmk_rope_inv_freq_at(%{{.*}}, %[[N]], %{{.*}}, %[[DIM]], %{{.*}}, %[[KIND]], %[[FACTOR]], %[[ORIG]],
func.func @dynamic_table(%pos: tensor<2x3xi64>) -> tensor<4xf32> {
  %f = llm.rope_inv_freq %pos {rotary_dim = 8, scaling = #llm.rope_scaling<kind = dynamic, factor = 2.0, original_max_position = 16>}
      : tensor<2x3xi64> -> tensor<4xf32>
  return %f : tensor<4xf32>
}

// -----

// A prefill's last position (llm-last-logits) is one copy per row: position
// 2 of each of 2 rows of [3, 4] floats, from bytes (0 * 3 + 2) * 16 = 32 and
// (1 * 3 + 2) * 16 = 80 of the source into bytes 0 and 16 of the result.

// CHECK-LABEL: llvm.func @last_position
// CHECK: llvm.call @llmk_gelu(%{{[0-9]+}}, %[[X:[0-9]+]],
// CHECK: %[[OSLOT:.*]] = llvm.getelementptr %{{.*}}[0] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK: %[[OUT:.*]] = llvm.load %[[OSLOT]]
// CHECK: %[[F0:.*]] = llvm.mlir.constant(32 : i64) : i64
// CHECK: %[[S0:.*]] = llvm.getelementptr %[[X]][%[[F0]]] : (!llvm.ptr, i64) -> !llvm.ptr, i8
// CHECK: %[[T0:.*]] = llvm.mlir.constant(0 : i64) : i64
// CHECK: %[[D0:.*]] = llvm.getelementptr %[[OUT]][%[[T0]]] : (!llvm.ptr, i64) -> !llvm.ptr, i8
// CHECK: %[[B0:.*]] = llvm.mlir.constant(16 : i64) : i64
// CHECK: llvm.call @llmk_copy(%[[S0]], %[[D0]], %[[B0]])
// CHECK: %[[F1:.*]] = llvm.mlir.constant(80 : i64) : i64
// CHECK: %[[S1:.*]] = llvm.getelementptr %[[X]][%[[F1]]] : (!llvm.ptr, i64) -> !llvm.ptr, i8
// CHECK: %[[T1:.*]] = llvm.mlir.constant(16 : i64) : i64
// CHECK: %[[D1:.*]] = llvm.getelementptr %[[OUT]][%[[T1]]] : (!llvm.ptr, i64) -> !llvm.ptr, i8
// CHECK: llvm.call @llmk_copy(%[[S1]], %[[D1]], %{{.*}})
// CHECK-NOT: llmk_copy
// CHECK: llvm.return
func.func @last_position(%x: tensor<2x3x4xf32>) -> tensor<2x1x4xf32> {
  %g = llm.gelu %x : tensor<2x3x4xf32>
  %s = tensor.extract_slice %g[0, 2, 0] [2, 1, 4] [1, 1, 1] : tensor<2x3x4xf32> to tensor<2x1x4xf32>
  return %s : tensor<2x1x4xf32>
}

// -----

func.func @strided_slice(%x: tensor<2x4xf32>) -> tensor<2x2xf32> {
  // expected-error @+1 {{'tensor.extract_slice' op llm-lower-to-cpu: expected a tensor.extract_slice with static offsets and sizes and unit strides}}
  %s = tensor.extract_slice %x[0, 0] [2, 2] [1, 2] : tensor<2x4xf32> to tensor<2x2xf32>
  return %s : tensor<2x2xf32>
}
