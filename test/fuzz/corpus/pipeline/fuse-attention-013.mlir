func.func @transposed_key(%q: tensor<1x4x16xf32>, %k: tensor<1x6x16xf32>) -> tensor<1x4x16xf32> {
  %qh = llm.split_heads %q {num_heads = 2} : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %kh = llm.split_heads %k {num_heads = 2} : tensor<1x6x16xf32> -> tensor<1x2x6x8xf32>
  %init = tensor.empty() : tensor<1x2x8x6xf32>
  %kt = linalg.transpose ins(%kh : tensor<1x2x6x8xf32>) outs(%init : tensor<1x2x8x6xf32>) permutation = [0, 1, 3, 2]
  %s = llm.matmul %qh, %kt : tensor<1x2x4x8xf32>, tensor<1x2x8x6xf32> -> tensor<1x2x4x6xf32>
  %p = llm.softmax %s {axis = 3} : tensor<1x2x4x6xf32>
  %o = llm.matmul %p, %kh : tensor<1x2x4x6xf32>, tensor<1x2x6x8xf32> -> tensor<1x2x4x8xf32>
  %m = llm.merge_heads %o : tensor<1x2x4x8xf32> -> tensor<1x4x16xf32>
  return %m : tensor<1x4x16xf32>
}
