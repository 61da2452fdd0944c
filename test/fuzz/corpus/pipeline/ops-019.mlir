func.func @dequantize(
    %q4: !llm.qweight<256x256, bits = 4, group = 32, scale = f16, symmetric, packing = nibble>,
    %q8: !llm.qweight<64x128, bits = 8, group = per_channel, scale = bf16, asymmetric, packing = byte>) {
  %0 = llm.dequantize %q4
      : !llm.qweight<256x256, bits = 4, group = 32, scale = f16, symmetric, packing = nibble>
        -> tensor<256x256xf32>
  %1 = llm.dequantize %q8
      : !llm.qweight<64x128, bits = 8, group = per_channel, scale = bf16, asymmetric, packing = byte>
        -> tensor<64x128xbf16>
  return
}
