//===- llm-bench.cpp - Compile time, prefill and decode throughput --------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// llm-bench [--threads N] [--runs N] [--seq N] [--dtype f32|bf16]
//           [--model-dir DIR] [--keep] [--decode-runs N] [--compile-runs N]
//           [--kernels-only] [--attention-seq N,N,...]
//
// Generates a ~125M-parameter LLaMA-shaped model with random weights (GQA,
// untied lm_head) as a Hugging Face folder, unless one is already there, then
// measures in one run:
//   - compile time (import + lower + JIT) for the prefill and decode shapes;
//   - prefill throughput over --seq tokens;
//   - decode-step throughput (one token);
//   - each GEMM shape of the model at m = --seq and causal attention prefill
//     at 512, 2048 and 8192 tokens, in GFLOP/s against the FMA peak measured
//     in the same run (--kernels-only: this alone);
//   - the machine's memory read bandwidth, in passes between the decode steps
//     (every kernel thread streams its share of a buffer far larger than the
//     last-level cache), and the decode efficiency: the fraction of that
//     bandwidth that streaming the weights of one step achieves.
// Prints a table, then one JSON line with every number. Timings on a shared
// machine drift: the run reports how busy other processes kept the cores.
//
//===----------------------------------------------------------------------===//

#include "llm/Import/HFImporter.h"
#include "llm/JIT/JIT.h"
#include "llm/Pipelines/Pipelines.h"
#include "llm/Support/RuntimeError.h"
#include "llm/dialects/LLM/IR/LLMDialect.h"
#include "llm/passes/Passes.h"

#include "KVCache.h"
#include "Kernels.h"
#include "Layout.h"
#include "Model.h"
#include "Quant.h"
#include "SafeTensors.h"
#include "Session.h"
#include "Simd.h"

#include "llm/dialects/LLM/IR/LLMOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Support/xxhash.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#define LLM_BENCH_X86 1
#endif

using namespace mlir;
using namespace mlir::llm;
using llmrt::DType;
using llmrt::TensorInfo;
using llmrt::TensorToWrite;

namespace cl = llvm::cl;

static cl::OptionCategory category("llm-bench options");
// libLLVM registers a `threads` option of its own, so --threads is taken out
// of the command line before LLVM parses the rest (see extractThreads).
static cl::extrahelp
    threadsHelp("  --threads=<int>       - Threads for the kernels and the "
                "bandwidth test (default 0: one per core)\n");
static cl::opt<int> runs("runs",
                         cl::desc("Timed prefill runs, after one warm-up"),
                         cl::init(5), cl::cat(category));
static cl::opt<int>
    decodeRuns("decode-runs",
               cl::desc("Timed decode steps, after a few warm-up steps"),
               cl::init(64), cl::cat(category));
static cl::opt<int>
    compileRuns("compile-runs",
                cl::desc("Compiles of each shape (the median is reported)"),
                cl::init(5), cl::cat(category));
static cl::opt<int64_t> prefillLen("seq", cl::desc("Prefill length in tokens"),
                                   cl::init(512), cl::cat(category));
static cl::opt<std::string>
    dtypeName("dtype",
              cl::desc("Weight storage of the generated model: f32 or bf16 "
                       "(default f32; a reused model keeps its own)"),
              cl::init("f32"), cl::cat(category));
static cl::opt<std::string> quantizeName(
    "quantize",
    cl::desc("Quantize the projections (not the LM head) when compiling: "
             "int8, int4 or w8a8 (llm-quantize, round to nearest); "
             "bytes/token then counts the quantized weights"),
    cl::init(""), cl::cat(category));
static cl::opt<int64_t>
    quantizeGroup("group-size",
                  cl::desc("With --quantize: input features per scale "
                           "(default 32; 0: per output row)"),
                  cl::init(32), cl::cat(category));
static cl::opt<std::string> quantizeSkip(
    "quantize-skip",
    cl::desc("With --quantize: comma-separated parameter-name patterns kept "
             "in float (default lm_head; empty: quantize the LM head too)"),
    cl::init("lm_head"), cl::cat(category));
static cl::opt<std::string> modelDirOpt(
    "model-dir",
    cl::desc("Model folder: reused if it holds a model, else generated there "
             "and kept (default: a folder in the system temp directory, "
             "removed at exit unless --keep)"),
    cl::cat(category));
static cl::opt<bool>
    keep("keep", cl::desc("Keep the generated model (a later run reuses it)"),
         cl::init(false), cl::cat(category));
static cl::opt<int> bandwidthMiB(
    "bandwidth-mib",
    cl::desc("Buffer of the read-bandwidth test in MiB (at least 1024)"),
    cl::init(1024), cl::cat(category));

static cl::opt<bool> kernelsOnly(
    "kernels-only",
    cl::desc("Measure the kernels alone (each GEMM shape of the model and "
             "attention prefill against the FMA peak), not the model"),
    cl::init(false), cl::cat(category));
static cl::list<int64_t> attentionSeqs(
    "attention-seq", cl::CommaSeparated,
    cl::desc("Sequence lengths of the attention prefill measurement "
             "(default 512,2048,8192)"),
    cl::cat(category));

static int fail(const llvm::Twine &message) {
  llvm::errs() << "llm-bench: error: " << message << "\n";
  return 1;
}

/// Removes `--threads N`, `--threads=N` (or with one dash) from `args` and
/// returns N (0 when absent).
static llvm::Expected<int> extractThreads(std::vector<const char *> &args) {
  int threads = 0;
  std::vector<const char *> rest;
  for (size_t i = 0; i < args.size(); ++i) {
    llvm::StringRef flag = args[i];
    if (i == 0 || (!flag.consume_front("--") && !flag.consume_front("-"))) {
      rest.push_back(args[i]);
      continue;
    }
    llvm::StringRef value;
    if (flag == "threads") {
      if (i + 1 == args.size())
        return llvm::createStringError("--threads: expected a value");
      value = args[++i];
    } else if (flag.consume_front("threads=")) {
      value = flag;
    } else {
      rest.push_back(args[i]);
      continue;
    }
    if (value.getAsInteger(10, threads) || threads < 0)
      return llvm::createStringError(llvm::formatv(
          "--threads: expected an integer >= 0, found '{0}'", value));
  }
  args = std::move(rest);
  return threads;
}

static llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

namespace {
using Clock = std::chrono::steady_clock;
double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double median(std::vector<double> values) {
  if (values.empty())
    return 0;
  std::sort(values.begin(), values.end());
  size_t mid = values.size() / 2;
  return values.size() % 2 ? values[mid]
                           : 0.5 * (values[mid - 1] + values[mid]);
}

/// Shape of the generated model: LLaMA with grouped-query attention.
struct ModelShape {
  int64_t vocab = 32000;
  int64_t hidden = 768;
  int64_t layers = 12;
  int64_t heads = 12;
  int64_t kvHeads = 4;
  int64_t intermediate = 2048;
  int64_t maxPositions = 2048;
  double rmsNormEps = 1e-5;
  double ropeTheta = 10000.0;
  /// head_dim, when config.json sets one.
  int64_t headDimension = 0;
  int64_t headDim() const {
    return headDimension ? headDimension : hidden / heads;
  }
};

//===----------------------------------------------------------------------===//
// Model generation
//===----------------------------------------------------------------------===//

uint64_t splitMix64(uint64_t &state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/// Round to nearest even; the values generated here are finite.
uint16_t toBF16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  bits += 0x7fff + ((bits >> 16) & 1);
  return static_cast<uint16_t>(bits >> 16);
}

/// One tensor of the generated model: uniform in [-range, range], or all
/// `range` when `constant` (norm weights).
struct GeneratedTensor {
  std::string name;
  llvm::SmallVector<int64_t> shape;
  float range = 0;
  bool constant = false;
  std::vector<uint8_t> bytes;

  int64_t numElements() const {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    return n;
  }

  void generate(DType dtype) {
    int64_t n = numElements();
    size_t size = getDTypeSize(dtype);
    bytes.resize(n * size);
    uint64_t state = llvm::xxh3_64bits(name);
    for (int64_t i = 0; i < n; i += 2) {
      // Two values of 24 random bits per draw.
      uint64_t bits = constant ? 0 : splitMix64(state);
      for (int64_t j = i; j < std::min(n, i + 2); ++j, bits >>= 32) {
        float value = range;
        if (!constant)
          value *= static_cast<float>(bits & 0xffffffu) * (2.0f / 16777216.0f) -
                   1.0f;
        if (dtype == DType::BF16) {
          uint16_t b = toBF16(value);
          std::memcpy(bytes.data() + j * size, &b, size);
        } else {
          std::memcpy(bytes.data() + j * size, &value, size);
        }
      }
    }
  }
};

std::vector<GeneratedTensor> describeModel(const ModelShape &s) {
  // Uniform(-a, a) with standard deviation 0.02, as Hugging Face initializes.
  const float range = 0.02f * std::sqrt(3.0f);
  std::vector<GeneratedTensor> tensors;
  auto add = [&](std::string name, llvm::SmallVector<int64_t> shape,
                 bool norm) {
    GeneratedTensor t;
    t.name = std::move(name);
    t.shape = std::move(shape);
    t.constant = norm;
    t.range = norm ? 1.0f : range;
    tensors.push_back(std::move(t));
  };
  int64_t kvDim = s.kvHeads * s.headDim();
  add("model.embed_tokens.weight", {s.vocab, s.hidden}, false);
  for (int64_t i = 0; i < s.layers; ++i) {
    std::string p = llvm::formatv("model.layers.{0}.", i).str();
    add(p + "input_layernorm.weight", {s.hidden}, true);
    add(p + "self_attn.q_proj.weight", {s.heads * s.headDim(), s.hidden},
        false);
    add(p + "self_attn.k_proj.weight", {kvDim, s.hidden}, false);
    add(p + "self_attn.v_proj.weight", {kvDim, s.hidden}, false);
    add(p + "self_attn.o_proj.weight", {s.hidden, s.heads * s.headDim()},
        false);
    add(p + "post_attention_layernorm.weight", {s.hidden}, true);
    add(p + "mlp.gate_proj.weight", {s.intermediate, s.hidden}, false);
    add(p + "mlp.up_proj.weight", {s.intermediate, s.hidden}, false);
    add(p + "mlp.down_proj.weight", {s.hidden, s.intermediate}, false);
  }
  add("model.norm.weight", {s.hidden}, true);
  add("lm_head.weight", {s.vocab, s.hidden}, false);
  return tensors;
}

llvm::Error writeConfig(llvm::StringRef path, const ModelShape &s,
                        DType dtype) {
  llvm::Error e = llvm::writeToOutput(path, [&](llvm::raw_ostream &os) {
    llvm::json::OStream j(os, 2);
    j.object([&] {
      j.attributeArray("architectures", [&] { j.value("LlamaForCausalLM"); });
      j.attribute("model_type", "llama");
      j.attribute("vocab_size", s.vocab);
      j.attribute("hidden_size", s.hidden);
      j.attribute("intermediate_size", s.intermediate);
      j.attribute("num_hidden_layers", s.layers);
      j.attribute("num_attention_heads", s.heads);
      j.attribute("num_key_value_heads", s.kvHeads);
      j.attribute("hidden_act", "silu");
      j.attribute("max_position_embeddings", s.maxPositions);
      j.attribute("rms_norm_eps", s.rmsNormEps);
      j.attribute("rope_theta", s.ropeTheta);
      j.attribute("tie_word_embeddings", false);
      j.attribute("bos_token_id", 1);
      j.attribute("eos_token_id", 2);
      j.attribute("torch_dtype", dtype == DType::BF16 ? "bfloat16" : "float32");
    });
    os << "\n";
    return llvm::Error::success();
  });
  if (e)
    return makeError(llvm::formatv("{0}: cannot write: {1}", path,
                                   llvm::toString(std::move(e))));
  return llvm::Error::success();
}

/// Writes model.safetensors, then config.json: a folder with config.json
/// holds a complete model (each file is written to a temporary and renamed).
llvm::Error generateModel(llvm::StringRef dir, const ModelShape &shape,
                          DType dtype, int threads) {
  if (std::error_code ec = llvm::sys::fs::create_directories(dir))
    return makeError(llvm::formatv("{0}: cannot create the model folder: {1}",
                                   dir, ec.message()));
  std::vector<GeneratedTensor> tensors = describeModel(shape);
  // Tensors are independent and seeded by name: generate them in parallel.
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i; (i = next.fetch_add(1)) < tensors.size();)
      tensors[i].generate(dtype);
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t)
    pool.emplace_back(worker);
  worker();
  for (std::thread &t : pool)
    t.join();

  std::vector<TensorToWrite> toWrite;
  for (const GeneratedTensor &t : tensors)
    toWrite.push_back({t.name, dtype,
                       std::vector<int64_t>(t.shape.begin(), t.shape.end()),
                       t.bytes});
  llvm::SmallString<256> weights(dir);
  llvm::sys::path::append(weights, "model.safetensors");
  if (llvm::Error e = toLLVMError(llmrt::writeSafeTensors(
          weights.str(), toWrite,
          {{"format", "pt"}, {"generator", "llm-bench (random weights)"}})))
    return e;
  llvm::SmallString<256> config(dir);
  llvm::sys::path::append(config, "config.json");
  return writeConfig(config, shape, dtype);
}

/// The shape fields of a LLaMA-family config.json (the importer has
/// validated them by the time they are used for FLOP counts).
llvm::Expected<ModelShape> readShape(llvm::StringRef dir) {
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, "config.json");
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
      llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    return makeError(llvm::formatv("{0}: cannot read: {1}", path,
                                   buffer.getError().message()));
  llvm::Expected<llvm::json::Value> json =
      llvm::json::parse((*buffer)->getBuffer());
  if (!json)
    return makeError(
        llvm::formatv("{0}: {1}", path, llvm::toString(json.takeError())));
  const llvm::json::Object *config = json->getAsObject();
  if (!config)
    return makeError(llvm::formatv("{0}: expected a JSON object", path));
  ModelShape shape;
  auto get = [&](llvm::StringRef key, int64_t &field) {
    if (std::optional<int64_t> v = config->getInteger(key))
      field = *v;
  };
  get("vocab_size", shape.vocab);
  get("hidden_size", shape.hidden);
  get("num_hidden_layers", shape.layers);
  get("num_attention_heads", shape.heads);
  shape.kvHeads = shape.heads;
  get("num_key_value_heads", shape.kvHeads);
  get("intermediate_size", shape.intermediate);
  get("max_position_embeddings", shape.maxPositions);
  shape.headDimension = shape.heads ? shape.hidden / shape.heads : 0;
  get("head_dim", shape.headDimension);
  return shape;
}

bool holdsModel(llvm::StringRef dir) {
  llvm::SmallString<256> config(dir), weights(dir), index(dir);
  llvm::sys::path::append(config, "config.json");
  llvm::sys::path::append(weights, "model.safetensors");
  llvm::sys::path::append(index, "model.safetensors.index.json");
  return llvm::sys::fs::exists(config) &&
         (llvm::sys::fs::exists(weights) || llvm::sys::fs::exists(index));
}

//===----------------------------------------------------------------------===//
// Weight accounting
//===----------------------------------------------------------------------===//

/// --quantize as bits: 8, 4, or 0 for none.
int quantizeBits() {
  return quantizeName == "int8" || quantizeName == "w8a8" ? 8
         : quantizeName == "int4"                         ? 4
                                                          : 0;
}

/// The options of every compilation of this run.
void setQuantization(JITOptions &options) {
  options.quantizeBits = quantizeBits();
  options.quantizeGroupSize = quantizeGroup;
  options.quantizeSkip = quantizeSkip;
  options.quantizeActivations = quantizeName == "w8a8";
}

struct WeightStats {
  uint64_t params = 0;
  uint64_t bytes = 0;
  /// What one decode step reads: every linear weight (lm_head included) and
  /// one embedding row. Norm weights (a few KB) are left out.
  uint64_t linearBytes = 0;
  uint64_t linearParams = 0;
  uint64_t lmHeadBytes = 0;
  uint64_t lmHeadParams = 0;
  uint64_t embeddingRowBytes = 0;
  bool tied = false;
  DType linearDtype = DType::F32;

  uint64_t bytesPerToken() const {
    return linearBytes + lmHeadBytes + embeddingRowBytes;
  }
};

llvm::Expected<WeightStats> countWeights(const SafeTensorsArchive &archive) {
  WeightStats stats;
  const TensorInfo *embedding = nullptr, *lmHead = nullptr;
  bool sawLinear = false;
  for (const TensorInfo *t : archive.tensors()) {
    stats.params += t->getNumElements();
    stats.bytes += t->numBytes;
    llvm::StringRef name = t->name;
    if (name == "model.embed_tokens.weight")
      embedding = t;
    else if (name == "lm_head.weight")
      lmHead = t;
    else if (t->shape.size() == 2 && name.ends_with(".weight")) {
      // A quantized weight is read in its packed layout (Quant.h).
      stats.linearBytes +=
          quantizeBits()
              ? static_cast<uint64_t>(llmk::quantPackedBytes(
                    t->shape[0], t->shape[1], quantizeBits(), quantizeGroup))
              : t->numBytes;
      stats.linearParams += t->getNumElements();
      if (!sawLinear)
        stats.linearDtype = t->dtype;
      sawLinear = true;
    }
  }
  if (!embedding || embedding->shape.size() != 2 || !sawLinear)
    return makeError(llvm::formatv(
        "{0}: expected a LLaMA-family checkpoint (model.embed_tokens.weight "
        "and linear layers)",
        archive.directory()));
  stats.tied = !lmHead;
  const TensorInfo *head = lmHead ? lmHead : embedding;
  // Quantized too unless a --quantize-skip pattern names it (a tied head
  // is the embedding table, which stays in float).
  bool headQuantized =
      quantizeBits() && lmHead &&
      llvm::none_of(
          llvm::split(quantizeSkip.getValue(), ','),
          [](llvm::StringRef pattern) {
            pattern = pattern.trim();
            return !pattern.empty() &&
                   llvm::StringRef("lm_head.weight").contains(pattern);
          });
  stats.lmHeadBytes =
      headQuantized
          ? static_cast<uint64_t>(llmk::quantPackedBytes(
                head->shape[0], head->shape[1], quantizeBits(), quantizeGroup))
          : head->numBytes;
  stats.lmHeadParams = head->getNumElements();
  stats.embeddingRowBytes = embedding->numBytes / embedding->shape[0];
  return stats;
}

//===----------------------------------------------------------------------===//
// Memory read bandwidth
//===----------------------------------------------------------------------===//

// The read kernels sum a slice as kStreams contiguous parts read in
// lockstep: several concurrent streams per core, as the GEMV reads several
// weight rows at once, reach a bandwidth one stream per core does not.
constexpr size_t kStreams = 4;

float sumScalar(const float *p, size_t n) {
  float acc[8] = {};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j)
      acc[j] += p[i + j];
  for (; i < n; ++i)
    acc[0] += p[i];
  float sum = 0;
  for (float a : acc)
    sum += a;
  return sum;
}

float sumStreamsScalar(const float *p, size_t n) {
  size_t part = n / kStreams / 16 * 16;
  float acc[kStreams][8] = {};
  for (size_t i = 0; i < part; i += 8)
    for (size_t s = 0; s < kStreams; ++s)
      for (int j = 0; j < 8; ++j)
        acc[s][j] += p[s * part + i + j];
  float sum = sumScalar(p + kStreams * part, n - kStreams * part);
  for (auto &row : acc)
    sum += sumScalar(row, 8);
  return sum;
}

#ifdef LLM_BENCH_X86
__attribute__((target("avx2"))) float sumStreamsAvx2(const float *p, size_t n) {
  size_t part = n / kStreams / 16 * 16;
  __m256 acc[kStreams][2];
  for (auto &row : acc)
    row[0] = row[1] = _mm256_setzero_ps();
  for (size_t i = 0; i < part; i += 16)
    for (size_t s = 0; s < kStreams; ++s) {
      const float *q = p + s * part + i;
      acc[s][0] = _mm256_add_ps(acc[s][0], _mm256_loadu_ps(q));
      acc[s][1] = _mm256_add_ps(acc[s][1], _mm256_loadu_ps(q + 8));
    }
  float sum = sumScalar(p + kStreams * part, n - kStreams * part);
  for (auto &row : acc) {
    float lanes[8];
    _mm256_storeu_ps(lanes, _mm256_add_ps(row[0], row[1]));
    sum += sumScalar(lanes, 8);
  }
  return sum;
}

__attribute__((target("avx512f"))) float sumStreamsAvx512(const float *p,
                                                          size_t n) {
  size_t part = n / kStreams / 32 * 32;
  __m512 acc[kStreams][2];
  for (auto &row : acc)
    row[0] = row[1] = _mm512_setzero_ps();
  for (size_t i = 0; i < part; i += 32)
    for (size_t s = 0; s < kStreams; ++s) {
      const float *q = p + s * part + i;
      acc[s][0] = _mm512_add_ps(acc[s][0], _mm512_loadu_ps(q));
      acc[s][1] = _mm512_add_ps(acc[s][1], _mm512_loadu_ps(q + 16));
    }
  float sum = sumScalar(p + kStreams * part, n - kStreams * part);
  for (auto &row : acc)
    sum += _mm512_reduce_add_ps(_mm512_add_ps(row[0], row[1]));
  return sum;
}
#endif

using SumFn = float (*)(const float *, size_t);

SumFn pickSum(const char **isa) {
#ifdef LLM_BENCH_X86
  if (__builtin_cpu_supports("avx512f")) {
    *isa = "avx512";
    return sumStreamsAvx512;
  }
  if (__builtin_cpu_supports("avx2")) {
    *isa = "avx2";
    return sumStreamsAvx2;
  }
#endif
  *isa = "scalar";
  return sumStreamsScalar;
}

/// Runs fn(t) on `threads` threads (t = 0 on the caller) and waits.
template <typename Fn> void onThreads(int threads, Fn fn) {
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t)
    pool.emplace_back(fn, t);
  fn(0);
  for (std::thread &t : pool)
    t.join();
}

/// Read bandwidth: every thread sums its slice of a buffer far larger than
/// the caches. The buffer is first-touched by the same split, so pages sit
/// near their reader.
class BandwidthMeter {
public:
  BandwidthMeter(int threads, size_t bytes)
      : threads(threads), count(bytes / sizeof(float)),
        buffer(new float[count]), partial(threads * 16) {
    sum = pickSum(&isa);
    onThreads(threads, [&](int t) {
      auto [begin, end] = slice(t);
      std::fill(buffer.get() + begin, buffer.get() + end, 1.0f);
    });
  }

  /// One pass over the buffer; its rate is recorded unless `warmUp`.
  void pass(bool warmUp = false) {
    auto start = Clock::now();
    onThreads(threads, [&](int t) {
      auto [begin, end] = slice(t);
      partial[t * 16] = sum(buffer.get() + begin, end - begin);
    });
    double seconds = secondsSince(start);
    for (int t = 0; t < threads; ++t)
      sink += partial[t * 16];
    if (!warmUp)
      rates.push_back(bytes() / seconds / 1e9);
  }

  size_t bytes() const { return count * sizeof(float); }
  const char *isa = "";
  std::vector<double> rates;
  /// Keeps the sums observable.
  double sink = 0;

private:
  std::pair<size_t, size_t> slice(int t) const {
    size_t per = (count / threads + 15) / 16 * 16;
    size_t begin = std::min(count, per * t);
    return {begin, std::min(count, begin + per)};
  }

  int threads;
  size_t count;
  std::unique_ptr<float[]> buffer;
  std::vector<float> partial;
  SumFn sum;
};

/// CPU seconds used by every process (from /proc/stat, hypervisor steal
/// included) and by this one: others' share tells whether the timings ran on
/// a quiet machine.
struct CpuSnapshot {
  double all = -1, own = 0;
  Clock::time_point when = Clock::now();
};

CpuSnapshot takeCpuSnapshot() {
  CpuSnapshot snapshot;
  struct rusage usage;
  if (getrusage(RUSAGE_SELF, &usage) == 0)
    snapshot.own = usage.ru_utime.tv_sec + usage.ru_utime.tv_usec * 1e-6 +
                   usage.ru_stime.tv_sec + usage.ru_stime.tv_usec * 1e-6;
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> stat =
      llvm::MemoryBuffer::getFileAsStream("/proc/stat");
  long ticksPerSecond = sysconf(_SC_CLK_TCK);
  if (!stat || ticksPerSecond <= 0)
    return snapshot;
  llvm::StringRef line = (*stat)->getBuffer().split('\n').first;
  if (!line.consume_front("cpu "))
    return snapshot;
  llvm::SmallVector<llvm::StringRef> fields;
  line.split(fields, ' ', -1, /*KeepEmpty=*/false);
  // user nice system idle iowait irq softirq steal: all but idle and iowait.
  double busy = 0;
  for (size_t i = 0; i < fields.size() && i < 8; ++i) {
    uint64_t ticks;
    if (fields[i].getAsInteger(10, ticks))
      return snapshot;
    if (i != 3 && i != 4)
      busy += ticks;
  }
  snapshot.all = busy / ticksPerSecond;
  return snapshot;
}

/// Average number of cores that other processes kept busy since `start`, or
/// -1 when unknown.
double otherCoresBusy(const CpuSnapshot &start, const CpuSnapshot &end) {
  double wall = std::chrono::duration<double>(end.when - start.when).count();
  if (start.all < 0 || end.all < 0 || wall <= 0)
    return -1;
  return std::max(0.0, (end.all - start.all) - (end.own - start.own)) / wall;
}

//===----------------------------------------------------------------------===//
// Kernels against the FMA peak
//===----------------------------------------------------------------------===//

/// GFLOP/s of one thread running independent FMA chains (enough to cover the
/// latency on two FMA ports) for about `iterations` x 12 vector FMAs.
#ifdef LLM_BENCH_X86
__attribute__((target("avx512f"))) double fmaPeakAvx512(long iterations) {
  __m512 a0 = _mm512_set1_ps(0.1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0,
         a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
  const __m512 b = _mm512_set1_ps(0.9999f), c = _mm512_set1_ps(1e-4f);
  auto start = Clock::now();
  for (long i = 0; i < iterations; ++i) {
    // The empty asm keeps each chain in its register and every FMA alive.
#define LLM_BENCH_FMA(x)                                                       \
  do {                                                                         \
    x = _mm512_fmadd_ps(x, b, c);                                              \
    __asm__ volatile("" : "+v"(x));                                            \
  } while (0)
    LLM_BENCH_FMA(a0);
    LLM_BENCH_FMA(a1);
    LLM_BENCH_FMA(a2);
    LLM_BENCH_FMA(a3);
    LLM_BENCH_FMA(a4);
    LLM_BENCH_FMA(a5);
    LLM_BENCH_FMA(a6);
    LLM_BENCH_FMA(a7);
    LLM_BENCH_FMA(a8);
    LLM_BENCH_FMA(a9);
    LLM_BENCH_FMA(a10);
    LLM_BENCH_FMA(a11);
#undef LLM_BENCH_FMA
  }
  double seconds = secondsSince(start);
  __m512 sum = _mm512_add_ps(
      _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
      _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
  sum = _mm512_add_ps(
      sum, _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)));
  volatile float sink = _mm512_reduce_add_ps(sum);
  (void)sink;
  return iterations * 12.0 * 32 / seconds / 1e9;
}

__attribute__((target("avx2,fma"))) double fmaPeakAvx2(long iterations) {
  __m256 a0 = _mm256_set1_ps(0.1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0,
         a6 = a0, a7 = a0, a8 = a0, a9 = a0;
  const __m256 b = _mm256_set1_ps(0.9999f), c = _mm256_set1_ps(1e-4f);
  auto start = Clock::now();
  for (long i = 0; i < iterations; ++i) {
#define LLM_BENCH_FMA(x)                                                       \
  do {                                                                         \
    x = _mm256_fmadd_ps(x, b, c);                                              \
    __asm__ volatile("" : "+x"(x));                                            \
  } while (0)
    LLM_BENCH_FMA(a0);
    LLM_BENCH_FMA(a1);
    LLM_BENCH_FMA(a2);
    LLM_BENCH_FMA(a3);
    LLM_BENCH_FMA(a4);
    LLM_BENCH_FMA(a5);
    LLM_BENCH_FMA(a6);
    LLM_BENCH_FMA(a7);
    LLM_BENCH_FMA(a8);
    LLM_BENCH_FMA(a9);
#undef LLM_BENCH_FMA
  }
  double seconds = secondsSince(start);
  float lanes[8];
  _mm256_storeu_ps(lanes,
                   _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a8, a9)));
  volatile float sink = lanes[0] + lanes[7];
  (void)sink;
  (void)a2, (void)a3, (void)a4, (void)a5, (void)a6, (void)a7;
  return iterations * 10.0 * 16 / seconds / 1e9;
}

/// The peak of the bf16 dot product (vdpbf16ps: 16 lanes x 2 products, 64
/// flops), over 12 independent accumulator chains as fmaPeakAvx512.
__attribute__((target("avx512f,avx512bf16"))) double
dotPeakAvx512Bf16(long iterations) {
  __m512 a0 = _mm512_set1_ps(0.1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0,
         a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
  const __m512bh b = (__m512bh)_mm512_set1_epi16(0x3c00),
                 c = (__m512bh)_mm512_set1_epi16(0x3c00);
  auto start = Clock::now();
  for (long i = 0; i < iterations; ++i) {
#define LLM_BENCH_DOT(x)                                                       \
  do {                                                                         \
    x = _mm512_dpbf16_ps(x, b, c);                                             \
    __asm__ volatile("" : "+v"(x));                                            \
  } while (0)
    LLM_BENCH_DOT(a0);
    LLM_BENCH_DOT(a1);
    LLM_BENCH_DOT(a2);
    LLM_BENCH_DOT(a3);
    LLM_BENCH_DOT(a4);
    LLM_BENCH_DOT(a5);
    LLM_BENCH_DOT(a6);
    LLM_BENCH_DOT(a7);
    LLM_BENCH_DOT(a8);
    LLM_BENCH_DOT(a9);
    LLM_BENCH_DOT(a10);
    LLM_BENCH_DOT(a11);
#undef LLM_BENCH_DOT
  }
  double seconds = secondsSince(start);
  __m512 sum = _mm512_add_ps(
      _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
      _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
  sum = _mm512_add_ps(
      sum, _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)));
  volatile float sink = _mm512_reduce_add_ps(sum);
  (void)sink;
  return iterations * 12.0 * 64 / seconds / 1e9;
}
#endif

/// The FMA peak of `threads` threads at once (GFLOP/s, summed), on the
/// instruction set the kernels use; 0 for the portable kernels. With
/// `bf16Dot`, the peak of the bf16 dot product instead (0 where the kernels
/// do not use it). The threads start together (a spin barrier) and each
/// runs ~0.1 s, so that they overlap; each reports its own rate.
double measureFmaPeak(int threads, bool bf16Dot = false) {
  std::vector<double> rates(threads, 0.0);
  std::atomic<int> ready{0};
  onThreads(threads, [&](int t) {
    ready.fetch_add(1);
    while (ready.load() < threads) {
    }
#ifdef LLM_BENCH_X86
    switch (llmk::getSimdKernels().isa) {
    case llmk::Isa::Avx512Bf16:
      rates[t] =
          bf16Dot ? dotPeakAvx512Bf16(10000000) : fmaPeakAvx512(20000000);
      return;
    case llmk::Isa::Avx512:
      if (!bf16Dot)
        rates[t] = fmaPeakAvx512(20000000);
      return;
    case llmk::Isa::Avx2:
      if (!bf16Dot)
        rates[t] = fmaPeakAvx2(20000000);
      return;
    case llmk::Isa::Scalar:
      return;
    }
#endif
  });
  double total = 0;
  for (double r : rates)
    total += r;
  return total;
}

/// One measured kernel shape.
struct KernelResult {
  std::string name;
  int64_t m = 0, k = 0, n = 0;
  double gflops = 0;
  /// Of the FMA peak measured around it.
  double fraction = 0;
};

struct KernelResults {
  double peak = 0;
  /// The bf16 dot-product peak, which the GEMMs of bf16 weights are
  /// measured against where the kernels use it; 0 elsewhere.
  double dotPeak = 0;
  std::vector<KernelResult> gemms, attention;
};

/// Each distinct projection shape of the model at m = seq rows (weights in
/// `dtype`, in the panels the compiler packs them in), and causal attention
/// prefill at each of `seqs`, against the FMA peak measured between them.
KernelResults benchKernels(const ModelShape &s, DType dtype, int threads,
                           int64_t seq, const std::vector<int64_t> &seqs) {
  KernelResults results;
  std::vector<double> peaks{measureFmaPeak(threads)};
  const int64_t hd = s.headDim();
  struct Shape {
    const char *name;
    int64_t k, n;
  };
  std::vector<Shape> shapes = {{"q_proj", s.hidden, s.heads * hd},
                               {"k_proj/v_proj", s.hidden, s.kvHeads * hd},
                               {"o_proj", s.heads * hd, s.hidden},
                               {"gate_proj/up_proj", s.hidden, s.intermediate},
                               {"down_proj", s.intermediate, s.hidden},
                               {"lm_head", s.hidden, s.vocab}};
  int32_t llmkDtype = dtype == DType::BF16 ? LLMK_BF16 : LLMK_F32;
  int64_t es = dtype == DType::BF16 ? 2 : 4;
  uint64_t rng = 7;
  auto randomFloat = [&] {
    return static_cast<float>(splitMix64(rng) & 0xffffff) / 16777216.0f - 0.5f;
  };
  std::vector<float> x(seq * std::max(s.hidden, s.intermediate));
  for (float &v : x)
    v = randomFloat();
  for (const Shape &shape : shapes) {
    bool seen = false;
    for (const KernelResult &r : results.gemms)
      seen |= r.k == shape.k && r.n == shape.n;
    if (seen)
      continue;
    std::vector<uint8_t> w(shape.n * shape.k * es);
    for (int64_t i = 0; i < shape.n * shape.k; ++i) {
      float v = randomFloat() * 0.05f;
      if (es == 2) {
        uint16_t b = toBF16(v);
        std::memcpy(w.data() + i * 2, &b, 2);
      } else {
        std::memcpy(w.data() + i * 4, &v, 4);
      }
    }
    std::vector<uint8_t> panels(llmk::panelElements(shape.n, shape.k) * es +
                                64);
    auto *aligned = reinterpret_cast<uint8_t *>(
        (reinterpret_cast<uintptr_t>(panels.data()) + 63) & ~uintptr_t(63));
    llmk::packPanels(w.data(), es, shape.n, shape.k, aligned);
    std::vector<float> y(seq * shape.n);
    double flops = 2.0 * seq * shape.k * shape.n;
    auto run = [&] {
      llmk_linear(x.data(), aligned, llmkDtype, LLMK_LAYOUT_PANELS, nullptr,
                  y.data(), seq, shape.k, shape.n);
    };
    run();
    // Enough repetitions for ~0.3 s, at least 3.
    auto start = Clock::now();
    run();
    int reps =
        std::clamp<int>(0.3 / std::max(1e-6, secondsSince(start)), 3, 50);
    std::vector<double> times;
    for (int r = 0; r < reps; ++r) {
      auto t = Clock::now();
      run();
      times.push_back(secondsSince(t));
    }
    peaks.push_back(measureFmaPeak(threads));
    KernelResult result;
    result.name = shape.name;
    result.m = seq;
    result.k = shape.k;
    result.n = shape.n;
    result.gflops = flops / median(times) / 1e9;
    results.gemms.push_back(result);
  }
  // Causal attention over [seq, heads * hd] with the model's GQA.
  for (int64_t len : seqs) {
    std::vector<float> q(len * s.heads * hd), k(len * s.kvHeads * hd),
        v(len * s.kvHeads * hd), out(len * s.heads * hd);
    for (auto *buffer : {&q, &k, &v})
      for (float &value : *buffer)
        value = randomFloat();
    auto run = [&] {
      llmk_attention(q.data(), k.data(), v.data(), nullptr, nullptr, 0, 0,
                     nullptr, out.data(), 1, len, len, s.heads, s.kvHeads, hd,
                     hd, 1.0f / std::sqrt(float(hd)), LLMK_MASK_CAUSAL, 0);
    };
    run();
    auto start = Clock::now();
    run();
    int reps =
        std::clamp<int>(0.3 / std::max(1e-6, secondsSince(start)), 3, 20);
    std::vector<double> times;
    for (int r = 0; r < reps; ++r) {
      auto t = Clock::now();
      run();
      times.push_back(secondsSince(t));
    }
    peaks.push_back(measureFmaPeak(threads));
    // q·k and p·v over the len (len + 1) / 2 causal pairs of each head.
    double flops = 4.0 * s.heads * hd * len * (len + 1) / 2;
    KernelResult result;
    result.name = "attention";
    result.m = len;
    result.k = hd;
    result.n = s.heads;
    result.gflops = flops / median(times) / 1e9;
    results.attention.push_back(result);
  }
  results.peak = median(peaks);
  if (dtype == DType::BF16 && llmk::getSimdKernels().gemmPanelBf16)
    results.dotPeak = measureFmaPeak(threads, /*bf16Dot=*/true);
  for (KernelResult &r : results.gemms) {
    double peak = results.dotPeak > 0 ? results.dotPeak : results.peak;
    r.fraction = peak > 0 ? r.gflops / peak : 0;
  }
  for (KernelResult &r : results.attention)
    r.fraction = results.peak > 0 ? r.gflops / results.peak : 0;
  return results;
}

void printKernels(const KernelResults &results, llvm::StringRef dtype,
                  int threads) {
  llvm::outs() << llvm::formatv(
      "\nkernels against the FMA peak: {0:f1} GFLOP/s ({1} threads, {2}; "
      "median of the measurements between the kernels)\n",
      results.peak, threads, llmk::getSimdKernels().name);
  if (results.dotPeak > 0)
    llvm::outs() << llvm::formatv(
        "the GEMMs run on the bf16 dot product (vdpbf16ps): against its peak, "
        "{0:f1} GFLOP/s ({1:f2}x the FMA peak)\n",
        results.dotPeak, results.dotPeak / std::max(1e-9, results.peak));
  llvm::outs() << llvm::formatv("  {0,-20} {1,6} {2,6} {3,7} {4,10} {5,8}\n",
                                "GEMM (" + dtype.str() + " weights)", "m", "k",
                                "n", "GFLOP/s", "of peak");
  for (const KernelResult &r : results.gemms)
    llvm::outs() << llvm::formatv(
        "  {0,-20} {1,6} {2,6} {3,7} {4,10:f1} {5,7:f1}%\n", r.name, r.m, r.k,
        r.n, r.gflops, 100 * r.fraction);
  for (const KernelResult &r : results.attention)
    llvm::outs() << llvm::formatv(
        "  {0,-20} {1,6} tokens, head dim {2}, {3} heads: {4,7:f1} GFLOP/s "
        "{5,5:f1}%\n",
        "attention (causal)", r.m, r.k, r.n, r.gflops, 100 * r.fraction);
}

void writeKernelsJson(llvm::json::OStream &j, const KernelResults &results) {
  j.attributeObject("kernels", [&] {
    j.attribute("fma_peak_gflops", results.peak);
    if (results.dotPeak > 0)
      j.attribute("bf16_dot_peak_gflops", results.dotPeak);
    for (const auto &entry :
         {std::pair<const char *, const std::vector<KernelResult> *>{
              "gemm", &results.gemms},
          {"attention", &results.attention}})
      j.attributeArray(entry.first, [&] {
        for (const KernelResult &r : *entry.second)
          j.object([&] {
            j.attribute("name", r.name);
            j.attribute("m", r.m);
            j.attribute("k", r.k);
            j.attribute("n", r.n);
            j.attribute("gflops", r.gflops);
            j.attribute("fraction_of_peak", r.fraction);
          });
      });
  });
}

//===----------------------------------------------------------------------===//
// Compiling and running
//===----------------------------------------------------------------------===//

struct CompileTimes {
  double import = 0, lower = 0, jit = 0, total = 0;
  /// Total of the first compile (cold caches, one-time initialization).
  double first = 0;
};

/// A model compiled by the JIT library with its full-sequence entry point,
/// and buffers for its arguments and result.
struct Forward {
  std::unique_ptr<llmrt::Model> model;
  const llmrt::Entry *entry = nullptr;
  std::vector<std::vector<int64_t>> intArgs;
  std::vector<float> output;
  CompileTimes times;
};

llvm::Expected<Forward>
compile(MLIRContext &context, const HFModel &hfModel,
        std::shared_ptr<const SafeTensorsArchive> archive, int64_t seqLen) {
  Forward forward;
  auto start = Clock::now();
  JITOptions options;
  setQuantization(options);
  options.seqLen = seqLen;
  JITTimings timings;
  llvm::Expected<std::unique_ptr<llmrt::Model>> model =
      compileModel(context, hfModel, std::move(archive), options, &timings);
  if (!model)
    return model.takeError();
  forward.model = std::move(*model);
  forward.entry = forward.model->find("forward");
  if (!forward.entry || forward.entry->desc->results.size() != 1)
    return makeError("expected forward(ids, positions) -> logits");
  for (const llmrt::ArgDesc &arg : forward.entry->desc->args) {
    if (arg.tensor.dtype != llmrt::ElementType::I64)
      return makeError("expected forward(ids, positions) to take i64 tensors");
    forward.intArgs.emplace_back(arg.tensor.getNumElements(), 0);
  }
  forward.output.resize(forward.entry->desc->results[0].getNumElements());
  forward.times = {timings.import, timings.lower, timings.jit,
                   secondsSince(start)};
  return std::move(forward);
}

/// Compiles `runs` times; returns the last compile with the median times.
llvm::Expected<Forward>
compileMedian(MLIRContext &context, const HFModel &hfModel,
              std::shared_ptr<const SafeTensorsArchive> archive, int64_t seqLen,
              int runs) {
  std::vector<double> import, lower, jit, total;
  std::optional<Forward> last;
  for (int i = 0; i < runs; ++i) {
    last.reset(); // At most one copy of the packed weights at a time.
    llvm::Expected<Forward> forward =
        compile(context, hfModel, archive, seqLen);
    if (!forward)
      return makeError(llvm::formatv("compiling for {0} tokens failed: {1}",
                                     seqLen,
                                     llvm::toString(forward.takeError())));
    import.push_back(forward->times.import);
    lower.push_back(forward->times.lower);
    jit.push_back(forward->times.jit);
    total.push_back(forward->times.total);
    last = std::move(*forward);
  }
  last->times = {median(import), median(lower), median(jit), median(total),
                 total.front()};
  return std::move(*last);
}

/// Runs the forward pass once; returns its time in seconds.
llvm::Expected<double> timedRun(Forward &forward) {
  std::vector<void *> args;
  for (auto &buffer : forward.intArgs)
    args.push_back(buffer.data());
  void *result = forward.output.data();
  auto start = Clock::now();
  llmrt::Status status =
      forward.model->run(*forward.entry, args.data(), &result);
  double seconds = secondsSince(start);
  if (!status.isOk())
    return makeError(status.message());
  return seconds;
}

/// Warm-up runs (the first also checks that the logits are finite), then
/// `count` timed runs.
llvm::Expected<std::vector<double>> timeRuns(Forward &forward, int warmups,
                                             int count) {
  for (int i = 0; i < warmups; ++i) {
    llvm::Expected<double> t = timedRun(forward);
    if (!t)
      return t.takeError();
    if (i == 0)
      for (float v : forward.output)
        if (!std::isfinite(v))
          return makeError("the forward pass produced non-finite logits");
  }
  std::vector<double> times;
  for (int i = 0; i < count; ++i) {
    llvm::Expected<double> t = timedRun(forward);
    if (!t)
      return t.takeError();
    times.push_back(*t);
  }
  return times;
}

std::string formatBytes(double bytes) {
  if (bytes >= 1e9)
    return llvm::formatv("{0:f2} GB", bytes / 1e9);
  if (bytes >= 1e6)
    return llvm::formatv("{0:f1} MB", bytes / 1e6);
  if (bytes >= 1e3)
    return llvm::formatv("{0:f1} KB", bytes / 1e3);
  return llvm::formatv("{0} B", static_cast<uint64_t>(bytes));
}

std::string withCommas(uint64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0)
      out += ',';
    out += digits[i];
  }
  return out;
}

/// Decode over the paged KV cache at one context length.
struct CachedDecode {
  int64_t context = 0;
  double stepSeconds = 0; // median of the timed decode steps
  double prefillSeconds = 0;
  double kvBytesPerToken = 0;
};

/// Prefills `context` random tokens into a paged cache, then times `steps`
/// decode steps (one token each, attending over the whole context).
llvm::Expected<CachedDecode>
benchCachedDecode(MLIRContext &context, const HFModel &hfModel,
                  std::shared_ptr<const SafeTensorsArchive> archive,
                  int64_t contextLen, int64_t steps) {
  const HFModelInfo &info = hfModel.getInfo();
  JITOptions options;
  setQuantization(options);
  options.kvCache = true;
  options.promptLens = {contextLen};
  options.decodeBatch = 1;
  options.maxSeqLen = contextLen + steps + 8;
  llvm::Expected<std::unique_ptr<llmrt::Model>> model =
      compileModel(context, hfModel, std::move(archive), options);
  if (!model)
    return model.takeError();
  llmrt::Expected<std::unique_ptr<llmrt::Session>> session =
      llmrt::Session::create(**model);
  if (!session)
    return makeError((*model) ? session.error() : "no model");
  llmrt::Expected<int64_t> seq = (*session)->addSequence();
  if (!seq)
    return makeError(seq.error());
  uint64_t rng = 7;
  std::vector<int64_t> ids(contextLen);
  for (int64_t i = 0; i < contextLen; ++i)
    ids[i] = splitMix64(rng) % info.vocabSize;
  std::vector<float> logits(contextLen * info.vocabSize);
  CachedDecode result;
  result.context = contextLen;
  result.kvBytesPerToken =
      llmrt::getKVBytesPerToken((*session)->getCacheConfig());
  auto prefillStart = Clock::now();
  llmrt::Status status = (*session)->prefill(*seq, ids, logits.data());
  if (!status.isOk())
    return makeError(status.message());
  result.prefillSeconds = secondsSince(prefillStart);
  std::vector<double> times;
  for (int64_t step = 0; step < steps; ++step) {
    int64_t token = splitMix64(rng) % info.vocabSize;
    auto start = Clock::now();
    status = (*session)->decode({*seq}, {token}, logits.data());
    if (!status.isOk())
      return makeError(status.message());
    times.push_back(secondsSince(start));
  }
  // The first steps warm the caches of the decode function.
  times.erase(times.begin(), times.begin() + std::min<int64_t>(2, steps - 1));
  result.stepSeconds = median(times);
  return result;
}

/// Removes a generated temporary model folder at exit unless --keep.
struct ModelDirCleanup {
  std::string dir;
  ~ModelDirCleanup() {
    if (!dir.empty())
      llvm::sys::fs::remove_directories(dir, /*IgnoreErrors=*/true);
  }
};
} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  std::vector<const char *> args(argv, argv + argc);
  llvm::Expected<int> numThreads = extractThreads(args);
  if (!numThreads)
    return fail(llvm::toString(numThreads.takeError()));
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      args.size(), args.data(),
      "LLMC benchmark: compile time, prefill and decode throughput of a "
      "generated ~125M-parameter LLaMA-shaped model\n");
  auto benchStart = Clock::now();

  if (runs < 1 || decodeRuns < 1 || compileRuns < 1)
    return fail("--runs, --decode-runs and --compile-runs must be at least 1");
  if (prefillLen < 1)
    return fail(llvm::formatv("--seq: expected a value >= 1, found {0}",
                              prefillLen.getValue()));
  if (bandwidthMiB < 1024)
    return fail(llvm::formatv("--bandwidth-mib: expected at least 1024 (well "
                              "above the last-level cache), found {0}",
                              bandwidthMiB.getValue()));
  DType dtype;
  if (dtypeName == "f32")
    dtype = DType::F32;
  else if (dtypeName == "bf16")
    dtype = DType::BF16;
  else
    return fail(llvm::formatv("--dtype: expected f32 or bf16, found '{0}'",
                              dtypeName.getValue()));
  if (!quantizeName.empty() && !quantizeBits())
    return fail(
        llvm::formatv("--quantize: expected int8, int4 or w8a8, found '{0}'",
                      quantizeName.getValue()));
  if (quantizeBits() && (quantizeGroup < 0 || quantizeGroup % 32 != 0))
    return fail(llvm::formatv("--group-size: expected 0 or a multiple of 32, "
                              "found {0}",
                              quantizeGroup.getValue()));

  llmk_set_num_threads(*numThreads);
  int threads = llmk_get_num_threads();

  // The model: reused if the folder holds one, else generated.
  ModelShape shape;
  std::string modelDir = modelDirOpt;
  bool temporary = modelDir.empty();
  if (temporary) {
    llvm::SmallString<256> dir;
    llvm::sys::path::system_temp_directory(/*ErasedOnReboot=*/true, dir);
    llvm::sys::path::append(dir, "llmc-bench-llama-" + dtypeName);
    modelDir = std::string(dir);
  }
  ModelDirCleanup cleanup;
  bool generated = false;
  double generateSeconds = 0;
  if (!holdsModel(modelDir)) {
    if (llvm::sys::fs::exists(modelDir) &&
        !llvm::sys::fs::is_directory(modelDir))
      return fail(llvm::formatv("{0}: exists and is not a folder", modelDir));
    llvm::outs() << llvm::formatv("generating a random {0} model in {1} ...\n",
                                  dtypeName.getValue(), modelDir);
    llvm::outs().flush();
    auto start = Clock::now();
    if (temporary && !keep)
      cleanup.dir = modelDir;
    if (llvm::Error e = generateModel(modelDir, shape, dtype, threads))
      return fail(llvm::formatv("cannot write the model: {0}",
                                llvm::toString(std::move(e))));
    generateSeconds = secondsSince(start);
    generated = true;
  }

  llvm::Expected<std::unique_ptr<HFModel>> hfModel = HFModel::open(modelDir);
  if (!hfModel)
    return fail(llvm::toString(hfModel.takeError()));
  const HFModelInfo *info = &(*hfModel)->getInfo();
  llvm::Expected<ModelShape> readBack = readShape(modelDir);
  if (!readBack)
    return fail(llvm::toString(readBack.takeError()));
  shape = *readBack;
  if (info->kind != llmrt::ModelKind::Decoder ||
      !llvm::is_contained({"llama", "mistral", "qwen2"}, info->type))
    return fail(llvm::formatv("{0}: model_type '{1}': llm-bench measures "
                              "dense LLaMA-family decoders (llama, mistral, "
                              "qwen2)",
                              modelDir, info->type));
  if (info->maxPositions && prefillLen > info->maxPositions)
    return fail(llvm::formatv("--seq {0}: the model supports {1} positions",
                              prefillLen.getValue(), info->maxPositions));
  llmrt::Expected<std::unique_ptr<SafeTensorsArchive>> opened =
      SafeTensorsArchive::openDirectory(modelDir);
  if (!opened)
    return fail(opened.error());
  std::shared_ptr<const SafeTensorsArchive> archive = std::move(*opened);
  llvm::Expected<WeightStats> stats = countWeights(*archive);
  if (!stats)
    return fail(llvm::toString(stats.takeError()));
  if (!generated && dtypeName.getNumOccurrences() &&
      stats->linearDtype != dtype)
    return fail(llvm::formatv(
        "{0} holds {1} weights, not {2}: pass "
        "--dtype={3} or another --model-dir",
        modelDir, getDTypeName(stats->linearDtype), getDTypeName(dtype),
        llvm::StringRef(getDTypeName(stats->linearDtype)).lower()));
  llvm::StringRef weightDtype = getDTypeName(stats->linearDtype);

  llvm::outs() << "\nLLMC benchmark\n";
  llvm::outs() << llvm::formatv(
      "  model         {0} ({1})\n", modelDir,
      generated ? llvm::formatv("generated in {0:f1} s{1}", generateSeconds,
                                temporary && !keep ? ", removed at exit" : "")
                      .str()
                : std::string("reused"));
  llvm::outs() << llvm::formatv(
      "  shape         {0}: vocab {1}, hidden {2}, {3} layers, {4} heads / {5} "
      "kv heads, head dim {6},\n"
      "                intermediate {7}, {8} lm_head\n",
      info->type, shape.vocab, shape.hidden, shape.layers, shape.heads,
      shape.kvHeads, shape.headDim(), shape.intermediate,
      stats->tied ? "tied" : "untied");
  llvm::outs() << llvm::formatv("  parameters    {0} ({1:f1} M)\n",
                                withCommas(stats->params), stats->params / 1e6);
  llvm::outs() << llvm::formatv("  weights       {0} bytes ({1}), {2}\n",
                                withCommas(stats->bytes),
                                formatBytes(stats->bytes), weightDtype);
  if (quantizeBits())
    llvm::outs() << llvm::formatv(
        "  quantized     projections to {0} (groups of {1}, symmetric, round "
        "to nearest); kept in {2}: '{3}'\n",
        quantizeName.getValue(), quantizeGroup.getValue(), weightDtype,
        quantizeSkip.getValue());
  llvm::outs() << llvm::formatv(
      "  bytes/token   {0} bytes ({1}): linear {2} + lm_head {3} + one "
      "embedding row {4}\n",
      withCommas(stats->bytesPerToken()), formatBytes(stats->bytesPerToken()),
      formatBytes(stats->linearBytes), formatBytes(stats->lmHeadBytes),
      formatBytes(stats->embeddingRowBytes));
  llvm::outs() << llvm::formatv("  threads       {0} (kernels: {1})\n", threads,
                                llmk::getSimdKernels().name);
  llvm::outs().flush();

  CpuSnapshot measureStart = takeCpuSnapshot();
  std::vector<int64_t> kernelSeqs(attentionSeqs.begin(), attentionSeqs.end());
  if (kernelSeqs.empty())
    kernelSeqs = {512, 2048, 8192};
  for (int64_t len : kernelSeqs)
    if (len < 1)
      return fail(llvm::formatv("--attention-seq: expected lengths >= 1, "
                                "found {0}",
                                len));
  if (kernelsOnly) {
    KernelResults kernels = benchKernels(shape, stats->linearDtype, threads,
                                         prefillLen, kernelSeqs);
    printKernels(kernels, weightDtype, threads);
    double otherLoad = otherCoresBusy(measureStart, takeCpuSnapshot());
    if (otherLoad >= 0)
      llvm::outs() << llvm::formatv(
          "other processes kept {0:f2} cores busy while measuring\n",
          otherLoad);
    llvm::outs() << "\n";
    llvm::json::OStream j(llvm::outs());
    j.object([&] {
      j.attribute("benchmark", "llm-bench");
      j.attribute("threads", threads);
      j.attribute("isa", llmk::getSimdKernels().name);
      j.attribute("dtype", weightDtype);
      writeKernelsJson(j, kernels);
      if (otherLoad >= 0)
        j.attribute("other_cores_busy", otherLoad);
    });
    llvm::outs() << "\n";
    return 0;
  }
  // The read-bandwidth buffer, measured between decode steps below.
  BandwidthMeter bandwidth(threads, static_cast<size_t>(bandwidthMiB) << 20);

  // Compile time, prefill and decode.
  MLIRContext context;
  context.loadDialect<LLMDialect, func::FuncDialect, arith::ArithDialect,
                      LLVM::LLVMDialect>();
  llvm::Expected<Forward> prefill =
      compileMedian(context, **hfModel, archive, prefillLen, compileRuns);
  if (!prefill)
    return fail(llvm::toString(prefill.takeError()));
  llvm::Expected<Forward> decode =
      compileMedian(context, **hfModel, archive, 1, compileRuns);
  if (!decode)
    return fail(llvm::toString(decode.takeError()));

  llvm::outs() << llvm::formatv("\ncompile (median of {0})      import      "
                                "lower        JIT      total\n",
                                compileRuns.getValue());
  for (auto [label, forward] :
       {std::pair<std::string, Forward *>{
            llvm::formatv("prefill, seq {0}", prefillLen.getValue()).str(),
            &*prefill},
        {"decode step, seq 1", &*decode}})
    llvm::outs() << llvm::formatv(
        "  {0,-22} {1,8:f1} ms {2,7:f1} ms {3,7:f1} ms {4,7:f1} ms ({5:f1} "
        "ms)\n",
        label, forward->times.import * 1e3, forward->times.lower * 1e3,
        forward->times.jit * 1e3, forward->times.total * 1e3,
        forward->times.first * 1e3);
  llvm::outs() << llvm::formatv(
      "  weights: {0} used in place, {1} packed per compiled model\n",
      formatBytes(decode->model->getMappedBytes()),
      formatBytes(decode->model->getPackedBytes()));
  llvm::outs().flush();

  // Prefill: random ids at positions 0..seq-1.
  uint64_t rng = 42;
  for (int64_t i = 0; i < prefillLen; ++i) {
    prefill->intArgs[0][i] = splitMix64(rng) % info->vocabSize;
    prefill->intArgs[1][i] = info->positionOffset + i;
  }
  llvm::Expected<std::vector<double>> prefillTimes =
      timeRuns(*prefill, /*warmups=*/1, runs);
  if (!prefillTimes)
    return fail(llvm::formatv("prefill: {0}",
                              llvm::toString(prefillTimes.takeError())));
  double prefillSeconds = median(*prefillTimes);
  double prefillTokensPerSecond = prefillLen / prefillSeconds;
  // Matmul work: 2 flops per weight per token, plus causal attention
  // (q·k and p·v over seq (seq + 1) / 2 pairs per head).
  int64_t layers = shape.layers, heads = shape.heads, headDim = shape.headDim();
  double linearFlops =
      2.0 * (stats->linearParams + stats->lmHeadParams) * prefillLen;
  double attentionFlops =
      4.0 * layers * heads * headDim * prefillLen * (prefillLen + 1) / 2;
  double prefillGflops = (linearFlops + attentionFlops) / prefillSeconds / 1e9;
  CompileTimes prefillCompile = prefill->times, decodeCompile = decode->times;
  {
    Forward release = std::move(*prefill);
  } // Frees the prefill arena.

  // Decode step: one token at position 0.
  decode->intArgs[0][0] = 1;
  decode->intArgs[1][0] = info->positionOffset;
  // Decode steps alternate with passes of the bandwidth test, so that both
  // see the same machine (a shared one drifts by tens of percent).
  llvm::Expected<std::vector<double>> warmUps =
      timeRuns(*decode, /*warmups=*/5, 0);
  if (!warmUps)
    return fail(
        llvm::formatv("decode step: {0}", llvm::toString(warmUps.takeError())));
  bandwidth.pass(/*warmUp=*/true);
  std::vector<double> decodeTimes;
  const int rounds = std::min(8, decodeRuns.getValue());
  for (int round = 0; round < rounds; ++round) {
    int steps = decodeRuns * (round + 1) / rounds - decodeRuns * round / rounds;
    llvm::Expected<std::vector<double>> times = timeRuns(*decode, 0, steps);
    if (!times)
      return fail(
          llvm::formatv("decode step: {0}", llvm::toString(times.takeError())));
    llvm::append_range(decodeTimes, *times);
    // Lets the kernels' workers stop spinning before the test's threads run.
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    bandwidth.pass();
    bandwidth.pass();
  }
  double bandwidthGBs = median(bandwidth.rates);
  double decodeSeconds = median(decodeTimes);
  double decodeTokensPerSecond = 1.0 / decodeSeconds;
  double streamGBs = stats->bytesPerToken() * decodeTokensPerSecond / 1e9;
  double efficiency = streamGBs / bandwidthGBs;

  llvm::outs() << llvm::formatv("\nthroughput                  median       "
                                "min       max     tokens/s\n");
  auto row = [&](llvm::StringRef label, const std::vector<double> &times,
                 double tokens) {
    llvm::outs() << llvm::formatv(
        "  {0,-24} {1,8:f2} ms {2,6:f2} ms {3,6:f2} ms {4,10:f1}\n", label,
        median(times) * 1e3,
        *std::min_element(times.begin(), times.end()) * 1e3,
        *std::max_element(times.begin(), times.end()) * 1e3,
        tokens / median(times));
  };
  row(llvm::formatv("prefill {0} ({1} runs)", prefillLen.getValue(),
                    runs.getValue())
          .str(),
      *prefillTimes, prefillLen);
  row(llvm::formatv("decode step ({0} runs)", decodeRuns.getValue()).str(),
      decodeTimes, 1);
  llvm::outs() << llvm::formatv(
      "  prefill: {0:f1} GFLOP/s (matmuls and causal attention)\n",
      prefillGflops);
  llvm::outs() << llvm::formatv(
      "\nmemory read bandwidth: {0:f1} GB/s, median of {1} passes (min "
      "{2:f1}, max {3:f1}) between\n"
      "  the decode steps; {4} threads summing {5} MiB ({6})\n",
      bandwidthGBs, bandwidth.rates.size(),
      *std::min_element(bandwidth.rates.begin(), bandwidth.rates.end()),
      *std::max_element(bandwidth.rates.begin(), bandwidth.rates.end()),
      threads, bandwidth.bytes() >> 20, bandwidth.isa);
  llvm::outs() << llvm::formatv(
      "decode efficiency: {0:f2} = {1:f1} tok/s x {2} / {3:f1} GB/s\n"
      "  (weights streamed at {4:f1} GB/s; target >= 0.5 in fp32)\n",
      efficiency, decodeTokensPerSecond, formatBytes(stats->bytesPerToken()),
      bandwidthGBs, streamGBs);
  llvm::outs() << "  (the decode step above is the seq=1 forward at position "
                  "0: weight streaming alone)\n";

  // Decode over the paged KV cache at two context lengths, and what it saves
  // over recomputing the whole sequence for every token.
  std::vector<CachedDecode> cachedDecodes;
  constexpr int64_t kCachedSteps = 18;
  // The long context stops short of the model's last position: the steps
  // after the prompt must fit too.
  int64_t longContext = 2048;
  for (int64_t limit : {info->maxPositions, info->contextLength})
    if (limit)
      longContext = std::min(longContext, limit - kCachedSteps);
  for (int64_t ctx : {int64_t(128), longContext}) {
    llvm::Expected<CachedDecode> cached =
        benchCachedDecode(context, **hfModel, archive, ctx, kCachedSteps);
    if (!cached)
      return fail(llvm::formatv("KV-cache decode at context {0}: {1}", ctx,
                                llvm::toString(cached.takeError())));
    cachedDecodes.push_back(*cached);
  }
  llvm::Expected<Forward> recompute = compile(context, **hfModel, archive, 129);
  if (!recompute)
    return fail(llvm::formatv("recompute forward: {0}",
                              llvm::toString(recompute.takeError())));
  for (int64_t i = 0; i < 129; ++i) {
    recompute->intArgs[0][i] = 1 + i;
    recompute->intArgs[1][i] = info->positionOffset + i;
  }
  llvm::Expected<std::vector<double>> recomputeTimes =
      timeRuns(*recompute, /*warmups=*/1, 5);
  if (!recomputeTimes)
    return fail(llvm::toString(recomputeTimes.takeError()));
  double recomputeSeconds = median(*recomputeTimes);
  llvm::outs() << llvm::formatv(
      "\nKV-cache decode (f32 cache, {0} bytes per token)\n",
      cachedDecodes.front().kvBytesPerToken);
  for (const CachedDecode &d : cachedDecodes)
    llvm::outs() << llvm::formatv(
        "  context {0,5}: {1,7:f1} tokens/s ({2:f2} ms per step; prefill of "
        "the context {3:f2} s)\n",
        d.context, 1.0 / d.stepSeconds, d.stepSeconds * 1e3, d.prefillSeconds);
  llvm::outs() << llvm::formatv(
      "  recomputing 129 tokens per generated token: {0:f1} tokens/s; the "
      "cache is {1:f1}x faster at context 128\n",
      1.0 / recomputeSeconds,
      recomputeSeconds / cachedDecodes.front().stepSeconds);
  KernelResults kernels =
      benchKernels(shape, stats->linearDtype, threads, prefillLen, kernelSeqs);
  printKernels(kernels, weightDtype, threads);
  double otherLoad = otherCoresBusy(measureStart, takeCpuSnapshot());
  if (otherLoad >= 0)
    llvm::outs() << llvm::formatv(
        "other processes kept {0:f2} cores busy while measuring{1}\n",
        otherLoad,
        otherLoad > 0.1 ? ": WARNING, timings (multi-threaded ones most) are "
                          "unreliable; rerun on an idle machine"
                        : "");
  double totalSeconds = secondsSince(benchStart);
  llvm::outs() << llvm::formatv("benchmark took {0:f1} s\n\n", totalSeconds);

  // The machine-readable summary, last line of the output.
  llvm::json::OStream j(llvm::outs());
  auto times = [&](const CompileTimes &t) {
    j.object([&] {
      j.attribute("import", t.import);
      j.attribute("lower", t.lower);
      j.attribute("jit", t.jit);
      j.attribute("total", t.total);
      j.attribute("first_total", t.first);
    });
  };
  j.object([&] {
    j.attribute("benchmark", "llm-bench");
    j.attributeObject("model", [&] {
      j.attribute("dir", modelDir);
      j.attribute("generated", generated);
      j.attribute("model_type", info->type);
      j.attribute("dtype", weightDtype);
      j.attribute("params", static_cast<int64_t>(stats->params));
      j.attribute("weight_bytes", static_cast<int64_t>(stats->bytes));
      j.attribute("bytes_per_token",
                  static_cast<int64_t>(stats->bytesPerToken()));
    });
    j.attribute("threads", threads);
    j.attribute("isa", llmk::getSimdKernels().name);
    j.attributeObject("bandwidth", [&] {
      j.attribute("read_gbps", bandwidthGBs);
      j.attribute("passes", static_cast<int64_t>(bandwidth.rates.size()));
      j.attribute("buffer_bytes", static_cast<int64_t>(bandwidth.bytes()));
    });
    j.attributeObject("compile_s", [&] {
      j.attributeBegin("prefill");
      times(prefillCompile);
      j.attributeEnd();
      j.attributeBegin("decode");
      times(decodeCompile);
      j.attributeEnd();
    });
    j.attributeObject("prefill", [&] {
      j.attribute("seq", static_cast<int64_t>(prefillLen));
      j.attribute("runs", runs.getValue());
      j.attribute("median_s", prefillSeconds);
      j.attribute("tokens_per_s", prefillTokensPerSecond);
      j.attribute("gflops", prefillGflops);
    });
    j.attributeObject("decode", [&] {
      j.attribute("runs", decodeRuns.getValue());
      j.attribute("median_s", decodeSeconds);
      j.attribute("tokens_per_s", decodeTokensPerSecond);
      j.attribute("weight_stream_gbps", streamGBs);
      j.attribute("efficiency", efficiency);
      j.attribute("kv_cache", false);
    });
    j.attributeArray("kv_cache_decode", [&] {
      for (const CachedDecode &d : cachedDecodes)
        j.object([&] {
          j.attribute("context", d.context);
          j.attribute("tokens_per_s", 1.0 / d.stepSeconds);
          j.attribute("kv_bytes_per_token", d.kvBytesPerToken);
        });
    });
    j.attribute("recompute_129_tokens_per_s", 1.0 / recomputeSeconds);
    writeKernelsJson(j, kernels);
    if (otherLoad >= 0)
      j.attribute("other_cores_busy", otherLoad);
    else
      j.attribute("other_cores_busy", nullptr);
    j.attribute("total_s", totalSeconds);
  });
  llvm::outs() << "\n";
  return 0;
}
