//===- Memory.h - The runtime's big allocations -----------------*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
// Every large buffer of the runtime (the activations arena, repacked
// weights, the KV-cache pool) is allocated here: with calloc/malloc, so that
// a failure is a value even in a process whose new-handler aborts (LLVM's
// tools install one, and `new (std::nothrow)` calls it before returning
// null), and after an estimate against the memory the machine has available,
// so that a model that cannot fit is refused up front with the numbers
// instead of being killed half-way. No MLIR or LLVM.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_RUNTIME_MEMORY_H
#define LLM_RUNTIME_MEMORY_H

#include "Error.h"

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

namespace llmrt {

struct FreeDeleter {
  void operator()(void *p) const { std::free(p); }
};

/// A heap array from `allocateArray`.
template <typename T> using HeapArray = std::unique_ptr<T[], FreeDeleter>;

/// `count` zeroed elements of T, or ErrorCode::OutOfMemory: "cannot allocate
/// N bytes for <what>".
template <typename T>
Expected<HeapArray<T>> allocateArray(uint64_t count, const std::string &what) {
  void *p = std::calloc(count ? count : 1, sizeof(T));
  if (!p)
    return Status::error(ErrorCode::OutOfMemory,
                         "cannot allocate " +
                             std::to_string(count * sizeof(T)) + " bytes for " +
                             what);
  return HeapArray<T>(static_cast<T *>(p));
}

/// `count` elements of T aligned to a cache line (64 bytes), NOT zeroed, or
/// ErrorCode::OutOfMemory as for allocateArray. For buffers the caller
/// fills completely that vector kernels stream (packed weights).
template <typename T>
Expected<HeapArray<T>> allocateAlignedArray(uint64_t count,
                                            const std::string &what) {
  void *p = nullptr;
  uint64_t bytes = (count ? count : 1) * sizeof(T);
  if (bytes / sizeof(T) != (count ? count : 1) ||
      ::posix_memalign(&p, 64, bytes) != 0)
    return Status::error(ErrorCode::OutOfMemory, "cannot allocate " +
                                                     std::to_string(bytes) +
                                                     " bytes for " + what);
  return HeapArray<T>(static_cast<T *>(p));
}

/// Bytes the machine can give this process now (Linux: MemAvailable of
/// /proc/meminfo; elsewhere the physical memory), or 0 when unknown.
uint64_t getAvailableMemory();

/// "1.25 GB", "512.0 MB", ...
std::string formatBytes(uint64_t bytes);

/// Refuses (ErrorCode::OutOfMemory) `bytes` more than available: "not enough
/// memory: <what> needs X, the machine has Y available". Succeeds when the
/// available memory is unknown.
Status checkMemory(uint64_t bytes, const std::string &what);

} // namespace llmrt

#endif // LLM_RUNTIME_MEMORY_H
