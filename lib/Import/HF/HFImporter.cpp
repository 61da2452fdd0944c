//===- HFImporter.cpp - Hugging Face folders to the llm dialect -----------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// HFModel reads config.json (and generation_config.json) once, checks what
// every family shares, and keeps the parsed config; each import() then runs
// the family's builder (one file per family, see Models.h) on a fresh view of
// it. The builders check every weight they use against the safetensors
// archive.
//
//===----------------------------------------------------------------------===//

#include "Config.h"
#include "Emitter.h"
#include "Models.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"

using namespace mlir;
using namespace mlir::llm;
using namespace mlir::llm::hf;

namespace mlir::llm::hf {
/// One `model_type`: what HFModelInfo it has and how to build its IR.
struct ModelFamily {
  llvm::StringLiteral modelType;
  /// Decoder, encoder or encoder-decoder: the signature of its entry point.
  llmrt::ModelKind kind;
  /// Its fields of HFModelInfo beyond vocab_size and eos_token_id.
  ModelInfoReader readInfo;
  /// Emits its forward function.
  ModelBuilder build;
};
} // namespace mlir::llm::hf

using Kind = llmrt::ModelKind;

/// The supported model types. Adding a family is one file (its builder,
/// declared in Models.h and listed in CMakeLists.txt) plus one entry here.
/// Keep the entries sorted by model_type: errors list them in this order.
static const ModelFamily kFamilies[] = {
    {"bert", Kind::Encoder, readBertInfo, buildBert},
    {"bloom", Kind::Decoder, readHiddenSize, buildBloom},
    {"gpt2", Kind::Decoder, readGPT2Info, buildGPT2},
    {"llama", Kind::Decoder, readLlamaInfo, buildLlama},
    {"mistral", Kind::Decoder, readMistralInfo, buildMistral},
    {"mixtral", Kind::Decoder, readMixtralInfo, buildMixtral},
    {"qwen2", Kind::Decoder, readQwen2Info, buildQwen2},
    {"qwen2_moe", Kind::Decoder, readQwen2MoeInfo, buildQwen2Moe},
    {"qwen3_moe", Kind::Decoder, readQwen3MoeInfo, buildQwen3Moe},
    {"roberta", Kind::Encoder, readRobertaInfo, buildRoberta},
    {"t5", Kind::EncoderDecoder, readT5Info, buildT5},
};

std::string mlir::llm::getSupportedModelTypes() {
  std::string list;
  for (const ModelFamily &family : kFamilies) {
    if (!list.empty())
      list += ", ";
    list += family.modelType;
  }
  return list;
}

/// GPTQ's or AWQ's `quantization_config`: what LLMC's kernels can read of
/// it (4- or 8-bit GPTQ, 4-bit AWQ in the GEMM packing with zero points,
/// groups of a multiple of 32 or one per output row).
static llvm::Expected<CheckpointQuantization>
readCheckpointQuantization(Config &quant, llvm::StringRef path,
                           llvm::StringRef method) {
  CheckpointQuantization result;
  auto bad = [&](llvm::StringRef field, const llvm::Twine &expected,
                 const llvm::Twine &found) {
    return makeError(llvm::formatv(
        "{0}: field 'quantization_config.{1}': expected {2}, found {3}", path,
        field, expected.str(), found.str()));
  };
  int64_t bits = quant.getInt("bits", quant.getInt("w_bit", 4));
  int64_t group = quant.getInt("group_size", quant.getInt("q_group_size", 128));
  if (quant.failed())
    return quant.takeError();
  if (method == "gptq") {
    if (bits != 4 && bits != 8)
      return bad("bits", "4 or 8 (the bits LLMC's kernels read)",
                 llvm::Twine(bits));
    std::string format = quant.getString("checkpoint_format", "gptq");
    if (format != "gptq" && format != "gptq_v2")
      return bad("checkpoint_format", "gptq or gptq_v2", "'" + format + "'");
    result.format = format;
  } else {
    if (bits != 4)
      return bad("bits", "4 (AWQ)", llvm::Twine(bits));
    std::string version =
        llvm::StringRef(quant.getString("version", "gemm")).lower();
    if (version != "gemm")
      return bad("version", "gemm (AutoAWQ's GEMM packing)",
                 "'" + version + "'");
    if (!quant.getBool("zero_point", true))
      return bad("zero_point", "true", "false");
    result.format = "awq";
  }
  if (quant.failed())
    return quant.takeError();
  if (group != -1 && (group <= 0 || group % 32 != 0))
    return bad("group_size",
               "-1 (one group per output row) or a multiple of 32",
               llvm::Twine(group));
  result.bits = static_cast<int>(bits);
  result.group = group == -1 ? 0 : group;
  return result;
}

HFModel::HFModel(std::string directory, std::unique_ptr<ConfigFile> config)
    : directory(std::move(directory)), config(std::move(config)) {}

HFModel::~HFModel() = default;

llvm::Expected<std::unique_ptr<HFModel>>
HFModel::open(llvm::StringRef modelDir) {
  llvm::SmallString<256> path(modelDir);
  llvm::sys::path::append(path, "config.json");
  llvm::Expected<ConfigFile> file = ConfigFile::read(path);
  if (!file)
    return file.takeError();
  return fromFile(std::move(*file), modelDir);
}

llvm::Expected<std::unique_ptr<HFModel>>
HFModel::fromConfig(llvm::StringRef json, llvm::StringRef configName,
                    llvm::StringRef modelPath) {
  llvm::Expected<ConfigFile> file = ConfigFile::parse(json, configName);
  if (!file)
    return file.takeError();
  return fromFile(std::move(*file), modelPath);
}

llvm::Expected<std::unique_ptr<HFModel>>
HFModel::fromFile(ConfigFile file, llvm::StringRef modelDir) {
  std::unique_ptr<HFModel> model(new HFModel(
      modelDir.str(), std::make_unique<ConfigFile>(std::move(file))));
  const std::string path = model->config->getPath();
  Config config(*model->config);
  HFModelInfo &info = model->info;
  info.type = config.getString("model_type", "");
  llvm::StringRef type = info.type;
  if (type.empty())
    return makeError(llvm::formatv("{0}: missing field 'model_type'; "
                                   "supported: {1}",
                                   path, getSupportedModelTypes()));
  const ModelFamily *family = llvm::find_if(
      kFamilies, [&](const ModelFamily &f) { return f.modelType == type; });
  if (family == std::end(kFamilies))
    return makeError(llvm::formatv("{0}: field 'model_type': unsupported "
                                   "architecture '{1}'; supported: {2}",
                                   path, type, getSupportedModelTypes()));
  // A pre-quantized checkpoint stores packed integers, not the weights:
  // GPTQ's and AWQ's packings are read as they are; the others
  // (bitsandbytes, compressed tensors...) are refused.
  for (llvm::StringRef key : {"quantization_config", "compression_config"}) {
    if (!config.has(key))
      continue;
    std::optional<Config> quant = config.getObject(key);
    if (config.failed()) // Not an object: the field's own type error.
      return config.takeError();
    std::string method =
        quant ? quant->getString("quant_method", "") : std::string();
    if (method.empty() && quant)
      method = quant->getString("format", "");
    if (key == "quantization_config" && (method == "gptq" || method == "awq")) {
      llvm::Expected<CheckpointQuantization> read =
          readCheckpointQuantization(*quant, path, method);
      if (!read)
        return read.takeError();
      model->checkpointQuantization = *read;
      continue;
    }
    return makeError(llvm::formatv(
        "{0}: field '{1}': expected a checkpoint of float weights (F32, F16 "
        "or BF16) or one quantized by GPTQ or AWQ, found a pre-quantized "
        "one{2}, which LLMC does not read; load the float checkpoint and "
        "quantize it with --quantize int8|int4",
        path, key,
        method.empty() ? std::string()
                       : llvm::formatv(" (quant_method '{0}')", method).str()));
  }
  model->family = family;
  info.kind = family->kind;
  if (llvm::Error err = readModelInfo(config, modelDir, family->readInfo, info))
    return std::move(err);
  return std::move(model);
}

/// `info` as the module's `llm.model`, for the runtime.
static ModelInfoAttr getModelAttr(MLIRContext &context,
                                  const HFModelInfo &info) {
  ModelKind kind = ModelKind::Decoder;
  if (info.kind == Kind::Encoder)
    kind = ModelKind::Encoder;
  else if (info.kind == Kind::EncoderDecoder)
    kind = ModelKind::EncoderDecoder;
  // A negative id is never generated, so it ends nothing: the attribute,
  // which holds ids >= 0, leaves it out.
  llvm::SmallVector<int64_t> eosIds;
  llvm::copy_if(info.eosTokenIds, std::back_inserter(eosIds),
                [](int64_t id) { return id >= 0; });
  // Only an encoder-decoder model starts its decoder with a token, which
  // open() checked against the vocabulary; other kinds have none.
  int64_t decoderStart =
      kind == ModelKind::EncoderDecoder ? info.decoderStartTokenId : 0;
  return ModelInfoAttr::get(&context, info.type, kind, info.vocabSize,
                            info.hiddenSize, info.positionOffset, eosIds,
                            decoderStart, info.maxPositions, info.contextLength,
                            info.slidingWindow);
}

llvm::Expected<OwningOpRef<ModuleOp>>
HFModel::import(MLIRContext &context, const SafeTensorsArchive &archive,
                const HFImportOptions &options) const {
  context.loadDialect<LLMDialect, func::FuncDialect, arith::ArithDialect,
                      linalg::LinalgDialect, tensor::TensorDialect>();
  if (options.seqLen <= 0)
    return makeError(llvm::formatv("expected at least one input token, found "
                                   "{0}",
                                   options.seqLen));
  if (info.maxPositions && options.seqLen > info.maxPositions)
    return makeError(llvm::formatv(
        "{0}: the model supports {1} positions, the input has {2} tokens",
        config->getPath(), info.maxPositions, options.seqLen));
  if (options.batch <= 0)
    return makeError(llvm::formatv("expected a batch of at least one "
                                   "sequence, found {0}",
                                   options.batch));
  if (options.batch != 1 && info.kind == llmrt::ModelKind::Encoder)
    return makeError(llvm::formatv("batches of {0} sequences are supported "
                                   "for decoder and encoder-decoder models; "
                                   "'{1}' takes one",
                                   options.batch, info.type));

  OwningOpRef<ModuleOp> module = ModuleOp::create(UnknownLoc::get(&context));
  Emitter emitter(context, archive);
  emitter.batch = options.batch;
  emitter.functionName = options.functionName;
  emitter.decomposeAttention = options.decomposeAttention;
  if (checkpointQuantization)
    emitter.checkpointQuantization = &*checkpointQuantization;
  emitter.ggmlFormats = &ggmlFormats;
  emitter.conv1dOutIn = conv1dOutIn;
  emitter.ggmlPackedCodes = ggmlPackedCodes;
  // A fresh view: the errors of an earlier import do not stick to this one.
  Config view(*config);
  if (llvm::Error err = family->build(view, emitter, *module, options))
    return std::move(err);
  // config.json says the projections are packed: a checkpoint without any
  // packed projection contradicts it (a float checkpoint with a stale
  // quantization_config, or packed tensors under names LLMC does not read).
  if (checkpointQuantization) {
    bool packed = false;
    module->walk([&](ParamOp param) {
      packed = packed || param.getCheckpointFormat().has_value();
    });
    if (!packed)
      return makeError(llvm::formatv(
          "{0}: field 'quantization_config': expected the projections "
          "packed by {1} ('<projection>.qweight', '.qzeros' and '.scales' "
          "tensors), found none in the checkpoint",
          config->getPath(),
          checkpointQuantization->format == "awq" ? "AWQ" : "GPTQ"));
  }
  context.getLoadedDialect<LLMDialect>()->getModelAttrHelper().setAttr(
      *module, getModelAttr(context, info));
  if (failed(verify(*module)))
    return makeError(llvm::formatv("{0}: the imported IR does not verify (see "
                                   "the diagnostics above)",
                                   directory));
  return std::move(module);
}
