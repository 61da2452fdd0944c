//===- Passes.td - Passes of LLMC ---------------------------*- tablegen -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
// Passes are declared here as `def XPass : Pass<"llm-x">`, grouped under
// banners and alphabetical within a group, each with a description that says
// why it exists. Graph-level passes only: code generation declares its
// passes in include/llm/codegen/<target>/Passes.td.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_PASSES_PASSES_TD
#define LLM_PASSES_PASSES_TD

include "mlir/Pass/PassBase.td"

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

def FuseAttentionPass : Pass<"llm-fuse-attention", "::mlir::ModuleOp"> {
  let summary = "Raises decomposed attention into llm.flash_attention";
  let description = [{
    Finds attention spelled out op by op, as importers of exported graphs
    and hand-written models produce it:

    ```
    split_heads(q) · [repeat_kv](split_heads(k))ᵀ   (llm.matmul)
      → scale → + bias → mask → llm.softmax(last axis) → · [repeat_kv](split_heads(v))
      → merge_heads
    ```

    and replaces it with one `llm.flash_attention` over the packed `q`, `k`
    and `v`. Why: the decomposed form materializes the `[batch, heads,
    q_len, kv_len]` score and probability tensors (quadratic in the sequence)
    and copies every key/value head `repeats` times for grouped-query
    attention; the fused kernel streams blocks of keys with an online
    softmax, so neither exists, and it is the form the CPU and CUDA backends
    lower.

    Recognized spellings: the scale as `arith.mulf` by a positive splat
    (either operand) or `arith.divf` by one, on the scores, on `q` or on `k`
    (packed or per head; several multiply; none means 1); the mask as
    `arith.addf` of a constant of `0` and `-inf` (or a finite value <= -1e9,
    then not under a scale) or as `arith.select` of an `i1` constant against
    such a splat, whose pattern must be causal, sliding-window(w) or
    all-visible (bidirectional), the same for every batch and head; a bias
    (`llm.alibi`, `llm.relative_position_bias` or any tensor) added to the
    scaled scores, taken from before a `tensor.expand_shape` that only adds
    a unit batch dimension or a `linalg.broadcast` over the batch (an
    `llm.alibi` becomes `alibi_slopes` right away, as `llm-lower-alibi`
    makes them, so that no bias tensor is left whatever the pass order);
    grouped-query attention through `llm.repeat_kv` on both key and value;
    heads split and merged by `llm.split_heads`/`llm.merge_heads` or by
    `tensor.expand_shape` + `linalg.transpose` (and back); the key either
    multiplied with `transpose_rhs` or explicitly transposed by
    `linalg.transpose`.

    It leaves the IR unchanged whenever the result could differ: softmax
    over another axis, a mask constant of any other pattern (a constant
    added to the scores is a mask or nothing), a scores or probabilities
    tensor with another user, a bias under a scale, a key product without a
    transpose, key and value with different heads or repeats, a repeated
    query, a non-positive scale, a scale on the values.
  }];
  let options = [
    Option<"blockQ", "block-q", "int64_t", /*default=*/"64",
           "Queries per block of the fused kernel">,
    Option<"blockKv", "block-kv", "int64_t", /*default=*/"64",
           "Keys per block of the fused kernel">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def LowerAlibiPass : Pass<"llm-lower-alibi", "::mlir::ModuleOp"> {
  let summary = "Replaces materialized ALiBi biases by per-head slopes";
  let description = [{
    Rewrites `llm.flash_attention` whose `bias` is an `llm.alibi` into the
    same op with `alibi_slopes = arith.constant dense<[...]>` (BLOOM's slopes,
    head counts that are not powers of two included, computed exactly as
    the kernels' `llmk_alibi_slopes`), and `llm.attention` with such a bias
    into `llm.flash_attention` with those slopes, the only op that carries
    them. The `llm.alibi` goes away with its last user.

    Why: the bias `slope_h * (j - i')` is a `[heads, q_len, kv_len]` tensor
    computed and read once per layer, quadratic in the sequence, while the
    kernel can add it from one float per head as it computes each score.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

//===----------------------------------------------------------------------===//
// Positions
//===----------------------------------------------------------------------===//

def LowerRoPEPass : Pass<"llm-lower-rope", "::mlir::ModuleOp"> {
  let summary = "Folds rotary embedding into the Q/K projections";
  let description = [{
    A standalone `llm.rope` reads and writes every query and key once more
    after the projection wrote them. This pass rewrites
    `llm.rope(llm.linear(...))`, when the projection has no other user, into
    `llm.linear_rope`, whose kernel rotates each block of output rows while
    it is still in cache, and replaces the per-call frequency computation by
    a table of inverse frequencies computed at compile time for the scaling
    kind (none, linear, YaRN, llama3; the same function as the runtime
    kernel, so the numbers are identical).

    Dynamic NTK scaling depends on the sequence length at run time: its
    table comes from an `llm.rope_inv_freq` of the call's positions (half a
    head of values per call), and the rotation still happens in the
    projection's epilogue. A rope whose input is not a projection has no
    epilogue to join and stays `llm.rope`.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::llm::LLMDialect"];
}

//===----------------------------------------------------------------------===//
// KV cache
//===----------------------------------------------------------------------===//

def InsertKVCachePass : Pass<"llm-insert-kv-cache", "::mlir::ModuleOp"> {
  let summary = "Makes attention read and extend a paged KV cache";
  let description = [{
    Without a cache, generating token n recomputes the keys and values of
    all n - 1 tokens before it. This pass rewrites every function whose
    causal or sliding-window attention sees only its own tokens into one
    that appends its keys and values to a paged cache
    (`llm.kv_cache_append`) and attends over everything cached for the
    sequence (`llm.paged_attention`): the prefill entry point of a function
    imported for the prompt. The same rewrite of a function imported for
    batch B and one token is the batched decode entry point, which the pass
    can also derive itself (`decode-batch`). Bidirectional self-attention
    of one query over one key is served as causal: at one token the two
    are the same, and an imported graph's 1x1 mask cannot say which it is
    (an ONNX decoder imported for a one-token prompt, or T5's decoder for
    its start token).

    With `decode-batch=B`, each rewritten function `f` (the prefill entry
    point, over the prompt's tokens) also gets its batched decode entry
    point `f_decode`: the same computation for B sequences of one new token
    each, derived by re-specializing the token dimensions `[batch, seq]` of
    every activation to `[B, 1]` (weights, constants and the cache keep
    their types; the result is verified).

    Each rewritten function takes four more arguments: the cache
    (`!llm.kv_cache`, one block pool for all layers), the cache slot of each
    token (`[batch, seq]` i32, -1 for padding), each sequence's block table
    (`[batch, max_blocks]` i32, `max_blocks = ceil(max-seq-len /
    block-size)`) and each sequence's length including the new tokens
    (`[batch]` i32). Blocks are allocated by the runtime's block manager,
    which can also drop blocks that fall out of a sliding window.

    Encoder-decoder models (T5) get a second, static cache. Cross-attention
    (bidirectional attention whose query depends on an argument, the
    decoder's tokens, that its keys and values do not) reads every key of
    the cross-attention cache, and the computation of those keys and values
    (the encoder, then each layer's projections) moves into a new function
    `<name>_encode(<the arguments it reads>, cross_cache, cross_slots) ->
    cross_cache` that fills the cache once per encoder input; the decoder
    function no longer takes the encoder's arguments and gains three more:
    the cross cache, its block tables (`[batch, ceil(encoder length /
    block-size)]`) and lengths. Without this, every decode step would rerun
    the encoder and both cross projections of every layer. T5's relative
    position bias (`llm.relative_position_bias`) becomes the bias table of
    the paged attention, whose buckets come from the cached positions.

    Bidirectional self-attention (an encoder alone), other bias tensors, and
    key padding cannot use the cache and are reported as errors; ALiBi is
    supported once `llm-lower-alibi` has turned it into slopes. Run the pass
    before canonicalization: in a one-token function a sliding window covers
    every key the function sees, and the canonicalizer rightly turns it into
    a causal mask, which is no longer right once the keys come from the
    cache.
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t",
           /*default=*/"::mlir::llm::kDefaultKVBlockSize",
           "Tokens per cache block">,
    Option<"cacheDtype", "cache-dtype", "std::string", /*default=*/"\"f32\"",
           "Storage type of the cache: f32, f16, bf16 or i8">,
    Option<"maxSeqLen", "max-seq-len", "int64_t", /*default=*/"2048",
           "Longest sequence a block table can describe">,
    Option<"decodeBatch", "decode-batch", "int64_t", /*default=*/"0",
           "Also derive <function>_decode, one new token for each of this "
           "many sequences (0: no decode entry point)">,
  ];
}

def LastLogitsPass : Pass<"llm-last-logits", "::mlir::ModuleOp"> {
  let summary = "Computes a prefill's logits at the last position only";
  let description = [{
    A prefill that feeds generation needs the next-token logits of each
    sequence, its last position's; yet the function imported for the prompt
    computes the final norm and the LM head at every position: on
    SmolLM/Qwen-like shapes (a vocabulary of 50k-150k against a hidden size
    under 1k) the head alone is a fifth to a quarter of the prefill's work,
    and its `[seq, vocab]` result buffer is 100-300 MB for a prompt of a
    few hundred tokens.

    This pass rewrites each cached multi-token entry point (a function with
    a `slots` argument, as `llm-insert-kv-cache` adds it, of shape `[batch,
    seq]` with seq > 1) so that every result shaped `[batch, seq, ...]` holds
    position `seq - 1` of each row alone: `[batch, 1, ...]`, the shape of the
    decode entry point's results. It walks back from the result through the
    position-wise ops that produce it (`llm.linear`, `llm.rms_norm`,
    `llm.layer_norm`, `llm.gelu`, `llm.silu`, and `arith` float ops with a
    splat constant, such as T5's rescaling before its head), each used only
    by the next, and takes the last position with a `tensor.extract_slice`
    before the first of them, which then run on one position per row. The
    last position of each row is the last real one: the runtime never pads
    within a row (every row of a call appends the same number of tokens;
    padding is whole rows, slot -1, whose results it ignores).

    Why a pass of its own rather than an option of `llm-insert-kv-cache`: the
    cache rewrite keeps each function's results, so every caller of a prefill
    still gets every position's logits; this one changes what the entry
    point returns, which only its caller knows to be enough (generation:
    yes; `llm-run --dump-logits`, perplexity and a session's prompt logits:
    no). It runs after the cache pass (the decode entry point it derives
    keeps its shapes, and the functions without a cache, such as the
    recompute path's full-sequence `forward`, are left alone), and the CPU
    pipeline adds it with `last-logits-only`; the runtime reads the
    narrowed result shape from the manifest.
  }];
  let dependentDialects = ["::mlir::tensor::TensorDialect"];
}

def QuantizePass : Pass<"llm-quantize", "::mlir::ModuleOp"> {
  let summary = "Quantizes the weights of projections (RTN, GPTQ or AWQ)";
  let description = [{
    On a CPU, decode streams every weight from memory once per token, so a
    model's speed is its size: 8-bit weights decode about 4x faster than
    fp32 and 4-bit ones more again, for a small loss of accuracy.
    Quantization is a change of type: this pass rewrites each `llm.param`
    that only projections read (`llm.linear`, `llm.linear_rope`) from a 2-D
    float tensor to `!llm.qweight<[out]x[in], bits, group, scale = f32,
    [symmetric,] packing>`, and `llm-lower-to-cpu` picks the integer kernels
    by that type. The runtime quantizes the checkpoint's float weight once,
    when it binds the parameters, to nearest (RTN) per group of `group-size`
    input features: symmetric 8-bit values in [-127, 127] scaled by the
    group's max |w| / 127, symmetric 4-bit values in [-8, 7] with the
    largest-magnitude element at -8 (llama.cpp's Q4_0), or, with
    `symmetric=false`, the group's [min, max] on 2^bits levels.

    Rounding to nearest is the default (`method=rtn`). `method=gptq` and
    `method=awq` choose the values from calibration data instead, and mark
    the parameters `quant_method`: GPTQ rounds one input feature at a time
    and corrects the features not yet rounded by the inverse Hessian of the
    layer's inputs (X^T X), so the layer's outputs on those inputs change as
    little as possible; AWQ scales each input feature by a factor searched
    per layer from the activations' mean magnitude (the salient features
    lose less), folds the inverse scale into the norm or projection before,
    then rounds to nearest. The values depend on data the IR does not hold:
    the JIT computes them (`llm-run --calib`), running the float model
    through its own kernels to capture every projection's inputs, and the
    runtime refuses to bind a marked weight without them.

    Mixture-of-experts weights stacked `[experts, out, in]` that only
    `llm.moe` reads as its gate, up or down become rank-3 qweights (each
    expert's matrix quantized alike; always rounded to nearest, without
    `int8_activations` or `quant_method`); the router stays in float.

    Parameters whose name contains one of the `skip` patterns keep their
    type; by default the LM head (`lm_head`), as transformers' quantizers
    do. Embedding tables are never quantized (their lookup reads floats), so
    a tied LM head stays in float too. The decision is per parameter name
    across the module, like `llm-pack-weights`, which leaves quantized
    weights alone.

    The group size must be 0 (one group per output row) or a multiple of
    32 that divides the weight's input features: the kernels quantize the
    activations per block of 32, and a block never straddles two groups. A
    weight it does not divide is an error that names it.

    Example:

    ```mlir
    %w = llm.param "model.layers.0.mlp.down_proj.weight" : tensor<64x128xf32>
    // with --llm-quantize="bits=4 group-size=32" becomes
    %w = llm.param "model.layers.0.mlp.down_proj.weight"
        : !llm.qweight<64x128, bits = 4, group = 32, scale = f32, symmetric, packing = nibble>
    ```
  }];
  let options = [
    Option<"bits", "bits", "int64_t", /*default=*/"8",
           "Bits per weight: 8 or 4">,
    Option<"groupSize", "group-size", "int64_t", /*default=*/"32",
           "Input features per scale: 0 (per output channel) or a multiple "
           "of 32 that divides them">,
    Option<"symmetric", "symmetric", "bool", /*default=*/"true",
           "Scales only (true), or scales and zero points (false)">,
    Option<"method", "method", "std::string", /*default=*/"\"rtn\"",
           "How values are chosen: rtn (round to nearest), gptq or awq "
           "(from calibration data; marks the parameters quant_method)">,
    Option<"activations", "activations", "std::string",
           /*default=*/"\"none\"",
           "none, or int8 (W8A8: prefill on integer dot products with each "
           "row of activations quantized to int8; marks the parameters "
           "int8_activations)">,
    Option<"skip", "skip", "std::string", /*default=*/"\"lm_head\"",
           "Comma-separated parameter-name patterns (substrings) kept in "
           "float; empty quantizes the LM head too">,
  ];
}

//===----------------------------------------------------------------------===//
// Mixture of experts
//===----------------------------------------------------------------------===//

def SpecializeMoEPass : Pass<"llm-specialize-moe", "::mlir::ModuleOp"> {
  let summary = "Rewrites llm.moe into routing, permutation, grouped GEMMs "
                "and combine";
  let description = [{
    `llm.moe` is one opaque layer: lowered as a whole, its kernel allocates
    per call, routes, gathers each expert's rows and runs the experts one
    after another, and nothing about the dispatch is visible to the
    compiler. This pass spells it out in the IR:

    ```mlir
    %logits = llm.linear %x, %router          // [tokens..., experts]
    %w, %i = llm.moe_route %logits {top_k, normalize}
    %p, %offsets, %sources = llm.moe_permute %x, %i {num_experts}
    %g = llm.grouped_matmul %p, %gate, %offsets
    %u = llm.grouped_matmul %p, %up, %offsets
    %a = llm.glu %g, %u {activation}
    %d = llm.grouped_matmul %a, %down, %offsets
    %y = llm.moe_combine %d, %w, %sources     // [tokens..., hidden]
    ```

    Routing follows the models' rules: a softmax over every expert, the
    top k with ties to the lower index, renormalized when `normalize`
    (Mixtral, `norm_topk_prob`). Permutation copies each token once per
    chosen expert, grouped by expert with offsets computed at run time: no
    token is dropped. The grouped products read only the experts some token
    chose, in one of two forms chosen statically by the layer's token
    count. The prefill form (more than `decode-max-tokens` tokens) runs a
    GEMM per expert over its rows. The decode form (`{decode}` on
    `llm.grouped_matmul`) streams each chosen expert's matrix once and
    splits the output rows of all of them across the threads in one
    parallel region: a decoded token's 2 experts of 8 keep every core busy,
    and its 8 of 64 cost one fork-join, not eight. The combine sums the
    weighted rows back in token order, in expert order as transformers
    does. Every intermediate is a tensor of static shape, so
    `llm-lower-to-cpu` places it in the function's arena: nothing is
    allocated per call.

    Quantized experts (`llm-quantize`'s rank-3 `!llm.qweight`) go into the
    grouped products as they are, each expert's matrix on the integer
    kernels; gate, up and down may each be quantized or not. An `llm.moe`
    whose shapes are not static is left as it is with a remark saying why
    (no backend lowers it). Shared experts (Qwen2-MoE) are dense ops next
    to `llm.moe` already, and stay so.

    `capacity-factor` (> 0, off by default) bounds each expert's rows to
    ceil(factor x tokens x top_k / experts), as capacity-limited MoE
    training does: an expert's copies past that, in token order, are
    dropped (a dropped choice adds nothing to its token). Models trained
    without it, as every one LLMC imports, need it off.
  }];
  let options = [
    Option<"capacityFactor", "capacity-factor", "double", /*default=*/"0.0",
           "Rows per expert at most factor x tokens x top_k / experts; "
           "copies past them are dropped (0: none, no token dropped)">,
    Option<"decodeMaxTokens", "decode-max-tokens", "int64_t",
           /*default=*/"8",
           "Layers of at most this many tokens take the decode form (each "
           "chosen expert streamed once, all their output rows split "
           "across the threads); more take the prefill form (a GEMM per "
           "expert). 0: always the prefill form">
  ];
  let dependentDialects = ["::mlir::llm::LLMDialect"];
}

def PackWeightsPass : Pass<"llm-pack-weights", "::mlir::ModuleOp"> {
  let summary = "Chooses the panel layout for the weights of projections";
  let description = [{
    A GEMM runs at the speed of its microkernel only when the operand it
    streams is contiguous in the order the microkernel reads it. A checkpoint
    stores a projection's weight `[out, in]` row by row; the CPU GEMM reads
    it as panels of `panel-rows` (48) output features, `in` steps of 48
    contiguous values each, so that every step is three vector loads from
    one cache line stream, and the decode GEMV reads one sequential stream
    per panel. Repacking on every call would cost a pass over the weight for
    each prompt; this pass makes the layout part of the compiled model, and
    the runtime repacks each weight once, when it binds the parameters.

    It sets `panels = panel-rows` on every `llm.param` whose 2-D f32, f16 or
    bf16 result is read only as the weight of `llm.linear` or
    `llm.linear_rope`, or as the table of `llm.embedding` (a tied LM head:
    its kernel gathers a row from the panels). The decision is per parameter
    name across the module, so the prefill and decode entry points share
    one packed copy. Any other use (a MoE expert, a `llm.matmul` operand, a
    parameter already marked with another width, a quantized weight) keeps
    the archive's row layout. Run it last before `llm-lower-to-cpu`; the CPU
    pipeline does, unless `pack-weights=false`.

    Example:

    ```mlir
    %w = llm.param "lm_head.weight" : tensor<256x64xf32>
    %y = llm.linear %x, %w : tensor<1x5x64xf32>, tensor<256x64xf32> -> tensor<1x5x256xf32>
    // becomes
    %w = llm.param "lm_head.weight" {panels = 48 : i64} : tensor<256x64xf32>
    ```
  }];
  let options = [
    Option<"panelRows", "panel-rows", "int64_t", /*default=*/"48",
           "Output features per panel: the CPU kernels' LLMK_PANEL_ROWS">,
  ];
}

#endif // LLM_PASSES_PASSES_TD
