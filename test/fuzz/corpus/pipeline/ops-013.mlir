func.func @paged_attention(
    %q: tensor<4x1x512xf32>,
    %cache: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
    %tables: tensor<4x32xi32>, %lens: tensor<4xi32>, %slopes: tensor<8xf32>,
    %qb: tensor<?x4x256xbf16>,
    %cache8: !llm.kv_cache<layers = 4, kv_heads = 1, head_dim = 128, block_size = 32, dtype = i8>,
    %tables64: tensor<?x?xi64>, %lens64: tensor<?xi64>) {
  %0 = llm.paged_attention %q, %cache, %tables, %lens
          {layer = 0, num_heads = 8, scale = 0.125, mask = #llm.mask<causal>}
      : tensor<4x1x512xf32>,
        !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
        tensor<4x32xi32>, tensor<4xi32> -> tensor<4x1x512xf32>
  %1 = llm.paged_attention %q, %cache, %tables, %lens alibi_slopes(%slopes : tensor<8xf32>)
          {layer = 1, num_heads = 8, scale = 0.125, mask = #llm.mask<sliding_window>, window = 256}
      : tensor<4x1x512xf32>,
        !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
        tensor<4x32xi32>, tensor<4xi32> -> tensor<4x1x512xf32>
  %2 = llm.paged_attention %qb, %cache8, %tables64, %lens64
          {layer = 3, num_heads = 2, scale = 0.088388347648318433, mask = #llm.mask<causal>}
      : tensor<?x4x256xbf16>,
        !llm.kv_cache<layers = 4, kv_heads = 1, head_dim = 128, block_size = 32, dtype = i8>,
        tensor<?x?xi64>, tensor<?xi64> -> tensor<?x4x256xbf16>
  return
}
