//===- Calibrated.cpp - GPTQ and AWQ from calibration statistics ----------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "llm/Quant/Calibrated.h"

#include "Kernels.h"
#include "Quant.h"
#include "ThreadPool.h"

#include <algorithm>
#include <cmath>
#include <numeric>

using namespace llmq;

namespace {

/// y[m, n] = x[m, k] · w[n, k]ᵀ on the kernels' fp32 GEMM.
void multiply(const float *x, const float *w, float *y, int64_t m, int64_t k,
              int64_t n) {
  llmk_linear(x, w, LLMK_F32, LLMK_LAYOUT_ROWS, nullptr, y, m, k, n);
}

int64_t groupSize(const Scheme &scheme, int64_t k) {
  return scheme.group == 0 ? k : scheme.group;
}

/// In place, the upper triangular V with H = V Vᵀ (a Cholesky factorization
/// in reverse order), for the symmetric [k, k] `h`; false when `h` is not
/// positive definite. Only the upper triangle is read and written.
bool reverseCholesky(std::vector<double> &h, int64_t k) {
  for (int64_t j = k - 1; j >= 0; --j) {
    double *rowJ = h.data() + j * k;
    double d = rowJ[j];
    for (int64_t t = j + 1; t < k; ++t)
      d -= rowJ[t] * rowJ[t];
    if (!(d > 0.0))
      return false;
    const double pivot = std::sqrt(d);
    rowJ[j] = pivot;
    llmk::parallelFor(j, [&](int64_t i) {
      double *rowI = h.data() + i * k;
      double s = rowI[j];
      for (int64_t t = j + 1; t < k; ++t)
        s -= rowI[t] * rowJ[t];
      rowI[j] = s / pivot;
    });
  }
  return true;
}

/// In place, the inverse of the upper triangular [k, k] `v`.
void invertUpper(std::vector<double> &v, int64_t k) {
  // Row by row from the bottom: u = v⁻¹ is upper triangular with
  // u[i][i] = 1 / v[i][i] and, for j > i,
  // u[i][j] = -(sum_{t=i+1..j} v[i][t] u[t][j]) / v[i][i]: row i of u is a
  // combination of the rows below it, summed contiguously (in parallel over
  // column ranges).
  std::vector<double> u(k * k, 0.0);
  constexpr int64_t kColumns = 256;
  for (int64_t i = k - 1; i >= 0; --i) {
    const double *vRow = v.data() + i * k;
    double *uRow = u.data() + i * k;
    const double inverse = 1.0 / vRow[i];
    uRow[i] = inverse;
    const int64_t chunks = (k - i - 1 + kColumns - 1) / kColumns;
    llmk::parallelFor(chunks, [&](int64_t chunk) {
      const int64_t j0 = i + 1 + chunk * kColumns,
                    j1 = std::min(k, j0 + kColumns);
      for (int64_t t = i + 1; t < j1; ++t) {
        const double coefficient = vRow[t];
        const double *below = u.data() + t * k;
        for (int64_t j = std::max(j0, t); j < j1; ++j)
          uRow[j] += coefficient * below[j];
      }
      for (int64_t j = j0; j < j1; ++j)
        uRow[j] *= -inverse;
    });
  }
  v = std::move(u);
}

} // namespace

InputStatistics::InputStatistics(int64_t features)
    : features(features), gram(features * features, 0.0),
      absSum(features, 0.0) {}

void InputStatistics::add(const float *x, int64_t count) {
  if (count <= 0)
    return;
  const int64_t k = features;
  transposed.resize(k * count);
  for (int64_t r = 0; r < count; ++r)
    for (int64_t i = 0; i < k; ++i) {
      transposed[i * count + r] = x[r * k + i];
      absSum[i] += std::fabs(x[r * k + i]);
    }
  product.resize(k * k);
  multiply(transposed.data(), transposed.data(), product.data(), k, count, k);
  for (int64_t i = 0; i < k * k; ++i)
    gram[i] += product[i];
  rows += count;
}

void InputStatistics::releaseScratch() {
  std::vector<float>().swap(transposed);
  std::vector<float>().swap(product);
}

std::vector<double> InputStatistics::getMeanMagnitude() const {
  std::vector<double> mean(features, 0.0);
  if (rows > 0)
    for (int64_t i = 0; i < features; ++i)
      mean[i] = absSum[i] / static_cast<double>(rows);
  return mean;
}

InputStatistics
InputStatistics::dividedBy(const std::vector<float> &divisors) const {
  InputStatistics result(features);
  result.rows = rows;
  for (int64_t i = 0; i < features; ++i) {
    result.absSum[i] = absSum[i] / divisors[i];
    for (int64_t j = 0; j < features; ++j)
      result.gram[i * features + j] =
          gram[i * features + j] /
          (static_cast<double>(divisors[i]) * divisors[j]);
  }
  return result;
}

QuantizedMatrix llmq::quantizeRTN(const float *w, int64_t n, int64_t k,
                                  const Scheme &scheme) {
  const int64_t size = groupSize(scheme, k), groups = k / size;
  QuantizedMatrix q;
  q.codes.resize(n * k);
  q.scales.resize(n * groups);
  q.offsets.resize(n * groups);
  llmk::parallelFor(n, [&](int64_t row) {
    for (int64_t g = 0; g < groups; ++g) {
      const float *values = w + row * k + g * size;
      llmk::QuantGrid grid =
          llmk::chooseQuantGrid(values, size, scheme.bits, scheme.symmetric);
      q.scales[row * groups + g] = grid.scale;
      q.offsets[row * groups + g] = grid.offset;
      for (int64_t i = 0; i < size; ++i)
        q.codes[row * k + g * size + i] =
            static_cast<int8_t>(grid.quantize(values[i]));
    }
  });
  return q;
}

std::vector<float> llmq::dequantize(const QuantizedMatrix &q, int64_t n,
                                    int64_t k, const Scheme &scheme) {
  const int64_t size = groupSize(scheme, k), groups = k / size;
  std::vector<float> w(n * k);
  for (int64_t row = 0; row < n; ++row)
    for (int64_t i = 0; i < k; ++i) {
      const int64_t g = row * groups + i / size;
      w[row * k + i] = q.scales[g] * q.codes[row * k + i] + q.offsets[g];
    }
  return w;
}

double llmq::outputError(const float *w, const float *v, int64_t n, int64_t k,
                         const InputStatistics &stats) {
  if (stats.getRows() == 0 || n == 0)
    return 0.0;
  const double inverseRows = 1.0 / static_cast<double>(stats.getRows());
  std::vector<float> hessian(k * k), diff(n * k), product(n * k);
  for (int64_t i = 0; i < k * k; ++i)
    hessian[i] = static_cast<float>(stats.getGram()[i] * inverseRows);
  for (int64_t i = 0; i < n * k; ++i)
    diff[i] = v[i] - w[i];
  multiply(diff.data(), hessian.data(), product.data(), n, k, k);
  double error = 0.0;
  for (int64_t i = 0; i < n * k; ++i)
    error += static_cast<double>(diff[i]) * product[i];
  return error;
}

GPTQPlan llmq::planGPTQ(const InputStatistics &stats,
                        const GPTQOptions &options) {
  const int64_t k = stats.getFeatures();
  const double inverseRows =
      stats.getRows() > 0 ? 1.0 / static_cast<double>(stats.getRows()) : 1.0;
  GPTQPlan plan;

  // The Hessian of the squared output error (up to a factor 2), with the
  // features no input used pinned: their weights are zeroed.
  std::vector<double> hessian(k * k);
  for (int64_t i = 0; i < k * k; ++i)
    hessian[i] = stats.getGram()[i] * inverseRows;
  plan.dead.assign(k, false);
  for (int64_t i = 0; i < k; ++i)
    if (hessian[i * k + i] == 0.0) {
      plan.dead[i] = true;
      hessian[i * k + i] = 1.0;
    }

  // The order features are quantized in.
  std::vector<int64_t> &order = plan.order;
  order.resize(k);
  std::iota(order.begin(), order.end(), 0);
  if (options.actOrder)
    std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      const double da = hessian[a * k + a], db = hessian[b * k + b];
      return da != db ? da > db : a < b;
    });

  // H permuted into that order, damped, then the upper Cholesky factor U of
  // its inverse (H⁻¹ = Uᵀ U): with H = V Vᵀ, V upper, U = V⁻¹.
  double mean = 0.0;
  for (int64_t i = 0; i < k; ++i)
    mean += hessian[i * k + i];
  mean /= static_cast<double>(std::max<int64_t>(k, 1));
  std::vector<double> &factor = plan.factor;
  factor.resize(k * k);
  double damp = options.damp;
  bool factored = false;
  for (int attempt = 0; attempt < 5 && !factored; ++attempt) {
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < k; ++j)
        factor[i * k + j] = hessian[order[i] * k + order[j]];
    for (int64_t i = 0; i < k; ++i)
      factor[i * k + i] += damp * mean;
    factored = reverseCholesky(factor, k);
    if (!factored)
      damp *= 10.0;
  }
  if (!factored) {
    // Only on a degenerate Hessian: round to nearest.
    plan.note = "the Hessian is not positive definite even with dampening " +
                std::to_string(damp / 10.0) + "; rounded to nearest";
    factor.clear();
    return plan;
  }
  if (damp != options.damp)
    plan.note = "the Hessian needed dampening " + std::to_string(damp) +
                " (asked: " + std::to_string(options.damp) + ")";
  invertUpper(factor, k);
  return plan;
}

QuantizedMatrix llmq::quantizeGPTQ(const float *w, int64_t n, int64_t k,
                                   const InputStatistics &stats,
                                   const Scheme &scheme,
                                   const GPTQOptions &options,
                                   std::string *note) {
  GPTQPlan plan = planGPTQ(stats, options);
  if (note)
    *note = plan.note;
  return quantizeGPTQ(w, n, k, plan, scheme, options);
}

QuantizedMatrix llmq::quantizeGPTQ(const float *w, int64_t n, int64_t k,
                                   const GPTQPlan &plan, const Scheme &scheme,
                                   const GPTQOptions &options) {
  const int64_t size = groupSize(scheme, k), groups = k / size;
  const std::vector<bool> &dead = plan.dead;
  const std::vector<int64_t> &order = plan.order;
  if (plan.factor.empty()) {
    std::vector<float> zeroed(w, w + n * k);
    for (int64_t row = 0; row < n; ++row)
      for (int64_t i = 0; i < k; ++i)
        if (dead[i])
          zeroed[row * k + i] = 0.0f;
    return quantizeRTN(zeroed.data(), n, k, scheme);
  }
  const std::vector<double> &u = plan.factor;

  QuantizedMatrix q;
  q.codes.resize(n * k);
  q.scales.resize(n * groups);
  q.offsets.resize(n * groups);
  const int64_t block = std::max<int64_t>(1, options.blockSize);
  // Rows are independent given U: tiles of rows run in parallel, and each
  // row of U a tile reads serves all its rows.
  constexpr int64_t kTileRows = 16;
  const int64_t tiles = (n + kTileRows - 1) / kTileRows;
  llmk::parallelFor(tiles, [&](int64_t tile) {
    const int64_t r0 = tile * kTileRows, rows = std::min(kTileRows, n - r0);
    // The tile's rows in quantization order, updated as features are
    // rounded, and the errors of the current batch.
    std::vector<double> work(rows * k), errors(rows * block);
    std::vector<float> original(k);
    std::vector<llmk::QuantGrid> grids(rows * groups);
    std::vector<bool> chosen(rows * groups, false);
    for (int64_t r = 0; r < rows; ++r) {
      const float *src = w + (r0 + r) * k;
      for (int64_t j = 0; j < k; ++j)
        work[r * k + j] = dead[order[j]] ? 0.0 : src[order[j]];
      if (options.actOrder || scheme.group == 0) {
        // Grids up front from the float weight, per group of consecutive
        // features.
        for (int64_t i = 0; i < k; ++i)
          original[i] = dead[i] ? 0.0f : src[i];
        for (int64_t g = 0; g < groups; ++g) {
          grids[r * groups + g] = llmk::chooseQuantGrid(
              original.data() + g * size, size, scheme.bits, scheme.symmetric);
          chosen[r * groups + g] = true;
        }
      }
    }
    std::vector<float> pending(size);
    for (int64_t b0 = 0; b0 < k; b0 += block) {
      const int64_t b1 = std::min(k, b0 + block);
      for (int64_t j = b0; j < b1; ++j) {
        const int64_t feature = order[j], g = feature / size;
        const double *uRow = u.data() + j * k;
        const double pivot = uRow[j];
        for (int64_t r = 0; r < rows; ++r) {
          double *row = work.data() + r * k;
          if (!chosen[r * groups + g]) {
            // In order (no act-order), a group's grid is chosen when its
            // first feature is reached, from the updated weights.
            for (int64_t i = 0; i < size; ++i)
              pending[i] = static_cast<float>(row[j + i]);
            grids[r * groups + g] = llmk::chooseQuantGrid(
                pending.data(), size, scheme.bits, scheme.symmetric);
            chosen[r * groups + g] = true;
          }
          const llmk::QuantGrid &grid = grids[r * groups + g];
          const int code = grid.quantize(static_cast<float>(row[j]));
          q.codes[(r0 + r) * k + feature] = static_cast<int8_t>(code);
          const double error = (row[j] - grid.value(code)) / pivot;
          errors[r * block + (j - b0)] = error;
          // Within the batch at once; past it, lazily below.
          for (int64_t t = j + 1; t < b1; ++t)
            row[t] -= error * uRow[t];
        }
      }
      // The batch's updates of the features past it.
      for (int64_t j = b0; j < b1; ++j) {
        const double *uRow = u.data() + j * k;
        for (int64_t r = 0; r < rows; ++r) {
          const double error = errors[r * block + (j - b0)];
          double *row = work.data() + r * k;
          for (int64_t t = b1; t < k; ++t)
            row[t] -= error * uRow[t];
        }
      }
    }
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t g = 0; g < groups; ++g) {
        q.scales[(r0 + r) * groups + g] = grids[r * groups + g].scale;
        q.offsets[(r0 + r) * groups + g] = grids[r * groups + g].offset;
      }
  });
  return q;
}

std::pair<double, double> llmq::clipAWQ(float *w, int64_t n, int64_t k,
                                        const InputStatistics &stats,
                                        const Scheme &scheme, int steps) {
  const int64_t size = groupSize(scheme, k), groups = k / size;
  if (stats.getRows() == 0 || n == 0 || k == 0)
    return {0.0, 0.0};
  // H with the blocks between different groups zeroed: the error of each
  // (row, group) is then the sum over the group's features of D .* (D H).
  const double inverseRows = 1.0 / static_cast<double>(stats.getRows());
  std::vector<float> hessian(k * k, 0.0f);
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < k; ++j)
      if (i / size == j / size)
        hessian[i * k + j] =
            static_cast<float>(stats.getGram()[i * k + j] * inverseRows);
  // Each group's range: [lo, hi] (zero points) or [-m, m] (symmetric).
  std::vector<float> lo(n * groups), hi(n * groups);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t g = 0; g < groups; ++g) {
      const float *values = w + r * k + g * size;
      float a = 0.0f, b = 0.0f, m = 0.0f;
      for (int64_t i = 0; i < size; ++i) {
        a = std::min(a, values[i]);
        b = std::max(b, values[i]);
        m = std::max(m, std::fabs(values[i]));
      }
      lo[r * groups + g] = scheme.symmetric ? -m : a;
      hi[r * groups + g] = scheme.symmetric ? m : b;
    }
  std::vector<double> best(n * groups, INFINITY), first(n * groups);
  std::vector<float> bestRatio(n * groups, 1.0f);
  std::vector<float> clipped(n * k), diff(n * k), product(n * k);
  for (int step = 0; step < steps; ++step) {
    const float ratio = 1.0f - 0.025f * static_cast<float>(step);
    for (int64_t r = 0; r < n; ++r)
      for (int64_t i = 0; i < k; ++i) {
        const int64_t g = r * groups + i / size;
        clipped[r * k + i] =
            std::clamp(w[r * k + i], ratio * lo[g], ratio * hi[g]);
      }
    std::vector<float> back =
        dequantize(quantizeRTN(clipped.data(), n, k, scheme), n, k, scheme);
    for (int64_t e = 0; e < n * k; ++e)
      diff[e] = back[e] - w[e];
    multiply(diff.data(), hessian.data(), product.data(), n, k, k);
    for (int64_t r = 0; r < n; ++r)
      for (int64_t g = 0; g < groups; ++g) {
        double error = 0.0;
        for (int64_t i = g * size; i < (g + 1) * size; ++i)
          error += static_cast<double>(diff[r * k + i]) * product[r * k + i];
        if (step == 0)
          first[r * groups + g] = error;
        if (error < best[r * groups + g]) {
          best[r * groups + g] = error;
          bestRatio[r * groups + g] = ratio;
        }
      }
  }
  double before = 0.0, after = 0.0;
  for (int64_t r = 0; r < n; ++r)
    for (int64_t g = 0; g < groups; ++g) {
      before += first[r * groups + g];
      after += best[r * groups + g];
      const float ratio = bestRatio[r * groups + g];
      for (int64_t i = g * size; i < (g + 1) * size; ++i)
        w[r * k + i] = std::clamp(w[r * k + i], ratio * lo[r * groups + g],
                                  ratio * hi[r * groups + g]);
    }
  return {before, after};
}

AWQResult llmq::searchAWQScales(const std::vector<WeightRef> &weights,
                                int64_t k, const InputStatistics &stats,
                                const Scheme &scheme, int gridSize) {
  AWQResult result;
  result.scales.assign(k, 1.0f);
  const int64_t size = groupSize(scheme, k), groups = k / size;
  std::vector<double> xMean = stats.getMeanMagnitude();

  // The mean over all rows of |w| relative to its group's largest.
  std::vector<double> wMean(k, 0.0);
  int64_t totalRows = 0;
  for (const WeightRef &ref : weights) {
    for (int64_t row = 0; row < ref.rows; ++row)
      for (int64_t g = 0; g < groups; ++g) {
        const float *values = ref.w + row * k + g * size;
        float largest = 0.0f;
        for (int64_t i = 0; i < size; ++i)
          largest = std::max(largest, std::fabs(values[i]));
        if (largest > 0.0f)
          for (int64_t i = 0; i < size; ++i)
            wMean[g * size + i] += std::fabs(values[i]) / largest;
      }
    totalRows += ref.rows;
  }
  for (double &m : wMean)
    m /= static_cast<double>(std::max<int64_t>(totalRows, 1));

  // The summed output error of the weights scaled by `scales`, rounded to
  // nearest, and unscaled.
  auto errorWith = [&](const std::vector<float> &scales) {
    double error = 0.0;
    for (const WeightRef &ref : weights) {
      const int64_t n = ref.rows;
      std::vector<float> scaled(n * k);
      for (int64_t row = 0; row < n; ++row)
        for (int64_t i = 0; i < k; ++i)
          scaled[row * k + i] = ref.w[row * k + i] * scales[i];
      std::vector<float> back =
          dequantize(quantizeRTN(scaled.data(), n, k, scheme), n, k, scheme);
      for (int64_t row = 0; row < n; ++row)
        for (int64_t i = 0; i < k; ++i)
          back[row * k + i] /= scales[i];
      error += outputError(ref.w, back.data(), n, k, stats);
    }
    return error;
  };

  result.errorBefore = errorWith(result.scales);
  result.errorAfter = result.errorBefore;
  std::vector<float> scales(k);
  for (int step = 0; step < gridSize; ++step) {
    const double ratio = static_cast<double>(step) / gridSize;
    double lo = INFINITY, hi = 0.0;
    std::vector<double> s(k);
    for (int64_t i = 0; i < k; ++i) {
      s[i] = std::max(std::pow(xMean[i], ratio) /
                          (std::pow(wMean[i], 1.0 - ratio) + 1e-4),
                      1e-4);
      lo = std::min(lo, s[i]);
      hi = std::max(hi, s[i]);
    }
    const double norm = std::sqrt(lo * hi);
    for (int64_t i = 0; i < k; ++i)
      scales[i] = static_cast<float>(s[i] / norm);
    const double error = errorWith(scales);
    if (error < result.errorAfter) {
      result.errorAfter = error;
      result.ratio = ratio;
      result.scales = scales;
    }
  }
  return result;
}
