//===- JsonTest.cpp - The runtime's JSON parser and writer ----------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "Json.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

using namespace llmrt;
using namespace llmrt::json;

namespace {

/// Parses `text`, which must be valid.
Value parseOk(std::string_view text, const ParseOptions &options = {}) {
  Expected<Value> v = parse(text, options);
  EXPECT_TRUE(!!v) << "text: " << text << "\nerror: " << v.error();
  return v ? *v : Value();
}

/// The message of parsing `text`, which must fail.
std::string parseError(std::string_view text,
                       const ParseOptions &options = {}) {
  Expected<Value> v = parse(text, options);
  if (v) {
    ADD_FAILURE() << "text: " << text << ": expected an error, parsed fine";
    return "";
  }
  EXPECT_EQ(v.status().code(), ErrorCode::Format);
  return v.error();
}

/// The string of `text`, a JSON string literal.
std::string parseString(std::string_view text) {
  Value v = parseOk(text);
  std::optional<std::string_view> s = v.getAsString();
  EXPECT_TRUE(s) << text;
  return s ? std::string(*s) : "";
}

std::string serializeOk(const Value &v, unsigned indent = 0) {
  Expected<std::string> text = serialize(v, indent);
  EXPECT_TRUE(!!text) << text.error();
  return text ? *text : "";
}

//===----------------------------------------------------------------------===//
// Valid documents
//===----------------------------------------------------------------------===//

TEST(JsonParseTest, EveryKind) {
  EXPECT_TRUE(parseOk("null").isNull());
  EXPECT_EQ(parseOk("true").getAsBoolean(), std::optional<bool>(true));
  EXPECT_EQ(parseOk(" false ").getAsBoolean(), std::optional<bool>(false));
  EXPECT_EQ(parseOk("42").getAsInt64(), std::optional<int64_t>(42));
  EXPECT_EQ(parseOk("-2.5").getAsDouble(), std::optional<double>(-2.5));
  EXPECT_EQ(parseString("\"hi\""), "hi");
  EXPECT_EQ(parseOk("\t\r\n[]\n").getAsArray()->size(), 0u);
  EXPECT_TRUE(parseOk("{}").getAsObject()->empty());

  Value doc = parseOk(R"({
    "name": "llmc",
    "layers": [1, 2.5, -3, true, null, "x", [], {}],
    "nested": {"a": {"b": [{"c": false}]}}
  })");
  const Object *root = doc.getAsObject();
  ASSERT_TRUE(root);
  EXPECT_EQ(root->size(), 3u);
  EXPECT_EQ(root->get("name")->getAsString(), "llmc");
  const Array *layers = root->get("layers")->getAsArray();
  ASSERT_TRUE(layers);
  ASSERT_EQ(layers->size(), 8u);
  EXPECT_EQ((*layers)[0].getAsInt64(), std::optional<int64_t>(1));
  EXPECT_EQ((*layers)[1].getAsDouble(), std::optional<double>(2.5));
  EXPECT_EQ((*layers)[2].getAsInt64(), std::optional<int64_t>(-3));
  EXPECT_EQ((*layers)[3].kind(), Value::Kind::Boolean);
  EXPECT_EQ((*layers)[4].kind(), Value::Kind::Null);
  EXPECT_EQ((*layers)[5].kind(), Value::Kind::String);
  EXPECT_EQ((*layers)[6].kind(), Value::Kind::Array);
  EXPECT_EQ((*layers)[7].kind(), Value::Kind::Object);
  const Value *c = root->get("nested")
                       ->getAsObject()
                       ->get("a")
                       ->getAsObject()
                       ->get("b")
                       ->getAsArray()
                       ->front()
                       .getAsObject()
                       ->get("c");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->getAsBoolean(), std::optional<bool>(false));
  // Accessors of the wrong kind say so.
  EXPECT_FALSE(root->get("name")->getAsInt64());
  EXPECT_FALSE(root->get("name")->getAsArray());
  EXPECT_FALSE((*layers)[0].getAsString());
  EXPECT_FALSE((*layers)[4].getAsBoolean());
  EXPECT_FALSE(doc.getAsDouble());
}

TEST(JsonParseTest, ObjectsKeepTheOrderOfTheText) {
  Value v = parseOk(R"({"zeta": 1, "alpha": 2, "mid": 3, "": 4})");
  const Object &o = *v.getAsObject();
  std::vector<std::string> keys;
  for (const Member &m : o)
    keys.push_back(m.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"zeta", "alpha", "mid", ""}));
  EXPECT_EQ(o.get("mid")->getAsInt64(), std::optional<int64_t>(3));
  EXPECT_EQ(o.get("")->getAsInt64(), std::optional<int64_t>(4));
  EXPECT_EQ(o.get("missing"), nullptr);
  EXPECT_EQ(o.get("alph"), nullptr);
}

TEST(JsonParseTest, LargeObjectsLookUpEveryKey) {
  std::string text = "{";
  for (int i = 0; i < 5000; ++i)
    text += (i ? ",\"k" : "\"k") + std::to_string((i * 7919) % 5000) +
            "\":" + std::to_string(i);
  text += "}";
  Value v = parseOk(text);
  const Object &o = *v.getAsObject();
  ASSERT_EQ(o.size(), 5000u);
  for (int i = 0; i < 5000; ++i) {
    const Value *found = o.get("k" + std::to_string((i * 7919) % 5000));
    ASSERT_TRUE(found) << i;
    EXPECT_EQ(found->getAsInt64(), std::optional<int64_t>(i));
  }
  EXPECT_EQ(o.begin()->key, "k0");
  EXPECT_EQ((o.begin() + 1)->key, "k2919");
}

TEST(JsonObjectTest, InsertAndSet) {
  Object o;
  EXPECT_TRUE(o.insert("b", 1));
  EXPECT_TRUE(o.insert("a", "x"));
  EXPECT_FALSE(o.insert("b", 2)); // No change.
  EXPECT_EQ(o.get("b")->getAsInt64(), std::optional<int64_t>(1));
  o.set("b", 3);
  o.set("c", nullptr);
  EXPECT_EQ(o.get("b")->getAsInt64(), std::optional<int64_t>(3));
  EXPECT_TRUE(o.get("c")->isNull());
  std::vector<std::string> keys;
  for (const Member &m : o)
    keys.push_back(m.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"b", "a", "c"}));
  // Values can change in place through get().
  *o.get("a") = Value(Array{1, 2});
  EXPECT_EQ(o.get("a")->getAsArray()->size(), 2u);
}

//===----------------------------------------------------------------------===//
// Numbers
//===----------------------------------------------------------------------===//

TEST(JsonNumberTest, IntegersStayExact) {
  Value max = parseOk("9223372036854775807");
  EXPECT_TRUE(max.isInteger());
  EXPECT_EQ(max.getAsInt64(), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(max.getAsUInt64(), 9223372036854775807ull);

  Value min = parseOk("-9223372036854775808");
  EXPECT_EQ(min.getAsInt64(), std::numeric_limits<int64_t>::min());
  EXPECT_FALSE(min.getAsUInt64());

  // 2^63: only a uint64_t holds it.
  Value twoTo63 = parseOk("9223372036854775808");
  EXPECT_TRUE(twoTo63.isInteger());
  EXPECT_FALSE(twoTo63.getAsInt64());
  EXPECT_EQ(twoTo63.getAsUInt64(), 9223372036854775808ull);
  EXPECT_EQ(twoTo63.getAsDouble(), 9223372036854775808.0);

  Value umax = parseOk("18446744073709551615");
  EXPECT_EQ(umax.getAsUInt64(), std::numeric_limits<uint64_t>::max());
  EXPECT_FALSE(umax.getAsInt64());

  // Out of both ranges: a double.
  Value big = parseOk("18446744073709551616");
  EXPECT_FALSE(big.isInteger());
  EXPECT_FALSE(big.getAsUInt64());
  EXPECT_EQ(big.getAsDouble(), 18446744073709551616.0);
  Value belowMin = parseOk("-9223372036854775809");
  EXPECT_FALSE(belowMin.getAsInt64());
  EXPECT_EQ(belowMin.getAsDouble(), -9223372036854775808.0);

  EXPECT_EQ(parseOk("0").getAsUInt64(), 0u);
  EXPECT_EQ(parseOk("-1").getAsInt64(), -1);
  EXPECT_FALSE(parseOk("-1").getAsUInt64());
  // "-0" is the integer 0, as in llvm::json and Python.
  Value negZero = parseOk("-0");
  EXPECT_TRUE(negZero.isInteger());
  EXPECT_EQ(negZero.getAsInt64(), 0);
}

TEST(JsonNumberTest, DoublesNeverBecomeIntegers) {
  // A fraction or an exponent makes a double, even with an integral value.
  for (const char *text : {"1.0", "1e0", "1E2", "0.0", "2e-0"}) {
    Value v = parseOk(text);
    EXPECT_FALSE(v.isInteger()) << text;
    EXPECT_FALSE(v.getAsInt64()) << text;
    EXPECT_FALSE(v.getAsUInt64()) << text;
    EXPECT_TRUE(v.getAsDouble()) << text;
  }
  // Rounds to 2^63, which would be undefined behavior as an int64_t.
  Value edge = parseOk("9223372036854775807.2");
  EXPECT_FALSE(edge.getAsInt64());
  EXPECT_FALSE(edge.getAsUInt64());
  EXPECT_EQ(edge.getAsDouble(), 9223372036854775808.0);

  Value negZero = parseOk("-0.0");
  ASSERT_TRUE(negZero.getAsDouble());
  EXPECT_EQ(*negZero.getAsDouble(), 0.0);
  EXPECT_TRUE(std::signbit(*negZero.getAsDouble()));

  EXPECT_EQ(parseOk("1.5e3").getAsDouble(), 1500.0);
  EXPECT_EQ(parseOk("-2.5E-3").getAsDouble(), -0.0025);
  EXPECT_EQ(parseOk("0.1").getAsDouble(), 0.1);
  EXPECT_EQ(parseOk("1.7976931348623157e308").getAsDouble(),
            std::numeric_limits<double>::max());
  EXPECT_EQ(parseOk("4.9406564584124654e-324").getAsDouble(),
            std::numeric_limits<double>::denorm_min());
}

TEST(JsonNumberTest, OutOfRangeDoublesSaturateAsStrtod) {
  EXPECT_EQ(parseOk("1e400").getAsDouble(),
            std::numeric_limits<double>::infinity());
  EXPECT_EQ(parseOk("-1e400").getAsDouble(),
            -std::numeric_limits<double>::infinity());
  EXPECT_EQ(parseOk("123456789e99999999999999999999").getAsDouble(),
            std::numeric_limits<double>::infinity());
  Value tiny = parseOk("1e-400");
  ASSERT_TRUE(tiny.getAsDouble());
  EXPECT_EQ(*tiny.getAsDouble(), 0.0);
  EXPECT_FALSE(std::signbit(*tiny.getAsDouble()));
  Value negTiny = parseOk("-0.00001e-99999");
  ASSERT_TRUE(negTiny.getAsDouble());
  EXPECT_EQ(*negTiny.getAsDouble(), 0.0);
  EXPECT_TRUE(std::signbit(*negTiny.getAsDouble()));
}

TEST(JsonNumberTest, StrictGrammar) {
  // RFC 8259 numbers only (llvm::json reads these with strtod).
  for (const char *text : {"01", "-01", "+1", ".5", "1.", "1.e5", "-", "1e",
                           "1e+", "--1", "1.5.5", "1-2", "-.5"})
    EXPECT_NE(parseError(text).find("Invalid JSON value (number?)"),
              std::string::npos)
        << text;
  EXPECT_EQ(parseError("[1, 01]"),
            "[1:6, byte=6]: Invalid JSON value (number?)");
  // Hexadecimal is not a number, "0" then an "x".
  EXPECT_EQ(parseError("0x10"), "[1:1, byte=1]: Text after end of document");
}

//===----------------------------------------------------------------------===//
// Errors
//===----------------------------------------------------------------------===//

TEST(JsonErrorTest, MessagesAndPositionsAreLlvmJsons) {
  // Each message as llvm::json::parse words it, with its [line:column,
  // byte=offset] (checked against LLVM 22 when written).
  struct Case {
    std::string text;
    const char *message;
  };
  const Case cases[] = {
      {"", "[1:0, byte=0]: Unexpected EOF"},
      {"   \n  ", "[2:2, byte=6]: Unexpected EOF"},
      {"[1,", "[1:3, byte=3]: Unexpected EOF"},
      {"nul", "[1:3, byte=3]: Invalid JSON value (null?)"},
      {"nulx", "[1:4, byte=4]: Invalid JSON value (null?)"},
      {"tru", "[1:3, byte=3]: Invalid JSON value (true?)"},
      {"truE", "[1:4, byte=4]: Invalid JSON value (true?)"},
      {"fals", "[1:4, byte=4]: Invalid JSON value (false?)"},
      {"falsy", "[1:5, byte=5]: Invalid JSON value (false?)"},
      {"{\"a\":tru}", "[1:9, byte=9]: Invalid JSON value (true?)"},
      {"x", "[1:1, byte=1]: Invalid JSON value"},
      {"[1,]", "[1:4, byte=4]: Invalid JSON value"},
      {"[NaN]", "[1:2, byte=2]: Invalid JSON value"},
      {"\r\n[\r\n}", "[3:1, byte=6]: Invalid JSON value"},
      {"[-Infinity]", "[1:2, byte=2]: Invalid JSON value (number?)"},
      {"[1e]", "[1:3, byte=3]: Invalid JSON value (number?)"},
      {"[1.5.5]", "[1:6, byte=6]: Invalid JSON value (number?)"},
      {"[1,\n 2,\n  -]", "[3:3, byte=11]: Invalid JSON value (number?)"},
      {"{\"a\":1,}", "[1:8, byte=8]: Expected object key"},
      {"{", "[1:1, byte=1]: Expected object key"},
      {"{1:2}", "[1:2, byte=2]: Expected object key"},
      {"{\"a\" 1}", "[1:6, byte=6]: Expected : after object key"},
      {"{\"a\"", "[1:4, byte=4]: Expected : after object key"},
      {"{\"a\":1 \"b\":2}",
       "[1:8, byte=8]: Expected , or } after object property"},
      {"{\"a\":1", "[1:6, byte=6]: Expected , or } after object property"},
      {"[1 2]", "[1:4, byte=4]: Expected , or ] after array element"},
      {"[1", "[1:2, byte=2]: Expected , or ] after array element"},
      {"[] []", "[1:3, byte=3]: Text after end of document"},
      {"[1]]", "[1:3, byte=3]: Text after end of document"},
      {"{}\n\n  x", "[3:2, byte=6]: Text after end of document"},
      {"\"abc", "[1:4, byte=4]: Unterminated string"},
      {"\"a\\", "[1:3, byte=3]: Unterminated string"},
      {"\"a\x01", "[1:3, byte=3]: Unterminated string"},
      {"\"a\tb\"", "[1:3, byte=3]: Control character in string"},
      {std::string("\"a\0b\"", 5),
       "[1:3, byte=3]: Control character in string"},
      {"\"a\\q\"", "[1:4, byte=4]: Invalid escape sequence"},
      {"{\"a\":\n\n\"b\\x\"}", "[3:4, byte=11]: Invalid escape sequence"},
      {"\"\\u12x4\"", "[1:7, byte=7]: Invalid \\u escape sequence"},
      {"\"\\u12", "[1:5, byte=5]: Invalid \\u escape sequence"},
      {"\"\\ud800\\u12\"", "[1:12, byte=12]: Invalid \\u escape sequence"},
      {"{\"\\u00\":1}", "[1:8, byte=8]: Invalid \\u escape sequence"},
      {"\"\xff\"", "[1:1, byte=1]: Invalid UTF-8 sequence"},
      {"\xe2\x82", "[1:0, byte=0]: Invalid UTF-8 sequence"},
      {"[\"\xc0\x80\"]", "[1:2, byte=2]: Invalid UTF-8 sequence"},
      {"[\"\xed\xa0\x80\"]", "[1:2, byte=2]: Invalid UTF-8 sequence"},
      {"[\"\xf4\x90\x80\x80\"]", "[1:2, byte=2]: Invalid UTF-8 sequence"},
      {"[\"a\",\n\"\xf5\"]", "[2:1, byte=7]: Invalid UTF-8 sequence"},
  };
  for (const Case &c : cases)
    EXPECT_EQ(parseError(c.text), c.message) << "text: " << c.text;
}

TEST(JsonErrorTest, InvalidUTF8IsFoundBeforeSyntaxErrors) {
  // As llvm::json: the whole text is checked first.
  EXPECT_EQ(parseError("[x, \"\xff\"]"),
            "[1:5, byte=5]: Invalid UTF-8 sequence");
}

//===----------------------------------------------------------------------===//
// Nesting
//===----------------------------------------------------------------------===//

TEST(JsonNestingTest, LimitIsCheckedWhileParsing) {
  std::string ok = std::string(64, '[') + std::string(64, ']');
  EXPECT_TRUE(parseOk(ok).getAsArray());
  EXPECT_EQ(parseError(std::string(65, '[') + std::string(65, ']')),
            "[1:64, byte=64]: Nesting too deep: expected at most 64 levels, "
            "found more");
  // Objects count too, and empty containers at the limit.
  std::string objects;
  for (int i = 0; i < 64; ++i)
    objects += "{\"k\":";
  EXPECT_EQ(parseError(objects + "[]" + std::string(64, '}')),
            "[1:320, byte=320]: Nesting too deep: expected at most 64 levels, "
            "found more");
  EXPECT_TRUE(parseOk(objects + "1" + std::string(64, '}')).getAsObject());
}

TEST(JsonNestingTest, HugeDepthDoesNotRecurse) {
  // 1M '[' would overflow the stack of a recursive parser; this one stops at
  // the limit without reading further.
  std::string deep(1'000'000, '[');
  EXPECT_EQ(parseError(deep),
            "[1:64, byte=64]: Nesting too deep: expected at most 64 levels, "
            "found more");
  // A large limit is fine for parsing itself.
  ParseOptions options;
  options.maxDepth = 100'000;
  std::string text = std::string(100'000, '[') + std::string(100'000, ']');
  Expected<Value> v = parse(text, options);
  ASSERT_TRUE(!!v) << v.error();
  // Taken apart level by level: destroying it at once would recurse 100k
  // times.
  Value current = std::move(*v);
  for (int level = 1; level < 100'000; ++level) {
    Array *a = current.getAsArray();
    ASSERT_TRUE(a && a->size() == 1) << level;
    Value inner = std::move(a->front());
    current = std::move(inner);
  }
  EXPECT_TRUE(current.getAsArray()->empty());
}

TEST(JsonNestingTest, SmallerLimits) {
  ParseOptions options;
  options.maxDepth = 2;
  EXPECT_TRUE(parseOk("[[1], {\"a\": 2}]", options).getAsArray());
  EXPECT_EQ(parseError("[[[]]]", options),
            "[1:2, byte=2]: Nesting too deep: expected at most 2 levels, found "
            "more");
  options.maxDepth = 0;
  EXPECT_EQ(parseOk("7", options).getAsInt64(), 7);
  EXPECT_EQ(parseError("{}", options),
            "[1:0, byte=0]: Nesting too deep: expected at most 0 levels, found "
            "more");
}

//===----------------------------------------------------------------------===//
// Strings
//===----------------------------------------------------------------------===//

TEST(JsonStringTest, Escapes) {
  EXPECT_EQ(parseString(R"("\"\\\/\b\f\n\r\t")"), "\"\\/\b\f\n\r\t");
  EXPECT_EQ(parseString(R"("a\u0062c")"), "abc");
  EXPECT_EQ(parseString(R"("\u00e9\u20AC")"), "\xc3\xa9\xe2\x82\xac");
  EXPECT_EQ(parseString(R"("\u0000")"), std::string(1, '\0'));
  EXPECT_EQ(parseString(R"("\u007f\u0080\u07ff\u0800\uffff")"),
            "\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf");
  // UTF-8 in the text is kept as it is.
  EXPECT_EQ(parseString("\"\xc3\xa9\xf0\x9f\x98\x80\""),
            "\xc3\xa9\xf0\x9f\x98\x80");
}

TEST(JsonStringTest, SurrogatePairs) {
  EXPECT_EQ(parseString(R"("\ud83d\ude00")"), "\xf0\x9f\x98\x80"); // U+1F600
  EXPECT_EQ(parseString(R"("\uD800\uDC00")"), "\xf0\x90\x80\x80"); // U+10000
  EXPECT_EQ(parseString(R"("\udbff\udfff")"), "\xf4\x8f\xbf\xbf"); // U+10FFFF
  // U+20000 (CJK Extension B): llvm::json decodes pairs from D840 upwards
  // wrongly (it ORs 0x10000 into the code point instead of adding it).
  EXPECT_EQ(parseString(R"("\ud840\udc00")"), "\xf0\xa0\x80\x80");
}

TEST(JsonStringTest, UnpairedSurrogatesBecomeReplacementCharacters) {
  const std::string fffd = "\xef\xbf\xbd";
  EXPECT_EQ(parseString(R"("\ud800")"), fffd);
  EXPECT_EQ(parseString(R"("\udc00x")"), fffd + "x");
  EXPECT_EQ(parseString(R"("\ud800\u0041")"), fffd + "A");
  EXPECT_EQ(parseString(R"("\ud800\n")"), fffd + "\n");
  // A lone leading surrogate, then a pair.
  EXPECT_EQ(parseString(R"("\ud800\ud800\udc00")"), fffd + "\xf0\x90\x80\x80");
}

TEST(JsonStringTest, IsUTF8) {
  size_t offset = 99;
  EXPECT_TRUE(isUTF8(""));
  EXPECT_TRUE(isUTF8("plain ascii, longer than eight bytes"));
  EXPECT_TRUE(isUTF8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf"));
  struct Bad {
    std::string text;
    size_t offset;
  };
  const Bad bad[] = {
      {"\x80", 0},                         // A continuation byte first.
      {"ab\xc0\x80", 2},                   // Overlong NUL.
      {"abc\xc1\xbf", 3},                  // Overlong.
      {"\xe0\x80\x80", 0},                 // Overlong three-byte form.
      {"12345678\xed\xa0\x80", 8},         // A surrogate (after the fast path).
      {"\xf0\x80\x80\x80", 0},             // Overlong four-byte form.
      {"\xf4\x90\x80\x80", 0},             // Above U+10FFFF.
      {"\xf5\x80\x80\x80", 0},             // Lead byte past F4.
      {"\xff", 0},                         // Never valid.
      {"x\xc3", 1},                        // Truncated.
      {"x\xe2\x82", 1},                    // Truncated.
      {"\xc3\xa9\xe2\x28\xa1", 2},         // Bad continuation.
      {"\xf0\x9f\x98\x80\xf0\x9f\x98", 4}, // Truncated after a valid one.
  };
  for (const Bad &b : bad) {
    EXPECT_FALSE(isUTF8(b.text, &offset)) << b.offset;
    EXPECT_EQ(offset, b.offset);
  }
}

//===----------------------------------------------------------------------===//
// Duplicate keys
//===----------------------------------------------------------------------===//

TEST(JsonDuplicateTest, AreAnErrorByDefault) {
  EXPECT_EQ(parseError(R"({"a":1,"b":2,"a":3})"),
            "[1:13, byte=13]: Duplicate object key \"a\" (first at byte 1)");
  // Decoded before comparison.
  EXPECT_EQ(parseError(R"({"a":1,"\u0061":2})"),
            "[1:7, byte=7]: Duplicate object key \"a\" (first at byte 1)");
  // A syntax error anywhere wins.
  EXPECT_EQ(parseError(R"({"a":1,"a":2} x)"),
            "[1:14, byte=14]: Text after end of document");
  // Keys are quoted as JSON in the message, and long ones are cut.
  EXPECT_EQ(parseError("{\"\\n\\\"\":1,\"\\n\\\"\":2}"),
            "[1:10, byte=10]: Duplicate object key \"\\n\\\"\" (first at byte "
            "1)");
  std::string longKey(300, 'k');
  std::string message =
      parseError("{\"" + longKey + "\":1,\"" + longKey + "\":2}");
  EXPECT_NE(message.find("\"" + std::string(200, 'k') + "\"..."),
            std::string::npos)
      << message;
  // The same key in different objects is fine.
  EXPECT_TRUE(parseOk(R"({"a":{"a":1},"b":{"a":2}})").getAsObject());
}

TEST(JsonDuplicateTest, ReportedToTheCaller) {
  std::optional<DuplicateKey> dup;
  Expected<Value> v =
      parse(R"({"t":{"x":[0,{"k":1,"j":2,"k":3}]},"u":1})", {}, dup);
  ASSERT_TRUE(!!v) << v.error();
  ASSERT_TRUE(dup);
  EXPECT_EQ(dup->path, (std::vector<std::string>{"t", "x", "[1]"}));
  EXPECT_EQ(dup->key, "k");
  EXPECT_EQ(dup->firstOffset, 14u);
  EXPECT_EQ(dup->secondOffset, 26u);
  // The object keeps the key once, at its first position, with the last
  // value.
  const Object &inner = *v->getAsObject()
                             ->get("t")
                             ->getAsObject()
                             ->get("x")
                             ->getAsArray()
                             ->back()
                             .getAsObject();
  ASSERT_EQ(inner.size(), 2u);
  EXPECT_EQ(inner.begin()->key, "k");
  EXPECT_EQ(inner.get("k")->getAsInt64(), 3);
  EXPECT_EQ(inner.get("j")->getAsInt64(), 2);

  // No duplicate: std::nullopt, even if the caller's optional held one.
  v = parse(R"({"a":1})", {}, dup);
  ASSERT_TRUE(!!v);
  EXPECT_FALSE(dup);
}

TEST(JsonDuplicateTest, TheFirstInTextOrder) {
  // The outer object closes last, but its duplicate comes first in the text.
  std::optional<DuplicateKey> dup;
  ASSERT_TRUE(!!parse(R"({"a":1,"a":2,"b":{"c":1,"c":2}})", {}, dup));
  ASSERT_TRUE(dup);
  EXPECT_TRUE(dup->path.empty());
  EXPECT_EQ(dup->key, "a");
  EXPECT_EQ(dup->secondOffset, 7u);
  // A key three times: its second occurrence counts.
  ASSERT_TRUE(!!parse(R"({"b":{"c":1,"c":2,"c":3},"a":0,"a":1})", {}, dup));
  ASSERT_TRUE(dup);
  EXPECT_EQ(dup->path, std::vector<std::string>{"b"});
  EXPECT_EQ(dup->firstOffset, 6u);
  EXPECT_EQ(dup->secondOffset, 12u);
}

//===----------------------------------------------------------------------===//
// Writer
//===----------------------------------------------------------------------===//

TEST(JsonWriterTest, Compact) {
  Writer w;
  w.objectBegin();
  w.key("dtype");
  w.string("F32");
  w.key("shape");
  w.arrayBegin();
  w.integer(2);
  w.integer(-3);
  w.arrayEnd();
  w.key("offsets");
  w.arrayBegin();
  w.unsignedInteger(0);
  w.unsignedInteger(18446744073709551615ull);
  w.arrayEnd();
  w.key("e");
  w.objectBegin();
  w.objectEnd();
  w.key("n");
  w.null();
  w.key("b");
  w.boolean(true);
  w.objectEnd();
  Expected<std::string> text = w.finish();
  ASSERT_TRUE(!!text) << text.error();
  EXPECT_EQ(*text, R"({"dtype":"F32","shape":[2,-3],"offsets":[0,)"
                   R"(18446744073709551615],"e":{},"n":null,"b":true})");
}

TEST(JsonWriterTest, IndentedLikeLlvmJson) {
  Value v = parseOk(R"({"a":[1,{"b":null}],"c":{},"d":[]})");
  EXPECT_EQ(serializeOk(v, 2), "{\n"
                               "  \"a\": [\n"
                               "    1,\n"
                               "    {\n"
                               "      \"b\": null\n"
                               "    }\n"
                               "  ],\n"
                               "  \"c\": {},\n"
                               "  \"d\": []\n"
                               "}");
}

TEST(JsonWriterTest, EscapesStrings) {
  EXPECT_EQ(serializeOk(Value("q\"b\\s/t\tn\nr\r\x01\x1f\x7f\xc3\xa9")),
            "\"q\\\"b\\\\s/t\\tn\\nr\\r\\u0001\\u001f\x7f\xc3\xa9\"");
  EXPECT_EQ(serializeOk(Value(std::string("a\0b", 3))), "\"a\\u0000b\"");
  Object o;
  o.set("k\"ey", "v");
  EXPECT_EQ(serializeOk(Value(std::move(o))), "{\"k\\\"ey\":\"v\"}");
}

TEST(JsonWriterTest, Doubles) {
  EXPECT_EQ(serializeOk(Value(1.0)), "1.0");
  EXPECT_EQ(serializeOk(Value(0.1)), "0.1");
  EXPECT_EQ(serializeOk(Value(-2.5)), "-2.5");
  EXPECT_EQ(serializeOk(Value(-0.0)), "-0.0");
  EXPECT_EQ(serializeOk(Value(1e300)), "1e+300");
  EXPECT_EQ(serializeOk(Value(123456789.0)), "123456789.0");
  // Every double reads back as the same double.
  for (double d : {0.1, 1.0 / 3, 6.02214076e23, 5e-324, 1.7976931348623157e308,
                   -9007199254740993.0, 9223372036854775808.0}) {
    Value back = parseOk(serializeOk(Value(d)));
    EXPECT_FALSE(back.isInteger()) << d;
    EXPECT_EQ(back.getAsDouble(), d);
  }
}

TEST(JsonWriterTest, RefusesWhatJsonCannotHold) {
  for (double d : {std::numeric_limits<double>::infinity(),
                   -std::numeric_limits<double>::infinity(),
                   std::numeric_limits<double>::quiet_NaN()}) {
    Expected<std::string> text = serialize(Value(Array{1, d}));
    ASSERT_FALSE(!!text) << d;
    EXPECT_EQ(text.status().code(), ErrorCode::InvalidArgument);
    EXPECT_NE(text.error().find("has no JSON representation"),
              std::string::npos);
  }
  Expected<std::string> badString = serialize(Value("ok\xff"));
  ASSERT_FALSE(!!badString);
  EXPECT_EQ(badString.error(), "json::Writer: string is not valid UTF-8");
  Object o;
  o.set("\xc3", 1);
  Expected<std::string> badKey = serialize(Value(std::move(o)));
  ASSERT_FALSE(!!badKey);
  EXPECT_EQ(badKey.error(), "json::Writer: key is not valid UTF-8");
}

TEST(JsonWriterTest, MisuseIsAnErrorNotACrash) {
  auto finishError = [](auto &&calls) {
    Writer w;
    calls(w);
    Expected<std::string> text = w.finish();
    return text ? std::string("no error: ") + *text : text.error();
  };
  EXPECT_EQ(finishError([](Writer &w) { w.key("a"); }),
            "json::Writer: a key outside an object");
  EXPECT_EQ(finishError([](Writer &w) {
              w.objectBegin();
              w.integer(1);
            }),
            "json::Writer: a value in an object without a key");
  EXPECT_EQ(finishError([](Writer &w) {
              w.objectBegin();
              w.key("a");
              w.key("b");
            }),
            "json::Writer: a key after a key without a value");
  EXPECT_EQ(finishError([](Writer &w) {
              w.objectBegin();
              w.key("a");
              w.objectEnd();
            }),
            "json::Writer: objectEnd after a key without a value");
  EXPECT_EQ(finishError([](Writer &w) {
              w.arrayBegin();
              w.objectEnd();
            }),
            "json::Writer: objectEnd without a matching objectBegin");
  EXPECT_EQ(finishError([](Writer &w) { w.arrayEnd(); }),
            "json::Writer: arrayEnd without a matching arrayBegin");
  EXPECT_EQ(finishError([](Writer &w) {
              w.arrayBegin();
              w.arrayBegin();
              w.arrayEnd();
            }),
            "json::Writer: 1 arrays or objects are not closed");
  EXPECT_EQ(finishError([](Writer &w) {
              w.integer(1);
              w.integer(2);
            }),
            "json::Writer: a second top-level value");
  EXPECT_EQ(finishError([](Writer &) {}), "json::Writer: no value was written");
  // The first mistake sticks.
  EXPECT_EQ(finishError([](Writer &w) {
              w.string("\xff");
              w.key("a");
            }),
            "json::Writer: string is not valid UTF-8");
}

TEST(JsonWriterTest, RoundTrips) {
  const char *text =
      R"({"z":[1,-1,9223372036854775807,-9223372036854775808,)"
      R"(18446744073709551615,1.5,-0.0,1e+300],"a":{"s":"\"\\\n\u0001\u00e9",)"
      R"("t":true,"f":false,"n":null,"e":{},"l":[]},"":"\ud83d\ude00"})";
  Value v = parseOk(text);
  std::string compact = serializeOk(v);
  Value back = parseOk(compact);
  EXPECT_EQ(back, v);
  EXPECT_EQ(serializeOk(back), compact);
  // Keys stay in order; the UTF-8 is written as it is.
  EXPECT_EQ(compact.substr(0, 6), "{\"z\":[");
  EXPECT_NE(compact.find("\xf0\x9f\x98\x80"), std::string::npos);
  EXPECT_EQ(parseOk(serializeOk(v, 4)), v);
  // A change makes them differ.
  Value changed = back;
  *changed.getAsObject()->get("a")->getAsObject()->get("t") = Value(false);
  EXPECT_NE(changed, v);
}

//===----------------------------------------------------------------------===//
// Values
//===----------------------------------------------------------------------===//

TEST(JsonValueTest, ConstructionAndEquality) {
  EXPECT_EQ(Value(int8_t(-5)).getAsInt64(), -5);
  EXPECT_EQ(Value(uint16_t(65535)).getAsInt64(), 65535);
  EXPECT_EQ(Value(~0ull).getAsUInt64(), ~0ull);
  EXPECT_EQ(Value(3u), Value(int64_t(3))); // Stored the same way.
  EXPECT_NE(Value(1), Value(1.0));         // An integer is not a double.
  EXPECT_EQ(Value(0.5), Value(0.5));
  EXPECT_NE(Value(std::numeric_limits<double>::quiet_NaN()),
            Value(std::numeric_limits<double>::quiet_NaN()));
  EXPECT_EQ(Value("s").kind(), Value::Kind::String); // Not a bool.
  EXPECT_EQ(Value(std::string_view("s")), Value(std::string("s")));
  EXPECT_EQ(Value(nullptr), Value());
  EXPECT_NE(Value(false), Value());
  EXPECT_NE(Value(Array{1}), Value(Array{1, 2}));
  // Objects compare as maps.
  EXPECT_EQ(parseOk(R"({"a":1,"b":2})"), parseOk(R"({"b":2,"a":1})"));
  EXPECT_NE(parseOk(R"({"a":1,"b":2})"), parseOk(R"({"a":1,"b":3})"));
  EXPECT_NE(parseOk(R"({"a":1})"), parseOk(R"({"a":1,"b":2})"));
}

TEST(JsonValueTest, CopyMoveAndAssignFromAChild) {
  Value v = parseOk(R"({"a":[1,{"b":"deep"}]})");
  Value copy = v;
  EXPECT_EQ(copy, v);
  Value moved = std::move(copy);
  EXPECT_EQ(moved, v);
  EXPECT_TRUE(copy.isNull()); // NOLINT(bugprone-use-after-move)

  // Assigning a part of a value to the value itself.
  Value w = v;
  w = (*w.getAsObject()->get("a"));
  ASSERT_TRUE(w.getAsArray());
  EXPECT_EQ(w.getAsArray()->size(), 2u);
  w = std::move(w.getAsArray()->back());
  ASSERT_TRUE(w.getAsObject());
  EXPECT_EQ(w.getAsObject()->get("b")->getAsString(), "deep");
  Value &self = w;
  w = self;
  EXPECT_TRUE(w.getAsObject());
}

TEST(JsonParseTest, LargeDocumentIsFast) {
  // A tokenizer.json-like vocabulary: 100k keys with \u escapes. The bound is
  // loose (sanitizer builds are slow); it catches quadratic behavior.
  std::string text = "{\"vocab\":{";
  for (int i = 0; i < 100'000; ++i)
    text += (i ? ",\"\\u0120t" : "\"\\u0120t") + std::to_string(i) +
            "\\u00e9\":" + std::to_string(i);
  text += "}}";
  auto start = std::chrono::steady_clock::now();
  Value v = parseOk(text);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  const Object &vocab = *v.getAsObject()->get("vocab")->getAsObject();
  ASSERT_EQ(vocab.size(), 100'000u);
  EXPECT_EQ(vocab.get("\xc4\xa0t99999\xc3\xa9")->getAsInt64(), 99999);
  EXPECT_LT(seconds, 10.0);
}

} // namespace
