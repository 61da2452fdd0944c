//===- ThreadPool.cpp - The worker pool shared by the CPU kernels ---------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "ThreadPool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace llmk {
namespace {

/// Tells the CPU that this is a spin loop (saves power, frees the sibling
/// hyperthread).
inline void cpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

/// True on a pool worker and on a thread that is running a parallel loop:
/// nested loops then run inline instead of deadlocking on the pool.
thread_local bool insideParallelLoop = false;

/// A fixed set of workers that sleep between loops. The caller of
/// parallelFor takes part in the loop, so N threads means N - 1 workers.
///
/// The caller waits for the loop's tasks, not for the workers: a worker that
/// has not woken up yet (descheduled on a busy machine) must not hold up the
/// loop, which the caller then finishes alone. Tasks are claimed from a
/// counter tagged with the loop's generation, so a worker that wakes up late
/// can never claim a task of a later loop with the function of an earlier
/// one.
class ThreadPool {
public:
  explicit ThreadPool(int numThreads) { start(numThreads); }
  ~ThreadPool() { stop(); }

  int size() const { return static_cast<int>(workers.size()) + 1; }

  void resize(int numThreads) {
    std::lock_guard<std::mutex> submitLock(submitMutex);
    stop();
    start(numThreads);
  }

  void run(int64_t count, const std::function<void(int64_t)> &fn) {
    if (count <= 0)
      return;
    if (count == 1 || workers.empty() || insideParallelLoop) {
      for (int64_t i = 0; i < count; ++i)
        fn(i);
      return;
    }
    // Larger loops run as consecutive loops of at most kMaxTasks tasks (the
    // claim counter holds 32 bits of index).
    for (int64_t first = 0; first < count; first += kMaxTasks) {
      int64_t size = std::min<int64_t>(kMaxTasks, count - first);
      if (first == 0 && size == count) {
        runLoop(count, fn);
      } else {
        std::function<void(int64_t)> shifted = [&](int64_t i) {
          fn(first + i);
        };
        runLoop(size, shifted);
      }
    }
  }

private:
  /// Spin iterations (a few tens of microseconds) before a thread blocks:
  /// decode issues many short loops back to back, and a futex wake-up costs
  /// more than such a loop.
  static constexpr int kSpinIterations = 20000;
  static constexpr int64_t kMaxTasks = int64_t(1) << 31;

  /// The claim counter: generation in the high 32 bits, next index in the
  /// low 32.
  static uint64_t claimWord(uint64_t generation, int64_t index) {
    return (generation << 32) | static_cast<uint64_t>(index);
  }

  void runLoop(int64_t count, const std::function<void(int64_t)> &fn) {
    std::lock_guard<std::mutex> submitLock(submitMutex);
    uint64_t current;
    {
      std::lock_guard<std::mutex> lock(mutex);
      job = &fn;
      jobSize = count;
      done.store(0, std::memory_order_relaxed);
      current = generation.load(std::memory_order_relaxed) + 1;
      claim.store(claimWord(current & 0xffffffffu, 0),
                  std::memory_order_relaxed);
      generation.store(current, std::memory_order_release);
    }
    wakeCondition.notify_all();
    insideParallelLoop = true;
    drain(fn, count, current);
    insideParallelLoop = false;
    // Wait for the tasks that workers claimed, spinning first because
    // loops are often short.
    for (int spin = 0; spin < kSpinIterations; ++spin) {
      if (done.load(std::memory_order_acquire) == count)
        return;
      cpuRelax();
    }
    std::unique_lock<std::mutex> lock(mutex);
    doneCondition.wait(
        lock, [&] { return done.load(std::memory_order_acquire) == count; });
  }

  void start(int numThreads) {
    stopping = false;
    // A worker must compare against the generation of its creation: one
    // that read it only once running could miss an immediate stop().
    uint64_t current = generation.load(std::memory_order_acquire);
    for (int i = 1; i < numThreads; ++i)
      workers.emplace_back([this, current] { workerLoop(current); });
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      stopping = true;
      generation.fetch_add(1, std::memory_order_release);
    }
    wakeCondition.notify_all();
    for (std::thread &worker : workers)
      worker.join();
    workers.clear();
  }

  /// Runs the tasks of loop `loopGeneration` that are left; returns when
  /// none is, or when a later loop has started.
  void drain(const std::function<void(int64_t)> &fn, int64_t count,
             uint64_t loopGeneration) {
    uint64_t tag = loopGeneration & 0xffffffffu;
    uint64_t word = claim.load(std::memory_order_relaxed);
    for (;;) {
      if ((word >> 32) != tag)
        return;
      int64_t index = static_cast<int64_t>(word & 0xffffffffu);
      if (index >= count)
        return;
      if (!claim.compare_exchange_weak(word, word + 1,
                                       std::memory_order_relaxed))
        continue;
      fn(index);
      if (done.fetch_add(1, std::memory_order_acq_rel) + 1 == count) {
        std::lock_guard<std::mutex> lock(mutex);
        doneCondition.notify_one();
      }
      word = claim.load(std::memory_order_relaxed);
    }
  }

  void workerLoop(uint64_t seen) {
    insideParallelLoop = true;
    for (;;) {
      // Spin briefly for the next loop, then sleep.
      uint64_t current = seen;
      for (int spin = 0; spin < kSpinIterations; ++spin) {
        current = generation.load(std::memory_order_acquire);
        if (current != seen)
          break;
        cpuRelax();
      }
      if (current == seen) {
        std::unique_lock<std::mutex> lock(mutex);
        wakeCondition.wait(lock, [&] {
          return generation.load(std::memory_order_acquire) != seen;
        });
      }
      const std::function<void(int64_t)> *fn;
      int64_t count;
      {
        // The job and its generation, read together: a later loop may have
        // replaced the one that woke this worker.
        std::lock_guard<std::mutex> lock(mutex);
        if (stopping)
          return;
        fn = job;
        count = jobSize;
        seen = generation.load(std::memory_order_relaxed);
      }
      drain(*fn, count, seen);
    }
  }

  std::vector<std::thread> workers;
  /// Serializes loops submitted by different threads, and resizing.
  std::mutex submitMutex;
  /// Guards job, jobSize and stopping, and backs both conditions.
  std::mutex mutex;
  std::condition_variable wakeCondition;
  std::condition_variable doneCondition;
  std::atomic<uint64_t> generation{0};
  std::atomic<uint64_t> claim{0};
  std::atomic<int64_t> done{0};
  const std::function<void(int64_t)> *job = nullptr;
  int64_t jobSize = 0;
  bool stopping = false;
};

int defaultNumThreads() {
  if (const char *env = std::getenv("LLMK_NUM_THREADS")) {
    int value = std::atoi(env);
    if (value > 0)
      return value;
  }
  unsigned hardware = std::thread::hardware_concurrency();
  return hardware ? static_cast<int>(hardware) : 1;
}

ThreadPool &getPool() {
  // Intentionally leaked: workers must not be joined during static
  // destruction, when other libraries may already be torn down.
  static ThreadPool *pool = new ThreadPool(defaultNumThreads());
  return *pool;
}

} // namespace

void parallelFor(int64_t count, const std::function<void(int64_t)> &fn) {
  getPool().run(count, fn);
}

int getNumThreads() { return getPool().size(); }

void setNumThreads(int count) {
  getPool().resize(count > 0 ? count : defaultNumThreads());
}

} // namespace llmk
