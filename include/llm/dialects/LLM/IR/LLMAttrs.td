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
    I32EnumAttrCase<"AWQ", 3, "awq">]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::llm";
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

#endif // LLM_DIALECTS_LLM_IR_LLMATTRS_TD
