//===- SafeTensors.h - Validating safetensors reader and writer -*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
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
// exactly (no overlap, no gap, no trailing bytes). Every failure is a Status
// (Error.h) whose message names the file, the tensor and the field, with the
// expected and the found value. Nothing here throws or aborts on bad input.
// No MLIR or LLVM: JSON goes through Json.h, files through POSIX.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_RUNTIME_SAFETENSORS_H
#define LLM_RUNTIME_SAFETENSORS_H

#include "Error.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace llmrt {

class MappedFile;

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
std::string_view getDTypeName(DType dtype);
/// Parses a safetensors dtype name; std::nullopt if unknown or unsupported.
std::optional<DType> parseDType(std::string_view name);
/// Comma-separated list of the supported dtype names, for diagnostics.
std::string getSupportedDTypeNames();

/// A non-owning view of bytes (C++17 has no std::span).
class ByteSpan {
public:
  ByteSpan() = default;
  ByteSpan(const uint8_t *data, size_t size) : data_(data), size_(size) {}
  ByteSpan(const std::vector<uint8_t> &bytes)
      : data_(bytes.data()), size_(bytes.size()) {}

  const uint8_t *data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const uint8_t *begin() const { return data_; }
  const uint8_t *end() const { return data_ + size_; }

private:
  const uint8_t *data_ = nullptr;
  size_t size_ = 0;
};

/// One tensor of a validated safetensors file. `data` points into the memory
/// mapping owned by the SafeTensorsFile, is valid for `numBytes` bytes, and
/// is not necessarily aligned; the bytes are little-endian.
struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const uint8_t *data = nullptr;
  uint64_t numBytes = 0;
  /// Path of the file holding the tensor, as given to the reader.
  std::string file;

  /// Product of the dimensions (1 for a scalar). The reader has checked that
  /// it fits in int64_t; -1 for a hand-made shape with a negative dimension
  /// or an overflowing product.
  int64_t getNumElements() const;
  ByteSpan getBytes() const { return {data, static_cast<size_t>(numBytes)}; }
  /// Whether `data` is aligned for the element type (4 for C64). The format
  /// does not guarantee it: check before reading the bytes in place as T*.
  bool isAligned() const;
};

/// A single validated, memory-mapped safetensors file.
class SafeTensorsFile {
public:
  ~SafeTensorsFile();

  /// Memory-maps and validates `path`. Only regular files are accepted.
  static Expected<std::unique_ptr<SafeTensorsFile>> open(std::string_view path);

  /// Validates a copy of `bytes` (used by the fuzzer and for tests); `name`
  /// names the file in diagnostics.
  static Expected<std::unique_ptr<SafeTensorsFile>>
  openBuffer(std::string_view bytes, std::string name);

  /// The tensor called `name`, or nullptr.
  const TensorInfo *lookup(std::string_view name) const;
  /// All tensors, in data-offset order (the order of the bytes in the file).
  const std::vector<TensorInfo> &tensors() const { return tensorList; }
  /// The path (or buffer name) this file was opened from.
  const std::string &path() const { return filePath; }
  /// The "__metadata__" object (empty if the header has none).
  const std::map<std::string, std::string> &metadata() const {
    return metadataMap;
  }
  /// Size of the JSON header in bytes (N), and of the data section.
  uint64_t getHeaderSize() const { return headerSize; }
  uint64_t getDataSize() const { return dataSize; }

private:
  SafeTensorsFile();
  static Expected<std::unique_ptr<SafeTensorsFile>>
  fromBytes(std::unique_ptr<MappedFile> bytes, std::string name);
  Status parse();

  std::unique_ptr<MappedFile> bytes;
  std::string filePath;
  uint64_t headerSize = 0;
  uint64_t dataSize = 0;
  std::vector<TensorInfo> tensorList;
  std::map<std::string, size_t, std::less<>> index;
  std::map<std::string, std::string> metadataMap;

  friend class SafeTensorsArchive;
};

struct SafeTensorsArchiveOptions {
  /// Accept model files that are symlinks resolving anywhere outside the
  /// model folder. Off by default. A Hugging Face hub cache snapshot
  /// (models--ORG--NAME/snapshots/REV/, symlinks into models--ORG--NAME/blobs/)
  /// needs no option: links into its blobs folder are accepted.
  bool allowSymlinksOutsideModelDir = false;
};

/// The weights of a model folder: either a single "model.safetensors", or the
/// shards listed by "model.safetensors.index.json" ({"weight_map": {tensor:
/// shard file}}), every one of them opened and cross-checked against the map.
class SafeTensorsArchive {
public:
  static Expected<std::unique_ptr<SafeTensorsArchive>>
  openDirectory(std::string_view modelDir,
                const SafeTensorsArchiveOptions &options = {});

  /// An archive of the one safetensors file at `path` (an artifact's
  /// params.safetensors), named `directory` in messages.
  static Expected<std::unique_ptr<SafeTensorsArchive>>
  openFile(std::string_view path, std::string directory);

  /// The tensor called `name` in whichever shard holds it, or nullptr.
  const TensorInfo *lookup(std::string_view name) const;
  /// All tensors: shards in file-name order, each in data-offset order.
  std::vector<const TensorInfo *> tensors() const;
  /// The opened files (one, or one per shard, in file-name order).
  const std::vector<std::unique_ptr<SafeTensorsFile>> &files() const {
    return fileList;
  }
  const std::string &directory() const { return dir; }

  /// An archive of tensors whose bytes live elsewhere (a GGUF file's, read
  /// in place or converted at load), named `directory` in messages;
  /// `owner` keeps the bytes alive as long as the archive.
  static std::unique_ptr<SafeTensorsArchive>
  fromTensors(std::string directory, std::vector<TensorInfo> tensors,
              std::shared_ptr<const void> owner);

private:
  SafeTensorsArchive() = default;
  /// Indexes every tensor of `file` and keeps it.
  void addFile(std::unique_ptr<SafeTensorsFile> file);

  std::string dir;
  std::vector<std::unique_ptr<SafeTensorsFile>> fileList;
  /// fromTensors's tensors and what keeps their bytes alive.
  std::vector<TensorInfo> foreign;
  std::shared_ptr<const void> foreignOwner;
  std::map<std::string, const TensorInfo *, std::less<>> index;
};

/// The index of the first NaN or infinite element of a floating-point `t`
/// (F64, F32, F16, BF16), or -1 when every element is finite or `t` holds
/// integers. Reads the bits only: cheap enough to scan a whole checkpoint.
int64_t findNonFinite(const TensorInfo &t);

/// Converts the elements of `t` to fp32 into `out`, which must hold
/// t.getNumElements() floats. Supports every dtype except C64; integers are
/// converted by value (rounded to the nearest float), BOOL as 0/1.
Status copyAsF32(const TensorInfo &t, float *out);

/// A tensor to serialize: `data` must hold exactly
/// product(shape) * getDTypeSize(dtype) little-endian bytes.
struct TensorToWrite {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  ByteSpan data;
};

/// Writes a safetensors file readable by the Python `safetensors` package:
/// tensors laid out back to back in the given order, header padded with
/// spaces to a multiple of 8 bytes. The file is written to a temporary next
/// to it and renamed into place.
/// `alignment` (a power of two, at least 8) pads the header so that the
/// data section starts at a multiple of it in the file; tensors whose
/// offsets must be aligned too are the caller's to pad.
Status writeSafeTensors(
    std::string_view path, const std::vector<TensorToWrite> &tensors,
    const std::vector<std::pair<std::string, std::string>> &metadata = {},
    uint64_t alignment = 8);

} // namespace llmrt

#endif // LLM_RUNTIME_SAFETENSORS_H
