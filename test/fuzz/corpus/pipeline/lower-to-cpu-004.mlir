func.func @encode(%kv: tensor<1x3x16xf32>,
                  %cache: !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 8, block_size = 4, dtype = f32>,
                  %slots: tensor<1x3xi32>) -> !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 8, block_size = 4, dtype = f32> {
  %c = llm.kv_cache_append %cache[%slots], %kv, %kv {layer = 0}
      : !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 8, block_size = 4, dtype = f32>, tensor<1x3xi32>, tensor<1x3x16xf32>, tensor<1x3x16xf32>
  return %c : !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 8, block_size = 4, dtype = f32>
}
