//===- SafeTensors.h - Validating safetensors reader and writer -*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// Reader and writer for the safetensors format
// (https://github.com/huggingface/safetensors):
//
//   [8 bytes: N, little-endian u64][N bytes: JSON header][data section]
//
// The header maps tensor names to {"dtype", "shape", "data_offsets"}, with
// offsets relative to the start of the data section, plus an optional
// "__metadata__" object of strings.
//
// Model files are untrusted input. The reader memory-maps the file (nothing is
// copied) and validates everything before handing out a single pointer:
// header bounds, JSON well-formedness and nesting depth, duplicate keys, field
// types, overflow-checked sizes, and that the tensors tile the data section
// exactly (no overlap, no gap, no trailing bytes). Every failure is an
// llvm::Error whose message names the file, the tensor and the field, with the
// expected and the found value. Nothing here asserts or aborts on bad input.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_IMPORT_SAFETENSORS_H
#define LLM_IMPORT_SAFETENSORS_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mlir {
namespace llm {

/// Element types of safetensors. Only byte-sized types are supported; the
/// sub-byte types (F4, F6_E2M3, F6_E3M2) are rejected with a clear error.
enum class DType {
  F32,
  F16,
  BF16,
  F64,
  I64,
  I32,
  I16,
  I8,
  U8,
  BOOL,
  U16,
  U32,
  U64,
  F8_E4M3, // E4M3FN: no infinities, NaN is S.1111.111.
  F8_E5M2,
  F8_E8M0, // Exponent-only scale (OCP MX), 0xFF is NaN.
  C64,     // Complex of two F32.
};

/// Size of one element in bytes.
size_t getDTypeSize(DType dtype);
/// The safetensors spelling ("F32", "BF16", "F8_E4M3", ...).
llvm::StringRef getDTypeName(DType dtype);
/// Parses a safetensors dtype name; std::nullopt if unknown or unsupported.
std::optional<DType> parseDType(llvm::StringRef name);
/// Comma-separated list of the supported dtype names, for diagnostics.
std::string getSupportedDTypeNames();

/// One tensor of a validated safetensors file. `data` points into the memory
/// mapping owned by the SafeTensorsFile, is valid for `numBytes` bytes, and
/// is not necessarily aligned; the bytes are little-endian.
struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  llvm::SmallVector<int64_t> shape;
  const uint8_t *data = nullptr;
  uint64_t numBytes = 0;
  /// Path of the file holding the tensor, as given to the reader.
  std::string file;

  /// Product of the dimensions (1 for a scalar). The reader has checked that
  /// it fits in int64_t; -1 for a hand-made shape with a negative dimension
  /// or an overflowing product.
  int64_t getNumElements() const;
  llvm::ArrayRef<uint8_t> getBytes() const { return {data, numBytes}; }
  /// Whether `data` is aligned for the element type (4 for C64). The format
  /// does not guarantee it: check before reading the bytes in place as T*.
  bool isAligned() const;
};

/// A single validated, memory-mapped safetensors file.
class SafeTensorsFile {
public:
  /// Memory-maps and validates `path`. Only regular files are accepted.
  static llvm::Expected<std::unique_ptr<SafeTensorsFile>>
  open(llvm::StringRef path);

  /// Validates an in-memory buffer (used by the fuzzer and for tests). The
  /// buffer's identifier names the file in diagnostics.
  static llvm::Expected<std::unique_ptr<SafeTensorsFile>>
  openBuffer(std::unique_ptr<llvm::MemoryBuffer> buffer);

  /// The tensor called `name`, or nullptr.
  const TensorInfo *lookup(llvm::StringRef name) const;
  /// All tensors, in data-offset order (the order of the bytes in the file).
  llvm::ArrayRef<TensorInfo> tensors() const { return tensorList; }
  /// The path (or buffer identifier) this file was opened from.
  llvm::StringRef path() const { return filePath; }
  /// The "__metadata__" object (empty if the header has none).
  const std::map<std::string, std::string> &metadata() const {
    return metadataMap;
  }
  /// Size of the JSON header in bytes (N), and of the data section.
  uint64_t getHeaderSize() const { return headerSize; }
  uint64_t getDataSize() const { return dataSize; }

private:
  SafeTensorsFile() = default;
  llvm::Error parse();

  std::unique_ptr<llvm::MemoryBuffer> buffer;
  std::string filePath;
  uint64_t headerSize = 0;
  uint64_t dataSize = 0;
  std::vector<TensorInfo> tensorList;
  llvm::StringMap<size_t> index;
  std::map<std::string, std::string> metadataMap;

  friend class SafeTensorsArchive;
};

struct SafeTensorsArchiveOptions {
  /// Accept model files that are symlinks resolving outside the model folder.
  /// Off by default; the Hugging Face hub cache (snapshots/<rev>/ holding
  /// symlinks into ../../blobs/) needs it on.
  bool allowSymlinksOutsideModelDir = false;
};

/// The weights of a model folder: either a single "model.safetensors", or the
/// shards listed by "model.safetensors.index.json" ({"weight_map": {tensor:
/// shard file}}), every one of them opened and cross-checked against the map.
class SafeTensorsArchive {
public:
  static llvm::Expected<std::unique_ptr<SafeTensorsArchive>>
  openDirectory(llvm::StringRef modelDir,
                const SafeTensorsArchiveOptions &options = {});

  /// The tensor called `name` in whichever shard holds it, or nullptr.
  const TensorInfo *lookup(llvm::StringRef name) const;
  /// All tensors: shards in file-name order, each in data-offset order.
  std::vector<const TensorInfo *> tensors() const;
  /// The opened files (one, or one per shard, in file-name order).
  llvm::ArrayRef<std::unique_ptr<SafeTensorsFile>> files() const {
    return fileList;
  }
  llvm::StringRef directory() const { return dir; }

private:
  SafeTensorsArchive() = default;

  std::string dir;
  std::vector<std::unique_ptr<SafeTensorsFile>> fileList;
  llvm::StringMap<const TensorInfo *> index;
};

/// Converts the elements of `t` to fp32 into `out`, which must hold
/// t.getNumElements() floats. Supports every dtype except C64; integers are
/// converted by value (rounded to the nearest float), BOOL as 0/1.
llvm::Error copyAsF32(const TensorInfo &t, float *out);

/// A tensor to serialize: `data` must hold exactly
/// product(shape) * getDTypeSize(dtype) little-endian bytes.
struct TensorToWrite {
  std::string name;
  DType dtype = DType::F32;
  llvm::SmallVector<int64_t> shape;
  llvm::ArrayRef<uint8_t> data;
};

/// Writes a safetensors file readable by the Python `safetensors` package:
/// tensors laid out back to back in the given order, header padded with
/// spaces to a multiple of 8 bytes. The file is written to a temporary and
/// renamed into place.
llvm::Error writeSafeTensors(
    llvm::StringRef path, llvm::ArrayRef<TensorToWrite> tensors,
    llvm::ArrayRef<std::pair<std::string, std::string>> metadata = {});

/// Parses untrusted JSON text (config.json, an index, a header) with
/// llvm::json::parse after checking that it nests at most 64 levels deep: the
/// parser recurses once per level and has no limit of its own, so a file of
/// 100k '[' would overflow the stack. Errors read "<file>: not valid JSON:
/// ..." or "<file>: JSON nesting at byte N is too deep: ...". Numbers in the
/// result may be doubles: read integers with json::Value::getAsUINT64() or
/// after a range check, never with getAsInteger() alone (undefined behavior
/// on a double equal to 2^63).
llvm::Expected<llvm::json::Value> parseJsonBounded(llvm::StringRef text,
                                                   llvm::StringRef file);

} // namespace llm
} // namespace mlir

#endif // LLM_IMPORT_SAFETENSORS_H
