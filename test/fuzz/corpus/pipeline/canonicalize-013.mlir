func.func @rope_scaling_kept(%q: tensor<1x8x512xf32>, %pos: tensor<1x8xi64>)
    -> (tensor<1x8x512xf32>, tensor<1x8x512xf32>, tensor<1x8x512xf32>, tensor<1x8x512xf32>) {
  %0 = llm.rope %q, %pos {num_heads = 8, scaling = #llm.rope_scaling<kind = linear, factor = 2.0>}
      : tensor<1x8x512xf32>, tensor<1x8xi64>
  %1 = llm.rope %q, %pos {num_heads = 8,
                          scaling = #llm.rope_scaling<kind = dynamic, factor = 1.0, original_max_position = 2048>}
      : tensor<1x8x512xf32>, tensor<1x8xi64>
  %2 = llm.rope %q, %pos {num_heads = 8,
                          scaling = #llm.rope_scaling<kind = yarn, factor = 1.0, original_max_position = 4096>}
      : tensor<1x8x512xf32>, tensor<1x8xi64>
  %3 = llm.rope %q, %pos {num_heads = 8,
                          scaling = #llm.rope_scaling<kind = llama3, factor = 8.0, original_max_position = 8192>}
      : tensor<1x8x512xf32>, tensor<1x8xi64>
  return %0, %1, %2, %3 : tensor<1x8x512xf32>, tensor<1x8x512xf32>, tensor<1x8x512xf32>, tensor<1x8x512xf32>
}
