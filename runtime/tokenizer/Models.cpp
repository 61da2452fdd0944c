//===- Models.cpp - BPE, WordPiece, Unigram and WordLevel -----------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// The four models of `tokenizers`, with their results made to agree id for
// id: BPE merges by rank then position (its heap order), byte fallback to
// <0xXX> tokens, unknown characters fused or not; WordPiece greedy longest
// match; Unigram's Viterbi over a byte trie, unknown characters scored at
// the lowest score minus 10 and fused; WordLevel lookup.
//
//===----------------------------------------------------------------------===//

#include "tokenizer/Components.h"
#include "tokenizer/Unicode.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <mutex>
#include <queue>
#include <unordered_map>

using namespace llmrt;
using namespace llmrt::tok;

namespace {

/// The token of byte `b` in a byte-fallback vocabulary: "<0x0A>".
std::string byteToken(unsigned char b) {
  char buffer[8];
  std::snprintf(buffer, sizeof(buffer), "<0x%02X>", b);
  return buffer;
}

/// Token strings by id and ids by token string.
class Vocabulary {
public:
  /// Adds `token` as `id`; an error message when the token or the id is
  /// already there.
  std::optional<std::string> add(std::string token, int32_t id) {
    if (id < 0 || id > kMaxTokenId)
      return "an id in [0, " + std::to_string(kMaxTokenId) + "] for \"" +
             token + "\", found " + std::to_string(id);
    if (static_cast<size_t>(id) >= tokens.size()) {
      tokens.resize(static_cast<size_t>(id) + 1);
      present.resize(static_cast<size_t>(id) + 1, false);
    }
    if (present[id])
      return "each id once, found " + std::to_string(id) + " for both \"" +
             tokens[id] + "\" and \"" + token + "\"";
    auto [it, inserted] = ids.emplace(token, id);
    if (!inserted)
      return "each token once, found \"" + token + "\" as " +
             std::to_string(it->second) + " and " + std::to_string(id);
    tokens[id] = std::move(token);
    present[id] = true;
    return std::nullopt;
  }
  /// Appends the byte tokens of every byte of `s` (byte fallback), or
  /// appends nothing and returns false when one of them is missing.
  bool findBytes(std::string_view s, std::vector<int32_t> &ids) const {
    size_t first = ids.size();
    for (unsigned char b : s) {
      std::optional<int32_t> id = find(byteToken(b));
      if (!id) {
        ids.resize(first);
        return false;
      }
      ids.push_back(*id);
    }
    return true;
  }
  std::optional<int32_t> find(std::string_view token) const {
    // A key of the map's type, without an allocation per lookup (C++17's
    // unordered_map has no lookup by string_view).
    thread_local std::string key;
    key.assign(token);
    auto it = ids.find(key);
    if (it == ids.end())
      return std::nullopt;
    return it->second;
  }
  const std::string *token(int32_t id) const {
    if (id < 0 || static_cast<size_t>(id) >= tokens.size() || !present[id])
      return nullptr;
    return &tokens[id];
  }
  int64_t size() const { return static_cast<int64_t>(tokens.size()); }

private:
  std::unordered_map<std::string, int32_t> ids;
  std::vector<std::string> tokens;
  std::vector<bool> present;
};

/// The ids of words seen before, as the BPE and Unigram models of
/// `tokenizers` keep them (their Cache of 10000 words; WordPiece uses one
/// too here): a word repeats far more often than a new one comes. Emptied
/// when full. Thread-safe.
class WordCache {
public:
  /// Appends the ids of `word` to `ids` if it is cached.
  bool lookup(std::string_view word, std::vector<int32_t> &ids) const {
    // A key of the map's type without an allocation per lookup.
    thread_local std::string key;
    key.assign(word);
    std::lock_guard<std::mutex> lock(mutex);
    auto it = words.find(key);
    if (it == words.end())
      return false;
    ids.insert(ids.end(), it->second.begin(), it->second.end());
    return true;
  }
  /// Caches [begin, end) as the ids of `word` (short words only).
  void insert(std::string_view word, const int32_t *begin,
              const int32_t *end) const {
    if (word.size() >= kMaxWordBytes)
      return;
    std::lock_guard<std::mutex> lock(mutex);
    if (words.size() >= kCapacity)
      words.clear();
    words.emplace(std::string(word), std::vector<int32_t>(begin, end));
  }

private:
  static constexpr size_t kCapacity = 10000;
  static constexpr size_t kMaxWordBytes = 256;
  mutable std::mutex mutex;
  mutable std::unordered_map<std::string, std::vector<int32_t>> words;
};

//===----------------------------------------------------------------------===//
// BPE
//===----------------------------------------------------------------------===//

class Bpe : public Model {
public:
  Bpe(Vocabulary vocab, BpeOptions options)
      : vocab(std::move(vocab)), options(std::move(options)) {}

  Status addMerge(const std::string &a, const std::string &b, uint32_t rank,
                  std::string &missing) {
    std::optional<int32_t> left = vocab.find(a), right = vocab.find(b);
    size_t prefix = options.continuingSubwordPrefix
                        ? options.continuingSubwordPrefix->size()
                        : 0;
    std::string merged = a + (b.size() >= prefix ? b.substr(prefix) : "");
    std::optional<int32_t> result = vocab.find(merged);
    if (!left || !right || !result) {
      missing = !left ? a : !right ? b : merged;
      return Status::invalid("missing");
    }
    merges[key(*left, *right)] = {rank, *result};
    return Status::ok();
  }

  Status tokenize(std::string_view word,
                  std::vector<int32_t> &ids) const override {
    if (word.empty())
      return Status::ok();
    if (options.ignoreMerges)
      if (std::optional<int32_t> id = vocab.find(word)) {
        ids.push_back(*id);
        return Status::ok();
      }
    if (cache.lookup(word, ids))
      return Status::ok();
    size_t first = ids.size();
    Status status = mergeWord(word, ids);
    if (!status.isOk())
      return status;
    cache.insert(word, ids.data() + first, ids.data() + ids.size());
    return Status::ok();
  }

  std::optional<int32_t> tokenToId(std::string_view token) const override {
    return vocab.find(token);
  }
  const std::string *idToToken(int32_t id) const override {
    return vocab.token(id);
  }
  int64_t getVocabSize() const override { return vocab.size(); }
  const char *getName() const override { return "BPE"; }

private:
  static uint64_t key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) |
           static_cast<uint32_t>(b);
  }

  struct Symbol {
    int32_t id;
    int32_t prev, next;
    bool removed;
  };
  struct Candidate {
    uint32_t rank;
    size_t pos;
    int32_t newId;
    bool operator>(const Candidate &o) const {
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };

  Status mergeWord(std::string_view w, std::vector<int32_t> &out) const {
    std::vector<Symbol> symbols;
    symbols.reserve(w.size());
    auto push = [&](int32_t id) {
      int32_t index = static_cast<int32_t>(symbols.size());
      symbols.push_back({id, index - 1, index + 1, false});
    };
    std::optional<int32_t> unk;
    size_t unkCount = 0;
    auto flushUnk = [&]() {
      if (unkCount) {
        push(*unk);
        unkCount = 0;
      }
    };
    std::string s;
    for (size_t i = 0; i < w.size();) {
      size_t begin = i;
      unicode::next(w, i);
      s.assign(w.substr(begin, i - begin));
      if (begin > 0 && options.continuingSubwordPrefix)
        s.insert(0, *options.continuingSubwordPrefix);
      if (i == w.size() && options.endOfWordSuffix)
        s += *options.endOfWordSuffix;
      if (std::optional<int32_t> id = vocab.find(s)) {
        flushUnk();
        push(*id);
        continue;
      }
      if (options.byteFallback) {
        std::vector<int32_t> bytes;
        if (vocab.findBytes(s, bytes)) {
          // As `tokenizers`: a pending unknown stays pending.
          for (int32_t id : bytes)
            push(id);
          continue;
        }
      }
      if (!options.unkToken)
        continue;
      std::optional<int32_t> unkId = vocab.find(*options.unkToken);
      if (!unkId)
        return Status::error(ErrorCode::Format,
                             "the BPE model's unk_token \"" +
                                 *options.unkToken +
                                 "\" is not in its vocabulary");
      if (unkCount && !options.fuseUnk)
        flushUnk();
      unk = unkId;
      ++unkCount;
    }
    flushUnk();
    if (symbols.empty())
      return Status::ok();
    symbols.back().next = -1;

    std::priority_queue<Candidate, std::vector<Candidate>,
                        std::greater<Candidate>>
        queue;
    for (size_t p = 0; p + 1 < symbols.size(); ++p) {
      auto it = merges.find(key(symbols[p].id, symbols[p + 1].id));
      if (it != merges.end())
        queue.push({it->second.first, p, it->second.second});
    }
    while (!queue.empty()) {
      Candidate top = queue.top();
      queue.pop();
      Symbol &cur = symbols[top.pos];
      if (cur.removed || cur.next < 0)
        continue;
      Symbol &right = symbols[cur.next];
      auto it = merges.find(key(cur.id, right.id));
      if (it == merges.end() || it->second.second != top.newId)
        continue;
      cur.id = top.newId;
      right.removed = true;
      cur.next = right.next;
      if (cur.next >= 0)
        symbols[cur.next].prev = static_cast<int32_t>(top.pos);
      if (cur.prev >= 0) {
        auto m = merges.find(key(symbols[cur.prev].id, cur.id));
        if (m != merges.end())
          queue.push({m->second.first, static_cast<size_t>(cur.prev),
                      m->second.second});
      }
      if (cur.next >= 0) {
        auto m = merges.find(key(cur.id, symbols[cur.next].id));
        if (m != merges.end())
          queue.push({m->second.first, top.pos, m->second.second});
      }
    }
    for (const Symbol &sym : symbols)
      if (!sym.removed)
        out.push_back(sym.id);
    return Status::ok();
  }

  Vocabulary vocab;
  BpeOptions options;
  /// (left, right) -> (rank, merged id).
  std::unordered_map<uint64_t, std::pair<uint32_t, int32_t>> merges;
  WordCache cache;
};

//===----------------------------------------------------------------------===//
// WordPiece and WordLevel
//===----------------------------------------------------------------------===//

class WordPiece : public Model {
public:
  WordPiece(Vocabulary vocab, std::string unk, std::string prefix,
            int64_t maxChars)
      : vocab(std::move(vocab)), unk(std::move(unk)), prefix(std::move(prefix)),
        maxChars(maxChars) {}

  Status tokenize(std::string_view word,
                  std::vector<int32_t> &ids) const override {
    if (cache.lookup(word, ids))
      return Status::ok();
    size_t chars = 0;
    for (size_t i = 0; i < word.size();) {
      unicode::next(word, i);
      ++chars;
    }
    size_t first = ids.size();
    bool bad = static_cast<int64_t>(chars) > maxChars;
    std::string candidate;
    for (size_t start = 0; !bad && start < word.size();) {
      size_t end = word.size();
      std::optional<int32_t> found;
      while (start < end) {
        candidate.assign(start > 0 ? prefix : "");
        candidate.append(word.substr(start, end - start));
        if ((found = vocab.find(candidate)))
          break;
        // Back off one character.
        do
          --end;
        while (end > start &&
               (static_cast<unsigned char>(word[end]) & 0xc0) == 0x80);
      }
      if (!found) {
        bad = true;
        break;
      }
      ids.push_back(*found);
      start = end;
    }
    if (bad) {
      ids.resize(first);
      std::optional<int32_t> unkId = vocab.find(unk);
      if (!unkId)
        return Status::error(ErrorCode::Format,
                             "the WordPiece model's unk_token \"" + unk +
                                 "\" is not in its vocabulary");
      ids.push_back(*unkId);
    }
    cache.insert(word, ids.data() + first, ids.data() + ids.size());
    return Status::ok();
  }
  std::optional<int32_t> tokenToId(std::string_view token) const override {
    return vocab.find(token);
  }
  const std::string *idToToken(int32_t id) const override {
    return vocab.token(id);
  }
  int64_t getVocabSize() const override { return vocab.size(); }
  const char *getName() const override { return "WordPiece"; }

private:
  Vocabulary vocab;
  std::string unk, prefix;
  int64_t maxChars;
  /// `tokenizers` keeps no cache for WordPiece; the ids are the same.
  WordCache cache;
};

class WordLevel : public Model {
public:
  WordLevel(Vocabulary vocab, std::string unk)
      : vocab(std::move(vocab)), unk(std::move(unk)) {}
  Status tokenize(std::string_view word,
                  std::vector<int32_t> &ids) const override {
    if (std::optional<int32_t> id = vocab.find(word)) {
      ids.push_back(*id);
      return Status::ok();
    }
    std::optional<int32_t> unkId = vocab.find(unk);
    if (!unkId)
      return Status::error(ErrorCode::Format,
                           "the WordLevel model's unk_token \"" + unk +
                               "\" is not in its vocabulary");
    ids.push_back(*unkId);
    return Status::ok();
  }
  std::optional<int32_t> tokenToId(std::string_view token) const override {
    return vocab.find(token);
  }
  const std::string *idToToken(int32_t id) const override {
    return vocab.token(id);
  }
  int64_t getVocabSize() const override { return vocab.size(); }
  const char *getName() const override { return "WordLevel"; }

private:
  Vocabulary vocab;
  std::string unk;
};

//===----------------------------------------------------------------------===//
// Unigram
//===----------------------------------------------------------------------===//

class Unigram : public Model {
public:
  Unigram(Vocabulary vocab, std::vector<double> scores,
          std::optional<int32_t> unkId, bool byteFallback)
      : vocab(std::move(vocab)), scores(std::move(scores)), unkId(unkId),
        byteFallback(byteFallback) {
    minScore = std::numeric_limits<double>::infinity();
    for (double s : this->scores)
      minScore = std::min(minScore, s);
    for (int32_t id = 0; id < static_cast<int32_t>(this->scores.size()); ++id)
      if (const std::string *t = this->vocab.token(id))
        insert(*t, id);
  }

  Status tokenize(std::string_view s,
                  std::vector<int32_t> &ids) const override {
    if (s.empty() || cache.lookup(s, ids))
      return Status::ok();
    size_t first = ids.size();
    Status status = viterbi(s, ids);
    if (!status.isOk())
      return status;
    cache.insert(s, ids.data() + first, ids.data() + ids.size());
    return Status::ok();
  }
  std::optional<int32_t> tokenToId(std::string_view token) const override {
    return vocab.find(token);
  }
  const std::string *idToToken(int32_t id) const override {
    return vocab.token(id);
  }
  int64_t getVocabSize() const override { return vocab.size(); }
  const char *getName() const override { return "Unigram"; }

private:
  /// The best segmentation of `s` (the highest sum of scores) by Viterbi
  /// over the byte trie, appended to `ids`.
  Status viterbi(std::string_view s, std::vector<int32_t> &ids) const {
    struct Node {
      int32_t id = 0;
      double score = 0;
      int64_t start = -1;
    };
    const double unkScore = minScore - 10.0;
    std::vector<Node> best(s.size() + 1);
    for (size_t start = 0; start < s.size();) {
      double here = best[start].score;
      size_t charLen =
          unicode::sequenceLength(static_cast<unsigned char>(s[start]));
      bool single = false;
      // Every vocabulary piece that starts here, shortest first.
      int32_t node = 0;
      for (size_t pos = start; pos < s.size(); ++pos) {
        auto it =
            children.find(childKey(node, static_cast<unsigned char>(s[pos])));
        if (it == children.end())
          break;
        node = it->second;
        int32_t id = leaf[node];
        if (id < 0)
          continue;
        size_t end = pos + 1;
        double candidate = scores[id] + here;
        Node &target = best[end];
        if (target.start < 0 || candidate > target.score) {
          target.score = candidate;
          target.start = static_cast<int64_t>(start);
          target.id = id;
        }
        if (end - start == charLen)
          single = true;
      }
      if (!single) {
        Node &target = best[start + charLen];
        double candidate = unkScore + here;
        if (target.start < 0 || candidate > target.score) {
          if (!unkId)
            return Status::error(ErrorCode::Format,
                                 "the Unigram model has no unk_id for a "
                                 "character outside its vocabulary");
          target.score = candidate;
          target.start = static_cast<int64_t>(start);
          target.id = *unkId;
        }
      }
      start += charLen;
    }
    // Back from the end; consecutive unknowns fuse into one piece.
    std::vector<std::pair<size_t, size_t>> pieces;
    std::vector<bool> unknown;
    for (size_t end = s.size(); end > 0;) {
      const Node &n = best[end];
      size_t start = static_cast<size_t>(n.start);
      bool isUnk = unkId && n.id == *unkId;
      if (isUnk && !unknown.empty() && unknown.back())
        pieces.back().first = start;
      else {
        pieces.push_back({start, end});
        unknown.push_back(isUnk);
      }
      end = start;
    }
    for (size_t k = pieces.size(); k-- > 0;) {
      std::string_view piece =
          s.substr(pieces[k].first, pieces[k].second - pieces[k].first);
      if (std::optional<int32_t> id = vocab.find(piece)) {
        ids.push_back(*id);
        continue;
      }
      if (byteFallback && vocab.findBytes(piece, ids))
        continue;
      if (!unkId)
        return Status::error(ErrorCode::Format,
                             "the Unigram model has no unk_id for a "
                             "character outside its vocabulary");
      ids.push_back(*unkId);
    }
    return Status::ok();
  }

  static uint64_t childKey(int32_t node, unsigned char byte) {
    return (static_cast<uint64_t>(node) << 8) | byte;
  }
  void insert(const std::string &token, int32_t id) {
    if (leaf.empty())
      leaf.push_back(-1);
    int32_t node = 0;
    for (unsigned char b : token) {
      auto [it, inserted] = children.emplace(childKey(node, b),
                                             static_cast<int32_t>(leaf.size()));
      if (inserted)
        leaf.push_back(-1);
      node = it->second;
    }
    if (leaf[node] < 0)
      leaf[node] = id;
  }

  Vocabulary vocab;
  std::vector<double> scores;
  std::optional<int32_t> unkId;
  bool byteFallback;
  double minScore;
  /// The byte trie: children by (node, byte), the id ending at each node.
  std::unordered_map<uint64_t, int32_t> children;
  std::vector<int32_t> leaf{-1};
  WordCache cache;
};

//===----------------------------------------------------------------------===//
// Parsing
//===----------------------------------------------------------------------===//

Expected<Vocabulary> parseVocabObject(const Field &field) {
  Expected<const json::Object *> object = field.getObject();
  if (!object)
    return object.takeStatus();
  Vocabulary vocab;
  for (const json::Member &m : **object) {
    Field entry(m.value, field.getPath() + "[\"" + m.key + "\"]",
                field.getFile());
    Expected<int64_t> id = entry.getInt(0, kMaxTokenId);
    if (!id)
      return id.takeStatus();
    if (std::optional<std::string> error =
            vocab.add(m.key, static_cast<int32_t>(*id)))
      return entry.fail("expected " + *error);
  }
  return vocab;
}

Expected<std::optional<std::string>> optionalString(const Field &field,
                                                    std::string_view key) {
  Expected<std::optional<Field>> f = field.optionalMember(key);
  if (!f)
    return f.takeStatus();
  if (!*f)
    return std::optional<std::string>();
  Expected<std::string> s = (*f)->getString();
  if (!s)
    return s.takeStatus();
  return std::optional<std::string>(*s);
}

Expected<std::unique_ptr<Model>> parseBpe(const Field &field) {
  Expected<Field> vocabField = field.member("vocab");
  if (!vocabField)
    return vocabField.takeStatus();
  Expected<Vocabulary> vocab = parseVocabObject(*vocabField);
  if (!vocab)
    return vocab.takeStatus();
  BpeOptions options;
  for (auto [key, target] :
       {std::pair<const char *, std::optional<std::string> *>{
            "unk_token", &options.unkToken},
        {"continuing_subword_prefix", &options.continuingSubwordPrefix},
        {"end_of_word_suffix", &options.endOfWordSuffix}}) {
    Expected<std::optional<std::string>> s = optionalString(field, key);
    if (!s)
      return s.takeStatus();
    *target = *s;
  }
  for (auto [key, target] :
       {std::pair<const char *, bool *>{"fuse_unk", &options.fuseUnk},
        {"byte_fallback", &options.byteFallback},
        {"ignore_merges", &options.ignoreMerges}}) {
    Expected<bool> b = field.getBool(key, false);
    if (!b)
      return b.takeStatus();
    *target = *b;
  }
  // Dropout is a training regularizer: inference merges deterministically.
  Expected<std::optional<Field>> dropout = field.optionalMember("dropout");
  if (!dropout)
    return dropout.takeStatus();
  if (*dropout) {
    Expected<double> p = (*dropout)->getNumber();
    if (!p)
      return p.takeStatus();
    if (*p < 0 || *p > 1)
      return (*dropout)->error("a probability in [0, 1]");
  }
  auto bpe = std::make_unique<Bpe>(std::move(*vocab), options);
  Expected<Field> mergesField = field.member("merges");
  if (!mergesField)
    return mergesField.takeStatus();
  Expected<const json::Array *> merges = mergesField->getArray();
  if (!merges)
    return merges.takeStatus();
  std::string missing;
  for (size_t i = 0; i < (*merges)->size(); ++i) {
    Field merge = mergesField->element(i);
    std::string a, b;
    if (std::optional<std::string_view> text = merge.get().getAsString()) {
      size_t space = text->find(' ');
      if (space == std::string_view::npos ||
          text->find(' ', space + 1) != std::string_view::npos)
        return merge.error("two tokens separated by one space");
      a = std::string(text->substr(0, space));
      b = std::string(text->substr(space + 1));
    } else {
      const json::Array *pair = merge.get().getAsArray();
      if (!pair || pair->size() != 2 || !(*pair)[0].getAsString() ||
          !(*pair)[1].getAsString())
        return merge.error("\"A B\" or [\"A\", \"B\"]");
      a = std::string(*(*pair)[0].getAsString());
      b = std::string(*(*pair)[1].getAsString());
    }
    if (!bpe->addMerge(a, b, static_cast<uint32_t>(i), missing).isOk())
      return merge.fail("expected tokens of the vocabulary, found \"" +
                        missing + "\", which is not in .model.vocab");
  }
  return std::unique_ptr<Model>(std::move(bpe));
}

} // namespace

Expected<std::unique_ptr<Model>>
tok::makeBpe(std::vector<std::pair<std::string, int32_t>> vocabEntries,
             const std::vector<std::pair<std::string, std::string>> &merges,
             BpeOptions options,
             const std::function<Status(size_t, std::string)> &mergeError) {
  Vocabulary vocab;
  for (auto &[token, id] : vocabEntries)
    if (std::optional<std::string> error = vocab.add(token, id))
      return Status::error(ErrorCode::Format, "expected " + *error);
  auto bpe = std::make_unique<Bpe>(std::move(vocab), std::move(options));
  std::string missing;
  for (size_t i = 0; i < merges.size(); ++i)
    if (!bpe->addMerge(merges[i].first, merges[i].second,
                       static_cast<uint32_t>(i), missing)
             .isOk())
      return mergeError(i, missing);
  return std::unique_ptr<Model>(std::move(bpe));
}

Expected<std::unique_ptr<Model>>
tok::makeWordPiece(std::vector<std::pair<std::string, int32_t>> entries,
                   std::string unkToken, std::string prefix, int64_t maxChars) {
  Vocabulary vocab;
  for (auto &[token, id] : entries)
    if (std::optional<std::string> error = vocab.add(token, id))
      return Status::error(ErrorCode::Format, "expected " + *error);
  return std::unique_ptr<Model>(new WordPiece(
      std::move(vocab), std::move(unkToken), std::move(prefix), maxChars));
}

Expected<std::unique_ptr<Model>>
tok::makeUnigram(std::vector<std::pair<std::string, double>> entries,
                 std::optional<int64_t> unkId, bool byteFallback) {
  Vocabulary vocab;
  std::vector<double> scores;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (std::optional<std::string> error =
            vocab.add(entries[i].first, static_cast<int32_t>(i)))
      return Status::error(ErrorCode::Format, "expected " + *error);
    scores.push_back(entries[i].second);
  }
  if (unkId && (*unkId < 0 || *unkId >= static_cast<int64_t>(entries.size())))
    return Status::error(ErrorCode::Format,
                         "expected an unk_id below the vocabulary size " +
                             std::to_string(entries.size()) + ", found " +
                             std::to_string(*unkId));
  std::optional<int32_t> unk;
  if (unkId)
    unk = static_cast<int32_t>(*unkId);
  return std::unique_ptr<Model>(
      new Unigram(std::move(vocab), std::move(scores), unk, byteFallback));
}

Expected<std::unique_ptr<Model>> tok::parseModel(const Field &field) {
  Expected<const json::Object *> object = field.getObject();
  if (!object)
    return object.takeStatus();
  std::string type;
  if ((*object)->get("type")) {
    Expected<std::string> t =
        field.getType({"BPE", "WordPiece", "Unigram", "WordLevel"});
    if (!t)
      return t.takeStatus();
    type = *t;
  } else if ((*object)->get("merges")) {
    type = "BPE";
  } else if ((*object)->get("continuing_subword_prefix") ||
             (*object)->get("max_input_chars_per_word")) {
    type = "WordPiece";
  } else if ((*object)->get("unk_id")) {
    type = "Unigram";
  } else {
    type = "WordLevel";
  }
  if (type == "BPE")
    return parseBpe(field);
  if (type == "Unigram") {
    Expected<Field> vocabField = field.member("vocab");
    if (!vocabField)
      return vocabField.takeStatus();
    Expected<const json::Array *> array = vocabField->getArray();
    if (!array)
      return array.takeStatus();
    std::vector<std::pair<std::string, double>> entries;
    entries.reserve((*array)->size());
    for (size_t i = 0; i < (*array)->size(); ++i) {
      Field entry = vocabField->element(i);
      const json::Array *pair = entry.get().getAsArray();
      if (!pair || pair->size() != 2 || !(*pair)[0].getAsString() ||
          !(*pair)[1].getAsDouble() ||
          !std::isfinite(*(*pair)[1].getAsDouble()))
        return entry.error("[piece, finite score]");
      entries.emplace_back(std::string(*(*pair)[0].getAsString()),
                           *(*pair)[1].getAsDouble());
    }
    Expected<std::optional<Field>> unkField = field.optionalMember("unk_id");
    if (!unkField)
      return unkField.takeStatus();
    std::optional<int64_t> unkId;
    if (*unkField) {
      Expected<int64_t> id =
          (*unkField)->getInt(0, static_cast<int64_t>(entries.size()) - 1);
      if (!id)
        return id.takeStatus();
      unkId = *id;
    }
    Expected<bool> byteFallback = field.getBool("byte_fallback", false);
    if (!byteFallback)
      return byteFallback.takeStatus();
    Expected<std::unique_ptr<Model>> model =
        makeUnigram(std::move(entries), unkId, *byteFallback);
    if (!model)
      return vocabField->fail(model.error());
    return model;
  }
  Expected<Field> vocabField = field.member("vocab");
  if (!vocabField)
    return vocabField.takeStatus();
  Expected<Vocabulary> vocab = parseVocabObject(*vocabField);
  if (!vocab)
    return vocab.takeStatus();
  Expected<std::string> unk = field.getString("unk_token", "[UNK]");
  if (!unk)
    return unk.takeStatus();
  if (type == "WordLevel")
    return std::unique_ptr<Model>(
        new WordLevel(std::move(*vocab), std::move(*unk)));
  Expected<std::string> prefix =
      field.getString("continuing_subword_prefix", "##");
  if (!prefix)
    return prefix.takeStatus();
  int64_t maxChars = 100;
  Expected<std::optional<Field>> maxField =
      field.optionalMember("max_input_chars_per_word");
  if (!maxField)
    return maxField.takeStatus();
  if (*maxField) {
    Expected<int64_t> m =
        (*maxField)->getInt(0, std::numeric_limits<int32_t>::max());
    if (!m)
      return m.takeStatus();
    maxChars = *m;
  }
  return std::unique_ptr<Model>(new WordPiece(
      std::move(*vocab), std::move(*unk), std::move(*prefix), maxChars));
}
