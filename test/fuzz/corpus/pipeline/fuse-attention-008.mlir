func.func @alibi_bias(%q: tensor<1x4x16xf32>) -> tensor<1x4x16xf32> {
  %qh = llm.split_heads %q {num_heads = 2} : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %s = llm.matmul %qh, %qh {transpose_rhs} : tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x4xf32>
  %c = arith.constant dense<0.353553385> : tensor<1x2x4x4xf32>
  %ss = arith.mulf %s, %c : tensor<1x2x4x4xf32>
  %alibi = llm.alibi : tensor<2x4x4xf32>
  %bias = tensor.expand_shape %alibi [[0, 1], [2], [3]] output_shape [1, 2, 4, 4] : tensor<2x4x4xf32> into tensor<1x2x4x4xf32>
  %sb = arith.addf %ss, %bias : tensor<1x2x4x4xf32>
  %mask = arith.constant dense<[[[[0.0, 0xFF800000, 0xFF800000, 0xFF800000], [0.0, 0.0, 0xFF800000, 0xFF800000], [0.0, 0.0, 0.0, 0xFF800000], [0.0, 0.0, 0.0, 0.0]], [[0.0, 0xFF800000, 0xFF800000, 0xFF800000], [0.0, 0.0, 0xFF800000, 0xFF800000], [0.0, 0.0, 0.0, 0xFF800000], [0.0, 0.0, 0.0, 0.0]]]]> : tensor<1x2x4x4xf32>
  %sm = arith.addf %sb, %mask : tensor<1x2x4x4xf32>
  %p = llm.softmax %sm {axis = 3} : tensor<1x2x4x4xf32>
  %o = llm.matmul %p, %qh : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  %m = llm.merge_heads %o : tensor<1x2x4x8xf32> -> tensor<1x4x16xf32>
  return %m : tensor<1x4x16xf32>
}
