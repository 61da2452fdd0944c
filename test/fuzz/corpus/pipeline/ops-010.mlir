func.func @position_bias(%table: tensor<32x8xf32>, %table_h: tensor<16x4xf16>) {
  %0 = llm.alibi : tensor<12x16x16xf32>
  %1 = llm.alibi {max_bias = 16.0} : tensor<12x1x16xbf16>
  %2 = llm.alibi {max_bias = 8.0} : tensor<5x?x?xf16>
  %3 = llm.relative_position_bias %table {num_buckets = 32, max_distance = 128, bidirectional}
      : tensor<32x8xf32> -> tensor<8x16x16xf32>
  %4 = llm.relative_position_bias %table_h {num_buckets = 16, max_distance = 64}
      : tensor<16x4xf16> -> tensor<4x1x16xf16>
  return
}
