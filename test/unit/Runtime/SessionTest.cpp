//===- SessionTest.cpp - Sessions over a stand-in model -------------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// The session's bookkeeping (slots, block tables, lengths, padding rows,
// forks, sliding-window eviction) against the stand-in model of
// StandInModel.h. No compiler involved.
//
//===----------------------------------------------------------------------===//

#include "Session.h"
#include "Generate.h"
#include "Kernels.h"
#include "Model.h"
#include "StandInModel.h"

#include "gtest/gtest.h"

#include <string>

using namespace llmrt;

namespace {

using namespace llmrt::testing;

std::unique_ptr<Model> makeModel(int64_t window) {
  Expected<std::unique_ptr<Model>> model = makeStandInModel(window);
  EXPECT_TRUE(model) << model.error();
  return model ? std::move(*model) : nullptr;
}

int64_t argmax(const float *row) {
  return std::max_element(row, row + kVocab) - row;
}

TEST(SessionTest, PrefillAndDecodeFillSlotsTablesAndLengths) {
  std::unique_ptr<Model> model = makeModel(/*window=*/0);
  ASSERT_TRUE(model);
  Expected<std::unique_ptr<Session>> session = Session::create(*model);
  ASSERT_TRUE(session) << session.error();
  Expected<int64_t> seq = (*session)->addSequence();
  ASSERT_TRUE(seq);
  std::vector<float> logits(3 * kVocab);
  Status status =
      (*session)->prefill(*seq, std::vector<int64_t>{1, 2, 3}, logits.data());
  ASSERT_TRUE(status.isOk()) << status.message();
  EXPECT_EQ(observed.error, "");
  EXPECT_EQ(observed.lens, std::vector<int32_t>{3});
  EXPECT_EQ(argmax(logits.data() + 2 * kVocab), 3); // position 2 -> 3
  // One sequence through the batch-2 decode entry: the second row pads.
  for (int step = 0; step < 9; ++step) {
    status = (*session)->decode({*seq}, {5}, logits.data());
    ASSERT_TRUE(status.isOk()) << status.message();
    EXPECT_EQ(observed.error, "");
    EXPECT_EQ(observed.rows, 2);
    EXPECT_EQ(observed.lens[0], 4 + step);
    EXPECT_EQ(argmax(logits.data()), (4 + step) % kVocab);
  }
  EXPECT_EQ((*session)->getLength(*seq), 12);
  EXPECT_EQ((*session)->getNumHeldBlocks(*seq), 3);
}

TEST(SessionTest, SlidingWindowBoundsTheBlocksASequenceHolds) {
  // Window 4, blocks of 4 tokens: a sequence never holds more than 3 blocks
  // however long it grows, and the blocks it freed are -1 in its table.
  std::unique_ptr<Model> model = makeModel(/*window=*/4);
  ASSERT_TRUE(model);
  Expected<std::unique_ptr<Session>> session = Session::create(*model);
  ASSERT_TRUE(session) << session.error();
  Expected<int64_t> a = (*session)->addSequence();
  Expected<int64_t> b = (*session)->addSequence();
  ASSERT_TRUE(a && b);
  std::vector<float> logits(3 * kVocab);
  for (int64_t seq : {*a, *b})
    ASSERT_TRUE((*session)
                    ->prefill(seq, std::vector<int64_t>{1, 2, 3}, logits.data())
                    .isOk());
  int64_t mostHeld = 0;
  for (int step = 0; step < 500; ++step) {
    Status status = (*session)->decode({*a, *b}, {4, 5}, logits.data());
    ASSERT_TRUE(status.isOk()) << status.message();
    ASSERT_EQ(observed.error, "") << "step " << step;
    for (int64_t seq : {*a, *b})
      mostHeld = std::max(mostHeld, (*session)->getNumHeldBlocks(seq));
  }
  EXPECT_LE(mostHeld, 3);
  EXPECT_EQ((*session)->getLength(*a), 503);
  // The last call's table: blocks wholly before position 503 - 4 are gone.
  const std::vector<int32_t> &table = observed.tables[0];
  EXPECT_EQ(table[0], -1);
  EXPECT_EQ(table[(503 - 5) / kBlockSize - 1], -1);
  EXPECT_GE(table[502 / kBlockSize], 0);
  // The pool the two sequences share never needed more than 6 blocks; a
  // third sequence still fits after 500 steps.
  EXPECT_TRUE((*session)->addSequence());
}

// Sequences stop at the context the model was trained for unless the
// session ignores it, and at the end of its positions regardless. A refused
// step changes nothing.
TEST(SessionTest, PositionsEndAtTheModelsLimits) {
  Expected<std::unique_ptr<Model>> model = makeStandInModel(
      /*window=*/0, R"("max_positions": 8, "context_length": 5, )");
  ASSERT_TRUE(model) << model.error();
  for (bool ignore : {false, true}) {
    SessionOptions options;
    options.ignoreContextLength = ignore;
    Expected<std::unique_ptr<Session>> session =
        Session::create(**model, options);
    ASSERT_TRUE(session) << session.error();
    Expected<int64_t> seq = (*session)->addSequence();
    ASSERT_TRUE(seq);
    std::vector<float> logits(3 * kVocab);
    ASSERT_TRUE(
        (*session)
            ->prefill(*seq, std::vector<int64_t>{1, 2, 3}, logits.data())
            .isOk());
    int64_t limit = ignore ? 8 : 5;
    for (int64_t length = 4; length <= limit; ++length)
      ASSERT_TRUE((*session)->decode({*seq}, {1}, logits.data()).isOk())
          << length;
    Status status = (*session)->decode({*seq}, {1}, logits.data());
    ASSERT_FALSE(status.isOk());
    EXPECT_EQ(status.code(), ErrorCode::InvalidArgument);
    EXPECT_EQ(status.message(),
              ignore ? "session: sequence 0 would hold 9 tokens; the model "
                       "has 8 positions"
                     : "session: sequence 0 would hold 6 tokens; the model "
                       "was trained for a context of 5 positions "
                       "(ignore_context_length allows more)");
    EXPECT_EQ((*session)->getLength(*seq), limit);
  }
}

TEST(SessionTest, ForkCopiesHeldBlocksAndContinuesIndependently) {
  std::unique_ptr<Model> model = makeModel(/*window=*/4);
  ASSERT_TRUE(model);
  Expected<std::unique_ptr<Session>> session = Session::create(*model);
  ASSERT_TRUE(session) << session.error();
  Expected<int64_t> seq = (*session)->addSequence();
  ASSERT_TRUE(seq);
  std::vector<float> logits(3 * kVocab);
  ASSERT_TRUE((*session)
                  ->prefill(*seq, std::vector<int64_t>{1, 2, 3}, logits.data())
                  .isOk());
  for (int step = 0; step < 10; ++step)
    ASSERT_TRUE((*session)->decode({*seq}, {4}, logits.data()).isOk());
  Expected<int64_t> copy = (*session)->fork(*seq);
  ASSERT_TRUE(copy) << copy.error();
  EXPECT_EQ((*session)->getLength(*copy), 13);
  EXPECT_EQ((*session)->getNumHeldBlocks(*copy),
            (*session)->getNumHeldBlocks(*seq));
  ASSERT_TRUE((*session)->decode({*seq, *copy}, {4, 6}, logits.data()).isOk());
  EXPECT_EQ(observed.error, "");
  EXPECT_NE(observed.tables[0][13 / kBlockSize],
            observed.tables[1][13 / kBlockSize]);
  (*session)->release(*copy);
  EXPECT_FALSE((*session)->isLive(*copy));
}

TEST(SessionTest, ErrorsAreReported) {
  std::unique_ptr<Model> model = makeModel(/*window=*/0);
  ASSERT_TRUE(model);
  SessionOptions options;
  options.numBlocks = 2;
  Expected<std::unique_ptr<Session>> session = Session::create(*model, options);
  ASSERT_TRUE(session) << session.error();
  std::vector<float> logits(3 * kVocab);
  Status status =
      (*session)->prefill(7, std::vector<int64_t>{1, 2, 3}, logits.data());
  EXPECT_EQ(status.code(), ErrorCode::InvalidArgument);
  EXPECT_EQ(status.message(), "session: no live sequence 7");
  Expected<int64_t> seq = (*session)->addSequence();
  ASSERT_TRUE(seq);
  // No entry point takes 2 tokens: they go in chunks, here two steps of
  // the single-token decode entry point.
  ASSERT_TRUE(
      (*session)->prefill(*seq, std::vector<int64_t>{1, 2}, nullptr).isOk());
  EXPECT_EQ((*session)->getLength(*seq), 2);
  ASSERT_TRUE(
      (*session)->prefill(*seq, std::vector<int64_t>{1, 2, 3}, nullptr).isOk());
  // Two blocks hold 8 tokens: the 9th does not fit.
  for (int step = 0; step < 3; ++step)
    ASSERT_TRUE((*session)->decode({*seq}, {1}, logits.data()).isOk());
  status = (*session)->decode({*seq}, {1}, logits.data());
  EXPECT_EQ(status.code(), ErrorCode::CacheFull);
  EXPECT_EQ(status.message(),
            "KV cache full: sequence 0 needs 1 more blocks of 4 tokens, 0 of 2 "
            "are free");
}

// prefill_5 returns the last token's logits alone ([1, 1, vocab] in the
// manifest): the session writes them for PrefillLogits::Last and refuses
// every position's before appending anything; prefill_3 serves both.
TEST(SessionTest, PrefillOfTheLastLogitsOnly) {
  std::unique_ptr<Model> model = makeModel(/*window=*/0);
  ASSERT_TRUE(model);
  Expected<std::unique_ptr<Session>> session = Session::create(*model);
  ASSERT_TRUE(session) << session.error();
  Expected<int64_t> seq = (*session)->addSequence();
  ASSERT_TRUE(seq);
  std::vector<int64_t> five = {1, 2, 3, 4, 5};
  std::vector<float> logits(5 * kVocab, -1.0f);
  Status status = (*session)->prefill(*seq, five, logits.data());
  EXPECT_EQ(status.code(), ErrorCode::Unsupported);
  EXPECT_EQ(status.message(),
            "session: the prefill entry point 'prefill_5' computes the logits "
            "of the last token alone (the model was compiled for generation, "
            "last-logits-only); compile it with every position's logits to "
            "read the prompt's");
  EXPECT_EQ((*session)->getLength(*seq), 0);
  status = (*session)->prefill(*seq, five, logits.data(), PrefillLogits::Last);
  ASSERT_TRUE(status.isOk()) << status.message();
  EXPECT_EQ(observed.error, "");
  EXPECT_EQ(argmax(logits.data()), 5); // position 4 -> 5
  EXPECT_EQ(logits[kVocab], -1.0f);    // one row written
  EXPECT_EQ((*session)->getLength(*seq), 5);
  ASSERT_TRUE((*session)->decode({*seq}, {5}, logits.data()).isOk());
  EXPECT_EQ(argmax(logits.data()), 6);
  // Without logits, nothing is refused.
  Expected<int64_t> other = (*session)->addSequence();
  ASSERT_TRUE(other);
  EXPECT_TRUE((*session)->prefill(*other, five, nullptr).isOk());
  // An entry point of every position's logits gives the last one's too.
  Expected<int64_t> three = (*session)->addSequence();
  ASSERT_TRUE(three);
  std::fill(logits.begin(), logits.end(), -1.0f);
  ASSERT_TRUE((*session)
                  ->prefill(*three, std::vector<int64_t>{1, 2, 3},
                            logits.data(), PrefillLogits::Last)
                  .isOk());
  EXPECT_EQ(argmax(logits.data()), 3);
  EXPECT_EQ(logits[kVocab], -1.0f);
}

// Generation reads a prefill's last logits alone, so a prompt of 5 tokens
// generates; keeping the prompt's logits needs every position's.
TEST(SessionTest, GenerateFromLastLogitsOnly) {
  std::unique_ptr<Model> model = makeModel(/*window=*/0);
  ASSERT_TRUE(model);
  Expected<std::unique_ptr<Session>> session = Session::create(*model);
  ASSERT_TRUE(session) << session.error();
  std::unique_ptr<SequenceSet> sequences = makeCachedSequences(**session);
  GenerateParams params;
  params.maxNewTokens = 4;
  Expected<GenerationResult> result =
      generate(*sequences, {Prompt{{1, 2, 3, 4, 5}, {}}}, params, kVocab);
  ASSERT_TRUE(result) << result.error();
  EXPECT_EQ(result->tokens[0], (std::vector<int64_t>{5, 6, 7, 0}));
  params.numBeams = 2;
  result = beamSearch(*sequences, Prompt{{1, 2, 3, 4, 5}, {}}, params, kVocab);
  ASSERT_TRUE(result) << result.error();
  EXPECT_EQ(result->tokens[0], (std::vector<int64_t>{5, 6, 7, 0}));
  params.numBeams = 1;
  params.keepPromptLogits = true;
  result = generate(*sequences, {Prompt{{1, 2, 3, 4, 5}, {}}}, params, kVocab);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.status().code(), ErrorCode::Unsupported);
  result = generate(*sequences, {Prompt{{1, 2, 3}, {}}}, params, kVocab);
  ASSERT_TRUE(result) << result.error();
  ASSERT_EQ(result->promptLogits.size(), size_t(3 * kVocab));
  EXPECT_EQ(argmax(result->promptLogits.data() + 2 * kVocab), 3);
}

TEST(SessionTest, GenerateStopsAtEosAndBoundsTheLoop) {
  std::unique_ptr<Model> model = makeModel(/*window=*/0);
  ASSERT_TRUE(model);
  Expected<std::unique_ptr<Session>> session = Session::create(*model);
  ASSERT_TRUE(session) << session.error();
  std::unique_ptr<SequenceSet> sequences = makeCachedSequences(**session);
  GenerateParams params;
  params.maxNewTokens = 10;
  params.stopTokenIds = {7};
  // The stand-in predicts position + 1: from a prompt of 3, tokens 3, 4,
  // 5, 6, 7 (eos, kept).
  Expected<GenerationResult> result =
      generate(*sequences, {Prompt{{1, 2, 3}, {}}}, params, kVocab);
  ASSERT_TRUE(result) << result.error();
  EXPECT_EQ(result->tokens[0], (std::vector<int64_t>{3, 4, 5, 6, 7}));
  EXPECT_EQ(result->decodeSteps, 4);
  params.stopTokenIds.clear();
  result = generate(*sequences, {Prompt{{1, 2, 3}, {}}}, params, kVocab);
  ASSERT_TRUE(result) << result.error();
  EXPECT_EQ(result->tokens[0].size(), 10u);
}

} // namespace
