//===- Components.h - The parts of a Hugging Face tokenizer -----*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
// A tokenizer runs, as in `tokenizers`:
//   1. added tokens that are not normalized are split out of the text;
//   2. each other piece is normalized (Normalizer), then the normalized
//      added tokens are split out of it;
//   3. the pre-tokenizer splits the remaining pieces into words;
//   4. the model turns each word into ids;
//   5. the post-processor adds special tokens (when asked);
// and decoding maps ids to tokens and joins them through the Decoder.
//
// Offsets are not tracked: ids and text are what LLMC needs. The one place
// where `tokenizers` consults offsets for ids, Metaspace's prepend_scheme
// "first" (prepend only to the piece at the start of the input), is served
// by Piece::atStart.
//
// Each component is built from its tokenizer.json object by a parse
// function; errors name the file and the field's path, e.g.
// "tokenizer.json: field .pre_tokenizer.pretokenizers[1].type: expected one
// of ..., found "Foo"".
//
//===----------------------------------------------------------------------===//

#ifndef LLM_RUNTIME_TOKENIZER_COMPONENTS_H
#define LLM_RUNTIME_TOKENIZER_COMPONENTS_H

#include "Error.h"
#include "Json.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

typedef struct pcre2_real_code_8 pcre2_code_8;

namespace llmrt::tok {

//===----------------------------------------------------------------------===//
// Reading tokenizer.json
//===----------------------------------------------------------------------===//

/// A JSON value with its path in the file, for messages.
class Field {
public:
  Field(const json::Value &value, std::string path, const std::string &file)
      : value(&value), path(std::move(path)), file(&file) {}

  const json::Value &get() const { return *value; }
  const std::string &getPath() const { return path; }
  const std::string &getFile() const { return *file; }

  /// "<file>: field <path>: expected <expected>, found <this value>".
  Status error(const std::string &expected) const;
  /// "<file>: field <path>: <message>".
  Status fail(const std::string &message) const;

  /// The member `key` of this object; an error when this is not an object
  /// or the member is missing.
  Expected<Field> member(std::string_view key) const;
  /// The member `key`, or std::nullopt when it is absent or null (an error
  /// only when this is not an object).
  Expected<std::optional<Field>> optionalMember(std::string_view key) const;
  /// The element `i` of this array (which must be one).
  Field element(size_t i) const;

  Expected<std::string> getString() const;
  Expected<bool> getBool() const;
  Expected<int64_t> getInt(int64_t min, int64_t max) const;
  Expected<double> getNumber() const;
  Expected<const json::Array *> getArray() const;
  Expected<const json::Object *> getObject() const;

  /// Optional members with a default.
  Expected<std::string> getString(std::string_view key,
                                  std::string fallback) const;
  Expected<bool> getBool(std::string_view key, bool fallback) const;
  /// The string member `type`, checked against `allowed`.
  Expected<std::string> getType(const std::vector<std::string> &allowed) const;

private:
  const json::Value *value;
  std::string path;
  const std::string *file;
};

/// A short description of `v` for messages: the value itself when short.
std::string describeJson(const json::Value &v);

//===----------------------------------------------------------------------===//
// Regular expressions (PCRE2)
//===----------------------------------------------------------------------===//

/// A compiled pattern, matched over UTF-8 with Unicode properties (PCRE2
/// with UTF and UCP, JIT-compiled when the platform allows). Patterns from
/// tokenizer.json are Oniguruma patterns (Rust `onig`): `\s` and `\S` are
/// spelled out as Unicode's White_Space, which is what Oniguruma matches
/// (PCRE2's `\s` leaves out U+0085 and has U+180E).
class Regex {
public:
  /// The error is PCRE2's message, e.g. "missing closing parenthesis at
  /// offset 2".
  static Expected<Regex> compile(const std::string &pattern);
  /// A pattern matching `literal` exactly.
  static Expected<Regex> literal(std::string_view literal);
  Regex(Regex &&other) noexcept;
  Regex &operator=(Regex &&other) noexcept;
  Regex(const Regex &) = delete;
  ~Regex();

  /// The [begin, end) byte ranges of the successive leftmost matches in `s`
  /// (empty matches included, each advancing by one character).
  void findAll(std::string_view s,
               std::vector<std::pair<size_t, size_t>> &matches) const;
  /// Replaces every match in `s` by `content`; returns whether the first
  /// match removed text at the start of `s` (replaced it by nothing).
  bool replaceAll(std::string &s, std::string_view content) const;

private:
  Regex() = default;
  pcre2_code_8 *code = nullptr;
};

//===----------------------------------------------------------------------===//
// Pieces and splitting
//===----------------------------------------------------------------------===//

/// A part of the input on its way to the model.
struct Piece {
  std::string text;
  /// Whether it starts at the beginning of the input (Metaspace "first").
  bool atStart = false;
  /// The added token this piece is, or -1.
  int32_t id = -1;
};
using Pieces = std::vector<Piece>;

enum class SplitBehavior {
  Removed,
  Isolated,
  MergedWithPrevious,
  MergedWithNext,
  Contiguous
};
Expected<SplitBehavior> parseSplitBehavior(const Field &field);
/// A tokenizer.json pattern: {"String": literal} or {"Regex": pattern}.
Expected<Regex> parseSplitPattern(const Field &field);

/// Splits `piece` at `matches` (sorted, disjoint byte ranges) as
/// NormalizedString::split does with `behavior` (matches inverted first
/// when `invert`), appending the non-empty parts to `out`.
void splitAt(const Piece &piece,
             const std::vector<std::pair<size_t, size_t>> &matches,
             SplitBehavior behavior, bool invert, Pieces &out);
/// The ranges of the single code points of `s` for which `pred` holds.
void findChars(std::string_view s, const std::function<bool(char32_t)> &pred,
               std::vector<std::pair<size_t, size_t>> &matches);

//===----------------------------------------------------------------------===//
// Components
//===----------------------------------------------------------------------===//

class Normalizer {
public:
  virtual ~Normalizer() = default;
  /// Normalizes `s` in place; clears `atStart` when text at the start of
  /// the original was removed.
  virtual void normalize(std::string &s, bool &atStart) const = 0;
};

class PreTokenizer {
public:
  virtual ~PreTokenizer() = default;
  /// Splits (and may rewrite) each piece of `pieces` that is not an added
  /// token.
  virtual void preTokenize(Pieces &pieces) const = 0;
};

class Model {
public:
  virtual ~Model() = default;
  /// Appends the ids of `word` to `ids`.
  virtual Status tokenize(std::string_view word,
                          std::vector<int32_t> &ids) const = 0;
  virtual std::optional<int32_t> tokenToId(std::string_view token) const = 0;
  virtual const std::string *idToToken(int32_t id) const = 0;
  virtual int64_t getVocabSize() const = 0;
  virtual const char *getName() const = 0;
};

class PostProcessor {
public:
  virtual ~PostProcessor() = default;
  /// Adds the special tokens of a single sequence to `ids`.
  virtual void process(std::vector<int32_t> &ids) const = 0;
  /// How many ids `process` adds (for truncation).
  virtual size_t addedCount() const = 0;
};

class Decoder {
public:
  virtual ~Decoder() = default;
  /// Rewrites the token strings (tokenizers' decode_chain).
  virtual void decodeChain(std::vector<std::string> &tokens) const = 0;
};

/// Parsers for the tokenizer.json objects. `normalize` is the model's
/// normalizer where a component needs it (none do yet); nulls are handled
/// by the caller.
Expected<std::unique_ptr<Normalizer>> parseNormalizer(const Field &field);
Expected<std::unique_ptr<PreTokenizer>> parsePreTokenizer(const Field &field);
Expected<std::unique_ptr<Model>> parseModel(const Field &field);
Expected<std::unique_ptr<PostProcessor>> parsePostProcessor(const Field &field);
Expected<std::unique_ptr<Decoder>> parseDecoder(const Field &field);

//===----------------------------------------------------------------------===//
// Building blocks shared by tokenizer.json and the older formats
//===----------------------------------------------------------------------===//

/// The largest id in a model's vocabulary. Ids index the token table (and
/// the model's embedding), so a stray id of 2^31 would allocate gigabytes;
/// the largest vocabularies have a few hundred thousand tokens.
constexpr int64_t kMaxTokenId = (int64_t(1) << 24) - 1;

/// GPT-2's byte-to-character table: byte b as the code point ByteLevel
/// maps it to.
char32_t byteToChar(uint8_t b);
/// The inverse of byteToChar, or -1.
int byteOfChar(char32_t c);

struct BpeOptions {
  std::optional<std::string> unkToken;
  std::optional<std::string> continuingSubwordPrefix;
  std::optional<std::string> endOfWordSuffix;
  bool fuseUnk = false;
  bool byteFallback = false;
  bool ignoreMerges = false;
};
/// A BPE model over `vocab` (token, id) and `merges` (pairs of tokens, by
/// priority). `what` names the source in errors ("merges.txt line 3").
Expected<std::unique_ptr<Model>>
makeBpe(std::vector<std::pair<std::string, int32_t>> vocab,
        const std::vector<std::pair<std::string, std::string>> &merges,
        BpeOptions options,
        const std::function<Status(size_t, std::string)> &mergeError);
Expected<std::unique_ptr<Model>>
makeWordPiece(std::vector<std::pair<std::string, int32_t>> vocab,
              std::string unkToken, std::string prefix, int64_t maxChars);
Expected<std::unique_ptr<Model>>
makeUnigram(std::vector<std::pair<std::string, double>> vocab,
            std::optional<int64_t> unkId, bool byteFallback);

/// Components the older formats are converted to.
std::unique_ptr<Normalizer> makeBertNormalizer(bool cleanText,
                                               bool handleChineseChars,
                                               std::optional<bool> stripAccents,
                                               bool lowercase);
std::unique_ptr<PreTokenizer> makeBertPreTokenizer();
std::unique_ptr<PreTokenizer> makeWhitespaceSplit();
std::unique_ptr<PreTokenizer>
makePreTokenizerSequence(std::vector<std::unique_ptr<PreTokenizer>> parts);
std::unique_ptr<PreTokenizer> makeByteLevelPreTokenizer(bool addPrefixSpace,
                                                        bool useRegex);
std::unique_ptr<PreTokenizer>
makeSplitPreTokenizer(Regex pattern, SplitBehavior behavior, bool invert);
std::unique_ptr<PreTokenizer>
makeMetaspacePreTokenizer(char32_t replacement, int prependScheme, bool split);
Expected<std::unique_ptr<Normalizer>> makePrecompiled(std::string charsmap,
                                                      const std::string &what);
std::unique_ptr<Normalizer> makeReplace(Regex pattern, std::string content);
std::unique_ptr<Normalizer> makePrepend(std::string prefix);
/// Unicode normalization to NFC.
std::unique_ptr<Normalizer> makeNfc();
std::unique_ptr<Normalizer>
makeNormalizerSequence(std::vector<std::unique_ptr<Normalizer>> parts);
std::unique_ptr<Decoder> makeByteLevelDecoder();
std::unique_ptr<Decoder> makeWordPieceDecoder(std::string prefix, bool cleanup);
std::unique_ptr<Decoder> makeMetaspaceDecoder(char32_t replacement,
                                              int prependScheme);
std::unique_ptr<Decoder> makeByteFallbackDecoder();
std::unique_ptr<Decoder> makeFuseDecoder();
std::unique_ptr<Decoder> makeStripDecoder(char32_t content, size_t start,
                                          size_t stop);
std::unique_ptr<Decoder> makeReplaceDecoder(Regex pattern, std::string content);
std::unique_ptr<Decoder>
makeDecoderSequence(std::vector<std::unique_ptr<Decoder>> parts);
/// Special tokens (id) before and after the sequence.
std::unique_ptr<PostProcessor> makeWrapProcessor(std::vector<int32_t> before,
                                                 std::vector<int32_t> after);

/// Metaspace prepend schemes.
enum PrependScheme { PrependAlways = 0, PrependFirst = 1, PrependNever = 2 };

} // namespace llmrt::tok

#endif // LLM_RUNTIME_TOKENIZER_COMPONENTS_H
