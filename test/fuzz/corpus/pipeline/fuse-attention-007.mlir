func.func @select_hide(%q: tensor<1x4x16xf32>) -> tensor<1x4x16xf32> {
  %qh = llm.split_heads %q {num_heads = 2} : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %s = llm.matmul %qh, %qh {transpose_rhs} : tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x4xf32>
  %hide = arith.constant dense<[[[[false, true, true, true], [false, false, true, true], [false, false, false, true], [false, false, false, false]], [[false, true, true, true], [false, false, true, true], [false, false, false, true], [false, false, false, false]]]]> : tensor<1x2x4x4xi1>
  %ninf = arith.constant dense<0xFF800000> : tensor<1x2x4x4xf32>
  %sm = arith.select %hide, %ninf, %s : tensor<1x2x4x4xi1>, tensor<1x2x4x4xf32>
  %p = llm.softmax %sm {axis = 3} : tensor<1x2x4x4xf32>
  %o = llm.matmul %p, %qh : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  %m = llm.merge_heads %o : tensor<1x2x4x8xf32> -> tensor<1x4x16xf32>
  return %m : tensor<1x4x16xf32>
}
