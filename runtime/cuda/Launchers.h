//===- Launchers.h - Host launchers of the CUDA kernels ---------*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
// The functions that code lowered by `llm-lower-to-cuda` calls: each takes
// the arguments of a CPU kernel (Launchers.def), with every tensor in
// device memory, and turns the call into launches of the CUDA kernels of
// kernels/Kernels.cu (their grids, blocks, arguments and scratch memory).
// The launches go to a `LaunchExecutor`:
//   - the device's (createDeviceLaunchExecutor), which runs them on a GPU
//     through the driver API;
//   - the host's (createHostLaunchExecutor), which runs each kernel's
//     computation, as the kernel defines it, on host memory. It checks the
//     lowering and the launchers (which kernel, which arguments, which
//     grid) on machines without a GPU; it is not fast.
// Launchers never abort: a failure is recorded, the rest of the call is
// skipped, and `takeLaunchError` returns it.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_RUNTIME_CUDA_LAUNCHERS_H
#define LLM_RUNTIME_CUDA_LAUNCHERS_H

#include "Error.h"
#include "Kernels.h"

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace llmrt::cuda {

/// One argument of a kernel launch, as the kernel's parameter takes it.
struct LaunchArg {
  enum Kind { Ptr, I32, I64, F32 } kind;
  union {
    const void *ptr;
    int32_t i32;
    int64_t i64;
    float f32;
  };
};

/// One launch of a kernel of Kernels.cu.
struct KernelLaunch {
  std::string kernel;
  /// The LLMC_HEAD_DIM the kernel needs its module compiled with (the
  /// attention kernels), or 0.
  int headDim = 0;
  unsigned grid[3] = {1, 1, 1};
  unsigned block[3] = {1, 1, 1};
  std::vector<LaunchArg> args;
};

/// Where launches run, and the memory they run on.
class LaunchExecutor {
public:
  LaunchExecutor();
  virtual ~LaunchExecutor();
  virtual Status launch(const KernelLaunch &launch) = 0;
  /// Copies within the executor's memory.
  virtual Status copy(void *to, const void *from, size_t bytes) = 0;
  /// Copies host memory into the executor's memory, and back.
  virtual Status upload(void *to, const void *from, size_t bytes) = 0;
  virtual Status download(void *to, const void *from, size_t bytes) = 0;
  /// At least `bytes` of the executor's memory for scratch buffer `slot`
  /// (one per use within a launcher), kept and reused between calls.
  virtual Expected<void *> scratch(int slot, size_t bytes) = 0;
  /// `bytes` of the executor's memory (256-byte aligned), held until
  /// `release`: a model's weights, arena and staging buffers, a KV cache.
  virtual Expected<void *> allocate(size_t bytes) = 0;
  virtual void release(void *memory) = 0;

  /// What the launchers keep with each executor (Launchers.cpp): its
  /// pending error flags and the host tables its scratch slots hold. Kept
  /// here, not keyed by the executor's address, which a later executor
  /// may reuse.
  struct LauncherState;
  LauncherState &getLauncherState();

private:
  std::unique_ptr<LauncherState> launcherState;
};

/// The executor the launchers of the calling thread use (null: none, and
/// every launcher fails saying so).
void setLaunchExecutor(LaunchExecutor *executor);

/// The first failure recorded by a launcher since the last call ("" when
/// none), cleared. The kernels' error flags (an id outside the vocabulary,
/// a slot past the cache, an expert index out of range) are read back here,
/// once, on the current executor.
std::string takeLaunchError();

/// Runs each launch's kernel on the host, over host memory.
std::unique_ptr<LaunchExecutor> createHostLaunchExecutor();

/// Runs launches on CUDA device `ordinal`, the kernels compiled by NVRTC
/// for its architecture and first for `headDim` (the attention kernels'
/// LLMC_HEAD_DIM; a launch for another compiles and loads that one), cubins
/// cached in `cacheDir` (empty: none).
/// `prebuilt` holds cubins compiled ahead of time for `headDim` (an
/// artifact's), by architecture: the device's is loaded without NVRTC.
Expected<std::unique_ptr<LaunchExecutor>>
createDeviceLaunchExecutor(int ordinal, int headDim,
                           const std::string &cacheDir,
                           std::map<int, std::vector<char>> prebuilt = {});

/// The launchers' symbols, for a JIT: name and address.
std::vector<std::pair<const char *, void *>> getLauncherSymbols();

} // namespace llmrt::cuda

// Each launcher has its CPU kernel's type (a mismatch does not compile).
extern "C" {
#define LLMC_LAUNCHER(kernel, launcher) decltype(kernel) launcher;
#include "Launchers.def"

/// Copies `bytes` of host memory into the executor's memory: how lowered
/// code puts a dense constant (a host global) where kernels read it.
void llmc_cuda_upload(const void *host, void *device, int64_t bytes);
}

#endif // LLM_RUNTIME_CUDA_LAUNCHERS_H
