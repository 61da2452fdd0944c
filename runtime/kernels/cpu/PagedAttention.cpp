//===- PagedAttention.cpp - KV-cache append and paged attention -----------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// The cache is a pool of fixed-size blocks (vLLM's PagedAttention): a
// sequence's keys live in the blocks its block table lists, so sequences grow
// without copying and without reserving their maximum length up front.
//
//===----------------------------------------------------------------------===//

#include "Common.h"
#include "Kernels.h"
#include "PositionMath.h"
#include "Simd.h"
#include "ThreadPool.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

using namespace llmk;

namespace {

/// fp32 to IEEE binary16, rounding to nearest even (overflow to inf).
uint16_t floatToHalf(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  uint32_t sign = (bits >> 16) & 0x8000;
  uint32_t exponent = (bits >> 23) & 0xff;
  uint32_t mantissa = bits & 0x7fffff;
  if (exponent == 0xff) // inf or NaN
    return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  int32_t e = static_cast<int32_t>(exponent) - 127 + 15;
  if (e >= 0x1f)
    return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10)
      return sign;
    // Subnormal: shift the implicit-one mantissa into place and round.
    mantissa |= 0x800000;
    uint32_t shift = 14 - e;
    uint32_t half = mantissa >> shift;
    uint32_t rest = mantissa & ((1u << shift) - 1);
    uint32_t halfway = 1u << (shift - 1);
    if (rest > halfway || (rest == halfway && (half & 1)))
      ++half;
    return sign | half;
  }
  uint32_t half = (static_cast<uint32_t>(e) << 10) | (mantissa >> 13);
  uint32_t rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (half & 1)))
    ++half; // may carry into the exponent, which is still correct
  return sign | half;
}

/// fp32 to bf16, rounding to nearest even.
uint16_t floatToBf16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  if ((bits & 0x7fffffff) > 0x7f800000) // NaN stays NaN
    return static_cast<uint16_t>((bits >> 16) | 0x40);
  bits += 0x7fff + ((bits >> 16) & 1);
  return static_cast<uint16_t>(bits >> 16);
}

/// Index (in elements) of the `headDim` features of kv head `head` at row
/// `offset` of the keys (kv = 0) or values (kv = 1) of `block` in `layer`.
/// Head-major within a block: one head's rows of a block are contiguous, so
/// attention over a head streams them in order. The int8 scale of those
/// features is `scales[index / headDim]`.
int64_t headIndex(const LLMKCache &c, int64_t layer, int64_t block, int kv,
                  int64_t offset, int64_t head) {
  return ((((layer * c.numBlocks + block) * 2 + kv) * c.kvHeads + head) *
              c.blockSize +
          offset) *
         c.headDim;
}

/// Stores one token's `kvHeads * headDim` features at row `offset`.
void storeRow(const LLMKCache &c, int64_t layer, int64_t block, int kv,
              int64_t offset, const float *row) {
  for (int64_t h = 0; h < c.kvHeads; ++h) {
    int64_t index = headIndex(c, layer, block, kv, offset, h);
    const float *src = row + h * c.headDim;
    switch (c.dtype) {
    case LLMK_F32:
      std::memcpy(static_cast<float *>(c.data) + index, src, c.headDim * 4);
      break;
    case LLMK_F16:
      for (int64_t i = 0; i < c.headDim; ++i)
        static_cast<uint16_t *>(c.data)[index + i] = floatToHalf(src[i]);
      break;
    case LLMK_BF16:
      for (int64_t i = 0; i < c.headDim; ++i)
        static_cast<uint16_t *>(c.data)[index + i] = floatToBf16(src[i]);
      break;
    default: { // LLMK_I8: symmetric, one scale per token and kv head.
      float absmax = 0.0f;
      for (int64_t i = 0; i < c.headDim; ++i)
        absmax = std::max(absmax, std::fabs(src[i]));
      float scale = absmax / 127.0f;
      float inverse = scale > 0.0f ? 1.0f / scale : 0.0f;
      c.scales[index / c.headDim] = scale;
      int8_t *dst = static_cast<int8_t *>(c.data) + index;
      for (int64_t i = 0; i < c.headDim; ++i)
        dst[i] = static_cast<int8_t>(std::lrintf(src[i] * inverse));
    }
    }
  }
}

/// Loads the `headDim` features at `index` (from `headIndex`) as fp32.
void loadHead(const LLMKCache &c, int64_t index, float *out) {
  switch (c.dtype) {
  case LLMK_F32:
    std::memcpy(out, static_cast<const float *>(c.data) + index, c.headDim * 4);
    break;
  case LLMK_F16:
  case LLMK_BF16:
    // Exact conversions, vectorized (F16C / a shift).
    getSimdKernels().convert(static_cast<const uint16_t *>(c.data) + index,
                             c.dtype, out, c.headDim);
    break;
  default: {
    float scale = c.scales[index / c.headDim];
    const int8_t *src = static_cast<const int8_t *>(c.data) + index;
    for (int64_t i = 0; i < c.headDim; ++i)
      out[i] = src[i] * scale;
  }
  }
}

bool validCache(const LLMKCache *c, int64_t layer) {
  return c && c->data && c->numBlocks > 0 && c->numLayers > 0 &&
         c->kvHeads > 0 && c->headDim > 0 && c->blockSize > 0 &&
         (c->dtype == LLMK_F32 || c->dtype == LLMK_F16 ||
          c->dtype == LLMK_BF16 || (c->dtype == LLMK_I8 && c->scales)) &&
         layer >= 0 && layer < c->numLayers;
}

/// Paged attention of long query runs through the dense tiled kernel, after
/// gathering each sequence's keys and values. Returns false, having written
/// nothing, when a sequence's blocks cannot be gathered (evicted by a
/// sliding window, or invalid), so that the caller takes the block-wise
/// path.
bool densePrefill(const float *q, const LLMKCache &c, int64_t layer,
                  const int32_t *blockTables, int64_t maxBlocks,
                  const int32_t *contextLens, const float *alibiSlopes,
                  float *out, int64_t batch, int64_t qLen, int64_t numHeads,
                  float scale, int32_t maskKind, int64_t window) {
  int64_t headDim = c.headDim, kvWidth = c.kvHeads * headDim;
  int64_t qWidth = numHeads * headDim;
  for (int64_t b = 0; b < batch; ++b) {
    int64_t length = contextLens[b];
    if ((length < qLen && maskKind != LLMK_MASK_BIDIRECTIONAL) ||
        length > maxBlocks * c.blockSize)
      return false;
    for (int64_t j = 0; j < length; j += c.blockSize) {
      int64_t block = blockTables[b * maxBlocks + j / c.blockSize];
      if (block < 0 || block >= c.numBlocks)
        return false;
    }
  }
  std::vector<float> keys, values;
  for (int64_t b = 0; b < batch; ++b) {
    int64_t length = contextLens[b];
    keys.resize(length * kvWidth);
    values.resize(length * kvWidth);
    parallelFor(length, [&](int64_t j) {
      int64_t block = blockTables[b * maxBlocks + j / c.blockSize];
      int64_t offset = j % c.blockSize;
      for (int64_t h = 0; h < c.kvHeads; ++h) {
        loadHead(c, headIndex(c, layer, block, 0, offset, h),
                 keys.data() + j * kvWidth + h * headDim);
        loadHead(c, headIndex(c, layer, block, 1, offset, h),
                 values.data() + j * kvWidth + h * headDim);
      }
    });
    llmk_attention(q + b * qLen * qWidth, keys.data(), values.data(), nullptr,
                   nullptr, 0, 0, alibiSlopes, out + b * qLen * qWidth, 1, qLen,
                   length, numHeads, c.kvHeads, headDim, headDim, scale,
                   maskKind, window);
  }
  return true;
}

} // namespace

extern "C" void llmk_kv_cache_append(LLMKCache *cache, int64_t layer,
                                     const int32_t *slots, const float *k,
                                     const float *v, int64_t tokens) {
  if (!validCache(cache, layer) || tokens < 0) {
    recordError("llmk_kv_cache_append: invalid cache descriptor or layer");
    return;
  }
  int64_t capacity = cache->numBlocks * cache->blockSize;
  int64_t width = cache->kvHeads * cache->headDim;
  for (int64_t t = 0; t < tokens; ++t) {
    int64_t slot = slots[t];
    if (slot < 0)
      continue;
    if (slot >= capacity) {
      recordError("llmk_kv_cache_append: slot past the end of the cache");
      continue;
    }
    int64_t block = slot / cache->blockSize, offset = slot % cache->blockSize;
    storeRow(*cache, layer, block, 0, offset, k + t * width);
    storeRow(*cache, layer, block, 1, offset, v + t * width);
  }
}

extern "C" void
llmk_paged_attention(const float *q, const LLMKCache *cache, int64_t layer,
                     const int32_t *blockTables, int64_t maxBlocks,
                     const int32_t *contextLens, const float *alibiSlopes,
                     const float *biasTable, int64_t numBuckets,
                     int64_t maxDistance, int32_t bidirectionalBuckets,
                     float *out, int64_t batch, int64_t qLen, int64_t numHeads,
                     float scale, int32_t maskKind, int64_t window) {
  if (!validCache(cache, layer) || numHeads <= 0 ||
      numHeads % cache->kvHeads != 0 || batch < 0 || qLen < 0 ||
      maxBlocks < 0 ||
      (maskKind != LLMK_MASK_CAUSAL && maskKind != LLMK_MASK_SLIDING_WINDOW &&
       maskKind != LLMK_MASK_BIDIRECTIONAL)) {
    recordError("llmk_paged_attention: invalid arguments");
    return;
  }
  const LLMKCache &c = *cache;
  const SimdKernels &simd = getSimdKernels();
  int64_t headDim = c.headDim, group = numHeads / c.kvHeads;
  int64_t qWidth = numHeads * headDim;
  bool bidirectional = maskKind == LLMK_MASK_BIDIRECTIONAL;
  // Relative position bias: the bucket of every key - query distance the
  // batch can have, [-(longest - 1), qLen - 1], computed once per call.
  // (A longer context length than the blocks hold is reported per query.)
  int64_t longest = 0;
  for (int64_t b = 0; b < batch; ++b)
    longest = std::max<int64_t>(longest, contextLens[b]);
  longest = std::min(longest, maxBlocks * c.blockSize);
  int64_t distanceOffset = std::max<int64_t>(longest - 1, 0);
  std::vector<int32_t> bucketOf;
  if (biasTable) {
    RelativeBuckets buckets(numBuckets, maxDistance, bidirectionalBuckets);
    if (!buckets.isValid()) {
      recordError("llmk_paged_attention: too few relative position buckets "
                  "or too short a max distance");
      return;
    }
    bucketOf.resize(distanceOffset + std::max<int64_t>(qLen, 1));
    for (int64_t d = 0; d < static_cast<int64_t>(bucketOf.size()); ++d) {
      int64_t bucket = buckets.bucket(d - distanceOffset);
      if (bucket < 0 || bucket >= numBuckets) {
        recordError("llmk_paged_attention: relative position bucket out of "
                    "range");
        return;
      }
      bucketOf[d] = static_cast<int32_t>(bucket);
    }
  }
  // Long query runs (prefill) are compute-bound: gather each sequence's keys
  // and values (O(length * d), against O(qLen * length * d) of attention)
  // and run the dense tiled kernel, which uses GEMM tiles. A relative bias
  // would have to be materialized there: those take the block-wise path.
  constexpr int64_t kDenseQueries = 32;
  if (qLen >= kDenseQueries && !biasTable &&
      densePrefill(q, c, layer, blockTables, maxBlocks, contextLens,
                   alibiSlopes, out, batch, qLen, numHeads, scale, maskKind,
                   window))
    return;
  // Query rows per task: enough tasks for the pool during prefill. The
  // query heads that share a kv head (GQA/MQA) go to one task when that
  // still leaves two tasks per thread: each block of keys and values is
  // then read (and converted) once for all of them instead of once per head.
  constexpr int64_t kQueriesPerTask = 16;
  // Cache blocks per online-softmax step.
  constexpr int kTileBlocks = 8;
  int64_t chunks = (qLen + kQueriesPerTask - 1) / kQueriesPerTask;
  int64_t headsPerTask =
      batch * c.kvHeads * chunks >= 2 * getNumThreads() ? group : 1;
  int64_t headTasks = numHeads / headsPerTask;
  parallelFor(batch * headTasks * chunks, [&](int64_t task) {
    int64_t chunk = task % chunks, bh = task / chunks;
    int64_t b = bh / headTasks, h0 = (bh % headTasks) * headsPerTask;
    int64_t kvHead = h0 / group;
    int64_t length = contextLens[b];
    // The scores of a tile (and for int8, its rows' scales); per head of the
    // task, its running maximum and sum, and accumulator.
    std::vector<float> scores(kTileBlocks * c.blockSize),
        acc(headsPerTask * headDim), runningMax(headsPerTask),
        runningSum(headsPerTask), keyScales, valueScales, scaledWeights;
    if (c.dtype == LLMK_I8) {
      keyScales.resize(scores.size());
      valueScales.resize(scores.size());
      scaledWeights.resize(scores.size());
    }
    int64_t qEnd = std::min(qLen, (chunk + 1) * kQueriesPerTask);
    for (int64_t i = chunk * kQueriesPerTask; i < qEnd; ++i) {
      const float *query = q + (b * qLen + i) * qWidth + h0 * headDim;
      float *dst = out + (b * qLen + i) * qWidth + h0 * headDim;
      // The query's position; bidirectional (cross) attention reads every
      // key whatever the number of queries.
      int64_t pos = length - qLen + i;
      int64_t last = bidirectional ? length - 1 : pos;
      if (length > maxBlocks * c.blockSize || (pos < 0 && !bidirectional)) {
        recordError("llmk_paged_attention: context length exceeds the "
                    "sequence's blocks");
        std::fill(dst, dst + headsPerTask * headDim, 0.0f);
        continue;
      }
      int64_t first = 0;
      if (maskKind == LLMK_MASK_SLIDING_WINDOW && window > 0)
        first = std::max<int64_t>(0, pos - window + 1);
      std::fill(runningMax.begin(), runningMax.end(),
                -std::numeric_limits<float>::infinity());
      std::fill(runningSum.begin(), runningSum.end(), 0.0f);
      std::fill(acc.begin(), acc.end(), 0.0f);
      // Online softmax over tiles of up to kTileBlocks cache blocks: the
      // scores of a tile are computed block by block, then one maximum, one
      // rescale and one exp pass serve the whole tile.
      for (int64_t j0 = first; j0 <= last;) {
        struct Segment {
          const void *k, *v;
          int64_t count;
        };
        // Rows are read in place and converted in registers; int8 rows
        // without their scales, which multiply the scores (keys) and the
        // probabilities (values) instead.
        Segment segments[kTileBlocks];
        int numSegments = 0;
        int64_t tileStart = j0, tileLen = 0;
        while (numSegments < kTileBlocks && j0 <= last) {
          int64_t offset = j0 % c.blockSize;
          int64_t count = std::min(c.blockSize - offset, last + 1 - j0);
          int64_t block = blockTables[b * maxBlocks + j0 / c.blockSize];
          if (block < 0 || block >= c.numBlocks) {
            recordError("llmk_paged_attention: block index outside the "
                        "cache");
            break;
          }
          Segment &seg = segments[numSegments++];
          seg.count = count;
          int64_t kIndex = headIndex(c, layer, block, 0, offset, kvHead);
          int64_t vIndex = headIndex(c, layer, block, 1, offset, kvHead);
          int64_t bytes = c.dtype == LLMK_F32 ? 4 : c.dtype == LLMK_I8 ? 1 : 2;
          seg.k = static_cast<const char *>(c.data) + kIndex * bytes;
          seg.v = static_cast<const char *>(c.data) + vIndex * bytes;
          if (c.dtype == LLMK_I8) {
            // A head's rows of a block are consecutive, and so are their
            // scales.
            std::copy_n(c.scales + kIndex / headDim, count,
                        keyScales.data() + tileLen);
            std::copy_n(c.scales + vIndex / headDim, count,
                        valueScales.data() + tileLen);
          }
          tileLen += count;
          j0 += count;
        }
        if (numSegments == 0) { // An invalid block: skip it.
          j0 += std::min(c.blockSize - j0 % c.blockSize, last + 1 - j0);
          continue;
        }
        for (int64_t g = 0; g < headsPerTask; ++g) {
          int64_t h = h0 + g;
          float *headAcc = acc.data() + g * headDim;
          int64_t at = 0;
          for (int s = 0; s < numSegments; ++s) {
            simd.dotRows(query + g * headDim, segments[s].k, c.dtype, headDim,
                         segments[s].count, headDim, scores.data() + at);
            at += segments[s].count;
          }
          float tileMax = -std::numeric_limits<float>::infinity();
          for (int64_t r = 0; r < tileLen; ++r) {
            scores[r] *= c.dtype == LLMK_I8 ? scale * keyScales[r] : scale;
            int64_t key = tileStart + r;
            if (alibiSlopes)
              scores[r] += alibiSlopes[h] * static_cast<float>(key - pos);
            if (biasTable)
              scores[r] +=
                  biasTable[bucketOf[key - pos + distanceOffset] * numHeads +
                            h];
            tileMax = std::max(tileMax, scores[r]);
          }
          float newMax = std::max(runningMax[g], tileMax);
          // Rescale what was accumulated when the maximum grows.
          float correction = std::exp(runningMax[g] - newMax);
          if (correction != 1.0f) {
            simd.scale(headAcc, headDim, correction);
            runningSum[g] *= correction;
          }
          runningSum[g] +=
              simd.expShift(scores.data(), newMax, tileLen, scores.data());
          const float *weights = scores.data();
          if (c.dtype == LLMK_I8) {
            for (int64_t r = 0; r < tileLen; ++r)
              scaledWeights[r] = scores[r] * valueScales[r];
            weights = scaledWeights.data();
          }
          at = 0;
          for (int s = 0; s < numSegments; ++s) {
            simd.axpyRows(headAcc, weights + at, segments[s].v, c.dtype,
                          headDim, segments[s].count, headDim);
            at += segments[s].count;
          }
          runningMax[g] = newMax;
        }
      }
      for (int64_t g = 0; g < headsPerTask; ++g) {
        float inverse = runningSum[g] > 0.0f ? 1.0f / runningSum[g] : 0.0f;
        for (int64_t d = 0; d < headDim; ++d)
          dst[g * headDim + d] = acc[g * headDim + d] * inverse;
      }
    }
  });
}
