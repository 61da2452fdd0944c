func.func @key_not_transposed(%q: tensor<1x8x16xf32>) -> tensor<1x8x16xf32> {
  %qh = llm.split_heads %q {num_heads = 2} : tensor<1x8x16xf32> -> tensor<1x2x8x8xf32>
  %s = llm.matmul %qh, %qh : tensor<1x2x8x8xf32>, tensor<1x2x8x8xf32> -> tensor<1x2x8x8xf32>
  %p = llm.softmax %s {axis = 3} : tensor<1x2x8x8xf32>
  %o = llm.matmul %p, %qh : tensor<1x2x8x8xf32>, tensor<1x2x8x8xf32> -> tensor<1x2x8x8xf32>
  %m = llm.merge_heads %o : tensor<1x2x8x8xf32> -> tensor<1x8x16xf32>
  return %m : tensor<1x8x16xf32>
}
