//===- Calibrate.h - Calibrated quantization in the JIT ---------*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
// GPTQ and AWQ need data the IR does not hold: what each projection's inputs
// look like. The JIT compiles the float model, runs it on the calibration
// tokens with an observer on the projection kernels that accumulates each
// projection's input statistics (llm::quant::InputStatistics), and computes
// the quantized model's parameter values from them, which the runtime binds
// in place of the checkpoint's (llmrt::ParamValues).
//
//===----------------------------------------------------------------------===//

#ifndef LLM_LIB_JIT_CALIBRATE_H
#define LLM_LIB_JIT_CALIBRATE_H

#include "llm/JIT/JIT.h"

#include "Model.h"

#include <string>
#include <vector>

namespace mlir::llm {

class HFModel;

/// Projections that read one input, and the op before them that AWQ folds
/// its inverse scales into. Parameters are named by paramKey.
struct ScalingGroup {
  /// The weights of the projections.
  std::vector<std::string> linears;
  /// The input is a norm's output: its weight (and bias) are divided by the
  /// scales; `normOffset` is the norm's weight_offset ((w + offset) is what
  /// scales the output).
  std::vector<std::string> norm;
  double normOffset = 0.0;
  /// Or the input is `glu(gate, up)`: the rows of up's weight (and its
  /// bias) are divided.
  std::string upWeight, upBias;
};

/// The scaling groups of an imported module: the inputs that only 2-D
/// parameter projections read, produced by llm.rms_norm or llm.layer_norm
/// with parameter weights, or by llm.glu whose up operand is such a
/// projection read by nothing else.
std::vector<ScalingGroup> findScalingGroups(ModuleOp module);

/// Names a parameter by its tensor and how it is gathered from it (name,
/// transpose, row_blocks), the same for the IR's llm.param and for the
/// manifest's entry of any compilation of the model.
std::string paramKey(const llmrt::ParamDesc &param);

/// The values of `quantized`'s parameters marked gptq or awq (and, for
/// AWQ, of the norms and projections its scales fold into), calibrated on
/// `options.calibrationTokens` through a float compilation of `model`.
llvm::Expected<llmrt::ParamValues>
calibrateQuantization(MLIRContext &context, const HFModel &model,
                      std::shared_ptr<const llmrt::SafeTensorsArchive> weights,
                      const JITOptions &options,
                      const llmrt::Manifest &quantized,
                      const std::vector<ScalingGroup> &groups);

} // namespace mlir::llm

#endif // LLM_LIB_JIT_CALIBRATE_H
