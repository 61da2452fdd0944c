//===- SafeTensors.cpp - Validating safetensors reader and writer ---------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// Model files are untrusted. Everything read from them is bounds- and
// overflow-checked before use, and every failure is returned as a Status
// naming the file, the tensor and the field with the expected and found
// value. The messages are those of the LLVM-based reader this one replaces
// (lib/Import/SafeTensors.cpp until it moved here): tests and users match
// them byte for byte.
//
//===----------------------------------------------------------------------===//

#include "SafeTensors.h"
#include "Json.h"
#include "MappedFile.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <set>
#include <system_error>
#include <tuple>

using namespace llmrt;

namespace {

/// Same limit as the reference implementation (safetensors' MAX_HEADER_SIZE).
constexpr uint64_t kMaxHeaderSize = 100'000'000;
/// Limit on the size of model.safetensors.index.json.
constexpr uint64_t kMaxIndexSize = 100'000'000;
/// Valid headers nest 3 deep.
constexpr unsigned kMaxJsonDepth = 64;
/// Longest name or string quoted verbatim in a diagnostic.
constexpr size_t kMaxQuoted = 200;

constexpr std::string_view kMetadataKey = "__metadata__";
constexpr std::string_view kSingleFileName = "model.safetensors";
constexpr std::string_view kIndexFileName = "model.safetensors.index.json";

struct DTypeDesc {
  DType dtype;
  std::string_view name;
  size_t size;
};

/// In the order of the reference implementation's Dtype enum (by size).
constexpr DTypeDesc kDTypes[] = {
    {DType::BOOL, "BOOL", 1},       {DType::U8, "U8", 1},
    {DType::I8, "I8", 1},           {DType::F8_E5M2, "F8_E5M2", 1},
    {DType::F8_E4M3, "F8_E4M3", 1}, {DType::F8_E8M0, "F8_E8M0", 1},
    {DType::I16, "I16", 2},         {DType::U16, "U16", 2},
    {DType::F16, "F16", 2},         {DType::BF16, "BF16", 2},
    {DType::I32, "I32", 4},         {DType::U32, "U32", 4},
    {DType::F32, "F32", 4},         {DType::C64, "C64", 8},
    {DType::F64, "F64", 8},         {DType::I64, "I64", 8},
    {DType::U64, "U64", 8},
};

/// Valid safetensors dtypes this reader does not support (sub-byte).
constexpr std::string_view kSubByteDTypes[] = {"F4", "F6_E2M3", "F6_E3M2"};

const DTypeDesc &getDesc(DType dtype) {
  for (const DTypeDesc &d : kDTypes)
    if (d.dtype == dtype)
      return d;
  // Unreachable for a valid enumerator; an out-of-range cast gets F32's.
  return kDTypes[12];
}

Status formatError(std::string message) {
  return Status::error(ErrorCode::Format, std::move(message));
}
Status ioError(std::string message) {
  return Status::error(ErrorCode::Io, std::move(message));
}

/// The message of `err` (an errno value), as strerror words it.
std::string errnoMessage(int err) {
  return std::generic_category().message(err);
}

/// std::string + std::string_view is C++26.
std::string str(std::string_view s) { return std::string(s); }

bool isPrint(unsigned char c) { return c >= 0x20 && c <= 0x7e; }

/// 'name', with backslashes and non-printable bytes escaped ("\0A", as
/// llvm::printEscapedString) and long names truncated, so a hostile name
/// cannot forge or flood a diagnostic.
std::string quote(std::string_view s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out = "'";
  for (unsigned char c : s.substr(0, kMaxQuoted)) {
    if (c == '\\') {
      out += "\\\\";
    } else if (isPrint(c) && c != '"') {
      out += static_cast<char>(c);
    } else {
      out += '\\';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  if (s.size() > kMaxQuoted)
    out += "...(" + std::to_string(s.size()) + " bytes)";
  return out + "'";
}

std::string formatShape(const std::vector<int64_t> &shape) {
  constexpr size_t kMaxShown = 16;
  std::string out = "[";
  for (size_t i = 0, e = std::min(shape.size(), kMaxShown); i != e; ++i) {
    if (i)
      out += ", ";
    out += std::to_string(shape[i]);
  }
  if (shape.size() > kMaxShown)
    out += ", ... (" + std::to_string(shape.size()) + " dimensions)";
  return out + "]";
}

std::string formatRange(uint64_t begin, uint64_t end) {
  return "[" + std::to_string(begin) + ", " + std::to_string(end) + "]";
}

/// A number as llvm::json prints it: integers exactly, doubles with "%.17g".
std::string formatNumber(const json::Value &v) {
  if (std::optional<int64_t> i = v.getAsInt64())
    return std::to_string(*i);
  if (std::optional<uint64_t> u = v.getAsUInt64())
    return std::to_string(*u);
  char buffer[64];
  std::to_chars_result r =
      std::to_chars(buffer, buffer + sizeof(buffer), *v.getAsDouble(),
                    std::chars_format::general, 17);
  return std::string(buffer, r.ptr - buffer);
}

/// What a JSON value is, for "found ..." in diagnostics.
std::string describe(const json::Value &v) {
  switch (v.kind()) {
  case json::Value::Kind::Null:
    return "null";
  case json::Value::Kind::Boolean:
    return *v.getAsBoolean() ? "true" : "false";
  case json::Value::Kind::Number: {
    std::string out = formatNumber(v);
    // Negative numbers are rejected whatever their form; otherwise say when
    // the text had a fraction or exponent ("1.0" prints as "1").
    if (!v.getAsUInt64() && *v.getAsDouble() >= 0)
      out += " (a floating-point number)";
    return out;
  }
  case json::Value::Kind::String:
    return "string " + quote(*v.getAsString());
  case json::Value::Kind::Array:
    return "an array of " + std::to_string(v.getAsArray()->size()) +
           " elements";
  case json::Value::Kind::Object:
    return "an object";
  }
  return "an unknown JSON value";
}

std::string describeByte(unsigned char c) {
  static const char kHex[] = "0123456789abcdef";
  std::string out = "byte 0x";
  out += kHex[c >> 4];
  out += kHex[c & 0xf];
  if (isPrint(c)) {
    out += " '";
    out += static_cast<char>(c);
    out += "'";
  }
  return out;
}

uint16_t read16le(const uint8_t *p) {
  return static_cast<uint16_t>(p[0] | p[1] << 8);
}
uint32_t read32le(const uint8_t *p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}
uint64_t read64le(const uint8_t *p) {
  return static_cast<uint64_t>(read32le(p)) |
         static_cast<uint64_t>(read32le(p + 4)) << 32;
}

template <typename To, typename From> To bitCast(From from) {
  static_assert(sizeof(To) == sizeof(From), "sizes differ");
  To to;
  std::memcpy(&to, &from, sizeof(To));
  return to;
}

/// a * b into `result`; true on overflow (then `result` is unspecified).
bool mulOverflows(int64_t a, int64_t b, int64_t &result) {
  return __builtin_mul_overflow(a, b, &result);
}

/// a * b into `result`, saturated at UINT64_MAX; true on overflow.
bool mulOverflowsUnsigned(uint64_t a, uint64_t b, uint64_t &result) {
  if (__builtin_mul_overflow(a, b, &result)) {
    result = std::numeric_limits<uint64_t>::max();
    return true;
  }
  return false;
}

/// Whether any dimension is negative or the product overflows int64_t;
/// otherwise the product is in `n`.
bool badShape(const std::vector<int64_t> &shape, int64_t &n) {
  n = 1;
  for (int64_t d : shape)
    if (d < 0 || mulOverflows(n, d, n))
      return true;
  return false;
}

//===----------------------------------------------------------------------===//
// JSON
//===----------------------------------------------------------------------===//

/// Parses untrusted JSON that must be an object: depth-limited, and rejecting
/// duplicate keys (two readers must not disagree on a tensor), after every
/// other error. `describeDuplicate` turns a duplicate into a diagnostic.
Expected<json::Value>
parseUntrustedJson(std::string_view text, const std::string &what,
                   const std::function<std::string(const json::DuplicateKey &)>
                       &describeDuplicate) {
  if (Status s = json::checkNesting(text, what, kMaxJsonDepth); !s.isOk())
    return s;
  json::ParseOptions options;
  options.maxDepth = kMaxJsonDepth;
  std::optional<json::DuplicateKey> duplicate;
  Expected<json::Value> parsed = json::parse(text, options, duplicate);
  if (!parsed)
    return formatError(what + ": not valid JSON: " + parsed.error());
  if (!parsed->getAsObject())
    return formatError(what + ": expected a JSON object, found " +
                       describe(*parsed));
  if (duplicate)
    return formatError(what + ": " + describeDuplicate(*duplicate));
  return parsed;
}

std::string joinPath(const std::vector<std::string> &path, size_t from = 0) {
  std::string out;
  for (size_t i = from; i < path.size(); ++i)
    out += "/" + path[i];
  return out;
}

//===----------------------------------------------------------------------===//
// Files
//===----------------------------------------------------------------------===//

/// `dir` + "/" + `name`, without doubling a separator.
std::string appendPath(const std::string &dir, std::string_view name) {
  std::string out = dir;
  if (!out.empty() && out.back() != '/')
    out += '/';
  return out += name;
}

bool exists(const std::string &path) {
  return ::access(path.c_str(), F_OK) == 0;
}

bool isDirectory(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

/// The path with every symlink, "." and ".." resolved, or an errno value.
/// An empty path resolves to itself, as with llvm::sys::fs::real_path.
Expected<std::string> realPath(const std::string &path) {
  if (path.empty())
    return std::string();
  char *resolved = ::realpath(path.c_str(), nullptr);
  if (!resolved)
    return ioError(errnoMessage(errno));
  std::string out = resolved;
  std::free(resolved);
  return std::move(out);
}

} // namespace

namespace {

/// Whether `path` is `dir` or lies under it (both resolved).
bool isUnder(const std::string &path, const std::string &dir) {
  return path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
         (dir.back() == '/' || path[dir.size()] == '/');
}

/// The blobs folder of the Hugging Face hub cache entry whose snapshot is
/// `realDir` (resolved), or "" when it is not one: the hub keeps each
/// revision as models--ORG--NAME/snapshots/REV/ of symlinks into
/// models--ORG--NAME/blobs/.
std::string getHubBlobsDir(const std::string &realDir) {
  size_t rev = realDir.find_last_of('/');
  if (rev == std::string::npos || rev == 0)
    return "";
  size_t snapshots = realDir.find_last_of('/', rev - 1);
  if (snapshots == std::string::npos ||
      realDir.compare(snapshots, rev - snapshots, "/snapshots") != 0)
    return "";
  std::string blobs = realDir.substr(0, snapshots) + "/blobs";
  return isDirectory(blobs) ? blobs : "";
}

/// Resolves `candidate` (symlinks included) and checks that it stays inside
/// the model folder `realDir` (itself already resolved), or, in a hub cache
/// snapshot, inside the cache entry's blobs folder.
Expected<std::string> resolveInside(const std::string &realDir,
                                    const std::string &candidate,
                                    const std::string &displayName,
                                    const SafeTensorsArchiveOptions &options) {
  Expected<std::string> real = realPath(candidate);
  if (!real)
    return ioError(displayName + ": cannot open: " + real.error());
  if (options.allowSymlinksOutsideModelDir || isUnder(*real, realDir))
    return real;
  std::string blobs = getHubBlobsDir(realDir);
  if (!blobs.empty() && isUnder(*real, blobs))
    return real;
  return ioError(
      displayName +
      ": resolves outside the model folder: expected a path "
      "under " +
      quote(realDir) +
      (blobs.empty() ? "" : " or its hub cache blobs " + quote(blobs)) +
      ", found " + quote(*real));
}

} // namespace

//===----------------------------------------------------------------------===//
// DType
//===----------------------------------------------------------------------===//

size_t llmrt::getDTypeSize(DType dtype) { return getDesc(dtype).size; }

std::string_view llmrt::getDTypeName(DType dtype) {
  return getDesc(dtype).name;
}

std::optional<DType> llmrt::parseDType(std::string_view name) {
  for (const DTypeDesc &d : kDTypes)
    if (d.name == name)
      return d.dtype;
  return std::nullopt;
}

std::string llmrt::getSupportedDTypeNames() {
  std::string out;
  for (const DTypeDesc &d : kDTypes) {
    if (!out.empty())
      out += ", ";
    out += d.name;
  }
  return out;
}

int64_t TensorInfo::getNumElements() const {
  int64_t n;
  if (badShape(shape, n))
    return -1; // Only for a TensorInfo that did not come from the reader.
  return n;
}

bool TensorInfo::isAligned() const {
  size_t alignment = dtype == DType::C64 ? 4 : getDTypeSize(dtype);
  return reinterpret_cast<uintptr_t>(data) % alignment == 0;
}

//===----------------------------------------------------------------------===//
// SafeTensorsFile
//===----------------------------------------------------------------------===//

SafeTensorsFile::SafeTensorsFile() = default;
SafeTensorsFile::~SafeTensorsFile() = default;

Expected<std::unique_ptr<SafeTensorsFile>>
SafeTensorsFile::open(std::string_view path) {
  std::string p(path);
  Expected<std::unique_ptr<MappedFile>> bytes = MappedFile::map(p, p);
  if (!bytes)
    return bytes.takeStatus();
  return fromBytes(std::move(*bytes), std::move(p));
}

Expected<std::unique_ptr<SafeTensorsFile>>
SafeTensorsFile::openBuffer(std::string_view bytes, std::string name) {
  std::unique_ptr<MappedFile> copy = MappedFile::copy(bytes);
  if (!copy)
    return Status::error(ErrorCode::OutOfMemory,
                         name + ": cannot copy " +
                             std::to_string(bytes.size()) +
                             " bytes: out of memory");
  return fromBytes(std::move(copy), std::move(name));
}

Expected<std::unique_ptr<SafeTensorsFile>>
SafeTensorsFile::fromBytes(std::unique_ptr<MappedFile> bytes,
                           std::string name) {
  std::unique_ptr<SafeTensorsFile> file(new (std::nothrow) SafeTensorsFile());
  if (!file)
    return Status::error(ErrorCode::OutOfMemory, name + ": out of memory");
  file->filePath = std::move(name);
  file->bytes = std::move(bytes);
  if (Status s = file->parse(); !s.isOk())
    return s;
  return std::move(file);
}

const TensorInfo *SafeTensorsFile::lookup(std::string_view name) const {
  auto it = index.find(name);
  return it == index.end() ? nullptr : &tensorList[it->second];
}

namespace {
/// A tensor entry after field validation, before the layout checks.
struct PendingTensor {
  TensorInfo info;
  uint64_t begin;
  uint64_t end;
};

/// Reads a non-negative JSON integer (one written without fraction or
/// exponent) that fits in uint64_t. Floating-point numbers are refused, as by
/// the reference implementation; json::Value never converts a double to an
/// integer (a double like 2^63 would be undefined behavior as int64_t: found
/// by fuzzing, "shape":[9223372036854775807.2]).
std::optional<uint64_t> getUnsigned(const json::Value &v) {
  return v.getAsUInt64();
}

Status parseMetadata(const std::string &file, const json::Value &v,
                     std::map<std::string, std::string> &out) {
  const json::Object *obj = v.getAsObject();
  if (!obj)
    return formatError(file +
                       ": field '__metadata__': expected an object of "
                       "strings, found " +
                       describe(v));
  // Sorted, so the first error reported is that of the first key by name.
  std::vector<const json::Member *> members;
  for (const json::Member &m : *obj)
    members.push_back(&m);
  std::sort(members.begin(), members.end(),
            [](const json::Member *a, const json::Member *b) {
              return a->key < b->key;
            });
  for (const json::Member *m : members) {
    std::optional<std::string_view> s = m->value.getAsString();
    if (!s)
      return formatError(file + ": field '__metadata__': key " + quote(m->key) +
                         ": expected a string value, found " +
                         describe(m->value));
    out.emplace(m->key, std::string(*s));
  }
  return Status::ok();
}

Expected<PendingTensor> parseTensorEntry(const std::string &file,
                                         const std::string &name,
                                         const json::Value &v) {
  std::string where = file + ": tensor " + quote(name);
  const json::Object *entry = v.getAsObject();
  if (!entry)
    return formatError(where +
                       ": expected an object with 'dtype', 'shape' and "
                       "'data_offsets', found " +
                       describe(v));

  PendingTensor t;
  t.info.name = name;
  t.info.file = file;

  // dtype.
  const json::Value *dtypeValue = entry->get("dtype");
  if (!dtypeValue)
    return formatError(where +
                       ": field 'dtype': expected a dtype string (one of " +
                       getSupportedDTypeNames() + "), found nothing");
  std::optional<std::string_view> dtypeName = dtypeValue->getAsString();
  if (!dtypeName)
    return formatError(where +
                       ": field 'dtype': expected a dtype string, found " +
                       describe(*dtypeValue));
  std::optional<DType> dtype = parseDType(*dtypeName);
  if (!dtype) {
    bool subByte =
        std::find(std::begin(kSubByteDTypes), std::end(kSubByteDTypes),
                  *dtypeName) != std::end(kSubByteDTypes);
    return formatError(
        where + ": field 'dtype': " +
        (subByte ? "unsupported sub-byte dtype " : "unknown dtype ") +
        quote(*dtypeName) + ", expected one of " + getSupportedDTypeNames());
  }
  t.info.dtype = *dtype;

  // shape.
  const json::Value *shapeValue = entry->get("shape");
  if (!shapeValue)
    return formatError(where + ": field 'shape': expected an array of "
                               "non-negative integers, found nothing");
  const json::Array *shape = shapeValue->getAsArray();
  if (!shape)
    return formatError(where +
                       ": field 'shape': expected an array of non-negative "
                       "integers, found " +
                       describe(*shapeValue));
  constexpr int64_t kMaxInt64 = std::numeric_limits<int64_t>::max();
  t.info.shape.reserve(shape->size());
  for (size_t i = 0, e = shape->size(); i != e; ++i) {
    const json::Value &dim = (*shape)[i];
    std::optional<uint64_t> d = getUnsigned(dim);
    if (!d || *d > static_cast<uint64_t>(kMaxInt64))
      return formatError(
          where + ": field 'shape': dimension " + std::to_string(i) +
          ": expected a non-negative integer at most " +
          std::to_string(kMaxInt64) + ", found " + describe(dim));
    t.info.shape.push_back(static_cast<int64_t>(*d));
  }
  int64_t numElements = 1;
  for (int64_t d : t.info.shape)
    if (mulOverflows(numElements, d, numElements))
      return formatError(where + ": field 'shape': element count of " +
                         formatShape(t.info.shape) +
                         " overflows: expected at most " +
                         std::to_string(kMaxInt64) + " elements, found more");
  uint64_t numBytes;
  size_t dtypeSize = getDTypeSize(*dtype);
  if (mulOverflowsUnsigned(numElements, dtypeSize, numBytes))
    return formatError(
        where + ": field 'shape': byte size of " + str(getDTypeName(*dtype)) +
        " " + formatShape(t.info.shape) + " overflows: expected at most " +
        std::to_string(std::numeric_limits<uint64_t>::max()) +
        " bytes, found more");

  // data_offsets.
  const json::Value *offsetsValue = entry->get("data_offsets");
  if (!offsetsValue)
    return formatError(where + ": field 'data_offsets': expected [begin, end], "
                               "found nothing");
  const json::Array *offsets = offsetsValue->getAsArray();
  if (!offsets || offsets->size() != 2)
    return formatError(where +
                       ": field 'data_offsets': expected [begin, end], "
                       "found " +
                       describe(*offsetsValue));
  std::optional<uint64_t> begin = getUnsigned((*offsets)[0]);
  if (!begin)
    return formatError(where +
                       ": field 'data_offsets': begin: expected a "
                       "non-negative integer, found " +
                       describe((*offsets)[0]));
  std::optional<uint64_t> end = getUnsigned((*offsets)[1]);
  if (!end)
    return formatError(where +
                       ": field 'data_offsets': end: expected a "
                       "non-negative integer, found " +
                       describe((*offsets)[1]));
  if (*begin > *end)
    return formatError(where +
                       ": field 'data_offsets': expected begin <= end, "
                       "found " +
                       formatRange(*begin, *end));
  if (*end - *begin != numBytes)
    return formatError(where + ": data_offsets " + formatRange(*begin, *end) +
                       " cover " + std::to_string(*end - *begin) +
                       " bytes, expected " + std::to_string(numBytes) + " (" +
                       str(getDTypeName(*dtype)) + " " +
                       formatShape(t.info.shape) + ")");
  t.begin = *begin;
  t.end = *end;
  t.info.numBytes = numBytes;
  return std::move(t);
}
} // namespace

Status SafeTensorsFile::parse() {
  std::string_view data = bytes->view();
  const std::string &file = filePath;
  uint64_t fileSize = data.size();

  if (fileSize < 8)
    return formatError(file +
                       ": file is too short: expected at least 8 bytes "
                       "(the header length), found " +
                       std::to_string(fileSize));
  uint64_t n = read64le(bytes->begin());
  if (n > kMaxHeaderSize)
    return formatError(
        file + ": header length is too large: expected at most " +
        std::to_string(kMaxHeaderSize) + ", found " + std::to_string(n));
  if (n > fileSize - 8)
    return formatError(file +
                       ": header length runs past the end of the file: "
                       "expected at most " +
                       std::to_string(fileSize - 8) + " (file size " +
                       std::to_string(fileSize) + " - 8), found " +
                       std::to_string(n));
  std::string_view header = data.substr(8, n);
  if (header.empty() || header.front() != '{')
    return formatError(file + ": header does not start with '{': found " +
                       (header.empty() ? std::string("an empty header")
                                       : describeByte(header.front())));

  Expected<json::Value> parsed = parseUntrustedJson(
      header, file + ": header",
      [](const json::DuplicateKey &dup) -> std::string {
        std::string offsets = " (at header bytes " +
                              std::to_string(dup.firstOffset) + " and " +
                              std::to_string(dup.secondOffset) + ")";
        if (dup.path.empty())
          return dup.key == kMetadataKey
                     ? "duplicate '__metadata__' entry" + offsets
                     : "tensor " + quote(dup.key) + ": duplicate tensor name" +
                           offsets;
        std::string owner = dup.path.front() == kMetadataKey
                                ? "field '__metadata__'"
                                : "tensor " + quote(dup.path.front());
        std::string rest = joinPath(dup.path, 1);
        return owner + ": duplicate key " + quote(dup.key) +
               (rest.empty() ? "" : " in " + quote(rest)) + offsets;
      });
  if (!parsed)
    return parsed.takeStatus();
  const json::Object &root = *parsed->getAsObject();

  headerSize = n;
  dataSize = fileSize - 8 - n;
  const uint8_t *dataBase = bytes->begin() + 8 + n;

  // Top-level keys in the order of the header.
  std::vector<PendingTensor> pending;
  pending.reserve(root.size());
  for (const json::Member &m : root) {
    if (m.key == kMetadataKey) {
      if (Status s = parseMetadata(file, m.value, metadataMap); !s.isOk())
        return s;
      continue;
    }
    Expected<PendingTensor> t = parseTensorEntry(file, m.key, m.value);
    if (!t)
      return t.takeStatus();
    if (t->end > dataSize)
      return formatError(file + ": tensor " + quote(m.key) + ": data_offsets " +
                         formatRange(t->begin, t->end) +
                         " run past the end of the file: expected end <= " +
                         std::to_string(dataSize) +
                         " (size of the data section), found " +
                         std::to_string(t->end));
    pending.push_back(std::move(*t));
  }

  // The tensors must tile the data section exactly: sorted by offset, each
  // starts where the previous one ended, and the last ends at end of file.
  std::sort(pending.begin(), pending.end(),
            [](const PendingTensor &a, const PendingTensor &b) {
              return std::tie(a.begin, a.end, a.info.name) <
                     std::tie(b.begin, b.end, b.info.name);
            });
  uint64_t cursor = 0;
  const PendingTensor *prev = nullptr;
  for (const PendingTensor &t : pending) {
    std::string where = file + ": tensor " + quote(t.info.name) +
                        ": data_offsets " + formatRange(t.begin, t.end);
    std::string after = prev ? "tensor " + quote(prev->info.name) + " " +
                                   formatRange(prev->begin, prev->end)
                             : std::string("the start of the data section");
    if (t.begin < cursor)
      return formatError(where + " overlap " + after + ": expected begin " +
                         std::to_string(cursor) + ", found " +
                         std::to_string(t.begin));
    if (t.begin > cursor)
      return formatError(where + " leave a gap of " +
                         std::to_string(t.begin - cursor) + " bytes after " +
                         after + ": expected begin " + std::to_string(cursor) +
                         ", found " + std::to_string(t.begin));
    cursor = t.end;
    prev = &t;
  }
  if (cursor != dataSize)
    return formatError(
        file + ": data section has " + std::to_string(dataSize - cursor) +
        " trailing bytes after " +
        (prev ? "the last tensor " + quote(prev->info.name) + " " +
                    formatRange(prev->begin, prev->end)
              : std::string("the header (no tensors)")) +
        ": expected " + std::to_string(cursor) +
        " bytes of tensor data, found " + std::to_string(dataSize));

  tensorList.reserve(pending.size());
  for (PendingTensor &t : pending) {
    t.info.data = dataBase + t.begin;
    index.emplace(t.info.name, tensorList.size());
    tensorList.push_back(std::move(t.info));
  }
  return Status::ok();
}

//===----------------------------------------------------------------------===//
// SafeTensorsArchive
//===----------------------------------------------------------------------===//

namespace {
/// Shard names must be plain file names in the model folder itself.
bool isPlainFileName(std::string_view name) {
  return !name.empty() && name != "." &&
         name.find("..") == std::string_view::npos &&
         name.find_first_of(std::string_view("/\\\0:", 4)) ==
             std::string_view::npos;
}

/// The last component of `path`.
std::string_view fileName(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}
} // namespace

Expected<std::unique_ptr<SafeTensorsArchive>>
SafeTensorsArchive::openFile(std::string_view path, std::string directory) {
  std::unique_ptr<SafeTensorsArchive> archive(new SafeTensorsArchive());
  archive->dir = std::move(directory);
  Expected<std::unique_ptr<SafeTensorsFile>> file = SafeTensorsFile::open(path);
  if (!file)
    return file.takeStatus();
  archive->addFile(std::move(*file));
  return std::move(archive);
}

void SafeTensorsArchive::addFile(std::unique_ptr<SafeTensorsFile> file) {
  for (const TensorInfo &t : file->tensors())
    index.emplace(t.name, &t);
  fileList.push_back(std::move(file));
}

Expected<std::unique_ptr<SafeTensorsArchive>>
SafeTensorsArchive::openDirectory(std::string_view modelDirView,
                                  const SafeTensorsArchiveOptions &options) {
  std::string modelDir(modelDirView);
  Expected<std::string> realDir = realPath(modelDir);
  if (!realDir)
    return ioError(modelDir +
                   ": cannot open the model folder: " + realDir.error());
  if (!isDirectory(*realDir))
    return ioError(modelDir + ": expected a model folder, found a file");

  std::unique_ptr<SafeTensorsArchive> archive(new SafeTensorsArchive());
  archive->dir = modelDir;

  std::string singlePath = appendPath(modelDir, kSingleFileName);
  std::string indexPath = appendPath(modelDir, kIndexFileName);

  // Like transformers: a single file wins over an index.
  if (exists(singlePath)) {
    Expected<std::string> real =
        resolveInside(*realDir, singlePath, singlePath, options);
    if (!real)
      return real.takeStatus();
    Expected<std::unique_ptr<MappedFile>> bytes =
        MappedFile::map(*real, singlePath);
    if (!bytes)
      return bytes.takeStatus();
    Expected<std::unique_ptr<SafeTensorsFile>> file =
        SafeTensorsFile::fromBytes(std::move(*bytes), singlePath);
    if (!file)
      return file.takeStatus();
    archive->addFile(std::move(*file));
    return std::move(archive);
  }
  if (!exists(indexPath))
    return ioError(modelDir + ": expected " + str(kSingleFileName) + " or " +
                   str(kIndexFileName) + " in the model folder, found neither");

  // The index.
  const std::string &indexName = indexPath;
  Expected<std::string> realIndex =
      resolveInside(*realDir, indexPath, indexName, options);
  if (!realIndex)
    return realIndex.takeStatus();
  Expected<std::unique_ptr<MappedFile>> indexBytes =
      MappedFile::map(*realIndex, indexName, kMaxIndexSize);
  if (!indexBytes)
    return indexBytes.takeStatus();
  Expected<json::Value> parsed = parseUntrustedJson(
      (*indexBytes)->view(), indexName,
      [](const json::DuplicateKey &dup) -> std::string {
        std::string where = dup.path.empty() ? std::string("the top level")
                                             : quote(joinPath(dup.path));
        if (dup.path.size() == 1 && dup.path.front() == "weight_map")
          return "field 'weight_map': tensor " + quote(dup.key) +
                 " is listed twice (at bytes " +
                 std::to_string(dup.firstOffset) + " and " +
                 std::to_string(dup.secondOffset) + ")";
        return "duplicate key " + quote(dup.key) + " in " + where;
      });
  if (!parsed)
    return parsed.takeStatus();
  const json::Value *weightMapValue = parsed->getAsObject()->get("weight_map");
  if (!weightMapValue)
    return formatError(indexName + ": field 'weight_map': expected an object "
                                   "mapping tensor names to shard files, found "
                                   "nothing");
  const json::Object *weightMap = weightMapValue->getAsObject();
  if (!weightMap)
    return formatError(indexName +
                       ": field 'weight_map': expected an object "
                       "mapping tensor names to shard files, found " +
                       describe(*weightMapValue));
  if (weightMap->empty())
    return formatError(indexName + ": field 'weight_map': expected at least "
                                   "one tensor, found an empty object");

  // tensor -> shard, validated in name order; shard -> its tensors.
  std::vector<const json::Member *> members;
  for (const json::Member &m : *weightMap)
    members.push_back(&m);
  std::sort(members.begin(), members.end(),
            [](const json::Member *a, const json::Member *b) {
              return a->key < b->key;
            });
  std::vector<std::pair<std::string_view, std::string_view>> entries;
  for (const json::Member *m : members) {
    std::optional<std::string_view> shard = m->value.getAsString();
    if (!shard)
      return formatError(
          indexName + ": field 'weight_map': tensor " + quote(m->key) +
          ": expected a shard file name, found " + describe(m->value));
    entries.emplace_back(m->key, *shard);
  }
  std::map<std::string, std::vector<std::string_view>> shardTensors;
  for (const auto &[tensor, shard] : entries) {
    if (!isPlainFileName(shard))
      return formatError(
          indexName + ": field 'weight_map': tensor " + quote(tensor) +
          ": expected a plain file name inside the model folder (no "
          "'/', '\\', '..', ':' or NUL), found " +
          quote(shard));
    shardTensors[std::string(shard)].push_back(tensor);
  }

  // Open every shard (in file-name order).
  std::map<std::string, std::string, std::less<>> shardOf; // tensor -> shard
  for (const auto &[shard, tensors] : shardTensors) {
    std::string shardPath = appendPath(modelDir, shard);
    std::string context =
        indexName + ": field 'weight_map': shard " + quote(shard) +
        " (for tensor " + quote(tensors.front()) +
        (tensors.size() > 1
             ? " and " + std::to_string(tensors.size() - 1) + " others"
             : std::string()) +
        ")";
    Expected<std::string> real =
        resolveInside(*realDir, shardPath, shardPath, options);
    if (!real)
      return Status::error(real.status().code(), context + ": " + real.error());
    Expected<std::unique_ptr<MappedFile>> bytes =
        MappedFile::map(*real, shardPath);
    if (!bytes)
      return Status::error(bytes.status().code(),
                           context + ": " + bytes.error());
    Expected<std::unique_ptr<SafeTensorsFile>> file =
        SafeTensorsFile::fromBytes(std::move(*bytes), shardPath);
    if (!file)
      return file.takeStatus();
    for (const TensorInfo &t : (*file)->tensors()) {
      auto [it, inserted] = shardOf.try_emplace(t.name, shard);
      if (!inserted)
        return formatError(indexName + ": tensor " + quote(t.name) +
                           " is present in two shards: expected it only in " +
                           quote(it->second) + ", found it also in " +
                           quote(shard));
      archive->index.emplace(t.name, &t);
    }
    archive->fileList.push_back(std::move(*file));
  }

  // Cross-check the map against the shards, both ways.
  for (const auto &[tensor, shard] : entries) {
    auto it = shardOf.find(tensor);
    if (it == shardOf.end())
      return formatError(indexName + ": field 'weight_map': tensor " +
                         quote(tensor) + ": expected in shard " + quote(shard) +
                         ", found in no shard");
    if (it->second != shard)
      return formatError(indexName + ": field 'weight_map': tensor " +
                         quote(tensor) + ": expected in shard " + quote(shard) +
                         ", found in shard " + quote(it->second));
  }
  for (const std::unique_ptr<SafeTensorsFile> &file : archive->fileList)
    for (const TensorInfo &t : file->tensors())
      if (!weightMap->get(t.name))
        return formatError(indexName + ": field 'weight_map': tensor " +
                           quote(t.name) + " in shard " +
                           quote(fileName(file->path())) +
                           ": expected an entry in weight_map, found none");
  return std::move(archive);
}

const TensorInfo *SafeTensorsArchive::lookup(std::string_view name) const {
  auto it = index.find(name);
  return it == index.end() ? nullptr : it->second;
}

std::vector<const TensorInfo *> SafeTensorsArchive::tensors() const {
  std::vector<const TensorInfo *> out;
  out.reserve(index.size());
  for (const std::unique_ptr<SafeTensorsFile> &file : fileList)
    for (const TensorInfo &t : file->tensors())
      out.push_back(&t);
  for (const TensorInfo &t : foreign)
    out.push_back(&t);
  return out;
}

std::unique_ptr<SafeTensorsArchive>
SafeTensorsArchive::fromTensors(std::string directory,
                                std::vector<TensorInfo> tensors,
                                std::shared_ptr<const void> owner) {
  std::unique_ptr<SafeTensorsArchive> archive(new SafeTensorsArchive());
  archive->dir = std::move(directory);
  archive->foreign = std::move(tensors);
  archive->foreignOwner = std::move(owner);
  for (const TensorInfo &t : archive->foreign)
    archive->index.emplace(t.name, &t);
  return archive;
}

//===----------------------------------------------------------------------===//
// Conversion
//===----------------------------------------------------------------------===//

namespace {
float halfToFloat(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1fu;
  uint32_t mantissa = h & 0x3ffu;
  if (exponent == 0) { // Zero or subnormal: mantissa * 2^-24, exact in fp32.
    float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return sign ? -magnitude : magnitude;
  }
  uint32_t bits =
      exponent == 0x1f
          ? sign | 0x7f800000u | (mantissa << 13) // Inf / NaN.
          : sign | ((exponent + (127 - 15)) << 23) | (mantissa << 13);
  return bitCast<float>(bits);
}

float bfloat16ToFloat(uint16_t b) {
  return bitCast<float>(static_cast<uint32_t>(b) << 16);
}

float float8E4M3FNToFloat(uint8_t b) {
  unsigned exponent = (b >> 3) & 0xfu, mantissa = b & 0x7u;
  float magnitude;
  if (exponent == 0xf && mantissa == 0x7)
    magnitude = std::numeric_limits<float>::quiet_NaN();
  else if (exponent == 0) // Subnormal: mantissa * 2^-9.
    magnitude = std::ldexp(static_cast<float>(mantissa), -9);
  else // (1 + m/8) * 2^(e-7).
    magnitude = std::ldexp(static_cast<float>(8 + mantissa),
                           static_cast<int>(exponent) - 10);
  return (b & 0x80u) ? -magnitude : magnitude;
}

float float8E8M0ToFloat(uint8_t b) {
  if (b == 0xff)
    return std::numeric_limits<float>::quiet_NaN();
  return std::ldexp(1.0f, static_cast<int>(b) - 127);
}

template <typename Fn>
void convert(const uint8_t *p, int64_t n, size_t size, float *out, Fn fn) {
  for (int64_t i = 0; i < n; ++i, p += size)
    out[i] = fn(p);
}
} // namespace

int64_t llmrt::findNonFinite(const TensorInfo &t) {
  int64_t n = t.getNumElements();
  size_t size = getDTypeSize(t.dtype);
  if (n <= 0 || !t.data || uint64_t(n) * size != t.numBytes)
    return -1;
  // Every exponent bit set: infinity or NaN.
  auto scan = [&](auto read, auto exponent) -> int64_t {
    for (int64_t i = 0; i < n; ++i)
      if ((read(t.data + i * size) & exponent) == exponent)
        return i;
    return -1;
  };
  switch (t.dtype) {
  case DType::F64:
    return scan(read64le, uint64_t(0x7ff0000000000000));
  case DType::F32:
    return scan(read32le, uint32_t(0x7f800000));
  case DType::F16:
    return scan(read16le, uint16_t(0x7c00));
  case DType::BF16:
    return scan(read16le, uint16_t(0x7f80));
  default:
    return -1;
  }
}

Status llmrt::copyAsF32(const TensorInfo &t, float *out) {
  std::string where = "copyAsF32: tensor " + quote(t.name) +
                      (t.file.empty() ? "" : " in " + quote(t.file));
  // The TensorInfo may not come from the reader: re-check it.
  int64_t n;
  if (badShape(t.shape, n))
    return Status::invalid(where + ": shape " + formatShape(t.shape) +
                           ": expected non-negative dimensions with a product "
                           "that fits in int64, found otherwise");
  size_t size = getDTypeSize(t.dtype);
  uint64_t numBytes;
  if (mulOverflowsUnsigned(n, size, numBytes) || numBytes != t.numBytes)
    return Status::invalid(
        where + ": numBytes: expected " + std::to_string(numBytes) + " (" +
        str(getDTypeName(t.dtype)) + " " + formatShape(t.shape) + "), found " +
        std::to_string(t.numBytes));
  if (n == 0)
    return Status::ok();
  if (!t.data || !out)
    return Status::invalid(where + ": expected non-null data and output "
                                   "pointers, found null");

  const uint8_t *p = t.data;
  switch (t.dtype) {
  case DType::F32:
    convert(p, n, size, out,
            [](const uint8_t *q) { return bitCast<float>(read32le(q)); });
    break;
  case DType::F64:
    convert(p, n, size, out, [](const uint8_t *q) {
      return static_cast<float>(bitCast<double>(read64le(q)));
    });
    break;
  case DType::F16:
    convert(p, n, size, out,
            [](const uint8_t *q) { return halfToFloat(read16le(q)); });
    break;
  case DType::BF16:
    convert(p, n, size, out,
            [](const uint8_t *q) { return bfloat16ToFloat(read16le(q)); });
    break;
  case DType::F8_E5M2: // The top byte of an F16.
    convert(p, n, size, out, [](const uint8_t *q) {
      return halfToFloat(static_cast<uint16_t>(*q << 8));
    });
    break;
  case DType::F8_E4M3:
    convert(p, n, size, out,
            [](const uint8_t *q) { return float8E4M3FNToFloat(*q); });
    break;
  case DType::F8_E8M0:
    convert(p, n, size, out,
            [](const uint8_t *q) { return float8E8M0ToFloat(*q); });
    break;
  case DType::I64:
    convert(p, n, size, out, [](const uint8_t *q) {
      return static_cast<float>(static_cast<int64_t>(read64le(q)));
    });
    break;
  case DType::U64:
    convert(p, n, size, out,
            [](const uint8_t *q) { return static_cast<float>(read64le(q)); });
    break;
  case DType::I32:
    convert(p, n, size, out, [](const uint8_t *q) {
      return static_cast<float>(static_cast<int32_t>(read32le(q)));
    });
    break;
  case DType::U32:
    convert(p, n, size, out,
            [](const uint8_t *q) { return static_cast<float>(read32le(q)); });
    break;
  case DType::I16:
    convert(p, n, size, out, [](const uint8_t *q) {
      return static_cast<float>(static_cast<int16_t>(read16le(q)));
    });
    break;
  case DType::U16:
    convert(p, n, size, out,
            [](const uint8_t *q) { return static_cast<float>(read16le(q)); });
    break;
  case DType::I8:
    convert(p, n, size, out, [](const uint8_t *q) {
      return static_cast<float>(static_cast<int8_t>(*q));
    });
    break;
  case DType::U8:
    convert(p, n, size, out,
            [](const uint8_t *q) { return static_cast<float>(*q); });
    break;
  case DType::BOOL:
    convert(p, n, size, out, [](const uint8_t *q) { return *q ? 1.0f : 0.0f; });
    break;
  case DType::C64:
    return Status::error(ErrorCode::Unsupported,
                         where + ": dtype: expected a real dtype, found C64 "
                                 "(complex values have no fp32 conversion)");
  }
  return Status::ok();
}

//===----------------------------------------------------------------------===//
// Writer
//===----------------------------------------------------------------------===//

namespace {
/// Writes all of `data` to `fd`; false with errno set on failure.
bool writeAll(int fd, const uint8_t *data, size_t size) {
  while (size) {
    ssize_t n = ::write(fd, data, std::min<size_t>(size, 1u << 30));
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return false;
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

/// Six random lowercase hex digits for a temporary file name (as llvm's
/// "%%%%%%" pattern), without <random> (whose random_device may throw).
std::string randomSuffix() {
  static uint64_t counter = 0;
  uint64_t x =
      static_cast<uint64_t>(::getpid()) << 32 ^
      static_cast<uint64_t>(
          std::chrono::steady_clock::now().time_since_epoch().count()) ^
      (++counter * 0x9e3779b97f4a7c15ull);
  // splitmix64's finalizer.
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  x ^= x >> 31;
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 6; ++i, x >>= 4)
    out += kHex[x & 0xf];
  return out;
}
} // namespace

Status llmrt::writeSafeTensors(
    std::string_view pathView, const std::vector<TensorToWrite> &tensors,
    const std::vector<std::pair<std::string, std::string>> &metadata,
    uint64_t alignment) {
  std::string path(pathView);
  // Validate everything before writing: an invalid name must not leave a
  // partial file behind.
  std::set<std::string_view> names;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  uint64_t offset = 0;
  for (const TensorToWrite &t : tensors) {
    std::string where = path + ": tensor " + quote(t.name);
    if (!json::isUTF8(t.name))
      return Status::invalid(where +
                             ": name: expected UTF-8, found invalid bytes");
    if (t.name == kMetadataKey)
      return Status::invalid(where + ": name: expected a tensor name, found "
                                     "the reserved key '__metadata__'");
    if (!names.insert(t.name).second)
      return Status::invalid(where + ": duplicate tensor name");
    int64_t n;
    if (badShape(t.shape, n))
      return Status::invalid(where + ": shape " + formatShape(t.shape) +
                             ": expected non-negative dimensions with a "
                             "product that fits in int64, found otherwise");
    uint64_t numBytes;
    if (mulOverflowsUnsigned(n, getDTypeSize(t.dtype), numBytes) ||
        numBytes != t.data.size())
      return Status::invalid(
          where + ": data: expected " + std::to_string(numBytes) + " bytes (" +
          str(getDTypeName(t.dtype)) + " " + formatShape(t.shape) +
          "), found " + std::to_string(t.data.size()));
    uint64_t end;
    if (__builtin_add_overflow(offset, numBytes, &end))
      return Status::invalid(where + ": data section overflows uint64");
    ranges.emplace_back(offset, end);
    offset = end;
  }
  std::set<std::string_view> metadataKeys;
  for (const auto &[key, value] : metadata) {
    if (!json::isUTF8(key) || !json::isUTF8(value))
      return Status::invalid(path + ": metadata key " + quote(key) +
                             ": expected UTF-8, found invalid bytes");
    if (!metadataKeys.insert(key).second)
      return Status::invalid(path + ": metadata key " + quote(key) +
                             ": duplicate metadata key");
  }

  json::Writer j;
  j.objectBegin();
  if (!metadata.empty()) {
    j.key(kMetadataKey);
    j.objectBegin();
    for (const auto &[key, value] : metadata) {
      j.key(key);
      j.string(value);
    }
    j.objectEnd();
  }
  for (size_t i = 0, e = tensors.size(); i != e; ++i) {
    const TensorToWrite &t = tensors[i];
    j.key(t.name);
    j.objectBegin();
    j.key("dtype");
    j.string(getDTypeName(t.dtype));
    j.key("shape");
    j.arrayBegin();
    for (int64_t d : t.shape)
      j.integer(d);
    j.arrayEnd();
    j.key("data_offsets");
    j.arrayBegin();
    j.unsignedInteger(ranges[i].first);
    j.unsignedInteger(ranges[i].second);
    j.arrayEnd();
    j.objectEnd();
  }
  j.objectEnd();
  Expected<std::string> written = j.finish();
  if (!written) // Unreachable: everything was validated above.
    return Status::error(ErrorCode::Internal,
                         path +
                             ": cannot write the header: " + written.error());
  std::string &header = *written;
  // Pad with spaces so the data section (after the 8-byte length) starts
  // `alignment`-byte aligned (8 at least).
  if (alignment < 8 || (alignment & (alignment - 1)))
    alignment = 8;
  header.append((alignment - (8 + header.size()) % alignment) % alignment, ' ');
  if (header.size() > kMaxHeaderSize)
    return Status::invalid(path + ": header is too large: expected at most " +
                           std::to_string(kMaxHeaderSize) + " bytes, found " +
                           std::to_string(header.size()));

  // A temporary next to the file, renamed into place: readers never see a
  // partial file. The messages are those of llvm::writeToOutput.
  auto cannotWrite = [&](int err, bool namesFile) {
    return ioError(path + ": cannot write: " +
                   (namesFile ? "'" + path + "': " : std::string()) +
                   errnoMessage(err));
  };
  std::string tempPath;
  int fd = -1;
  for (int attempt = 0; attempt < 128 && fd < 0; ++attempt) {
    tempPath = path + ".temp-stream-" + randomSuffix();
    fd =
        ::open(tempPath.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno != EEXIST && errno != EINTR)
      break;
  }
  if (fd < 0)
    return cannotWrite(errno, /*namesFile=*/true);
  uint8_t length[8];
  for (int i = 0; i < 8; ++i)
    length[i] =
        static_cast<uint8_t>(static_cast<uint64_t>(header.size()) >> (8 * i));
  bool ok = writeAll(fd, length, sizeof(length)) &&
            writeAll(fd, reinterpret_cast<const uint8_t *>(header.data()),
                     header.size());
  for (size_t i = 0; ok && i < tensors.size(); ++i)
    ok = writeAll(fd, tensors[i].data.data(), tensors[i].data.size());
  int err = ok ? 0 : errno;
  if (::close(fd) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (!ok) {
    ::unlink(tempPath.c_str());
    return cannotWrite(err, /*namesFile=*/true);
  }
  if (::rename(tempPath.c_str(), path.c_str()) != 0) {
    err = errno;
    ::unlink(tempPath.c_str());
    return cannotWrite(err, /*namesFile=*/false);
  }
  return Status::ok();
}
