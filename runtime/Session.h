//===- Session.h - Sequences over a model's paged KV cache ------*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
// A session runs the cached entry points of a model (what
// `llm-insert-kv-cache` made of it) for many sequences: it owns the paged
// KV cache and its block manager, and for an encoder-decoder model the
// static cross-attention cache that each sequence's encoder input fills
// once. It picks the entry point whose shapes fit each call from the
// manifest's argument kinds, fills slots, block tables and lengths, and,
// when every layer attends through the same sliding window, frees the
// blocks that fall wholly out of it, so that a sequence holds memory for
// its window rather than its length. No MLIR or LLVM.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_RUNTIME_SESSION_H
#define LLM_RUNTIME_SESSION_H

#include "Error.h"
#include "KVCache.h"
#include "Manifest.h"
#include "Model.h"
#include "Sampler.h"

#include <cstdint>
#include <memory>
#include <vector>

namespace llmrt {

/// Which logits a prefill writes.
enum class PrefillLogits {
  /// Those of every new token ([tokens, vocab]); refused when the prefill
  /// entry point computes the last token's alone (a model compiled with
  /// last-logits-only, the default for generation).
  All,
  /// Those of the last new token ([vocab]): the next-token logits, which
  /// every prefill entry point computes.
  Last,
};

struct SessionOptions {
  /// Blocks of the KV cache. 0: enough for `maxSequences` sequences as long
  /// as the compiled block tables allow.
  int64_t numBlocks = 0;
  /// Sequences the default `numBlocks` and `numCrossBlocks` make room for.
  int64_t maxSequences = 1;
  /// Blocks of the cross-attention cache of an encoder-decoder model. 0:
  /// `maxSequences` encoder inputs as long as the compiled cross-attention
  /// tables allow.
  int64_t numCrossBlocks = 0;
  /// Refuse a cache larger than the memory available, before allocating.
  bool checkMemory = true;
  /// Let sequences grow past the context the model was trained for
  /// (ModelInfo::contextLength), which rotary positions allow but the model
  /// may not handle. A learned position table's end (maxPositions) always
  /// holds.
  bool ignoreContextLength = false;
};

class Session {
public:
  /// Fails when `model` has no cached entry points or its manifest no model
  /// description, or when the cache cannot be allocated.
  static Expected<std::unique_ptr<Session>>
  create(Model &model, const SessionOptions &options = {});

  Model &getModel() { return model; }
  const ModelInfo &getInfo() const { return info; }
  /// The self-attention cache.
  const KVCacheConfig &getCacheConfig() const { return pool->getConfig(); }
  int64_t getNumBlocks() const { return pool->getNumBlocks(); }
  /// Bytes of the self-attention cache, and of the cross-attention cache.
  uint64_t getCacheBytes() const { return pool->getBytes(); }
  uint64_t getCrossCacheBytes() const {
    return crossPool ? crossPool->getBytes() : 0;
  }

  /// Starts a sequence and returns its id. For an encoder-decoder model,
  /// `encoderTokens` (at least one) run through the encoder entry point of
  /// their length now, into blocks of the cross-attention cache that the
  /// sequence (and its forks) read.
  Expected<int64_t> addSequence(TokenSpan encoderTokens = {});
  /// Appends `tokens` (at least one) to `seq` in one call; `logits` (may be
  /// null) receives the logits of each ([tokens.size(), vocab]), or with
  /// PrefillLogits::Last those of the last one ([vocab]). The entry point's
  /// result shape in the manifest says which it computes: [1, tokens, vocab]
  /// or [1, 1, vocab] (llm-last-logits).
  Status prefill(int64_t seq, TokenSpan tokens, float *logits,
                 PrefillLogits which = PrefillLogits::All);
  /// Appends `tokens[i]` to `seqs[i]`, all in as few calls as the compiled
  /// batch allows; row i of `logits` ([seqs.size(), vocab]) receives the
  /// next-token logits of `seqs[i]`.
  Status decode(const std::vector<int64_t> &seqs,
                const std::vector<int64_t> &tokens, float *logits);
  /// A new sequence holding a copy of `seq`'s cache (it shares the
  /// cross-attention cache).
  Expected<int64_t> fork(int64_t seq);
  /// A new sequence whose first `blocks` cache blocks are `seq`'s, shared
  /// rather than copied (prefix sharing: `seq` must have filled them); it
  /// appends into blocks of its own.
  Expected<int64_t> share(int64_t seq, int64_t blocks);
  /// Blocks held by more than one sequence.
  int64_t getNumSharedBlocks() const;
  /// Tokens a sequence may hold: what the narrowest compiled block table
  /// describes.
  int64_t getMaxSequenceLength() const;
  /// Free blocks of the self-attention cache.
  int64_t getNumFreeBlocks() const;
  /// Frees `seq`'s blocks.
  void release(int64_t seq);

  /// Whether `seq` was started and not released.
  bool isLive(int64_t seq) const { return checkSequence(seq).isOk(); }
  /// Tokens in `seq`, and cache blocks it holds (`seq` must be live).
  int64_t getLength(int64_t seq) const;
  int64_t getNumHeldBlocks(int64_t seq) const;
  /// The batch of the decode entry point (the rows of one decode call).
  int64_t getDecodeBatch() const;

private:
  Session(Model &model, ModelInfo info) : model(model), info(std::move(info)) {}

  /// Runs `entry` for `seqs` with `count` new tokens each (`tokens` is
  /// [seqs.size(), count]); rows past seqs.size() up to the entry's batch
  /// are padding that writes nothing. `logits` receives [seqs.size(),
  /// count, vocab], or [seqs.size(), vocab] (each row's last token) with
  /// PrefillLogits::Last.
  Status runCached(const Entry &entry, const std::vector<int64_t> &seqs,
                   const std::vector<int64_t> &tokens, int64_t count,
                   float *logits, PrefillLogits which = PrefillLogits::All);
  /// The cached entry point for `rows` x `count` tokens whose
  /// cross-attention tables fit the sequences' encoder inputs.
  Expected<const Entry *> findCached(int64_t rows, int64_t count,
                                     int64_t crossBlocks) const;
  void evictOutOfWindow(int64_t seq);
  Status checkSequence(int64_t seq) const;
  /// Fails when `seq` cannot hold `count` more tokens within the model's
  /// positions.
  Status checkPositions(int64_t seq, int64_t count) const;

  Model &model;
  ModelInfo info;
  std::unique_ptr<KVCachePool> pool;
  /// Marks `copy` (a fork or a share of `seq`) live, reading `seq`'s
  /// cross-attention input.
  void adoptCopy(int64_t seq, int64_t copy);

  std::unique_ptr<BlockManager> blocks;
  /// The cross-attention cache, its blocks (one block-manager sequence per
  /// encoder input), and how many sequences read each input.
  std::unique_ptr<KVCachePool> crossPool;
  std::unique_ptr<BlockManager> crossBlocks;
  std::vector<int64_t> crossUsers;
  /// Per sequence: its encoder input (-1: none), and whether it is live.
  std::vector<int64_t> crossInput;
  std::vector<bool> live;
  std::vector<float> scratch;
  bool ignoreContextLength = false;
};

} // namespace llmrt

#endif // LLM_RUNTIME_SESSION_H
