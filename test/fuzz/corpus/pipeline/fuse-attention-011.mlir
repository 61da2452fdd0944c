func.func @scaled_packed_query_and_key(%q: tensor<1x4x16xf32>, %k: tensor<1x4x16xf32>) -> tensor<1x4x16xf32> {
  %c = arith.constant dense<0.25> : tensor<1x4x16xf32>
  %qs = arith.mulf %q, %c : tensor<1x4x16xf32>
  %qh = llm.split_heads %qs {num_heads = 2} : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %kh = llm.split_heads %k {num_heads = 2} : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %two = arith.constant dense<2.0> : tensor<1x2x4x8xf32>
  %ks = arith.divf %kh, %two : tensor<1x2x4x8xf32>
  %s = llm.matmul %qh, %ks {transpose_rhs} : tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x4xf32>
  %p = llm.softmax %s {axis = 3} : tensor<1x2x4x4xf32>
  %o = llm.matmul %p, %kh : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  %m = llm.merge_heads %o : tensor<1x2x4x8xf32> -> tensor<1x4x16xf32>
  return %m : tensor<1x4x16xf32>
}
