//===- ThreadsTest.cpp - Sessions from several threads --------------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// Several sessions in one process, driven from several threads at once: of
// one model (whose calls take turns on its arena) and of several models.
// Each thread's tokens equal a single-threaded run's. scripts/test.sh
// --tsan runs these under ThreadSanitizer; test/runtime/threads.test runs
// the artifact case (LLMC_THREADS_ARTIFACT names an llm-compile output).
//
//===----------------------------------------------------------------------===//

#include "Artifact.h"
#include "Generate.h"
#include "Model.h"
#include "Session.h"
#include "StandInModel.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <thread>

using namespace llmrt;
using namespace llmrt::testing;

namespace {

/// Greedy tokens of `prompt` through a session of `model`.
std::vector<int64_t> greedy(Model &model, const std::vector<int64_t> &prompt,
                            int64_t steps) {
  std::vector<Prompt> prompts = {{prompt, {}}};
  GenerateParams params;
  params.maxNewTokens = steps;
  Expected<SessionOptions> options = getSessionOptions(model, prompts, params);
  EXPECT_TRUE(bool(options)) << options.error();
  if (!options)
    return {};
  Expected<std::unique_ptr<Session>> session = Session::create(model, *options);
  EXPECT_TRUE(bool(session)) << session.error();
  if (!session)
    return {};
  std::unique_ptr<SequenceSet> sequences = makeCachedSequences(**session);
  Expected<const ModelInfo *> info = model.getInfo();
  Expected<GenerationResult> result =
      generate(*sequences, prompts, params, (*info)->vocabSize);
  EXPECT_TRUE(bool(result)) << result.error();
  return result ? result->tokens[0] : std::vector<int64_t>();
}

TEST(ThreadsTest, SessionsOfOneModelFromSeveralThreads) {
  Expected<std::unique_ptr<Model>> model = makeStandInModel(/*window=*/0);
  ASSERT_TRUE(bool(model)) << model.error();
  const std::vector<int64_t> prompt = {1, 2, 3};
  const std::vector<int64_t> expected = greedy(**model, prompt, 6);
  ASSERT_EQ(expected, (std::vector<int64_t>{3, 4, 5, 6, 7, 0}));
  std::vector<std::vector<int64_t>> got(4);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < got.size(); ++t)
    threads.emplace_back([&, t] {
      for (int round = 0; round < 20; ++round)
        got[t] = greedy(**model, prompt, 6);
    });
  for (std::thread &thread : threads)
    thread.join();
  for (const std::vector<int64_t> &tokens : got)
    EXPECT_EQ(tokens, expected);
}

TEST(ThreadsTest, SessionsOfAnArtifactFromSeveralThreads) {
  const char *path = std::getenv("LLMC_THREADS_ARTIFACT");
  if (!path || !*path)
    GTEST_SKIP() << "LLMC_THREADS_ARTIFACT names no artifact "
                    "(test/runtime/threads.test sets it)";
  Expected<std::unique_ptr<Model>> shared = loadArtifact(path);
  ASSERT_TRUE(bool(shared)) << shared.error();
  const std::vector<std::vector<int64_t>> prompts = {
      {5, 17, 42, 7}, {9, 8, 7, 6, 5, 4, 3, 2, 1}, {100, 3}};
  std::vector<std::vector<int64_t>> expected;
  for (const std::vector<int64_t> &prompt : prompts)
    expected.push_back(greedy(**shared, prompt, 12));
  // Three threads on the shared model, three on a model each.
  std::vector<std::vector<int64_t>> got(6);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < got.size(); ++t)
    threads.emplace_back([&, t] {
      std::unique_ptr<Model> own;
      Model *model = shared->get();
      if (t >= 3) {
        Expected<std::unique_ptr<Model>> loaded = loadArtifact(path);
        EXPECT_TRUE(bool(loaded)) << loaded.error();
        if (!loaded)
          return;
        own = std::move(*loaded);
        model = own.get();
      }
      for (int round = 0; round < 5; ++round)
        got[t] = greedy(*model, prompts[t % 3], 12);
    });
  for (std::thread &thread : threads)
    thread.join();
  for (size_t t = 0; t < got.size(); ++t)
    EXPECT_EQ(got[t], expected[t % 3]) << "thread " << t;
}

} // namespace
