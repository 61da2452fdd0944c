//===- ONNXImporter.h - ONNX models into the llm dialect --------*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
// An ONNX ModelProto (parsed with Protobuf, through Debian's libonnx-dev:
// the generated onnx-ml.pb.h of ONNX 1.12, which reads the models of later
// IR versions too) imported into the llm dialect at static shapes:
//
//  1. The file is parsed and checked: opset >= 14, every value defined
//     before it is read (a graph that is not topologically sorted or has a
//     cycle is an error naming the node), initializers inside the file or
//     in external data files that stay inside the model's folder, with
//     offsets and lengths checked against the file.
//  2. Shapes are inferred for the prompt length and batch the caller asks
//     for, and every node whose inputs are all constant is folded: the
//     shape arithmetic and the mask and position subgraphs that exporters
//     leave in the graph (Shape, Gather, Concat, Unsqueeze, Range, Trilu,
//     Where, ...) become constants.
//  3. From the graph's output back, what is left is raised into llm ops by
//     patterns (the match* functions of ONNXImporter.cpp): embeddings, linear
//     layers, layer_norm and rms_norm (as nodes or decomposed), gelu (erf
//     and tanh forms), silu and SwiGLU, RoPE (at the positions argument),
//     the split and merge of heads and repeat_kv, ONNX Runtime's contrib
//     norms and GELUs, and the attention core as llm.matmul / llm.softmax
//     over an additive mask, which --llm-fuse-attention raises into
//     llm.flash_attention. Residual adds and scales stay as arith ops
//     ("generic math"). docs/ONNX.md lists every pattern.
//
// A node that folds to nothing and that no pattern takes is an error that
// names it, its op type and the opset; nothing is dropped silently.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_IMPORT_ONNXIMPORTER_H
#define LLM_IMPORT_ONNXIMPORTER_H

#include "Manifest.h"
#include "SafeTensors.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>

namespace mlir::llm {

/// The static shapes to import at.
struct ONNXImportOptions {
  /// Tokens per sequence (the graph's dynamic sequence axis; the encoder's
  /// for an encoder-decoder graph).
  int64_t seqLen = 16;
  /// Decoder tokens of an encoder-decoder graph (its `decoder_input_ids`).
  int64_t decoderSeqLen = 1;
  /// The name of the imported function.
  std::string functionName = "forward";
  /// Sequences per call (the graph's dynamic batch axis).
  int64_t batch = 1;
};

/// How much of the graph was raised (`--onnx-stats`).
struct ONNXImportStats {
  /// Nodes in the ONNX graph.
  int64_t onnxNodes = 0;
  /// Nodes folded into constants (shape, mask and position arithmetic).
  int64_t foldedNodes = 0;
  /// Nodes consumed by each raising pattern ("layer_norm" -> 18).
  std::map<std::string, int64_t> raisedNodes;
  /// Ops of the imported function, by name ("llm.linear" -> 12).
  std::map<std::string, int64_t> ops;
  /// The `ops` that are not llm ops: the generic math left (arith).
  int64_t genericOps = 0;
};

/// `stats` as the lines `--onnx-stats` prints.
std::string formatONNXStats(const ONNXImportStats &stats);

struct ONNXModel {
  OwningOpRef<ModuleOp> module;
  /// The initializers, named as in the graph, for `llm.param`.
  std::shared_ptr<const llmrt::SafeTensorsArchive> weights;
  /// What the graph says of the model: type "onnx"; an encoder-decoder
  /// when it takes `decoder_input_ids`, else a decoder when its output is
  /// over the token embedding's rows (logits), else an encoder (hidden
  /// states); the vocabulary and hidden size of that embedding. With a
  /// config.json beside the file (one LLMC reads): its model type (as
  /// "<type> (onnx)"), stop tokens, decoder start, position limit and
  /// sliding window.
  llmrt::ModelInfo info;
  ONNXImportStats stats;
};

/// Whether `path` names an ONNX file (by its extension).
bool isONNXPath(llvm::StringRef path);

/// Imports the ONNX model at `path`. Errors name the file and the node,
/// initializer or field, with the expected and the found value.
llvm::Expected<ONNXModel> importONNX(MLIRContext &context, llvm::StringRef path,
                                     const ONNXImportOptions &options);

/// Imports the ModelProto `bytes`, named `name` in messages (external data
/// resolves against its folder). The bytes need not outlive the call.
llvm::Expected<ONNXModel> importONNXBuffer(MLIRContext &context,
                                           llvm::StringRef bytes,
                                           llvm::StringRef name,
                                           const ONNXImportOptions &options);

} // namespace mlir::llm

#endif // LLM_IMPORT_ONNXIMPORTER_H
