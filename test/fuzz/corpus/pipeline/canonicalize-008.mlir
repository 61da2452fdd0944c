func.func @sample_greedy_keeps_repetition_penalty(%logits: tensor<2x32000xf32>, %prev: tensor<2x?xi64>)
    -> (tensor<2xi64>, tensor<2xi64>) {
  %0 = llm.sample %logits prev(%prev : tensor<2x?xi64>)
          {temperature = 0.0, top_p = 0.5, seed = 3, repetition_penalty = 1.2}
      : tensor<2x32000xf32> -> tensor<2xi64>
  %1 = llm.sample %logits prev(%prev : tensor<2x?xi64>)
          {temperature = 0.8, top_k = 1, repetition_penalty = 1.3}
      : tensor<2x32000xf32> -> tensor<2xi64>
  return %0, %1 : tensor<2xi64>, tensor<2xi64>
}
