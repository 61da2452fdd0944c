func.func @sample_top_k_1_default_temperature(%logits: tensor<1x128xbf16>) -> tensor<1xi32> {
  %0 = llm.sample %logits {top_k = 1} : tensor<1x128xbf16> -> tensor<1xi32>
  return %0 : tensor<1xi32>
}
