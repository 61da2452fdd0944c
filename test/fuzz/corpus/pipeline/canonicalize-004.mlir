func.func @other_masks(%q: tensor<1x16x256xf32>, %k: tensor<1x16x64xf32>, %v: tensor<1x16x64xf32>)
    -> (tensor<1x16x256xf32>, tensor<1x16x256xf32>) {
  %0 = llm.attention %q, %k, %v {num_heads = 8, num_kv_heads = 2, mask = #llm.mask<causal>}
      : tensor<1x16x256xf32>, tensor<1x16x64xf32>, tensor<1x16x64xf32> -> tensor<1x16x256xf32>
  %1 = llm.attention %q, %k, %v {num_heads = 8, num_kv_heads = 2, mask = #llm.mask<bidirectional>}
      : tensor<1x16x256xf32>, tensor<1x16x64xf32>, tensor<1x16x64xf32> -> tensor<1x16x256xf32>
  return %0, %1 : tensor<1x16x256xf32>, tensor<1x16x256xf32>
}
