//===- Legacy.cpp - Tokenizer files older than tokenizer.json -------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// A model folder without tokenizer.json is converted as transformers'
// convert_slow_tokenizer does it:
//   - vocab.json + merges.txt (GPT-2): byte-level BPE, <|endoftext|> special;
//   - vocab.txt (BERT): WordPiece with BertNormalizer (tokenizer_config.json's
//     do_lower_case, tokenize_chinese_chars and strip_accents apply),
//     [CLS] ... [SEP];
//   - tokenizer.model (SentencePiece, read with Protobuf): a BPE model as
//     LLaMA's converter builds it (Prepend and Replace normalizers, byte
//     fallback, <s> first), or a Unigram model as T5's (the precompiled
//     charsmap, WhitespaceSplit and Metaspace, </s> last).
//     tokenizer_config.json's add_bos_token and add_eos_token override the
//     special tokens added, and its extra_ids (T5's sentinels) adds
//     <extra_id_0> ... <extra_id_N-1> after the pieces, the last first.
//
//===----------------------------------------------------------------------===//

#include "tokenizer/TokenizerImpl.h"
#include "tokenizer/Unicode.h"

#include "sentencepiece_model.pb.h"

#include <map>
#include <sys/stat.h>

using namespace llmrt;
using namespace llmrt::tok;

namespace llmrt::tok {
Expected<std::string> readTextFile(const std::string &path);
} // namespace llmrt::tok

namespace {

Status formatError(std::string message) {
  return Status::error(ErrorCode::Format, std::move(message));
}

bool fileExists(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

/// tokenizer_config.json, if the folder has one (an empty object if not).
Expected<json::Value> readConfig(const std::string &dir) {
  std::string path = dir + "/tokenizer_config.json";
  if (!fileExists(path))
    return json::Value(json::Object());
  Expected<std::string> text = readTextFile(path);
  if (!text)
    return text.takeStatus();
  Expected<json::Value> value = json::parse(*text);
  if (!value)
    return formatError(path + ": not valid JSON: " + value.error());
  if (!value->getAsObject())
    return formatError(path + ": expected an object");
  return value;
}

/// A boolean of tokenizer_config.json, or `fallback`.
Expected<std::optional<bool>> configBool(const json::Value &config,
                                         const std::string &dir,
                                         std::string_view key) {
  const json::Value *v = config.getAsObject()->get(key);
  if (!v || v->isNull())
    return std::optional<bool>();
  std::string file = dir + "/tokenizer_config.json";
  Field field(*v, "." + std::string(key), file);
  Expected<bool> b = field.getBool();
  if (!b)
    return b.takeStatus();
  return std::optional<bool>(*b);
}

/// The lines of `text` without their "\n" (and "\r\n").
std::vector<std::string_view> splitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos)
      end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r')
      line.remove_suffix(1);
    lines.push_back(line);
    start = end + 1;
  }
  return lines;
}

} // namespace

//===----------------------------------------------------------------------===//
// GPT-2
//===----------------------------------------------------------------------===//

Expected<std::unique_ptr<TokenizerImpl>>
tok::loadGpt2Files(const std::string &dir) {
  std::string vocabPath = dir + "/vocab.json", mergesPath = dir + "/merges.txt";
  Expected<std::string> vocabText = readTextFile(vocabPath);
  if (!vocabText)
    return vocabText.takeStatus();
  Expected<json::Value> vocabJson = json::parse(*vocabText);
  if (!vocabJson)
    return formatError(vocabPath + ": not valid JSON: " + vocabJson.error());
  Field vocabField(*vocabJson, "(root)", vocabPath);
  Expected<const json::Object *> object = vocabField.getObject();
  if (!object)
    return object.takeStatus();
  std::vector<std::pair<std::string, int32_t>> vocab;
  vocab.reserve((*object)->size());
  for (const json::Member &m : **object) {
    Field entry(m.value, "[\"" + m.key + "\"]", vocabPath);
    Expected<int64_t> id = entry.getInt(0, kMaxTokenId);
    if (!id)
      return id.takeStatus();
    vocab.emplace_back(m.key, static_cast<int32_t>(*id));
  }

  Expected<std::string> mergesText = readTextFile(mergesPath);
  if (!mergesText)
    return mergesText.takeStatus();
  std::vector<std::pair<std::string, std::string>> merges;
  std::vector<size_t> lineOf;
  std::vector<std::string_view> lines = splitLines(*mergesText);
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    if (line.empty() || line.substr(0, 8) == "#version")
      continue;
    std::string where = mergesPath + ": line " + std::to_string(i + 1);
    if (!unicode::isValidUtf8(line))
      return formatError(where + ": expected UTF-8 text, found invalid bytes");
    size_t space = line.find(' ');
    if (space == std::string_view::npos ||
        line.find(' ', space + 1) != std::string_view::npos)
      return formatError(where +
                         ": expected two tokens separated by one space, "
                         "found \"" +
                         std::string(line.substr(0, 80)) + "\"");
    merges.emplace_back(std::string(line.substr(0, space)),
                        std::string(line.substr(space + 1)));
    lineOf.push_back(i + 1);
  }
  Expected<std::unique_ptr<Model>> model =
      makeBpe(std::move(vocab), merges, BpeOptions(),
              [&](size_t merge, std::string missing) {
                return formatError(mergesPath + ": line " +
                                   std::to_string(lineOf[merge]) +
                                   ": expected tokens of vocab.json, found \"" +
                                   missing + "\", which is not in it");
              });
  if (!model)
    return model.status().message().rfind(mergesPath, 0) == 0
               ? model.takeStatus()
               : formatError(vocabPath + ": " + model.error());

  Expected<json::Value> config = readConfig(dir);
  if (!config)
    return config.takeStatus();
  Expected<std::optional<bool>> prefixSpace =
      configBool(*config, dir, "add_prefix_space");
  if (!prefixSpace)
    return prefixSpace.takeStatus();

  auto impl = std::make_unique<TokenizerImpl>();
  impl->model = std::move(*model);
  impl->preTokenizer =
      makeByteLevelPreTokenizer(prefixSpace->value_or(false), true);
  impl->decoder = makeByteLevelDecoder();
  impl->description = vocabPath + " + merges.txt (BPE)";
  if (std::optional<int32_t> eot = impl->model->tokenToId("<|endoftext|>")) {
    AddedToken token;
    token.content = "<|endoftext|>";
    token.id = *eot;
    token.special = true;
    Status status = impl->addToken(token);
    if (!status.isOk())
      return status;
  }
  return impl;
}

//===----------------------------------------------------------------------===//
// BERT
//===----------------------------------------------------------------------===//

Expected<std::unique_ptr<TokenizerImpl>>
tok::loadBertVocab(const std::string &dir) {
  std::string path = dir + "/vocab.txt";
  Expected<std::string> text = readTextFile(path);
  if (!text)
    return text.takeStatus();
  std::vector<std::pair<std::string, int32_t>> vocab;
  std::vector<std::string_view> lines = splitLines(*text);
  std::map<std::string, size_t> seen;
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string where = path + ": line " + std::to_string(i + 1);
    if (!unicode::isValidUtf8(lines[i]))
      return formatError(where + ": expected UTF-8 text, found invalid bytes");
    std::string token(lines[i]);
    auto [it, inserted] = seen.emplace(token, i + 1);
    if (!inserted)
      return formatError(where + ": expected each token once, found \"" +
                         token + "\" again (first on line " +
                         std::to_string(it->second) + ")");
    vocab.emplace_back(std::move(token), static_cast<int32_t>(i));
  }
  Expected<json::Value> config = readConfig(dir);
  if (!config)
    return config.takeStatus();
  Expected<std::optional<bool>> lower =
      configBool(*config, dir, "do_lower_case");
  if (!lower)
    return lower.takeStatus();
  Expected<std::optional<bool>> chinese =
      configBool(*config, dir, "tokenize_chinese_chars");
  if (!chinese)
    return chinese.takeStatus();
  Expected<std::optional<bool>> accents =
      configBool(*config, dir, "strip_accents");
  if (!accents)
    return accents.takeStatus();

  auto impl = std::make_unique<TokenizerImpl>();
  std::map<std::string, int32_t> ids(vocab.begin(), vocab.end());
  Expected<std::unique_ptr<Model>> model =
      makeWordPiece(std::move(vocab), "[UNK]", "##", 100);
  if (!model)
    return formatError(path + ": " + model.error());
  impl->model = std::move(*model);
  impl->normalizer = makeBertNormalizer(true, chinese->value_or(true), *accents,
                                        lower->value_or(true));
  impl->preTokenizer = makeBertPreTokenizer();
  impl->decoder = makeWordPieceDecoder("##", true);
  impl->description = path + " (WordPiece)";
  for (const char *special : {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}) {
    auto it = ids.find(special);
    if (it == ids.end())
      continue;
    AddedToken token;
    token.content = special;
    token.id = it->second;
    token.special = true;
    Status status = impl->addToken(token);
    if (!status.isOk())
      return status;
  }
  auto cls = ids.find("[CLS]"), sep = ids.find("[SEP]");
  if (cls != ids.end() && sep != ids.end())
    impl->postProcessor = makeWrapProcessor({cls->second}, {sep->second});
  return impl;
}

//===----------------------------------------------------------------------===//
// SentencePiece
//===----------------------------------------------------------------------===//

Status tok::buildSentencePieceBpe(TokenizerImpl &impl,
                                  const std::vector<std::string> &pieces,
                                  const std::vector<float> &scores,
                                  std::optional<int64_t> unkId,
                                  bool byteFallback, bool dummyPrefix,
                                  const std::string &where) {
  // Merges in the order of the merged piece's score (higher first), as
  // transformers' SentencePieceExtractor orders them.
  std::vector<std::pair<std::string, int32_t>> vocab;
  std::unordered_map<std::string, int32_t> ids;
  for (size_t i = 0; i < pieces.size(); ++i) {
    vocab.emplace_back(pieces[i], static_cast<int32_t>(i));
    ids.emplace(pieces[i], static_cast<int32_t>(i));
  }
  struct Merge {
    float score;
    int32_t left, right;
    std::string a, b;
  };
  std::vector<Merge> merges;
  for (size_t i = 0; i < pieces.size(); ++i) {
    const std::string &p = pieces[i];
    for (size_t k = 1; k < p.size(); ++k) {
      if ((static_cast<unsigned char>(p[k]) & 0xc0) == 0x80)
        continue;
      auto l = ids.find(p.substr(0, k)), r = ids.find(p.substr(k));
      if (l != ids.end() && r != ids.end())
        merges.push_back({scores[i], l->second, r->second, l->first, r->first});
    }
  }
  std::sort(merges.begin(), merges.end(), [](const Merge &x, const Merge &y) {
    if (x.score != y.score)
      return x.score > y.score;
    if (x.left != y.left)
      return x.left < y.left;
    return x.right < y.right;
  });
  std::vector<std::pair<std::string, std::string>> pairs;
  pairs.reserve(merges.size());
  for (const Merge &m : merges)
    pairs.emplace_back(m.a, m.b);
  BpeOptions options;
  options.byteFallback = byteFallback;
  options.fuseUnk = true;
  if (unkId)
    options.unkToken = pieces[static_cast<size_t>(*unkId)];
  Expected<std::unique_ptr<Model>> model = makeBpe(
      std::move(vocab), pairs, options, [&](size_t, std::string missing) {
        return formatError(where + ": piece \"" + missing + "\" is missing");
      });
  if (!model)
    return formatError(where + ": " + model.error());
  impl.model = std::move(*model);
  std::vector<std::unique_ptr<Normalizer>> parts;
  if (dummyPrefix)
    parts.push_back(makePrepend("\xe2\x96\x81"));
  Expected<Regex> space = Regex::literal(" ");
  if (!space)
    return space.takeStatus();
  parts.push_back(makeReplace(std::move(*space), "\xe2\x96\x81"));
  impl.normalizer = makeNormalizerSequence(std::move(parts));
  std::vector<std::unique_ptr<Decoder>> decoders;
  Expected<Regex> mark = Regex::literal("\xe2\x96\x81");
  if (!mark)
    return mark.takeStatus();
  decoders.push_back(makeReplaceDecoder(std::move(*mark), " "));
  decoders.push_back(makeByteFallbackDecoder());
  decoders.push_back(makeFuseDecoder());
  if (dummyPrefix)
    decoders.push_back(makeStripDecoder(U' ', 1, 0));
  impl.decoder = makeDecoderSequence(std::move(decoders));
  return Status::ok();
}

Expected<std::unique_ptr<TokenizerImpl>>
tok::loadSentencePiece(const std::string &dir) {
  std::string path = dir + "/tokenizer.model";
  Expected<std::string> bytes = readTextFile(path);
  if (!bytes)
    return bytes.takeStatus();
  llmc::sentencepiece::ModelProto proto;
  if (!proto.ParseFromString(*bytes))
    return formatError(path + ": expected a SentencePiece model (a "
                              "serialized ModelProto), found bytes Protobuf "
                              "cannot parse");
  if (proto.pieces_size() == 0)
    return formatError(path + ": field pieces: expected at least one piece, "
                              "found none");
  using Piece = llmc::sentencepiece::ModelProto::SentencePiece;
  using Spec = llmc::sentencepiece::TrainerSpec;
  const Spec &trainer = proto.trainer_spec();
  bool bpe = trainer.model_type() == Spec::BPE;
  if (!bpe && trainer.model_type() != Spec::UNIGRAM)
    return Status::error(
        ErrorCode::Unsupported,
        path +
            ": field trainer_spec.model_type: expected UNIGRAM (1) or BPE "
            "(2), found " +
            std::to_string(static_cast<int>(trainer.model_type())));
  for (int i = 0; i < proto.pieces_size(); ++i)
    if (!unicode::isValidUtf8(proto.pieces(i).piece()))
      return formatError(path + ": field pieces[" + std::to_string(i) +
                         "].piece: expected UTF-8 text, found invalid bytes");
  const auto &norm = proto.normalizer_spec();
  bool dummyPrefix = norm.add_dummy_prefix();
  std::optional<int64_t> unkId;
  for (int i = 0; i < proto.pieces_size(); ++i)
    if (proto.pieces(i).type() == Piece::UNKNOWN) {
      unkId = i;
      break;
    }

  auto impl = std::make_unique<TokenizerImpl>();
  if (bpe) {
    std::vector<std::string> pieces;
    std::vector<float> scores;
    for (int i = 0; i < proto.pieces_size(); ++i) {
      pieces.push_back(proto.pieces(i).piece());
      scores.push_back(proto.pieces(i).score());
    }
    Status status =
        buildSentencePieceBpe(*impl, pieces, scores, unkId,
                              trainer.byte_fallback(), dummyPrefix, path);
    if (!status.isOk())
      return status;
    impl->description = path + " (SentencePiece BPE)";
  } else {
    std::vector<std::pair<std::string, double>> vocab;
    for (int i = 0; i < proto.pieces_size(); ++i)
      vocab.emplace_back(proto.pieces(i).piece(), proto.pieces(i).score());
    Expected<std::unique_ptr<Model>> model =
        makeUnigram(std::move(vocab), unkId, trainer.byte_fallback());
    if (!model)
      return formatError(path + ": " + model.error());
    impl->model = std::move(*model);
    if (!norm.precompiled_charsmap().empty()) {
      Expected<std::unique_ptr<Normalizer>> precompiled = makePrecompiled(
          norm.precompiled_charsmap(),
          path + ": field normalizer_spec.precompiled_charsmap");
      if (!precompiled)
        return precompiled.takeStatus();
      impl->normalizer = std::move(*precompiled);
    }
    int scheme = dummyPrefix ? PrependAlways : PrependNever;
    std::vector<std::unique_ptr<PreTokenizer>> pre;
    pre.push_back(makeWhitespaceSplit());
    pre.push_back(makeMetaspacePreTokenizer(U'\u2581', scheme, true));
    impl->preTokenizer = makePreTokenizerSequence(std::move(pre));
    impl->decoder = makeMetaspaceDecoder(U'\u2581', scheme);
    impl->description = path + " (SentencePiece Unigram)";
  }

  // Unknown and control pieces are special added tokens; user-defined
  // pieces are added tokens too, so that they are never split.
  for (int i = 0; i < proto.pieces_size(); ++i) {
    Piece::Type type = proto.pieces(i).type();
    if (type != Piece::UNKNOWN && type != Piece::CONTROL &&
        type != Piece::USER_DEFINED)
      continue;
    AddedToken token;
    token.content = proto.pieces(i).piece();
    token.id = i;
    token.special = type != Piece::USER_DEFINED;
    Status status = impl->addToken(token);
    if (!status.isOk())
      return formatError(path + ": " + status.message());
  }

  Expected<json::Value> config = readConfig(dir);
  if (!config)
    return config.takeStatus();
  if (const json::Value *extra = config->getAsObject()->get("extra_ids")) {
    Field field(*extra, ".extra_ids", dir + "/tokenizer_config.json");
    Expected<int64_t> n = field.getInt(0, 1 << 20);
    if (!n)
      return n.takeStatus();
    for (int64_t k = 0; k < *n; ++k) {
      AddedToken token;
      token.content = "<extra_id_" + std::to_string(*n - 1 - k) + ">";
      token.id = proto.pieces_size() + static_cast<int32_t>(k);
      token.special = true;
      Status status = impl->addToken(token);
      if (!status.isOk())
        return formatError(path + ": " + status.message());
    }
  }
  Expected<std::optional<bool>> addBos =
      configBool(*config, dir, "add_bos_token");
  if (!addBos)
    return addBos.takeStatus();
  Expected<std::optional<bool>> addEos =
      configBool(*config, dir, "add_eos_token");
  if (!addEos)
    return addEos.takeStatus();
  std::vector<int32_t> before, after;
  auto idOf = [&](int32_t id,
                  const std::string &piece) -> std::optional<int32_t> {
    if (id >= 0 && id < proto.pieces_size() &&
        proto.pieces(id).piece() == piece)
      return id;
    return impl->tokenToId(piece);
  };
  std::optional<int32_t> bos = idOf(trainer.bos_id(), trainer.bos_piece());
  std::optional<int32_t> eos = idOf(trainer.eos_id(), trainer.eos_piece());
  if (addBos->value_or(bpe) && bos)
    before.push_back(*bos);
  if (addEos->value_or(!bpe) && eos)
    after.push_back(*eos);
  impl->postProcessor = makeWrapProcessor(std::move(before), std::move(after));
  return impl;
}
