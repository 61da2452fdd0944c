func.func @two_layers(%q: tensor<2x3x64xf32>, %k: tensor<2x3x32xf32>, %v: tensor<2x3x32xf32>) -> tensor<2x3x64xf32> {
  %a = llm.attention %q, %k, %v {num_heads = 4, num_kv_heads = 2, mask = #llm.mask<causal>}
      : tensor<2x3x64xf32>, tensor<2x3x32xf32>, tensor<2x3x32xf32> -> tensor<2x3x64xf32>
  %b = llm.attention %a, %k, %v {num_heads = 4, num_kv_heads = 2, scale = 0.5, mask = #llm.mask<sliding_window>, window = 2}
      : tensor<2x3x64xf32>, tensor<2x3x32xf32>, tensor<2x3x32xf32> -> tensor<2x3x64xf32>
  return %b : tensor<2x3x64xf32>
}
