//===- llm-run.cpp - Runs a model: logits, hidden states, generation ------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// llm-run MODEL --input-ids 1,2,3 [--decoder-input-ids ...]
//         [--dump-logits OUT.npy] [--dump-hidden OUT.npy]
//         [--max-new-tokens N --dump-ids FILE]
//
// A thin driver: it checks the flags, compiles the Hugging Face folder MODEL
// with the JIT library (llm/JIT/JIT.h) for the shapes the run needs, and
// runs it with libllmrt (sessions and generation loops). The contract of
// --dump-logits/--dump-hidden/--dump-ids is used by tests outside the
// project and must not change.
//
//===----------------------------------------------------------------------===//

#include "llm/Import/HFImporter.h"
#include "llm/JIT/JIT.h"
#include "llm/Support/ToolSupport.h"

#include "Generate.h"
#include "SafeTensors.h"
#include "Session.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <cmath>
#include <csignal>

using namespace mlir;
using namespace mlir::llm;
namespace cl = llvm::cl;

static cl::OptionCategory category("llm-run options");
/// Every flag below is in llm-run's category.
static const cl::cat flag(category);
template <typename T> using Opt = cl::opt<T>;
static Opt<std::string> modelPath(cl::Positional, cl::desc("MODEL"),
                                  cl::Required, flag);
static Opt<std::string> inputIds(
    "input-ids",
    cl::desc("Prompt token ids, comma separated; several prompts (one batch) "
             "separated by ';'"),
    flag);
static Opt<std::string> decoderInputIds(
    "decoder-input-ids",
    cl::desc("Decoder token ids of encoder-decoder models (default: the "
             "decoder start token)"),
    flag);
static Opt<std::string> prompt("prompt", cl::desc("Prompt text"), flag);
static Opt<std::string>
    dumpLogits("dump-logits",
               cl::desc("Write float32 logits [sequence, vocab] as .npy"),
               flag);
static Opt<std::string> dumpHidden(
    "dump-hidden",
    cl::desc("Write the float32 last hidden state [sequence, hidden] as .npy"),
    flag);
static Opt<int64_t> maxNewTokens("max-new-tokens",
                                 cl::desc("Generate N tokens"), cl::init(0),
                                 flag);
static Opt<std::string>
    dumpIds("dump-ids",
            cl::desc("Write generated ids (prompt excluded), comma separated"),
            flag);
static Opt<bool> noKVCache(
    "no-kv-cache",
    cl::desc("Generate by recomputing the whole sequence for every token "
             "instead of prefill + decode over a paged KV cache"),
    flag);
static Opt<int64_t> kvBlockSize("kv-block-size",
                                cl::desc("Tokens per KV-cache block"),
                                cl::init(kDefaultKVBlockSize), flag);
static Opt<std::string>
    kvDtype("kv-dtype", cl::desc("KV-cache storage: f32, f16, bf16 or i8"),
            cl::init("f32"), flag);
static Opt<std::string> dumpGenLogits(
    "dump-gen-logits",
    cl::desc("Write the float32 logits each generated token was chosen from "
             "as .npy [steps, vocab]"),
    flag);
static Opt<bool>
    ignoreEos("ignore-eos",
              cl::desc("Keep generating after an end-of-sequence token"), flag);
static Opt<bool> ignoreContextLength(
    "ignore-context-length",
    cl::desc("Generate past the context the model was trained for "
             "(max_position_embeddings, stretched by its rope scaling)"),
    flag);
static Opt<bool> allowUnusedWeights(
    "allow-unused-weights",
    cl::desc("Run a model whose checkpoint holds more layers or experts than "
             "config.json says (with a warning), instead of refusing it"),
    flag);
static Opt<bool> noMemoryCheck(
    "no-memory-check",
    cl::desc("Allocate even when the estimate of the weights to repack, the "
             "arena and the KV cache exceeds the memory available"),
    flag);
static Opt<int> numThreads("num-threads",
                           cl::desc("Worker threads (0: one per core)"), flag);
static Opt<bool> decomposeAttention(
    "decompose-attention",
    cl::desc("Import attention op by op (split_heads, matmul, softmax, ...) "
             "for --llm-fuse-attention to raise again"),
    flag);
static Opt<bool> attentionPasses(
    "attention-passes",
    cl::desc("Run --llm-fuse-attention and --llm-lower-alibi before "
             "--llm-lower-to-cpu (--decompose-attention needs them)"),
    cl::init(true), flag);
static Opt<std::string>
    emitMlir("emit-mlir",
             cl::desc("Write the imported llm dialect IR of the full-sequence "
                      "forward pass, before any pass"),
             cl::value_desc("FILE"), flag);
static Opt<double> temperature(
    "temperature",
    cl::desc("Sampling temperature (0, the default: greedy decoding)"),
    cl::init(0.0), flag);
static Opt<int64_t>
    topK("top-k", cl::desc("Sample among the K most likely tokens (0: off)"),
         flag);
static Opt<double> topP("top-p",
                        cl::desc("Sample from the smallest set of tokens with "
                                 "probability >= P (1: off)"),
                        cl::init(1.0), flag);
static Opt<double>
    minP("min-p",
         cl::desc("Drop tokens below P times the top probability (0: off)"),
         cl::init(0.0), flag);
static Opt<double> repetitionPenalty(
    "repetition-penalty",
    cl::desc("Divide (multiply when negative) the logits of tokens already "
             "in the sequence by this (1: off)"),
    cl::init(1.0), flag);
static Opt<uint64_t> seed("seed", cl::desc("Seed of the sampler's generator"),
                          flag);
static Opt<int64_t> numBeams(
    "num-beams",
    cl::desc("Beam search with K beams, as transformers' generate("
             "num_beams=K, do_sample=False) (1, the default: no beam search)"),
    cl::init(1), flag);
static Opt<double> lengthPenalty(
    "length-penalty",
    cl::desc("Beam search: finished hypotheses score sum of log-probs / "
             "(generated length ** P)"),
    cl::init(1.0), flag);

/// Most worker threads --num-threads may ask for.
constexpr int kMaxThreads = 1024;

static int fail(const llvm::Twine &message) {
  std::string text = message.str();
  llvm::errs() << "llm-run: error: " << text;
  // The estimate refuses before allocating; the user may know better.
  if (llvm::StringRef(text).starts_with("not enough memory:"))
    llvm::errs() << " (--no-memory-check allocates anyway)";
  llvm::errs() << "\n";
  return 1;
}

/// Prints a generation's result and writes --dump-ids and --dump-gen-logits.
static int report(const llmrt::GenerationResult &result, bool cached,
                  const llmrt::SamplerParams &sampler, int64_t vocab) {
  size_t batch = result.tokens.size();
  for (size_t b = 0; b < batch; ++b)
    llvm::outs() << (batch > 1 ? llvm::formatv("generated[{0}]: ", b).str()
                               : std::string("generated: "))
                 << joinTokenIds(result.tokens[b]) << "\n";
  double total = result.prefillSeconds + result.decodeSeconds;
  if (numBeams > 1) {
    llvm::outs() << llvm::formatv(
        "beam search: {0} beams, length-penalty {1}, score {2:f6}, {3} steps "
        "in {4:f3} s ({5})\n",
        numBeams.getValue(), lengthPenalty.getValue(), result.beamScore,
        result.beamSteps, total,
        cached ? "prefill + batched decode, cache blocks copied when beams "
                 "fork"
               : "full-sequence recompute per beam");
  } else {
    llvm::outs() << "sampling: " << llmrt::describe_sampler_params(sampler)
                 << "\n";
    if (cached) {
      llvm::outs() << llvm::formatv(
          "prefill: {0} tokens{1} in {2:f4} s ({3:f1} tokens/s)\n",
          result.prefillTokens,
          result.encoderTokens
              ? llvm::formatv(" after {0} encoder tokens", result.encoderTokens)
                    .str()
              : std::string(),
          result.prefillSeconds, result.prefillTokens / result.prefillSeconds);
      if (result.decodeSteps > 0)
        llvm::outs() << llvm::formatv(
            "decode: {0} tokens in {1} steps of batch {2}, {3:f4} s ({4:f1} "
            "tokens/s)\n",
            result.decodeTokens, result.decodeSteps, result.decodeBatch,
            result.decodeSeconds, result.decodeTokens / result.decodeSeconds);
    } else {
      size_t generated = result.tokens[0].size();
      llvm::outs() << llvm::formatv(
          "{0} tokens in {1:f3} s ({2:f1} tokens/s, full-sequence recompute "
          "per token)\n",
          generated, result.decodeSeconds, generated / result.decodeSeconds);
    }
  }
  if (!dumpIds.empty())
    if (llvm::Error err = writeTokenIds(dumpIds, result.tokens))
      return fail(llvm::toString(std::move(err)));
  if (!dumpGenLogits.empty())
    if (llvm::Error err = writeNpy(dumpGenLogits, result.stepLogits.data(),
                                   result.tokens[0].size(), vocab))
      return fail(llvm::toString(std::move(err)));
  return 0;
}

using Clock = std::chrono::steady_clock;
static double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

static int run();

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  // Past a file size limit a write fails (EFBIG) and is reported with the
  // file's name, rather than killing the process (LLVM's handler turns
  // SIGXFSZ into a crash report).
  ::signal(SIGXFSZ, SIG_IGN);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv, "LLMC model runner\n");
  return finishStandardOutput("llm-run", run());
}

static int run() {
  if (!prompt.empty())
    return fail("--prompt needs a tokenizer, which LLMC does not have yet; "
                "pass token ids with --input-ids");
  if (inputIds.empty())
    return fail("expected --input-ids (comma-separated token ids)");
  // A thread per worker (std::thread aborts when it cannot start one).
  if (numThreads < 0 || numThreads > kMaxThreads)
    return fail(llvm::formatv("--num-threads: expected a value in [0, {0}], "
                              "found {1}",
                              kMaxThreads, numThreads.getValue()));
  if (!dumpIds.empty() && maxNewTokens == 0)
    return fail("--dump-ids needs --max-new-tokens N with N > 0");
  if (decomposeAttention && !attentionPasses)
    return fail("--decompose-attention needs --attention-passes: decomposed "
                "attention has no CPU lowering");
  llmrt::GenerateParams params;
  params.sampler = llmrt::sampler_params(temperature, topK, topP, minP,
                                         repetitionPenalty, seed);
  params.maxNewTokens = maxNewTokens;
  params.numBeams = numBeams;
  params.lengthPenalty = lengthPenalty;
  params.keepPromptLogits = !dumpLogits.empty();
  params.keepStepLogits = !dumpGenLogits.empty();
  params.ignoreContextLength = ignoreContextLength;
  // Parameters are named as their flags: top_p -> --top-p.
  auto flagName = [](std::string field) {
    std::replace(field.begin(), field.end(), '_', '-');
    return "--" + field;
  };
  llmrt::Status status = llmrt::checkGenerateParams(params, flagName);
  if (!status.isOk())
    return fail(status.message());
  if (numBeams > 1 && maxNewTokens == 0)
    return fail("--num-beams needs --max-new-tokens N with N > 0");
  if (numBeams > 1 && !dumpGenLogits.empty())
    return fail("--num-beams: beam search does not support --dump-gen-logits");
  if (!llvm::sys::fs::is_directory(modelPath))
    return fail(llvm::formatv(
        "{0}: expected a Hugging Face model folder "
        "(config.json + *.safetensors), found {1}",
        modelPath, llvm::sys::fs::exists(modelPath) ? "a file" : "nothing"));
  // Every output is checked before anything runs.
  const std::pair<llvm::StringRef, llvm::StringRef> outputs[] = {
      {"dump-logits", dumpLogits},
      {"dump-hidden", dumpHidden},
      {"dump-ids", dumpIds},
      {"dump-gen-logits", dumpGenLogits},
      {"emit-mlir", emitMlir}};
  for (auto [flag, path] : outputs)
    if (llvm::Error err = checkOutputPath(flag, path))
      return fail(llvm::toString(std::move(err)));

  llvm::Expected<std::unique_ptr<HFModel>> hf = HFModel::open(modelPath);
  if (!hf)
    return fail(llvm::toString(hf.takeError()));
  const HFModelInfo &info = (*hf)->getInfo();
  bool encoder = info.kind == llmrt::ModelKind::Encoder;
  bool seq2seq = info.kind == llmrt::ModelKind::EncoderDecoder;
  if (encoder && (maxNewTokens > 0 || !dumpLogits.empty()))
    return fail(llvm::formatv("'{0}' is an encoder: it has no logits and "
                              "cannot generate; use --dump-hidden",
                              info.type));
  if (!encoder && !dumpHidden.empty())
    return fail(llvm::formatv("--dump-hidden is for encoder models; '{0}' "
                              "produces logits (--dump-logits)",
                              info.type));
  if (!seq2seq && !decoderInputIds.empty())
    return fail("--decoder-input-ids is only for encoder-decoder models");

  // Several prompts, separated by ';', are generated as one batch.
  std::vector<llmrt::Prompt> prompts;
  llvm::SmallVector<llvm::StringRef> texts;
  llvm::StringRef(inputIds).split(texts, ';');
  for (llvm::StringRef text : texts) {
    llvm::Expected<std::vector<int64_t>> ids = parseTokenIds("input-ids", text);
    if (!ids)
      return fail(llvm::toString(ids.takeError()));
    prompts.push_back({std::move(*ids), {}});
  }
  bool cached = maxNewTokens > 0 && !encoder && !noKVCache;
  if (prompts.size() > 1 && (!cached || !dumpLogits.empty()))
    return fail("--input-ids: several prompts (separated by ';') are "
                "generated as one batch with the KV cache; they need a "
                "decoder-only or encoder-decoder model and --max-new-tokens, "
                "and exclude --no-kv-cache and --dump-logits");
  if (prompts.size() > 1 && !dumpGenLogits.empty())
    return fail("--dump-gen-logits takes a single prompt; --input-ids has " +
                std::to_string(prompts.size()));
  std::vector<int64_t> decoderIds = {info.decoderStartTokenId};
  if (!decoderInputIds.empty()) {
    llvm::Expected<std::vector<int64_t>> ids =
        parseTokenIds("decoder-input-ids", decoderInputIds);
    if (!ids)
      return fail(llvm::toString(ids.takeError()));
    decoderIds = *ids;
  }
  std::vector<std::pair<llvm::StringRef, std::vector<int64_t> *>> lists = {
      {"decoder-input-ids", &decoderIds}};
  for (llmrt::Prompt &p : prompts)
    lists.push_back({"input-ids", &p.tokens});
  for (auto [flag, list] : lists)
    for (int64_t id : *list)
      if (id < 0 || id >= info.vocabSize)
        return fail(llvm::formatv("--{0}: token id {1} is outside the "
                                  "vocabulary [0, {2})",
                                  flag, id, info.vocabSize));
  // An encoder-decoder model's prompts are the decoder's; the input ids go
  // through the encoder.
  if (seq2seq)
    for (llmrt::Prompt &p : prompts)
      p = {decoderIds, std::move(p.tokens)};

  // The sequence lengths the model is compiled for, checked before any sum
  // that could overflow: the model's own limit where it has one (learned
  // positions), else the runner's.
  int64_t longest = 0, encoderLen = 0;
  for (const llmrt::Prompt &p : prompts) {
    longest = std::max<int64_t>(longest, p.tokens.size());
    encoderLen = std::max<int64_t>(encoderLen, p.encoderTokens.size());
  }
  bool modelLimit = info.maxPositions && !seq2seq;
  int64_t limit = modelLimit ? info.maxPositions : kMaxSequenceLength;
  std::string supports =
      modelLimit
          ? llvm::formatv("the model supports {0} positions", limit).str()
          : llvm::formatv("llm-run supports at most {0} positions", limit)
                .str();
  if (longest > limit || encoderLen > kMaxSequenceLength)
    return fail(llvm::formatv("{0}, the prompt has {1} tokens", supports,
                              std::max(longest, encoderLen)));
  if (maxNewTokens > limit - longest)
    return fail(llvm::formatv("{0}; the {1} ({2}) plus --max-new-tokens "
                              "({3}) exceeds it",
                              supports, seq2seq ? "decoder prompt" : "prompt",
                              longest, maxNewTokens.getValue()));
  if (!seq2seq) {
    llmrt::Status status =
        llmrt::checkContextLength(info, longest, params, flagName);
    if (!status.isOk())
      return fail(status.message());
  }
  if (cached && (decomposeAttention || !emitMlir.empty()))
    return fail("--decompose-attention and --emit-mlir apply to the "
                "full-sequence forward pass; generate with --no-kv-cache "
                "to use them");
  if (cached && numBeams > 1 && prompts.size() > 1)
    return fail("--num-beams: beam search takes a single prompt");

  llmrt::Expected<std::unique_ptr<llmrt::SafeTensorsArchive>> archive =
      llmrt::SafeTensorsArchive::openDirectory(modelPath.getValue());
  if (!archive)
    return fail(archive.error());
  std::shared_ptr<const llmrt::SafeTensorsArchive> weights =
      std::move(*archive);
  // No output may land on a file the run reads (the checkpoint is mapped).
  std::vector<std::string> inputs;
  for (const char *name : {"config.json", "generation_config.json",
                           "model.safetensors.index.json"})
    inputs.push_back((llvm::Twine(modelPath) + "/" + name).str());
  for (const auto &file : weights->files())
    inputs.push_back(file->path());
  for (auto [flag, path] : outputs)
    if (llvm::Error err = checkNotAnInput(flag, path, inputs))
      return fail(llvm::toString(std::move(err)));
  llmrt::setNumThreads(numThreads);

  JITOptions jit = planCompilation(seq2seq, encoder, prompts, maxNewTokens,
                                   numBeams, cached);
  jit.decomposeAttention = decomposeAttention;
  jit.attentionPasses = attentionPasses;
  jit.emitMlir = emitMlir;
  jit.blockSize = kvBlockSize;
  jit.cacheDtype = kvDtype;
  jit.checkMemory = !noMemoryCheck;
  jit.allowUnusedWeights = allowUnusedWeights;
  jit.warn = [](const std::string &message) {
    llvm::errs() << "llm-run: warning: " << message << "\n";
  };
  MLIRContext context;
  auto start = Clock::now();
  llvm::Expected<std::unique_ptr<llmrt::Model>> model =
      compileModel(context, **hf, weights, jit);
  if (!model)
    return fail(llvm::toString(model.takeError()));
  double compileSeconds = secondsSince(start);
  int64_t vocab = info.vocabSize;
  if (!info.eosTokenIds.empty() && !ignoreEos)
    params.stopTokenIds = info.eosTokenIds;

  std::unique_ptr<llmrt::Session> session;
  std::unique_ptr<llmrt::SequenceSet> sequences;
  if (cached) {
    llmrt::Expected<llmrt::SessionOptions> options =
        llmrt::getSessionOptions(**model, prompts, params);
    if (!options)
      return fail(options.error());
    options->checkMemory = !noMemoryCheck;
    llmrt::Expected<std::unique_ptr<llmrt::Session>> created =
        llmrt::Session::create(**model, *options);
    if (!created)
      return fail(created.error());
    session = std::move(*created);
    const llmrt::KVCacheConfig &config = session->getCacheConfig();
    if (numBeams > 1)
      llvm::outs() << llvm::formatv(
          "compiled {0} ({1}) prefill + decode (batch {2}) in {3:f2} s; KV "
          "cache: {4} blocks of {5} tokens\n",
          modelPath, info.type, numBeams.getValue(), compileSeconds,
          session->getNumBlocks(), config.blockSize);
    else
      llvm::outs() << llvm::formatv(
          "compiled {0} ({1}) prefill + decode in {2:f2} s; KV cache: {3} "
          "blocks of {4} tokens, {5} bytes per token, {6:f2} MB\n",
          modelPath, info.type, compileSeconds, session->getNumBlocks(),
          config.blockSize, llmrt::getKVBytesPerToken(config),
          session->getCacheBytes() / 1e6);
    sequences = llmrt::makeCachedSequences(*session);
  } else {
    llvm::outs() << llvm::formatv(
        "compiled {0} ({1}) in {2:f2} s: {3:f1} MB of weights mapped, {4:f1} "
        "MB packed\n",
        modelPath, info.type, compileSeconds, (*model)->getMappedBytes() / 1e6,
        (*model)->getPackedBytes() / 1e6);
    llmrt::Expected<std::unique_ptr<llmrt::SequenceSet>> recomputed =
        llmrt::makeRecomputedSequences(**model);
    if (!recomputed)
      return fail(recomputed.error());
    sequences = std::move(*recomputed);
  }
  int64_t forwardLength = seq2seq ? jit.decoderSeqLen : jit.seqLen;

  if (maxNewTokens == 0) {
    // Logits (or hidden states) of the prompt, by one forward pass.
    const llmrt::Prompt &p = prompts[0];
    int64_t width = encoder ? info.hiddenSize : vocab;
    std::vector<float> rows(p.tokens.size() * width);
    start = Clock::now();
    llmrt::Expected<int64_t> seq =
        sequences->start(p.tokens, p.encoderTokens, rows.data());
    if (!seq)
      return fail(seq.error());
    llvm::outs() << llvm::formatv("forward over {0} tokens: {1:f3} s\n",
                                  forwardLength, secondsSince(start));
    if (!dumpLogits.empty() || !dumpHidden.empty())
      if (llvm::Error err = writeNpy(encoder ? dumpHidden : dumpLogits,
                                     rows.data(), p.tokens.size(), width))
        return fail(llvm::toString(std::move(err)));
    return 0;
  }
  llmrt::Expected<llmrt::GenerationResult> result =
      numBeams > 1 ? llmrt::beamSearch(*sequences, prompts[0], params, vocab)
                   : llmrt::generate(*sequences, prompts, params, vocab);
  if (!result)
    return fail(result.error());
  if (!cached)
    llvm::outs() << llvm::formatv("forward over {0} tokens: {1:f3} s\n",
                                  forwardLength, result->prefillSeconds);
  if (!dumpLogits.empty())
    if (llvm::Error err = writeNpy(dumpLogits, result->promptLogits.data(),
                                   prompts[0].tokens.size(), vocab))
      return fail(llvm::toString(std::move(err)));
  return report(*result, cached, params.sampler, vocab);
}
