//===- Calibrated.h - GPTQ and AWQ from calibration statistics -*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
// The numerics of calibrated weight quantization, on plain arrays: the
// statistics of a projection's inputs (their Gram matrix X^T X, the
// Hessian of the layer's squared output error up to a factor), GPTQ's
// error-compensating rounding, and AWQ's search of per-input-feature scales.
// Both choose values on the grids that the runtime's round-to-nearest
// quantizer uses (llmk::QuantGrid, Quant.h), so the kernels read them
// unchanged. No MLIR: the JIT (lib/JIT/Calibrate.cpp) gathers the
// statistics by running the float model and calls these.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_QUANT_CALIBRATED_H
#define LLM_QUANT_CALIBRATED_H

#include <cstdint>
#include <string>
#include <vector>

namespace llmq {

/// What one projection's inputs looked like over the calibration data.
class InputStatistics {
public:
  explicit InputStatistics(int64_t features);

  /// Adds the `rows` inputs x ([rows, features], row-major).
  void add(const float *x, int64_t rows);

  int64_t getFeatures() const { return features; }
  int64_t getRows() const { return rows; }
  /// sum over inputs of x x^T ([features, features]).
  const std::vector<double> &getGram() const { return gram; }
  /// The mean |x_i| of each feature.
  std::vector<double> getMeanMagnitude() const;
  /// The statistics of the inputs x_i / divisors[i] (AWQ's scaled inputs).
  InputStatistics dividedBy(const std::vector<float> &divisors) const;
  /// Frees the buffers `add` works in (once all inputs are added).
  void releaseScratch();

private:
  int64_t features, rows = 0;
  std::vector<double> gram, absSum;
  std::vector<float> transposed, product;
};

/// How a weight is quantized (llm-quantize's options).
struct Scheme {
  int bits = 4;
  /// Input features per group; 0: one group per output row.
  int64_t group = 0;
  bool symmetric = true;
};

/// A weight [n, k] quantized: per element its code (llmk::QuantGrid's),
/// per row and group its grid's scale and offset.
struct QuantizedMatrix {
  std::vector<int8_t> codes;
  std::vector<float> scales, offsets;
};

/// Round to nearest, exactly as the runtime does (llmk::quantizeWeight).
QuantizedMatrix quantizeRTN(const float *w, int64_t n, int64_t k,
                            const Scheme &scheme);

/// The [n, k] weight `q` stands for.
std::vector<float> dequantize(const QuantizedMatrix &q, int64_t n, int64_t k,
                              const Scheme &scheme);

/// The squared error that replacing `w` by `v` ([n, k] each) adds to the
/// layer's outputs over the inputs of `stats`, per input row:
/// sum_r (v_r - w_r)^T (X^T X / rows) (v_r - w_r).
double outputError(const float *w, const float *v, int64_t n, int64_t k,
                   const InputStatistics &stats);

struct GPTQOptions {
  /// Added to the Hessian's diagonal, as a fraction of its mean.
  double damp = 0.01;
  /// Input features per lazy batch: the updates of the features past a
  /// batch are applied once per batch, from the batch's errors.
  int64_t blockSize = 128;
  /// Quantize the features in order of decreasing Hessian diagonal (the
  /// most active first). The groups' grids are then chosen up front from
  /// the float weight, per group of consecutive features, so that the
  /// layout stays the kernels'.
  bool actOrder = false;
};

/// GPTQ (Frantar et al., 2022): quantizes the features of each row one at
/// a time and spreads each one's rounding error over the features not yet
/// quantized through the upper Cholesky factor of the inverse Hessian, so
/// that the layer's outputs on the calibration inputs change least.
/// Features no input ever used are set to 0. When the damped Hessian is
/// not positive definite, the dampening is raised tenfold (up to 4 times);
/// `note` (when given) then says so.
QuantizedMatrix quantizeGPTQ(const float *w, int64_t n, int64_t k,
                             const InputStatistics &stats, const Scheme &scheme,
                             const GPTQOptions &options,
                             std::string *note = nullptr);

/// What GPTQ derives from the inputs alone, which projections that read one
/// input share (q, k and v; gate and up): the order features are quantized
/// in, the features no input used, and the upper Cholesky factor U of the
/// damped inverse Hessian in that order (empty when the Hessian could not
/// be factored: GPTQ then rounds to nearest).
struct GPTQPlan {
  std::vector<int64_t> order;
  std::vector<bool> dead;
  std::vector<double> factor;
  /// Why the plan departs from the options (more dampening, or none).
  std::string note;
};

GPTQPlan planGPTQ(const InputStatistics &stats, const GPTQOptions &options);

/// quantizeGPTQ with a plan made for the weight's inputs.
QuantizedMatrix quantizeGPTQ(const float *w, int64_t n, int64_t k,
                             const GPTQPlan &plan, const Scheme &scheme,
                             const GPTQOptions &options);

/// One projection that reads a shared input.
struct WeightRef {
  const float *w;
  int64_t rows;
};

/// What AWQ's search chose.
struct AWQResult {
  /// Per input feature: the weights' columns are multiplied by it and the
  /// inputs divided (all 1 when no scaling beats rounding to nearest).
  std::vector<float> scales;
  /// The grid point: s = mean|x|^ratio / mean|w|^(1 - ratio); -1 for none.
  double ratio = -1;
  /// The summed outputError of rounding to nearest without and with the
  /// scales.
  double errorBefore = 0, errorAfter = 0;
};

/// AWQ (Lin et al., 2023): searches per-input-feature scales for the
/// projections `weights` that share one input (k features), over a grid
/// of `gridSize` ratios, minimizing their summed output error after
/// rounding to nearest (outputError over `stats`). Keeping no scaling is
/// one of the candidates, so the result is never worse than RTN by that
/// measure.
AWQResult searchAWQScales(const std::vector<WeightRef> &weights, int64_t k,
                          const InputStatistics &stats, const Scheme &scheme,
                          int gridSize = 20);

/// AWQ's clipping search: per row and group of the [n, k] weight `w`,
/// the range that rounding to nearest spans is shrunk to the ratio of
/// {1, 0.975, ..., 1 - 0.025 (steps - 1)} that minimizes the group's output
/// error over `stats` (the cross terms between groups left out, as AWQ
/// does), and the weights are clamped to it in place, so that the
/// runtime's rounding picks the shrunk grid. Returns the output error of
/// rounding to nearest before and after.
std::pair<double, double> clipAWQ(float *w, int64_t n, int64_t k,
                                  const InputStatistics &stats,
                                  const Scheme &scheme, int steps = 10);

} // namespace llmq

#endif // LLM_QUANT_CALIBRATED_H
