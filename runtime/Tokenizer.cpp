//===- Tokenizer.cpp - Hugging Face tokenizers in the runtime -------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "Tokenizer.h"
#include "GGUF.h"
#include "tokenizer/TokenizerImpl.h"
#include "tokenizer/Unicode.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <fstream>
#include <limits>
#include <sstream>
#include <system_error>

using namespace llmrt;
using namespace llmrt::tok;

namespace {

/// The largest tokenizer file read (real ones are under 20 MB).
constexpr uint64_t kMaxFileBytes = 1ull << 30;

bool isDirectory(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool exists(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

} // namespace

namespace llmrt::tok {
/// The contents of `path`, or an error naming it.
Expected<std::string> readTextFile(const std::string &path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    return Status::error(
        ErrorCode::Io,
        path + ": cannot open: " + std::generic_category().message(errno));
  if (!S_ISREG(st.st_mode))
    return Status::error(
        ErrorCode::Io,
        path + ": expected a regular file, found " +
            (S_ISDIR(st.st_mode) ? "a directory" : "another kind of file"));
  if (static_cast<uint64_t>(st.st_size) > kMaxFileBytes)
    return Status::error(ErrorCode::Format,
                         path + ": expected a tokenizer file of at most " +
                             std::to_string(kMaxFileBytes) + " bytes, found " +
                             std::to_string(st.st_size));
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Status::error(
        ErrorCode::Io,
        path + ": cannot open: " + std::generic_category().message(errno));
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad())
    return Status::error(ErrorCode::Io, path + ": read error");
  return contents.str();
}
} // namespace llmrt::tok

//===----------------------------------------------------------------------===//
// Added tokens
//===----------------------------------------------------------------------===//

Status TokenizerImpl::addToken(AddedToken token) {
  if (token.content.empty())
    return Status::ok();
  if (addedById.count(token.id))
    return Status::error(ErrorCode::Format,
                         "expected each added token id once, found " +
                             std::to_string(token.id) + " for both \"" +
                             added[addedById[token.id]].content + "\" and \"" +
                             token.content + "\"");
  std::string pattern = token.content;
  if (token.normalized && normalizer) {
    bool atStart = true;
    normalizer->normalize(pattern, atStart);
  }
  size_t index = added.size();
  addedById[token.id] = index;
  addedByContent.emplace(token.content, token.id);
  if (token.special)
    specialContents.insert(token.content);
  if (!pattern.empty())
    patterns[token.normalized ? 1 : 0].emplace_back(pattern, index);
  if (token.normalized && pattern != token.content)
    token.content = pattern; // decode returns the normalized form
  added.push_back(std::move(token));
  return Status::ok();
}

void TokenizerImpl::indexAddedTokens() {
  for (int k = 0; k < 2; ++k) {
    auto &set = patterns[k];
    // Longest first, for leftmost-longest matching.
    std::sort(set.begin(), set.end(), [](const auto &a, const auto &b) {
      if (a.first.size() != b.first.size())
        return a.first.size() > b.first.size();
      return a.second < b.second;
    });
    for (auto &list : byFirstByte[k])
      list.clear();
    for (size_t i = 0; i < set.size(); ++i)
      byFirstByte[k][static_cast<unsigned char>(set[i].first[0])].push_back(
          static_cast<uint32_t>(i));
  }
}

namespace {

/// The byte offset of the last code point of s[0:end], or end when empty.
size_t lastCharStart(std::string_view s, size_t end) {
  if (end == 0)
    return 0;
  size_t i = end - 1;
  while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xc0) == 0x80)
    --i;
  return i;
}

bool endsWithWord(std::string_view s, size_t end) {
  if (end == 0)
    return false;
  size_t i = lastCharStart(s, end);
  return unicode::isWordChar(unicode::next(s, i));
}

bool startsWithWord(std::string_view s, size_t begin) {
  if (begin >= s.size())
    return false;
  return unicode::isWordChar(unicode::next(s, begin));
}

} // namespace

void TokenizerImpl::splitAdded(Pieces &pieces, bool normalizedSet) const {
  const auto &set = patterns[normalizedSet ? 1 : 0];
  const auto &index = byFirstByte[normalizedSet ? 1 : 0];
  if (set.empty())
    return;
  Pieces out;
  out.reserve(pieces.size());
  for (Piece &piece : pieces) {
    if (piece.id >= 0) {
      out.push_back(std::move(piece));
      continue;
    }
    const std::string &s = piece.text;
    size_t startOffset = 0;
    auto emit = [&](size_t b, size_t e, int32_t id) {
      if (b >= e && id < 0)
        return;
      Piece p;
      p.text = s.substr(b, e - b);
      p.atStart = piece.atStart && b == 0;
      p.id = id;
      out.push_back(std::move(p));
    };
    size_t i = 0;
    while (i < s.size()) {
      // The longest pattern matching at i. Patterns are UTF-8 and start
      // with a lead byte, so stepping over bytes without a candidate stops
      // at the same character boundaries as stepping over characters.
      const std::pair<std::string, size_t> *match = nullptr;
      for (uint32_t k : index[static_cast<unsigned char>(s[i])])
        if (s.compare(i, set[k].first.size(), set[k].first) == 0) {
          match = &set[k];
          break;
        }
      if (!match) {
        ++i;
        continue;
      }
      const AddedToken &token = added[match->second];
      size_t start = i, stop = i + match->first.size();
      // The search goes on after this match whether it is kept or not.
      i = stop;
      if (token.singleWord && ((start > 0 && endsWithWord(s, start)) ||
                               (stop < s.size() && startsWithWord(s, stop))))
        continue;
      if (token.lstrip) {
        size_t newStart = start;
        while (newStart > 0) {
          size_t at = lastCharStart(s, newStart);
          size_t k = at;
          if (!unicode::isWhitespace(unicode::next(s, k)))
            break;
          newStart = at;
        }
        start = std::max(newStart, startOffset);
      }
      if (token.rstrip) {
        while (stop < s.size()) {
          size_t k = stop;
          if (!unicode::isWhitespace(unicode::next(s, k)))
            break;
          stop = k;
        }
        i = stop;
      }
      if (startOffset < start)
        emit(startOffset, start, -1);
      emit(start, stop, token.id);
      startOffset = stop;
    }
    if (startOffset < s.size())
      emit(startOffset, s.size(), -1);
  }
  pieces = std::move(out);
}

//===----------------------------------------------------------------------===//
// Encoding and decoding
//===----------------------------------------------------------------------===//

Expected<std::vector<int32_t>>
TokenizerImpl::encode(std::string_view text, bool addSpecialTokens,
                      bool truncateAndPad) const {
  Pieces pieces;
  pieces.push_back({unicode::repairUtf8(text), true, -1});
  splitAdded(pieces, false);
  if (normalizer)
    for (Piece &p : pieces)
      if (p.id < 0)
        normalizer->normalize(p.text, p.atStart);
  splitAdded(pieces, true);
  if (preTokenizer)
    preTokenizer->preTokenize(pieces);
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  for (const Piece &p : pieces) {
    if (p.id >= 0) {
      ids.push_back(p.id);
      continue;
    }
    Status status = model->tokenize(p.text, ids);
    if (!status.isOk())
      return status;
  }
  if (truncation && truncateAndPad) {
    size_t reserved =
        addSpecialTokens && postProcessor ? postProcessor->addedCount() : 0;
    size_t keep =
        truncation->maxLength > reserved ? truncation->maxLength - reserved : 0;
    if (ids.size() > keep) {
      if (truncation->left)
        ids.erase(ids.begin(), ids.end() - static_cast<ptrdiff_t>(keep));
      else
        ids.resize(keep);
    }
  }
  if (addSpecialTokens && postProcessor)
    postProcessor->process(ids);
  if (padding && truncateAndPad) {
    size_t length = std::max(padding->length, ids.size());
    if (padding->multipleOf && length % padding->multipleOf)
      length += padding->multipleOf - length % padding->multipleOf;
    if (length > ids.size())
      ids.insert(padding->left ? ids.begin() : ids.end(), length - ids.size(),
                 padding->padId);
  }
  return ids;
}

Expected<std::string> TokenizerImpl::decode(const std::vector<int32_t> &ids,
                                            bool skipSpecialTokens) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  int64_t size = getVocabSize();
  for (int32_t id : ids) {
    if (id < 0 || id >= size)
      return Status::invalid("expected token ids in [0, " +
                             std::to_string(size) + "), found " +
                             std::to_string(id));
    auto it = addedById.find(id);
    const std::string *token = it != addedById.end()
                                   ? &added[it->second].content
                                   : model->idToToken(id);
    if (!token)
      continue; // an id the vocabulary skips, dropped as in tokenizers
    if (skipSpecialTokens && specialContents.count(*token))
      continue;
    tokens.push_back(*token);
  }
  std::string out;
  if (decoder) {
    decoder->decodeChain(tokens);
    for (const std::string &t : tokens)
      out += t;
  } else {
    for (size_t k = 0; k < tokens.size(); ++k)
      out += (k ? " " : "") + tokens[k];
  }
  return out;
}

std::optional<int32_t> TokenizerImpl::tokenToId(std::string_view token) const {
  auto it = addedByContent.find(std::string(token));
  if (it != addedByContent.end())
    return it->second;
  return model->tokenToId(token);
}

std::optional<std::string> TokenizerImpl::idToToken(int32_t id) const {
  auto it = addedById.find(id);
  if (it != addedById.end())
    return added[it->second].content;
  if (const std::string *t = model->idToToken(id))
    return *t;
  return std::nullopt;
}

bool TokenizerImpl::isSpecial(int32_t id) const {
  auto it = addedById.find(id);
  return it != addedById.end() && added[it->second].special;
}

int64_t TokenizerImpl::getVocabSize() const {
  int64_t size = model->getVocabSize();
  for (const AddedToken &t : added)
    size = std::max<int64_t>(size, static_cast<int64_t>(t.id) + 1);
  return size;
}

//===----------------------------------------------------------------------===//
// tokenizer.json
//===----------------------------------------------------------------------===//

namespace {

Expected<std::unique_ptr<TokenizerImpl>> parseTokenizerJson(const Field &root) {
  auto impl = std::make_unique<TokenizerImpl>();
  Expected<Field> modelField = root.member("model");
  if (!modelField)
    return modelField.takeStatus();
  Expected<std::unique_ptr<Model>> model = parseModel(*modelField);
  if (!model)
    return model.takeStatus();
  impl->model = std::move(*model);
  impl->description =
      root.getFile() + " (" + std::string(impl->model->getName()) + ")";

  Expected<std::optional<Field>> f = root.optionalMember("normalizer");
  if (!f)
    return f.takeStatus();
  if (*f) {
    Expected<std::unique_ptr<Normalizer>> n = parseNormalizer(**f);
    if (!n)
      return n.takeStatus();
    impl->normalizer = std::move(*n);
  }
  if (!(f = root.optionalMember("pre_tokenizer")))
    return f.takeStatus();
  if (*f) {
    Expected<std::unique_ptr<PreTokenizer>> p = parsePreTokenizer(**f);
    if (!p)
      return p.takeStatus();
    impl->preTokenizer = std::move(*p);
  }
  if (!(f = root.optionalMember("post_processor")))
    return f.takeStatus();
  if (*f) {
    Expected<std::unique_ptr<PostProcessor>> p = parsePostProcessor(**f);
    if (!p)
      return p.takeStatus();
    impl->postProcessor = std::move(*p);
  }
  if (!(f = root.optionalMember("decoder")))
    return f.takeStatus();
  if (*f) {
    Expected<std::unique_ptr<Decoder>> d = parseDecoder(**f);
    if (!d)
      return d.takeStatus();
    impl->decoder = std::move(*d);
  }
  if (!(f = root.optionalMember("truncation")))
    return f.takeStatus();
  if (*f) {
    Truncation t;
    Expected<Field> max = (*f)->member("max_length");
    if (!max)
      return max.takeStatus();
    Expected<int64_t> n = max->getInt(0, std::numeric_limits<int32_t>::max());
    if (!n)
      return n.takeStatus();
    t.maxLength = static_cast<size_t>(*n);
    Expected<std::string> direction = (*f)->getString("direction", "Right");
    if (!direction)
      return direction.takeStatus();
    if (*direction != "Right" && *direction != "Left")
      return (*f)->member("direction")->error("Right or Left");
    t.left = *direction == "Left";
    impl->truncation = t;
  }
  if (!(f = root.optionalMember("padding")))
    return f.takeStatus();
  if (*f) {
    Padding p;
    Expected<Field> strategy = (*f)->member("strategy");
    if (!strategy)
      return strategy.takeStatus();
    if (const json::Object *fixed = strategy->get().getAsObject()) {
      Expected<Field> length = strategy->member("Fixed");
      if (!length || fixed->size() != 1)
        return strategy->error("\"BatchLongest\" or {\"Fixed\": length}");
      Expected<int64_t> n =
          length->getInt(0, std::numeric_limits<int32_t>::max());
      if (!n)
        return n.takeStatus();
      p.length = static_cast<size_t>(*n);
    } else if (strategy->get().getAsString() != "BatchLongest") {
      return strategy->error("\"BatchLongest\" or {\"Fixed\": length}");
    }
    Expected<std::optional<Field>> multiple =
        (*f)->optionalMember("pad_to_multiple_of");
    if (!multiple)
      return multiple.takeStatus();
    if (*multiple) {
      Expected<int64_t> n = (*multiple)->getInt(0, 1 << 20);
      if (!n)
        return n.takeStatus();
      p.multipleOf = static_cast<size_t>(*n);
    }
    Expected<std::optional<Field>> padId = (*f)->optionalMember("pad_id");
    if (!padId)
      return padId.takeStatus();
    if (*padId) {
      Expected<int64_t> n =
          (*padId)->getInt(0, std::numeric_limits<int32_t>::max());
      if (!n)
        return n.takeStatus();
      p.padId = static_cast<int32_t>(*n);
    }
    Expected<std::string> direction = (*f)->getString("direction", "Right");
    if (!direction)
      return direction.takeStatus();
    p.left = *direction == "Left";
    impl->padding = p;
  }

  if (!(f = root.optionalMember("added_tokens")))
    return f.takeStatus();
  if (*f) {
    Expected<const json::Array *> list = (*f)->getArray();
    if (!list)
      return list.takeStatus();
    for (size_t i = 0; i < (*list)->size(); ++i) {
      Field item = (*f)->element(i);
      AddedToken token;
      Expected<Field> idField = item.member("id");
      if (!idField)
        return idField.takeStatus();
      Expected<int64_t> id =
          idField->getInt(0, std::numeric_limits<int32_t>::max());
      if (!id)
        return id.takeStatus();
      token.id = static_cast<int32_t>(*id);
      Expected<Field> content = item.member("content");
      if (!content)
        return content.takeStatus();
      Expected<std::string> text = content->getString();
      if (!text)
        return text.takeStatus();
      token.content = std::move(*text);
      for (auto [key, target, fallback] :
           {std::tuple<const char *, bool *, bool>{"single_word",
                                                   &token.singleWord, false},
            {"lstrip", &token.lstrip, false},
            {"rstrip", &token.rstrip, false},
            {"special", &token.special, false},
            {"normalized", &token.normalized, true}}) {
        Expected<bool> b = item.getBool(key, fallback);
        if (!b)
          return b.takeStatus();
        *target = *b;
      }
      // A token of the model's vocabulary keeps the model's id.
      if (std::optional<int32_t> modelId =
              impl->model->tokenToId(token.content))
        if (*modelId != token.id)
          return idField->error("the id " + std::to_string(*modelId) +
                                " that .model.vocab gives \"" + token.content +
                                "\"");
      Status status = impl->addToken(std::move(token));
      if (!status.isOk())
        return item.fail(status.message());
    }
  }
  return impl;
}

} // namespace

std::unique_ptr<Tokenizer>
TokenizerImpl::wrap(std::unique_ptr<TokenizerImpl> impl) {
  impl->indexAddedTokens();
  return std::unique_ptr<Tokenizer>(new Tokenizer(std::move(impl)));
}

//===----------------------------------------------------------------------===//
// Tokenizer
//===----------------------------------------------------------------------===//

Tokenizer::Tokenizer(std::unique_ptr<tok::TokenizerImpl> impl)
    : impl(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;

Expected<std::unique_ptr<Tokenizer>>
Tokenizer::fromJson(std::string_view text, const std::string &fileName) {
  Expected<json::Value> value = json::parse(text);
  if (!value)
    return Status::error(ErrorCode::Format,
                         fileName + ": not valid JSON: " + value.error());
  Field root(*value, "", fileName);
  // Paths print as ".model.vocab"; the root itself as "(root)".
  if (!value->getAsObject())
    return Field(*value, "(root)", fileName).error("an object");
  Expected<std::unique_ptr<TokenizerImpl>> impl = parseTokenizerJson(root);
  if (!impl)
    return impl.takeStatus();
  return TokenizerImpl::wrap(std::move(*impl));
}

Expected<std::unique_ptr<Tokenizer>> Tokenizer::fromGGUF(const GGUFFile &file) {
  Expected<std::unique_ptr<TokenizerImpl>> impl = loadGGUF(file);
  if (!impl)
    return impl.takeStatus();
  return TokenizerImpl::wrap(std::move(*impl));
}

/// Whether `path` names a GGUF file (by its extension, as llm-run tells a
/// GGUF model from a folder).
static bool isGGUFPath(const std::string &path) {
  if (path.size() < 5)
    return false;
  std::string ext = path.substr(path.size() - 5);
  for (char &c : ext)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == ".gguf";
}

Expected<std::unique_ptr<Tokenizer>> Tokenizer::load(const std::string &path) {
  if (isGGUFPath(path) && !isDirectory(path)) {
    Expected<std::unique_ptr<GGUFFile>> file = GGUFFile::open(path);
    if (!file)
      return file.takeStatus();
    return fromGGUF(**file);
  }
  std::string file = path;
  if (isDirectory(path)) {
    std::string dir = path;
    while (dir.size() > 1 && dir.back() == '/')
      dir.pop_back();
    file = dir + "/tokenizer.json";
    if (!exists(file)) {
      Expected<std::unique_ptr<TokenizerImpl>> impl = Status::ok();
      if (exists(dir + "/vocab.json") || exists(dir + "/merges.txt"))
        impl = loadGpt2Files(dir);
      else if (exists(dir + "/tokenizer.model"))
        impl = loadSentencePiece(dir);
      else if (exists(dir + "/vocab.txt"))
        impl = loadBertVocab(dir);
      else
        return Status::error(
            ErrorCode::Io,
            dir + ": expected a tokenizer: tokenizer.json, vocab.json + "
                  "merges.txt, vocab.txt or tokenizer.model, found none");
      if (!impl)
        return impl.takeStatus();
      return TokenizerImpl::wrap(std::move(*impl));
    }
  }
  Expected<std::string> text = readTextFile(file);
  if (!text)
    return text.takeStatus();
  return fromJson(*text, file);
}

Expected<std::vector<int32_t>> Tokenizer::encode(std::string_view text,
                                                 bool addSpecialTokens,
                                                 bool truncateAndPad) const {
  return impl->encode(text, addSpecialTokens, truncateAndPad);
}

Expected<std::string> Tokenizer::decode(const std::vector<int32_t> &ids,
                                        bool skipSpecialTokens) const {
  return impl->decode(ids, skipSpecialTokens);
}

std::optional<int32_t> Tokenizer::tokenToId(std::string_view token) const {
  return impl->tokenToId(token);
}

std::optional<std::string> Tokenizer::idToToken(int32_t id) const {
  return impl->idToToken(id);
}

bool Tokenizer::isSpecial(int32_t id) const { return impl->isSpecial(id); }

int64_t Tokenizer::getVocabSize() const { return impl->getVocabSize(); }

const std::string &Tokenizer::describe() const { return impl->description; }

//===----------------------------------------------------------------------===//
// DecodeStream
//===----------------------------------------------------------------------===//

namespace {
bool endsWithReplacement(const std::string &s) {
  return s.size() >= 3 && s.compare(s.size() - 3, 3, "\xef\xbf\xbd") == 0;
}
} // namespace

Status DecodeStream::prime(const std::vector<int32_t> &promptIds) {
  // A few ids of context are enough for any decoder's first-token rule and
  // to complete a character split over byte tokens.
  constexpr size_t kContext = 8;
  size_t from = promptIds.size() > kContext ? promptIds.size() - kContext : 0;
  ids.assign(promptIds.begin() + static_cast<ptrdiff_t>(from), promptIds.end());
  Expected<std::string> text = tokenizer.decode(ids, skipSpecialTokens);
  if (!text)
    return text.takeStatus();
  prefix = std::move(*text);
  prefixIndex = 0;
  readIndex = ids.size();
  return Status::ok();
}

Expected<std::string> DecodeStream::push(int32_t id) {
  ids.push_back(id);
  Expected<std::string> text = tokenizer.decode(
      std::vector<int32_t>(ids.begin() + static_cast<ptrdiff_t>(prefixIndex),
                           ids.end()),
      skipSpecialTokens);
  if (!text)
    return text.takeStatus();
  if (text->size() <= prefix.size() || endsWithReplacement(*text))
    return std::string();
  std::string added;
  if (text->compare(0, prefix.size(), prefix) == 0)
    added = text->substr(prefix.size());
  else
    added = *text; // a decoder rewrote the context: emit it all
  // The window restarts at the ids that produced the text just returned.
  prefixIndex = readIndex;
  readIndex = ids.size();
  Expected<std::string> window = tokenizer.decode(
      std::vector<int32_t>(ids.begin() + static_cast<ptrdiff_t>(prefixIndex),
                           ids.end()),
      skipSpecialTokens);
  if (!window)
    return window.takeStatus();
  prefix = std::move(*window);
  return added;
}

Expected<std::string> DecodeStream::flush() {
  Expected<std::string> text = tokenizer.decode(
      std::vector<int32_t>(ids.begin() + static_cast<ptrdiff_t>(prefixIndex),
                           ids.end()),
      skipSpecialTokens);
  if (!text)
    return text.takeStatus();
  if (text->size() <= prefix.size() ||
      text->compare(0, prefix.size(), prefix) != 0)
    return std::string();
  std::string rest = text->substr(prefix.size());
  prefix = std::move(*text);
  return rest;
}
