func.func @rope_no_scaling(%q: tensor<1x8x512xf32>, %pos: tensor<1x8xi64>) -> tensor<1x8x512xf32> {
  %0 = llm.rope %q, %pos {num_heads = 8} : tensor<1x8x512xf32>, tensor<1x8xi64>
  return %0 : tensor<1x8x512xf32>
}
