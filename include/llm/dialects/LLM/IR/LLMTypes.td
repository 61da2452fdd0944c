//===- LLMTypes.td - Types of the llm dialect ---------------*- tablegen -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_DIALECTS_LLM_IR_LLMTYPES_TD
#define LLM_DIALECTS_LLM_IR_LLMTYPES_TD

include "llm/dialects/LLM/IR/LLMAttrs.td"
include "mlir/IR/BuiltinTypeInterfaces.td"

class LLM_Type<string name, string typeMnemonic, list<Trait> traits = []>
    : TypeDef<LLM_Dialect, name, traits> {
  let mnemonic = typeMnemonic;
}

def LLM_KVCacheType : LLM_Type<"KVCache", "kv_cache"> {
  let summary = "A paged key/value cache";
  let description = [{
    The keys and values of every layer, stored in fixed-size blocks of
    `block_size` tokens as in vLLM's PagedAttention. A sequence owns a list
    of blocks (its block table); the number of blocks is a runtime property
    of the cache, not of its type. `dtype` is the storage type: `f32`,
    `f16`, `bf16`, or `i8` with one scale per block and head.

    Example:

    ```mlir
    !llm.kv_cache<layers = 22, kv_heads = 4, head_dim = 64, block_size = 16, dtype = f16>
    ```
  }];
  let parameters = (ins "int64_t":$numLayers, "int64_t":$numKvHeads,
                        "int64_t":$headDim, "int64_t":$blockSize,
                        "::mlir::Type":$elementType);
  let assemblyFormat = [{
    `<` `layers` `=` $numLayers `,` `kv_heads` `=` $numKvHeads `,`
        `head_dim` `=` $headDim `,` `block_size` `=` $blockSize `,`
        `dtype` `=` $elementType `>`
  }];
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Features of one token in one layer: `kv_heads * head_dim`.
    int64_t getTokenWidth() const { return getNumKvHeads() * getHeadDim(); }
    /// Bytes of keys plus values that one token occupies across all layers,
    /// counting the per-block scales of an `i8` cache.
    double getBytesPerToken() const;
  }];
}

def LLM_QuantizedType : LLM_Type<"Quantized", "qweight"> {
  let summary = "A quantized weight matrix";
  let description = [{
    A `[out, in]` weight matrix stored with `bits` (8, 6, 5 or 4) per value,
    quantized in groups of `group` consecutive input features that share a
    scale of type `scale` (and, unless `symmetric`, a zero point of `bits`
    bits). `group = per_channel` uses one group per output row. The
    `packing` says how values are laid out in bytes:

    - `byte`: one 8-bit value per byte (int8);
    - `nibble`: two 4-bit values per byte, low nibble first, along `in`;
    - `nibble_plane` (5 and 6 bits): per 32 values along `in`, their low 4
      bits as `nibble` packs them (value i and i + 16 in byte i) and a
      32-bit word per higher bit (bit i of word p is bit 4 + p of value i),
      the planes of ggml's Q5 formats;
    - `gptq`: eight 4-bit values per `i32`, along `in` (GPTQ `qweight`);
    - `awq`: eight 4-bit values per `i32`, along `out`, in AWQ's
      interleaved order.

    `llm.linear` accepts this type in place of a weight tensor, so quantizing
    a model is a change of type.

    Example (llama.cpp's Q4_0 layout: 4.5 bits per weight):

    ```mlir
    !llm.qweight<4096x4096, bits = 4, group = 32, scale = f16, symmetric, packing = nibble>
    ```
  }];
  let parameters = (ins ArrayRefParameter<"int64_t">:$shape, "unsigned":$bits,
                        "int64_t":$groupSize, "::mlir::Type":$scaleType,
                        "bool":$symmetric,
                        EnumParameter<LLM_QuantPacking>:$packing);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    int64_t getOutFeatures() const { return getShape()[0]; }
    int64_t getInFeatures() const { return getShape()[1]; }
    /// The group size actually used: `in` for per-channel quantization.
    int64_t getEffectiveGroupSize() const {
      return getGroupSize() == 0 ? getInFeatures() : getGroupSize();
    }
    int64_t getNumElements() const { return getOutFeatures() * getInFeatures(); }
    /// Number of (scale, zero point) groups in the matrix.
    int64_t getNumGroups() const;
    /// Bytes of packed quantized values.
    int64_t getPackedWeightBytes() const;
    /// Bytes of scales.
    int64_t getScaleBytes() const;
    /// Bytes of packed zero points (0 when symmetric).
    int64_t getZeroPointBytes() const;
    /// All bytes the weight occupies in the parameter archive.
    int64_t getStorageBytes() const;
    /// Storage bits per weight, e.g. 4.5 for Q4_0-like layouts.
    double getBitsPerWeight() const;
  }];
}

/// A weight operand: a float tensor or a quantized weight.
def LLM_Weight : AnyTypeOf<[LLM_Tensor, LLM_QuantizedType]>;

#endif // LLM_DIALECTS_LLM_IR_LLMTYPES_TD
