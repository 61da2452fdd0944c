//===- llm-run.cpp - Runs a model: logits, hidden states, generation ------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// llm-run MODEL --input-ids 1,2,3 [--decoder-input-ids ...]
//         [--dump-logits OUT.npy] [--dump-hidden OUT.npy]
//         [--max-new-tokens N --dump-ids FILE]
// llm-run MODEL --prompt TEXT | --prompt-file FILE [--echo] [--stop STR]...
//         [--bench]
// llm-run MODEL --perplexity FILE [--ctx N] [--stride S]
// llm-run MODEL --embed OUT.npy (--prompt TEXT | --prompt-file FILE)
//         [--pooling mean|cls] [--normalize]
//
// With text (--prompt, --prompt-file), the model folder's tokenizer encodes
// the prompt and the completion is streamed to stdout as text, as the tokens
// come, never a partial UTF-8 character; stdout holds only the completion
// (--echo: the prompt first), everything else goes to stderr.
//
// A thin driver: it checks the flags, compiles the Hugging Face folder MODEL
// with the JIT library (llm/JIT/JIT.h) for the shapes the run needs, and
// runs it with libllmrt (sessions and generation loops). The contract of
// --dump-logits/--dump-hidden/--dump-ids is used by tests outside the
// project and must not change.
//
//===----------------------------------------------------------------------===//

#include "Artifact.h"
#include "cuda/Launchers.h"
#include "cuda/Nvrtc.h"
#include "llm/Import/GGUFImporter.h"
#include "llm/Import/HFImporter.h"
#include "llm/Import/ONNXImporter.h"
#include "llm/JIT/CompileCache.h"
#include "llm/JIT/JIT.h"
#include "llm/Support/ToolSupport.h"

#include "Generate.h"
#include "SafeTensors.h"
#include "Session.h"
#include "Tokenizer.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

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
static Opt<std::string>
    prompt("prompt",
           cl::desc("Prompt text, encoded by the model folder's tokenizer; the "
                    "completion is streamed to stdout as text"),
           flag);
static Opt<std::string>
    promptFile("prompt-file",
               cl::desc("Read the prompt text from FILE (--embed: one "
                        "sentence per line)"),
               cl::value_desc("FILE"), flag);
static Opt<bool> echo("echo",
                      cl::desc("Print the prompt before the completion"), flag);
static cl::list<std::string>
    stopStrings("stop",
                cl::desc("End generation where the text contains STR "
                         "(repeatable); STR itself is not printed"),
                cl::value_desc("STR"), flag);
static Opt<bool> bench(
    "bench",
    cl::desc("Print load and compile time, time to first token, prefill and "
             "decode tokens/s and peak RSS to stderr"),
    flag);
static Opt<std::string> perplexity(
    "perplexity",
    cl::desc("Perplexity of the text of FILE over sliding windows, as "
             "transformers' perplexity guide computes it"),
    cl::value_desc("FILE"), flag);
static Opt<std::string> klReference(
    "kl-reference",
    cl::desc("--perplexity: also the mean KL divergence of the model's token "
             "distributions from those of the model in DIR (compiled without "
             "--quantize; same vocabulary), and how often their top tokens "
             "agree, as llama.cpp's --kl-divergence"),
    cl::value_desc("DIR"), flag);
static Opt<int64_t>
    ctxLength("ctx",
              cl::desc("--perplexity: tokens per window (default: the "
                       "model's context, at most 1024)"),
              flag);
static Opt<int64_t>
    strideLength("stride",
                 cl::desc("--perplexity: tokens between window starts "
                          "(default: half the window)"),
                 flag);
static Opt<std::string>
    embed("embed",
          cl::desc("Encoder models: write sentence embeddings [sentences, "
                   "hidden] as float32 .npy"),
          cl::value_desc("OUT.npy"), flag);
static Opt<std::string>
    pooling("pooling",
            cl::desc("--embed: mean (of every token, as sentence-transformers) "
                     "or cls (the first token)"),
            cl::init("mean"), flag);
static Opt<bool> normalizeEmbeddings(
    "normalize", cl::desc("--embed: scale each embedding to unit length"),
    flag);
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
static Opt<std::string>
    target("target",
           cl::desc("Where the model runs: cpu (default), cuda (NVIDIA GPUs; "
                    "docs/CUDA.md), or cuda-host (the CUDA backend's code, "
                    "each kernel launch run on the host: checks the CUDA "
                    "lowering without a GPU, slowly)"),
           cl::init("cpu"), flag);
static Opt<bool> noCompileCache(
    "no-cache",
    cl::desc("Compile in memory, without the compile cache ($LLMC_CACHE_DIR, "
             "else $XDG_CACHE_HOME/llmc or ~/.cache/llmc), which otherwise "
             "keeps the compiled code for the next run of the same model "
             "files with the same options"),
    cl::init(false), flag);
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
static Opt<std::string> quantize(
    "quantize",
    cl::desc("Quantize the weights of the projections (llm-quantize, round to "
             "nearest) when binding them: int8, int4, or w8a8 (int8 weights, "
             "and prefill on int8 activations); the LM head stays in float "
             "unless --quantize-skip says otherwise"),
    flag);
static Opt<int64_t> groupSize(
    "group-size",
    cl::desc("With --quantize: input features per scale, 0 (per output "
             "channel) or a multiple of 32 that divides them (default 32)"),
    cl::init(32), flag);
static Opt<bool> asymmetric(
    "asymmetric",
    cl::desc("With --quantize: a zero point per group as well as a scale"),
    flag);
static Opt<std::string> quantizeMethod(
    "method",
    cl::desc("With --quantize int8|int4: how the values are chosen: rtn "
             "(round to nearest, the default), gptq (error-compensating "
             "rounding) or awq (activation-aware scales), the last two "
             "calibrated on --calib or --calib-ids"),
    cl::init("rtn"), flag);
static Opt<std::string> calibFile(
    "calib",
    cl::desc("With --method gptq|awq: calibration text (the model's "
             "tokenizer encodes it), run through the float model in windows "
             "of --calib-window tokens"),
    flag);
static Opt<std::string> calibIdsFile(
    "calib-ids",
    cl::desc("With --method gptq|awq: calibration token ids instead, "
             "separated by commas or white space"),
    flag);
static Opt<int64_t> calibWindow(
    "calib-window",
    cl::desc("Calibration tokens per window (default 512, at most the "
             "model's context)"),
    cl::init(512), flag);
static Opt<double> gptqDamp(
    "gptq-damp",
    cl::desc("--method gptq: dampening added to the Hessian's diagonal, as a "
             "fraction of its mean (default 0.01)"),
    cl::init(0.01), flag);
static Opt<bool> actOrder(
    "act-order",
    cl::desc("--method gptq: quantize input features in order of decreasing "
             "activation energy (the groups stay consecutive features)"),
    flag);
static Opt<std::string> quantizeSkip(
    "quantize-skip",
    cl::desc("With --quantize: comma-separated parameter-name patterns kept "
             "in float (default lm_head; empty: none)"),
    cl::init("lm_head"), flag);
static Opt<std::string> dumpGenLogits(
    "dump-gen-logits",
    cl::desc("Write the float32 logits each generated token was chosen from "
             "as .npy [steps, vocab]"),
    flag);
static Opt<bool> ggufPackedCodes(
    "gguf-packed-codes",
    cl::desc("A GGUF file's Q5_0, Q5_1, Q5_K and Q6_K weights in 5- and 6-bit "
             "layouts (6 and 8 bits per weight) instead of 8-bit codes (9 and "
             "10): less memory, a slower GEMV where it is compute-bound"),
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
static Opt<int64_t> moeDecodeMaxTokens(
    "moe-decode-max-tokens",
    cl::desc("MoE layers of at most this many tokens (a decode step's "
             "batch) take llm-specialize-moe's decode form: each chosen "
             "expert streamed once, split across the threads; 0: always the "
             "prefill form (a GEMM per expert)"),
    cl::init(8), flag);
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

/// Where notices (compile and timing lines) go: stdout, except when stdout
/// carries text (a completion, a perplexity).
static bool notesToStderr = false;
static llvm::raw_ostream &notes() {
  return notesToStderr ? llvm::errs() : llvm::outs();
}

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
  for (size_t b = 0; b < batch && !notesToStderr; ++b)
    llvm::outs() << (batch > 1 ? llvm::formatv("generated[{0}]: ", b).str()
                               : std::string("generated: "))
                 << joinTokenIds(result.tokens[b]) << "\n";
  double total = result.prefillSeconds + result.decodeSeconds;
  if (numBeams > 1) {
    notes() << llvm::formatv(
        "beam search: {0} beams, length-penalty {1}, score {2:f6}, {3} steps "
        "in {4:f3} s ({5})\n",
        numBeams.getValue(), lengthPenalty.getValue(), result.beamScore,
        result.beamSteps, total,
        cached ? "prefill + batched decode, cache blocks copied when beams "
                 "fork"
               : "full-sequence recompute per beam");
  } else {
    notes() << "sampling: " << llmrt::describe_sampler_params(sampler) << "\n";
    if (cached) {
      notes() << llvm::formatv(
          "prefill: {0} tokens{1} in {2:f4} s ({3:f1} tokens/s)\n",
          result.prefillTokens,
          result.encoderTokens
              ? llvm::formatv(" after {0} encoder tokens", result.encoderTokens)
                    .str()
              : std::string(),
          result.prefillSeconds, result.prefillTokens / result.prefillSeconds);
      if (result.decodeSteps > 0)
        notes() << llvm::formatv(
            "decode: {0} tokens in {1} steps of batch {2}, {3:f4} s ({4:f1} "
            "tokens/s)\n",
            result.decodeTokens, result.decodeSteps, result.decodeBatch,
            result.decodeSeconds, result.decodeTokens / result.decodeSeconds);
    } else {
      size_t generated = result.tokens[0].size();
      notes() << llvm::formatv(
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

/// The text of --prompt, or of --prompt-file.
static llvm::Expected<std::string> readPromptText() {
  if (promptFile.empty())
    return prompt.getValue();
  std::ifstream in(promptFile.getValue(), std::ios::binary);
  if (!in)
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        llvm::formatv("--prompt-file: cannot open '{0}': {1}", promptFile,
                      std::strerror(errno)));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad())
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        llvm::formatv("--prompt-file: cannot read '{0}'", promptFile));
  return text.str();
}

static void writeOut(llvm::StringRef text) {
  llvm::outs() << text;
  llvm::outs().flush();
}

/// Streams a completion to stdout as its tokens come: each token's text as
/// the tokenizer's DecodeStream completes it (never a partial UTF-8
/// character), less a tail held back while it may be the start of a stop
/// string. Stops at the first stop string, which is not printed.
class CompletionStream {
public:
  CompletionStream(const llmrt::Tokenizer &tokenizer,
                   std::vector<std::string> stops)
      : stream(tokenizer, /*skipSpecialTokens=*/true), stops(std::move(stops)),
        vocabSize(tokenizer.getVocabSize()), describe(tokenizer.describe()) {}

  llmrt::Status prime(const std::vector<int32_t> &promptIds) {
    return stream.prime(promptIds);
  }

  /// Adds a generated token; false once generation should stop (a stop
  /// string appeared, or decoding failed: see `status`).
  bool push(int64_t token) {
    if (stopped)
      return false;
    // A model's vocabulary may be padded past the tokenizer's: such an id
    // has no text (transformers drops it too).
    if (token >= vocabSize) {
      if (!warned)
        llvm::errs() << llvm::formatv(
            "llm-run: warning: the model generated token id {0}, which the "
            "tokenizer ({1}) does not have ({2} tokens): it prints nothing\n",
            token, describe, vocabSize);
      warned = true;
      return true;
    }
    llmrt::Expected<std::string> text =
        stream.push(static_cast<int32_t>(token));
    if (!text) {
      status = text.takeStatus();
      stopped = true;
      return false;
    }
    pending += *text;
    return release();
  }

  /// Prints what was held back (at the end of generation).
  void finish() {
    if (!stopped) {
      llmrt::Expected<std::string> rest = stream.flush();
      if (rest)
        pending += *rest;
      if (!release())
        return;
    }
    if (!stopped)
      writeOut(pending);
    pending.clear();
  }

  llmrt::Status status;
  /// The text printed so far.
  std::string printed;

private:
  /// Prints `pending` up to a stop string (and stops) or up to the longest
  /// tail that may start one.
  bool release() {
    size_t stopAt = std::string::npos;
    for (const std::string &stop : stops)
      stopAt = std::min(stopAt, pending.find(stop));
    if (stopAt != std::string::npos) {
      emit(stopAt);
      pending.clear();
      stopped = true;
      return false;
    }
    size_t hold = 0;
    for (const std::string &stop : stops)
      for (size_t n = std::min(stop.size() - 1, pending.size()); n > hold; --n)
        if (pending.compare(pending.size() - n, n, stop, 0, n) == 0) {
          hold = n;
          break;
        }
    emit(pending.size() - hold);
    return true;
  }
  void emit(size_t n) {
    if (!n)
      return;
    writeOut(llvm::StringRef(pending.data(), n));
    printed.append(pending, 0, n);
    pending.erase(0, n);
  }

  llmrt::DecodeStream stream;
  std::vector<std::string> stops;
  std::string pending;
  bool stopped = false;
  int64_t vocabSize;
  std::string describe;
  bool warned = false;
};

/// Peak resident set size in MB.
static double peakRssMB() {
  struct rusage usage;
  if (getrusage(RUSAGE_SELF, &usage) != 0)
    return 0;
  return usage.ru_maxrss / 1024.0; // kilobytes on Linux
}

/// Perplexity over sliding windows, exactly as transformers' perplexity
/// guide computes it: the windows start every `stride` tokens and hold up to
/// `ctx`; a window's labels are its last `trg_len` tokens (those past the
/// previous window's end), the model's loss is the mean NLL of the labels
/// it can predict (the first token of a window has no logits before it),
/// each token by the log-softmax of the position before it (in double
/// here), and the guide weights that mean by the number of labels less one:
/// perplexity = exp(sum(loss * (labels - 1)) / sum(labels - 1)). That
/// weighting counts one token too few per window after the first; the
/// perplexity of every token scored once is printed to stderr as well. The
/// last stdout line is "perplexity: X".
/// The log-softmax of `vocab` logits into `out`.
static void logSoftmax(const float *logits, int64_t vocab,
                       std::vector<double> &out) {
  out.resize(vocab);
  double max = logits[0];
  for (int64_t v = 1; v < vocab; ++v)
    max = std::max<double>(max, logits[v]);
  double sum = 0;
  for (int64_t v = 0; v < vocab; ++v)
    sum += std::exp(static_cast<double>(logits[v]) - max);
  double shift = max + std::log(sum);
  for (int64_t v = 0; v < vocab; ++v)
    out[v] = static_cast<double>(logits[v]) - shift;
}

static int runPerplexity(llmrt::SequenceSet &sequences,
                         const std::vector<int64_t> &ids, int64_t ctx,
                         int64_t stride, int64_t vocab,
                         llmrt::SequenceSet *reference) {
  int64_t n = static_cast<int64_t>(ids.size());
  int64_t windows = 0;
  for (int64_t begin = 0; begin < n; begin += stride) {
    ++windows;
    if (std::min(begin + ctx, n) == n)
      break;
  }
  bool progress = ::isatty(STDERR_FILENO);
  double nll = 0, guideNll = 0;
  int64_t scored = 0, guideTokens = 0, prevEnd = 0, window = 0;
  std::vector<float> logits(ctx * vocab);
  // With a reference: KL(reference || model) per scored token.
  std::vector<float> refLogits(reference ? ctx * vocab : 0);
  std::vector<double> logP, logQ;
  double klSum = 0, klMax = 0;
  int64_t topAgree = 0;
  auto start = Clock::now();
  for (int64_t begin = 0; begin < n; begin += stride) {
    int64_t end = std::min(begin + ctx, n);
    int64_t target = end - prevEnd;
    std::vector<int64_t> tokens(ids.begin() + begin, ids.begin() + end);
    llmrt::Expected<int64_t> seq = sequences.start(tokens, {}, logits.data());
    if (!seq)
      return fail(seq.error());
    sequences.release(*seq);
    if (reference) {
      llmrt::Expected<int64_t> refSeq =
          reference->start(tokens, {}, refLogits.data());
      if (!refSeq)
        return fail("--kl-reference: " + refSeq.error());
      reference->release(*refSeq);
    }
    int64_t len = end - begin;
    int64_t labels = std::min(target, len);
    double windowNll = 0;
    int64_t windowScored = 0;
    for (int64_t j = std::max<int64_t>(1, len - target); j < len; ++j) {
      const float *row = logits.data() + (j - 1) * vocab;
      double max = row[0];
      for (int64_t v = 1; v < vocab; ++v)
        max = std::max<double>(max, row[v]);
      double sum = 0;
      for (int64_t v = 0; v < vocab; ++v)
        sum += std::exp(static_cast<double>(row[v]) - max);
      windowNll -= static_cast<double>(row[tokens[j]]) - max - std::log(sum);
      ++windowScored;
      if (reference) {
        const float *refRow = refLogits.data() + (j - 1) * vocab;
        logSoftmax(refRow, vocab, logP);
        logSoftmax(row, vocab, logQ);
        double kl = 0;
        for (int64_t v = 0; v < vocab; ++v)
          kl += std::exp(logP[v]) * (logP[v] - logQ[v]);
        kl = std::max(kl, 0.0); // rounding of two equal distributions
        klSum += kl;
        klMax = std::max(klMax, kl);
        topAgree += std::max_element(refRow, refRow + vocab) - refRow ==
                    std::max_element(row, row + vocab) - row;
      }
    }
    nll += windowNll;
    scored += windowScored;
    if (windowScored > 0) {
      guideNll += windowNll / windowScored * (labels - 1);
      guideTokens += labels - 1;
    }
    prevEnd = end;
    ++window;
    if (progress) {
      constexpr int kWidth = 30;
      int filled = static_cast<int>(kWidth * window / windows);
      llvm::errs() << llvm::formatv(
          "\rperplexity: [{0}{1}] {2}/{3} windows, running {4:f4}",
          std::string(filled, '#'), std::string(kWidth - filled, ' '), window,
          windows, std::exp(nll / std::max<int64_t>(scored, 1)));
    }
    if (end == n)
      break;
  }
  double seconds = secondsSince(start);
  if (progress)
    llvm::errs() << "\n";
  if (!std::isfinite(nll) || guideTokens == 0)
    return fail("perplexity: the model's logits are not finite" +
                llmrt::explainNaN(sequences.getModel()));
  llvm::errs() << llvm::formatv(
      "perplexity: {0} tokens, {1} scored in {2} windows of {3} (stride "
      "{4}), {5:f3} s ({6:f1} tokens/s); every token scored once: "
      "perplexity {7:f6}\n",
      n, scored, windows, ctx, stride, seconds, scored / seconds,
      std::exp(nll / scored));
  llvm::outs() << llvm::formatv("nll: {0:f6}\nperplexity: {1:f6}\n",
                                guideNll / guideTokens,
                                std::exp(guideNll / guideTokens));
  if (reference) {
    if (!std::isfinite(klSum))
      return fail("--kl-reference: the reference model's logits are not "
                  "finite" +
                  llmrt::explainNaN(reference->getModel()));
    llvm::errs() << llvm::formatv(
        "kl divergence from the reference over the {0} scored tokens: mean "
        "{1:f6}, max {2:f6}; same top token {3:f2}%\n",
        scored, klSum / scored, klMax, 100.0 * topAgree / scored);
    llvm::outs() << llvm::formatv(
        "kl_divergence: {0:f6}\nkl_divergence_max: {1:f6}\ntop1_agreement: "
        "{2:f6}\n",
        klSum / scored, klMax, static_cast<double>(topAgree) / scored);
  }
  return 0;
}

/// --calib or --calib-ids, as token ids.
static std::vector<int64_t> calibrationTokens;

/// The options every compilation of this run shares.
static void setCompileOptions(JITOptions &jit) {
  jit.decomposeAttention = decomposeAttention;
  jit.attentionPasses = attentionPasses;
  jit.moeDecodeMaxTokens = moeDecodeMaxTokens;
  jit.emitMlir = emitMlir;
  jit.blockSize = kvBlockSize;
  jit.cacheDtype = kvDtype;
  // --quantize is int8, int4, w8a8 or empty (checked in main).
  setQuantizeFlag(jit, quantize);
  jit.quantizeGroupSize = groupSize;
  jit.quantizeSymmetric = !asymmetric;
  jit.quantizeSkip = quantizeSkip;
  jit.quantizeMethod = quantizeMethod;
  jit.calibrationTokens = calibrationTokens;
  jit.calibrationWindow = calibWindow;
  jit.gptqDamp = gptqDamp;
  jit.gptqActOrder = actOrder;
  jit.note = [](const std::string &message) { notes() << message << "\n"; };
  jit.checkMemory = !noMemoryCheck;
  jit.allowUnusedWeights = allowUnusedWeights;
  jit.warn = [](const std::string &message) {
    llvm::errs() << "llm-run: warning: " << message << "\n";
  };
  if (!noCompileCache)
    jit.cacheDir = CompileCache::getDefaultDirectory();
  if (target != "cpu")
    jit.target = "cuda";
  jit.cacheKeyExtra = ggufPackedCodes ? "gguf_packed_codes" : "gguf_8bit_codes";
}

/// A model compiled for --target=cuda runs its launches on the first CUDA
/// device, for --target=cuda-host on the host: its weights, arena, cache
/// and staging buffers in that executor's memory.
static llmrt::Status attachLaunchExecutor(llmrt::Model &model) {
  // An artifact's is attached when it is loaded (llmrt::loadArtifact).
  if (target == "cpu" || model.getLaunchExecutor())
    return llmrt::Status::ok();
  std::shared_ptr<llmrt::cuda::LaunchExecutor> executor;
  if (target == "cuda-host") {
    executor = llmrt::cuda::createHostLaunchExecutor();
  } else {
    // The attention kernels are compiled for the cache's head dimension
    // (another one, if a launch asks, when it does).
    int headDim = 64;
    for (const llmrt::EntryDesc &entry : model.getManifest().entries)
      for (const llmrt::ArgDesc &arg : entry.args)
        if (arg.cache)
          headDim = static_cast<int>(arg.cache->headDim);
    std::string cubins;
    if (!noCompileCache)
      cubins = CompileCache::getDefaultDirectory() + "/cubins";
    llmrt::Expected<std::unique_ptr<llmrt::cuda::LaunchExecutor>> device =
        llmrt::cuda::createDeviceLaunchExecutor(0, headDim, cubins);
    if (!device) {
      llmrt::Status failed = device.takeStatus();
      return llmrt::Status::error(failed.code(),
                                  "--target=cuda: " + failed.message());
    }
    executor = std::move(*device);
  }
  return model.useLaunchExecutor(std::move(executor));
}

/// Sentence embeddings of an encoder: the last hidden state of each
/// sentence (its special tokens included), averaged over its tokens (mean,
/// as sentence-transformers' mean pooling) or its first token (cls), and
/// with --normalize scaled to unit length (as torch's F.normalize, eps
/// 1e-12). Attention is bidirectional, so padding would change every row:
/// each distinct length gets its own compiled forward pass.
static int runEmbed(const HFModel &hf,
                    std::shared_ptr<const llmrt::SafeTensorsArchive> weights,
                    const std::vector<llmrt::Prompt> &sentences,
                    int64_t hidden) {
  std::map<size_t, std::vector<size_t>> byLength;
  for (size_t i = 0; i < sentences.size(); ++i)
    byLength[sentences[i].tokens.size()].push_back(i);
  std::vector<float> out(sentences.size() * hidden);
  MLIRContext context;
  auto start = Clock::now();
  double compileSeconds = 0;
  for (const auto &[length, members] : byLength) {
    JITOptions jit =
        planCompilation(false, true, {sentences[members[0]]}, 0, 1, false);
    setCompileOptions(jit);
    auto compileStart = Clock::now();
    llvm::Expected<std::unique_ptr<llmrt::Model>> model =
        compileModel(context, hf, weights, jit);
    if (!model)
      return fail(llvm::toString(model.takeError()));
    if (llmrt::Status placed = attachLaunchExecutor(**model); !placed.isOk())
      return fail(placed.message());
    compileSeconds += secondsSince(compileStart);
    llmrt::Expected<std::unique_ptr<llmrt::SequenceSet>> sequences =
        llmrt::makeRecomputedSequences(**model);
    if (!sequences)
      return fail(sequences.error());
    std::vector<float> rows(length * hidden);
    for (size_t i : members) {
      llmrt::Expected<int64_t> seq =
          (*sequences)->start(sentences[i].tokens, {}, rows.data());
      if (!seq)
        return fail(seq.error());
      (*sequences)->release(*seq);
      float *dst = out.data() + i * hidden;
      for (int64_t h = 0; h < hidden; ++h) {
        double sum = 0;
        size_t count = pooling == "cls" ? 1 : length;
        for (size_t t = 0; t < count; ++t)
          sum += rows[t * hidden + h];
        dst[h] = static_cast<float>(sum / count);
      }
      if (normalizeEmbeddings) {
        double norm = 0;
        for (int64_t h = 0; h < hidden; ++h)
          norm += static_cast<double>(dst[h]) * dst[h];
        double scale = 1.0 / std::max(std::sqrt(norm), 1e-12);
        for (int64_t h = 0; h < hidden; ++h)
          dst[h] = static_cast<float>(dst[h] * scale);
      }
      for (int64_t h = 0; h < hidden; ++h)
        if (!std::isfinite(dst[h]))
          return fail(llvm::formatv("--embed: sentence {0} has a non-finite "
                                    "embedding",
                                    i));
    }
  }
  if (llvm::Error err = writeNpy(embed, out.data(), sentences.size(), hidden))
    return fail(llvm::toString(std::move(err)));
  notes() << llvm::formatv(
      "embedded {0} sentences ({1} lengths compiled in {2:f2} s), {3} pooling"
      "{4}, in {5:f2} s\n",
      sentences.size(), byLength.size(), compileSeconds, pooling,
      normalizeEmbeddings ? ", normalized" : "", secondsSince(start));
  return 0;
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
  auto runStart = Clock::now();
  bool textInput = !prompt.empty() || !promptFile.empty();
  bool generateText = textInput && embed.empty();
  if (!prompt.empty() && !promptFile.empty())
    return fail("--prompt and --prompt-file: give the prompt one way");
  if (textInput && !inputIds.empty())
    return fail("--input-ids and --prompt/--prompt-file: give the prompt one "
                "way");
  if (!perplexity.empty() &&
      (textInput || !inputIds.empty() || maxNewTokens.getNumOccurrences()))
    return fail("--perplexity reads its text from FILE: it takes no "
                "--prompt, --prompt-file, --input-ids or --max-new-tokens");
  if (!embed.empty() && !textInput)
    return fail("--embed needs the sentences: --prompt TEXT, or "
                "--prompt-file FILE with one sentence per line");
  if (!embed.empty() && maxNewTokens.getNumOccurrences())
    return fail("--embed computes embeddings: it generates nothing "
                "(--max-new-tokens)");
  if ((echo || !stopStrings.empty()) && !generateText)
    return fail("--echo and --stop apply to generation from a text prompt "
                "(--prompt, --prompt-file)");
  for (const std::string &stop : stopStrings)
    if (stop.empty())
      return fail("--stop: expected a non-empty string");
  if ((ctxLength.getNumOccurrences() || strideLength.getNumOccurrences()) &&
      perplexity.empty())
    return fail("--ctx and --stride apply to --perplexity");
  if ((pooling.getNumOccurrences() || normalizeEmbeddings) && embed.empty())
    return fail("--pooling and --normalize apply to --embed");
  if (!quantize.empty() && quantize != "int8" && quantize != "int4" &&
      quantize != "w8a8")
    return fail(llvm::formatv(
        "--quantize: expected int8, int4 or w8a8, found '{0}'", quantize));
  if ((groupSize.getNumOccurrences() || asymmetric ||
       quantizeSkip.getNumOccurrences() ||
       quantizeMethod.getNumOccurrences()) &&
      quantize.empty())
    return fail("--group-size, --asymmetric, --quantize-skip and --method "
                "apply to --quantize");
  if (quantizeMethod != "rtn" && quantizeMethod != "gptq" &&
      quantizeMethod != "awq")
    return fail(llvm::formatv("--method: expected rtn, gptq or awq, found "
                              "'{0}'",
                              quantizeMethod));
  bool calibrated = quantizeMethod != "rtn";
  if (calibrated && quantize == "w8a8")
    return fail(llvm::formatv(
        "--method {0}: calibrated methods quantize the weights alone; "
        "--quantize w8a8 rounds to nearest: expected int8 or int4",
        quantizeMethod));
  if (calibrated && calibFile.empty() && calibIdsFile.empty())
    return fail(llvm::formatv("--method {0}: expected calibration data: "
                              "--calib FILE (text) or --calib-ids FILE",
                              quantizeMethod));
  if (!calibFile.empty() && !calibIdsFile.empty())
    return fail("--calib and --calib-ids: give the calibration data one way");
  if ((!calibFile.empty() || !calibIdsFile.empty() ||
       calibWindow.getNumOccurrences()) &&
      !calibrated)
    return fail("--calib, --calib-ids and --calib-window apply to --method "
                "gptq or awq");
  if ((gptqDamp.getNumOccurrences() || actOrder) && quantizeMethod != "gptq")
    return fail("--gptq-damp and --act-order apply to --method gptq");
  if (!klReference.empty() && perplexity.empty())
    return fail("--kl-reference applies to --perplexity");
  if (pooling != "mean" && pooling != "cls")
    return fail(
        llvm::formatv("--pooling: expected mean or cls, found '{0}'", pooling));
  if (!textInput && inputIds.empty() && perplexity.empty())
    return fail("expected --input-ids (comma-separated token ids), --prompt "
                "TEXT, --prompt-file FILE or --perplexity FILE");
  // Text goes to stdout: everything else to stderr.
  notesToStderr = generateText || !perplexity.empty();
  if (generateText && !maxNewTokens.getNumOccurrences())
    maxNewTokens = 64;
  // A thread per worker (std::thread aborts when it cannot start one).
  if (numThreads < 0 || numThreads > kMaxThreads)
    return fail(llvm::formatv("--num-threads: expected a value in [0, {0}], "
                              "found {1}",
                              kMaxThreads, numThreads.getValue()));
  if (target != "cpu" && target != "cuda" && target != "cuda-host")
    return fail(llvm::formatv(
        "--target: expected cpu, cuda or cuda-host, found '{0}'", target));
  if (target == "cuda") {
    // Without a driver or a device, say so before compiling anything.
    llmrt::Expected<int> devices = llmrt::cuda::countCudaDevices();
    if (!devices)
      return fail("--target=cuda: " + devices.error());
  }
  if (moeDecodeMaxTokens < 0)
    return fail(llvm::formatv("--moe-decode-max-tokens: expected a value >= "
                              "0 (0: always the prefill form), found {0}",
                              moeDecodeMaxTokens.getValue()));
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
  const bool gguf = isGGUFPath(modelPath);
  const bool onnx = isONNXPath(modelPath);
  if (onnx && !llvm::sys::fs::is_regular_file(modelPath))
    return fail(llvm::formatv(
        "{0}: expected an ONNX model file, found {1}", modelPath,
        llvm::sys::fs::exists(modelPath) ? "a folder" : "nothing"));
  if (onnx) {
    // A graph is imported at the prompt's length: one prompt, generated
    // with the KV cache (or only its logits read), in fp32 as exported.
    const std::vector<std::pair<const char *, bool>> refused = {
        {"--perplexity", !perplexity.empty()},
        {"--embed", !embed.empty()},
        {"--num-beams", numBeams > 1},
        {"--decompose-attention", decomposeAttention},
        {"--calib-file", !calibFile.empty() || !calibIdsFile.empty()},
        {"--input-ids with several prompts and --max-new-tokens",
         llvm::StringRef(inputIds).contains(';') && maxNewTokens > 0}};
    for (auto [flag, given] : refused)
      if (given)
        return fail(llvm::formatv("{0}: {1} is not available for ONNX "
                                  "models; it applies to a model folder or "
                                  "GGUF file",
                                  modelPath, flag));
  }
  if (!gguf && ggufPackedCodes)
    return fail(llvm::formatv("--gguf-packed-codes: expected a GGUF file "
                              "(MODEL.gguf), found the folder '{0}'",
                              modelPath));
  if (!gguf && !onnx && !llvm::sys::fs::is_directory(modelPath))
    return fail(llvm::formatv(
        "{0}: expected a Hugging Face model folder "
        "(config.json + *.safetensors), a .gguf or a .onnx file, found {1}",
        modelPath, llvm::sys::fs::exists(modelPath) ? "a file" : "nothing"));
  // Every output is checked before anything runs.
  const std::pair<llvm::StringRef, llvm::StringRef> outputs[] = {
      {"dump-logits", dumpLogits}, {"dump-hidden", dumpHidden},
      {"dump-ids", dumpIds},       {"dump-gen-logits", dumpGenLogits},
      {"emit-mlir", emitMlir},     {"embed", embed}};
  for (auto [flag, path] : outputs)
    if (llvm::Error err = checkOutputPath(flag, path))
      return fail(llvm::toString(std::move(err)));

  // An artifact (llm-compile): its entry points are compiled already, so
  // the options that choose them are the compiler's.
  const bool artifact = !gguf && !onnx && llmrt::isArtifact(modelPath);
  std::optional<llmrt::ArtifactManifest> artifactManifest;
  if (artifact) {
    llmrt::Expected<llmrt::ArtifactManifest> read =
        llmrt::readArtifactManifest(modelPath);
    if (!read)
      return fail(read.error());
    if (!read->manifest.model)
      return fail(llvm::formatv("{0}/manifest.json: field 'model': expected "
                                "the model's description, found nothing",
                                modelPath));
    artifactManifest = std::move(*read);
    // The artifact's code decides where it runs: a CUDA artifact on a
    // device (or, with --target=cuda-host, on the host's executor).
    const bool cudaCode = artifactManifest->info.device == "cuda";
    if (cudaCode && target == "cpu") {
      if (target.getNumOccurrences())
        return fail(llvm::formatv(
            "{0}: compiled for CUDA (llm-compile --target=cuda): expected "
            "--target=cuda or cuda-host, found --target=cpu",
            modelPath));
      target.setValue("cuda");
      llmrt::Expected<int> devices = llmrt::cuda::countCudaDevices();
      if (!devices)
        return fail(llvm::formatv("{0}: compiled for CUDA: {1}", modelPath,
                                  devices.error()));
    }
    if (!cudaCode && target != "cpu")
      return fail(llvm::formatv(
          "{0}: compiled for the CPU: --target={1} needs an artifact of "
          "llm-compile --target=cuda",
          modelPath, target));
    const std::vector<std::pair<const char *, bool>> compileFlags = {
        {"--no-kv-cache", noKVCache},
        {"--embed", !embed.empty()},
        {"--perplexity", !perplexity.empty()},
        {"--quantize", !quantize.empty()},
        {"--kv-block-size", kvBlockSize.getNumOccurrences() > 0},
        {"--kv-dtype", kvDtype.getNumOccurrences() > 0},
        {"--moe-decode-max-tokens", moeDecodeMaxTokens.getNumOccurrences() > 0},
        {"--decompose-attention", decomposeAttention},
        {"--emit-mlir", !emitMlir.empty()},
        {"--no-cache", noCompileCache}};
    for (auto [flag, given] : compileFlags)
      if (given)
        return fail(llvm::formatv(
            "{0}: an artifact is compiled already ({1}); {2} applies to a "
            "model folder or GGUF file",
            modelPath, artifactManifest->info.options, flag));
    if (!dumpLogits.empty() && !llvm::StringRef(artifactManifest->info.options)
                                    .contains("--all-logits"))
      return fail(llvm::formatv(
          "--dump-logits: {0} computes each prompt's last logits alone ({1}); "
          "compile it with llm-compile --all-logits to read every "
          "position's",
          modelPath, artifactManifest->info.options));
  }

  // A GGUF file: its synthesized config and its tensors, renamed.
  std::shared_ptr<const llmrt::SafeTensorsArchive> ggufWeights;
  llvm::Expected<std::unique_ptr<HFModel>> hf =
      llvm::Expected<std::unique_ptr<HFModel>>(nullptr);
  // An ONNX file: imported once here for what it is (its kind and
  // vocabulary, and what the importer reads from a config.json beside it:
  // stop tokens, limits, window), again at the prompt's length to compile.
  // The folder's tokenizer reads text prompts.
  const std::string onnxFolder =
      onnx ? (llvm::sys::path::parent_path(modelPath).empty()
                  ? std::string(".")
                  : llvm::sys::path::parent_path(modelPath).str())
           : std::string();
  HFModelInfo onnxInfo;
  MLIRContext onnxContext;
  auto importOnnx = [&](int64_t seqLen,
                        int64_t decoderSeqLen) -> llvm::Expected<ONNXModel> {
    ONNXImportOptions options;
    options.seqLen = seqLen;
    options.decoderSeqLen = decoderSeqLen;
    return importONNX(onnxContext, modelPath, options);
  };
  if (onnx) {
    llvm::Expected<ONNXModel> probe = importOnnx(1, 1);
    if (!probe)
      return fail(llvm::toString(probe.takeError()));
    onnxInfo = probe->info;
  }
  if (artifact || onnx) {
    // No HFModel: the manifest or the graph describes the model.
  } else if (gguf) {
    llvm::Expected<GGUFModel> opened = openGGUF(modelPath);
    if (!opened)
      return fail(llvm::toString(opened.takeError()));
    for (const std::string &note : opened->notes)
      llvm::errs() << "llm-run: note: " << note << "\n";
    hf = std::move(opened->model);
    (*hf)->setGGMLPackedCodes(ggufPackedCodes);
    ggufWeights = std::move(opened->weights);
  } else {
    hf = HFModel::open(modelPath);
  }
  if (!hf)
    return fail(llvm::toString(hf.takeError()));
  const HFModelInfo &info = artifact ? *artifactManifest->manifest.model
                            : onnx   ? onnxInfo
                                     : (*hf)->getInfo();
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

  std::vector<llmrt::Prompt> prompts;
  std::unique_ptr<llmrt::Tokenizer> tokenizer;
  std::string promptText;
  std::vector<int64_t> textIds; // --perplexity
  int64_t ctx = 0, stride = 0;
  if (textInput || !perplexity.empty() || !calibFile.empty()) {
    llmrt::Expected<std::unique_ptr<llmrt::Tokenizer>> loaded =
        llmrt::Tokenizer::load(onnx ? onnxFolder : modelPath.getValue());
    if (!loaded)
      return fail(loaded.error());
    tokenizer = std::move(*loaded);
  }
  auto encodeText =
      [&](llvm::StringRef text,
          llvm::StringRef what) -> llvm::Expected<std::vector<int64_t>> {
    llmrt::Expected<std::vector<int32_t>> ids =
        tokenizer->encode(std::string_view(text.data(), text.size()),
                          /*addSpecialTokens=*/true,
                          /*truncateAndPad=*/false);
    if (!ids)
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     what.str() + ": " + ids.error());
    return std::vector<int64_t>(ids->begin(), ids->end());
  };
  if (!calibFile.empty() || !calibIdsFile.empty()) {
    llvm::StringRef path = calibFile.empty() ? calibIdsFile : calibFile;
    std::ifstream in(path.str(), std::ios::binary);
    if (!in)
      return fail(llvm::formatv("--{0}: cannot open '{1}': {2}",
                                calibFile.empty() ? "calib-ids" : "calib", path,
                                std::strerror(errno)));
    std::ostringstream text;
    text << in.rdbuf();
    if (!calibFile.empty()) {
      llvm::Expected<std::vector<int64_t>> ids = encodeText(text.str(), path);
      if (!ids)
        return fail(llvm::toString(ids.takeError()));
      calibrationTokens = std::move(*ids);
    } else {
      // Ids separated by commas or white space.
      std::string contents = text.str();
      llvm::SmallVector<llvm::StringRef> items;
      llvm::SplitString(contents, items, ", \t\r\n");
      for (llvm::StringRef item : items) {
        int64_t id;
        if (item.getAsInteger(10, id) || id < 0 || id >= info.vocabSize)
          return fail(llvm::formatv(
              "{0}: expected token ids in [0, {1}) separated by commas or "
              "white space, found '{2}'",
              path, info.vocabSize, item));
        calibrationTokens.push_back(id);
      }
    }
    if (calibrationTokens.size() < 2)
      return fail(llvm::formatv("{0}: expected calibration data of at least "
                                "2 tokens, found {1}",
                                path, calibrationTokens.size()));
  }
  if (!perplexity.empty()) {
    if (encoder || seq2seq)
      return fail(llvm::formatv("--perplexity needs a decoder-only model; "
                                "'{0}' is {1}",
                                info.type,
                                encoder ? "an encoder" : "an encoder-decoder"));
    std::ifstream in(perplexity.getValue(), std::ios::binary);
    if (!in)
      return fail(llvm::formatv("--perplexity: cannot open '{0}': {1}",
                                perplexity, std::strerror(errno)));
    std::ostringstream text;
    text << in.rdbuf();
    if (text.str().empty())
      return fail(llvm::formatv("{0}: the file is empty: perplexity needs a "
                                "text of at least 2 tokens",
                                perplexity));
    llvm::Expected<std::vector<int64_t>> ids =
        encodeText(text.str(), perplexity);
    if (!ids)
      return fail(llvm::toString(ids.takeError()));
    textIds = std::move(*ids);
    if (textIds.size() < 2)
      return fail(llvm::formatv(
          "{0}: expected a text of at least 2 tokens (the first predicts "
          "the second), found {1}",
          perplexity, textIds.size()));
    int64_t context = info.contextLength  ? info.contextLength
                      : info.maxPositions ? info.maxPositions
                                          : 1024;
    ctx = ctxLength.getNumOccurrences() ? ctxLength.getValue()
                                        : std::min<int64_t>(context, 1024);
    if (ctx < 2 || ctx > context)
      return fail(llvm::formatv("--ctx: expected a window in [2, {0}] (the "
                                "model's context), found {1}",
                                context, ctx));
    stride = strideLength.getNumOccurrences() ? strideLength.getValue()
                                              : std::max<int64_t>(1, ctx / 2);
    if (stride < 1 || stride > ctx)
      return fail(llvm::formatv("--stride: expected a value in [1, {0}] "
                                "(--ctx), found {1}",
                                ctx, stride));
    prompts.push_back(
        {std::vector<int64_t>(textIds.begin(),
                              textIds.begin() +
                                  std::min<int64_t>(ctx, textIds.size())),
         {}});
  } else if (textInput) {
    llvm::Expected<std::string> text = readPromptText();
    if (!text)
      return fail(llvm::toString(text.takeError()));
    promptText = std::move(*text);
    llvm::SmallVector<llvm::StringRef> sentences;
    if (!embed.empty() && !promptFile.empty())
      llvm::StringRef(promptText).split(sentences, '\n', -1, false);
    else
      sentences.push_back(promptText);
    for (llvm::StringRef sentence : sentences) {
      llvm::Expected<std::vector<int64_t>> ids = encodeText(
          sentence, promptFile.empty() ? "--prompt" : promptFile.getValue());
      if (!ids)
        return fail(llvm::toString(ids.takeError()));
      if (ids->empty())
        return fail(llvm::formatv("{0}: the text encodes to no tokens",
                                  promptFile.empty() ? "--prompt"
                                                     : promptFile.getValue()));
      prompts.push_back({std::move(*ids), {}});
    }
    if (prompts.empty())
      return fail(llvm::formatv("{0}: expected one sentence per line, found "
                                "no text",
                                promptFile));
  } else {
    // Several prompts, separated by ';', are generated as one batch.
    llvm::SmallVector<llvm::StringRef> texts;
    llvm::StringRef(inputIds).split(texts, ';');
    for (llvm::StringRef text : texts) {
      llvm::Expected<std::vector<int64_t>> ids =
          parseTokenIds("input-ids", text);
      if (!ids)
        return fail(llvm::toString(ids.takeError()));
      prompts.push_back({std::move(*ids), {}});
    }
  }
  if (!embed.empty() && !encoder)
    return fail(llvm::formatv("--embed is for encoder models (BERT, "
                              "RoBERTa); '{0}' is not one",
                              info.type));
  // A decoder's artifact holds the cached entry points alone, an encoder's
  // the forward one.
  bool cached =
      artifact ? !encoder : maxNewTokens > 0 && !encoder && !noKVCache;
  if (artifact && encoder)
    for (const llmrt::EntryDesc &entry : artifactManifest->manifest.entries)
      if (entry.hasArg(llmrt::ArgKind::Tokens) && prompts.size() == 1 &&
          entry.getArg(llmrt::ArgKind::Tokens).tensor.shape.back() !=
              static_cast<int64_t>(prompts[0].tokens.size()))
        return fail(llvm::formatv(
            "{0}: the artifact's encoder takes {1} tokens, the prompt has "
            "{2} (compile it with llm-compile --prompt-lens {2})",
            modelPath, entry.getArg(llmrt::ArgKind::Tokens).tensor.shape.back(),
            prompts[0].tokens.size()));
  // Several prompts: generated as one batch with the KV cache, or (no
  // --max-new-tokens) one forward pass each.
  if (prompts.size() > 1 && embed.empty() && maxNewTokens > 0 &&
      (!cached || !dumpLogits.empty()))
    return fail("--input-ids: several prompts (separated by ';') are "
                "generated as one batch with the KV cache; generating them "
                "needs a decoder-only or encoder-decoder model and excludes "
                "--no-kv-cache and --dump-logits (without --max-new-tokens "
                "each prompt is one forward pass)");
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
      if (id < 0 || id >= info.vocabSize) {
        if (tokenizer)
          return fail(llvm::formatv(
              "the tokenizer ({0}) gives token id {1}, outside the model's "
              "vocabulary [0, {2}) (config.json's vocab_size)",
              tokenizer->describe(), id, info.vocabSize));
        return fail(llvm::formatv("--{0}: token id {1} is outside the "
                                  "vocabulary [0, {2})",
                                  flag, id, info.vocabSize));
      }
  // An encoder-decoder model's prompts are the decoder's; the input ids go
  // through the encoder.
  if (seq2seq)
    for (llmrt::Prompt &p : prompts)
      p = {decoderIds, std::move(p.tokens)};
  // Without generation each prompt is one forward pass of the model
  // compiled at one length.
  if (maxNewTokens == 0 && perplexity.empty() && embed.empty())
    for (size_t i = 1; i < prompts.size(); ++i)
      if (prompts[i].tokens.size() != prompts[0].tokens.size() ||
          prompts[i].encoderTokens.size() != prompts[0].encoderTokens.size())
        return fail(llvm::formatv(
            "--input-ids: a forward pass over several prompts takes prompts "
            "of one length: prompt 0 has {0} tokens, prompt {1} has {2}",
            std::max(prompts[0].tokens.size(), prompts[0].encoderTokens.size()),
            i,
            std::max(prompts[i].tokens.size(),
                     prompts[i].encoderTokens.size())));

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

  std::shared_ptr<const llmrt::SafeTensorsArchive> weights = ggufWeights;
  std::optional<ONNXModel> onnxModel;
  if (onnx) {
    // The graph at the length the run compiles: the prompt's with the KV
    // cache (a prefill, then decode steps), else the prompt and the new
    // tokens, which one forward pass covers (causal attention).
    const int64_t length = static_cast<int64_t>(prompts.at(0).tokens.size()) +
                           (cached ? 0 : std::max<int64_t>(maxNewTokens, 0));
    // An encoder-decoder: the encoder at the input's length, the decoder
    // at the decoder prompt's plus the new tokens.
    const int64_t encoderLength =
        static_cast<int64_t>(prompts.at(0).encoderTokens.size());
    // A sliding window shows in the folded mask only past its width: a
    // shorter prompt's mask is plain causal, which the cache would then
    // serve for every later token.
    if (cached && onnxInfo.slidingWindow > 0 &&
        length <= onnxInfo.slidingWindow)
      return fail(llvm::formatv(
          "{0}: a prompt of {1} tokens with the KV cache: config.json's "
          "sliding_window is {2}, and the mask of a graph imported at no more "
          "tokens than the window does not show it; use a longer prompt or "
          "--no-kv-cache",
          modelPath, length, onnxInfo.slidingWindow));
    llvm::Expected<ONNXModel> imported =
        seq2seq ? importOnnx(encoderLength, length) : importOnnx(length, 1);
    if (!imported)
      return fail(llvm::toString(imported.takeError()));
    weights = imported->weights;
    onnxModel = std::move(*imported);
    // --emit-mlir: the llm dialect as imported, before any pass.
    if (!emitMlir.empty())
      if (llvm::Error err =
              writeOutputFile(emitMlir, [&](llvm::raw_ostream &os) {
                onnxModel->module->print(os);
              }))
        return fail(llvm::toString(std::move(err)));
  }
  if (!gguf && !artifact && !onnx) {
    llmrt::Expected<std::unique_ptr<llmrt::SafeTensorsArchive>> archive =
        llmrt::SafeTensorsArchive::openDirectory(modelPath.getValue());
    if (!archive)
      return fail(archive.error());
    weights = std::move(*archive);
  }
  // No output may land on a file the run reads (the checkpoint is mapped).
  std::vector<std::string> inputs;
  if (gguf || onnx)
    inputs.push_back(modelPath);
  for (const char *name :
       {"config.json", "generation_config.json", "model.safetensors.index.json",
        "tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt",
        "vocab.txt", "tokenizer.model"})
    inputs.push_back((llvm::Twine(modelPath) + "/" + name).str());
  for (llvm::StringRef file :
       {llvm::StringRef(promptFile), llvm::StringRef(perplexity)})
    if (!file.empty())
      inputs.push_back(file.str());
  if (weights)
    for (const auto &file : weights->files())
      inputs.push_back(file->path());
  for (const char *name : {"manifest.json", "model.so", "params.safetensors"})
    if (artifact)
      inputs.push_back((llvm::Twine(modelPath) + "/" + name).str());
  for (auto [flag, path] : outputs)
    if (llvm::Error err = checkNotAnInput(flag, path, inputs))
      return fail(llvm::toString(std::move(err)));
  llmrt::setNumThreads(numThreads);

  if (!embed.empty())
    return runEmbed(**hf, weights, prompts, info.hiddenSize);
  JITOptions jit = planCompilation(seq2seq, encoder, prompts, maxNewTokens,
                                   numBeams, cached);
  setCompileOptions(jit);
  // Generation reads each prompt's last logits alone; --dump-logits and
  // --perplexity read every position's.
  if (params.keepPromptLogits || !perplexity.empty())
    jit.lastLogitsOnly = false;
  MLIRContext context;
  double loadSeconds = secondsSince(runStart);
  auto start = Clock::now();
  JITTimings timings;
  llvm::Expected<std::unique_ptr<llmrt::Model>> model =
      llvm::Expected<std::unique_ptr<llmrt::Model>>(nullptr);
  if (artifact) {
    llmrt::Expected<std::unique_ptr<llmrt::Model>> loaded = llmrt::loadArtifact(
        modelPath, !noMemoryCheck,
        target == "cuda-host" ? llmrt::ArtifactDevice::CudaHost
                              : llmrt::ArtifactDevice::Cuda);
    if (!loaded)
      return fail(loaded.error());
    model = std::move(*loaded);
  } else if (onnx) {
    model =
        compileModule(*onnxModel->module, onnxFolder, weights, jit, &timings);
  } else {
    model = compileModel(context, **hf, weights, jit, &timings);
  }
  if (!model)
    return fail(llvm::toString(model.takeError()));
  if (llmrt::Status placed = attachLaunchExecutor(**model); !placed.isOk())
    return fail(placed.message());
  double compileSeconds = secondsSince(start);
  // "compiled X ... in N s", or "loaded X's code from the compile cache".
  std::string compiledVerb = artifact ? "loaded the artifact"
                             : timings.cached
                                 ? "loaded (from the compile cache)"
                                 : "compiled";
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
      notes() << llvm::formatv(
          "{6} {0} ({1}) prefill + decode (batch {2}) in {3:f2} s; KV "
          "cache: {4} blocks of {5} tokens\n",
          modelPath, info.type, numBeams.getValue(), compileSeconds,
          session->getNumBlocks(), config.blockSize, compiledVerb);
    else
      notes() << llvm::formatv(
          "{7} {0} ({1}) prefill + decode in {2:f2} s; KV cache: {3} "
          "blocks of {4} tokens, {5} bytes per token, {6:f2} MB\n",
          modelPath, info.type, compileSeconds, session->getNumBlocks(),
          config.blockSize, llmrt::getKVBytesPerToken(config),
          session->getCacheBytes() / 1e6, compiledVerb);
    sequences = llmrt::makeCachedSequences(*session);
  } else {
    notes() << llvm::formatv(
        "{5} {0} ({1}) in {2:f2} s: {3:f1} MB of weights mapped, {4:f1} "
        "MB packed\n",
        modelPath, info.type, compileSeconds, (*model)->getMappedBytes() / 1e6,
        (*model)->getPackedBytes() / 1e6, compiledVerb);
    llmrt::Expected<std::unique_ptr<llmrt::SequenceSet>> recomputed =
        llmrt::makeRecomputedSequences(**model);
    if (!recomputed)
      return fail(recomputed.error());
    sequences = std::move(*recomputed);
  }
  int64_t forwardLength = seq2seq ? jit.decoderSeqLen : jit.seqLen;

  if (!perplexity.empty()) {
    if (klReference.empty())
      return runPerplexity(*sequences, textIds, ctx, stride, vocab, nullptr);
    // The reference: the model in DIR, compiled as this one but unquantized,
    // run over the same windows.
    llvm::Expected<std::unique_ptr<HFModel>> refHf = HFModel::open(klReference);
    if (!refHf)
      return fail("--kl-reference: " + llvm::toString(refHf.takeError()));
    const HFModelInfo &refInfo = (*refHf)->getInfo();
    if (refInfo.vocabSize != info.vocabSize)
      return fail(llvm::formatv(
          "--kl-reference: {0} has a vocabulary of {1} tokens "
          "(config.json's vocab_size), the model {2}: the distributions "
          "cannot be compared",
          klReference.getValue(), refInfo.vocabSize, info.vocabSize));
    llmrt::Expected<std::unique_ptr<llmrt::SafeTensorsArchive>> refArchive =
        llmrt::SafeTensorsArchive::openDirectory(klReference.getValue());
    if (!refArchive)
      return fail("--kl-reference: " + refArchive.error());
    JITOptions refJit = jit;
    refJit.quantizeBits = 0;
    llvm::Expected<std::unique_ptr<llmrt::Model>> refModel =
        compileModel(context, **refHf, std::move(*refArchive), refJit);
    if (!refModel)
      return fail("--kl-reference: " + llvm::toString(refModel.takeError()));
    if (llmrt::Status placed = attachLaunchExecutor(**refModel); !placed.isOk())
      return fail("--kl-reference: " + placed.message());
    std::unique_ptr<llmrt::Session> refSession;
    std::unique_ptr<llmrt::SequenceSet> refSequences;
    if (cached) {
      llmrt::Expected<llmrt::SessionOptions> options =
          llmrt::getSessionOptions(**refModel, prompts, params);
      if (!options)
        return fail("--kl-reference: " + options.error());
      options->checkMemory = !noMemoryCheck;
      llmrt::Expected<std::unique_ptr<llmrt::Session>> created =
          llmrt::Session::create(**refModel, *options);
      if (!created)
        return fail("--kl-reference: " + created.error());
      refSession = std::move(*created);
      refSequences = llmrt::makeCachedSequences(*refSession);
    } else {
      llmrt::Expected<std::unique_ptr<llmrt::SequenceSet>> recomputed =
          llmrt::makeRecomputedSequences(**refModel);
      if (!recomputed)
        return fail("--kl-reference: " + recomputed.error());
      refSequences = std::move(*recomputed);
    }
    return runPerplexity(*sequences, textIds, ctx, stride, vocab,
                         refSequences.get());
  }
  if (maxNewTokens == 0) {
    // Logits (or hidden states) of each prompt, by one forward pass each,
    // one prompt's rows after another's.
    const int64_t length = static_cast<int64_t>(prompts[0].tokens.size());
    int64_t width = encoder ? info.hiddenSize : vocab;
    std::vector<float> rows(prompts.size() * length * width);
    start = Clock::now();
    for (size_t i = 0; i < prompts.size(); ++i) {
      llmrt::Expected<int64_t> seq =
          sequences->start(prompts[i].tokens, prompts[i].encoderTokens,
                           rows.data() + i * length * width);
      if (!seq)
        return fail(seq.error());
      sequences->release(*seq);
    }
    double seconds = secondsSince(start);
    if (prompts.size() == 1)
      notes() << llvm::formatv("forward over {0} tokens: {1:f3} s\n",
                               forwardLength, seconds);
    else
      notes() << llvm::formatv(
          "forward over {0} prompts of {1} tokens: {2:f3} s ({3:f1} "
          "tokens/s)\n",
          prompts.size(), forwardLength, seconds,
          prompts.size() * forwardLength / std::max(seconds, 1e-9));
    if (!dumpLogits.empty() || !dumpHidden.empty())
      if (llvm::Error err =
              writeNpy(encoder ? dumpHidden : dumpLogits, rows.data(),
                       static_cast<int64_t>(prompts.size()) * length, width))
        return fail(llvm::toString(std::move(err)));
    return 0;
  }
  std::optional<CompletionStream> completion;
  if (generateText) {
    completion.emplace(*tokenizer, std::vector<std::string>(stopStrings.begin(),
                                                            stopStrings.end()));
    std::vector<int32_t> promptIds(prompts[0].tokens.begin(),
                                   prompts[0].tokens.end());
    llmrt::Status primed = completion->prime(promptIds);
    if (!primed.isOk())
      return fail(primed.message());
    if (echo)
      writeOut(promptText);
    params.onToken = [&](size_t, int64_t token) {
      return completion->push(token);
    };
  }
  llmrt::Expected<llmrt::GenerationResult> result =
      numBeams > 1 ? llmrt::beamSearch(*sequences, prompts[0], params, vocab)
                   : llmrt::generate(*sequences, prompts, params, vocab);
  if (!result)
    return fail(result.error());
  if (completion) {
    if (numBeams > 1)
      for (int64_t token : result->tokens[0])
        if (!completion->push(token))
          break;
    completion->finish();
    if (!completion->status.isOk())
      return fail(completion->status.message());
    if (::isatty(STDOUT_FILENO))
      writeOut("\n");
    if (bench) {
      const llmrt::GenerationResult &r = *result;
      llvm::errs() << llvm::formatv(
          "bench: load {7:f3} s, compile {0:f3} s; time to first token "
          "{1:f1} ms; prefill {2} tokens, {3:f1} tokens/s; decode {4} "
          "tokens, {5:f1} tokens/s; peak RSS {6:f1} MB\n",
          compileSeconds, r.firstTokenSeconds * 1e3, r.prefillTokens,
          r.prefillTokens / std::max(r.prefillSeconds, 1e-9), r.decodeTokens,
          r.decodeTokens / std::max(r.decodeSeconds, 1e-9), peakRssMB(),
          loadSeconds);
    }
  }
  if (!cached)
    notes() << llvm::formatv("forward over {0} tokens: {1:f3} s\n",
                             forwardLength, result->prefillSeconds);
  if (!dumpLogits.empty())
    if (llvm::Error err = writeNpy(dumpLogits, result->promptLogits.data(),
                                   prompts[0].tokens.size(), vocab))
      return fail(llvm::toString(std::move(err)));
  return report(*result, cached, params.sampler, vocab);
}
