func.func @kv_cache(
    %c0: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
    %slots: tensor<4x1xi32>, %k: tensor<4x1x128xf32>, %v: tensor<4x1x128xf32>,
    %tables: tensor<4x2xi32>,
    %c8: !llm.kv_cache<layers = 1, kv_heads = 4, head_dim = 32, block_size = 8, dtype = i8>,
    %slots64: tensor<1x?xi64>, %kb: tensor<1x?x128xbf16>, %tables64: tensor<?x?xi64>)
    -> (!llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
        !llm.kv_cache<layers = 1, kv_heads = 4, head_dim = 32, block_size = 8, dtype = i8>) {
  %c1 = llm.kv_cache_append %c0[%slots], %k, %v {layer = 1}
      : !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
        tensor<4x1xi32>, tensor<4x1x128xf32>, tensor<4x1x128xf32>
  %c9 = llm.kv_cache_append %c8[%slots64], %kb, %kb {layer = 0}
      : !llm.kv_cache<layers = 1, kv_heads = 4, head_dim = 32, block_size = 8, dtype = i8>,
        tensor<1x?xi64>, tensor<1x?x128xbf16>, tensor<1x?x128xbf16>
  %gk, %gv = llm.kv_cache_gather %c1[%tables] {layer = 0}
      : !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
        tensor<4x2xi32> -> tensor<4x32x128xf32>, tensor<4x32x128xf32>
  %hk, %hv = llm.kv_cache_gather %c9[%tables64] {layer = 0}
      : !llm.kv_cache<layers = 1, kv_heads = 4, head_dim = 32, block_size = 8, dtype = i8>,
        tensor<?x?xi64> -> tensor<?x?x128xf16>, tensor<?x?x128xf16>
  return %c1, %c9
      : !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
        !llm.kv_cache<layers = 1, kv_heads = 4, head_dim = 32, block_size = 8, dtype = i8>
}
