//===- GGUF.h - A strict reader of GGUF files -------------------*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
// GGUF (llama.cpp's model file, versions 2 and 3, little-endian): a header,
// typed metadata (key -> value), tensor descriptions, then the tensors' bytes
// at aligned offsets of the data section. The reader memory-maps the file and
// validates everything before anything is read through it: the magic and
// version, counts and lengths capped and checked against the bytes left,
// value types and nesting depth, every size computation for overflow,
// `general.alignment`, each tensor's name, dims, type (a known ggml type
// whose block divides the row), and its data aligned, inside the file and
// not overlapping another's. Each failure is one line naming the file, the
// byte offset, the field, the expected and the found value. No MLIR.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_RUNTIME_GGUF_H
#define LLM_RUNTIME_GGUF_H

#include "Error.h"
#include "GGMLBlocks.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace llmrt {

class MappedFile;

/// The value types of GGUF metadata (gguf.h's `enum gguf_type`).
enum class GGUFType : uint32_t {
  UInt8 = 0,
  Int8 = 1,
  UInt16 = 2,
  Int16 = 3,
  UInt32 = 4,
  Int32 = 5,
  Float32 = 6,
  Bool = 7,
  String = 8,
  Array = 9,
  UInt64 = 10,
  Int64 = 11,
  Float64 = 12,
};

/// "uint32", "string", ...
std::string_view getGGUFTypeName(GGUFType type);

/// One metadata value: a scalar, a string, or an array of values of one
/// type.
struct GGUFValue {
  GGUFType type = GGUFType::UInt8;
  /// Integers and bools (signed ones sign-extended).
  int64_t integer = 0;
  /// Unsigned integers as read (uint64 values past int64's range too).
  uint64_t unsignedInteger = 0;
  double real = 0;
  std::string string;
  /// Arrays: the element type and the elements.
  GGUFType elementType = GGUFType::UInt8;
  std::vector<GGUFValue> elements;

  bool isInteger() const;
  bool isFloat() const {
    return type == GGUFType::Float32 || type == GGUFType::Float64;
  }
  /// The value as written, short ("uint32 4096", "array of 3 string").
  std::string describe() const;
};

/// What ggml knows of a tensor type: its name, elements per block and bytes
/// per block.
struct GGMLTypeInfo {
  const char *name;
  int64_t blockSize;
  int64_t blockBytes;
};

/// ggml's tensor type `type` (ggml.h's `enum ggml_type`), or null for an
/// unknown or removed one.
const GGMLTypeInfo *getGGMLTypeInfo(uint32_t type);

/// ggml type numbers LLMC names (the block formats' own, GGMLBlocks.h).
using GGMLType = llmk::GGMLType;

/// One tensor of a GGUF file.
struct GGUFTensor {
  std::string name;
  uint32_t type = 0;
  /// In ggml order: dims[0] varies fastest (a [out, in] weight is
  /// {in, out}); 1 to 4 dims, each >= 1.
  std::vector<int64_t> dims;
  /// Offset in the data section, and where the bytes are in the mapping.
  uint64_t offset = 0;
  const uint8_t *data = nullptr;
  uint64_t numBytes = 0;

  int64_t getNumElements() const;
};

/// A validated, memory-mapped GGUF file.
class GGUFFile {
public:
  ~GGUFFile();

  /// Memory-maps and validates `path` (a regular file).
  static Expected<std::unique_ptr<GGUFFile>> open(std::string_view path);
  /// Validates a copy of `bytes` (the fuzzer, tests); `name` names it in
  /// messages.
  static Expected<std::unique_ptr<GGUFFile>> openBuffer(std::string_view bytes,
                                                        std::string name);

  uint32_t getVersion() const { return version; }
  uint64_t getAlignment() const { return alignment; }
  /// The metadata value of `key`, or null.
  const GGUFValue *find(std::string_view key) const;
  /// Every key, in file order.
  const std::vector<std::string> &getKeys() const { return keys; }
  /// The tensors, in file order.
  const std::vector<GGUFTensor> &tensors() const { return tensorList; }
  /// The tensor called `name`, or null.
  const GGUFTensor *lookup(std::string_view name) const;
  const std::string &path() const { return filePath; }
  /// Where the data section starts in the file.
  uint64_t getDataOffset() const { return dataOffset; }

private:
  GGUFFile();
  static Expected<std::unique_ptr<GGUFFile>>
  fromBytes(std::unique_ptr<MappedFile> bytes, std::string name);
  Status parse();

  std::unique_ptr<MappedFile> bytes;
  std::string filePath;
  uint32_t version = 0;
  uint64_t alignment = 32;
  uint64_t dataOffset = 0;
  std::vector<std::string> keys;
  std::map<std::string, GGUFValue, std::less<>> metadata;
  std::vector<GGUFTensor> tensorList;
  std::map<std::string, size_t, std::less<>> index;
};

/// Caps of the reader (llama.cpp's and beyond: a GGUF that passes them can
/// still be too large for memory, which the runtime checks separately).
inline constexpr uint64_t kMaxGGUFTensors = uint64_t(1) << 20;
inline constexpr uint64_t kMaxGGUFKeys = uint64_t(1) << 20;
inline constexpr uint64_t kMaxGGUFKeyLength = 65535;
inline constexpr uint64_t kMaxGGUFStringLength = uint64_t(1) << 30;
inline constexpr int kMaxGGUFArrayDepth = 4;
/// Metadata values a file may hold, array elements included (a 256k-token
/// vocabulary with scores, types and merges takes about 1M).
inline constexpr uint64_t kMaxGGUFValues = uint64_t(1) << 22;
inline constexpr uint64_t kMaxGGUFAlignment = uint64_t(1) << 20;
inline constexpr int64_t kMaxGGUFDim = int64_t(1) << 40;

} // namespace llmrt

#endif // LLM_RUNTIME_GGUF_H
