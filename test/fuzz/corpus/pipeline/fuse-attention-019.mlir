func.func @scores_used_twice(%q: tensor<1x4x16xf32>) -> (tensor<1x4x16xf32>, tensor<1x2x4x4xf32>) {
  %qh = llm.split_heads %q {num_heads = 2} : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %s = llm.matmul %qh, %qh {transpose_rhs} : tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x4xf32>
  %p = llm.softmax %s {axis = 3} : tensor<1x2x4x4xf32>
  %o = llm.matmul %p, %qh : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  %m = llm.merge_heads %o : tensor<1x2x4x8xf32> -> tensor<1x4x16xf32>
  return %m, %s : tensor<1x4x16xf32>, tensor<1x2x4x4xf32>
}
