func.func @kv_cache_types(
    %c0: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f32>,
    %c1: !llm.kv_cache<layers = 22, kv_heads = 4, head_dim = 64, block_size = 16, dtype = f16>,
    %c2: !llm.kv_cache<layers = 1, kv_heads = 8, head_dim = 128, block_size = 32, dtype = bf16>,
    %c3: !llm.kv_cache<layers = 80, kv_heads = 1, head_dim = 96, block_size = 1, dtype = i8>) {
  return
}
