func.func @activations(%x: tensor<1x8x1024xf32>, %g: tensor<1x8x688xf16>, %u: tensor<1x8x688xf16>,
                       %xb: tensor<?x?xbf16>) {
  %0 = llm.gelu %x : tensor<1x8x1024xf32>
  %1 = llm.gelu %x {approximate = #llm.gelu_approximation<none>} : tensor<1x8x1024xf32>
  %2 = llm.gelu %x {approximate = #llm.gelu_approximation<tanh>} : tensor<1x8x1024xf32>
  %3 = llm.gelu %xb {approximate = #llm.gelu_approximation<tanh>} : tensor<?x?xbf16>
  %4 = llm.silu %g : tensor<1x8x688xf16>
  %5 = llm.silu %xb : tensor<?x?xbf16>
  %6 = llm.glu %g, %u : tensor<1x8x688xf16>
  %7 = llm.glu %g, %u {activation = #llm.activation<silu>} : tensor<1x8x688xf16>
  %8 = llm.glu %g, %u {activation = #llm.activation<gelu>} : tensor<1x8x688xf16>
  %9 = llm.glu %g, %u {activation = #llm.activation<gelu_tanh>} : tensor<1x8x688xf16>
  %10 = llm.glu %xb, %xb {activation = #llm.activation<relu>} : tensor<?x?xbf16>
  return
}
