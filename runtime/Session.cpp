//===- Session.cpp - Sequences over a model's paged KV cache --------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "Session.h"
#include "Memory.h"

#include <algorithm>
#include <functional>
#include <limits>

using namespace llmrt;

namespace {

KVCacheConfig toConfig(const CacheLayout &layout) {
  KVCacheConfig config;
  config.numLayers = layout.layers;
  config.kvHeads = layout.kvHeads;
  config.headDim = layout.headDim;
  config.blockSize = layout.blockSize;
  config.dtype = layout.dtype;
  return config;
}

/// The width of an entry's (cross) block tables: blocks per sequence.
int64_t tableWidth(const EntryDesc &desc, ArgKind kind) {
  int index = desc.findArg(kind);
  return index < 0 ? 0 : desc.args[index].tensor.shape.back();
}

/// Entries that read or write the self-attention cache, for each step.
bool isCached(const EntryDesc &desc) {
  return desc.hasArg(ArgKind::KVCache) && desc.hasArg(ArgKind::Tokens) &&
         desc.getArg(ArgKind::Tokens).tensor.shape.size() == 2;
}

} // namespace

Expected<std::unique_ptr<Session>>
Session::create(Model &model, const SessionOptions &options) {
  Expected<const ModelInfo *> info = model.getInfo();
  if (!info)
    return info.takeStatus();
  if (options.maxSequences <= 0 || options.numBlocks < 0 ||
      options.numCrossBlocks < 0)
    return Status::invalid("session: expected maxSequences > 0 and block "
                           "counts >= 0");
  std::unique_ptr<Session> session(new Session(model, **info));
  session->ignoreContextLength = options.ignoreContextLength;
  // The cache shapes, and the widest tables, over every entry point.
  std::optional<CacheLayout> self, cross;
  int64_t width = 0, crossWidth = 0;
  for (const Entry &entry : model.getEntries()) {
    const EntryDesc &desc = *entry.desc;
    if (desc.hasArg(ArgKind::KVCache)) {
      self = desc.getArg(ArgKind::KVCache).cache;
      width = std::max(width, tableWidth(desc, ArgKind::BlockTables));
    }
    if (desc.hasArg(ArgKind::CrossCache)) {
      cross = desc.getArg(ArgKind::CrossCache).cache;
      crossWidth =
          std::max(crossWidth, tableWidth(desc, ArgKind::CrossBlockTables));
      if (desc.hasArg(ArgKind::CrossSlots))
        crossWidth =
            std::max(crossWidth,
                     (desc.getArg(ArgKind::CrossSlots).tensor.getNumElements() +
                      cross->blockSize - 1) /
                         cross->blockSize);
    }
  }
  if (!self)
    return Status::error(ErrorCode::Unsupported,
                         "session: the model has no entry point over a KV "
                         "cache (compile it with the cache: "
                         "--llm-insert-kv-cache)");
  if (width <= 0 || width > std::numeric_limits<int32_t>::max())
    return Status::error(ErrorCode::Format,
                         "session: expected block tables of 1 to 2^31 - 1 "
                         "blocks, found " +
                             std::to_string(width));
  int64_t numBlocks = options.numBlocks;
  if (numBlocks == 0 &&
      __builtin_mul_overflow(options.maxSequences, width, &numBlocks))
    return Status::invalid("session: too many sequences");
  int64_t crossBlocks = options.numCrossBlocks;
  if (cross && crossBlocks == 0 &&
      __builtin_mul_overflow(options.maxSequences, crossWidth, &crossBlocks))
    return Status::invalid("session: too many sequences");
  if (options.checkMemory) {
    Expected<uint64_t> bytes =
        KVCachePool::getBytes(toConfig(*self), numBlocks);
    Expected<uint64_t> crossBytes =
        cross ? KVCachePool::getBytes(toConfig(*cross), crossBlocks)
              : Expected<uint64_t>(uint64_t(0));
    if (!bytes)
      return bytes.takeStatus();
    if (!crossBytes)
      return crossBytes.takeStatus();
    Status enough = checkMemory(
        *bytes + *crossBytes, "the KV cache (" + std::to_string(numBlocks) +
                                  " blocks of " +
                                  std::to_string(self->blockSize) + " tokens)");
    if (!enough.isOk())
      return enough;
  }
  std::string error;
  session->pool = KVCachePool::create(toConfig(*self), numBlocks, error,
                                      model.getLaunchExecutor());
  if (!session->pool)
    return Status::error(ErrorCode::OutOfMemory, error);
  session->blocks = std::make_unique<BlockManager>(numBlocks, self->blockSize);
  if (cross) {
    session->crossPool = KVCachePool::create(toConfig(*cross), crossBlocks,
                                             error, model.getLaunchExecutor());
    if (!session->crossPool)
      return Status::error(ErrorCode::OutOfMemory, error);
    session->crossBlocks =
        std::make_unique<BlockManager>(crossBlocks, cross->blockSize);
  }
  return session;
}

int64_t Session::getLength(int64_t seq) const { return blocks->getLength(seq); }

Status Session::checkPositions(int64_t seq, int64_t count) const {
  int64_t length = blocks->getLength(seq) + count;
  auto refuse = [&](const std::string &why) {
    return Status::invalid("session: sequence " + std::to_string(seq) +
                           " would hold " + std::to_string(length) +
                           " tokens; " + why);
  };
  if (info.maxPositions && length > info.maxPositions)
    return refuse("the model has " + std::to_string(info.maxPositions) +
                  " positions");
  if (info.contextLength && !ignoreContextLength && length > info.contextLength)
    return refuse("the model was trained for a context of " +
                  std::to_string(info.contextLength) +
                  " positions (ignore_context_length allows more)");
  return Status::ok();
}

int64_t Session::getNumHeldBlocks(int64_t seq) const {
  return blocks->getNumHeldBlocks(seq);
}

int64_t Session::getDecodeBatch() const {
  int64_t batch = 0;
  for (const Entry &entry : model.getEntries())
    if (isCached(*entry.desc) &&
        entry.desc->getArg(ArgKind::Tokens).tensor.shape[1] == 1)
      batch =
          std::max(batch, entry.desc->getArg(ArgKind::Tokens).tensor.shape[0]);
  return batch;
}

Status Session::checkSequence(int64_t seq) const {
  if (seq < 0 || seq >= static_cast<int64_t>(live.size()) || !live[seq])
    return Status::invalid("session: no live sequence " + std::to_string(seq));
  return Status::ok();
}

Expected<int64_t> Session::addSequence(TokenSpan encoderTokens) {
  int64_t input = -1;
  if (crossPool) {
    int64_t length = encoderTokens.size();
    const Entry *encoder = nullptr;
    for (const Entry &entry : model.getEntries())
      if (entry.desc->hasArg(ArgKind::CrossSlots) &&
          entry.desc->getArg(ArgKind::CrossSlots).tensor.getNumElements() ==
              length)
        encoder = &entry;
    if (!encoder)
      return Status::invalid(
          "session: no encoder entry point for an input of " +
          std::to_string(length) + " tokens (compile one for that length)");
    int64_t crossSeq = crossBlocks->addSequence();
    std::string error;
    if (!crossBlocks->reserve(crossSeq, length, error)) {
      crossBlocks->release(crossSeq);
      return Status::error(ErrorCode::CacheFull, "cross-attention " + error);
    }
    std::vector<int32_t> slots(length);
    crossBlocks->getSlots(crossSeq, 0, length, slots.data());
    EntryArgs args;
    args.encoderTokens = encoderTokens.data();
    args.crossCache = crossPool->descriptor();
    args.crossSlots = slots.data();
    Status status = model.run(*encoder, args, nullptr);
    if (!status.isOk()) {
      crossBlocks->release(crossSeq);
      return status;
    }
    input = crossSeq;
    if (static_cast<int64_t>(crossUsers.size()) <= crossSeq)
      crossUsers.resize(crossSeq + 1, 0);
    crossUsers[crossSeq] = 1;
  } else if (!encoderTokens.empty()) {
    return Status::invalid("session: the model has no encoder; expected no "
                           "encoder tokens");
  }
  int64_t seq = blocks->addSequence();
  live.resize(seq + 1, false);
  crossInput.resize(seq + 1, -1);
  live[seq] = true;
  crossInput[seq] = input;
  return seq;
}

Expected<const Entry *> Session::findCached(int64_t rows, int64_t count,
                                            int64_t crossNeeded) const {
  const Entry *best = nullptr;
  int64_t bestRows = 0, bestWidth = 0;
  for (const Entry &entry : model.getEntries()) {
    const EntryDesc &desc = *entry.desc;
    if (!isCached(desc))
      continue;
    const std::vector<int64_t> &shape =
        desc.getArg(ArgKind::Tokens).tensor.shape;
    int64_t width = tableWidth(desc, ArgKind::CrossBlockTables);
    if (shape[1] != count || shape[0] < rows || width < crossNeeded)
      continue;
    // The fewest padding rows, then the narrowest cross tables.
    if (!best || shape[0] < bestRows ||
        (shape[0] == bestRows && width < bestWidth)) {
      best = &entry;
      bestRows = shape[0];
      bestWidth = width;
    }
  }
  if (!best)
    return Status::invalid(
        "session: no compiled entry point takes " + std::to_string(rows) +
        " sequence(s) of " + std::to_string(count) + " token(s)" +
        (crossNeeded ? " over " + std::to_string(crossNeeded) +
                           " cross-attention blocks"
                     : std::string()) +
        " (compile one for that shape)");
  return best;
}

Status Session::runCached(const Entry &entry, const std::vector<int64_t> &seqs,
                          const std::vector<int64_t> &tokens, int64_t count,
                          float *logits, PrefillLogits which) {
  const EntryDesc &desc = *entry.desc;
  int64_t rows = seqs.size();
  int64_t batch = desc.getArg(ArgKind::Tokens).tensor.shape[0];
  int64_t vocab = info.vocabSize;
  // The logits the entry point computes per sequence: every new token's,
  // or the last one's (llm-last-logits), as its result shape says.
  int64_t computed = 0;
  if (desc.results.size() == 1 && batch > 0 && vocab > 0 &&
      desc.results[0].dtype == ElementType::F32 &&
      desc.results[0].getNumElements() % (batch * vocab) == 0)
    computed = desc.results[0].getNumElements() / (batch * vocab);
  if (computed != count && computed != 1)
    return Status::error(
        ErrorCode::Format,
        "session: entry point '" + desc.name + "' should return f32 logits [" +
            std::to_string(batch) + ", " + std::to_string(count) + " or 1, " +
            std::to_string(vocab) + "] for " + std::to_string(count) +
            " new token(s) per sequence");
  bool last = which == PrefillLogits::Last && count > 1;
  if (logits && !last && computed != count)
    return Status::error(
        ErrorCode::Unsupported,
        "session: the prefill entry point '" + desc.name +
            "' computes the logits of the last token alone (the model was "
            "compiled for generation, last-logits-only); compile it with "
            "every position's logits to read the prompt's");
  int64_t width = tableWidth(desc, ArgKind::BlockTables);
  int64_t crossWidth = tableWidth(desc, ArgKind::CrossBlockTables);
  // Padding rows repeat row 0's tables and write nothing (slot -1).
  std::vector<int64_t> ids(batch * count, 0), positions(batch * count, 0),
      types(batch * count, 0);
  std::vector<int32_t> slots(batch * count, -1), tables(batch * width, -1),
      lens(batch, 1), crossTables(batch * crossWidth, -1), crossLens(batch, 1);
  std::string error;
  for (int64_t seq : seqs) {
    Status status = checkPositions(seq, count);
    if (!status.isOk())
      return status;
  }
  for (int64_t r = 0; r < rows; ++r) {
    int64_t seq = seqs[r];
    int64_t start = blocks->getLength(seq);
    if (!blocks->reserve(seq, count, error))
      return Status::error(ErrorCode::CacheFull, error);
    blocks->getSlots(seq, start, count, slots.data() + r * count);
    for (int64_t i = 0; i < count; ++i) {
      ids[r * count + i] = tokens[r * count + i];
      positions[r * count + i] = info.positionOffset + start + i;
    }
    lens[r] = static_cast<int32_t>(start + count);
    if (!blocks->getBlockTable(seq, tables.data() + r * width, width))
      return Status::invalid(
          "session: sequence " + std::to_string(seq) + " holds " +
          std::to_string(start + count) +
          " tokens, more than the compiled block tables describe (" +
          std::to_string(width) +
          " blocks); compile for a longer "
          "max-seq-len");
    if (crossWidth > 0) {
      int64_t input = crossInput[seq];
      if (input < 0 ||
          !crossBlocks->getBlockTable(
              input, crossTables.data() + r * crossWidth, crossWidth))
        return Status::error(ErrorCode::Internal,
                             "internal error: sequence " + std::to_string(seq) +
                                 " has no cross-attention input that fits");
      crossLens[r] = static_cast<int32_t>(crossBlocks->getLength(input));
    }
  }
  for (int64_t r = rows; r < batch; ++r) {
    std::copy_n(tables.begin(), width, tables.begin() + r * width);
    lens[r] = lens[0];
    std::copy_n(crossTables.begin(), crossWidth,
                crossTables.begin() + r * crossWidth);
    crossLens[r] = crossLens[0];
  }
  EntryArgs args;
  args.tokens = ids.data();
  args.positions = positions.data();
  args.tokenTypes = types.data();
  args.cache = pool->descriptor();
  args.slots = slots.data();
  args.blockTables = tables.data();
  args.contextLens = lens.data();
  if (crossPool) {
    args.crossCache = crossPool->descriptor();
    args.crossBlockTables = crossTables.data();
    args.crossContextLens = crossLens.data();
  }
  // Straight into `logits` when it has the entry point's shape.
  float *out = logits;
  if (batch != rows || !logits || (last && computed != 1)) {
    scratch.resize(batch * computed * vocab);
    out = scratch.data();
  }
  void *results[] = {out};
  Status status = model.run(entry, args, results);
  if (!status.isOk())
    return status;
  if (out != logits && logits) {
    if (last)
      for (int64_t r = 0; r < rows; ++r)
        std::copy_n(out + ((r + 1) * computed - 1) * vocab, vocab,
                    logits + r * vocab);
    else
      std::copy_n(out, rows * computed * vocab, logits);
  }
  for (int64_t seq : seqs)
    evictOutOfWindow(seq);
  return Status::ok();
}

void Session::evictOutOfWindow(int64_t seq) {
  // The next query sits at position `length` and sees the keys from
  // length - window + 1 on: every block before that is never read again.
  if (info.slidingWindow > 0)
    blocks->evictBefore(seq, blocks->getLength(seq) - info.slidingWindow + 1);
}

Status Session::prefill(int64_t seq, TokenSpan tokens, float *logits,
                        PrefillLogits which) {
  Status status = checkSequence(seq);
  if (!status.isOk())
    return status;
  if (tokens.empty())
    return Status::invalid("session: prefill needs at least one token");
  int64_t input = crossInput[seq];
  const int64_t crossNeeded =
      input < 0 ? 0 : crossBlocks->getNumHeldBlocks(input);
  Expected<const Entry *> entry = findCached(1, tokens.size(), crossNeeded);
  if (entry)
    return runCached(**entry, {seq},
                     std::vector<int64_t>(tokens.begin(), tokens.end()),
                     tokens.size(), logits, which);
  // No entry point of this length (an artifact compiled for a few): the
  // tokens in chunks, each the longest compiled length that fits (a decode
  // entry point takes one token), each attending to the ones before it
  // through the cache.
  std::vector<int64_t> lengths;
  for (const Entry &e : model.getEntries()) {
    const EntryDesc &desc = *e.desc;
    if (!isCached(desc) ||
        tableWidth(desc, ArgKind::CrossBlockTables) < crossNeeded)
      continue;
    const std::vector<int64_t> &shape =
        desc.getArg(ArgKind::Tokens).tensor.shape;
    if (shape[0] >= 1 && shape[1] >= 1)
      lengths.push_back(shape[1]);
  }
  std::sort(lengths.begin(), lengths.end(), std::greater<int64_t>());
  if (lengths.empty() || lengths.back() != 1)
    return entry.takeStatus();
  // All or nothing: the blocks of every chunk must be free before the
  // first runs, so that a full cache leaves the sequence as it was.
  {
    const int64_t block = blocks->getBlockSize();
    const int64_t length = blocks->getLength(seq);
    const int64_t needed =
        (length + static_cast<int64_t>(tokens.size()) + block - 1) / block -
        (length + block - 1) / block;
    if (needed > blocks->getNumFreeBlocks())
      return Status::error(
          ErrorCode::CacheFull,
          "KV cache full: sequence " + std::to_string(seq) + " needs " +
              std::to_string(needed) + " more blocks of " +
              std::to_string(block) + " tokens, " +
              std::to_string(blocks->getNumFreeBlocks()) + " of " +
              std::to_string(blocks->getNumBlocks()) + " are free");
  }
  const int64_t vocab = info.vocabSize;
  for (size_t begin = 0; begin < tokens.size();) {
    const int64_t left = static_cast<int64_t>(tokens.size() - begin);
    const int64_t count =
        *std::find_if(lengths.begin(), lengths.end(),
                      [&](int64_t length) { return length <= left; });
    Expected<const Entry *> chunk = findCached(1, count, crossNeeded);
    if (!chunk)
      return chunk.takeStatus();
    const bool last = count == left;
    float *out = nullptr;
    if (logits && which == PrefillLogits::All)
      out = logits + static_cast<int64_t>(begin) * vocab;
    else if (logits && last)
      out = logits;
    Status ran = runCached(**chunk, {seq},
                           std::vector<int64_t>(tokens.begin() + begin,
                                                tokens.begin() + begin + count),
                           count, out, which);
    if (!ran.isOk())
      return ran;
    begin += count;
  }
  return Status::ok();
}

Status Session::decode(const std::vector<int64_t> &seqs,
                       const std::vector<int64_t> &tokens, float *logits) {
  if (seqs.size() != tokens.size() || seqs.empty())
    return Status::invalid("session: decode needs one token per sequence, "
                           "and at least one sequence");
  int64_t crossNeeded = 0;
  for (int64_t seq : seqs) {
    Status status = checkSequence(seq);
    if (!status.isOk())
      return status;
    if (crossInput[seq] >= 0)
      crossNeeded =
          std::max(crossNeeded, crossBlocks->getNumHeldBlocks(crossInput[seq]));
  }
  // As many rows per call as the widest decode entry takes.
  int64_t rows = seqs.size();
  for (int64_t begin = 0; begin < rows;) {
    Expected<const Entry *> entry = findCached(rows - begin, 1, crossNeeded);
    int64_t take = rows - begin;
    if (!entry) {
      int64_t widest = getDecodeBatch();
      if (widest <= 0 || widest >= take)
        return entry.takeStatus();
      take = widest;
      entry = findCached(take, 1, crossNeeded);
      if (!entry)
        return entry.takeStatus();
    }
    std::vector<int64_t> part(seqs.begin() + begin,
                              seqs.begin() + begin + take);
    std::vector<int64_t> next(tokens.begin() + begin,
                              tokens.begin() + begin + take);
    Status status =
        runCached(**entry, part, next, 1,
                  logits ? logits + begin * info.vocabSize : nullptr);
    if (!status.isOk())
      return status;
    begin += take;
  }
  return Status::ok();
}

Expected<int64_t> Session::fork(int64_t seq) {
  Status status = checkSequence(seq);
  if (!status.isOk())
    return status;
  std::vector<std::pair<int32_t, int32_t>> copies;
  std::string error;
  int64_t copy = blocks->fork(seq, copies, error);
  if (copy < 0)
    return Status::error(ErrorCode::CacheFull, error);
  for (auto [src, dst] : copies) {
    Status copied = pool->copyBlock(src, dst);
    if (!copied.isOk())
      return copied;
  }
  adoptCopy(seq, copy);
  return copy;
}

void Session::adoptCopy(int64_t seq, int64_t copy) {
  live.resize(copy + 1, false);
  crossInput.resize(copy + 1, -1);
  live[copy] = true;
  crossInput[copy] = crossInput[seq];
  if (crossInput[seq] >= 0)
    ++crossUsers[crossInput[seq]];
}

Expected<int64_t> Session::share(int64_t seq, int64_t blocksShared) {
  Status status = checkSequence(seq);
  if (!status.isOk())
    return status;
  std::string error;
  int64_t copy = blocks->share(seq, blocksShared, error);
  if (copy < 0)
    return Status::invalid("session: " + error);
  adoptCopy(seq, copy);
  return copy;
}

int64_t Session::getNumSharedBlocks() const {
  return blocks->getNumSharedBlocks();
}

int64_t Session::getNumFreeBlocks() const { return blocks->getNumFreeBlocks(); }

int64_t Session::getMaxSequenceLength() const {
  int64_t width = -1;
  for (const Entry &entry : model.getEntries())
    if (isCached(*entry.desc)) {
      int64_t w = tableWidth(*entry.desc, ArgKind::BlockTables);
      width = width < 0 ? w : std::min(width, w);
    }
  return std::max<int64_t>(width, 0) * blocks->getBlockSize();
}

void Session::release(int64_t seq) {
  if (!checkSequence(seq).isOk())
    return;
  blocks->release(seq);
  live[seq] = false;
  int64_t input = crossInput[seq];
  if (input >= 0 && --crossUsers[input] == 0)
    crossBlocks->release(input);
  crossInput[seq] = -1;
}
