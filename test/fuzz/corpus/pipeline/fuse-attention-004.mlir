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
