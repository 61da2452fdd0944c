//===- Unicode.h - UTF-8 and Unicode properties for tokenizers --*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
// The Unicode the tokenizers need, on ICU: UTF-8 decoding and repair,
// general categories and binary properties with the meaning Rust's `char`
// methods give them (Hugging Face tokenizers is written in Rust, and its
// components are defined by those methods), normalization forms, full
// lowercase mapping and extended grapheme clusters.
//
// Every function here takes valid UTF-8 except `repairUtf8`, which makes it.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_RUNTIME_TOKENIZER_UNICODE_H
#define LLM_RUNTIME_TOKENIZER_UNICODE_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace llmrt::unicode {

/// Decodes the code point at `s[i]` of valid UTF-8 and advances `i`.
inline char32_t next(std::string_view s, size_t &i) {
  unsigned char b = static_cast<unsigned char>(s[i]);
  if (b < 0x80) {
    ++i;
    return b;
  }
  int extra = b >= 0xf0 ? 3 : b >= 0xe0 ? 2 : 1;
  char32_t c = b & (0x3f >> extra);
  for (int k = 1; k <= extra; ++k)
    c = (c << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
  i += extra + 1;
  return c;
}

/// The length in bytes of the UTF-8 sequence starting with `lead`.
inline size_t sequenceLength(unsigned char lead) {
  return lead < 0x80 ? 1 : lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
}

/// Appends `c` to `out` in UTF-8.
void append(std::string &out, char32_t c);

/// The code points of valid UTF-8 `s`.
std::u32string decode(std::string_view s);
/// `s` in UTF-8.
std::string encode(std::u32string_view s);

/// Whether `s` is valid UTF-8 (no surrogates, no overlong forms).
bool isValidUtf8(std::string_view s);
/// `s` with every ill-formed sequence replaced by U+FFFD, one per maximal
/// subpart, as Python's bytes.decode("utf-8", errors="replace") and the
/// WHATWG encoding standard do: "\xe2\x82" (a truncated 3-byte sequence) is
/// one U+FFFD, "\xc0\xaf" (overlong) and "\xed\xa0\x80" (a surrogate) are
/// one per byte.
std::string repairUtf8(std::string_view s);

/// Rust's char::is_whitespace: the White_Space property.
bool isWhitespace(char32_t c);
/// Rust's char::is_alphabetic: the Alphabetic property.
bool isAlphabetic(char32_t c);
/// Rust's char::is_numeric: general category Nd, Nl or No.
bool isNumeric(char32_t c);
/// Rust's char::is_alphanumeric.
inline bool isAlphanumeric(char32_t c) {
  return isAlphabetic(c) || isNumeric(c);
}
/// General category P* (unicode-properties' is_punctuation).
bool isPunctuation(char32_t c);
/// General category Cc, Cf, Cs or Co (unicode_categories' is_other, which
/// leaves out Cn).
bool isOther(char32_t c);
/// General category M*: Mn, Mc, Me.
bool isMark(char32_t c);
/// General category Mn.
bool isNonspacingMark(char32_t c);
/// Rust regex's \w: Alphabetic, M*, Nd, Pc and Join_Control.
bool isWordChar(char32_t c);
inline bool isAsciiPunctuation(char32_t c) {
  return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') ||
         (c >= '[' && c <= '`') || (c >= '{' && c <= '~');
}

enum class Form { NFC, NFD, NFKC, NFKD };
/// `s` in normalization form `form`.
std::string normalize(std::string_view s, Form form);
/// Rust's str::chars().flat_map(char::to_lowercase): the full lowercase
/// mapping of each code point, without context (no final sigma).
std::string lowercase(std::string_view s);
/// The byte offsets where the extended grapheme clusters of `s` start,
/// followed by s.size().
std::vector<size_t> graphemeBoundaries(std::string_view s);

} // namespace llmrt::unicode

#endif // LLM_RUNTIME_TOKENIZER_UNICODE_H
