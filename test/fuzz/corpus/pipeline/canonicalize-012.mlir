func.func @rope_scaling_linear_1(%q: tensor<1x8x512xf32>, %pos: tensor<1x8xi64>,
                                 %k: tensor<1x8x128xbf16>, %pos32: tensor<1x8xi32>)
    -> (tensor<1x8x512xf32>, tensor<1x8x128xbf16>) {
  %0 = llm.rope %q, %pos {num_heads = 8, scaling = #llm.rope_scaling<kind = linear, factor = 1.0>}
      : tensor<1x8x512xf32>, tensor<1x8xi64>
  %1 = llm.rope %k, %pos32 {num_heads = 2, scaling = #llm.rope_scaling<kind = linear>}
      : tensor<1x8x128xbf16>, tensor<1x8xi32>
  return %0, %1 : tensor<1x8x512xf32>, tensor<1x8x128xbf16>
}
