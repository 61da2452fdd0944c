//===- SafeTensorsTest.cpp - safetensors reader, writer and validation ----===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "SafeTensors.h"
#include "Manifest.h"
#include "Model.h"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

using namespace llmrt;

namespace {

/// Bytes of `values`, little-endian (the test hosts are little-endian, which
/// the round-trip tests would catch otherwise).
template <typename T> std::vector<uint8_t> bytesOf(std::vector<T> values) {
  std::vector<uint8_t> out(values.size() * sizeof(T));
  if (!out.empty())
    std::memcpy(out.data(), values.data(), out.size());
  return out;
}

void write64le(char *p, uint64_t v) {
  for (int i = 0; i < 8; ++i)
    p[i] = static_cast<char>(v >> (8 * i));
}

uint64_t read64le(const char *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

/// A safetensors file from a raw header and `dataSize` data bytes.
std::string rawFile(std::string_view header, size_t dataSize,
                    uint8_t fill = 0) {
  std::string out(8, '\0');
  write64le(out.data(), header.size());
  out += header;
  out.append(dataSize, static_cast<char>(fill));
  return out;
}

/// One header entry.
std::string entry(std::string_view name, std::string_view dtype,
                  std::string_view shape, uint64_t begin, uint64_t end) {
  return "\"" + std::string(name) + "\":{\"dtype\":\"" + std::string(dtype) +
         "\",\"shape\":" + std::string(shape) + ",\"data_offsets\":[" +
         std::to_string(begin) + "," + std::to_string(end) + "]}";
}

/// The contents of `path`.
std::string readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

bool exists(const std::string &path) {
  return ::access(path.c_str(), F_OK) == 0;
}

bool endsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.substr(s.size() - suffix.size()) == suffix;
}

float bitsToFloat(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

#define ASSERT_OK(expr)                                                        \
  do {                                                                         \
    Status status_ = (expr);                                                   \
    ASSERT_TRUE(status_.isOk()) << status_.message();                          \
  } while (false)

class SafeTensorsTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() /
                           "llmc-safetensors-test-XXXXXX")
                              .string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

  std::string path(std::string_view name) const {
    return dir + "/" + std::string(name);
  }

  std::string subdir(std::string_view name) {
    std::string p = path(name);
    EXPECT_EQ(::mkdir(p.c_str(), 0777), 0);
    return p;
  }

  /// Writes `bytes` to `name` in the test folder, returns the path.
  std::string writeRaw(std::string_view name, std::string_view bytes) {
    std::string p = path(name);
    std::ofstream os(p, std::ios::binary | std::ios::trunc);
    EXPECT_TRUE(os.good()) << p;
    os.write(bytes.data(), bytes.size());
    return p;
  }

  /// Writes a file of one tensor per name, F32 [2] each.
  std::string writeSimple(std::string_view name,
                          const std::vector<std::string> &tensorNames) {
    static const std::vector<uint8_t> data = bytesOf<float>({1.0f, 2.0f});
    std::vector<TensorToWrite> tensors;
    for (const std::string &n : tensorNames)
      tensors.push_back({n, DType::F32, {2}, data});
    std::string p = path(name);
    Status s = writeSafeTensors(p, tensors);
    EXPECT_TRUE(s.isOk()) << s.message();
    return p;
  }

  /// Opens `p`, expects failure and returns the message.
  static std::string openError(const std::string &p) {
    auto file = SafeTensorsFile::open(p);
    if (file) {
      ADD_FAILURE() << p << ": expected an error, opened fine";
      return "";
    }
    return file.error();
  }

  std::string openRawError(std::string_view bytes,
                           std::string_view name = "bad.safetensors") {
    return openError(writeRaw(name, bytes));
  }

  static std::string archiveError(const std::string &d) {
    auto archive = SafeTensorsArchive::openDirectory(d);
    if (archive) {
      ADD_FAILURE() << d << ": expected an error, opened fine";
      return "";
    }
    return archive.error();
  }

  std::string dir;
};

/// Expects `message` to contain each of `parts`.
void expectContains(std::string_view message,
                    std::initializer_list<std::string_view> parts) {
  for (std::string_view part : parts)
    EXPECT_NE(message.find(part), std::string_view::npos)
        << "message: " << message << "\nmissing: " << part;
}

//===----------------------------------------------------------------------===//
// Round trips
//===----------------------------------------------------------------------===//

TEST(DTypeTest, NamesAndSizesRoundTrip) {
  for (DType d : {DType::F32, DType::F16, DType::BF16, DType::F64, DType::I64,
                  DType::I32, DType::I16, DType::I8, DType::U8, DType::BOOL,
                  DType::U16, DType::U32, DType::U64, DType::F8_E4M3,
                  DType::F8_E5M2, DType::F8_E8M0, DType::C64}) {
    std::optional<DType> parsed = parseDType(getDTypeName(d));
    ASSERT_TRUE(parsed) << getDTypeName(d);
    EXPECT_EQ(*parsed, d);
  }
  EXPECT_EQ(getDTypeSize(DType::F32), 4u);
  EXPECT_EQ(getDTypeSize(DType::BF16), 2u);
  EXPECT_EQ(getDTypeSize(DType::F64), 8u);
  EXPECT_EQ(getDTypeSize(DType::BOOL), 1u);
  EXPECT_EQ(getDTypeSize(DType::C64), 8u);
  EXPECT_EQ(getDTypeName(DType::BF16), "BF16");
  EXPECT_EQ(getDTypeName(DType::F8_E4M3), "F8_E4M3");
  EXPECT_FALSE(parseDType("f32"));
  EXPECT_FALSE(parseDType("F4"));
}

TEST_F(SafeTensorsTest, ValidFileRoundTrips) {
  std::vector<uint8_t> weight = bytesOf<float>({1, 2, 3, 4, 5, 6});
  std::vector<uint8_t> bias = bytesOf<uint16_t>({0x3f80, 0xc000, 0, 0x7f80});
  std::vector<uint8_t> step = bytesOf<int64_t>({-42});
  std::vector<uint8_t> mask = {1, 0, 1};
  std::string p = path("model.safetensors");
  Status e =
      writeSafeTensors(p,
                       {{"layer.weight", DType::F32, {2, 3}, weight},
                        {"layer.bias", DType::BF16, {4}, bias},
                        {"step", DType::I64, {}, step},
                        {"empty", DType::F16, {0, 7}, {}},
                        {"mask", DType::BOOL, {3}, mask}},
                       {{"format", "pt"}, {"note", "a \"quoted\"\nvalue"}});
  ASSERT_TRUE(e.isOk()) << e.message();

  auto fileOr = SafeTensorsFile::open(p);
  ASSERT_TRUE(!!fileOr) << fileOr.error();
  const SafeTensorsFile &file = **fileOr;
  EXPECT_EQ(file.path(), p);
  EXPECT_EQ(file.getHeaderSize() % 8, 0u);
  EXPECT_EQ(file.getDataSize(), 24u + 8u + 8u + 0u + 3u);

  // In data-offset order, which is the order written.
  const std::vector<TensorInfo> &tensors = file.tensors();
  ASSERT_EQ(tensors.size(), 5u);
  EXPECT_EQ(tensors[0].name, "layer.weight");
  EXPECT_EQ(tensors[1].name, "layer.bias");
  EXPECT_EQ(tensors[2].name, "step");
  // Zero-sized tensors sort by (begin, end, name) at the same offset.
  EXPECT_EQ(tensors[3].name, "empty");
  EXPECT_EQ(tensors[4].name, "mask");

  const TensorInfo *w = file.lookup("layer.weight");
  ASSERT_TRUE(w);
  EXPECT_EQ(w->dtype, DType::F32);
  EXPECT_EQ(w->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(w->getNumElements(), 6);
  EXPECT_EQ(w->numBytes, 24u);
  EXPECT_EQ(w->file, p);
  EXPECT_EQ(0, std::memcmp(w->data, weight.data(), weight.size()));
  EXPECT_TRUE(w->isAligned()); // Header padded to 8, mapping page-aligned.

  const TensorInfo *b = file.lookup("layer.bias");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->dtype, DType::BF16);
  EXPECT_EQ(b->data, w->data + 24); // Back to back, pointing into the map.
  EXPECT_EQ(0, std::memcmp(b->data, bias.data(), bias.size()));

  const TensorInfo *s = file.lookup("step");
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->shape.empty());
  EXPECT_EQ(s->getNumElements(), 1);
  EXPECT_EQ(0, std::memcmp(s->data, step.data(), 8));

  const TensorInfo *empty = file.lookup("empty");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->getNumElements(), 0);
  EXPECT_EQ(empty->numBytes, 0u);

  const TensorInfo *m = file.lookup("mask");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->dtype, DType::BOOL);
  EXPECT_EQ(m->data[0], 1);
  EXPECT_EQ(m->data[1], 0);

  EXPECT_EQ(file.lookup("missing"), nullptr);
  EXPECT_EQ(file.lookup("__metadata__"), nullptr);

  ASSERT_EQ(file.metadata().size(), 2u);
  EXPECT_EQ(file.metadata().at("format"), "pt");
  EXPECT_EQ(file.metadata().at("note"), "a \"quoted\"\nvalue");
}

TEST_F(SafeTensorsTest, WriterProducesTheCanonicalLayout) {
  std::vector<uint8_t> one = bytesOf<float>({1.0f});
  std::string p = path("one.safetensors");
  ASSERT_OK(writeSafeTensors(p, {{"a", DType::F32, {1}, one}}));
  std::string contents = readFile(p);
  std::string_view bytes = contents;
  std::string json =
      R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  uint64_t n = read64le(bytes.data());
  EXPECT_EQ(n % 8, 0u);
  EXPECT_EQ(n, (json.size() + 7) / 8 * 8);
  ASSERT_EQ(bytes.size(), 8 + n + 4);
  EXPECT_EQ(bytes.substr(8, json.size()), json);
  EXPECT_EQ(bytes.substr(8 + json.size(), n - json.size()),
            std::string(n - json.size(), ' '));
  EXPECT_EQ(bytes.substr(8 + n), std::string_view("\0\0\x80\x3f", 4));
}

TEST_F(SafeTensorsTest, EmptyHeaderAndPaddingAreValid) {
  auto file =
      SafeTensorsFile::open(writeRaw("e.safetensors", rawFile("{}", 0)));
  ASSERT_TRUE(!!file) << file.error();
  EXPECT_TRUE((*file)->tensors().empty());
  EXPECT_TRUE((*file)->metadata().empty());

  std::string header =
      "{" + entry("x", "U8", "[2]", 0, 2) + ",\"__metadata__\":{}}      ";
  auto padded =
      SafeTensorsFile::open(writeRaw("p.safetensors", rawFile(header, 2)));
  ASSERT_TRUE(!!padded) << padded.error();
  EXPECT_EQ((*padded)->tensors().size(), 1u);
}

TEST_F(SafeTensorsTest, OpenBufferUsesTheName) {
  std::string bytes = rawFile("{" + entry("x", "I8", "[1]", 0, 1) + "}", 1, 42);
  auto file = SafeTensorsFile::openBuffer(bytes, "mem.safetensors");
  ASSERT_TRUE(!!file) << file.error();
  EXPECT_EQ((*file)->path(), "mem.safetensors");
  EXPECT_EQ((*file)->lookup("x")->file, "mem.safetensors");

  auto bad = SafeTensorsFile::openBuffer("abc", "tiny.bin");
  ASSERT_FALSE(!!bad);
  expectContains(bad.error(), {"tiny.bin", "found 3"});
}

TEST_F(SafeTensorsTest, OpenBufferCopiesTheBytes) {
  std::string bytes = rawFile("{" + entry("x", "U8", "[2]", 0, 2) + "}", 2, 7);
  auto file = SafeTensorsFile::openBuffer(bytes, "copy.safetensors");
  ASSERT_TRUE(!!file) << file.error();
  const TensorInfo *x = (*file)->lookup("x");
  ASSERT_TRUE(x);
  // The tensor points into the file's own copy, not into `bytes`.
  EXPECT_FALSE(x->data >= reinterpret_cast<const uint8_t *>(bytes.data()) &&
               x->data < reinterpret_cast<const uint8_t *>(bytes.data()) +
                             bytes.size());
  std::fill(bytes.begin(), bytes.end(), '\xff');
  bytes = std::string();
  EXPECT_EQ(x->data[0], 7);
  EXPECT_EQ(x->data[1], 7);
}

TEST_F(SafeTensorsTest, ErrorCodesTellIoFromFormat) {
  auto missing = SafeTensorsFile::open(path("nope.safetensors"));
  ASSERT_FALSE(!!missing);
  EXPECT_EQ(missing.status().code(), ErrorCode::Io);
  auto malformed = SafeTensorsFile::openBuffer(rawFile("{}", 3), "m.st");
  ASSERT_FALSE(!!malformed);
  EXPECT_EQ(malformed.status().code(), ErrorCode::Format);
  std::vector<uint8_t> four(4);
  Status s = writeSafeTensors(path("w.st"), {{"a", DType::F32, {2}, four}});
  EXPECT_EQ(s.code(), ErrorCode::InvalidArgument);
}

//===----------------------------------------------------------------------===//
// File-level errors
//===----------------------------------------------------------------------===//

TEST_F(SafeTensorsTest, TruncatedFile) {
  std::string msg =
      openRawError(std::string_view("\x10\0\0\0\0", 5), "short.st");
  expectContains(msg,
                 {"short.st", "too short", "expected at least 8", "found 5"});
  expectContains(openRawError("", "zero.st"), {"zero.st", "found 0"});
}

TEST_F(SafeTensorsTest, HeaderLengthPastEndOfFile) {
  std::string bytes = rawFile("{}      ", 0);
  write64le(bytes.data(), 100);
  expectContains(openRawError(bytes, "past.st"),
                 {"past.st", "header length", "past the end of the file",
                  "expected at most 8", "found 100"});
  // A length so large that 8 + N would wrap.
  write64le(bytes.data(), ~0ull);
  expectContains(openRawError(bytes, "wrap.st"),
                 {"wrap.st", "header length", "found 18446744073709551615"});
}

TEST_F(SafeTensorsTest, HeaderLengthOverLimit) {
  std::string bytes = rawFile("{}      ", 0);
  write64le(bytes.data(), 100'000'001);
  expectContains(openRawError(bytes, "big.st"),
                 {"big.st", "header length is too large",
                  "expected at most 100000000", "found 100000001"});
}

TEST_F(SafeTensorsTest, HeaderMustStartWithBrace) {
  expectContains(openRawError(rawFile("[1]     ", 0), "arr.st"),
                 {"arr.st", "does not start with '{'", "found byte 0x5b '['"});
  expectContains(openRawError(rawFile(" {}", 0), "ws.st"),
                 {"ws.st", "does not start with '{'", "0x20"});
  expectContains(openRawError(rawFile("", 0), "nohdr.st"),
                 {"nohdr.st", "found an empty header"});
}

TEST_F(SafeTensorsTest, BadJson) {
  expectContains(openRawError(rawFile("{\"a\": ", 0), "json.st"),
                 {"json.st", "header", "not valid JSON"});
  expectContains(openRawError(rawFile("{} x", 0), "tail.st"),
                 {"tail.st", "not valid JSON"});
  expectContains(openRawError(rawFile("{\"\xff\":1}", 0), "utf8.st"),
                 {"utf8.st", "not valid JSON"});
}

TEST_F(SafeTensorsTest, DeepNestingIsRejectedWithoutRecursing) {
  std::string header = "{\"a\":" + std::string(1'000'000, '[');
  expectContains(openRawError(rawFile(header, 0), "deep.st"),
                 {"deep.st", "nesting", "expected at most 64"});
}

TEST_F(SafeTensorsTest, JsonErrorsKeepLlvmJsonsWording) {
  // The messages of the llvm::json-based reader this one replaced.
  EXPECT_EQ(openRawError(rawFile("{\"a\":1,}", 0), "pos.st"),
            path("pos.st") +
                ": header: not valid JSON: [1:8, byte=8]: Expected object key");
  EXPECT_EQ(openRawError(rawFile("{\n\"a\" 1}", 0), "line.st"),
            path("line.st") + ": header: not valid JSON: [2:5, byte=7]: "
                              "Expected : after object key");
  EXPECT_EQ(openRawError(rawFile("{\"a\":\"\xc3\"}", 0), "utf8.st"),
            path("utf8.st") +
                ": header: not valid JSON: [1:6, byte=6]: Invalid UTF-8 "
                "sequence");
  EXPECT_EQ(openRawError(rawFile("{} x", 0), "tail.st"),
            path("tail.st") + ": header: not valid JSON: [1:3, byte=3]: Text "
                              "after end of document");
  EXPECT_EQ(
      openRawError(rawFile("{\"a\":" + std::string(70, '['), 0), "deep2.st"),
      path("deep2.st") + ": header: JSON nesting at byte 68 is too "
                         "deep: expected at most 64 levels, found more");
  EXPECT_EQ(openRawError(rawFile("[1]", 0), "arr.st"),
            path("arr.st") + ": header does not start with '{': found byte "
                             "0x5b '['");
  std::string header = "{" + entry("a", "F32", "[1]", 0, 4) + "," +
                       entry("a", "F32", "[1]", 4, 8) + "}";
  EXPECT_EQ(openRawError(rawFile(header, 8), "dup.st"),
            path("dup.st") + ": header: tensor 'a': duplicate tensor name (at "
                             "header bytes 1 and 54)");
}

TEST_F(SafeTensorsTest, EntryMustBeAnObject) {
  expectContains(openRawError(rawFile("{\"w\":5}", 0), "obj.st"),
                 {"obj.st", "tensor 'w'", "expected an object", "found 5"});
}

TEST_F(SafeTensorsTest, MissingFields) {
  expectContains(
      openRawError(rawFile(R"({"w":{"shape":[1],"data_offsets":[0,4]}})", 4),
                   "nodtype.st"),
      {"nodtype.st", "tensor 'w'", "field 'dtype'", "expected a dtype string",
       "found nothing"});
  expectContains(
      openRawError(rawFile(R"({"w":{"dtype":"F32","data_offsets":[0,4]}})", 4),
                   "noshape.st"),
      {"noshape.st", "tensor 'w'", "field 'shape'",
       "expected an array of non-negative integers", "found nothing"});
  expectContains(
      openRawError(rawFile(R"({"w":{"dtype":"F32","shape":[1]}})", 4),
                   "nooffsets.st"),
      {"nooffsets.st", "tensor 'w'", "field 'data_offsets'",
       "expected [begin, end]", "found nothing"});
}

TEST_F(SafeTensorsTest, FieldsOfTheWrongType) {
  expectContains(
      openRawError(
          rawFile(R"({"w":{"dtype":4,"shape":[1],"data_offsets":[0,4]}})", 4),
          "dt.st"),
      {"dt.st", "tensor 'w'", "field 'dtype'", "expected a dtype string",
       "found 4"});
  expectContains(
      openRawError(
          rawFile(R"({"w":{"dtype":"F32","shape":{},"data_offsets":[0,4]}})",
                  4),
          "sh.st"),
      {"sh.st", "tensor 'w'", "field 'shape'", "found an object"});
  expectContains(
      openRawError(
          rawFile(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", 4),
          "off.st"),
      {"off.st", "tensor 'w'", "field 'data_offsets'", "expected [begin, end]",
       "found an array of 1 elements"});
  expectContains(
      openRawError(
          rawFile(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":"0,4"}})",
                  4),
          "offstr.st"),
      {"offstr.st", "field 'data_offsets'", "found string '0,4'"});
}

TEST_F(SafeTensorsTest, UnknownDTypeListsTheSupportedOnes) {
  std::string msg = openRawError(
      rawFile("{" + entry("w", "F128", "[1]", 0, 4) + "}", 4), "dtype.st");
  expectContains(msg, {"dtype.st", "tensor 'w'", "field 'dtype'",
                       "unknown dtype 'F128'", "expected one of",
                       "BOOL, U8, I8", "F16, BF16", "F32", "F64", "U64"});
  expectContains(
      openRawError(rawFile("{" + entry("w", "F4", "[2]", 0, 1) + "}", 1),
                   "f4.st"),
      {"f4.st", "tensor 'w'", "unsupported sub-byte dtype 'F4'"});
}

TEST_F(SafeTensorsTest, BadDimensions) {
  expectContains(
      openRawError(rawFile("{" + entry("w", "F32", "[2,-3]", 0, 24) + "}", 24),
                   "neg.st"),
      {"neg.st", "tensor 'w'", "field 'shape'", "dimension 1",
       "expected a non-negative integer", "found -3"});
  expectContains(
      openRawError(rawFile("{" + entry("w", "F32", "[1.5]", 0, 4) + "}", 4),
                   "frac.st"),
      {"frac.st", "tensor 'w'", "dimension 0", "found 1.5"});
  expectContains(
      openRawError(rawFile("{" + entry("w", "F32", "[1.0]", 0, 4) + "}", 4),
                   "float.st"),
      {"float.st", "tensor 'w'", "dimension 0",
       "found 1 (a floating-point number)"});
  expectContains(
      openRawError(
          rawFile("{" + entry("w", "U8", "[1e3]", 0, 1000) + "}", 1000),
          "exp.st"),
      {"exp.st", "tensor 'w'", "dimension 0",
       "found 1000 (a floating-point number)"});
  // Found by the fuzzer: rounds to 2^63, which json::Value::getAsInteger()
  // would convert to int64_t (undefined behavior).
  expectContains(
      openRawError(
          rawFile("{" + entry("w", "U8", "[9223372036854775807.2]", 0, 1) + "}",
                  1),
          "edge.st"),
      {"edge.st", "tensor 'w'", "dimension 0",
       "found 9.2233720368547758e+18 (a floating-point number)"});
  expectContains(
      openRawError(
          rawFile("{" + entry("w", "U8", "[18446744073709551616]", 0, 1) + "}",
                  1),
          "big.st"),
      {"big.st", "tensor 'w'", "dimension 0", "(a floating-point number)"});
  expectContains(
      openRawError(rawFile("{" + entry("w", "F32", "[\"2\"]", 0, 8) + "}", 8),
                   "str.st"),
      {"str.st", "tensor 'w'", "dimension 0", "found string '2'"});
  expectContains(
      openRawError(
          rawFile("{" + entry("w", "U8", "[18446744073709551615]", 0, 1) + "}",
                  1),
          "u64.st"),
      {"u64.st", "tensor 'w'", "dimension 0", "at most 9223372036854775807",
       "found 18446744073709551615"});
}

TEST_F(SafeTensorsTest, ElementCountOverflow) {
  expectContains(
      openRawError(
          rawFile("{" + entry("w", "U8", "[4294967296,4294967296]", 0, 0) + "}",
                  0),
          "mul.st"),
      {"mul.st", "tensor 'w'", "field 'shape'",
       "element count of [4294967296, 4294967296] overflows",
       "expected at most 9223372036854775807"});
  // 2^62 elements fit in int64, 2^62 * 8 bytes do not fit in uint64.
  expectContains(
      openRawError(
          rawFile("{" + entry("w", "F64", "[4611686018427387904]", 0, 0) + "}",
                  0),
          "bytes.st"),
      {"bytes.st", "tensor 'w'", "byte size of F64 [4611686018427387904]",
       "overflows", "expected at most 18446744073709551615"});
  // A zero dimension makes the product 0 whatever follows.
  auto file = SafeTensorsFile::open(writeRaw(
      "zero.st",
      rawFile("{" + entry("w", "U8", "[0,9223372036854775807]", 0, 0) + "}",
              0)));
  ASSERT_TRUE(!!file) << file.error();
  EXPECT_EQ((*file)->lookup("w")->getNumElements(), 0);
}

TEST_F(SafeTensorsTest, BadOffsets) {
  expectContains(
      openRawError(
          rawFile(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})",
                  4),
          "negoff.st"),
      {"negoff.st", "tensor 'w'", "field 'data_offsets'", "begin",
       "expected a non-negative integer", "found -4"});
  expectContains(
      openRawError(
          rawFile(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4.5]}})",
                  4),
          "fracoff.st"),
      {"fracoff.st", "tensor 'w'", "end", "found 4.5"});
  expectContains(
      openRawError(rawFile("{" + entry("w", "F32", "[1]", 8, 4) + "}", 8),
                   "order.st"),
      {"order.st", "tensor 'w'", "field 'data_offsets'",
       "expected begin <= end", "found [8, 4]"});
}

TEST_F(SafeTensorsTest, WrongByteCountForDTypeAndShape) {
  std::string msg = openRawError(
      rawFile("{" + entry("lm_head.weight", "F32", "[4,8]", 0, 100) + "}", 100),
      "model.safetensors");
  expectContains(msg, {"model.safetensors: tensor 'lm_head.weight': "
                       "data_offsets [0, 100] cover 100 bytes, expected 128 "
                       "(F32 [4, 8])"});
}

TEST_F(SafeTensorsTest, OffsetsPastEndOfFile) {
  expectContains(
      openRawError(rawFile("{" + entry("w", "F32", "[4]", 0, 16) + "}", 8),
                   "eof.st"),
      {"eof.st", "tensor 'w'", "data_offsets [0, 16]",
       "run past the end of the file", "expected end <= 8", "found 16"});
  // Far past: consistent sizes but offsets near 2^63.
  expectContains(
      openRawError(rawFile("{" +
                               entry("w", "F32", "[4]", 9223372036854775808ull,
                                     9223372036854775824ull) +
                               "}",
                           16),
                   "far.st"),
      {"far.st", "tensor 'w'", "expected end <= 16",
       "found 9223372036854775824"});
}

TEST_F(SafeTensorsTest, OverlappingTensors) {
  std::string header = "{" + entry("a", "F32", "[4]", 0, 16) + "," +
                       entry("b", "F32", "[4]", 8, 24) + "}";
  expectContains(openRawError(rawFile(header, 24), "overlap.st"),
                 {"overlap.st", "tensor 'b'", "data_offsets [8, 24]",
                  "overlap tensor 'a' [0, 16]", "expected begin 16",
                  "found 8"});
  // Identical ranges, and a zero-sized tensor inside another one.
  header = "{" + entry("a", "F32", "[4]", 0, 16) + "," +
           entry("b", "F32", "[4]", 0, 16) + "}";
  expectContains(openRawError(rawFile(header, 16), "same.st"),
                 {"same.st", "tensor 'b'", "overlap tensor 'a'",
                  "expected begin 16", "found 0"});
  header = "{" + entry("a", "F32", "[4]", 0, 16) + "," +
           entry("z", "F32", "[0]", 4, 4) + "}";
  expectContains(openRawError(rawFile(header, 16), "inside.st"),
                 {"inside.st", "tensor 'z'", "overlap tensor 'a'",
                  "expected begin 16", "found 4"});
}

TEST_F(SafeTensorsTest, GapBetweenTensors) {
  std::string header = "{" + entry("a", "F32", "[4]", 0, 16) + "," +
                       entry("b", "F32", "[4]", 20, 36) + "}";
  expectContains(openRawError(rawFile(header, 36), "gap.st"),
                 {"gap.st", "tensor 'b'", "data_offsets [20, 36]",
                  "gap of 4 bytes after tensor 'a' [0, 16]",
                  "expected begin 16", "found 20"});
  expectContains(
      openRawError(rawFile("{" + entry("a", "F32", "[4]", 4, 20) + "}", 20),
                   "lead.st"),
      {"lead.st", "tensor 'a'",
       "gap of 4 bytes after the start of the data "
       "section",
       "expected begin 0", "found 4"});
}

TEST_F(SafeTensorsTest, TrailingBytes) {
  expectContains(
      openRawError(rawFile("{" + entry("a", "F32", "[4]", 0, 16) + "}", 20),
                   "trail.st"),
      {"trail.st", "4 trailing bytes", "tensor 'a' [0, 16]",
       "expected 16 bytes", "found 20"});
  expectContains(
      openRawError(rawFile("{}", 3), "notensors.st"),
      {"notensors.st", "3 trailing bytes", "expected 0 bytes", "found 3"});
}

TEST_F(SafeTensorsTest, DuplicateTensorName) {
  std::string header = "{" + entry("a", "F32", "[1]", 0, 4) + "," +
                       entry("a", "F32", "[1]", 4, 8) + "}";
  expectContains(openRawError(rawFile(header, 8), "dup.st"),
                 {"dup.st", "tensor 'a'", "duplicate tensor name"});
  // The same name spelled with an escape.
  header = "{" + entry("a", "F32", "[1]", 0, 4) + "," +
           entry("\\u0061", "F32", "[1]", 4, 8) + "}";
  expectContains(openRawError(rawFile(header, 8), "dupesc.st"),
                 {"dupesc.st", "tensor 'a'", "duplicate tensor name"});
  // A duplicate field inside an entry, and in the metadata.
  header = R"({"w":{"dtype":"F32","dtype":"F16","shape":[1],)"
           R"("data_offsets":[0,4]}})";
  expectContains(openRawError(rawFile(header, 4), "dupfield.st"),
                 {"dupfield.st", "tensor 'w'", "duplicate key 'dtype'"});
  header = R"({"__metadata__":{"k":"1","k":"2"}})";
  expectContains(openRawError(rawFile(header, 0), "dupmeta.st"),
                 {"dupmeta.st", "field '__metadata__'", "duplicate key 'k'"});
  header = R"({"__metadata__":{},"__metadata__":{}})";
  expectContains(openRawError(rawFile(header, 0), "dupmeta2.st"),
                 {"dupmeta2.st", "duplicate '__metadata__'"});
  // Keys inside string values do not count.
  header = R"({"__metadata__":{"k":"\"k\":","j":"{\"k\""}})";
  auto file = SafeTensorsFile::open(writeRaw("strings.st", rawFile(header, 0)));
  ASSERT_TRUE(!!file) << file.error();
  EXPECT_EQ((*file)->metadata().at("k"), "\"k\":");
}

TEST_F(SafeTensorsTest, BadMetadata) {
  expectContains(openRawError(rawFile(R"({"__metadata__":[1]})", 0), "meta.st"),
                 {"meta.st", "field '__metadata__'",
                  "expected an object of strings",
                  "found an array of 1 elements"});
  expectContains(openRawError(rawFile(R"({"__metadata__":{"a":"x","k":1}})", 0),
                              "metaval.st"),
                 {"metaval.st", "field '__metadata__'", "key 'k'",
                  "expected a string value", "found 1"});
}

TEST_F(SafeTensorsTest, HostileNamesAreEscapedInDiagnostics) {
  std::string header = "{" + entry("a\\nb", "F32", "[1]", 0, 8) + "}";
  std::string msg = openRawError(rawFile(header, 8), "esc.st");
  expectContains(msg, {"esc.st", "tensor 'a\\0Ab'"});
  EXPECT_EQ(msg.find('\n'), std::string::npos);
}

TEST_F(SafeTensorsTest, NotARegularFile) {
  expectContains(openError(subdir("adir")),
                 {"adir", "expected a regular file", "found a directory"});
  expectContains(openError(path("nope.safetensors")),
                 {"nope.safetensors", "cannot open"});
}

//===----------------------------------------------------------------------===//
// Model folders
//===----------------------------------------------------------------------===//

TEST_F(SafeTensorsTest, ArchiveSingleFile) {
  std::string d = subdir("single");
  writeSimple("single/model.safetensors", {"x", "y"});
  auto archive = SafeTensorsArchive::openDirectory(d);
  ASSERT_TRUE(!!archive) << archive.error();
  ASSERT_EQ((*archive)->tensors().size(), 2u);
  ASSERT_TRUE((*archive)->lookup("y"));
  EXPECT_EQ((*archive)->lookup("y")->name, "y");
  EXPECT_TRUE(endsWith((*archive)->lookup("y")->file, "model.safetensors"));
  EXPECT_EQ((*archive)->lookup("z"), nullptr);
  EXPECT_EQ((*archive)->files().size(), 1u);
}

TEST_F(SafeTensorsTest, ArchiveShardedWithIndex) {
  std::string d = subdir("sharded");
  writeSimple("sharded/model-00001-of-00002.safetensors", {"embed", "l0"});
  writeSimple("sharded/model-00002-of-00002.safetensors", {"l1", "lm_head"});
  writeRaw("sharded/model.safetensors.index.json", R"({
    "metadata": {"total_size": 32},
    "weight_map": {
      "embed": "model-00001-of-00002.safetensors",
      "l0": "model-00001-of-00002.safetensors",
      "l1": "model-00002-of-00002.safetensors",
      "lm_head": "model-00002-of-00002.safetensors"
    }
  })");
  auto archive = SafeTensorsArchive::openDirectory(d);
  ASSERT_TRUE(!!archive) << archive.error();
  std::vector<const TensorInfo *> all = (*archive)->tensors();
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[0]->name, "embed");
  EXPECT_EQ(all[3]->name, "lm_head");
  EXPECT_EQ((*archive)->files().size(), 2u);
  const TensorInfo *head = (*archive)->lookup("lm_head");
  ASSERT_TRUE(head);
  EXPECT_TRUE(endsWith(head->file, "model-00002-of-00002.safetensors"));
  std::vector<float> out(2);
  ASSERT_OK(copyAsF32(*head, out.data()));
  EXPECT_EQ(out, (std::vector<float>{1.0f, 2.0f}));
}

TEST_F(SafeTensorsTest, ArchiveWithoutWeights) {
  std::string d = subdir("none");
  expectContains(archiveError(d), {"none",
                                   "expected model.safetensors or "
                                   "model.safetensors.index.json",
                                   "found neither"});
  expectContains(archiveError(path("missing-dir")),
                 {"missing-dir", "cannot open the model folder"});
}

TEST_F(SafeTensorsTest, ArchiveShardErrorsNameTheShard) {
  std::string d = subdir("badshard");
  writeRaw("badshard/s1.safetensors", rawFile("{}", 3));
  writeRaw("badshard/model.safetensors.index.json",
           R"({"weight_map":{"a":"s1.safetensors"}})");
  expectContains(archiveError(d), {"s1.safetensors", "3 trailing bytes"});
}

TEST_F(SafeTensorsTest, BadIndexJson) {
  std::string d = subdir("idx");
  writeSimple("idx/s1.safetensors", {"a"});
  auto expectIndexError = [&](std::string_view json,
                              std::initializer_list<std::string_view> parts) {
    writeRaw("idx/model.safetensors.index.json", json);
    std::string msg = archiveError(d);
    expectContains(msg, {"model.safetensors.index.json"});
    expectContains(msg, parts);
  };
  expectIndexError(R"({"weight_map": {"a": )", {"not valid JSON"});
  expectIndexError(R"([1, 2])", {"expected a JSON object", "found an array"});
  expectIndexError(
      R"({"metadata": {}})",
      {"field 'weight_map'", "expected an object", "found nothing"});
  expectIndexError(R"({"weight_map": ["a"]})",
                   {"field 'weight_map'", "expected an object",
                    "found an array of 1 elements"});
  expectIndexError(R"({"weight_map": {}})",
                   {"field 'weight_map'", "expected at least one tensor",
                    "found an empty object"});
  expectIndexError(R"({"weight_map": {"a": 1}})",
                   {"field 'weight_map'", "tensor 'a'",
                    "expected a shard file name", "found 1"});
  expectIndexError(
      R"({"weight_map": {"a": "s1.safetensors", "a": "s1.safetensors"}})",
      {"field 'weight_map'", "tensor 'a'", "listed twice"});
  expectIndexError("{\"weight_map\": " + std::string(100, '[') + "}",
                   {"nesting", "expected at most 64"});
}

TEST_F(SafeTensorsTest, ShardNamesMustStayInTheFolder) {
  std::string d = subdir("paths");
  writeSimple("outside.safetensors", {"a"});
  for (std::string_view shard :
       {"../outside.safetensors", "/etc/passwd", "sub/s.safetensors",
        "sub\\\\s.safetensors", "..", "."}) {
    writeRaw("paths/model.safetensors.index.json",
             "{\"weight_map\": {\"a\": \"" + std::string(shard) + "\"}}");
    std::string msg = archiveError(d);
    expectContains(msg, {"model.safetensors.index.json", "field 'weight_map'",
                         "tensor 'a'",
                         "expected a plain file name inside the model folder",
                         "found '"});
  }
  writeRaw("paths/model.safetensors.index.json",
           R"({"weight_map": {"a": "../outside.safetensors"}})");
  expectContains(archiveError(d), {"found '../outside.safetensors'"});
}

TEST_F(SafeTensorsTest, SymlinksEscapingTheFolderAreRefused) {
  std::string d = subdir("links");
  std::string outside = writeSimple("target.safetensors", {"a"});
  ASSERT_EQ(::symlink(outside.c_str(), path("links/s1.safetensors").c_str()),
            0);
  writeRaw("links/model.safetensors.index.json",
           R"({"weight_map": {"a": "s1.safetensors"}})");
  expectContains(archiveError(d),
                 {"s1.safetensors", "resolves outside the model folder",
                  "target.safetensors"});
  // Opt-in, e.g. for the Hugging Face cache layout.
  SafeTensorsArchiveOptions options;
  options.allowSymlinksOutsideModelDir = true;
  auto archive = SafeTensorsArchive::openDirectory(d, options);
  ASSERT_TRUE(!!archive) << archive.error();
  EXPECT_TRUE((*archive)->lookup("a"));

  // A single model.safetensors symlinked out is refused too.
  std::string single = subdir("links2");
  ASSERT_EQ(
      ::symlink(outside.c_str(), path("links2/model.safetensors").c_str()), 0);
  expectContains(archiveError(single),
                 {"model.safetensors", "resolves outside the model folder"});

  // A symlink to a file inside the folder is fine.
  std::string inside = subdir("links3");
  writeSimple("links3/real.safetensors", {"a"});
  ASSERT_EQ(::symlink(path("links3/real.safetensors").c_str(),
                      path("links3/s1.safetensors").c_str()),
            0);
  writeRaw("links3/model.safetensors.index.json",
           R"({"weight_map": {"a": "s1.safetensors"}})");
  auto ok = SafeTensorsArchive::openDirectory(inside);
  ASSERT_TRUE(!!ok) << ok.error();
}

// The Hugging Face hub cache: snapshots/REV/ holds symlinks into the entry's
// blobs/ folder, which are accepted; a link from a snapshot to anywhere else,
// and links into a blobs/ folder from a folder that is not a snapshot, are
// still refused.
// The memory estimate counts the weights read in place from the mapping
// apart from the copies the runtime makes (converted here) and the arena.
TEST_F(SafeTensorsTest, MemoryEstimateCountsMappedAndRepackedWeights) {
  std::string d = subdir("model");
  writeSimple("model/model.safetensors", {"a", "b"});
  auto archive = SafeTensorsArchive::openDirectory(d);
  ASSERT_TRUE(!!archive) << archive.error();
  Expected<Manifest> manifest = Manifest::parse(R"({
    "format": "llmc-manifest", "version": 1,
    "params": [{"name": "a", "dtype": "f32", "shape": [2]},
               {"name": "b", "dtype": "f16", "shape": [2]}],
    "entry_points": [{"name": "forward", "arena_bytes": 640,
      "args": [{"kind": "input", "dtype": "f32", "shape": [2]}],
      "results": []}]})",
                                                "m.json");
  ASSERT_TRUE(!!manifest) << manifest.error();
  uint64_t mapped = 1;
  EXPECT_EQ(Model::estimateBytes(*manifest, archive->get(), &mapped),
            2u * 2u + 640u);
  EXPECT_EQ(mapped, 2u * 4u);
  // Without the checkpoint, every weight is counted as a copy.
  EXPECT_EQ(Model::estimateBytes(*manifest, nullptr, &mapped),
            2u * 4u + 2u * 2u + 640u);
  EXPECT_EQ(mapped, 0u);
}

TEST_F(SafeTensorsTest, HubCacheSnapshotsLinkIntoTheirBlobs) {
  for (const char *folder :
       {"hub", "hub/models--org--tiny", "hub/models--org--tiny/blobs",
        "hub/models--org--tiny/snapshots"})
    subdir(folder);
  std::string snapshot = subdir("hub/models--org--tiny/snapshots/0123abcd");
  std::string blob = writeSimple("hub/models--org--tiny/blobs/5f2e", {"a"});
  ASSERT_EQ(::symlink("../../blobs/5f2e",
                      path("hub/models--org--tiny/snapshots/0123abcd/"
                           "model.safetensors")
                          .c_str()),
            0);
  auto archive = SafeTensorsArchive::openDirectory(snapshot);
  ASSERT_TRUE(!!archive) << archive.error();
  EXPECT_TRUE((*archive)->lookup("a"));

  // A snapshot's link out of the entry is refused, naming both folders.
  std::string other = subdir("hub/models--org--tiny/snapshots/4567");
  std::string outside = writeSimple("elsewhere.safetensors", {"a"});
  ASSERT_EQ(
      ::symlink(outside.c_str(), path("hub/models--org--tiny/snapshots/4567/"
                                      "model.safetensors")
                                     .c_str()),
      0);
  expectContains(archiveError(other),
                 {"resolves outside the model folder", "snapshots/4567'",
                  "or its hub cache blobs", "models--org--tiny/blobs'",
                  "elsewhere.safetensors"});

  // A folder that is not a snapshot gets no blobs folder.
  std::string plain = subdir("hub/models--org--tiny/plain");
  ASSERT_EQ(
      ::symlink(blob.c_str(),
                path("hub/models--org--tiny/plain/model.safetensors").c_str()),
      0);
  std::string msg = archiveError(plain);
  expectContains(msg, {"resolves outside the model folder"});
  EXPECT_EQ(msg.find("blobs '"), std::string::npos) << msg;
}

TEST_F(SafeTensorsTest, MissingShard) {
  std::string d = subdir("missing");
  writeSimple("missing/model-00001.safetensors", {"a"});
  writeRaw("missing/model.safetensors.index.json",
           R"({"weight_map": {"a": "model-00001.safetensors",
                              "b": "model-00002.safetensors"}})");
  expectContains(archiveError(d),
                 {"model.safetensors.index.json", "field 'weight_map'",
                  "shard 'model-00002.safetensors'", "for tensor 'b'",
                  "cannot open", "No such file or directory"});
}

TEST_F(SafeTensorsTest, TensorMissingFromShard) {
  std::string d = subdir("absent");
  writeSimple("absent/s1.safetensors", {"a"});
  writeSimple("absent/s2.safetensors", {"b"});
  writeRaw("absent/model.safetensors.index.json",
           R"({"weight_map": {"a": "s1.safetensors", "b": "s2.safetensors",
                              "c": "s1.safetensors"}})");
  expectContains(archiveError(d),
                 {"model.safetensors.index.json", "field 'weight_map'",
                  "tensor 'c'", "expected in shard 's1.safetensors'",
                  "found in no shard"});
  // Listed in the wrong shard.
  writeRaw("absent/model.safetensors.index.json",
           R"({"weight_map": {"a": "s2.safetensors", "b": "s2.safetensors"}})");
  expectContains(archiveError(d),
                 {"tensor 'a'", "expected in shard 's2.safetensors'",
                  "found in no shard"});
  writeRaw("absent/model.safetensors.index.json",
           R"({"weight_map": {"a": "s1.safetensors", "b": "s1.safetensors",
                              "x": "s2.safetensors"}})");
  expectContains(archiveError(d),
                 {"tensor 'b'", "expected in shard 's1.safetensors'",
                  "found in shard 's2.safetensors'"});
}

TEST_F(SafeTensorsTest, TensorInTwoShards) {
  std::string d = subdir("twice");
  writeSimple("twice/s1.safetensors", {"a", "b"});
  writeSimple("twice/s2.safetensors", {"b", "c"});
  writeRaw("twice/model.safetensors.index.json",
           R"({"weight_map": {"a": "s1.safetensors", "b": "s1.safetensors",
                              "c": "s2.safetensors"}})");
  expectContains(archiveError(d), {"model.safetensors.index.json", "tensor 'b'",
                                   "present in two shards",
                                   "expected it only in 's1.safetensors'",
                                   "found it also in 's2.safetensors'"});
}

TEST_F(SafeTensorsTest, TensorMissingFromWeightMap) {
  std::string d = subdir("unlisted");
  writeSimple("unlisted/s1.safetensors", {"a", "extra"});
  writeRaw("unlisted/model.safetensors.index.json",
           R"({"weight_map": {"a": "s1.safetensors"}})");
  expectContains(archiveError(d),
                 {"model.safetensors.index.json", "field 'weight_map'",
                  "tensor 'extra'", "in shard 's1.safetensors'",
                  "expected an entry in weight_map", "found none"});
}

//===----------------------------------------------------------------------===//
// Conversion
//===----------------------------------------------------------------------===//

/// A TensorInfo over `bytes` (kept alive by the caller).
TensorInfo makeTensor(DType dtype, const std::vector<uint8_t> &bytes) {
  TensorInfo t;
  t.name = "t";
  t.dtype = dtype;
  t.shape = {static_cast<int64_t>(bytes.size() / getDTypeSize(dtype))};
  t.data = bytes.data();
  t.numBytes = bytes.size();
  return t;
}

std::vector<float> convert(DType dtype, const std::vector<uint8_t> &bytes) {
  TensorInfo t = makeTensor(dtype, bytes);
  std::vector<float> out(t.getNumElements());
  Status e = copyAsF32(t, out.data());
  EXPECT_TRUE(e.isOk()) << e.message();
  return out;
}

// The first NaN or infinity, by its exponent bits, in every float dtype;
// the largest finite values and integers whose bits look alike are not.
TEST(FindNonFiniteTest, FindsTheFirstNaNOrInfinity) {
  float inf = std::numeric_limits<float>::infinity();
  float nan = std::numeric_limits<float>::quiet_NaN();
  float big = std::numeric_limits<float>::max();
  std::vector<uint8_t> f32 = bytesOf<float>({1, big, -big, 2, nan, inf});
  EXPECT_EQ(findNonFinite(makeTensor(DType::F32, f32)), 4);
  std::vector<uint8_t> f32Inf = bytesOf<float>({1, -inf});
  EXPECT_EQ(findNonFinite(makeTensor(DType::F32, f32Inf)), 1);
  std::vector<uint8_t> f32Finite = bytesOf<float>({0, -0.0f, big, 1e-45f});
  EXPECT_EQ(findNonFinite(makeTensor(DType::F32, f32Finite)), -1);
  // F16: 0x7bff is the largest finite, 0x7c00 +inf, 0xfe00 a NaN.
  std::vector<uint8_t> f16 = bytesOf<uint16_t>({0x7bff, 0xfbff, 0xfe00});
  EXPECT_EQ(findNonFinite(makeTensor(DType::F16, f16)), 2);
  // BF16: 0x7f7f is the largest finite, 0xff80 -inf.
  std::vector<uint8_t> bf16 = bytesOf<uint16_t>({0x7f7f, 0xff80});
  EXPECT_EQ(findNonFinite(makeTensor(DType::BF16, bf16)), 1);
  std::vector<uint8_t> f64 =
      bytesOf<double>({1.0, std::numeric_limits<double>::quiet_NaN()});
  EXPECT_EQ(findNonFinite(makeTensor(DType::F64, f64)), 1);
  // Integers have no NaN, whatever their bits.
  std::vector<uint8_t> i32 = bytesOf<int32_t>({0x7f800000, -1});
  EXPECT_EQ(findNonFinite(makeTensor(DType::I32, i32)), -1);
}

TEST(CopyAsF32Test, F16IncludingSubnormalsAndSpecials) {
  std::vector<uint8_t> bytes =
      bytesOf<uint16_t>({0x0000, 0x8000, 0x3c00, 0xc000, 0x3555, 0x0001, 0x03ff,
                         0x0400, 0x7bff, 0x7c00, 0xfc00, 0x7e00, 0x8001});
  std::vector<float> f = convert(DType::F16, bytes);
  EXPECT_EQ(f[0], 0.0f);
  EXPECT_FALSE(std::signbit(f[0]));
  EXPECT_EQ(f[1], 0.0f);
  EXPECT_TRUE(std::signbit(f[1]));
  EXPECT_EQ(f[2], 1.0f);
  EXPECT_EQ(f[3], -2.0f);
  EXPECT_EQ(f[4], 0.333251953125f);
  EXPECT_EQ(f[5], std::ldexp(1.0f, -24));    // Smallest subnormal.
  EXPECT_EQ(f[6], std::ldexp(1023.0f, -24)); // Largest subnormal.
  EXPECT_EQ(f[7], std::ldexp(1.0f, -14));    // Smallest normal.
  EXPECT_EQ(f[8], 65504.0f);
  EXPECT_EQ(f[9], std::numeric_limits<float>::infinity());
  EXPECT_EQ(f[10], -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(f[11]));
  EXPECT_EQ(f[12], -std::ldexp(1.0f, -24));
}

TEST(CopyAsF32Test, BF16) {
  std::vector<uint8_t> bytes = bytesOf<uint16_t>(
      {0x3f80, 0xc049, 0x0000, 0x8000, 0x7f80, 0xff80, 0x7fc0, 0x0001, 0x7f7f});
  std::vector<float> f = convert(DType::BF16, bytes);
  EXPECT_EQ(f[0], 1.0f);
  EXPECT_EQ(f[1], -3.140625f);
  EXPECT_EQ(f[2], 0.0f);
  EXPECT_TRUE(std::signbit(f[3]));
  EXPECT_EQ(f[4], std::numeric_limits<float>::infinity());
  EXPECT_EQ(f[5], -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(f[6]));
  EXPECT_EQ(f[7], std::ldexp(1.0f, -133)); // fp32 subnormal.
  EXPECT_EQ(f[8], bitsToFloat(0x7f7f0000u));
}

TEST(CopyAsF32Test, Float8) {
  std::vector<float> e4m3 =
      convert(DType::F8_E4M3, {0x38, 0xb8, 0x7e, 0x7f, 0x01, 0x08, 0x00, 0x80});
  EXPECT_EQ(e4m3[0], 1.0f);
  EXPECT_EQ(e4m3[1], -1.0f);
  EXPECT_EQ(e4m3[2], 448.0f); // Largest finite.
  EXPECT_TRUE(std::isnan(e4m3[3]));
  EXPECT_EQ(e4m3[4], std::ldexp(1.0f, -9)); // Smallest subnormal.
  EXPECT_EQ(e4m3[5], std::ldexp(1.0f, -6)); // Smallest normal.
  EXPECT_EQ(e4m3[6], 0.0f);
  EXPECT_TRUE(std::signbit(e4m3[7]));

  std::vector<float> e5m2 = convert(DType::F8_E5M2, {0x3c, 0x7c, 0x01, 0xc0});
  EXPECT_EQ(e5m2[0], 1.0f);
  EXPECT_EQ(e5m2[1], std::numeric_limits<float>::infinity());
  EXPECT_EQ(e5m2[2], std::ldexp(1.0f, -16));
  EXPECT_EQ(e5m2[3], -2.0f);

  std::vector<float> e8m0 = convert(DType::F8_E8M0, {127, 128, 0, 254, 255});
  EXPECT_EQ(e8m0[0], 1.0f);
  EXPECT_EQ(e8m0[1], 2.0f);
  EXPECT_EQ(e8m0[2], std::ldexp(1.0f, -127));
  EXPECT_EQ(e8m0[3], std::ldexp(1.0f, 127));
  EXPECT_TRUE(std::isnan(e8m0[4]));
}

TEST(CopyAsF32Test, WideFloatsAndIntegers) {
  EXPECT_EQ(convert(DType::F32, bytesOf<float>({1.5f, -0.25f})),
            (std::vector<float>{1.5f, -0.25f}));
  EXPECT_EQ(convert(DType::F64, bytesOf<double>({1e300, -2.5, 1e-50})),
            (std::vector<float>{std::numeric_limits<float>::infinity(), -2.5f,
                                0.0f}));
  EXPECT_EQ(convert(DType::I64, bytesOf<int64_t>({-3, 1ll << 40})),
            (std::vector<float>{-3.0f, 1099511627776.0f}));
  EXPECT_EQ(convert(DType::U64, bytesOf<uint64_t>({~0ull})),
            (std::vector<float>{18446744073709551616.0f}));
  EXPECT_EQ(convert(DType::I32, bytesOf<int32_t>({-7, 7})),
            (std::vector<float>{-7.0f, 7.0f}));
  EXPECT_EQ(convert(DType::U32, bytesOf<uint32_t>({4000000000u})),
            (std::vector<float>{4000000000.0f}));
  EXPECT_EQ(convert(DType::I16, bytesOf<int16_t>({-32768, 5})),
            (std::vector<float>{-32768.0f, 5.0f}));
  EXPECT_EQ(convert(DType::U16, bytesOf<uint16_t>({65535})),
            (std::vector<float>{65535.0f}));
  EXPECT_EQ(convert(DType::I8, {0x80, 0x7f}),
            (std::vector<float>{-128.0f, 127.0f}));
  EXPECT_EQ(convert(DType::U8, {0xff, 0}), (std::vector<float>{255.0f, 0.0f}));
  EXPECT_EQ(convert(DType::BOOL, {0, 1, 2}),
            (std::vector<float>{0.0f, 1.0f, 1.0f}));
}

TEST_F(SafeTensorsTest, CopyAsF32ReadsUnalignedData) {
  // A 1-byte tensor first puts the F32 and F16 data at odd addresses.
  std::vector<uint8_t> pad = {7};
  std::vector<uint8_t> f32 = bytesOf<float>({3.5f, -1.0f});
  std::vector<uint8_t> f16 = bytesOf<uint16_t>({0x3c00, 0x0001});
  std::string p = path("unaligned.safetensors");
  ASSERT_OK(writeSafeTensors(p, {{"pad", DType::U8, {1}, pad},
                                 {"f32", DType::F32, {2}, f32},
                                 {"f16", DType::F16, {2}, f16}}));
  auto file = SafeTensorsFile::open(p);
  ASSERT_TRUE(!!file) << file.error();
  EXPECT_FALSE((*file)->lookup("f32")->isAligned());
  EXPECT_TRUE((*file)->lookup("pad")->isAligned());
  float out[2];
  ASSERT_OK(copyAsF32(*(*file)->lookup("f32"), out));
  EXPECT_EQ(out[0], 3.5f);
  EXPECT_EQ(out[1], -1.0f);
  ASSERT_OK(copyAsF32(*(*file)->lookup("f16"), out));
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(out[1], std::ldexp(1.0f, -24));
}

TEST(CopyAsF32Test, RejectsInconsistentTensors) {
  std::vector<uint8_t> bytes(8);
  TensorInfo c = makeTensor(DType::C64, bytes);
  float out[2];
  Status e = copyAsF32(c, out);
  ASSERT_FALSE(e.isOk());
  expectContains(e.message(),
                 {"tensor 't'", "expected a real dtype", "found C64"});

  TensorInfo t = makeTensor(DType::F32, bytes);
  t.numBytes = 12; // Shape says 2 x 4 bytes.
  e = copyAsF32(t, out);
  ASSERT_FALSE(e.isOk());
  expectContains(e.message(), {"tensor 't'", "numBytes", "expected 8 (F32 [2])",
                               "found 12"});

  t = makeTensor(DType::F32, bytes);
  t.shape = {-1, -8};
  e = copyAsF32(t, out);
  ASSERT_FALSE(e.isOk());
  expectContains(e.message(), {"tensor 't'", "[-1, -8]"});
}

//===----------------------------------------------------------------------===//
// Writer errors
//===----------------------------------------------------------------------===//

TEST_F(SafeTensorsTest, WriterRejectsBadInput) {
  std::vector<uint8_t> four(4);
  auto writeError =
      [&](const std::vector<TensorToWrite> &tensors,
          const std::vector<std::pair<std::string, std::string>> &meta = {}) {
        Status e = writeSafeTensors(path("w.safetensors"), tensors, meta);
        if (e.isOk()) {
          ADD_FAILURE() << "expected an error";
          return std::string();
        }
        return e.message();
      };
  expectContains(
      writeError({{"a", DType::F32, {2}, four}}),
      {"w.safetensors", "tensor 'a'", "expected 8 bytes (F32 [2])", "found 4"});
  expectContains(
      writeError({{"a", DType::F32, {1}, four}, {"a", DType::F32, {1}, four}}),
      {"tensor 'a'", "duplicate tensor name"});
  expectContains(writeError({{"__metadata__", DType::F32, {1}, four}}),
                 {"reserved key '__metadata__'"});
  expectContains(writeError({{"a", DType::F32, {-1}, four}}),
                 {"tensor 'a'", "shape [-1]"});
  expectContains(writeError({{"bad\xff", DType::F32, {1}, four}}),
                 {"expected UTF-8"});
  expectContains(
      writeError({{"a", DType::F32, {1}, four}}, {{"k", "v"}, {"k", "w"}}),
      {"metadata key 'k'", "duplicate"});
  EXPECT_FALSE(exists(path("w.safetensors")));
}

} // namespace
