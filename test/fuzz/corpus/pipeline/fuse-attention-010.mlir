func.func @batched_biases(%q: tensor<2x4x16xf32>, %b4: tensor<2x2x4x4xf32>, %b3: tensor<2x4x4xf32>) -> (tensor<2x4x16xf32>, tensor<2x4x16xf32>) {
  %qh = llm.split_heads %q {num_heads = 2} : tensor<2x4x16xf32> -> tensor<2x2x4x8xf32>
  %s = llm.matmul %qh, %qh {transpose_rhs} : tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32> -> tensor<2x2x4x4xf32>
  %sb = arith.addf %s, %b4 : tensor<2x2x4x4xf32>
  %p = llm.softmax %sb {axis = 3} : tensor<2x2x4x4xf32>
  %o = llm.matmul %p, %qh : tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  %m = llm.merge_heads %o : tensor<2x2x4x8xf32> -> tensor<2x4x16xf32>
  %s2 = llm.matmul %qh, %qh {transpose_rhs} : tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32> -> tensor<2x2x4x4xf32>
  %init = tensor.empty() : tensor<2x2x4x4xf32>
  %bb = linalg.broadcast ins(%b3 : tensor<2x4x4xf32>) outs(%init : tensor<2x2x4x4xf32>) dimensions = [0]
  %sb2 = arith.addf %s2, %bb : tensor<2x2x4x4xf32>
  %p2 = llm.softmax %sb2 {axis = 3} : tensor<2x2x4x4xf32>
  %o2 = llm.matmul %p2, %qh : tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  %m2 = llm.merge_heads %o2 : tensor<2x2x4x8xf32> -> tensor<2x4x16xf32>
  return %m, %m2 : tensor<2x4x16xf32>, tensor<2x4x16xf32>
}
