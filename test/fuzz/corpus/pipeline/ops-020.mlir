func.func @sample(%logits: tensor<2x32000xf32>, %prev: tensor<2x?xi64>,
                  %lh: tensor<1x128xf16>, %prev32: tensor<1x16xi32>) {
  %0 = llm.sample %logits : tensor<2x32000xf32> -> tensor<2xi64>
  %1 = llm.sample %logits {temperature = 1.0, top_k = 0, top_p = 1.0, min_p = 0.0,
                           repetition_penalty = 1.0, seed = 0}
      : tensor<2x32000xf32> -> tensor<2xi64>
  %2 = llm.sample %logits {temperature = 0.7, top_k = 40, top_p = 0.9, seed = 42}
      : tensor<2x32000xf32> -> tensor<2xi64>
  %3 = llm.sample %logits prev(%prev : tensor<2x?xi64>)
          {temperature = 0.8, min_p = 0.05, repetition_penalty = 1.1}
      : tensor<2x32000xf32> -> tensor<2xi64>
  %4 = llm.sample %logits prev(%prev : tensor<2x?xi64>) : tensor<2x32000xf32> -> tensor<2xi64>
  %5 = llm.sample %lh prev(%prev32 : tensor<1x16xi32>) {temperature = 0.0, repetition_penalty = 1.3}
      : tensor<1x128xf16> -> tensor<1xi32>
  %6 = llm.sample %lh {temperature = 2.0, top_p = 0.1, min_p = 1.0} : tensor<1x128xf16> -> tensor<1xi32>
  return
}
