func.func @reshape_transpose_heads(%q: tensor<1x4x16xf32>, %k: tensor<1x4x16xf32>, %v: tensor<1x4x16xf32>) -> tensor<1x4x16xf32> {
  %q4 = tensor.expand_shape %q [[0], [1], [2, 3]] output_shape [1, 4, 2, 8] : tensor<1x4x16xf32> into tensor<1x4x2x8xf32>
  %k4 = tensor.expand_shape %k [[0], [1], [2, 3]] output_shape [1, 4, 2, 8] : tensor<1x4x16xf32> into tensor<1x4x2x8xf32>
  %v4 = tensor.expand_shape %v [[0], [1], [2, 3]] output_shape [1, 4, 2, 8] : tensor<1x4x16xf32> into tensor<1x4x2x8xf32>
  %e0 = tensor.empty() : tensor<1x2x4x8xf32>
  %qh = linalg.transpose ins(%q4 : tensor<1x4x2x8xf32>) outs(%e0 : tensor<1x2x4x8xf32>) permutation = [0, 2, 1, 3]
  %vh = linalg.transpose ins(%v4 : tensor<1x4x2x8xf32>) outs(%e0 : tensor<1x2x4x8xf32>) permutation = [0, 2, 1, 3]
  %e1 = tensor.empty() : tensor<1x2x8x4xf32>
  %kt = linalg.transpose ins(%k4 : tensor<1x4x2x8xf32>) outs(%e1 : tensor<1x2x8x4xf32>) permutation = [0, 2, 3, 1]
  %s = llm.matmul %qh, %kt : tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32> -> tensor<1x2x4x4xf32>
  %c = arith.constant dense<2.82842708> : tensor<1x2x4x4xf32>
  %sd = arith.divf %s, %c : tensor<1x2x4x4xf32>
  %mask = arith.constant dense<[[[[0.0, 0xFF800000, 0xFF800000, 0xFF800000], [0.0, 0.0, 0xFF800000, 0xFF800000], [0.0, 0.0, 0.0, 0xFF800000], [0.0, 0.0, 0.0, 0.0]], [[0.0, 0xFF800000, 0xFF800000, 0xFF800000], [0.0, 0.03, 0xFF800000, 0xFF800000], [0.0, 0.0, 0.0, 0xFF800000], [0.0, 0.0, 0.0, 0.0]]]]> : tensor<1x2x4x4xf32>
  %sm = arith.addf %sd, %mask : tensor<1x2x4x4xf32>
  %p = llm.softmax %sm {axis = 3} : tensor<1x2x4x4xf32>
  %o = llm.matmul %p, %vh : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  %e2 = tensor.empty() : tensor<1x4x2x8xf32>
  %ot = linalg.transpose ins(%o : tensor<1x2x4x8xf32>) outs(%e2 : tensor<1x4x2x8xf32>) permutation = [0, 2, 1, 3]
  %m = tensor.collapse_shape %ot [[0], [1], [2, 3]] : tensor<1x4x2x8xf32> into tensor<1x4x16xf32>
  return %m : tensor<1x4x16xf32>
}
