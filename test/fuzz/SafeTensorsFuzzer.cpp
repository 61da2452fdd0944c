//===- SafeTensorsFuzzer.cpp - libFuzzer target for the safetensors reader ===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// Feeds arbitrary bytes to SafeTensorsFile::openBuffer. Whatever the input,
// the reader must return a value or an llvm::Error (no crash, no sanitizer
// report, no unbounded allocation); every tensor it accepts must lie inside
// the buffer, and copyAsF32 must succeed on it (except for C64).
//
// Build and run (a seed corpus of valid files helps; any .safetensors files
// will do):
//   clang++-22 -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined \
//     -Iinclude -I/usr/lib/llvm-22/include lib/Import/SafeTensors.cpp \
//     test/fuzz/SafeTensorsFuzzer.cpp -L/usr/lib/llvm-22/lib -lLLVM \
//     -Wl,-rpath,/usr/lib/llvm-22/lib -o safetensors-fuzzer
//   ./safetensors-fuzzer -max_total_time=60 -dict=test/fuzz/safetensors.dict \
//     corpus/
//
//===----------------------------------------------------------------------===//

#include "llm/Import/SafeTensors.h"

#include "llvm/Support/MemoryBuffer.h"

#include <cstdint>
#include <cstdlib>
#include <vector>

using namespace mlir::llm;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef bytes(reinterpret_cast<const char *>(data), size);
  auto file = SafeTensorsFile::openBuffer(llvm::MemoryBuffer::getMemBuffer(
      bytes, "fuzz.safetensors", /*RequiresNullTerminator=*/false));
  if (!file) {
    llvm::consumeError(file.takeError());
    return 0;
  }
  const uint8_t *end = data + size;
  uint64_t covered = 0;
  for (const TensorInfo &t : (*file)->tensors()) {
    // The invariants the reader promises.
    if (t.data < data || t.data > end ||
        t.numBytes > static_cast<uint64_t>(end - t.data) ||
        (*file)->lookup(t.name) != &t ||
        static_cast<uint64_t>(t.getNumElements()) * getDTypeSize(t.dtype) !=
            t.numBytes)
      abort();
    covered += t.numBytes;
    // Elements are at least a byte, so this is bounded by the input size.
    std::vector<float> out(t.getNumElements());
    if (llvm::Error e = copyAsF32(t, out.data())) {
      if (t.dtype != DType::C64)
        abort();
      llvm::consumeError(std::move(e));
    }
  }
  if (covered != (*file)->getDataSize() ||
      8 + (*file)->getHeaderSize() + (*file)->getDataSize() != size)
    abort();
  return 0;
}
