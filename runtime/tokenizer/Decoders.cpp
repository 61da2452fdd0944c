//===- Decoders.cpp - tokenizer.json decoders and post-processors ---------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// Decoders: ByteLevel, Metaspace, WordPiece, ByteFallback, Fuse, Strip,
// Replace, BPEDecoder and Sequence. Post-processors: TemplateProcessing,
// BertProcessing, RobertaProcessing, ByteLevel (which changes no id) and
// Sequence, for a single sequence.
//
//===----------------------------------------------------------------------===//

#include "tokenizer/Components.h"
#include "tokenizer/Unicode.h"

#include <limits>

using namespace llmrt;
using namespace llmrt::tok;

namespace llmrt::tok {
Expected<int> parseMetaspaceScheme(const Field &field);
Expected<char32_t> parseReplacementChar(const Field &field);
} // namespace llmrt::tok

namespace {

const char *const kReplacementChar = "\xef\xbf\xbd";

class ByteLevelDecoder : public Decoder {
public:
  void decodeChain(std::vector<std::string> &tokens) const override {
    std::string bytes;
    for (const std::string &t : tokens) {
      size_t mark = bytes.size();
      bool mapped = true;
      for (size_t i = 0; i < t.size();) {
        int b = byteOfChar(unicode::next(t, i));
        if (b < 0) {
          mapped = false;
          break;
        }
        bytes += static_cast<char>(b);
      }
      if (!mapped) {
        bytes.resize(mark);
        bytes += t;
      }
    }
    tokens.assign(1, unicode::repairUtf8(bytes));
  }
};

class MetaspaceDecoder : public Decoder {
public:
  MetaspaceDecoder(char32_t replacement, int scheme)
      : replacement(replacement), scheme(scheme) {}
  void decodeChain(std::vector<std::string> &tokens) const override {
    for (size_t k = 0; k < tokens.size(); ++k) {
      std::string out;
      const std::string &t = tokens[k];
      for (size_t i = 0; i < t.size();) {
        size_t begin = i;
        char32_t c = unicode::next(t, i);
        if (c == replacement) {
          if (!(k == 0 && scheme != PrependNever))
            out += ' ';
        } else {
          out.append(t, begin, i - begin);
        }
      }
      tokens[k] = std::move(out);
    }
  }

private:
  char32_t replacement;
  int scheme;
};

void replaceAll(std::string &s, std::string_view from, std::string_view to) {
  std::string out;
  size_t prev = 0;
  for (size_t at = s.find(from); at != std::string::npos;
       at = s.find(from, prev)) {
    out.append(s, prev, at - prev);
    out += to;
    prev = at + from.size();
  }
  if (prev == 0)
    return;
  out.append(s, prev, std::string::npos);
  s = std::move(out);
}

class WordPieceDecoder : public Decoder {
public:
  WordPieceDecoder(std::string prefix, bool cleanup)
      : prefix(std::move(prefix)), cleanup(cleanup) {}
  void decodeChain(std::vector<std::string> &tokens) const override {
    for (size_t k = 0; k < tokens.size(); ++k) {
      std::string &t = tokens[k];
      if (k != 0) {
        if (t.compare(0, prefix.size(), prefix) == 0)
          t.erase(0, prefix.size());
        else
          t.insert(0, " ");
      }
      if (cleanup) {
        replaceAll(t, " .", ".");
        replaceAll(t, " ?", "?");
        replaceAll(t, " !", "!");
        replaceAll(t, " ,", ",");
        replaceAll(t, " ' ", "'");
        replaceAll(t, " n't", "n't");
        replaceAll(t, " 'm", "'m");
        replaceAll(t, " do not", " don't");
        replaceAll(t, " 's", "'s");
        replaceAll(t, " 've", "'ve");
        replaceAll(t, " 're", "'re");
      }
    }
  }

private:
  std::string prefix;
  bool cleanup;
};

class ByteFallbackDecoder : public Decoder {
public:
  void decodeChain(std::vector<std::string> &tokens) const override {
    std::vector<std::string> out;
    std::string pending;
    auto flush = [&]() {
      if (pending.empty())
        return;
      if (unicode::isValidUtf8(pending))
        out.push_back(pending);
      else
        for (size_t i = 0; i < pending.size(); ++i)
          out.push_back(kReplacementChar);
      pending.clear();
    };
    for (std::string &t : tokens) {
      int byte = -1;
      if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>') {
        auto hex = [](char c) -> int {
          if (c >= '0' && c <= '9')
            return c - '0';
          if (c >= 'a' && c <= 'f')
            return c - 'a' + 10;
          if (c >= 'A' && c <= 'F')
            return c - 'A' + 10;
          return -1;
        };
        int hi = hex(t[3]), lo = hex(t[4]);
        if (hi >= 0 && lo >= 0)
          byte = hi * 16 + lo;
      }
      if (byte >= 0) {
        pending += static_cast<char>(byte);
        continue;
      }
      flush();
      out.push_back(std::move(t));
    }
    flush();
    tokens = std::move(out);
  }
};

class FuseDecoder : public Decoder {
public:
  void decodeChain(std::vector<std::string> &tokens) const override {
    std::string all;
    for (const std::string &t : tokens)
      all += t;
    tokens.assign(1, std::move(all));
  }
};

class StripDecoder : public Decoder {
public:
  StripDecoder(char32_t content, size_t start, size_t stop)
      : content(content), start(start), stop(stop) {}
  void decodeChain(std::vector<std::string> &tokens) const override {
    for (std::string &t : tokens) {
      std::u32string chars = unicode::decode(t);
      size_t startCut = 0;
      for (size_t i = 0; i < start && i < chars.size(); ++i) {
        if (chars[i] != content)
          break;
        startCut = i + 1;
      }
      size_t stopCut = chars.size();
      for (size_t i = 0; i < stop && i < chars.size(); ++i) {
        size_t index = chars.size() - i - 1;
        if (chars[index] != content)
          break;
        stopCut = index;
      }
      if (stopCut < startCut)
        stopCut = startCut;
      t = unicode::encode(
          std::u32string_view(chars).substr(startCut, stopCut - startCut));
    }
  }

private:
  char32_t content;
  size_t start, stop;
};

class ReplaceDecoder : public Decoder {
public:
  ReplaceDecoder(Regex pattern, std::string content)
      : pattern(std::move(pattern)), content(std::move(content)) {}
  void decodeChain(std::vector<std::string> &tokens) const override {
    for (std::string &t : tokens)
      pattern.replaceAll(t, content);
  }

private:
  Regex pattern;
  std::string content;
};

class BpeDecoder : public Decoder {
public:
  explicit BpeDecoder(std::string suffix) : suffix(std::move(suffix)) {}
  void decodeChain(std::vector<std::string> &tokens) const override {
    for (size_t k = 0; k < tokens.size(); ++k)
      replaceAll(tokens[k], suffix, k + 1 == tokens.size() ? "" : " ");
  }

private:
  std::string suffix;
};

class DecoderSequence : public Decoder {
public:
  explicit DecoderSequence(std::vector<std::unique_ptr<Decoder>> parts)
      : parts(std::move(parts)) {}
  void decodeChain(std::vector<std::string> &tokens) const override {
    for (const auto &p : parts)
      p->decodeChain(tokens);
  }

private:
  std::vector<std::unique_ptr<Decoder>> parts;
};

//===----------------------------------------------------------------------===//
// Post-processors
//===----------------------------------------------------------------------===//

class Wrap : public PostProcessor {
public:
  Wrap(std::vector<int32_t> before, std::vector<int32_t> after)
      : before(std::move(before)), after(std::move(after)) {}
  void process(std::vector<int32_t> &ids) const override {
    ids.insert(ids.begin(), before.begin(), before.end());
    ids.insert(ids.end(), after.begin(), after.end());
  }
  size_t addedCount() const override { return before.size() + after.size(); }

private:
  std::vector<int32_t> before, after;
};

class ProcessorSequence : public PostProcessor {
public:
  explicit ProcessorSequence(std::vector<std::unique_ptr<PostProcessor>> parts)
      : parts(std::move(parts)) {}
  void process(std::vector<int32_t> &ids) const override {
    for (const auto &p : parts)
      p->process(ids);
  }
  size_t addedCount() const override {
    size_t n = 0;
    for (const auto &p : parts)
      n += p->addedCount();
    return n;
  }

private:
  std::vector<std::unique_ptr<PostProcessor>> parts;
};

/// ["token", id] of Bert/RobertaProcessing.
Expected<int32_t> parseTokenPair(const Field &field, std::string_view key) {
  Expected<Field> f = field.member(key);
  if (!f)
    return f.takeStatus();
  const json::Array *pair = f->get().getAsArray();
  if (!pair || pair->size() != 2 || !(*pair)[0].getAsString() ||
      !(*pair)[1].getAsInt64() || *(*pair)[1].getAsInt64() < 0 ||
      *(*pair)[1].getAsInt64() > std::numeric_limits<int32_t>::max())
    return f->error("[\"token\", id]");
  return static_cast<int32_t>(*(*pair)[1].getAsInt64());
}

Expected<std::unique_ptr<PostProcessor>> parseTemplate(const Field &field) {
  Expected<Field> single = field.member("single");
  if (!single)
    return single.takeStatus();
  Expected<const json::Array *> items = single->getArray();
  if (!items)
    return items.takeStatus();
  Expected<std::optional<Field>> specials =
      field.optionalMember("special_tokens");
  if (!specials)
    return specials.takeStatus();
  std::vector<int32_t> before, after;
  bool seenSequence = false;
  for (size_t i = 0; i < (*items)->size(); ++i) {
    Field item = single->element(i);
    Expected<std::optional<Field>> seq = item.optionalMember("Sequence");
    if (!seq)
      return seq.takeStatus();
    if (*seq) {
      Expected<std::string> id = (*seq)->getString("id", "A");
      if (!id)
        return id.takeStatus();
      if (*id != "A")
        return (*seq)->member("id")->error("\"A\" in a single template");
      if (seenSequence)
        return item.error("one $A in a single template");
      seenSequence = true;
      continue;
    }
    Expected<std::optional<Field>> special =
        item.optionalMember("SpecialToken");
    if (!special)
      return special.takeStatus();
    if (!*special)
      return item.error("{\"Sequence\": ...} or {\"SpecialToken\": ...}");
    Expected<Field> idField = (*special)->member("id");
    if (!idField)
      return idField.takeStatus();
    Expected<std::string> name = idField->getString();
    if (!name)
      return name.takeStatus();
    std::optional<Field> entry;
    if (*specials) {
      Expected<std::optional<Field>> e = (*specials)->optionalMember(*name);
      if (!e)
        return e.takeStatus();
      entry = *e;
    }
    if (!entry)
      return idField->error("a token of " + field.getPath() +
                            ".special_tokens");
    Expected<Field> ids = entry->member("ids");
    if (!ids)
      return ids.takeStatus();
    Expected<const json::Array *> idArray = ids->getArray();
    if (!idArray)
      return idArray.takeStatus();
    std::vector<int32_t> &target = seenSequence ? after : before;
    for (size_t k = 0; k < (*idArray)->size(); ++k) {
      Expected<int64_t> id =
          ids->element(k).getInt(0, std::numeric_limits<int32_t>::max());
      if (!id)
        return id.takeStatus();
      target.push_back(static_cast<int32_t>(*id));
    }
  }
  return makeWrapProcessor(std::move(before), std::move(after));
}

} // namespace

std::unique_ptr<Decoder> tok::makeByteLevelDecoder() {
  return std::make_unique<ByteLevelDecoder>();
}
std::unique_ptr<Decoder> tok::makeWordPieceDecoder(std::string prefix,
                                                   bool cleanup) {
  return std::make_unique<WordPieceDecoder>(std::move(prefix), cleanup);
}
std::unique_ptr<Decoder> tok::makeMetaspaceDecoder(char32_t replacement,
                                                   int scheme) {
  return std::make_unique<MetaspaceDecoder>(replacement, scheme);
}
std::unique_ptr<Decoder> tok::makeByteFallbackDecoder() {
  return std::make_unique<ByteFallbackDecoder>();
}
std::unique_ptr<Decoder> tok::makeFuseDecoder() {
  return std::make_unique<FuseDecoder>();
}
std::unique_ptr<Decoder> tok::makeStripDecoder(char32_t content, size_t start,
                                               size_t stop) {
  return std::make_unique<StripDecoder>(content, start, stop);
}
std::unique_ptr<Decoder> tok::makeReplaceDecoder(Regex pattern,
                                                 std::string content) {
  return std::make_unique<ReplaceDecoder>(std::move(pattern),
                                          std::move(content));
}
std::unique_ptr<Decoder>
tok::makeDecoderSequence(std::vector<std::unique_ptr<Decoder>> parts) {
  return std::make_unique<DecoderSequence>(std::move(parts));
}
std::unique_ptr<PostProcessor>
tok::makeWrapProcessor(std::vector<int32_t> before,
                       std::vector<int32_t> after) {
  return std::make_unique<Wrap>(std::move(before), std::move(after));
}

Expected<std::unique_ptr<Decoder>> tok::parseDecoder(const Field &field) {
  Expected<std::string> type =
      field.getType({"ByteLevel", "Metaspace", "WordPiece", "ByteFallback",
                     "Fuse", "Strip", "Replace", "BPEDecoder", "Sequence"});
  if (!type)
    return type.takeStatus();
  using Result = std::unique_ptr<Decoder>;
  if (*type == "ByteLevel")
    return makeByteLevelDecoder();
  if (*type == "ByteFallback")
    return makeByteFallbackDecoder();
  if (*type == "Fuse")
    return makeFuseDecoder();
  if (*type == "Metaspace") {
    Expected<char32_t> replacement = parseReplacementChar(field);
    if (!replacement)
      return replacement.takeStatus();
    Expected<int> scheme = parseMetaspaceScheme(field);
    if (!scheme)
      return scheme.takeStatus();
    return makeMetaspaceDecoder(*replacement, *scheme);
  }
  if (*type == "WordPiece") {
    Expected<std::string> prefix = field.getString("prefix", "##");
    if (!prefix)
      return prefix.takeStatus();
    Expected<bool> cleanup = field.getBool("cleanup", true);
    if (!cleanup)
      return cleanup.takeStatus();
    return makeWordPieceDecoder(std::move(*prefix), *cleanup);
  }
  if (*type == "Strip") {
    Expected<Field> contentField = field.member("content");
    if (!contentField)
      return contentField.takeStatus();
    Expected<std::string> content = contentField->getString();
    if (!content)
      return content.takeStatus();
    std::u32string chars = unicode::decode(*content);
    if (chars.size() != 1)
      return contentField->error("a single character");
    size_t counts[2] = {0, 0};
    const char *keys[2] = {"start", "stop"};
    for (int k = 0; k < 2; ++k) {
      Expected<std::optional<Field>> f = field.optionalMember(keys[k]);
      if (!f)
        return f.takeStatus();
      if (*f) {
        Expected<int64_t> n = (*f)->getInt(0, 1 << 20);
        if (!n)
          return n.takeStatus();
        counts[k] = static_cast<size_t>(*n);
      }
    }
    return makeStripDecoder(chars[0], counts[0], counts[1]);
  }
  if (*type == "Replace") {
    Expected<Field> pattern = field.member("pattern");
    if (!pattern)
      return pattern.takeStatus();
    Expected<Regex> regex = parseSplitPattern(*pattern);
    if (!regex)
      return regex.takeStatus();
    Expected<Field> content = field.member("content");
    if (!content)
      return content.takeStatus();
    Expected<std::string> text = content->getString();
    if (!text)
      return text.takeStatus();
    return makeReplaceDecoder(std::move(*regex), std::move(*text));
  }
  if (*type == "BPEDecoder") {
    Expected<std::string> suffix = field.getString("suffix", "</w>");
    if (!suffix)
      return suffix.takeStatus();
    return Result(new BpeDecoder(std::move(*suffix)));
  }
  Expected<Field> list = field.member("decoders");
  if (!list)
    return list.takeStatus();
  Expected<const json::Array *> array = list->getArray();
  if (!array)
    return array.takeStatus();
  std::vector<std::unique_ptr<Decoder>> parts;
  for (size_t i = 0; i < (*array)->size(); ++i) {
    Expected<std::unique_ptr<Decoder>> part = parseDecoder(list->element(i));
    if (!part)
      return part.takeStatus();
    parts.push_back(std::move(*part));
  }
  return makeDecoderSequence(std::move(parts));
}

Expected<std::unique_ptr<PostProcessor>>
tok::parsePostProcessor(const Field &field) {
  Expected<std::string> type =
      field.getType({"TemplateProcessing", "BertProcessing",
                     "RobertaProcessing", "ByteLevel", "Sequence"});
  if (!type)
    return type.takeStatus();
  if (*type == "TemplateProcessing")
    return parseTemplate(field);
  if (*type == "BertProcessing" || *type == "RobertaProcessing") {
    Expected<int32_t> cls = parseTokenPair(field, "cls");
    if (!cls)
      return cls.takeStatus();
    Expected<int32_t> sep = parseTokenPair(field, "sep");
    if (!sep)
      return sep.takeStatus();
    return makeWrapProcessor({*cls}, {*sep});
  }
  if (*type == "ByteLevel")
    return makeWrapProcessor({}, {});
  Expected<Field> list = field.member("processors");
  if (!list)
    return list.takeStatus();
  Expected<const json::Array *> array = list->getArray();
  if (!array)
    return array.takeStatus();
  std::vector<std::unique_ptr<PostProcessor>> parts;
  for (size_t i = 0; i < (*array)->size(); ++i) {
    Expected<std::unique_ptr<PostProcessor>> part =
        parsePostProcessor(list->element(i));
    if (!part)
      return part.takeStatus();
    parts.push_back(std::move(*part));
  }
  return std::unique_ptr<PostProcessor>(
      new ProcessorSequence(std::move(parts)));
}
