// RUN: llm-opt %s --llm-cpu-pipeline | FileCheck %s
// RUN: llm-opt %s --llm-cpu-pipeline="kv-cache=1 block-size=8 cache-dtype=i8 max-seq-len=64" | FileCheck %s --check-prefix=CACHED
// RUN: llm-opt %s --llm-cpu-pipeline="kv-cache=1 block-size=8 max-seq-len=64 decode-batch=3" | FileCheck %s --check-prefix=DECODE
// RUN: llm-opt %s --llm-cpu-pipeline="kv-cache=1 block-size=8 max-seq-len=64 decode-batch=3 last-logits-only=1" | FileCheck %s --check-prefix=LAST

// The whole pipeline on one BLOOM-like layer: ALiBi becomes slopes, the
// attention a kernel call, everything native.
// CHECK: llvm.mlir.global internal constant @__llm_constant_layer_0
// CHECK-LABEL: llvm.func @layer
// CHECK: llvm.call @llmk_attention
// CHECK-NOT: llm.
// CHECK-NOT: func.func

// decode-batch: the prefill entry point and its decode entry point for 3
// sequences of one token, both lowered, with the kinds of the arguments
// the cache pass added (unit: the hand-written input has none).
// DECODE-LABEL: llvm.func @layer(
// DECODE-SAME: llm.arg_kinds = [unit, #llm.arg_kind<kv_cache>, #llm.arg_kind<slots>, #llm.arg_kind<block_tables>, #llm.arg_kind<context_lens>], llm.arg_types = [tensor<1x4x64xf32>, !llm.kv_cache<layers = 1, kv_heads = 4, head_dim = 16, block_size = 8, dtype = f32>, tensor<1x4xi32>, tensor<1x8xi32>, tensor<1xi32>], llm.result_types = [tensor<1x4x64xf32>]
// DECODE-LABEL: llvm.func @layer_decode(
// DECODE-SAME: llm.arg_kinds = [unit, #llm.arg_kind<kv_cache>, #llm.arg_kind<slots>, #llm.arg_kind<block_tables>, #llm.arg_kind<context_lens>], llm.arg_types = [tensor<3x1x64xf32>, !llm.kv_cache<layers = 1, kv_heads = 4, head_dim = 16, block_size = 8, dtype = f32>, tensor<3x1xi32>, tensor<3x8xi32>, tensor<3xi32>], llm.result_types = [tensor<3x1x64xf32>]
// DECODE: llvm.call @llmk_paged_attention

// last-logits-only: the prefill returns its last position alone (copied
// out of the attention's output), the decode entry point what it returned.
// LAST-LABEL: llvm.func @layer(
// LAST-SAME: llm.result_types = [tensor<1x1x64xf32>]
// LAST: llvm.call @llmk_paged_attention
// LAST: llvm.call @llmk_copy
// LAST-LABEL: llvm.func @layer_decode(
// LAST-SAME: llm.result_types = [tensor<3x1x64xf32>]
// LAST-NOT: llmk_copy

// With the cache: one append and one paged attention, the cache descriptor
// and the slot/table/length tensors as arguments.
// CACHED-LABEL: llvm.func @layer
// CACHED-SAME: llm.arg_types = [tensor<1x4x64xf32>, !llm.kv_cache<layers = 1, kv_heads = 4, head_dim = 16, block_size = 8, dtype = i8>, tensor<1x4xi32>, tensor<1x8xi32>, tensor<1xi32>]
// CACHED: llvm.call @llmk_kv_cache_append
// CACHED: llvm.call @llmk_paged_attention
func.func @layer(%x: tensor<1x4x64xf32>) -> tensor<1x4x64xf32> {
  %bias = llm.alibi {max_bias = 8.0} : tensor<4x4x4xf32>
  %a = llm.attention %x, %x, %x bias(%bias : tensor<4x4x4xf32>) {num_heads = 4, num_kv_heads = 4, mask = #llm.mask<causal>}
      : tensor<1x4x64xf32>, tensor<1x4x64xf32>, tensor<1x4x64xf32> -> tensor<1x4x64xf32>
  return %a : tensor<1x4x64xf32>
}
