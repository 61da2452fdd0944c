//===- Scheduler.cpp - Continuous batching over a session -----------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "Scheduler.h"

#include <algorithm>

namespace llmrt {
namespace {

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

} // namespace

Scheduler::Scheduler(Session &session, SchedulerOptions options)
    : session(session), options(options) {
  if (this->options.chunkTokens < 1)
    this->options.chunkTokens = 1;
}

int64_t Scheduler::submit(SchedulerRequest request) {
  const int64_t id = static_cast<int64_t>(results.size());
  results.emplace_back();
  SchedulerResult &result = results.back();
  result.submitted = steps;
  const int64_t block = session.getCacheConfig().blockSize;
  const int64_t total =
      static_cast<int64_t>(request.prompt.size()) + request.maxNewTokens;
  const std::string name = "scheduler: request " + std::to_string(id);
  if (request.prompt.empty())
    result.status = Status::invalid(name + ": expected a prompt of at least "
                                           "one token, found none");
  else if (request.maxNewTokens < 1)
    result.status =
        Status::invalid(name + ": expected max new tokens >= 1, found " +
                        std::to_string(request.maxNewTokens));
  else if (ceilDiv(total, block) > session.getNumBlocks())
    result.status = Status::error(
        ErrorCode::CacheFull,
        name + " can never run: its " + std::to_string(total) +
            " tokens (prompt and new) need " +
            std::to_string(ceilDiv(total, block)) + " blocks of " +
            std::to_string(block) + " tokens, the cache has " +
            std::to_string(session.getNumBlocks()));
  else if (std::string why = validate_sampler_params(request.sampler);
           !why.empty())
    result.status = Status::invalid(name + ": " + why);
  else if (total > session.getMaxSequenceLength())
    result.status =
        Status::invalid(name + " can never run: its " + std::to_string(total) +
                        " tokens (prompt and new) exceed the " +
                        std::to_string(session.getMaxSequenceLength()) +
                        " the compiled block tables describe");
  if (request.stopTokens.empty())
    request.stopTokens = session.getInfo().eosTokenIds;
  samplers.push_back(std::make_unique<Sampler>(request.sampler));
  rngs.emplace_back(request.sampler.seed);
  requests.push_back(std::move(request));
  if (!result.status.isOk()) {
    result.finished = true;
    result.done = steps;
    return id;
  }
  waiting.push_back(id);
  return id;
}

int64_t Scheduler::prefillTarget(const Active &a) const {
  const int64_t size = static_cast<int64_t>(a.tokens.size());
  return size == static_cast<int64_t>(requests[a.id].prompt.size()) ? size
                                                                    : size - 1;
}

bool Scheduler::admit(int64_t id) {
  const int64_t block = session.getCacheConfig().blockSize;
  Active a;
  a.id = id;
  a.tokens = requests[id].prompt;
  a.tokens.insert(a.tokens.end(), results[id].tokens.begin(),
                  results[id].tokens.end());
  const int64_t target = prefillTarget(a);
  // The longest prefix a running sequence holds in its cache, in whole
  // blocks, leaving a token to prefill when the prompt's logits are needed.
  const Active *source = nullptr;
  int64_t shareBlocks = 0;
  if (options.prefixSharing) {
    const int64_t limit = results[id].tokens.empty() ? target - 1 : target;
    for (const Active &r : running) {
      int64_t common = 0;
      const int64_t most = std::min<int64_t>(limit, r.cached);
      while (common < most && r.tokens[common] == a.tokens[common])
        ++common;
      if (common / block > shareBlocks) {
        shareBlocks = common / block;
        source = &r;
      }
    }
  }
  // Its prompt's blocks, and a block for each decoding sequence that needs
  // one at the next step, must be free.
  int64_t spare = 0;
  for (const Active &r : running)
    spare += r.cached == prefillTarget(r) && r.cached % block == 0;
  if (ceilDiv(target, block) - shareBlocks + spare > session.getNumFreeBlocks())
    return false;
  Expected<int64_t> seq =
      source ? session.share(source->seq, shareBlocks) : session.addSequence();
  if (!seq)
    return false;
  a.seq = *seq;
  a.cached = shareBlocks * block;
  a.order = admitted++;
  results[id].sharedTokens += a.cached;
  running.push_back(std::move(a));
  return true;
}

void Scheduler::preemptNewest() {
  auto newest = std::max_element(
      running.begin(), running.end(),
      [](const Active &x, const Active &y) { return x.order < y.order; });
  session.release(newest->seq);
  ++results[newest->id].preemptions;
  ++preemptions;
  waiting.push_front(newest->id);
  running.erase(newest);
}

int64_t Scheduler::pick(const Active &a, const float *row) {
  Sampler &sampler = *samplers[a.id];
  int64_t token = sampler.sample(row, session.getInfo().vocabSize,
                                 TokenSpan(a.tokens), rngs[a.id]);
  if (token < 0)
    results[a.id].status = Status::invalid(
        "scheduler: request " + std::to_string(a.id) + ": " + sampler.error());
  return token;
}

bool Scheduler::append(Active &a, int64_t token) {
  SchedulerResult &result = results[a.id];
  const SchedulerRequest &request = requests[a.id];
  result.tokens.push_back(token);
  a.tokens.push_back(token);
  if (result.firstToken < 0)
    result.firstToken = steps;
  bool stop = !request.ignoreStop &&
              std::find(request.stopTokens.begin(), request.stopTokens.end(),
                        token) != request.stopTokens.end();
  return stop ||
         static_cast<int64_t>(result.tokens.size()) >= request.maxNewTokens;
}

void Scheduler::finish(size_t index) {
  SchedulerResult &result = results[running[index].id];
  result.finished = true;
  result.done = steps;
  session.release(running[index].seq);
  running.erase(running.begin() + static_cast<std::ptrdiff_t>(index));
}

Status Scheduler::fail(size_t index, Status status) {
  results[running[index].id].status = status;
  finish(index);
  return status;
}

Status Scheduler::step() {
  const int64_t block = session.getCacheConfig().blockSize;
  const int64_t vocab = session.getInfo().vocabSize;
  // 1. Admission, oldest first, while there is room.
  while (!waiting.empty() &&
         (options.maxRunning == 0 ||
          static_cast<int64_t>(running.size()) < options.maxRunning) &&
         admit(waiting.front()))
    waiting.pop_front();

  // 2. Prompts, at most chunkTokens of them this step.
  std::vector<float> logits(vocab);
  int64_t budget = options.chunkTokens;
  for (size_t i = 0; i < running.size() && budget > 0;) {
    Active &a = running[i];
    const int64_t target = prefillTarget(a);
    if (a.cached >= target) {
      ++i;
      continue;
    }
    const int64_t count = std::min(budget, target - a.cached);
    // Room for the chunk: the newest sequences make way, or, when this is
    // the newest, it waits again.
    const int64_t needed =
        ceilDiv(a.cached + count, block) - ceilDiv(a.cached, block);
    bool self = false;
    while (needed > session.getNumFreeBlocks() && !self) {
      self = i + 1 == running.size();
      preemptNewest();
    }
    if (self)
      break;
    const bool last = a.cached + count == target;
    const bool first = last && results[a.id].tokens.empty();
    Status status = session.prefill(
        a.seq,
        TokenSpan(a.tokens.data() + a.cached, static_cast<size_t>(count)),
        first ? logits.data() : nullptr, PrefillLogits::Last);
    if (status.code() == ErrorCode::CacheFull) {
      // Decoding sequences took the blocks since admission.
      preemptNewest();
      break;
    }
    if (!status.isOk())
      return fail(i, status);
    a.cached += count;
    budget -= count;
    if (first) {
      const int64_t token = pick(a, logits.data());
      if (token < 0 || append(a, token)) {
        finish(i);
        continue;
      }
    }
    ++i;
  }

  // 3. One decode step over every sequence past its prompt, after making
  // room (preempting the newest) for those that start a block.
  std::vector<size_t> decoding;
  for (;;) {
    decoding.clear();
    int64_t needed = 0;
    for (size_t i = 0; i < running.size(); ++i)
      if (running[i].cached == prefillTarget(running[i]) &&
          running[i].cached < static_cast<int64_t>(running[i].tokens.size())) {
        decoding.push_back(i);
        needed += running[i].cached % block == 0;
      }
    if (needed <= session.getNumFreeBlocks() || running.empty())
      break;
    preemptNewest();
  }
  if (!decoding.empty()) {
    std::vector<int64_t> seqs, tokens;
    for (size_t i : decoding) {
      seqs.push_back(running[i].seq);
      tokens.push_back(running[i].tokens.back());
    }
    std::vector<float> rows(decoding.size() * vocab);
    Status status = session.decode(seqs, tokens, rows.data());
    if (!status.isOk()) {
      for (size_t k = decoding.size(); k-- > 0;)
        (void)fail(decoding[k], status);
      ++steps;
      return status;
    }
    std::vector<size_t> finished;
    for (size_t k = 0; k < decoding.size(); ++k) {
      Active &a = running[decoding[k]];
      ++a.cached;
      const int64_t token = pick(a, rows.data() + k * vocab);
      if (token < 0 || append(a, token))
        finished.push_back(decoding[k]);
    }
    for (size_t k = finished.size(); k-- > 0;)
      finish(finished[k]);
  }
  peakShared = std::max(peakShared, session.getNumSharedBlocks());
  ++steps;
  return Status::ok();
}

Status Scheduler::runToCompletion() {
  while (!isIdle()) {
    Status status = step();
    if (!status.isOk())
      return status;
  }
  return Status::ok();
}

} // namespace llmrt
