func.func @plain(%x: tensor<1x3x16xf32>, %pos: tensor<1x3xi64>) -> tensor<1x3x16xf32> {
  %w = llm.param "wq" : tensor<16x16xf32>
  %b = llm.param "bq" : tensor<16xf32>
  %q = llm.linear %x, %w, %b : tensor<1x3x16xf32>, tensor<16x16xf32>, tensor<16xf32> -> tensor<1x3x16xf32>
  %r = llm.rope %q, %pos {num_heads = 2} : tensor<1x3x16xf32>, tensor<1x3xi64>
  return %r : tensor<1x3x16xf32>
}
