func.func @decode(%q: tensor<1x1x16xf32>,
                  %cache: !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 8, block_size = 4, dtype = f32>,
                  %tables: tensor<1x4xi32>, %lens: tensor<1xi32>) -> tensor<1x1x16xf32> {
  %table = llm.param "bias" : tensor<8x2xf32>
  %a = llm.paged_attention %q, %cache, %tables, %lens relative_bias_table(%table : tensor<8x2xf32>)
          {layer = 0, num_heads = 2, scale = 1.0, mask = #llm.mask<causal>, num_buckets = 8, max_distance = 16}
      : tensor<1x1x16xf32>, !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 8, block_size = 4, dtype = f32>,
        tensor<1x4xi32>, tensor<1xi32> -> tensor<1x1x16xf32>
  %b = llm.paged_attention %a, %cache, %tables, %lens
          {layer = 0, num_heads = 2, scale = 1.0, mask = #llm.mask<bidirectional>}
      : tensor<1x1x16xf32>, !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 8, block_size = 4, dtype = f32>,
        tensor<1x4xi32>, tensor<1xi32> -> tensor<1x1x16xf32>
  return %b : tensor<1x1x16xf32>
}
