func.func @param() -> (tensor<256x256xf16>,
                       !llm.qweight<256x688, bits = 4, group = 16, scale = f16, symmetric, packing = nibble>,
                       tensor<256xbf16>, tensor<3072x768xf32>, tensor<768x768xf32>, tensor<256x256xf16>,
                       tensor<2x128x64xbf16>) {
  %w = llm.param "model.layers.0.self_attn.q_proj.weight" : tensor<256x256xf16>
  %q = llm.param "model.layers.0.mlp.down_proj.qweight"
      : !llm.qweight<256x688, bits = 4, group = 16, scale = f16, symmetric, packing = nibble>
  %n = llm.param "model.norm.weight" : tensor<256xbf16>
  %t = llm.param "h.0.mlp.c_fc.weight" {transpose} : tensor<3072x768xf32>
  %k = llm.param "h.0.attn.c_attn.weight" {transpose, row_blocks = array<i64: 768, 768, 768, 1>}
      : tensor<768x768xf32>
  %b = llm.param "h.0.self_attention.query_key_value.weight" {row_blocks = array<i64: 64, 64, 192, 4>}
      : tensor<256x256xf16>
  %s = llm.param "model.layers.0.block_sparse_moe.experts.w1"
          {stacked = ["model.layers.0.block_sparse_moe.experts.0.w1.weight",
                      "model.layers.0.block_sparse_moe.experts.1.w1.weight"]}
      : tensor<2x128x64xbf16>
  return %w, %q, %n, %t, %k, %b, %s
      : tensor<256x256xf16>,
        !llm.qweight<256x688, bits = 4, group = 16, scale = f16, symmetric, packing = nibble>,
        tensor<256xbf16>, tensor<3072x768xf32>, tensor<768x768xf32>, tensor<256x256xf16>,
        tensor<2x128x64xbf16>
}
