func.func @moe(
    %x: tensor<1x8x64xf32>, %router: tensor<8x64xf32>, %gate: tensor<8x128x64xf32>,
    %up: tensor<8x128x64xf32>, %down: tensor<8x64x128xf32>,
    %xb: tensor<?x64xbf16>, %rb: tensor<4x64xbf16>, %gb: tensor<4x32x64xbf16>, %db: tensor<4x64x32xbf16>) {
  %0 = llm.moe %x, %router, %gate, %up, %down {top_k = 2, normalize}
      : tensor<1x8x64xf32>, tensor<8x64xf32>, tensor<8x128x64xf32>, tensor<8x128x64xf32>,
        tensor<8x64x128xf32>
  %1 = llm.moe %x, %router, %gate, %up, %down {top_k = 8, activation = #llm.activation<silu>}
      : tensor<1x8x64xf32>, tensor<8x64xf32>, tensor<8x128x64xf32>, tensor<8x128x64xf32>,
        tensor<8x64x128xf32>
  %2 = llm.moe %x, %router, %gate, %up, %down {top_k = 2, activation = #llm.activation<gelu>}
      : tensor<1x8x64xf32>, tensor<8x64xf32>, tensor<8x128x64xf32>, tensor<8x128x64xf32>,
        tensor<8x64x128xf32>
  %3 = llm.moe %x, %router, %gate, %up, %down {top_k = 2, normalize, activation = #llm.activation<gelu_tanh>}
      : tensor<1x8x64xf32>, tensor<8x64xf32>, tensor<8x128x64xf32>, tensor<8x128x64xf32>,
        tensor<8x64x128xf32>
  %4 = llm.moe %xb, %rb, %gb, %gb, %db {top_k = 1, activation = #llm.activation<relu>}
      : tensor<?x64xbf16>, tensor<4x64xbf16>, tensor<4x32x64xbf16>, tensor<4x32x64xbf16>,
        tensor<4x64x32xbf16>
  return
}
