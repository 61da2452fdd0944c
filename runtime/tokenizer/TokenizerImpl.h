//===- TokenizerImpl.h - The pipeline behind llmrt::Tokenizer ---*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_RUNTIME_TOKENIZER_TOKENIZERIMPL_H
#define LLM_RUNTIME_TOKENIZER_TOKENIZERIMPL_H

#include "Tokenizer.h"
#include "tokenizer/Components.h"

#include <array>
#include <unordered_map>
#include <unordered_set>

namespace llmrt {
class GGUFFile;
} // namespace llmrt

namespace llmrt::tok {

struct AddedToken {
  std::string content;
  int32_t id = 0;
  bool singleWord = false, lstrip = false, rstrip = false;
  bool normalized = false, special = false;
};

struct Truncation {
  size_t maxLength = 0;
  bool left = false;
};

struct Padding {
  /// 0: as long as the sequence (BatchLongest).
  size_t length = 0;
  size_t multipleOf = 0;
  int32_t padId = 0;
  bool left = false;
};

class TokenizerImpl {
public:
  std::unique_ptr<Normalizer> normalizer;
  std::unique_ptr<PreTokenizer> preTokenizer;
  std::unique_ptr<Model> model;
  std::unique_ptr<PostProcessor> postProcessor;
  std::unique_ptr<Decoder> decoder;
  std::optional<Truncation> truncation;
  std::optional<Padding> padding;
  std::string description;

  /// Registers `token` (after the normalizer is set, for normalized ones).
  Status addToken(AddedToken token);
  /// Orders and indexes the added tokens for splitAdded; `wrap` calls it
  /// once, after the last addToken.
  void indexAddedTokens();

  Expected<std::vector<int32_t>> encode(std::string_view text,
                                        bool addSpecialTokens,
                                        bool truncateAndPad) const;
  Expected<std::string> decode(const std::vector<int32_t> &ids,
                               bool skipSpecialTokens) const;
  std::optional<int32_t> tokenToId(std::string_view token) const;
  std::optional<std::string> idToToken(int32_t id) const;
  bool isSpecial(int32_t id) const;
  int64_t getVocabSize() const;

  /// Wraps this into the public class.
  static std::unique_ptr<Tokenizer> wrap(std::unique_ptr<TokenizerImpl> impl);

private:
  /// Splits the pieces that are not added tokens at the matches of the
  /// normalized or the non-normalized added tokens.
  void splitAdded(Pieces &pieces, bool normalizedSet) const;

  std::vector<AddedToken> added;
  /// Index into `added` by id, and the ids by content.
  std::unordered_map<int32_t, size_t> addedById;
  std::unordered_map<std::string, int32_t> addedByContent;
  std::unordered_set<std::string> specialContents;
  /// The text each added token matches (normalized content for normalized
  /// ones), for each of the two sets, longest first.
  std::vector<std::pair<std::string, size_t>> patterns[2];
  /// For each set, the indices into `patterns` of the patterns that start
  /// with each byte, in the same order: the only ones to try there.
  std::array<std::vector<uint32_t>, 256> byFirstByte[2];
};

/// The older formats of a model folder.
Expected<std::unique_ptr<TokenizerImpl>> loadGpt2Files(const std::string &dir);
Expected<std::unique_ptr<TokenizerImpl>> loadBertVocab(const std::string &dir);
Expected<std::unique_ptr<TokenizerImpl>>
loadSentencePiece(const std::string &dir);
/// The tokenizer stored in a GGUF file (tokenizer.ggml.*: the llama
/// SentencePiece kind and the gpt2 byte-level BPE kind).
Expected<std::unique_ptr<TokenizerImpl>> loadGGUF(const GGUFFile &file);

/// Sets `impl`'s model, normalizer and decoder to a SentencePiece BPE
/// vocabulary (`pieces` with their `scores`, id = index) as transformers'
/// LLaMA converter builds it: merges ordered by the merged piece's score,
/// Prepend("\u2581") when `dummyPrefix`, spaces replaced by U+2581, byte
/// fallback. `where` names the source in errors.
Status buildSentencePieceBpe(TokenizerImpl &impl,
                             const std::vector<std::string> &pieces,
                             const std::vector<float> &scores,
                             std::optional<int64_t> unkId, bool byteFallback,
                             bool dummyPrefix, const std::string &where);

} // namespace llmrt::tok

#endif // LLM_RUNTIME_TOKENIZER_TOKENIZERIMPL_H
