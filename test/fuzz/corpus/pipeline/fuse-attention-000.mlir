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
