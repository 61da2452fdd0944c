//===- MappedFile.h - A file's bytes, mapped read-only ----------*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
// The bytes the weight readers (SafeTensors.h, GGUF.h) validate and read in
// place: a read-only private mapping of a regular file, or an owned copy of
// a buffer (the fuzzers, tests).
//
//===----------------------------------------------------------------------===//

#ifndef LLM_RUNTIME_MAPPEDFILE_H
#define LLM_RUNTIME_MAPPEDFILE_H

#include "Error.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace llmrt {

class MappedFile {
public:
  ~MappedFile();

  /// Maps the regular file `openPath` (named `displayName` in messages).
  /// Non-regular files (FIFOs, devices, directories) are refused: they
  /// could block or never end. `maxSize` (0: none) bounds the size.
  static Expected<std::unique_ptr<MappedFile>>
  map(const std::string &openPath, const std::string &displayName,
      uint64_t maxSize = 0);

  /// A copy of `source`; null if memory runs out.
  static std::unique_ptr<MappedFile> copy(std::string_view source);

  std::string_view view() const {
    return {reinterpret_cast<const char *>(data), length};
  }
  const uint8_t *begin() const { return data; }
  size_t size() const { return length; }

private:
  MappedFile() = default;

  const uint8_t *data = nullptr;
  size_t length = 0;
  bool mapped = false;
};

} // namespace llmrt

#endif // LLM_RUNTIME_MAPPEDFILE_H
