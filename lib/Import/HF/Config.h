//===- Config.h - Typed, strict access to config.json -----------*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// Private to the Hugging Face importer. A ConfigFile is a config.json parsed
// once; the importer reads it through Config views, each of which keeps the
// first error of the fields read through it, so that one failed import leaves
// the next one a clean slate.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_LIB_IMPORT_HF_CONFIG_H
#define LLM_LIB_IMPORT_HF_CONFIG_H

#include "llm/Import/HFImporter.h"

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <optional>
#include <string>
#include <vector>

namespace mlir::llm::hf {

/// An llvm::Error carrying `message`.
llvm::Error makeError(const llvm::Twine &message);

/// A JSON file whose top level is an object (config.json,
/// generation_config.json), parsed once.
class ConfigFile {
public:
  /// Reads and parses `path`; the error names the file.
  static llvm::Expected<ConfigFile> read(llvm::StringRef path);
  /// Parses `text`, which errors name `path`.
  static llvm::Expected<ConfigFile> parse(llvm::StringRef text,
                                          llvm::StringRef path);

  const std::string &getPath() const { return path; }
  const llvm::json::Object &getObject() const { return object; }

private:
  ConfigFile(std::string path, llvm::json::Object object)
      : path(std::move(path)), object(std::move(object)) {}

  std::string path;
  llvm::json::Object object;
};

/// Typed access to a ConfigFile (or to an object nested in one) whose errors
/// name the file and the field. The first error sticks: getters then return
/// their fallback and the caller reports takeError(). A view must not outlive
/// the object it reads.
class Config {
public:
  explicit Config(const ConfigFile &file)
      : Config(file.getPath(), file.getObject()) {}
  Config(std::string file, const llvm::json::Object &object)
      : file(std::move(file)), object(&object) {}

  /// Whether `key` is present and not null.
  bool has(llvm::StringRef key) const;

  /// A required integer field.
  int64_t getInt(llvm::StringRef key);
  int64_t getInt(llvm::StringRef key, int64_t fallback);
  /// A required positive integer. After a failure (this field's or an
  /// earlier one's) it returns a positive value, so that the sizes read
  /// before the error is reported can be divided by.
  int64_t getPositive(llvm::StringRef key);
  int64_t getPositive(llvm::StringRef key, int64_t fallback);
  /// A finite number (1e999, which JSON parsers read as infinity, is not).
  double getDouble(llvm::StringRef key, double fallback);
  /// A finite number > 0 (epsilons, rope theta, scaling factors).
  double getPositiveDouble(llvm::StringRef key, double fallback);
  bool getBool(llvm::StringRef key, bool fallback);
  std::string getString(llvm::StringRef key, llvm::StringRef fallback);
  /// Integer or list of integers (eos_token_id).
  std::vector<int64_t> getIntList(llvm::StringRef key);
  /// List of strings (layer_types); empty when absent or null.
  std::vector<std::string> getStringList(llvm::StringRef key);
  /// A nested object (rope_scaling), or std::nullopt when absent/null.
  std::optional<Config> getObject(llvm::StringRef key);

  void fail(const llvm::Twine &message) {
    if (!error)
      error = message.str();
  }
  /// Checks a relation between fields; `message` states expected vs found.
  void check(bool ok, const llvm::Twine &message) {
    if (!ok)
      fail(file + ": " + message);
  }
  llvm::Error takeError() {
    return error ? makeError(*error) : llvm::Error::success();
  }
  bool failed() const { return error.has_value(); }
  const std::string &getFile() const { return file; }

private:
  /// `v` if positive, else fails (naming `key`) and returns 1.
  int64_t positive(llvm::StringRef key, int64_t v);
  /// `v` as an integer within int32, or std::nullopt after failing.
  std::optional<int64_t> toInt(llvm::StringRef key, const llvm::json::Value &v);

  std::string file;
  const llvm::json::Object *object;
  std::optional<std::string> error;
};

/// Reads the family's fields of HFModelInfo (hidden size, positions, ...)
/// from config.json.
using ModelInfoReader = void (*)(Config &config, HFModelInfo &info);

/// The ModelInfoReader of the families whose hidden size is `hidden_size` and
/// whose positions are unbounded (RoPE, ALiBi).
void readHiddenSize(Config &config, HFModelInfo &info);

/// The checks every family shares, around its own: `vocab_size`, then
/// `readFamilyInfo`, then `eos_token_id`, which generation_config.json in
/// `modelDir` overrides (as does its `decoder_start_token_id`) when present.
/// `config` is config.json, whose `model_type` (in `info`) is known.
llvm::Error readModelInfo(Config &config, llvm::StringRef modelDir,
                          ModelInfoReader readFamilyInfo, HFModelInfo &info);

} // namespace mlir::llm::hf

#endif // LLM_LIB_IMPORT_HF_CONFIG_H
