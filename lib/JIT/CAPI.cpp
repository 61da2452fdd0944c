//===- CAPI.cpp - The C API of the JIT library ----------------------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "llm-c/JIT.h"
#include "llm/Import/GGUFImporter.h"
#include "llm/Import/HFImporter.h"
#include "llm/JIT/JIT.h"

#include "CAPI.h"
#include "Generate.h"
#include "SafeTensors.h"

#include "mlir/IR/MLIRContext.h"

using namespace mlir;
using namespace mlir::llm;

static llmrt_status fail(llmrt::ErrorCode code, llvm::Error error) {
  return llmrt::capi::fail(
      llmrt::Status::error(code, llvm::toString(std::move(error))));
}

llmc_jit_params llmc_jit_default_params(void) {
  return {/*use_kv_cache=*/1,
          /*max_new_tokens=*/16,
          /*num_beams=*/1,
          /*kv_block_size=*/kDefaultKVBlockSize,
          /*kv_dtype=*/"f32",
          /*allow_unused_weights=*/0,
          /*prompt_logits=*/0,
          /*quantize=*/nullptr,
          /*quantize_group_size=*/32,
          /*quantize_method=*/nullptr,
          /*calibration_ids=*/nullptr,
          /*n_calibration_ids=*/0,
          /*cache_dir=*/nullptr};
}

llmrt_status llmc_jit_compile(const char *model_dir,
                              const llmrt_prompt *prompts, size_t n_prompts,
                              const llmc_jit_params *params,
                              llmrt_model **model) {
  if (!model_dir || !prompts || !params || !model || n_prompts == 0)
    return llmrt::capi::fail(llmrt::Status::invalid(
        "llmc_jit_compile: expected a model folder, at least one prompt, "
        "params and a model pointer"));
  *model = nullptr;
  if (params->max_new_tokens < 0 ||
      params->max_new_tokens > kMaxSequenceLength || params->num_beams < 1 ||
      params->num_beams > llmrt::kMaxBeams)
    return llmrt::capi::fail(llmrt::Status::invalid(
        "llmc_jit_compile: expected max_new_tokens in [0, 2^20] and "
        "num_beams in [1, 1024]"));
  llvm::StringRef quantize = params->quantize ? params->quantize : "";
  if (!quantize.empty() && quantize != "int8" && quantize != "int4" &&
      quantize != "w8a8")
    return llmrt::capi::fail(llmrt::Status::invalid(
        "llmc_jit_compile: quantize: expected NULL, \"\", \"int8\", "
        "\"int4\" or \"w8a8\", found \"" +
        quantize.str() + "\""));
  const int quantizeBits = quantize == "int4" ? 4 : quantize.empty() ? 0 : 8;
  if (quantizeBits && (params->quantize_group_size < 0 ||
                       params->quantize_group_size % 32 != 0))
    return llmrt::capi::fail(llmrt::Status::invalid(
        "llmc_jit_compile: quantize_group_size: expected 0 (per output row) "
        "or a multiple of 32, found " +
        std::to_string(params->quantize_group_size)));
  if (params->use_kv_cache)
    if (llvm::Error err = checkKVCacheOptions(
            params->kv_block_size, params->kv_dtype ? params->kv_dtype : ""))
      return fail(llmrt::ErrorCode::InvalidArgument, std::move(err));
  // A GGUF file: its synthesized config and its tensors, renamed.
  std::shared_ptr<const llmrt::SafeTensorsArchive> weights;
  llvm::Expected<std::unique_ptr<HFModel>> hf =
      llvm::Expected<std::unique_ptr<HFModel>>(nullptr);
  if (isGGUFPath(model_dir)) {
    llvm::Expected<GGUFModel> opened = openGGUF(model_dir);
    if (!opened)
      return fail(llmrt::ErrorCode::Format, opened.takeError());
    hf = std::move(opened->model);
    weights = std::move(opened->weights);
  } else {
    hf = HFModel::open(model_dir);
  }
  if (!hf)
    return fail(llmrt::ErrorCode::Format, hf.takeError());
  std::vector<llmrt::Prompt> list;
  for (size_t i = 0; i < n_prompts; ++i) {
    const llmrt_prompt &p = prompts[i];
    if ((!p.tokens && p.n_tokens) || (!p.encoder_tokens && p.n_encoder_tokens))
      return llmrt::capi::fail(llmrt::Status::invalid(
          "prompts[" + std::to_string(i) + "]: expected tokens, found NULL"));
    list.push_back(
        {std::vector<int64_t>(p.tokens, p.tokens + p.n_tokens),
         std::vector<int64_t>(p.encoder_tokens,
                              p.encoder_tokens + p.n_encoder_tokens)});
  }
  const HFModelInfo &info = (*hf)->getInfo();
  // An encoder-decoder prompt without decoder tokens starts the decoder at
  // its start token, as transformers does.
  if (info.kind == llmrt::ModelKind::EncoderDecoder)
    for (llmrt::Prompt &p : list)
      if (p.tokens.empty())
        p.tokens = {info.decoderStartTokenId};
  if (!weights) {
    llmrt::Expected<std::unique_ptr<llmrt::SafeTensorsArchive>> archive =
        llmrt::SafeTensorsArchive::openDirectory(model_dir);
    if (!archive)
      return llmrt::capi::fail(archive.status());
    weights = std::move(*archive);
  }
  JITOptions options = planCompilation(
      info.kind == llmrt::ModelKind::EncoderDecoder,
      info.kind == llmrt::ModelKind::Encoder, list, params->max_new_tokens,
      params->num_beams, params->use_kv_cache != 0);
  options.blockSize = params->kv_block_size;
  options.cacheDtype = params->kv_dtype ? params->kv_dtype : "";
  options.allowUnusedWeights = params->allow_unused_weights != 0;
  if (params->cache_dir)
    options.cacheDir = params->cache_dir;
  if (params->prompt_logits)
    options.lastLogitsOnly = false;
  options.quantizeBits = quantizeBits;
  options.quantizeGroupSize = params->quantize_group_size;
  options.quantizeActivations = quantize == "w8a8";
  options.quantizeMethod =
      params->quantize_method ? params->quantize_method : "rtn";
  if (!params->calibration_ids && params->n_calibration_ids)
    return llmrt::capi::fail(llmrt::Status::invalid(
        "llmc_jit_compile: calibration_ids: expected " +
        std::to_string(params->n_calibration_ids) + " ids, found NULL"));
  if (params->calibration_ids)
    options.calibrationTokens.assign(params->calibration_ids,
                                     params->calibration_ids +
                                         params->n_calibration_ids);
  if (llvm::Error err = checkQuantizeOptions(options))
    return fail(llmrt::ErrorCode::InvalidArgument, std::move(err));
  MLIRContext context;
  llvm::Expected<std::unique_ptr<llmrt::Model>> compiled =
      compileModel(context, **hf, std::move(weights), options);
  if (!compiled)
    return fail(llmrt::ErrorCode::Unsupported, compiled.takeError());
  *model = new llmrt_model{std::move(*compiled)};
  return LLMRT_OK;
}
