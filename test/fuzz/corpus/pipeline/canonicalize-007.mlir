func.func @sample_temperature_0(%logits: tensor<2x32000xf16>) -> tensor<2xi64> {
  %0 = llm.sample %logits {temperature = 0.0, top_k = 40, top_p = 0.95, min_p = 0.1, seed = 7}
      : tensor<2x32000xf16> -> tensor<2xi64>
  return %0 : tensor<2xi64>
}
