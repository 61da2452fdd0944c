func.func @shared_projection(%x: tensor<1x3x16xf32>, %pos: tensor<1x3xi64>) -> (tensor<1x3x16xf32>, tensor<1x3x16xf32>, tensor<1x3x16xf32>) {
  %w = llm.param "wq" : tensor<16x16xf32>
  %q = llm.linear %x, %w : tensor<1x3x16xf32>, tensor<16x16xf32> -> tensor<1x3x16xf32>
  %r = llm.rope %q, %pos {num_heads = 2} : tensor<1x3x16xf32>, tensor<1x3xi64>
  %s = llm.rope %x, %pos {num_heads = 2} : tensor<1x3x16xf32>, tensor<1x3xi64>
  return %r, %q, %s : tensor<1x3x16xf32>, tensor<1x3x16xf32>, tensor<1x3x16xf32>
}
