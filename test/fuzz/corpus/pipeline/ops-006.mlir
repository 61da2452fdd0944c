func.func @norms(%x: tensor<1x8x256xf32>, %g: tensor<256xf32>, %b: tensor<256xf32>,
                 %xb: tensor<2x64xbf16>, %gb: tensor<64xbf16>,
                 %xh: tensor<?x32xf16>, %gh: tensor<32xf16>) {
  %0 = llm.layer_norm %x, %g, %b {epsilon = 1.0e-05}
      : tensor<1x8x256xf32>, tensor<256xf32>, tensor<256xf32>
  %1 = llm.layer_norm %x, %g {epsilon = 1.0e-12} : tensor<1x8x256xf32>, tensor<256xf32>
  %2 = llm.layer_norm %xb, %gb : tensor<2x64xbf16>, tensor<64xbf16>
  %3 = llm.layer_norm %xh, %gh, %gh {epsilon = 0.0} : tensor<?x32xf16>, tensor<32xf16>, tensor<32xf16>
  %4 = llm.rms_norm %x, %g {epsilon = 1.0e-05} : tensor<1x8x256xf32>, tensor<256xf32>
  %5 = llm.rms_norm %xb, %gb {epsilon = 1.0e-06} : tensor<2x64xbf16>, tensor<64xbf16>
  %6 = llm.rms_norm %xb, %gb {weight_offset = 1.0} : tensor<2x64xbf16>, tensor<64xbf16>
  %7 = llm.rms_norm %xh, %gh {epsilon = 1.0e-05, weight_offset = 1.0} : tensor<?x32xf16>, tensor<32xf16>
  return
}
