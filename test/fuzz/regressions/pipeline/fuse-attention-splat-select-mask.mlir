func.func @f(%q: tensor<1x40000x8xf32>) -> tensor<1x40000x8xf32> {
  %qh = llm.split_heads %q {num_heads = 1} : tensor<1x40000x8xf32> -> tensor<1x1x40000x8xf32>
  %s = llm.matmul %qh, %qh {transpose_rhs} : tensor<1x1x40000x8xf32>, tensor<1x1x40000x8xf32> -> tensor<1x1x40000x40000xf32>
  %c = arith.constant dense<true> : tensor<1x1x40000x40000xi1>
  %ninf = arith.constant dense<0xFF800000> : tensor<1x1x40000x40000xf32>
  %sm = arith.select %c, %s, %ninf : tensor<1x1x40000x40000xi1>, tensor<1x1x40000x40000xf32>
  %p = llm.softmax %sm {axis = 3} : tensor<1x1x40000x40000xf32>
  %o = llm.matmul %p, %qh : tensor<1x1x40000x40000xf32>, tensor<1x1x40000x8xf32> -> tensor<1x1x40000x8xf32>
  %m = llm.merge_heads %o : tensor<1x1x40000x8xf32> -> tensor<1x40000x8xf32>
  return %m : tensor<1x40000x8xf32>
}
