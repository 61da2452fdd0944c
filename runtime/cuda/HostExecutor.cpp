//===- HostExecutor.cpp - The CUDA kernels' launches run on the host ------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// A LaunchExecutor over host memory: each launch runs its kernel's
// computation as Kernels.cu defines it (the same __host__ __device__ math
// of Common.cuh, the same bf16 roundings, the same work per grid index),
// one grid index after another. Each launch's arguments are checked
// against the kernel's parameters (count and kinds) and its grid against
// the work the kernel maps to it, so that a launcher that passes a wrong
// argument, or too small a grid, fails here as it would misbehave on a
// device. What it cannot show is the kernels' own device code (their
// shuffles, shared memory and tensor-core fragments): the device tests of
// test/unit/Runtime/CudaKernelsTest.cpp check those against the CPU
// kernels on a GPU.
//
//===----------------------------------------------------------------------===//

#include "Launchers.h"

#include "kernels/Common.cuh"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <unordered_map>

using namespace llmrt;
using namespace llmrt::cuda;
using namespace llmc_cuda;

namespace {

/// The arguments of one launch, read with their expected kinds: a
/// mismatch, or a count other than the kernel's, is the launch's error.
class Args {
public:
  explicit Args(const KernelLaunch &launch) : launch(launch) {}

  template <typename T> T *p(size_t i) {
    return static_cast<T *>(const_cast<void *>(get(i, LaunchArg::Ptr).ptr));
  }
  int i32(size_t i) { return get(i, LaunchArg::I32).i32; }
  long long i64(size_t i) { return get(i, LaunchArg::I64).i64; }
  float f32(size_t i) { return get(i, LaunchArg::F32).f32; }

  /// Checks that the kernel read exactly its `count` parameters.
  Status finish(size_t count) {
    if (!error.empty())
      return Status::error(ErrorCode::Internal, error);
    if (launch.args.size() != count)
      return Status::error(ErrorCode::Internal,
                           launch.kernel + ": expected " +
                               std::to_string(count) + " arguments, found " +
                               std::to_string(launch.args.size()));
    return Status::ok();
  }

  /// Records that the grid does not cover `what`.
  void requireGrid(bool covers, const std::string &what) {
    if (!covers && error.empty())
      error = launch.kernel + ": the grid (" + std::to_string(launch.grid[0]) +
              ", " + std::to_string(launch.grid[1]) + ", " +
              std::to_string(launch.grid[2]) + ") x " +
              std::to_string(launch.block[0]) + " threads does not cover " +
              what;
  }

  const KernelLaunch &launch;

private:
  LaunchArg get(size_t i, LaunchArg::Kind kind) {
    static const char *names[] = {"a pointer", "an int", "a long long",
                                  "a float"};
    LaunchArg zero;
    zero.kind = kind;
    zero.i64 = 0;
    if (i >= launch.args.size()) {
      if (error.empty())
        error = launch.kernel + ": expected argument " + std::to_string(i) +
                ", found " + std::to_string(launch.args.size()) + " arguments";
      return zero;
    }
    if (launch.args[i].kind != kind) {
      if (error.empty())
        error = launch.kernel + ": argument " + std::to_string(i) +
                ": expected " + names[kind] + ", found " +
                names[launch.args[i].kind];
      return zero;
    }
    return launch.args[i];
  }
  std::string error;
};

float roundBf16(float x) { return bf16ToFloat(floatToBf16(x)); }

/// grid.x * block.x >= count: an elementwise kernel's coverage.
bool coversElements(const KernelLaunch &l, long long count) {
  return static_cast<long long>(l.grid[0]) * l.block[0] >= count;
}

using Kernel = std::function<Status(Args &)>;

Status linearRows(Args &a) {
  const void *w = a.p<const void>(0);
  int dtype = a.i32(1);
  const float *x = a.p<const float>(2), *bias = a.p<const float>(3);
  float *y = a.p<float>(4);
  int m = a.i32(5), n = a.i32(6), k = a.i32(7);
  a.requireGrid(a.launch.grid[0] * (a.launch.block[0] / 32) >=
                        static_cast<unsigned>(n) &&
                    a.launch.grid[1] >= static_cast<unsigned>(m),
                "the m x n outputs (a warp each)");
  if (Status s = a.finish(8); !s.isOk())
    return s;
  for (int r = 0; r < m; ++r)
    for (int j = 0; j < n; ++j) {
      float acc = 0.0f;
      for (int i = 0; i < k; ++i)
        acc += weightAt(w, dtype, static_cast<long long>(j) * k + i) *
               x[static_cast<long long>(r) * k + i];
      y[static_cast<long long>(r) * n + j] = bias ? acc + bias[j] : acc;
    }
  return Status::ok();
}

Status toBf16(Args &a) {
  const float *x = a.p<const float>(0);
  unsigned short *y = a.p<unsigned short>(1);
  long long count = a.i64(2);
  a.requireGrid(coversElements(a.launch, count), "the elements");
  if (Status s = a.finish(3); !s.isOk())
    return s;
  for (long long i = 0; i < count; ++i)
    y[i] = floatToBf16(x[i]);
  return Status::ok();
}

/// llmc_gemm_bf16 and llmc_gemm_w: C = A W^T, A bf16, W rounded to bf16.
Status gemm(Args &a, bool weightDtypeArg) {
  size_t i = 0;
  const unsigned short *act = a.p<const unsigned short>(i++);
  const void *w = a.p<const void>(i++);
  int dtype = weightDtypeArg ? a.i32(i++) : kDtypeBF16;
  float *c = a.p<float>(i++);
  int m = a.i32(i++), n = a.i32(i++), k = a.i32(i++);
  a.requireGrid(a.launch.grid[0] * 64ull >= static_cast<unsigned>(n) &&
                    a.launch.grid[1] * 64ull >= static_cast<unsigned>(m) &&
                    a.launch.block[0] == 128,
                "the 64 x 64 tiles of C (4 warps each)");
  if (k % 2 != 0)
    return Status::error(ErrorCode::Internal,
                         a.launch.kernel + ": expected an even k, found " +
                             std::to_string(k));
  if (Status s = a.finish(i); !s.isOk())
    return s;
  std::vector<float> wt(static_cast<size_t>(n) * k);
  for (size_t e = 0; e < wt.size(); ++e)
    wt[e] = roundBf16(weightAt(w, dtype, static_cast<long long>(e)));
  for (int r = 0; r < m; ++r)
    for (int j = 0; j < n; ++j) {
      float acc = 0.0f;
      for (int e = 0; e < k; ++e)
        acc += bf16ToFloat(act[static_cast<long long>(r) * k + e]) *
               wt[static_cast<size_t>(j) * k + e];
      c[static_cast<long long>(r) * n + j] = acc;
    }
  return Status::ok();
}

Status gemvQ(Args &a) {
  const unsigned char *w = a.p<const unsigned char>(0);
  const float *x = a.p<const float>(1);
  float *y = a.p<float>(2);
  int n = a.i32(3), k = a.i32(4), bits = a.i32(5), group = a.i32(6);
  a.requireGrid(a.launch.grid[0] * (a.launch.block[0] / 32) >=
                    static_cast<unsigned>(n),
                "the n outputs (a warp each)");
  if (Status s = a.finish(7); !s.isOk())
    return s;
  for (int j = 0; j < n; ++j) {
    float acc = 0.0f;
    for (int i = 0; i < k; ++i)
      acc += dequantizeElement(w, n, k, bits, group, j, i) * x[i];
    y[j] = acc;
  }
  return Status::ok();
}

/// llmc_gemm_q: A bf16, the dequantized weight rounded to bf16.
Status gemmQ(Args &a) {
  const unsigned short *act = a.p<const unsigned short>(0);
  const unsigned char *w = a.p<const unsigned char>(1);
  float *c = a.p<float>(2);
  int m = a.i32(3), n = a.i32(4), k = a.i32(5), bits = a.i32(6),
      group = a.i32(7);
  a.requireGrid(a.launch.grid[0] * 64ull >= static_cast<unsigned>(n) &&
                    a.launch.grid[1] * 64ull >= static_cast<unsigned>(m) &&
                    a.launch.block[0] == 128,
                "the 64 x 64 tiles of C (4 warps each)");
  if (Status s = a.finish(8); !s.isOk())
    return s;
  std::vector<float> wt(static_cast<size_t>(n) * k);
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < k; ++i)
      wt[static_cast<size_t>(j) * k + i] =
          roundBf16(dequantizeElement(w, n, k, bits, group, j, i));
  for (int r = 0; r < m; ++r)
    for (int j = 0; j < n; ++j) {
      float acc = 0.0f;
      for (int i = 0; i < k; ++i)
        acc += bf16ToFloat(act[static_cast<long long>(r) * k + i]) *
               wt[static_cast<size_t>(j) * k + i];
      c[static_cast<long long>(r) * n + j] = acc;
    }
  return Status::ok();
}

Status addBias(Args &a) {
  float *y = a.p<float>(0);
  const float *bias = a.p<const float>(1);
  long long count = a.i64(2);
  int n = a.i32(3);
  a.requireGrid(coversElements(a.launch, count), "the elements");
  if (Status s = a.finish(4); !s.isOk())
    return s;
  for (long long i = 0; i < count; ++i)
    y[i] += bias[i % n];
  return Status::ok();
}

Status rope(Args &a) {
  const float *x = a.p<const float>(0);
  const long long *positions = a.p<const long long>(1);
  const float *invFreq = a.p<const float>(2);
  float *y = a.p<float>(3);
  int heads = a.i32(4), headDim = a.i32(5), rotaryDim = a.i32(6),
      gptj = a.i32(7);
  float scaling = a.f32(8);
  if (Status s = a.finish(9); !s.isOk())
    return s;
  const int half = rotaryDim / 2;
  for (unsigned token = 0; token < a.launch.grid[0]; ++token) {
    const long long base = static_cast<long long>(token) * heads * headDim;
    const float position = static_cast<float>(positions[token]);
    for (int head = 0; head < heads; ++head) {
      const long long at = base + static_cast<long long>(head) * headDim;
      for (int pair = 0; pair < half; ++pair) {
        const float angle = position * invFreq[pair];
        const float c = static_cast<float>(std::cos(double(angle))) * scaling;
        const float s = static_cast<float>(std::sin(double(angle))) * scaling;
        int i1, i2;
        ropePair(pair, rotaryDim, gptj, &i1, &i2);
        float y1, y2;
        ropeRotate(x[at + i1], x[at + i2], c, s, &y1, &y2);
        y[at + i1] = y1;
        y[at + i2] = y2;
      }
      if (x != y)
        for (int d = rotaryDim; d < headDim; ++d)
          y[at + d] = x[at + d];
    }
  }
  return Status::ok();
}

Status embedding(Args &a) {
  const long long *ids = a.p<const long long>(0);
  const void *table = a.p<const void>(1);
  int dtype = a.i32(2);
  float *out = a.p<float>(3);
  int vocab = a.i32(4), dim = a.i32(5);
  int *error = a.p<int>(6);
  if (Status s = a.finish(7); !s.isOk())
    return s;
  // The kernel's numbering: fp32 0, bf16 1, f16 2.
  const int weightDtype = dtype == 0   ? kDtypeF32
                          : dtype == 1 ? kDtypeBF16
                                       : kDtypeF16;
  for (unsigned t = 0; t < a.launch.grid[0]; ++t) {
    const long long id = ids[t];
    const bool valid = id >= 0 && id < vocab;
    if (!valid)
      *error = 1;
    for (int i = 0; i < dim; ++i)
      out[static_cast<long long>(t) * dim + i] =
          valid ? weightAt(table, weightDtype, id * dim + i) : 0.0f;
  }
  return Status::ok();
}

Status rmsNorm(Args &a) {
  const float *x = a.p<const float>(0), *w = a.p<const float>(1);
  float *y = a.p<float>(2);
  int cols = a.i32(3);
  float eps = a.f32(4), offset = a.f32(5);
  if (Status s = a.finish(6); !s.isOk())
    return s;
  for (unsigned r = 0; r < a.launch.grid[0]; ++r) {
    const float *row = x + static_cast<long long>(r) * cols;
    float squares = 0.0f;
    for (int i = 0; i < cols; ++i)
      squares += row[i] * row[i];
    const float scale = 1.0f / std::sqrt(squares / cols + eps);
    for (int i = 0; i < cols; ++i)
      y[static_cast<long long>(r) * cols + i] =
          row[i] * scale * (w[i] + offset);
  }
  return Status::ok();
}

Status layerNorm(Args &a) {
  const float *x = a.p<const float>(0), *w = a.p<const float>(1),
              *b = a.p<const float>(2);
  float *y = a.p<float>(3);
  int cols = a.i32(4);
  float eps = a.f32(5);
  if (Status s = a.finish(6); !s.isOk())
    return s;
  for (unsigned r = 0; r < a.launch.grid[0]; ++r) {
    const float *row = x + static_cast<long long>(r) * cols;
    float sum = 0.0f;
    for (int i = 0; i < cols; ++i)
      sum += row[i];
    const float mean = sum / cols;
    float squares = 0.0f;
    for (int i = 0; i < cols; ++i)
      squares += (row[i] - mean) * (row[i] - mean);
    const float inverse = 1.0f / std::sqrt(squares / cols + eps);
    for (int i = 0; i < cols; ++i) {
      const float value = (row[i] - mean) * inverse * w[i];
      y[static_cast<long long>(r) * cols + i] = b ? value + b[i] : value;
    }
  }
  return Status::ok();
}

Status softmaxRows(Args &a) {
  const float *x = a.p<const float>(0);
  float *y = a.p<float>(1);
  int rows = a.i32(2), cols = a.i32(3);
  a.requireGrid(a.launch.grid[0] * (a.launch.block[0] / 32) >=
                    static_cast<unsigned>(rows),
                "the rows (a warp each)");
  if (Status s = a.finish(4); !s.isOk())
    return s;
  for (int r = 0; r < rows; ++r) {
    const float *in = x + static_cast<long long>(r) * cols;
    OnlineSoftmax state = onlineSoftmaxEmpty();
    for (int i = 0; i < cols; ++i)
      state = onlineSoftmaxAdd(state, in[i]);
    for (int i = 0; i < cols; ++i)
      y[static_cast<long long>(r) * cols + i] =
          onlineSoftmaxProbability(state, in[i]);
  }
  return Status::ok();
}

Status gelu(Args &a) {
  const float *x = a.p<const float>(0);
  float *y = a.p<float>(1);
  long long count = a.i64(2);
  int tanhApprox = a.i32(3);
  a.requireGrid(coversElements(a.launch, count), "the elements");
  if (Status s = a.finish(4); !s.isOk())
    return s;
  for (long long i = 0; i < count; ++i)
    y[i] = geluOf(x[i], tanhApprox);
  return Status::ok();
}

Status glu(Args &a) {
  const float *gate = a.p<const float>(0), *up = a.p<const float>(1);
  float *y = a.p<float>(2);
  long long count = a.i64(3);
  int activation = a.i32(4);
  a.requireGrid(coversElements(a.launch, count), "the elements");
  if (Status s = a.finish(5); !s.isOk())
    return s;
  for (long long i = 0; i < count; ++i) {
    const float g = gate[i];
    float act;
    if (activation == 0)
      act = g / (1.0f + expOf(-g));
    else if (activation == 3)
      act = g > 0.0f ? g : 0.0f;
    else
      act = geluOf(g, activation == 2);
    y[i] = act * up[i];
  }
  return Status::ok();
}

Status sigmoidGate(Args &a) {
  const float *x = a.p<const float>(0), *gate = a.p<const float>(1);
  float *y = a.p<float>(2);
  long long count = a.i64(3);
  int cols = a.i32(4), gateCols = a.i32(5);
  a.requireGrid(coversElements(a.launch, count), "the elements");
  if (Status s = a.finish(6); !s.isOk())
    return s;
  for (long long i = 0; i < count; ++i)
    y[i] = x[i] / (1.0f + expOf(-gate[gateCols == 1 ? i / cols : i]));
  return Status::ok();
}

Status binary(Args &a) {
  const float *x = a.p<const float>(0), *b = a.p<const float>(1);
  float *y = a.p<float>(2);
  long long count = a.i64(3);
  int op = a.i32(4);
  float s = a.f32(5);
  a.requireGrid(coversElements(a.launch, count), "the elements");
  if (Status st = a.finish(6); !st.isOk())
    return st;
  for (long long i = 0; i < count; ++i)
    y[i] = op == 0   ? x[i] + b[i]
           : op == 1 ? x[i] * b[i]
           : op == 2 ? x[i] - b[i]
           : op == 3 ? x[i] * s
           : op == 4 ? (x[i] > 0.0f || x[i] != x[i] ? x[i] : 0.0f)
                     : x[i] / (1.0f + expOf(-x[i]));
  return Status::ok();
}

Status kvCacheAppend(Args &a) {
  void *cache = a.p<void>(0);
  int dtype = a.i32(1);
  float *scales = a.p<float>(2);
  const int *slots = a.p<const int>(3);
  const float *k = a.p<const float>(4), *v = a.p<const float>(5);
  long long numBlocks = a.i64(6);
  int layer = a.i32(7), kvHeads = a.i32(8), blockSize = a.i32(9),
      headDim = a.i32(10);
  int *error = a.p<int>(11);
  if (Status s = a.finish(12); !s.isOk())
    return s;
  for (unsigned t = 0; t < a.launch.grid[0]; ++t) {
    const int slot = slots[t];
    if (slot < 0)
      continue;
    if (slot >= numBlocks * blockSize) {
      *error = 1;
      continue;
    }
    const long long row = static_cast<long long>(t) * kvHeads * headDim;
    for (int head = 0; head < kvHeads; ++head)
      for (int kv = 0; kv < 2; ++kv) {
        const float *src = (kv ? v : k) + row + head * headDim;
        const long long at = cacheRowOffset(numBlocks, kvHeads, blockSize,
                                            headDim, layer, slot, kv, head);
        if (dtype == kDtypeI8) {
          float absmax = 0.0f;
          for (int d = 0; d < headDim; ++d)
            absmax = std::max(absmax, std::fabs(src[d]));
          const float scale = absmax / 127.0f;
          const float inverse = scale > 0.0f ? 1.0f / scale : 0.0f;
          scales[at / headDim] = scale;
          for (int d = 0; d < headDim; ++d)
            static_cast<signed char *>(cache)[at + d] =
                static_cast<signed char>(roundToInt(src[d] * inverse));
          continue;
        }
        for (int d = 0; d < headDim; ++d) {
          if (dtype == kDtypeF32)
            static_cast<float *>(cache)[at + d] = src[d];
          else
            static_cast<unsigned short *>(cache)[at + d] =
                dtype == kDtypeBF16 ? floatToBf16(src[d]) : floatToHalf(src[d]);
        }
      }
  }
  return Status::ok();
}

Status pagedAttentionSplit(Args &a) {
  const int D = a.launch.headDim;
  const float *q = a.p<const float>(0);
  const void *cache = a.p<const void>(1);
  int dtype = a.i32(2);
  const float *scales = a.p<const float>(3);
  const int *tables = a.p<const int>(4), *lens = a.p<const int>(5);
  const float *slopes = a.p<const float>(6), *biasTable = a.p<const float>(7);
  const int *bucketOf = a.p<const int>(8);
  int bucketCenter = a.i32(9);
  float *partial = a.p<float>(10), *states = a.p<float>(11);
  int qLen = a.i32(12), heads = a.i32(13), kvHeads = a.i32(14),
      tableWidth = a.i32(15), blockSize = a.i32(16);
  long long numBlocks = a.i64(17);
  int layer = a.i32(18), splits = a.i32(19);
  float scale = a.f32(20);
  int mask = a.i32(21), window = a.i32(22);
  a.requireGrid(a.launch.grid[1] == static_cast<unsigned>(heads) &&
                    a.launch.grid[2] == static_cast<unsigned>(splits) &&
                    a.launch.block[0] == 32,
                "(rows, heads, splits) with a warp each");
  if (Status s = a.finish(23); !s.isOk())
    return s;
  for (unsigned row = 0; row < a.launch.grid[0]; ++row)
    for (int head = 0; head < heads; ++head)
      for (int split = 0; split < splits; ++split) {
        const int seq = row / qLen, i = row % qLen;
        const int kvHead = head / (heads / kvHeads);
        const int len = lens[seq];
        int first, last;
        visibleKeyRange(i, qLen, len, mask, window, &first, &last);
        const int per = (last - first + splits - 1) / splits;
        const int begin = first + split * per;
        const int end = std::min(last, begin + per);
        const float slope = slopes ? slopes[head] : 0.0f;
        const int position = len - qLen + i;
        const float *query =
            q + (static_cast<long long>(row) * heads + head) * D;
        std::vector<float> acc(D, 0.0f);
        OnlineSoftmax s = onlineSoftmaxEmpty();
        const int *table = tables + static_cast<long long>(seq) * tableWidth;
        for (int pos = begin; pos < end; ++pos) {
          const int slot = pagedSlot(table, blockSize, pos);
          if (slot < 0)
            continue;
          const long long kAt = cacheRowOffset(numBlocks, kvHeads, blockSize, D,
                                               layer, slot, 0, kvHead);
          const long long vAt = cacheRowOffset(numBlocks, kvHeads, blockSize, D,
                                               layer, slot, 1, kvHead);
          float dot = 0.0f;
          for (int d = 0; d < D; ++d)
            dot += query[d] * scale * cacheAt(cache, dtype, scales, kAt + d, D);
          dot += slope * static_cast<float>(pos - position);
          if (biasTable)
            dot += biasTable[bucketOf[pos - position + bucketCenter] * heads +
                             head];
          OnlineSoftmax next = onlineSoftmaxAdd(s, dot);
          const float rescale =
              s.max == LLMC_NEG_INF ? 0.0f : expOf(s.max - next.max);
          const float weight = expOf(dot - next.max);
          for (int d = 0; d < D; ++d)
            acc[d] = acc[d] * rescale +
                     weight * cacheAt(cache, dtype, scales, vAt + d, D);
          s = next;
        }
        const long long out =
            (static_cast<long long>(row) * heads + head) * splits + split;
        for (int d = 0; d < D; ++d)
          partial[out * D + d] = acc[d];
        states[2 * out] = s.max;
        states[2 * out + 1] = s.sum;
      }
  return Status::ok();
}

Status attentionReduce(Args &a) {
  const int D = a.launch.headDim;
  const float *partial = a.p<const float>(0), *states = a.p<const float>(1);
  float *out = a.p<float>(2);
  int heads = a.i32(3), splits = a.i32(4);
  a.requireGrid(a.launch.grid[1] == static_cast<unsigned>(heads),
                "(rows, heads)");
  if (Status s = a.finish(5); !s.isOk())
    return s;
  for (unsigned row = 0; row < a.launch.grid[0]; ++row)
    for (int head = 0; head < heads; ++head) {
      const long long first =
          (static_cast<long long>(row) * heads + head) * splits;
      OnlineSoftmax total = onlineSoftmaxEmpty();
      for (int i = 0; i < splits; ++i)
        total = onlineSoftmaxMerge(total,
                                   OnlineSoftmax{states[2 * (first + i)],
                                                 states[2 * (first + i) + 1]});
      for (int d = 0; d < D; ++d) {
        float value = 0.0f;
        for (int i = 0; i < splits; ++i) {
          const float max = states[2 * (first + i)];
          if (max != LLMC_NEG_INF)
            value += expOf(max - total.max) * partial[(first + i) * D + d];
        }
        out[(static_cast<long long>(row) * heads + head) * D + d] =
            total.sum > 0.0f ? value / total.sum : 0.0f;
      }
    }
  return Status::ok();
}

/// FlashAttention's result with its roundings: Q * scale, K, V and the
/// probabilities P in bf16, sums in fp32 (the online softmax over tiles
/// of 64 keys gives the same probabilities up to fp32 rounding).
Status flashAttention(Args &a) {
  const int D = a.launch.headDim;
  const float *q = a.p<const float>(0), *k = a.p<const float>(1),
              *v = a.p<const float>(2), *slopes = a.p<const float>(3),
              *bias = a.p<const float>(4);
  const int *kvLens = a.p<const int>(5);
  float *out = a.p<float>(6);
  int qLen = a.i32(7), kvLenArg = a.i32(8), heads = a.i32(9),
      kvHeads = a.i32(10), mask = a.i32(11), window = a.i32(12);
  float scale = a.f32(13);
  const int kvLen = kvLens ? *kvLens : kvLenArg;
  a.requireGrid(a.launch.grid[0] * 64ull >= static_cast<unsigned>(qLen) &&
                    a.launch.grid[1] == static_cast<unsigned>(heads) &&
                    a.launch.block[0] == 128,
                "the query tiles of 64 per head");
  if (Status s = a.finish(14); !s.isOk())
    return s;
  std::vector<float> scores(kvLen);
  for (int head = 0; head < heads; ++head) {
    const int kvHead = head / (heads / kvHeads);
    const float slope = slopes ? slopes[head] : 0.0f;
    for (int i = 0; i < qLen; ++i) {
      int first, last;
      visibleKeyRange(i, qLen, kvLen, mask, window, &first, &last);
      const float *query = q + (static_cast<long long>(i) * heads + head) * D;
      float max = LLMC_NEG_INF;
      for (int j = first; j < last; ++j) {
        const float *key =
            k + (static_cast<long long>(j) * kvHeads + kvHead) * D;
        float dot = 0.0f;
        for (int d = 0; d < D; ++d)
          dot += roundBf16(query[d] * scale) * roundBf16(key[d]);
        dot += slope * static_cast<float>(j - (i + kvLen - qLen));
        if (bias)
          dot += bias[(static_cast<long long>(head) * qLen + i) * kvLen + j];
        scores[j] = dot;
        max = std::max(max, dot);
      }
      float sum = 0.0f;
      std::vector<float> o(D, 0.0f);
      for (int j = first; j < last; ++j) {
        const float p = expOf(scores[j] - max);
        sum += p;
        const float *value =
            v + (static_cast<long long>(j) * kvHeads + kvHead) * D;
        for (int d = 0; d < D; ++d)
          o[d] += roundBf16(p) * roundBf16(value[d]);
      }
      float *dst = out + (static_cast<long long>(i) * heads + head) * D;
      for (int d = 0; d < D; ++d)
        dst[d] = sum > 0.0f ? o[d] / sum : 0.0f;
    }
  }
  return Status::ok();
}

Status moeRoute(Args &a) {
  const float *logits = a.p<const float>(0);
  float *weights = a.p<float>(1);
  int *indices = a.p<int>(2);
  int tokens = a.i32(3), experts = a.i32(4), topK = a.i32(5),
      normalize = a.i32(6);
  a.requireGrid(coversElements(a.launch, tokens), "the tokens");
  if (Status s = a.finish(7); !s.isOk())
    return s;
  for (int t = 0; t < tokens; ++t) {
    const float *row = logits + static_cast<long long>(t) * experts;
    float max = LLMC_NEG_INF;
    for (int e = 0; e < experts; ++e)
      max = std::max(max, row[e]);
    float sum = 0.0f;
    for (int e = 0; e < experts; ++e)
      sum += expOf(row[e] - max);
    std::vector<bool> taken(experts, false);
    float total = 0.0f;
    for (int j = 0; j < topK; ++j) {
      int best = -1;
      float bestP = 0.0f;
      for (int e = 0; e < experts; ++e) {
        if (taken[e])
          continue;
        const float p = expOf(row[e] - max) / sum;
        if (best < 0 || p > bestP) {
          best = e;
          bestP = p;
        }
      }
      taken[best] = true;
      indices[t * topK + j] = best;
      weights[t * topK + j] = bestP;
      total += bestP;
    }
    if (normalize)
      for (int j = 0; j < topK; ++j)
        weights[t * topK + j] /= total;
  }
  return Status::ok();
}

Status moeOffsets(Args &a) {
  const int *indices = a.p<const int>(0);
  int *offsets = a.p<int>(1), *sources = a.p<int>(2), *next = a.p<int>(3);
  int rows = a.i32(4), experts = a.i32(5), capacity = a.i32(6);
  int *error = a.p<int>(7);
  if (Status s = a.finish(8); !s.isOk())
    return s;
  std::fill(offsets, offsets + experts + 1, 0);
  for (int i = 0; i < rows; ++i) {
    if (indices[i] < 0 || indices[i] >= experts) {
      *error = 1;
      return Status::ok();
    }
    ++offsets[indices[i] + 1];
  }
  if (capacity > 0)
    for (int e = 0; e < experts; ++e)
      offsets[e + 1] = std::min(offsets[e + 1], capacity);
  for (int e = 0; e < experts; ++e) {
    offsets[e + 1] += offsets[e];
    next[e] = offsets[e];
  }
  int dropped = offsets[experts];
  for (int i = 0; i < rows; ++i) {
    const int e = indices[i];
    if (next[e] < offsets[e + 1])
      sources[next[e]++] = i;
    else
      sources[dropped++] = -1;
  }
  return Status::ok();
}

Status moeGather(Args &a) {
  const float *x = a.p<const float>(0);
  const int *sources = a.p<const int>(1);
  float *permuted = a.p<float>(2);
  int hidden = a.i32(3), topK = a.i32(4);
  if (Status s = a.finish(5); !s.isOk())
    return s;
  for (unsigned r = 0; r < a.launch.grid[0]; ++r)
    for (int i = 0; i < hidden; ++i)
      permuted[static_cast<long long>(r) * hidden + i] =
          sources[r] >= 0
              ? x[static_cast<long long>(sources[r] / topK) * hidden + i]
              : 0.0f;
  return Status::ok();
}

/// Kernels.cu's expertWeight and expertOfRow.
float expertWeight(const void *w, int dtype, int bits, int group,
                   long long expertBytes, int n, int k, int e, int row,
                   int col) {
  if (bits == 0)
    return weightAt(w, dtype, (static_cast<long long>(e) * n + row) * k + col);
  return dequantizeElement(static_cast<const unsigned char *>(w) +
                               e * expertBytes,
                           n, k, bits, group, row, col);
}
int expertOfRow(const int *offsets, int experts, int r) {
  if (r >= offsets[experts])
    return -1;
  int e = 0;
  while (e + 1 < experts && offsets[e + 1] <= r)
    ++e;
  return e;
}

/// llmc_grouped_rows and llmc_grouped_gemm (A bf16, weights rounded to
/// bf16; rows past offsets[experts] left to llmc_grouped_tail).
Status groupedProjection(Args &a, bool gemm) {
  const void *in = a.p<const void>(0);
  const void *w = a.p<const void>(1);
  int dtype = a.i32(2), bits = a.i32(3), group = a.i32(4);
  long long expertBytes = a.i64(5);
  const int *offsets = a.p<const int>(6);
  float *y = a.p<float>(7);
  int n = a.i32(8), k = a.i32(9), experts = a.i32(10);
  if (Status s = a.finish(11); !s.isOk())
    return s;
  const int rows = gemm ? offsets[experts] : static_cast<int>(a.launch.grid[1]);
  if (gemm)
    a.requireGrid(a.launch.grid[0] * 64ull >= static_cast<unsigned>(n) &&
                      a.launch.block[0] == 128,
                  "the 64-column tiles");
  else
    a.requireGrid(a.launch.grid[0] * (a.launch.block[0] / 32) >=
                      static_cast<unsigned>(n),
                  "the n outputs (a warp each)");
  if (gemm) {
    // Every group's row tiles must fit in grid.y.
    long long tiles = 0;
    for (int e = 0; e < experts; ++e)
      tiles += (offsets[e + 1] - offsets[e] + 63) / 64;
    a.requireGrid(static_cast<long long>(a.launch.grid[1]) >= tiles,
                  "every expert's row tiles");
  }
  if (Status s = a.finish(11); !s.isOk())
    return s;
  for (int r = 0; r < rows; ++r) {
    const int e = expertOfRow(offsets, experts, r);
    for (int j = 0; j < n; ++j) {
      float acc = 0.0f;
      if (e >= 0)
        for (int i = 0; i < k; ++i) {
          float weight =
              expertWeight(w, dtype, bits, group, expertBytes, n, k, e, j, i);
          float x = gemm ? bf16ToFloat(static_cast<const unsigned short *>(
                               in)[static_cast<long long>(r) * k + i])
                         : static_cast<const float *>(
                               in)[static_cast<long long>(r) * k + i];
          acc += (gemm ? roundBf16(weight) : weight) * x;
        }
      y[static_cast<long long>(r) * n + j] = acc;
    }
  }
  return Status::ok();
}

Status groupedTail(Args &a) {
  const int *offsets = a.p<const int>(0);
  float *y = a.p<float>(1);
  int n = a.i32(2), experts = a.i32(3);
  if (Status s = a.finish(4); !s.isOk())
    return s;
  for (unsigned r = offsets[experts]; r < a.launch.grid[0]; ++r)
    for (int i = 0; i < n; ++i)
      y[static_cast<long long>(r) * n + i] = 0.0f;
  return Status::ok();
}

Status moeRowsOf(Args &a) {
  const int *sources = a.p<const int>(0);
  int *rowOf = a.p<int>(1);
  int rows = a.i32(2);
  if (Status s = a.finish(3); !s.isOk())
    return s;
  std::fill(rowOf, rowOf + rows, -1);
  for (int r = 0; r < rows; ++r)
    if (sources[r] >= 0)
      rowOf[sources[r]] = r;
  return Status::ok();
}

Status moeCombine(Args &a) {
  const float *expertOut = a.p<const float>(0), *weights = a.p<const float>(1);
  const int *rowOf = a.p<const int>(2);
  float *y = a.p<float>(3);
  int hidden = a.i32(4), topK = a.i32(5);
  if (Status s = a.finish(6); !s.isOk())
    return s;
  for (unsigned t = 0; t < a.launch.grid[0]; ++t) {
    std::vector<std::pair<int, int>> rows; // (row, choice), by row.
    for (int j = 0; j < topK; ++j)
      if (int r = rowOf[t * topK + j]; r >= 0)
        rows.emplace_back(r, t * topK + j);
    std::sort(rows.begin(), rows.end());
    for (int i = 0; i < hidden; ++i) {
      float acc = 0.0f;
      for (auto [r, c] : rows)
        acc += expertOut[static_cast<long long>(r) * hidden + i] * weights[c];
      y[static_cast<long long>(t) * hidden + i] = acc;
    }
  }
  return Status::ok();
}

Status attentionRows(Args &a) {
  const float *q = a.p<const float>(0), *k = a.p<const float>(1),
              *v = a.p<const float>(2);
  const unsigned char *padding = a.p<const unsigned char>(3);
  const float *bias = a.p<const float>(4);
  long long batchStride = a.i64(5), headStride = a.i64(6);
  const float *slopes = a.p<const float>(7);
  float *out = a.p<float>(8);
  int qLen = a.i32(9), kvLen = a.i32(10), heads = a.i32(11),
      kvHeads = a.i32(12), headDim = a.i32(13), vHeadDim = a.i32(14);
  float scale = a.f32(15);
  int mask = a.i32(16), window = a.i32(17);
  a.requireGrid(a.launch.grid[1] == static_cast<unsigned>(heads) &&
                    a.launch.block[0] == 32 && a.launch.grid[0] % qLen == 0,
                "(batch x query rows, heads) with a warp each");
  if (headDim > 256 || vHeadDim > 256)
    return Status::error(ErrorCode::Internal,
                         "llmc_attention_rows: head dimensions above 256");
  if (Status s = a.finish(18); !s.isOk())
    return s;
  for (unsigned row = 0; row < a.launch.grid[0]; ++row)
    for (int head = 0; head < heads; ++head) {
      const int b = row / qLen, i = row % qLen;
      const int kvHead = head / (heads / kvHeads);
      const float *query =
          q + (static_cast<long long>(row) * heads + head) * headDim;
      int first, last;
      visibleKeyRange(i, qLen, kvLen, mask == 3 ? kMaskBidirectional : mask,
                      window, &first, &last);
      const int position = i + kvLen - qLen;
      const float *biasRow = bias ? bias + b * batchStride + head * headStride +
                                        static_cast<long long>(i) * kvLen
                                  : nullptr;
      std::vector<float> acc(vHeadDim, 0.0f);
      OnlineSoftmax s = onlineSoftmaxEmpty();
      for (int j = first; j < last; ++j) {
        if (padding && !padding[static_cast<long long>(b) * kvLen + j])
          continue;
        const float *key =
            k + ((static_cast<long long>(b) * kvLen + j) * kvHeads + kvHead) *
                    headDim;
        float dot = 0.0f;
        for (int d = 0; d < headDim; ++d)
          dot += query[d] * key[d];
        float score = dot * scale;
        if (biasRow)
          score += biasRow[j];
        if (slopes)
          score += slopes[head] * static_cast<float>(j - position);
        if (score == LLMC_NEG_INF)
          continue;
        OnlineSoftmax next = onlineSoftmaxAdd(s, score);
        const float rescale =
            s.max == LLMC_NEG_INF ? 0.0f : expOf(s.max - next.max);
        const float weight = expOf(score - next.max);
        const float *value =
            v + ((static_cast<long long>(b) * kvLen + j) * kvHeads + kvHead) *
                    vHeadDim;
        for (int d = 0; d < vHeadDim; ++d)
          acc[d] = acc[d] * rescale + weight * value[d];
        s = next;
      }
      float *dst =
          out + (static_cast<long long>(row) * heads + head) * vHeadDim;
      for (int d = 0; d < vHeadDim; ++d)
        dst[d] = s.sum > 0.0f ? acc[d] / s.sum : 0.0f;
    }
  return Status::ok();
}

Status relativeBias(Args &a) {
  const float *table = a.p<const float>(0);
  const int *bucketOf = a.p<const int>(1);
  float *out = a.p<float>(2);
  int heads = a.i32(3), qLen = a.i32(4), kvLen = a.i32(5);
  a.requireGrid(a.launch.grid[0] == static_cast<unsigned>(heads * qLen),
                "the (head, query) rows");
  if (Status s = a.finish(6); !s.isOk())
    return s;
  for (int h = 0; h < heads; ++h)
    for (int i = 0; i < qLen; ++i)
      for (int j = 0; j < kvLen; ++j)
        out[(static_cast<long long>(h) * qLen + i) * kvLen + j] =
            table[bucketOf[j - i + qLen - 1] * heads + h];
  return Status::ok();
}

Status matmul(Args &a) {
  const float *x = a.p<const float>(0), *b = a.p<const float>(1);
  float *c = a.p<float>(2);
  int m = a.i32(3), k = a.i32(4), n = a.i32(5), transposeB = a.i32(6);
  a.requireGrid(a.launch.grid[0] * a.launch.block[0] >=
                        static_cast<unsigned>(n) &&
                    a.launch.grid[1] == static_cast<unsigned>(m),
                "the m x n outputs of each product");
  if (Status s = a.finish(7); !s.isOk())
    return s;
  for (unsigned z = 0; z < a.launch.grid[2]; ++z)
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j) {
        const float *row = x + (static_cast<long long>(z) * m + i) * k;
        const float *matrix = b + static_cast<long long>(z) * k * n;
        float acc = 0.0f;
        for (int p = 0; p < k; ++p)
          acc +=
              row[p] * (transposeB ? matrix[static_cast<long long>(j) * k + p]
                                   : matrix[static_cast<long long>(p) * n + j]);
        c[(static_cast<long long>(z) * m + i) * n + j] = acc;
      }
  return Status::ok();
}

Status alibi(Args &a) {
  const float *slopes = a.p<const float>(0);
  float *out = a.p<float>(1);
  int qLen = a.i32(2), kvLen = a.i32(3);
  if (Status s = a.finish(4); !s.isOk())
    return s;
  for (unsigned row = 0; row < a.launch.grid[0]; ++row) {
    const int position = static_cast<int>(row) % qLen + kvLen - qLen;
    for (int j = 0; j < kvLen; ++j)
      out[static_cast<long long>(row) * kvLen + j] =
          slopes[row / qLen] * static_cast<float>(j - position);
  }
  return Status::ok();
}

Status permuteCols(Args &a) {
  const float *x = a.p<const float>(0);
  const int *perm = a.p<const int>(1);
  float *y = a.p<float>(2);
  long long count = a.i64(3);
  int k = a.i32(4);
  a.requireGrid(coversElements(a.launch, count), "the elements");
  if (Status s = a.finish(5); !s.isOk())
    return s;
  for (long long i = 0; i < count; ++i)
    y[i] = x[(i / k) * k + perm[i % k]];
  return Status::ok();
}

Status gatherCache(Args &a) {
  const void *cache = a.p<const void>(0);
  int dtype = a.i32(1);
  const float *scales = a.p<const float>(2);
  const int *table = a.p<const int>(3);
  int blockSize = a.i32(4);
  long long numBlocks = a.i64(5);
  int layer = a.i32(6), kvHeads = a.i32(7), headDim = a.i32(8);
  float *k = a.p<float>(9), *v = a.p<float>(10);
  if (Status s = a.finish(11); !s.isOk())
    return s;
  for (unsigned pos = 0; pos < a.launch.grid[0]; ++pos) {
    const int slot = pagedSlot(table, blockSize, static_cast<int>(pos));
    const bool valid = slot >= 0 && slot < numBlocks * blockSize;
    const long long row = static_cast<long long>(pos) * kvHeads * headDim;
    for (int head = 0; head < kvHeads; ++head)
      for (int d = 0; d < headDim; ++d) {
        const long long i = row + head * headDim + d;
        k[i] = valid ? cacheAt(cache, dtype, scales,
                               cacheRowOffset(numBlocks, kvHeads, blockSize,
                                              headDim, layer, slot, 0, head) +
                                   d,
                               headDim)
                     : 0.0f;
        v[i] = valid ? cacheAt(cache, dtype, scales,
                               cacheRowOffset(numBlocks, kvHeads, blockSize,
                                              headDim, layer, slot, 1, head) +
                                   d,
                               headDim)
                     : 0.0f;
      }
  }
  return Status::ok();
}

const std::unordered_map<std::string, Kernel> &kernels() {
  static const std::unordered_map<std::string, Kernel> table = {
      {"llmc_linear_rows", linearRows},
      {"llmc_to_bf16", toBf16},
      {"llmc_gemm_bf16", [](Args &a) { return gemm(a, false); }},
      {"llmc_gemm_w", [](Args &a) { return gemm(a, true); }},
      {"llmc_add_bias", addBias},
      {"llmc_gemv_q", gemvQ},
      {"llmc_gemm_q", gemmQ},
      {"llmc_rope", rope},
      {"llmc_embedding", embedding},
      {"llmc_rms_norm", rmsNorm},
      {"llmc_layer_norm", layerNorm},
      {"llmc_softmax_rows", softmaxRows},
      {"llmc_gelu", gelu},
      {"llmc_glu", glu},
      {"llmc_binary", binary},
      {"llmc_sigmoid_gate", sigmoidGate},
      {"llmc_kv_cache_append", kvCacheAppend},
      {"llmc_paged_attention_split", pagedAttentionSplit},
      {"llmc_attention_reduce", attentionReduce},
      {"llmc_flash_attention", flashAttention},
      {"llmc_attention_rows", attentionRows},
      {"llmc_relative_bias", relativeBias},
      {"llmc_matmul", matmul},
      {"llmc_alibi", alibi},
      {"llmc_permute_cols", permuteCols},
      {"llmc_gather_cache", gatherCache},
      {"llmc_moe_route", moeRoute},
      {"llmc_moe_offsets", moeOffsets},
      {"llmc_moe_gather", moeGather},
      {"llmc_grouped_rows",
       [](Args &a) { return groupedProjection(a, false); }},
      {"llmc_grouped_gemm", [](Args &a) { return groupedProjection(a, true); }},
      {"llmc_grouped_tail", groupedTail},
      {"llmc_moe_rows_of", moeRowsOf},
      {"llmc_moe_combine", moeCombine},
  };
  return table;
}

class HostLaunchExecutor : public LaunchExecutor {
public:
  Status launch(const KernelLaunch &launch) override {
    auto it = kernels().find(launch.kernel);
    if (it == kernels().end())
      return Status::error(ErrorCode::Internal,
                           "the host executor runs no kernel '" +
                               launch.kernel + "'");
    if (launch.headDim < 0 || launch.headDim > 256)
      return Status::error(ErrorCode::Internal,
                           launch.kernel +
                               ": expected a head dimension in "
                               "[0, 256], found " +
                               std::to_string(launch.headDim));
    Args args(launch);
    return it->second(args);
  }
  Status copy(void *to, const void *from, size_t bytes) override {
    std::memmove(to, from, bytes);
    return Status::ok();
  }
  Status upload(void *to, const void *from, size_t bytes) override {
    return copy(to, from, bytes);
  }
  Status download(void *to, const void *from, size_t bytes) override {
    return copy(to, from, bytes);
  }
  Expected<void *> scratch(int slot, size_t bytes) override {
    if (slot < 0)
      return Status::error(ErrorCode::Internal, "negative scratch slot");
    if (static_cast<size_t>(slot) >= buffers.size())
      buffers.resize(slot + 1);
    std::vector<uint64_t> &buffer = buffers[slot];
    if (buffer.size() * sizeof(uint64_t) < bytes)
      buffer.resize((bytes + sizeof(uint64_t) - 1) / sizeof(uint64_t));
    return static_cast<void *>(buffer.data());
  }

  Expected<void *> allocate(size_t bytes) override {
    void *memory =
        std::aligned_alloc(256, (std::max<size_t>(bytes, 1) + 255) / 256 * 256);
    if (!memory)
      return Status::error(ErrorCode::OutOfMemory, "cannot allocate " +
                                                       std::to_string(bytes) +
                                                       " bytes of host memory");
    return memory;
  }
  void release(void *memory) override { std::free(memory); }

private:
  std::vector<std::vector<uint64_t>> buffers;
};

} // namespace

std::unique_ptr<LaunchExecutor> llmrt::cuda::createHostLaunchExecutor() {
  return std::make_unique<HostLaunchExecutor>();
}
