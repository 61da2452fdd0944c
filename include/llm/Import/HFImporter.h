//===- HFImporter.h - Hugging Face folders to the llm dialect ---*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_IMPORT_HFIMPORTER_H
#define LLM_IMPORT_HFIMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/Error.h"

#include "Manifest.h"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace llmrt {
class SafeTensorsArchive;
} // namespace llmrt

namespace mlir::llm {
/// The runtime's safetensors reader (runtime/SafeTensors.h).
using llmrt::SafeTensorsArchive;
namespace hf {
class ConfigFile;
struct ModelFamily;
} // namespace hf

/// What the runtime needs to know about an imported model: the runtime's
/// own description (runtime/Manifest.h), which the importer records on the
/// module as `#llm.model` and code generation writes into the manifest.
using HFModelInfo = llmrt::ModelInfo;

/// Shapes of the imported entry point.
struct HFImportOptions {
  /// Tokens per sequence (the encoder's for encoder-decoder models).
  int64_t seqLen = 0;
  /// Decoder tokens of encoder-decoder models.
  int64_t decoderSeqLen = 0;
  /// Sequences per call, B (decoder and encoder-decoder models; encoders
  /// take one).
  int64_t batch = 1;
  /// Name of the emitted function.
  std::string functionName = "forward";
  /// Emit attention op by op (split_heads, matmul, scale, bias, mask,
  /// softmax, matmul, merge_heads) instead of llm.attention, as exported
  /// graphs spell it; --llm-fuse-attention must then raise it again.
  bool decomposeAttention = false;
};

/// A checkpoint whose projections are stored already quantized
/// (config.json's `quantization_config`), which the importer reads as
/// `!llm.qweight` parameters marked `checkpoint_format`.
struct CheckpointQuantization {
  /// "gptq" (AutoGPTQ's packing, zero points stored minus one), "gptq_v2"
  /// (GPTQModel's, zero points as they are) or "awq" (AutoAWQ's GEMM).
  std::string format;
  int bits = 4;
  /// Input features per group; 0: one group per output row.
  int64_t group = 0;
};

/// A Hugging Face model folder whose config.json (and
/// generation_config.json) has been read and checked once.
class HFModel {
public:
  /// Reads `config.json` (and `generation_config.json` when present) of
  /// `modelDir`; the error names the file, the field, and the expected and
  /// found values, and lists the supported `model_type`s.
  static llvm::Expected<std::unique_ptr<HFModel>>
  open(llvm::StringRef modelDir);
  /// A model described by the config.json text `json` (errors name
  /// `configName`), from `modelPath` (a GGUF file's synthesized config).
  static llvm::Expected<std::unique_ptr<HFModel>>
  fromConfig(llvm::StringRef json, llvm::StringRef configName,
             llvm::StringRef modelPath);
  ~HFModel();

  /// What the runtime needs to know about the model.
  const HFModelInfo &getInfo() const { return info; }
  /// A GGUF file's projection weights stored in ggml block formats the
  /// kernels read (tensor name -> "ggml_q8_0", ...), which import as
  /// quantized weights.
  void setGGMLFormats(std::map<std::string, std::string> formats) {
    ggmlFormats = std::move(formats);
  }
  /// Whether GPT-2's Conv1D weights (c_attn, c_proj, c_fc) are stored
  /// [out, in], as a GGUF file holds them, rather than [in, out].
  void setConv1DOutIn(bool outIn) { conv1dOutIn = outIn; }
  /// Whether ggml's 5- and 6-bit formats (Q5_0, Q5_1, Q5_K, Q6_K) import in
  /// the kernels' 5- and 6-bit layouts (less memory) rather than as 8-bit
  /// codes (the default: on CPUs where the integer GEMV is compute-bound,
  /// unpacking the higher bits costs more than the bytes it saves).
  void setGGMLPackedCodes(bool packed) { ggmlPackedCodes = packed; }

  /// How the checkpoint's projections are quantized, if they are.
  const std::optional<CheckpointQuantization> &
  getCheckpointQuantization() const {
    return checkpointQuantization;
  }
  /// The folder it was opened from.
  llvm::StringRef getDirectory() const { return directory; }

  /// Imports the model as `func.func @<options.functionName>` in the llm
  /// dialect, reusing the parsed config, with every weight an `llm.param` of
  /// `archive` (checked for presence, dtype and shape). Signatures, with the
  /// `llm.arg_kind` of each argument:
  /// - decoder: (ids [B, S] i64 `tokens`, positions [B, S] i64 `positions`)
  ///   -> logits [B, S, V];
  /// - encoder: (ids `tokens`, positions `positions`, token types
  ///   `token_types`) -> hidden [1, S, H];
  /// - encoder-decoder: (ids [B, S] `encoder_tokens`, decoder ids [B, T]
  ///   `tokens`) -> logits [B, T, V].
  /// The module carries getInfo() as `llm.model`.
  llvm::Expected<OwningOpRef<ModuleOp>>
  import(MLIRContext &context, const SafeTensorsArchive &archive,
         const HFImportOptions &options) const;

private:
  HFModel(std::string directory, std::unique_ptr<hf::ConfigFile> config);
  static llvm::Expected<std::unique_ptr<HFModel>>
  fromFile(hf::ConfigFile file, llvm::StringRef modelDir);

  std::string directory;
  std::unique_ptr<hf::ConfigFile> config;
  HFModelInfo info;
  std::optional<CheckpointQuantization> checkpointQuantization;
  std::map<std::string, std::string> ggmlFormats;
  bool conv1dOutIn = false;
  bool ggmlPackedCodes = false;
  /// The entry of `info.type` in the importer's table.
  const hf::ModelFamily *family = nullptr;
};

/// The checkpoint tensors an imported model leaves unread.
struct UnusedTensors {
  /// Tensors named as a read one but for its numbers
  /// (`model.layers.7.*` under num_hidden_layers 7, a fifth expert under
  /// num_local_experts 4): config.json describes less than the checkpoint
  /// holds, and the model computes something else.
  std::vector<std::string> repeated;
  /// The others: another task's head (BERT's `cls.*`), say, which
  /// transformers warns of and leaves out too.
  std::vector<std::string> other;
};

/// The tensors of `archive` that no `llm.param` of `module` reads, sorted,
/// less the buffers transformers drops on load too (rotary `inv_freq`,
/// GPT-2's `attn.bias` and `attn.masked_bias`, `position_ids`, BERT's
/// `pooler.*`, and the tied copies `lm_head.weight` and
/// `*.embed_tokens.weight`; these still count
/// as `repeated` when a numbered one like them is read).
UnusedTensors findUnusedTensors(ModuleOp module,
                                const SafeTensorsArchive &archive);

/// The `model_type`s the importer supports, comma separated.
std::string getSupportedModelTypes();

} // namespace mlir::llm

#endif // LLM_IMPORT_HFIMPORTER_H
