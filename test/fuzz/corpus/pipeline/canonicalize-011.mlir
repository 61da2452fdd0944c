func.func @rope_scaling_none(%q: tensor<1x8x512xf32>, %pos: tensor<1x8xi64>)
    -> (tensor<1x8x512xf32>, tensor<1x8x512xf32>) {
  %0 = llm.rope %q, %pos {num_heads = 8, scaling = #llm.rope_scaling<kind = none>}
      : tensor<1x8x512xf32>, tensor<1x8xi64>
  %1 = llm.rope %q, %pos {num_heads = 8, theta = 500000.0, pairing = #llm.pairing<gptj>, rotary_dim = 32,
                          scaling = #llm.rope_scaling<kind = none, factor = 4.0, original_max_position = 2048>}
      : tensor<1x8x512xf32>, tensor<1x8xi64>
  return %0, %1 : tensor<1x8x512xf32>, tensor<1x8x512xf32>
}
