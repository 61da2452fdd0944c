func.func @attention_12_heads(%q: tensor<1x4x96xf32>, %k: tensor<1x4x48xf32>) -> tensor<1x4x96xf32> {
  %bias = llm.alibi : tensor<12x4x4xf32>
  %a = llm.attention %q, %k, %k bias(%bias : tensor<12x4x4xf32>)
      {num_heads = 12, num_kv_heads = 6, mask = #llm.mask<causal>}
      : tensor<1x4x96xf32>, tensor<1x4x48xf32>, tensor<1x4x48xf32> -> tensor<1x4x96xf32>
  %b = llm.attention %a, %k, %k bias(%bias : tensor<12x4x4xf32>)
      {num_heads = 12, num_kv_heads = 6, scale = 0.5, mask = #llm.mask<sliding_window>, window = 2}
      : tensor<1x4x96xf32>, tensor<1x4x48xf32>, tensor<1x4x48xf32> -> tensor<1x4x96xf32>
  return %b : tensor<1x4x96xf32>
}
