func.func @broadcast_head(%q: tensor<1x4x32xf32>) -> tensor<1x4x32xf32> {
  %bias = llm.alibi : tensor<1x4x4xf32>
  %o = llm.attention %q, %q, %q bias(%bias : tensor<1x4x4xf32>)
      {num_heads = 4, num_kv_heads = 4, mask = #llm.mask<bidirectional>}
      : tensor<1x4x32xf32>, tensor<1x4x32xf32>, tensor<1x4x32xf32> -> tensor<1x4x32xf32>
  return %o : tensor<1x4x32xf32>
}
