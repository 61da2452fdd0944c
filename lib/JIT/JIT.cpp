//===- JIT.cpp - Compile models in-process for the runtime ----------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "llm/JIT/JIT.h"
#include "Calibrate.h"
#include "llm/Import/HFImporter.h"
#include "llm/Import/ONNXImporter.h"
#include "llm/JIT/CompileCache.h"
#include "llm/Pipelines/Pipelines.h"
#include "llm/Support/RuntimeError.h"
#include "llm/Support/ToolSupport.h"
#include "llm/codegen/CPU/Manifest.h"
#include "llm/dialects/LLM/IR/LLMDialect.h"

#include "Generate.h"
#include "Kernels.h"
#include "Model.h"
#include "SafeTensors.h"
#include "SharedLibrary.h"
#include "cuda/Launchers.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/ExecutionEngine/Orc/Mangling.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/SHA256.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <cstdlib>
#include <optional>

using namespace mlir;
using namespace mlir::llm;

namespace {

/// The symbols of every function that generated code calls, for the JIT's
/// linker.
llvm::orc::SymbolMap kernelSymbols(llvm::orc::MangleAndInterner mangle) {
  llvm::orc::SymbolMap map;
  auto add = [&](llvm::StringRef name, auto *fn) {
    map[mangle(name)] = {llvm::orc::ExecutorAddr::fromPtr(fn),
                         llvm::JITSymbolFlags::Exported};
  };
#define LLMK_KERNEL(name, args) add(#name, &name);
#include "Kernels.def"
  // The CUDA launchers, which code lowered by llm-lower-to-cuda calls.
  for (auto [name, address] : llmrt::cuda::getLauncherSymbols())
    add(name, address);
  return map;
}

/// Native code held by an ORC JIT.
class JITCode : public llmrt::CodeProvider {
public:
  explicit JITCode(std::unique_ptr<ExecutionEngine> engine)
      : engine(std::move(engine)) {}
  void *lookup(std::string_view symbol) override {
    llvm::Expected<void *> address =
        engine->lookup(llvm::StringRef(symbol.data(), symbol.size()));
    if (!address) {
      llvm::consumeError(address.takeError());
      return nullptr;
    }
    return *address;
  }

private:
  std::unique_ptr<ExecutionEngine> engine;
};

llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// Moves the functions of `from` into `into`, and its model description.
void absorb(ModuleOp into, ModuleOp from) {
  auto *dialect = into.getContext()->getLoadedDialect<LLMDialect>();
  if (ModelInfoAttr model = dialect->getModelAttrHelper().getAttr(from))
    dialect->getModelAttrHelper().setAttr(into, model);
  for (Operation &op :
       llvm::make_early_inc_range(from.getBody()->getOperations()))
    op.moveBefore(into.getBody(), into.getBody()->end());
}

} // namespace

std::vector<std::string> mlir::llm::getJITKernelSymbols() {
  std::vector<std::string> names;
#define LLMK_KERNEL(name, args) names.push_back(#name);
#include "Kernels.def"
  return names;
}

JITOptions mlir::llm::planCompilation(bool encoderDecoder, bool encoderOnly,
                                      const std::vector<llmrt::Prompt> &prompts,
                                      int64_t maxNewTokens, int64_t numBeams,
                                      bool kvCache) {
  JITOptions options;
  options.kvCache = kvCache;
  // Generation reads each prefill's last logits alone.
  options.lastLogitsOnly = kvCache;
  int64_t longest = 0, encoderLen = 0;
  for (const llmrt::Prompt &p : prompts) {
    longest = std::max<int64_t>(longest, p.tokens.size());
    encoderLen = std::max<int64_t>(encoderLen, p.encoderTokens.size());
    std::vector<int64_t> &lens =
        encoderDecoder ? options.encoderLens : options.promptLens;
    int64_t len = encoderDecoder ? p.encoderTokens.size() : p.tokens.size();
    if (!llvm::is_contained(lens, len))
      lens.push_back(len);
  }
  llvm::sort(options.promptLens);
  llvm::sort(options.encoderLens);
  options.maxSeqLen = longest + maxNewTokens;
  if (kvCache) {
    options.decoderPromptLen = encoderDecoder ? longest : 0;
    options.decodeBatch =
        numBeams > 1 ? numBeams : static_cast<int64_t>(prompts.size());
  } else if (encoderDecoder) {
    options.seqLen = encoderLen;
    options.decoderSeqLen = longest + maxNewTokens;
  } else {
    options.seqLen = longest + (encoderOnly ? 0 : maxNewTokens);
  }
  return options;
}

llvm::Error mlir::llm::checkKVCacheOptions(int64_t blockSize,
                                           llvm::StringRef dtype) {
  if (blockSize <= 0)
    return makeError(llvm::formatv(
        "--kv-block-size: expected a value > 0, found {0}", blockSize));
  if (blockSize > kMaxSequenceLength)
    return makeError(
        llvm::formatv("--kv-block-size: expected a value in [1, {0}], found "
                      "{1}",
                      kMaxSequenceLength, blockSize));
  if (!llvm::is_contained({"f32", "f16", "bf16", "i8"}, dtype))
    return makeError(llvm::formatv(
        "--kv-dtype: expected f32, f16, bf16 or i8, found '{0}'", dtype));
  return llvm::Error::success();
}

void mlir::llm::setQuantizeFlag(JITOptions &options, llvm::StringRef quantize) {
  options.quantizeBits = quantize == "int8" || quantize == "w8a8" ? 8
                         : quantize == "int4"                     ? 4
                                                                  : 0;
  options.quantizeActivations = quantize == "w8a8";
}

llvm::Error mlir::llm::checkQuantizeOptions(const JITOptions &options) {
  int bits = options.quantizeBits;
  int64_t groupSize = options.quantizeGroupSize;
  if (bits != 0 && bits != 8 && bits != 4)
    return makeError(
        llvm::formatv("quantization: expected 8 or 4 bits, found {0}", bits));
  if (bits != 0 && (groupSize < 0 || groupSize % 32 != 0))
    return makeError(llvm::formatv(
        "--group-size: expected 0 (per output channel) or a multiple of 32, "
        "found {0}",
        groupSize));
  llvm::StringRef method = options.quantizeMethod;
  if (!llvm::is_contained({"rtn", "gptq", "awq"}, method))
    return makeError(llvm::formatv(
        "--method: expected rtn, gptq or awq, found '{0}'", method));
  if (bits != 0 && method != "rtn" && options.quantizeActivations)
    return makeError(llvm::formatv(
        "--method {0}: calibrated methods quantize the weights alone; W8A8 "
        "(int8 activations) rounds to nearest: expected --method rtn",
        method));
  if (bits != 0 && method != "rtn" && options.calibrationTokens.size() < 2)
    return makeError(llvm::formatv(
        "--method {0}: expected calibration text of at least 2 tokens "
        "(--calib FILE or --calib-ids FILE), found {1}",
        method, options.calibrationTokens.size()));
  if (options.calibrationWindow < 2)
    return makeError(
        llvm::formatv("--calib-window: expected at least 2 tokens, found {0}",
                      options.calibrationWindow));
  if (!(options.gptqDamp > 0.0) || options.gptqDamp >= 1.0)
    return makeError(
        llvm::formatv("--gptq-damp: expected a fraction in (0, 1), found {0}",
                      options.gptqDamp));
  return llvm::Error::success();
}

llvm::Expected<std::unique_ptr<llmrt::Model>>
mlir::llm::jitCompile(ModuleOp lowered,
                      std::shared_ptr<const llmrt::SafeTensorsArchive> weights,
                      unsigned optLevel, bool checkMemory,
                      const ParamValueFactory &computeValues) {
  llvm::Expected<std::string> text = buildManifest(lowered);
  if (!text)
    return text.takeError();
  llmrt::Expected<llmrt::Manifest> manifest =
      llmrt::Manifest::parse(*text, "the compiled model's manifest");
  if (!manifest)
    return toLLVMError(manifest.status());

  // Compiled only once the weights are bound: a bad checkpoint fails fast.
  auto makeCode =
      [&]() -> llmrt::Expected<std::unique_ptr<llmrt::CodeProvider>> {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    MLIRContext *context = lowered.getContext();
    registerBuiltinDialectTranslation(*context);
    registerLLVMDialectTranslation(*context);
    ExecutionEngineOptions options;
    std::function<llvm::Error(llvm::Module *)> transformer =
        makeOptimizingTransformer(optLevel, 0, nullptr);
    options.transformer = transformer;
    options.jitCodeGenOptLevel =
        static_cast<llvm::CodeGenOptLevel>(std::min(optLevel, 3u));
    // LLVM's perf listener writes a jitdump file into .debug/jit/ of the
    // working directory on every compile (75 MB over one test run), and a
    // file it cannot write (a full disk) ends the process: only for those
    // who profile with `perf record -k 1`, by LLMC_JIT_PERF=1.
    const char *perf = std::getenv("LLMC_JIT_PERF");
    options.enablePerfNotificationListener = perf && std::string(perf) == "1";
    auto engine = ExecutionEngine::create(lowered, options);
    if (!engine)
      return llmrt::Status::error(llmrt::ErrorCode::Internal,
                                  "JIT compilation failed: " +
                                      llvm::toString(engine.takeError()));
    (*engine)->registerSymbols(kernelSymbols);
    return std::unique_ptr<llmrt::CodeProvider>(
        new JITCode(std::move(*engine)));
  };
  llmrt::ParamValues values;
  if (computeValues) {
    llvm::Expected<llmrt::ParamValues> computed = computeValues(*manifest);
    if (!computed)
      return computed.takeError();
    values = std::move(*computed);
  }
  llmrt::Expected<std::unique_ptr<llmrt::Model>> model =
      llmrt::Model::create(std::move(*manifest), std::move(weights), makeCode,
                           checkMemory, computeValues ? &values : nullptr);
  if (!model)
    return toLLVMError(model.status());
  return std::move(*model);
}

/// The model of a compile-cache entry: its manifest, its shared object, and
/// the weights bound as the JIT binds them.
static llvm::Expected<std::unique_ptr<llmrt::Model>>
loadCached(const CompileCache::Entry &entry,
           std::shared_ptr<const llmrt::SafeTensorsArchive> weights,
           bool checkMemory) {
  llmrt::Expected<llmrt::Manifest> manifest =
      llmrt::Manifest::parse(entry.manifest, entry.library + "'s manifest");
  if (!manifest)
    return toLLVMError(manifest.status());
  std::string library = entry.library;
  llmrt::Expected<std::unique_ptr<llmrt::Model>> model = llmrt::Model::create(
      std::move(*manifest), std::move(weights),
      [&] { return llmrt::openSharedLibrary(library); }, checkMemory);
  if (!model)
    return toLLVMError(model.status());
  return std::move(*model);
}

namespace {
/// The compile cache's part of a compilation (CompileCache.h): its key and
/// folder, when the options ask for it.
struct CachedCompilation {
  std::optional<CompileCache> cache;
  std::string key;

  /// Uses the cache of `options` under the key of `modelPath` and `extra`;
  /// a key that cannot be made is warned about and leaves it off.
  void open(const JITOptions &options, llvm::StringRef modelPath,
            llvm::StringRef extra) {
    if (options.cacheDir.empty())
      return;
    llvm::Expected<std::string> made =
        CompileCache::makeKey(modelPath, options, extra);
    if (!made) {
      if (options.warn)
        options.warn("compile cache: " + llvm::toString(made.takeError()) +
                     "; compiling without it");
      return;
    }
    key = std::move(*made);
    cache.emplace(options.cacheDir);
  }

  /// The model an earlier compilation stored under the key, if any.
  std::optional<llvm::Expected<std::unique_ptr<llmrt::Model>>>
  lookup(std::shared_ptr<const llmrt::SafeTensorsArchive> weights,
         const JITOptions &options) const {
    if (!cache)
      return std::nullopt;
    std::optional<CompileCache::Entry> entry = cache->lookup(key, options.warn);
    if (!entry)
      return std::nullopt;
    return loadCached(*entry, std::move(weights), options.checkMemory);
  }

  /// Compiles `lowered` into the cache and loads it as the next run will;
  /// nothing when it cannot be stored (warned): compile in memory then.
  std::optional<llvm::Expected<std::unique_ptr<llmrt::Model>>>
  store(ModuleOp lowered,
        std::shared_ptr<const llmrt::SafeTensorsArchive> weights,
        const JITOptions &options) {
    if (!cache)
      return std::nullopt;
    llvm::Expected<std::string> manifest = buildManifest(lowered);
    if (!manifest)
      return llvm::Expected<std::unique_ptr<llmrt::Model>>(
          manifest.takeError());
    llvm::Expected<CompileCache::Entry> stored =
        cache->store(key, lowered, *manifest, options.optLevel);
    if (stored)
      return loadCached(*stored, std::move(weights), options.checkMemory);
    if (options.warn)
      options.warn(llvm::toString(stored.takeError()) +
                   "; compiling in memory");
    return std::nullopt;
  }
};
} // namespace

/// `names` quoted, the first few of them, then how many more.
static std::string listSome(const std::vector<std::string> &names) {
  constexpr size_t kShown = 3;
  std::string out;
  for (size_t i = 0; i < names.size() && i < kShown; ++i)
    out += (i ? ", '" : "'") + names[i] + "'";
  if (names.size() > kShown)
    out += llvm::formatv(" and {0} more", names.size() - kShown).str();
  return out;
}

/// Refuses tensors that repeat read ones under other numbers (unless
/// allowed: then a warning) and warns about the other unread ones.
static llvm::Error checkUnusedTensors(const HFModel &model, ModuleOp module,
                                      const llmrt::SafeTensorsArchive &weights,
                                      const JITOptions &options) {
  UnusedTensors unused = findUnusedTensors(module, weights);
  std::string type = model.getInfo().type;
  if (!unused.repeated.empty()) {
    std::string message = llvm::formatv(
        "{0}: the checkpoint holds {1} tensor(s) that config.json has no "
        "place for: {2} (more layers or experts than num_hidden_layers or "
        "num_local_experts say?)",
        model.getDirectory(), unused.repeated.size(),
        listSome(unused.repeated));
    if (!options.allowUnusedWeights)
      return makeError(message + "; --allow-unused-weights runs without them");
    if (options.warn)
      options.warn(message + "; running without them");
  }
  if (!unused.other.empty() && options.warn)
    options.warn(llvm::formatv("{0}: {1} checkpoint tensor(s) are not used "
                               "by a '{2}' model: {3}",
                               model.getDirectory(), unused.other.size(), type,
                               listSome(unused.other)));
  return llvm::Error::success();
}

namespace {
/// Reports each pass as it starts (JITOptions::onPass).
class PassProgress : public PassInstrumentation {
public:
  explicit PassProgress(std::function<void(llvm::StringRef)> onPass)
      : onPass(std::move(onPass)) {}
  void runBeforePass(Pass *pass, Operation *) override {
    onPass(pass->getArgument().empty() ? pass->getName() : pass->getArgument());
  }

private:
  std::function<void(llvm::StringRef)> onPass;
};
} // namespace

/// The CPU pipeline's options from `options`: passes and quantization,
/// and, with the KV cache, its shapes.
static void setPipelineOptions(CPUPipelineOptions &pipeline,
                               const JITOptions &options) {
  pipeline.attentionPasses = options.attentionPasses;
  pipeline.moeDecodeMaxTokens = options.moeDecodeMaxTokens;
  pipeline.quantizeBits = options.quantizeBits;
  pipeline.quantizeGroupSize = options.quantizeGroupSize;
  pipeline.quantizeSymmetric = options.quantizeSymmetric;
  pipeline.quantizeSkip = options.quantizeSkip;
  pipeline.quantizeActivations = options.quantizeActivations ? "int8" : "none";
  pipeline.quantizeMethod = options.quantizeMethod;
  pipeline.target = options.target;
  if (options.kvCache) {
    pipeline.kvCache = true;
    pipeline.blockSize = options.blockSize;
    pipeline.cacheDtype = options.cacheDtype;
    pipeline.maxSeqLen = options.maxSeqLen;
    pipeline.lastLogitsOnly = options.lastLogitsOnly;
    pipeline.decodeBatch = options.decodeBatch;
  }
}

/// The checks every compilation makes before importing: quantization (and,
/// with `noCalibration`, that error for calibrated methods, which need the
/// model run in-process), then the KV cache's options.
static llvm::Error checkCompileOptions(const JITOptions &options,
                                       const std::string *noCalibration) {
  if (llvm::Error err = checkQuantizeOptions(options))
    return err;
  if (noCalibration && options.quantizeBits != 0 &&
      options.quantizeMethod != "rtn")
    return makeError(*noCalibration);
  if (options.kvCache)
    return checkKVCacheOptions(options.blockSize, options.cacheDtype);
  return llvm::Error::success();
}

/// Runs the CPU pipeline on the imported `module`, then erases the decode
/// entry points other than `decodeName` (none when it is empty).
static llvm::Error runPipeline(MLIRContext &context, ModuleOp module,
                               const JITOptions &options,
                               llvm::StringRef decodeName) {
  CPUPipelineOptions pipeline;
  setPipelineOptions(pipeline, options);
  // buildCPUPipeline puts ALiBi slopes before the cache and the cache before
  // canonicalization, as the cache requires. Decomposed attention has no
  // CPU lowering: fusion must raise all of it.
  PassManager pm(&context);
  buildCPUPipeline(pm, pipeline);
  if (options.onPass)
    pm.addInstrumentation(std::make_unique<PassProgress>(options.onPass));
  if (failed(pm.run(module)))
    return makeError(options.kvCache
                         ? "compiling the cached entry points failed (see the "
                           "diagnostics above)"
                         : "lowering to the CPU failed (see the diagnostics "
                           "above)");
  // The other decode entry points would only cost JIT time.
  if (!decodeName.empty())
    for (auto func :
         llvm::make_early_inc_range(module.getOps<LLVM::LLVMFuncOp>()))
      if (func.getSymName().ends_with("_decode") &&
          func.getSymName() != decodeName)
        func.erase();
  return llvm::Error::success();
}

/// Imports `model` for `options` and runs the CPU pipeline: the module
/// compileModel compiles. Fills spent.import, leaving `start` at the
/// pipeline's start; `scalingGroups`, when given, receives AWQ's groups
/// (found in the imported IR).
static llvm::Expected<OwningOpRef<ModuleOp>>
importAndLower(MLIRContext &context, const HFModel &model,
               const llmrt::SafeTensorsArchive &weights,
               const JITOptions &options, JITTimings &spent,
               std::chrono::steady_clock::time_point &start,
               std::vector<ScalingGroup> *scalingGroups) {
  using Clock = std::chrono::steady_clock;
  auto since = [](Clock::time_point from) {
    return std::chrono::duration<double>(Clock::now() - from).count();
  };
  context.loadDialect<LLMDialect, func::FuncDialect, arith::ArithDialect,
                      LLVM::LLVMDialect>();
  bool seq2seq = model.getInfo().kind == llmrt::ModelKind::EncoderDecoder;
  OwningOpRef<ModuleOp> module = ModuleOp::create(UnknownLoc::get(&context));
  std::string decodeName;
  if (!options.kvCache) {
    HFImportOptions import;
    import.seqLen = options.seqLen;
    import.decoderSeqLen = options.decoderSeqLen;
    import.decomposeAttention = options.decomposeAttention;
    llvm::Expected<OwningOpRef<ModuleOp>> imported =
        model.import(context, weights, import);
    if (!imported)
      return imported.takeError();
    module = std::move(*imported);
    if (!options.emitMlir.empty())
      if (llvm::Error err =
              writeOutputFile(options.emitMlir, [&](llvm::raw_ostream &os) {
                (*module)->print(os);
              }))
        return std::move(err);
  } else {
    // The prefill functions, imported for one sequence each: per prompt
    // length, or per encoder input length for an encoder-decoder model.
    std::vector<HFImportOptions> functions;
    for (int64_t len : seq2seq ? options.encoderLens : options.promptLens) {
      HFImportOptions import;
      import.seqLen = len;
      import.decoderSeqLen = seq2seq ? options.decoderPromptLen : 0;
      import.functionName =
          (seq2seq ? "prefill_enc" : "prefill_") + std::to_string(len);
      functions.push_back(import);
    }
    if (functions.empty())
      return makeError("compiling the cached entry points: expected at least "
                       "one prompt length");
    for (const HFImportOptions &import : functions) {
      llvm::Expected<OwningOpRef<ModuleOp>> imported =
          model.import(context, weights, import);
      if (!imported)
        return imported.takeError();
      absorb(*module, **imported);
    }
    // The cache pass (its options: setPipelineOptions) derives each prefill
    // function's decode entry point for `decodeBatch` sequences of one
    // token; one serves every prompt: the last prefill's (the longest
    // encoder input's, whose cross-attention block tables are the widest).
    if (options.decodeBatch > 0)
      decodeName = functions.back().functionName + "_decode";
  }
  if (llvm::Error err = checkUnusedTensors(model, *module, weights, options))
    return std::move(err);
  // AWQ folds its scales into the ops before the projections: found in the
  // imported IR, before fusion changes it.
  if (scalingGroups)
    *scalingGroups = findScalingGroups(*module);
  spent.import = since(start);
  start = Clock::now();
  if (llvm::Error err = runPipeline(context, *module, options, decodeName))
    return std::move(err);
  return std::move(module);
}

llvm::Expected<OwningOpRef<ModuleOp>>
mlir::llm::lowerModel(MLIRContext &context, const HFModel &model,
                      const llmrt::SafeTensorsArchive &weights,
                      const JITOptions &options) {
  const std::string noCalibration =
      llvm::formatv("--method {0}: calibrated quantization computes its "
                    "values by running the model in-process; it is not "
                    "available ahead of time (use --method rtn)",
                    options.quantizeMethod)
          .str();
  if (llvm::Error err = checkCompileOptions(options, &noCalibration))
    return std::move(err);
  JITTimings spent;
  auto start = std::chrono::steady_clock::now();
  return importAndLower(context, model, weights, options, spent, start,
                        nullptr);
}

llvm::Expected<OwningOpRef<ModuleOp>> mlir::llm::lowerONNX(
    MLIRContext &context, llvm::StringRef path, const JITOptions &options,
    std::shared_ptr<const llmrt::SafeTensorsArchive> &weights) {
  const std::string noCalibration =
      "an ONNX file: calibrated quantization needs a model folder (its "
      "importer runs the float model); expected --method rtn";
  if (llvm::Error err = checkCompileOptions(options, &noCalibration))
    return std::move(err);
  context.loadDialect<LLMDialect, func::FuncDialect, arith::ArithDialect,
                      LLVM::LLVMDialect>();
  // The entry points, as importAndLower imports them: the forward pass, or
  // one prefill per prompt length (per encoder length for an
  // encoder-decoder, over its decoder prompt).
  const bool seq2seq = !options.encoderLens.empty();
  std::vector<ONNXImportOptions> functions;
  if (!options.kvCache) {
    ONNXImportOptions import;
    import.seqLen = options.seqLen;
    import.decoderSeqLen = std::max<int64_t>(options.decoderSeqLen, 1);
    functions.push_back(import);
  }
  for (int64_t len : options.kvCache
                         ? seq2seq ? options.encoderLens : options.promptLens
                         : std::vector<int64_t>{}) {
    ONNXImportOptions import;
    import.seqLen = len;
    import.decoderSeqLen = seq2seq ? options.decoderPromptLen : 1;
    import.functionName =
        (seq2seq ? "prefill_enc" : "prefill_") + std::to_string(len);
    functions.push_back(import);
  }
  if (functions.empty())
    return makeError("compiling an ONNX file: expected at least one prompt "
                     "length");
  OwningOpRef<ModuleOp> module = ModuleOp::create(UnknownLoc::get(&context));
  for (const ONNXImportOptions &import : functions) {
    llvm::Expected<ONNXModel> imported = importONNX(context, path, import);
    if (!imported)
      return imported.takeError();
    weights = imported->weights;
    absorb(*module, *imported->module);
  }
  std::string decodeName;
  if (options.kvCache && options.decodeBatch > 0)
    decodeName = functions.back().functionName + "_decode";
  if (llvm::Error err = runPipeline(context, *module, options, decodeName))
    return std::move(err);
  return std::move(module);
}

llvm::Expected<std::unique_ptr<llmrt::Model>> mlir::llm::compileModel(
    MLIRContext &context, const HFModel &model,
    std::shared_ptr<const llmrt::SafeTensorsArchive> weights,
    const JITOptions &options, JITTimings *timings) {
  using Clock = std::chrono::steady_clock;
  auto since = [](Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
  };
  JITTimings spent;
  auto start = Clock::now();
  OwningOpRef<ModuleOp> module;
  if (llvm::Error err = checkCompileOptions(options, nullptr))
    return std::move(err);
  bool calibrated =
      options.quantizeBits != 0 && options.quantizeMethod != "rtn";
  // The compile cache: the code of an earlier compilation with this key.
  CachedCompilation cached;
  if (!calibrated && options.emitMlir.empty())
    cached.open(options, model.getDirectory(), options.cacheKeyExtra);
  if (auto loaded = cached.lookup(weights, options)) {
    // A bad checkpoint fails the same way compiling it would.
    spent.jit = since(start);
    spent.cached = true;
    if (timings)
      *timings = spent;
    return std::move(*loaded);
  }
  std::vector<ScalingGroup> scalingGroups;
  llvm::Expected<OwningOpRef<ModuleOp>> lowered = importAndLower(
      context, model, *weights, options, spent, start,
      calibrated && options.quantizeMethod == "awq" ? &scalingGroups : nullptr);
  if (!lowered)
    return lowered.takeError();
  module = std::move(*lowered);
  spent.lower = since(start);
  start = Clock::now();
  // Compiled once to a shared object in the cache, which this run loads as
  // the next one will.
  if (auto stored = cached.store(*module, weights, options)) {
    spent.jit = since(start);
    if (timings)
      *timings = spent;
    return std::move(*stored);
  }
  ParamValueFactory computeValues;
  if (calibrated)
    computeValues = [&, weights](const llmrt::Manifest &manifest) {
      return calibrateQuantization(context, model, weights, options, manifest,
                                   scalingGroups);
    };
  llvm::Expected<std::unique_ptr<llmrt::Model>> compiled =
      jitCompile(*module, std::move(weights), options.optLevel,
                 options.checkMemory, computeValues);
  spent.jit = since(start);
  if (timings)
    *timings = spent;
  return compiled;
}

llvm::Expected<std::unique_ptr<llmrt::Model>> mlir::llm::compileModule(
    ModuleOp module, llvm::StringRef weightsDir,
    std::shared_ptr<const llmrt::SafeTensorsArchive> weights,
    const JITOptions &options, JITTimings *timings) {
  using Clock = std::chrono::steady_clock;
  auto start = Clock::now();
  auto since = [](Clock::time_point from) {
    return std::chrono::duration<double>(Clock::now() - from).count();
  };
  JITTimings spent;
  const std::string noCalibration =
      "compiling a module: calibrated quantization needs a model folder (its "
      "importer runs the float model); expected --method rtn";
  if (llvm::Error err = checkCompileOptions(options, &noCalibration))
    return std::move(err);
  // The cache key: the weights' folder and the module's text.
  CachedCompilation cached;
  if (!options.cacheDir.empty()) {
    std::string text;
    llvm::raw_string_ostream os(text);
    module->print(os);
    std::array<uint8_t, 32> hash = llvm::SHA256::hash(llvm::ArrayRef(
        reinterpret_cast<const uint8_t *>(text.data()), text.size()));
    cached.open(options, weightsDir,
                options.cacheKeyExtra + " module " + llvm::toHex(hash, true));
  }
  if (auto loaded = cached.lookup(weights, options)) {
    spent.jit = since(start);
    spent.cached = true;
    if (timings)
      *timings = spent;
    return std::move(*loaded);
  }
  MLIRContext &context = *module.getContext();
  context.loadDialect<LLMDialect, func::FuncDialect, arith::ArithDialect,
                      LLVM::LLVMDialect>();
  CPUPipelineOptions pipeline;
  setPipelineOptions(pipeline, options);
  PassManager pm(&context);
  buildCPUPipeline(pm, pipeline);
  if (failed(pm.run(module)))
    return makeError("compiling the module for the CPU failed (see the "
                     "diagnostics above)");
  spent.lower = since(start);
  start = Clock::now();
  if (auto stored = cached.store(module, weights, options)) {
    spent.jit = since(start);
    if (timings)
      *timings = spent;
    return std::move(*stored);
  }
  llvm::Expected<std::unique_ptr<llmrt::Model>> compiled = jitCompile(
      module, std::move(weights), options.optLevel, options.checkMemory);
  spent.jit = since(start);
  if (timings)
    *timings = spent;
  return compiled;
}
