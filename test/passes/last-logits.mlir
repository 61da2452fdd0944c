// RUN: llm-opt %s --llm-insert-kv-cache="decode-batch=2" --llm-last-logits --split-input-file | FileCheck %s

// A prefill of 5 tokens (after llm-insert-kv-cache): the final norm and the
// tied LM head run on position 4 alone, sliced from the residual stream
// after the last layer; the result is [1, 1, vocab]. The decode entry point
// the cache pass derived (one token per sequence) is left as it is.

// CHECK-LABEL: func.func @prefill
// CHECK-SAME: %{{[a-z0-9]+}}: tensor<1x5xi32> {llm.arg_kind = #llm.arg_kind<slots>}
// CHECK-SAME: -> tensor<1x1x32xf32>
// CHECK: %[[ATT:.*]] = llm.paged_attention {{.*}} -> tensor<1x5x16xf32>
// CHECK: %[[H:.*]] = arith.addf %{{.*}}, %[[ATT]] : tensor<1x5x16xf32>
// CHECK: %[[LAST:.*]] = tensor.extract_slice %[[H]][0, 4, 0] [1, 1, 16] [1, 1, 1] : tensor<1x5x16xf32> to tensor<1x1x16xf32>
// CHECK: %[[N:.*]] = llm.rms_norm %[[LAST]], %{{.*}} : tensor<1x1x16xf32>, tensor<16xf32>
// CHECK: %[[L:.*]] = llm.linear %[[N]], %{{.*}} : tensor<1x1x16xf32>, tensor<32x16xf32> -> tensor<1x1x32xf32>
// CHECK: return %[[L]] : tensor<1x1x32xf32>

// CHECK-LABEL: func.func @prefill_decode
// CHECK-SAME: -> tensor<2x1x32xf32>
// CHECK-NOT: tensor.extract_slice
// CHECK: llm.rms_norm %{{.*}} : tensor<2x1x16xf32>, tensor<16xf32>
// CHECK: return %{{.*}} : tensor<2x1x32xf32>
func.func @prefill(%ids: tensor<1x5xi64>) -> tensor<1x5x32xf32> {
  %emb = llm.param "embed" : tensor<32x16xf32>
  %wq = llm.param "wq" : tensor<16x16xf32>
  %n = llm.param "norm" : tensor<16xf32>
  %x = llm.embedding %emb[%ids] : tensor<32x16xf32>, tensor<1x5xi64> -> tensor<1x5x16xf32>
  %q = llm.linear %x, %wq : tensor<1x5x16xf32>, tensor<16x16xf32> -> tensor<1x5x16xf32>
  %a = llm.attention %q, %q, %q {num_heads = 2, num_kv_heads = 2, mask = #llm.mask<causal>}
      : tensor<1x5x16xf32>, tensor<1x5x16xf32>, tensor<1x5x16xf32> -> tensor<1x5x16xf32>
  %h = arith.addf %x, %a : tensor<1x5x16xf32>
  %f = llm.rms_norm %h, %n : tensor<1x5x16xf32>, tensor<16xf32>
  %l = llm.linear %f, %emb : tensor<1x5x16xf32>, tensor<32x16xf32> -> tensor<1x5x32xf32>
  return %l : tensor<1x5x32xf32>
}

// -----

// Two sequences of 3 tokens: position 2 of each row. A layer norm, a splat
// rescaling (T5's, either operand order: the constant takes the narrowed
// shape) and an activation are position-wise too; a head with a bias as
// well.

// CHECK-LABEL: func.func @batch_rescaled
// CHECK-SAME: -> tensor<2x1x8xf32>
// CHECK: %[[LAST:.*]] = tensor.extract_slice %{{.*}}[0, 2, 0] [2, 1, 4] [1, 1, 1] : tensor<2x3x4xf32> to tensor<2x1x4xf32>
// CHECK: %[[N:.*]] = llm.layer_norm %[[LAST]], %{{.*}}, %{{.*}} : tensor<2x1x4xf32>
// CHECK: %[[C:.*]] = arith.constant dense<5.000000e-01> : tensor<2x1x4xf32>
// CHECK: %[[S:.*]] = arith.mulf %[[C]], %[[N]] : tensor<2x1x4xf32>
// CHECK: %[[G:.*]] = llm.gelu %[[S]] {{.*}}: tensor<2x1x4xf32>
// CHECK: %[[L:.*]] = llm.linear %[[G]], %{{.*}}, %{{.*}} : tensor<2x1x4xf32>, tensor<8x4xf32>, tensor<8xf32> -> tensor<2x1x8xf32>
// CHECK: return %[[L]] : tensor<2x1x8xf32>
// CHECK-NOT: tensor<2x3x4xf32>
func.func @batch_rescaled(%ids: tensor<2x3xi64>) -> tensor<2x3x8xf32> {
  %emb = llm.param "embed" : tensor<8x4xf32>
  %w = llm.param "ln.weight" : tensor<4xf32>
  %b = llm.param "ln.bias" : tensor<4xf32>
  %hb = llm.param "head.bias" : tensor<8xf32>
  %x = llm.embedding %emb[%ids] : tensor<8x4xf32>, tensor<2x3xi64> -> tensor<2x3x4xf32>
  %a = llm.attention %x, %x, %x {num_heads = 1, num_kv_heads = 1, mask = #llm.mask<causal>}
      : tensor<2x3x4xf32>, tensor<2x3x4xf32>, tensor<2x3x4xf32> -> tensor<2x3x4xf32>
  %n = llm.layer_norm %a, %w, %b : tensor<2x3x4xf32>, tensor<4xf32>, tensor<4xf32>
  %c = arith.constant dense<0.5> : tensor<2x3x4xf32>
  %s = arith.mulf %c, %n : tensor<2x3x4xf32>
  %g = llm.gelu %s : tensor<2x3x4xf32>
  %l = llm.linear %g, %emb, %hb : tensor<2x3x4xf32>, tensor<8x4xf32>, tensor<8xf32> -> tensor<2x3x8xf32>
  return %l : tensor<2x3x8xf32>
}

// -----

// Near misses. A product of two activations is not a rescaling: the slice
// goes after it, and it keeps every position. A normed value that the
// function also returns is computed in full; each result is sliced (CSE
// merges the two slices).

// CHECK-LABEL: func.func @near_misses
// CHECK-SAME: -> (tensor<1x1x8xf32>, tensor<1x1x4xf32>)
// CHECK: %[[M:.*]] = arith.mulf %{{.*}}, %{{.*}} : tensor<1x3x4xf32>
// CHECK: %[[N:.*]] = llm.rms_norm %[[M]], %{{.*}} : tensor<1x3x4xf32>
// CHECK: tensor.extract_slice %[[N]][0, 2, 0] [1, 1, 4] [1, 1, 1]
// CHECK: tensor.extract_slice %[[N]][0, 2, 0] [1, 1, 4] [1, 1, 1]
// CHECK: %[[L:.*]] = llm.linear %{{.*}} : tensor<1x1x4xf32>, tensor<8x4xf32> -> tensor<1x1x8xf32>
// CHECK: return %[[L]], %{{.*}} : tensor<1x1x8xf32>, tensor<1x1x4xf32>
func.func @near_misses(%ids: tensor<1x3xi64>) -> (tensor<1x3x8xf32>, tensor<1x3x4xf32>) {
  %emb = llm.param "embed" : tensor<8x4xf32>
  %w = llm.param "norm" : tensor<4xf32>
  %x = llm.embedding %emb[%ids] : tensor<8x4xf32>, tensor<1x3xi64> -> tensor<1x3x4xf32>
  %a = llm.attention %x, %x, %x {num_heads = 1, num_kv_heads = 1, mask = #llm.mask<causal>}
      : tensor<1x3x4xf32>, tensor<1x3x4xf32>, tensor<1x3x4xf32> -> tensor<1x3x4xf32>
  %m = arith.mulf %a, %x : tensor<1x3x4xf32>
  %n = llm.rms_norm %m, %w : tensor<1x3x4xf32>, tensor<4xf32>
  %l = llm.linear %n, %emb : tensor<1x3x4xf32>, tensor<8x4xf32> -> tensor<1x3x8xf32>
  return %l, %n : tensor<1x3x8xf32>, tensor<1x3x4xf32>
}

// -----

// Functions without a cache (the recompute path's forward, whose callers
// read every position) and cached functions of one token per sequence are
// left alone.

// CHECK-LABEL: func.func @forward
// CHECK-SAME: -> tensor<1x3x8xf32>
// CHECK-NOT: tensor.extract_slice
// CHECK: return %{{.*}} : tensor<1x3x8xf32>
func.func @forward(%ids: tensor<1x3xi64>) -> tensor<1x3x8xf32> {
  %emb = llm.param "embed" : tensor<8x4xf32>
  %x = llm.embedding %emb[%ids] : tensor<8x4xf32>, tensor<1x3xi64> -> tensor<1x3x4xf32>
  %l = llm.linear %x, %emb : tensor<1x3x4xf32>, tensor<8x4xf32> -> tensor<1x3x8xf32>
  return %l : tensor<1x3x8xf32>
}

// CHECK-LABEL: func.func @one_token
// CHECK-SAME: -> tensor<2x1x8xf32>
// CHECK-NOT: tensor.extract_slice
// CHECK: return %{{.*}} : tensor<2x1x8xf32>
func.func @one_token(%ids: tensor<2x1xi64>) -> tensor<2x1x8xf32> {
  %emb = llm.param "embed" : tensor<8x4xf32>
  %x = llm.embedding %emb[%ids] : tensor<8x4xf32>, tensor<2x1xi64> -> tensor<2x1x4xf32>
  %a = llm.attention %x, %x, %x {num_heads = 1, num_kv_heads = 1, mask = #llm.mask<causal>}
      : tensor<2x1x4xf32>, tensor<2x1x4xf32>, tensor<2x1x4xf32> -> tensor<2x1x4xf32>
  %l = llm.linear %a, %emb : tensor<2x1x4xf32>, tensor<8x4xf32> -> tensor<2x1x8xf32>
  return %l : tensor<2x1x8xf32>
}
