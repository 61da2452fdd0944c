func.func @sample_canonical_greedy(%logits: tensor<2x32000xf32>) -> tensor<2xi64> {
  %0 = llm.sample %logits {temperature = 0.0} : tensor<2x32000xf32> -> tensor<2xi64>
  return %0 : tensor<2xi64>
}
