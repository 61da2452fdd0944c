//===- SchedulerTest.cpp - Continuous batching on a compiled model --------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// llmrt::Scheduler over a real model (the llama_gqa fixture, JIT-compiled
// with prefill entry points of 4 and 8 tokens and a decode entry point for
// 8 sequences): requests that arrive at different steps with different
// prompts and lengths each get the tokens they get alone; prefix sharing
// saves the blocks it should; preemption and chunking change nothing.
//
//===----------------------------------------------------------------------===//

#include "llm/Import/HFImporter.h"
#include "llm/JIT/JIT.h"

#include "Model.h"
#include "SafeTensors.h"
#include "Scheduler.h"
#include "Session.h"

#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

using namespace mlir::llm;
using namespace llmrt;

namespace {

class SchedulerTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    const std::string dir = std::string(LLMC_E2E_FIXTURES) + "/llama_gqa";
    llvm::Expected<std::unique_ptr<HFModel>> hf = HFModel::open(dir);
    ASSERT_TRUE(bool(hf)) << llvm::toString(hf.takeError());
    Expected<std::unique_ptr<SafeTensorsArchive>> weights =
        SafeTensorsArchive::openDirectory(dir);
    ASSERT_TRUE(bool(weights)) << weights.error();
    JITOptions options;
    options.kvCache = true;
    options.promptLens = {4, 8};
    options.decodeBatch = 8;
    options.maxSeqLen = 64;
    options.blockSize = 4;
    options.lastLogitsOnly = true;
    context = new mlir::MLIRContext();
    llvm::Expected<std::unique_ptr<Model>> compiled =
        compileModel(*context, **hf, std::move(*weights), options);
    ASSERT_TRUE(bool(compiled)) << llvm::toString(compiled.takeError());
    model = compiled->release();
  }
  static void TearDownTestSuite() {
    delete model;
    delete context;
  }

  static std::unique_ptr<Session> makeSession(int64_t blocks) {
    SessionOptions options;
    options.numBlocks = blocks;
    Expected<std::unique_ptr<Session>> session =
        Session::create(*model, options);
    EXPECT_TRUE(bool(session)) << session.error();
    return session ? std::move(*session) : nullptr;
  }

  /// The tokens `request` gets alone, through a scheduler of `options`.
  static std::vector<int64_t> solo(const SchedulerRequest &request,
                                   const SchedulerOptions &options) {
    std::unique_ptr<Session> session = makeSession(64);
    Scheduler scheduler(*session, options);
    int64_t id = scheduler.submit(request);
    EXPECT_TRUE(scheduler.runToCompletion().isOk());
    EXPECT_TRUE(scheduler.getResult(id).status.isOk());
    return scheduler.getResult(id).tokens;
  }

  static mlir::MLIRContext *context;
  static Model *model;
};

mlir::MLIRContext *SchedulerTest::context = nullptr;
Model *SchedulerTest::model = nullptr;

/// 50 requests: prompts of 1-20 tokens, 1-16 new tokens, arriving over the
/// first 40 steps, some sharing a 12-token prefix.
std::vector<std::pair<int64_t, SchedulerRequest>> makeTrace(uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<int64_t> common;
  for (int i = 0; i < 12; ++i)
    common.push_back(3 + rng() % 110);
  std::vector<std::pair<int64_t, SchedulerRequest>> trace;
  for (int r = 0; r < 50; ++r) {
    SchedulerRequest request;
    const int64_t length = 1 + rng() % 20;
    for (int64_t i = 0; i < length; ++i)
      request.prompt.push_back(r % 3 == 0 && i < 12 ? common[i]
                                                    : 3 + rng() % 110);
    request.maxNewTokens = 1 + rng() % 16;
    request.ignoreStop = r % 5 != 0;
    trace.push_back({static_cast<int64_t>(rng() % 40), request});
  }
  return trace;
}

/// Runs `trace` (arrival step, request) through one scheduler; returns
/// each request's tokens in trace order.
std::vector<std::vector<int64_t>>
serve(Session &session, const SchedulerOptions &options,
      const std::vector<std::pair<int64_t, SchedulerRequest>> &trace,
      Scheduler **out = nullptr) {
  static std::unique_ptr<Scheduler> keep;
  keep = std::make_unique<Scheduler>(session, options);
  Scheduler &scheduler = *keep;
  std::vector<int64_t> ids(trace.size(), -1);
  size_t submitted = 0;
  for (int64_t step = 0; submitted < trace.size() || !scheduler.isIdle();
       ++step) {
    for (size_t i = 0; i < trace.size(); ++i)
      if (trace[i].first == step) {
        ids[i] = scheduler.submit(trace[i].second);
        ++submitted;
      }
    Status status = scheduler.step();
    EXPECT_TRUE(status.isOk()) << status.message();
    if (!status.isOk() || step > 100000)
      break;
  }
  std::vector<std::vector<int64_t>> tokens;
  for (int64_t id : ids) {
    EXPECT_TRUE(scheduler.getResult(id).finished) << "request " << id;
    EXPECT_TRUE(scheduler.getResult(id).status.isOk())
        << scheduler.getResult(id).status.message();
    tokens.push_back(scheduler.getResult(id).tokens);
  }
  if (out)
    *out = &scheduler;
  return tokens;
}

TEST_F(SchedulerTest, FiftyRequestsEachGetTheirSoloTokens) {
  ASSERT_TRUE(model);
  SchedulerOptions options;
  options.chunkTokens = 8;
  auto trace = makeTrace(7);
  std::unique_ptr<Session> session = makeSession(64);
  Scheduler *scheduler = nullptr;
  auto batched = serve(*session, options, trace, &scheduler);
  // Several requests ran at once, and none was lost or duplicated.
  EXPECT_EQ(scheduler->getNumRequests(), 50);
  for (size_t i = 0; i < trace.size(); ++i) {
    const SchedulerRequest &request = trace[i].second;
    ASSERT_FALSE(batched[i].empty()) << "request " << i;
    EXPECT_LE(static_cast<int64_t>(batched[i].size()), request.maxNewTokens);
    if (request.ignoreStop)
      EXPECT_EQ(static_cast<int64_t>(batched[i].size()), request.maxNewTokens);
    EXPECT_EQ(batched[i], solo(request, options)) << "request " << i;
  }
  EXPECT_GT(scheduler->getPeakSharedBlocks(), 0);
  EXPECT_EQ(session->getNumFreeBlocks(), session->getNumBlocks());
}

TEST_F(SchedulerTest, PreemptionGivesTheSameTokens) {
  ASSERT_TRUE(model);
  SchedulerOptions options;
  options.chunkTokens = 8;
  auto trace = makeTrace(11);
  std::unique_ptr<Session> roomy = makeSession(64);
  auto expected = serve(*roomy, options, trace);
  // 12 blocks of 4 tokens: the longest request (36 tokens, 9 blocks) fits
  // alone, the batch does not: the newest sequences are preempted and
  // recomputed.
  std::unique_ptr<Session> tight = makeSession(12);
  Scheduler *scheduler = nullptr;
  auto preempted = serve(*tight, options, trace, &scheduler);
  EXPECT_GT(scheduler->getPreemptions(), 0);
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_EQ(preempted[i], expected[i])
        << "request " << i << ", preempted "
        << scheduler->getResult(static_cast<int64_t>(i)).preemptions
        << " times";
  EXPECT_EQ(tight->getNumFreeBlocks(), tight->getNumBlocks());
}

TEST_F(SchedulerTest, ChunkedPrefillEqualsUnchunked) {
  ASSERT_TRUE(model);
  auto trace = makeTrace(13);
  SchedulerOptions whole, chunked;
  whole.chunkTokens = 1 << 20;
  whole.prefixSharing = false;
  chunked.chunkTokens = 4;
  chunked.prefixSharing = false;
  std::unique_ptr<Session> a = makeSession(64), b = makeSession(64);
  EXPECT_EQ(serve(*a, chunked, trace), serve(*b, whole, trace));
}

TEST_F(SchedulerTest, PrefixSharingSavesTheCommonBlocks) {
  ASSERT_TRUE(model);
  // Three prompts of 13 tokens that share their first 10: two full blocks
  // of 4 in common (the third block differs at position 10).
  std::vector<int64_t> prefix = {5, 17, 42, 7, 9, 11, 13, 15, 17, 19};
  std::unique_ptr<Session> session = makeSession(32);
  SchedulerOptions options;
  Scheduler scheduler(*session, options);
  std::vector<int64_t> ids;
  for (int64_t tail : {20, 30, 40}) {
    SchedulerRequest request;
    request.prompt = prefix;
    request.prompt.insert(request.prompt.end(), {tail, tail + 1, tail + 2});
    request.maxNewTokens = 8;
    request.ignoreStop = true;
    ids.push_back(scheduler.submit(request));
    // The first prefills alone (only cached blocks are shared); the next
    // two arrive after it and share its 2 full prompt blocks.
    ASSERT_TRUE(scheduler.step().isOk());
  }
  EXPECT_EQ(scheduler.getResult(ids[0]).sharedTokens, 0);
  EXPECT_EQ(scheduler.getResult(ids[1]).sharedTokens, 8);
  EXPECT_EQ(scheduler.getResult(ids[2]).sharedTokens, 8);
  EXPECT_EQ(session->getNumSharedBlocks(), 2);
  // 3 x 4 blocks without sharing (13 to 15 tokens each), 4 saved.
  EXPECT_EQ(session->getNumBlocks() - session->getNumFreeBlocks(), 3 * 4 - 4);
  ASSERT_TRUE(scheduler.runToCompletion().isOk());
  SchedulerOptions alone = options;
  alone.prefixSharing = false;
  for (size_t i = 0; i < ids.size(); ++i) {
    SchedulerRequest request;
    request.prompt = prefix;
    int64_t tail = 20 + 10 * static_cast<int64_t>(i);
    request.prompt.insert(request.prompt.end(), {tail, tail + 1, tail + 2});
    request.maxNewTokens = 8;
    request.ignoreStop = true;
    EXPECT_EQ(scheduler.getResult(ids[i]).tokens, solo(request, alone));
  }
  EXPECT_EQ(session->getNumFreeBlocks(), session->getNumBlocks());
}

/// Sampling (temperature, top-k, top-p) draws from each request's own
/// generator: a request's tokens are its solo tokens whatever runs beside
/// it, preemption included, and another seed gives other tokens.
TEST_F(SchedulerTest, SampledRequestsAreTheirOwn) {
  ASSERT_TRUE(model);
  auto trace = makeTrace(17);
  for (size_t i = 0; i < trace.size(); ++i) {
    trace[i].second.sampler = sampler_params(0.9, 20, 0.95, 0.0, 1.0, 1000 + i);
    trace[i].second.ignoreStop = true;
  }
  SchedulerOptions options;
  options.chunkTokens = 8;
  std::unique_ptr<Session> tight = makeSession(12);
  Scheduler *scheduler = nullptr;
  auto batched = serve(*tight, options, trace, &scheduler);
  EXPECT_GT(scheduler->getPreemptions(), 0);
  bool differsFromGreedy = false;
  for (size_t i = 0; i < trace.size(); i += 5) {
    EXPECT_EQ(batched[i], solo(trace[i].second, options)) << "request " << i;
    SchedulerRequest greedy = trace[i].second;
    greedy.sampler = sampler_params(0.0);
    differsFromGreedy |= solo(greedy, options) != batched[i];
  }
  EXPECT_TRUE(differsFromGreedy);
  SchedulerRequest bad = trace[0].second;
  bad.sampler = sampler_params(-1.0);
  std::unique_ptr<Session> session = makeSession(16);
  Scheduler refusing(*session);
  int64_t id = refusing.submit(bad);
  EXPECT_TRUE(refusing.getResult(id).finished);
  EXPECT_NE(refusing.getResult(id).status.message().find("temperature"),
            std::string::npos)
      << refusing.getResult(id).status.message();
}

TEST_F(SchedulerTest, RequestsThatCanNeverFitAreRefused) {
  ASSERT_TRUE(model);
  std::unique_ptr<Session> session = makeSession(4);
  Scheduler scheduler(*session);
  SchedulerRequest big;
  big.prompt.assign(10, 5);
  big.maxNewTokens = 10; // 20 tokens: 5 blocks of 4, the cache has 4.
  int64_t id = scheduler.submit(big);
  EXPECT_TRUE(scheduler.getResult(id).finished);
  EXPECT_EQ(scheduler.getResult(id).status.code(), ErrorCode::CacheFull);
  EXPECT_EQ(scheduler.getResult(id).status.message(),
            "scheduler: request 0 can never run: its 20 tokens (prompt and "
            "new) need 5 blocks of 4 tokens, the cache has 4");
  SchedulerRequest empty;
  id = scheduler.submit(empty);
  EXPECT_EQ(scheduler.getResult(id).status.message(),
            "scheduler: request 1: expected a prompt of at least one token, "
            "found none");
  std::unique_ptr<Session> roomy = makeSession(64);
  Scheduler wide(*roomy);
  SchedulerRequest tooLong;
  tooLong.prompt.assign(60, 5);
  tooLong.maxNewTokens = 10;
  id = wide.submit(tooLong);
  EXPECT_EQ(wide.getResult(id).status.message(),
            "scheduler: request 0 can never run: its 70 tokens (prompt and "
            "new) exceed the 64 the compiled block tables describe");
  EXPECT_TRUE(scheduler.isIdle());
}

} // namespace
