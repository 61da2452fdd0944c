func.func @sample_top_k_1(%logits: tensor<2x32000xf32>) -> tensor<2xi64> {
  %0 = llm.sample %logits {temperature = 0.7, top_k = 1, top_p = 0.9, min_p = 0.05, seed = 42}
      : tensor<2x32000xf32> -> tensor<2xi64>
  return %0 : tensor<2xi64>
}
