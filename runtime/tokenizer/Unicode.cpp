//===- Unicode.cpp - UTF-8 and Unicode properties for tokenizers ----------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "tokenizer/Unicode.h"

#include <unicode/ubrk.h>
#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <unicode/utext.h>

#include <memory>

using namespace llmrt;

void unicode::append(std::string &out, char32_t c) {
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

std::u32string unicode::decode(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();)
    out += next(s, i);
  return out;
}

std::string unicode::encode(std::u32string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t c : s)
    append(out, c);
  return out;
}

namespace {

/// The length of the well-formed sequence at `s[i]`, or 0 with `subpart`
/// set to the length of its maximal subpart (at least 1): the longest prefix
/// that is the start of some well-formed sequence (Unicode 15, 3.9, U+FFFD
/// substitution of maximal subparts).
size_t wellFormedLength(std::string_view s, size_t i, size_t &subpart) {
  auto at = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char b = at(i);
  subpart = 1;
  if (b < 0x80)
    return 1;
  size_t length;
  unsigned char low = 0x80, high = 0xbf;
  if (b >= 0xc2 && b <= 0xdf) {
    length = 2;
  } else if (b >= 0xe0 && b <= 0xef) {
    length = 3;
    if (b == 0xe0)
      low = 0xa0;
    else if (b == 0xed)
      high = 0x9f;
  } else if (b >= 0xf0 && b <= 0xf4) {
    length = 4;
    if (b == 0xf0)
      low = 0x90;
    else if (b == 0xf4)
      high = 0x8f;
  } else {
    return 0;
  }
  for (size_t k = 1; k < length; ++k) {
    if (i + k >= s.size())
      return 0;
    unsigned char c = at(i + k);
    unsigned char lo = k == 1 ? low : 0x80, hi = k == 1 ? high : 0xbf;
    if (c < lo || c > hi)
      return 0;
    subpart = k + 1;
  }
  return length;
}

} // namespace

bool unicode::isValidUtf8(std::string_view s) {
  size_t subpart;
  for (size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    size_t n = wellFormedLength(s, i, subpart);
    if (!n)
      return false;
    i += n;
  }
  return true;
}

std::string unicode::repairUtf8(std::string_view s) {
  if (isValidUtf8(s))
    return std::string(s);
  std::string out;
  out.reserve(s.size() + 8);
  size_t subpart;
  for (size_t i = 0; i < s.size();) {
    size_t n = wellFormedLength(s, i, subpart);
    if (n) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      out += "\xef\xbf\xbd";
      i += subpart;
    }
  }
  return out;
}

bool unicode::isWhitespace(char32_t c) {
  if (c < 0x80)
    return c == ' ' || (c >= 0x09 && c <= 0x0d);
  return u_isUWhiteSpace(static_cast<UChar32>(c));
}

bool unicode::isAlphabetic(char32_t c) {
  if (c < 0x80)
    return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
  return u_hasBinaryProperty(static_cast<UChar32>(c), UCHAR_ALPHABETIC);
}

static uint32_t categoryMask(char32_t c) {
  return U_GET_GC_MASK(static_cast<UChar32>(c));
}

bool unicode::isNumeric(char32_t c) {
  if (c < 0x80)
    return c >= '0' && c <= '9';
  return categoryMask(c) & U_GC_N_MASK;
}

bool unicode::isPunctuation(char32_t c) {
  return categoryMask(c) & U_GC_P_MASK;
}

bool unicode::isOther(char32_t c) {
  // unicode_categories' is_other leaves out Cn (unassigned).
  return categoryMask(c) &
         (U_GC_CC_MASK | U_GC_CF_MASK | U_GC_CO_MASK | U_GC_CS_MASK);
}

bool unicode::isMark(char32_t c) { return categoryMask(c) & U_GC_M_MASK; }

bool unicode::isNonspacingMark(char32_t c) {
  return categoryMask(c) & U_GC_MN_MASK;
}

bool unicode::isWordChar(char32_t c) {
  if (c < 0x80)
    return c == '_' || (c >= '0' && c <= '9') ||
           ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
  return isAlphabetic(c) ||
         (categoryMask(c) & (U_GC_M_MASK | U_GC_ND_MASK | U_GC_PC_MASK)) ||
         c == 0x200c || c == 0x200d;
}

namespace {

std::u16string toUtf16(std::string_view s) {
  std::u16string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    char32_t c = unicode::next(s, i);
    if (c < 0x10000) {
      out += static_cast<char16_t>(c);
    } else {
      c -= 0x10000;
      out += static_cast<char16_t>(0xd800 + (c >> 10));
      out += static_cast<char16_t>(0xdc00 + (c & 0x3ff));
    }
  }
  return out;
}

std::string fromUtf16(std::u16string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char32_t c = s[i];
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.size())
      c = 0x10000 + ((c - 0xd800) << 10) + (s[++i] - 0xdc00);
    unicode::append(out, c);
  }
  return out;
}

bool isAscii(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) >= 0x80)
      return false;
  return true;
}

} // namespace

std::string unicode::normalize(std::string_view s, Form form) {
  if (isAscii(s))
    return std::string(s);
  UErrorCode status = U_ZERO_ERROR;
  const UNormalizer2 *normalizer = nullptr;
  switch (form) {
  case Form::NFC:
    normalizer = unorm2_getNFCInstance(&status);
    break;
  case Form::NFD:
    normalizer = unorm2_getNFDInstance(&status);
    break;
  case Form::NFKC:
    normalizer = unorm2_getNFKCInstance(&status);
    break;
  case Form::NFKD:
    normalizer = unorm2_getNFKDInstance(&status);
    break;
  }
  if (U_FAILURE(status))
    return std::string(s);
  std::u16string in = toUtf16(s);
  const UChar *src = reinterpret_cast<const UChar *>(in.data());
  int32_t length = static_cast<int32_t>(in.size());
  if (unorm2_isNormalized(normalizer, src, length, &status) &&
      U_SUCCESS(status))
    return std::string(s);
  status = U_ZERO_ERROR;
  std::u16string out(in.size() * 2 + 16, u'\0');
  int32_t n = unorm2_normalize(normalizer, src, length,
                               reinterpret_cast<UChar *>(out.data()),
                               static_cast<int32_t>(out.size()), &status);
  if (status == U_BUFFER_OVERFLOW_ERROR) {
    status = U_ZERO_ERROR;
    out.assign(static_cast<size_t>(n), u'\0');
    n = unorm2_normalize(normalizer, src, length,
                         reinterpret_cast<UChar *>(out.data()), n, &status);
  }
  if (U_FAILURE(status))
    return std::string(s);
  out.resize(static_cast<size_t>(n));
  return fromUtf16(out);
}

std::string unicode::lowercase(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    unsigned char b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      out += static_cast<char>(b >= 'A' && b <= 'Z' ? b + 32 : b);
      ++i;
      continue;
    }
    char32_t c = next(s, i);
    // U+0130 is the only code point whose unconditional lowercase mapping
    // (SpecialCasing.txt) is longer than one code point.
    if (c == 0x130) {
      out += "i\xcc\x87";
      continue;
    }
    append(out, static_cast<char32_t>(u_tolower(static_cast<UChar32>(c))));
  }
  return out;
}

namespace {

/// Whether every code point of `s` is one cluster by itself, except CR LF:
/// when each has Grapheme_Cluster_Break Other, Control, CR or LF, no rule
/// of UAX #29 but GB3 (CR x LF) joins two of them (the joining rules need
/// Extend, ZWJ, SpacingMark, Prepend, Hangul jamo or regional indicators).
/// Most text (ASCII, CJK, most letters without combining marks) is.
bool hasOnlySimpleClusters(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    char32_t c = unicode::next(s, i);
    switch (u_getIntPropertyValue(static_cast<UChar32>(c),
                                  UCHAR_GRAPHEME_CLUSTER_BREAK)) {
    case U_GCB_OTHER:
    case U_GCB_CONTROL:
    case U_GCB_CR:
    case U_GCB_LF:
      continue;
    default:
      return false;
    }
  }
  return true;
}

/// ICU's grapheme break iterator, one per thread: opening one costs more
/// than segmenting a line.
struct ThreadBreakIterator {
  UBreakIterator *it = nullptr;
  ThreadBreakIterator() {
    UErrorCode status = U_ZERO_ERROR;
    it = ubrk_open(UBRK_CHARACTER, "", nullptr, 0, &status);
    if (U_FAILURE(status)) {
      if (it)
        ubrk_close(it);
      it = nullptr;
    }
  }
  ~ThreadBreakIterator() {
    if (it)
      ubrk_close(it);
  }
};

} // namespace

std::vector<size_t> unicode::graphemeBoundaries(std::string_view s) {
  std::vector<size_t> bounds;
  if (hasOnlySimpleClusters(s)) {
    // One cluster per code point; "\r\n" is one.
    for (size_t i = 0; i < s.size();) {
      if (!(i > 0 && s[i] == '\n' && s[i - 1] == '\r'))
        bounds.push_back(i);
      i += sequenceLength(static_cast<unsigned char>(s[i]));
    }
    bounds.push_back(s.size());
    return bounds;
  }
  thread_local ThreadBreakIterator breaker;
  UErrorCode status = U_ZERO_ERROR;
  UText text = UTEXT_INITIALIZER;
  utext_openUTF8(&text, s.data(), static_cast<int64_t>(s.size()), &status);
  if (breaker.it && U_SUCCESS(status))
    ubrk_setUText(breaker.it, &text, &status);
  if (!breaker.it || U_FAILURE(status)) {
    // Fall back to one cluster per code point.
    for (size_t i = 0; i < s.size();) {
      bounds.push_back(i);
      next(s, i);
    }
  } else {
    for (int32_t b = ubrk_first(breaker.it); b != UBRK_DONE;
         b = ubrk_next(breaker.it))
      if (static_cast<size_t>(b) < s.size())
        bounds.push_back(static_cast<size_t>(b));
  }
  utext_close(&text);
  bounds.push_back(s.size());
  return bounds;
}
