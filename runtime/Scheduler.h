//===- Scheduler.h - Continuous batching over a session ---------*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
// Serves many generation requests over one Session, as a server does:
// requests join the running batch between decode steps and leave it when
// they finish. Each step
//   1. admits waiting requests, oldest first, while the cache has the free
//      blocks their prompt needs (less the blocks they share);
//   2. prefills at most `chunkTokens` prompt tokens, in chunks, so that a
//      long prompt does not stall the others' tokens;
//   3. runs one decode step over every sequence past its prompt.
// Prefix sharing: a request whose prompt begins as a running sequence's
// tokens begin shares that sequence's full cache blocks (reference-counted
// in the block manager, never written again: the first block where they
// differ is its own) and prefills only the rest.
// When a decode step needs more blocks than are free, the newest running
// sequence is preempted: its blocks are freed and it waits again, to be
// recomputed (its prompt and the tokens generated so far, prefilled) when
// it is readmitted. A request that can never fit (more tokens than the
// cache or the compiled block tables hold) is refused at submission.
// Each request picks its tokens greedily or samples them from a generator
// of its own (recomputation after preemption draws nothing): its tokens
// equal those of running it alone through a scheduler of the same options.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_RUNTIME_SCHEDULER_H
#define LLM_RUNTIME_SCHEDULER_H

#include "Error.h"
#include "Session.h"

#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

namespace llmrt {

struct SchedulerOptions {
  /// Prompt tokens prefilled per step, over all sequences (chunked prefill).
  int64_t chunkTokens = 512;
  /// Share the full cache blocks of common prompt prefixes.
  bool prefixSharing = true;
  /// Most sequences admitted at once (0: as many as the cache holds).
  int64_t maxRunning = 0;
};

struct SchedulerRequest {
  std::vector<int64_t> prompt;
  int64_t maxNewTokens = 16;
  /// Tokens that end the request (included in its output); empty: the
  /// model's eos tokens.
  std::vector<int64_t> stopTokens;
  /// Do not stop at any token: generate maxNewTokens.
  bool ignoreStop = false;
  /// How tokens are picked: greedy by default; with a temperature, sampled
  /// from the request's own generator (seeded by `sampler.seed`), so that
  /// its tokens do not depend on the requests batched with it.
  SamplerParams sampler = sampler_params(0.0);
};

struct SchedulerResult {
  /// The generated tokens (a stop token that ended them included).
  std::vector<int64_t> tokens;
  bool finished = false;
  /// Not OK when the request was refused or failed.
  Status status;
  /// Steps (Scheduler::getStep) at which the request was submitted, got
  /// its first token and finished.
  int64_t submitted = 0, firstToken = -1, done = -1;
  int64_t preemptions = 0;
  /// Prompt tokens whose cache blocks it shared with another sequence.
  int64_t sharedTokens = 0;
};

class Scheduler {
public:
  explicit Scheduler(Session &session, SchedulerOptions options = {});

  /// Queues `request` and returns its id. A request that can never run (no
  /// prompt, maxNewTokens < 1, or more tokens than the cache's blocks or
  /// the compiled block tables hold) is finished at once with its status
  /// saying why.
  int64_t submit(SchedulerRequest request);
  /// One iteration: admission, a prefill chunk budget, a decode step. A
  /// kernel failure is returned (and fails the requests it touched).
  Status step();
  /// Steps until every request has finished.
  Status runToCompletion();
  /// Whether nothing waits or runs.
  bool isIdle() const { return waiting.empty() && running.empty(); }

  const SchedulerResult &getResult(int64_t id) const { return results[id]; }
  int64_t getNumRequests() const {
    return static_cast<int64_t>(results.size());
  }
  int64_t getStep() const { return steps; }
  int64_t getNumRunning() const { return static_cast<int64_t>(running.size()); }
  int64_t getPreemptions() const { return preemptions; }
  /// The most cache blocks held by two sequences or more at once.
  int64_t getPeakSharedBlocks() const { return peakShared; }

private:
  struct Active {
    int64_t id = 0;
    int64_t seq = -1;
    /// The prompt and the tokens generated so far.
    std::vector<int64_t> tokens;
    /// Tokens in the cache.
    int64_t cached = 0;
    /// Admission order: the newest is preempted first.
    int64_t order = 0;
  };

  /// Tokens the prefill of `a` covers: all of them before its first token,
  /// then all but the last generated one (which the next decode feeds).
  int64_t prefillTarget(const Active &a) const;
  bool admit(int64_t id);
  void preemptNewest();
  /// Adds `token` to request `a`; true when that finishes it.
  bool append(Active &a, int64_t token);
  /// Request `a`'s next token from its logits `row` (-1 after recording
  /// the sampler's error as the request's status).
  int64_t pick(const Active &a, const float *row);
  void finish(size_t index);
  Status fail(size_t index, Status status);

  Session &session;
  SchedulerOptions options;
  std::vector<SchedulerRequest> requests;
  /// Per request: its sampler and its generator.
  std::vector<std::unique_ptr<Sampler>> samplers;
  std::vector<Rng> rngs;
  std::vector<SchedulerResult> results;
  std::deque<int64_t> waiting;
  std::vector<Active> running;
  int64_t steps = 0, admitted = 0, preemptions = 0, peakShared = 0;
};

} // namespace llmrt

#endif // LLM_RUNTIME_SCHEDULER_H
