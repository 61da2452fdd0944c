func.func @linear_rope(%x: tensor<1x3x8xf32>, %w: tensor<16x8xbf16>, %b: tensor<16xf32>, %pos: tensor<1x3xi64>, %t: tensor<2xf32>) -> tensor<1x3x16xf32> {
  %y = llm.linear_rope %x, %w bias(%b : tensor<16xf32>), %pos, %t {num_heads = 2, rotary_dim = 4, pairing = #llm.pairing<gptj>, attention_scaling = 1.5}
      : tensor<1x3x8xf32>, tensor<16x8xbf16>, tensor<1x3xi64>, tensor<2xf32> -> tensor<1x3x16xf32>
  return %y : tensor<1x3x16xf32>
}
