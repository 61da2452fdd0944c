//===- Models.h - Model families of the Hugging Face importer ---*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// Private to the Hugging Face importer: what each family file provides to the
// model_type table in HFImporter.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_LIB_IMPORT_HF_MODELS_H
#define LLM_LIB_IMPORT_HF_MODELS_H

#include "Config.h"
#include "Emitter.h"

namespace mlir::llm::hf {

/// Emits the forward function of one family into `module`, reading its
/// config through `config` (fresh for this import) and its weights through
/// `emitter`. Returns the first error of either.
using ModelBuilder = llvm::Error (*)(Config &config, Emitter &emitter,
                                     ModuleOp module,
                                     const HFImportOptions &options);

// Llama.cpp: LLaMA, Mistral, Qwen2 (dense LLaMA-family decoders).
void readLlamaInfo(Config &config, HFModelInfo &info);
void readMistralInfo(Config &config, HFModelInfo &info);
void readQwen2Info(Config &config, HFModelInfo &info);
llvm::Error buildLlama(Config &, Emitter &, ModuleOp, const HFImportOptions &);
llvm::Error buildMistral(Config &, Emitter &, ModuleOp,
                         const HFImportOptions &);
llvm::Error buildQwen2(Config &, Emitter &, ModuleOp, const HFImportOptions &);

// Mixtral.cpp: the LLaMA family with a mixture of experts.
void readMixtralInfo(Config &config, HFModelInfo &info);
llvm::Error buildMixtral(Config &, Emitter &, ModuleOp,
                         const HFImportOptions &);

// QwenMoE.cpp: Qwen2-MoE (shared expert) and Qwen3-MoE (q/k norms).
void readQwen2MoeInfo(Config &config, HFModelInfo &info);
void readQwen3MoeInfo(Config &config, HFModelInfo &info);
llvm::Error buildQwen2Moe(Config &, Emitter &, ModuleOp,
                          const HFImportOptions &);
llvm::Error buildQwen3Moe(Config &, Emitter &, ModuleOp,
                          const HFImportOptions &);

// GPT2.cpp.
void readGPT2Info(Config &config, HFModelInfo &info);
llvm::Error buildGPT2(Config &, Emitter &, ModuleOp, const HFImportOptions &);

// Bloom.cpp.
llvm::Error buildBloom(Config &, Emitter &, ModuleOp, const HFImportOptions &);

// Bert.cpp: BERT and RoBERTa encoders.
void readBertInfo(Config &config, HFModelInfo &info);
void readRobertaInfo(Config &config, HFModelInfo &info);
llvm::Error buildBert(Config &, Emitter &, ModuleOp, const HFImportOptions &);
llvm::Error buildRoberta(Config &, Emitter &, ModuleOp,
                         const HFImportOptions &);

// T5.cpp.
void readT5Info(Config &config, HFModelInfo &info);
llvm::Error buildT5(Config &, Emitter &, ModuleOp, const HFImportOptions &);

} // namespace mlir::llm::hf

#endif // LLM_LIB_IMPORT_HF_MODELS_H
