// RUN: llm-opt %s --llm-lower-to-cuda --split-input-file --verify-diagnostics | FileCheck %s

// The CPU lowering's program with every kernel call replaced by its CUDA
// launcher (the same arguments): a norm, a projection and a residual. No
// CPU kernel is declared or called; the arena plan is the CPU one.

// CHECK: module attributes {llm.params = [{name = "norm", type = tensor<8xf32>}, {name = "w1", type = tensor<8x8xbf16>}]}
// CHECK-DAG: llvm.func @llmc_cuda_rms_norm(!llvm.ptr, !llvm.ptr, !llvm.ptr, i64, i64, f32, f32)
// CHECK-DAG: llvm.func @llmc_cuda_linear(!llvm.ptr, !llvm.ptr, i32, i32, !llvm.ptr, !llvm.ptr, i64, i64, i64)
// CHECK-DAG: llvm.func @llmc_cuda_add(!llvm.ptr, !llvm.ptr, !llvm.ptr, i64)
// CHECK-NOT: llmk_
// CHECK: llvm.func @block(%[[PARAMS:.*]]: !llvm.ptr, %[[ARENA:.*]]: !llvm.ptr, %[[ARGS:.*]]: !llvm.ptr, %[[RESULTS:.*]]: !llvm.ptr)
// CHECK-SAME: llm.arena_bytes = 128 : i64
// CHECK: %[[H:.*]] = llvm.getelementptr %[[ARENA]][0] : (!llvm.ptr) -> !llvm.ptr, i8
// CHECK: llvm.call @llmc_cuda_rms_norm(%{{.*}}, %{{.*}}, %[[H]],
// CHECK: %[[P:.*]] = llvm.getelementptr %[[ARENA]][64] : (!llvm.ptr) -> !llvm.ptr, i8
// CHECK: %[[BF16:.*]] = llvm.mlir.constant(2 : i32) : i32
// CHECK: %[[ROWS:.*]] = llvm.mlir.constant(0 : i32) : i32
// CHECK: llvm.call @llmc_cuda_linear(%[[H]], %{{.*}}, %[[BF16]], %[[ROWS]], %{{.*}}, %[[P]],
// CHECK: llvm.call @llmc_cuda_add(%[[P]], %{{.*}}, %{{.*}},
// CHECK-NOT: llmk_
// CHECK: llvm.return
func.func @block(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %norm = llm.param "norm" : tensor<8xf32>
  %w = llm.param "w1" : tensor<8x8xbf16>
  %h = llm.rms_norm %x, %norm : tensor<2x8xf32>, tensor<8xf32>
  %p = llm.linear %h, %w : tensor<2x8xf32>, tensor<8x8xbf16> -> tensor<2x8xf32>
  %r = arith.addf %p, %x : tensor<2x8xf32>
  return %r : tensor<2x8xf32>
}

// -----

// A dense constant that a kernel reads (RoPE's frequency table) gets an
// arena slot, filled from its host global by llmc_cuda_upload before its
// use: a kernel cannot read the host's memory.

// CHECK: llvm.mlir.global internal constant @[[TABLE:.*]](dense<[1.000000e+00, 1.000000e-01]> : tensor<2xf32>)
// CHECK-LABEL: llvm.func @rotate
// CHECK: %[[SLOT:.*]] = llvm.getelementptr %{{.*}}[0] : (!llvm.ptr) -> !llvm.ptr, i8
// CHECK: %[[HOST:.*]] = llvm.mlir.addressof @[[TABLE]]
// CHECK: %[[BYTES:.*]] = llvm.mlir.constant(8 : i64) : i64
// CHECK: llvm.call @llmc_cuda_upload(%[[HOST]], %[[SLOT]], %[[BYTES]])
// CHECK: llvm.call @llmc_cuda_linear_rope({{.*}}, %[[SLOT]],
func.func @rotate(%x: tensor<1x8xf32>, %pos: tensor<1xi64>) -> tensor<1x8xf32> {
  %t = arith.constant dense<[1.0, 0.1]> : tensor<2xf32>
  %w = llm.param "w" : tensor<8x8xf32>
  %r = llm.linear_rope %x, %w, %pos, %t {num_heads = 2, rotary_dim = 4}
      : tensor<1x8xf32>, tensor<8x8xf32>, tensor<1xi64>, tensor<2xf32> -> tensor<1x8xf32>
  return %r : tensor<1x8xf32>
}

// -----

// The paged cache: append and attention launch on the cache's descriptor.
// CHECK-LABEL: llvm.func @step
// CHECK: llvm.call @llmc_cuda_kv_cache_append
// CHECK: llvm.call @llmc_cuda_paged_attention
func.func @step(%q: tensor<1x1x32xf32>, %kv: tensor<1x1x16xf32>,
                %cache: !llm.kv_cache<layers = 1, kv_heads = 1, head_dim = 16, block_size = 4, dtype = bf16>,
                %slots: tensor<1x1xi32>, %tables: tensor<1x4xi32>, %lens: tensor<1xi32>) -> tensor<1x1x32xf32> {
  %c = llm.kv_cache_append %cache[%slots], %kv, %kv {layer = 0}
      : !llm.kv_cache<layers = 1, kv_heads = 1, head_dim = 16, block_size = 4, dtype = bf16>, tensor<1x1xi32>, tensor<1x1x16xf32>, tensor<1x1x16xf32>
  %a = llm.paged_attention %q, %c, %tables, %lens
          {layer = 0, num_heads = 2, scale = 0.25, mask = #llm.mask<causal>}
      : tensor<1x1x32xf32>, !llm.kv_cache<layers = 1, kv_heads = 1, head_dim = 16, block_size = 4, dtype = bf16>,
        tensor<1x4xi32>, tensor<1xi32> -> tensor<1x1x32xf32>
  return %a : tensor<1x1x32xf32>
}

// -----

// A quantized projection (the runtime's layout) calls the dequantizing
// launcher with its bits and group.
// CHECK-LABEL: llvm.func @quantized
// CHECK: %[[BITS:.*]] = llvm.mlir.constant(4 : i32) : i32
// CHECK: %[[GROUP:.*]] = llvm.mlir.constant(32 : i64) : i64
// CHECK: llvm.call @llmc_cuda_linear_q(%{{.*}}, %{{.*}}, %[[BITS]], %[[GROUP]],
func.func @quantized(%x: tensor<1x64xf32>) -> tensor<1x64xf32> {
  %w = llm.param "w" : !llm.qweight<64x64, bits = 4, group = 32, scale = f32, symmetric, packing = nibble>
  %y = llm.linear %x, %w : tensor<1x64xf32>, !llm.qweight<64x64, bits = 4, group = 32, scale = f32, symmetric, packing = nibble> -> tensor<1x64xf32>
  return %y : tensor<1x64xf32>
}

// -----

// llm.sample: the runtime's sampler on the host (the launcher copies the
// logits back and the ids up), its generator state a host global.
// CHECK: llvm.mlir.global internal @__llm_sampler_pick_0(dense<0> : tensor<5xi64>)
// CHECK-LABEL: llvm.func @pick
// CHECK: %[[STATE:.*]] = llvm.mlir.addressof @__llm_sampler_pick_0
// CHECK: llvm.call @llmc_cuda_sample({{.*}}, %[[STATE]])
func.func @pick(%l: tensor<3x50xf32>) -> tensor<3xi64> {
  %n = llm.sample %l {temperature = 0.8, seed = 42} : tensor<3x50xf32> -> tensor<3xi64>
  return %n : tensor<3xi64>
}

// -----

// Weights packed in panels are the CPU kernels' layout.
func.func @panels(%x: tensor<2x8xf32>) -> tensor<2x48xf32> {
  // expected-error @+1 {{'llm.param' op llm-lower-to-cuda: expected a weight in rows, found one packed in panels (llm-pack-weights makes the CPU kernels' layout; do not run it before this pass)}}
  %w = llm.param "w" {panels = 48 : i64} : tensor<48x8xf32>
  %y = llm.linear %x, %w : tensor<2x8xf32>, tensor<48x8xf32> -> tensor<2x48xf32>
  return %y : tensor<2x48xf32>
}

// -----

// T5's relative position bias: the table goes to the launcher with its
// bucketing.
// CHECK-LABEL: llvm.func @t5
// CHECK: %[[BUCKETS:.*]] = llvm.mlir.constant(8 : i64) : i64
// CHECK: %[[DISTANCE:.*]] = llvm.mlir.constant(16 : i64) : i64
// CHECK: llvm.call @llmc_cuda_paged_attention({{.*}}, %[[BUCKETS]], %[[DISTANCE]],
func.func @t5(%q: tensor<1x1x16xf32>,
              %cache: !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 8, block_size = 4, dtype = f32>,
              %tables: tensor<1x4xi32>, %lens: tensor<1xi32>) -> tensor<1x1x16xf32> {
  %table = llm.param "bias" : tensor<8x2xf32>
  %a = llm.paged_attention %q, %cache, %tables, %lens relative_bias_table(%table : tensor<8x2xf32>)
          {layer = 0, num_heads = 2, scale = 1.0, mask = #llm.mask<causal>, num_buckets = 8, max_distance = 16}
      : tensor<1x1x16xf32>, !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 8, block_size = 4, dtype = f32>,
        tensor<1x4xi32>, tensor<1xi32> -> tensor<1x1x16xf32>
  return %a : tensor<1x1x16xf32>
}

// -----

// An op with no lowering at all is named with the target.
func.func @unsupported(%x: tensor<2x4xf32>) -> tensor<4x2xf32> {
  // expected-error @+1 {{'tensor.empty' op llm-lower-to-cuda: no CUDA lowering for this operation}}
  %e = tensor.empty() : tensor<4x2xf32>
  return %e : tensor<4x2xf32>
}
