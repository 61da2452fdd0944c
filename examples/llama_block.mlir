// One LLaMA-style decoder block (TinyLlama proportions scaled down): RMSNorm,
// grouped-query attention with rotary positions, SwiGLU MLP, residuals.
// hidden = 256, 8 query heads and 2 key/value heads of 32, MLP width 688.
//
//   llm-opt examples/llama_block.mlir --canonicalize

func.func @llama_block(%x: tensor<1x16x256xf32>, %pos: tensor<1x16xi64>) -> tensor<1x16x256xf32> {
  %attn_norm = llm.param "model.layers.0.input_layernorm.weight" : tensor<256xf32>
  %wq = llm.param "model.layers.0.self_attn.q_proj.weight" : tensor<256x256xf32>
  %wk = llm.param "model.layers.0.self_attn.k_proj.weight" : tensor<64x256xf32>
  %wv = llm.param "model.layers.0.self_attn.v_proj.weight" : tensor<64x256xf32>
  %wo = llm.param "model.layers.0.self_attn.o_proj.weight" : tensor<256x256xf32>
  %mlp_norm = llm.param "model.layers.0.post_attention_layernorm.weight" : tensor<256xf32>
  %wgate = llm.param "model.layers.0.mlp.gate_proj.weight" : tensor<688x256xf32>
  %wup = llm.param "model.layers.0.mlp.up_proj.weight" : tensor<688x256xf32>
  %wdown = llm.param "model.layers.0.mlp.down_proj.weight" : tensor<256x688xf32>

  // Self-attention.
  %h = llm.rms_norm %x, %attn_norm {epsilon = 1.0e-05} : tensor<1x16x256xf32>, tensor<256xf32>
  %q = llm.linear %h, %wq : tensor<1x16x256xf32>, tensor<256x256xf32> -> tensor<1x16x256xf32>
  %k = llm.linear %h, %wk : tensor<1x16x256xf32>, tensor<64x256xf32> -> tensor<1x16x64xf32>
  %v = llm.linear %h, %wv : tensor<1x16x256xf32>, tensor<64x256xf32> -> tensor<1x16x64xf32>
  %qr = llm.rope %q, %pos {num_heads = 8, theta = 10000.0, scaling = #llm.rope_scaling<kind = linear, factor = 1.0>} : tensor<1x16x256xf32>, tensor<1x16xi64>
  %kr = llm.rope %k, %pos {num_heads = 2, theta = 10000.0} : tensor<1x16x64xf32>, tensor<1x16xi64>
  %a = llm.attention %qr, %kr, %v {num_heads = 8, num_kv_heads = 2, mask = #llm.mask<sliding_window>, window = 4096}
      : tensor<1x16x256xf32>, tensor<1x16x64xf32>, tensor<1x16x64xf32> -> tensor<1x16x256xf32>
  %o = llm.linear %a, %wo : tensor<1x16x256xf32>, tensor<256x256xf32> -> tensor<1x16x256xf32>
  %r1 = arith.addf %x, %o : tensor<1x16x256xf32>

  // Gated MLP.
  %m = llm.rms_norm %r1, %mlp_norm {epsilon = 1.0e-05} : tensor<1x16x256xf32>, tensor<256xf32>
  %g = llm.linear %m, %wgate : tensor<1x16x256xf32>, tensor<688x256xf32> -> tensor<1x16x688xf32>
  %u = llm.linear %m, %wup : tensor<1x16x256xf32>, tensor<688x256xf32> -> tensor<1x16x688xf32>
  %act = llm.glu %g, %u {activation = #llm.activation<silu>} : tensor<1x16x688xf32>
  %d = llm.linear %act, %wdown : tensor<1x16x688xf32>, tensor<256x688xf32> -> tensor<1x16x256xf32>
  %r2 = arith.addf %r1, %d : tensor<1x16x256xf32>
  return %r2 : tensor<1x16x256xf32>
}
