func.func @moe_pipeline_dynamic(%logits: tensor<?x4xf16>, %x: tensor<?x32xf16>,
                                %w: tensor<4x16x32xf16>) -> tensor<?x16xf16> {
  %weights, %idx = llm.moe_route %logits {top_k = 2} : tensor<?x4xf16> -> tensor<?x2xf16>, tensor<?x2xi64>
  %p, %off, %src = llm.moe_permute %x, %idx {num_experts = 4}
      : tensor<?x32xf16>, tensor<?x2xi64> -> tensor<?x32xf16>, tensor<5xi64>, tensor<?xi64>
  %y = llm.grouped_matmul %p, %w, %off
      : tensor<?x32xf16>, tensor<4x16x32xf16>, tensor<5xi64> -> tensor<?x16xf16>
  %out = llm.moe_combine %y, %weights, %src
      : tensor<?x16xf16>, tensor<?x2xf16>, tensor<?xi64> -> tensor<?x16xf16>
  return %out : tensor<?x16xf16>
}
