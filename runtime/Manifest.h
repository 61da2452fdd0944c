//===- Manifest.h - What the compiler tells the runtime ---------*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
// Code generation describes a compiled model in a plain, versioned JSON
// manifest (codegen/CPU/Manifest.cpp writes it); the runtime reads it here
// and never sees an MLIR type. It holds:
//
//   {"format": "llmc-manifest", "version": 1,
//    "model": {"type": "llama", "kind": "decoder", "vocab_size": 256,
//              "hidden_size": 64, "position_offset": 0, "eos_token_ids": [2],
//              "decoder_start_token_id": 0, "max_positions": 0,
//              "context_length": 64, "sliding_window": 0},
//    "params": [{"name": "model.embed_tokens.weight", "dtype": "f32",
//                "shape": [256, 64]}, ...],
//    "entry_points": [{"name": "prefill_5", "arena_bytes": 40960,
//        "args": [{"kind": "tokens", "dtype": "i64", "shape": [1, 5]},
//                 {"kind": "kv_cache", "cache": {"layers": 2, "kv_heads": 2,
//                  "head_dim": 16, "block_size": 16, "dtype": "f32"}}, ...],
//        "results": [{"dtype": "f32", "shape": [1, 5, 256]}]}, ...]}
//
// A prefill compiled for generation (llm-last-logits) returns the last
// position's logits alone: "results": [{"dtype": "f32", "shape": [1, 1,
// 256]}]; the session reads which form an entry point has from its results.
// A param may add "transpose": true, "row_blocks": [start, size, stride,
// count] or "stacked": [names] when the archive stores it in another layout,
// and "panels": 48 when the kernels read it in panels, which the runtime
// packs at load time (see `llm.param`). An argument's "kind" is one of
// `#llm.arg_kind`'s, or "input" when the compiler gave it none. "model" is
// absent for modules that no importer made.
//
// Every entry point is the native function
// `void NAME(void **params, void *arena, void **args, void **results)`.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_RUNTIME_MANIFEST_H
#define LLM_RUNTIME_MANIFEST_H

#include "Error.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llmrt {

/// The manifest version this runtime reads.
inline constexpr int64_t kManifestVersion = 1;

/// Element types of entry-point tensors and parameters.
enum class ElementType { F32, F16, BF16, I64, I32, I8, I1 };

/// Bytes of one element (i1 is stored as one byte).
int64_t getElementBytes(ElementType type);
/// "f32", "i64", ...
std::string_view getElementTypeName(ElementType type);

/// A statically shaped tensor.
struct TensorDesc {
  ElementType dtype = ElementType::F32;
  std::vector<int64_t> shape;
  int64_t getNumElements() const;
};

/// The roles of entry-point arguments (`#llm.arg_kind`).
enum class ArgKind {
  Input, ///< No role given by the compiler.
  Tokens,
  Positions,
  TokenTypes,
  EncoderTokens,
  KVCache,
  Slots,
  BlockTables,
  ContextLens,
  CrossCache,
  CrossSlots,
  CrossBlockTables,
  CrossContextLens,
};

/// "tokens", "kv_cache", ... as the manifest spells them.
std::string_view getArgKindName(ArgKind kind);

/// The shape and storage of a paged KV cache (`!llm.kv_cache`).
struct CacheLayout {
  int64_t layers = 0;
  int64_t kvHeads = 0;
  int64_t headDim = 0;
  int64_t blockSize = 0;
  /// LLMK_F32, LLMK_F16, LLMK_BF16 or LLMK_I8 (Kernels.h).
  int32_t dtype = 0;
};

/// One argument of an entry point: a tensor, or a cache descriptor.
struct ArgDesc {
  ArgKind kind = ArgKind::Input;
  TensorDesc tensor;
  /// Set for cache arguments (kv_cache, cross_cache).
  std::optional<CacheLayout> cache;
};

/// One native entry point.
struct EntryDesc {
  std::string name;
  int64_t arenaBytes = 0;
  std::vector<ArgDesc> args;
  std::vector<TensorDesc> results;

  /// The index of the first argument of `kind`, or -1.
  int findArg(ArgKind kind) const;
  /// The argument of `kind`; it must exist.
  const ArgDesc &getArg(ArgKind kind) const { return args[findArg(kind)]; }
  bool hasArg(ArgKind kind) const { return findArg(kind) >= 0; }
};

/// One weight that the native code reads, in `params` order.
struct ParamDesc {
  std::string name;
  ElementType dtype = ElementType::F32;
  std::vector<int64_t> shape;
  bool transpose = false;
  /// start, size, stride, count: rows gathered from a fused tensor.
  std::optional<std::array<int64_t, 4>> rowBlocks;
  /// Tensors stacked along a new leading dimension.
  std::vector<std::string> stacked;
  /// Rows per panel when the kernels read the 2-D weight in panels
  /// (LLMK_LAYOUT_PANELS; the only value is LLMK_PANEL_ROWS), else 0.
  int64_t panels = 0;
  /// How the runtime quantizes the 2-D weight (read as f32) for
  /// llmk_linear_q ("quant": {"bits", "group", "symmetric",
  /// "int8_activations", "method"}).
  struct Quantization {
    int bits = 8;
    int64_t group = 0;
    bool symmetric = true;
    /// The projections run on int8 activations (W8A8): the packed weight
    /// carries the integer GEMM's copy too.
    bool int8Activations = false;
    /// How the values are chosen: rtn (to nearest, by the runtime), gptq
    /// or awq (from calibration: the compiler supplies them, ParamValue).
    std::string method = "rtn";
    /// Non-empty: the checkpoint holds the weight quantized, packed by
    /// "gptq" (zero points stored minus one), "gptq_v2" or "awq" (GEMM),
    /// in the tensors `name.qweight`, `.qzeros`, `.scales` (and `.g_idx`).
    std::string checkpoint;
    /// A GPTQ checkpoint's act-order: the features are stored grouped (by
    /// g_idx) and the permutation follows the weight (LLMK_QUANT_PERMUTED).
    bool actOrder = false;
  };
  std::optional<Quantization> quant;
};

enum class ModelKind { Decoder, Encoder, EncoderDecoder };

/// What the runtime needs to know about a model (`#llm.model`).
struct ModelInfo {
  std::string type;
  ModelKind kind = ModelKind::Decoder;
  int64_t vocabSize = 0;
  int64_t hiddenSize = 0;
  /// Position ids are `positionOffset + index` (RoBERTa: padding index + 1).
  int64_t positionOffset = 0;
  std::vector<int64_t> eosTokenIds;
  int64_t decoderStartTokenId = 0;
  /// Longest sequence the positions support (0: unbounded).
  int64_t maxPositions = 0;
  /// The context the model was trained for (0: none): positions past it are
  /// refused unless the session allows them.
  int64_t contextLength = 0;
  /// The attention window of every self-attention layer (0: none).
  int64_t slidingWindow = 0;
};

/// A parsed and checked manifest.
struct Manifest {
  int64_t version = kManifestVersion;
  std::optional<ModelInfo> model;
  std::vector<ParamDesc> params;
  std::vector<EntryDesc> entries;

  /// Parses `text`; `source` names it in errors ("<source>: field
  /// 'entry_points'[2].args[0].kind: expected ..., found ...").
  static Expected<Manifest> parse(std::string_view text,
                                  std::string_view source);
  /// The entry point called `name`, or null.
  const EntryDesc *find(std::string_view name) const;
};

} // namespace llmrt

#endif // LLM_RUNTIME_MANIFEST_H
