//===- Json.cpp - JSON parser and writer without LLVM ---------------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// The parser is a loop over an explicit stack of open containers, so the
// depth of the text never becomes depth of the C++ stack. Its error messages
// and positions follow llvm::json::parse (see Json.h); the comments say where
// that decides a detail.
//
//===----------------------------------------------------------------------===//

#include "Json.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <numeric>
#include <utility>

using namespace llmrt;
using namespace llmrt::json;

//===----------------------------------------------------------------------===//
// Object
//===----------------------------------------------------------------------===//

Object::Object() = default;
Object::Object(const Object &other) = default;
Object::Object(Object &&other) noexcept = default;
Object &Object::operator=(const Object &other) = default;
Object &Object::operator=(Object &&other) noexcept = default;
Object::~Object() = default;

size_t Object::lowerBound(std::string_view key) const {
  return std::lower_bound(sorted.begin(), sorted.end(), key,
                          [&](size_t i, std::string_view k) {
                            return std::string_view(members[i].key) < k;
                          }) -
         sorted.begin();
}

const Value *Object::get(std::string_view key) const {
  size_t pos = lowerBound(key);
  if (pos == sorted.size() || members[sorted[pos]].key != key)
    return nullptr;
  return &members[sorted[pos]].value;
}

Value *Object::get(std::string_view key) {
  return const_cast<Value *>(static_cast<const Object *>(this)->get(key));
}

bool Object::insert(std::string key, Value value) {
  size_t pos = lowerBound(key);
  if (pos != sorted.size() && members[sorted[pos]].key == key)
    return false;
  members.push_back(Member{std::move(key), std::move(value)});
  sorted.insert(sorted.begin() + pos, members.size() - 1);
  return true;
}

void Object::set(std::string key, Value value) {
  if (Value *existing = get(key))
    *existing = std::move(value);
  else
    insert(std::move(key), std::move(value));
}

bool json::operator==(const Object &a, const Object &b) {
  if (a.size() != b.size())
    return false;
  for (const Member &m : a) {
    const Value *other = b.get(m.key);
    if (!other || *other != m.value)
      return false;
  }
  return true;
}

//===----------------------------------------------------------------------===//
// Value
//===----------------------------------------------------------------------===//

Value::Value(std::string s) : tag(Tag::String) {
  new (&stringValue) std::string(std::move(s));
}

Value::Value(json::Array a) : tag(Tag::Array) {
  new (&arrayValue) json::Array(std::move(a));
}

Value::Value(json::Object o) : tag(Tag::Object) {
  new (&objectValue) json::Object(std::move(o));
}

Value::Value(const Value &other) : tag(Tag::Null) { copyFrom(other); }

Value::Value(Value &&other) noexcept : tag(Tag::Null) {
  moveFrom(std::move(other));
}

Value &Value::operator=(const Value &other) {
  if (this != &other) {
    // `other` may live inside this value: copy it before destroying.
    Value copy(other);
    destroy();
    moveFrom(std::move(copy));
  }
  return *this;
}

Value &Value::operator=(Value &&other) noexcept {
  if (this != &other) {
    Value taken(std::move(other));
    destroy();
    moveFrom(std::move(taken));
  }
  return *this;
}

Value::~Value() { destroy(); }

void Value::destroy() noexcept {
  switch (tag) {
  case Tag::String:
    stringValue.~basic_string();
    break;
  case Tag::Array:
    arrayValue.~vector();
    break;
  case Tag::Object:
    objectValue.~Object();
    break;
  default:
    break;
  }
  tag = Tag::Null;
  int64Value = 0;
}

void Value::copyFrom(const Value &other) {
  switch (other.tag) {
  case Tag::String:
    new (&stringValue) std::string(other.stringValue);
    break;
  case Tag::Array:
    new (&arrayValue) json::Array(other.arrayValue);
    break;
  case Tag::Object:
    new (&objectValue) json::Object(other.objectValue);
    break;
  default:
    uint64Value = other.uint64Value; // Every scalar lives in these 8 bytes.
    break;
  }
  tag = other.tag;
}

void Value::moveFrom(Value &&other) noexcept {
  switch (other.tag) {
  case Tag::String:
    new (&stringValue) std::string(std::move(other.stringValue));
    break;
  case Tag::Array:
    new (&arrayValue) json::Array(std::move(other.arrayValue));
    break;
  case Tag::Object:
    new (&objectValue) json::Object(std::move(other.objectValue));
    break;
  default:
    uint64Value = other.uint64Value;
    break;
  }
  tag = other.tag;
  other.destroy();
}

Value::Kind Value::kind() const {
  switch (tag) {
  case Tag::Null:
    return Kind::Null;
  case Tag::Boolean:
    return Kind::Boolean;
  case Tag::Int64:
  case Tag::UInt64:
  case Tag::Double:
    return Kind::Number;
  case Tag::String:
    return Kind::String;
  case Tag::Array:
    return Kind::Array;
  case Tag::Object:
    return Kind::Object;
  }
  return Kind::Null;
}

std::optional<bool> Value::getAsBoolean() const {
  if (tag == Tag::Boolean)
    return boolValue;
  return std::nullopt;
}

std::optional<int64_t> Value::getAsInt64() const {
  // A UInt64 is above INT64_MAX (setUInt64 stores smaller values as Int64).
  if (tag == Tag::Int64)
    return int64Value;
  return std::nullopt;
}

std::optional<uint64_t> Value::getAsUInt64() const {
  if (tag == Tag::Int64 && int64Value >= 0)
    return static_cast<uint64_t>(int64Value);
  if (tag == Tag::UInt64)
    return uint64Value;
  return std::nullopt;
}

std::optional<double> Value::getAsDouble() const {
  switch (tag) {
  case Tag::Int64:
    return static_cast<double>(int64Value);
  case Tag::UInt64:
    return static_cast<double>(uint64Value);
  case Tag::Double:
    return doubleValue;
  default:
    return std::nullopt;
  }
}

std::optional<std::string_view> Value::getAsString() const {
  if (tag == Tag::String)
    return std::string_view(stringValue);
  return std::nullopt;
}

const json::Array *Value::getAsArray() const {
  return tag == Tag::Array ? &arrayValue : nullptr;
}
json::Array *Value::getAsArray() {
  return tag == Tag::Array ? &arrayValue : nullptr;
}
const json::Object *Value::getAsObject() const {
  return tag == Tag::Object ? &objectValue : nullptr;
}
json::Object *Value::getAsObject() {
  return tag == Tag::Object ? &objectValue : nullptr;
}

bool json::operator==(const Value &a, const Value &b) {
  // Integers are stored canonically (Int64 whenever they fit), so equal
  // integers have equal tags.
  if (a.tag != b.tag)
    return false;
  switch (a.tag) {
  case Value::Tag::Null:
    return true;
  case Value::Tag::Boolean:
    return a.boolValue == b.boolValue;
  case Value::Tag::Int64:
    return a.int64Value == b.int64Value;
  case Value::Tag::UInt64:
    return a.uint64Value == b.uint64Value;
  case Value::Tag::Double:
    return a.doubleValue == b.doubleValue;
  case Value::Tag::String:
    return a.stringValue == b.stringValue;
  case Value::Tag::Array:
    return a.arrayValue == b.arrayValue;
  case Value::Tag::Object:
    return a.objectValue == b.objectValue;
  }
  return false;
}

//===----------------------------------------------------------------------===//
// UTF-8
//===----------------------------------------------------------------------===//

bool json::isUTF8(std::string_view s, size_t *errorOffset) {
  const auto *bytes = reinterpret_cast<const unsigned char *>(s.data());
  size_t n = s.size(), i = 0;
  while (i < n) {
    // ASCII eight bytes at a time: most JSON text is ASCII.
    if (n - i >= 8) {
      uint64_t word;
      std::memcpy(&word, bytes + i, 8);
      if (!(word & 0x8080808080808080ull)) {
        i += 8;
        continue;
      }
    }
    unsigned char c = bytes[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    // The first continuation byte has a narrower range after E0 (no overlong
    // forms), ED (no surrogates), F0 (no overlong forms) and F4 (nothing
    // above U+10FFFF).
    size_t length;
    unsigned char low = 0x80, high = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
      length = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      length = 3;
      if (c == 0xe0)
        low = 0xa0;
      else if (c == 0xed)
        high = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      length = 4;
      if (c == 0xf0)
        low = 0x90;
      else if (c == 0xf4)
        high = 0x8f;
    } else {
      length = 0; // A continuation byte, C0, C1 or F5..FF.
    }
    bool valid = length != 0 && n - i >= length && bytes[i + 1] >= low &&
                 bytes[i + 1] <= high;
    for (size_t k = 2; valid && k < length; ++k)
      valid = (bytes[i + k] & 0xc0) == 0x80;
    if (!valid) {
      if (errorOffset)
        *errorOffset = i;
      return false;
    }
    i += length;
  }
  return true;
}

/// Appends code point `c` (at most U+10FFFF) as UTF-8.
static void appendUTF8(std::string &out, uint32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xc0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3f));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xe0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (c & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (c & 0x3f));
  }
}

//===----------------------------------------------------------------------===//
// Parser
//===----------------------------------------------------------------------===//

namespace {
/// Bytes that end a run of plain string characters: '"', '\\' and the
/// control characters, which RFC 8259 requires to be escaped.
struct StringStopTable {
  bool stop[256] = {};
  constexpr StringStopTable() {
    for (int c = 0; c < 0x20; ++c)
      stop[c] = true;
    stop[static_cast<unsigned char>('"')] = true;
    stop[static_cast<unsigned char>('\\')] = true;
  }
};
constexpr StringStopTable kStringStop;

/// The characters llvm::json takes as part of a number: the parser reads the
/// whole run, then checks it, so an error points after the run.
bool isNumberChar(char c) {
  return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' ||
         c == 'e' || c == 'E';
}

bool isDigit(char c) { return c >= '0' && c <= '9'; }

int hexValue(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/// For a valid RFC 8259 number that std::from_chars found out of range:
/// whether its magnitude is too large (rather than too small) for a double,
/// from the decimal exponent of its first significant digit.
bool isOverflow(std::string_view text) {
  size_t i = text[0] == '-' ? 1 : 0;
  int64_t leading = 0; // Decimal exponent of the first significant digit.
  bool found = false;
  int64_t intDigits = 0;
  for (; i < text.size() && isDigit(text[i]); ++i, ++intDigits)
    if (!found && text[i] != '0') {
      found = true;
      leading = -intDigits; // Completed below, once intDigits is known.
    }
  if (found)
    leading += intDigits - 1;
  if (i < text.size() && text[i] == '.')
    for (int64_t j = 1; ++i < text.size() && isDigit(text[i]); ++j)
      if (!found && text[i] != '0') {
        found = true;
        leading = -j;
      }
  int64_t exponent = 0;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    bool negative = text[++i] == '-';
    if (text[i] == '-' || text[i] == '+')
      ++i;
    for (; i < text.size(); ++i)
      exponent = std::min<int64_t>(exponent * 10 + (text[i] - '0'), 1 << 30);
    if (negative)
      exponent = -exponent;
  }
  return leading + exponent > 0;
}
} // namespace

namespace llmrt {
namespace json {

/// Parses one document; see Json.h for the rules.
class Parser {
public:
  Parser(std::string_view text, const ParseOptions &options)
      : start(text.data()), p(text.data()), end(text.data() + text.size()),
        maxDepth(options.maxDepth) {}

  /// Parses the whole text into `result`; on failure, error() says why.
  bool parse(Value &result);

  Status error() const {
    return Status::error(ErrorCode::Format, formatError(errorAt, errorMessage));
  }
  /// "[line:column, byte=offset]: message", as llvm::json::ParseError logs.
  std::string formatError(size_t offset, const std::string &message) const;

  std::optional<DuplicateKey> duplicate;

private:
  /// An open array or object.
  struct Frame {
    Value container;
    /// Objects: the key whose value is being parsed, and the offset of its
    /// opening quote.
    std::string key;
    size_t keyOffset = 0;
    /// Objects: the offset of each member's key, for duplicate reports.
    std::vector<size_t> keyOffsets;
  };

  /// Records an error at `at`; always returns false.
  bool fail(const char *at, std::string message) {
    errorAt = at - start;
    errorMessage = std::move(message);
    return false;
  }
  /// The next character, or 0 (without moving) at the end, as llvm::json.
  char next() { return p == end ? 0 : *p++; }
  void skipWhitespace() {
    while (p != end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
      ++p;
  }
  bool parseLiteral(const char *rest, const char *message);
  bool parseNumber(Value &out);
  bool parseString(std::string &out);
  bool parseUnicode(std::string &out);
  bool parseHex4(uint16_t &out);
  /// Reads `"key" :` into the frame.
  bool parseKey(Frame &frame);
  /// Builds the lookup index of the innermost object, which is complete, and
  /// handles repeated keys.
  void finishObject(std::vector<Frame> &stack);

  const char *start, *p, *end;
  unsigned maxDepth;
  size_t errorAt = 0;
  std::string errorMessage;
};

} // namespace json
} // namespace llmrt

std::string Parser::formatError(size_t offset,
                                const std::string &message) const {
  size_t line = 1, lineStart = 0;
  for (size_t i = 0; i < offset; ++i)
    if (start[i] == '\n') {
      ++line;
      lineStart = i + 1;
    }
  return "[" + std::to_string(line) + ":" + std::to_string(offset - lineStart) +
         ", byte=" + std::to_string(offset) + "]: " + message;
}

bool Parser::parseLiteral(const char *rest, const char *message) {
  // Like llvm::json: each character is consumed before it is compared, so the
  // error points after the first one that differs.
  for (; *rest; ++rest)
    if (next() != *rest)
      return fail(p, message);
  return true;
}

bool Parser::parseNumber(Value &out) {
  const char *first = p - 1;
  while (p != end && isNumberChar(*p))
    ++p;
  std::string_view text(first, p - first);
  auto invalid = [&] { return fail(p, "Invalid JSON value (number?)"); };

  // -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
  size_t i = 0, n = text.size();
  bool negative = text[0] == '-';
  if (negative)
    ++i;
  size_t intBegin = i;
  if (i == n || !isDigit(text[i]))
    return invalid();
  if (text[i] == '0')
    ++i;
  else
    while (i < n && isDigit(text[i]))
      ++i;
  size_t intEnd = i;
  bool isInteger = true;
  if (i < n && text[i] == '.') {
    isInteger = false;
    size_t digits = ++i;
    while (i < n && isDigit(text[i]))
      ++i;
    if (i == digits)
      return invalid();
  }
  if (i < n && (text[i] == 'e' || text[i] == 'E')) {
    isInteger = false;
    ++i;
    if (i < n && (text[i] == '+' || text[i] == '-'))
      ++i;
    size_t digits = i;
    while (i < n && isDigit(text[i]))
      ++i;
    if (i == digits)
      return invalid();
  }
  if (i != n)
    return invalid();

  if (isInteger) {
    // Exact when it fits in int64_t, or (not negative) in uint64_t.
    uint64_t magnitude = 0;
    bool overflow = false;
    for (size_t k = intBegin; k < intEnd && !overflow; ++k) {
      unsigned digit = text[k] - '0';
      if (magnitude > (UINT64_MAX - digit) / 10)
        overflow = true;
      else
        magnitude = magnitude * 10 + digit;
    }
    constexpr uint64_t kMinMagnitude = uint64_t(1) << 63; // -INT64_MIN
    if (!overflow && !negative) {
      out = Value(magnitude);
      return true;
    }
    if (!overflow && magnitude <= kMinMagnitude) {
      out =
          Value(magnitude == kMinMagnitude ? INT64_MIN
                                           : -static_cast<int64_t>(magnitude));
      return true;
    }
  }
  // A double, parsed independently of the C locale.
  double d = 0;
  std::from_chars_result r = std::from_chars(first, p, d);
  if (r.ec == std::errc::result_out_of_range) {
    double magnitude = isOverflow(text) ? HUGE_VAL : 0.0;
    d = negative ? -magnitude : magnitude; // As strtod: +-inf or +-0.
  } else if (r.ec != std::errc() || r.ptr != p) {
    return invalid();
  }
  out = Value(d);
  return true;
}

bool Parser::parseHex4(uint16_t &out) {
  // llvm::json reads the four characters, then checks them.
  const char *digits = p;
  size_t available = std::min<size_t>(4, end - p);
  p += available;
  if (available < 4)
    return fail(p, "Invalid \\u escape sequence");
  out = 0;
  for (int i = 0; i < 4; ++i) {
    int h = hexValue(digits[i]);
    if (h < 0)
      return fail(p, "Invalid \\u escape sequence");
    out = static_cast<uint16_t>(out << 4 | h);
  }
  return true;
}

bool Parser::parseUnicode(std::string &out) {
  // After "\u". A UTF-16 surrogate pair is one code point; an unpaired
  // surrogate becomes U+FFFD (valid JSON, invalid Unicode: RFC 8259 8.2).
  uint16_t first;
  if (!parseHex4(first))
    return false;
  for (;;) {
    if (first < 0xd800 || first >= 0xe000) {
      appendUTF8(out, first);
      return true;
    }
    if (first >= 0xdc00) { // A trailing surrogate first.
      appendUTF8(out, 0xfffd);
      return true;
    }
    if (end - p < 2 || p[0] != '\\' || p[1] != 'u') {
      appendUTF8(out, 0xfffd); // A leading surrogate alone.
      return true;
    }
    p += 2;
    uint16_t second;
    if (!parseHex4(second))
      return false;
    if (second < 0xdc00 || second >= 0xe000) {
      // Not a trailing surrogate: `first` was alone, `second` still counts.
      appendUTF8(out, 0xfffd);
      first = second;
      continue;
    }
    appendUTF8(out, 0x10000 + ((uint32_t(first) - 0xd800) << 10) +
                        (uint32_t(second) - 0xdc00));
    return true;
  }
}

bool Parser::parseString(std::string &out) {
  // After the opening quote. The text is valid UTF-8 (checked first), so
  // plain runs are copied as they are.
  for (;;) {
    const char *run = p;
    while (p != end && !kStringStop.stop[static_cast<unsigned char>(*p)])
      ++p;
    out.append(run, p - run);
    if (p == end)
      return fail(p, "Unterminated string");
    char c = *p++;
    if (c == '"')
      return true;
    // llvm::json checks for the end before anything else: a control
    // character or a backslash that ends the text is an unterminated string.
    if (p == end)
      return fail(p, "Unterminated string");
    if (c != '\\')
      return fail(p, "Control character in string");
    switch (c = *p++) {
    case '"':
    case '\\':
    case '/':
      out += c;
      break;
    case 'b':
      out += '\b';
      break;
    case 'f':
      out += '\f';
      break;
    case 'n':
      out += '\n';
      break;
    case 'r':
      out += '\r';
      break;
    case 't':
      out += '\t';
      break;
    case 'u':
      if (!parseUnicode(out))
        return false;
      break;
    default:
      return fail(p, "Invalid escape sequence");
    }
  }
}

bool Parser::parseKey(Frame &frame) {
  if (next() != '"')
    return fail(p, "Expected object key");
  frame.keyOffset = (p - 1) - start;
  frame.key.clear();
  if (!parseString(frame.key))
    return false;
  skipWhitespace();
  if (next() != ':')
    return fail(p, "Expected : after object key");
  skipWhitespace();
  return true;
}

void Parser::finishObject(std::vector<Frame> &stack) {
  Frame &frame = stack.back();
  Object &object = *frame.container.getAsObject();
  std::vector<Member> &members = object.members;
  std::vector<size_t> &sorted = object.sorted;
  auto buildIndex = [&] {
    sorted.resize(members.size());
    std::iota(sorted.begin(), sorted.end(), 0);
    // Equal keys stay in text order.
    std::sort(sorted.begin(), sorted.end(), [&](size_t a, size_t b) {
      int c = members[a].key.compare(members[b].key);
      return c < 0 || (c == 0 && a < b);
    });
  };
  buildIndex();

  bool repeated = false;
  for (size_t i = 1; i < sorted.size(); ++i) {
    size_t first = sorted[i - 1], second = sorted[i];
    if (members[first].key != members[second].key)
      continue;
    repeated = true;
    // Only the second occurrence of each key matters for the first duplicate
    // of the text; the frames' keys name the path to this object.
    if (i >= 2 && members[sorted[i - 2]].key == members[first].key)
      continue;
    size_t firstOffset = frame.keyOffsets[first];
    size_t secondOffset = frame.keyOffsets[second];
    if (duplicate && duplicate->secondOffset <= secondOffset)
      continue;
    DuplicateKey d;
    for (size_t level = 1; level < stack.size(); ++level) {
      const Frame &parent = stack[level - 1];
      if (const Array *array = parent.container.getAsArray())
        d.path.push_back("[" + std::to_string(array->size()) + "]");
      else
        d.path.push_back(parent.key);
    }
    d.key = members[first].key;
    d.firstOffset = firstOffset;
    d.secondOffset = secondOffset;
    duplicate = std::move(d);
  }
  if (!repeated)
    return;
  // Keep each key once, at its first position, with its last value.
  std::vector<bool> dropped(members.size(), false);
  for (size_t i = 0; i < sorted.size();) {
    size_t j = i + 1;
    while (j < sorted.size() &&
           members[sorted[j]].key == members[sorted[i]].key)
      ++j;
    if (j - i > 1) {
      members[sorted[i]].value = std::move(members[sorted[j - 1]].value);
      for (size_t k = i + 1; k < j; ++k)
        dropped[sorted[k]] = true;
    }
    i = j;
  }
  size_t kept = 0;
  for (size_t i = 0; i < members.size(); ++i)
    if (!dropped[i] && kept++ != i)
      members[kept - 1] = std::move(members[i]);
  members.erase(members.begin() + kept, members.end());
  buildIndex();
}

bool Parser::parse(Value &result) {
  size_t badByte;
  if (!isUTF8(std::string_view(start, end - start), &badByte))
    return fail(start + badByte, "Invalid UTF-8 sequence");

  std::vector<Frame> stack;
  Value value;
  for (;;) {
    // One value, or the start of a container.
    skipWhitespace();
    if (p == end)
      return fail(p, "Unexpected EOF");
    char c = *p++;
    switch (c) {
    case 'n':
      if (!parseLiteral("ull", "Invalid JSON value (null?)"))
        return false;
      value = Value();
      break;
    case 't':
      if (!parseLiteral("rue", "Invalid JSON value (true?)"))
        return false;
      value = Value(true);
      break;
    case 'f':
      if (!parseLiteral("alse", "Invalid JSON value (false?)"))
        return false;
      value = Value(false);
      break;
    case '"': {
      std::string s;
      if (!parseString(s))
        return false;
      value = Value(std::move(s));
      break;
    }
    case '[':
    case '{': {
      if (stack.size() >= maxDepth)
        return fail(p - 1, "Nesting too deep: expected at most " +
                               std::to_string(maxDepth) +
                               " levels, found more");
      bool isObject = c == '{';
      skipWhitespace();
      if (p != end && *p == (isObject ? '}' : ']')) {
        ++p;
        value = isObject ? Value(Object()) : Value(Array());
        break;
      }
      Frame &frame = stack.emplace_back();
      frame.container = isObject ? Value(Object()) : Value(Array());
      if (isObject && !parseKey(frame))
        return false;
      continue; // The first element or member value.
    }
    default:
      if (isNumberChar(c)) {
        if (!parseNumber(value))
          return false;
        break;
      }
      return fail(p, "Invalid JSON value");
    }

    // `value` is complete: add it to its container, and close the containers
    // that end here.
    for (;;) {
      if (stack.empty()) {
        result = std::move(value);
        skipWhitespace();
        if (p != end)
          return fail(p, "Text after end of document");
        return true;
      }
      Frame &frame = stack.back();
      if (Array *array = frame.container.getAsArray()) {
        array->push_back(std::move(value));
        skipWhitespace();
        char d = next();
        if (d == ',') {
          skipWhitespace();
          break;
        }
        if (d != ']')
          return fail(p, "Expected , or ] after array element");
      } else {
        frame.container.getAsObject()->members.push_back(
            Member{std::move(frame.key), std::move(value)});
        frame.keyOffsets.push_back(frame.keyOffset);
        skipWhitespace();
        char d = next();
        if (d == ',') {
          skipWhitespace();
          if (!parseKey(frame))
            return false;
          break;
        }
        if (d != '}')
          return fail(p, "Expected , or } after object property");
        finishObject(stack);
      }
      value = std::move(frame.container);
      stack.pop_back();
    }
  }
}

Expected<Value> json::parse(std::string_view text, const ParseOptions &options,
                            std::optional<DuplicateKey> &firstDuplicate) {
  firstDuplicate.reset();
  Parser parser(text, options);
  Value result;
  if (!parser.parse(result))
    return parser.error();
  firstDuplicate = std::move(parser.duplicate);
  return std::move(result);
}

Expected<Value> json::parse(std::string_view text,
                            const ParseOptions &options) {
  Parser parser(text, options);
  Value result;
  if (!parser.parse(result))
    return parser.error();
  if (const std::optional<DuplicateKey> &d = parser.duplicate) {
    // Quoted as JSON, and cut short: a hostile key must not flood the message.
    constexpr size_t kMaxShown = 200;
    std::string_view key = d->key;
    bool cut = key.size() > kMaxShown;
    if (cut) {
      key = key.substr(0, kMaxShown);
      // Do not cut a UTF-8 sequence in two.
      while (!key.empty() &&
             (static_cast<unsigned char>(key.back()) & 0xc0) == 0x80)
        key.remove_suffix(1);
      if (!key.empty() && static_cast<unsigned char>(key.back()) >= 0xc0)
        key.remove_suffix(1);
    }
    std::string message = "Duplicate object key ";
    appendQuoted(message, key);
    if (cut)
      message += "...";
    message += " (first at byte " + std::to_string(d->firstOffset) + ")";
    return Status::error(ErrorCode::Format,
                         parser.formatError(d->secondOffset, message));
  }
  return std::move(result);
}

//===----------------------------------------------------------------------===//
// Writer
//===----------------------------------------------------------------------===//

void json::appendQuoted(std::string &out, std::string_view s) {
  out += '"';
  size_t run = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = s[i];
    if (c >= 0x20 && c != '"' && c != '\\')
      continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    out += '\\';
    switch (c) {
    case '"':
    case '\\':
      out += static_cast<char>(c);
      break;
    case '\t':
      out += 't';
      break;
    case '\n':
      out += 'n';
      break;
    case '\r':
      out += 'r';
      break;
    default: {
      static const char kHex[] = "0123456789abcdef";
      out += "u00";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
      break;
    }
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

bool Writer::fail(std::string message) {
  if (status.isOk())
    status = Status::invalid("json::Writer: " + std::move(message));
  return false;
}

void Writer::newline() {
  if (indent) {
    out += '\n';
    out.append(stack.size() * indent, ' ');
  }
}

bool Writer::valueBegin() {
  if (!status.isOk())
    return false;
  if (stack.empty()) {
    if (topLevelDone)
      return fail("a second top-level value");
    topLevelDone = true;
    return true;
  }
  Level &level = stack.back();
  if (level.context == Context::Object) {
    if (!pendingKey)
      return fail("a value in an object without a key");
    pendingKey = false;
    return true;
  }
  if (level.hasValue)
    out += ',';
  level.hasValue = true;
  newline();
  return true;
}

void Writer::objectBegin() {
  if (!valueBegin())
    return;
  out += '{';
  stack.push_back({Context::Object});
}

void Writer::objectEnd() {
  if (!status.isOk())
    return;
  if (stack.empty() || stack.back().context != Context::Object || pendingKey) {
    fail(pendingKey ? "objectEnd after a key without a value"
                    : "objectEnd without a matching objectBegin");
    return;
  }
  bool hadValue = stack.back().hasValue;
  stack.pop_back();
  if (hadValue)
    newline();
  out += '}';
}

void Writer::arrayBegin() {
  if (!valueBegin())
    return;
  out += '[';
  stack.push_back({Context::Array});
}

void Writer::arrayEnd() {
  if (!status.isOk())
    return;
  if (stack.empty() || stack.back().context != Context::Array) {
    fail("arrayEnd without a matching arrayBegin");
    return;
  }
  bool hadValue = stack.back().hasValue;
  stack.pop_back();
  if (hadValue)
    newline();
  out += ']';
}

void Writer::key(std::string_view k) {
  if (!status.isOk())
    return;
  if (stack.empty() || stack.back().context != Context::Object || pendingKey) {
    fail(pendingKey ? "a key after a key without a value"
                    : "a key outside an object");
    return;
  }
  if (!isUTF8(k)) {
    fail("key is not valid UTF-8");
    return;
  }
  Level &level = stack.back();
  if (level.hasValue)
    out += ',';
  level.hasValue = true;
  newline();
  appendQuoted(out, k);
  out += ':';
  if (indent)
    out += ' ';
  pendingKey = true;
}

void Writer::null() {
  if (valueBegin())
    out += "null";
}

void Writer::boolean(bool b) {
  if (valueBegin())
    out += b ? "true" : "false";
}

void Writer::integer(int64_t v) {
  if (valueBegin())
    out += std::to_string(v);
}

void Writer::unsignedInteger(uint64_t v) {
  if (valueBegin())
    out += std::to_string(v);
}

void Writer::number(double v) {
  if (!status.isOk())
    return;
  if (!std::isfinite(v)) {
    fail(std::string(std::isnan(v) ? "NaN"
                     : v > 0       ? "+inf"
                                   : "-inf") +
         " has no JSON representation");
    return;
  }
  if (!valueBegin())
    return;
  char buffer[32];
  std::to_chars_result r = std::to_chars(buffer, buffer + sizeof(buffer), v);
  std::string_view text(buffer, r.ptr - buffer);
  out += text;
  // "1" would read back as an integer.
  if (text.find_first_of(".eE") == std::string_view::npos)
    out += ".0";
}

void Writer::string(std::string_view s) {
  if (!status.isOk())
    return;
  if (!isUTF8(s)) {
    fail("string is not valid UTF-8");
    return;
  }
  if (valueBegin())
    appendQuoted(out, s);
}

void Writer::value(const Value &v) {
  switch (v.kind()) {
  case Value::Kind::Null:
    return null();
  case Value::Kind::Boolean:
    return boolean(*v.getAsBoolean());
  case Value::Kind::Number:
    if (std::optional<int64_t> i = v.getAsInt64())
      return integer(*i);
    if (std::optional<uint64_t> u = v.getAsUInt64())
      return unsignedInteger(*u);
    return number(*v.getAsDouble());
  case Value::Kind::String:
    return string(*v.getAsString());
  case Value::Kind::Array:
    arrayBegin();
    for (const Value &e : *v.getAsArray())
      value(e);
    return arrayEnd();
  case Value::Kind::Object:
    objectBegin();
    for (const Member &m : *v.getAsObject())
      attribute(m.key, m.value);
    return objectEnd();
  }
}

Expected<std::string> Writer::finish() {
  if (!status.isOk())
    return status;
  if (!stack.empty())
    return Status::invalid("json::Writer: " + std::to_string(stack.size()) +
                           " arrays or objects are not closed");
  if (!topLevelDone)
    return Status::invalid("json::Writer: no value was written");
  return std::move(out);
}

Expected<std::string> json::serialize(const Value &v, unsigned indent) {
  Writer writer(indent);
  writer.value(v);
  return writer.finish();
}

Status llmrt::json::checkNesting(std::string_view text, const std::string &what,
                                 unsigned maxDepth) {
  unsigned depth = 0;
  bool inString = false;
  for (size_t i = 0, e = text.size(); i < e; ++i) {
    char c = text[i];
    if (inString) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        inString = false;
      continue;
    }
    switch (c) {
    case '"':
      inString = true;
      break;
    case '{':
    case '[':
      if (++depth > maxDepth)
        return Status::error(
            ErrorCode::Format,

            what + ": JSON nesting at byte " + std::to_string(i) +
                " is too deep: expected at most " + std::to_string(maxDepth) +
                " levels, found more");
      break;
    case '}':
    case ']':
      if (depth)
        --depth;
      break;
    default:
      break;
    }
  }
  return Status::ok();
}
