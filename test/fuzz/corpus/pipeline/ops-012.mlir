func.func @flash_attention(
    %q: tensor<1x16x512xf32>, %k: tensor<1x16x512xf32>, %v: tensor<1x16x512xf32>,
    %pad: tensor<1x16xi1>, %bias: tensor<8x16x16xf32>, %slopes: tensor<8xf32>,
    %qh: tensor<?x?x256xf16>, %kh: tensor<?x?x64xf16>) {
  %0 = llm.flash_attention %q, %k, %v {num_heads = 8, num_kv_heads = 8, scale = 0.125,
                                       mask = #llm.mask<causal>, block_q = 64, block_kv = 64}
      : tensor<1x16x512xf32>, tensor<1x16x512xf32>, tensor<1x16x512xf32> -> tensor<1x16x512xf32>
  %1 = llm.flash_attention %q, %k, %v alibi_slopes(%slopes : tensor<8xf32>)
          {num_heads = 8, num_kv_heads = 8, scale = 0.125, mask = #llm.mask<sliding_window>,
           window = 4, block_q = 128, block_kv = 32}
      : tensor<1x16x512xf32>, tensor<1x16x512xf32>, tensor<1x16x512xf32> -> tensor<1x16x512xf32>
  %2 = llm.flash_attention %q, %k, %v key_padding(%pad : tensor<1x16xi1>) bias(%bias : tensor<8x16x16xf32>)
          alibi_slopes(%slopes : tensor<8xf32>)
          {num_heads = 8, num_kv_heads = 8, scale = 0.125, mask = #llm.mask<padding>}
      : tensor<1x16x512xf32>, tensor<1x16x512xf32>, tensor<1x16x512xf32> -> tensor<1x16x512xf32>
  %3 = llm.flash_attention %q, %k, %v key_padding(%pad : tensor<1x16xi1>)
          {num_heads = 8, num_kv_heads = 8, scale = 0.125, mask = #llm.mask<bidirectional>, block_kv = 16}
      : tensor<1x16x512xf32>, tensor<1x16x512xf32>, tensor<1x16x512xf32> -> tensor<1x16x512xf32>
  %4 = llm.flash_attention %qh, %kh, %kh {num_heads = 4, num_kv_heads = 1, scale = 0.125,
                                          mask = #llm.mask<causal>, block_q = 16}
      : tensor<?x?x256xf16>, tensor<?x?x64xf16>, tensor<?x?x64xf16> -> tensor<?x?x256xf16>
  return
}
