//===- Json.h - JSON parser and writer without LLVM -------------*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
// An RFC 8259 JSON parser and writer for the runtime, which links no LLVM:
// safetensors headers and indexes, the compiled model's manifest, and
// tokenizer.json (large, with many \u escapes) go through it.
//
// Parsing is for untrusted text. The parser does not recurse (a text of 100k
// '[' is refused at `ParseOptions::maxDepth` levels, 64 by default), checks
// that the whole text is UTF-8 before anything else, and reports the first
// error as a Status (ErrorCode::Format) worded exactly as llvm::json::parse
// words it, "[<line>:<column>, byte=<offset>]: <message>", so messages stay
// the same for files the compiler (llvm::json) and the runtime both read:
// the line counts from 1, the column and the byte offset from 0, and the
// position is the one llvm::json reports (usually just after the character
// that did not fit). The grammar is RFC 8259's, which is stricter than
// llvm::json about numbers: "01", "+1", ".5" and "1." are errors here
// ("Invalid JSON value (number?)") where llvm::json reads them with strtod.
// Unpaired UTF-16 surrogates in \u escapes become U+FFFD (RFC 8259 8.2
// allows them; llvm::json does the same). A key repeated in an object is an
// error, or, with the `firstDuplicate` overload, reported to the caller.
//
// Numbers keep exact integers: a number written without fraction or exponent
// that fits in int64_t or uint64_t is stored as such; any other number is a
// double (1e400 is +inf, as strtod reads it). getAsInt64()/getAsUInt64()
// return only exact integers, never a converted double, so no caller can
// convert a double like 2^63 to int64_t (undefined behavior).
//
//===----------------------------------------------------------------------===//

#ifndef LLM_RUNTIME_JSON_H
#define LLM_RUNTIME_JSON_H

#include "Error.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace llmrt {
namespace json {

class Value;
struct Member;

/// A JSON array.
using Array = std::vector<Value>;

/// A JSON object: its members in the order of the text (or of insertion),
/// with lookup by key in O(log n). Keys are unique.
class Object {
public:
  using const_iterator = std::vector<Member>::const_iterator;

  Object();
  Object(const Object &other);
  Object(Object &&other) noexcept;
  Object &operator=(const Object &other);
  Object &operator=(Object &&other) noexcept;
  ~Object();

  size_t size() const { return sorted.size(); }
  bool empty() const { return sorted.empty(); }
  /// Members in order. Keys cannot be changed in place (the lookup index
  /// depends on them); values can, through get().
  const_iterator begin() const;
  const_iterator end() const;

  /// The value of `key`, or nullptr.
  const Value *get(std::string_view key) const;
  Value *get(std::string_view key);
  /// Appends `key` with `value`; false, and no change, if `key` is present.
  bool insert(std::string key, Value value);
  /// Sets `key` to `value`: in place if present, appended otherwise.
  void set(std::string key, Value value);

  /// The same keys with equal values, in any order.
  friend bool operator==(const Object &a, const Object &b);
  friend bool operator!=(const Object &a, const Object &b) { return !(a == b); }

private:
  /// Position in `sorted` where `key` is or would be.
  size_t lowerBound(std::string_view key) const;

  std::vector<Member> members;
  /// Indices into `members`, sorted by key.
  std::vector<size_t> sorted;

  friend class Parser;
};

/// A JSON value: null, a boolean, a number, a string, an array or an object.
class Value {
public:
  enum class Kind { Null, Boolean, Number, String, Array, Object };

  Value() noexcept : tag(Tag::Null), int64Value(0) {}
  Value(std::nullptr_t) noexcept : Value() {}
  Value(bool b) noexcept : tag(Tag::Boolean), boolValue(b) {}
  /// Any integer type (bool excluded); stored exactly.
  template <typename T,
            std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>,
                             int> = 0>
  Value(T v) noexcept {
    if constexpr (std::is_signed_v<T>)
      setInt64(static_cast<int64_t>(v));
    else
      setUInt64(static_cast<uint64_t>(v));
  }
  Value(double d) noexcept : tag(Tag::Double), doubleValue(d) {}
  Value(std::string s);
  Value(std::string_view s) : Value(std::string(s)) {}
  Value(const char *s) : Value(std::string(s)) {}
  Value(json::Array a);
  Value(json::Object o);

  Value(const Value &other);
  Value(Value &&other) noexcept;
  Value &operator=(const Value &other);
  Value &operator=(Value &&other) noexcept;
  ~Value();

  Kind kind() const;
  bool isNull() const { return tag == Tag::Null; }
  /// Whether this is a number stored as an exact integer (written without
  /// fraction or exponent, and in the range of int64_t or uint64_t).
  bool isInteger() const { return tag == Tag::Int64 || tag == Tag::UInt64; }

  std::optional<bool> getAsBoolean() const;
  /// The integer, if this is an exact integer that fits in int64_t. A double
  /// gives std::nullopt, even 1.0 (the text "1.0" or "1e0").
  std::optional<int64_t> getAsInt64() const;
  /// The integer, if this is an exact integer >= 0 (up to 2^64 - 1). A double
  /// gives std::nullopt.
  std::optional<uint64_t> getAsUInt64() const;
  /// Any number as a double (integers above 2^53 are rounded).
  std::optional<double> getAsDouble() const;
  std::optional<std::string_view> getAsString() const;
  const json::Array *getAsArray() const;
  json::Array *getAsArray();
  const json::Object *getAsObject() const;
  json::Object *getAsObject();

  /// Same kind and value. Numbers: integers compare exactly with integers,
  /// doubles with doubles; an integer never equals a double.
  friend bool operator==(const Value &a, const Value &b);
  friend bool operator!=(const Value &a, const Value &b) { return !(a == b); }

private:
  enum class Tag : uint8_t {
    Null,
    Boolean,
    Int64,
    UInt64,
    Double,
    String,
    Array,
    Object
  };

  void setInt64(int64_t v) {
    tag = Tag::Int64;
    int64Value = v;
  }
  /// Values that fit in int64_t are stored as such, as the parser does.
  void setUInt64(uint64_t v) {
    if (v <= static_cast<uint64_t>(INT64_MAX)) {
      setInt64(static_cast<int64_t>(v));
    } else {
      tag = Tag::UInt64;
      uint64Value = v;
    }
  }
  void destroy() noexcept;
  void copyFrom(const Value &other);
  void moveFrom(Value &&other) noexcept;

  Tag tag;
  union {
    bool boolValue;
    int64_t int64Value;
    uint64_t uint64Value;
    double doubleValue;
    std::string stringValue;
    json::Array arrayValue;
    json::Object objectValue;
  };

  friend class Parser;
};

/// One member of an object.
struct Member {
  std::string key;
  Value value;
};

inline Object::const_iterator Object::begin() const { return members.begin(); }
inline Object::const_iterator Object::end() const { return members.end(); }

bool operator==(const Object &a, const Object &b);
bool operator==(const Value &a, const Value &b);

/// Parser settings.
struct ParseOptions {
  /// Arrays and objects nested deeper than this are an error. Parsing does
  /// not recurse, but destroying, copying, comparing and writing a Value do,
  /// once per level: keep this to a few thousand at most.
  unsigned maxDepth = 64;
};

/// A key repeated in an object, as found by the parser.
struct DuplicateKey {
  /// How the enclosing containers are reached from the top-level value: the
  /// key of each enclosing object member, "[i]" for an array element,
  /// outermost first; empty for a key repeated in the top-level object.
  std::vector<std::string> path;
  /// The key (escapes decoded, so "a" and "\u0061" are the same key).
  std::string key;
  /// Byte offsets of the opening quotes of its first and second occurrence.
  size_t firstOffset = 0;
  size_t secondOffset = 0;
};

/// Parses `text` as one JSON value (surrounding whitespace allowed). Errors
/// are ErrorCode::Format with llvm::json's "[line:column, byte=offset]: ..."
/// message. A key repeated in an object is an error ("Duplicate object key"),
/// reported after every syntax error of the text.
Expected<Value> parse(std::string_view text, const ParseOptions &options = {});

/// As above, but a repeated key is not an error: the first one (the one whose
/// second occurrence comes first in the text) is stored in `firstDuplicate`
/// (std::nullopt if there is none, or if parsing fails), so the caller can
/// word its own diagnostic. The object keeps the key at its first position
/// with the value of its last occurrence.
Expected<Value> parse(std::string_view text, const ParseOptions &options,
                      std::optional<DuplicateKey> &firstDuplicate);

/// Refuses text that nests arrays and objects more than `maxDepth` levels
/// deep, without parsing it: "<what>: JSON nesting at byte N is too deep:
/// expected at most M levels, found more" (ErrorCode::Format). On any prefix
/// a JSON parser accepts, it agrees with the parser on which bytes are
/// inside strings. Lets a reader report this first whatever else is wrong,
/// and bounds parsers that recurse once per level (llvm::json).
Status checkNesting(std::string_view text, const std::string &what,
                    unsigned maxDepth = 64);

/// Whether `s` is valid UTF-8 (RFC 3629: no overlong forms, no surrogates,
/// nothing above U+10FFFF). On failure `*errorOffset`, if given, is the
/// offset of the first byte of the first invalid sequence.
bool isUTF8(std::string_view s, size_t *errorOffset = nullptr);

/// Appends `s` to `out` as a JSON string literal: quotes and backslashes
/// escaped, \t \n \r as such, other control characters as \u00XX, everything
/// else (UTF-8 included) verbatim, as llvm::json writes strings. `s` should
/// be UTF-8; this does not check (Writer does).
void appendQuoted(std::string &out, std::string_view s);

/// Writes JSON text, compact (the default) or indented like llvm::json's
/// OStream with an indent. Mistakes do not abort: the first one (a string or
/// key that is not UTF-8, a non-finite number, a key outside an object, a
/// value where a key is expected, unbalanced begin/end calls, not exactly one
/// top-level value) is kept, later calls are ignored, and finish() returns
/// it.
class Writer {
public:
  /// `indent`: spaces per level; 0 writes no whitespace at all.
  explicit Writer(unsigned indent = 0) : indent(indent) {}

  void objectBegin();
  void objectEnd();
  void arrayBegin();
  void arrayEnd();
  /// The key of the next object member.
  void key(std::string_view k);

  void null();
  void boolean(bool b);
  void integer(int64_t v);
  void unsignedInteger(uint64_t v);
  /// The shortest text that reads back as `v`, with ".0" added if it would
  /// otherwise read back as an integer. Infinities and NaN are an error.
  void number(double v);
  void string(std::string_view s);
  /// A whole value; object members in their order.
  void value(const Value &v);

  /// key(k) then value(v).
  void attribute(std::string_view k, const Value &v) {
    key(k);
    value(v);
  }

  /// The text, or the first mistake (ErrorCode::InvalidArgument).
  Expected<std::string> finish();

private:
  enum class Context : uint8_t { Array, Object };
  struct Level {
    Context context;
    bool hasValue = false;
  };

  bool fail(std::string message);
  /// Checks that a value may come now and writes what precedes it.
  bool valueBegin();
  void newline();

  unsigned indent;
  std::string out;
  std::vector<Level> stack;
  /// A key was written and its value has not come yet.
  bool pendingKey = false;
  bool topLevelDone = false;
  Status status;
};

/// `v` as JSON text (see Writer), or why it cannot be written.
Expected<std::string> serialize(const Value &v, unsigned indent = 0);

} // namespace json
} // namespace llmrt

#endif // LLM_RUNTIME_JSON_H
