func.func @mismatched_heads(%q: tensor<1x4x32xf32>, %k: tensor<1x4x16xf32>, %v: tensor<1x4x32xf32>) -> tensor<1x4x32xf32> {
  %qh = llm.split_heads %q {num_heads = 4} : tensor<1x4x32xf32> -> tensor<1x4x4x8xf32>
  %kh = llm.split_heads %k {num_heads = 2} : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %kr = llm.repeat_kv %kh {repeats = 2} : tensor<1x2x4x8xf32> -> tensor<1x4x4x8xf32>
  %vh = llm.split_heads %v {num_heads = 4} : tensor<1x4x32xf32> -> tensor<1x4x4x8xf32>
  %s = llm.matmul %qh, %kr {transpose_rhs} : tensor<1x4x4x8xf32>, tensor<1x4x4x8xf32> -> tensor<1x4x4x4xf32>
  %p = llm.softmax %s {axis = 3} : tensor<1x4x4x4xf32>
  %o = llm.matmul %p, %vh : tensor<1x4x4x4xf32>, tensor<1x4x4x8xf32> -> tensor<1x4x4x8xf32>
  %m = llm.merge_heads %o : tensor<1x4x4x8xf32> -> tensor<1x4x32xf32>
  return %m : tensor<1x4x32xf32>
}
