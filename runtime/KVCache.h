//===- KVCache.h - Paged KV-cache storage and block manager -----*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
// The runtime side of --llm-insert-kv-cache: a pool of fixed-size blocks
// shared by all sequences, and a block manager that gives each sequence a
// block table. No MLIR or LLVM dependency.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_RUNTIME_KVCACHE_H
#define LLM_RUNTIME_KVCACHE_H

#include "Error.h"
#include "Kernels.h"
#include "Memory.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace llmrt {

namespace cuda {
class LaunchExecutor;
} // namespace cuda

/// Shape and storage type of a cache (`!llm.kv_cache`).
struct KVCacheConfig {
  int64_t numLayers = 0;
  int64_t kvHeads = 0;
  int64_t headDim = 0;
  int64_t blockSize = 0;
  /// LLMK_F32, LLMK_F16, LLMK_BF16 or LLMK_I8.
  int32_t dtype = LLMK_F32;
};

/// Bytes one token occupies in the cache across all layers (keys and values,
/// plus the fp32 scales of an int8 cache).
double getKVBytesPerToken(const KVCacheConfig &config);

/// The cache slot of position `offset` of block `block`: the one place that
/// knows how slots number the pool (llmk_kv_cache_append reads them back).
inline int32_t getSlot(int32_t block, int64_t blockSize, int64_t offset) {
  return static_cast<int32_t>(block * blockSize + offset);
}

/// The block pool. `descriptor()` is what generated code receives.
class KVCachePool {
public:
  /// Allocates `numBlocks` blocks, in `executor`'s memory when given (a
  /// model run by llm-lower-to-cuda's code); returns null and sets `error`
  /// when the configuration is invalid or the memory cannot be allocated.
  static std::unique_ptr<KVCachePool>
  create(const KVCacheConfig &config, int64_t numBlocks, std::string &error,
         std::shared_ptr<cuda::LaunchExecutor> executor = nullptr);
  ~KVCachePool();
  /// The bytes `create` would allocate (data and int8 scales), or why the
  /// configuration is invalid or does not fit in 64-bit sizes.
  static Expected<uint64_t> getBytes(const KVCacheConfig &config,
                                     int64_t numBlocks);

  LLMKCache *descriptor() { return &cache; }
  /// Copies block `src` into block `dst` in every layer (keys, values and
  /// the int8 scales).
  Status copyBlock(int32_t src, int32_t dst);
  const KVCacheConfig &getConfig() const { return config; }
  int64_t getNumBlocks() const { return cache.numBlocks; }
  /// Bytes of storage (data and scales).
  uint64_t getBytes() const { return bytes; }

private:
  KVCachePool() = default;
  KVCacheConfig config;
  LLMKCache cache{};
  HeapArray<uint8_t> data;
  HeapArray<float> scales;
  uint64_t bytes = 0;
  /// With an executor: the data lives in its memory.
  std::shared_ptr<cuda::LaunchExecutor> executor;
  void *executorData = nullptr;
  float *executorScales = nullptr;
};

/// Hands out blocks to sequences and maps token positions to cache slots.
/// Blocks freed by one sequence are reused by the next; nothing is
/// allocated while generating once the pool exists.
class BlockManager {
public:
  BlockManager(int64_t numBlocks, int64_t blockSize);

  /// Starts a sequence and returns its id.
  int64_t addSequence();
  /// Makes room for `count` more tokens of `seq`. Returns false and sets
  /// `error` (how many blocks are needed and free) when the pool is full;
  /// the sequence is then unchanged.
  bool reserve(int64_t seq, int64_t count, std::string &error);
  /// Cache slots of positions [start, start + count) of `seq`, which must be
  /// reserved.
  void getSlots(int64_t seq, int64_t start, int64_t count,
                int32_t *slots) const;
  /// Writes `seq`'s block table into `row` (maxBlocks entries, -1 padded).
  /// Returns false if the sequence has more blocks than `maxBlocks`.
  bool getBlockTable(int64_t seq, int32_t *row, int64_t maxBlocks) const;
  /// Tokens reserved for `seq`.
  int64_t getLength(int64_t seq) const;
  /// Frees the blocks that hold only positions before `position` (sliding
  /// window eviction); their table entries become -1.
  void evictBefore(int64_t seq, int64_t position);
  /// Starts a sequence holding what `seq` holds: a fresh block for each of
  /// `seq`'s live blocks (an evicted block stays evicted). Appends the
  /// (source, copy) block pairs whose contents the caller must copy to
  /// `copies`. Returns the new sequence, or -1 and sets `error` when the
  /// pool has too few free blocks (nothing changes then).
  int64_t fork(int64_t seq, std::vector<std::pair<int32_t, int32_t>> &copies,
               std::string &error);
  /// Starts a sequence whose first `blocks` blocks are `source`'s first
  /// blocks, shared (reference-counted, never copied): prefix sharing of
  /// prompts that begin alike. Only whole blocks that `source` has filled
  /// may be shared, and they are never written again (a sequence appends
  /// past its length, into blocks of its own): the first block where the
  /// two differ is the new sequence's own. Returns -1 and sets `error` when
  /// `blocks` exceeds `source`'s full, live blocks.
  int64_t share(int64_t source, int64_t blocks, std::string &error);
  /// Blocks `seq` holds (evicted ones excluded).
  int64_t getNumHeldBlocks(int64_t seq) const;
  /// Blocks held by more than one sequence.
  int64_t getNumSharedBlocks() const;
  /// Returns all of `seq`'s blocks to the pool.
  void release(int64_t seq);

  int64_t getNumFreeBlocks() const {
    return static_cast<int64_t>(freeBlocks.size());
  }
  int64_t getNumBlocks() const { return numBlocks; }
  int64_t getBlockSize() const { return blockSize; }

private:
  struct Sequence {
    std::vector<int32_t> blocks;
    int64_t length = 0;
    bool live = false;
  };
  /// Drops one reference to `block`, freeing it at the last.
  void unref(int32_t block);

  int64_t numBlocks, blockSize;
  std::vector<int32_t> freeBlocks;
  /// Sequences holding each block (0: free).
  std::vector<int32_t> refs;
  std::vector<Sequence> sequences;
};

} // namespace llmrt

#endif // LLM_RUNTIME_KVCACHE_H
