// A malformed `dimensions` of linalg.reduce crashes MLIR 22's parser as
// linalg.transpose does (linalg-transpose-permutation.mlir).
func.func @f(%a: tensor<2x3xf32>, %b: tensor<2xf32>) -> tensor<2xf32> {
  %r = linalg.reduce ins(%a : tensor<2x3xf32>) outs(%b : tensor<2xf32>) dimensions = [x]
  (%in: f32, %init: f32) {
    %s = arith.addf %in, %init : f32
    linalg.yield %s : f32
  }
  return %r : tensor<2xf32>
}
