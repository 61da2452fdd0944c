//===- CompileCache.h - Compiled models on disk, reused ---------*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
// The JIT's compile cache: compiling a model again with the same options
// reuses the code compiled the first time, skipping import, the pass
// pipeline and LLVM. An entry is a folder named by the SHA-256 of its key
// and holds `key.txt` (the key itself, compared on lookup), the entry
// points' `manifest.json`, `model.so` (NativeCode.h) and `check.json` (the
// xxh3 checksums and sizes of both). The key is the text of everything the
// code depends on:
//   - the model's identity: its absolute path and, for every regular file
//     in its folder (or the GGUF file), the name, size and modification
//     time (not the content: hashing gigabytes of weights would cost more
//     than compiling);
//   - the compile options (entry points, shapes, KV cache, quantization,
//     passes, optimization level) and the caller's extra options;
//   - the compiler: LLVM's version and the path, size and modification
//     time of every LLMC library in the process;
//   - the host CPU's name and features.
// An entry is written into a temporary folder and renamed into place, so
// that concurrent compilations of one key never see half an entry; one
// whose files do not match its checksums is reported, removed and rebuilt.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_JIT_COMPILECACHE_H
#define LLM_JIT_COMPILECACHE_H

#include "llm/JIT/JIT.h"

#include "llvm/Support/Error.h"

#include <functional>
#include <optional>
#include <string>

namespace mlir::llm {

class CompileCache {
public:
  /// A cache in `dir`, created when first written.
  explicit CompileCache(std::string dir) : dir(std::move(dir)) {}

  /// The default folder: $LLMC_CACHE_DIR, else $XDG_CACHE_HOME/llmc, else
  /// $HOME/.cache/llmc; empty when none is set.
  static std::string getDefaultDirectory();

  /// The key of compiling the model at `modelPath` with `options` (and the
  /// caller's `extra` options, as text); fails when the model's files
  /// cannot be listed.
  static llvm::Expected<std::string> makeKey(llvm::StringRef modelPath,
                                             const JITOptions &options,
                                             llvm::StringRef extra);

  struct Entry {
    std::string manifest;
    std::string library;
  };
  /// The entry of `key`: its manifest's text and its library's path, when
  /// present and intact. A damaged entry is reported through `note` and
  /// removed: the caller compiles and stores it again.
  std::optional<Entry>
  lookup(const std::string &key,
         const std::function<void(const std::string &)> &note) const;

  /// Compiles `lowered` (after llm-lower-to-cpu) into the entry of `key`
  /// with `manifest`, and returns it. An entry another process stored
  /// meanwhile is kept.
  llvm::Expected<Entry> store(const std::string &key, ModuleOp lowered,
                              const std::string &manifest, unsigned optLevel);

  const std::string &getDirectory() const { return dir; }

private:
  std::string entryPath(const std::string &key) const;

  std::string dir;
};

} // namespace mlir::llm

#endif // LLM_JIT_COMPILECACHE_H
