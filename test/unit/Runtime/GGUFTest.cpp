//===- GGUFTest.cpp - The GGUF reader -------------------------------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// Files built here byte by byte: a valid one read back (every value type,
// nested arrays, tensors of several types at aligned offsets), every prefix
// of it refused without a crash, and one file per class of bug that GGUF
// parsers (llama.cpp's among them) have had: counts and lengths past the
// file, huge dims and overflowing sizes, unknown types, rows that no block
// divides, misaligned, out-of-bounds and overlapping tensor data, duplicate
// keys and names, bad alignment values, nesting bombs, big-endian and v1
// files. Each error names the file, the offset and the field. Then the
// tokenizer a file stores (tokenizer.ggml.*): both kinds encode and decode
// small vocabularies exactly, and each kind of bad metadata is refused by
// key, expected value and value found.
//
//===----------------------------------------------------------------------===//

#include "GGUF.h"
#include "Tokenizer.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

using namespace llmrt;

namespace {

/// Writes GGUF bytes.
class Builder {
public:
  explicit Builder(uint32_t version = 3) {
    raw("GGUF", 4);
    u32(version);
    tensorCountAt = bytes.size();
    u64(0);
    keyCountAt = bytes.size();
    u64(0);
  }

  void raw(const void *p, size_t n) {
    const auto *c = static_cast<const char *>(p);
    bytes.append(c, n);
  }
  void u8(uint8_t v) { raw(&v, 1); }
  void u32(uint32_t v) { raw(&v, 4); }
  void u64(uint64_t v) { raw(&v, 8); }
  void str(const std::string &s) {
    u64(s.size());
    raw(s.data(), s.size());
  }
  void setCounts(uint64_t tensors, uint64_t keys) {
    std::memcpy(&bytes[tensorCountAt], &tensors, 8);
    std::memcpy(&bytes[keyCountAt], &keys, 8);
  }
  /// A key and its type; the value follows.
  void key(const std::string &name, GGUFType type) {
    str(name);
    u32(static_cast<uint32_t>(type));
  }
  void tensor(const std::string &name, std::vector<uint64_t> dims,
              uint32_t type, uint64_t offset) {
    str(name);
    u32(static_cast<uint32_t>(dims.size()));
    for (uint64_t d : dims)
      u64(d);
    u32(type);
    u64(offset);
  }
  void pad(uint64_t alignment = 32) {
    while (bytes.size() % alignment)
      bytes.push_back('\0');
  }

  std::string bytes;

private:
  size_t tensorCountAt, keyCountAt;
};

/// A valid file: metadata of every type, and three tensors.
std::string validFile() {
  Builder b;
  b.key("general.architecture", GGUFType::String);
  b.str("llama");
  b.key("llama.block_count", GGUFType::UInt32);
  b.u32(4);
  b.key("llama.rope.freq_base", GGUFType::Float32);
  float theta = 10000.0f;
  b.raw(&theta, 4);
  b.key("tokenizer.ggml.add_bos_token", GGUFType::Bool);
  b.u8(1);
  b.key("test.int64", GGUFType::Int64);
  b.u64(static_cast<uint64_t>(-5));
  b.key("tokenizer.ggml.tokens", GGUFType::Array);
  b.u32(static_cast<uint32_t>(GGUFType::String));
  b.u64(3);
  b.str("<s>");
  b.str("a");
  b.str("b");
  b.key("test.nested", GGUFType::Array);
  b.u32(static_cast<uint32_t>(GGUFType::Array));
  b.u64(2);
  for (int i = 0; i < 2; ++i) {
    b.u32(static_cast<uint32_t>(GGUFType::UInt8));
    b.u64(2);
    b.u8(static_cast<uint8_t>(i));
    b.u8(7);
  }
  // f32 [2, 8] (16 floats, 64 bytes), Q8_0 [4, 32] (4 blocks, 136 bytes),
  // f16 [3] (6 bytes).
  b.tensor("a.weight", {8, 2}, 0, 0);
  b.tensor("q.weight", {32, 4}, 8, 64);
  b.tensor("n.weight", {3}, 1, 224);
  b.setCounts(3, 7);
  b.pad();
  for (int i = 0; i < 16; ++i) {
    float v = static_cast<float>(i);
    b.raw(&v, 4);
  }
  b.bytes.append(136, '\x01');
  b.bytes.append(224 - 200, '\0');
  b.bytes.append(6, '\x02');
  return b.bytes;
}

std::string errorOf(const std::string &bytes) {
  auto file = GGUFFile::openBuffer(bytes, "m.gguf");
  return file ? std::string("(accepted)") : file.error();
}

TEST(GGUFTest, ReadsAValidFile) {
  std::string bytes = validFile();
  auto file = GGUFFile::openBuffer(bytes, "m.gguf");
  ASSERT_TRUE(bool(file)) << file.error();
  EXPECT_EQ((*file)->getVersion(), 3u);
  EXPECT_EQ((*file)->getAlignment(), 32u);
  EXPECT_EQ((*file)->getKeys().size(), 7u);
  const GGUFValue *arch = (*file)->find("general.architecture");
  ASSERT_TRUE(arch);
  EXPECT_EQ(arch->string, "llama");
  EXPECT_EQ((*file)->find("llama.block_count")->integer, 4);
  EXPECT_EQ((*file)->find("llama.rope.freq_base")->real, 10000.0);
  EXPECT_EQ((*file)->find("tokenizer.ggml.add_bos_token")->integer, 1);
  EXPECT_EQ((*file)->find("test.int64")->integer, -5);
  const GGUFValue *tokens = (*file)->find("tokenizer.ggml.tokens");
  ASSERT_EQ(tokens->elements.size(), 3u);
  EXPECT_EQ(tokens->elements[2].string, "b");
  EXPECT_EQ(tokens->describe(), "array of 3 string");
  const GGUFValue *nested = (*file)->find("test.nested");
  ASSERT_EQ(nested->elements.size(), 2u);
  EXPECT_EQ(nested->elements[1].elements[0].integer, 1);
  ASSERT_EQ((*file)->tensors().size(), 3u);
  const GGUFTensor *q = (*file)->lookup("q.weight");
  ASSERT_TRUE(q);
  EXPECT_EQ(q->dims, (std::vector<int64_t>{32, 4}));
  EXPECT_EQ(q->numBytes, 136u);
  EXPECT_EQ(q->data[0], 1);
  const GGUFTensor *a = (*file)->lookup("a.weight");
  float last;
  std::memcpy(&last, a->data + 60, 4);
  EXPECT_EQ(last, 15.0f);
  EXPECT_EQ((*file)->lookup("n.weight")->numBytes, 6u);
  EXPECT_EQ((*file)->getDataOffset() % 32, 0u);
}

/// No prefix of a valid file is read: each is refused with a message.
TEST(GGUFTest, EveryTruncationIsRefused) {
  std::string bytes = validFile();
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto file = GGUFFile::openBuffer(bytes.substr(0, n), "m.gguf");
    EXPECT_FALSE(bool(file)) << "a prefix of " << n << " bytes was accepted";
    if (!file)
      EXPECT_EQ(file.error().rfind("m.gguf: ", 0), 0u) << file.error();
  }
}

TEST(GGUFTest, HeaderErrors) {
  EXPECT_EQ(errorOf(""), "m.gguf: offset 0: magic: expected \"GGUF\" (71 71 "
                         "85 70), found an empty file");
  EXPECT_EQ(errorOf("GGML\x03"), "m.gguf: offset 0: magic: expected \"GGUF\" "
                                 "(71 71 85 70), found the bytes 71 71 77 76");
  Builder v1(1);
  EXPECT_EQ(errorOf(v1.bytes),
            "m.gguf: offset 4: version: expected 2 or 3, found 1 (GGUF v1, "
            "32-bit counts; convert the model again with a current "
            "llama.cpp)");
  Builder v4(4);
  EXPECT_EQ(errorOf(v4.bytes),
            "m.gguf: offset 4: version: expected 2 or 3, found 4");
  Builder big(0x03000000);
  EXPECT_EQ(errorOf(big.bytes),
            "m.gguf: offset 4: version: expected a little-endian file "
            "(version 2 or 3), found a big-endian one (version 3), which LLMC "
            "does not read");
  Builder many;
  many.setCounts(uint64_t(1) << 40, 0);
  EXPECT_EQ(errorOf(many.bytes), "m.gguf: offset 8: tensor count: expected at "
                                 "most 1048576, found 1099511627776");
  Builder keys;
  keys.setCounts(0, ~uint64_t(0));
  EXPECT_EQ(errorOf(keys.bytes),
            "m.gguf: offset 16: metadata count: expected at most 1048576, "
            "found 18446744073709551615");
  // A tensor count within the cap that the bytes cannot describe.
  Builder tensors;
  tensors.setCounts(1000, 0);
  tensors.bytes.append(100, '\0');
  EXPECT_EQ(errorOf(tensors.bytes),
            "m.gguf: offset 8: tensor count: expected at most 3 (the bytes "
            "left for tensor descriptions), found 1000");
  // A count within the cap, past the file: the first missing key says so.
  Builder short_;
  short_.setCounts(0, 3);
  EXPECT_EQ(errorOf(short_.bytes),
            "m.gguf: offset 24: key of metadata entry 0 length: expected 8 "
            "bytes, found the end of the file after 0");
}

TEST(GGUFTest, MetadataErrors) {
  {
    // A string length past the file (CVE-style huge length).
    Builder b;
    b.key("k", GGUFType::String);
    b.u64(uint64_t(1) << 29);
    b.setCounts(0, 1);
    EXPECT_EQ(errorOf(b.bytes),
              "m.gguf: offset 37: value of 'k' length: expected at most the "
              "0 bytes left in the file, found 536870912");
  }
  {
    // A string length past the cap.
    Builder b;
    b.key("k", GGUFType::String);
    b.u64(~uint64_t(0));
    b.setCounts(0, 1);
    EXPECT_EQ(errorOf(b.bytes),
              "m.gguf: offset 37: value of 'k' length: expected at most "
              "1073741824, found 18446744073709551615");
  }
  {
    // An array count that the bytes left cannot hold.
    Builder b;
    b.key("k", GGUFType::Array);
    b.u32(static_cast<uint32_t>(GGUFType::UInt32));
    b.u64(uint64_t(1) << 61);
    b.setCounts(0, 1);
    EXPECT_EQ(errorOf(b.bytes),
              "m.gguf: offset 41: value of 'k' element count: expected at "
              "most 0 (the bytes left for elements of uint32), found "
              "2305843009213693952");
  }
  {
    // More values than a file may hold, each a byte (each would take a
    // GGUFValue in memory).
    Builder b;
    b.key("k", GGUFType::Array);
    b.u32(static_cast<uint32_t>(GGUFType::UInt8));
    b.u64((uint64_t(1) << 22) + 1);
    b.setCounts(0, 1);
    b.bytes.append((size_t(1) << 22) + 1, '\0');
    EXPECT_EQ(errorOf(b.bytes),
              "m.gguf: offset 41: value of 'k' element count: expected at "
              "most 4194304 (the file's metadata holds at most 4194304 "
              "values), found 4194305");
  }
  {
    // Arrays nested past the cap (a recursion bomb).
    Builder b;
    b.key("k", GGUFType::Array);
    for (int i = 0; i < 6; ++i) {
      b.u32(static_cast<uint32_t>(GGUFType::Array));
      b.u64(1);
    }
    b.setCounts(0, 1);
    b.bytes.append(64, '\0');
    EXPECT_NE(errorOf(b.bytes).find(
                  "value of 'k': expected arrays nested at most 4 deep"),
              std::string::npos)
        << errorOf(b.bytes);
  }
  {
    Builder b;
    b.key("k", static_cast<GGUFType>(13));
    b.setCounts(0, 1);
    EXPECT_EQ(errorOf(b.bytes), "m.gguf: offset 33: type of 'k': expected a "
                                "value type in [0, 12], found 13");
  }
  {
    Builder b;
    b.key("k", GGUFType::Bool);
    b.u8(2);
    b.setCounts(0, 1);
    EXPECT_EQ(errorOf(b.bytes), "m.gguf: offset 37: value of 'k': expected a "
                                "bool (0 or 1), found 2");
  }
  {
    Builder b;
    b.key("k", GGUFType::UInt8);
    b.u8(1);
    b.key("k", GGUFType::UInt8);
    b.u8(2);
    b.setCounts(0, 2);
    EXPECT_EQ(errorOf(b.bytes), "m.gguf: offset 38: key of metadata entry 1: "
                                "expected a key no other entry has, found "
                                "'k' again");
  }
  {
    Builder b;
    b.key("", GGUFType::UInt8);
    b.u8(1);
    b.setCounts(0, 1);
    EXPECT_EQ(errorOf(b.bytes), "m.gguf: offset 24: key of metadata entry 0: "
                                "expected a non-empty key, found an empty one");
  }
  for (uint32_t alignment : {0u, 3u, 48u, 1u << 21}) {
    Builder b;
    b.key("general.alignment", GGUFType::UInt32);
    b.u32(alignment);
    b.setCounts(0, 1);
    EXPECT_EQ(errorOf(b.bytes),
              "m.gguf: metadata 'general.alignment': expected a uint32 power "
              "of two in [1, 1048576], found uint32 " +
                  std::to_string(alignment));
  }
  {
    Builder b;
    b.key("general.alignment", GGUFType::UInt64);
    b.u64(32);
    b.setCounts(0, 1);
    EXPECT_EQ(errorOf(b.bytes),
              "m.gguf: metadata 'general.alignment': expected a uint32 power "
              "of two in [1, 1048576], found uint64 32");
  }
}

/// A file with one tensor of `dims` and `type` at `offset`, `data` bytes of
/// data after the padding.
std::string oneTensor(std::vector<uint64_t> dims, uint32_t type,
                      uint64_t offset, size_t data) {
  Builder b;
  b.tensor("t", dims, type, offset);
  b.setCounts(1, 0);
  b.pad();
  b.bytes.append(data, '\0');
  return b.bytes;
}

TEST(GGUFTest, TensorErrors) {
  EXPECT_EQ(errorOf(oneTensor({4}, 0, 0, 16)), "(accepted)");
  EXPECT_EQ(errorOf(oneTensor({}, 0, 0, 16)),
            "m.gguf: offset 33: tensor 't' dimension count: expected 1 to 4, "
            "found 0");
  EXPECT_EQ(errorOf(oneTensor({1, 1, 1, 1, 1}, 0, 0, 16)),
            "m.gguf: offset 33: tensor 't' dimension count: expected 1 to 4, "
            "found 5");
  EXPECT_EQ(errorOf(oneTensor({4, 0}, 0, 0, 16)),
            "m.gguf: offset 45: tensor 't' dimension 1: expected a value in "
            "[1, 2^40], found 0");
  EXPECT_EQ(
      errorOf(oneTensor({uint64_t(1) << 40, uint64_t(1) << 40}, 0, 0, 16)),
      "m.gguf: offset 45: tensor 't' dimensions: expected an element "
      "count that fits in 64 bits, found an overflowing product");
  // Elements fit, bytes do not: 2^61 f32 values.
  EXPECT_EQ(
      errorOf(oneTensor({uint64_t(1) << 40, uint64_t(1) << 21}, 0, 0, 16)),
      "m.gguf: offset 53: tensor 't' size: expected a byte count that "
      "fits in 64 bits, found an overflowing one");
  EXPECT_EQ(errorOf(oneTensor({4}, 4, 0, 16)),
            "m.gguf: offset 45: tensor 't' type: expected a known ggml type, "
            "found 4");
  EXPECT_EQ(errorOf(oneTensor({4}, 99, 0, 16)),
            "m.gguf: offset 45: tensor 't' type: expected a known ggml type, "
            "found 99");
  EXPECT_EQ(errorOf(oneTensor({48, 2}, 12, 0, 1024)),
            "m.gguf: offset 53: tensor 't' type: expected Q4_K rows of a "
            "multiple of 256 elements, found rows of 48");
  EXPECT_EQ(errorOf(oneTensor({4}, 0, 16, 64)),
            "m.gguf: offset 49: tensor 't' offset: expected a multiple of the "
            "alignment 32, found 16");
  EXPECT_EQ(errorOf(oneTensor({64}, 0, 0, 100)),
            "m.gguf: tensor 't': data [0, +256) of the data section: expected "
            "it inside the file's 100 data bytes, found it past them (a "
            "truncated file?)");
  EXPECT_EQ(errorOf(oneTensor({4}, 0, ~uint64_t(31), 16)),
            "m.gguf: tensor 't': data [18446744073709551584, +16) of the data "
            "section: expected it inside the file's 16 data bytes, found it "
            "past them (a truncated file?)");
  {
    Builder b;
    b.tensor("t", {16}, 0, 0);
    b.tensor("u", {4}, 0, 32);
    b.setCounts(2, 0);
    b.pad();
    b.bytes.append(128, '\0');
    EXPECT_EQ(errorOf(b.bytes),
              "m.gguf: tensor 'u': data at 32: expected it past tensor 't', "
              "which ends at 64, found it overlapping");
  }
  {
    Builder b;
    b.tensor("t", {4}, 0, 0);
    b.tensor("t", {4}, 0, 32);
    b.setCounts(2, 0);
    b.pad();
    b.bytes.append(64, '\0');
    EXPECT_EQ(errorOf(b.bytes), "m.gguf: offset 57: tensor 1 name: expected "
                                "a name no other tensor has, found 't' again");
  }
  {
    Builder b;
    b.tensor(std::string(64, 'x'), {4}, 0, 0);
    b.setCounts(1, 0);
    EXPECT_EQ(errorOf(b.bytes), "m.gguf: offset 24: tensor 0 name length: "
                                "expected at most 63, found 64");
  }
  {
    // The alignment set by the metadata applies to the offsets.
    Builder b;
    b.key("general.alignment", GGUFType::UInt32);
    b.u32(64);
    b.tensor("t", {4}, 0, 32);
    b.setCounts(1, 1);
    b.pad(64);
    b.bytes.append(64, '\0');
    EXPECT_EQ(errorOf(b.bytes),
              "m.gguf: offset 82: tensor 't' offset: expected a multiple of "
              "the alignment 64, found 32");
  }
}

TEST(GGUFTest, TypeTable) {
  EXPECT_STREQ(getGGMLTypeInfo(14)->name, "Q6_K");
  EXPECT_EQ(getGGMLTypeInfo(14)->blockBytes, 210);
  EXPECT_EQ(getGGMLTypeInfo(2)->blockBytes, 18);
  EXPECT_EQ(getGGMLTypeInfo(30)->blockBytes, 2);
  EXPECT_EQ(getGGMLTypeInfo(5), nullptr);
  EXPECT_EQ(getGGMLTypeInfo(31), nullptr);
  EXPECT_EQ(getGGMLTypeInfo(1000), nullptr);
}

//===----------------------------------------------------------------------===//
// The tokenizer a GGUF file stores
//===----------------------------------------------------------------------===//

/// A file of tokenizer metadata (no tensors).
class VocabBuilder {
public:
  VocabBuilder &str(const std::string &key, const std::string &value) {
    b.key(key, GGUFType::String);
    b.str(value);
    return count();
  }
  VocabBuilder &u32(const std::string &key, uint32_t value) {
    b.key(key, GGUFType::UInt32);
    b.u32(value);
    return count();
  }
  VocabBuilder &flag(const std::string &key, bool value) {
    b.key(key, GGUFType::Bool);
    b.u8(value ? 1 : 0);
    return count();
  }
  VocabBuilder &strs(const std::string &key,
                     const std::vector<std::string> &values) {
    array(key, GGUFType::String, values.size());
    for (const std::string &v : values)
      b.str(v);
    return count();
  }
  VocabBuilder &i32s(const std::string &key,
                     const std::vector<int32_t> &values) {
    array(key, GGUFType::Int32, values.size());
    for (int32_t v : values)
      b.raw(&v, 4);
    return count();
  }
  VocabBuilder &f32s(const std::string &key, const std::vector<float> &values) {
    array(key, GGUFType::Float32, values.size());
    for (float v : values)
      b.raw(&v, 4);
    return count();
  }
  std::string build() {
    b.setCounts(0, keys);
    return b.bytes;
  }

private:
  void array(const std::string &key, GGUFType type, size_t n) {
    b.key(key, GGUFType::Array);
    b.u32(static_cast<uint32_t>(type));
    b.u64(n);
  }
  VocabBuilder &count() {
    ++keys;
    return *this;
  }
  Builder b;
  uint64_t keys = 0;
};

Expected<std::unique_ptr<Tokenizer>> loadVocab(const std::string &bytes) {
  auto file = GGUFFile::openBuffer(bytes, "m.gguf");
  if (!file)
    return file.takeStatus();
  return Tokenizer::fromGGUF(**file);
}

std::string vocabError(const std::string &bytes) {
  auto tokenizer = loadVocab(bytes);
  return tokenizer ? std::string("(accepted)") : tokenizer.error();
}

/// A SentencePiece vocabulary: "\u2581ab" is reached through "ab" (merges
/// follow the merged piece's score), "c" only through its byte piece.
VocabBuilder llamaVocab() {
  VocabBuilder v;
  v.str("tokenizer.ggml.model", "llama")
      .strs("tokenizer.ggml.tokens",
            {"<unk>", "<s>", "</s>", "\xe2\x96\x81", "a", "b",
             "\xe2\x96\x81"
             "a",
             "ab",
             "\xe2\x96\x81"
             "ab",
             "<0x63>"})
      .f32s("tokenizer.ggml.scores",
            {0, 0, 0, -1, -2, -3, -0.5f, -0.2f, -0.1f, 0})
      .i32s("tokenizer.ggml.token_type", {2, 3, 3, 1, 1, 1, 1, 1, 1, 6})
      .u32("tokenizer.ggml.bos_token_id", 1)
      .u32("tokenizer.ggml.eos_token_id", 2);
  return v;
}

TEST(GGUFVocabTest, LlamaKind) {
  auto tokenizer = loadVocab(llamaVocab().build());
  ASSERT_TRUE(bool(tokenizer)) << tokenizer.error();
  auto ids = (*tokenizer)->encode("ab", true);
  ASSERT_TRUE(bool(ids)) << ids.error();
  EXPECT_EQ(*ids, (std::vector<int32_t>{1, 8}));
  ids = (*tokenizer)->encode("ac ab", false);
  ASSERT_TRUE(bool(ids)) << ids.error();
  EXPECT_EQ(*ids, (std::vector<int32_t>{6, 9, 8}));
  auto text = (*tokenizer)->decode({1, 6, 9, 8, 2}, true);
  ASSERT_TRUE(bool(text)) << text.error();
  EXPECT_EQ(*text, "ac ab");
  EXPECT_TRUE((*tokenizer)->isSpecial(2));
  EXPECT_EQ((*tokenizer)->getVocabSize(), 10);

  // add_space_prefix false: no "\u2581" before the text; add_eos_token.
  VocabBuilder v = llamaVocab();
  v.flag("tokenizer.ggml.add_space_prefix", false)
      .flag("tokenizer.ggml.add_eos_token", true)
      .flag("tokenizer.ggml.add_bos_token", false);
  tokenizer = loadVocab(v.build());
  ASSERT_TRUE(bool(tokenizer)) << tokenizer.error();
  ids = (*tokenizer)->encode("ab", true);
  ASSERT_TRUE(bool(ids)) << ids.error();
  EXPECT_EQ(*ids, (std::vector<int32_t>{7, 2}));
}

/// A byte-level BPE vocabulary ("\xc4\xa0" is GPT-2's space).
VocabBuilder gpt2Vocab(const std::string &pre) {
  VocabBuilder v;
  v.str("tokenizer.ggml.model", "gpt2")
      .str("tokenizer.ggml.pre", pre)
      .strs("tokenizer.ggml.tokens", {"a", "b", "1", "ab", "\xc4\xa0",
                                      "\xc4\xa0"
                                      "ab",
                                      "11", "<|end|>"})
      .i32s("tokenizer.ggml.token_type", {1, 1, 1, 1, 1, 1, 1, 3})
      .strs("tokenizer.ggml.merges", {"a b",
                                      "\xc4\xa0"
                                      " ab",
                                      "1 1"})
      .u32("tokenizer.ggml.bos_token_id", 7);
  return v;
}

TEST(GGUFVocabTest, Gpt2Kind) {
  auto tokenizer = loadVocab(gpt2Vocab("gpt-2").build());
  ASSERT_TRUE(bool(tokenizer)) << tokenizer.error();
  auto ids = (*tokenizer)->encode("ab ab<|end|>11", true);
  ASSERT_TRUE(bool(ids)) << ids.error();
  // GPT-2's regex keeps "11" one piece; no BOS by default.
  EXPECT_EQ(*ids, (std::vector<int32_t>{3, 5, 7, 6}));
  auto text = (*tokenizer)->decode(*ids, true);
  ASSERT_TRUE(bool(text)) << text.error();
  EXPECT_EQ(*text, "ab ab11");

  // smollm: digits one by one. llama-bpe: BOS by default.
  tokenizer = loadVocab(gpt2Vocab("smollm").build());
  ASSERT_TRUE(bool(tokenizer)) << tokenizer.error();
  ids = (*tokenizer)->encode("11", true);
  ASSERT_TRUE(bool(ids)) << ids.error();
  EXPECT_EQ(*ids, (std::vector<int32_t>{2, 2}));
  tokenizer = loadVocab(gpt2Vocab("llama-bpe").build());
  ASSERT_TRUE(bool(tokenizer)) << tokenizer.error();
  ids = (*tokenizer)->encode("ab", true);
  ASSERT_TRUE(bool(ids)) << ids.error();
  EXPECT_EQ(*ids, (std::vector<int32_t>{7, 3}));
}

/// A WordPiece vocabulary in the converter's phantom-space form: "[CLS]"
/// and "[SEP]" control tokens as they are, "\u2581un" a word-initial piece,
/// "able" the continuation "##able".
VocabBuilder bertVocab() {
  VocabBuilder v;
  v.str("tokenizer.ggml.model", "bert")
      .strs("tokenizer.ggml.tokens", {"[PAD]", "[UNK]", "[CLS]", "[SEP]",
                                      "\xe2\x96\x81"
                                      "un",
                                      "able",
                                      "\xe2\x96\x81"
                                      "!"})
      .i32s("tokenizer.ggml.token_type", {3, 3, 3, 3, 1, 1, 1})
      .u32("tokenizer.ggml.unknown_token_id", 1)
      .u32("tokenizer.ggml.bos_token_id", 2)
      .u32("tokenizer.ggml.seperator_token_id", 3);
  return v;
}

TEST(GGUFVocabTest, BertKind) {
  auto tokenizer = loadVocab(bertVocab().build());
  ASSERT_TRUE(bool(tokenizer)) << tokenizer.error();
  // Lowercased by default; "xyz" has no pieces: [UNK]; [CLS] ... [SEP].
  auto ids = (*tokenizer)->encode("UNable! xyz", true);
  ASSERT_TRUE(bool(ids)) << ids.error();
  EXPECT_EQ(*ids, (std::vector<int32_t>{2, 4, 5, 6, 1, 3}));
  auto text = (*tokenizer)->decode({2, 4, 5, 6, 3}, true);
  ASSERT_TRUE(bool(text)) << text.error();
  EXPECT_EQ(*text, "unable!");
  // A cased vocabulary says so.
  VocabBuilder v = bertVocab();
  v.flag("tokenizer.ggml.normalizer.lowercase", false);
  tokenizer = loadVocab(v.build());
  ASSERT_TRUE(bool(tokenizer)) << tokenizer.error();
  ids = (*tokenizer)->encode("UNable", false);
  ASSERT_TRUE(bool(ids)) << ids.error();
  EXPECT_EQ(*ids, (std::vector<int32_t>{1}));
}

/// A Unigram vocabulary: "\u2581ab" beats "\u2581a" + "b" on score.
VocabBuilder t5Vocab() {
  VocabBuilder v;
  v.str("tokenizer.ggml.model", "t5")
      .strs("tokenizer.ggml.tokens", {"<pad>", "</s>", "<unk>",
                                      "\xe2\x96\x81"
                                      "a",
                                      "b",
                                      "\xe2\x96\x81"
                                      "ab",
                                      "<extra_id_0>"})
      .f32s("tokenizer.ggml.scores", {0, 0, 0, -2, -2, -3, -1000})
      .i32s("tokenizer.ggml.token_type", {3, 3, 2, 1, 1, 1, 4})
      .u32("tokenizer.ggml.eos_token_id", 1);
  return v;
}

TEST(GGUFVocabTest, T5Kind) {
  auto tokenizer = loadVocab(t5Vocab().build());
  ASSERT_TRUE(bool(tokenizer)) << tokenizer.error();
  // EOS appended by default; the sentinel is never split, and special.
  // Runs of spaces split once.
  auto ids = (*tokenizer)->encode("ab  a<extra_id_0>", true);
  ASSERT_TRUE(bool(ids)) << ids.error();
  EXPECT_EQ(*ids, (std::vector<int32_t>{5, 3, 6, 1}));
  EXPECT_TRUE((*tokenizer)->isSpecial(6));
  auto text = (*tokenizer)->decode({5, 6, 1}, true);
  ASSERT_TRUE(bool(text)) << text.error();
  EXPECT_EQ(*text, "ab");
  EXPECT_EQ(
      vocabError(t5Vocab()
                     .flag("tokenizer.ggml.remove_extra_whitespaces", false)
                     .build()),
      "m.gguf: metadata 'tokenizer.ggml.remove_extra_whitespaces': "
      "expected true (the whitespace split of transformers' Unigram "
      "converter; LLMC does not keep runs of spaces), found false");
  EXPECT_EQ(vocabError(t5Vocab()
                           .i32s("tokenizer.ggml.precompiled_charsmap", {1, 2})
                           .build()),
            "m.gguf: metadata 'tokenizer.ggml.precompiled_charsmap': expected "
            "an array of uint8, found array of 2 int32");
}

TEST(GGUFVocabTest, BadMetadata) {
  EXPECT_EQ(vocabError(VocabBuilder().u32("x", 1).build()),
            "m.gguf: expected a tokenizer (metadata 'tokenizer.ggml.model' "
            "and 'tokenizer.ggml.tokens'), found none");
  EXPECT_EQ(vocabError(VocabBuilder()
                           .str("tokenizer.ggml.model", "rwkv")
                           .strs("tokenizer.ggml.tokens", {"a"})
                           .build()),
            "m.gguf: metadata 'tokenizer.ggml.model': expected llama "
            "(SentencePiece BPE), gpt2 (byte-level BPE), bert (WordPiece) or "
            "t5 (SentencePiece Unigram), found \"rwkv\"");
  EXPECT_EQ(vocabError(gpt2Vocab("deepseek-llm").build()),
            "m.gguf: metadata 'tokenizer.ggml.pre': expected a pre-tokenizer "
            "LLMC knows (default, gpt-2, llama-bpe, qwen2, smollm, starcoder), "
            "found \"deepseek-llm\"");
  EXPECT_EQ(vocabError(VocabBuilder()
                           .str("tokenizer.ggml.model", "llama")
                           .i32s("tokenizer.ggml.tokens", {1, 2})
                           .build()),
            "m.gguf: metadata 'tokenizer.ggml.tokens': expected an array of "
            "string, found array of 2 int32");
  EXPECT_EQ(vocabError(llamaVocab()
                           .i32s("tokenizer.ggml.token_type2", {1})
                           .u32("tokenizer.ggml.unknown_token_id", 10)
                           .build()),
            "m.gguf: metadata 'tokenizer.ggml.unknown_token_id': expected a "
            "token id in [0, 10), found uint32 10");
  EXPECT_EQ(vocabError(VocabBuilder()
                           .str("tokenizer.ggml.model", "llama")
                           .strs("tokenizer.ggml.tokens", {"a", "b"})
                           .i32s("tokenizer.ggml.token_type", {1})
                           .build()),
            "m.gguf: metadata 'tokenizer.ggml.token_type': expected an array "
            "of int32 with 2 elements (one per token), found array of 1 "
            "int32");
  EXPECT_EQ(vocabError(VocabBuilder()
                           .str("tokenizer.ggml.model", "llama")
                           .strs("tokenizer.ggml.tokens", {"a", "b"})
                           .i32s("tokenizer.ggml.token_type", {1, 9})
                           .build()),
            "m.gguf: metadata 'tokenizer.ggml.token_type': expected types 1 "
            "to 6 in element 1, found 9");
  EXPECT_EQ(vocabError(VocabBuilder()
                           .str("tokenizer.ggml.model", "llama")
                           .strs("tokenizer.ggml.tokens", {"a", "\xff"})
                           .build()),
            "m.gguf: metadata 'tokenizer.ggml.tokens': expected UTF-8 text in "
            "element 1, found invalid bytes");
  EXPECT_EQ(
      vocabError(
          gpt2Vocab("gpt-2").u32("tokenizer.ggml.eos_token_id", 99).build()),
      "m.gguf: metadata 'tokenizer.ggml.eos_token_id': expected a token "
      "id in [0, 8), found uint32 99");
  EXPECT_EQ(vocabError(VocabBuilder()
                           .str("tokenizer.ggml.model", "gpt2")
                           .strs("tokenizer.ggml.tokens", {"a", "b"})
                           .strs("tokenizer.ggml.merges", {"ab"})
                           .build()),
            "m.gguf: metadata 'tokenizer.ggml.merges': expected \"left "
            "right\" (UTF-8) in element 0, found \"ab\"");
  EXPECT_EQ(vocabError(VocabBuilder()
                           .str("tokenizer.ggml.model", "gpt2")
                           .strs("tokenizer.ggml.tokens", {"a", "b"})
                           .strs("tokenizer.ggml.merges", {"a b"})
                           .build()),
            "m.gguf: metadata 'tokenizer.ggml.merges': expected tokens of "
            "the vocabulary in element 0, found \"ab\", which is not a "
            "token");
  EXPECT_EQ(vocabError(VocabBuilder()
                           .str("tokenizer.ggml.model", "gpt2")
                           .strs("tokenizer.ggml.tokens", {"a"})
                           .build()),
            "m.gguf: metadata 'tokenizer.ggml.merges': expected an array of "
            "string, found no such key");
  EXPECT_EQ(vocabError(VocabBuilder()
                           .str("tokenizer.ggml.model", "gpt2")
                           .strs("tokenizer.ggml.tokens", {"a"})
                           .strs("tokenizer.ggml.merges", {})
                           .flag("tokenizer.ggml.add_bos_token", true)
                           .build()),
            "m.gguf: metadata 'tokenizer.ggml.bos_token_id': expected a token "
            "id (add_bos_token is true), found no such key");
  EXPECT_EQ(vocabError(VocabBuilder()
                           .str("tokenizer.ggml.model", "gpt2")
                           .strs("tokenizer.ggml.tokens", {"a"})
                           .strs("tokenizer.ggml.merges", {})
                           .u32("tokenizer.ggml.add_bos_token", 1)
                           .build()),
            "m.gguf: metadata 'tokenizer.ggml.add_bos_token': expected a "
            "bool, found uint32 1");
}

} // namespace
