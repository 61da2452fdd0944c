func.func @pick(%l: tensor<3x50xf32>, %prev: tensor<3x4xi32>) -> tensor<3xi64> {
  %n = llm.sample %l prev(%prev : tensor<3x4xi32>) {temperature = 0.8, top_k = 10, top_p = 0.9, repetition_penalty = 1.3, seed = 42}
      : tensor<3x50xf32> -> tensor<3xi64>
  return %n : tensor<3xi64>
}
