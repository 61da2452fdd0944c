//===- Kernels.cu - CUDA kernels of the decode path, compiled by NVRTC ----===//
//
// Part of LLMC, under the Apache License v2.0.
//
// Compiled at run time by NVRTC (runtime/cuda/Nvrtc.h) for the device's
// architecture, with -DLLMC_HEAD_DIM=<d> for the attention kernel. Shapes
// are runtime arguments except the head dimension. Every kernel reads and
// writes fp32 activations; weights are bf16 (their 16 bits) or fp32.
//
// Expected occupancy (checked for spills and registers by
// test/unit/Runtime/CudaKernelsTest.cpp): every kernel runs 128 or 256
// threads per block with at most 64 registers per thread, so that at least
// 8 blocks of 128 threads fit on an SM of 64K registers.
//
//===----------------------------------------------------------------------===//

#include "Common.cuh"

using namespace llmc_cuda;

namespace {

/// Sum over the warp, every lane getting it.
__device__ __forceinline__ float warpSum(float v) {
  for (int offset = 16; offset > 0; offset >>= 1)
    v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

/// Online-softmax state merged over the warp.
__device__ __forceinline__ OnlineSoftmax warpMerge(OnlineSoftmax s) {
  for (int offset = 16; offset > 0; offset >>= 1) {
    OnlineSoftmax other = {__shfl_xor_sync(0xffffffffu, s.max, offset),
                           __shfl_xor_sync(0xffffffffu, s.sum, offset)};
    s = onlineSoftmaxMerge(s, other);
  }
  return s;
}

/// Sum over a block of `blockDim.x` (a multiple of 32, at most 1024)
/// threads, every thread getting it.
__device__ __forceinline__ float blockSum(float v) {
  __shared__ float partial[32];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  v = warpSum(v);
  if (lane == 0)
    partial[warp] = v;
  __syncthreads();
  v = lane < blockDim.x / 32 ? partial[lane] : 0.0f;
  v = warpSum(v);
  __syncthreads();
  return v;
}

/// Maximum over a block, as blockSum.
__device__ __forceinline__ float blockMax(float v) {
  __shared__ float partial[32];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  for (int offset = 16; offset > 0; offset >>= 1)
    v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
  if (lane == 0)
    partial[warp] = v;
  __syncthreads();
  v = lane < blockDim.x / 32 ? partial[lane] : LLMC_NEG_INF;
  for (int offset = 16; offset > 0; offset >>= 1)
    v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
  __syncthreads();
  return v;
}

/// Two floats as bf16 (round to nearest even) in one 32-bit word, the first
/// in the low half: an mma.sync A or B register.
__device__ __forceinline__ unsigned int packBf16(float lo, float hi) {
  unsigned int result;
  asm("cvt.rn.bf16x2.f32 %0, %1, %2;\n" : "=r"(result) : "f"(hi), "f"(lo));
  return result;
}

/// One lane's share of the dot product of a bf16 row of k weights with x:
/// 8 weights (16 bytes) per load, lanes strided by 32 loads; the caller sums
/// over the warp. The tail past a multiple of 8 is scalar.
__device__ __forceinline__ float laneDotBf16(const unsigned short *weights,
                                             const float *x, int k, int lane) {
  float acc = 0.0f;
  const int vectors = (k % 8 == 0) ? k / 8 : 0;
  for (int v = lane; v < vectors; v += 32) {
    uint4 packed = reinterpret_cast<const uint4 *>(weights)[v];
    const unsigned int words[4] = {packed.x, packed.y, packed.z, packed.w};
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      acc += bf16ToFloat(static_cast<unsigned short>(words[j] & 0xffffu)) *
             x[v * 8 + 2 * j];
      acc += bf16ToFloat(static_cast<unsigned short>(words[j] >> 16)) *
             x[v * 8 + 2 * j + 1];
    }
  }
  for (int i = vectors * 8 + lane; i < k; i += 32)
    acc += bf16ToFloat(weights[i]) * x[i];
  return acc;
}

} // namespace

/// RMSNorm, one block per row: y = x / sqrt(mean(x^2) + eps) * (w +
/// weightOffset) (Gemma's norms add 1 to the weight). 256 threads;
/// registers: a handful (no arrays), no shared memory but the 128 bytes of
/// the reduction.
extern "C" __global__ void llmc_rms_norm(const float *x, const float *w,
                                         float *y, int cols, float eps,
                                         float weightOffset) {
  const float *row = x + static_cast<long long>(blockIdx.x) * cols;
  float *out = y + static_cast<long long>(blockIdx.x) * cols;
  float squares = 0.0f;
  for (int i = threadIdx.x; i < cols; i += blockDim.x)
    squares += row[i] * row[i];
  const float scale = rsqrtf(blockSum(squares) / cols + eps);
  for (int i = threadIdx.x; i < cols; i += blockDim.x)
    out[i] = row[i] * scale * (w[i] + weightOffset);
}

/// Softmax over rows, one warp per row, in one pass for the statistics
/// (the online softmax) and one for the output. 128 threads: 4 rows per
/// block.
extern "C" __global__ void llmc_softmax_rows(const float *x, float *y, int rows,
                                             int cols) {
  const int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (row >= rows)
    return;
  const float *in = x + static_cast<long long>(row) * cols;
  float *out = y + static_cast<long long>(row) * cols;
  OnlineSoftmax s = onlineSoftmaxEmpty();
  for (int i = lane; i < cols; i += 32)
    s = onlineSoftmaxAdd(s, in[i]);
  s = warpMerge(s);
  for (int i = lane; i < cols; i += 32)
    out[i] = onlineSoftmaxProbability(s, in[i]);
}

/// The decode GEMV, y[n] = W[n, k] x[k] with W bf16 row-major: one warp
/// per output row, each lane streaming 8 weights (16 bytes) at a time,
/// fp32 accumulation. Bandwidth-bound: 2 bytes per multiply-add. 128
/// threads: 4 rows per block. k must be a multiple of 8 (the tail is
/// scalar otherwise, correct but slower).
extern "C" __global__ void llmc_gemv_bf16(const unsigned short *w,
                                          const float *x, float *y, int n,
                                          int k) {
  const int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (row >= n)
    return;
  const float acc =
      warpSum(laneDotBf16(w + static_cast<long long>(row) * k, x, k, lane));
  if (lane == 0)
    y[row] = acc;
}

/// The MoE decode form's grouped GEMV: row r of x (a token's copy routed to
/// expert experts[r], as llm.moe_permute lays them out) times that expert's
/// bf16 weight [n, k] of the stack w [experts, n, k]: y[r, :] = W_e x_r.
/// Grid (ceil(n / 4), rows); each chosen expert's matrix is streamed once
/// per routed row, as the CPU decode form does. 128 threads: 4 output
/// features per block.
extern "C" __global__ void llmc_grouped_gemv_bf16(const unsigned short *w,
                                                  const float *x,
                                                  const int *experts, float *y,
                                                  int n, int k) {
  const int feature = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
  const int lane = threadIdx.x % 32, r = blockIdx.y;
  if (feature >= n)
    return;
  const unsigned short *weights =
      w + (static_cast<long long>(experts[r]) * n + feature) * k;
  const float acc =
      warpSum(laneDotBf16(weights, x + static_cast<long long>(r) * k, k, lane));
  if (lane == 0)
    y[static_cast<long long>(r) * n + feature] = acc;
}

/// The decode GEMV over a quantized weight (8, 4, 5 or 6 bits, the CPU
/// kernels' layout): one warp per output row, each lane dequantizing a
/// block of 32 at a time (scale * code + offset per group), fp32
/// accumulation. 128 threads: 4 rows per block.
extern "C" __global__ void llmc_gemv_q(const unsigned char *w, const float *x,
                                       float *y, int n, int k, int bits,
                                       int group) {
  const int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (row >= n)
    return;
  float acc = 0.0f;
  for (int col = lane; col < k; col += 32)
    acc += dequantizeElement(w, n, k, bits, group, row, col) * x[col];
  acc = warpSum(acc);
  if (lane == 0)
    y[row] = acc;
}

/// Greedy decoding on the device: each row's argmax (the first maximum),
/// one block of 256 threads per row, strided partial maxima merged over
/// the warp and then over the block.
extern "C" __global__ void llmc_argmax_rows(const float *logits, long long *ids,
                                            int vocab) {
  __shared__ float values[32];
  __shared__ int indices[32];
  const float *row = logits + static_cast<long long>(blockIdx.x) * vocab;
  ArgMax best = argMaxEmpty();
  for (int i = threadIdx.x; i < vocab; i += blockDim.x)
    best = argMaxMerge(best, ArgMax{row[i], i});
  for (int offset = 16; offset > 0; offset >>= 1)
    best = argMaxMerge(
        best, ArgMax{__shfl_xor_sync(0xffffffffu, best.value, offset),
                     __shfl_xor_sync(0xffffffffu, best.index, offset)});
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  if (lane == 0) {
    values[warp] = best.value;
    indices[warp] = best.index;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    ArgMax all = argMaxEmpty();
    for (int w = 0; w < static_cast<int>(blockDim.x / 32); ++w)
      all = argMaxMerge(all, ArgMax{values[w], indices[w]});
    ids[blockIdx.x] = all.index;
  }
}

/// SwiGLU's product: y = silu(gate) * up, elementwise.
extern "C" __global__ void llmc_silu_mul(const float *gate, const float *up,
                                         float *y, long long count) {
  long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < count) {
    float g = gate[i];
    y[i] = g / (1.0f + expOf(-g)) * up[i];
  }
}

#ifdef LLMC_HEAD_DIM
/// Paged attention, split over the keys (flash-decoding): block (row,
/// head, split) runs the online softmax of one query over its share of the
/// keys that query sees, read through the block table, and writes its
/// partial output and state; llmc_attention_reduce merges the splits. A row
/// is query i of sequence row / qLen, at position lens[seq] - qLen + i
/// (decode: qLen = 1; a prefill's queries are the last qLen cached
/// positions). Masks as the CPU kernel's (visibleKeyRange), ALiBi slopes
/// (null: none), T5's relative bias (null: none): biasTable [buckets,
/// heads] at bucketOf[key position - query position + bucketCenter], the
/// buckets computed on the host by the CPU kernels' function. The cache is
/// the runtime's (LLMKCache: [layers][blocks][2][kvHeads][blockSize][d],
/// fp32, f16, bf16 or int8 with `scales` by `cacheDtype`, kDtype*). One
/// warp per block; each
/// lane holds ceil(d / 32) values of the query and of the output. 32
/// threads; registers: 2 x ceil(d / 32) plus the loop's.
extern "C" __global__ void llmc_paged_attention_split(
    const float *q, const void *cache, int cacheDtype, const float *scales,
    const int *tables, const int *lens, const float *alibiSlopes,
    const float *biasTable, const int *bucketOf, int bucketCenter,
    float *partial, float *states, int qLen, int heads, int kvHeads,
    int tableWidth, int blockSize, long long numBlocks, int layer, int splits,
    float scale, int mask, int window) {
  // Lane l holds dims l, l + 32, ...: ceil(d / 32) each (80: 3, the last
  // for lanes < 16 only).
  constexpr int D = LLMC_HEAD_DIM, kPerLane = (D + 31) / 32;
  const int row = blockIdx.x, head = blockIdx.y, split = blockIdx.z;
  const int seq = row / qLen, i = row % qLen;
  const int lane = threadIdx.x;
  const int kvHead = head / (heads / kvHeads);
  const int len = lens[seq];
  int first, last;
  visibleKeyRange(i, qLen, len, mask, window, &first, &last);
  const int per = (last - first + splits - 1) / splits;
  const int begin = first + split * per;
  const int end = min(last, begin + per);
  const float slope = alibiSlopes ? alibiSlopes[head] : 0.0f;
  const int position = len - qLen + i;
  const float *query = q + (static_cast<long long>(row) * heads + head) * D;
  float qv[kPerLane], acc[kPerLane];
#pragma unroll
  for (int j = 0; j < kPerLane; ++j) {
    const int d = lane + 32 * j;
    qv[j] = d < D ? query[d] * scale : 0.0f;
    acc[j] = 0.0f;
  }
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
#pragma unroll
    for (int j = 0; j < kPerLane; ++j)
      if (lane + 32 * j < D)
        dot +=
            qv[j] * cacheAt(cache, cacheDtype, scales, kAt + lane + 32 * j, D);
    dot = warpSum(dot) + slope * static_cast<float>(pos - position);
    if (biasTable)
      dot += biasTable[bucketOf[pos - position + bucketCenter] * heads + head];
    OnlineSoftmax next = onlineSoftmaxAdd(s, dot);
    const float rescale =
        s.max == LLMC_NEG_INF ? 0.0f : expOf(s.max - next.max);
    const float weight = expOf(dot - next.max);
#pragma unroll
    for (int j = 0; j < kPerLane; ++j)
      if (lane + 32 * j < D)
        acc[j] = acc[j] * rescale + weight * cacheAt(cache, cacheDtype, scales,
                                                     vAt + lane + 32 * j, D);
    s = next;
  }
  const long long out =
      ((static_cast<long long>(row) * heads + head) * splits + split);
#pragma unroll
  for (int j = 0; j < kPerLane; ++j)
    if (lane + 32 * j < D)
      partial[out * D + lane + 32 * j] = acc[j];
  if (lane == 0) {
    states[2 * out] = s.max;
    states[2 * out + 1] = s.sum;
  }
}

/// The splits' reduction: out = sum_i exp(max_i - max) acc_i / sum.
extern "C" __global__ void llmc_attention_reduce(const float *partial,
                                                 const float *states,
                                                 float *out, int heads,
                                                 int splits) {
  const int seq = blockIdx.x, head = blockIdx.y, lane = threadIdx.x;
  const long long first = (static_cast<long long>(seq) * heads + head) * splits;
  OnlineSoftmax total = onlineSoftmaxEmpty();
  for (int i = 0; i < splits; ++i)
    total =
        onlineSoftmaxMerge(total, OnlineSoftmax{states[2 * (first + i)],
                                                states[2 * (first + i) + 1]});
  for (int d = lane; d < LLMC_HEAD_DIM; d += blockDim.x) {
    float value = 0.0f;
    for (int i = 0; i < splits; ++i) {
      const float max = states[2 * (first + i)];
      if (max != LLMC_NEG_INF)
        value +=
            expOf(max - total.max) * partial[(first + i) * LLMC_HEAD_DIM + d];
    }
    out[(static_cast<long long>(seq) * heads + head) * LLMC_HEAD_DIM + d] =
        total.sum > 0.0f ? value / total.sum : 0.0f;
  }
}
#endif

namespace {
/// The 64 x 64 tile (tileRow, tileCol) of C = A W^T that a block computes
/// on tensor cores: 4 warps (2 x 2), each a 32 x 32 tile as 2 x 4
/// mma.sync.m16n8k16 (HMMA) tiles, over steps of 32 k staged in shared
/// memory as bf16 pairs (2 x 64 x 16 words, padded against bank conflicts:
/// 10 KB). A is bf16 [m, k] row-major; `weightWord(row, word)` returns
/// the bf16 pair (2 word, 2 word + 1) of W's row `row` (< n), so that the
/// weight may be stored bf16 or quantized. K must be even.
template <typename WeightWord>
__device__ __forceinline__ void
mmaGemmTile(const unsigned short *a, WeightWord weightWord, float *c, int m,
            int n, int k, int tileRow, int tileCol) {
  constexpr int kTile = 64, kStepWords = 16, kPad = 4;
  __shared__ unsigned int aTile[kTile][kStepWords + kPad];
  __shared__ unsigned int wTile[kTile][kStepWords + kPad];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int warpRow = (warp / 2) * 32, warpCol = (warp % 2) * 32;
  const int row0 = tileRow * kTile, col0 = tileCol * kTile;
  const int kWords = k / 2;
  const unsigned int *aWords = reinterpret_cast<const unsigned int *>(a);
  float acc[2][4][4];
#pragma unroll
  for (int i = 0; i < 2; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j)
#pragma unroll
      for (int v = 0; v < 4; ++v)
        acc[i][j][v] = 0.0f;
  for (int word0 = 0; word0 < kWords; word0 += kStepWords) {
    // 64 rows x 16 words of each operand: 8 words per thread each.
    for (int i = threadIdx.x; i < kTile * kStepWords; i += blockDim.x) {
      const int r = i / kStepWords, q = i % kStepWords;
      const bool inK = word0 + q < kWords;
      aTile[r][q] =
          inK && row0 + r < m
              ? aWords[static_cast<long long>(row0 + r) * kWords + word0 + q]
              : 0u;
      wTile[r][q] = inK && col0 + r < n ? weightWord(col0 + r, word0 + q) : 0u;
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kStepWords; kk += 8) {
      unsigned int af[2][4], bf[4][2];
#pragma unroll
      for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int r = 0; r < 4; ++r)
          af[i][r] = aTile[warpRow + 16 * i + mmaRowA(lane, r)]
                          [kk + mmaColA(lane, r) / 2];
#pragma unroll
      for (int j = 0; j < 4; ++j)
#pragma unroll
        for (int r = 0; r < 2; ++r)
          bf[j][r] =
              wTile[warpCol + 8 * j + mmaColB(lane)][kk + mmaRowB(lane, r) / 2];
#pragma unroll
      for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j)
          asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
                       "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
                       "{%0, %1, %2, %3};\n"
                       : "+f"(acc[i][j][0]), "+f"(acc[i][j][1]),
                         "+f"(acc[i][j][2]), "+f"(acc[i][j][3])
                       : "r"(af[i][0]), "r"(af[i][1]), "r"(af[i][2]),
                         "r"(af[i][3]), "r"(bf[j][0]), "r"(bf[j][1]));
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < 2; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j)
#pragma unroll
      for (int v = 0; v < 4; ++v) {
        const int row = row0 + warpRow + 16 * i + mmaRowC(lane, v);
        const int col = col0 + warpCol + 8 * j + mmaColC(lane, v);
        if (row < m && col < n)
          c[static_cast<long long>(row) * n + col] = acc[i][j][v];
      }
}
} // namespace

/// The prefill GEMM on tensor cores: C[m, n] = sum_k A[m, k] W[n, k], A the
/// activations and W the weight (both bf16, row-major), C fp32; grid
/// (ceil(n / 64), ceil(m / 64)) of 128 threads (mmaGemmTile). Registers: 32
/// accumulators plus the fragments; occupancy 4 blocks of 128 threads per
/// SM at most 128 registers each.
extern "C" __global__ void llmc_gemm_bf16(const unsigned short *a,
                                          const unsigned short *w, float *c,
                                          int m, int n, int k) {
  const unsigned int *wWords = reinterpret_cast<const unsigned int *>(w);
  const long long kWords = k / 2;
  mmaGemmTile(
      a,
      [=](int row, int word) {
        return wWords[static_cast<long long>(row) * kWords + word];
      },
      c, m, n, k, blockIdx.y, blockIdx.x);
}

/// The prefill GEMM over a quantized weight (8, 4, 5 or 6 bits, the layout
/// of llmc_gemv_q): as llmc_gemm_bf16, W's tile dequantized to bf16 pairs
/// as it is staged in shared memory, so that the weight is read once per
/// column tile at its packed size and the products run on tensor cores.
/// K must be even.
extern "C" __global__ void llmc_gemm_q(const unsigned short *a,
                                       const unsigned char *w, float *c, int m,
                                       int n, int k, int bits, int group) {
  mmaGemmTile(
      a,
      [=](int row, int word) {
        return packBf16(
            dequantizeElement(w, n, k, bits, group, row, 2 * word),
            dequantizeElement(w, n, k, bits, group, row, 2 * word + 1));
      },
      c, m, n, k, blockIdx.y, blockIdx.x);
}

/// LayerNorm, one block per row: y = (x - mean) / sqrt(var + eps) * w + b
/// (biased variance, b may be null), two passes over the row for the mean
/// and the variance as the CPU kernel. 256 threads.
extern "C" __global__ void llmc_layer_norm(const float *x, const float *w,
                                           const float *b, float *y, int cols,
                                           float eps) {
  const float *row = x + static_cast<long long>(blockIdx.x) * cols;
  float *out = y + static_cast<long long>(blockIdx.x) * cols;
  float sum = 0.0f;
  for (int i = threadIdx.x; i < cols; i += blockDim.x)
    sum += row[i];
  const float mean = blockSum(sum) / cols;
  float squares = 0.0f;
  for (int i = threadIdx.x; i < cols; i += blockDim.x)
    squares += (row[i] - mean) * (row[i] - mean);
  const float inverse = rsqrtf(blockSum(squares) / cols + eps);
  for (int i = threadIdx.x; i < cols; i += blockDim.x) {
    const float value = (row[i] - mean) * inverse * w[i];
    out[i] = b ? value + b[i] : value;
  }
}

/// GELU over `count` values (exact, or the tanh approximation).
extern "C" __global__ void llmc_gelu(const float *x, float *y, long long count,
                                     int tanhApprox) {
  long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < count)
    y[i] = geluOf(x[i], tanhApprox);
}

/// Rotary embedding of one token per block: its `heads` heads of
/// `headDim` features, the first `rotaryDim` of each rotated by pairs
/// (ropePair) at angle position * invFreq[i], the rest copied. invFreq
/// ([rotaryDim / 2]) is the table `--llm-lower-rope` bakes (every scaling
/// folds into it); attentionScaling multiplies cos and sin (YaRN). The
/// angle is an fp32 product and its cosine and sine are taken in double
/// and rounded, as the CPU kernel and PyTorch's fp32 reference do, so
/// rotations agree to the last bit. 128 threads over heads x pairs.
extern "C" __global__ void llmc_rope(const float *x, const long long *positions,
                                     const float *invFreq, float *y, int heads,
                                     int headDim, int rotaryDim, int gptj,
                                     float attentionScaling) {
  const int token = blockIdx.x, half = rotaryDim / 2;
  const long long base = static_cast<long long>(token) * heads * headDim;
  const float position = static_cast<float>(positions[token]);
  for (int i = threadIdx.x; i < heads * half; i += blockDim.x) {
    const int head = i / half, pair = i % half;
    const float angle = position * invFreq[pair];
    const float c =
        static_cast<float>(cos(static_cast<double>(angle))) * attentionScaling;
    const float s =
        static_cast<float>(sin(static_cast<double>(angle))) * attentionScaling;
    int a, b;
    ropePair(pair, rotaryDim, gptj, &a, &b);
    const long long at = base + static_cast<long long>(head) * headDim;
    float y1, y2;
    ropeRotate(x[at + a], x[at + b], c, s, &y1, &y2);
    y[at + a] = y1;
    y[at + b] = y2;
  }
  if (x != y)
    for (int i = threadIdx.x; i < heads * (headDim - rotaryDim);
         i += blockDim.x) {
      const int head = i / (headDim - rotaryDim);
      const int d = rotaryDim + i % (headDim - rotaryDim);
      y[base + static_cast<long long>(head) * headDim + d] =
          x[base + static_cast<long long>(head) * headDim + d];
    }
}

/// Embedding lookup, one block per token: out[t, :] = table[ids[t], :],
/// the table fp32 (dtype 0), bf16 (1) or f16 (2). An id outside [0, vocab)
/// writes zeros and sets *error to 1 (the CPU kernel records an error).
extern "C" __global__ void llmc_embedding(const long long *ids,
                                          const void *table, int dtype,
                                          float *out, int vocab, int dim,
                                          int *error) {
  const long long id = ids[blockIdx.x];
  float *row = out + static_cast<long long>(blockIdx.x) * dim;
  const bool valid = id >= 0 && id < vocab;
  if (!valid && threadIdx.x == 0)
    *error = 1;
  for (int i = threadIdx.x; i < dim; i += blockDim.x) {
    const long long at = id * dim + i;
    float value = 0.0f;
    if (valid)
      value = dtype == 0 ? static_cast<const float *>(table)[at]
              : dtype == 1
                  ? bf16ToFloat(static_cast<const unsigned short *>(table)[at])
                  : halfToFloat(static_cast<const unsigned short *>(table)[at]);
    row[i] = value;
  }
}

/// On-device sampling at temperature > 0 (greedy is llmc_argmax_rows), one
/// block of 256 threads per row, with the CPU sampler's filters: logits /
/// temperature; top-k (0: off) keeping ties with the k-th; top-p (1: off)
/// keeping a token while the mass above it is below p; min-p (0: off).
/// No sort: each threshold is a bisection over the float keys (KeySearch,
/// at most 32 block reductions over the row, read from L2), so the cost is
/// O(32 vocab) reads whatever k and p. The draw is sampleUniform(seed of
/// the row, step of the row) times the kept mass, found by a block prefix
/// sum over contiguous chunks of the vocabulary in id order. Reproducible
/// with a seed; the token differs from the CPU sampler's draw (another
/// generator and another order), not the kept set. An all -inf row gives
/// -1.
extern "C" __global__ void llmc_sample_rows(const float *logits, long long *ids,
                                            int vocab, float temperature,
                                            int topK, float topP, float minP,
                                            const unsigned long long *seeds,
                                            const unsigned long long *steps) {
  __shared__ float prefix[257];
  __shared__ int last;
  const float *row = logits + static_cast<long long>(blockIdx.x) * vocab;
  float zMax = LLMC_NEG_INF;
  for (int i = threadIdx.x; i < vocab; i += blockDim.x)
    zMax = fmaxf(zMax, row[i] / temperature);
  zMax = blockMax(zMax);
  if (zMax == LLMC_NEG_INF) {
    if (threadIdx.x == 0)
      ids[blockIdx.x] = -1;
    return;
  }
  unsigned int topKKey = 0, topPKey = 0;
  if (topK > 0 && topK < vocab) {
    // The largest key with at least k logits at or above it.
    KeySearch search{0u, 0xffffffffu};
    while (!keySearchDone(search)) {
      const unsigned int probe = keySearchProbe(search);
      float count = 0.0f;
      for (int i = threadIdx.x; i < vocab; i += blockDim.x)
        count += orderedKey(row[i] / temperature) >= probe ? 1.0f : 0.0f;
      search = keySearchUpdate(search, probe,
                               blockSum(count) >= static_cast<float>(topK));
    }
    topKKey = search.lo;
  }
  if (topP < 1.0f) {
    // The largest key at or above which the kept tokens hold at least p of
    // the mass: the lowest kept token's logit.
    float total = 0.0f;
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
      const float z = row[i] / temperature;
      total +=
          samplingKeeps(z, zMax, topKKey, 0u, 0.0f) ? expOf(z - zMax) : 0.0f;
    }
    total = blockSum(total);
    KeySearch search{0u, 0xffffffffu};
    while (!keySearchDone(search)) {
      const unsigned int probe = keySearchProbe(search);
      float mass = 0.0f;
      for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
        const float z = row[i] / temperature;
        if (orderedKey(z) >= probe && samplingKeeps(z, zMax, topKKey, 0u, 0.0f))
          mass += expOf(z - zMax);
      }
      search = keySearchUpdate(search, probe, blockSum(mass) >= topP * total);
    }
    topPKey = search.lo;
  }
  // The kept mass of this thread's chunk, then a prefix sum over chunks.
  const int chunk = (vocab + blockDim.x - 1) / blockDim.x;
  const int begin = min(vocab, static_cast<int>(threadIdx.x) * chunk);
  const int end = min(vocab, begin + chunk);
  float own = 0.0f;
  for (int i = begin; i < end; ++i) {
    const float z = row[i] / temperature;
    if (samplingKeeps(z, zMax, topKKey, topPKey, minP))
      own += expOf(z - zMax);
  }
  prefix[threadIdx.x + 1] = own;
  __syncthreads();
  if (threadIdx.x == 0) {
    prefix[0] = 0.0f;
    last = 0;
    for (int t = 0; t < static_cast<int>(blockDim.x); ++t) {
      if (prefix[t + 1] > 0.0f)
        last = t;
      prefix[t + 1] += prefix[t];
    }
  }
  __syncthreads();
  const float total = prefix[blockDim.x];
  const float u = sampleUniform(seeds[blockIdx.x], steps[blockIdx.x]) * total;
  const bool mine =
      own > 0.0f && u >= prefix[threadIdx.x] &&
      (u < prefix[threadIdx.x + 1] || static_cast<int>(threadIdx.x) == last);
  if (mine) {
    float acc = prefix[threadIdx.x];
    int chosen = -1;
    for (int i = begin; i < end; ++i) {
      const float z = row[i] / temperature;
      if (!samplingKeeps(z, zMax, topKKey, topPKey, minP))
        continue;
      chosen = i;
      acc += expOf(z - zMax);
      if (u < acc)
        break;
    }
    ids[blockIdx.x] = chosen;
  }
}

#if defined(LLMC_HEAD_DIM) && LLMC_HEAD_DIM % 16 == 0
/// FlashAttention-2 prefill on tensor cores: a block of 4 warps takes 64
/// queries of one head (16 per warp), streams the keys and values of its kv
/// head in tiles of 64 through shared memory (as bf16), computes S = Q K^T
/// and O += P V with mma.sync.m16n8k16 (bf16 in, fp32 accumulation), and
/// keeps the online softmax of each row in registers: the S accumulators
/// become P's A fragments without leaving the registers. Masks: causal,
/// bidirectional and sliding window (visibleKeyRange), GQA/MQA by the head
/// ratio, ALiBi slopes (null: none) and an additive bias [heads, qLen,
/// kvLen] (T5's relative bias; null: none). q [qLen, heads, d], k and v
/// [kvLen, kvHeads, d], out [qLen, heads, d], fp32; kvLen is *kvLens when
/// that is not null. Shared memory: 2 x 64
/// x d bf16 (16 KB at d = 64, 32 KB at 128).
extern "C" __global__ void llmc_flash_attention(
    const float *q, const float *k, const float *v, const float *alibiSlopes,
    const float *bias, const int *kvLens, float *out, int qLen, int kvLenArg,
    int heads, int kvHeads, int mask, int window, float scale) {
  constexpr int D = LLMC_HEAD_DIM, kKeys = 64;
  // The keys' count: the argument, or read on the device (a prefill over
  // keys gathered from the paged cache, whose length the host does not
  // know).
  const int kvLen = kvLens ? *kvLens : kvLenArg;
  __shared__ unsigned short kTile[kKeys][D + 8];
  __shared__ unsigned short vTile[kKeys][D + 8];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int head = blockIdx.y, kvHead = head / (heads / kvHeads);
  const int q0 = blockIdx.x * 64 + warp * 16;
  const int g = lane / 4, t = lane % 4;
  // The warp's 16 query rows as A fragments over the head dimension.
  unsigned int qf[D / 16][4];
#pragma unroll
  for (int s = 0; s < D / 16; ++s)
#pragma unroll
    for (int r = 0; r < 4; ++r) {
      const int row = q0 + mmaRowA(lane, r), col = 16 * s + mmaColA(lane, r);
      const float *src = q + (static_cast<long long>(row) * heads + head) * D;
      qf[s][r] =
          row < qLen ? packBf16(src[col] * scale, src[col + 1] * scale) : 0u;
    }
  float o[D / 8][4];
#pragma unroll
  for (int j = 0; j < D / 8; ++j)
#pragma unroll
    for (int e = 0; e < 4; ++e)
      o[j][e] = 0.0f;
  // Rows g and g + 8 of the warp's tile: their state.
  float rowMax[2] = {LLMC_NEG_INF, LLMC_NEG_INF}, rowSum[2] = {0.0f, 0.0f};
  int first[2], last[2];
  for (int h = 0; h < 2; ++h) {
    visibleKeyRange(q0 + g + 8 * h, qLen, kvLen, mask, window, &first[h],
                    &last[h]);
    if (q0 + g + 8 * h >= qLen)
      first[h] = last[h] = 0;
  }
  const float slope = alibiSlopes ? alibiSlopes[head] : 0.0f;
  for (int key0 = 0; key0 < kvLen; key0 += kKeys) {
    __syncthreads();
    for (int i = threadIdx.x; i < kKeys * D; i += blockDim.x) {
      const int key = key0 + i / D, d = i % D;
      const long long at =
          (static_cast<long long>(key) * kvHeads + kvHead) * D + d;
      kTile[i / D][d] =
          key < kvLen
              ? static_cast<unsigned short>(packBf16(k[at], 0.0f) & 0xffffu)
              : 0;
      vTile[i / D][d] =
          key < kvLen
              ? static_cast<unsigned short>(packBf16(v[at], 0.0f) & 0xffffu)
              : 0;
    }
    __syncthreads();
    // S = Q K^T over this tile: 8 tiles of 8 keys.
    float sAcc[kKeys / 8][4];
#pragma unroll
    for (int j = 0; j < kKeys / 8; ++j) {
#pragma unroll
      for (int e = 0; e < 4; ++e)
        sAcc[j][e] = 0.0f;
#pragma unroll
      for (int s = 0; s < D / 16; ++s) {
        unsigned int b0, b1;
        const unsigned short *kRow = kTile[8 * j + mmaColB(lane)];
        b0 = static_cast<unsigned int>(kRow[16 * s + mmaRowB(lane, 0)]) |
             static_cast<unsigned int>(kRow[16 * s + mmaRowB(lane, 0) + 1])
                 << 16;
        b1 = static_cast<unsigned int>(kRow[16 * s + mmaRowB(lane, 1)]) |
             static_cast<unsigned int>(kRow[16 * s + mmaRowB(lane, 1) + 1])
                 << 16;
        asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
                     "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
                     "{%0, %1, %2, %3};\n"
                     : "+f"(sAcc[j][0]), "+f"(sAcc[j][1]), "+f"(sAcc[j][2]),
                       "+f"(sAcc[j][3])
                     : "r"(qf[s][0]), "r"(qf[s][1]), "r"(qf[s][2]),
                       "r"(qf[s][3]), "r"(b0), "r"(b1));
      }
    }
    // Masks, biases, and the online softmax of rows g and g + 8.
    float tileMax[2] = {LLMC_NEG_INF, LLMC_NEG_INF};
#pragma unroll
    for (int j = 0; j < kKeys / 8; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int h = e / 2, key = key0 + 8 * j + mmaColC(lane, e);
        const int row = q0 + mmaRowC(lane, e);
        float value = sAcc[j][e];
        if (key < first[h] || key >= last[h]) {
          value = LLMC_NEG_INF;
        } else {
          value += slope * static_cast<float>(key - (row + kvLen - qLen));
          if (bias)
            value +=
                bias[(static_cast<long long>(head) * qLen + row) * kvLen + key];
        }
        sAcc[j][e] = value;
        tileMax[h] = fmaxf(tileMax[h], value);
      }
    float rescale[2];
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      // The 4 lanes of a group hold one row.
      tileMax[h] =
          fmaxf(tileMax[h], __shfl_xor_sync(0xffffffffu, tileMax[h], 1));
      tileMax[h] =
          fmaxf(tileMax[h], __shfl_xor_sync(0xffffffffu, tileMax[h], 2));
      const float newMax = fmaxf(rowMax[h], tileMax[h]);
      rescale[h] = newMax == LLMC_NEG_INF ? 1.0f : expOf(rowMax[h] - newMax);
      rowMax[h] = newMax;
      rowSum[h] *= rescale[h];
    }
#pragma unroll
    for (int j = 0; j < kKeys / 8; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int h = e / 2;
        const float p =
            sAcc[j][e] == LLMC_NEG_INF ? 0.0f : expOf(sAcc[j][e] - rowMax[h]);
        sAcc[j][e] = p;
        rowSum[h] += p;
      }
#pragma unroll
    for (int j = 0; j < D / 8; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e)
        o[j][e] *= rescale[e / 2];
    // O += P V: P's A fragments are S's accumulators, 16 keys at a time.
#pragma unroll
    for (int s = 0; s < kKeys / 16; ++s) {
      const unsigned int pf[4] = {
          packBf16(sAcc[2 * s][0], sAcc[2 * s][1]),
          packBf16(sAcc[2 * s][2], sAcc[2 * s][3]),
          packBf16(sAcc[2 * s + 1][0], sAcc[2 * s + 1][1]),
          packBf16(sAcc[2 * s + 1][2], sAcc[2 * s + 1][3])};
#pragma unroll
      for (int j = 0; j < D / 8; ++j) {
        const int d = 8 * j + mmaColB(lane);
        const int key = 16 * s + mmaRowB(lane, 0);
        const unsigned int b0 = static_cast<unsigned int>(vTile[key][d]) |
                                static_cast<unsigned int>(vTile[key + 1][d])
                                    << 16;
        const unsigned int b1 = static_cast<unsigned int>(vTile[key + 8][d]) |
                                static_cast<unsigned int>(vTile[key + 9][d])
                                    << 16;
        asm volatile(
            "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
            "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
            "{%0, %1, %2, %3};\n"
            : "+f"(o[j][0]), "+f"(o[j][1]), "+f"(o[j][2]), "+f"(o[j][3])
            : "r"(pf[0]), "r"(pf[1]), "r"(pf[2]), "r"(pf[3]), "r"(b0), "r"(b1));
      }
    }
  }
  // The rows' sums over their group, then O / sum.
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    rowSum[h] += __shfl_xor_sync(0xffffffffu, rowSum[h], 1);
    rowSum[h] += __shfl_xor_sync(0xffffffffu, rowSum[h], 2);
  }
#pragma unroll
  for (int j = 0; j < D / 8; ++j)
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const int row = q0 + mmaRowC(lane, e), d = 8 * j + mmaColC(lane, e);
      if (row < qLen)
        out[(static_cast<long long>(row) * heads + head) * D + d] =
            rowSum[e / 2] > 0.0f ? o[j][e] / rowSum[e / 2] : 0.0f;
    }
}
#endif

//===----------------------------------------------------------------------===//
// The kernels behind llm-lower-to-cuda's launchers (runtime/cuda/Launchers):
// the rest of what a model's forward pass needs.
//===----------------------------------------------------------------------===//

/// y[r, j] = sum_i x[r, i] w[j, i] + bias[j] for m rows of x, w [n, k] in
/// `wDtype` (kDtype*: fp32, f16 or bf16, row-major), bias fp32 or null:
/// the decode projections, and any projection of a few rows. One warp per
/// output feature of a row, fp32 accumulation; grid (ceil(n / 4), m) of
/// 128 threads. Bandwidth-bound: the weight is read once per row of x.
extern "C" __global__ void llmc_linear_rows(const void *w, int wDtype,
                                            const float *x, const float *bias,
                                            float *y, int m, int n, int k) {
  const int feature = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
  const int lane = threadIdx.x % 32, r = blockIdx.y;
  if (feature >= n || r >= m)
    return;
  const float *in = x + static_cast<long long>(r) * k;
  const long long base = static_cast<long long>(feature) * k;
  float acc;
  if (wDtype == kDtypeBF16) {
    acc =
        laneDotBf16(static_cast<const unsigned short *>(w) + base, in, k, lane);
  } else {
    acc = 0.0f;
    for (int i = lane; i < k; i += 32)
      acc += weightAt(w, wDtype, base + i) * in[i];
  }
  acc = warpSum(acc);
  if (lane == 0)
    y[static_cast<long long>(r) * n + feature] =
        bias ? acc + bias[feature] : acc;
}

/// fp32 to bf16 (round to nearest even), elementwise: the prefill GEMM's
/// activations.
extern "C" __global__ void llmc_to_bf16(const float *x, unsigned short *y,
                                        long long count) {
  long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < count)
    y[i] = floatToBf16(x[i]);
}

/// The prefill GEMM on tensor cores over an fp32 or f16 weight, rounded to
/// bf16 as it is staged in shared memory (llmc_gemm_bf16 for bf16 ones):
/// C[m, n] = A[m, k] W[n, k]^T, A bf16. K must be even.
extern "C" __global__ void llmc_gemm_w(const unsigned short *a, const void *w,
                                       int wDtype, float *c, int m, int n,
                                       int k) {
  mmaGemmTile(
      a,
      [=](int row, int word) {
        const long long at = static_cast<long long>(row) * k + 2 * word;
        return packBf16(weightAt(w, wDtype, at), weightAt(w, wDtype, at + 1));
      },
      c, m, n, k, blockIdx.y, blockIdx.x);
}

/// y[r, j] += bias[j] over m rows of n values.
extern "C" __global__ void llmc_add_bias(float *y, const float *bias,
                                         long long count, int n) {
  long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < count)
    y[i] += bias[i % n];
}

/// y = act(gate) * up, elementwise; `activation` is an LLMK_ACT_* value
/// (SiLU, exact GELU, tanh GELU, ReLU).
extern "C" __global__ void llmc_glu(const float *gate, const float *up,
                                    float *y, long long count, int activation) {
  long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= count)
    return;
  const float g = gate[i];
  float a;
  if (activation == 0)
    a = g / (1.0f + expOf(-g));
  else if (activation == 3)
    a = g > 0.0f ? g : 0.0f;
  else
    a = geluOf(g, activation == 2);
  y[i] = a * up[i];
}

/// Elementwise y = a op b over `count` values: op 0 adds, 1 multiplies,
/// 2 subtracts; op 3 is y = a * s, op 4 ReLU (a NaN propagates, as in
/// torch.relu), op 5 SiLU; b unused by those.
extern "C" __global__ void llmc_binary(const float *a, const float *b, float *y,
                                       long long count, int op, float s) {
  long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= count)
    return;
  const float x = a[i];
  y[i] = op == 0   ? x + b[i]
         : op == 1 ? x * b[i]
         : op == 2 ? x - b[i]
         : op == 3 ? x * s
         : op == 4 ? (x > 0.0f || x != x ? x : 0.0f)
                   : x / (1.0f + expOf(-x));
}

/// Writes the keys and values of `tokens` rows ([tokens, kvHeads * d]) of
/// `layer` into the runtime's paged cache (LLMKCache's layout, fp32, f16,
/// bf16 or int8 with a scale per (slot, head) in `scales`, by `cacheDtype`,
/// kDtype*, rounded to nearest even as the CPU kernel rounds) at slots[t]. A
/// negative slot skips the row (padding); a slot past the cache writes nothing
/// and sets *error to 1. One block of 128 threads per token.
extern "C" __global__ void llmc_kv_cache_append(void *cache, int cacheDtype,
                                                float *scales, const int *slots,
                                                const float *k, const float *v,
                                                long long numBlocks, int layer,
                                                int kvHeads, int blockSize,
                                                int headDim, int *error) {
  const int slot = slots[blockIdx.x];
  if (slot < 0)
    return;
  if (slot >= numBlocks * blockSize) {
    if (threadIdx.x == 0)
      *error = 1;
    return;
  }
  const long long row = static_cast<long long>(blockIdx.x) * kvHeads * headDim;
  if (cacheDtype == kDtypeI8) {
    // Symmetric, one scale (absmax / 127) per (slot, kv head) of keys and
    // of values: a thread per such row.
    for (int r = threadIdx.x; r < 2 * kvHeads; r += blockDim.x) {
      const int kv = r / kvHeads, head = r % kvHeads;
      const float *src =
          (kv ? v : k) + row + static_cast<long long>(head) * headDim;
      const long long at = cacheRowOffset(numBlocks, kvHeads, blockSize,
                                          headDim, layer, slot, kv, head);
      float absmax = 0.0f;
      for (int d = 0; d < headDim; ++d)
        absmax = fmaxf(absmax, fabsf(src[d]));
      const float scale = absmax / 127.0f;
      const float inverse = scale > 0.0f ? 1.0f / scale : 0.0f;
      scales[at / headDim] = scale;
      for (int d = 0; d < headDim; ++d)
        static_cast<signed char *>(cache)[at + d] =
            static_cast<signed char>(roundToInt(src[d] * inverse));
    }
    return;
  }
  for (int i = threadIdx.x; i < kvHeads * headDim; i += blockDim.x) {
    const int head = i / headDim, d = i % headDim;
    for (int kv = 0; kv < 2; ++kv) {
      const long long at = cacheRowOffset(numBlocks, kvHeads, blockSize,
                                          headDim, layer, slot, kv, head) +
                           d;
      const float value = (kv ? v : k)[row + i];
      if (cacheDtype == kDtypeF32)
        static_cast<float *>(cache)[at] = value;
      else
        static_cast<unsigned short *>(cache)[at] =
            cacheDtype == kDtypeBF16 ? floatToBf16(value) : floatToHalf(value);
    }
  }
}

//===----------------------------------------------------------------------===//
// Mixture of experts: routing, permutation, grouped projections, combine.
//===----------------------------------------------------------------------===//

/// llm.moe_route, one thread per token (experts <= 256): the softmax over
/// the experts in fp32, the top k in descending probability (ties to the
/// lower expert), renormalized to sum 1 when `normalize`.
extern "C" __global__ void llmc_moe_route(const float *logits, float *weights,
                                          int *indices, int tokens, int experts,
                                          int topK, int normalize) {
  const int t = blockIdx.x * blockDim.x + threadIdx.x;
  if (t >= tokens)
    return;
  const float *row = logits + static_cast<long long>(t) * experts;
  float max = LLMC_NEG_INF;
  for (int e = 0; e < experts; ++e)
    max = fmaxf(max, row[e]);
  float sum = 0.0f;
  for (int e = 0; e < experts; ++e)
    sum += expOf(row[e] - max);
  unsigned int taken[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  float total = 0.0f;
  for (int j = 0; j < topK; ++j) {
    int best = -1;
    float bestP = 0.0f;
    for (int e = 0; e < experts; ++e) {
      if (taken[e / 32] & (1u << (e % 32)))
        continue;
      const float p = expOf(row[e] - max) / sum;
      if (best < 0 || p > bestP) {
        best = e;
        bestP = p;
      }
    }
    taken[best / 32] |= 1u << (best % 32);
    indices[t * topK + j] = best;
    weights[t * topK + j] = bestP;
    total += bestP;
  }
  if (normalize)
    for (int j = 0; j < topK; ++j)
      weights[t * topK + j] /= total;
}

/// llm.moe_permute's bookkeeping, one thread (the counting sort is
/// sequential and short: tokens x top k choices): offsets [experts + 1] of
/// the groups by expert, stable in token order, an expert's copies past
/// `capacity` (> 0) dropped to the end; sources [rows] the choice each row
/// serves (-1: dropped). `next` is [experts] of scratch. An expert index
/// outside [0, experts) sets *error.
extern "C" __global__ void llmc_moe_offsets(const int *indices, int *offsets,
                                            int *sources, int *next, int rows,
                                            int experts, int capacity,
                                            int *error) {
  if (blockIdx.x != 0 || threadIdx.x != 0)
    return;
  for (int e = 0; e <= experts; ++e)
    offsets[e] = 0;
  for (int i = 0; i < rows; ++i) {
    if (indices[i] < 0 || indices[i] >= experts) {
      *error = 1;
      return;
    }
    ++offsets[indices[i] + 1];
  }
  if (capacity > 0)
    for (int e = 0; e < experts; ++e)
      offsets[e + 1] = min(offsets[e + 1], capacity);
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
}

/// permuted[r] = x[sources[r] / topK] (zero for a dropped row), a block
/// of 128 threads per row.
extern "C" __global__ void llmc_moe_gather(const float *x, const int *sources,
                                           float *permuted, int hidden,
                                           int topK) {
  const int r = blockIdx.x, source = sources[r];
  float *out = permuted + static_cast<long long>(r) * hidden;
  const float *in = source >= 0
                        ? x + static_cast<long long>(source / topK) * hidden
                        : nullptr;
  for (int i = threadIdx.x; i < hidden; i += blockDim.x)
    out[i] = in ? in[i] : 0.0f;
}

/// An expert's weight element (row, col): `dtype` (kDtype*) when bits is
/// 0, else quantized (the runtime's layout), each expert's matrix
/// `expertBytes` after the previous one.
__device__ __forceinline__ float expertWeight(const void *w, int dtype,
                                              int bits, int group,
                                              long long expertBytes, int n,
                                              int k, int expert, int row,
                                              int col) {
  if (bits == 0)
    return weightAt(w, dtype,
                    (static_cast<long long>(expert) * n + row) *
                            static_cast<long long>(k) +
                        col);
  return dequantizeElement(static_cast<const unsigned char *>(w) +
                               expert * expertBytes,
                           n, k, bits, group, row, col);
}

/// The expert of permuted row r: the group [offsets[e], offsets[e + 1])
/// holding it (binary search), or -1 past offsets[experts].
__device__ __forceinline__ int expertOfRow(const int *offsets, int experts,
                                           int r) {
  if (r >= offsets[experts])
    return -1;
  int lo = 0, hi = experts - 1;
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (offsets[mid] <= r)
      lo = mid;
    else
      hi = mid - 1;
  }
  return lo;
}

/// llm.grouped_matmul for few rows (decode): y[r] = w[expert of r] x[r], a
/// warp per (output feature, row), grid (ceil(n / 4), rows); rows past
/// offsets[experts] are zero. Float or quantized experts (expertWeight).
extern "C" __global__ void llmc_grouped_rows(const float *x, const void *w,
                                             int dtype, int bits, int group,
                                             long long expertBytes,
                                             const int *offsets, float *y,
                                             int n, int k, int experts) {
  const int feature = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
  const int lane = threadIdx.x % 32, r = blockIdx.y;
  if (feature >= n)
    return;
  const int e = expertOfRow(offsets, experts, r);
  float acc = 0.0f;
  if (e >= 0)
    for (int i = lane; i < k; i += 32)
      acc += expertWeight(w, dtype, bits, group, expertBytes, n, k, e, feature,
                          i) *
             x[static_cast<long long>(r) * k + i];
  acc = warpSum(acc);
  if (lane == 0)
    y[static_cast<long long>(r) * n + feature] = acc;
}

/// llm.grouped_matmul on tensor cores (prefill): A bf16 [rows, k]; block
/// (blockIdx.x, t) computes the 64 x 64 tile of C of the group and row
/// tile that t names when each expert's group is split in tiles of 64
/// rows (grid.y = ceil(rows / 64) + experts covers any grouping; blocks
/// past the last tile return). The expert's weight is rounded to bf16 as
/// it is staged. Rows past offsets[experts] are zeroed by
/// llmc_grouped_tail.
extern "C" __global__ void llmc_grouped_gemm(const unsigned short *a,
                                             const void *w, int dtype, int bits,
                                             int group, long long expertBytes,
                                             const int *offsets, float *c,
                                             int n, int k, int experts) {
  int t = blockIdx.y, e = 0;
  for (; e < experts; ++e) {
    const int tiles = (offsets[e + 1] - offsets[e] + 63) / 64;
    if (t < tiles)
      break;
    t -= tiles;
  }
  if (e == experts)
    return;
  const int first = offsets[e], count = offsets[e + 1] - first;
  mmaGemmTile(
      a + static_cast<long long>(first) * k,
      [=](int row, int word) {
        return packBf16(expertWeight(w, dtype, bits, group, expertBytes, n, k,
                                     e, row, 2 * word),
                        expertWeight(w, dtype, bits, group, expertBytes, n, k,
                                     e, row, 2 * word + 1));
      },
      c + static_cast<long long>(first) * n, count, n, k, t, blockIdx.x);
}

/// Zeroes the rows of y past offsets[experts] (those a capacity dropped),
/// a block per row.
extern "C" __global__ void llmc_grouped_tail(const int *offsets, float *y,
                                             int n, int experts) {
  if (static_cast<int>(blockIdx.x) < offsets[experts])
    return;
  for (int i = threadIdx.x; i < n; i += blockDim.x)
    y[static_cast<long long>(blockIdx.x) * n + i] = 0.0f;
}

/// llm.moe_combine: y[t] = sum of weights[c] expertOut[r] over the rows r
/// serving token t's choices c, added in increasing r as the CPU kernel
/// adds them (rowOf[c]: the row serving choice c, -1 when dropped). A block
/// of 128 threads per token; top k <= 16.
extern "C" __global__ void llmc_moe_combine(const float *expertOut,
                                            const float *weights,
                                            const int *rowOf, float *y,
                                            int hidden, int topK) {
  const int t = blockIdx.x;
  int rows[16], choices[16], count = 0;
  for (int j = 0; j < topK; ++j) {
    const int r = rowOf[t * topK + j];
    if (r < 0)
      continue;
    int at = count++;
    while (at > 0 && rows[at - 1] > r) {
      rows[at] = rows[at - 1];
      choices[at] = choices[at - 1];
      --at;
    }
    rows[at] = r;
    choices[at] = t * topK + j;
  }
  for (int i = threadIdx.x; i < hidden; i += blockDim.x) {
    float acc = 0.0f;
    for (int j = 0; j < count; ++j)
      acc += expertOut[static_cast<long long>(rows[j]) * hidden + i] *
             weights[choices[j]];
    y[static_cast<long long>(t) * hidden + i] = acc;
  }
}

/// rowOf[c] = the row r with sources[r] == c, or -1: one block, the fill
/// then the scatter.
extern "C" __global__ void llmc_moe_rows_of(const int *sources, int *rowOf,
                                            int rows) {
  for (int i = threadIdx.x; i < rows; i += blockDim.x)
    rowOf[i] = -1;
  __syncthreads();
  for (int r = threadIdx.x; r < rows; r += blockDim.x)
    if (sources[r] >= 0)
      rowOf[sources[r]] = r;
}

/// y[r, i] = sigmoid(gate[r, gateCols == 1 ? 0 : i]) * x[r, i] over rows x
/// cols values (a shared expert's gate), one thread per element.
extern "C" __global__ void llmc_sigmoid_gate(const float *x, const float *gate,
                                             float *y, long long count,
                                             int cols, int gateCols) {
  long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= count)
    return;
  const long long row = i / cols;
  const float g = gate[gateCols == 1 ? row : i];
  y[i] = x[i] / (1.0f + expOf(-g));
}

/// Attention over contiguous keys and values in fp32, one warp per (query
/// row, head), grid (batch * qLen, heads): the general form of
/// llmc_flash_attention, for what its tensor-core tiles do not take (head
/// dimensions that are not multiples of 16, key padding, a bias of any
/// strides, values of another head dimension). As llmk_attention: query i
/// sits at position i + kvLen - qLen; masks as visibleKeyRange (padding:
/// every key); key padding [batch, kvLen] (nonzero: valid) and the bias
/// (element (b, h, i, j) at b * biasBatchStride + h * biasHeadStride + i *
/// kvLen + j) may be null; ALiBi slopes add slope * (j - position). Head
/// dimensions up to 256 (8 values per lane).
extern "C" __global__ void
llmc_attention_rows(const float *q, const float *k, const float *v,
                    const unsigned char *keyPadding, const float *bias,
                    long long biasBatchStride, long long biasHeadStride,
                    const float *alibiSlopes, float *out, int qLen, int kvLen,
                    int heads, int kvHeads, int headDim, int vHeadDim,
                    float scale, int mask, int window) {
  constexpr int kMaxPerLane = 8;
  const int row = blockIdx.x, head = blockIdx.y, lane = threadIdx.x;
  const int b = row / qLen, i = row % qLen;
  const int kvHead = head / (heads / kvHeads);
  const float *query =
      q + (static_cast<long long>(row) * heads + head) * headDim;
  float qv[kMaxPerLane], acc[kMaxPerLane];
#pragma unroll
  for (int j = 0; j < kMaxPerLane; ++j) {
    const int d = lane + 32 * j;
    qv[j] = d < headDim ? query[d] : 0.0f;
    acc[j] = 0.0f;
  }
  int first, last;
  visibleKeyRange(i, qLen, kvLen, mask == 3 ? kMaskBidirectional : mask, window,
                  &first, &last);
  const int position = i + kvLen - qLen;
  const float slope = alibiSlopes ? alibiSlopes[head] : 0.0f;
  const float *biasRow = bias ? bias + b * biasBatchStride +
                                    head * biasHeadStride +
                                    static_cast<long long>(i) * kvLen
                              : nullptr;
  OnlineSoftmax s = onlineSoftmaxEmpty();
  for (int j = first; j < last; ++j) {
    if (keyPadding && !keyPadding[static_cast<long long>(b) * kvLen + j])
      continue;
    const float *key =
        k +
        ((static_cast<long long>(b) * kvLen + j) * kvHeads + kvHead) * headDim;
    float dot = 0.0f;
#pragma unroll
    for (int e = 0; e < kMaxPerLane; ++e)
      if (lane + 32 * e < headDim)
        dot += qv[e] * key[lane + 32 * e];
    float score = warpSum(dot) * scale;
    if (biasRow)
      score += biasRow[j];
    if (alibiSlopes)
      score += slope * static_cast<float>(j - position);
    if (score == LLMC_NEG_INF)
      continue;
    OnlineSoftmax next = onlineSoftmaxAdd(s, score);
    const float rescale =
        s.max == LLMC_NEG_INF ? 0.0f : expOf(s.max - next.max);
    const float weight = expOf(score - next.max);
    const float *value =
        v +
        ((static_cast<long long>(b) * kvLen + j) * kvHeads + kvHead) * vHeadDim;
#pragma unroll
    for (int e = 0; e < kMaxPerLane; ++e)
      if (lane + 32 * e < vHeadDim)
        acc[e] = acc[e] * rescale + weight * value[lane + 32 * e];
    s = next;
  }
  float *dst = out + (static_cast<long long>(row) * heads + head) * vHeadDim;
#pragma unroll
  for (int e = 0; e < kMaxPerLane; ++e)
    if (lane + 32 * e < vHeadDim)
      dst[lane + 32 * e] = s.sum > 0.0f ? acc[e] / s.sum : 0.0f;
}

/// T5's relative position bias as a tensor [heads, qLen, kvLen]: out[h, i,
/// j] = table[bucketOf[j - i + qLen - 1], h], the buckets of each distance
/// computed on the host. A block of 128 threads per (head, query) row.
extern "C" __global__ void llmc_relative_bias(const float *table,
                                              const int *bucketOf, float *out,
                                              int heads, int qLen, int kvLen) {
  const int row = blockIdx.x, h = row / qLen, i = row % qLen;
  for (int j = threadIdx.x; j < kvLen; j += blockDim.x)
    out[static_cast<long long>(row) * kvLen + j] =
        table[bucketOf[j - i + qLen - 1] * heads + h];
}

/// Batched matmul in fp32 (llm.matmul: products of activations, e.g. an
/// unfused attention's): c[z, i, j] = sum_p a[z, i, p] b[z, p, j], or b[z,
/// j, p] with transposeB. A thread per output, grid (ceil(n / 128), m,
/// batch).
extern "C" __global__ void llmc_matmul(const float *a, const float *b, float *c,
                                       int m, int k, int n, int transposeB) {
  const int j = blockIdx.x * blockDim.x + threadIdx.x, i = blockIdx.y;
  const long long z = blockIdx.z;
  if (j >= n)
    return;
  const float *row = a + (z * m + i) * static_cast<long long>(k);
  const float *matrix = b + z * static_cast<long long>(k) * n;
  float acc = 0.0f;
  for (int p = 0; p < k; ++p)
    acc += row[p] * (transposeB ? matrix[static_cast<long long>(j) * k + p]
                                : matrix[static_cast<long long>(p) * n + j]);
  c[(z * m + i) * static_cast<long long>(n) + j] = acc;
}

/// ALiBi's bias as a tensor [heads, qLen, kvLen]: slope_h * (j - position
/// of query i), the slopes computed on the host as the CPU kernel computes
/// them. A block of 128 threads per (head, query) row.
extern "C" __global__ void llmc_alibi(const float *slopes, float *out, int qLen,
                                      int kvLen) {
  const int row = blockIdx.x;
  const float slope = slopes[row / qLen];
  const int position = row % qLen + kvLen - qLen;
  for (int j = threadIdx.x; j < kvLen; j += blockDim.x)
    out[static_cast<long long>(row) * kvLen + j] =
        slope * static_cast<float>(j - position);
}

/// y[r, t] = x[r, perm[t]] over m rows of k features, a thread per element:
/// the activations in the order of an act-order GPTQ weight's stored
/// features.
extern "C" __global__ void llmc_permute_cols(const float *x, const int *perm,
                                             float *y, long long count, int k) {
  long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < count)
    y[i] = x[(i / k) * k + perm[i % k]];
}

/// The keys and values of one sequence, gathered from the paged cache
/// (f32, f16, bf16 or int8 with scales) into [capacity, kvHeads, d] fp32
/// through its block table, for FlashAttention over a prefill: a block of
/// 128 threads per position. Positions without a block (-1, or past the
/// pool) are zero; FlashAttention reads only the sequence's length.
extern "C" __global__ void
llmc_gather_cache(const void *cache, int cacheDtype, const float *scales,
                  const int *table, int blockSize, long long numBlocks,
                  int layer, int kvHeads, int headDim, float *k, float *v) {
  const int pos = blockIdx.x;
  const int slot = pagedSlot(table, blockSize, pos);
  const bool valid = slot >= 0 && slot < numBlocks * blockSize;
  const long long row = static_cast<long long>(pos) * kvHeads * headDim;
  for (int i = threadIdx.x; i < kvHeads * headDim; i += blockDim.x) {
    const int head = i / headDim, d = i % headDim;
    float key = 0.0f, value = 0.0f;
    if (valid) {
      key = cacheAt(cache, cacheDtype, scales,
                    cacheRowOffset(numBlocks, kvHeads, blockSize, headDim,
                                   layer, slot, 0, head) +
                        d,
                    headDim);
      value = cacheAt(cache, cacheDtype, scales,
                      cacheRowOffset(numBlocks, kvHeads, blockSize, headDim,
                                     layer, slot, 1, head) +
                          d,
                      headDim);
    }
    k[row + i] = key;
    v[row + i] = value;
  }
}
