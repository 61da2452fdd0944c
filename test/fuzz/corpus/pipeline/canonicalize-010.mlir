func.func @sample_not_greedy(%logits: tensor<2x32000xf32>, %prev: tensor<2x16xi32>)
    -> (tensor<2xi64>, tensor<2xi64>, tensor<2xi64>, tensor<2xi64>) {
  %0 = llm.sample %logits {temperature = 0.7, top_k = 40, top_p = 0.9, seed = 42}
      : tensor<2x32000xf32> -> tensor<2xi64>
  %1 = llm.sample %logits {top_k = 2} : tensor<2x32000xf32> -> tensor<2xi64>
  %2 = llm.sample %logits prev(%prev : tensor<2x16xi32>) {min_p = 0.05, repetition_penalty = 1.1}
      : tensor<2x32000xf32> -> tensor<2xi64>
  %3 = llm.sample %logits : tensor<2x32000xf32> -> tensor<2xi64>
  return %0, %1, %2, %3 : tensor<2xi64>, tensor<2xi64>, tensor<2xi64>, tensor<2xi64>
}
