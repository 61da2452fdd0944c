//===- JIT.h - Compile models in-process for the runtime --------*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
// The in-process path from a model to something libllmrt runs: import the
// functions a run needs (one per shape, in one module so that they share
// the bound weights), run the CPU pipeline, write the entry-point manifest,
// compile with the ORC JIT, and hand the native code and the weights to an
// `llmrt::Model`. Host applications that compile their own IR use
// `jitCompile` on a lowered module. The C view of this is
// include/llm-c/JIT.h.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_JIT_JIT_H
#define LLM_JIT_JIT_H

#include "llm/passes/Passes.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace llmrt {
class Model;
class SafeTensorsArchive;
struct Manifest;
struct ParamValue;
struct Prompt;
using ParamValues = std::map<size_t, ParamValue>;
} // namespace llmrt

namespace mlir::llm {
class HFModel;

/// Largest block size, prompt or generation length the tools accept: keeps
/// every size derived from them far from int64 overflow.
inline constexpr int64_t kMaxSequenceLength = int64_t(1) << 20;

/// The entry points one compilation produces.
struct JITOptions {
  /// Cached entry points (prefill and decode over a paged KV cache) rather
  /// than the full-sequence `forward`.
  bool kvCache = false;

  /// Without the cache: `forward` over `seqLen` tokens (an encoder-decoder
  /// model's encoder tokens, with `decoderSeqLen` decoder tokens).
  int64_t seqLen = 0;
  int64_t decoderSeqLen = 0;

  /// With the cache, a decoder-only model: one prefill entry point per
  /// prompt length. An encoder-decoder model: one prefill entry point (and
  /// one encoder entry point) per encoder input length, all for the decoder
  /// prompt of `decoderPromptLen` tokens.
  std::vector<int64_t> promptLens;
  std::vector<int64_t> encoderLens;
  int64_t decoderPromptLen = 0;
  /// Sequences of the decode entry point (one token each; 0: none).
  int64_t decodeBatch = 0;
  /// Longest sequence a block table describes.
  int64_t maxSeqLen = 0;
  int64_t blockSize = kDefaultKVBlockSize;
  /// f32, f16, bf16 or i8.
  std::string cacheDtype = "f32";
  /// With the cache: the prefill entry points return the logits of the
  /// prompt's last position alone ([1, 1, vocab], llm-last-logits), all
  /// that generation reads; without this, every position's ([1, prompt,
  /// vocab]), which prompt logits (llm-run --dump-logits, perplexity,
  /// GenerateParams::keepPromptLogits) need.
  bool lastLogitsOnly = false;

  /// Quantize the projections' weights (llm-quantize): 8 or 4 bits, 0 for
  /// none; groups of `quantizeGroupSize` input features (0: per output
  /// row), symmetric or with zero points; names containing one of the
  /// comma-separated `quantizeSkip` patterns stay in float.
  int quantizeBits = 0;
  int64_t quantizeGroupSize = 32;
  bool quantizeSymmetric = true;
  std::string quantizeSkip = "lm_head";
  /// With quantizeBits: prefill on int8 activations (W8A8).
  bool quantizeActivations = false;
  /// With quantizeBits: how the values are chosen: "rtn" (to nearest),
  /// "gptq" or "awq", which run the float model on `calibrationTokens`
  /// first (lib/JIT/Calibrate.cpp).
  std::string quantizeMethod = "rtn";
  /// Token ids of the calibration text, run in windows of
  /// `calibrationWindow` tokens (at most the model's context).
  std::vector<int64_t> calibrationTokens;
  int64_t calibrationWindow = 512;
  /// GPTQ: dampening (a fraction of the Hessian's mean diagonal) and
  /// act-order.
  double gptqDamp = 0.01;
  bool gptqActOrder = false;
  /// Receives what calibration did (tokens, time, per-layer errors) when
  /// set.
  std::function<void(const std::string &)> note;

  /// "cpu", or "cuda": code that launches the CUDA kernels
  /// (llm-lower-to-cuda), for a model run with a launch executor.
  std::string target = "cpu";

  /// Import attention op by op; the attention passes must then fuse it.
  bool decomposeAttention = false;
  /// Run llm-lower-alibi and llm-fuse-attention.
  bool attentionPasses = true;
  /// MoE layers of at most this many tokens take llm-specialize-moe's decode
  /// form (0: always the prefill form).
  int64_t moeDecodeMaxTokens = 8;
  /// Write the imported IR of `forward` here, before any pass.
  std::string emitMlir;
  unsigned optLevel = 3;
  /// Refuse a model whose repacked weights and arena exceed the memory
  /// available, before allocating them.
  bool checkMemory = true;
  /// Compile a model whose checkpoint holds tensors that repeat read ones
  /// under other numbers (layers past num_hidden_layers, experts past
  /// num_local_experts), which is refused otherwise: config.json and the
  /// checkpoint disagree.
  bool allowUnusedWeights = false;
  /// Receives warnings (unused checkpoint tensors, a damaged compile-cache
  /// entry); null drops them.
  std::function<void(const std::string &)> warn;

  /// Called with each pass's name as the pipeline runs it (compile-time
  /// progress); null: nothing.
  std::function<void(llvm::StringRef)> onPass;

  /// The compile cache's folder (llm/JIT/CompileCache.h): a compilation
  /// whose key it holds loads the code compiled before, and one it does
  /// not is compiled to a shared object stored there. Empty: compile in
  /// memory with the ORC JIT every time. Calibrated quantization (its
  /// values come from running the model) and emitMlir always compile.
  std::string cacheDir;
  /// What else decides the code, for the cache key (the GGUF import's
  /// options).
  std::string cacheKeyExtra;
};

/// The entry points a run over `prompts` needs (as llmrt::generate takes
/// them: an encoder-decoder model's decoder prompts and encoder inputs).
/// With the cache: a prefill entry point per prompt length (per encoder
/// input length, for the one decoder prompt, of an encoder-decoder model)
/// and a decode entry point for every prompt at once, or for `numBeams`
/// beams. Without it: one full-sequence entry point for the longest prompt
/// plus `maxNewTokens` (causal attention makes position i independent of
/// the unused tail). With the cache the prefills compute the last
/// position's logits only (`lastLogitsOnly`): a caller that reads the
/// prompt's logits turns it off. Block size and cache dtype are left to the
/// caller.
JITOptions planCompilation(bool encoderDecoder, bool encoderOnly,
                           const std::vector<llmrt::Prompt> &prompts,
                           int64_t maxNewTokens, int64_t numBeams,
                           bool kvCache);

/// Sets the quantization of `options` from the tools' `--quantize` value
/// (already checked): "int8", "int4", "w8a8" (int8 weights, int8
/// activations in prefill) or "" (none).
void setQuantizeFlag(JITOptions &options, llvm::StringRef quantize);

/// Checks the KV-cache options, naming llm-run's flags: `--kv-block-size`
/// in [1, kMaxSequenceLength], `--kv-dtype` f32, f16, bf16 or i8. The one
/// place these are checked before compiling.
llvm::Error checkKVCacheOptions(int64_t blockSize, llvm::StringRef dtype);

/// Checks the quantization options of JITOptions (bits 0, 8 or 4; a group
/// size of 0 or a multiple of 32; method rtn, gptq or awq, the last two with
/// calibration tokens), naming the llm-run flag at fault.
llvm::Error checkQuantizeOptions(const JITOptions &options);

/// Where a compilation spent its time, in seconds.
struct JITTimings {
  double import = 0;
  /// The pass pipeline down to the LLVM dialect.
  double lower = 0;
  /// Binding the weights, LLVM's optimizer and code generation (or, from
  /// the compile cache, loading the code).
  double jit = 0;
  /// The code came from the compile cache.
  bool cached = false;
};

/// Compiles `model` for `options`, reading its weights from `weights`, and
/// fills `timings` when given.
llvm::Expected<std::unique_ptr<llmrt::Model>>
compileModel(MLIRContext &context, const HFModel &model,
             std::shared_ptr<const llmrt::SafeTensorsArchive> weights,
             const JITOptions &options, JITTimings *timings = nullptr);

/// Compiles `module`, the llm dialect as an importer or llm-opt left it
/// (a .mlir file), whose parameters name tensors of `weights` (the folder
/// `weightsDir`; null for a module without parameters): runs the CPU
/// pipeline `options` describe (passes, quantization by rounding, with
/// `kvCache` the cache's entry points of each function and its shapes),
/// then compiles through the compile cache (keyed by the folder and the
/// module's text) or the ORC JIT. The module is lowered in place.
llvm::Expected<std::unique_ptr<llmrt::Model>>
compileModule(ModuleOp module, llvm::StringRef weightsDir,
              std::shared_ptr<const llmrt::SafeTensorsArchive> weights,
              const JITOptions &options, JITTimings *timings = nullptr);

/// Imports `model` for `options` and runs the CPU pipeline down to the LLVM
/// dialect (what compileModel compiles), for ahead-of-time compilation
/// (llm-compile). Calibrated quantization, which runs the model, is
/// refused.
llvm::Expected<OwningOpRef<ModuleOp>>
lowerModel(MLIRContext &context, const HFModel &model,
           const llmrt::SafeTensorsArchive &weights, const JITOptions &options);

/// lowerModel for the ONNX file at `path`: the graph imported once per entry
/// point of `options` (its forward pass; or with `kvCache` a prefill per
/// prompt length, or per encoder length over `decoderPromptLen` decoder
/// tokens when `encoderLens` is set), then the CPU pipeline. `weights`
/// receives the graph's initializers.
llvm::Expected<OwningOpRef<ModuleOp>>
lowerONNX(MLIRContext &context, llvm::StringRef path, const JITOptions &options,
          std::shared_ptr<const llmrt::SafeTensorsArchive> &weights);

/// Computes the values of some parameters of a compiled model from its
/// manifest (calibrated quantization).
using ParamValueFactory =
    std::function<llvm::Expected<llmrt::ParamValues>(const llmrt::Manifest &)>;

/// JIT-compiles `lowered` (a module after llm-lower-to-cpu, which must stay
/// alive during the call) and binds its parameters from `weights` (null for
/// a module without parameters), and from `computeValues` for those it
/// computes.
llvm::Expected<std::unique_ptr<llmrt::Model>>
jitCompile(ModuleOp lowered,
           std::shared_ptr<const llmrt::SafeTensorsArchive> weights,
           unsigned optLevel = 3, bool checkMemory = true,
           const ParamValueFactory &computeValues = nullptr);

/// The names of every kernel the JIT resolves for generated code
/// (runtime/kernels/cpu/Kernels.def).
std::vector<std::string> getJITKernelSymbols();

} // namespace mlir::llm

#endif // LLM_JIT_JIT_H
