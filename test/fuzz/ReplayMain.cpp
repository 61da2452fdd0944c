//===- ReplayMain.cpp - Run a fuzz harness over saved inputs --------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// A main() for the harnesses of test/fuzz in builds without libFuzzer: it
// calls LLVMFuzzerTestOneInput on every file named on the command line (or
// every file of a named folder), as libFuzzer does when given files. The
// normal and sanitizer test suites replay the committed corpora and the
// inputs of past findings through it (test/fuzz/replay.test), so the
// harnesses build and every finding stays fixed without a fuzzing build.
//
//===----------------------------------------------------------------------===//

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv) {
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    llvm::StringRef arg(argv[i]);
    if (!llvm::sys::fs::is_directory(arg)) {
      files.push_back(arg.str());
      continue;
    }
    std::vector<std::string> inFolder;
    std::error_code ec;
    for (llvm::sys::fs::directory_iterator it(arg, ec), end; it != end && !ec;
         it.increment(ec))
      if (llvm::sys::fs::is_regular_file(it->path()))
        inFolder.push_back(it->path());
    if (ec) {
      llvm::errs() << arg << ": " << ec.message() << "\n";
      return 1;
    }
    std::sort(inFolder.begin(), inFolder.end());
    files.insert(files.end(), inFolder.begin(), inFolder.end());
  }
  if (files.empty()) {
    llvm::errs() << "usage: " << argv[0] << " FILE|FOLDER...\n";
    return 1;
  }
  for (const std::string &file : files) {
    llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
        llvm::MemoryBuffer::getFile(file, /*IsText=*/false,
                                    /*RequiresNullTerminator=*/false);
    if (!buffer) {
      llvm::errs() << file << ": " << buffer.getError().message() << "\n";
      return 1;
    }
    // A copy of exactly the file's bytes, as libFuzzer passes them: a
    // harness that reads past the end is caught by the sanitizers.
    std::vector<uint8_t> bytes((*buffer)->getBufferStart(),
                               (*buffer)->getBufferEnd());
    LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
  }
  llvm::outs() << "replayed " << files.size() << " inputs\n";
  return 0;
}
