//===- SafeTensors.cpp - Validating safetensors reader and writer ---------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// Model files are untrusted. Everything read from them is bounds- and
// overflow-checked before use, and every failure is returned as an llvm::Error
// naming the file, the tensor and the field with the expected and found value.
//
//===----------------------------------------------------------------------===//

#include "llm/Import/SafeTensors.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/Twine.h"
#include "llvm/ADT/bit.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <tuple>

using namespace llvm;
using namespace mlir::llm;

namespace {

/// Same limit as the reference implementation (safetensors' MAX_HEADER_SIZE).
constexpr uint64_t kMaxHeaderSize = 100'000'000;
/// Limit on the size of model.safetensors.index.json.
constexpr uint64_t kMaxIndexSize = 100'000'000;
/// llvm::json::parse recurses once per nesting level and has no limit of its
/// own; a header of a few hundred thousand '[' would overflow the stack.
/// Valid headers nest 3 deep.
constexpr unsigned kMaxJsonDepth = 64;
/// Longest name or string quoted verbatim in a diagnostic.
constexpr size_t kMaxQuoted = 200;

constexpr StringLiteral kMetadataKey = "__metadata__";
constexpr StringLiteral kSingleFileName = "model.safetensors";
constexpr StringLiteral kIndexFileName = "model.safetensors.index.json";

struct DTypeDesc {
  DType dtype;
  StringLiteral name;
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
constexpr StringLiteral kSubByteDTypes[] = {"F4", "F6_E2M3", "F6_E3M2"};

const DTypeDesc &getDesc(DType dtype) {
  for (const DTypeDesc &d : kDTypes)
    if (d.dtype == dtype)
      return d;
  llvm_unreachable("DType missing from kDTypes");
}

Error fail(const Twine &msg) {
  return createStringError(inconvertibleErrorCode(), msg);
}

/// 'name', with backslashes and non-printable bytes escaped and long names
/// truncated, so a hostile name cannot forge or flood a diagnostic.
std::string quote(StringRef s) {
  std::string out;
  raw_string_ostream os(out);
  os << '\'';
  printEscapedString(s.take_front(kMaxQuoted), os);
  if (s.size() > kMaxQuoted)
    os << "...(" << s.size() << " bytes)";
  os << '\'';
  return out;
}

std::string formatShape(ArrayRef<int64_t> shape) {
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

/// What a JSON value is, for "found ..." in diagnostics.
std::string describe(const json::Value &v) {
  switch (v.kind()) {
  case json::Value::Null:
    return "null";
  case json::Value::Boolean:
    return *v.getAsBoolean() ? "true" : "false";
  case json::Value::Number: {
    std::string out;
    raw_string_ostream os(out);
    os << v;
    // Negative numbers are rejected whatever their form; otherwise say when
    // the parser saw a fraction or exponent ("1.0" prints as "1").
    if (!v.getAsUINT64() && *v.getAsNumber() >= 0)
      os << " (a floating-point number)";
    return out;
  }
  case json::Value::String:
    return "string " + quote(*v.getAsString());
  case json::Value::Array:
    return "an array of " + std::to_string(v.getAsArray()->size()) +
           " elements";
  case json::Value::Object:
    return "an object";
  }
  llvm_unreachable("unknown JSON kind");
}

std::string describeByte(unsigned char c) {
  std::string out = "byte 0x";
  out += hexdigit(c >> 4, /*LowerCase=*/true);
  out += hexdigit(c & 0xf, /*LowerCase=*/true);
  if (isPrint(c)) {
    out += " '";
    out += static_cast<char>(c);
    out += "'";
  }
  return out;
}

//===----------------------------------------------------------------------===//
// JSON pre- and post-scans
//===----------------------------------------------------------------------===//

/// Rejects nesting deeper than kMaxJsonDepth before llvm::json::parse sees the
/// text. On any prefix the parser accepts, this lexer agrees with it on which
/// bytes are inside strings, so it bounds the parser's recursion.
Error checkNesting(StringRef text, StringRef what) {
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
      if (++depth > kMaxJsonDepth)
        return fail(what + ": JSON nesting at byte " + Twine(i) +
                    " is too deep: expected at most " + Twine(kMaxJsonDepth) +
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
  return Error::success();
}

struct DuplicateKey {
  /// Keys of the enclosing objects ("[i]" for array elements), outermost
  /// first; empty for a duplicate in the top-level object.
  std::vector<std::string> path;
  std::string key;
  size_t firstOffset = 0;
  size_t secondOffset = 0;
};

struct KeyScan {
  /// Keys of the top-level object, in file order, with their byte offsets.
  std::vector<std::pair<std::string, size_t>> topLevelKeys;
  std::optional<DuplicateKey> duplicate;
};

/// Walks JSON text that llvm::json::parse has accepted, recording the
/// top-level keys in file order and finding the first duplicate key at any
/// level. llvm::json silently keeps the last of duplicate keys; the format
/// (and safety: two readers must not disagree on a tensor) requires rejecting
/// them.
KeyScan scanKeys(StringRef text) {
  struct Frame {
    bool isObject = false;
    bool expectKey = false;
    size_t arrayIndex = 0;
    std::string pathElement; // How the parent refers to this container.
    std::string lastKey;
    StringMap<size_t> keys;
  };
  KeyScan result;
  SmallVector<Frame, 8> stack;
  auto currentPath = [&] {
    std::vector<std::string> path;
    for (size_t i = 1; i < stack.size(); ++i)
      path.push_back(stack[i].pathElement);
    return path;
  };
  for (size_t i = 0, e = text.size(); i < e; ++i) {
    char c = text[i];
    switch (c) {
    case '"': {
      size_t start = i++;
      bool hasEscape = false;
      while (i < e && text[i] != '"') {
        if (text[i] == '\\') {
          hasEscape = true;
          ++i;
        }
        ++i;
      }
      if (stack.empty() || !stack.back().isObject || !stack.back().expectKey)
        break;
      StringRef raw = text.slice(start, std::min(i + 1, e));
      std::string key;
      if (hasEscape) {
        // Decode escapes (so "\u0061" and "a" collide) with the real parser.
        Expected<json::Value> decoded = json::parse(raw);
        if (!decoded) {
          consumeError(decoded.takeError());
          key = raw.str();
        } else if (std::optional<StringRef> s = decoded->getAsString()) {
          key = s->str();
        }
      } else {
        key = raw.drop_front().drop_back().str();
      }
      Frame &top = stack.back();
      top.expectKey = false;
      top.lastKey = key;
      auto [it, inserted] = top.keys.try_emplace(key, start);
      if (!inserted && !result.duplicate)
        result.duplicate = DuplicateKey{currentPath(), key, it->second, start};
      if (stack.size() == 1)
        result.topLevelKeys.emplace_back(key, start);
      break;
    }
    case '{':
    case '[': {
      std::string element;
      if (!stack.empty())
        element = stack.back().isObject
                      ? stack.back().lastKey
                      : "[" + std::to_string(stack.back().arrayIndex) + "]";
      Frame &frame = stack.emplace_back();
      frame.isObject = frame.expectKey = c == '{';
      frame.pathElement = std::move(element);
      break;
    }
    case '}':
    case ']':
      if (!stack.empty())
        stack.pop_back();
      break;
    case ',':
      if (!stack.empty()) {
        if (stack.back().isObject)
          stack.back().expectKey = true;
        else
          ++stack.back().arrayIndex;
      }
      break;
    default:
      break;
    }
  }
  return result;
}

/// Parses untrusted JSON: depth-limited, and rejecting duplicate keys.
/// `describeDuplicate` turns a duplicate into a diagnostic.
Expected<json::Value> parseUntrustedJson(
    StringRef text, StringRef what, KeyScan &scan,
    function_ref<std::string(const DuplicateKey &)> describeDuplicate) {
  Expected<json::Value> parsed = mlir::llm::parseJsonBounded(text, what);
  if (!parsed)
    return parsed.takeError();
  if (!parsed->getAsObject())
    return fail(what + ": expected a JSON object, found " + describe(*parsed));
  scan = scanKeys(text);
  if (scan.duplicate)
    return fail(what + ": " + describeDuplicate(*scan.duplicate));
  return parsed;
}

std::string joinPath(ArrayRef<std::string> path) {
  std::string out;
  for (const std::string &p : path)
    out += "/" + p;
  return out;
}

//===----------------------------------------------------------------------===//
// Files
//===----------------------------------------------------------------------===//

/// Maps (or, for small files, reads) a regular file. Non-regular files (FIFOs,
/// devices, directories) are refused: they could block or never end.
Expected<std::unique_ptr<MemoryBuffer>> mapRegularFile(StringRef openPath,
                                                       StringRef displayName,
                                                       uint64_t maxSize = 0) {
  sys::fs::file_status pathStatus;
  if (std::error_code ec = sys::fs::status(openPath, pathStatus))
    return fail(displayName + ": cannot open: " + ec.message());
  if (pathStatus.type() != sys::fs::file_type::regular_file)
    return fail(displayName + ": expected a regular file, found " +
                (pathStatus.type() == sys::fs::file_type::directory_file
                     ? "a directory"
                     : "a special file"));

  Expected<sys::fs::file_t> fd = sys::fs::openNativeFileForRead(openPath);
  if (!fd)
    return fail(displayName + ": cannot open: " + toString(fd.takeError()));
  scope_exit closeOnExit([&] { sys::fs::closeFile(*fd); });

  // Re-check on the descriptor: the path may have changed since.
  sys::fs::file_status status;
  if (std::error_code ec = sys::fs::status(*fd, status))
    return fail(displayName + ": cannot stat: " + ec.message());
  if (status.type() != sys::fs::file_type::regular_file)
    return fail(displayName + ": expected a regular file, found another kind");
  uint64_t size = status.getSize();
  if (maxSize && size > maxSize)
    return fail(displayName + ": file is too large: expected at most " +
                Twine(maxSize) + " bytes, found " + Twine(size));

  ErrorOr<std::unique_ptr<MemoryBuffer>> buffer = MemoryBuffer::getOpenFile(
      *fd, displayName, size, /*RequiresNullTerminator=*/false,
      /*IsVolatile=*/false);
  if (!buffer)
    return fail(displayName + ": cannot read: " + buffer.getError().message());
  return std::move(*buffer);
}

/// Resolves `candidate` (symlinks included) and checks that it stays inside
/// the model folder `realDir` (itself already resolved).
Expected<std::string> resolveInside(StringRef realDir, StringRef candidate,
                                    StringRef displayName,
                                    const SafeTensorsArchiveOptions &options) {
  SmallString<256> real;
  if (std::error_code ec = sys::fs::real_path(candidate, real))
    return fail(displayName + ": cannot open: " + ec.message());
  if (options.allowSymlinksOutsideModelDir)
    return std::string(real);
  StringRef r = real;
  bool inside = r.starts_with(realDir) && (r.size() > realDir.size()) &&
                (sys::path::is_separator(realDir.back()) ||
                 sys::path::is_separator(r[realDir.size()]));
  if (!inside)
    return fail(displayName +
                ": resolves outside the model folder: expected "
                "a path under " +
                quote(realDir) + ", found " + quote(r));
  return std::string(real);
}

bool mulOverflowsUnsigned(uint64_t a, uint64_t b, uint64_t &result) {
  bool overflow = false;
  result = SaturatingMultiply(a, b, &overflow);
  return overflow;
}

} // namespace

Expected<json::Value> mlir::llm::parseJsonBounded(StringRef text,
                                                  StringRef file) {
  if (Error e = checkNesting(text, file))
    return e;
  Expected<json::Value> parsed = json::parse(text);
  if (!parsed)
    return fail(file + ": not valid JSON: " + toString(parsed.takeError()));
  return parsed;
}

//===----------------------------------------------------------------------===//
// DType
//===----------------------------------------------------------------------===//

size_t mlir::llm::getDTypeSize(DType dtype) { return getDesc(dtype).size; }

StringRef mlir::llm::getDTypeName(DType dtype) { return getDesc(dtype).name; }

std::optional<DType> mlir::llm::parseDType(StringRef name) {
  for (const DTypeDesc &d : kDTypes)
    if (d.name == name)
      return d.dtype;
  return std::nullopt;
}

std::string mlir::llm::getSupportedDTypeNames() {
  std::string out;
  for (const DTypeDesc &d : kDTypes) {
    if (!out.empty())
      out += ", ";
    out += d.name;
  }
  return out;
}

int64_t TensorInfo::getNumElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    if (d < 0 || MulOverflow(n, d, n))
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

Expected<std::unique_ptr<SafeTensorsFile>>
SafeTensorsFile::open(StringRef path) {
  Expected<std::unique_ptr<MemoryBuffer>> buffer = mapRegularFile(path, path);
  if (!buffer)
    return buffer.takeError();
  return openBuffer(std::move(*buffer));
}

Expected<std::unique_ptr<SafeTensorsFile>>
SafeTensorsFile::openBuffer(std::unique_ptr<MemoryBuffer> buffer) {
  if (!buffer)
    return fail("SafeTensorsFile::openBuffer: null buffer");
  std::unique_ptr<SafeTensorsFile> file(new SafeTensorsFile());
  file->filePath = buffer->getBufferIdentifier().str();
  file->buffer = std::move(buffer);
  if (Error e = file->parse())
    return e;
  return file;
}

const TensorInfo *SafeTensorsFile::lookup(StringRef name) const {
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
/// the reference implementation. Never use json::Value::getAsInteger() on
/// untrusted input: it accepts doubles up to double(INT64_MAX) == 2^63 and
/// converts 2^63 to int64_t, which is undefined behavior (found by fuzzing:
/// "shape":[9223372036854775807.2]). getAsUINT64() only accepts values the
/// parser stored as integers.
std::optional<uint64_t> getUnsigned(const json::Value &v) {
  return v.getAsUINT64();
}

Error parseMetadata(StringRef file, const json::Value &v,
                    std::map<std::string, std::string> &out) {
  const json::Object *obj = v.getAsObject();
  if (!obj)
    return fail(file +
                ": field '__metadata__': expected an object of "
                "strings, found " +
                describe(v));
  // Sorted, so the first error reported does not depend on hashing.
  std::vector<StringRef> keys;
  for (const auto &kv : *obj)
    keys.push_back(kv.first);
  llvm::sort(keys);
  for (StringRef key : keys) {
    const json::Value &value = *obj->get(key);
    std::optional<StringRef> s = value.getAsString();
    if (!s)
      return fail(file + ": field '__metadata__': key " + quote(key) +
                  ": expected a string value, found " + describe(value));
    out.emplace(key.str(), s->str());
  }
  return Error::success();
}

Expected<PendingTensor> parseTensorEntry(StringRef file, StringRef name,
                                         const json::Value &v) {
  std::string where = (file + ": tensor " + quote(name)).str();
  const json::Object *entry = v.getAsObject();
  if (!entry)
    return fail(where +
                ": expected an object with 'dtype', 'shape' and "
                "'data_offsets', found " +
                describe(v));

  PendingTensor t;
  t.info.name = name.str();
  t.info.file = file.str();

  // dtype.
  const json::Value *dtypeValue = entry->get("dtype");
  if (!dtypeValue)
    return fail(where + ": field 'dtype': expected a dtype string (one of " +
                getSupportedDTypeNames() + "), found nothing");
  std::optional<StringRef> dtypeName = dtypeValue->getAsString();
  if (!dtypeName)
    return fail(where + ": field 'dtype': expected a dtype string, found " +
                describe(*dtypeValue));
  std::optional<DType> dtype = parseDType(*dtypeName);
  if (!dtype) {
    bool subByte = llvm::is_contained(kSubByteDTypes, *dtypeName);
    return fail(where + ": field 'dtype': " +
                (subByte ? "unsupported sub-byte dtype " : "unknown dtype ") +
                quote(*dtypeName) + ", expected one of " +
                getSupportedDTypeNames());
  }
  t.info.dtype = *dtype;

  // shape.
  const json::Value *shapeValue = entry->get("shape");
  if (!shapeValue)
    return fail(where + ": field 'shape': expected an array of non-negative "
                        "integers, found nothing");
  const json::Array *shape = shapeValue->getAsArray();
  if (!shape)
    return fail(where +
                ": field 'shape': expected an array of non-negative "
                "integers, found " +
                describe(*shapeValue));
  t.info.shape.reserve(shape->size());
  for (size_t i = 0, e = shape->size(); i != e; ++i) {
    const json::Value &dim = (*shape)[i];
    std::optional<uint64_t> d = getUnsigned(dim);
    if (!d || *d > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return fail(where + ": field 'shape': dimension " + Twine(i) +
                  ": expected a non-negative integer at most " +
                  Twine(std::numeric_limits<int64_t>::max()) + ", found " +
                  describe(dim));
    t.info.shape.push_back(static_cast<int64_t>(*d));
  }
  int64_t numElements = 1;
  for (int64_t d : t.info.shape)
    if (MulOverflow(numElements, d, numElements))
      return fail(where + ": field 'shape': element count of " +
                  formatShape(t.info.shape) + " overflows: expected at most " +
                  Twine(std::numeric_limits<int64_t>::max()) +
                  " elements, found more");
  uint64_t numBytes;
  size_t dtypeSize = getDTypeSize(*dtype);
  if (mulOverflowsUnsigned(numElements, dtypeSize, numBytes))
    return fail(
        where + ": field 'shape': byte size of " + getDTypeName(*dtype) + " " +
        formatShape(t.info.shape) + " overflows: expected at most " +
        Twine(std::numeric_limits<uint64_t>::max()) + " bytes, found more");

  // data_offsets.
  const json::Value *offsetsValue = entry->get("data_offsets");
  if (!offsetsValue)
    return fail(where + ": field 'data_offsets': expected [begin, end], "
                        "found nothing");
  const json::Array *offsets = offsetsValue->getAsArray();
  if (!offsets || offsets->size() != 2)
    return fail(where +
                ": field 'data_offsets': expected [begin, end], "
                "found " +
                describe(*offsetsValue));
  std::optional<uint64_t> begin = getUnsigned((*offsets)[0]);
  if (!begin)
    return fail(where +
                ": field 'data_offsets': begin: expected a "
                "non-negative integer, found " +
                describe((*offsets)[0]));
  std::optional<uint64_t> end = getUnsigned((*offsets)[1]);
  if (!end)
    return fail(where +
                ": field 'data_offsets': end: expected a "
                "non-negative integer, found " +
                describe((*offsets)[1]));
  if (*begin > *end)
    return fail(where +
                ": field 'data_offsets': expected begin <= end, "
                "found " +
                formatRange(*begin, *end));
  if (*end - *begin != numBytes)
    return fail(where + ": data_offsets " + formatRange(*begin, *end) +
                " cover " + Twine(*end - *begin) + " bytes, expected " +
                Twine(numBytes) + " (" + getDTypeName(*dtype) + " " +
                formatShape(t.info.shape) + ")");
  t.begin = *begin;
  t.end = *end;
  t.info.numBytes = numBytes;
  return t;
}
} // namespace

Error SafeTensorsFile::parse() {
  StringRef bytes = buffer->getBuffer();
  StringRef file = filePath;
  uint64_t fileSize = bytes.size();

  if (fileSize < 8)
    return fail(file +
                ": file is too short: expected at least 8 bytes "
                "(the header length), found " +
                Twine(fileSize));
  uint64_t n = support::endian::read64le(bytes.data());
  if (n > kMaxHeaderSize)
    return fail(file + ": header length is too large: expected at most " +
                Twine(kMaxHeaderSize) + ", found " + Twine(n));
  if (n > fileSize - 8)
    return fail(file +
                ": header length runs past the end of the file: "
                "expected at most " +
                Twine(fileSize - 8) + " (file size " + Twine(fileSize) +
                " - 8), found " + Twine(n));
  StringRef header = bytes.substr(8, n);
  if (header.empty() || header.front() != '{')
    return fail(file + ": header does not start with '{': found " +
                (header.empty() ? std::string("an empty header")
                                : describeByte(header.front())));

  std::string what = (file + ": header").str();
  KeyScan scan;
  Expected<json::Value> parsed = parseUntrustedJson(
      header, what, scan, [](const DuplicateKey &dup) -> std::string {
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
        std::string rest = joinPath(ArrayRef(dup.path).drop_front());
        return owner + ": duplicate key " + quote(dup.key) +
               (rest.empty() ? "" : " in " + quote(rest)) + offsets;
      });
  if (!parsed)
    return parsed.takeError();
  const json::Object &root = *parsed->getAsObject();

  headerSize = n;
  dataSize = fileSize - 8 - n;
  const uint8_t *dataBase = bytes.bytes_begin() + 8 + n;

  std::vector<PendingTensor> pending;
  pending.reserve(scan.topLevelKeys.size());
  for (const auto &[key, offset] : scan.topLevelKeys) {
    (void)offset;
    const json::Value *value = root.get(key);
    if (!value) // Unreachable: the scan and the parser agree on the keys.
      return fail(file + ": header: key " + quote(key) +
                  " was not found by the JSON parser");
    if (key == kMetadataKey) {
      if (Error e = parseMetadata(file, *value, metadataMap))
        return e;
      continue;
    }
    Expected<PendingTensor> t = parseTensorEntry(file, key, *value);
    if (!t)
      return t.takeError();
    if (t->end > dataSize)
      return fail(
          file + ": tensor " + quote(key) + ": data_offsets " +
          formatRange(t->begin, t->end) +
          " run past the end of the file: expected end <= " + Twine(dataSize) +
          " (size of the data section), found " + Twine(t->end));
    pending.push_back(std::move(*t));
  }
  if (scan.topLevelKeys.size() != root.size()) // Unreachable, as above.
    return fail(file + ": header: expected " + Twine(root.size()) +
                " entries, found " + Twine(scan.topLevelKeys.size()));

  // The tensors must tile the data section exactly: sorted by offset, each
  // starts where the previous one ended, and the last ends at end of file.
  llvm::sort(pending, [](const PendingTensor &a, const PendingTensor &b) {
    return std::tie(a.begin, a.end, a.info.name) <
           std::tie(b.begin, b.end, b.info.name);
  });
  uint64_t cursor = 0;
  const PendingTensor *prev = nullptr;
  for (const PendingTensor &t : pending) {
    std::string where = (file + ": tensor " + quote(t.info.name) +
                         ": data_offsets " + formatRange(t.begin, t.end))
                            .str();
    std::string after = prev ? "tensor " + quote(prev->info.name) + " " +
                                   formatRange(prev->begin, prev->end)
                             : std::string("the start of the data section");
    if (t.begin < cursor)
      return fail(where + " overlap " + after + ": expected begin " +
                  Twine(cursor) + ", found " + Twine(t.begin));
    if (t.begin > cursor)
      return fail(where + " leave a gap of " + Twine(t.begin - cursor) +
                  " bytes after " + after + ": expected begin " +
                  Twine(cursor) + ", found " + Twine(t.begin));
    cursor = t.end;
    prev = &t;
  }
  if (cursor != dataSize)
    return fail(file + ": data section has " + Twine(dataSize - cursor) +
                " trailing bytes after " +
                (prev ? "the last tensor " + quote(prev->info.name) + " " +
                            formatRange(prev->begin, prev->end)
                      : std::string("the header (no tensors)")) +
                ": expected " + Twine(cursor) +
                " bytes of tensor data, found " + Twine(dataSize));

  tensorList.reserve(pending.size());
  for (PendingTensor &t : pending) {
    t.info.data = dataBase + t.begin;
    index.try_emplace(t.info.name, tensorList.size());
    tensorList.push_back(std::move(t.info));
  }
  return Error::success();
}

//===----------------------------------------------------------------------===//
// SafeTensorsArchive
//===----------------------------------------------------------------------===//

namespace {
/// Shard names must be plain file names in the model folder itself.
bool isPlainFileName(StringRef name) {
  return !name.empty() && name != "." && !name.contains("..") &&
         name.find_first_of(StringRef("/\\\0:", 4)) == StringRef::npos &&
         !sys::path::is_absolute(name);
}
} // namespace

Expected<std::unique_ptr<SafeTensorsArchive>>
SafeTensorsArchive::openDirectory(StringRef modelDir,
                                  const SafeTensorsArchiveOptions &options) {
  SmallString<256> realDir;
  if (std::error_code ec = sys::fs::real_path(modelDir, realDir))
    return fail(modelDir + ": cannot open the model folder: " + ec.message());
  if (!sys::fs::is_directory(realDir))
    return fail(modelDir + ": expected a model folder, found a file");

  std::unique_ptr<SafeTensorsArchive> archive(new SafeTensorsArchive());
  archive->dir = modelDir.str();

  SmallString<256> singlePath(modelDir);
  sys::path::append(singlePath, kSingleFileName);
  SmallString<256> indexPath(modelDir);
  sys::path::append(indexPath, kIndexFileName);

  // Like transformers: a single file wins over an index.
  if (sys::fs::exists(singlePath)) {
    Expected<std::string> real =
        resolveInside(realDir, singlePath, singlePath, options);
    if (!real)
      return real.takeError();
    Expected<std::unique_ptr<MemoryBuffer>> buffer =
        mapRegularFile(*real, singlePath);
    if (!buffer)
      return buffer.takeError();
    Expected<std::unique_ptr<SafeTensorsFile>> file =
        SafeTensorsFile::openBuffer(std::move(*buffer));
    if (!file)
      return file.takeError();
    for (const TensorInfo &t : (*file)->tensors())
      archive->index.try_emplace(t.name, &t);
    archive->fileList.push_back(std::move(*file));
    return archive;
  }
  if (!sys::fs::exists(indexPath))
    return fail(modelDir + ": expected " + kSingleFileName + " or " +
                kIndexFileName + " in the model folder, found neither");

  // The index.
  StringRef indexName = indexPath;
  Expected<std::string> realIndex =
      resolveInside(realDir, indexPath, indexName, options);
  if (!realIndex)
    return realIndex.takeError();
  Expected<std::unique_ptr<MemoryBuffer>> indexBuffer =
      mapRegularFile(*realIndex, indexName, kMaxIndexSize);
  if (!indexBuffer)
    return indexBuffer.takeError();
  KeyScan scan;
  Expected<json::Value> parsed = parseUntrustedJson(
      (*indexBuffer)->getBuffer(), indexName, scan,
      [](const DuplicateKey &dup) -> std::string {
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
    return parsed.takeError();
  const json::Value *weightMapValue = parsed->getAsObject()->get("weight_map");
  if (!weightMapValue)
    return fail(indexName + ": field 'weight_map': expected an object "
                            "mapping tensor names to shard files, found "
                            "nothing");
  const json::Object *weightMap = weightMapValue->getAsObject();
  if (!weightMap)
    return fail(indexName +
                ": field 'weight_map': expected an object "
                "mapping tensor names to shard files, found " +
                describe(*weightMapValue));
  if (weightMap->empty())
    return fail(indexName + ": field 'weight_map': expected at least one "
                            "tensor, found an empty object");

  // tensor -> shard, validated, in name order; shard -> its tensors.
  std::vector<std::pair<StringRef, StringRef>> entries;
  for (const auto &kv : *weightMap) {
    StringRef tensor = kv.first;
    std::optional<StringRef> shard = kv.second.getAsString();
    if (!shard)
      return fail(indexName + ": field 'weight_map': tensor " + quote(tensor) +
                  ": expected a shard file name, found " + describe(kv.second));
    entries.emplace_back(tensor, *shard);
  }
  llvm::sort(entries);
  std::map<std::string, std::vector<StringRef>> shardTensors;
  for (const auto &[tensor, shard] : entries) {
    if (!isPlainFileName(shard))
      return fail(indexName + ": field 'weight_map': tensor " + quote(tensor) +
                  ": expected a plain file name inside the model folder (no "
                  "'/', '\\', '..', ':' or NUL), found " +
                  quote(shard));
    shardTensors[shard.str()].push_back(tensor);
  }

  // Open every shard (in file-name order).
  StringMap<std::string> shardOf; // tensor -> shard that holds it
  for (const auto &[shard, tensors] : shardTensors) {
    SmallString<256> shardPath(modelDir);
    sys::path::append(shardPath, shard);
    std::string context =
        (indexName + ": field 'weight_map': shard " + quote(shard) +
         " (for tensor " + quote(tensors.front()) +
         (tensors.size() > 1
              ? " and " + std::to_string(tensors.size() - 1) + " others"
              : std::string()) +
         ")")
            .str();
    Expected<std::string> real =
        resolveInside(realDir, shardPath, shardPath, options);
    if (!real)
      return fail(context + ": " + toString(real.takeError()));
    Expected<std::unique_ptr<MemoryBuffer>> buffer =
        mapRegularFile(*real, shardPath);
    if (!buffer)
      return fail(context + ": " + toString(buffer.takeError()));
    Expected<std::unique_ptr<SafeTensorsFile>> file =
        SafeTensorsFile::openBuffer(std::move(*buffer));
    if (!file)
      return file.takeError();
    for (const TensorInfo &t : (*file)->tensors()) {
      auto [it, inserted] = shardOf.try_emplace(t.name, shard);
      if (!inserted)
        return fail(indexName + ": tensor " + quote(t.name) +
                    " is present in two shards: expected it only in " +
                    quote(it->second) + ", found it also in " + quote(shard));
      archive->index.try_emplace(t.name, &t);
    }
    archive->fileList.push_back(std::move(*file));
  }

  // Cross-check the map against the shards, both ways.
  for (const auto &[tensor, shard] : entries) {
    auto it = shardOf.find(tensor);
    if (it == shardOf.end())
      return fail(indexName + ": field 'weight_map': tensor " + quote(tensor) +
                  ": expected in shard " + quote(shard) +
                  ", found in no shard");
    if (it->second != shard)
      return fail(indexName + ": field 'weight_map': tensor " + quote(tensor) +
                  ": expected in shard " + quote(shard) + ", found in shard " +
                  quote(it->second));
  }
  for (const std::unique_ptr<SafeTensorsFile> &file : archive->fileList)
    for (const TensorInfo &t : file->tensors())
      if (!weightMap->get(t.name))
        return fail(indexName + ": field 'weight_map': tensor " +
                    quote(t.name) + " in shard " +
                    quote(sys::path::filename(file->path())) +
                    ": expected an entry in weight_map, found none");
  return archive;
}

const TensorInfo *SafeTensorsArchive::lookup(StringRef name) const {
  auto it = index.find(name);
  return it == index.end() ? nullptr : it->second;
}

std::vector<const TensorInfo *> SafeTensorsArchive::tensors() const {
  std::vector<const TensorInfo *> out;
  out.reserve(index.size());
  for (const std::unique_ptr<SafeTensorsFile> &file : fileList)
    for (const TensorInfo &t : file->tensors())
      out.push_back(&t);
  return out;
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
  return llvm::bit_cast<float>(bits);
}

float bfloat16ToFloat(uint16_t b) {
  return llvm::bit_cast<float>(static_cast<uint32_t>(b) << 16);
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

Error mlir::llm::copyAsF32(const TensorInfo &t, float *out) {
  std::string where = "copyAsF32: tensor " + quote(t.name) +
                      (t.file.empty() ? "" : " in " + quote(t.file));
  // The TensorInfo may not come from the reader: re-check it.
  int64_t n = 1;
  for (int64_t d : t.shape)
    if (d < 0 || MulOverflow(n, d, n))
      return fail(where + ": shape " + formatShape(t.shape) +
                  ": expected non-negative dimensions with a product that "
                  "fits in int64, found otherwise");
  size_t size = getDTypeSize(t.dtype);
  uint64_t numBytes;
  if (mulOverflowsUnsigned(n, size, numBytes) || numBytes != t.numBytes)
    return fail(where + ": numBytes: expected " + Twine(numBytes) + " (" +
                getDTypeName(t.dtype) + " " + formatShape(t.shape) +
                "), found " + Twine(t.numBytes));
  if (n == 0)
    return Error::success();
  if (!t.data || !out)
    return fail(where + ": expected non-null data and output pointers, found "
                        "null");

  using namespace llvm::support::endian;
  const uint8_t *p = t.data;
  switch (t.dtype) {
  case DType::F32:
    convert(p, n, size, out, [](const uint8_t *q) {
      return llvm::bit_cast<float>(read32le(q));
    });
    break;
  case DType::F64:
    convert(p, n, size, out, [](const uint8_t *q) {
      return static_cast<float>(llvm::bit_cast<double>(read64le(q)));
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
    return fail(where + ": dtype: expected a real dtype, found C64 (complex "
                        "values have no fp32 conversion)");
  }
  return Error::success();
}

//===----------------------------------------------------------------------===//
// Writer
//===----------------------------------------------------------------------===//

Error mlir::llm::writeSafeTensors(
    StringRef path, ArrayRef<TensorToWrite> tensors,
    ArrayRef<std::pair<std::string, std::string>> metadata) {
  // Validate everything first: json::OStream asserts on invalid UTF-8.
  StringSet<> names;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  uint64_t offset = 0;
  for (const TensorToWrite &t : tensors) {
    std::string where = (path + ": tensor " + quote(t.name)).str();
    if (!json::isUTF8(t.name))
      return fail(where + ": name: expected UTF-8, found invalid bytes");
    if (t.name == kMetadataKey)
      return fail(where + ": name: expected a tensor name, found the reserved "
                          "key '__metadata__'");
    if (!names.insert(t.name).second)
      return fail(where + ": duplicate tensor name");
    int64_t n = 1;
    for (int64_t d : t.shape)
      if (d < 0 || MulOverflow(n, d, n))
        return fail(where + ": shape " + formatShape(t.shape) +
                    ": expected non-negative dimensions with a product that "
                    "fits in int64, found otherwise");
    uint64_t numBytes;
    if (mulOverflowsUnsigned(n, getDTypeSize(t.dtype), numBytes) ||
        numBytes != t.data.size())
      return fail(where + ": data: expected " + Twine(numBytes) + " bytes (" +
                  getDTypeName(t.dtype) + " " + formatShape(t.shape) +
                  "), found " + Twine(t.data.size()));
    bool overflow = false;
    uint64_t end = SaturatingAdd(offset, numBytes, &overflow);
    if (overflow)
      return fail(where + ": data section overflows uint64");
    ranges.emplace_back(offset, end);
    offset = end;
  }
  StringSet<> metadataKeys;
  for (const auto &[key, value] : metadata) {
    if (!json::isUTF8(key) || !json::isUTF8(value))
      return fail(path + ": metadata key " + quote(key) +
                  ": expected UTF-8, found invalid bytes");
    if (!metadataKeys.insert(key).second)
      return fail(path + ": metadata key " + quote(key) +
                  ": duplicate metadata key");
  }

  std::string header;
  {
    raw_string_ostream os(header);
    json::OStream j(os);
    j.object([&] {
      if (!metadata.empty())
        j.attributeObject(kMetadataKey, [&] {
          for (const auto &[key, value] : metadata)
            j.attribute(key, value);
        });
      for (size_t i = 0, e = tensors.size(); i != e; ++i) {
        const TensorToWrite &t = tensors[i];
        j.attributeObject(t.name, [&] {
          j.attribute("dtype", getDTypeName(t.dtype));
          j.attributeArray("shape", [&] {
            for (int64_t d : t.shape)
              j.value(d);
          });
          j.attributeArray("data_offsets", [&] {
            j.value(ranges[i].first);
            j.value(ranges[i].second);
          });
        });
      }
    });
  }
  // Pad with spaces so the data section starts 8-byte aligned.
  header.append(alignTo(header.size(), 8) - header.size(), ' ');
  if (header.size() > kMaxHeaderSize)
    return fail(path + ": header is too large: expected at most " +
                Twine(kMaxHeaderSize) + " bytes, found " +
                Twine(header.size()));

  Error e = writeToOutput(path, [&](raw_ostream &os) -> Error {
    char length[8];
    support::endian::write64le(length, header.size());
    os.write(length, sizeof(length));
    os << header;
    for (const TensorToWrite &t : tensors)
      os.write(reinterpret_cast<const char *>(t.data.data()), t.data.size());
    return Error::success();
  });
  if (e)
    return fail(path + ": cannot write: " + toString(std::move(e)));
  return Error::success();
}
