//===- StandInModel.h - A model whose native code is C++ --------*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
// A decoder over a paged KV cache whose three entry points (prefill_3: one
// sequence of 3 tokens; prefill_5: one sequence of 5 tokens, returning the
// last one's logits alone, as llm-last-logits compiles it; decode: 2
// sequences of one token) are C++ functions: they check the slots, block
// tables and lengths the runtime passes (reporting in `observed`) and answer
// with logits one-hot at (position + 1) % 8, so that greedy decoding from a
// prompt of 3 tokens picks 3, 4, 5, ... Tests of the runtime and its C API
// use it without a compiler.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_TEST_UNIT_RUNTIME_STANDINMODEL_H
#define LLM_TEST_UNIT_RUNTIME_STANDINMODEL_H

#include "Model.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace llmrt::testing {

inline constexpr int64_t kVocab = 8;
inline constexpr int64_t kBlockSize = 4;
/// Blocks per sequence in the entry points' block tables.
inline constexpr int64_t kTableWidth = 200;

/// What the last call of a stand-in entry point saw.
struct Observed {
  int64_t rows = 0;
  std::vector<int32_t> lens;
  std::vector<std::vector<int32_t>> tables;
  /// A slot outside the block its position's table entry names.
  std::string error;
};
extern Observed observed;

/// The manifest, every layer attending through `window` tokens (0: none).
/// `modelFields` adds fields to its "model" (`"max_positions": 8, `).
std::string standInManifest(int64_t window,
                            const std::string &modelFields = "");
/// The entry point called `name`, or null.
void *lookupStandIn(const char *name);
Expected<std::unique_ptr<Model>>
makeStandInModel(int64_t window, const std::string &modelFields = "");

} // namespace llmrt::testing

#endif // LLM_TEST_UNIT_RUNTIME_STANDINMODEL_H
