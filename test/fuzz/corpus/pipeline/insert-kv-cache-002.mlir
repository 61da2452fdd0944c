func.func @seq2seq(%enc_ids: tensor<2x5xi64>, %dec_ids: tensor<2x2xi64>) -> tensor<2x2x16xf32> {
  %emb = llm.param "shared" : tensor<32x16xf32>
  %w = llm.param "w" : tensor<16x16xf32>
  %e = llm.embedding %emb[%enc_ids] : tensor<32x16xf32>, tensor<2x5xi64> -> tensor<2x5x16xf32>
  %etab = llm.param "enc.bias" : tensor<8x2xf32>
  %ebias = llm.relative_position_bias %etab {bidirectional, max_distance = 16, num_buckets = 8} : tensor<8x2xf32> -> tensor<2x5x5xf32>
  %h = llm.attention %e, %e, %e bias(%ebias : tensor<2x5x5xf32>) {num_heads = 2, num_kv_heads = 2, scale = 1.0, mask = #llm.mask<bidirectional>}
      : tensor<2x5x16xf32>, tensor<2x5x16xf32>, tensor<2x5x16xf32> -> tensor<2x5x16xf32>
  %d = llm.embedding %emb[%dec_ids] : tensor<32x16xf32>, tensor<2x2xi64> -> tensor<2x2x16xf32>
  %dtab = llm.param "dec.bias" : tensor<8x2xf32>
  %dbias = llm.relative_position_bias %dtab {max_distance = 16, num_buckets = 8} : tensor<8x2xf32> -> tensor<2x2x2xf32>
  %sa = llm.attention %d, %d, %d bias(%dbias : tensor<2x2x2xf32>) {num_heads = 2, num_kv_heads = 2, scale = 1.0, mask = #llm.mask<causal>}
      : tensor<2x2x16xf32>, tensor<2x2x16xf32>, tensor<2x2x16xf32> -> tensor<2x2x16xf32>
  %q = llm.linear %sa, %w : tensor<2x2x16xf32>, tensor<16x16xf32> -> tensor<2x2x16xf32>
  %k = llm.linear %h, %w : tensor<2x5x16xf32>, tensor<16x16xf32> -> tensor<2x5x16xf32>
  %v = llm.linear %h, %w : tensor<2x5x16xf32>, tensor<16x16xf32> -> tensor<2x5x16xf32>
  %ca = llm.attention %q, %k, %v {num_heads = 2, num_kv_heads = 2, scale = 1.0, mask = #llm.mask<bidirectional>}
      : tensor<2x2x16xf32>, tensor<2x5x16xf32>, tensor<2x5x16xf32> -> tensor<2x2x16xf32>
  return %ca : tensor<2x2x16xf32>
}
