//===- KernelSources.h - The CUDA kernels' sources, for NVRTC ---*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
// runtime/cuda/kernels/Kernels.cu and the headers it includes, embedded at
// build time, as NVRTC compiles them (Nvrtc.h). The attention kernels take
// their head dimension as -DLLMC_HEAD_DIM=<d> (64, 80, 96 or 128).
//
//===----------------------------------------------------------------------===//

#ifndef LLM_RUNTIME_CUDA_KERNELSOURCES_H
#define LLM_RUNTIME_CUDA_KERNELSOURCES_H

#include "Nvrtc.h"

#include <string>
#include <vector>

namespace llmrt::cuda {

CudaSource getKernelSource();
/// The kernels Kernels.cu defines (the attention ones with LLMC_HEAD_DIM).
const std::vector<std::string> &getKernelNames();

} // namespace llmrt::cuda

#endif // LLM_RUNTIME_CUDA_KERNELSOURCES_H
