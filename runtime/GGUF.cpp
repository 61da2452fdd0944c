//===- GGUF.cpp - A strict reader of GGUF files ---------------------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "GGUF.h"
#include "MappedFile.h"

#include <algorithm>
#include <cstring>
#include <new>

using namespace llmrt;

namespace {

constexpr GGMLTypeInfo kTypes[] = {
    {"F32", 1, 4},        {"F16", 1, 2},        {"Q4_0", 32, 18},
    {"Q4_1", 32, 20},     {nullptr, 0, 0},      {nullptr, 0, 0},
    {"Q5_0", 32, 22},     {"Q5_1", 32, 24},     {"Q8_0", 32, 34},
    {"Q8_1", 32, 36},     {"Q2_K", 256, 84},    {"Q3_K", 256, 110},
    {"Q4_K", 256, 144},   {"Q5_K", 256, 176},   {"Q6_K", 256, 210},
    {"Q8_K", 256, 292},   {"IQ2_XXS", 256, 66}, {"IQ2_XS", 256, 74},
    {"IQ3_XXS", 256, 98}, {"IQ1_S", 256, 50},   {"IQ4_NL", 32, 18},
    {"IQ3_S", 256, 110},  {"IQ2_S", 256, 82},   {"IQ4_XS", 256, 136},
    {"I8", 1, 1},         {"I16", 1, 2},        {"I32", 1, 4},
    {"I64", 1, 8},        {"F64", 1, 8},        {"IQ1_M", 256, 56},
    {"BF16", 1, 2},       {nullptr, 0, 0},      {nullptr, 0, 0},
    {nullptr, 0, 0},      {"TQ1_0", 256, 54},   {"TQ2_0", 256, 66},
    {nullptr, 0, 0},      {nullptr, 0, 0},      {nullptr, 0, 0},
    {"MXFP4", 32, 17},
};

/// Sizes of the fixed-size value types (0: not fixed).
uint64_t scalarSize(GGUFType type) {
  switch (type) {
  case GGUFType::UInt8:
  case GGUFType::Int8:
  case GGUFType::Bool:
    return 1;
  case GGUFType::UInt16:
  case GGUFType::Int16:
    return 2;
  case GGUFType::UInt32:
  case GGUFType::Int32:
  case GGUFType::Float32:
    return 4;
  case GGUFType::UInt64:
  case GGUFType::Int64:
  case GGUFType::Float64:
    return 8;
  case GGUFType::String:
  case GGUFType::Array:
    return 0;
  }
  return 0;
}

/// A cursor over the file's bytes that reports where a read failed.
class Reader {
public:
  Reader(const uint8_t *data, uint64_t size, const std::string &file)
      : data(data), size(size), file(file) {}

  uint64_t position() const { return pos; }
  uint64_t remaining() const { return size - pos; }

  /// "FILE: offset N: FIELD: expected EXPECTED, found FOUND".
  Status error(uint64_t at, const std::string &field,
               const std::string &expected, const std::string &found) const {
    return Status::error(ErrorCode::Format, file + ": offset " +
                                                std::to_string(at) + ": " +
                                                field + ": expected " +
                                                expected + ", found " + found);
  }

  template <typename T> Expected<T> read(const std::string &field) {
    if (remaining() < sizeof(T))
      return error(pos, field, std::to_string(sizeof(T)) + " bytes",
                   "the end of the file after " + std::to_string(remaining()));
    T value;
    std::memcpy(&value, data + pos, sizeof(T));
    pos += sizeof(T);
    return value;
  }

  /// A length-prefixed string of at most `cap` bytes.
  Expected<std::string> readString(const std::string &field, uint64_t cap) {
    uint64_t at = pos;
    Expected<uint64_t> length = read<uint64_t>(field + " length");
    if (!length)
      return length.takeStatus();
    if (*length > cap)
      return error(at, field + " length", "at most " + std::to_string(cap),
                   std::to_string(*length));
    if (*length > remaining())
      return error(at, field + " length",
                   "at most the " + std::to_string(remaining()) +
                       " bytes left in the file",
                   std::to_string(*length));
    std::string s(reinterpret_cast<const char *>(data + pos), *length);
    pos += *length;
    return s;
  }

private:
  const uint8_t *data;
  uint64_t size;
  const std::string &file;
  uint64_t pos = 0;
};

Expected<GGUFValue> readValue(Reader &r, GGUFType type,
                              const std::string &field, int depth,
                              uint64_t &budget);

/// A value type, checked.
Expected<GGUFType> readType(Reader &r, const std::string &field) {
  uint64_t at = r.position();
  Expected<uint32_t> raw = r.read<uint32_t>(field);
  if (!raw)
    return raw.takeStatus();
  if (*raw > static_cast<uint32_t>(GGUFType::Float64))
    return r.error(at, field, "a value type in [0, 12]", std::to_string(*raw));
  return static_cast<GGUFType>(*raw);
}

/// A value of `type`; `field` names it in errors, `budget` is the number of
/// values (array elements included) the file may still hold.
Expected<GGUFValue> readValue(Reader &r, GGUFType type,
                              const std::string &field, int depth,
                              uint64_t &budget) {
  GGUFValue value;
  value.type = type;
  auto scalar = [&](auto sample) -> Status {
    using T = decltype(sample);
    Expected<T> v = r.read<T>(field);
    if (!v)
      return v.takeStatus();
    if constexpr (std::is_floating_point_v<T>) {
      value.real = static_cast<double>(*v);
    } else {
      value.integer = static_cast<int64_t>(*v);
      value.unsignedInteger = static_cast<uint64_t>(*v);
    }
    return Status::ok();
  };
  Status status = Status::ok();
  switch (type) {
  case GGUFType::UInt8:
    status = scalar(uint8_t());
    break;
  case GGUFType::Int8:
    status = scalar(int8_t());
    break;
  case GGUFType::UInt16:
    status = scalar(uint16_t());
    break;
  case GGUFType::Int16:
    status = scalar(int16_t());
    break;
  case GGUFType::UInt32:
    status = scalar(uint32_t());
    break;
  case GGUFType::Int32:
    status = scalar(int32_t());
    break;
  case GGUFType::UInt64:
    status = scalar(uint64_t());
    break;
  case GGUFType::Int64:
    status = scalar(int64_t());
    break;
  case GGUFType::Float32:
    status = scalar(float());
    break;
  case GGUFType::Float64:
    status = scalar(double());
    break;
  case GGUFType::Bool: {
    uint64_t at = r.position();
    Expected<uint8_t> v = r.read<uint8_t>(field);
    if (!v)
      return v.takeStatus();
    if (*v > 1)
      return r.error(at, field, "a bool (0 or 1)", std::to_string(*v));
    value.integer = *v;
    value.unsignedInteger = *v;
    break;
  }
  case GGUFType::String: {
    Expected<std::string> s = r.readString(field, kMaxGGUFStringLength);
    if (!s)
      return s.takeStatus();
    value.string = std::move(*s);
    break;
  }
  case GGUFType::Array: {
    uint64_t at = r.position();
    if (depth >= kMaxGGUFArrayDepth)
      return r.error(at, field,
                     "arrays nested at most " +
                         std::to_string(kMaxGGUFArrayDepth) + " deep",
                     "a deeper one");
    Expected<GGUFType> element = readType(r, field + " element type");
    if (!element)
      return element.takeStatus();
    uint64_t countAt = r.position();
    Expected<uint64_t> count = r.read<uint64_t>(field + " element count");
    if (!count)
      return count.takeStatus();
    // Every element takes a byte at least (a string or an array, 8).
    uint64_t least = scalarSize(*element) ? scalarSize(*element) : 8;
    if (*count > r.remaining() / least)
      return r.error(countAt, field + " element count",
                     "at most " + std::to_string(r.remaining() / least) +
                         " (the bytes left for elements of " +
                         std::string(getGGUFTypeName(*element)) + ")",
                     std::to_string(*count));
    // Each element is held as a GGUFValue: the values of a file are capped.
    if (*count > budget)
      return r.error(countAt, field + " element count",
                     "at most " + std::to_string(budget) +
                         " (the file's metadata holds at most " +
                         std::to_string(kMaxGGUFValues) + " values)",
                     std::to_string(*count));
    budget -= *count;
    value.elementType = *element;
    value.elements.reserve(*count);
    for (uint64_t i = 0; i < *count; ++i) {
      Expected<GGUFValue> e = readValue(r, *element, field, depth + 1, budget);
      if (!e)
        return e.takeStatus();
      value.elements.push_back(std::move(*e));
    }
    break;
  }
  }
  if (!status.isOk())
    return status;
  return value;
}

/// a * b, or false when it overflows int64_t.
bool multiply(int64_t a, int64_t b, int64_t &out) {
  return !__builtin_mul_overflow(a, b, &out);
}

} // namespace

std::string_view llmrt::getGGUFTypeName(GGUFType type) {
  static constexpr std::string_view kNames[] = {
      "uint8", "int8",   "uint16", "int16",  "uint32", "int32",  "float32",
      "bool",  "string", "array",  "uint64", "int64",  "float64"};
  auto index = static_cast<uint32_t>(type);
  return index < std::size(kNames) ? kNames[index] : "unknown";
}

bool GGUFValue::isInteger() const {
  switch (type) {
  case GGUFType::UInt8:
  case GGUFType::Int8:
  case GGUFType::UInt16:
  case GGUFType::Int16:
  case GGUFType::UInt32:
  case GGUFType::Int32:
  case GGUFType::UInt64:
  case GGUFType::Int64:
    return true;
  default:
    return false;
  }
}

std::string GGUFValue::describe() const {
  std::string name(getGGUFTypeName(type));
  if (type == GGUFType::Array)
    return "array of " + std::to_string(elements.size()) + " " +
           std::string(getGGUFTypeName(elementType));
  if (type == GGUFType::String)
    return "string \"" + string.substr(0, 40) +
           (string.size() > 40 ? "...\"" : "\"");
  if (type == GGUFType::Bool)
    return integer ? "bool true" : "bool false";
  if (isFloat())
    return name + " " + std::to_string(real);
  if (type == GGUFType::UInt64)
    return name + " " + std::to_string(unsignedInteger);
  return name + " " + std::to_string(integer);
}

const GGMLTypeInfo *llmrt::getGGMLTypeInfo(uint32_t type) {
  if (type >= std::size(kTypes) || !kTypes[type].name)
    return nullptr;
  return &kTypes[type];
}

int64_t GGUFTensor::getNumElements() const {
  int64_t n = 1;
  for (int64_t d : dims)
    if (!multiply(n, d, n))
      return -1;
  return n;
}

GGUFFile::GGUFFile() = default;
GGUFFile::~GGUFFile() = default;

Expected<std::unique_ptr<GGUFFile>> GGUFFile::open(std::string_view path) {
  std::string p(path);
  Expected<std::unique_ptr<MappedFile>> mapped = MappedFile::map(p, p);
  if (!mapped)
    return mapped.takeStatus();
  return fromBytes(std::move(*mapped), std::move(p));
}

Expected<std::unique_ptr<GGUFFile>> GGUFFile::openBuffer(std::string_view bytes,
                                                         std::string name) {
  std::unique_ptr<MappedFile> copy = MappedFile::copy(bytes);
  if (!copy)
    return Status::error(ErrorCode::OutOfMemory,
                         name + ": cannot copy " +
                             std::to_string(bytes.size()) +
                             " bytes: out of memory");
  return fromBytes(std::move(copy), std::move(name));
}

Expected<std::unique_ptr<GGUFFile>>
GGUFFile::fromBytes(std::unique_ptr<MappedFile> bytes, std::string name) {
  std::unique_ptr<GGUFFile> file(new (std::nothrow) GGUFFile());
  if (!file)
    return Status::error(ErrorCode::OutOfMemory, name + ": out of memory");
  file->filePath = std::move(name);
  file->bytes = std::move(bytes);
  if (Status s = file->parse(); !s.isOk())
    return s;
  return std::move(file);
}

const GGUFValue *GGUFFile::find(std::string_view key) const {
  auto it = metadata.find(key);
  return it == metadata.end() ? nullptr : &it->second;
}

const GGUFTensor *GGUFFile::lookup(std::string_view name) const {
  auto it = index.find(name);
  return it == index.end() ? nullptr : &tensorList[it->second];
}

Status GGUFFile::parse() {
  const uint8_t *data = bytes->begin();
  const uint64_t size = bytes->size();
  Reader r(data, size, filePath);

  // Header.
  if (size < 4 || std::memcmp(data, "GGUF", 4) != 0) {
    std::string found = "the bytes";
    for (uint64_t i = 0; i < std::min<uint64_t>(size, 4); ++i)
      found += " " + std::to_string(data[i]);
    if (size == 0)
      found = "an empty file";
    return r.error(0, "magic", "\"GGUF\" (71 71 85 70)", found);
  }
  (void)r.read<uint32_t>("magic");
  Expected<uint32_t> v = r.read<uint32_t>("version");
  if (!v)
    return v.takeStatus();
  if ((*v & 0xFFFF) == 0 && *v != 0)
    return r.error(4, "version", "a little-endian file (version 2 or 3)",
                   "a big-endian one (version " +
                       std::to_string(__builtin_bswap32(*v)) +
                       "), which LLMC does not read");
  if (*v != 2 && *v != 3)
    return r.error(4, "version", "2 or 3",
                   std::to_string(*v) +
                       (*v == 1 ? " (GGUF v1, 32-bit counts; convert the "
                                  "model again with a current llama.cpp)"
                                : ""));
  version = *v;
  Expected<uint64_t> tensorCount = r.read<uint64_t>("tensor count");
  if (!tensorCount)
    return tensorCount.takeStatus();
  if (*tensorCount > kMaxGGUFTensors)
    return r.error(8, "tensor count",
                   "at most " + std::to_string(kMaxGGUFTensors),
                   std::to_string(*tensorCount));
  Expected<uint64_t> keyCount = r.read<uint64_t>("metadata count");
  if (!keyCount)
    return keyCount.takeStatus();
  if (*keyCount > kMaxGGUFKeys)
    return r.error(16, "metadata count",
                   "at most " + std::to_string(kMaxGGUFKeys),
                   std::to_string(*keyCount));

  // Metadata.
  uint64_t budget = kMaxGGUFValues;
  for (uint64_t i = 0; i < *keyCount; ++i) {
    uint64_t at = r.position();
    Expected<std::string> key = r.readString(
        "key of metadata entry " + std::to_string(i), kMaxGGUFKeyLength);
    if (!key)
      return key.takeStatus();
    if (key->empty())
      return r.error(at, "key of metadata entry " + std::to_string(i),
                     "a non-empty key", "an empty one");
    if (metadata.count(*key))
      return r.error(at, "key of metadata entry " + std::to_string(i),
                     "a key no other entry has", "'" + *key + "' again");
    Expected<GGUFType> type = readType(r, "type of '" + *key + "'");
    if (!type)
      return type.takeStatus();
    Expected<GGUFValue> value =
        readValue(r, *type, "value of '" + *key + "'", 0, budget);
    if (!value)
      return value.takeStatus();
    keys.push_back(*key);
    metadata.emplace(*key, std::move(*value));
  }
  if (const GGUFValue *a = find("general.alignment")) {
    bool power = a->isInteger() && a->unsignedInteger > 0 && a->integer > 0 &&
                 (a->unsignedInteger & (a->unsignedInteger - 1)) == 0 &&
                 a->unsignedInteger <= kMaxGGUFAlignment;
    if (a->type != GGUFType::UInt32 || !power)
      return Status::error(
          ErrorCode::Format,
          filePath +
              ": metadata 'general.alignment': expected a uint32 "
              "power of two in [1, " +
              std::to_string(kMaxGGUFAlignment) + "], found " + a->describe());
    alignment = a->unsignedInteger;
  }

  // Tensor descriptions: each takes 33 bytes at least (a name of a byte,
  // one dim).
  if (*tensorCount > r.remaining() / 33)
    return r.error(8, "tensor count",
                   "at most " + std::to_string(r.remaining() / 33) +
                       " (the bytes left for tensor descriptions)",
                   std::to_string(*tensorCount));
  tensorList.reserve(*tensorCount);
  for (uint64_t i = 0; i < *tensorCount; ++i) {
    const std::string which = "tensor " + std::to_string(i);
    uint64_t at = r.position();
    Expected<std::string> name = r.readString(which + " name", 63);
    if (!name)
      return name.takeStatus();
    if (name->empty())
      return r.error(at, which + " name", "a non-empty name", "an empty one");
    if (index.count(*name))
      return r.error(at, which + " name", "a name no other tensor has",
                     "'" + *name + "' again");
    GGUFTensor t;
    t.name = std::move(*name);
    const std::string field = "tensor '" + t.name + "'";
    uint64_t dimsAt = r.position();
    Expected<uint32_t> nDims = r.read<uint32_t>(field + " dimension count");
    if (!nDims)
      return nDims.takeStatus();
    if (*nDims < 1 || *nDims > 4)
      return r.error(dimsAt, field + " dimension count", "1 to 4",
                     std::to_string(*nDims));
    int64_t elements = 1;
    for (uint32_t d = 0; d < *nDims; ++d) {
      uint64_t dimAt = r.position();
      Expected<uint64_t> dim =
          r.read<uint64_t>(field + " dimension " + std::to_string(d));
      if (!dim)
        return dim.takeStatus();
      if (*dim < 1 || *dim > static_cast<uint64_t>(kMaxGGUFDim))
        return r.error(dimAt, field + " dimension " + std::to_string(d),
                       "a value in [1, 2^40]", std::to_string(*dim));
      if (!multiply(elements, static_cast<int64_t>(*dim), elements))
        return r.error(dimAt, field + " dimensions",
                       "an element count that fits in 64 bits",
                       "an overflowing product");
      t.dims.push_back(static_cast<int64_t>(*dim));
    }
    uint64_t typeAt = r.position();
    Expected<uint32_t> type = r.read<uint32_t>(field + " type");
    if (!type)
      return type.takeStatus();
    const GGMLTypeInfo *info = getGGMLTypeInfo(*type);
    if (!info)
      return r.error(typeAt, field + " type", "a known ggml type",
                     std::to_string(*type));
    t.type = *type;
    if (t.dims[0] % info->blockSize != 0)
      return r.error(typeAt, field + " type",
                     std::string(info->name) + " rows of a multiple of " +
                         std::to_string(info->blockSize) + " elements",
                     "rows of " + std::to_string(t.dims[0]));
    int64_t blocks = elements / info->blockSize, numBytes;
    if (!multiply(blocks, info->blockBytes, numBytes))
      return r.error(typeAt, field + " size",
                     "a byte count that fits in 64 bits", "an overflowing one");
    t.numBytes = static_cast<uint64_t>(numBytes);
    uint64_t offsetAt = r.position();
    Expected<uint64_t> offset = r.read<uint64_t>(field + " offset");
    if (!offset)
      return offset.takeStatus();
    if (*offset % alignment != 0)
      return r.error(offsetAt, field + " offset",
                     "a multiple of the alignment " + std::to_string(alignment),
                     std::to_string(*offset));
    t.offset = *offset;
    index.emplace(t.name, tensorList.size());
    tensorList.push_back(std::move(t));
  }

  // The data section, and every tensor inside it without overlap.
  uint64_t end = r.position();
  dataOffset = (end + alignment - 1) / alignment * alignment;
  if (!tensorList.empty() && dataOffset > size)
    return r.error(end, "data section",
                   "a file of at least " + std::to_string(dataOffset) +
                       " bytes (after the alignment padding)",
                   std::to_string(size));
  std::vector<size_t> order(tensorList.size());
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return tensorList[a].offset < tensorList[b].offset;
  });
  uint64_t previousEnd = 0;
  const GGUFTensor *previous = nullptr;
  for (size_t i : order) {
    GGUFTensor &t = tensorList[i];
    uint64_t space = size - dataOffset;
    if (t.offset > space || t.numBytes > space - t.offset)
      return Status::error(
          ErrorCode::Format,
          filePath + ": tensor '" + t.name + "': data [" +
              std::to_string(t.offset) + ", +" + std::to_string(t.numBytes) +
              ") of the data section: expected it inside the file's " +
              std::to_string(space) + " data bytes, found it past them " +
              "(a truncated file?)");
    if (previous && t.offset < previousEnd)
      return Status::error(
          ErrorCode::Format,
          filePath + ": tensor '" + t.name + "': data at " +
              std::to_string(t.offset) + ": expected it past tensor '" +
              previous->name + "', which ends at " +
              std::to_string(previousEnd) + ", found it overlapping");
    t.data = data + dataOffset + t.offset;
    previousEnd = t.offset + t.numBytes;
    previous = &t;
  }
  return Status::ok();
}
