//===- Config.cpp - Typed, strict access to config.json -------------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "Config.h"

#include "llm/Import/JSON.h"

#include "SafeTensors.h"
#include "Sampler.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <cmath>
#include <limits>

using namespace mlir::llm;
using namespace mlir::llm::hf;

llvm::Error hf::makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

static std::string describe(const llvm::json::Value &v) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << v;
  return text;
}

llvm::Expected<ConfigFile> ConfigFile::read(llvm::StringRef path) {
  // Reading a FIFO or a device could block forever.
  llvm::sys::fs::file_status status;
  if (!llvm::sys::fs::status(path, status) &&
      status.type() != llvm::sys::fs::file_type::regular_file)
    return makeError(
        llvm::formatv("{0}: expected a regular file, found {1}", path,
                      status.type() == llvm::sys::fs::file_type::directory_file
                          ? "a directory"
                          : "a special file"));
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    return makeError(llvm::formatv("{0}: cannot read: {1}", path,
                                   buffer.getError().message()));
  return parse((*buffer)->getBuffer(), path);
}

llvm::Expected<ConfigFile> ConfigFile::parse(llvm::StringRef text,
                                             llvm::StringRef path) {
  // Depth-limited: llvm::json::parse alone overflows the stack on deep
  // nesting.
  llvm::Expected<llvm::json::Value> json = parseJsonBounded(text, path);
  if (!json)
    return json.takeError();
  llvm::json::Object *object = json->getAsObject();
  if (!object)
    return makeError(llvm::formatv("{0}: expected a JSON object at the top "
                                   "level, found {1}",
                                   path, describe(*json)));
  return ConfigFile(path.str(), std::move(*object));
}

//===----------------------------------------------------------------------===//
// Config
//===----------------------------------------------------------------------===//

bool Config::has(llvm::StringRef key) const {
  const llvm::json::Value *v = object->get(key);
  return v && v->kind() != llvm::json::Value::Null;
}

int64_t Config::getInt(llvm::StringRef key) {
  if (!has(key)) {
    fail(llvm::formatv("{0}: missing field '{1}' (an integer)", file, key));
    return 0;
  }
  return getInt(key, 0);
}

int64_t Config::getInt(llvm::StringRef key, int64_t fallback) {
  if (!has(key))
    return fallback;
  if (std::optional<int64_t> v = toInt(key, *object->get(key)))
    return *v;
  return fallback;
}

int64_t Config::getPositive(llvm::StringRef key) {
  return positive(key, getInt(key));
}

int64_t Config::getPositive(llvm::StringRef key, int64_t fallback) {
  return positive(key, getInt(key, fallback));
}

int64_t Config::positive(llvm::StringRef key, int64_t v) {
  if (v > 0)
    return v;
  if (!error)
    fail(llvm::formatv("{0}: field '{1}': expected a positive integer, "
                       "found {2}",
                       file, key, v));
  // A size or a count that failed to read is 1 until the error is reported,
  // so that arithmetic on it (hidden % heads, ...) stays defined.
  return 1;
}

double Config::getDouble(llvm::StringRef key, double fallback) {
  if (!has(key))
    return fallback;
  std::optional<double> v = object->get(key)->getAsNumber();
  if (v && std::isfinite(*v))
    return *v;
  // 1e999 parses as infinity: never a meaningful epsilon, theta or factor.
  fail(llvm::formatv("{0}: field '{1}': expected a {2}number, found {3}", file,
                     key, v ? "finite " : "", describe(*object->get(key))));
  return fallback;
}

double Config::getPositiveDouble(llvm::StringRef key, double fallback) {
  double v = getDouble(key, fallback);
  if (v > 0.0)
    return v;
  if (!error)
    fail(llvm::formatv("{0}: field '{1}': expected a number > 0, found {2}",
                       file, key, llmrt::format_number(v)));
  return fallback;
}

bool Config::getBool(llvm::StringRef key, bool fallback) {
  if (!has(key))
    return fallback;
  if (std::optional<bool> v = object->get(key)->getAsBoolean())
    return *v;
  fail(llvm::formatv("{0}: field '{1}': expected true or false, found {2}",
                     file, key, describe(*object->get(key))));
  return fallback;
}

std::string Config::getString(llvm::StringRef key, llvm::StringRef fallback) {
  if (!has(key))
    return fallback.str();
  if (std::optional<llvm::StringRef> v = object->get(key)->getAsString())
    return v->str();
  fail(llvm::formatv("{0}: field '{1}': expected a string, found {2}", file,
                     key, describe(*object->get(key))));
  return fallback.str();
}

std::vector<int64_t> Config::getIntList(llvm::StringRef key) {
  std::vector<int64_t> result;
  if (!has(key))
    return result;
  const llvm::json::Value *v = object->get(key);
  if (v->kind() == llvm::json::Value::Number) {
    if (std::optional<int64_t> i = toInt(key, *v))
      result.push_back(*i);
  } else if (const llvm::json::Array *array = v->getAsArray()) {
    for (const llvm::json::Value &e : *array)
      if (std::optional<int64_t> i = toInt(key, e))
        result.push_back(*i);
  } else {
    fail(llvm::formatv("{0}: field '{1}': expected an integer or a list of "
                       "integers, found {2}",
                       file, key, describe(*v)));
  }
  return result;
}

std::vector<std::string> Config::getStringList(llvm::StringRef key) {
  if (!has(key))
    return {};
  const llvm::json::Value *v = object->get(key);
  if (const llvm::json::Array *array = v->getAsArray()) {
    std::vector<std::string> result;
    for (const llvm::json::Value &e : *array)
      if (std::optional<llvm::StringRef> text = e.getAsString())
        result.push_back(text->str());
    if (result.size() == array->size())
      return result;
  }
  fail(llvm::formatv("{0}: field '{1}': expected a list of strings, found {2}",
                     file, key, describe(*v)));
  return {};
}

std::optional<Config> Config::getObject(llvm::StringRef key) {
  if (!has(key))
    return std::nullopt;
  if (const llvm::json::Object *o = object->get(key)->getAsObject())
    return Config(file + ": field '" + key.str() + "'", *o);
  fail(llvm::formatv("{0}: field '{1}': expected an object, found {2}", file,
                     key, describe(*object->get(key))));
  return std::nullopt;
}

std::optional<int64_t> Config::toInt(llvm::StringRef key,
                                     const llvm::json::Value &v) {
  // Config integers are sizes that get multiplied together (heads *
  // head_dim, 4 * n_embd, ...) and token ids: within int32, every such
  // product fits in int64.
  constexpr int64_t kMinInt = std::numeric_limits<int32_t>::min();
  constexpr int64_t kMaxInt = std::numeric_limits<int32_t>::max();
  // Never json::Value::getAsInteger() alone: it converts a double equal to
  // 2^63 to int64_t, which is undefined behavior.
  std::optional<double> number = v.getAsNumber();
  std::optional<int64_t> i;
  if (number && *number >= kMinInt && *number <= kMaxInt)
    i = v.getAsInteger(); // Exact integers only: 2.5 is refused.
  if (i)
    return i;
  if (number && std::trunc(*number) == *number)
    fail(llvm::formatv("{0}: field '{1}': expected an integer in [{2}, {3}], "
                       "found {4}",
                       file, key, kMinInt, kMaxInt, describe(v)));
  else
    fail(llvm::formatv("{0}: field '{1}': expected an integer, found {2}", file,
                       key, describe(v)));
  return std::nullopt;
}

//===----------------------------------------------------------------------===//
// HFModelInfo
//===----------------------------------------------------------------------===//

void hf::readHiddenSize(Config &config, HFModelInfo &info) {
  info.hiddenSize = config.getPositive("hidden_size");
}

llvm::Error hf::readModelInfo(Config &config, llvm::StringRef modelDir,
                              ModelInfoReader readFamilyInfo,
                              HFModelInfo &info) {
  info.vocabSize = config.getPositive("vocab_size");
  readFamilyInfo(config, info);
  info.eosTokenIds = config.getIntList("eos_token_id");
  if (llvm::Error err = config.takeError())
    return err;

  // generation_config.json overrides config.json, as in transformers.
  std::string startFile = config.getFile(); // Of decoder_start_token_id.
  llvm::SmallString<256> genPath(modelDir);
  llvm::sys::path::append(genPath, "generation_config.json");
  if (llvm::sys::fs::exists(genPath)) {
    llvm::Expected<ConfigFile> genFile = ConfigFile::read(genPath);
    if (!genFile)
      return genFile.takeError();
    Config gen(*genFile);
    if (gen.has("eos_token_id"))
      info.eosTokenIds = gen.getIntList("eos_token_id");
    if (gen.has("decoder_start_token_id")) {
      info.decoderStartTokenId = gen.getInt("decoder_start_token_id", 0);
      startFile = genPath.str().str();
    }
    if (llvm::Error err = gen.takeError())
      return err;
  }
  if (info.kind == llmrt::ModelKind::EncoderDecoder &&
      (info.decoderStartTokenId < 0 ||
       info.decoderStartTokenId >= info.vocabSize))
    return makeError(llvm::formatv("{0}: field 'decoder_start_token_id': "
                                   "expected a token id in [0, {1}), found {2}",
                                   startFile, info.vocabSize,
                                   info.decoderStartTokenId));
  return llvm::Error::success();
}
