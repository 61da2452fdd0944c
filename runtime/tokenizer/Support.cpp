//===- Support.cpp - Reading tokenizer.json, regexes and splitting --------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "tokenizer/Components.h"
#include "tokenizer/Unicode.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <cmath>
#include <iterator>

using namespace llmrt;
using namespace llmrt::tok;

//===----------------------------------------------------------------------===//
// Field
//===----------------------------------------------------------------------===//

std::string tok::describeJson(const json::Value &v) {
  switch (v.kind()) {
  case json::Value::Kind::Null:
    return "null";
  case json::Value::Kind::Boolean:
    return *v.getAsBoolean() ? "true" : "false";
  case json::Value::Kind::Array:
    return "an array";
  case json::Value::Kind::Object:
    return "an object";
  case json::Value::Kind::Number:
  case json::Value::Kind::String: {
    Expected<std::string> text = json::serialize(v);
    std::string found = text ? *text : "an unprintable value";
    if (found.size() > 80)
      found = found.substr(0, 77) + "...";
    return found;
  }
  }
  return "a value";
}

Status Field::error(const std::string &expected) const {
  return Status::error(ErrorCode::Format,
                       *file + ": field " + path + ": expected " + expected +
                           ", found " + describeJson(*value));
}

Status Field::fail(const std::string &message) const {
  return Status::error(ErrorCode::Format,
                       *file + ": field " + path + ": " + message);
}

Expected<Field> Field::member(std::string_view key) const {
  const json::Object *object = value->getAsObject();
  if (!object)
    return error("an object");
  const json::Value *v = object->get(key);
  std::string childPath = path + "." + std::string(key);
  if (!v)
    return Status::error(ErrorCode::Format,
                         *file + ": field " + childPath +
                             ": expected a value, found nothing");
  return Field(*v, childPath, *file);
}

Expected<std::optional<Field>>
Field::optionalMember(std::string_view key) const {
  const json::Object *object = value->getAsObject();
  if (!object)
    return error("an object");
  const json::Value *v = object->get(key);
  if (!v || v->isNull())
    return std::optional<Field>();
  return std::optional<Field>(Field(*v, path + "." + std::string(key), *file));
}

Field Field::element(size_t i) const {
  return Field((*value->getAsArray())[i], path + "[" + std::to_string(i) + "]",
               *file);
}

Expected<std::string> Field::getString() const {
  std::optional<std::string_view> s = value->getAsString();
  if (!s)
    return error("a string");
  return std::string(*s);
}

Expected<bool> Field::getBool() const {
  std::optional<bool> b = value->getAsBoolean();
  if (!b)
    return error("true or false");
  return *b;
}

Expected<int64_t> Field::getInt(int64_t min, int64_t max) const {
  std::optional<int64_t> i = value->getAsInt64();
  if (!i || *i < min || *i > max)
    return error("an integer in [" + std::to_string(min) + ", " +
                 std::to_string(max) + "]");
  return *i;
}

Expected<double> Field::getNumber() const {
  std::optional<double> d = value->getAsDouble();
  if (!d || !std::isfinite(*d))
    return error("a finite number");
  return *d;
}

Expected<const json::Array *> Field::getArray() const {
  const json::Array *a = value->getAsArray();
  if (!a)
    return error("an array");
  return a;
}

Expected<const json::Object *> Field::getObject() const {
  const json::Object *o = value->getAsObject();
  if (!o)
    return error("an object");
  return o;
}

Expected<std::string> Field::getString(std::string_view key,
                                       std::string fallback) const {
  Expected<std::optional<Field>> f = optionalMember(key);
  if (!f)
    return f.takeStatus();
  if (!*f)
    return fallback;
  return (*f)->getString();
}

Expected<bool> Field::getBool(std::string_view key, bool fallback) const {
  Expected<std::optional<Field>> f = optionalMember(key);
  if (!f)
    return f.takeStatus();
  if (!*f)
    return fallback;
  return (*f)->getBool();
}

Expected<std::string>
Field::getType(const std::vector<std::string> &allowed) const {
  Expected<Field> type = member("type");
  if (!type)
    return type.takeStatus();
  Expected<std::string> name = type->getString();
  if (!name)
    return name.takeStatus();
  for (const std::string &a : allowed)
    if (a == *name)
      return name;
  std::string list;
  for (size_t i = 0; i < allowed.size(); ++i)
    list += (i ? ", " : "") + allowed[i];
  return type->error("one of " + list);
}

Expected<SplitBehavior> tok::parseSplitBehavior(const Field &field) {
  Expected<std::string> name = field.getString();
  if (!name)
    return name.takeStatus();
  if (*name == "Removed")
    return SplitBehavior::Removed;
  if (*name == "Isolated")
    return SplitBehavior::Isolated;
  if (*name == "MergedWithPrevious")
    return SplitBehavior::MergedWithPrevious;
  if (*name == "MergedWithNext")
    return SplitBehavior::MergedWithNext;
  if (*name == "Contiguous")
    return SplitBehavior::Contiguous;
  return field.error("one of Removed, Isolated, MergedWithPrevious, "
                     "MergedWithNext, Contiguous");
}

//===----------------------------------------------------------------------===//
// Regex
//===----------------------------------------------------------------------===//

namespace {

/// Unicode's White_Space, which Oniguruma's `\s` matches. PCRE2's differs:
/// it leaves out U+0085 and has U+180E.
const char *const kWhiteSpace =
    "\\t\\n\\x{0B}\\f\\r\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}"
    "\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}";

/// `pattern` with `\s` and `\S` spelled out as White_Space classes.
std::string rewriteForPcre2(const std::string &pattern) {
  std::string out;
  out.reserve(pattern.size() + 16);
  bool inClass = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      char n = pattern[i + 1];
      if (n == 's')
        out += inClass ? std::string(kWhiteSpace)
                       : "[" + std::string(kWhiteSpace) + "]";
      else if (n == 'S' && !inClass)
        out += "[^" + std::string(kWhiteSpace) + "]";
      else {
        out += c;
        out += n;
      }
      ++i;
      continue;
    }
    if (c == '[' && !inClass)
      inClass = true;
    else if (c == ']' && inClass)
      inClass = false;
    out += c;
  }
  return out;
}

} // namespace

Expected<Regex> Regex::compile(const std::string &pattern) {
  std::string rewritten = rewriteForPcre2(pattern);
  int errorCode = 0;
  PCRE2_SIZE errorOffset = 0;
  pcre2_code *code = pcre2_compile(
      reinterpret_cast<PCRE2_SPTR>(rewritten.data()), rewritten.size(),
      PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK, &errorCode, &errorOffset,
      nullptr);
  if (!code) {
    PCRE2_UCHAR buffer[256];
    pcre2_get_error_message(errorCode, buffer, sizeof(buffer));
    std::string message(reinterpret_cast<char *>(buffer));
    // The offset is into the rewritten pattern: it is the caller's only when
    // nothing was rewritten.
    if (rewritten == pattern)
      message += " at offset " + std::to_string(errorOffset);
    return Status::invalid(message);
  }
  // The JIT is an optimization: without it (no executable memory), the
  // interpreter gives the same matches.
  (void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
  Regex regex;
  regex.code = code;
  return regex;
}

Expected<Regex> Regex::literal(std::string_view literal) {
  std::string quoted = "\\Q";
  for (size_t i = 0; i < literal.size(); ++i) {
    // "\E" inside \Q...\E ends the quote: split it.
    if (literal.substr(i, 2) == "\\E") {
      quoted += "\\E\\\\\\QE";
      ++i;
      continue;
    }
    quoted += literal[i];
  }
  quoted += "\\E";
  int errorCode = 0;
  PCRE2_SIZE errorOffset = 0;
  pcre2_code *code = pcre2_compile(
      reinterpret_cast<PCRE2_SPTR>(quoted.data()), quoted.size(),
      PCRE2_UTF | PCRE2_NO_UTF_CHECK, &errorCode, &errorOffset, nullptr);
  if (!code)
    return Status::invalid("the string pattern does not compile");
  (void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
  Regex regex;
  regex.code = code;
  return regex;
}

Regex::Regex(Regex &&other) noexcept : code(other.code) {
  other.code = nullptr;
}

Regex &Regex::operator=(Regex &&other) noexcept {
  std::swap(code, other.code);
  return *this;
}

Regex::~Regex() {
  if (code)
    pcre2_code_free(code);
}

void Regex::findAll(std::string_view s,
                    std::vector<std::pair<size_t, size_t>> &matches) const {
  matches.clear();
  if (!code)
    return;
  pcre2_match_data *data = pcre2_match_data_create_from_pattern(code, nullptr);
  if (!data)
    return;
  size_t start = 0;
  std::optional<size_t> lastEnd;
  const PCRE2_SPTR subject = reinterpret_cast<PCRE2_SPTR>(s.data());
  while (start <= s.size()) {
    int rc = pcre2_match(code, subject, s.size(), start, PCRE2_NO_UTF_CHECK,
                         data, nullptr);
    if (rc < 0)
      break;
    PCRE2_SIZE *ovector = pcre2_get_ovector_pointer(data);
    size_t b = ovector[0], e = ovector[1];
    if (b == e && lastEnd && *lastEnd == e) {
      // An empty match right after the previous match: skip a character.
      if (b >= s.size())
        break;
      start = b + unicode::sequenceLength(static_cast<unsigned char>(s[b]));
      continue;
    }
    matches.emplace_back(b, e);
    lastEnd = e;
    if (b == e) {
      if (e >= s.size())
        break;
      start = e + unicode::sequenceLength(static_cast<unsigned char>(s[e]));
    } else {
      start = e;
    }
  }
  pcre2_match_data_free(data);
}

bool Regex::replaceAll(std::string &s, std::string_view content) const {
  std::vector<std::pair<size_t, size_t>> matches;
  findAll(s, matches);
  if (matches.empty())
    return false;
  bool removedStart = matches.front().first == 0 &&
                      matches.front().second > 0 && content.empty();
  std::string out;
  size_t prev = 0;
  for (auto [b, e] : matches) {
    out.append(s, prev, b - prev);
    out += content;
    prev = e;
  }
  out.append(s, prev, std::string::npos);
  s = std::move(out);
  return removedStart;
}

//===----------------------------------------------------------------------===//
// Splitting
//===----------------------------------------------------------------------===//

void tok::findChars(std::string_view s,
                    const std::function<bool(char32_t)> &pred,
                    std::vector<std::pair<size_t, size_t>> &matches) {
  matches.clear();
  for (size_t i = 0; i < s.size();) {
    size_t begin = i;
    char32_t c = unicode::next(s, i);
    if (pred(c))
      matches.emplace_back(begin, i);
  }
}

void tok::splitAt(const Piece &piece,
                  const std::vector<std::pair<size_t, size_t>> &found,
                  SplitBehavior behavior, bool invert, Pieces &out) {
  const std::string &s = piece.text;
  if (s.empty())
    return;
  // (range, is_match) covering the whole string, as Pattern::find_matches.
  struct Part {
    size_t begin, end;
    bool match;
  };
  std::vector<Part> parts;
  parts.reserve(found.size() * 2 + 1);
  size_t prev = 0;
  for (auto [b, e] : found) {
    if (prev != b)
      parts.push_back({prev, b, false});
    parts.push_back({b, e, true});
    prev = e;
  }
  if (prev != s.size())
    parts.push_back({prev, s.size(), false});
  if (invert)
    for (Part &p : parts)
      p.match = !p.match;

  // (range, remove)
  std::vector<Part> splits;
  splits.reserve(parts.size());
  switch (behavior) {
  case SplitBehavior::Isolated:
    for (const Part &p : parts)
      splits.push_back({p.begin, p.end, false});
    break;
  case SplitBehavior::Removed:
    splits = parts;
    break;
  case SplitBehavior::Contiguous: {
    bool previous = false;
    for (const Part &p : parts) {
      if (p.match == previous && !splits.empty())
        splits.back().end = p.end;
      else
        splits.push_back({p.begin, p.end, false});
      previous = p.match;
    }
    break;
  }
  case SplitBehavior::MergedWithPrevious: {
    bool previous = false;
    for (const Part &p : parts) {
      if (p.match && !previous && !splits.empty())
        splits.back().end = p.end;
      else
        splits.push_back({p.begin, p.end, false});
      previous = p.match;
    }
    break;
  }
  case SplitBehavior::MergedWithNext: {
    bool previous = false;
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
      if (it->match && !previous && !splits.empty())
        splits.back().begin = it->begin;
      else
        splits.push_back({it->begin, it->end, false});
      previous = it->match;
    }
    std::reverse(splits.begin(), splits.end());
    break;
  }
  }
  for (const Part &p : splits) {
    if (p.match || p.begin == p.end)
      continue;
    Piece child;
    child.text = s.substr(p.begin, p.end - p.begin);
    child.atStart = piece.atStart && p.begin == 0;
    out.push_back(std::move(child));
  }
}

//===----------------------------------------------------------------------===//
// GPT-2's byte table
//===----------------------------------------------------------------------===//

namespace {

struct ByteTable {
  char32_t toChar[256];
  /// Byte of each code point below 256 + 68, or -1.
  int fromChar[256 + 68];
  ByteTable() {
    std::fill(std::begin(fromChar), std::end(fromChar), -1);
    // Printable Latin-1 bytes map to themselves; the others, in order, to
    // U+0100 and up.
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) ||
                       (b >= 0xae && b <= 0xff);
      toChar[b] = printable ? static_cast<char32_t>(b) : next++;
      fromChar[toChar[b]] = b;
    }
  }
};

const ByteTable &byteTable() {
  static const ByteTable table;
  return table;
}

} // namespace

char32_t tok::byteToChar(uint8_t b) { return byteTable().toChar[b]; }

int tok::byteOfChar(char32_t c) {
  return c < 256 + 68 ? byteTable().fromChar[c] : -1;
}
