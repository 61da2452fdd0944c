//===- ThreadPool.h - The worker pool shared by the CPU kernels -*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
// One small persistent pool runs every kernel's parallel loop, so kernels
// never oversubscribe the machine and threads are not created per call.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_RUNTIME_KERNELS_CPU_THREADPOOL_H
#define LLM_RUNTIME_KERNELS_CPU_THREADPOOL_H

#include <cstdint>
#include <functional>

namespace llmk {

/// Runs fn(0) ... fn(count - 1) on the shared pool and returns when all have
/// finished. Indices are handed out dynamically, so uneven tasks balance.
/// A call made from inside a task (a nested loop) runs inline on the calling
/// thread; concurrent calls from different threads are serialized.
void parallelFor(int64_t count, const std::function<void(int64_t)> &fn);

/// Returns the number of threads a parallel loop may use (including the
/// calling thread).
int getNumThreads();

/// Sets the number of threads (0: one per hardware thread, or the value of
/// the LLMK_NUM_THREADS environment variable when it is set). Must not race
/// with a running parallel loop.
void setNumThreads(int count);

} // namespace llmk

#endif // LLM_RUNTIME_KERNELS_CPU_THREADPOOL_H
