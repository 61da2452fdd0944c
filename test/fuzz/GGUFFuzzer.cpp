//===- GGUFFuzzer.cpp - libFuzzer target for the GGUF reader --------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// Feeds arbitrary bytes to llmrt::GGUFFile::openBuffer. Whatever the input,
// the reader must return a value or a Status (no crash, no sanitizer report,
// no unbounded allocation); every tensor it accepts must lie inside its copy
// of the bytes, not overlap another, be found by its name, and hold the
// bytes its type and dims say; every metadata key must be found. A file
// with tokenizer metadata is then given to the tokenizer loader, which must
// return a tokenizer or a Status, and a tokenizer it returns must encode a
// text and decode the ids with ids inside its vocabulary.
//
// Build and run: configure with -DLLMC_BUILD_FUZZERS=ON and build
// gguf-fuzzer (scripts/fuzz.sh), then
//   ./gguf-fuzzer -max_total_time=60 corpus/ test/fuzz/regressions/gguf
//
//===----------------------------------------------------------------------===//

#include "GGUF.h"
#include "Tokenizer.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

using namespace llmrt;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char *>(data), size);
  auto file = GGUFFile::openBuffer(bytes, "fuzz.gguf");
  if (!file)
    return 0;
  const GGUFFile &f = **file;
  for (const std::string &key : f.getKeys())
    if (!f.find(key))
      abort();
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const GGUFTensor &t : f.tensors()) {
    const GGMLTypeInfo *info = getGGMLTypeInfo(t.type);
    if (!info || f.lookup(t.name) != &t || t.dims.empty() ||
        t.dims.size() > 4 || t.dims[0] % info->blockSize != 0 ||
        static_cast<uint64_t>(t.getNumElements() / info->blockSize *
                              info->blockBytes) != t.numBytes ||
        t.offset % f.getAlignment() != 0 ||
        f.getDataOffset() + t.offset + t.numBytes > size)
      abort();
    // Read every byte: out of bounds would be a sanitizer report.
    volatile uint8_t sum = 0;
    for (uint64_t i = 0; i < t.numBytes; ++i)
      sum = sum + t.data[i];
    ranges.push_back({t.offset, t.offset + t.numBytes});
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].first < ranges[i - 1].second)
      abort();
  if (!f.find("tokenizer.ggml.model"))
    return 0;
  auto tokenizer = Tokenizer::fromGGUF(f);
  if (!tokenizer)
    return 0;
  auto ids = (*tokenizer)->encode("Hello, world 123 \xc3\xa9!", true);
  if (!ids)
    return 0;
  for (int32_t id : *ids)
    if (id < 0 || id >= (*tokenizer)->getVocabSize())
      abort();
  (void)(*tokenizer)->decode(*ids, false);
  return 0;
}
