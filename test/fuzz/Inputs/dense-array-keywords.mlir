// permutation = not a list, in a comment
func.func @f(%a: tensor<2x3xf32>, %b: tensor<3x2xf32>, %c: tensor<3xf32>, %d: tensor<2x3xf32>) -> (tensor<3x2xf32>, tensor<2x3xf32>) {
  %t = linalg.transpose ins(%a : tensor<2x3xf32>) outs(%b : tensor<3x2xf32>) permutation = [1, 0]
  %u = linalg.broadcast ins(%c : tensor<3xf32>) outs(%d : tensor<2x3xf32>) dimensions = [ // a comment in the list
    0 ] {note = "dimensions = x"}
  return %t, %u : tensor<3x2xf32>, tensor<2x3xf32>
}
