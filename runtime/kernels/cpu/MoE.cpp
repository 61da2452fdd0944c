//===- MoE.cpp - The kernels of a specialized mixture of experts ----------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// What `llm-specialize-moe` lowers an `llm.moe` to: routing (softmax and
// top-k per token), permutation (each token copied once per chosen expert,
// the copies grouped by expert with offsets computed at run time), the
// grouped product (one weight matrix per contiguous group of rows) and the
// weighted combine back in token order. Each runs on buffers the compiled
// function's arena holds; their scratch (an expert's probabilities, the
// permutation's cursors) is per thread and kept between calls. The grouped
// product comes in two forms, chosen by the pass: prefill runs each
// expert's rows through llmk::linear (with few experts one after another,
// each split across the threads; with many, one expert per task); decode
// (llmk_grouped_gemv) streams each chosen expert once, the output rows of
// all of them split across the threads in one parallel region.
//
//===----------------------------------------------------------------------===//

#include "Common.h"
#include "Kernels.h"
#include "Layout.h"
#include "Quant.h"
#include "ThreadPool.h"

#include <algorithm>
#include <cstring>
#include <vector>

using namespace llmk;

namespace {

/// Runs fn(begin, end) over [0, count) in parallel chunks of `grain`.
template <typename Fn> void forRanges(int64_t count, int64_t grain, Fn fn) {
  if (count <= 0)
    return;
  parallelFor((count + grain - 1) / grain, [&](int64_t task) {
    fn(task * grain, std::min(count, (task + 1) * grain));
  });
}

/// Checks the offsets of a grouped product (starting at 0, nondecreasing,
/// at most `rows`) and zeroes the rows past them (copies a capacity
/// dropped); on bad offsets or !`valid` records `error` (a literal: the
/// error slot keeps the pointer) and zeroes y. Returns whether the product
/// may run.
bool prepareGroups(const char *error, bool valid, const int32_t *offsets,
                   float *y, int64_t rows, int64_t n, int64_t experts) {
  valid = valid && experts > 0 && offsets[0] == 0 && offsets[experts] <= rows;
  for (int64_t e = 0; valid && e < experts; ++e)
    valid = offsets[e + 1] >= offsets[e];
  if (!valid) {
    recordError(error);
    std::fill(y, y + rows * n, 0.0f);
    return false;
  }
  std::fill(y + int64_t(offsets[experts]) * n, y + rows * n, 0.0f);
  return true;
}

/// Whether float experts come in a dtype and layout the grouped products
/// read, and the bytes from one expert's [n, k] matrix to the next.
bool isExpertLayout(int32_t dtype, int32_t layout) {
  return isValidDtype(dtype) &&
         (layout == LLMK_LAYOUT_ROWS || layout == LLMK_LAYOUT_PANELS);
}
int64_t expertBytes(int32_t dtype, int32_t layout, int64_t n, int64_t k) {
  return (layout == LLMK_LAYOUT_PANELS ? panelElements(n, k) : n * k) *
         dtypeSize(dtype);
}

} // namespace

extern "C" {

void llmk_moe_route(const float *logits, float *weights, int32_t *indices,
                    int64_t tokens, int64_t experts, int64_t topK,
                    int32_t normalize) {
  if (tokens <= 0)
    return;
  if (experts <= 0 || topK <= 0 || topK > experts) {
    recordError("llmk_moe_route: expected 1 <= top_k <= experts");
    std::fill(weights, weights + tokens * std::max<int64_t>(topK, 0), 0.0f);
    return;
  }
  // As transformers' routers: the softmax over every expert in fp32, then
  // the top k in descending probability (the strict > keeps the lower index
  // on ties), renormalized to sum 1 when asked.
  forRanges(tokens, 64, [&](int64_t begin, int64_t end) {
    // Per worker, kept between calls: no allocation once grown.
    thread_local std::vector<float> probs;
    thread_local std::vector<bool> taken;
    probs.resize(experts);
    taken.resize(experts);
    for (int64_t t = begin; t < end; ++t) {
      llmk_softmax(logits + t * experts, probs.data(), 1, experts);
      std::fill(taken.begin(), taken.end(), false);
      float total = 0.0f;
      for (int64_t j = 0; j < topK; ++j) {
        int64_t best = -1;
        for (int64_t e = 0; e < experts; ++e)
          if (!taken[e] && (best < 0 || probs[e] > probs[best]))
            best = e;
        taken[best] = true;
        indices[t * topK + j] = static_cast<int32_t>(best);
        weights[t * topK + j] = probs[best];
        total += probs[best];
      }
      if (normalize)
        for (int64_t j = 0; j < topK; ++j)
          weights[t * topK + j] /= total;
    }
  });
}

void llmk_moe_permute(const float *x, const int32_t *indices, float *permuted,
                      int32_t *offsets, int32_t *sources, int64_t tokens,
                      int64_t hidden, int64_t experts, int64_t topK,
                      int64_t capacity) {
  if (experts <= 0 || topK <= 0 || tokens < 0 || capacity < 0) {
    recordError("llmk_moe_permute: expected experts and top_k >= 1, "
                "capacity >= 0");
    return;
  }
  const int64_t rows = tokens * topK;
  for (int64_t i = 0; i < rows; ++i)
    if (indices[i] < 0 || indices[i] >= experts) {
      recordError("llmk_moe_permute: an expert index outside [0, experts)");
      std::fill(offsets, offsets + experts + 1, 0);
      return;
    }
  // A counting sort by expert, stable in token order; with a capacity, an
  // expert's copies past it go to the end, dropped.
  std::fill(offsets, offsets + experts + 1, 0);
  for (int64_t i = 0; i < rows; ++i)
    ++offsets[indices[i] + 1];
  if (capacity > 0)
    for (int64_t e = 0; e < experts; ++e)
      offsets[e + 1] =
          static_cast<int32_t>(std::min<int64_t>(offsets[e + 1], capacity));
  for (int64_t e = 0; e < experts; ++e)
    offsets[e + 1] += offsets[e];
  thread_local std::vector<int32_t> next;
  next.assign(offsets, offsets + experts);
  int64_t dropped = offsets[experts];
  for (int64_t i = 0; i < rows; ++i) {
    const int32_t e = indices[i];
    if (next[e] < offsets[e + 1])
      sources[next[e]++] = static_cast<int32_t>(i);
    else
      sources[dropped++] = -1;
  }
  forRanges(rows, 64, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      if (sources[r] < 0)
        std::fill(permuted + r * hidden, permuted + (r + 1) * hidden, 0.0f);
      else
        std::memcpy(permuted + r * hidden, x + (sources[r] / topK) * hidden,
                    hidden * sizeof(float));
    }
  });
}

void llmk_grouped_matmul(const float *x, const void *w, int32_t wDtype,
                         int32_t wLayout, const int32_t *offsets, float *y,
                         int64_t rows, int64_t k, int64_t n, int64_t experts) {
  if (rows <= 0 || n <= 0 ||
      !prepareGroups("llmk_grouped_matmul: invalid weights, or offsets not "
                     "nondecreasing from 0 to at most the rows",
                     isExpertLayout(wDtype, wLayout), offsets, y, rows, n,
                     experts))
    return;
  const int64_t matrixBytes = expertBytes(wDtype, wLayout, n, k);
  auto product = [&](int64_t e) {
    const int64_t r0 = offsets[e], count = offsets[e + 1] - r0;
    if (count == 0)
      return; // An expert no token chose: its weights are not read.
    linear(x + r0 * k, static_cast<const char *>(w) + e * matrixBytes, wDtype,
           wLayout, nullptr, y + r0 * n, count, k, n);
  };
  // Many experts with rows (Qwen3-MoE's 64, of 128 rows or fewer each in a
  // prefill): one task per expert, each product on one thread (a nested
  // parallel loop runs inline), instead of a parallel region per expert;
  // measured 10-20% faster on the 64-expert bench shape. Few (Mixtral's
  // 8): one after another, each product split across the threads.
  const int threads = getNumThreads();
  int64_t busy = 0;
  for (int64_t e = 0; e < experts; ++e)
    busy += offsets[e + 1] > offsets[e];
  if (experts >= 8 * threads && busy >= 4 * threads) {
    parallelFor(experts, product);
    return;
  }
  for (int64_t e = 0; e < experts; ++e)
    product(e);
}

void llmk_grouped_gemv(const float *x, const void *w, int32_t wDtype,
                       int32_t wLayout, const int32_t *offsets, float *y,
                       int64_t rows, int64_t k, int64_t n, int64_t experts) {
  if (rows <= 0 || n <= 0 ||
      !prepareGroups("llmk_grouped_gemv: invalid weights, or offsets not "
                     "nondecreasing from 0 to at most the rows",
                     isExpertLayout(wDtype, wLayout), offsets, y, rows, n,
                     experts))
    return;
  const int64_t matrixBytes = expertBytes(wDtype, wLayout, n, k);
  groupedGemv(x, w, wDtype, wLayout, 0, 0, matrixBytes, offsets, y, k, n,
              experts);
}

void llmk_grouped_matmul_q(const float *x, const void *w, int32_t bits,
                           int64_t group, const int32_t *offsets, float *y,
                           int64_t rows, int64_t k, int64_t n,
                           int64_t experts) {
  if (rows <= 0 || n <= 0 ||
      !prepareGroups("llmk_grouped_matmul_q: invalid weights, or offsets not "
                     "nondecreasing from 0 to at most the rows",
                     checkQuantization(bits, group, k).empty(), offsets, y,
                     rows, n, experts))
    return;
  const int64_t stride = quantExpertBytes(n, k, bits, group);
  // One after another, each product split across the threads.
  for (int64_t e = 0; e < experts; ++e) {
    const int64_t r0 = offsets[e], count = offsets[e + 1] - r0;
    if (count > 0)
      llmk_linear_q(x + r0 * k, static_cast<const char *>(w) + e * stride, bits,
                    group, 0, nullptr, y + r0 * n, count, k, n);
  }
}

void llmk_grouped_gemv_q(const float *x, const void *w, int32_t bits,
                         int64_t group, const int32_t *offsets, float *y,
                         int64_t rows, int64_t k, int64_t n, int64_t experts) {
  if (rows <= 0 || n <= 0 ||
      !prepareGroups("llmk_grouped_gemv_q: invalid weights, or offsets not "
                     "nondecreasing from 0 to at most the rows",
                     checkQuantization(bits, group, k).empty(), offsets, y,
                     rows, n, experts))
    return;
  groupedGemv(x, w, LLMK_F32, LLMK_LAYOUT_ROWS, bits, group,
              quantExpertBytes(n, k, bits, group), offsets, y, k, n, experts);
}

void llmk_moe_combine(const float *expertOut, const float *weights,
                      const int32_t *sources, float *y, int64_t tokens,
                      int64_t hidden, int64_t topK) {
  if (tokens <= 0 || hidden <= 0)
    return;
  const int64_t rows = tokens * topK;
  for (int64_t r = 0; r < rows; ++r)
    if (sources[r] < -1 || sources[r] >= rows) {
      recordError("llmk_moe_combine: a source outside [0, tokens * top_k) "
                  "and not -1");
      std::fill(y, y + tokens * hidden, 0.0f);
      return;
    }
  // Rows in order (by expert, as the experts run one after another in
  // transformers' loop), each added to its token.
  std::fill(y, y + tokens * hidden, 0.0f);
  for (int64_t r = 0; r < rows; ++r) {
    if (sources[r] < 0)
      continue; // Dropped by a capacity.
    const float weight = weights[sources[r]];
    float *dst = y + (sources[r] / topK) * hidden;
    const float *src = expertOut + r * hidden;
    for (int64_t i = 0; i < hidden; ++i)
      dst[i] += src[i] * weight;
  }
}

} // extern "C"
