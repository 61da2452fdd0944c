func.func @softmax(%s: tensor<1x8x16x16xf32>, %l: tensor<?xbf16>) {
  %0 = llm.softmax %s {axis = 3} : tensor<1x8x16x16xf32>
  %1 = llm.softmax %s {axis = 0 : i64} : tensor<1x8x16x16xf32>
  %2 = llm.softmax %l {axis = 0} : tensor<?xbf16>
  return
}
