//===- Tokenizer.h - Hugging Face tokenizers in the runtime -----*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
// Text to token ids and back, as the `tokenizers` package of Hugging Face
// does it, with no MLIR or LLVM: a tokenizer.json (models BPE, WordPiece,
// Unigram and WordLevel with the normalizers, pre-tokenizers,
// post-processors, decoders and added tokens that the common model
// families use), or the older files a model folder may ship instead:
// GPT-2's vocab.json + merges.txt, BERT's vocab.txt, SentencePiece's
// tokenizer.model, or the tokenizer a GGUF file stores (tokenizer.ggml.*).
//
// Encoding takes UTF-8; text that is not valid UTF-8 has each ill-formed
// sequence replaced by U+FFFD first (one per maximal subpart, as Python's
// bytes.decode("utf-8", "replace")), so any bytes encode. Decoding returns
// valid UTF-8: byte tokens that do not form UTF-8 become U+FFFD, as in
// `tokenizers`. A `Tokenizer` is immutable after loading and may be used
// from several threads.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_RUNTIME_TOKENIZER_H
#define LLM_RUNTIME_TOKENIZER_H

#include "Error.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llmrt {

class GGUFFile;
namespace tok {
class TokenizerImpl;
} // namespace tok

class Tokenizer {
public:
  /// Loads `path`: a tokenizer.json file, or a model folder with a
  /// tokenizer.json, or else vocab.json + merges.txt (GPT-2), vocab.txt
  /// (BERT/WordPiece, tokenizer_config.json's do_lower_case applies) or
  /// tokenizer.model (SentencePiece); or a .gguf file's tokenizer
  /// (tokenizer.ggml.*, llama and gpt2 kinds). Errors name the file and the
  /// field.
  static Expected<std::unique_ptr<Tokenizer>> load(const std::string &path);
  /// Parses the text of a tokenizer.json; `fileName` names it in errors.
  static Expected<std::unique_ptr<Tokenizer>>
  fromJson(std::string_view text, const std::string &fileName);
  /// The tokenizer a GGUF file stores (tokenizer.ggml.*): the llama
  /// (SentencePiece) and gpt2 (byte-level BPE) kinds, rebuilt as the
  /// Hugging Face tokenizer they were converted from.
  static Expected<std::unique_ptr<Tokenizer>> fromGGUF(const GGUFFile &file);
  ~Tokenizer();

  /// The ids of `text`; with `addSpecialTokens`, after the post-processor
  /// (BOS, [CLS] ... [SEP], ...) as encode(text, add_special_tokens=True).
  /// The truncation and padding that tokenizer.json may set apply as in
  /// `tokenizers`, unless `truncateAndPad` is false: a runner that feeds
  /// the ids to a model wants all of them and no padding (transformers'
  /// callers override both too).
  Expected<std::vector<int32_t>> encode(std::string_view text,
                                        bool addSpecialTokens,
                                        bool truncateAndPad = true) const;
  /// The text of `ids`, without the special added tokens when
  /// `skipSpecialTokens`. An id outside the vocabulary is an error.
  Expected<std::string> decode(const std::vector<int32_t> &ids,
                               bool skipSpecialTokens) const;

  /// The id of token `token` (added tokens first, then the model's).
  std::optional<int32_t> tokenToId(std::string_view token) const;
  /// The token of `id`, or std::nullopt.
  std::optional<std::string> idToToken(int32_t id) const;
  /// Whether `id` is an added token marked special.
  bool isSpecial(int32_t id) const;
  /// One more than the largest id (model and added tokens).
  int64_t getVocabSize() const;
  /// What was loaded, e.g. "tokenizer.json (BPE)" or "vocab.txt (WordPiece)".
  const std::string &describe() const;

private:
  explicit Tokenizer(std::unique_ptr<tok::TokenizerImpl> impl);
  std::unique_ptr<tok::TokenizerImpl> impl;
  friend class tok::TokenizerImpl;
};

/// Decodes ids one at a time for streaming, as `tokenizers`' DecodeStream:
/// each `push` decodes the ids since the last text it returned together with
/// the new one and returns the text they add, or "" while that text ends in
/// U+FFFD (an incomplete UTF-8 character, or byte tokens still to come).
/// Decoding in this window keeps what decoders do to the first token (a
/// Metaspace or Strip decoder drops its leading space) from applying to
/// every token. `prime` puts the prompt's last ids in the window, so that
/// the first generated token is decoded as a continuation.
class DecodeStream {
public:
  DecodeStream(const Tokenizer &tokenizer, bool skipSpecialTokens)
      : tokenizer(tokenizer), skipSpecialTokens(skipSpecialTokens) {}
  /// Seeds the stream with the prompt's ids, whose text is not returned.
  Status prime(const std::vector<int32_t> &promptIds);
  Expected<std::string> push(int32_t id);
  /// The text held back (a trailing incomplete character), if any.
  Expected<std::string> flush();

private:
  const Tokenizer &tokenizer;
  bool skipSpecialTokens;
  std::vector<int32_t> ids;
  /// ids[prefixIndex:readIndex] decode to `prefix`, already returned.
  size_t prefixIndex = 0;
  size_t readIndex = 0;
  std::string prefix;
};

} // namespace llmrt

#endif // LLM_RUNTIME_TOKENIZER_H
