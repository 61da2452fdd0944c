func.func @block(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %norm = llm.param "norm" : tensor<8xf32>
  %w = llm.param "w1" : tensor<8x8xbf16>
  %h = llm.rms_norm %x, %norm : tensor<2x8xf32>, tensor<8xf32>
  %p = llm.linear %h, %w : tensor<2x8xf32>, tensor<8x8xbf16> -> tensor<2x8xf32>
  %q = llm.linear %h, %w : tensor<2x8xf32>, tensor<8x8xbf16> -> tensor<2x8xf32>
  %r = arith.addf %p, %q : tensor<2x8xf32>
  return %r : tensor<2x8xf32>
}
