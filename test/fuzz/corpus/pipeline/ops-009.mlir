func.func @rope(%q: tensor<1x8x512xf32>, %p: tensor<1x8xi64>,
                %k: tensor<2x4x128xbf16>, %p32: tensor<2x4xi32>,
                %h: tensor<?x?x96xf16>, %pd: tensor<?x?xi64>) {
  %0 = llm.rope %q, %p {num_heads = 8} : tensor<1x8x512xf32>, tensor<1x8xi64>
  %1 = llm.rope %q, %p {num_heads = 8, theta = 500000.0, pairing = #llm.pairing<gptj>, rotary_dim = 32}
      : tensor<1x8x512xf32>, tensor<1x8xi64>
  %2 = llm.rope %k, %p32 {num_heads = 2, theta = 10000.0, pairing = #llm.pairing<neox>}
      : tensor<2x4x128xbf16>, tensor<2x4xi32>
  %3 = llm.rope %h, %pd {num_heads = 3, pairing = #llm.pairing<gptj>, rotary_dim = 2}
      : tensor<?x?x96xf16>, tensor<?x?xi64>
  %4 = llm.rope %q, %p {num_heads = 8, scaling = #llm.rope_scaling<kind = none>}
      : tensor<1x8x512xf32>, tensor<1x8xi64>
  %5 = llm.rope %q, %p {num_heads = 8, scaling = #llm.rope_scaling<kind = linear, factor = 1.0>}
      : tensor<1x8x512xf32>, tensor<1x8xi64>
  %6 = llm.rope %q, %p {num_heads = 8, scaling = #llm.rope_scaling<kind = linear, factor = 2.0>}
      : tensor<1x8x512xf32>, tensor<1x8xi64>
  %7 = llm.rope %q, %p {num_heads = 8, scaling = #llm.rope_scaling<kind = linear, factor = 0.5>}
      : tensor<1x8x512xf32>, tensor<1x8xi64>
  %8 = llm.rope %q, %p {num_heads = 8,
                        scaling = #llm.rope_scaling<kind = dynamic, factor = 4.0, original_max_position = 2048>}
      : tensor<1x8x512xf32>, tensor<1x8xi64>
  %9 = llm.rope %q, %p {num_heads = 8,
                        scaling = #llm.rope_scaling<kind = yarn, factor = 4.0, original_max_position = 32768,
                                                    beta_fast = 32.0, beta_slow = 1.0, attention_factor = 1.25>}
      : tensor<1x8x512xf32>, tensor<1x8xi64>
  %10 = llm.rope %q, %p {num_heads = 8,
                         scaling = #llm.rope_scaling<kind = yarn, factor = 2.5, original_max_position = 4096,
                                                     beta_fast = 16.0, beta_slow = 2.0>}
      : tensor<1x8x512xf32>, tensor<1x8xi64>
  %11 = llm.rope %q, %p {num_heads = 8,
                         scaling = #llm.rope_scaling<kind = llama3, factor = 8.0, original_max_position = 8192,
                                                     low_freq_factor = 1.0, high_freq_factor = 4.0>}
      : tensor<1x8x512xf32>, tensor<1x8xi64>
  %12 = llm.rope %q, %p {num_heads = 8,
                         scaling = #llm.rope_scaling<kind = llama3, factor = 32.0, original_max_position = 8192,
                                                     low_freq_factor = 2.0, high_freq_factor = 8.0>}
      : tensor<1x8x512xf32>, tensor<1x8xi64>
  %13 = llm.rope %k, %p32 {num_heads = 2, theta = 1.0e6, pairing = #llm.pairing<gptj>,
                           scaling = #llm.rope_scaling<kind = yarn, factor = 1.0e20, original_max_position = 1,
                                                       beta_fast = 0.1, beta_slow = 1.0e-300>}
      : tensor<2x4x128xbf16>, tensor<2x4xi32>
  return
}
