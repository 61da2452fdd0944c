//===- KVCache.cpp - Paged KV-cache storage and block manager -------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "KVCache.h"
#include "cuda/Launchers.h"

#include "Memory.h"
#include <algorithm>

#include <cstring>
#include <new>

using namespace llmrt;

static int64_t getElementBytes(int32_t dtype) {
  return dtype == LLMK_F32 ? 4 : dtype == LLMK_I8 ? 1 : 2;
}

double llmrt::getKVBytesPerToken(const KVCacheConfig &c) {
  double perValue = getElementBytes(c.dtype);
  if (c.dtype == LLMK_I8)
    perValue += 4.0 / c.headDim;
  return 2.0 * c.numLayers * c.kvHeads * c.headDim * perValue;
}

Expected<uint64_t> KVCachePool::getBytes(const KVCacheConfig &config,
                                         int64_t numBlocks) {
  if (config.numLayers <= 0 || config.kvHeads <= 0 || config.headDim <= 0 ||
      config.blockSize <= 0 || numBlocks <= 0)
    return Status::invalid("KV cache: expected positive layers, kv heads, "
                           "head dim, block size and block count");
  if (config.dtype != LLMK_F32 && config.dtype != LLMK_F16 &&
      config.dtype != LLMK_BF16 && config.dtype != LLMK_I8)
    return Status::invalid(
        "KV cache: expected dtype f32, f16, bf16 or i8, found code " +
        std::to_string(config.dtype));
  // [layers][blocks][2][kvHeads][blockSize][headDim] (+ int8 scales), every
  // product checked: a pool that wrapped around would be a heap overflow.
  uint64_t rows = 0, values = 0, bytes = 0, scales = 0;
  if (__builtin_mul_overflow(static_cast<uint64_t>(config.numLayers),
                             static_cast<uint64_t>(numBlocks), &rows) ||
      __builtin_mul_overflow(rows, 2 * static_cast<uint64_t>(config.blockSize),
                             &rows) ||
      __builtin_mul_overflow(rows, static_cast<uint64_t>(config.kvHeads),
                             &values) ||
      __builtin_mul_overflow(values, static_cast<uint64_t>(config.headDim),
                             &values) ||
      __builtin_mul_overflow(values, getElementBytes(config.dtype), &bytes) ||
      (config.dtype == LLMK_I8 &&
       (__builtin_mul_overflow(rows, config.kvHeads * sizeof(float), &scales) ||
        __builtin_add_overflow(bytes, scales, &bytes))))
    return Status::error(ErrorCode::OutOfMemory,
                         "KV cache: " + std::to_string(numBlocks) +
                             " blocks of " + std::to_string(config.blockSize) +
                             " tokens do not fit in 64-bit sizes");
  return bytes;
}

std::unique_ptr<KVCachePool>
KVCachePool::create(const KVCacheConfig &config, int64_t numBlocks,
                    std::string &error,
                    std::shared_ptr<cuda::LaunchExecutor> executor) {
  Expected<uint64_t> bytes = getBytes(config, numBlocks);
  if (!bytes) {
    error = bytes.error();
    return nullptr;
  }
  std::unique_ptr<KVCachePool> pool(new KVCachePool());
  pool->config = config;
  uint64_t rows = static_cast<uint64_t>(config.numLayers) * numBlocks * 2 *
                  config.blockSize;
  uint64_t scaleCount = config.dtype == LLMK_I8 ? rows * config.kvHeads : 0;
  uint64_t dataBytes = *bytes - scaleCount * sizeof(float);
  std::string what = std::to_string(numBlocks) + " KV-cache blocks";
  if (executor) {
    // In the executor's memory (a CUDA device's): the kernels write and
    // read it; the descriptor stays on the host, for the launchers.
    Expected<void *> memory = executor->allocate(dataBytes);
    if (!memory) {
      error = "KV cache: " + what + ": " + memory.error();
      return nullptr;
    }
    pool->executor = std::move(executor);
    pool->executorData = *memory;
    if (scaleCount) {
      Expected<void *> scales =
          pool->executor->allocate(scaleCount * sizeof(float));
      if (!scales) {
        error = "KV cache: the int8 scales of " + what + ": " + scales.error();
        return nullptr;
      }
      pool->executorScales = static_cast<float *>(*scales);
    }
    pool->bytes = *bytes;
    pool->cache = {pool->executorData, pool->executorScales, numBlocks,
                   config.numLayers,   config.kvHeads,       config.headDim,
                   config.blockSize,   config.dtype};
    return pool;
  }
  Expected<HeapArray<uint8_t>> data = allocateArray<uint8_t>(dataBytes, what);
  if (!data) {
    error = "KV cache: " + data.error();
    return nullptr;
  }
  pool->data = std::move(*data);
  if (scaleCount) {
    Expected<HeapArray<float>> scales =
        allocateArray<float>(scaleCount, "the int8 scales of " + what);
    if (!scales) {
      error = "KV cache: " + scales.error();
      return nullptr;
    }
    pool->scales = std::move(*scales);
  }
  pool->bytes = *bytes;
  pool->cache = {pool->data.get(), pool->scales.get(), numBlocks,
                 config.numLayers, config.kvHeads,     config.headDim,
                 config.blockSize, config.dtype};
  return pool;
}

KVCachePool::~KVCachePool() {
  if (executor) {
    executor->release(executorData);
    if (executorScales)
      executor->release(executorScales);
  }
}

Status KVCachePool::copyBlock(int32_t src, int32_t dst) {
  // [layers][blocks][2][kvHeads][blockSize][headDim] (+ int8 scales): a
  // block is contiguous within each layer.
  int64_t rowValues = 2 * config.blockSize * config.kvHeads;
  int64_t blockBytes =
      rowValues * config.headDim * getElementBytes(config.dtype);
  for (int64_t layer = 0; layer < config.numLayers; ++layer) {
    int64_t s = layer * cache.numBlocks + src;
    int64_t d = layer * cache.numBlocks + dst;
    if (executor) {
      auto *base = static_cast<uint8_t *>(executorData);
      Status copied = executor->copy(base + d * blockBytes,
                                     base + s * blockBytes, blockBytes);
      if (copied.isOk() && executorScales)
        copied = executor->copy(executorScales + d * rowValues,
                                executorScales + s * rowValues,
                                rowValues * sizeof(float));
      if (!copied.isOk())
        return copied;
      continue;
    }
    std::memcpy(data.get() + d * blockBytes, data.get() + s * blockBytes,
                blockBytes);
    if (scales)
      std::memcpy(scales.get() + d * rowValues, scales.get() + s * rowValues,
                  rowValues * sizeof(float));
  }
  return Status::ok();
}

BlockManager::BlockManager(int64_t numBlocks, int64_t blockSize)
    : numBlocks(numBlocks), blockSize(blockSize),
      refs(static_cast<size_t>(std::max<int64_t>(numBlocks, 0)), 0) {
  // Hand out low block numbers first: a fresh pool fills from the start.
  for (int64_t b = numBlocks - 1; b >= 0; --b)
    freeBlocks.push_back(static_cast<int32_t>(b));
}

int64_t BlockManager::addSequence() {
  sequences.push_back({});
  sequences.back().live = true;
  return static_cast<int64_t>(sequences.size()) - 1;
}

bool BlockManager::reserve(int64_t seq, int64_t count, std::string &error) {
  Sequence &s = sequences[seq];
  int64_t needed = (s.length + count + blockSize - 1) / blockSize -
                   static_cast<int64_t>(s.blocks.size());
  if (needed > getNumFreeBlocks()) {
    error = "KV cache full: sequence " + std::to_string(seq) + " needs " +
            std::to_string(needed) + " more blocks of " +
            std::to_string(blockSize) + " tokens, " +
            std::to_string(getNumFreeBlocks()) + " of " +
            std::to_string(numBlocks) + " are free";
    return false;
  }
  for (int64_t i = 0; i < needed; ++i) {
    s.blocks.push_back(freeBlocks.back());
    refs[freeBlocks.back()] = 1;
    freeBlocks.pop_back();
  }
  s.length += count;
  return true;
}

void BlockManager::unref(int32_t block) {
  if (--refs[block] == 0)
    freeBlocks.push_back(block);
}

void BlockManager::getSlots(int64_t seq, int64_t start, int64_t count,
                            int32_t *slots) const {
  const Sequence &s = sequences[seq];
  for (int64_t i = 0; i < count; ++i) {
    int64_t pos = start + i;
    int32_t block = s.blocks[pos / blockSize];
    slots[i] = block < 0 ? -1 : getSlot(block, blockSize, pos % blockSize);
  }
}

bool BlockManager::getBlockTable(int64_t seq, int32_t *row,
                                 int64_t maxBlocks) const {
  const Sequence &s = sequences[seq];
  if (static_cast<int64_t>(s.blocks.size()) > maxBlocks)
    return false;
  for (int64_t i = 0; i < maxBlocks; ++i)
    row[i] = i < static_cast<int64_t>(s.blocks.size()) ? s.blocks[i] : -1;
  return true;
}

int64_t BlockManager::getLength(int64_t seq) const {
  return sequences[seq].length;
}

void BlockManager::evictBefore(int64_t seq, int64_t position) {
  Sequence &s = sequences[seq];
  for (int64_t i = 0; (i + 1) * blockSize <= position &&
                      i < static_cast<int64_t>(s.blocks.size());
       ++i) {
    if (s.blocks[i] < 0)
      continue;
    unref(s.blocks[i]);
    s.blocks[i] = -1;
  }
}

void BlockManager::release(int64_t seq) {
  Sequence &s = sequences[seq];
  for (int32_t block : s.blocks)
    if (block >= 0)
      unref(block);
  s.blocks.clear();
  s.length = 0;
  s.live = false;
}

int64_t BlockManager::fork(int64_t seq,
                           std::vector<std::pair<int32_t, int32_t>> &copies,
                           std::string &error) {
  const Sequence &from = sequences[seq];
  int64_t needed = getNumHeldBlocks(seq);
  if (needed > getNumFreeBlocks()) {
    error = "KV cache full: copying sequence " + std::to_string(seq) +
            " needs " + std::to_string(needed) + " blocks of " +
            std::to_string(blockSize) + " tokens, " +
            std::to_string(getNumFreeBlocks()) + " of " +
            std::to_string(numBlocks) + " are free";
    return -1;
  }
  Sequence copy;
  copy.live = true;
  copy.length = from.length;
  for (int32_t block : from.blocks) {
    if (block < 0) {
      copy.blocks.push_back(-1);
      continue;
    }
    copy.blocks.push_back(freeBlocks.back());
    refs[freeBlocks.back()] = 1;
    freeBlocks.pop_back();
    copies.emplace_back(block, copy.blocks.back());
  }
  sequences.push_back(std::move(copy));
  return static_cast<int64_t>(sequences.size()) - 1;
}

int64_t BlockManager::share(int64_t source, int64_t blocks,
                            std::string &error) {
  const Sequence &from = sequences[source];
  const int64_t full = from.length / blockSize;
  bool live = blocks >= 0 && blocks <= full;
  for (int64_t i = 0; live && i < blocks; ++i)
    live = from.blocks[i] >= 0;
  if (!live) {
    error = "prefix sharing: sequence " + std::to_string(source) + " has " +
            std::to_string(full) + " full blocks, " + std::to_string(blocks) +
            " were asked for";
    return -1;
  }
  Sequence copy;
  copy.live = true;
  copy.length = blocks * blockSize;
  for (int64_t i = 0; i < blocks; ++i) {
    copy.blocks.push_back(from.blocks[i]);
    ++refs[from.blocks[i]];
  }
  sequences.push_back(std::move(copy));
  return static_cast<int64_t>(sequences.size()) - 1;
}

int64_t BlockManager::getNumSharedBlocks() const {
  int64_t shared = 0;
  for (int32_t r : refs)
    shared += r > 1;
  return shared;
}

int64_t BlockManager::getNumHeldBlocks(int64_t seq) const {
  int64_t held = 0;
  for (int32_t block : sequences[seq].blocks)
    held += block >= 0;
  return held;
}
