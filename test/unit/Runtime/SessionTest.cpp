//===- SessionTest.cpp - Sessions over a stand-in model -------------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// The session's bookkeeping (slots, block tables, lengths, padding rows,
// forks, sliding-window eviction) against a model whose native code is a
// C++ function: it checks what the session passes and answers with logits
// that encode the sequence length. No compiler involved.
//
//===----------------------------------------------------------------------===//

#include "Session.h"
#include "Generate.h"
#include "Kernels.h"
#include "Model.h"

#include "gtest/gtest.h"

#include <map>
#include <string>

using namespace llmrt;

namespace {

constexpr int64_t kVocab = 8;
constexpr int64_t kBlockSize = 4;
constexpr int64_t kTableWidth = 200;

/// What the last call of the stand-in entry points saw.
struct Observed {
  int64_t rows = 0;
  std::vector<int32_t> lens;
  std::vector<std::vector<int32_t>> tables;
  std::string error;
} observed;

/// args: tokens [rows, count], positions, cache, slots [rows, count],
/// tables [rows, kTableWidth], lens [rows]; result [rows, count, vocab]:
/// row r, token i is one-hot at (its position + 1) % vocab.
template <int64_t rows, int64_t count>
void standIn(void **, void *, void **args, void **results) {
  auto *positions = static_cast<const int64_t *>(args[1]);
  auto *cache = static_cast<const LLMKCache *>(args[2]);
  auto *slots = static_cast<const int32_t *>(args[3]);
  auto *tables = static_cast<const int32_t *>(args[4]);
  auto *lens = static_cast<const int32_t *>(args[5]);
  auto *logits = static_cast<float *>(results[0]);
  observed = Observed();
  observed.rows = rows;
  for (int64_t r = 0; r < rows; ++r) {
    observed.lens.push_back(lens[r]);
    observed.tables.emplace_back(tables + r * kTableWidth,
                                 tables + (r + 1) * kTableWidth);
    for (int64_t i = 0; i < count; ++i) {
      int32_t slot = slots[r * count + i];
      int64_t position = positions[r * count + i];
      // A slot written must be in the block the table gives its position.
      if (slot >= 0 && (slot >= cache->numBlocks * kBlockSize ||
                        tables[r * kTableWidth + position / kBlockSize] !=
                            slot / kBlockSize ||
                        slot % kBlockSize != position % kBlockSize))
        observed.error = "slot " + std::to_string(slot) + " for position " +
                         std::to_string(position);
      float *row = logits + (r * count + i) * kVocab;
      std::fill(row, row + kVocab, 0.0f);
      row[(position + 1) % kVocab] = 1.0f;
    }
  }
}

class StandInCode : public CodeProvider {
public:
  void *lookup(std::string_view symbol) override {
    static const std::map<std::string, void *> functions = {
        {"prefill_3", reinterpret_cast<void *>(&standIn<1, 3>)},
        {"decode", reinterpret_cast<void *>(&standIn<2, 1>)}};
    auto it = functions.find(std::string(symbol));
    return it == functions.end() ? nullptr : it->second;
  }
};

std::string entry(const std::string &name, int64_t rows, int64_t count) {
  std::string shape =
      "[" + std::to_string(rows) + ", " + std::to_string(count) + "]";
  return R"({"name": ")" + name + R"(", "arena_bytes": 0, "args": [
      {"kind": "tokens", "dtype": "i64", "shape": )" +
         shape + R"(},
      {"kind": "positions", "dtype": "i64", "shape": )" +
         shape + R"(},
      {"kind": "kv_cache", "cache": {"layers": 1, "kv_heads": 1,
       "head_dim": 2, "block_size": 4, "dtype": "f32"}},
      {"kind": "slots", "dtype": "i32", "shape": )" +
         shape + R"(},
      {"kind": "block_tables", "dtype": "i32", "shape": [)" +
         std::to_string(rows) + ", " + std::to_string(kTableWidth) + R"(]},
      {"kind": "context_lens", "dtype": "i32", "shape": [)" +
         std::to_string(rows) + R"(]}],
    "results": [{"dtype": "f32", "shape": [)" +
         std::to_string(rows) + ", " + std::to_string(count) + ", 8]}]}";
}

std::unique_ptr<Model> makeModel(int64_t window) {
  std::string text = R"({"format": "llmc-manifest", "version": 1,
      "model": {"type": "toy", "kind": "decoder", "vocab_size": 8,
                "hidden_size": 2, "eos_token_ids": [7],
                "sliding_window": )" +
                     std::to_string(window) + R"(},
      "params": [], "entry_points": [)" +
                     entry("prefill_3", 1, 3) + ", " + entry("decode", 2, 1) +
                     "]}";
  Expected<Manifest> manifest = Manifest::parse(text, "test");
  EXPECT_TRUE(manifest) << manifest.error();
  if (!manifest)
    return nullptr;
  Expected<std::unique_ptr<Model>> model =
      Model::create(std::move(*manifest), nullptr,
                    []() -> Expected<std::unique_ptr<CodeProvider>> {
                      return std::unique_ptr<CodeProvider>(new StandInCode());
                    });
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
  status = (*session)->prefill(*seq, std::vector<int64_t>{1, 2}, nullptr);
  EXPECT_EQ(status.message(),
            "session: no compiled entry point takes 1 sequence(s) of 2 "
            "token(s) (compile one for that shape)");
  ASSERT_TRUE(
      (*session)->prefill(*seq, std::vector<int64_t>{1, 2, 3}, nullptr).isOk());
  // Two blocks hold 8 tokens: the 9th does not fit.
  for (int step = 0; step < 5; ++step)
    ASSERT_TRUE((*session)->decode({*seq}, {1}, logits.data()).isOk());
  status = (*session)->decode({*seq}, {1}, logits.data());
  EXPECT_EQ(status.code(), ErrorCode::CacheFull);
  EXPECT_EQ(status.message(),
            "KV cache full: sequence 0 needs 1 more blocks of 4 tokens, 0 of 2 "
            "are free");
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
