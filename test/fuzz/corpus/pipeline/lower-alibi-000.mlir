func.func @flash_8_heads(%q: tensor<1x16x512xf32>) -> tensor<1x16x512xf32> {
  %bias = llm.alibi : tensor<8x16x16xf32>
  %o = llm.flash_attention %q, %q, %q bias(%bias : tensor<8x16x16xf32>)
      {num_heads = 8, num_kv_heads = 8, scale = 0.125, mask = #llm.mask<causal>, block_kv = 32}
      : tensor<1x16x512xf32>, tensor<1x16x512xf32>, tensor<1x16x512xf32> -> tensor<1x16x512xf32>
  return %o : tensor<1x16x512xf32>
}
