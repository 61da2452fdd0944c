//===- Manifest.cpp - What the compiler tells the runtime -----------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// The manifest comes from the compiler, but an artifact's manifest.json is a
// file a user may edit: every field is checked, and an error names the
// field's path with the expected and the found value.
//
//===----------------------------------------------------------------------===//

#include "Manifest.h"
#include "Json.h"
#include "Kernels.h"
#include "Quant.h"

#include <limits>

using namespace llmrt;

namespace {

constexpr std::pair<ElementType, std::string_view> kElementTypes[] = {
    {ElementType::F32, "f32"},   {ElementType::F16, "f16"},
    {ElementType::BF16, "bf16"}, {ElementType::I64, "i64"},
    {ElementType::I32, "i32"},   {ElementType::I8, "i8"},
    {ElementType::I1, "i1"}};

constexpr std::pair<ArgKind, std::string_view> kArgKinds[] = {
    {ArgKind::Input, "input"},
    {ArgKind::Tokens, "tokens"},
    {ArgKind::Positions, "positions"},
    {ArgKind::TokenTypes, "token_types"},
    {ArgKind::EncoderTokens, "encoder_tokens"},
    {ArgKind::KVCache, "kv_cache"},
    {ArgKind::Slots, "slots"},
    {ArgKind::BlockTables, "block_tables"},
    {ArgKind::ContextLens, "context_lens"},
    {ArgKind::CrossCache, "cross_cache"},
    {ArgKind::CrossSlots, "cross_slots"},
    {ArgKind::CrossBlockTables, "cross_block_tables"},
    {ArgKind::CrossContextLens, "cross_context_lens"}};

constexpr std::pair<ModelKind, std::string_view> kModelKinds[] = {
    {ModelKind::Decoder, "decoder"},
    {ModelKind::Encoder, "encoder"},
    {ModelKind::EncoderDecoder, "encoder_decoder"}};

/// Largest dimension, count or size a manifest may hold: products of a few
/// of them stay far from int64 overflow.
constexpr int64_t kMaxValue = int64_t(1) << 40;

/// A JSON value and its path in the document, for messages.
class Field {
public:
  Field(const json::Value *value, std::string path, std::string_view source)
      : value(value), path(std::move(path)), source(source) {}

  Status error(std::string_view expected) const {
    std::string found = "nothing";
    if (value) {
      Expected<std::string> text = json::serialize(*value);
      found = text ? *text : "an unprintable value";
      if (found.size() > 80)
        found = found.substr(0, 77) + "...";
    }
    return Status::error(ErrorCode::Format, std::string(source) + ": field " +
                                                path + ": expected " +
                                                std::string(expected) +
                                                ", found " + found);
  }

  /// An error about the field whose message states expected and found.
  Status problem(std::string_view message) const {
    return Status::error(ErrorCode::Format, std::string(source) + ": field " +
                                                path + ": " +
                                                std::string(message));
  }

  bool present() const { return value && !value->isNull(); }

  Field operator[](std::string_view key) const {
    const json::Object *object = value ? value->getAsObject() : nullptr;
    return Field(object ? object->get(key) : nullptr,
                 path + "." + std::string(key), source);
  }

  Expected<const json::Object *> object() const {
    if (const json::Object *o = value ? value->getAsObject() : nullptr)
      return o;
    return error("an object");
  }

  Expected<std::vector<Field>> array() const {
    const json::Array *a = value ? value->getAsArray() : nullptr;
    if (!a)
      return error("an array");
    std::vector<Field> elements;
    for (size_t i = 0; i < a->size(); ++i)
      elements.emplace_back(&(*a)[i], path + "[" + std::to_string(i) + "]",
                            source);
    return elements;
  }

  Expected<int64_t> integer(int64_t min, int64_t max = kMaxValue) const {
    std::optional<int64_t> v = value ? value->getAsInt64() : std::nullopt;
    if (v && *v >= min && *v <= max)
      return *v;
    return error("an integer in [" + std::to_string(min) + ", " +
                 std::to_string(max) + "]");
  }

  /// An optional integer: `fallback` when absent.
  Expected<int64_t> integerOr(int64_t fallback, int64_t min,
                              int64_t max = kMaxValue) const {
    if (!present())
      return fallback;
    return integer(min, max);
  }

  Expected<std::string> string() const {
    if (std::optional<std::string_view> s =
            value ? value->getAsString() : std::nullopt)
      return std::string(*s);
    return error("a string");
  }

  Expected<bool> boolean() const {
    if (std::optional<bool> b = value ? value->getAsBoolean() : std::nullopt)
      return *b;
    return error("true or false");
  }

  /// One of `names`' strings.
  template <typename T, size_t N>
  Expected<T> oneOf(const std::pair<T, std::string_view> (&names)[N]) const {
    std::optional<std::string_view> s =
        value ? value->getAsString() : std::nullopt;
    std::string all;
    for (const auto &[kind, name] : names) {
      if (s && *s == name)
        return kind;
      all += (all.empty() ? "" : ", ") + std::string(name);
    }
    return error("one of " + all);
  }

  Expected<std::vector<int64_t>> integers(int64_t min) const {
    Expected<std::vector<Field>> elements = array();
    if (!elements)
      return elements.takeStatus();
    std::vector<int64_t> values;
    for (const Field &e : *elements) {
      Expected<int64_t> v = e.integer(min);
      if (!v)
        return v.takeStatus();
      values.push_back(*v);
    }
    return values;
  }

private:
  const json::Value *value;
  std::string path;
  std::string_view source;
};

// Each reader below returns the first error of its part.
#define LLMRT_TRY(var, expr)                                                   \
  auto var = (expr);                                                           \
  if (!var)                                                                    \
    return var.takeStatus();

Expected<TensorDesc> readTensor(const Field &f) {
  TensorDesc tensor;
  LLMRT_TRY(dtype, f["dtype"].oneOf(kElementTypes));
  LLMRT_TRY(shape, f["shape"].integers(0));
  tensor.dtype = *dtype;
  tensor.shape = *shape;
  int64_t elements = 1;
  for (int64_t d : tensor.shape)
    if (d != 0 && elements > kMaxValue / d)
      return f["shape"].error("a tensor of at most 2^40 elements");
    else
      elements *= d;
  return tensor;
}

Expected<CacheLayout> readCache(const Field &f) {
  CacheLayout cache;
  LLMRT_TRY(layers, f["layers"].integer(1, 1 << 20));
  LLMRT_TRY(kvHeads, f["kv_heads"].integer(1, 1 << 20));
  LLMRT_TRY(headDim, f["head_dim"].integer(1, 1 << 20));
  LLMRT_TRY(blockSize, f["block_size"].integer(1, 1 << 20));
  LLMRT_TRY(dtype, f["dtype"].oneOf(kElementTypes));
  cache.layers = *layers;
  cache.kvHeads = *kvHeads;
  cache.headDim = *headDim;
  cache.blockSize = *blockSize;
  switch (*dtype) {
  case ElementType::F32:
    cache.dtype = LLMK_F32;
    break;
  case ElementType::F16:
    cache.dtype = LLMK_F16;
    break;
  case ElementType::BF16:
    cache.dtype = LLMK_BF16;
    break;
  case ElementType::I8:
    cache.dtype = LLMK_I8;
    break;
  default:
    return f["dtype"].error("f32, f16, bf16 or i8");
  }
  return cache;
}

Expected<ArgDesc> readArg(const Field &f) {
  ArgDesc arg;
  LLMRT_TRY(kind, f["kind"].oneOf(kArgKinds));
  arg.kind = *kind;
  if (arg.kind == ArgKind::KVCache || arg.kind == ArgKind::CrossCache) {
    LLMRT_TRY(cache, readCache(f["cache"]));
    arg.cache = *cache;
    return arg;
  }
  LLMRT_TRY(tensor, readTensor(f));
  arg.tensor = *tensor;
  return arg;
}

Expected<EntryDesc> readEntry(const Field &f) {
  EntryDesc entry;
  LLMRT_TRY(name, f["name"].string());
  LLMRT_TRY(arena, f["arena_bytes"].integer(0));
  LLMRT_TRY(args, f["args"].array());
  LLMRT_TRY(results, f["results"].array());
  entry.name = *name;
  entry.arenaBytes = *arena;
  for (const Field &a : *args) {
    LLMRT_TRY(arg, readArg(a));
    entry.args.push_back(*arg);
  }
  for (const Field &r : *results) {
    LLMRT_TRY(result, readTensor(r));
    entry.results.push_back(*result);
  }
  return entry;
}

Expected<ParamDesc> readParam(const Field &f) {
  ParamDesc param;
  LLMRT_TRY(name, f["name"].string());
  LLMRT_TRY(tensor, readTensor(f));
  param.name = *name;
  param.dtype = tensor->dtype;
  param.shape = tensor->shape;
  if (f["transpose"].present()) {
    LLMRT_TRY(transpose, f["transpose"].boolean());
    param.transpose = *transpose;
  }
  if (f["row_blocks"].present()) {
    LLMRT_TRY(blocks, f["row_blocks"].integers(0));
    if (blocks->size() != 4)
      return f["row_blocks"].error("[start, size, stride, count]");
    param.rowBlocks = {(*blocks)[0], (*blocks)[1], (*blocks)[2], (*blocks)[3]};
  }
  if (f["stacked"].present()) {
    LLMRT_TRY(parts, f["stacked"].array());
    for (const Field &p : *parts) {
      LLMRT_TRY(part, p.string());
      param.stacked.push_back(*part);
    }
  }
  if (f["panels"].present()) {
    // The one panel height the kernels read.
    LLMRT_TRY(panels, f["panels"].integer(LLMK_PANEL_ROWS, LLMK_PANEL_ROWS));
    // A matrix, or experts [experts, out, in] (stacked or not), each
    // packed alone.
    if (!(param.shape.size() == 2 && param.stacked.empty()) &&
        param.shape.size() != 3)
      return f["panels"].error(
          "a 2-D parameter that is not stacked, or 3-D experts");
    param.panels = *panels;
  }
  if (f["quant"].present()) {
    const Field &q = f["quant"];
    LLMRT_TRY(bits, q["bits"].integer(4, 8));
    LLMRT_TRY(group, q["group"].integer(0));
    LLMRT_TRY(symmetric, q["symmetric"].boolean());
    bool int8Activations = false;
    if (q["int8_activations"].present()) {
      LLMRT_TRY(value, q["int8_activations"].boolean());
      int8Activations = *value;
    }
    std::string method = "rtn";
    if (q["method"].present()) {
      static constexpr std::pair<std::string_view, std::string_view>
          kMethods[] = {{"rtn", "rtn"}, {"gptq", "gptq"}, {"awq", "awq"}};
      LLMRT_TRY(value, q["method"].oneOf(kMethods));
      method = std::string(*value);
    }
    std::string checkpoint;
    if (q["checkpoint"].present()) {
      static constexpr std::pair<std::string_view, std::string_view>
          kFormats[] = {{"gptq", "gptq"},
                        {"gptq_v2", "gptq_v2"},
                        {"awq", "awq"},
                        {"ggml_q8_0", "ggml_q8_0"},
                        {"ggml_q4_0", "ggml_q4_0"},
                        {"ggml_q4_1", "ggml_q4_1"},
                        {"ggml_q5_0", "ggml_q5_0"},
                        {"ggml_q5_1", "ggml_q5_1"},
                        {"ggml_q4_k", "ggml_q4_k"},
                        {"ggml_q5_k", "ggml_q5_k"},
                        {"ggml_q6_k", "ggml_q6_k"}};
      LLMRT_TRY(value, q["checkpoint"].oneOf(kFormats));
      checkpoint = std::string(*value);
    }
    bool actOrder = false;
    if (q["act_order"].present()) {
      LLMRT_TRY(value, q["act_order"].boolean());
      actOrder = *value;
      if (actOrder && checkpoint.rfind("gptq", 0) != 0)
        return q["act_order"].error("false without a GPTQ \"checkpoint\"");
    }
    // A projection's [out, in] weight, or stacked experts' [experts, out,
    // in] (rounded to nearest, on decode's kernels).
    bool matrix = param.shape.size() == 2 && param.stacked.empty();
    bool experts = param.shape.size() == 3 && !param.stacked.empty() &&
                   method == "rtn" && checkpoint.empty() && !actOrder &&
                   !int8Activations;
    if ((!matrix && !experts) || param.panels ||
        param.dtype != ElementType::F32)
      return q.error("an f32 2-D parameter that is neither stacked nor in "
                     "panels, or stacked experts rounded to nearest");
    std::string problem = llmk::checkQuantization(static_cast<int>(*bits),
                                                  *group, param.shape.back());
    if (!problem.empty())
      return q.problem(problem);
    param.quant = ParamDesc::Quantization{static_cast<int>(*bits),
                                          *group,
                                          *symmetric,
                                          int8Activations,
                                          method,
                                          checkpoint,
                                          actOrder};
  }
  return param;
}

Expected<ModelInfo> readModel(const Field &f) {
  ModelInfo info;
  LLMRT_TRY(type, f["type"].string());
  LLMRT_TRY(kind, f["kind"].oneOf(kModelKinds));
  LLMRT_TRY(vocab,
            f["vocab_size"].integer(1, std::numeric_limits<int32_t>::max()));
  LLMRT_TRY(hidden, f["hidden_size"].integer(1));
  LLMRT_TRY(offset, f["position_offset"].integerOr(0, 0));
  LLMRT_TRY(start, f["decoder_start_token_id"].integerOr(0, 0, *vocab - 1));
  LLMRT_TRY(maxPositions, f["max_positions"].integerOr(0, 0));
  LLMRT_TRY(context, f["context_length"].integerOr(0, 0));
  LLMRT_TRY(window, f["sliding_window"].integerOr(0, 0));
  info.type = *type;
  info.kind = *kind;
  info.vocabSize = *vocab;
  info.hiddenSize = *hidden;
  info.positionOffset = *offset;
  info.decoderStartTokenId = *start;
  info.maxPositions = *maxPositions;
  info.contextLength = *context;
  info.slidingWindow = *window;
  if (f["eos_token_ids"].present()) {
    LLMRT_TRY(eos, f["eos_token_ids"].integers(0));
    info.eosTokenIds = *eos;
  }
  return info;
}

#undef LLMRT_TRY

} // namespace

int64_t llmrt::getElementBytes(ElementType type) {
  switch (type) {
  case ElementType::F32:
  case ElementType::I32:
    return 4;
  case ElementType::F16:
  case ElementType::BF16:
    return 2;
  case ElementType::I64:
    return 8;
  case ElementType::I8:
  case ElementType::I1:
    return 1;
  }
  return 0;
}

std::string_view llmrt::getElementTypeName(ElementType type) {
  for (const auto &[t, name] : kElementTypes)
    if (t == type)
      return name;
  return "?";
}

std::string_view llmrt::getArgKindName(ArgKind kind) {
  for (const auto &[k, name] : kArgKinds)
    if (k == kind)
      return name;
  return "?";
}

int64_t TensorDesc::getNumElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

int EntryDesc::findArg(ArgKind kind) const {
  for (size_t i = 0; i < args.size(); ++i)
    if (args[i].kind == kind)
      return static_cast<int>(i);
  return -1;
}

const EntryDesc *Manifest::find(std::string_view name) const {
  for (const EntryDesc &entry : entries)
    if (entry.name == name)
      return &entry;
  return nullptr;
}

Expected<Manifest> Manifest::parse(std::string_view text,
                                   std::string_view source) {
  Expected<json::Value> document = json::parse(text);
  if (!document)
    return Status::error(ErrorCode::Format,
                         std::string(source) +
                             ": not valid JSON: " + document.error());
  Field root(&*document, "", source);
  if (!document->getAsObject())
    return root.error("a JSON object");
  Expected<std::string> format = root["format"].string();
  if (!format || *format != "llmc-manifest")
    return root["format"].error("\"llmc-manifest\"");
  Expected<int64_t> version = root["version"].integer(0);
  if (!version)
    return version.takeStatus();
  if (*version != kManifestVersion)
    return Status::error(
        ErrorCode::Unsupported,
        std::string(source) + ": field .version: expected " +
            std::to_string(kManifestVersion) + " (this runtime's), found " +
            std::to_string(*version) + "; recompile the model");

  Manifest manifest;
  if (root["model"].present()) {
    Expected<ModelInfo> model = readModel(root["model"]);
    if (!model)
      return model.takeStatus();
    manifest.model = *model;
  }
  Expected<std::vector<Field>> params = root["params"].array();
  if (!params)
    return params.takeStatus();
  for (const Field &f : *params) {
    Expected<ParamDesc> param = readParam(f);
    if (!param)
      return param.takeStatus();
    manifest.params.push_back(std::move(*param));
  }
  Expected<std::vector<Field>> entries = root["entry_points"].array();
  if (!entries)
    return entries.takeStatus();
  for (const Field &f : *entries) {
    Expected<EntryDesc> entry = readEntry(f);
    if (!entry)
      return entry.takeStatus();
    if (manifest.find(entry->name))
      return f["name"].error("a name no other entry point has");
    manifest.entries.push_back(std::move(*entry));
  }
  return manifest;
}
