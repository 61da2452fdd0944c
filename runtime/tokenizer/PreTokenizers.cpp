//===- PreTokenizers.cpp - tokenizer.json pre-tokenizers ------------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// ByteLevel, Split, Metaspace, BertPreTokenizer, Whitespace,
// WhitespaceSplit, Punctuation, Digits, CharDelimiterSplit and Sequence.
//
//===----------------------------------------------------------------------===//

#include "tokenizer/Components.h"
#include "tokenizer/Unicode.h"

using namespace llmrt;
using namespace llmrt::tok;

namespace {

using Ranges = std::vector<std::pair<size_t, size_t>>;

/// Applies `split(piece, out)` to each piece that is not an added token.
template <typename F> void splitEach(Pieces &pieces, F split) {
  Pieces out;
  out.reserve(pieces.size() * 2);
  for (Piece &piece : pieces) {
    if (piece.id >= 0) {
      out.push_back(std::move(piece));
      continue;
    }
    split(piece, out);
  }
  pieces = std::move(out);
}

/// GPT-2's pattern, as `tokenizers`' ByteLevel uses it.
const char *const kGpt2Pattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|"
    "\\s+(?!\\S)|\\s+";

class ByteLevel : public PreTokenizer {
public:
  ByteLevel(bool addPrefixSpace, bool useRegex)
      : addPrefixSpace(addPrefixSpace) {
    if (useRegex) {
      Expected<Regex> compiled = Regex::compile(kGpt2Pattern);
      if (compiled)
        regex.emplace(std::move(*compiled));
    }
  }
  void preTokenize(Pieces &pieces) const override {
    Ranges matches;
    splitEach(pieces, [&](Piece &piece, Pieces &out) {
      if (addPrefixSpace && (piece.text.empty() || piece.text[0] != ' '))
        piece.text.insert(0, " ");
      size_t first = out.size();
      if (regex) {
        regex->findAll(piece.text, matches);
        splitAt(piece, matches, SplitBehavior::Isolated, false, out);
      } else if (!piece.text.empty()) {
        out.push_back(std::move(piece));
      }
      for (size_t i = first; i < out.size(); ++i) {
        std::string mapped;
        mapped.reserve(out[i].text.size() * 2);
        for (unsigned char b : out[i].text)
          unicode::append(mapped, byteToChar(b));
        out[i].text = std::move(mapped);
      }
    });
  }

private:
  bool addPrefixSpace;
  std::optional<Regex> regex;
};

class Split : public PreTokenizer {
public:
  Split(Regex pattern, SplitBehavior behavior, bool invert)
      : pattern(std::move(pattern)), behavior(behavior), invert(invert) {}
  void preTokenize(Pieces &pieces) const override {
    Ranges matches;
    splitEach(pieces, [&](Piece &piece, Pieces &out) {
      pattern.findAll(piece.text, matches);
      splitAt(piece, matches, behavior, invert, out);
    });
  }

private:
  Regex pattern;
  SplitBehavior behavior;
  bool invert;
};

class Metaspace : public PreTokenizer {
public:
  Metaspace(char32_t replacement, int scheme, bool split)
      : scheme(scheme), split(split), replacementChar(replacement) {
    unicode::append(this->replacement, replacement);
  }
  void preTokenize(Pieces &pieces) const override {
    Ranges matches;
    splitEach(pieces, [&](Piece &piece, Pieces &out) {
      std::string text;
      text.reserve(piece.text.size() + replacement.size());
      for (char c : piece.text) {
        if (c == ' ')
          text += replacement;
        else
          text += c;
      }
      bool startsWith = text.compare(0, replacement.size(), replacement) == 0;
      if ((scheme == PrependAlways && !startsWith) ||
          (scheme == PrependFirst && !startsWith && piece.atStart))
        text.insert(0, replacement);
      piece.text = std::move(text);
      if (!split) {
        if (!piece.text.empty())
          out.push_back(std::move(piece));
        return;
      }
      char32_t r = replacementChar;
      findChars(piece.text, [r](char32_t c) { return c == r; }, matches);
      splitAt(piece, matches, SplitBehavior::MergedWithNext, false, out);
    });
  }

private:
  int scheme;
  bool split;
  char32_t replacementChar;
  std::string replacement;
};

bool isBertPunctuation(char32_t c) {
  return unicode::isAsciiPunctuation(c) || unicode::isPunctuation(c);
}

/// Splits on a character predicate with `behavior`.
class CharSplit : public PreTokenizer {
public:
  CharSplit(bool (*pred)(char32_t), SplitBehavior behavior)
      : pred(pred), behavior(behavior) {}
  void preTokenize(Pieces &pieces) const override {
    Ranges matches;
    splitEach(pieces, [&](Piece &piece, Pieces &out) {
      findChars(piece.text, pred, matches);
      splitAt(piece, matches, behavior, false, out);
    });
  }

private:
  bool (*pred)(char32_t);
  SplitBehavior behavior;
};

class CharDelimiterSplit : public PreTokenizer {
public:
  explicit CharDelimiterSplit(char32_t delimiter) : delimiter(delimiter) {}
  void preTokenize(Pieces &pieces) const override {
    Ranges matches;
    char32_t d = delimiter;
    splitEach(pieces, [&](Piece &piece, Pieces &out) {
      findChars(piece.text, [d](char32_t c) { return c == d; }, matches);
      splitAt(piece, matches, SplitBehavior::Removed, false, out);
    });
  }

private:
  char32_t delimiter;
};

/// Whitespace: the words of Rust's regex \w+|[^\w\s]+, the rest removed.
class Whitespace : public PreTokenizer {
public:
  void preTokenize(Pieces &pieces) const override {
    Ranges matches;
    splitEach(pieces, [&](Piece &piece, Pieces &out) {
      matches.clear();
      const std::string &s = piece.text;
      // 0: space, 1: word, 2: other.
      auto classOf = [](char32_t c) {
        if (unicode::isWordChar(c))
          return 1;
        return unicode::isWhitespace(c) ? 0 : 2;
      };
      size_t i = 0;
      while (i < s.size()) {
        size_t begin = i;
        int kind = classOf(unicode::next(s, i));
        if (kind == 0)
          continue;
        size_t end = i;
        while (i < s.size()) {
          size_t at = i;
          if (classOf(unicode::next(s, i)) != kind) {
            i = at;
            break;
          }
          end = i;
        }
        matches.emplace_back(begin, end);
      }
      // Removed with invert: the matches are what stays.
      splitAt(piece, matches, SplitBehavior::Removed, true, out);
    });
  }
};

class Sequence : public PreTokenizer {
public:
  explicit Sequence(std::vector<std::unique_ptr<PreTokenizer>> parts)
      : parts(std::move(parts)) {}
  void preTokenize(Pieces &pieces) const override {
    for (const auto &p : parts)
      p->preTokenize(pieces);
  }

private:
  std::vector<std::unique_ptr<PreTokenizer>> parts;
};

class BertPreTokenizer : public PreTokenizer {
public:
  void preTokenize(Pieces &pieces) const override {
    spaces.preTokenize(pieces);
    punctuation.preTokenize(pieces);
  }

private:
  CharSplit spaces{[](char32_t c) { return unicode::isWhitespace(c); },
                   SplitBehavior::Removed};
  CharSplit punctuation{isBertPunctuation, SplitBehavior::Isolated};
};

Expected<char32_t> getChar(const Field &field, std::string_view key,
                           char32_t fallback) {
  Expected<std::optional<Field>> f = field.optionalMember(key);
  if (!f)
    return f.takeStatus();
  if (!*f)
    return fallback;
  Expected<std::string> s = (*f)->getString();
  if (!s)
    return s.takeStatus();
  std::u32string chars = unicode::decode(*s);
  if (chars.size() != 1)
    return (*f)->error("a single character");
  return chars[0];
}

} // namespace

std::unique_ptr<PreTokenizer> tok::makeBertPreTokenizer() {
  return std::make_unique<BertPreTokenizer>();
}

std::unique_ptr<PreTokenizer> tok::makeWhitespaceSplit() {
  return std::make_unique<CharSplit>(
      [](char32_t c) { return unicode::isWhitespace(c); },
      SplitBehavior::Removed);
}

std::unique_ptr<PreTokenizer> tok::makePreTokenizerSequence(
    std::vector<std::unique_ptr<PreTokenizer>> parts) {
  return std::make_unique<Sequence>(std::move(parts));
}

std::unique_ptr<PreTokenizer> tok::makeByteLevelPreTokenizer(bool addPrefix,
                                                             bool useRegex) {
  return std::make_unique<ByteLevel>(addPrefix, useRegex);
}

std::unique_ptr<PreTokenizer>
tok::makeSplitPreTokenizer(Regex pattern, SplitBehavior behavior, bool invert) {
  return std::make_unique<Split>(std::move(pattern), behavior, invert);
}

std::unique_ptr<PreTokenizer>
tok::makeMetaspacePreTokenizer(char32_t replacement, int scheme, bool split) {
  return std::make_unique<Metaspace>(replacement, scheme, split);
}

/// Metaspace's prepend scheme: "prepend_scheme", or the older
/// "add_prefix_space" (true: always).
static Expected<int> parsePrependScheme(const Field &field) {
  Expected<std::optional<Field>> scheme =
      field.optionalMember("prepend_scheme");
  if (!scheme)
    return scheme.takeStatus();
  if (*scheme) {
    Expected<std::string> name = (*scheme)->getString();
    if (!name)
      return name.takeStatus();
    if (*name == "always")
      return static_cast<int>(PrependAlways);
    if (*name == "first")
      return static_cast<int>(PrependFirst);
    if (*name == "never")
      return static_cast<int>(PrependNever);
    return (*scheme)->error("one of always, first, never");
  }
  Expected<bool> add = field.getBool("add_prefix_space", true);
  if (!add)
    return add.takeStatus();
  return static_cast<int>(*add ? PrependAlways : PrependNever);
}

namespace llmrt::tok {
Expected<int> parseMetaspaceScheme(const Field &field) {
  return parsePrependScheme(field);
}
Expected<char32_t> parseReplacementChar(const Field &field) {
  return getChar(field, "replacement", U'\u2581');
}
} // namespace llmrt::tok

Expected<std::unique_ptr<PreTokenizer>>
tok::parsePreTokenizer(const Field &field) {
  Expected<std::string> type =
      field.getType({"ByteLevel", "Split", "Metaspace", "BertPreTokenizer",
                     "Whitespace", "WhitespaceSplit", "Punctuation", "Digits",
                     "CharDelimiterSplit", "Sequence"});
  if (!type)
    return type.takeStatus();
  using Result = std::unique_ptr<PreTokenizer>;
  if (*type == "ByteLevel") {
    Expected<bool> prefix = field.getBool("add_prefix_space", true);
    if (!prefix)
      return prefix.takeStatus();
    Expected<bool> useRegex = field.getBool("use_regex", true);
    if (!useRegex)
      return useRegex.takeStatus();
    return makeByteLevelPreTokenizer(*prefix, *useRegex);
  }
  if (*type == "Split") {
    Expected<Field> pattern = field.member("pattern");
    if (!pattern)
      return pattern.takeStatus();
    Expected<Regex> regex = parseSplitPattern(*pattern);
    if (!regex)
      return regex.takeStatus();
    Expected<Field> behaviorField = field.member("behavior");
    if (!behaviorField)
      return behaviorField.takeStatus();
    Expected<SplitBehavior> behavior = parseSplitBehavior(*behaviorField);
    if (!behavior)
      return behavior.takeStatus();
    Expected<bool> invert = field.getBool("invert", false);
    if (!invert)
      return invert.takeStatus();
    return Result(new Split(std::move(*regex), *behavior, *invert));
  }
  if (*type == "Metaspace") {
    Expected<char32_t> replacement = getChar(field, "replacement", U'\u2581');
    if (!replacement)
      return replacement.takeStatus();
    Expected<int> scheme = parsePrependScheme(field);
    if (!scheme)
      return scheme.takeStatus();
    Expected<bool> split = field.getBool("split", true);
    if (!split)
      return split.takeStatus();
    return makeMetaspacePreTokenizer(*replacement, *scheme, *split);
  }
  if (*type == "BertPreTokenizer")
    return makeBertPreTokenizer();
  if (*type == "Whitespace")
    return Result(new Whitespace());
  if (*type == "WhitespaceSplit")
    return Result(
        new CharSplit([](char32_t c) { return unicode::isWhitespace(c); },
                      SplitBehavior::Removed));
  if (*type == "Punctuation") {
    SplitBehavior behavior = SplitBehavior::Isolated;
    Expected<std::optional<Field>> b = field.optionalMember("behavior");
    if (!b)
      return b.takeStatus();
    if (*b) {
      Expected<SplitBehavior> parsed = parseSplitBehavior(**b);
      if (!parsed)
        return parsed.takeStatus();
      behavior = *parsed;
    }
    return Result(new CharSplit(isBertPunctuation, behavior));
  }
  if (*type == "Digits") {
    Expected<bool> individual = field.getBool("individual_digits", false);
    if (!individual)
      return individual.takeStatus();
    return Result(new CharSplit(
        [](char32_t c) { return unicode::isNumeric(c); },
        *individual ? SplitBehavior::Isolated : SplitBehavior::Contiguous));
  }
  if (*type == "CharDelimiterSplit") {
    Expected<char32_t> d = getChar(field, "delimiter", U' ');
    if (!d)
      return d.takeStatus();
    return Result(new CharDelimiterSplit(*d));
  }
  Expected<Field> list = field.member("pretokenizers");
  if (!list)
    return list.takeStatus();
  Expected<const json::Array *> array = list->getArray();
  if (!array)
    return array.takeStatus();
  std::vector<std::unique_ptr<PreTokenizer>> parts;
  for (size_t i = 0; i < (*array)->size(); ++i) {
    Expected<std::unique_ptr<PreTokenizer>> part =
        parsePreTokenizer(list->element(i));
    if (!part)
      return part.takeStatus();
    parts.push_back(std::move(*part));
  }
  return Result(new Sequence(std::move(parts)));
}
