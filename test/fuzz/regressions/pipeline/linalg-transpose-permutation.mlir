// A malformed `permutation` of linalg.transpose crashes MLIR 22's parser
// (linalg::TransposeOp::parse adds the null attribute that a failed
// parseDenseI64ArrayAttr returns: NamedAttrList::set dereferences it).
// Stock `mlir-opt-22 linalg-transpose-permutation.mlir` crashes the same way;
// llm-opt and the harness refuse it before parsing (checkDenseArrayKeywords).
func.func @f(%a: tensor<2x3xf32>, %b: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %t = linalg.transpose ins(%a : tensor<2x3xf32>) outs(%b : tensor<3x2xf32>) permutation = [1, x]
  return %t : tensor<3x2xf32>
}
