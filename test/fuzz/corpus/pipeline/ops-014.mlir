func.func @paged_attention_t5(
    %q: tensor<4x3x96xf32>,
    %cache: !llm.kv_cache<layers = 2, kv_heads = 4, head_dim = 24, block_size = 16, dtype = f32>,
    %tables: tensor<4x8xi32>, %lens: tensor<4xi32>, %table: tensor<32x4xf32>) {
  %0 = llm.paged_attention %q, %cache, %tables, %lens relative_bias_table(%table : tensor<32x4xf32>)
          {layer = 0, num_heads = 4, scale = 1.0, mask = #llm.mask<causal>, num_buckets = 32, max_distance = 128}
      : tensor<4x3x96xf32>,
        !llm.kv_cache<layers = 2, kv_heads = 4, head_dim = 24, block_size = 16, dtype = f32>,
        tensor<4x8xi32>, tensor<4xi32> -> tensor<4x3x96xf32>
  %1 = llm.paged_attention %q, %cache, %tables, %lens relative_bias_table(%table : tensor<32x4xf32>)
          {layer = 0, num_heads = 4, scale = 1.0, mask = #llm.mask<causal>, num_buckets = 32, max_distance = 128,
           bidirectional_buckets}
      : tensor<4x3x96xf32>,
        !llm.kv_cache<layers = 2, kv_heads = 4, head_dim = 24, block_size = 16, dtype = f32>,
        tensor<4x8xi32>, tensor<4xi32> -> tensor<4x3x96xf32>
  %2 = llm.paged_attention %q, %cache, %tables, %lens
          {layer = 1, num_heads = 4, scale = 1.0, mask = #llm.mask<bidirectional>}
      : tensor<4x3x96xf32>,
        !llm.kv_cache<layers = 2, kv_heads = 4, head_dim = 24, block_size = 16, dtype = f32>,
        tensor<4x8xi32>, tensor<4xi32> -> tensor<4x3x96xf32>
  return
}
