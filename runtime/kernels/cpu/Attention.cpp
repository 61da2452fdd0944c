//===- Attention.cpp - Fused attention with online softmax ----------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// FlashAttention-2's schedule on a CPU: a task owns a block of queries of
// the heads that share one kv head, and walks the keys in blocks, keeping per
// query row a running maximum, a running sum and an unnormalized output that
// is rescaled whenever the maximum grows. Only one block of scores per row
// exists at a time, and each key/value block is reused from cache by every
// query row (and every grouped head) of the task. Blocks of queries (prefill)
// compute both products on the GEMM register tile; a few queries (decode)
// take a row-by-row path that needs no packing.
//
//===----------------------------------------------------------------------===//

#include "Common.h"
#include "Kernels.h"
#include "Simd.h"
#include "ThreadPool.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

using namespace llmk;

namespace {

/// Query rows (per head) of a task: packing a key and value block is
/// amortized over this many queries of each head of the group.
constexpr int64_t kBlockQ = 128;
/// Keys per block: scores of a block stay in L1, and the key and value
/// blocks (128 x head_dim each) in L2.
constexpr int64_t kBlockKv = 128;

/// Queries per task from which the register-tiled path pays off.
constexpr int64_t kMinTiledQueries = 4;

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

struct AttentionArgs {
  const float *q, *k, *v;
  const uint8_t *keyPadding;
  const float *bias;
  int64_t biasBatchStride, biasHeadStride;
  const float *alibiSlopes;
  float *out;
  int64_t qLen, kvLen, numHeads, numKvHeads, headDim, vHeadDim;
  float scale;
  int32_t maskKind;
  int64_t window;
};

/// Keys [first, last) that query `i` may see before padding and bias.
void visibleKeys(const AttentionArgs &a, int64_t i, int64_t *first,
                 int64_t *last) {
  int64_t position = i + a.kvLen - a.qLen;
  *first = 0;
  *last = a.kvLen;
  if (a.maskKind == LLMK_MASK_CAUSAL || a.maskKind == LLMK_MASK_SLIDING_WINDOW)
    *last = std::max<int64_t>(0, std::min(a.kvLen, position + 1));
  if (a.maskKind == LLMK_MASK_SLIDING_WINDOW && a.window > 0)
    *first = std::max<int64_t>(0, position - a.window + 1);
}

/// Attention of queries [q0, q0 + qCount) of heads [h0, h0 + heads), which
/// all read kv head `kvHead`, in batch `b`.
void attentionTask(const AttentionArgs &a, const SimdKernels &simd, int64_t b,
                   int64_t kvHead, int64_t h0, int64_t heads, int64_t q0,
                   int64_t qCount) {
  const int64_t rows = heads * qCount;
  thread_local std::vector<float> acc, rowMax, rowSum, scores;
  acc.assign(rows * a.vHeadDim, 0.0f);
  rowMax.assign(rows, kNegInf);
  rowSum.assign(rows, 0.0f);
  scores.resize(kBlockKv);

  const int64_t kStride = a.numKvHeads * a.headDim;
  const int64_t vStride = a.numKvHeads * a.vHeadDim;
  const float *kBase = a.k + b * a.kvLen * kStride + kvHead * a.headDim;
  const float *vBase = a.v + b * a.kvLen * vStride + kvHead * a.vHeadDim;
  const uint8_t *padding = a.keyPadding ? a.keyPadding + b * a.kvLen : nullptr;

  // Rows are ordered by query, so the first and last query bound the keys.
  int64_t begin, end, unused;
  visibleKeys(a, q0, &begin, &unused);
  visibleKeys(a, q0 + qCount - 1, &unused, &end);

  for (int64_t k0 = begin; k0 < end; k0 += kBlockKv) {
    for (int64_t hh = 0; hh < heads; ++hh) {
      const int64_t h = h0 + hh;
      const float slope = a.alibiSlopes ? a.alibiSlopes[h] : 0.0f;
      const float *biasHead =
          a.bias ? a.bias + b * a.biasBatchStride + h * a.biasHeadStride
                 : nullptr;
      for (int64_t i = q0; i < q0 + qCount; ++i) {
        int64_t first, last;
        visibleKeys(a, i, &first, &last);
        first = std::max(first, k0);
        last = std::min(last, k0 + kBlockKv);
        if (first >= last)
          continue;
        const int64_t count = last - first;
        const int64_t row = hh * qCount + (i - q0);
        const float *query =
            a.q + ((b * a.qLen + i) * a.numHeads + h) * a.headDim;
        simd.dotRows(query, kBase + first * kStride, LLMK_F32, kStride, count,
                     a.headDim, scores.data());

        const int64_t position = i + a.kvLen - a.qLen;
        const float *biasRow = biasHead ? biasHead + i * a.kvLen : nullptr;
        float blockMax = kNegInf;
        for (int64_t t = 0; t < count; ++t) {
          const int64_t j = first + t;
          float score = scores[t] * a.scale;
          if (biasRow)
            score += biasRow[j];
          if (a.alibiSlopes)
            score += slope * static_cast<float>(j - position);
          if (padding && !padding[j])
            score = kNegInf;
          scores[t] = score;
          blockMax = std::max(blockMax, score);
        }
        if (blockMax == kNegInf)
          continue; // Nothing visible in this block (masked or -inf bias).

        float *output = acc.data() + row * a.vHeadDim;
        const float newMax = std::max(rowMax[row], blockMax);
        const float rescale =
            rowMax[row] == kNegInf ? 0.0f : std::exp(rowMax[row] - newMax);
        const float sum =
            simd.expShift(scores.data(), newMax, count, scores.data());
        rowSum[row] = rowSum[row] * rescale + sum;
        if (rescale != 1.0f)
          simd.scale(output, a.vHeadDim, rescale);
        simd.axpyRows(output, scores.data(), vBase + first * vStride, LLMK_F32,
                      vStride, count, a.vHeadDim);
        rowMax[row] = newMax;
      }
    }
  }

  for (int64_t hh = 0; hh < heads; ++hh) {
    for (int64_t i = q0; i < q0 + qCount; ++i) {
      const int64_t row = hh * qCount + (i - q0);
      float *dst =
          a.out + ((b * a.qLen + i) * a.numHeads + h0 + hh) * a.vHeadDim;
      const float *src = acc.data() + row * a.vHeadDim;
      // A row that sees no key outputs zeros rather than 0/0.
      const float inverse = rowSum[row] > 0.0f ? 1.0f / rowSum[row] : 0.0f;
      for (int64_t d = 0; d < a.vHeadDim; ++d)
        dst[d] = src[d] * inverse;
    }
  }
}

/// Applies scale, bias, ALiBi, mask and padding to the raw scores of query
/// `i` against keys [k0, k0 + count) and returns their maximum.
float maskScores(const AttentionArgs &a, int64_t b, int64_t h, int64_t i,
                 int64_t k0, int64_t count, float *scores) {
  int64_t first, last;
  visibleKeys(a, i, &first, &last);
  const int64_t position = i + a.kvLen - a.qLen;
  const float slope = a.alibiSlopes ? a.alibiSlopes[h] : 0.0f;
  const float *biasRow = a.bias ? a.bias + b * a.biasBatchStride +
                                      h * a.biasHeadStride + i * a.kvLen
                                : nullptr;
  const uint8_t *padding = a.keyPadding ? a.keyPadding + b * a.kvLen : nullptr;
  if (!biasRow && !a.alibiSlopes && !padding) {
    // The common case: scale the visible range, mask the rest; a loop the
    // compiler vectorizes (the maximum in independent lanes).
    const int64_t lo = std::clamp<int64_t>(first - k0, 0, count);
    const int64_t hi = std::clamp<int64_t>(last - k0, lo, count);
    std::fill(scores, scores + lo, kNegInf);
    std::fill(scores + hi, scores + count, kNegInf);
    const float scale = a.scale;
    constexpr int kLanes = 16;
    float lanes[kLanes];
    std::fill(lanes, lanes + kLanes, kNegInf);
    int64_t t = lo;
    for (; t + kLanes <= hi; t += kLanes)
      for (int l = 0; l < kLanes; ++l) {
        float score = scores[t + l] * scale;
        scores[t + l] = score;
        lanes[l] = lanes[l] > score ? lanes[l] : score;
      }
    for (; t < hi; ++t) {
      scores[t] *= scale;
      lanes[0] = std::max(lanes[0], scores[t]);
    }
    return *std::max_element(lanes, lanes + kLanes);
  }
  float blockMax = kNegInf;
  for (int64_t t = 0; t < count; ++t) {
    const int64_t j = k0 + t;
    float score = scores[t] * a.scale;
    if (biasRow)
      score += biasRow[j];
    if (a.alibiSlopes)
      score += slope * static_cast<float>(j - position);
    if (j < first || j >= last || (padding && !padding[j]))
      score = kNegInf;
    scores[t] = score;
    blockMax = std::max(blockMax, score);
  }
  return blockMax;
}

/// The packed keys and values a thread keeps for its next call (16 MiB).
constexpr size_t kMaxKeptPackedFloats = size_t{4} << 20;

/// Keys and values of every (batch, kv head) packed once per call for the
/// tiled path, in blocks of `blockKv` keys from key 0 (zero past kvLen):
/// block kb of a head holds its keys as panels [headDim][cols] (the
/// operand of Q · Kᵀ) and its values as panels [blockKv][cols] of features
/// (the operand of P · V). Every query block of the head reads them.
struct PackedKV {
  int64_t cols = 0, blockKv = 0, blocks = 0, dPanels = 0;
  std::vector<float> k, v;

  int64_t kBlockFloats(const AttentionArgs &a) const {
    return blockKv * a.headDim;
  }
  int64_t vBlockFloats() const { return dPanels * blockKv * cols; }
  const float *keys(const AttentionArgs &a, int64_t b, int64_t kvHead,
                    int64_t block) const {
    return k.data() +
           ((b * a.numKvHeads + kvHead) * blocks + block) * kBlockFloats(a);
  }
  const float *values(const AttentionArgs &a, int64_t b, int64_t kvHead,
                      int64_t block) const {
    return v.data() +
           ((b * a.numKvHeads + kvHead) * blocks + block) * vBlockFloats();
  }
};

void packKV(const AttentionArgs &a, const SimdKernels &simd, int64_t batch,
            PackedKV &packed) {
  const int64_t cols = simd.gemmCols;
  packed.cols = cols;
  packed.blockKv = (kBlockKv + cols - 1) / cols * cols;
  packed.blocks = (a.kvLen + packed.blockKv - 1) / packed.blockKv;
  packed.dPanels = (a.vHeadDim + cols - 1) / cols;
  const int64_t heads = batch * a.numKvHeads;
  packed.k.resize(heads * packed.blocks * packed.kBlockFloats(a));
  packed.v.resize(heads * packed.blocks * packed.vBlockFloats());
  const int64_t kStride = a.numKvHeads * a.headDim;
  const int64_t vStride = a.numKvHeads * a.vHeadDim;
  parallelFor(heads * packed.blocks, [&](int64_t task) {
    const int64_t block = task % packed.blocks, head = task / packed.blocks;
    const int64_t b = head / a.numKvHeads, kvHead = head % a.numKvHeads;
    const int64_t k0 = block * packed.blockKv;
    const int64_t count = std::min(packed.blockKv, a.kvLen - k0);
    const float *kBase =
        a.k + (b * a.kvLen + k0) * kStride + kvHead * a.headDim;
    const float *vBase =
        a.v + (b * a.kvLen + k0) * vStride + kvHead * a.vHeadDim;
    float *kDst = const_cast<float *>(packed.keys(a, b, kvHead, block));
    float *vDst = const_cast<float *>(packed.values(a, b, kvHead, block));
    for (int64_t panel = 0; panel * cols < packed.blockKv; ++panel) {
      float *dst = kDst + panel * a.headDim * cols;
      const int64_t valid = std::clamp<int64_t>(count - panel * cols, 0, cols);
      const float *src = kBase + panel * cols * kStride;
      // One feature of every key at a time: contiguous writes.
      for (int64_t p = 0; p < a.headDim; ++p) {
        float *row = dst + p * cols;
        for (int64_t c = 0; c < valid; ++c)
          row[c] = src[c * kStride + p];
        std::fill(row + valid, row + cols, 0.0f);
      }
    }
    for (int64_t t = 0; t < packed.blockKv; ++t) {
      const float *src = vBase + t * vStride;
      for (int64_t panel = 0; panel < packed.dPanels; ++panel) {
        float *dst = vDst + (panel * packed.blockKv + t) * cols;
        int64_t valid =
            t < count ? std::min(cols, a.vHeadDim - panel * cols) : 0;
        std::copy(src + panel * cols, src + panel * cols + valid, dst);
        std::fill(dst + valid, dst + cols, 0.0f);
      }
    }
  });
}

/// The same computation as attentionTask for a block of queries (prefill),
/// with both products on the GEMM register tile: scores = Q · Kᵀ against the
/// key block packed transposed into panels, and O += P · V against the value
/// block packed into panels. The output accumulates in tile layout.
void attentionTaskTiled(const AttentionArgs &a, const SimdKernels &simd,
                        const PackedKV &packed, int64_t b, int64_t kvHead,
                        int64_t h0, int64_t heads, int64_t q0, int64_t qCount) {
  const int64_t cols = simd.gemmCols, tileRows = simd.gemmRows;
  const int64_t tileSize = tileRows * cols;
  const int64_t blockKv = packed.blockKv;
  const int64_t dPanels = packed.dPanels;
  const int64_t rowTiles = (qCount + tileRows - 1) / tileRows;
  auto vectorsFor = [&](int64_t valid) {
    return static_cast<int>((std::min(valid, cols) + simd.width - 1) /
                            simd.width);
  };

  thread_local std::vector<float> probs, scoreTile, outTiles, rowMax, rowSum;
  probs.resize(tileRows * blockKv);
  scoreTile.resize(tileSize);
  outTiles.assign(heads * rowTiles * dPanels * tileSize, 0.0f);
  rowMax.assign(heads * qCount, kNegInf);
  rowSum.assign(heads * qCount, 0.0f);

  const int64_t qStride = a.numHeads * a.headDim;

  int64_t begin, end, unused;
  visibleKeys(a, q0, &begin, &unused);
  visibleKeys(a, q0 + qCount - 1, &unused, &end);

  // Whole packed blocks from the one holding the first visible key.
  for (int64_t k0 = begin / blockKv * blockKv; k0 < end; k0 += blockKv) {
    // Keys past `end` are seen by no query of the block: not computed.
    const int64_t count = std::min(blockKv, end - k0);
    const int64_t keyPanels = (count + cols - 1) / cols;
    const float *packedK = packed.keys(a, b, kvHead, k0 / blockKv);
    const float *packedV = packed.values(a, b, kvHead, k0 / blockKv);

    for (int64_t hh = 0; hh < heads; ++hh) {
      const int64_t h = h0 + hh;
      for (int64_t tile = 0; tile < rowTiles; ++tile) {
        const int64_t i0 = q0 + tile * tileRows;
        const int rows = static_cast<int>(std::min(tileRows, q0 + qCount - i0));
        int64_t first, last;
        visibleKeys(a, i0, &first, &unused);
        visibleKeys(a, i0 + rows - 1, &unused, &last);
        if (first >= k0 + count || last <= k0)
          continue; // No query of the tile sees this block.

        const float *queries =
            a.q + ((b * a.qLen + i0) * a.numHeads + h) * a.headDim;
        for (int64_t panel = 0; panel < keyPanels; ++panel) {
          int64_t valid = std::min(cols, count - panel * cols);
          simd.gemmTile(queries, qStride, rows,
                        packedK + panel * a.headDim * cols, a.headDim,
                        vectorsFor(valid), scoreTile.data(), false);
          for (int r = 0; r < rows; ++r)
            std::copy(scoreTile.data() + r * cols,
                      scoreTile.data() + r * cols + valid,
                      probs.data() + r * blockKv + panel * cols);
        }

        float *out =
            outTiles.data() + (hh * rowTiles + tile) * dPanels * tileSize;
        for (int r = 0; r < rows; ++r) {
          const int64_t row = hh * qCount + (i0 + r - q0);
          float *p = probs.data() + r * blockKv;
          float blockMax = maskScores(a, b, h, i0 + r, k0, count, p);
          if (blockMax == kNegInf) {
            // Nothing visible: contribute nothing to the P · V product.
            std::fill(p, p + count, 0.0f);
            continue;
          }
          const float newMax = std::max(rowMax[row], blockMax);
          const float rescale =
              rowMax[row] == kNegInf ? 0.0f : std::exp(rowMax[row] - newMax);
          rowSum[row] =
              rowSum[row] * rescale + simd.expShift(p, newMax, count, p);
          if (rescale != 1.0f)
            for (int64_t panel = 0; panel < dPanels; ++panel)
              simd.scale(out + panel * tileSize + r * cols, cols, rescale);
          rowMax[row] = newMax;
        }
        for (int64_t panel = 0; panel < dPanels; ++panel)
          simd.gemmTile(probs.data(), blockKv, rows,
                        packedV + panel * blockKv * cols, count,
                        vectorsFor(a.vHeadDim - panel * cols),
                        out + panel * tileSize, true);
      }
    }
  }

  for (int64_t hh = 0; hh < heads; ++hh) {
    for (int64_t i = q0; i < q0 + qCount; ++i) {
      const int64_t row = hh * qCount + (i - q0);
      const int64_t tile = (i - q0) / tileRows, r = (i - q0) % tileRows;
      const float *src = outTiles.data() +
                         (hh * rowTiles + tile) * dPanels * tileSize + r * cols;
      float *dst =
          a.out + ((b * a.qLen + i) * a.numHeads + h0 + hh) * a.vHeadDim;
      const float inverse = rowSum[row] > 0.0f ? 1.0f / rowSum[row] : 0.0f;
      for (int64_t d = 0; d < a.vHeadDim; ++d)
        dst[d] = src[(d / cols) * tileSize + d % cols] * inverse;
    }
  }
}

} // namespace

extern "C" void llmk_attention(const float *q, const float *k, const float *v,
                               const uint8_t *keyPadding, const float *bias,
                               int64_t biasBatchStride, int64_t biasHeadStride,
                               const float *alibiSlopes, float *out,
                               int64_t batch, int64_t qLen, int64_t kvLen,
                               int64_t numHeads, int64_t numKvHeads,
                               int64_t headDim, int64_t vHeadDim, float scale,
                               int32_t maskKind, int64_t window) {
  if (batch < 0 || qLen < 0 || kvLen < 0 || numHeads <= 0 || numKvHeads <= 0 ||
      numHeads % numKvHeads || headDim <= 0 || vHeadDim <= 0 ||
      maskKind < LLMK_MASK_CAUSAL || maskKind > LLMK_MASK_PADDING) {
    recordError("llmk_attention: invalid head counts, sizes or mask kind");
    if (out && batch > 0 && qLen > 0 && numHeads > 0 && vHeadDim > 0)
      std::fill(out, out + batch * qLen * numHeads * vHeadDim, 0.0f);
    return;
  }
  if (batch == 0 || qLen == 0)
    return;

  AttentionArgs args{q,
                     k,
                     v,
                     keyPadding,
                     bias,
                     biasBatchStride,
                     biasHeadStride,
                     alibiSlopes,
                     out,
                     qLen,
                     kvLen,
                     numHeads,
                     numKvHeads,
                     headDim,
                     vHeadDim,
                     scale,
                     maskKind,
                     window};
  const SimdKernels &simd = getSimdKernels();
  const int64_t group = numHeads / numKvHeads;
  const int64_t qBlocks = (qLen + kBlockQ - 1) / kBlockQ;
  // Grouped heads share a task (their key/value blocks are the same) unless
  // that leaves threads idle, e.g. MQA decode.
  const int64_t wanted = 2 * static_cast<int64_t>(getNumThreads());
  int64_t headsPerTask = group;
  while (headsPerTask > 1 &&
         batch * numKvHeads * (group / headsPerTask) * qBlocks < wanted) {
    do
      --headsPerTask;
    while (group % headsPerTask);
  }
  const int64_t headTasks = group / headsPerTask;
  // The tiled path (any query block of kMinTiledQueries or more) reads the
  // keys and values packed once for all its query blocks.
  // Named through a reference: the workers of parallelFor would each see
  // their own (empty) thread_local.
  thread_local PackedKV callerPacked;
  PackedKV &packedKV = callerPacked;
  if (qLen >= kMinTiledQueries)
    packKV(args, simd, batch, packedKV);
  parallelFor(batch * numKvHeads * headTasks * qBlocks, [&](int64_t task) {
    // The last query blocks see the most keys under a causal mask: hand them
    // out first so the short ones fill in at the end.
    const int64_t qBlock = qBlocks - 1 - task % qBlocks;
    task /= qBlocks;
    const int64_t headTask = task % headTasks;
    task /= headTasks;
    const int64_t kvHead = task % numKvHeads;
    const int64_t b = task / numKvHeads;
    const int64_t q0 = qBlock * kBlockQ;
    const int64_t qCount = std::min(kBlockQ, qLen - q0);
    const int64_t h0 = kvHead * group + headTask * headsPerTask;
    // A few queries (decode) cannot amortize packing the key and value
    // blocks: they take the row-by-row path.
    if (qCount >= kMinTiledQueries)
      attentionTaskTiled(args, simd, packedKV, b, kvHead, h0, headsPerTask, q0,
                         qCount);
    else
      attentionTask(args, simd, b, kvHead, h0, headsPerTask, q0, qCount);
  });
  // A long context's copy is not kept between calls: it would double the
  // memory of the cache it copies.
  if (packedKV.k.size() + packedKV.v.size() > kMaxKeptPackedFloats)
    packedKV = PackedKV();
}
