func.func @qweight_types(
    %q0: !llm.qweight<64x128, bits = 8, group = per_channel, scale = f32, symmetric, packing = byte>,
    %q1: !llm.qweight<64x128, bits = 8, group = 32, scale = bf16, asymmetric, packing = byte>,
    %q2: !llm.qweight<4096x4096, bits = 4, group = 32, scale = f16, symmetric, packing = nibble>,
    %q3: !llm.qweight<64x128, bits = 4, group = per_channel, scale = f32, asymmetric, packing = nibble>,
    %q4: !llm.qweight<64x128, bits = 4, group = 128, scale = f16, asymmetric, packing = gptq>,
    %q5: !llm.qweight<8x8, bits = 4, group = 8, scale = bf16, symmetric, packing = gptq>,
    %q6: !llm.qweight<64x128, bits = 4, group = per_channel, scale = bf16, asymmetric, packing = awq>,
    %q7: !llm.qweight<8x3, bits = 4, group = 3, scale = f32, symmetric, packing = awq>) {
  return
}
