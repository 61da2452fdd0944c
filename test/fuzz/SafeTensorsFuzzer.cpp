//===- SafeTensorsFuzzer.cpp - libFuzzer target for the safetensors reader ===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// Feeds arbitrary bytes to llmrt::SafeTensorsFile::openBuffer. Whatever the
// input, the reader must return a value or a Status (no crash, no sanitizer
// report, no unbounded allocation); every tensor it accepts must lie inside
// its copy of the bytes, and copyAsF32 must succeed on it (except for C64).
//
// Build and run (a seed corpus of valid files helps; any .safetensors files
// will do): configure with -DLLMC_BUILD_FUZZERS=ON and build
// safetensors-fuzzer, or directly (no LLVM needed):
//   clang++-22 -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined \
//     -Iruntime runtime/SafeTensors.cpp runtime/Json.cpp \
//     test/fuzz/SafeTensorsFuzzer.cpp -o safetensors-fuzzer
//   ./safetensors-fuzzer -max_total_time=60 -dict=test/fuzz/safetensors.dict \
//     corpus/
//
//===----------------------------------------------------------------------===//

#include "SafeTensors.h"

#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

using namespace llmrt;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char *>(data), size);
  auto file = SafeTensorsFile::openBuffer(bytes, "fuzz.safetensors");
  if (!file)
    return 0;
  // The tensors point into the file's copy of the bytes, which starts with
  // the 8-byte length and the header: recover its bounds from the layout.
  const uint8_t *begin = nullptr, *end = nullptr;
  if (!(*file)->tensors().empty()) {
    const TensorInfo &first = (*file)->tensors().front();
    begin = first.data - 8 - (*file)->getHeaderSize();
    end = begin + size;
  }
  uint64_t covered = 0;
  for (const TensorInfo &t : (*file)->tensors()) {
    // The invariants the reader promises.
    if (t.data < begin || t.data > end ||
        t.numBytes > static_cast<uint64_t>(end - t.data) ||
        (*file)->lookup(t.name) != &t ||
        static_cast<uint64_t>(t.getNumElements()) * getDTypeSize(t.dtype) !=
            t.numBytes)
      abort();
    covered += t.numBytes;
    // Elements are at least a byte, so this is bounded by the input size.
    std::vector<float> out(t.getNumElements());
    Status s = copyAsF32(t, out.data());
    if (!s.isOk() && t.dtype != DType::C64)
      abort();
  }
  if (covered != (*file)->getDataSize() ||
      8 + (*file)->getHeaderSize() + (*file)->getDataSize() != size)
    abort();
  return 0;
}
