module attributes {llm.params = [{name = "w", type = tensor<4x4xf32>},
                                 {name = "qkv", type = tensor<4x4xf16>, transpose, row_blocks = array<i64: 4, 4, 12, 1>},
                                 {name = "experts", type = tensor<2x4xf32>, stacked = ["e0", "e1"]}]} {
  llvm.func @entry(%params: !llvm.ptr, %arena: !llvm.ptr, %args: !llvm.ptr, %results: !llvm.ptr)
      attributes {llm.arena_bytes = 128 : i64,
                  llm.arg_kinds = [#llm.arg_kind<tokens>, #llm.arg_kind<kv_cache>],
                  llm.arg_types = [tensor<1x3xi64>, !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 8, block_size = 4, dtype = f16>],
                  llm.result_types = [tensor<1x3x8xf32>]} {
    llvm.return
  }
}
