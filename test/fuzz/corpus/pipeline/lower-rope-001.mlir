func.func @partial_gptj_linear(%x: tensor<1x3x16xf32>, %pos: tensor<1x3xi64>) -> tensor<1x3x16xf32> {
  %w = llm.param "wq" : tensor<16x16xbf16>
  %q = llm.linear %x, %w : tensor<1x3x16xf32>, tensor<16x16xbf16> -> tensor<1x3x16xf32>
  %r = llm.rope %q, %pos {num_heads = 2, rotary_dim = 4, theta = 10000.0, pairing = #llm.pairing<gptj>,
                          scaling = #llm.rope_scaling<kind = linear, factor = 2.0>} : tensor<1x3x16xf32>, tensor<1x3xi64>
  return %r : tensor<1x3x16xf32>
}
