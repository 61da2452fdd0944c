func.func @embedding(
    %table: tensor<32000x256xf16>, %ids: tensor<1x8xi64>,
    %qtable: !llm.qweight<32000x256, bits = 8, group = per_channel, scale = f16, symmetric, packing = byte>,
    %ids32: tensor<2x4xi32>, %wpe: tensor<1024x64xf32>, %pos: tensor<?xi64>) {
  %0 = llm.embedding %table[%ids] : tensor<32000x256xf16>, tensor<1x8xi64> -> tensor<1x8x256xf16>
  %1 = llm.embedding %qtable[%ids32]
      : !llm.qweight<32000x256, bits = 8, group = per_channel, scale = f16, symmetric, packing = byte>,
        tensor<2x4xi32> -> tensor<2x4x256xbf16>
  %2 = llm.embedding %wpe[%pos] : tensor<1024x64xf32>, tensor<?xi64> -> tensor<?x64xf32>
  return
}
