func.func @linear(
    %x: tensor<1x8x256xf32>, %w: tensor<512x256xf32>, %b: tensor<512xf32>,
    %xb: tensor<?x256xbf16>, %wb: tensor<128x256xbf16>,
    %qw: !llm.qweight<512x256, bits = 4, group = 64, scale = f16, asymmetric, packing = gptq>,
    %xh: tensor<4x256xf16>,
    %qb: !llm.qweight<512x256, bits = 4, group = per_channel, scale = bf16, symmetric, packing = awq>) {
  %0 = llm.linear %x, %w, %b
      : tensor<1x8x256xf32>, tensor<512x256xf32>, tensor<512xf32> -> tensor<1x8x512xf32>
  %1 = llm.linear %x, %w : tensor<1x8x256xf32>, tensor<512x256xf32> -> tensor<1x8x512xf32>
  %2 = llm.linear %xb, %wb : tensor<?x256xbf16>, tensor<128x256xbf16> -> tensor<?x128xbf16>
  %3 = llm.linear %x, %qw, %b
      : tensor<1x8x256xf32>,
        !llm.qweight<512x256, bits = 4, group = 64, scale = f16, asymmetric, packing = gptq>,
        tensor<512xf32> -> tensor<1x8x512xf32>
  %4 = llm.linear %xh, %qb
      : tensor<4x256xf16>,
        !llm.qweight<512x256, bits = 4, group = per_channel, scale = bf16, symmetric, packing = awq>
        -> tensor<4x512xf16>
  return
}
