//===- LLMAttrs.td - Enums and attributes of the llm dialect -*- tablegen -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_DIALECTS_LLM_IR_LLMATTRS_TD
#define LLM_DIALECTS_LLM_IR_LLMATTRS_TD

include "llm/dialects/LLM/IR/LLMBase.td"
include "mlir/IR/EnumAttr.td"

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

def LLM_MaskKind : I32EnumAttr<"MaskKind", "attention mask kind", [
    I32EnumAttrCase<"Causal", 0, "causal">,
    I32EnumAttrCase<"Bidirectional", 1, "bidirectional">,
    I32EnumAttrCase<"SlidingWindow", 2, "sliding_window">,
    I32EnumAttrCase<"Padding", 3, "padding">]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::llm";
}
def LLM_MaskKindAttr : EnumAttr<LLM_Dialect, LLM_MaskKind, "mask"> {
  let assemblyFormat = "`<` $value `>`";
}

def LLM_RopePairing : I32EnumAttr<"RopePairing", "rotary pairing of features", [
    I32EnumAttrCase<"NeoX", 0, "neox">,
    I32EnumAttrCase<"GPTJ", 1, "gptj">]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::llm";
}
def LLM_RopePairingAttr : EnumAttr<LLM_Dialect, LLM_RopePairing, "pairing"> {
  let assemblyFormat = "`<` $value `>`";
}

def LLM_RopeScalingKind : I32EnumAttr<"RopeScalingKind", "rotary scaling kind", [
    I32EnumAttrCase<"None", 0, "none">,
    I32EnumAttrCase<"Linear", 1, "linear">,
    I32EnumAttrCase<"Dynamic", 2, "dynamic">,
    I32EnumAttrCase<"Yarn", 3, "yarn">,
    I32EnumAttrCase<"Llama3", 4, "llama3">]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::llm";
}

def LLM_GeluApproximation : I32EnumAttr<"GeluApproximation",
                                        "GELU approximation", [
    I32EnumAttrCase<"None", 0, "none">,
    I32EnumAttrCase<"Tanh", 1, "tanh">]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::llm";
}
def LLM_GeluApproximationAttr
    : EnumAttr<LLM_Dialect, LLM_GeluApproximation, "gelu_approximation"> {
  let assemblyFormat = "`<` $value `>`";
}

def LLM_Activation : I32EnumAttr<"Activation", "gate activation", [
    I32EnumAttrCase<"SiLU", 0, "silu">,
    I32EnumAttrCase<"GELU", 1, "gelu">,
    I32EnumAttrCase<"GELUTanh", 2, "gelu_tanh">,
    I32EnumAttrCase<"ReLU", 3, "relu">]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::llm";
}
def LLM_ActivationAttr : EnumAttr<LLM_Dialect, LLM_Activation, "activation"> {
  let assemblyFormat = "`<` $value `>`";
}

def LLM_QuantPacking : I32EnumAttr<"QuantPacking", "quantized weight packing", [
    I32EnumAttrCase<"Byte", 0, "byte">,
    I32EnumAttrCase<"Nibble", 1, "nibble">,
    I32EnumAttrCase<"GPTQ", 2, "gptq">,
    I32EnumAttrCase<"AWQ", 3, "awq">,
    I32EnumAttrCase<"NibblePlane", 4, "nibble_plane">]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::llm";
}


def LLM_ArgKind : I32EnumAttr<"ArgKind", "what an entry point's argument holds", [
    I32EnumAttrCase<"Tokens", 0, "tokens">,
    I32EnumAttrCase<"Positions", 1, "positions">,
    I32EnumAttrCase<"TokenTypes", 2, "token_types">,
    I32EnumAttrCase<"EncoderTokens", 3, "encoder_tokens">,
    I32EnumAttrCase<"KVCache", 4, "kv_cache">,
    I32EnumAttrCase<"Slots", 5, "slots">,
    I32EnumAttrCase<"BlockTables", 6, "block_tables">,
    I32EnumAttrCase<"ContextLens", 7, "context_lens">,
    I32EnumAttrCase<"CrossCache", 8, "cross_cache">,
    I32EnumAttrCase<"CrossSlots", 9, "cross_slots">,
    I32EnumAttrCase<"CrossBlockTables", 10, "cross_block_tables">,
    I32EnumAttrCase<"CrossContextLens", 11, "cross_context_lens">]> {
  let cppNamespace = "::mlir::llm";
  let genSpecializedAttr = 0;
}
def LLM_ArgKindAttr : EnumAttr<LLM_Dialect, LLM_ArgKind, "arg_kind"> {
  let assemblyFormat = "`<` $value `>`";
  let summary = "The role of an entry point's argument";
  let description = [{
    Tells the runtime what to pass in an argument of an entry point, so
    that it never infers it from positions or types: the token ids the
    result is computed for (`tokens`; the decoder's in an encoder-decoder
    model), their `positions` and `token_types`, an encoder-decoder model's
    `encoder_tokens`, and the paged KV cache (`kv_cache`, the `slots` the
    call's keys are written to, the `block_tables` and `context_lens` of its
    sequences), with the same four for the static cross-attention cache.
    Importers and `llm-insert-kv-cache` put it on function arguments as
    `llm.arg_kind`; code generation writes it into the entry-point manifest.

    Example: `func.func @f(%ids: tensor<1x5xi64> {llm.arg_kind = #llm.arg_kind<tokens>})`
  }];
}

def LLM_ModelKind : I32EnumAttr<"ModelKind", "transformer family shape", [
    I32EnumAttrCase<"Decoder", 0, "decoder">,
    I32EnumAttrCase<"Encoder", 1, "encoder">,
    I32EnumAttrCase<"EncoderDecoder", 2, "encoder_decoder">]> {
  let cppNamespace = "::mlir::llm";
  let genSpecializedAttr = 0;
}
def LLM_ModelKindAttr : EnumAttr<LLM_Dialect, LLM_ModelKind, "model_kind"> {
  let assemblyFormat = "`<` $value `>`";
  let summary = "Decoder-only, encoder-only or encoder-decoder";
}

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

/// A 64-bit float parameter, printed so that it parses back bit-exactly.
class LLM_F64Parameter<string default>
    : AttrOrTypeParameter<"::llvm::APFloat", "64-bit float"> {
  let comparator = "$_lhs.bitwiseIsEqual($_rhs)";
  let parser = "::mlir::llm::parseF64Parameter($_parser)";
  let printer = "::mlir::llm::printF64Parameter($_printer, $_self)";
  let defaultValue = default;
}

/// A list of 64-bit integers, written `[1, 2]` (empty: omitted).
def LLM_I64ListParameter
    : ArrayRefParameter<"int64_t", "list of 64-bit integers"> {
  let parser = "::mlir::llm::parseI64List($_parser)";
  let printer = "::mlir::llm::printI64List($_printer, $_self)";
  let defaultValue = "::llvm::SmallVector<int64_t>()";
  let comparator = "::llvm::ArrayRef<int64_t>($_lhs) == ::llvm::ArrayRef<int64_t>($_rhs)";
}

class LLM_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<LLM_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

def LLM_RopeScalingAttr : LLM_Attr<"RopeScaling", "rope_scaling"> {
  let summary = "How rotary frequencies are stretched for long contexts";
  let description = [{
    Mirrors the `rope_scaling` block of a Hugging Face `config.json`.

    - `linear`: positions are divided by `factor`.
    - `dynamic`: NTK-aware; the base grows once the sequence passes
      `original_max_position`.
    - `yarn`: frequencies are blended between interpolation and
      extrapolation with the ramp `beta_fast`..`beta_slow`, and attention is
      scaled by `attention_factor` (0 means the YaRN default,
      `0.1 * ln(factor) + 1`).
    - `llama3`: wavelengths longer than `original_max_position /
      low_freq_factor` are divided by `factor`, shorter than
      `original_max_position / high_freq_factor` are kept, and the band in
      between is interpolated.

    Example:

    ```mlir
    #llm.rope_scaling<kind = llama3, factor = 8.0, original_max_position = 8192,
                      low_freq_factor = 1.0, high_freq_factor = 4.0>
    ```
  }];
  let parameters = (ins
    EnumParameter<LLM_RopeScalingKind>:$kind,
    LLM_F64Parameter<"::llvm::APFloat(1.0)">:$factor,
    DefaultValuedParameter<"int64_t", "0">:$original_max_position,
    LLM_F64Parameter<"::llvm::APFloat(1.0)">:$low_freq_factor,
    LLM_F64Parameter<"::llvm::APFloat(4.0)">:$high_freq_factor,
    LLM_F64Parameter<"::llvm::APFloat(32.0)">:$beta_fast,
    LLM_F64Parameter<"::llvm::APFloat(1.0)">:$beta_slow,
    LLM_F64Parameter<"::llvm::APFloat(0.0)">:$attention_factor);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}


def LLM_ModelInfoAttr : LLM_Attr<"ModelInfo", "model"> {
  let summary = "What the runtime needs to know about an imported model";
  let description = [{
    Recorded by importers on the module as `llm.model` and written by code
    generation into the entry-point manifest, so that a runtime with no
    compiler knows how to drive the model: its `model_type` (`type`), its
    `kind`, the vocabulary and hidden sizes, the offset of position ids
    (RoBERTa: padding index + 1), the ids that end generation, the first
    decoder token of an encoder-decoder model, the longest sequence its
    positions support (`max_positions`, 0: unbounded; a learned position
    table ends there), the context it was trained for (`context_length`, 0:
    none; rotary positions go further, but the model was not trained for
    them, so the runtime refuses them unless told otherwise) and its
    attention window when every self-attention layer has the same sliding
    window (0: none), which lets the runtime free the cache blocks that fall
    out of it.

    Example:

    ```mlir
    module attributes {llm.model = #llm.model<type = "mistral", kind = decoder,
        vocab_size = 32000, hidden_size = 4096, eos_token_ids = [2],
        context_length = 32768, sliding_window = 4096>} {}
    ```
  }];
  let parameters = (ins
    StringRefParameter<"model_type of config.json">:$type,
    EnumParameter<LLM_ModelKind>:$kind,
    "int64_t":$vocab_size,
    "int64_t":$hidden_size,
    DefaultValuedParameter<"int64_t", "0">:$position_offset,
    LLM_I64ListParameter:$eos_token_ids,
    DefaultValuedParameter<"int64_t", "0">:$decoder_start_token_id,
    DefaultValuedParameter<"int64_t", "0">:$max_positions,
    DefaultValuedParameter<"int64_t", "0">:$context_length,
    DefaultValuedParameter<"int64_t", "0">:$sliding_window);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

#endif // LLM_DIALECTS_LLM_IR_LLMATTRS_TD
