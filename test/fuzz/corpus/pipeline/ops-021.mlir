func.func @attention_layout(%q: tensor<1x16x512xf32>, %k: tensor<1x16x128xf32>,
                            %d: tensor<?x?x256xbf16>) {
  %qh = llm.split_heads %q {num_heads = 8} : tensor<1x16x512xf32> -> tensor<1x8x16x64xf32>
  %kh = llm.split_heads %k {num_heads = 2} : tensor<1x16x128xf32> -> tensor<1x2x16x64xf32>
  %kr = llm.repeat_kv %kh {repeats = 4} : tensor<1x2x16x64xf32> -> tensor<1x8x16x64xf32>
  %s = llm.matmul %qh, %kr {transpose_rhs} : tensor<1x8x16x64xf32>, tensor<1x8x16x64xf32> -> tensor<1x8x16x16xf32>
  %p = llm.softmax %s {axis = 3} : tensor<1x8x16x16xf32>
  %o = llm.matmul %p, %kr : tensor<1x8x16x16xf32>, tensor<1x8x16x64xf32> -> tensor<1x8x16x64xf32>
  %m = llm.merge_heads %o : tensor<1x8x16x64xf32> -> tensor<1x16x512xf32>
  %dh = llm.split_heads %d {num_heads = 4} : tensor<?x?x256xbf16> -> tensor<?x4x?x64xbf16>
  %dr = llm.repeat_kv %dh {repeats = 1} : tensor<?x4x?x64xbf16> -> tensor<?x4x?x64xbf16>
  %dm = llm.merge_heads %dr : tensor<?x4x?x64xbf16> -> tensor<?x?x256xbf16>
  return
}
