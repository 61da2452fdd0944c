//===- UnusedTensors.cpp - Checkpoint tensors an import leaves unread -----===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// A config.json that describes less than its checkpoint holds (fewer layers
// than were trained, fewer experts) imports fine and computes something
// else. transformers warns about the weights it did not use; the importer
// finds them from what the imported module reads, the `llm.param` ops, so
// that every family is covered by one walk.
//
//===----------------------------------------------------------------------===//

#include "llm/Import/HFImporter.h"

#include "llm/dialects/LLM/IR/LLMOps.h"

#include "SafeTensors.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"

#include <algorithm>

using namespace mlir;
using namespace mlir::llm;

/// `name` with every all-digit component replaced by '#':
/// "model.layers.12.mlp.up_proj.weight" -> "model.layers.#.mlp.up_proj.weight".
static std::string getNumberlessName(llvm::StringRef name) {
  llvm::SmallVector<llvm::StringRef> parts;
  name.split(parts, '.');
  std::string out;
  for (auto [i, part] : llvm::enumerate(parts)) {
    if (i)
      out += '.';
    bool number = !part.empty() && llvm::all_of(part, llvm::isDigit);
    out += number ? llvm::StringRef("#") : part;
  }
  return out;
}

/// Buffers that checkpoints carry and transformers drops on load too
/// (`_keys_to_ignore_on_load_unexpected` and tied weights): precomputed
/// rotary frequencies, GPT-2's causal mask buffers, position-id ranges, and
/// the output projection of a model whose embeddings it ties to. BERT's
/// pooler is part of BertModel, but its output is not the last hidden state
/// the importer returns.
static bool isIgnoredBuffer(llvm::StringRef name) {
  return name.ends_with("rotary_emb.inv_freq") || name.starts_with("pooler.") ||
         name.ends_with("attn.masked_bias") || name.ends_with("attn.bias") ||
         name.ends_with("position_ids") || name == "lm_head.weight" ||
         name.ends_with("embed_tokens.weight");
}

UnusedTensors mlir::llm::findUnusedTensors(ModuleOp module,
                                           const SafeTensorsArchive &archive) {
  llvm::StringSet<> read, readShapes;
  auto addRead = [&](llvm::StringRef name) {
    read.insert(name);
    readShapes.insert(getNumberlessName(name));
  };
  module.walk([&](ParamOp param) {
    if (std::optional<ArrayAttr> stacked = param.getStacked()) {
      for (Attribute name : *stacked)
        addRead(cast<StringAttr>(name).getValue());
      return;
    }
    if (param.getCheckpointFormat() &&
        !param.getCheckpointFormat()->starts_with("ggml_")) {
      // A pre-quantized projection: its packed tensors.
      for (llvm::StringRef suffix :
           {".qweight", ".qzeros", ".scales", ".g_idx"})
        addRead((param.getName() + suffix).str());
      return;
    }
    addRead(param.getName());
  });
  UnusedTensors unused;
  for (const llmrt::TensorInfo *tensor : archive.tensors()) {
    llvm::StringRef name = tensor->name;
    if (read.contains(name))
      continue;
    if (readShapes.contains(getNumberlessName(name)))
      unused.repeated.push_back(tensor->name);
    else if (!isIgnoredBuffer(name))
      unused.other.push_back(tensor->name);
  }
  llvm::sort(unused.repeated);
  llvm::sort(unused.other);
  return unused;
}
