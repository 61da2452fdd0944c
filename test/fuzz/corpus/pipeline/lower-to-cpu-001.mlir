func.func @scale(%x: tensor<2xf32>) -> tensor<2xf32> {
  %c = arith.constant dense<0.5> : tensor<2xf32>
  %d = arith.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %y = arith.mulf %x, %c : tensor<2xf32>
  %z = arith.addf %y, %d : tensor<2xf32>
  return %z : tensor<2xf32>
}
