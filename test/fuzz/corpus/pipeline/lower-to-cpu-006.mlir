func.func @dynamic_table(%pos: tensor<2x3xi64>) -> tensor<4xf32> {
  %f = llm.rope_inv_freq %pos {rotary_dim = 8, scaling = #llm.rope_scaling<kind = dynamic, factor = 2.0, original_max_position = 16>}
      : tensor<2x3xi64> -> tensor<4xf32>
  return %f : tensor<4xf32>
}
