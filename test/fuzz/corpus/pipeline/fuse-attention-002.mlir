func.func @bidirectional_divided(%q: tensor<1x4x16xf32>, %k: tensor<1x6x16xf32>, %v: tensor<1x6x32xf32>) -> tensor<1x4x32xf32> {
  %qh = llm.split_heads %q {num_heads = 2} : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %kh = llm.split_heads %k {num_heads = 2} : tensor<1x6x16xf32> -> tensor<1x2x6x8xf32>
  %vh = llm.split_heads %v {num_heads = 2} : tensor<1x6x32xf32> -> tensor<1x2x6x16xf32>
  %s = llm.matmul %qh, %kh {transpose_rhs} : tensor<1x2x4x8xf32>, tensor<1x2x6x8xf32> -> tensor<1x2x4x6xf32>
  %c = arith.constant dense<4.0> : tensor<1x2x4x6xf32>
  %sd = arith.divf %s, %c : tensor<1x2x4x6xf32>
  %p = llm.softmax %sd {axis = 3} : tensor<1x2x4x6xf32>
  %o = llm.matmul %p, %vh : tensor<1x2x4x6xf32>, tensor<1x2x6x16xf32> -> tensor<1x2x4x16xf32>
  %m = llm.merge_heads %o : tensor<1x2x4x16xf32> -> tensor<1x4x32xf32>
  return %m : tensor<1x4x32xf32>
}
