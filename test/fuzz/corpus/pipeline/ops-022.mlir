func.func @rope_inv_freq(%pos: tensor<2x16xi64>, %pos32: tensor<1xi32>) -> (tensor<32xf32>, tensor<4xf32>) {
  %f = llm.rope_inv_freq %pos {rotary_dim = 64, theta = 500000.0,
                               scaling = #llm.rope_scaling<kind = dynamic, factor = 2.0, original_max_position = 2048>}
      : tensor<2x16xi64> -> tensor<32xf32>
  %g = llm.rope_inv_freq %pos32 {rotary_dim = 8} : tensor<1xi32> -> tensor<4xf32>
  return %f, %g : tensor<32xf32>, tensor<4xf32>
}
