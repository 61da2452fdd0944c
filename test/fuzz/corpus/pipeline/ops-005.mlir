func.func @matmul(%q: tensor<1x8x16x64xf32>, %k: tensor<1x8x16x64xf32>,
                  %a: tensor<32x64xf16>, %b: tensor<64x16xf16>,
                  %c: tensor<?x4x?xbf16>, %d: tensor<?x?x8xbf16>) {
  %0 = llm.matmul %q, %k {transpose_rhs}
      : tensor<1x8x16x64xf32>, tensor<1x8x16x64xf32> -> tensor<1x8x16x16xf32>
  %1 = llm.matmul %a, %b : tensor<32x64xf16>, tensor<64x16xf16> -> tensor<32x16xf16>
  %2 = llm.matmul %c, %d : tensor<?x4x?xbf16>, tensor<?x?x8xbf16> -> tensor<?x4x8xbf16>
  return
}
