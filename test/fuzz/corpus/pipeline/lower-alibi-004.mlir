func.func @unchanged(%q: tensor<1x4x32xf32>, %table: tensor<32x4xf32>, %slopes: tensor<4xf32>, %b: tensor<4x4x4xf32>)
    -> (tensor<1x4x32xf32>, tensor<1x4x32xf32>, tensor<1x4x32xf32>, tensor<1x4x32xf32>, tensor<4x4x4xf32>) {
  %rel = llm.relative_position_bias %table {num_buckets = 32, max_distance = 128} : tensor<32x4xf32> -> tensor<4x4x4xf32>
  %a = llm.attention %q, %q, %q bias(%rel : tensor<4x4x4xf32>) {num_heads = 4, num_kv_heads = 4, mask = #llm.mask<causal>}
      : tensor<1x4x32xf32>, tensor<1x4x32xf32>, tensor<1x4x32xf32> -> tensor<1x4x32xf32>
  %b0 = llm.attention %q, %q, %q {num_heads = 4, num_kv_heads = 4, mask = #llm.mask<causal>}
      : tensor<1x4x32xf32>, tensor<1x4x32xf32>, tensor<1x4x32xf32> -> tensor<1x4x32xf32>
  %c = llm.flash_attention %q, %q, %q bias(%b : tensor<4x4x4xf32>) alibi_slopes(%slopes : tensor<4xf32>)
      {num_heads = 4, num_kv_heads = 4, scale = 0.25, mask = #llm.mask<causal>}
      : tensor<1x4x32xf32>, tensor<1x4x32xf32>, tensor<1x4x32xf32> -> tensor<1x4x32xf32>
  %alibi = llm.alibi : tensor<4x4x4xf32>
  %d = llm.attention %q, %q, %q bias(%alibi : tensor<4x4x4xf32>) {num_heads = 4, num_kv_heads = 4, mask = #llm.mask<causal>}
      : tensor<1x4x32xf32>, tensor<1x4x32xf32>, tensor<1x4x32xf32> -> tensor<1x4x32xf32>
  %e = arith.addf %alibi, %alibi : tensor<4x4x4xf32>
  return %a, %b0, %c, %d, %e : tensor<1x4x32xf32>, tensor<1x4x32xf32>, tensor<1x4x32xf32>, tensor<1x4x32xf32>, tensor<4x4x4xf32>
}
