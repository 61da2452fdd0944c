// RUN: llm-opt %s --llm-quantize --split-input-file | FileCheck %s
// RUN: llm-opt %s --llm-quantize="bits=4 group-size=64" --split-input-file | FileCheck %s --check-prefix=INT4
// RUN: llm-opt %s --llm-quantize="group-size=0 symmetric=false" --split-input-file | FileCheck %s --check-prefix=ASYM
// RUN: llm-opt %s --llm-quantize="skip=" --split-input-file | FileCheck %s --check-prefix=ALL
// RUN: llm-opt %s --llm-quantize="skip=wk,wv" --split-input-file | FileCheck %s --check-prefix=SKIP
// RUN: llm-opt %s --llm-quantize="activations=int8" --split-input-file | FileCheck %s --check-prefix=W8A8
// RUN: not llm-opt %s --llm-quantize="activations=int4" --split-input-file 2>&1 | FileCheck %s --check-prefix=ACT
// RUN: not llm-opt %s --llm-quantize="bits=3" --split-input-file 2>&1 | FileCheck %s --check-prefix=BITS
// RUN: not llm-opt %s --llm-quantize="group-size=48" --split-input-file 2>&1 | FileCheck %s --check-prefix=GROUP
// RUN: llm-opt %s --llm-quantize="bits=4 method=gptq" --split-input-file | FileCheck %s --check-prefix=GPTQ
// RUN: llm-opt %s --llm-quantize="bits=4 method=awq symmetric=false" --split-input-file | FileCheck %s --check-prefix=AWQ
// RUN: not llm-opt %s --llm-quantize="method=hqq" --split-input-file 2>&1 | FileCheck %s --check-prefix=METHOD
// RUN: not llm-opt %s --llm-quantize="group-size=128" --split-input-file 2>&1 | FileCheck %s --check-prefix=DIVIDE

// The weights that only projections read (llm.linear in f32, bf16 and f16,
// llm.linear_rope) become !llm.qweight; a bias, a norm weight and the LM
// head (by default) stay in float.
// CHECK-LABEL: func.func @projections
// CHECK: llm.param "wq" : !llm.qweight<64x64, bits = 8, group = 32, scale = f32, symmetric, packing = byte>
// CHECK: llm.param "wk" : !llm.qweight<64x64, bits = 8, group = 32, scale = f32, symmetric, packing = byte>
// CHECK: llm.param "wv" : !llm.qweight<64x64, bits = 8, group = 32, scale = f32, symmetric, packing = byte>
// CHECK: llm.param "wr" : !llm.qweight<64x64, bits = 8, group = 32, scale = f32, symmetric, packing = byte>
// CHECK: llm.param "bias" : tensor<64xf32>
// CHECK: llm.param "norm" : tensor<64xf32>
// CHECK: llm.param "lm_head.weight" : tensor<100x64xf32>
// CHECK: llm.linear %{{.*}}, %{{.*}}, %{{.*}} : tensor<1x3x64xf32>, !llm.qweight<64x64, bits = 8, group = 32, scale = f32, symmetric, packing = byte>, tensor<64xf32> -> tensor<1x3x64xf32>
// INT4-LABEL: func.func @projections
// INT4: llm.param "wq" : !llm.qweight<64x64, bits = 4, group = 64, scale = f32, symmetric, packing = nibble>
// INT4: llm.param "lm_head.weight" : tensor<100x64xf32>
// ASYM-LABEL: func.func @projections
// ASYM: llm.param "wq" : !llm.qweight<64x64, bits = 8, group = per_channel, scale = f32, asymmetric, packing = byte>
// ALL-LABEL: func.func @projections
// ALL: llm.param "lm_head.weight" : !llm.qweight<100x64, bits = 8, group = 32, scale = f32, symmetric, packing = byte>
// SKIP-LABEL: func.func @projections
// SKIP: llm.param "wq" : !llm.qweight<64x64
// SKIP: llm.param "wk" : tensor<64x64xbf16>
// SKIP: llm.param "wv" : tensor<64x64xf16>
// SKIP: llm.param "lm_head.weight" : !llm.qweight<100x64
// W8A8-LABEL: func.func @projections
// W8A8: llm.param "wq" {int8_activations} : !llm.qweight<64x64, bits = 8, group = 32, scale = f32, symmetric, packing = byte>
// W8A8: llm.param "lm_head.weight" : tensor<100x64xf32>
// GPTQ and AWQ mark the weights whose values calibration chooses; the
// others (the LM head) keep their float type and no mark.
// GPTQ-LABEL: func.func @projections
// GPTQ: llm.param "wq" {quant_method = "gptq"} : !llm.qweight<64x64, bits = 4, group = 32, scale = f32, symmetric, packing = nibble>
// GPTQ: llm.param "wr" {quant_method = "gptq"} : !llm.qweight<64x64, bits = 4
// GPTQ: llm.param "bias" : tensor<64xf32>
// GPTQ: llm.param "lm_head.weight" : tensor<100x64xf32>
// AWQ-LABEL: func.func @projections
// AWQ: llm.param "wq" {quant_method = "awq"} : !llm.qweight<64x64, bits = 4, group = 32, scale = f32, asymmetric, packing = nibble>
// AWQ: llm.param "norm" : tensor<64xf32>
// ACT: error: llm-quantize: expected activations=none or activations=int8, found 'int4'
// BITS: error: llm-quantize: expected bits=8 or bits=4, found 3
// GROUP: error: llm-quantize: expected group-size=0 (per output channel) or a multiple of 32, found 48
// METHOD: error: llm-quantize: expected method=rtn, method=gptq or method=awq, found 'hqq'
// DIVIDE: error: llm-quantize: parameter 'wq' has 64 input features, which group-size=128 does not divide
func.func @projections(%x: tensor<1x3x64xf32>, %pos: tensor<1x3xi64>, %t: tensor<2xf32>) -> (tensor<1x3x64xf32>, tensor<1x3x64xf32>, tensor<1x3x64xf32>, tensor<1x3x64xf32>, tensor<1x3x100xf32>) {
  %wq = llm.param "wq" : tensor<64x64xf32>
  %wk = llm.param "wk" : tensor<64x64xbf16>
  %wv = llm.param "wv" : tensor<64x64xf16>
  %wr = llm.param "wr" : tensor<64x64xf32>
  %b = llm.param "bias" : tensor<64xf32>
  %n = llm.param "norm" : tensor<64xf32>
  %wh = llm.param "lm_head.weight" : tensor<100x64xf32>
  %h = llm.rms_norm %x, %n : tensor<1x3x64xf32>, tensor<64xf32>
  %q = llm.linear %h, %wq, %b : tensor<1x3x64xf32>, tensor<64x64xf32>, tensor<64xf32> -> tensor<1x3x64xf32>
  %k = llm.linear %h, %wk : tensor<1x3x64xf32>, tensor<64x64xbf16> -> tensor<1x3x64xf32>
  %v = llm.linear %h, %wv : tensor<1x3x64xf32>, tensor<64x64xf16> -> tensor<1x3x64xf32>
  %r = llm.linear_rope %h, %wr bias(%b : tensor<64xf32>), %pos, %t {num_heads = 16, rotary_dim = 4}
      : tensor<1x3x64xf32>, tensor<64x64xf32>, tensor<1x3xi64>, tensor<2xf32> -> tensor<1x3x64xf32>
  %logits = llm.linear %h, %wh : tensor<1x3x64xf32>, tensor<100x64xf32> -> tensor<1x3x100xf32>
  return %q, %k, %v, %r, %logits : tensor<1x3x64xf32>, tensor<1x3x64xf32>, tensor<1x3x64xf32>, tensor<1x3x64xf32>, tensor<1x3x100xf32>
}

// -----

// A tied table stays in float: its embedding lookup reads floats. So does a
// weight that a projection and another op both read, and one of the same
// name elsewhere in the module that is read otherwise.
// CHECK-LABEL: func.func @tied
// CHECK: llm.param "embed" : tensor<100x64xf32>
// CHECK: llm.param "shared" : tensor<64x64xf32>
// CHECK-LABEL: func.func @other
// CHECK: llm.param "shared" : tensor<64x64xf32>
func.func @tied(%ids: tensor<1x3xi64>) -> (tensor<1x3x100xf32>, tensor<1x3x64xf32>) {
  %table = llm.param "embed" : tensor<100x64xf32>
  %w = llm.param "shared" : tensor<64x64xf32>
  %h = llm.embedding %table[%ids] : tensor<100x64xf32>, tensor<1x3xi64> -> tensor<1x3x64xf32>
  %logits = llm.linear %h, %table : tensor<1x3x64xf32>, tensor<100x64xf32> -> tensor<1x3x100xf32>
  %y = llm.linear %h, %w : tensor<1x3x64xf32>, tensor<64x64xf32> -> tensor<1x3x64xf32>
  return %logits, %y : tensor<1x3x100xf32>, tensor<1x3x64xf32>
}
func.func @other(%a: tensor<64x64xf32>) -> tensor<64x64xf32> {
  %w = llm.param "shared" : tensor<64x64xf32>
  %y = llm.matmul %a, %w : tensor<64x64xf32>, tensor<64x64xf32> -> tensor<64x64xf32>
  return %y : tensor<64x64xf32>
}

// -----

// Mixtral's experts: the stacked weights that only llm.moe's gate, up and
// down read become rank-3 qweights; the router (an llm.moe operand of its
// own) stays in float. They always round to nearest: no quant_method.
// CHECK-LABEL: func.func @experts
// CHECK: llm.param "router" : tensor<4x64xf32>
// CHECK: llm.param "gate" {stacked = ["g0", "g1", "g2", "g3"]} : !llm.qweight<4x128x64, bits = 8, group = 32, scale = f32, symmetric, packing = byte>
// CHECK: llm.param "down" {stacked = ["d0", "d1", "d2", "d3"]} : !llm.qweight<4x64x128, bits = 8, group = 32, scale = f32, symmetric, packing = byte>
// CHECK: llm.moe %{{.*}} : tensor<1x3x64xf32>, tensor<4x64xf32>, !llm.qweight<4x128x64
// GPTQ-LABEL: func.func @experts
// GPTQ: llm.param "gate" {stacked = ["g0", "g1", "g2", "g3"]} : !llm.qweight<4x128x64, bits = 4
func.func @experts(%x: tensor<1x3x64xf32>) -> tensor<1x3x64xf32> {
  %r = llm.param "router" : tensor<4x64xf32>
  %g = llm.param "gate" {stacked = ["g0", "g1", "g2", "g3"]} : tensor<4x128x64xf32>
  %u = llm.param "up" {stacked = ["u0", "u1", "u2", "u3"]} : tensor<4x128x64xf32>
  %d = llm.param "down" {stacked = ["d0", "d1", "d2", "d3"]} : tensor<4x64x128xf32>
  %y = llm.moe %x, %r, %g, %u, %d {top_k = 2}
      : tensor<1x3x64xf32>, tensor<4x64xf32>, tensor<4x128x64xf32>, tensor<4x128x64xf32>, tensor<4x64x128xf32>
  return %y : tensor<1x3x64xf32>
}
