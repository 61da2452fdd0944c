//===- Launchers.cpp - Host launchers of the CUDA kernels -----------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// Each launcher maps a CPU kernel's call (Kernels.def) onto the CUDA
// kernels of kernels/Kernels.cu: which kernels, in which order, on which
// grid, with which arguments and scratch buffers. Tensors are in the
// executor's memory; a `LLMKCache` descriptor is host memory whose `data`
// is the executor's.
//
//===----------------------------------------------------------------------===//

#include "Launchers.h"

#include "PositionMath.h"
#include "Quant.h"

#include <algorithm>
#include <limits>
#include <mutex>
#include <optional>

using namespace llmrt;
using namespace llmrt::cuda;

namespace {

thread_local LaunchExecutor *currentExecutor = nullptr;
std::mutex errorMutex;
std::string pendingError;

/// Records `message` unless a failure is already pending.
void fail(const std::string &message) {
  std::lock_guard<std::mutex> lock(errorMutex);
  if (pendingError.empty())
    pendingError = message;
}

bool hasFailed() {
  std::lock_guard<std::mutex> lock(errorMutex);
  return !pendingError.empty();
}

LaunchArg ptr(const void *p) {
  LaunchArg a;
  a.kind = LaunchArg::Ptr;
  a.ptr = p;
  return a;
}
LaunchArg i32(int64_t v) {
  LaunchArg a;
  a.kind = LaunchArg::I32;
  a.i32 = static_cast<int32_t>(v);
  return a;
}
LaunchArg i64(int64_t v) {
  LaunchArg a;
  a.kind = LaunchArg::I64;
  a.i64 = v;
  return a;
}
LaunchArg f32(double v) {
  LaunchArg a;
  a.kind = LaunchArg::F32;
  a.f32 = static_cast<float>(v);
  return a;
}

unsigned ceilDiv(int64_t a, int64_t b) {
  return static_cast<unsigned>((a + b - 1) / b);
}

/// The context of one launcher call: its name for messages, and the
/// executor. `ok()` is false once anything failed, so that a launcher
/// stops at its first failure.
class Launcher {
public:
  explicit Launcher(const char *name) : name(name) {
    if (!currentExecutor)
      fail(std::string(name) +
           ": no CUDA executor is set (the model was not loaded for "
           "--target=cuda)");
  }

  bool ok() const { return currentExecutor && !hasFailed(); }

  /// Fails unless every value is within int32 (the kernels' int
  /// parameters).
  bool fitsInt(std::initializer_list<int64_t> values) {
    for (int64_t v : values)
      if (v < 0 || v > std::numeric_limits<int32_t>::max()) {
        error("expected sizes within [0, 2^31), found " + std::to_string(v));
        return false;
      }
    return true;
  }

  void error(const std::string &message) {
    fail(std::string(name) + ": " + message);
  }

  void launch(const char *kernel, int headDim,
              std::initializer_list<unsigned> grid, unsigned block,
              std::initializer_list<LaunchArg> args) {
    if (!ok())
      return;
    KernelLaunch l;
    l.kernel = kernel;
    l.headDim = headDim;
    size_t i = 0;
    for (unsigned g : grid)
      l.grid[i++] = g;
    l.block[0] = block;
    l.args.assign(args.begin(), args.end());
    // An empty grid launches nothing (a zero-sized tensor).
    if (l.grid[0] == 0 || l.grid[1] == 0 || l.grid[2] == 0)
      return;
    check(currentExecutor->launch(l));
  }

  void *scratch(int slot, size_t bytes) {
    if (!ok())
      return nullptr;
    Expected<void *> memory = currentExecutor->scratch(slot, bytes);
    if (!memory) {
      error(memory.error());
      return nullptr;
    }
    return *memory;
  }

  void check(const Status &status) {
    if (!status.isOk())
      error(status.message());
  }

  LaunchExecutor &executor() { return *currentExecutor; }

  /// A device int for a kernel's error flag, zero: `what` (after this
  /// launcher's name) is the launch error when the kernel sets it. Flags
  /// are read back once, by takeLaunchError (which Model::run calls after
  /// the entry point), not after each launch: no host synchronization
  /// inside a forward pass.
  int *errorFlag(const std::string &what);

  /// Scratch slots, one per use.
  enum {
    kFlagSlot = 0,
    kActivationsSlot,
    kFreqSlot,
    kPartialSlot,
    kStatesSlot,
    kNextSlot,
    kRowOfSlot,
    kBucketSlot,
    kRelativeSlot,
    kSlopesSlot,
    kPermutedSlot,
    kGatherKSlot,
    kGatherVSlot
  };

private:
  const char *name;
};

constexpr size_t kMaxFlags = 256;

} // namespace

struct LaunchExecutor::LauncherState {
  /// The flag array (scratch kFlagSlot) is zero but for the flags of
  /// `flagMessages`, the launches' since the flags were last read.
  const void *zeroedFlags = nullptr;
  std::vector<std::string> flagMessages;
  /// Per scratch slot holding a host table: its memory, and the key of
  /// the table it holds.
  std::map<int, std::pair<const void *, std::string>> tables;
};

LaunchExecutor::LaunchExecutor() = default;
LaunchExecutor::~LaunchExecutor() = default;

LaunchExecutor::LauncherState &LaunchExecutor::getLauncherState() {
  if (!launcherState)
    launcherState = std::make_unique<LauncherState>();
  return *launcherState;
}

namespace {

/// Reads the pending flags back (one copy to the host), records the first
/// set one's message, and zeroes them.
void settleFlags() {
  if (!currentExecutor)
    return;
  LaunchExecutor::LauncherState &p = currentExecutor->getLauncherState();
  if (p.flagMessages.empty())
    return;
  Expected<void *> array =
      currentExecutor->scratch(Launcher::kFlagSlot, kMaxFlags * sizeof(int));
  std::vector<int> values(p.flagMessages.size(), 0);
  Status read = array ? currentExecutor->download(values.data(), *array,
                                                  values.size() * sizeof(int))
                      : array.takeStatus();
  if (!read.isOk()) {
    fail(read.message());
  } else {
    for (size_t i = 0; i < values.size(); ++i)
      if (values[i])
        fail(p.flagMessages[i]);
    std::vector<int> zeros(values.size(), 0);
    Status cleared = currentExecutor->upload(*array, zeros.data(),
                                             zeros.size() * sizeof(int));
    if (!cleared.isOk())
      fail(cleared.message());
  }
  p.flagMessages.clear();
}

int *Launcher::errorFlag(const std::string &what) {
  int *array = static_cast<int *>(scratch(kFlagSlot, kMaxFlags * sizeof(int)));
  if (!array)
    return nullptr;
  LaunchExecutor::LauncherState &p = currentExecutor->getLauncherState();
  if (p.zeroedFlags != array) {
    // The executor's flag array, new: zero it all once.
    std::vector<int> zeros(kMaxFlags, 0);
    check(currentExecutor->upload(array, zeros.data(),
                                  zeros.size() * sizeof(int)));
    p.zeroedFlags = array;
    p.flagMessages.clear();
  }
  if (p.flagMessages.size() == kMaxFlags)
    settleFlags();
  p.flagMessages.push_back(std::string(name) + ": " + what);
  return array + p.flagMessages.size() - 1;
}

/// A table computed on the host, in the executor's memory at scratch
/// `slot`: computed (`make`) and uploaded only when `key` (what decides
/// the table) or the slot's memory changed. The static tables (RoPE's
/// frequencies, ALiBi's slopes, T5's buckets) are asked for alike by
/// every layer: after the first, no copy, and no wait for the device.
template <typename T, typename Make>
const T *uploadTable(Launcher &l, int slot, std::string key, size_t count,
                     Make make) {
  auto *memory = static_cast<T *>(l.scratch(slot, count * sizeof(T)));
  if (!memory)
    return nullptr;
  auto &held = l.executor().getLauncherState().tables[slot];
  if (held.first == memory && held.second == key)
    return memory;
  std::vector<T> table = make();
  l.check(l.executor().upload(memory, table.data(), count * sizeof(T)));
  if (l.ok())
    held = {memory, std::move(key)};
  return memory;
}

/// The bytes of `values`, as a key of uploadTable.
template <typename T> std::string keyOf(const std::vector<T> &values) {
  return std::string(reinterpret_cast<const char *>(values.data()),
                     values.size() * sizeof(T));
}

/// The CUDA embedding kernel numbers dtypes fp32 0, bf16 1, f16 2.
int embeddingDtype(int32_t dtype) {
  return dtype == LLMK_BF16 ? 1 : dtype == LLMK_F16 ? 2 : 0;
}

/// Fails unless a weight is stored in rows (the CUDA kernels read no
/// panels).
bool rowLayout(Launcher &l, int32_t layout) {
  if (layout == LLMK_LAYOUT_ROWS)
    return true;
  l.error("expected a weight in rows (LLMK_LAYOUT_ROWS), found layout " +
          std::to_string(layout) +
          " (weights packed in panels are the CPU "
          "kernels')");
  return false;
}

/// Rows of x times w^T (+ bias) into y: a GEMV per row for a few rows, the
/// tensor-core GEMM from 16 rows (x rounded to bf16 first).
void linear(Launcher &l, const float *x, const void *w, int32_t wDtype,
            int32_t wLayout, const float *bias, float *y, int64_t m, int64_t k,
            int64_t n) {
  if (!rowLayout(l, wLayout))
    return;
  if (wDtype != LLMK_F32 && wDtype != LLMK_F16 && wDtype != LLMK_BF16) {
    l.error("expected an f32, f16 or bf16 weight, found dtype " +
            std::to_string(wDtype));
    return;
  }
  if (!l.fitsInt({m, n, k}) || m * n == 0)
    return;
  constexpr int64_t kGemmRows = 16;
  if (m < kGemmRows || k % 2 != 0) {
    l.launch("llmc_linear_rows", 0, {ceilDiv(n, 4), static_cast<unsigned>(m)},
             128,
             {ptr(w), i32(wDtype), ptr(x), ptr(bias), ptr(y), i32(m), i32(n),
              i32(k)});
    return;
  }
  void *a = l.scratch(Launcher::kActivationsSlot, size_t(m) * k * 2);
  l.launch("llmc_to_bf16", 0, {ceilDiv(m * k, 256)}, 256,
           {ptr(x), ptr(a), i64(m * k)});
  if (wDtype == LLMK_BF16)
    l.launch("llmc_gemm_bf16", 0, {ceilDiv(n, 64), ceilDiv(m, 64)}, 128,
             {ptr(a), ptr(w), ptr(y), i32(m), i32(n), i32(k)});
  else
    l.launch("llmc_gemm_w", 0, {ceilDiv(n, 64), ceilDiv(m, 64)}, 128,
             {ptr(a), ptr(w), i32(wDtype), ptr(y), i32(m), i32(n), i32(k)});
  if (bias)
    l.launch("llmc_add_bias", 0, {ceilDiv(m * n, 256)}, 256,
             {ptr(y), ptr(bias), i64(m * n), i32(n)});
}

/// Rows of x times a weight quantized in the runtime's layout (Quant.h:
/// blocks of 32 codes per row, f16 scale and offset per group): the
/// dequantizing GEMV per row for a few rows, the dequantizing tensor-core
/// GEMM from 16. Activations stay fp32 (bf16 in the GEMM) whatever the
/// flags ask of the CPU kernels: W8A8's int8 activations and llama.cpp's
/// block-quantized ones are the CPU kernels' integer paths (their weights'
/// layout is this one). An act-order weight's activations are permuted
/// first, into the stored features' order.
void quantLinear(Launcher &l, const float *x, const void *w, int32_t bits,
                 int64_t group, int32_t flags, const float *bias, float *y,
                 int64_t m, int64_t k, int64_t n) {
  if (flags & ~(LLMK_QUANT_INT8_ACTIVATIONS | LLMK_QUANT_PERMUTED |
                LLMK_QUANT_INT8_BLOCKS)) {
    l.error("expected LLMK_QUANT_* flags, found " + std::to_string(flags));
    return;
  }
  if (bits != 4 && bits != 5 && bits != 6 && bits != 8) {
    l.error("expected 4, 5, 6 or 8 bits, found " + std::to_string(bits));
    return;
  }
  if (group != 0 && (group % 16 != 0 || k % group != 0)) {
    l.error("expected groups of a multiple of 16 dividing k = " +
            std::to_string(k) + ", found " + std::to_string(group));
    return;
  }
  if (!l.fitsInt({m, n, k, group}) || m * n == 0)
    return;
  if (flags & LLMK_QUANT_PERMUTED) {
    const auto *perm = reinterpret_cast<const int32_t *>(
        static_cast<const char *>(w) +
        llmk::quantPermOffset(n, k, bits, group,
                              flags & LLMK_QUANT_INT8_ACTIVATIONS));
    auto *permuted = static_cast<float *>(
        l.scratch(Launcher::kPermutedSlot, size_t(m) * k * sizeof(float)));
    l.launch("llmc_permute_cols", 0, {ceilDiv(m * k, 256)}, 256,
             {ptr(x), ptr(perm), ptr(permuted), i64(m * k), i32(k)});
    x = permuted;
  }
  constexpr int64_t kGemmRows = 16;
  if (m < kGemmRows || k % 2 != 0) {
    for (int64_t r = 0; r < m; ++r)
      l.launch("llmc_gemv_q", 0, {ceilDiv(n, 4)}, 128,
               {ptr(w), ptr(x + r * k), ptr(y + r * n), i32(n), i32(k),
                i32(bits), i32(group)});
  } else {
    void *a = l.scratch(Launcher::kActivationsSlot, size_t(m) * k * 2);
    l.launch("llmc_to_bf16", 0, {ceilDiv(m * k, 256)}, 256,
             {ptr(x), ptr(a), i64(m * k)});
    l.launch("llmc_gemm_q", 0, {ceilDiv(n, 64), ceilDiv(m, 64)}, 128,
             {ptr(a), ptr(w), ptr(y), i32(m), i32(n), i32(k), i32(bits),
              i32(group)});
  }
  if (bias)
    l.launch("llmc_add_bias", 0, {ceilDiv(m * n, 256)}, 256,
             {ptr(y), ptr(bias), i64(m * n), i32(n)});
}

/// The grouped projections of MoE (llm.grouped_matmul): float experts
/// (bits 0, `dtype`) or quantized ones (`bits`, `group`, one every
/// `expertBytes`). A GEMV per row for decode or few rows, else the grouped
/// tensor-core GEMM over each expert's group of rows.
void grouped(Launcher &l, const float *x, const void *w, int32_t dtype,
             int32_t bits, int64_t group, int64_t expertBytes,
             const int32_t *offsets, float *y, int64_t rows, int64_t k,
             int64_t n, int64_t experts, bool gemm) {
  if (experts < 1 || experts > 256) {
    l.error("expected 1 to 256 experts, found " + std::to_string(experts));
    return;
  }
  if (bits != 0 && bits != 4 && bits != 5 && bits != 6 && bits != 8) {
    l.error("expected 4, 5, 6 or 8 bits, found " + std::to_string(bits));
    return;
  }
  if (!l.fitsInt({rows, k, n, group}) || rows * n == 0)
    return;
  constexpr int64_t kGemmRows = 16;
  if (!gemm || rows < kGemmRows || k % 2 != 0) {
    l.launch("llmc_grouped_rows", 0,
             {ceilDiv(n, 4), static_cast<unsigned>(rows)}, 128,
             {ptr(x), ptr(w), i32(dtype), i32(bits), i32(group),
              i64(expertBytes), ptr(offsets), ptr(y), i32(n), i32(k),
              i32(experts)});
    return;
  }
  void *a = l.scratch(Launcher::kActivationsSlot, size_t(rows) * k * 2);
  l.launch("llmc_to_bf16", 0, {ceilDiv(rows * k, 256)}, 256,
           {ptr(x), ptr(a), i64(rows * k)});
  // Each expert's group in tiles of 64 rows: at most ceil(rows / 64) +
  // experts tiles whatever the grouping.
  l.launch("llmc_grouped_gemm", 0,
           {ceilDiv(n, 64), ceilDiv(rows, 64) + static_cast<unsigned>(experts)},
           128,
           {ptr(a), ptr(w), i32(dtype), i32(bits), i32(group), i64(expertBytes),
            ptr(offsets), ptr(y), i32(n), i32(k), i32(experts)});
  l.launch("llmc_grouped_tail", 0, {static_cast<unsigned>(rows)}, 128,
           {ptr(offsets), ptr(y), i32(n), i32(experts)});
}

void rope(Launcher &l, const float *x, const int64_t *positions,
          const float *invFreq, float *y, int64_t tokens, int64_t heads,
          int64_t headDim, int64_t rotaryDim, int32_t gptj, float scaling) {
  if (rotaryDim > headDim || rotaryDim % 2 != 0) {
    l.error("expected an even rotary dimension of at most the head "
            "dimension " +
            std::to_string(headDim) + ", found " + std::to_string(rotaryDim));
    return;
  }
  if (!l.fitsInt({tokens, heads, headDim}))
    return;
  l.launch("llmc_rope", 0, {static_cast<unsigned>(tokens)}, 128,
           {ptr(x), ptr(positions), ptr(invFreq), ptr(y), i32(heads),
            i32(headDim), i32(rotaryDim), i32(gptj), f32(scaling)});
}

void binary(const char *name, const float *a, const float *b, float *y,
            int64_t n, int op, float s) {
  Launcher l(name);
  l.launch("llmc_binary", 0, {ceilDiv(n, 256)}, 256,
           {ptr(a), ptr(b), ptr(y), i64(n), i32(op), f32(s)});
}

/// The cache's storage dtype, as the kernels take it (LLMKDtype or
/// LLMK_I8, which needs its scales).
bool cacheDtype(Launcher &l, const LLMKCache *cache, int *dtype) {
  if (!cache) {
    l.error("expected a KV cache, found none");
    return false;
  }
  if (cache->dtype != LLMK_F32 && cache->dtype != LLMK_F16 &&
      cache->dtype != LLMK_BF16 &&
      !(cache->dtype == LLMK_I8 && cache->scales)) {
    l.error("expected a KV cache stored in f32, f16, bf16 or int8 with its "
            "scales, found dtype " +
            std::to_string(cache->dtype));
    return false;
  }
  *dtype = cache->dtype;
  return true;
}

/// The head dimensions the paged attention kernel takes: up to 256
/// (ceil(d / 32) values per lane).
bool attentionHeadDim(Launcher &l, int64_t headDim) {
  if (headDim >= 1 && headDim <= 256)
    return true;
  l.error("expected a head dimension in [1, 256], found " +
          std::to_string(headDim));
  return false;
}

/// T5's buckets of the relative positions [-(count - 1), count - 1] (index
/// relative + count - 1), by the CPU kernels' function, in the executor's
/// memory at scratch `slot`; uploaded again only when the parameters or
/// the executor change (the paged attention of every layer asks for the
/// same table).
const int32_t *relativeBuckets(Launcher &l, int slot, int64_t numBuckets,
                               int64_t maxDistance, bool bidirectional,
                               int64_t count) {
  llmk::RelativeBuckets buckets(numBuckets, maxDistance, bidirectional);
  if (!buckets.isValid()) {
    l.error("expected more buckets than twice the exact range and a max "
            "distance past it, found " +
            std::to_string(numBuckets) + " buckets and max distance " +
            std::to_string(maxDistance));
    return nullptr;
  }
  if (!l.fitsInt({2 * count}))
    return nullptr;
  const size_t size = static_cast<size_t>(2 * count - 1);
  const std::vector<int64_t> key = {numBuckets, maxDistance, bidirectional,
                                    count};
  return uploadTable<int32_t>(l, slot, keyOf(key), size, [&] {
    std::vector<int32_t> table(size);
    for (size_t d = 0; d < size; ++d)
      table[d] = static_cast<int32_t>(
          buckets.bucket(static_cast<int64_t>(d) - (count - 1)));
    return table;
  });
}

/// RoPE's frequencies as the CPU kernels compute them (PositionMath.h), on
/// the host: for `seqLen`, or (negative) the largest of the `count`
/// positions + 1, read back from the executor's memory (dynamic NTK).
std::optional<llmk::RopeFrequencies>
hostFrequencies(Launcher &l, const int64_t *positions, int64_t count,
                int64_t rotaryDim, double theta,
                const llmk::RopeScalingParams &scaling, int64_t seqLen) {
  if (count < 0 || !llmk::isValidRopeScaling(rotaryDim, theta, scaling)) {
    l.error("invalid rotary dimensions or scaling parameters");
    return std::nullopt;
  }
  if (seqLen < 0) {
    std::vector<int64_t> host(static_cast<size_t>(count));
    if (count > 0)
      l.check(l.executor().download(host.data(), positions,
                                    host.size() * sizeof(int64_t)));
    seqLen = 0;
    for (int64_t p : host)
      seqLen = std::max(seqLen, p + 1);
  }
  if (!l.ok())
    return std::nullopt;
  return llmk::ropeFrequencies(rotaryDim, theta, scaling, seqLen);
}

} // namespace

void llmrt::cuda::setLaunchExecutor(LaunchExecutor *executor) {
  currentExecutor = executor;
}

std::string llmrt::cuda::takeLaunchError() {
  settleFlags();
  std::lock_guard<std::mutex> lock(errorMutex);
  std::string error;
  error.swap(pendingError);
  return error;
}

std::vector<std::pair<const char *, void *>> llmrt::cuda::getLauncherSymbols() {
  std::vector<std::pair<const char *, void *>> symbols;
#define LLMC_LAUNCHER(kernel, launcher)                                        \
  symbols.emplace_back(#launcher, reinterpret_cast<void *>(&launcher));
#include "Launchers.def"
  symbols.emplace_back("llmc_cuda_upload",
                       reinterpret_cast<void *>(&llmc_cuda_upload));
  return symbols;
}

extern "C" {

void llmc_cuda_linear(const float *x, const void *w, int32_t wDtype,
                      int32_t wLayout, const float *bias, float *y, int64_t m,
                      int64_t k, int64_t n) {
  Launcher l("llmc_cuda_linear");
  linear(l, x, w, wDtype, wLayout, bias, y, m, k, n);
}

void llmc_cuda_linear_rope(const float *x, const void *w, int32_t wDtype,
                           int32_t wLayout, const float *bias, float *y,
                           int64_t m, int64_t k, int64_t n,
                           const int64_t *positions, const float *invFreq,
                           int64_t numHeads, int64_t headDim, int64_t rotaryDim,
                           int32_t gptj, float attentionScaling) {
  Launcher l("llmc_cuda_linear_rope");
  if (n != numHeads * headDim) {
    l.error("expected " + std::to_string(numHeads) + " heads of " +
            std::to_string(headDim) + " outputs, found " + std::to_string(n));
    return;
  }
  linear(l, x, w, wDtype, wLayout, bias, y, m, k, n);
  // In place: each pair is read and written by one thread.
  rope(l, y, positions, invFreq, y, m, numHeads, headDim, rotaryDim, gptj,
       attentionScaling);
}

void llmc_cuda_linear_q(const float *x, const void *w, int32_t bits,
                        int64_t group, int32_t flags, const float *bias,
                        float *y, int64_t m, int64_t k, int64_t n) {
  Launcher l("llmc_cuda_linear_q");
  quantLinear(l, x, w, bits, group, flags, bias, y, m, k, n);
}

void llmc_cuda_linear_q_rope(const float *x, const void *w, int32_t bits,
                             int64_t group, int32_t activations,
                             const float *bias, float *y, int64_t m, int64_t k,
                             int64_t n, const int64_t *positions,
                             const float *invFreq, int64_t numHeads,
                             int64_t headDim, int64_t rotaryDim, int32_t gptj,
                             float attentionScaling) {
  Launcher l("llmc_cuda_linear_q_rope");
  if (n != numHeads * headDim) {
    l.error("expected " + std::to_string(numHeads) + " heads of " +
            std::to_string(headDim) + " outputs, found " + std::to_string(n));
    return;
  }
  quantLinear(l, x, w, bits, group, activations, bias, y, m, k, n);
  rope(l, y, positions, invFreq, y, m, numHeads, headDim, rotaryDim, gptj,
       attentionScaling);
}

void llmc_cuda_moe_route(const float *logits, float *weights, int32_t *indices,
                         int64_t tokens, int64_t experts, int64_t topK,
                         int32_t normalize) {
  Launcher l("llmc_cuda_moe_route");
  if (experts < 1 || experts > 256 || topK < 1 || topK > experts || topK > 16)
    return l.error("expected 1 <= top_k <= experts <= 256 and top_k <= 16, "
                   "found top_k " +
                   std::to_string(topK) + " of " + std::to_string(experts) +
                   " experts");
  if (l.fitsInt({tokens}) && tokens > 0)
    l.launch("llmc_moe_route", 0, {ceilDiv(tokens, 128)}, 128,
             {ptr(logits), ptr(weights), ptr(indices), i32(tokens),
              i32(experts), i32(topK), i32(normalize)});
}

void llmc_cuda_moe_permute(const float *x, const int32_t *indices,
                           float *permuted, int32_t *offsets, int32_t *sources,
                           int64_t tokens, int64_t hidden, int64_t experts,
                           int64_t topK, int64_t capacity) {
  Launcher l("llmc_cuda_moe_permute");
  const int64_t rows = tokens * topK;
  if (experts < 1 || experts > 256 || topK < 1 || capacity < 0)
    return l.error("expected 1 to 256 experts, top_k >= 1, capacity >= 0");
  if (!l.fitsInt({rows, hidden, capacity}))
    return;
  int32_t *next = static_cast<int32_t *>(
      l.scratch(Launcher::kNextSlot, size_t(experts) * sizeof(int32_t)));
  int *flag = l.errorFlag("an expert index outside [0, " +
                          std::to_string(experts) + ")");
  l.launch("llmc_moe_offsets", 0, {1}, 1,
           {ptr(indices), ptr(offsets), ptr(sources), ptr(next), i32(rows),
            i32(experts), i32(capacity), ptr(flag)});
  if (rows > 0)
    l.launch("llmc_moe_gather", 0, {static_cast<unsigned>(rows)}, 128,
             {ptr(x), ptr(sources), ptr(permuted), i32(hidden), i32(topK)});
}

void llmc_cuda_grouped_matmul(const float *x, const void *w, int32_t wDtype,
                              int32_t wLayout, const int32_t *offsets, float *y,
                              int64_t rows, int64_t k, int64_t n,
                              int64_t experts) {
  Launcher l("llmc_cuda_grouped_matmul");
  if (rowLayout(l, wLayout))
    grouped(l, x, w, wDtype, 0, 0, 0, offsets, y, rows, k, n, experts, true);
}

void llmc_cuda_grouped_gemv(const float *x, const void *w, int32_t wDtype,
                            int32_t wLayout, const int32_t *offsets, float *y,
                            int64_t rows, int64_t k, int64_t n,
                            int64_t experts) {
  Launcher l("llmc_cuda_grouped_gemv");
  if (rowLayout(l, wLayout))
    grouped(l, x, w, wDtype, 0, 0, 0, offsets, y, rows, k, n, experts, false);
}

void llmc_cuda_grouped_matmul_q(const float *x, const void *w, int32_t bits,
                                int64_t group, const int32_t *offsets, float *y,
                                int64_t rows, int64_t k, int64_t n,
                                int64_t experts) {
  Launcher l("llmc_cuda_grouped_matmul_q");
  grouped(l, x, w, 0, bits, group, llmk::quantExpertBytes(n, k, bits, group),
          offsets, y, rows, k, n, experts, true);
}

void llmc_cuda_grouped_gemv_q(const float *x, const void *w, int32_t bits,
                              int64_t group, const int32_t *offsets, float *y,
                              int64_t rows, int64_t k, int64_t n,
                              int64_t experts) {
  Launcher l("llmc_cuda_grouped_gemv_q");
  grouped(l, x, w, 0, bits, group, llmk::quantExpertBytes(n, k, bits, group),
          offsets, y, rows, k, n, experts, false);
}

void llmc_cuda_moe_combine(const float *expertOut, const float *weights,
                           const int32_t *sources, float *y, int64_t tokens,
                           int64_t hidden, int64_t topK) {
  Launcher l("llmc_cuda_moe_combine");
  const int64_t rows = tokens * topK;
  if (topK < 1 || topK > 16)
    return l.error("expected 1 <= top_k <= 16, found " + std::to_string(topK));
  if (!l.fitsInt({rows, hidden}) || tokens == 0)
    return;
  int32_t *rowOf = static_cast<int32_t *>(
      l.scratch(Launcher::kRowOfSlot, size_t(rows) * sizeof(int32_t)));
  l.launch("llmc_moe_rows_of", 0, {1}, 256,
           {ptr(sources), ptr(rowOf), i32(rows)});
  l.launch("llmc_moe_combine", 0, {static_cast<unsigned>(tokens)}, 128,
           {ptr(expertOut), ptr(weights), ptr(rowOf), ptr(y), i32(hidden),
            i32(topK)});
}

void llmc_cuda_embedding(const int64_t *ids, const void *table, int32_t dtype,
                         int32_t layout, float *out, int64_t count,
                         int64_t vocab, int64_t dim) {
  Launcher l("llmc_cuda_embedding");
  if (layout != LLMK_LAYOUT_ROWS) {
    l.error("expected a table in rows (LLMK_LAYOUT_ROWS), found layout " +
            std::to_string(layout));
    return;
  }
  if (!l.fitsInt({count, vocab, dim}) || count == 0)
    return;
  int *flag = l.errorFlag("a token id outside the vocabulary [0, " +
                          std::to_string(vocab) + ")");
  l.launch("llmc_embedding", 0, {static_cast<unsigned>(count)}, 128,
           {ptr(ids), ptr(table), i32(embeddingDtype(dtype)), ptr(out),
            i32(vocab), i32(dim), ptr(flag)});
}

void llmc_cuda_rms_norm(const float *x, const float *w, float *y, int64_t rows,
                        int64_t dim, float eps, float weightOffset) {
  Launcher l("llmc_cuda_rms_norm");
  if (l.fitsInt({rows, dim}))
    l.launch("llmc_rms_norm", 0, {static_cast<unsigned>(rows)}, 256,
             {ptr(x), ptr(w), ptr(y), i32(dim), f32(eps), f32(weightOffset)});
}

void llmc_cuda_layer_norm(const float *x, const float *w, const float *b,
                          float *y, int64_t rows, int64_t dim, float eps) {
  Launcher l("llmc_cuda_layer_norm");
  if (l.fitsInt({rows, dim}))
    l.launch("llmc_layer_norm", 0, {static_cast<unsigned>(rows)}, 256,
             {ptr(x), ptr(w), ptr(b), ptr(y), i32(dim), f32(eps)});
}

void llmc_cuda_softmax(const float *x, float *y, int64_t rows, int64_t cols) {
  Launcher l("llmc_cuda_softmax");
  if (l.fitsInt({rows, cols}))
    l.launch("llmc_softmax_rows", 0, {ceilDiv(rows, 4)}, 128,
             {ptr(x), ptr(y), i32(rows), i32(cols)});
}

void llmc_cuda_gelu(const float *x, float *y, int64_t n, int32_t tanhApprox) {
  Launcher l("llmc_cuda_gelu");
  l.launch("llmc_gelu", 0, {ceilDiv(n, 256)}, 256,
           {ptr(x), ptr(y), i64(n), i32(tanhApprox)});
}

void llmc_cuda_glu(const float *gate, const float *up, float *y, int64_t n,
                   int32_t activation) {
  Launcher l("llmc_cuda_glu");
  l.launch("llmc_glu", 0, {ceilDiv(n, 256)}, 256,
           {ptr(gate), ptr(up), ptr(y), i64(n), i32(activation)});
}

void llmc_cuda_sigmoid_gate(const float *x, const float *gate, float *y,
                            int64_t rows, int64_t cols, int64_t gateCols) {
  Launcher l("llmc_cuda_sigmoid_gate");
  if (gateCols != 1 && gateCols != cols)
    return l.error("expected a gate of 1 or " + std::to_string(cols) +
                   " columns, found " + std::to_string(gateCols));
  if (l.fitsInt({cols}))
    l.launch("llmc_sigmoid_gate", 0, {ceilDiv(rows * cols, 256)}, 256,
             {ptr(x), ptr(gate), ptr(y), i64(rows * cols), i32(cols),
              i32(gateCols)});
}

void llmc_cuda_relu(const float *x, float *y, int64_t n) {
  binary("llmc_cuda_relu", x, nullptr, y, n, 4, 0.0f);
}

void llmc_cuda_silu(const float *x, float *y, int64_t n) {
  binary("llmc_cuda_silu", x, nullptr, y, n, 5, 0.0f);
}

void llmc_cuda_add(const float *a, const float *b, float *y, int64_t n) {
  binary("llmc_cuda_add", a, b, y, n, 0, 0.0f);
}
void llmc_cuda_mul(const float *a, const float *b, float *y, int64_t n) {
  binary("llmc_cuda_mul", a, b, y, n, 1, 0.0f);
}
void llmc_cuda_sub(const float *a, const float *b, float *y, int64_t n) {
  binary("llmc_cuda_sub", a, b, y, n, 2, 0.0f);
}
void llmc_cuda_scale(const float *x, float *y, int64_t n, float s) {
  binary("llmc_cuda_scale", x, nullptr, y, n, 3, s);
}

void llmc_cuda_upload(const void *host, void *device, int64_t bytes) {
  Launcher l("llmc_cuda_upload");
  if (l.ok() && bytes > 0)
    l.check(l.executor().upload(device, host, static_cast<size_t>(bytes)));
}

void llmc_cuda_copy(const void *src, void *dst, int64_t bytes) {
  Launcher l("llmc_cuda_copy");
  if (l.ok() && bytes > 0)
    l.check(l.executor().copy(dst, src, static_cast<size_t>(bytes)));
}

void llmc_cuda_rope(const float *x, const int64_t *positions, float *y,
                    int64_t tokens, int64_t numHeads, int64_t headDim,
                    int64_t rotaryDim, double theta, int32_t gptj,
                    int32_t scalingKind, double factor,
                    int64_t originalMaxPosition, double lowFreqFactor,
                    double highFreqFactor, double betaFast, double betaSlow,
                    double attentionFactor, int64_t seqLen) {
  Launcher l("llmc_cuda_rope");
  if (tokens <= 0)
    return;
  std::optional<llmk::RopeFrequencies> freqs =
      hostFrequencies(l, positions, tokens, rotaryDim, theta,
                      {scalingKind, factor, originalMaxPosition, lowFreqFactor,
                       highFreqFactor, betaFast, betaSlow, attentionFactor},
                      seqLen);
  if (!freqs)
    return;
  const float *invFreq =
      uploadTable<float>(l, Launcher::kFreqSlot, keyOf(freqs->invFreq),
                         freqs->invFreq.size(), [&] { return freqs->invFreq; });
  rope(l, x, positions, invFreq, y, tokens, numHeads, headDim, rotaryDim, gptj,
       freqs->attentionScaling);
}

void llmc_cuda_rope_inv_freq_at(const int64_t *positions, int64_t count,
                                float *invFreq, int64_t rotaryDim, double theta,
                                int32_t scalingKind, double factor,
                                int64_t originalMaxPosition,
                                double lowFreqFactor, double highFreqFactor,
                                double betaFast, double betaSlow,
                                double attentionFactor) {
  Launcher l("llmc_cuda_rope_inv_freq_at");
  std::optional<llmk::RopeFrequencies> freqs =
      hostFrequencies(l, positions, count, rotaryDim, theta,
                      {scalingKind, factor, originalMaxPosition, lowFreqFactor,
                       highFreqFactor, betaFast, betaSlow, attentionFactor},
                      -1);
  if (freqs)
    l.check(l.executor().upload(invFreq, freqs->invFreq.data(),
                                freqs->invFreq.size() * sizeof(float)));
}

void llmc_cuda_relative_position_bias(const float *table, float *out,
                                      int64_t heads, int64_t qLen,
                                      int64_t kvLen, int64_t numBuckets,
                                      int64_t maxDistance,
                                      int32_t bidirectional) {
  Launcher l("llmc_cuda_relative_position_bias");
  if (heads <= 0 || qLen <= 0 || kvLen <= 0 ||
      !l.fitsInt({heads * qLen, kvLen}))
    return;
  // Distances j - i + qLen - 1 in [0, qLen + kvLen - 1): relative
  // positions j - (i + kvLen - qLen) in [-(kvLen - 1), qLen - 1], within the
  // centered table of max(qLen, kvLen) positions each way.
  const int64_t count = std::max(qLen, kvLen);
  const int32_t *bucketOf =
      relativeBuckets(l, Launcher::kRelativeSlot, numBuckets, maxDistance,
                      bidirectional != 0, count);
  // Index j - i + qLen - 1 of the kernel is relative + kvLen - 1.
  l.launch("llmc_relative_bias", 0, {static_cast<unsigned>(heads * qLen)}, 128,
           {ptr(table), ptr(bucketOf ? bucketOf + (count - kvLen) : nullptr),
            ptr(out), i32(heads), i32(qLen), i32(kvLen)});
}

void llmc_cuda_alibi(float *out, int64_t heads, int64_t qLen, int64_t kvLen,
                     double maxBias) {
  Launcher l("llmc_cuda_alibi");
  if (heads <= 0 || qLen <= 0 || kvLen <= 0 ||
      !l.fitsInt({heads * qLen, kvLen}))
    return;
  std::vector<float> slopes(static_cast<size_t>(heads));
  llmk::alibiSlopes(heads, maxBias, slopes.data());
  const float *memory =
      uploadTable<float>(l, Launcher::kSlopesSlot, keyOf(slopes), slopes.size(),
                         [&] { return slopes; });
  l.launch("llmc_alibi", 0, {static_cast<unsigned>(heads * qLen)}, 128,
           {ptr(memory), ptr(out), i32(qLen), i32(kvLen)});
}

void llmc_cuda_matmul(const float *a, const float *b, float *c, int64_t batch,
                      int64_t m, int64_t k, int64_t n, int32_t transposeB) {
  Launcher l("llmc_cuda_matmul");
  if (!l.fitsInt({batch, m, k, n}) || batch * m * n == 0)
    return;
  l.launch(
      "llmc_matmul", 0,
      {ceilDiv(n, 128), static_cast<unsigned>(m), static_cast<unsigned>(batch)},
      128, {ptr(a), ptr(b), ptr(c), i32(m), i32(k), i32(n), i32(transposeB)});
}

void llmc_cuda_sample(const float *logits, int64_t batch, int64_t vocab,
                      const void *prev, int64_t prevLen, int32_t prevBytes,
                      void *out, int32_t outBytes, double temperature,
                      int64_t topK, double topP, double minP,
                      double repetitionPenalty, uint64_t seed,
                      uint64_t *state) {
  Launcher l("llmc_cuda_sample");
  if (!l.ok() || batch <= 0)
    return;
  // The runtime's sampler, as the CPU code calls it, on copies: the
  // logits and the history come back to the host, the ids go up. Its
  // generator state is the lowered module's host global.
  std::vector<float> hostLogits(static_cast<size_t>(batch * vocab));
  std::vector<uint8_t> hostPrev(
      prev ? static_cast<size_t>(batch * prevLen * prevBytes) : 0);
  std::vector<uint8_t> hostOut(static_cast<size_t>(batch * outBytes));
  l.check(l.executor().download(hostLogits.data(), logits,
                                hostLogits.size() * sizeof(float)));
  if (prev && !hostPrev.empty())
    l.check(l.executor().download(hostPrev.data(), prev, hostPrev.size()));
  if (!l.ok())
    return;
  llmrt_sample(hostLogits.data(), batch, vocab,
               prev ? hostPrev.data() : nullptr, prevLen, prevBytes,
               hostOut.data(), outBytes, temperature, topK, topP, minP,
               repetitionPenalty, seed, state);
  l.check(l.executor().upload(out, hostOut.data(), hostOut.size()));
}

void llmc_cuda_attention(const float *q, const float *k, const float *v,
                         const uint8_t *keyPadding, const float *bias,
                         int64_t biasBatchStride, int64_t biasHeadStride,
                         const float *alibiSlopes, float *out, int64_t batch,
                         int64_t qLen, int64_t kvLen, int64_t numHeads,
                         int64_t numKvHeads, int64_t headDim, int64_t vHeadDim,
                         float scale, int32_t maskKind, int64_t window) {
  Launcher l("llmc_cuda_attention");
  if (numKvHeads <= 0 || numHeads % numKvHeads != 0)
    return l.error("expected query heads a multiple of the " +
                   std::to_string(numKvHeads) + " kv heads, found " +
                   std::to_string(numHeads));
  if (headDim < 1 || headDim > 256 || vHeadDim < 1 || vHeadDim > 256)
    return l.error("expected head dimensions in [1, 256], found " +
                   std::to_string(headDim) + " and " +
                   std::to_string(vHeadDim));
  if (!l.fitsInt({batch * qLen, kvLen, numHeads, window}) || batch * qLen == 0)
    return;
  // FlashAttention on tensor cores where its tiles fit: head dimensions in
  // multiples of 16, whole sequences, a bias of [heads, qLen, kvLen] per
  // sequence. The fp32 kernel otherwise.
  const bool flash = headDim % 16 == 0 && vHeadDim == headDim && !keyPadding &&
                     maskKind != LLMK_MASK_PADDING &&
                     (!bias || biasHeadStride == qLen * kvLen);
  if (!flash) {
    l.launch(
        "llmc_attention_rows", 0,
        {static_cast<unsigned>(batch * qLen), static_cast<unsigned>(numHeads)},
        32,
        {ptr(q), ptr(k), ptr(v), ptr(keyPadding), ptr(bias),
         i64(biasBatchStride), i64(biasHeadStride), ptr(alibiSlopes), ptr(out),
         i32(qLen), i32(kvLen), i32(numHeads), i32(numKvHeads), i32(headDim),
         i32(vHeadDim), f32(scale), i32(maskKind), i32(window)});
    return;
  }
  for (int64_t b = 0; b < batch; ++b)
    l.launch("llmc_flash_attention", static_cast<int>(headDim),
             {ceilDiv(qLen, 64), static_cast<unsigned>(numHeads)}, 128,
             {ptr(q + b * qLen * numHeads * headDim),
              ptr(k + b * kvLen * numKvHeads * headDim),
              ptr(v + b * kvLen * numKvHeads * headDim), ptr(alibiSlopes),
              ptr(bias ? bias + b * biasBatchStride : nullptr), ptr(nullptr),
              ptr(out + b * qLen * numHeads * headDim), i32(qLen), i32(kvLen),
              i32(numHeads), i32(numKvHeads), i32(maskKind), i32(window),
              f32(scale)});
}

void llmc_cuda_kv_cache_append(LLMKCache *cache, int64_t layer,
                               const int32_t *slots, const float *k,
                               const float *v, int64_t tokens) {
  Launcher l("llmc_cuda_kv_cache_append");
  int dtype = 0;
  if (!cacheDtype(l, cache, &dtype) || tokens == 0)
    return;
  if (layer < 0 || layer >= cache->numLayers)
    return l.error("expected a layer in [0, " +
                   std::to_string(cache->numLayers) + "), found " +
                   std::to_string(layer));
  if (!l.fitsInt({tokens, cache->kvHeads, cache->headDim, cache->blockSize}))
    return;
  int *flag = l.errorFlag("a slot past the cache's " +
                          std::to_string(cache->numBlocks * cache->blockSize) +
                          " slots");
  l.launch("llmc_kv_cache_append", 0, {static_cast<unsigned>(tokens)}, 128,
           {ptr(cache->data), i32(dtype), ptr(cache->scales), ptr(slots),
            ptr(k), ptr(v), i64(cache->numBlocks), i32(layer),
            i32(cache->kvHeads), i32(cache->blockSize), i32(cache->headDim),
            ptr(flag)});
}

void llmc_cuda_paged_attention(const float *q, const LLMKCache *cache,
                               int64_t layer, const int32_t *blockTables,
                               int64_t maxBlocks, const int32_t *contextLens,
                               const float *alibiSlopes, const float *biasTable,
                               int64_t numBuckets, int64_t maxDistance,
                               int32_t bidirectionalBuckets, float *out,
                               int64_t batch, int64_t qLen, int64_t numHeads,
                               float scale, int32_t maskKind, int64_t window) {
  Launcher l("llmc_cuda_paged_attention");
  int dtype = 0;
  if (!cacheDtype(l, cache, &dtype))
    return;
  if (maskKind == LLMK_MASK_PADDING)
    return l.error("expected a causal, bidirectional or sliding-window "
                   "mask, found a padding mask");
  if (layer < 0 || layer >= cache->numLayers)
    return l.error("expected a layer in [0, " +
                   std::to_string(cache->numLayers) + "), found " +
                   std::to_string(layer));
  if (cache->kvHeads <= 0 || numHeads % cache->kvHeads != 0)
    return l.error("expected query heads a multiple of the cache's " +
                   std::to_string(cache->kvHeads) + " kv heads, found " +
                   std::to_string(numHeads));
  const int64_t rows = batch * qLen, d = cache->headDim;
  if (!attentionHeadDim(l, d) ||
      !l.fitsInt({rows, numHeads, maxBlocks, cache->blockSize, window}) ||
      rows == 0)
    return;
  // A prefill (16 queries or more) on tensor cores: each sequence's keys
  // and values gathered from the cache, then FlashAttention over them, the
  // length read on the device. T5's bias table stays on the split kernel.
  const int64_t capacity = maxBlocks * cache->blockSize;
  if (qLen >= 16 && d % 16 == 0 && !biasTable) {
    const size_t elements = size_t(capacity * cache->kvHeads * d);
    auto *keys = static_cast<float *>(
        l.scratch(Launcher::kGatherKSlot, elements * sizeof(float)));
    auto *values = static_cast<float *>(
        l.scratch(Launcher::kGatherVSlot, elements * sizeof(float)));
    for (int64_t b = 0; b < batch; ++b) {
      l.launch("llmc_gather_cache", 0, {static_cast<unsigned>(capacity)}, 128,
               {ptr(cache->data), i32(dtype), ptr(cache->scales),
                ptr(blockTables + b * maxBlocks), i32(cache->blockSize),
                i64(cache->numBlocks), i32(layer), i32(cache->kvHeads), i32(d),
                ptr(keys), ptr(values)});
      l.launch("llmc_flash_attention", static_cast<int>(d),
               {ceilDiv(qLen, 64), static_cast<unsigned>(numHeads)}, 128,
               {ptr(q + b * qLen * numHeads * d), ptr(keys), ptr(values),
                ptr(alibiSlopes), ptr(nullptr), ptr(contextLens + b),
                ptr(out + b * qLen * numHeads * d), i32(qLen), i32(capacity),
                i32(numHeads), i32(cache->kvHeads), i32(maskKind), i32(window),
                f32(scale)});
    }
    return;
  }
  // Flash-decoding: the keys a query may see split over enough blocks to
  // fill the device when there are few queries (decode); one split per
  // query when there are many (a prefill).
  const int64_t splits =
      rows * numHeads >= 1024
          ? 1
          : std::clamp<int64_t>((capacity + 255) / 256, 1, 32);
  // T5's relative bias: the bucket of every distance the table's capacity
  // allows, centered.
  const int32_t *bucketOf =
      biasTable
          ? relativeBuckets(l, Launcher::kBucketSlot, numBuckets, maxDistance,
                            bidirectionalBuckets != 0, capacity)
          : nullptr;
  float *partial = static_cast<float *>(l.scratch(
      Launcher::kPartialSlot, size_t(rows * numHeads * splits * d) * 4));
  float *states = static_cast<float *>(l.scratch(
      Launcher::kStatesSlot, size_t(rows * numHeads * splits * 2) * 4));
  l.launch("llmc_paged_attention_split", static_cast<int>(d),
           {static_cast<unsigned>(rows), static_cast<unsigned>(numHeads),
            static_cast<unsigned>(splits)},
           32,
           {ptr(q),
            ptr(cache->data),
            i32(dtype),
            ptr(cache->scales),
            ptr(blockTables),
            ptr(contextLens),
            ptr(alibiSlopes),
            ptr(biasTable),
            ptr(bucketOf),
            i32(capacity - 1),
            ptr(partial),
            ptr(states),
            i32(qLen),
            i32(numHeads),
            i32(cache->kvHeads),
            i32(maxBlocks),
            i32(cache->blockSize),
            i64(cache->numBlocks),
            i32(layer),
            i32(splits),
            f32(scale),
            i32(maskKind),
            i32(window)});
  l.launch("llmc_attention_reduce", static_cast<int>(d),
           {static_cast<unsigned>(rows), static_cast<unsigned>(numHeads)}, 64,
           {ptr(partial), ptr(states), ptr(out), i32(numHeads), i32(splits)});
}

} // extern "C"
