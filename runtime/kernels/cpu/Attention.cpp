//===- Attention.cpp - Fused attention with online softmax ----------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// FlashAttention-2's schedule on a CPU: a task owns a block of queries of
// the heads that share one kv head, and walks the keys in blocks, keeping per
// query row a running maximum, a running sum and an unnormalized output that
// is rescaled whenever the maximum grows. Only one block of scores per row
// exists at a time, and each key/value block is reused from cache by every
// query row (and every grouped head) of the task.
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

/// Query rows (per head) of a task.
constexpr int64_t kBlockQ = 32;
/// Keys per block: scores of a block stay in L1, and the key and value
/// blocks (128 x head_dim each) in L2.
constexpr int64_t kBlockKv = 128;

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
        simd.dotRows(query, kBase + first * kStride, kStride, count, a.headDim,
                     scores.data());

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
        simd.axpyRows(output, scores.data(), vBase + first * vStride, vStride,
                      count, a.vHeadDim);
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
    attentionTask(args, simd, b, kvHead,
                  kvHead * group + headTask * headsPerTask, headsPerTask, q0,
                  std::min(kBlockQ, qLen - q0));
  });
}
