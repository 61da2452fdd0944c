//===- GGUFImporter.h - GGUF files as models ---------------------*- C++
//-*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
// A GGUF file (llama.cpp's model format) opened as a model the Hugging Face
// importer builds: its config synthesized from the `{arch}.*` metadata, its
// tensors renamed to the Hugging Face names (blk.N.attn_q.weight ->
// model.layers.N.self_attn.q_proj.weight), the llama converter's row
// permutation of the query and key projections undone, and the tensors
// served in place (F32, F16, BF16) or dequantized at load (ggml's block
// formats, llmk::dequantizeGGML).
//
//===----------------------------------------------------------------------===//

#ifndef LLM_IMPORT_GGUFIMPORTER_H
#define LLM_IMPORT_GGUFIMPORTER_H

#include "llm/Import/HFImporter.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <string>
#include <vector>

namespace mlir::llm {

struct GGUFModel {
  std::unique_ptr<HFModel> model;
  std::shared_ptr<const SafeTensorsArchive> weights;
  /// What the import did that a user should know (tensors dequantized).
  std::vector<std::string> notes;
};

/// Whether `path` names a GGUF file (by its extension).
bool isGGUFPath(llvm::StringRef path);

/// Opens the GGUF file `path`: architectures llama (also Mistral-style) and
/// qwen2. Errors name the file, the key or tensor, the expected and the
/// found value.
llvm::Expected<GGUFModel> openGGUF(llvm::StringRef path);

} // namespace mlir::llm

#endif // LLM_IMPORT_GGUFIMPORTER_H
