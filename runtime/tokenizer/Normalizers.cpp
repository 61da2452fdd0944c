//===- Normalizers.cpp - tokenizer.json normalizers -----------------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// NFC, NFD, NFKC, NFKD, Lowercase, StripAccents, Strip, Replace, Prepend,
// BertNormalizer, Precompiled (SentencePiece's charsmap), Nmt, ByteLevel and
// Sequence, each as `tokenizers` defines it on Rust's char properties.
//
//===----------------------------------------------------------------------===//

#include "tokenizer/Components.h"
#include "tokenizer/Unicode.h"

#include <cstring>

using namespace llmrt;
using namespace llmrt::tok;

namespace {

/// Rewrites each code point of `s` through `f`, which appends to `out`.
template <typename F> void mapChars(std::string &s, F f) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    char32_t c = unicode::next(s, i);
    f(c, out);
  }
  s = std::move(out);
}

class UnicodeNormalizer : public Normalizer {
public:
  explicit UnicodeNormalizer(unicode::Form form) : form(form) {}
  void normalize(std::string &s, bool &) const override {
    s = unicode::normalize(s, form);
  }

private:
  unicode::Form form;
};

class Lowercase : public Normalizer {
public:
  void normalize(std::string &s, bool &) const override {
    s = unicode::lowercase(s);
  }
};

class StripAccents : public Normalizer {
public:
  void normalize(std::string &s, bool &atStart) const override {
    bool first = true;
    mapChars(s, [&](char32_t c, std::string &out) {
      if (!unicode::isMark(c)) {
        unicode::append(out, c);
        first = false;
      } else if (first) {
        atStart = false;
      }
    });
  }
};

class Strip : public Normalizer {
public:
  Strip(bool left, bool right) : left(left), right(right) {}
  void normalize(std::string &s, bool &atStart) const override {
    size_t begin = 0, end = s.size();
    if (left) {
      while (begin < end) {
        size_t i = begin;
        if (!unicode::isWhitespace(unicode::next(s, i)))
          break;
        begin = i;
      }
    }
    if (right) {
      while (end > begin) {
        size_t start = end - 1;
        while (start > begin &&
               (static_cast<unsigned char>(s[start]) & 0xc0) == 0x80)
          --start;
        size_t i = start;
        if (!unicode::isWhitespace(unicode::next(s, i)))
          break;
        end = start;
      }
    }
    if (begin > 0)
      atStart = false;
    s = s.substr(begin, end - begin);
  }

private:
  bool left, right;
};

class Replace : public Normalizer {
public:
  Replace(Regex pattern, std::string content)
      : pattern(std::move(pattern)), content(std::move(content)) {}
  void normalize(std::string &s, bool &atStart) const override {
    if (pattern.replaceAll(s, content))
      atStart = false;
  }

private:
  Regex pattern;
  std::string content;
};

class Prepend : public Normalizer {
public:
  explicit Prepend(std::string prefix) : prefix(std::move(prefix)) {}
  void normalize(std::string &s, bool &) const override {
    if (!s.empty())
      s.insert(0, prefix);
  }

private:
  std::string prefix;
};

bool isChineseChar(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

class BertNormalizer : public Normalizer {
public:
  BertNormalizer(bool cleanText, bool handleChineseChars,
                 std::optional<bool> stripAccents, bool lowercase)
      : cleanText(cleanText), handleChineseChars(handleChineseChars),
        stripAccents(stripAccents.value_or(lowercase)), lowercase(lowercase) {}
  void normalize(std::string &s, bool &atStart) const override {
    if (cleanText) {
      bool first = true;
      mapChars(s, [&](char32_t c, std::string &out) {
        bool control =
            c != '\t' && c != '\n' && c != '\r' && unicode::isOther(c);
        if (c == 0 || c == 0xfffd || control) {
          if (first)
            atStart = false;
          return;
        }
        first = false;
        bool space =
            c == '\t' || c == '\n' || c == '\r' || unicode::isWhitespace(c);
        unicode::append(out, space ? ' ' : c);
      });
    }
    if (handleChineseChars) {
      mapChars(s, [](char32_t c, std::string &out) {
        if (isChineseChar(c)) {
          out += ' ';
          unicode::append(out, c);
          out += ' ';
        } else {
          unicode::append(out, c);
        }
      });
    }
    if (stripAccents) {
      s = unicode::normalize(s, unicode::Form::NFD);
      mapChars(s, [](char32_t c, std::string &out) {
        if (!unicode::isNonspacingMark(c))
          unicode::append(out, c);
      });
    }
    if (lowercase)
      s = unicode::lowercase(s);
  }

private:
  bool cleanText, handleChineseChars, stripAccents, lowercase;
};

class Nmt : public Normalizer {
public:
  void normalize(std::string &s, bool &) const override {
    mapChars(s, [](char32_t c, std::string &out) {
      if ((c >= 0x1 && c <= 0x8) || c == 0xb || (c >= 0xe && c <= 0x1f) ||
          c == 0x7f || c == 0x8f || c == 0x9f)
        return;
      bool space = c == 0x9 || c == 0xa || c == 0xc || c == 0xd ||
                   c == 0x1680 || (c >= 0x200b && c <= 0x200f) || c == 0x2028 ||
                   c == 0x2029 || c == 0x2581 || c == 0xfeff || c == 0xfffd;
      unicode::append(out, space ? ' ' : c);
    });
  }
};

class ByteLevelNormalizer : public Normalizer {
public:
  void normalize(std::string &s, bool &) const override {
    std::string out;
    out.reserve(s.size() * 2);
    for (unsigned char b : s)
      unicode::append(out, byteToChar(b));
    s = std::move(out);
  }
};

/// SentencePiece's precompiled normalizer: a darts-clone double array that
/// maps UTF-8 strings to offsets of replacements in a string pool. Each
/// extended grapheme cluster shorter than 6 bytes is looked up whole, then
/// (when it has no rule) each of its code points; a lookup takes the
/// shortest rule that is a prefix of the chunk, as `tokenizers` does.
class Precompiled : public Normalizer {
public:
  Precompiled(std::vector<uint32_t> units, std::string pool)
      : units(std::move(units)), pool(std::move(pool)) {}

  void normalize(std::string &s, bool &) const override {
    std::string out;
    out.reserve(s.size());
    std::vector<size_t> bounds = unicode::graphemeBoundaries(s);
    for (size_t g = 0; g + 1 < bounds.size(); ++g) {
      std::string_view grapheme(s.data() + bounds[g],
                                bounds[g + 1] - bounds[g]);
      if (grapheme.size() < 6)
        if (const char *norm = transform(grapheme)) {
          out += norm;
          continue;
        }
      for (size_t i = 0; i < grapheme.size();) {
        size_t begin = i;
        unicode::next(grapheme, i);
        std::string_view part = grapheme.substr(begin, i - begin);
        if (const char *norm = transform(part))
          out += norm;
        else
          out.append(part);
      }
    }
    s = std::move(out);
  }

private:
  static uint32_t offset(uint32_t unit) {
    return (unit >> 10) << ((unit & (1u << 9)) >> 6);
  }
  static uint32_t label(uint32_t unit) { return unit & ((1u << 31) | 0xff); }
  static bool hasLeaf(uint32_t unit) { return (unit >> 8) & 1; }
  static uint32_t value(uint32_t unit) { return unit & ((1u << 31) - 1); }

  /// The replacement of the shortest rule that is a prefix of `chunk`.
  const char *transform(std::string_view chunk) const {
    if (units.empty())
      return nullptr;
    size_t node = offset(units[0]);
    for (unsigned char c : chunk) {
      if (c == 0)
        return nullptr;
      node ^= c;
      if (node >= units.size())
        return nullptr;
      uint32_t unit = units[node];
      if (label(unit) != c)
        return nullptr;
      node ^= offset(unit);
      if (node >= units.size())
        return nullptr;
      if (hasLeaf(unit)) {
        uint32_t index = value(units[node]);
        if (index >= pool.size())
          return nullptr;
        return pool.c_str() + index;
      }
    }
    return nullptr;
  }

  std::vector<uint32_t> units;
  /// Replacements, each ended by a NUL.
  std::string pool;
};

class Sequence : public Normalizer {
public:
  explicit Sequence(std::vector<std::unique_ptr<Normalizer>> parts)
      : parts(std::move(parts)) {}
  void normalize(std::string &s, bool &atStart) const override {
    for (const auto &p : parts)
      p->normalize(s, atStart);
  }

private:
  std::vector<std::unique_ptr<Normalizer>> parts;
};

std::optional<std::string> decodeBase64(std::string_view in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z')
      return c - 'A';
    if (c >= 'a' && c <= 'z')
      return c - 'a' + 26;
    if (c >= '0' && c <= '9')
      return c - '0' + 52;
    if (c == '+')
      return 62;
    if (c == '/')
      return 63;
    return -1;
  };
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t buffer = 0;
  int bits = 0;
  size_t i = 0;
  for (; i < in.size() && in[i] != '='; ++i) {
    int v = value(in[i]);
    if (v < 0)
      return std::nullopt;
    buffer = (buffer << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xff);
    }
  }
  for (; i < in.size(); ++i)
    if (in[i] != '=')
      return std::nullopt;
  return out;
}

Expected<Regex> parsePattern(const Field &field) {
  Expected<const json::Object *> object = field.getObject();
  if (!object)
    return object.takeStatus();
  Expected<std::optional<Field>> str = field.optionalMember("String");
  if (!str)
    return str.takeStatus();
  if (*str) {
    Expected<std::string> s = (*str)->getString();
    if (!s)
      return s.takeStatus();
    return Regex::literal(*s);
  }
  Expected<std::optional<Field>> re = field.optionalMember("Regex");
  if (!re)
    return re.takeStatus();
  if (!*re)
    return field.error("{\"String\": ...} or {\"Regex\": ...}");
  Expected<std::string> pattern = (*re)->getString();
  if (!pattern)
    return pattern.takeStatus();
  Expected<Regex> regex = Regex::compile(*pattern);
  if (!regex)
    return (*re)->fail("expected a regular expression, found " +
                       describeJson((*re)->get()) +
                       ", which does not compile: " + regex.error());
  return regex;
}

} // namespace

namespace llmrt::tok {
Expected<Regex> parseSplitPattern(const Field &field) {
  return parsePattern(field);
}
} // namespace llmrt::tok

Expected<std::unique_ptr<Normalizer>>
tok::makePrecompiled(std::string charsmap, const std::string &what) {
  if (charsmap.empty())
    return std::unique_ptr<Normalizer>(
        new Precompiled({}, std::string(1, '\0')));
  if (charsmap.size() < 4)
    return Status::error(ErrorCode::Format,
                         what +
                             ": expected a charsmap of at least 4 bytes, "
                             "found " +
                             std::to_string(charsmap.size()));
  uint32_t trieBytes = 0;
  for (int k = 0; k < 4; ++k)
    trieBytes |= static_cast<uint32_t>(static_cast<unsigned char>(charsmap[k]))
                 << (8 * k);
  if (trieBytes % 4 || trieBytes > charsmap.size() - 4)
    return Status::error(
        ErrorCode::Format,
        what + ": expected a trie size that is a multiple of 4 and at most " +
            std::to_string(charsmap.size() - 4) + " bytes, found " +
            std::to_string(trieBytes));
  std::vector<uint32_t> units(trieBytes / 4);
  std::memcpy(units.data(), charsmap.data() + 4, trieBytes);
  std::string pool = charsmap.substr(4 + trieBytes);
  if (!unicode::isValidUtf8(pool))
    return Status::error(ErrorCode::Format,
                         what + ": expected UTF-8 replacement strings, found "
                                "invalid UTF-8");
  pool += '\0';
  return std::unique_ptr<Normalizer>(
      new Precompiled(std::move(units), std::move(pool)));
}

std::unique_ptr<Normalizer>
tok::makeBertNormalizer(bool cleanText, bool handleChineseChars,
                        std::optional<bool> stripAccents, bool lowercase) {
  return std::make_unique<BertNormalizer>(cleanText, handleChineseChars,
                                          stripAccents, lowercase);
}

std::unique_ptr<Normalizer> tok::makeReplace(Regex pattern,
                                             std::string content) {
  return std::make_unique<Replace>(std::move(pattern), std::move(content));
}

std::unique_ptr<Normalizer> tok::makePrepend(std::string prefix) {
  return std::make_unique<Prepend>(std::move(prefix));
}

std::unique_ptr<Normalizer> tok::makeNfc() {
  return std::make_unique<UnicodeNormalizer>(unicode::Form::NFC);
}

std::unique_ptr<Normalizer>
tok::makeNormalizerSequence(std::vector<std::unique_ptr<Normalizer>> parts) {
  return std::make_unique<Sequence>(std::move(parts));
}

Expected<std::unique_ptr<Normalizer>> tok::parseNormalizer(const Field &field) {
  Expected<std::string> type =
      field.getType({"NFC", "NFD", "NFKC", "NFKD", "Lowercase", "StripAccents",
                     "Strip", "Replace", "Prepend", "BertNormalizer",
                     "Precompiled", "Nmt", "ByteLevel", "Sequence"});
  if (!type)
    return type.takeStatus();
  using Result = std::unique_ptr<Normalizer>;
  if (*type == "NFC")
    return Result(new UnicodeNormalizer(unicode::Form::NFC));
  if (*type == "NFD")
    return Result(new UnicodeNormalizer(unicode::Form::NFD));
  if (*type == "NFKC")
    return Result(new UnicodeNormalizer(unicode::Form::NFKC));
  if (*type == "NFKD")
    return Result(new UnicodeNormalizer(unicode::Form::NFKD));
  if (*type == "Lowercase")
    return Result(new Lowercase());
  if (*type == "StripAccents")
    return Result(new StripAccents());
  if (*type == "Nmt")
    return Result(new Nmt());
  if (*type == "ByteLevel")
    return Result(new ByteLevelNormalizer());
  if (*type == "Strip") {
    Expected<bool> left = field.getBool("strip_left", true);
    if (!left)
      return left.takeStatus();
    Expected<bool> right = field.getBool("strip_right", true);
    if (!right)
      return right.takeStatus();
    return Result(new Strip(*left, *right));
  }
  if (*type == "Replace") {
    Expected<Field> pattern = field.member("pattern");
    if (!pattern)
      return pattern.takeStatus();
    Expected<Regex> regex = parsePattern(*pattern);
    if (!regex)
      return regex.takeStatus();
    Expected<Field> content = field.member("content");
    if (!content)
      return content.takeStatus();
    Expected<std::string> text = content->getString();
    if (!text)
      return text.takeStatus();
    return makeReplace(std::move(*regex), std::move(*text));
  }
  if (*type == "Prepend") {
    Expected<Field> prepend = field.member("prepend");
    if (!prepend)
      return prepend.takeStatus();
    Expected<std::string> text = prepend->getString();
    if (!text)
      return text.takeStatus();
    return makePrepend(std::move(*text));
  }
  if (*type == "BertNormalizer") {
    Expected<bool> clean = field.getBool("clean_text", true);
    if (!clean)
      return clean.takeStatus();
    Expected<bool> chinese = field.getBool("handle_chinese_chars", true);
    if (!chinese)
      return chinese.takeStatus();
    Expected<bool> lower = field.getBool("lowercase", true);
    if (!lower)
      return lower.takeStatus();
    Expected<std::optional<Field>> strip =
        field.optionalMember("strip_accents");
    if (!strip)
      return strip.takeStatus();
    std::optional<bool> stripAccents;
    if (*strip) {
      Expected<bool> b = (*strip)->getBool();
      if (!b)
        return b.takeStatus();
      stripAccents = *b;
    }
    return makeBertNormalizer(*clean, *chinese, stripAccents, *lower);
  }
  if (*type == "Precompiled") {
    Expected<Field> map = field.member("precompiled_charsmap");
    if (!map)
      return map.takeStatus();
    Expected<std::string> text = map->getString();
    if (!text)
      return text.takeStatus();
    std::optional<std::string> bytes = decodeBase64(*text);
    if (!bytes)
      return map->error("base64 text");
    return makePrecompiled(std::move(*bytes),
                           field.getFile() + ": field " + map->getPath());
  }
  // Sequence
  Expected<Field> list = field.member("normalizers");
  if (!list)
    return list.takeStatus();
  Expected<const json::Array *> array = list->getArray();
  if (!array)
    return array.takeStatus();
  std::vector<std::unique_ptr<Normalizer>> parts;
  for (size_t i = 0; i < (*array)->size(); ++i) {
    Expected<std::unique_ptr<Normalizer>> part =
        parseNormalizer(list->element(i));
    if (!part)
      return part.takeStatus();
    parts.push_back(std::move(*part));
  }
  return makeNormalizerSequence(std::move(parts));
}
