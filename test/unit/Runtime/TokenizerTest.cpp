//===- TokenizerTest.cpp - Tokenizer, DecodeStream and UTF-8 repair -------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// The parity of encode and decode with the `tokenizers` package is tested
// line by line in test/e2e/tokenizer; these tests cover what that does not:
// the UTF-8 repair on its own, streaming decoding, loading a folder and the
// vocabulary queries. The tokenizers are the fixtures of test/tokenizer.
//
//===----------------------------------------------------------------------===//

#include "Tokenizer.h"
#include "tokenizer/Unicode.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

using namespace llmrt;

namespace fs = std::filesystem;

namespace {

std::string fixture(const std::string &name) {
  return std::string(LLMC_TOKENIZER_FIXTURES) + "/" + name;
}

/// Loads `path`, which must load.
std::unique_ptr<Tokenizer> loadOk(const std::string &path) {
  Expected<std::unique_ptr<Tokenizer>> tokenizer = Tokenizer::load(path);
  EXPECT_TRUE(!!tokenizer) << path << ": " << tokenizer.error();
  return tokenizer ? std::move(*tokenizer) : nullptr;
}

std::vector<int32_t> encodeOk(const Tokenizer &tokenizer, std::string_view text,
                              bool addSpecialTokens = false) {
  Expected<std::vector<int32_t>> ids = tokenizer.encode(text, addSpecialTokens);
  EXPECT_TRUE(!!ids) << ids.error();
  return ids ? *ids : std::vector<int32_t>();
}

std::string decodeOk(const Tokenizer &tokenizer,
                     const std::vector<int32_t> &ids,
                     bool skipSpecialTokens = false) {
  Expected<std::string> text = tokenizer.decode(ids, skipSpecialTokens);
  EXPECT_TRUE(!!text) << text.error();
  return text ? *text : std::string();
}

/// A temporary folder, removed with its files at the end of the test.
class TempDir {
public:
  TempDir() {
    std::string pattern =
        (fs::temp_directory_path() / "llmc-tokenizer-XXXXXX").string();
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    if (::mkdtemp(buffer.data()))
      path = buffer.data();
  }
  ~TempDir() {
    std::error_code ec;
    if (!path.empty())
      fs::remove_all(path, ec);
  }
  /// Copies `file` of fixture folder `from` into this folder.
  void copy(const std::string &from, const std::string &file) const {
    fs::copy_file(fixture(from) + "/" + file, fs::path(path) / file);
  }
  std::string path;
};

//===----------------------------------------------------------------------===//
// repairUtf8
//===----------------------------------------------------------------------===//

const char *const kFffd = "\xef\xbf\xbd";

std::string replacements(int n) {
  std::string s;
  for (int i = 0; i < n; ++i)
    s += kFffd;
  return s;
}

TEST(RepairUtf8Test, ValidTextIsUnchanged) {
  for (std::string_view text :
       {std::string_view(""), std::string_view("plain ASCII"),
        std::string_view("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac "
                         "\xf0\x9f\x98\x80"),
        std::string_view("\xef\xbf\xbd already replaced"),
        std::string_view("\xf4\x8f\xbf\xbf max"),
        std::string_view("nul \0 inside", 12)}) {
    EXPECT_EQ(unicode::repairUtf8(text), std::string(text));
    EXPECT_TRUE(unicode::isValidUtf8(text));
  }
}

// The expected strings are what Python 3.11 gives for
// bytes.decode("utf-8", "replace").encode("utf-8").
TEST(RepairUtf8Test, MaximalSubparts) {
  struct Case {
    std::string_view in;
    std::string out;
  } cases[] = {
      // A truncated 3-byte sequence is one maximal subpart.
      {"\xe2\x82", replacements(1)},
      {"a\xe2\x82"
       "b",
       "a" + replacements(1) + "b"},
      // Overlong: 0xc0 never starts a sequence, 0xaf is a lone trail byte.
      {"\xc0\xaf", replacements(2)},
      {"\xe0\x80\xaf", replacements(3)},
      {"\xf0\x80\x80\xaf", replacements(4)},
      // A surrogate (U+D800): 0xed allows only 0x80-0x9f next.
      {"\xed\xa0\x80", replacements(3)},
      // Above U+10FFFF: 0xf4 allows only 0x80-0x8f next.
      {"\xf4\x90\x80\x80", replacements(4)},
      {"\xf0\x9f\x98", replacements(1)},
      {"\xff\xfe", replacements(2)},
      {"\x80\x80", replacements(2)},
      {"\xf8\x88\x80\x80\x80", replacements(5)},
      {"\xe6\x97\xa5\xe6\x9c", "\xe6\x97\xa5" + replacements(1)},
      {"\xe2\x82\xac\xe2", "\xe2\x82\xac" + replacements(1)},
      {"caf\xe9", "caf" + replacements(1)},
      {"\xc3(", replacements(1) + "("},
  };
  for (const Case &c : cases) {
    EXPECT_FALSE(unicode::isValidUtf8(c.in));
    std::string repaired = unicode::repairUtf8(c.in);
    EXPECT_EQ(repaired, c.out) << "input of " << c.in.size() << " bytes";
    EXPECT_TRUE(unicode::isValidUtf8(repaired));
  }
}

// Extended grapheme clusters (SentencePiece's Precompiled normalizer maps
// whole clusters): text whose code points all stand alone takes a fast path
// without ICU's break iterator; the rest goes through it.
TEST(GraphemeBoundariesTest, FastPathAndIcu) {
  struct Case {
    std::string_view text;
    std::vector<size_t> bounds;
  } cases[] = {
      {"", {0}},
      {"ab", {0, 1, 2}},
      {"a\r\nb\n\r", {0, 1, 3, 4, 5, 6}},
      {"a\x01"
       "b",
       {0, 1, 2, 3}},
      {"\xe6\x97\xa5\xe6\x9c\xac", {0, 3, 6}},                   // CJK
      {"\xc3\xa9t\xc3\xa9", {0, 2, 3, 5}},                       // precomposed
      {"e\xcc\x81x", {0, 3, 4}},                                 // e U+0301 x
      {"\xf0\x9f\x87\xab\xf0\x9f\x87\xb7", {0, 8}},              // a flag
      {"\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x92\xbb", {0, 11}}, // ZWJ
      {"\xe1\x84\x80\xe1\x85\xa1\xea\xb0\x80", {0, 6, 9}},       // jamo
      {"\r\xe6\x97\xa5\r\n", {0, 1, 4, 6}},
  };
  for (const Case &c : cases)
    EXPECT_EQ(unicode::graphemeBoundaries(c.text), c.bounds)
        << "text of " << c.text.size() << " bytes";
}

//===----------------------------------------------------------------------===//
// DecodeStream
//===----------------------------------------------------------------------===//

/// Pushes `ids` one by one; checks that each piece is whole UTF-8 and that
/// the pieces add up to decode(ids). Returns how many pushes returned "".
size_t expectStreamMatchesDecode(const Tokenizer &tokenizer,
                                 const std::vector<int32_t> &ids,
                                 std::string_view what) {
  DecodeStream stream(tokenizer, /*skipSpecialTokens=*/false);
  std::string joined;
  size_t emptyPushes = 0;
  for (int32_t id : ids) {
    Expected<std::string> piece = stream.push(id);
    EXPECT_TRUE(!!piece) << piece.error();
    if (!piece)
      return emptyPushes;
    EXPECT_TRUE(unicode::isValidUtf8(*piece)) << what << ": id " << id;
    EXPECT_EQ(piece->find(kFffd), std::string::npos)
        << what << ": a partial character was returned at id " << id;
    emptyPushes += piece->empty();
    joined += *piece;
  }
  Expected<std::string> rest = stream.flush();
  EXPECT_TRUE(!!rest) << rest.error();
  if (rest)
    joined += *rest;
  EXPECT_EQ(joined, decodeOk(tokenizer, ids)) << what;
  return emptyPushes;
}

const char *const kStreamTexts[] = {
    "The \xf0\x9f\xa6\x80 crab says \xe9\xac\xb1\xe9\x99\xb6\xe3\x81\x97"
    "\xe3\x81\x84 and \xf0\x9d\x84\x9e.",
    "\xf0\x9d\x84\x9e \xe2\x98\x83 \xf0\x9f\xa6\x80 \xe9\xac\xb1 "
    "\xf0\x92\x80\x80 ok",
    "Hello world \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xf0\x9f\x98\x80 "
    "caf\xc3\xa9 \xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x92\xbb",
};

TEST(DecodeStreamTest, ByteFallbackPiecesAreWholeCharacters) {
  std::unique_ptr<Tokenizer> tokenizer =
      loadOk(fixture("sp-bpe-bytefallback/tokenizer.json"));
  ASSERT_TRUE(tokenizer);
  // The text does fall back to bytes: <0xE9> <0xAC> <0xB1> for U+9B31.
  std::optional<int32_t> byte = tokenizer->tokenToId("<0xE9>");
  ASSERT_TRUE(byte);
  size_t waits = 0;
  for (const char *text : kStreamTexts) {
    std::vector<int32_t> ids = encodeOk(*tokenizer, text);
    if (text == kStreamTexts[0])
      EXPECT_NE(std::find(ids.begin(), ids.end(), *byte), ids.end());
    waits += expectStreamMatchesDecode(*tokenizer, ids, text);
  }
  // Characters split over byte tokens: some pushes waited for the rest.
  EXPECT_GT(waits, 0u);
}

TEST(DecodeStreamTest, ByteLevelPiecesAreWholeCharacters) {
  std::unique_ptr<Tokenizer> tokenizer = loadOk(fixture("gpt2/tokenizer.json"));
  ASSERT_TRUE(tokenizer);
  size_t waits = 0;
  for (const char *text : kStreamTexts)
    waits +=
        expectStreamMatchesDecode(*tokenizer, encodeOk(*tokenizer, text), text);
  EXPECT_GT(waits, 0u);
}

TEST(DecodeStreamTest, PrimedStreamKeepsTheLeadingSpace) {
  // sp-bpe-bytefallback decodes with Replace, ByteFallback, Fuse and a Strip
  // of one leading space; sp-unigram-t5 with Metaspace (prepend "always").
  for (const char *name : {"sp-bpe-bytefallback", "sp-unigram-t5"}) {
    std::unique_ptr<Tokenizer> tokenizer =
        loadOk(fixture(std::string(name) + "/tokenizer.json"));
    ASSERT_TRUE(tokenizer);
    // The prompt is "Hello", the rest is generated: " world" starts at
    // the last token that starts with "\u2581".
    std::vector<int32_t> ids = encodeOk(*tokenizer, "Hello world", true);
    size_t split = ids.size();
    while (split > 0) {
      std::optional<std::string> token = tokenizer->idToToken(ids[--split]);
      ASSERT_TRUE(token);
      if (token->rfind("\xe2\x96\x81", 0) == 0)
        break;
    }
    ASSERT_GT(split, 0u) << name;
    std::vector<int32_t> prompt(ids.begin(), ids.begin() + split);
    std::vector<int32_t> next(ids.begin() + split, ids.end());
    // "\u2581w" alone decodes without its space: the first-token rule.
    std::string alone = decodeOk(*tokenizer, {next[0]});
    ASSERT_FALSE(alone.empty());
    EXPECT_NE(alone[0], ' ') << name;

    DecodeStream primed(*tokenizer, /*skipSpecialTokens=*/true);
    ASSERT_TRUE(primed.prime(prompt).isOk());
    std::string generated;
    for (size_t k = 0; k < next.size(); ++k) {
      Expected<std::string> piece = primed.push(next[k]);
      ASSERT_TRUE(!!piece) << piece.error();
      if (k == 0)
        EXPECT_EQ(*piece, " " + alone) << name;
      generated += *piece;
    }
    EXPECT_EQ(generated, " world") << name;

    // Without the prompt, the first token is the start of the text.
    DecodeStream fresh(*tokenizer, /*skipSpecialTokens=*/true);
    Expected<std::string> first = fresh.push(next[0]);
    ASSERT_TRUE(!!first) << first.error();
    EXPECT_EQ(*first, alone) << name;
  }
}

TEST(DecodeStreamTest, OutOfRangeIdIsAnError) {
  std::unique_ptr<Tokenizer> tokenizer = loadOk(fixture("gpt2/tokenizer.json"));
  ASSERT_TRUE(tokenizer);
  DecodeStream stream(*tokenizer, false);
  Expected<std::string> piece =
      stream.push(static_cast<int32_t>(tokenizer->getVocabSize()));
  ASSERT_FALSE(!!piece);
  EXPECT_NE(piece.error().find("expected token ids in [0, 50257), found 50257"),
            std::string::npos)
      << piece.error();
}

//===----------------------------------------------------------------------===//
// Loading and the vocabulary
//===----------------------------------------------------------------------===//

TEST(TokenizerLoadTest, FolderPrefersTokenizerJson) {
  std::unique_ptr<Tokenizer> tokenizer = loadOk(fixture("gpt2"));
  ASSERT_TRUE(tokenizer);
  EXPECT_EQ(tokenizer->describe(), fixture("gpt2") + "/tokenizer.json (BPE)");
  // A trailing slash names the same file.
  tokenizer = loadOk(fixture("gpt2") + "/");
  ASSERT_TRUE(tokenizer);
  EXPECT_EQ(tokenizer->describe(), fixture("gpt2") + "/tokenizer.json (BPE)");
}

TEST(TokenizerLoadTest, FolderWithOlderFiles) {
  struct Case {
    const char *from;
    std::vector<const char *> files;
    std::string described;
  } cases[] = {
      {"gpt2", {"vocab.json", "merges.txt"}, "/vocab.json + merges.txt (BPE)"},
      {"bert-uncased",
       {"vocab.txt", "tokenizer_config.json"},
       "/vocab.txt (WordPiece)"},
      {"sp-bpe-bytefallback",
       {"tokenizer.model"},
       "/tokenizer.model (SentencePiece BPE)"},
      {"sp-unigram-t5",
       {"tokenizer.model"},
       "/tokenizer.model (SentencePiece Unigram)"},
  };
  for (const Case &c : cases) {
    TempDir dir;
    ASSERT_FALSE(dir.path.empty());
    for (const char *file : c.files)
      dir.copy(c.from, file);
    std::unique_ptr<Tokenizer> tokenizer = loadOk(dir.path);
    ASSERT_TRUE(tokenizer) << c.from;
    EXPECT_EQ(tokenizer->describe(), dir.path + c.described);
    // The same ids as the tokenizer.json of the fixture.
    std::unique_ptr<Tokenizer> reference =
        loadOk(fixture(c.from) + "/tokenizer.json");
    ASSERT_TRUE(reference);
    for (const char *text : kStreamTexts)
      EXPECT_EQ(encodeOk(*tokenizer, text), encodeOk(*reference, text))
          << c.from << ": " << text;
  }
}

TEST(TokenizerLoadTest, FolderWithoutTokenizer) {
  TempDir dir;
  ASSERT_FALSE(dir.path.empty());
  Expected<std::unique_ptr<Tokenizer>> tokenizer = Tokenizer::load(dir.path);
  ASSERT_FALSE(!!tokenizer);
  EXPECT_EQ(tokenizer.error(),
            dir.path + ": expected a tokenizer: tokenizer.json, vocab.json + "
                       "merges.txt, vocab.txt or tokenizer.model, found none");
}

TEST(TokenizerVocabTest, Gpt2) {
  std::unique_ptr<Tokenizer> tokenizer = loadOk(fixture("gpt2/tokenizer.json"));
  ASSERT_TRUE(tokenizer);
  EXPECT_EQ(tokenizer->getVocabSize(), 50257);
  EXPECT_EQ(tokenizer->tokenToId("\xc4\xa0the"), 262); // "Ġthe"
  EXPECT_EQ(tokenizer->idToToken(262), "\xc4\xa0the");
  EXPECT_EQ(tokenizer->tokenToId("<|endoftext|>"), 50256);
  EXPECT_EQ(tokenizer->idToToken(50256), "<|endoftext|>");
  EXPECT_TRUE(tokenizer->isSpecial(50256));
  EXPECT_FALSE(tokenizer->isSpecial(262));
  EXPECT_FALSE(tokenizer->tokenToId(" the")); // not byte-level mapped
  EXPECT_FALSE(tokenizer->idToToken(-1));
  EXPECT_FALSE(tokenizer->idToToken(50257));
  EXPECT_FALSE(tokenizer->isSpecial(-1));
  EXPECT_FALSE(tokenizer->isSpecial(50257));
}

TEST(TokenizerVocabTest, AddedTokensPastTheModel) {
  // bytelevel-llama3: 4000 model tokens, then added special tokens.
  std::unique_ptr<Tokenizer> tokenizer =
      loadOk(fixture("bytelevel-llama3/tokenizer.json"));
  ASSERT_TRUE(tokenizer);
  EXPECT_EQ(tokenizer->getVocabSize(), 4007);
  EXPECT_EQ(tokenizer->tokenToId("<|begin_of_text|>"), 4000);
  EXPECT_EQ(tokenizer->idToToken(4001), "<|end_of_text|>");
  EXPECT_TRUE(tokenizer->isSpecial(4000));
  EXPECT_FALSE(tokenizer->isSpecial(3999));
  std::vector<int32_t> ids = encodeOk(*tokenizer, "Hi", true);
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids[0], 4000);
  EXPECT_EQ(decodeOk(*tokenizer, ids, /*skipSpecialTokens=*/true), "Hi");
  EXPECT_EQ(decodeOk(*tokenizer, ids), "<|begin_of_text|>Hi");
}

TEST(TokenizerVocabTest, SentencePieceSpecials) {
  std::unique_ptr<Tokenizer> tokenizer =
      loadOk(fixture("sp-unigram-t5/tokenizer.json"));
  ASSERT_TRUE(tokenizer);
  EXPECT_EQ(tokenizer->getVocabSize(), 4100);
  EXPECT_EQ(tokenizer->tokenToId("<pad>"), 0);
  EXPECT_EQ(tokenizer->tokenToId("</s>"), 1);
  EXPECT_EQ(tokenizer->tokenToId("<unk>"), 2);
  EXPECT_EQ(tokenizer->tokenToId("<extra_id_99>"), 4000);
  EXPECT_TRUE(tokenizer->isSpecial(4000));
  EXPECT_TRUE(tokenizer->isSpecial(2));
  EXPECT_FALSE(tokenizer->isSpecial(3));
  // T5 appends </s>.
  std::vector<int32_t> ids = encodeOk(*tokenizer, "Hello", true);
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids.back(), 1);
}

} // namespace
