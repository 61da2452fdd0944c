// A malformed `dimensions` of linalg.broadcast crashes MLIR 22's parser the
// same way (linalg::BroadcastOp::parse); llm-opt and the harness refuse it
// before parsing (checkDenseArrayKeywords).
func.func @f(%a: tensor<3xf32>, %b: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %t = linalg.broadcast ins(%a : tensor<3xf32>) outs(%b : tensor<2x3xf32>) dimensions = [x]
  return %t : tensor<2x3xf32>
}
