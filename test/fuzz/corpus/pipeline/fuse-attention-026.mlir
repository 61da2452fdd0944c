func.func @repeated_query(%q: tensor<1x4x8xf32>, %k: tensor<1x4x16xf32>) -> tensor<1x4x16xf32> {
  %qh = llm.split_heads %q {num_heads = 1} : tensor<1x4x8xf32> -> tensor<1x1x4x8xf32>
  %qr = llm.repeat_kv %qh {repeats = 2} : tensor<1x1x4x8xf32> -> tensor<1x2x4x8xf32>
  %kh = llm.split_heads %k {num_heads = 2} : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %s = llm.matmul %qr, %kh {transpose_rhs} : tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x4xf32>
  %p = llm.softmax %s {axis = 3} : tensor<1x2x4x4xf32>
  %o = llm.matmul %p, %kh : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  %m = llm.merge_heads %o : tensor<1x2x4x8xf32> -> tensor<1x4x16xf32>
  return %m : tensor<1x4x16xf32>
}
