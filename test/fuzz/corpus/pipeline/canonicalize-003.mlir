func.func @window_dynamic_kv_len(%q: tensor<1x1x256xf32>, %k: tensor<1x?x64xf32>,
                                 %v: tensor<1x?x64xf32>) -> tensor<1x1x256xf32> {
  %0 = llm.attention %q, %k, %v {num_heads = 8, num_kv_heads = 2, mask = #llm.mask<sliding_window>,
                                 window = 4096}
      : tensor<1x1x256xf32>, tensor<1x?x64xf32>, tensor<1x?x64xf32> -> tensor<1x1x256xf32>
  return %0 : tensor<1x1x256xf32>
}
