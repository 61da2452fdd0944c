func.func @moe_pipeline(%logits: tensor<8x8xf32>, %x: tensor<8x64xf32>,
                        %w: tensor<8x128x64xf32>) -> tensor<8x128xf32> {
  %weights, %idx = llm.moe_route %logits {top_k = 2, normalize}
      : tensor<8x8xf32> -> tensor<8x2xf32>, tensor<8x2xi32>
  %w1, %i1 = llm.moe_route %logits {top_k = 1} : tensor<8x8xf32> -> tensor<8x1xf32>, tensor<8x1xi64>
  %p, %off, %src = llm.moe_permute %x, %idx {num_experts = 8}
      : tensor<8x64xf32>, tensor<8x2xi32> -> tensor<16x64xf32>, tensor<9xi32>, tensor<16xi32>
  %y = llm.grouped_matmul %p, %w, %off
      : tensor<16x64xf32>, tensor<8x128x64xf32>, tensor<9xi32> -> tensor<16x128xf32>
  %out = llm.moe_combine %y, %weights, %src
      : tensor<16x128xf32>, tensor<8x2xf32>, tensor<16xi32> -> tensor<8x128xf32>
  return %out : tensor<8x128xf32>
}
