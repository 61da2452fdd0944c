//===- ThreadPoolTest.cpp - The kernels' shared worker pool ---------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "ThreadPool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <vector>

namespace {

/// Restores the default thread count after a test.
struct ThreadCountGuard {
  ~ThreadCountGuard() { llmk::setNumThreads(0); }
};

/// Many short loops back to back, each with its own function and counters,
/// on more threads than cores: workers wake up late, after the loop that
/// woke them has ended (the caller finishes loops alone). Every index of
/// every loop must run exactly once, and never with another loop's function.
TEST(ThreadPoolTest, EveryIndexOnceWithLateWorkers) {
  ThreadCountGuard guard;
  llmk::setNumThreads(8);
  ASSERT_EQ(llmk::getNumThreads(), 8);
  for (int loop = 0; loop < 5000; ++loop) {
    int64_t count = 1 + loop % 37;
    std::vector<std::atomic<int>> hits(count);
    llmk::parallelFor(count, [&hits, count](int64_t i) {
      ASSERT_LT(i, count);
      hits[i].fetch_add(1, std::memory_order_relaxed);
    });
    for (int64_t i = 0; i < count; ++i)
      ASSERT_EQ(hits[i].load(), 1) << "loop " << loop << ", index " << i;
  }
}

/// A loop started from inside a task runs inline on that thread.
TEST(ThreadPoolTest, NestedLoopsRunInline) {
  ThreadCountGuard guard;
  llmk::setNumThreads(4);
  std::vector<std::atomic<int>> hits(16 * 16);
  llmk::parallelFor(16, [&](int64_t outer) {
    llmk::parallelFor(16, [&](int64_t inner) {
      hits[outer * 16 + inner].fetch_add(1, std::memory_order_relaxed);
    });
  });
  for (std::atomic<int> &h : hits)
    ASSERT_EQ(h.load(), 1);
}

/// Resizing between loops keeps the pool usable, down to one thread.
TEST(ThreadPoolTest, ResizeBetweenLoops) {
  ThreadCountGuard guard;
  for (int threads : {1, 3, 2, 6, 1}) {
    llmk::setNumThreads(threads);
    EXPECT_EQ(llmk::getNumThreads(), threads);
    std::atomic<int64_t> sum{0};
    llmk::parallelFor(100, [&](int64_t i) { sum += i; });
    EXPECT_EQ(sum.load(), 4950);
  }
}

} // namespace
