//===- CompileCache.cpp - Compiled models on disk, reused -----------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "llm/JIT/CompileCache.h"
#include "llm/JIT/NativeCode.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SHA256.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Support/xxhash.h"

#include <link.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

using namespace mlir;
using namespace mlir::llm;

namespace {

llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// "name size mtime-ns" of the file at `path`.
std::string describeFile(llvm::StringRef path,
                         const llvm::sys::fs::file_status &status) {
  return llvm::formatv("{0} {1} {2}", path, status.getSize(),
                       std::chrono::duration_cast<std::chrono::nanoseconds>(
                           status.getLastModificationTime().time_since_epoch())
                           .count())
      .str();
}

/// The LLMC libraries in this process (the compiler's code), described.
std::vector<std::string> compilerLibraries() {
  std::vector<std::string> libraries;
  dl_iterate_phdr(
      [](struct dl_phdr_info *info, size_t, void *data) {
        llvm::StringRef path = info->dlpi_name ? info->dlpi_name : "";
        llvm::StringRef name = llvm::sys::path::filename(path);
        if (name.starts_with("libLLM") || name.starts_with("libllmrt")) {
          llvm::sys::fs::file_status status;
          if (!llvm::sys::fs::status(path, status))
            static_cast<std::vector<std::string> *>(data)->push_back(
                describeFile(path, status));
        }
        return 0;
      },
      &libraries);
  std::sort(libraries.begin(), libraries.end());
  return libraries;
}

std::string join(const std::vector<int64_t> &values) {
  std::string out;
  for (int64_t v : values)
    out += (out.empty() ? "" : ",") + std::to_string(v);
  return out;
}

uint64_t checksum(llvm::StringRef bytes) { return llvm::xxh3_64bits(bytes); }

} // namespace

std::string CompileCache::getDefaultDirectory() {
  if (const char *dir = std::getenv("LLMC_CACHE_DIR"); dir && *dir)
    return dir;
  llvm::SmallString<256> path;
  if (const char *xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    path = xdg;
  else if (const char *home = std::getenv("HOME"); home && *home)
    llvm::sys::path::append(path, home, ".cache");
  else
    return "";
  llvm::sys::path::append(path, "llmc");
  return path.str().str();
}

llvm::Expected<std::string> CompileCache::makeKey(llvm::StringRef modelPath,
                                                  const JITOptions &options,
                                                  llvm::StringRef extra) {
  std::string key;
  llvm::raw_string_ostream os(key);
  os << "llmc compile cache 1\n";
  // The model: every file of its folder (config, tokenizer, shards), or the
  // file itself.
  llvm::SmallString<256> absolute(modelPath);
  if (std::error_code ec = llvm::sys::fs::make_absolute(absolute))
    return makeError(llvm::formatv("{0}: cannot resolve the path: {1}",
                                   modelPath, ec.message()));
  llvm::sys::path::remove_dots(absolute, /*remove_dot_dot=*/true);
  os << "model " << absolute << "\n";
  llvm::sys::fs::file_status status;
  if (std::error_code ec = llvm::sys::fs::status(absolute, status))
    return makeError(
        llvm::formatv("{0}: cannot read: {1}", absolute, ec.message()));
  std::vector<std::string> files;
  if (status.type() == llvm::sys::fs::file_type::directory_file) {
    std::error_code ec;
    for (llvm::sys::fs::directory_iterator it(absolute, ec), end;
         it != end && !ec; it.increment(ec)) {
      llvm::sys::fs::file_status fileStatus;
      if (llvm::sys::fs::status(it->path(), fileStatus) ||
          fileStatus.type() != llvm::sys::fs::file_type::regular_file)
        continue;
      files.push_back(
          describeFile(llvm::sys::path::filename(it->path()), fileStatus));
    }
    if (ec)
      return makeError(llvm::formatv("{0}: cannot list the folder: {1}",
                                     absolute, ec.message()));
    std::sort(files.begin(), files.end());
  } else {
    files.push_back(describeFile(llvm::sys::path::filename(absolute), status));
  }
  for (const std::string &file : files)
    os << "file " << file << "\n";
  // The options that decide the code.
  os << "target " << options.target << "\n";
  os << "kv_cache " << options.kvCache << "\nseq_len " << options.seqLen << " "
     << options.decoderSeqLen << "\nprompt_lens " << join(options.promptLens)
     << "\nencoder_lens " << join(options.encoderLens)
     << "\ndecoder_prompt_len " << options.decoderPromptLen << "\ndecode_batch "
     << options.decodeBatch << "\nmax_seq_len " << options.maxSeqLen
     << "\nblock_size " << options.blockSize << "\ncache_dtype "
     << options.cacheDtype << "\nlast_logits_only " << options.lastLogitsOnly
     << "\nquantize " << options.quantizeBits << " "
     << options.quantizeGroupSize << " " << options.quantizeSymmetric << " "
     << options.quantizeSkip << " " << options.quantizeActivations << " "
     << options.quantizeMethod << "\ndecompose_attention "
     << options.decomposeAttention << "\nattention_passes "
     << options.attentionPasses << "\nmoe_decode_max_tokens "
     << options.moeDecodeMaxTokens << "\nopt_level " << options.optLevel
     << "\nallow_unused_weights " << options.allowUnusedWeights << "\nextra "
     << extra << "\n";
  // The compiler and the CPU it compiles for.
  os << "llvm " << LLVM_VERSION_STRING << "\n";
  for (const std::string &library : compilerLibraries())
    os << "library " << library << "\n";
  HostCPU cpu = getHostCPU();
  os << "cpu " << cpu.name << " " << cpu.features << "\n";
  return key;
}

std::string CompileCache::entryPath(const std::string &key) const {
  std::array<uint8_t, 32> hash = llvm::SHA256::hash(llvm::ArrayRef(
      reinterpret_cast<const uint8_t *>(key.data()), key.size()));
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, llvm::toHex(hash, /*LowerCase=*/true));
  return path.str().str();
}

std::optional<CompileCache::Entry> CompileCache::lookup(
    const std::string &key,
    const std::function<void(const std::string &)> &note) const {
  std::string path = entryPath(key);
  if (!llvm::sys::fs::is_directory(path))
    return std::nullopt;
  auto read = [&](llvm::StringRef name) -> std::optional<std::string> {
    llvm::SmallString<256> file(path);
    llvm::sys::path::append(file, name);
    llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
        llvm::MemoryBuffer::getFile(file, /*IsText=*/false,
                                    /*RequiresNullTerminator=*/false);
    if (!buffer)
      return std::nullopt;
    return (*buffer)->getBuffer().str();
  };
  auto damaged = [&](const std::string &why) -> std::optional<Entry> {
    if (note)
      note(llvm::formatv("compile cache: the entry {0} is damaged ({1}): "
                         "compiling again",
                         path, why)
               .str());
    llvm::sys::fs::remove_directories(path);
    return std::nullopt;
  };
  std::optional<std::string> storedKey = read("key.txt");
  std::optional<std::string> check = read("check.json");
  std::optional<std::string> manifest = read("manifest.json");
  std::optional<std::string> library = read("model.so");
  if (!storedKey || !check || !manifest || !library)
    return damaged("a file is missing");
  if (*storedKey != key)
    return damaged("its key differs from this compilation's");
  llvm::Expected<llvm::json::Value> parsed = llvm::json::parse(*check);
  if (!parsed) {
    llvm::consumeError(parsed.takeError());
    return damaged("check.json is not JSON");
  }
  const llvm::json::Object *sums = parsed->getAsObject();
  auto matches = [&](llvm::StringRef field, const std::string &bytes) {
    std::optional<llvm::StringRef> sum =
        sums ? sums->getString(field) : std::nullopt;
    return sum && *sum == llvm::utohexstr(checksum(bytes)) + ":" +
                              std::to_string(bytes.size());
  };
  if (!matches("manifest", *manifest))
    return damaged("manifest.json does not match its checksum");
  if (!matches("library", *library))
    return damaged("model.so does not match its checksum");
  llvm::SmallString<256> libraryPath(path);
  llvm::sys::path::append(libraryPath, "model.so");
  return Entry{std::move(*manifest), libraryPath.str().str()};
}

llvm::Expected<CompileCache::Entry>
CompileCache::store(const std::string &key, ModuleOp lowered,
                    const std::string &manifest, unsigned optLevel) {
  std::string path = entryPath(key);
  if (std::error_code ec = llvm::sys::fs::create_directories(dir))
    return makeError(llvm::formatv("compile cache: cannot create {0}: {1}", dir,
                                   ec.message()));
  llvm::SmallString<256> staging;
  if (std::error_code ec =
          llvm::sys::fs::createUniqueDirectory(path + ".tmp", staging))
    return makeError(llvm::formatv("compile cache: cannot create a folder "
                                   "in {0}: {1}",
                                   dir, ec.message()));
  auto fail = [&](llvm::Error err) -> llvm::Error {
    llvm::sys::fs::remove_directories(staging);
    return err;
  };
  auto write = [&](llvm::StringRef name, llvm::StringRef bytes) -> llvm::Error {
    llvm::SmallString<256> file(staging);
    llvm::sys::path::append(file, name);
    std::error_code ec;
    llvm::raw_fd_ostream os(file, ec);
    if (!ec) {
      os << bytes;
      os.close();
      ec = os.error();
      // A stream destroyed with an unchecked error ends the process.
      os.clear_error();
    }
    if (ec)
      return makeError(llvm::formatv("compile cache: cannot write {0}: {1}",
                                     file, ec.message()));
    return llvm::Error::success();
  };
  llvm::SmallString<256> library(staging);
  llvm::sys::path::append(library, "model.so");
  if (llvm::Error err = emitSharedLibrary(lowered, optLevel, library))
    return fail(std::move(err));
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> code =
      llvm::MemoryBuffer::getFile(library, false, false);
  if (!code)
    return fail(makeError("compile cache: cannot read back " + library));
  llvm::json::Object sums{
      {"manifest", llvm::utohexstr(checksum(manifest)) + ":" +
                       std::to_string(manifest.size())},
      {"library", llvm::utohexstr(checksum((*code)->getBuffer())) + ":" +
                      std::to_string((*code)->getBufferSize())}};
  std::string check;
  llvm::raw_string_ostream(check) << llvm::json::Value(std::move(sums));
  if (llvm::Error err = write("manifest.json", manifest))
    return fail(std::move(err));
  if (llvm::Error err = write("key.txt", key))
    return fail(std::move(err));
  // check.json last: an entry without it is incomplete.
  if (llvm::Error err = write("check.json", check))
    return fail(std::move(err));
  // A damaged entry of the same key was removed by lookup; one another
  // process renamed into place meanwhile is as good as this one.
  if (std::error_code ec = llvm::sys::fs::rename(staging, path)) {
    llvm::sys::fs::remove_directories(staging);
    if (!llvm::sys::fs::is_directory(path))
      return makeError(llvm::formatv("compile cache: cannot move the entry "
                                     "into {0}: {1}",
                                     path, ec.message()));
  }
  llvm::SmallString<256> placed(path);
  llvm::sys::path::append(placed, "model.so");
  return Entry{manifest, placed.str().str()};
}
