//===- GGUFVocab.cpp - The tokenizer a GGUF file stores -------------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// llama.cpp's converter (convert_hf_to_gguf.py) stores a model's tokenizer as
// metadata:
//   tokenizer.ggml.model       "llama" (SentencePiece BPE), "gpt2" (byte-level
//                              BPE), "bert" (WordPiece) or "t5"
//                              (SentencePiece Unigram);
//   tokenizer.ggml.tokens      the pieces, id = index;
//   tokenizer.ggml.scores      the SentencePiece scores (llama, t5);
//   tokenizer.ggml.token_type  1 normal, 2 unknown, 3 control,
//                              4 user-defined, 5 unused, 6 byte;
//   tokenizer.ggml.merges      "left right", by priority (gpt2);
//   tokenizer.ggml.pre         the pre-tokenizer, by name (gpt2);
//   tokenizer.ggml.{bos,eos,unknown,seperator}_token_id, add_bos_token,
//   add_eos_token, add_space_prefix;
//   tokenizer.ggml.normalizer.{lowercase,strip_accents}  (bert);
//   tokenizer.ggml.precompiled_charsmap, remove_extra_whitespaces  (t5).
// This rebuilds the Hugging Face tokenizer the file was converted from, so
// that its ids are those of `tokenizers`:
//   - llama: the SentencePiece BPE pipeline of transformers' LLaMA converter
//     (merges from the scores, Prepend("\u2581") when add_space_prefix, byte
//     fallback when the vocabulary has byte pieces);
//   - gpt2: byte-level BPE with the pre-tokenizer `tokenizer.ggml.pre` names
//     (gpt-2 and default: GPT-2's regex; llama-bpe: LLaMA 3's split; qwen2:
//     NFC then Qwen2's split; smollm, starcoder: single digits then GPT-2's
//     regex);
//   - bert: WordPiece over the vocabulary the converter wrote in "phantom
//     space" form (a control token as it is, a word-initial piece as
//     "\u2581piece", a continuation "##piece" as "piece"), with
//     BertNormalizer (lowercase unless the file says not; accents stripped
//     as the file says, else with lowercase), BertPreTokenizer, [CLS] and
//     [SEP] around the sequence;
//   - t5: the Unigram pipeline of transformers' T5 converter (the
//     precompiled charsmap, WhitespaceSplit, Metaspace with the
//     add_space_prefix scheme), EOS appended.
// Control and unknown tokens become special added tokens, user-defined ones
// added tokens, as the converter made them from the added tokens (the t5
// kind's, T5's <extra_id_N> sentinels, special ones as in transformers). BOS is
// added when add_bos_token says so, or by the kind's default (llama,
// llama-bpe and bert: yes), EOS when add_eos_token does, or by the kind's
// default (bert and t5: yes).
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
  const bool spm = **kind == "llama", wordPiece = **kind == "bert",
             unigram = **kind == "t5";
  if (!spm && !wordPiece && !unigram && **kind != "gpt2")
    return Status::error(
        ErrorCode::Unsupported,
        reader
            .error("tokenizer.ggml.model",
                   "llama (SentencePiece BPE), gpt2 (byte-level BPE), bert "
                   "(WordPiece) or t5 (SentencePiece Unigram)",
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
  std::vector<float> score(n, 0.0f);
  if (spm || unigram) {
    Expected<const GGUFValue *> scores =
        reader.array("tokenizer.ggml.scores", GGUFType::Float32, n, false);
    if (!scores)
      return scores.takeStatus();
    if (*scores)
      for (int64_t i = 0; i < n; ++i)
        score[i] = static_cast<float>((*scores)->elements[i].real);
  }
  if (wordPiece) {
    // Back from phantom space to WordPiece's "##" continuations.
    for (int64_t i = 0; i < n; ++i) {
      std::string &piece = pieces[i];
      if (type[i] == Control)
        continue;
      if (piece.rfind("\xe2\x96\x81", 0) == 0)
        piece.erase(0, 3);
      else
        piece.insert(0, "##");
    }
    std::vector<std::pair<std::string, int32_t>> vocab;
    vocab.reserve(n);
    for (int64_t i = 0; i < n; ++i)
      vocab.emplace_back(pieces[i], static_cast<int32_t>(i));
    std::string unk = *unkKey ? pieces[**unkKey] : "[UNK]";
    Expected<std::unique_ptr<Model>> model =
        makeWordPiece(std::move(vocab), unk, "##", 100);
    if (!model)
      return Status::error(
          ErrorCode::Format,
          path + ": metadata 'tokenizer.ggml.tokens': " + model.error());
    impl->model = std::move(*model);
    Expected<std::optional<bool>> lower =
        reader.optionalBool("tokenizer.ggml.normalizer.lowercase");
    if (!lower)
      return lower.takeStatus();
    Expected<std::optional<bool>> accents =
        reader.optionalBool("tokenizer.ggml.normalizer.strip_accents");
    if (!accents)
      return accents.takeStatus();
    impl->normalizer =
        makeBertNormalizer(true, true, *accents, lower->value_or(true));
    impl->preTokenizer = makeBertPreTokenizer();
    impl->decoder = makeWordPieceDecoder("##", true);
    impl->description = path + " (GGUF bert: WordPiece)";
  } else if (unigram) {
    std::vector<std::pair<std::string, double>> vocab;
    vocab.reserve(n);
    std::optional<int64_t> unkId;
    if (*unkKey)
      unkId = **unkKey;
    bool byteFallback = false;
    for (int64_t i = 0; i < n; ++i) {
      vocab.emplace_back(pieces[i], score[i]);
      if (type[i] == Unknown && !unkId)
        unkId = i;
      byteFallback |= type[i] == Byte;
    }
    Expected<std::unique_ptr<Model>> model =
        makeUnigram(std::move(vocab), unkId, byteFallback);
    if (!model)
      return Status::error(
          ErrorCode::Format,
          path + ": metadata 'tokenizer.ggml.tokens': " + model.error());
    impl->model = std::move(*model);
    const GGUFValue *charsmap =
        file.find("tokenizer.ggml.precompiled_charsmap");
    if (charsmap) {
      if (charsmap->type != GGUFType::Array ||
          (charsmap->elementType != GGUFType::UInt8 &&
           charsmap->elementType != GGUFType::Int8))
        return reader.error("tokenizer.ggml.precompiled_charsmap",
                            "an array of uint8", charsmap->describe());
      std::string bytes;
      bytes.reserve(charsmap->elements.size());
      for (const GGUFValue &b : charsmap->elements)
        bytes.push_back(static_cast<char>(b.integer));
      Expected<std::unique_ptr<Normalizer>> precompiled = makePrecompiled(
          std::move(bytes),
          path + ": metadata 'tokenizer.ggml.precompiled_charsmap'");
      if (!precompiled)
        return precompiled.takeStatus();
      impl->normalizer = std::move(*precompiled);
    }
    Expected<std::optional<bool>> squeeze =
        reader.optionalBool("tokenizer.ggml.remove_extra_whitespaces");
    if (!squeeze)
      return squeeze.takeStatus();
    if (!squeeze->value_or(true))
      return Status::error(
          ErrorCode::Unsupported,
          reader
              .error("tokenizer.ggml.remove_extra_whitespaces",
                     "true (the whitespace split of transformers' Unigram "
                     "converter; LLMC does not keep runs of spaces)",
                     "false")
              .message());
    Expected<std::optional<bool>> spacePrefix =
        reader.optionalBool("tokenizer.ggml.add_space_prefix");
    if (!spacePrefix)
      return spacePrefix.takeStatus();
    int scheme = spacePrefix->value_or(true) ? PrependAlways : PrependNever;
    std::vector<std::unique_ptr<PreTokenizer>> parts;
    parts.push_back(makeWhitespaceSplit());
    parts.push_back(makeMetaspacePreTokenizer(U'\u2581', scheme, true));
    impl->preTokenizer = makePreTokenizerSequence(std::move(parts));
    impl->decoder = makeMetaspaceDecoder(U'\u2581', scheme);
    impl->description = path + " (GGUF t5: SentencePiece Unigram)";
  } else if (spm) {
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
    // T5's user-defined tokens are its sentinels, special in transformers'
    // tokenizer (skipped in decoding as special).
    token.special = type[i] != UserDefined || unigram;
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
  Expected<std::optional<int32_t>> sep =
      reader.optionalId("tokenizer.ggml.seperator_token_id", n);
  if (!sep)
    return sep.takeStatus();
  Expected<std::optional<bool>> addBos =
      reader.optionalBool("tokenizer.ggml.add_bos_token");
  if (!addBos)
    return addBos.takeStatus();
  Expected<std::optional<bool>> addEos =
      reader.optionalBool("tokenizer.ggml.add_eos_token");
  if (!addEos)
    return addEos.takeStatus();
  bool bosByDefault = spm || wordPiece || pre == "llama-bpe" ||
                      pre == "llama3" || pre == "llama-v3";
  // Without the key a SentencePiece vocabulary's BOS is its "<s>", as
  // llama.cpp's default id 1 is in LLaMA's; BERT's are [CLS] and [SEP].
  std::optional<int32_t> bosId = *bos, eosId = *eos;
  if (!bosId && spm)
    bosId = impl->tokenToId("<s>");
  if (wordPiece) {
    if (!bosId)
      bosId = impl->tokenToId("[CLS]");
    if (*sep)
      eosId = *sep;
    if (!eosId)
      eosId = impl->tokenToId("[SEP]");
  }
  std::vector<int32_t> before, after;
  if (addBos->value_or(bosByDefault)) {
    if (bosId)
      before.push_back(*bosId);
    else if (*addBos)
      return reader.error("tokenizer.ggml.bos_token_id",
                          "a token id (add_bos_token is true)", "no such key");
  }
  if (addEos->value_or(wordPiece || unigram)) {
    if (eosId)
      after.push_back(*eosId);
    else if (*addEos)
      return reader.error("tokenizer.ggml.eos_token_id",
                          "a token id (add_eos_token is true)", "no such key");
  }
  impl->postProcessor = makeWrapProcessor(std::move(before), std::move(after));
  return impl;
}
