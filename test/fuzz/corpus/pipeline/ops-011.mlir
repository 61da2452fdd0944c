func.func @attention(
    %q: tensor<1x16x512xf32>, %k: tensor<1x16x128xf32>, %v: tensor<1x16x128xf32>,
    %pad: tensor<1x16xi1>, %bias3: tensor<8x16x16xf32>, %bias4: tensor<1x1x16x16xf32>,
    %qh: tensor<2x1x256xf16>, %kh: tensor<2x?x256xf16>, %vh: tensor<2x?x128xf16>,
    %qb: tensor<1x4x64xbf16>, %kb: tensor<1x8x16xbf16>) {
  %0 = llm.attention %q, %k, %v {num_heads = 8, num_kv_heads = 2, mask = #llm.mask<causal>}
      : tensor<1x16x512xf32>, tensor<1x16x128xf32>, tensor<1x16x128xf32> -> tensor<1x16x512xf32>
  %1 = llm.attention %q, %k, %v {num_heads = 8, num_kv_heads = 2, mask = #llm.mask<bidirectional>,
                                 scale = 0.125}
      : tensor<1x16x512xf32>, tensor<1x16x128xf32>, tensor<1x16x128xf32> -> tensor<1x16x512xf32>
  %2 = llm.attention %q, %k, %v {num_heads = 8, num_kv_heads = 2, mask = #llm.mask<sliding_window>,
                                 window = 8}
      : tensor<1x16x512xf32>, tensor<1x16x128xf32>, tensor<1x16x128xf32> -> tensor<1x16x512xf32>
  %3 = llm.attention %q, %k, %v key_padding(%pad : tensor<1x16xi1>)
          {num_heads = 8, num_kv_heads = 2, mask = #llm.mask<padding>}
      : tensor<1x16x512xf32>, tensor<1x16x128xf32>, tensor<1x16x128xf32> -> tensor<1x16x512xf32>
  %4 = llm.attention %q, %k, %v bias(%bias3 : tensor<8x16x16xf32>)
          {num_heads = 8, num_kv_heads = 2, mask = #llm.mask<causal>}
      : tensor<1x16x512xf32>, tensor<1x16x128xf32>, tensor<1x16x128xf32> -> tensor<1x16x512xf32>
  %5 = llm.attention %q, %k, %v key_padding(%pad : tensor<1x16xi1>) bias(%bias4 : tensor<1x1x16x16xf32>)
          {num_heads = 8, num_kv_heads = 2, mask = #llm.mask<bidirectional>}
      : tensor<1x16x512xf32>, tensor<1x16x128xf32>, tensor<1x16x128xf32> -> tensor<1x16x512xf32>
  %6 = llm.attention %q, %k, %v key_padding(%pad : tensor<1x16xi1>)
          {num_heads = 8, num_kv_heads = 2, mask = #llm.mask<sliding_window>, window = 1, scale = 1.0}
      : tensor<1x16x512xf32>, tensor<1x16x128xf32>, tensor<1x16x128xf32> -> tensor<1x16x512xf32>
  %7 = llm.attention %qh, %kh, %vh {num_heads = 4, num_kv_heads = 4, mask = #llm.mask<causal>, scale = 0.0625}
      : tensor<2x1x256xf16>, tensor<2x?x256xf16>, tensor<2x?x128xf16> -> tensor<2x1x128xf16>
  %8 = llm.attention %qb, %kb, %kb {num_heads = 4, num_kv_heads = 1, mask = #llm.mask<bidirectional>}
      : tensor<1x4x64xbf16>, tensor<1x8x16xbf16>, tensor<1x8x16xbf16> -> tensor<1x4x64xbf16>
  return
}
