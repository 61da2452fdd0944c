func.func @expanded_bias_max_bias_16(%q: tensor<1x4x32xf32>, %pad: tensor<1x4xi1>) -> tensor<1x4x32xf32> {
  %alibi = llm.alibi {max_bias = 16.0} : tensor<4x4x4xf32>
  %bias = tensor.expand_shape %alibi [[0, 1], [2], [3]] output_shape [1, 4, 4, 4] : tensor<4x4x4xf32> into tensor<1x4x4x4xf32>
  %o = llm.flash_attention %q, %q, %q key_padding(%pad : tensor<1x4xi1>) bias(%bias : tensor<1x4x4x4xf32>)
      {num_heads = 4, num_kv_heads = 4, scale = 1.0, mask = #llm.mask<padding>}
      : tensor<1x4x32xf32>, tensor<1x4x32xf32>, tensor<1x4x32xf32> -> tensor<1x4x32xf32>
  return %o : tensor<1x4x32xf32>
}
