func.func @window_equal_to_kv_len(%q: tensor<2x4x128xf16>, %k: tensor<2x8x128xf16>, %v: tensor<2x8x128xf16>,
                                  %pad: tensor<2x8xi1>, %bias: tensor<4x4x8xf16>) -> tensor<2x4x128xf16> {
  %0 = llm.attention %q, %k, %v key_padding(%pad : tensor<2x8xi1>) bias(%bias : tensor<4x4x8xf16>)
          {num_heads = 4, num_kv_heads = 4, mask = #llm.mask<sliding_window>, window = 8, scale = 0.125}
      : tensor<2x4x128xf16>, tensor<2x8x128xf16>, tensor<2x8x128xf16> -> tensor<2x4x128xf16>
  return %0 : tensor<2x4x128xf16>
}
