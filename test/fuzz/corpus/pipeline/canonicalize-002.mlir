func.func @window_shorter_than_kv_len(%q: tensor<1x16x256xf32>, %k: tensor<1x16x64xf32>,
                                      %v: tensor<1x16x64xf32>) -> tensor<1x16x256xf32> {
  %0 = llm.attention %q, %k, %v {num_heads = 8, num_kv_heads = 2, mask = #llm.mask<sliding_window>,
                                 window = 15}
      : tensor<1x16x256xf32>, tensor<1x16x64xf32>, tensor<1x16x64xf32> -> tensor<1x16x256xf32>
  return %0 : tensor<1x16x256xf32>
}
