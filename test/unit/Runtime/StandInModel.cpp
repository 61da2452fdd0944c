//===- StandInModel.cpp - A model whose native code is C++ ----------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "StandInModel.h"
#include "Kernels.h"

#include <algorithm>
#include <map>

using namespace llmrt;
using namespace llmrt::testing;

Observed llmrt::testing::observed;

namespace {

/// args: tokens [rows, count], positions, cache, slots [rows, count],
/// tables [rows, kTableWidth], lens [rows]; result [rows, count, vocab]
/// (with `last`: [rows, 1, vocab], the last token's): row r, token i is
/// one-hot at (its position + 1) % vocab.
template <int64_t rows, int64_t count, bool last = false>
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
      if (last && i != count - 1)
        continue;
      float *row = logits + (last ? r : r * count + i) * kVocab;
      std::fill(row, row + kVocab, 0.0f);
      row[(position + 1) % kVocab] = 1.0f;
    }
  }
}

std::string entryJson(const std::string &name, int64_t rows, int64_t count,
                      bool last = false) {
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
         std::to_string(rows) + ", " + std::to_string(last ? 1 : count) +
         ", 8]}]}";
}

class StandInCode : public CodeProvider {
public:
  void *lookup(std::string_view symbol) override {
    return lookupStandIn(std::string(symbol).c_str());
  }
};

} // namespace

void *llmrt::testing::lookupStandIn(const char *name) {
  static const std::map<std::string, void *> functions = {
      {"prefill_3", reinterpret_cast<void *>(&standIn<1, 3>)},
      {"prefill_5", reinterpret_cast<void *>(&standIn<1, 5, true>)},
      {"decode", reinterpret_cast<void *>(&standIn<2, 1>)}};
  auto it = functions.find(name);
  return it == functions.end() ? nullptr : it->second;
}

std::string llmrt::testing::standInManifest(int64_t window,
                                            const std::string &modelFields) {
  return R"({"format": "llmc-manifest", "version": 1,
      "model": {"type": "toy", "kind": "decoder", "vocab_size": 8,
                "hidden_size": 2, "eos_token_ids": [7], )" +
         modelFields + R"("sliding_window": )" + std::to_string(window) +
         R"(},
      "params": [], "entry_points": [)" +
         entryJson("prefill_3", 1, 3) + ", " +
         entryJson("prefill_5", 1, 5, /*last=*/true) + ", " +
         entryJson("decode", 2, 1) + "]}";
}

Expected<std::unique_ptr<Model>>
llmrt::testing::makeStandInModel(int64_t window,
                                 const std::string &modelFields) {
  Expected<Manifest> manifest =
      Manifest::parse(standInManifest(window, modelFields), "stand-in");
  if (!manifest)
    return manifest.takeStatus();
  return Model::create(std::move(*manifest), nullptr,
                       []() -> Expected<std::unique_ptr<CodeProvider>> {
                         return std::unique_ptr<CodeProvider>(
                             new StandInCode());
                       });
}
