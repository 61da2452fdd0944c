func.func @block(%ids: tensor<1x3xi64>) -> tensor<1x3x16xf32> {
  %emb = llm.param "emb" : tensor<32x16xf32>
  %w = llm.param "w" : tensor<16x16xf32>
  %e = llm.embedding %emb[%ids] : tensor<32x16xf32>, tensor<1x3xi64> -> tensor<1x3x16xf32>
  %k = llm.linear %e, %w : tensor<1x3x16xf32>, tensor<16x16xf32> -> tensor<1x3x16xf32>
  %a = llm.attention %k, %k, %k {num_heads = 2, num_kv_heads = 2, mask = #llm.mask<causal>}
      : tensor<1x3x16xf32>, tensor<1x3x16xf32>, tensor<1x3x16xf32> -> tensor<1x3x16xf32>
  %half = arith.constant dense<0.5> : tensor<1x3x16xf32>
  %r = arith.mulf %a, %half : tensor<1x3x16xf32>
  return %r : tensor<1x3x16xf32>
}
