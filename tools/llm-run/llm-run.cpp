//===- llm-run.cpp - Runs a model: logits, hidden states, generation ------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// llm-run MODEL --input-ids 1,2,3 [--decoder-input-ids ...]
//         [--dump-logits OUT.npy] [--dump-hidden OUT.npy]
//         [--max-new-tokens N --dump-ids FILE]
//
// MODEL is a Hugging Face folder (config.json + safetensors). The model is
// imported into the llm dialect, lowered by --llm-lower-to-cpu and compiled
// by the ORC JIT; the contract of --dump-logits/--dump-hidden/--dump-ids is
// used by tests outside the project and must not change.
//
//===----------------------------------------------------------------------===//

#include "llm/Import/HFImporter.h"
#include "llm/JIT/CompiledModel.h"
#include "llm/Pipelines/Pipelines.h"
#include "llm/dialects/LLM/IR/LLMDialect.h"
#include "llm/dialects/LLM/IR/LLMOps.h"
#include "llm/passes/Passes.h"

#include "BeamSearch.h"
#include "KVCache.h"
#include "Kernels.h"
#include "SafeTensors.h"
#include "Sampler.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <numeric>
#include <set>

using namespace mlir;
using namespace mlir::llm;

namespace cl = llvm::cl;

static cl::OptionCategory category("llm-run options");
static cl::opt<std::string> modelPath(cl::Positional, cl::desc("MODEL"),
                                      cl::Required, cl::cat(category));
static cl::opt<std::string>
    inputIds("input-ids", cl::desc("Prompt token ids, comma separated"),
             cl::cat(category));
static cl::opt<std::string> decoderInputIds(
    "decoder-input-ids",
    cl::desc("Decoder token ids of encoder-decoder models (default: the "
             "decoder start token)"),
    cl::cat(category));
static cl::opt<std::string> prompt("prompt", cl::desc("Prompt text"),
                                   cl::cat(category));
static cl::opt<std::string>
    dumpLogits("dump-logits",
               cl::desc("Write float32 logits [sequence, vocab] as .npy"),
               cl::cat(category));
static cl::opt<std::string> dumpHidden(
    "dump-hidden",
    cl::desc("Write the float32 last hidden state [sequence, hidden] as .npy"),
    cl::cat(category));
static cl::opt<int64_t> maxNewTokens("max-new-tokens",
                                     cl::desc("Greedy-generate N tokens"),
                                     cl::init(0), cl::cat(category));
static cl::opt<std::string>
    dumpIds("dump-ids",
            cl::desc("Write generated ids (prompt excluded), comma separated"),
            cl::cat(category));
static cl::opt<bool> noKVCache(
    "no-kv-cache",
    cl::desc("Generate by recomputing the whole sequence for every token "
             "instead of prefill + decode over a paged KV cache"),
    cl::init(false), cl::cat(category));
static cl::opt<int64_t> kvBlockSize("kv-block-size",
                                    cl::desc("Tokens per KV-cache block"),
                                    cl::init(16), cl::cat(category));
static cl::opt<std::string>
    kvDtype("kv-dtype", cl::desc("KV-cache storage: f32, f16, bf16 or i8"),
            cl::init("f32"), cl::cat(category));
static cl::opt<std::string> dumpGenLogits(
    "dump-gen-logits",
    cl::desc("Write the float32 logits each generated token was chosen from "
             "as .npy [steps, vocab]"),
    cl::cat(category));
static cl::opt<bool>
    ignoreEos("ignore-eos",
              cl::desc("Keep generating after an end-of-sequence token"),
              cl::init(false), cl::cat(category));
static cl::opt<int> numThreads("num-threads",
                               cl::desc("Worker threads (0: one per core)"),
                               cl::init(0), cl::cat(category));
static cl::opt<bool> decomposeAttention(
    "decompose-attention",
    cl::desc("Import attention op by op (split_heads, matmul, softmax, ...) "
             "for --llm-fuse-attention to raise again"),
    cl::init(false), cl::cat(category));
static cl::opt<bool> attentionPasses(
    "attention-passes",
    cl::desc("Run --llm-fuse-attention and --llm-lower-alibi before "
             "--llm-lower-to-cpu (--decompose-attention needs them)"),
    cl::init(true), cl::cat(category));
static cl::opt<std::string>
    emitMlir("emit-mlir",
             cl::desc("Write the imported llm dialect IR of the full-sequence "
                      "forward pass, before any pass"),
             cl::value_desc("FILE"), cl::cat(category));
static cl::opt<double> temperature(
    "temperature",
    cl::desc("Sampling temperature (0, the default: greedy decoding)"),
    cl::init(0.0), cl::cat(category));
static cl::opt<int64_t>
    topK("top-k", cl::desc("Sample among the K most likely tokens (0: off)"),
         cl::init(0), cl::cat(category));
static cl::opt<double> topP(
    "top-p",
    cl::desc("Sample from the smallest set of tokens with probability >= P "
             "(1: off)"),
    cl::init(1.0), cl::cat(category));
static cl::opt<double>
    minP("min-p",
         cl::desc("Drop tokens below P times the top probability (0: off)"),
         cl::init(0.0), cl::cat(category));
static cl::opt<double> repetitionPenalty(
    "repetition-penalty",
    cl::desc("Divide (multiply when negative) the logits of tokens already "
             "in the sequence by this (1: off)"),
    cl::init(1.0), cl::cat(category));
static cl::opt<uint64_t> seed("seed",
                              cl::desc("Seed of the sampler's generator"),
                              cl::init(0), cl::cat(category));
static cl::opt<int64_t> numBeams(
    "num-beams",
    cl::desc("Beam search with K beams, as transformers' generate("
             "num_beams=K, do_sample=False) (1, the default: no beam search)"),
    cl::init(1), cl::cat(category));
static cl::opt<double> lengthPenalty(
    "length-penalty",
    cl::desc("Beam search: finished hypotheses score sum of log-probs / "
             "(generated length ** P)"),
    cl::init(1.0), cl::cat(category));

static int fail(const llvm::Twine &message) {
  llvm::errs() << "llm-run: error: " << message << "\n";
  return 1;
}

/// Longest sequence one compiled forward pass may take when the model itself
/// sets no limit: keeps prompt + --max-new-tokens and the buffer sizes derived
/// from it far from int64 overflow.
constexpr int64_t kMaxSequenceLength = int64_t(1) << 20;
/// Most worker threads --num-threads may ask for.
constexpr int kMaxThreads = 1024;
/// Most beams --num-beams may ask for (each holds its own KV-cache blocks).
constexpr int64_t kMaxBeams = 1024;

/// Checks, before the model is compiled, that `path` (the value of `flag`)
/// names a file that can be created: an existing directory, not a directory.
static llvm::Error checkOutputPath(llvm::StringRef flag, llvm::StringRef path) {
  if (path.empty())
    return llvm::Error::success();
  llvm::StringRef dir = llvm::sys::path::parent_path(path);
  if (llvm::sys::fs::is_directory(path))
    return llvm::createStringError(llvm::formatv(
        "--{0}: expected a file path, found the directory '{1}'", flag, path));
  if (!dir.empty() && !llvm::sys::fs::is_directory(dir))
    return llvm::createStringError(llvm::formatv(
        "--{0}: {1}: expected an existing directory '{2}', "
        "found {3}",
        flag, path, dir, llvm::sys::fs::exists(dir) ? "a file" : "nothing"));
  return llvm::Error::success();
}

/// Parses "1, 2,3" into ids; the error names the flag and the bad item.
static llvm::Expected<std::vector<int64_t>> parseIds(llvm::StringRef flag,
                                                     llvm::StringRef text) {
  std::vector<int64_t> ids;
  llvm::SmallVector<llvm::StringRef> items;
  text.split(items, ',', -1, /*KeepEmpty=*/false);
  for (llvm::StringRef item : items) {
    item = item.trim();
    int64_t id;
    if (item.empty())
      continue;
    if (item.getAsInteger(10, id))
      return llvm::createStringError(
          llvm::formatv("--{0}: expected comma-separated integers, found "
                        "'{1}'",
                        flag, item));
    ids.push_back(id);
  }
  if (ids.empty())
    return llvm::createStringError(
        llvm::formatv("--{0}: expected at least one token id", flag));
  return ids;
}

/// Writes a float32 C-order .npy file.
static llvm::Error writeNpy(llvm::StringRef path, const float *data,
                            int64_t rows, int64_t cols) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec)
    return llvm::createStringError(
        llvm::formatv("{0}: cannot write: {1}", path, ec.message()));
  std::string header = llvm::formatv("{{'descr': '<f4', 'fortran_order': "
                                     "False, 'shape': ({0}, {1}), }",
                                     rows, cols);
  // Magic (6) + version (2) + length (2) + header + '\n' is a multiple of 64.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  os << "\x93NUMPY" << '\x01' << '\x00';
  os << static_cast<char>(header.size() & 0xff)
     << static_cast<char>(header.size() >> 8);
  os << header;
  os.write(reinterpret_cast<const char *>(data),
           static_cast<size_t>(rows * cols) * sizeof(float));
  os.close();
  if (os.has_error())
    return llvm::createStringError(
        llvm::formatv("{0}: write failed: {1}", path, os.error().message()));
  return llvm::Error::success();
}

namespace {
using Clock = std::chrono::steady_clock;
double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// A compiled forward pass for fixed sequence lengths, and its buffers.
struct Forward {
  std::unique_ptr<CompiledModel> model;
  const EntryPoint *entry = nullptr;
  std::vector<std::vector<int64_t>> intArgs;
  std::vector<float> output;
  double compileSeconds = 0;
};
} // namespace

static llvm::Expected<Forward> compile(MLIRContext &context,
                                       const HFModel &hfModel,
                                       const SafeTensorsArchive &archive,
                                       int64_t seqLen, int64_t decoderSeqLen) {
  auto start = Clock::now();
  HFImportOptions options;
  options.seqLen = seqLen;
  options.decoderSeqLen = decoderSeqLen;
  options.decomposeAttention = decomposeAttention;
  llvm::Expected<OwningOpRef<ModuleOp>> module =
      hfModel.import(context, archive, options);
  if (!module)
    return module.takeError();
  if (!emitMlir.empty()) {
    std::error_code ec;
    llvm::raw_fd_ostream os(emitMlir, ec);
    if (ec)
      return llvm::createStringError(llvm::formatv(
          "{0}: cannot write: {1}", emitMlir.getValue(), ec.message()));
    (*module)->print(os);
  }
  // Decomposed attention has no CPU lowering: fusion must raise all of it.
  PassManager pm(&context);
  CPUPipelineOptions pipeline;
  pipeline.attentionPasses = attentionPasses;
  buildCPUPipeline(pm, pipeline);
  if (failed(pm.run(**module)))
    return llvm::createStringError("lowering to the CPU failed (see the "
                                   "diagnostics above)");
  Forward forward;
  llvm::Expected<std::unique_ptr<CompiledModel>> model =
      CompiledModel::create(**module, archive);
  if (!model)
    return model.takeError();
  forward.model = std::move(*model);
  llvm::Expected<const EntryPoint *> entry = forward.model->lookup("forward");
  if (!entry)
    return entry.takeError();
  forward.entry = *entry;
  for (Type t : forward.entry->argTypes)
    forward.intArgs.emplace_back(cast<RankedTensorType>(t).getNumElements(), 0);
  forward.output.resize(forward.entry->resultTypes[0].getNumElements());
  forward.compileSeconds = secondsSince(start);
  return std::move(forward);
}

/// Runs the forward pass; returns an error recorded by a kernel.
static llvm::Error run(Forward &forward) {
  std::vector<void *> args;
  for (auto &buffer : forward.intArgs)
    args.push_back(buffer.data());
  void *result = forward.output.data();
  forward.model->run(*forward.entry, args, {result});
  if (const char *error = llmk_take_error())
    return llvm::createStringError(llvm::formatv("kernel error: {0}", error));
  return llvm::Error::success();
}

/// The sampler of this run and its generator, set from --temperature,
/// --top-k, --top-p, --min-p, --repetition-penalty and --seed in main().
static llmrt::Sampler tokenSampler;
static llmrt::Rng tokenRng;

/// The sampling settings, for the summary of a generation.
static std::string samplingSummary() {
  const llmrt::SamplerParams &p = tokenSampler.params();
  auto num = [](double value) {
    char buffer[32];
    std::snprintf(buffer, sizeof(buffer), "%g", value);
    return std::string(buffer);
  };
  if (tokenSampler.isGreedy())
    return p.repetition_penalty == 1.0
               ? std::string("greedy")
               : "greedy, repetition-penalty " + num(p.repetition_penalty);
  return llvm::formatv("temperature {0}, top-k {1}, top-p {2}, min-p {3}, "
                       "repetition-penalty {4}, seed {5}",
                       num(p.temperature), p.top_k, num(p.top_p), num(p.min_p),
                       num(p.repetition_penalty), p.seed)
      .str();
}

/// Picks the next token from one row of logits. `history` is the prompt and
/// the tokens generated so far (the decoder's for encoder-decoder models), as
/// transformers' repetition penalty sees them. Returns -1 on an error, which
/// `tokenSampler.error()` describes (e.g. a NaN logit).
static int64_t pickNext(const float *row, int64_t vocab,
                        llvm::ArrayRef<int64_t> history) {
  return tokenSampler.sample(
      row, vocab, llmrt::TokenSpan(history.data(), history.size()), tokenRng);
}

namespace {
/// Prefill entry points and the batched decode entry point over one paged KV
/// cache. Decoder-only models have a prefill entry point per prompt length;
/// encoder-decoder models (one decoder prompt) have one per encoder input
/// length, each with the entry point that runs the encoder and fills the
/// static cross-attention cache.
struct CachedModel {
  std::unique_ptr<CompiledModel> model;
  /// By prompt length, or by encoder input length.
  std::map<int64_t, const EntryPoint *> prefill;
  /// By encoder input length (encoder-decoder models).
  std::map<int64_t, const EntryPoint *> encode;
  const EntryPoint *decode = nullptr;
  int64_t maxBlocks = 0;
  double compileSeconds = 0;
  bool isSeq2Seq() const { return !encode.empty(); }
  /// The prefill entry point for a prompt (or, for encoder-decoder models,
  /// an encoder input) of that many tokens.
  const EntryPoint &getPrefill(int64_t promptLen, int64_t encoderLen) const {
    return *prefill.at(isSeq2Seq() ? encoderLen : promptLen);
  }
};

/// The cross-attention cache of an encoder-decoder model: the keys and values
/// of each encoder input, written once and read by every decoder call (all
/// beams and steps of that input share its blocks).
struct CrossCache {
  std::unique_ptr<llmrt::KVCachePool> pool;
  /// Per encoder input: its blocks, and its length.
  std::vector<std::vector<int32_t>> tables;
  std::vector<int32_t> lengths;
};
} // namespace

/// Imports `forward` once per prompt length (batch 1), all into one module so
/// that they share the bound weights, and turns them into prefill entry
/// points with --llm-insert-kv-cache, which also derives the decode entry
/// point for one token of `batch` sequences.
///
/// For an encoder-decoder model (`encoderLens` not empty), `promptLens` holds
/// the one decoder prompt length and there is a prefill entry point per
/// encoder input length; the cache pass moves the encoder into
/// `<prefill>_encode`, which fills the cross-attention cache. The decode
/// entry point takes block tables for the longest encoder input.
static llvm::Expected<CachedModel>
compileCached(MLIRContext &context, const HFModel &hfModel,
              const SafeTensorsArchive &archive,
              const std::set<int64_t> &promptLens, int64_t batch,
              int64_t maxSeqLen, const std::set<int64_t> &encoderLens = {}) {
  auto start = Clock::now();
  OwningOpRef<ModuleOp> module = ModuleOp::create(UnknownLoc::get(&context));
  // (name, encoder length or 0, tokens): the prefill functions, imported
  // for one sequence each.
  std::vector<std::tuple<std::string, int64_t, int64_t>> functions;
  if (encoderLens.empty()) {
    for (int64_t len : promptLens)
      functions.emplace_back("prefill_" + std::to_string(len), 0, len);
  } else {
    for (int64_t len : encoderLens)
      functions.emplace_back("prefill_enc" + std::to_string(len), len,
                             *promptLens.begin());
  }
  for (auto &[name, encoderLen, seq] : functions) {
    HFImportOptions options;
    options.seqLen = encoderLen > 0 ? encoderLen : seq;
    options.decoderSeqLen = encoderLen > 0 ? seq : 0;
    options.functionName = name;
    llvm::Expected<OwningOpRef<ModuleOp>> imported =
        hfModel.import(context, archive, options);
    if (!imported)
      return imported.takeError();
    for (Operation &op :
         llvm::make_early_inc_range((*imported)->getBody()->getOperations()))
      op.moveBefore(module->getBody(), module->getBody()->end());
  }
  PassManager pm(&context);
  // buildCPUPipeline puts ALiBi slopes before the cache and the cache before
  // canonicalization, as the cache requires.
  CPUPipelineOptions pipeline;
  pipeline.kvCache = true;
  pipeline.blockSize = kvBlockSize;
  pipeline.cacheDtype = kvDtype;
  pipeline.maxSeqLen = maxSeqLen;
  // The cache pass derives each prefill function's decode entry point for
  // `batch` sequences of one token.
  pipeline.decodeBatch = batch;
  buildCPUPipeline(pm, pipeline);
  if (failed(pm.run(*module)))
    return llvm::createStringError("compiling the cached entry points failed "
                                   "(see the diagnostics above)");
  // One decode entry point serves every prompt: the last prefill's (the
  // longest encoder input's, whose cross-attention block tables are the
  // widest). The others would only cost JIT time.
  std::string decodeName = std::get<0>(functions.back()) + "_decode";
  for (auto &function : functions)
    if (std::get<0>(function) + "_decode" != decodeName)
      if (auto unused = module->lookupSymbol<LLVM::LLVMFuncOp>(
              std::get<0>(function) + "_decode"))
        unused.erase();
  CachedModel cached;
  llvm::Expected<std::unique_ptr<CompiledModel>> model =
      CompiledModel::create(*module, archive);
  if (!model)
    return model.takeError();
  cached.model = std::move(*model);
  auto lookup = [&](const std::string &name,
                    const EntryPoint *&entry) -> llvm::Error {
    llvm::Expected<const EntryPoint *> found = cached.model->lookup(name);
    if (!found)
      return found.takeError();
    entry = *found;
    return llvm::Error::success();
  };
  for (auto &[name, encoderLen, seq] : functions) {
    if (llvm::Error err =
            lookup(name, cached.prefill[encoderLen > 0 ? encoderLen : seq]))
      return std::move(err);
    if (encoderLen > 0)
      if (llvm::Error err = lookup(name + "_encode", cached.encode[encoderLen]))
        return std::move(err);
  }
  if (llvm::Error err = lookup(decodeName, cached.decode))
    return std::move(err);
  cached.maxBlocks = llvm::divideCeil(maxSeqLen, kvBlockSize);
  cached.compileSeconds = secondsSince(start);
  return std::move(cached);
}

/// The storage type of --kv-dtype, after checking --kv-block-size.
static llvm::Expected<int32_t> getKVDtype() {
  if (kvBlockSize <= 0)
    return llvm::createStringError(
        llvm::formatv("--kv-block-size: expected a value > 0, found {0}",
                      kvBlockSize.getValue()));
  std::optional<int32_t> dtype =
      llvm::StringSwitch<std::optional<int32_t>>(kvDtype)
          .Case("f32", LLMK_F32)
          .Case("f16", LLMK_F16)
          .Case("bf16", LLMK_BF16)
          .Case("i8", LLMK_I8)
          .Default(std::nullopt);
  if (!dtype)
    return llvm::createStringError(
        llvm::formatv("--kv-dtype: expected f32, f16, bf16 or i8, found '{0}'",
                      kvDtype.getValue()));
  return *dtype;
}

/// The cache shape of the compiled entry points, stored as `dtype`.
static llmrt::KVCacheConfig getCacheConfig(const EntryPoint &entry,
                                           int32_t dtype) {
  KVCacheType cacheType;
  for (Type type : entry.argTypes)
    if ((cacheType = dyn_cast<KVCacheType>(type)))
      break;
  llmrt::KVCacheConfig config;
  config.numLayers = cacheType.getNumLayers();
  config.kvHeads = cacheType.getNumKvHeads();
  config.headDim = cacheType.getHeadDim();
  config.blockSize = cacheType.getBlockSize();
  config.dtype = dtype;
  return config;
}

/// Runs a cached entry point on the sequences `seqs` (one row each) with
/// `count` new tokens per row, reserving their cache slots first. A row whose
/// `advance` entry is false (all rows advance when it is empty) writes
/// nothing to the cache and attends over what it holds. With `cross` (an
/// encoder-decoder model), row r reads the cross-attention cache of encoder
/// input `crossInputs[r]` and the entry takes no positions. Fails when the
/// cache is full or a kernel reports an error.
static llvm::Error
runCachedEntry(const CachedModel &cached, llmrt::KVCachePool &pool,
               llmrt::BlockManager &blocks, const EntryPoint &entry,
               llvm::ArrayRef<int64_t> seqs, std::vector<int64_t> &ids,
               std::vector<int64_t> &positions, float *logits, int64_t count,
               llvm::ArrayRef<bool> advance = {},
               const CrossCache *cross = nullptr,
               llvm::ArrayRef<int64_t> crossInputs = {}) {
  // (ids, positions, cache, slots, tables, lens), or for encoder-decoder
  // models (ids, cache, slots, tables, lens, cross cache, cross tables,
  // cross lens): what llm-insert-kv-cache makes of the imported functions.
  if (entry.argTypes.size() != (cross ? 8u : 6u))
    return llvm::createStringError(llvm::formatv(
        "internal error: entry point '{0}' takes {1} arguments, expected {2}",
        entry.name, entry.argTypes.size(), cross ? 8 : 6));
  int64_t rows = seqs.size(), maxBlocks = cached.maxBlocks;
  std::vector<int32_t> slots(rows * count, -1), tables(rows * maxBlocks),
      lens(rows);
  std::string error;
  for (int64_t r = 0; r < rows; ++r) {
    int64_t seq = seqs[r];
    int64_t start = blocks.getLength(seq);
    if (advance.empty() || advance[r]) {
      if (!blocks.reserve(seq, count, error))
        return llvm::createStringError(error);
      blocks.getSlots(seq, start, count, slots.data() + r * count);
      start += count;
    }
    blocks.getBlockTable(seq, tables.data() + r * maxBlocks, maxBlocks);
    lens[r] = static_cast<int32_t>(std::max<int64_t>(start, 1));
  }
  std::vector<void *> args = {ids.data(),   positions.data(), pool.descriptor(),
                              slots.data(), tables.data(),    lens.data()};
  std::vector<int32_t> crossTables, crossLens(rows);
  if (cross) {
    int64_t width = cast<RankedTensorType>(entry.argTypes[6]).getDimSize(1);
    crossTables.assign(rows * width, 0);
    for (int64_t r = 0; r < rows; ++r) {
      const std::vector<int32_t> &table = cross->tables[crossInputs[r]];
      if (static_cast<int64_t>(table.size()) > width)
        return llvm::createStringError(llvm::formatv(
            "internal error: an encoder input of {0} blocks for a "
            "cross-attention table of {1}",
            table.size(), width));
      std::copy(table.begin(), table.end(), crossTables.begin() + r * width);
      crossLens[r] = cross->lengths[crossInputs[r]];
    }
    args.erase(args.begin() + 1);
    args.insert(args.end(), {cross->pool->descriptor(), crossTables.data(),
                             crossLens.data()});
  }
  void *result = logits;
  cached.model->run(entry, args, {result});
  if (const char *kernelError = llmk_take_error())
    return llvm::createStringError(
        llvm::formatv("kernel error: {0}", kernelError));
  return llvm::Error::success();
}

/// Runs each encoder input through the encoder entry point of its length,
/// which writes its cross-attention keys and values into consecutive blocks
/// of one cross-attention cache. Decoder-only models get an empty one (no
/// pool).
static llvm::Expected<CrossCache>
runEncoders(const CachedModel &cached,
            const std::vector<std::vector<int64_t>> &inputs, int32_t dtype) {
  if (!cached.isSeq2Seq())
    return CrossCache();
  llmrt::KVCacheConfig config =
      getCacheConfig(*cached.encode.begin()->second, dtype);
  int64_t numBlocks = 0;
  for (const std::vector<int64_t> &input : inputs)
    numBlocks += llvm::divideCeil(input.size(), config.blockSize);
  CrossCache cross;
  std::string error;
  cross.pool = llmrt::KVCachePool::create(config, numBlocks, error);
  if (!cross.pool)
    return llvm::createStringError(error);
  int32_t nextBlock = 0;
  for (const std::vector<int64_t> &input : inputs) {
    int64_t length = input.size();
    std::vector<int32_t> table, slots(length);
    int64_t blocksNeeded = (length + config.blockSize - 1) / config.blockSize;
    for (int64_t b = 0; b < blocksNeeded; ++b)
      table.push_back(nextBlock++);
    for (int64_t j = 0; j < length; ++j)
      slots[j] =
          static_cast<int32_t>(table[j / config.blockSize] * config.blockSize +
                               j % config.blockSize);
    std::vector<int64_t> ids = input;
    cached.model->run(*cached.encode.at(length),
                      {ids.data(), cross.pool->descriptor(), slots.data()}, {});
    if (const char *kernelError = llmk_take_error())
      return llvm::createStringError(
          llvm::formatv("kernel error: {0}", kernelError));
    cross.tables.push_back(std::move(table));
    cross.lengths.push_back(static_cast<int32_t>(length));
  }
  return std::move(cross);
}

static std::string joinIds(llvm::ArrayRef<int64_t> ids) {
  return llvm::join(
      llvm::map_range(ids, [](int64_t id) { return std::to_string(id); }), ",");
}

/// Generation with prefill + decode over a paged KV cache: each prompt is
/// prefilled on its own, then one decode call per step advances every
/// sequence, whatever its length. For an encoder-decoder model,
/// `encoderInputs[b]` is sequence b's encoder input (each runs through the
/// encoder once, before its prefill) and `prompts[b]` its decoder prompt.
/// Returns the process exit code.
static int
generateCached(MLIRContext &context, const HFModel &hfModel,
               const SafeTensorsArchive &archive,
               const std::vector<std::vector<int64_t>> &prompts,
               const std::vector<std::vector<int64_t>> &encoderInputs = {}) {
  const HFModelInfo &info = hfModel.getInfo();
  int64_t batch = prompts.size();
  std::set<int64_t> promptLens, encoderLens;
  int64_t longest = 0, encoderTokens = 0;
  for (const std::vector<int64_t> &p : prompts) {
    promptLens.insert(p.size());
    longest = std::max<int64_t>(longest, p.size());
  }
  for (const std::vector<int64_t> &input : encoderInputs) {
    encoderLens.insert(input.size());
    encoderTokens += input.size();
  }
  int64_t maxSeqLen = longest + maxNewTokens;
  llvm::Expected<int32_t> dtype = getKVDtype();
  if (!dtype)
    return fail(llvm::toString(dtype.takeError()));
  llvm::Expected<CachedModel> cached = compileCached(
      context, hfModel, archive, promptLens, batch, maxSeqLen, encoderLens);
  if (!cached)
    return fail(llvm::toString(cached.takeError()));

  llmrt::KVCacheConfig config = getCacheConfig(*cached->decode, *dtype);
  int64_t numBlocks = 0;
  for (const std::vector<int64_t> &p : prompts)
    numBlocks += llvm::divideCeil(p.size() + maxNewTokens, config.blockSize);
  std::string error;
  std::unique_ptr<llmrt::KVCachePool> pool =
      llmrt::KVCachePool::create(config, numBlocks, error);
  if (!pool)
    return fail(error);
  llmrt::BlockManager blocks(pool->getNumBlocks(), config.blockSize);
  llvm::outs() << llvm::formatv(
      "compiled {0} ({1}) prefill + decode in {2:f2} s; KV cache: {3} blocks "
      "of {4} tokens, {5} bytes per token, {6:f2} MB\n",
      modelPath, info.modelType, cached->compileSeconds, pool->getNumBlocks(),
      config.blockSize, llmrt::getKVBytesPerToken(config),
      pool->getBytes() / 1e6);

  int64_t vocab = info.vocabSize;
  CrossCache cross;
  // Runs `entry` on `rows` sequences of `count` tokens each; sequence r
  // holds `lengths[r]` tokens after this call (slot -1: not advanced).
  // Sequence b reads encoder input b's cross-attention cache.
  std::vector<int64_t> crossInputs(batch);
  std::iota(crossInputs.begin(), crossInputs.end(), 0);
  auto runEntry = [&](const EntryPoint &entry, llvm::ArrayRef<int64_t> seqs,
                      std::vector<int64_t> &ids,
                      std::vector<int64_t> &positions, float *logits,
                      int64_t count, llvm::ArrayRef<bool> advance,
                      llvm::ArrayRef<int64_t> inputs) {
    return runCachedEntry(*cached, *pool, blocks, entry, seqs, ids, positions,
                          logits, count, advance, cross.pool ? &cross : nullptr,
                          inputs);
  };

  // The encoders, once each; then prefill, one sequence at a time.
  std::vector<int64_t> seqs;
  std::vector<std::vector<int64_t>> history(prompts), generated(batch);
  std::vector<std::vector<float>> genLogits(batch);
  std::vector<float> firstRows(batch * vocab);
  auto start = Clock::now();
  int64_t prefillTokens = 0;
  llvm::Expected<CrossCache> encoded =
      runEncoders(*cached, encoderInputs, *dtype);
  if (!encoded)
    return fail(llvm::toString(encoded.takeError()));
  cross = std::move(*encoded);
  for (int64_t b = 0; b < batch; ++b) {
    int64_t len = prompts[b].size();
    seqs.push_back(blocks.addSequence());
    std::vector<int64_t> ids = prompts[b], positions(len);
    for (int64_t i = 0; i < len; ++i)
      positions[i] = info.positionOffset + i;
    std::vector<float> logits(len * vocab);
    const EntryPoint &prefill = cached->getPrefill(
        len, cached->isSeq2Seq() ? encoderInputs[b].size() : 0);
    if (llvm::Error err = runEntry(prefill, {seqs[b]}, ids, positions,
                                   logits.data(), len, {true}, {b}))
      return fail(llvm::toString(std::move(err)));
    if (b == 0 && !dumpLogits.empty())
      if (llvm::Error err = writeNpy(dumpLogits, logits.data(), len, vocab))
        return fail(llvm::toString(std::move(err)));
    std::copy_n(logits.data() + (len - 1) * vocab, vocab,
                firstRows.data() + b * vocab);
    prefillTokens += len;
  }
  double prefillSeconds = secondsSince(start);

  // Decode: every step advances all unfinished sequences in one call.
  std::vector<bool> done(batch, false);
  std::vector<float> decodeLogits(batch * vocab);
  std::vector<int64_t> tokens(batch), positions(batch);
  int64_t decodeSteps = 0, decodeTokens = 0;
  start = Clock::now();
  for (int64_t step = 0; step < maxNewTokens; ++step) {
    const float *rows = firstRows.data();
    if (step > 0) {
      llvm::SmallVector<bool> advance(batch);
      for (int64_t b = 0; b < batch; ++b) {
        advance[b] = !done[b];
        tokens[b] = history[b].back();
        positions[b] = info.positionOffset + history[b].size() - 1;
        decodeTokens += advance[b];
      }
      if (llvm::Error err =
              runEntry(*cached->decode, seqs, tokens, positions,
                       decodeLogits.data(), 1, advance, crossInputs))
        return fail(llvm::toString(std::move(err)));
      ++decodeSteps;
      rows = decodeLogits.data();
    }
    bool anyLeft = false;
    for (int64_t b = 0; b < batch; ++b) {
      if (done[b])
        continue;
      const float *row = rows + b * vocab;
      genLogits[b].insert(genLogits[b].end(), row, row + vocab);
      int64_t next = pickNext(row, vocab, history[b]);
      if (next < 0)
        return fail(llvm::formatv("sampling: {0}", tokenSampler.error()));
      generated[b].push_back(next);
      history[b].push_back(next);
      done[b] = !ignoreEos && llvm::is_contained(info.eosTokenIds, next);
      anyLeft |= !done[b];
    }
    if (!anyLeft)
      break;
  }
  double decodeSeconds = secondsSince(start);

  for (int64_t b = 0; b < batch; ++b)
    llvm::outs() << (batch > 1 ? llvm::formatv("generated[{0}]: ", b).str()
                               : std::string("generated: "))
                 << joinIds(generated[b]) << "\n";
  llvm::outs() << "sampling: " << samplingSummary() << "\n";
  llvm::outs() << llvm::formatv(
      "prefill: {0} tokens{1} in {2:f4} s ({3:f1} "
      "tokens/s)\n",
      prefillTokens,
      cached->isSeq2Seq()
          ? llvm::formatv(" after {0} encoder tokens", encoderTokens).str()
          : std::string(),
      prefillSeconds, prefillTokens / prefillSeconds);
  if (decodeSteps > 0)
    llvm::outs() << llvm::formatv(
        "decode: {0} tokens in {1} steps of batch {2}, {3:f4} s ({4:f1} "
        "tokens/s)\n",
        decodeTokens, decodeSteps, batch, decodeSeconds,
        decodeTokens / decodeSeconds);
  if (!dumpIds.empty()) {
    std::error_code ec;
    llvm::raw_fd_ostream os(dumpIds, ec);
    if (ec)
      return fail(llvm::formatv("{0}: cannot write: {1}", dumpIds.getValue(),
                                ec.message()));
    for (int64_t b = 0; b < batch; ++b)
      os << joinIds(generated[b]) << "\n";
  }
  if (!dumpGenLogits.empty()) {
    if (llvm::Error err = writeNpy(dumpGenLogits, genLogits[0].data(),
                                   generated[0].size(), vocab))
      return fail(llvm::toString(std::move(err)));
  }
  return 0;
}

/// Beam search parameters from the flags and the model's eos ids.
static llmrt::BeamSearchParams beamParams(const HFModelInfo &info) {
  llmrt::BeamSearchParams params;
  params.num_beams = numBeams;
  params.max_new_tokens = maxNewTokens;
  params.length_penalty = lengthPenalty;
  if (!ignoreEos)
    params.eos_token_ids.assign(info.eosTokenIds.begin(),
                                info.eosTokenIds.end());
  return params;
}

/// Prints a beam search's result and writes --dump-ids. Returns the process
/// exit code.
static int reportBeamSearch(const llmrt::BeamSearchResult &result,
                            double seconds, llvm::StringRef how) {
  if (!result.ok)
    return fail(llvm::formatv("beam search: {0}", result.error));
  llvm::outs() << "generated: " << joinIds(result.tokens) << "\n";
  llvm::outs() << llvm::formatv("beam search: {0} beams, length-penalty {1}, "
                                "score {2:f6}, {3} steps in {4:f3} s ({5})\n",
                                numBeams.getValue(), lengthPenalty.getValue(),
                                result.score, result.steps, seconds, how);
  if (!dumpIds.empty()) {
    std::error_code ec;
    llvm::raw_fd_ostream os(dumpIds, ec);
    if (ec)
      return fail(llvm::formatv("{0}: cannot write: {1}", dumpIds.getValue(),
                                ec.message()));
    os << joinIds(result.tokens) << "\n";
  }
  return 0;
}

/// Beam search over a paged KV cache: the prompt is prefilled once and the K
/// beams are K sequences advanced by one batched decode call per step. When
/// beams are reordered, a beam whose parent is already taken gets a copy of
/// the parent's cache blocks. Returns the process exit code.
static int generateBeamCached(MLIRContext &context, const HFModel &hfModel,
                              const SafeTensorsArchive &archive,
                              const std::vector<int64_t> &prompt,
                              const std::vector<int64_t> &encoderInput = {}) {
  const HFModelInfo &info = hfModel.getInfo();
  int64_t beams = numBeams, promptLen = prompt.size();
  int64_t maxSeqLen = promptLen + maxNewTokens;
  llvm::Expected<int32_t> dtype = getKVDtype();
  if (!dtype)
    return fail(llvm::toString(dtype.takeError()));
  std::set<int64_t> encoderLens;
  if (!encoderInput.empty())
    encoderLens.insert(encoderInput.size());
  llvm::Expected<CachedModel> cached = compileCached(
      context, hfModel, archive, {promptLen}, beams, maxSeqLen, encoderLens);
  if (!cached)
    return fail(llvm::toString(cached.takeError()));
  llmrt::KVCacheConfig config = getCacheConfig(*cached->decode, *dtype);
  int64_t maxBlocks = cached->maxBlocks;
  // The prompt's sequence, then K beams of which each may be copied once
  // while the previous K are still held.
  int64_t numBlocks = (2 * beams + 1) * maxBlocks;
  std::string error;
  std::unique_ptr<llmrt::KVCachePool> pool =
      llmrt::KVCachePool::create(config, numBlocks, error);
  if (!pool)
    return fail(error);
  llmrt::BlockManager blocks(pool->getNumBlocks(), config.blockSize);
  llvm::outs() << llvm::formatv(
      "compiled {0} ({1}) prefill + decode (batch {2}) in {3:f2} s; KV "
      "cache: {4} blocks of {5} tokens\n",
      modelPath, info.modelType, beams, cached->compileSeconds,
      pool->getNumBlocks(), config.blockSize);

  // Runs `entry` on `rows` sequences of `count` tokens each (as
  // generateCached does). Every beam reads the one cross-attention cache.
  CrossCache cross;
  auto runEntry = [&](const EntryPoint &entry, llvm::ArrayRef<int64_t> seqs,
                      std::vector<int64_t> &ids,
                      std::vector<int64_t> &positions, float *logits,
                      int64_t count) {
    return runCachedEntry(*cached, *pool, blocks, entry, seqs, ids, positions,
                          logits, count, {}, cross.pool ? &cross : nullptr,
                          std::vector<int64_t>(seqs.size(), 0));
  };

  // Copies the cache blocks of `from` into the fresh sequence `to`:
  // [layers][blocks][2][kvHeads][blockSize][headDim] (+ int8 scales): a
  // block is contiguous in each layer.
  LLMKCache *cache = pool->descriptor();
  int64_t elementBytes = *dtype == LLMK_F32 ? 4 : *dtype == LLMK_I8 ? 1 : 2;
  int64_t rowValues = 2 * config.blockSize * config.kvHeads;
  int64_t blockBytes = rowValues * config.headDim * elementBytes;
  auto copySequence = [&](int64_t from, int64_t to) -> llvm::Error {
    int64_t length = blocks.getLength(from);
    if (!blocks.reserve(to, length, error))
      return llvm::createStringError(error);
    std::vector<int32_t> src(maxBlocks), dst(maxBlocks);
    blocks.getBlockTable(from, src.data(), maxBlocks);
    blocks.getBlockTable(to, dst.data(), maxBlocks);
    int64_t used = (length + config.blockSize - 1) / config.blockSize;
    for (int64_t i = 0; i < used; ++i)
      for (int64_t layer = 0; layer < config.numLayers; ++layer) {
        int64_t s = layer * cache->numBlocks + src[i];
        int64_t d = layer * cache->numBlocks + dst[i];
        auto *data = static_cast<uint8_t *>(cache->data);
        std::memcpy(data + d * blockBytes, data + s * blockBytes, blockBytes);
        if (cache->scales)
          std::memcpy(cache->scales + d * rowValues,
                      cache->scales + s * rowValues, rowValues * sizeof(float));
      }
    return llvm::Error::success();
  };

  int64_t vocab = info.vocabSize;
  auto start = Clock::now();
  llvm::Expected<CrossCache> encoded =
      runEncoders(*cached, {encoderInput}, *dtype);
  if (!encoded)
    return fail(llvm::toString(encoded.takeError()));
  cross = std::move(*encoded);
  int64_t promptSeq = blocks.addSequence();
  std::vector<float> promptLogits(promptLen * vocab);
  {
    std::vector<int64_t> ids = prompt, positions(promptLen);
    for (int64_t i = 0; i < promptLen; ++i)
      positions[i] = info.positionOffset + i;
    if (llvm::Error err = runEntry(
            cached->getPrefill(promptLen, encoderInput.size()), {promptSeq},
            ids, positions, promptLogits.data(), promptLen))
      return fail(llvm::toString(std::move(err)));
  }

  // beamSeqs[i]: the sequence holding the cache of the previous call's beam
  // i (in the first call every beam is the prompt).
  std::vector<int64_t> beamSeqs(beams, promptSeq);
  llmrt::BeamLogitsFn logitsFn = [&](const std::vector<llmrt::Beam> &beamList,
                                     float *logits, std::string &message) {
    if (beamList[0].parent < 0) {
      for (int64_t b = 0; b < beams; ++b)
        std::copy_n(promptLogits.data() + (promptLen - 1) * vocab, vocab,
                    logits + b * vocab);
      return true;
    }
    // A parent's sequence goes to its first child, copies to the others;
    // sequences without a child are released.
    std::set<int64_t> taken;
    std::vector<int64_t> seqs(beams);
    for (int64_t b = 0; b < beams; ++b) {
      int64_t parent = beamSeqs[beamList[b].parent];
      if (taken.insert(parent).second) {
        seqs[b] = parent;
        continue;
      }
      seqs[b] = blocks.addSequence();
      if (llvm::Error err = copySequence(parent, seqs[b])) {
        message = llvm::toString(std::move(err));
        return false;
      }
    }
    for (int64_t seq : std::set<int64_t>(beamSeqs.begin(), beamSeqs.end()))
      if (!taken.count(seq))
        blocks.release(seq);
    beamSeqs = seqs;
    std::vector<int64_t> tokens(beams), positions(beams);
    for (int64_t b = 0; b < beams; ++b) {
      tokens[b] = beamList[b].tokens.back();
      positions[b] =
          info.positionOffset + promptLen + beamList[b].tokens.size() - 1;
    }
    if (llvm::Error err =
            runEntry(*cached->decode, seqs, tokens, positions, logits, 1)) {
      message = llvm::toString(std::move(err));
      return false;
    }
    return true;
  };
  llmrt::BeamSearchResult result =
      llmrt::beam_search(beamParams(info), vocab, logitsFn);
  return reportBeamSearch(result, secondsSince(start),
                          "prefill + batched decode, cache blocks copied when "
                          "beams fork");
}

/// Beam search by recomputing the whole sequence of every beam at every step
/// with the forward pass compiled for prompt + N tokens (decoder-only
/// models, --no-kv-cache) or for the decoder prompt + N tokens
/// (encoder-decoder models; the encoder input stays in argument 0). Returns
/// the process exit code.
static int generateBeamRecompute(Forward &forward, const HFModelInfo &info,
                                 const std::vector<int64_t> &prompt,
                                 const std::vector<int64_t> &decoderPrompt,
                                 bool seq2seq) {
  int64_t vocab = info.vocabSize;
  const std::vector<int64_t> &grown = seq2seq ? decoderPrompt : prompt;
  std::vector<int64_t> &tokens = forward.intArgs[seq2seq ? 1 : 0];
  auto start = Clock::now();
  llmrt::BeamLogitsFn logitsFn = [&](const std::vector<llmrt::Beam> &beamList,
                                     float *logits, std::string &message) {
    for (size_t b = 0; b < beamList.size(); ++b) {
      // Beams with the same tokens (all of them in the first call) share
      // one forward pass.
      bool same = false;
      for (size_t a = 0; a < b && !same; ++a)
        if (beamList[a].tokens == beamList[b].tokens) {
          std::copy_n(logits + a * vocab, vocab, logits + b * vocab);
          same = true;
        }
      if (same)
        continue;
      std::fill(tokens.begin(), tokens.end(), 0);
      std::copy(grown.begin(), grown.end(), tokens.begin());
      std::copy(beamList[b].tokens.begin(), beamList[b].tokens.end(),
                tokens.begin() + grown.size());
      int64_t known = grown.size() + beamList[b].tokens.size();
      if (!seq2seq) {
        std::vector<int64_t> &positions = forward.intArgs[1];
        std::fill(positions.begin(), positions.end(), info.positionOffset);
        for (int64_t i = 0; i < known; ++i)
          positions[i] = info.positionOffset + i;
      }
      if (llvm::Error err = run(forward)) {
        message = llvm::toString(std::move(err));
        return false;
      }
      std::copy_n(forward.output.data() + (known - 1) * vocab, vocab,
                  logits + b * vocab);
    }
    return true;
  };
  llmrt::BeamSearchResult result =
      llmrt::beam_search(beamParams(info), vocab, logitsFn);
  return reportBeamSearch(result, secondsSince(start),
                          "full-sequence recompute per beam");
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv, "LLMC model runner\n");

  if (!prompt.empty())
    return fail("--prompt needs a tokenizer, which LLMC does not have yet; "
                "pass token ids with --input-ids");
  if (inputIds.empty())
    return fail("expected --input-ids (comma-separated token ids)");
  if (maxNewTokens < 0)
    return fail(llvm::formatv("--max-new-tokens: expected a value >= 0, "
                              "found {0}",
                              maxNewTokens.getValue()));
  // A thread per worker (std::thread aborts when it cannot start one), and
  // cache blocks whose size products must not overflow.
  if (numThreads < 0 || numThreads > kMaxThreads)
    return fail(llvm::formatv("--num-threads: expected a value in [0, {0}], "
                              "found {1}",
                              kMaxThreads, numThreads.getValue()));
  if (kvBlockSize > kMaxSequenceLength) // <= 0: see generateCached.
    return fail(llvm::formatv("--kv-block-size: expected a value in [1, {0}], "
                              "found {1}",
                              kMaxSequenceLength, kvBlockSize.getValue()));
  if (!dumpIds.empty() && maxNewTokens == 0)
    return fail("--dump-ids needs --max-new-tokens N with N > 0");
  if (decomposeAttention && !attentionPasses)
    return fail("--decompose-attention needs --attention-passes: decomposed "
                "attention has no CPU lowering");
  {
    llmrt::SamplerParams params = llmrt::sampler_params(
        temperature, topK, topP, minP, repetitionPenalty, seed);
    llmrt::SamplerParamError error;
    if (!llmrt::check_sampler_params(params, &error)) {
      // The flag is the field's name with dashes: top_p -> --top-p.
      std::string flag = error.param;
      std::replace(flag.begin(), flag.end(), '_', '-');
      return fail(llvm::formatv("--{0}: expected {1}, found {2}", flag,
                                error.expected, error.found));
    }
    tokenSampler = llmrt::Sampler(params);
    tokenRng = llmrt::Rng(params.seed);
  }
  if (numBeams < 1)
    return fail(llvm::formatv("--num-beams: expected a value >= 1, found {0}",
                              numBeams.getValue()));
  if (numBeams > kMaxBeams) // Beams * blocks, 2 * beams must not overflow.
    return fail(llvm::formatv("--num-beams: expected a value in [1, {0}], "
                              "found {1}",
                              kMaxBeams, numBeams.getValue()));
  if (!std::isfinite(lengthPenalty))
    return fail(llvm::formatv("--length-penalty: expected a finite value, "
                              "found {0}",
                              lengthPenalty.getValue()));
  if (numBeams > 1) {
    if (maxNewTokens == 0)
      return fail("--num-beams needs --max-new-tokens N with N > 0");
    if (temperature > 0)
      return fail("--num-beams: beam search does not sample; it excludes "
                  "--temperature > 0");
    if (repetitionPenalty != 1.0)
      return fail("--num-beams: beam search does not support "
                  "--repetition-penalty");
    if (!dumpGenLogits.empty())
      return fail("--num-beams: beam search does not support "
                  "--dump-gen-logits");
  }
  if (!llvm::sys::fs::is_directory(modelPath))
    return fail(llvm::formatv(
        "{0}: expected a Hugging Face model folder "
        "(config.json + *.safetensors), found {1}",
        modelPath, llvm::sys::fs::exists(modelPath) ? "a file" : "nothing"));
  for (auto [flag, path] :
       {std::pair<llvm::StringRef, llvm::StringRef>{"dump-logits", dumpLogits},
        {"dump-hidden", dumpHidden},
        {"dump-ids", dumpIds},
        {"emit-mlir", emitMlir}})
    if (llvm::Error err = checkOutputPath(flag, path))
      return fail(llvm::toString(std::move(err)));

  llvm::Expected<std::unique_ptr<HFModel>> hfModel = HFModel::open(modelPath);
  if (!hfModel)
    return fail(llvm::toString(hfModel.takeError()));
  const HFModelInfo *info = &(*hfModel)->getInfo();
  bool encoder = info->kind == HFModelInfo::Kind::Encoder;
  bool seq2seq = info->kind == HFModelInfo::Kind::EncoderDecoder;
  if (encoder && (maxNewTokens > 0 || !dumpLogits.empty()))
    return fail(llvm::formatv("'{0}' is an encoder: it has no logits and "
                              "cannot generate; use --dump-hidden",
                              info->modelType));
  if (!encoder && !dumpHidden.empty())
    return fail(llvm::formatv("--dump-hidden is for encoder models; '{0}' "
                              "produces logits (--dump-logits)",
                              info->modelType));
  if (!seq2seq && !decoderInputIds.empty())
    return fail("--decoder-input-ids is only for encoder-decoder models");

  // Several prompts, separated by ';', are generated as one batch.
  std::vector<std::vector<int64_t>> prompts;
  llvm::SmallVector<llvm::StringRef> promptTexts;
  llvm::StringRef(inputIds).split(promptTexts, ';');
  for (llvm::StringRef text : promptTexts) {
    llvm::Expected<std::vector<int64_t>> parsed = parseIds("input-ids", text);
    if (!parsed)
      return fail(llvm::toString(parsed.takeError()));
    prompts.push_back(std::move(*parsed));
  }
  if (prompts.size() > 1 &&
      (encoder || maxNewTokens == 0 || noKVCache || !dumpLogits.empty()))
    return fail("--input-ids: several prompts (separated by ';') are "
                "generated as one batch with the KV cache; they need a "
                "decoder-only or encoder-decoder model and --max-new-tokens, "
                "and exclude --no-kv-cache and --dump-logits");
  if (prompts.size() > 1 && !dumpGenLogits.empty())
    return fail("--dump-gen-logits takes a single prompt; --input-ids has " +
                std::to_string(prompts.size()));
  std::vector<int64_t> *ids = &prompts.front();
  std::vector<int64_t> decoderIds = {info->decoderStartTokenId};
  if (!decoderInputIds.empty()) {
    llvm::Expected<std::vector<int64_t>> parsed =
        parseIds("decoder-input-ids", decoderInputIds);
    if (!parsed)
      return fail(llvm::toString(parsed.takeError()));
    decoderIds = *parsed;
  }
  std::vector<std::pair<llvm::StringRef, std::vector<int64_t> *>> lists = {
      {"decoder-input-ids", &decoderIds}};
  for (std::vector<int64_t> &p : prompts)
    lists.push_back({"input-ids", &p});
  for (auto [flag, list] : lists)
    for (int64_t id : *list)
      if (id < 0 || id >= info->vocabSize)
        return fail(llvm::formatv("--{0}: token id {1} is outside the "
                                  "vocabulary [0, {2})",
                                  flag, id, info->vocabSize));

  // The sequence lengths the model is compiled for, checked before any sum
  // that could overflow: the model's own limit where it has one (learned
  // positions), else the runner's.
  {
    int64_t promptLen = 0, decoderLen = decoderIds.size();
    for (const std::vector<int64_t> &p : prompts) // The longest of a batch.
      promptLen = std::max<int64_t>(promptLen, p.size());
    int64_t grown = seq2seq ? decoderLen : promptLen;
    bool modelLimit = info->maxPositions && !seq2seq;
    int64_t limit = modelLimit ? info->maxPositions : kMaxSequenceLength;
    std::string supports =
        modelLimit
            ? llvm::formatv("the model supports {0} positions", limit).str()
            : llvm::formatv("llm-run supports at most {0} positions", limit)
                  .str();
    if (promptLen > limit || decoderLen > kMaxSequenceLength)
      return fail(llvm::formatv("{0}, the prompt has {1} tokens", supports,
                                std::max(promptLen, decoderLen)));
    if (maxNewTokens > limit - grown)
      return fail(llvm::formatv("{0}; the {1} ({2}) plus --max-new-tokens "
                                "({3}) exceeds it",
                                supports, seq2seq ? "decoder prompt" : "prompt",
                                grown, maxNewTokens.getValue()));
  }

  llmrt::Expected<std::unique_ptr<SafeTensorsArchive>> archive =
      SafeTensorsArchive::openDirectory(modelPath);
  if (!archive)
    return fail(archive.error());
  llmk_set_num_threads(numThreads);

  MLIRContext context;
  context.loadDialect<LLMDialect, func::FuncDialect, arith::ArithDialect,
                      LLVM::LLVMDialect>();

  if (maxNewTokens > 0 && !encoder && !noKVCache) {
    if (decomposeAttention || !emitMlir.empty())
      return fail("--decompose-attention and --emit-mlir apply to the "
                  "full-sequence forward pass; generate with --no-kv-cache "
                  "to use them");
    for (const std::vector<int64_t> &p : prompts)
      if (info->maxPositions &&
          static_cast<int64_t>(p.size()) + maxNewTokens > info->maxPositions)
        return fail(llvm::formatv("the model supports {0} positions; the "
                                  "prompt ({1}) plus --max-new-tokens ({2}) "
                                  "exceeds it",
                                  info->maxPositions, p.size(),
                                  maxNewTokens.getValue()));
    // An encoder-decoder model's prompt is the decoder's; its input ids go
    // through the encoder.
    // Several encoder inputs share the decoder prompt.
    std::vector<std::vector<int64_t>> encoderInputs;
    if (seq2seq) {
      encoderInputs = prompts;
      prompts.assign(encoderInputs.size(), decoderIds);
    }
    if (numBeams > 1) {
      if (prompts.size() > 1)
        return fail("--num-beams: beam search takes a single prompt");
      return generateBeamCached(context, **hfModel, **archive, prompts.front(),
                                seq2seq ? encoderInputs.front()
                                        : std::vector<int64_t>());
    }
    return generateCached(context, **hfModel, **archive, prompts,
                          encoderInputs);
  }

  // Causal attention makes position i independent of later positions, so one
  // forward pass compiled for prompt + N tokens serves every generation
  // step: unused tail positions are computed but never read.
  int64_t promptLen = ids->size();
  int64_t seqLen = promptLen, decoderLen = decoderIds.size();
  if (seq2seq)
    decoderLen += maxNewTokens;
  else if (!encoder)
    seqLen += maxNewTokens;
  llvm::Expected<Forward> forward =
      compile(context, **hfModel, **archive, seqLen, seq2seq ? decoderLen : 0);
  if (!forward)
    return fail(llvm::toString(forward.takeError()));
  llvm::outs() << llvm::formatv(
      "compiled {0} ({1}) in {2:f2} s: {3:f1} MB of weights mapped, {4:f1} MB "
      "packed\n",
      modelPath, info->modelType, forward->compileSeconds,
      forward->model->getMappedBytes() / 1e6,
      forward->model->getPackedBytes() / 1e6);

  // Inputs: ids (zero-padded), then positions or decoder ids.
  std::vector<int64_t> &idArg = forward->intArgs[0];
  std::copy(ids->begin(), ids->end(), idArg.begin());
  std::vector<int64_t> *tokens = &idArg;
  int64_t known = promptLen;
  if (seq2seq) {
    tokens = &forward->intArgs[1];
    std::copy(decoderIds.begin(), decoderIds.end(), tokens->begin());
    known = decoderIds.size();
  } else {
    // Positions past the known tokens stay at the offset, so that a
    // position-dependent rope scaling (dynamic NTK) sees the true length.
    std::vector<int64_t> &positions = forward->intArgs[1];
    std::fill(positions.begin(), positions.end(), info->positionOffset);
    for (int64_t i = 0; i < promptLen; ++i)
      positions[i] = info->positionOffset + i;
  }
  int64_t width = encoder ? info->hiddenSize : info->vocabSize;

  auto start = Clock::now();
  if (llvm::Error err = run(*forward))
    return fail(llvm::toString(std::move(err)));
  double firstSeconds = secondsSince(start);
  int64_t rows = seq2seq ? static_cast<int64_t>(decoderIds.size()) : promptLen;
  llvm::outs() << llvm::formatv("forward over {0} tokens: {1:f3} s\n",
                                seq2seq ? decoderLen : seqLen, firstSeconds);
  if (!dumpLogits.empty() || !dumpHidden.empty()) {
    if (llvm::Error err = writeNpy(encoder ? dumpHidden : dumpLogits,
                                   forward->output.data(), rows, width))
      return fail(llvm::toString(std::move(err)));
  }

  if (maxNewTokens > 0 && numBeams > 1)
    return generateBeamRecompute(*forward, *info, *ids, decoderIds, seq2seq);
  if (maxNewTokens > 0) {
    std::vector<int64_t> generated;
    std::vector<float> recomputeLogits;
    auto genStart = Clock::now();
    for (int64_t step = 0; step < maxNewTokens; ++step) {
      if (step > 0)
        if (llvm::Error err = run(*forward))
          return fail(llvm::toString(std::move(err)));
      std::vector<int64_t> history(tokens->begin(), tokens->begin() + known);
      const float *row = forward->output.data() + (known - 1) * width;
      recomputeLogits.insert(recomputeLogits.end(), row, row + width);
      int64_t next = pickNext(row, width, history);
      if (next < 0)
        return fail(llvm::formatv("sampling: {0}", tokenSampler.error()));
      generated.push_back(next);
      if (!ignoreEos && llvm::is_contained(info->eosTokenIds, next))
        break;
      if (!seq2seq)
        forward->intArgs[1][known] = info->positionOffset + known;
      (*tokens)[known++] = next;
    }
    double genSeconds = secondsSince(genStart);
    std::string text = llvm::join(
        llvm::map_range(generated,
                        [](int64_t id) { return std::to_string(id); }),
        ",");
    llvm::outs() << "generated: " << text << "\n";
    llvm::outs() << "sampling: " << samplingSummary() << "\n";
    llvm::outs() << llvm::formatv("{0} tokens in {1:f3} s ({2:f1} tokens/s, "
                                  "full-sequence recompute per token)\n",
                                  generated.size(), genSeconds,
                                  generated.size() / genSeconds);
    if (!dumpIds.empty()) {
      std::error_code ec;
      llvm::raw_fd_ostream os(dumpIds, ec);
      if (ec)
        return fail(llvm::formatv("{0}: cannot write: {1}", dumpIds.getValue(),
                                  ec.message()));
      os << text << "\n";
    }
    if (!dumpGenLogits.empty())
      if (llvm::Error err = writeNpy(dumpGenLogits, recomputeLogits.data(),
                                     generated.size(), width))
        return fail(llvm::toString(std::move(err)));
  }
  return 0;
}
