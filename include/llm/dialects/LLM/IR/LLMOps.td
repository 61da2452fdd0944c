//===- LLMOps.td - Operations of the llm dialect ------------*- tablegen -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_DIALECTS_LLM_IR_LLMOPS_TD
#define LLM_DIALECTS_LLM_IR_LLMOPS_TD

include "llm/dialects/LLM/IR/LLMBase.td"
include "llm/dialects/LLM/IR/LLMAttrs.td"
include "llm/dialects/LLM/IR/LLMTypes.td"
include "llm/dialects/LLM/IR/LLMInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/OpBase.td"

class LLM_Op<string mnemonic, list<Trait> traits = []>
    : Op<LLM_Dialect, mnemonic, traits> {
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Structure
//===----------------------------------------------------------------------===//

def LLM_ParamOp : LLM_Op<"param", [Pure]> {
  let summary = "A named weight in the parameter archive";
  let description = [{
    Refers to the tensor `name` of the model's parameter archive (for an
    imported Hugging Face model, the safetensors tensor of that name). The
    values are never inlined into the IR; the runtime maps them from the
    archive. The result is a statically shaped tensor, or a `!llm.qweight`
    for a quantized weight. Its element type is the type kernels read: the
    runtime converts the archive's dtype when they differ.

    Three optional attributes describe how checkpoints lay weights out
    differently from `[out, in]`; the runtime packs such weights once at load
    time:

    - `transpose`: the archive holds the `[in, out]` transpose of the 2-D
      result (GPT-2's `Conv1D`).
    - `row_blocks = array<i64: start, size, stride, count>`: the result is
      `count` blocks of `size` rows (of the possibly transposed tensor), the
      first at row `start`, one every `stride` rows: the query, key or value
      part of a fused QKV projection (BLOOM interleaves them per head).
    - `stacked = [names]`: the result stacks the archive tensors `names`
      along a new leading dimension (per-expert weights of Mixtral); `name`
      is then only descriptive.

    One more describes the layout the kernels read, which
    `llm-pack-weights` chooses:

    - `panels = N`: the runtime stores the 2-D result `[out, in]` in panels
      of `N` rows, each `[in, N]` (the rows transposed, the last panel padded
      with zero rows), the layout of the CPU GEMM's microkernel. The value
      seen by the IR is unchanged; only the projection and embedding kernels
      that read the weight in place know the layout.

    One more, on a `!llm.qweight` result, says how the projections that
    read it treat their activations, which `llm-quantize` chooses:

    - `int8_activations` (W8A8): from 4 rows (prefill), each row of the
      activations is quantized to int8 with one scale and the product runs
      on integer dot products; without it, prefill dequantizes the weight
      into the fp32 GEMM. Decode quantizes per block of 32 either way.
    - `quant_method = "gptq" | "awq"`: the quantized values are chosen from
      calibration data (GPTQ's error-compensating rounding, or AWQ's
      activation-aware scales) rather than rounded to nearest, which is the
      default. The runtime then refuses to bind the weight unless the
      compiler supplies the calibrated values (`llm-run --calib`).
    - `checkpoint_format = "gptq" | "gptq_v2" | "awq"`: the checkpoint holds
      the weight already quantized, in that library's packing, as the
      tensors `name.qweight`, `name.qzeros`, `name.scales` (and GPTQ's
      `name.g_idx`); the runtime repacks the integers for the kernels
      without dequantizing them (docs/Quantization.md).
      `"ggml_q8_0" | "ggml_q4_0" | "ggml_q4_1" | "ggml_q5_0" | "ggml_q5_1" |
      "ggml_q4_k" | "ggml_q5_k" | "ggml_q6_k"`: the tensor `name` of a GGUF
      file holds it in that ggml block format (32 or, for the K-quants, 256
      values per block), which the runtime repacks likewise (5- and 6-bit
      codes in the `nibble_plane` layout; Q6_K in groups of 16). Such a
      weight multiplies its activations as llama.cpp does: quantized per
      block of 32 to int8, in decode and, where the host has AVX-512 VNNI,
      in prefill.
    - `act_order` (with a GPTQ `checkpoint_format`): the checkpoint's groups
      are not consecutive input features (GPTQ's act-order, `g_idx`); the
      runtime stores the features grouped and the projection reads its
      input in that order.

    Example:

    ```mlir
    %wq = llm.param "model.layers.0.self_attn.q_proj.weight" : tensor<256x256xf16>
    %wk = llm.param "h.0.attn.c_attn.weight" {transpose, row_blocks = array<i64: 768, 768, 768, 1>}
        : tensor<768x768xf32>
    %wo = llm.param "model.layers.0.mlp.down_proj.weight" {panels = 48 : i64} : tensor<576x1536xbf16>
    ```
  }];
  let arguments = (ins StrAttr:$name, UnitAttr:$transpose,
                       OptionalAttr<DenseI64ArrayAttr>:$row_blocks,
                       OptionalAttr<StrArrayAttr>:$stacked,
                       OptionalAttr<I64Attr>:$panels,
                       UnitAttr:$int8_activations,
                       OptionalAttr<StrAttr>:$quant_method,
                       OptionalAttr<StrAttr>:$checkpoint_format,
                       UnitAttr:$act_order);
  let results = (outs AnyTypeOf<[AnyRankedTensor, LLM_QuantizedType]>:$result);
  let assemblyFormat = "$name attr-dict `:` type($result)";
  let builders = [
    OpBuilder<(ins "::mlir::Type":$resultType, "::llvm::StringRef":$paramName), [{
      build($_builder, $_state, resultType, $_builder.getStringAttr(paramName),
            ::mlir::UnitAttr(), ::mlir::DenseI64ArrayAttr(), ::mlir::ArrayAttr(),
            ::mlir::IntegerAttr(), ::mlir::UnitAttr(), ::mlir::StringAttr(),
            ::mlir::StringAttr(), ::mlir::UnitAttr());
    }]>
  ];
}

def LLM_EmbeddingOp : LLM_Op<"embedding", [Pure]> {
  let summary = "Gathers rows of an embedding table";
  let description = [{
    `result[i..., :] = table[ids[i...], :]`. The table is `[vocab, dim]`;
    the result has the shape of `ids` followed by `dim`. Learned position
    embeddings (GPT-2, BERT) use the same op with position ids.

    Example:

    ```mlir
    %h = llm.embedding %table[%ids] : tensor<32000x256xf32>, tensor<1x8xi64> -> tensor<1x8x256xf32>
    ```
  }];
  let arguments = (ins LLM_Weight:$table, LLM_IndexTensor:$ids);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat = [{
    $table `[` $ids `]` attr-dict `:` type($table) `,` type($ids) `->` type($result)
  }];
}

def LLM_LinearOp : LLM_Op<"linear", [Pure]> {
  let summary = "Fully connected layer: input · weightᵀ + bias";
  let description = [{
    `result[..., n] = sum_k input[..., k] * weight[n, k] + bias[n]`, with the
    weight in PyTorch's `[out, in]` layout. The weight may be a
    `!llm.qweight`, so quantizing a model changes only types.

    Example:

    ```mlir
    %q = llm.linear %x, %wq, %bq : tensor<1x8x256xf32>, tensor<512x256xf32>, tensor<512xf32> -> tensor<1x8x512xf32>
    ```
  }];
  let arguments = (ins LLM_Tensor:$input, LLM_Weight:$weight,
                       Optional<LLM_Tensor>:$bias);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:` type($input) `,` type($weight)
    (`,` type($bias)^)? `->` type($result)
  }];
}

def LLM_MatmulOp : LLM_Op<"matmul", [Pure]> {
  let summary = "Batched matrix product";
  let description = [{
    `result[b..., m, n] = sum_k lhs[b..., m, k] * rhs[b..., k, n]`. With
    `transpose_rhs`, `rhs` is `[b..., n, k]` (the `Q·Kᵀ` of attention). Both
    operands have the same rank and the same batch dimensions.

    Example:

    ```mlir
    %s = llm.matmul %q, %k {transpose_rhs} : tensor<1x8x16x64xf32>, tensor<1x8x16x64xf32> -> tensor<1x8x16x16xf32>
    ```
  }];
  let arguments = (ins LLM_Tensor:$lhs, LLM_Tensor:$rhs, UnitAttr:$transpose_rhs);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($result)
  }];
}

//===----------------------------------------------------------------------===//
// Norms and activations
//===----------------------------------------------------------------------===//

def LLM_LayerNormOp : LLM_Op<"layer_norm", [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "Layer normalization over the last dimension";
  let description = [{
    `(x - mean) / sqrt(var + epsilon) * weight + bias` over the last
    dimension, as in GPT-2, BLOOM and BERT. `weight` and `bias` are
    `[dim]`; `bias` is optional.

    Example:

    ```mlir
    %y = llm.layer_norm %x, %g, %b {epsilon = 1.0e-05} : tensor<1x8x256xf32>, tensor<256xf32>, tensor<256xf32>
    ```
  }];
  let arguments = (ins LLM_Tensor:$input, LLM_Tensor:$weight,
                       Optional<LLM_Tensor>:$bias,
                       DefaultValuedAttr<F64Attr, "1.0e-5">:$epsilon);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:` type($input) `,` type($weight)
    (`,` type($bias)^)?
  }];
}

def LLM_RMSNormOp : LLM_Op<"rms_norm", [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "Root-mean-square normalization over the last dimension";
  let description = [{
    `x / sqrt(mean(x²) + epsilon) * (weight + weight_offset)` over the last
    dimension, as in LLaMA and T5. `weight_offset = 1.0` gives the
    `(1 + w)` form some checkpoints store.

    A weight smaller than the last dimension, dividing it, normalizes each
    group of that many consecutive values on its own with the same weight:
    per-head norms, as Qwen3's query and key norms over `heads x head_dim`
    features with a `head_dim` weight.

    Example:

    ```mlir
    %y = llm.rms_norm %x, %g {epsilon = 1.0e-06} : tensor<1x8x256xf32>, tensor<256xf32>
    // 4 heads of 64, each normalized with the same 64 weights.
    %q = llm.rms_norm %x, %h : tensor<1x8x256xf32>, tensor<64xf32>
    ```
  }];
  let arguments = (ins LLM_Tensor:$input, LLM_Tensor:$weight,
                       DefaultValuedAttr<F64Attr, "1.0e-6">:$epsilon,
                       DefaultValuedAttr<F64Attr, "0.0">:$weight_offset);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat = [{
    $input `,` $weight attr-dict `:` type($input) `,` type($weight)
  }];
}

def LLM_GeluOp : LLM_Op<"gelu", [Pure, Elementwise, SameOperandsAndResultType]> {
  let summary = "Gaussian error linear unit";
  let description = [{
    `x * Φ(x)`, exactly with `erf` (BERT, GPT-J) or with the tanh
    approximation of GPT-2 (`approximate = tanh`).

    Example:

    ```mlir
    %y = llm.gelu %x {approximate = #llm.gelu_approximation<tanh>} : tensor<1x8x1024xf32>
    ```
  }];
  let arguments = (ins LLM_Tensor:$input,
                       DefaultValuedAttr<LLM_GeluApproximationAttr,
                                         "GeluApproximation::None">:$approximate);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 0;
}

def LLM_SiluOp : LLM_Op<"silu", [Pure, Elementwise, SameOperandsAndResultType]> {
  let summary = "Sigmoid linear unit: x * sigmoid(x)";
  let description = [{
    Example:

    ```mlir
    %y = llm.silu %x : tensor<1x8x1024xf32>
    ```
  }];
  let arguments = (ins LLM_Tensor:$input);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 0;
}

def LLM_GluOp : LLM_Op<"glu", [Pure, Elementwise, SameOperandsAndResultType]> {
  let summary = "Gated linear unit: activation(gate) * up";
  let description = [{
    The gate of a gated MLP: SwiGLU (`silu`, LLaMA, Mistral, Qwen2,
    Mixtral experts), GeGLU (`gelu`/`gelu_tanh`, T5 v1.1) or ReGLU
    (`relu`). Keeping it one op lets fusion see the whole gate.

    Example:

    ```mlir
    %h = llm.glu %gate, %up {activation = #llm.activation<silu>} : tensor<1x8x688xf32>
    ```
  }];
  let arguments = (ins LLM_Tensor:$gate, LLM_Tensor:$up,
                       DefaultValuedAttr<LLM_ActivationAttr,
                                         "Activation::SiLU">:$activation);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat = "$gate `,` $up attr-dict `:` type($gate)";
  let hasVerifier = 0;
}

def LLM_SigmoidGateOp : LLM_Op<"sigmoid_gate", [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "Scales each row by the sigmoid of its gate: sigmoid(gate) * input";
  let description = [{
    `sigmoid(gate) * input`, with `gate` of the input's shape or of its shape
    with a last dimension of 1 (one gate per row, broadcast over the row):
    Qwen2-MoE's shared expert, whose output a `[hidden] -> 1` projection
    gates per token.

    Example:

    ```mlir
    %y = llm.sigmoid_gate %shared, %g : tensor<1x8x64xf32>, tensor<1x8x1xf32>
    ```
  }];
  let arguments = (ins LLM_Tensor:$input, LLM_Tensor:$gate);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat = "$input `,` $gate attr-dict `:` type($input) `,` type($gate)";
}

def LLM_SoftmaxOp : LLM_Op<"softmax", [Pure, SameOperandsAndResultType]> {
  let summary = "Softmax along one axis";
  let description = [{
    `exp(x - max) / sum(exp(x - max))` along `axis` (in `[0, rank)`).

    Example:

    ```mlir
    %p = llm.softmax %s {axis = 3} : tensor<1x8x16x16xf32>
    ```
  }];
  let arguments = (ins LLM_Tensor:$input, LLM_IntAttr:$axis);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

//===----------------------------------------------------------------------===//
// Positions
//===----------------------------------------------------------------------===//

def LLM_RoPEOp : LLM_Op<"rope", [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "Rotary position embedding";
  let description = [{
    Rotates pairs of features of each head of `input` (`[batch, seq,
    num_heads * head_dim]`) by `position * theta^(-2i / rotary_dim)`. Only
    the first `rotary_dim` features of a head rotate (partial rotary, as in
    GPT-NeoX/Phi); the default is the whole head. `pairing = neox` pairs
    feature `i` with `i + rotary_dim / 2` (LLaMA, GPT-NeoX); `gptj` pairs
    `2i` with `2i + 1`. `scaling` selects the long-context variant.
    `positions` is `[batch, seq]`.

    Example:

    ```mlir
    %qr = llm.rope %q, %pos {num_heads = 8, theta = 10000.0,
                              scaling = #llm.rope_scaling<kind = linear, factor = 2.0>}
        : tensor<1x8x512xf32>, tensor<1x8xi64>
    ```
  }];
  let arguments = (ins LLM_Tensor:$input, LLM_IndexTensor:$positions,
                       LLM_IntAttr:$num_heads,
                       OptionalAttr<LLM_IntAttr>:$rotary_dim,
                       DefaultValuedAttr<F64Attr, "10000.0">:$theta,
                       DefaultValuedAttr<LLM_RopePairingAttr,
                                         "RopePairing::NeoX">:$pairing,
                       OptionalAttr<LLM_RopeScalingAttr>:$scaling);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat = [{
    $input `,` $positions attr-dict `:` type($input) `,` type($positions)
  }];
  let hasCanonicalizer = 1;
  let extraClassDeclaration = [{
    int64_t getHeadDim() {
      return getInput().getType().getShape().back() / getNumHeads();
    }
    /// The rotated features per head: `rotary_dim`, or the head dim.
    int64_t getEffectiveRotaryDim() {
      return getRotaryDim().value_or(getHeadDim());
    }
  }];
}

def LLM_RoPEInvFreqOp : LLM_Op<"rope_inv_freq", [Pure]> {
  let summary = "Rotary inverse frequencies for the run-time sequence length";
  let description = [{
    The `[rotary_dim / 2]` inverse frequencies of `llm.rope` with `theta` and
    `scaling`, for the sequence length the call sees: the largest of
    `positions` plus one, as transformers' `dynamic_rope_update` computes it.
    Dynamic NTK scaling depends on that length, so its table cannot be a
    compile-time constant; `llm-lower-rope` computes it with this op (once
    per call, `rotary_dim / 2` values) and feeds it to `llm.linear_rope`.
    The other kinds do not depend on the length and get constant tables.

    Example:

    ```mlir
    %f = llm.rope_inv_freq %pos {rotary_dim = 64, theta = 10000.0,
                                 scaling = #llm.rope_scaling<kind = dynamic, factor = 2.0,
                                                             original_max_position = 2048>}
        : tensor<1x16xi64> -> tensor<32xf32>
    ```
  }];
  let arguments = (ins LLM_IndexTensor:$positions, LLM_IntAttr:$rotary_dim,
                       DefaultValuedAttr<F64Attr, "10000.0">:$theta,
                       OptionalAttr<LLM_RopeScalingAttr>:$scaling);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat = [{
    $positions attr-dict `:` type($positions) `->` type($result)
  }];
}

def LLM_LinearRoPEOp : LLM_Op<"linear_rope", [Pure]> {
  let summary = "Q/K projection with rotary embedding applied in its epilogue";
  let description = [{
    `llm.rope(llm.linear(input, weight, bias), positions)` in one op, as
    `llm-lower-rope` produces it: the projection's output rows are rotated
    while they are still in cache instead of by a second pass over memory.
    `inv_freq` (`[rotary_dim / 2]`) is the table of inverse frequencies the
    scaling kind gives, a compile-time constant or, for dynamic NTK, an
    `llm.rope_inv_freq` of the call's positions; `attention_scaling`
    multiplies cos and sin (YaRN). Pairing and partial rotary dim as in
    `llm.rope`.

    Example:

    ```mlir
    %q = llm.linear_rope %x, %wq, %pos, %inv_freq {num_heads = 8, rotary_dim = 32}
        : tensor<1x16x256xf32>, tensor<256x256xf32>, tensor<1x16xi64>, tensor<16xf32> -> tensor<1x16x256xf32>
    ```
  }];
  let arguments = (ins LLM_Tensor:$input, LLM_Weight:$weight,
                       Optional<LLM_Tensor>:$bias, LLM_IndexTensor:$positions,
                       LLM_Tensor:$inv_freq, LLM_IntAttr:$num_heads,
                       LLM_IntAttr:$rotary_dim,
                       DefaultValuedAttr<LLM_RopePairingAttr,
                                         "RopePairing::NeoX">:$pairing,
                       DefaultValuedAttr<F64Attr, "1.0">:$attention_scaling);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`bias` `(` $bias^ `:` type($bias) `)`)? `,` $positions `,` $inv_freq
    attr-dict `:` type($input) `,` type($weight) `,` type($positions) `,` type($inv_freq)
    `->` type($result)
  }];
}

def LLM_AlibiOp : LLM_Op<"alibi", [Pure]> {
  let summary = "ALiBi attention bias";
  let description = [{
    The linear bias of ALiBi (BLOOM, MPT): `result[h, i, j] = slope_h *
    (j - (i + kv_len - q_len))`, i.e. minus the distance from query `i`
    (at absolute position `i + kv_len - q_len`) to key `j`. Slopes are the
    geometric sequence `2^(-max_bias * (h + 1) / n)` for the largest power of
    two `n <= heads`, interleaved for the rest as in the paper, so head counts
    that are not powers of two are supported. The result is
    `[heads, q_len, kv_len]` and is added to attention scores;
    `llm-lower-alibi` removes it in favour of slopes applied in the kernel.

    Example:

    ```mlir
    %bias = llm.alibi {max_bias = 8.0} : tensor<12x16x16xf32>
    ```
  }];
  let arguments = (ins DefaultValuedAttr<F64Attr, "8.0">:$max_bias);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat = "attr-dict `:` type($result)";
}

def LLM_RelativePositionBiasOp : LLM_Op<"relative_position_bias", [Pure]> {
  let summary = "T5 bucketed relative position bias";
  let description = [{
    Looks up `table` (`[num_buckets, heads]`) by T5's bucket of the relative
    distance `j - i'` between key `j` and query `i' = i + kv_len - q_len`:
    half the buckets (all of them when not `bidirectional`) hold exact
    distances below `num_buckets / 2` (resp. `/ 4`), the rest grow
    logarithmically up to `max_distance`. The result is `[heads, q_len,
    kv_len]`, added to attention scores.

    Example:

    ```mlir
    %bias = llm.relative_position_bias %table {num_buckets = 32, max_distance = 128, bidirectional}
        : tensor<32x8xf32> -> tensor<8x16x16xf32>
    ```
  }];
  let arguments = (ins LLM_Tensor:$table, LLM_IntAttr:$num_buckets,
                       LLM_IntAttr:$max_distance, UnitAttr:$bidirectional);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat = "$table attr-dict `:` type($table) `->` type($result)";
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

def LLM_AttentionOp : LLM_Op<"attention", [Pure, AttrSizedOperandSegments,
                                          LLM_AttentionOpInterface]> {
  let summary = "Scaled dot-product attention over packed heads";
  let description = [{
    `softmax(Q·Kᵀ * scale + bias + mask) · V` per head. `query` is
    `[batch, q_len, num_heads * head_dim]`, `key` and `value` are `[batch,
    kv_len, num_kv_heads * head_dim]` (value may have its own head dim);
    query head `h` reads key/value head `h / (num_heads / num_kv_heads)`,
    which covers MHA, GQA and MQA. `scale` defaults to `1 / sqrt(head_dim)`.

    Masks: `causal` (query `i` sees keys up to `i + kv_len - q_len`),
    `bidirectional`, `sliding_window` (causal and at most `window` keys back,
    Mistral), `padding` (bidirectional over the keys that `key_padding`
    marks valid). A `key_padding` tensor (`[batch, kv_len]`, true = valid) may
    also restrict the other kinds. `bias` (`[heads, q_len, kv_len]` or `[batch
    or 1, heads or 1, q_len, kv_len]`) is added to the scores: ALiBi or T5
    relative bias.

    Example:

    ```mlir
    %o = llm.attention %q, %k, %v {num_heads = 8, num_kv_heads = 2, mask = #llm.mask<causal>}
        : tensor<1x16x512xf32>, tensor<1x16x128xf32>, tensor<1x16x128xf32> -> tensor<1x16x512xf32>
    ```
  }];
  let arguments = (ins LLM_Tensor:$query, LLM_Tensor:$key, LLM_Tensor:$value,
                       Optional<LLM_BoolTensor>:$key_padding,
                       Optional<LLM_Tensor>:$bias,
                       LLM_IntAttr:$num_heads, LLM_IntAttr:$num_kv_heads,
                       OptionalAttr<F64Attr>:$scale,
                       LLM_MaskKindAttr:$mask,
                       OptionalAttr<LLM_IntAttr>:$window);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat = [{
    $query `,` $key `,` $value
    (`key_padding` `(` $key_padding^ `:` type($key_padding) `)`)?
    (`bias` `(` $bias^ `:` type($bias) `)`)?
    attr-dict `:` type($query) `,` type($key) `,` type($value) `->` type($result)
  }];
  let hasCanonicalizer = 1;
  let extraClassDeclaration = [{
    int64_t getHeadDim() {
      return getQuery().getType().getShape().back() / getNumHeads();
    }
    /// The scale applied to Q·Kᵀ: `scale`, or `1 / sqrt(head_dim)`.
    double getEffectiveScale();
  }];
}

def LLM_FlashAttentionOp : LLM_Op<"flash_attention", [Pure, AttrSizedOperandSegments,
                                                       LLM_AttentionOpInterface]> {
  let summary = "Tiled attention with online softmax";
  let description = [{
    The same computation as `llm.attention`, committed to the
    FlashAttention-2 schedule: blocks of `block_q` queries against blocks of
    `block_kv` keys with a running maximum and sum, so the `q_len × kv_len`
    score matrix never exists. `scale` is explicit. ALiBi is carried as
    per-head `alibi_slopes` (`[num_heads]`) applied inside the kernel
    rather than as a bias tensor. Produced by `llm-fuse-attention`.

    Example:

    ```mlir
    %o = llm.flash_attention %q, %k, %v {num_heads = 8, num_kv_heads = 8, scale = 0.125,
                                         mask = #llm.mask<causal>, block_q = 64, block_kv = 64}
        : tensor<1x16x512xf32>, tensor<1x16x512xf32>, tensor<1x16x512xf32> -> tensor<1x16x512xf32>
    ```
  }];
  let arguments = (ins LLM_Tensor:$query, LLM_Tensor:$key, LLM_Tensor:$value,
                       Optional<LLM_BoolTensor>:$key_padding,
                       Optional<LLM_Tensor>:$bias,
                       Optional<LLM_Tensor>:$alibi_slopes,
                       LLM_IntAttr:$num_heads, LLM_IntAttr:$num_kv_heads,
                       F64Attr:$scale, LLM_MaskKindAttr:$mask,
                       OptionalAttr<LLM_IntAttr>:$window,
                       DefaultValuedAttr<LLM_IntAttr, "64">:$block_q,
                       DefaultValuedAttr<LLM_IntAttr, "64">:$block_kv);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat = [{
    $query `,` $key `,` $value
    (`key_padding` `(` $key_padding^ `:` type($key_padding) `)`)?
    (`bias` `(` $bias^ `:` type($bias) `)`)?
    (`alibi_slopes` `(` $alibi_slopes^ `:` type($alibi_slopes) `)`)?
    attr-dict `:` type($query) `,` type($key) `,` type($value) `->` type($result)
  }];
  let extraClassDeclaration = [{
    int64_t getHeadDim() {
      return getQuery().getType().getShape().back() / getNumHeads();
    }
  }];
}

def LLM_PagedAttentionOp : LLM_Op<"paged_attention", [Pure,
    AttrSizedOperandSegments, LLM_AttentionOpInterface]> {
  let summary = "Attention that reads keys and values from a paged KV cache";
  let description = [{
    Attention of `query` (`[batch, q_len, num_heads * head_dim]`) over the
    keys and values of layer `layer` stored in `cache`. Sequence `b` owns the
    blocks `block_tables[b, :]` and holds `context_lens[b]` tokens, the last
    `q_len` of which are the queries' own positions. `mask` is `causal`,
    `sliding_window`, or `bidirectional`: every cached key, whatever the
    number of queries (cross-attention over a static cache of an encoder's
    keys and values). Produced by `llm-insert-kv-cache`.

    `relative_bias_table` (`[num_buckets, num_heads]`, with the
    `num_buckets`, `max_distance` and `bidirectional_buckets` of
    `llm.relative_position_bias`) adds T5's relative position bias of each
    key's distance to the query's position, computed from the positions in
    the cache instead of a bias tensor over the function's own tokens.

    Example:

    ```mlir
    %o = llm.paged_attention %q, %cache, %tables, %lens {layer = 0, num_heads = 8, scale = 0.125,
                                                         mask = #llm.mask<causal>}
        : tensor<4x1x512xf32>, !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
          tensor<4x32xi32>, tensor<4xi32> -> tensor<4x1x512xf32>
    %t = llm.paged_attention %q, %cache, %tables, %lens relative_bias_table(%table : tensor<32x8xf32>)
        {layer = 1, num_heads = 8, scale = 1.0, mask = #llm.mask<causal>, num_buckets = 32, max_distance = 128}
        : tensor<4x1x512xf32>, !llm.kv_cache<layers = 2, kv_heads = 8, head_dim = 64, block_size = 16, dtype = f32>,
          tensor<4x32xi32>, tensor<4xi32> -> tensor<4x1x512xf32>
    ```
  }];
  let arguments = (ins LLM_Tensor:$query, LLM_KVCacheType:$cache,
                       LLM_IndexTensor:$block_tables, LLM_IndexTensor:$context_lens,
                       Optional<LLM_Tensor>:$alibi_slopes,
                       Optional<LLM_Tensor>:$relative_bias_table,
                       LLM_IntAttr:$layer, LLM_IntAttr:$num_heads, F64Attr:$scale,
                       LLM_MaskKindAttr:$mask, OptionalAttr<LLM_IntAttr>:$window,
                       OptionalAttr<LLM_IntAttr>:$num_buckets,
                       OptionalAttr<LLM_IntAttr>:$max_distance,
                       UnitAttr:$bidirectional_buckets);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat = [{
    $query `,` $cache `,` $block_tables `,` $context_lens
    (`alibi_slopes` `(` $alibi_slopes^ `:` type($alibi_slopes) `)`)?
    (`relative_bias_table` `(` $relative_bias_table^ `:` type($relative_bias_table) `)`)?
    attr-dict `:` type($query) `,` qualified(type($cache)) `,` type($block_tables) `,`
    type($context_lens) `->` type($result)
  }];
  let extraClassDeclaration = [{
    int64_t getNumKvHeads() { return getCache().getType().getNumKvHeads(); }
    int64_t getHeadDim() { return getCache().getType().getHeadDim(); }
  }];
}

//===----------------------------------------------------------------------===//
// KV cache
//===----------------------------------------------------------------------===//

def LLM_KVCacheAppendOp : LLM_Op<"kv_cache_append", [Pure,
    AllTypesMatch<["cache", "result"]>]> {
  let summary = "Writes keys and values of new tokens into a paged cache";
  let description = [{
    Stores `key[b, s]` and `value[b, s]` (`[batch, seq, kv_heads *
    head_dim]`) of layer `layer` into the cache slot `slots[b, s]` (slot =
    block * block_size + offset, as vLLM's slot mapping). Negative slots are
    skipped (padding). The cache is a value: the result is the updated cache,
    which bufferization turns into an in-place write.

    Example:

    ```mlir
    %c1 = llm.kv_cache_append %c0[%slots], %k, %v {layer = 1}
        : !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
          tensor<4x1xi32>, tensor<4x1x128xf32>, tensor<4x1x128xf32>
    ```
  }];
  let arguments = (ins LLM_KVCacheType:$cache, LLM_IndexTensor:$slots,
                       LLM_Tensor:$key, LLM_Tensor:$value, LLM_IntAttr:$layer);
  let results = (outs LLM_KVCacheType:$result);
  let assemblyFormat = [{
    $cache `[` $slots `]` `,` $key `,` $value attr-dict `:` qualified(type($cache)) `,`
    type($slots) `,` type($key) `,` type($value)
  }];
}

def LLM_KVCacheGatherOp : LLM_Op<"kv_cache_gather", [Pure]> {
  let summary = "Reads the keys and values of sequences from a paged cache";
  let description = [{
    Gathers layer `layer`'s keys and values for the blocks of
    `block_tables` (`[batch, max_blocks]`) into contiguous `[batch,
    max_blocks * block_size, kv_heads * head_dim]` tensors, dequantizing an
    `i8` cache. Used where attention is not fused with the cache read.

    Example:

    ```mlir
    %k, %v = llm.kv_cache_gather %c[%tables] {layer = 0}
        : !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 64, block_size = 16, dtype = f16>,
          tensor<4x2xi32> -> tensor<4x32x128xf32>, tensor<4x32x128xf32>
    ```
  }];
  let arguments = (ins LLM_KVCacheType:$cache, LLM_IndexTensor:$block_tables,
                       LLM_IntAttr:$layer);
  let results = (outs LLM_Tensor:$key, LLM_Tensor:$value);
  let assemblyFormat = [{
    $cache `[` $block_tables `]` attr-dict `:` qualified(type($cache)) `,` type($block_tables)
    `->` type($key) `,` type($value)
  }];
}

//===----------------------------------------------------------------------===//
// Mixture of experts
//===----------------------------------------------------------------------===//

def LLM_MoEOp : LLM_Op<"moe", [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "Sparse mixture of gated-MLP experts";
  let description = [{
    For each token of `input` (`[batch, seq, hidden]`): router logits
    `input · routerᵀ` (`router` is `[experts, hidden]`), softmax, the `top_k`
    experts, their weights renormalized to sum 1 when `normalize`, and the
    weighted sum of the chosen experts'
    `down · (activation(gate · x) * (up · x))`. Expert weights are stacked:
    `gate` and `up` are `[experts, inter, hidden]`, `down` is `[experts,
    hidden, inter]`. They may be `!llm.qweight` of rank 3 (`llm-quantize`):
    each expert's matrix quantized as a projection's weight is.
    `llm-specialize-moe` rewrites it into route, permute, grouped matmul
    and combine.

    Example:

    ```mlir
    %y = llm.moe %x, %router, %gate, %up, %down {top_k = 2, normalize}
        : tensor<1x8x64xf32>, tensor<8x64xf32>, tensor<8x128x64xf32>, tensor<8x128x64xf32>, tensor<8x64x128xf32>
    ```
  }];
  let arguments = (ins LLM_Tensor:$input, LLM_Tensor:$router, LLM_Weight:$gate,
                       LLM_Weight:$up, LLM_Weight:$down, LLM_IntAttr:$top_k,
                       UnitAttr:$normalize,
                       DefaultValuedAttr<LLM_ActivationAttr,
                                         "Activation::SiLU">:$activation);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat = [{
    $input `,` $router `,` $gate `,` $up `,` $down attr-dict `:` type($input) `,`
    type($router) `,` type($gate) `,` type($up) `,` type($down)
  }];
}

def LLM_MoERouteOp : LLM_Op<"moe_route", [Pure]> {
  let summary = "Top-k expert selection from router logits";
  let description = [{
    From router `logits` (`[tokens..., experts]`, the tokens in any number
    of leading dimensions): softmax, the `top_k` largest probabilities per
    token (`weights`, renormalized when `normalize`; ties go to the lower
    expert index) and their expert `indices`, both `[tokens..., top_k]`.

    Example:

    ```mlir
    %w, %i = llm.moe_route %logits {top_k = 2, normalize} : tensor<8x8xf32> -> tensor<8x2xf32>, tensor<8x2xi32>
    ```
  }];
  let arguments = (ins LLM_Tensor:$logits, LLM_IntAttr:$top_k, UnitAttr:$normalize);
  let results = (outs LLM_Tensor:$weights, LLM_IndexTensor:$indices);
  let assemblyFormat = [{
    $logits attr-dict `:` type($logits) `->` type($weights) `,` type($indices)
  }];
}

def LLM_MoEPermuteOp : LLM_Op<"moe_permute", [Pure]> {
  let summary = "Sorts token copies by expert";
  let description = [{
    Copies each token of `input` (`[tokens..., hidden]`) once per selected
    expert in `indices` (`[tokens..., top_k]`) and orders the copies by
    expert, each expert's in token order: `permuted` is `[tokens * top_k,
    hidden]`, `offsets` (`[experts + 1]`) delimits each expert's rows, and
    `sources[r]` is the flat index `t * top_k + j` of the choice that row
    `r` serves. No token is dropped unless `capacity` (> 0) bounds the rows
    of an expert: its copies past that many, in token order, are dropped
    (their rows, after `offsets[experts]`, are zero with `sources` -1, and
    the combine skips them).

    Example:

    ```mlir
    %p, %off, %src = llm.moe_permute %x, %idx {num_experts = 8}
        : tensor<8x64xf32>, tensor<8x2xi32> -> tensor<16x64xf32>, tensor<9xi32>, tensor<16xi32>
    ```
  }];
  let arguments = (ins LLM_Tensor:$input, LLM_IndexTensor:$indices,
                       LLM_IntAttr:$num_experts,
                       DefaultValuedAttr<I64Attr, "0">:$capacity);
  let results = (outs LLM_Tensor:$permuted, LLM_IndexTensor:$offsets,
                      LLM_IndexTensor:$sources);
  let assemblyFormat = [{
    $input `,` $indices attr-dict `:` type($input) `,` type($indices) `->`
    type($permuted) `,` type($offsets) `,` type($sources)
  }];
}

def LLM_GroupedMatmulOp : LLM_Op<"grouped_matmul", [Pure]> {
  let summary = "One weight matrix per contiguous group of rows";
  let description = [{
    `result[r, n] = sum_k input[r, k] * weights[e, n, k]` for the rows `r`
    in `[offsets[e], offsets[e + 1])`: the grouped GEMM of MoE prefill over
    tokens sorted by expert. `weights` is `[experts, out, in]`, a tensor or
    a rank-3 `!llm.qweight` (each expert's matrix quantized as a
    projection's weight is, as `llm-quantize` leaves an `llm.moe`'s
    experts). Rows past `offsets[experts]` (copies a capacity dropped) are
    zero.

    `decode` chooses the form for few rows (a decode step's tokens, each
    copied top_k times): every chosen expert's matrix is streamed once,
    and the output rows of all of them are split across the threads in one
    parallel region, so that every core works when top_k is smaller than
    the thread count. Without it (the prefill form), each expert's rows
    are a GEMM. `llm-specialize-moe` sets it where the token count is at
    most its `decode-max-tokens`.

    Example:

    ```mlir
    %y = llm.grouped_matmul %p, %w, %off : tensor<16x64xf32>, tensor<8x128x64xf32>, tensor<9xi32> -> tensor<16x128xf32>
    %z = llm.grouped_matmul %q, %w, %off {decode} : tensor<2x64xf32>, tensor<8x128x64xf32>, tensor<9xi32> -> tensor<2x128xf32>
    ```
  }];
  let arguments = (ins LLM_Tensor:$input, LLM_Weight:$weights,
                       LLM_IndexTensor:$offsets, UnitAttr:$decode);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat = [{
    $input `,` $weights `,` $offsets attr-dict `:` type($input) `,` type($weights) `,`
    type($offsets) `->` type($result)
  }];
}

def LLM_MoECombineOp : LLM_Op<"moe_combine", [Pure]> {
  let summary = "Weighted sum of expert outputs back in token order";
  let description = [{
    `result[t] = sum_j weights[t, j] * expert_out[r]` where row `r` of
    `expert_out` (`[tokens * top_k, hidden]`) serves choice `sources[r] = t *
    top_k + j` (rows whose source is -1, dropped by a capacity, add
    nothing), summed in the order of the rows (by expert). Inverse of
    `llm.moe_permute`; `weights` is `[tokens..., top_k]` and the result
    `[tokens..., hidden]`.

    Example:

    ```mlir
    %y = llm.moe_combine %eo, %w, %src : tensor<16x64xf32>, tensor<8x2xf32>, tensor<16xi32> -> tensor<8x64xf32>
    ```
  }];
  let arguments = (ins LLM_Tensor:$expert_out, LLM_Tensor:$weights,
                       LLM_IndexTensor:$sources);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat = [{
    $expert_out `,` $weights `,` $sources attr-dict `:` type($expert_out) `,`
    type($weights) `,` type($sources) `->` type($result)
  }];
}

//===----------------------------------------------------------------------===//
// Quantization
//===----------------------------------------------------------------------===//

def LLM_DequantizeOp : LLM_Op<"dequantize", [Pure]> {
  let summary = "Expands a quantized weight to a float tensor";
  let description = [{
    `(q - zero) * scale` per group. Kernels normally consume `!llm.qweight`
    directly; this op exists for lowerings that do not.

    Example:

    ```mlir
    %w = llm.dequantize %q : !llm.qweight<256x256, bits = 4, group = 32, scale = f16, symmetric, packing = nibble> -> tensor<256x256xf32>
    ```
  }];
  let arguments = (ins LLM_QuantizedType:$input);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` qualified(type($input)) `->` type($result)";
}

//===----------------------------------------------------------------------===//
// Sampling
//===----------------------------------------------------------------------===//

def LLM_SampleOp : LLM_Op<"sample", [MemoryEffects<[MemRead, MemWrite]>]> {
  let summary = "Picks the next token of each sequence from its logits";
  let description = [{
    From `logits` (`[batch, vocab]`), in this order: repetition penalty
    over `prev_tokens` (`[batch, n]`; logits of tokens seen are divided by
    `repetition_penalty` when positive, multiplied when negative), then
    `temperature` (0 means greedy: argmax, and the filters below do not
    apply), `top_k` (0 disables), `top_p` (nucleus; 1 disables), `min_p`
    (drop tokens below `min_p` times the top probability; 0 disables), and a
    draw from a generator seeded by `seed`. The same seed gives the same
    tokens. The op is not `Pure`: it advances the generator.
    `llm-lower-to-cpu` lowers it to the runtime sampler (`llmrt_sample`,
    the one `llm-run` uses), with the generator in a global of the op's own,
    so that successive calls continue one random sequence.

    Example:

    ```mlir
    %next = llm.sample %logits {temperature = 0.7, top_k = 40, top_p = 0.9, seed = 42}
        : tensor<2x32000xf32> -> tensor<2xi64>
    ```
  }];
  let arguments = (ins LLM_Tensor:$logits, Optional<LLM_IndexTensor>:$prev_tokens,
                       DefaultValuedAttr<F64Attr, "1.0">:$temperature,
                       DefaultValuedAttr<LLM_IntAttr, "0">:$top_k,
                       DefaultValuedAttr<F64Attr, "1.0">:$top_p,
                       DefaultValuedAttr<F64Attr, "0.0">:$min_p,
                       DefaultValuedAttr<F64Attr, "1.0">:$repetition_penalty,
                       DefaultValuedAttr<LLM_IntAttr, "0">:$seed);
  let results = (outs LLM_IndexTensor:$result);
  let assemblyFormat = [{
    $logits (`prev` `(` $prev_tokens^ `:` type($prev_tokens) `)`)? attr-dict `:`
    type($logits) `->` type($result)
  }];
  let hasCanonicalizer = 1;
  let extraClassDeclaration = [{
    /// True when the op picks the argmax.
    bool isGreedy() { return getTemperature().convertToDouble() == 0.0; }
  }];
}

//===----------------------------------------------------------------------===//
// Attention layout
//===----------------------------------------------------------------------===//

def LLM_SplitHeadsOp : LLM_Op<"split_heads", [Pure]> {
  let summary = "Packed activations to one plane per head";
  let description = [{
    `result[b, h, s, d] = input[b, s, h * head_dim + d]`: the `[batch, seq,
    num_heads * head_dim]` layout of projections becomes `[batch, num_heads,
    seq, head_dim]`, the layout in which attention is a batched
    `llm.matmul`. Together with `llm.merge_heads` and `llm.repeat_kv` it
    spells attention out op by op (`HFImportOptions::decomposeAttention`);
    `llm-fuse-attention` raises such a graph back into
    `llm.flash_attention`, which reads the packed layout directly.

    Example:

    ```mlir
    %qh = llm.split_heads %q {num_heads = 8} : tensor<1x16x512xf32> -> tensor<1x8x16x64xf32>
    ```
  }];
  let arguments = (ins LLM_Tensor:$input, LLM_IntAttr:$num_heads);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
}

def LLM_MergeHeadsOp : LLM_Op<"merge_heads", [Pure]> {
  let summary = "One plane per head back to packed activations";
  let description = [{
    `result[b, s, h * head_dim + d] = input[b, h, s, d]`: the inverse of
    `llm.split_heads`, from `[batch, heads, seq, head_dim]` to `[batch, seq,
    heads * head_dim]`, the layout the output projection reads.

    Example:

    ```mlir
    %o = llm.merge_heads %oh : tensor<1x8x16x64xf32> -> tensor<1x16x512xf32>
    ```
  }];
  let arguments = (ins LLM_Tensor:$input);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
}

def LLM_RepeatKVOp : LLM_Op<"repeat_kv", [Pure]> {
  let summary = "Repeats each key/value head for grouped-query attention";
  let description = [{
    `result[b, h, s, d] = input[b, h / repeats, s, d]`: each of the `kv_heads`
    planes of `input` (`[batch, kv_heads, seq, head_dim]`) is repeated
    `repeats` times in place (`repeat_interleave`, as transformers'
    `repeat_kv`), so that query head `h` of a grouped-query (or multi-query)
    model meets key/value head `h / repeats`. The result is `[batch, kv_heads
    * repeats, seq, head_dim]`. `llm.flash_attention` shares kv heads
    without copying them; `llm-fuse-attention` removes this op.

    Example:

    ```mlir
    %kr = llm.repeat_kv %kh {repeats = 4} : tensor<1x2x16x64xf32> -> tensor<1x8x16x64xf32>
    ```
  }];
  let arguments = (ins LLM_Tensor:$input, LLM_IntAttr:$repeats);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
}

#endif // LLM_DIALECTS_LLM_IR_LLMOPS_TD
