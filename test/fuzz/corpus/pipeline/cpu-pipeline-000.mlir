func.func @layer(%x: tensor<1x4x64xf32>) -> tensor<1x4x64xf32> {
  %bias = llm.alibi {max_bias = 8.0} : tensor<4x4x4xf32>
  %a = llm.attention %x, %x, %x bias(%bias : tensor<4x4x4xf32>) {num_heads = 4, num_kv_heads = 4, mask = #llm.mask<causal>}
      : tensor<1x4x64xf32>, tensor<1x4x64xf32>, tensor<1x4x64xf32> -> tensor<1x4x64xf32>
  return %a : tensor<1x4x64xf32>
}
