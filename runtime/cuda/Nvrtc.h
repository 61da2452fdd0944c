//===- Nvrtc.h - CUDA C++ compiled at run time, CUDA loaded lazily -*- C++
//-*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
// NVRTC and the CUDA driver are loaded with dlopen when first asked for:
// LLMC builds and runs without CUDA, and a machine without NVRTC, a driver
// or a device gets an error message saying which, never a crash. Compiling
// returns the cubin (or PTX) and NVRTC's log, which every compile error
// carries, and ptxas's resource report when asked (-Xptxas -v).
//
//===----------------------------------------------------------------------===//

#ifndef LLM_RUNTIME_CUDA_NVRTC_H
#define LLM_RUNTIME_CUDA_NVRTC_H

#include "Error.h"

#include <string>
#include <utility>
#include <vector>

namespace llmrt::cuda {

/// A source NVRTC compiles: its text and the headers it includes by name.
struct CudaSource {
  std::string name;
  std::string text;
  std::vector<std::pair<std::string, std::string>> headers;
};

struct CompiledKernel {
  /// The cubin for the architecture asked for.
  std::vector<char> cubin;
  /// NVRTC's log (with -Xptxas -v: ptxas's "Used N registers, ..." lines).
  std::string log;
};

/// What ptxas reported for one kernel.
struct KernelResources {
  std::string name;
  int registers = 0;
  int spillStores = 0, spillLoads = 0;
  int sharedBytes = 0;
  int stackBytes = 0;
};

/// NVRTC's version, or an error naming the libraries tried.
Expected<std::pair<int, int>> getNvrtcVersion();

/// Compiles `source` for `arch` (80 for sm_80, 90, ...) with `options`
/// (added to -arch=sm_<arch> -std=c++17 --ptxas-options=-v).
Expected<CompiledKernel> compileCuda(const CudaSource &source, int arch,
                                     const std::vector<std::string> &options);

/// compileCuda through a cache of cubins on disk in `cacheDir` (created
/// when missing; empty: no cache): an entry is keyed by the FNV-1a hash of
/// the source and its headers, the options, the architecture and NVRTC's
/// version, and holds its own key and size, so that a damaged or colliding
/// entry is compiled again (and replaced). `fromCache`, when given, says
/// which happened.
Expected<CompiledKernel>
compileCudaCached(const CudaSource &source, int arch,
                  const std::vector<std::string> &options,
                  const std::string &cacheDir, bool *fromCache = nullptr);

/// The per-kernel lines of ptxas's -v report in `log`.
std::vector<KernelResources> parsePtxasResources(const std::string &log);

/// CUDA devices: their number, or an error saying why there are none (no
/// driver library, cuInit failing, zero devices).
Expected<int> countCudaDevices();

} // namespace llmrt::cuda

#endif // LLM_RUNTIME_CUDA_NVRTC_H
