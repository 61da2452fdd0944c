//===- GGUFVocab.cpp - The tokenizer a GGUF file stores -------------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// llama.cpp's converter (convert_hf_to_gguf.py) stores a model's tokenizer as
// metadata:
//   tokenizer.ggml.model       "llama" (SentencePiece) or "gpt2" (byte-level
//                              BPE);
//   tokenizer.ggml.tokens      the pieces, id = index;
//   tokenizer.ggml.scores      the SentencePiece scores (llama);
//   tokenizer.ggml.token_type  1 normal, 2 unknown, 3 control,
//                              4 user-defined, 5 unused, 6 byte;
//   tokenizer.ggml.merges      "left right", by priority (gpt2);
//   tokenizer.ggml.pre         the pre-tokenizer, by name (gpt2);
//   tokenizer.ggml.{bos,eos,unknown}_token_id, add_bos_token, add_eos_token,
//   add_space_prefix.
// This rebuilds the Hugging Face tokenizer the file was converted from, so
// that its ids are those of `tokenizers`:
//   - llama: the SentencePiece BPE pipeline of transformers' LLaMA converter
//     (merges from the scores, Prepend("\u2581") when add_space_prefix, byte
//     fallback when the vocabulary has byte pieces);
//   - gpt2: byte-level BPE with the pre-tokenizer `tokenizer.ggml.pre` names
//     (gpt-2 and default: GPT-2's regex; llama-bpe: LLaMA 3's split; qwen2:
//     NFC then Qwen2's split; smollm, starcoder: single digits then GPT-2's
//     regex).
// Control and unknown tokens become special added tokens, user-defined ones
// added tokens, as the converter made them from the added tokens. BOS is
// added when add_bos_token says so, or by the kind's default (llama and
// llama-bpe: yes), EOS when add_eos_token does.
//
//===----------------------------------------------------------------------===//

#include "GGUF.h"
#include "tokenizer/TokenizerImpl.h"
#include "tokenizer/Unicode.h"

using namespace llmrt;
using namespace llmrt::tok;

namespace {

/// llama.cpp's token types (llama_token_type).
enum TokenType : int64_t {
  Normal = 1,
  Unknown = 2,
  Control = 3,
  UserDefined = 4,
  Unused = 5,
  Byte = 6,
};

/// Reads the tokenizer keys of one file, each error naming the file, the
/// key, what was expected and what was found.
class VocabReader {
public:
  explicit VocabReader(const GGUFFile &file) : file(file) {}

  Status error(std::string_view key, std::string expected,
               const std::string &found) const {
    return Status::error(ErrorCode::Format,
                         file.path() + ": metadata '" + std::string(key) +
                             "': expected " + expected + ", found " + found);
  }

  Expected<std::optional<std::string>> optionalString(std::string_view key) {
    const GGUFValue *v = file.find(key);
    if (!v)
      return std::optional<std::string>();
    if (v->type != GGUFType::String)
      return error(key, "a string", v->describe());
    return std::optional<std::string>(v->string);
  }

  Expected<std::optional<bool>> optionalBool(std::string_view key) {
    const GGUFValue *v = file.find(key);
    if (!v)
      return std::optional<bool>();
    if (v->type != GGUFType::Bool)
      return error(key, "a bool", v->describe());
    return std::optional<bool>(v->integer != 0);
  }

  /// A token id in [0, numTokens).
  Expected<std::optional<int32_t>> optionalId(std::string_view key,
                                              int64_t numTokens) {
    const GGUFValue *v = file.find(key);
    if (!v)
      return std::optional<int32_t>();
    if (!v->isInteger() || v->integer < 0 || v->integer >= numTokens ||
        (v->type == GGUFType::UInt64 &&
         v->unsignedInteger >= static_cast<uint64_t>(numTokens)))
      return error(key, "a token id in [0, " + std::to_string(numTokens) + ")",
                   v->describe());
    return std::optional<int32_t>(static_cast<int32_t>(v->integer));
  }

  /// An array of `elementType` with `count` elements (any count if < 0).
  Expected<const GGUFValue *> array(std::string_view key, GGUFType elementType,
                                    int64_t count, bool required) {
    const GGUFValue *v = file.find(key);
    std::string what =
        "an array of " + std::string(getGGUFTypeName(elementType)) +
        (count >= 0
             ? " with " + std::to_string(count) + " elements (one per token)"
             : "");
    if (!v) {
      if (required)
        return error(key, what, "no such key");
      return static_cast<const GGUFValue *>(nullptr);
    }
    if (v->type != GGUFType::Array || v->elementType != elementType ||
        (count >= 0 && static_cast<int64_t>(v->elements.size()) != count))
      return error(key, what, v->describe());
    return v;
  }

private:
  const GGUFFile &file;
};

/// Pre-tokenizer names of tokenizer.ggml.pre and their regexes (those of
/// the tokenizer.json the converter recognised; see the file comment).
constexpr const char *kLlama3Split =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr const char *kQwen2Split =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/// The byte-level pre-tokenizer (and normalizer) named `pre`.
Status setBytePipeline(TokenizerImpl &impl, const std::string &pre,
                       const VocabReader &reader) {
  std::vector<std::unique_ptr<PreTokenizer>> parts;
  auto split = [&](const char *pattern) -> Status {
    Expected<Regex> regex = Regex::compile(pattern);
    if (!regex)
      return regex.takeStatus();
    parts.push_back(makeSplitPreTokenizer(std::move(*regex),
                                          SplitBehavior::Isolated, false));
    return Status::ok();
  };
  Status status = Status::ok();
  if (pre == "default" || pre == "gpt-2" || pre == "gpt2") {
    parts.push_back(makeByteLevelPreTokenizer(false, true));
  } else if (pre == "llama-bpe" || pre == "llama3" || pre == "llama-v3") {
    status = split(kLlama3Split);
    parts.push_back(makeByteLevelPreTokenizer(false, false));
  } else if (pre == "qwen2") {
    impl.normalizer = makeNfc();
    status = split(kQwen2Split);
    parts.push_back(makeByteLevelPreTokenizer(false, false));
  } else if (pre == "smollm" || pre == "starcoder") {
    status = split("\\p{N}");
    parts.push_back(makeByteLevelPreTokenizer(false, true));
  } else {
    return Status::error(
        ErrorCode::Unsupported,
        reader
            .error("tokenizer.ggml.pre",
                   "a pre-tokenizer LLMC knows (default, gpt-2, llama-bpe, "
                   "qwen2, smollm, starcoder)",
                   "\"" + pre + "\"")
            .message());
  }
  if (!status.isOk())
    return status;
  impl.preTokenizer = parts.size() == 1
                          ? std::move(parts.front())
                          : makePreTokenizerSequence(std::move(parts));
  impl.decoder = makeByteLevelDecoder();
  return Status::ok();
}

} // namespace

Expected<std::unique_ptr<TokenizerImpl>> tok::loadGGUF(const GGUFFile &file) {
  const std::string &path = file.path();
  VocabReader reader(file);

  Expected<std::optional<std::string>> kind =
      reader.optionalString("tokenizer.ggml.model");
  if (!kind)
    return kind.takeStatus();
  if (!*kind)
    return Status::error(ErrorCode::Format,
                         path + ": expected a tokenizer (metadata "
                                "'tokenizer.ggml.model' and "
                                "'tokenizer.ggml.tokens'), found none");
  bool spm = **kind == "llama";
  if (!spm && **kind != "gpt2")
    return Status::error(
        ErrorCode::Unsupported,
        reader
            .error("tokenizer.ggml.model",
                   "llama (SentencePiece) or gpt2 (byte-level BPE)",
                   "\"" + **kind + "\"")
            .message());

  Expected<const GGUFValue *> tokens =
      reader.array("tokenizer.ggml.tokens", GGUFType::String, -1, true);
  if (!tokens)
    return tokens.takeStatus();
  int64_t n = static_cast<int64_t>((*tokens)->elements.size());
  if (n == 0 || n > kMaxTokenId + 1)
    return reader.error("tokenizer.ggml.tokens",
                        "1 to " + std::to_string(kMaxTokenId + 1) + " tokens",
                        std::to_string(n));
  std::vector<std::string> pieces;
  pieces.reserve(n);
  for (int64_t i = 0; i < n; ++i) {
    const std::string &piece = (*tokens)->elements[i].string;
    if (!unicode::isValidUtf8(piece))
      return reader.error("tokenizer.ggml.tokens",
                          "UTF-8 text in element " + std::to_string(i),
                          "invalid bytes");
    pieces.push_back(piece);
  }
  Expected<const GGUFValue *> types =
      reader.array("tokenizer.ggml.token_type", GGUFType::Int32, n, false);
  if (!types)
    return types.takeStatus();
  std::vector<int64_t> type(n, Normal);
  if (*types)
    for (int64_t i = 0; i < n; ++i) {
      type[i] = (*types)->elements[i].integer;
      if (type[i] < Normal || type[i] > Byte)
        return reader.error("tokenizer.ggml.token_type",
                            "types 1 to 6 in element " + std::to_string(i),
                            std::to_string(type[i]));
    }

  auto impl = std::make_unique<TokenizerImpl>();
  Expected<std::optional<int32_t>> unkKey =
      reader.optionalId("tokenizer.ggml.unknown_token_id", n);
  if (!unkKey)
    return unkKey.takeStatus();
  Expected<std::optional<std::string>> preKey =
      reader.optionalString("tokenizer.ggml.pre");
  if (!preKey)
    return preKey.takeStatus();
  // The converter writes "default" for SentencePiece; an older gpt2 file
  // without the key meant GPT-2's pre-tokenizer.
  std::string pre = preKey->value_or("default");
  if (pre.empty())
    pre = "default";
  if (spm) {
    Expected<const GGUFValue *> scores =
        reader.array("tokenizer.ggml.scores", GGUFType::Float32, n, false);
    if (!scores)
      return scores.takeStatus();
    std::vector<float> score(n, 0.0f);
    if (*scores)
      for (int64_t i = 0; i < n; ++i)
        score[i] = static_cast<float>((*scores)->elements[i].real);
    std::optional<int64_t> unkId;
    if (*unkKey)
      unkId = **unkKey;
    bool byteFallback = false;
    for (int64_t i = 0; i < n; ++i) {
      if (type[i] == Unknown && !unkId)
        unkId = i;
      byteFallback |= type[i] == Byte;
    }
    Expected<std::optional<bool>> spacePrefix =
        reader.optionalBool("tokenizer.ggml.add_space_prefix");
    if (!spacePrefix)
      return spacePrefix.takeStatus();
    Status status =
        buildSentencePieceBpe(*impl, pieces, score, unkId, byteFallback,
                              spacePrefix->value_or(true), path);
    if (!status.isOk())
      return status;
    impl->description = path + " (GGUF llama: SentencePiece BPE)";
  } else {
    Expected<const GGUFValue *> mergeList =
        reader.array("tokenizer.ggml.merges", GGUFType::String, -1, true);
    if (!mergeList)
      return mergeList.takeStatus();
    std::vector<std::pair<std::string, std::string>> merges;
    merges.reserve((*mergeList)->elements.size());
    for (size_t i = 0; i < (*mergeList)->elements.size(); ++i) {
      const std::string &m = (*mergeList)->elements[i].string;
      size_t space = m.size() > 1 ? m.find(' ', 1) : std::string::npos;
      if (space == std::string::npos || space + 1 == m.size() ||
          !unicode::isValidUtf8(m))
        return reader.error("tokenizer.ggml.merges",
                            "\"left right\" (UTF-8) in element " +
                                std::to_string(i),
                            "\"" + m + "\"");
      merges.emplace_back(m.substr(0, space), m.substr(space + 1));
    }
    std::vector<std::pair<std::string, int32_t>> vocab;
    vocab.reserve(n);
    for (int64_t i = 0; i < n; ++i)
      vocab.emplace_back(pieces[i], static_cast<int32_t>(i));
    BpeOptions options;
    if (*unkKey)
      options.unkToken = pieces[**unkKey];
    Expected<std::unique_ptr<Model>> model = makeBpe(
        std::move(vocab), merges, options,
        [&](size_t index, std::string missing) {
          return reader.error("tokenizer.ggml.merges",
                              "tokens of the vocabulary in element " +
                                  std::to_string(index),
                              "\"" + missing + "\", which is not a token");
        });
    if (!model)
      return model.takeStatus();
    impl->model = std::move(*model);
    Status status = setBytePipeline(*impl, pre, reader);
    if (!status.isOk())
      return status;
    impl->description =
        path + " (GGUF gpt2: byte-level BPE, pre-tokenizer " + pre + ")";
  }

  // Control and unknown tokens are special added tokens; user-defined ones
  // added tokens that are never split.
  for (int64_t i = 0; i < n; ++i) {
    if (type[i] != Unknown && type[i] != Control && type[i] != UserDefined)
      continue;
    AddedToken token;
    token.content = pieces[i];
    token.id = static_cast<int32_t>(i);
    token.special = type[i] != UserDefined;
    Status status = impl->addToken(token);
    if (!status.isOk())
      return Status::error(ErrorCode::Format, path + ": " + status.message());
  }

  Expected<std::optional<int32_t>> bos =
      reader.optionalId("tokenizer.ggml.bos_token_id", n);
  if (!bos)
    return bos.takeStatus();
  Expected<std::optional<int32_t>> eos =
      reader.optionalId("tokenizer.ggml.eos_token_id", n);
  if (!eos)
    return eos.takeStatus();
  Expected<std::optional<bool>> addBos =
      reader.optionalBool("tokenizer.ggml.add_bos_token");
  if (!addBos)
    return addBos.takeStatus();
  Expected<std::optional<bool>> addEos =
      reader.optionalBool("tokenizer.ggml.add_eos_token");
  if (!addEos)
    return addEos.takeStatus();
  bool bosByDefault =
      spm || pre == "llama-bpe" || pre == "llama3" || pre == "llama-v3";
  // Without the key a SentencePiece vocabulary's BOS is its "<s>", as
  // llama.cpp's default id 1 is in LLaMA's.
  std::optional<int32_t> bosId = *bos;
  if (!bosId && spm)
    bosId = impl->tokenToId("<s>");
  std::vector<int32_t> before, after;
  if (addBos->value_or(bosByDefault)) {
    if (bosId)
      before.push_back(*bosId);
    else if (*addBos)
      return reader.error("tokenizer.ggml.bos_token_id",
                          "a token id (add_bos_token is true)", "no such key");
  }
  if (addEos->value_or(false)) {
    if (!*eos)
      return reader.error("tokenizer.ggml.eos_token_id",
                          "a token id (add_eos_token is true)", "no such key");
    after.push_back(**eos);
  }
  impl->postProcessor = makeWrapProcessor(std::move(before), std::move(after));
  return impl;
}
