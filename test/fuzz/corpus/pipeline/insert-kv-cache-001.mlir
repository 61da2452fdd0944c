func.func @alibi_slopes(%q: tensor<1x2x64xf32>, %s: tensor<4xf32>) -> tensor<1x2x64xf32> {
  %a = llm.flash_attention %q, %q, %q alibi_slopes(%s : tensor<4xf32>) {num_heads = 4, num_kv_heads = 4, scale = 0.25, mask = #llm.mask<causal>}
      : tensor<1x2x64xf32>, tensor<1x2x64xf32>, tensor<1x2x64xf32> -> tensor<1x2x64xf32>
  return %a : tensor<1x2x64xf32>
}
