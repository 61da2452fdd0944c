//===- HFImporter.cpp - Hugging Face folders to the llm dialect -----------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// Reads config.json with llvm::json, checks every weight the architecture
// needs against the safetensors archive, and emits the forward pass in the
// llm dialect. One builder per family; the decoder families that differ only
// in switches (LLaMA, Mistral, Qwen2, Mixtral) share one.
//
//===----------------------------------------------------------------------===//

#include "llm/Import/HFImporter.h"
#include "llm/Import/JSON.h"
#include "llm/dialects/LLM/IR/LLMOps.h"

#include "SafeTensors.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::llm;
using llmrt::DType;
using llmrt::TensorInfo;

static llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

static constexpr llvm::StringLiteral kSupported =
    "bert, bloom, gpt2, llama, mistral, mixtral, qwen2, roberta, t5";

std::string mlir::llm::getSupportedModelTypes() { return kSupported.str(); }

//===----------------------------------------------------------------------===//
// config.json
//===----------------------------------------------------------------------===//

namespace {

/// Typed access to config.json whose errors name the file and the field.
class Config {
public:
  Config(std::string file, llvm::json::Object object)
      : file(std::move(file)), object(std::move(object)) {}

  static llvm::Expected<Config> read(llvm::StringRef path) {
    // Reading a FIFO or a device could block forever.
    llvm::sys::fs::file_status status;
    if (!llvm::sys::fs::status(path, status) &&
        status.type() != llvm::sys::fs::file_type::regular_file)
      return makeError(llvm::formatv(
          "{0}: expected a regular file, found {1}", path,
          status.type() == llvm::sys::fs::file_type::directory_file
              ? "a directory"
              : "a special file"));
    auto buffer = llvm::MemoryBuffer::getFile(path);
    if (!buffer)
      return makeError(llvm::formatv("{0}: cannot read: {1}", path,
                                     buffer.getError().message()));
    // Depth-limited: llvm::json::parse alone overflows the stack on deep
    // nesting.
    llvm::Expected<llvm::json::Value> json =
        parseJsonBounded((*buffer)->getBuffer(), path);
    if (!json)
      return json.takeError();
    llvm::json::Object *object = json->getAsObject();
    if (!object)
      return makeError(llvm::formatv("{0}: expected a JSON object at the top "
                                     "level, found {1}",
                                     path, describe(*json)));
    return Config(path.str(), std::move(*object));
  }

  bool has(llvm::StringRef key) const {
    const llvm::json::Value *v = object.get(key);
    return v && v->kind() != llvm::json::Value::Null;
  }

  /// A required integer field.
  int64_t getInt(llvm::StringRef key) {
    if (!has(key)) {
      fail(llvm::formatv("{0}: missing field '{1}' (an integer)", file, key));
      return 0;
    }
    return getInt(key, 0);
  }
  int64_t getInt(llvm::StringRef key, int64_t fallback) {
    if (!has(key))
      return fallback;
    if (std::optional<int64_t> v = toInt(key, *object.get(key)))
      return *v;
    return fallback;
  }
  /// A required positive integer.
  int64_t getPositive(llvm::StringRef key) {
    int64_t v = getInt(key);
    if (!error && v <= 0)
      fail(llvm::formatv("{0}: field '{1}': expected a positive integer, "
                         "found {2}",
                         file, key, v));
    return v;
  }
  int64_t getPositive(llvm::StringRef key, int64_t fallback) {
    int64_t v = getInt(key, fallback);
    if (!error && v <= 0)
      fail(llvm::formatv("{0}: field '{1}': expected a positive integer, "
                         "found {2}",
                         file, key, v));
    return v;
  }
  double getDouble(llvm::StringRef key, double fallback) {
    if (!has(key))
      return fallback;
    if (std::optional<double> v = object.get(key)->getAsNumber())
      return *v;
    fail(llvm::formatv("{0}: field '{1}': expected a number, found {2}", file,
                       key, describe(*object.get(key))));
    return fallback;
  }
  bool getBool(llvm::StringRef key, bool fallback) {
    if (!has(key))
      return fallback;
    if (std::optional<bool> v = object.get(key)->getAsBoolean())
      return *v;
    fail(llvm::formatv("{0}: field '{1}': expected true or false, found {2}",
                       file, key, describe(*object.get(key))));
    return fallback;
  }
  std::string getString(llvm::StringRef key, llvm::StringRef fallback) {
    if (!has(key))
      return fallback.str();
    if (std::optional<llvm::StringRef> v = object.get(key)->getAsString())
      return v->str();
    fail(llvm::formatv("{0}: field '{1}': expected a string, found {2}", file,
                       key, describe(*object.get(key))));
    return fallback.str();
  }
  /// Integer or list of integers (eos_token_id).
  std::vector<int64_t> getIntList(llvm::StringRef key) {
    std::vector<int64_t> result;
    if (!has(key))
      return result;
    const llvm::json::Value *v = object.get(key);
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
  /// A nested object (rope_scaling), or std::nullopt when absent/null.
  std::optional<Config> getObject(llvm::StringRef key) {
    if (!has(key))
      return std::nullopt;
    if (const llvm::json::Object *o = object.get(key)->getAsObject())
      return Config(file + ": field '" + key.str() + "'", *o);
    fail(llvm::formatv("{0}: field '{1}': expected an object, found {2}", file,
                       key, describe(*object.get(key))));
    return std::nullopt;
  }

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
    if (!error)
      return llvm::Error::success();
    return makeError(*error);
  }
  bool failed() const { return error.has_value(); }
  const std::string &getFile() const { return file; }

private:
  /// Config integers are sizes that get multiplied together (heads *
  /// head_dim, 4 * n_embd, ...) and token ids: within int32, every such
  /// product fits in int64.
  static constexpr int64_t kMinInt = std::numeric_limits<int32_t>::min();
  static constexpr int64_t kMaxInt = std::numeric_limits<int32_t>::max();

  /// `v` as an integer in [kMinInt, kMaxInt], or std::nullopt after failing.
  /// Never json::Value::getAsInteger() alone: it converts a double equal to
  /// 2^63 to int64_t, which is undefined behavior.
  std::optional<int64_t> toInt(llvm::StringRef key,
                               const llvm::json::Value &v) {
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
      fail(llvm::formatv("{0}: field '{1}': expected an integer, found {2}",
                         file, key, describe(v)));
    return std::nullopt;
  }

  static std::string describe(const llvm::json::Value &v) {
    std::string text;
    llvm::raw_string_ostream os(text);
    os << v;
    return text;
  }

  std::string file;
  llvm::json::Object object;
  std::optional<std::string> error;
};

} // namespace

llvm::Expected<HFModelInfo> mlir::llm::readHFModelInfo(llvm::StringRef dir) {
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, "config.json");
  llvm::Expected<Config> config = Config::read(path);
  if (!config)
    return config.takeError();
  HFModelInfo info;
  info.modelType = config->getString("model_type", "");
  llvm::StringRef type = info.modelType;
  if (type.empty())
    return makeError(llvm::formatv("{0}: missing field 'model_type'; "
                                   "supported: {1}",
                                   path, kSupported));
  if (!llvm::is_contained(
          llvm::ArrayRef<llvm::StringRef>{"bert", "bloom", "gpt2", "llama",
                                          "mistral", "mixtral", "qwen2",
                                          "roberta", "t5"},
          type))
    return makeError(llvm::formatv("{0}: field 'model_type': unsupported "
                                   "architecture '{1}'; supported: {2}",
                                   path, type, kSupported));
  if (type == "bert" || type == "roberta")
    info.kind = HFModelInfo::Kind::Encoder;
  else if (type == "t5")
    info.kind = HFModelInfo::Kind::EncoderDecoder;
  info.vocabSize = config->getPositive("vocab_size");
  if (type == "gpt2") {
    info.hiddenSize = config->getPositive("n_embd");
    info.maxPositions = config->getPositive("n_positions", 1024);
  } else if (type == "t5") {
    info.hiddenSize = config->getPositive("d_model");
    info.decoderStartTokenId = config->getInt("decoder_start_token_id", 0);
  } else {
    info.hiddenSize = config->getPositive("hidden_size");
  }
  if (info.kind == HFModelInfo::Kind::Encoder) {
    info.maxPositions = config->getPositive("max_position_embeddings");
    if (type == "roberta") {
      // Positions start after the padding index: at least one must remain.
      int64_t pad = config->getInt("pad_token_id", 1);
      config->check(config->failed() ||
                        (pad >= 0 && pad <= info.maxPositions - 2),
                    llvm::formatv("field 'pad_token_id': expected a padding "
                                  "index in [0, {0}] (max_position_embeddings "
                                  "- 2), found {1}",
                                  info.maxPositions - 2, pad));
      info.positionOffset = pad + 1;
      info.maxPositions -= info.positionOffset;
    }
  }
  info.eosTokenIds = config->getIntList("eos_token_id");
  if (llvm::Error err = config->takeError())
    return std::move(err);

  // generation_config.json overrides config.json, as in transformers.
  llvm::SmallString<256> startFile = path; // Of decoder_start_token_id.
  llvm::SmallString<256> genPath(dir);
  llvm::sys::path::append(genPath, "generation_config.json");
  if (llvm::sys::fs::exists(genPath)) {
    llvm::Expected<Config> gen = Config::read(genPath);
    if (!gen)
      return gen.takeError();
    if (gen->has("eos_token_id"))
      info.eosTokenIds = gen->getIntList("eos_token_id");
    if (gen->has("decoder_start_token_id")) {
      info.decoderStartTokenId = gen->getInt("decoder_start_token_id", 0);
      startFile = genPath;
    }
    if (llvm::Error err = gen->takeError())
      return std::move(err);
  }
  if (info.kind == HFModelInfo::Kind::EncoderDecoder &&
      (info.decoderStartTokenId < 0 ||
       info.decoderStartTokenId >= info.vocabSize))
    return makeError(llvm::formatv("{0}: field 'decoder_start_token_id': "
                                   "expected a token id in [0, {1}), found {2}",
                                   startFile, info.vocabSize,
                                   info.decoderStartTokenId));
  return info;
}

//===----------------------------------------------------------------------===//
// IR construction
//===----------------------------------------------------------------------===//

namespace {

/// How a weight is laid out in the archive relative to the IR's [out, in].
struct ParamLayout {
  bool transpose = false;
  /// start, size, stride, count (see llm.param).
  std::optional<std::array<int64_t, 4>> rowBlocks;
  /// With rowBlocks: the rows of the whole fused tensor (e.g. 3 * hidden for
  /// a fused QKV), which must match exactly; 0 only requires enough rows.
  int64_t fusedRows = 0;
};

/// Emits llm ops for one model, checking weights as it goes. The first error
/// sticks; later calls return null values and the caller reports the error.
class Emitter {
public:
  Emitter(MLIRContext &context, const SafeTensorsArchive &archive,
          std::string prefix)
      : context(context), builder(&context), loc(UnknownLoc::get(&context)),
        archive(archive), prefix(std::move(prefix)) {}

  bool failed() const { return error.has_value(); }
  void fail(const llvm::Twine &message) {
    if (!error)
      error = message.str();
  }
  llvm::Error takeError() {
    return error ? makeError(*error) : llvm::Error::success();
  }

  RankedTensorType f32(llvm::ArrayRef<int64_t> shape) {
    return RankedTensorType::get(shape, builder.getF32Type());
  }
  RankedTensorType i64(llvm::ArrayRef<int64_t> shape) {
    return RankedTensorType::get(shape, builder.getI64Type());
  }

  bool hasTensor(llvm::StringRef name) const {
    return archive.lookup(prefix + name.str()) != nullptr;
  }

  /// `llm.param` for `name` (prefixed), checked against the archive.
  /// `keepDtype`: big matrices keep their stored f16/bf16 (the kernels
  /// convert on the fly); everything else is read as f32.
  Value param(llvm::StringRef name, llvm::ArrayRef<int64_t> shape,
              bool keepDtype = false, ParamLayout layout = {}) {
    if (failed())
      return nullptr;
    std::string full = prefix + name.str();
    const TensorInfo *info = archive.lookup(full);
    if (!info) {
      fail(llvm::formatv("{0}: missing tensor '{1}' (expected shape {2})",
                         archive.directory(), full, fmt(shape)));
      return nullptr;
    }
    Type element;
    switch (info->dtype) {
    case DType::F32:
      element = builder.getF32Type();
      break;
    case DType::F16:
      element = keepDtype ? builder.getF16Type() : builder.getF32Type();
      break;
    case DType::BF16:
      element = keepDtype ? builder.getBF16Type() : builder.getF32Type();
      break;
    default:
      fail(llvm::formatv("{0}: tensor '{1}': dtype {2}, expected F32, F16 or "
                         "BF16",
                         info->file, full, getDTypeName(info->dtype)));
      return nullptr;
    }
    // The archive shape the layout implies.
    llvm::SmallVector<int64_t> stored(info->shape.begin(), info->shape.end());
    llvm::SmallVector<int64_t> logical = stored;
    if (layout.transpose && stored.size() == 2)
      logical = {stored[1], stored[0]};
    if (layout.rowBlocks && !logical.empty()) {
      auto [start, size, stride, count] = *layout.rowBlocks;
      if (layout.fusedRows ? logical[0] != layout.fusedRows
                           : start + (count - 1) * stride + size > logical[0]) {
        fail(llvm::formatv("{0}: tensor '{1}': shape {2}, expected {3} (fused "
                           "projections)",
                           info->file, full, fmt(stored),
                           fmt(expectedStored(shape, layout))));
        return nullptr;
      }
      logical[0] = size * count;
    }
    if (llvm::ArrayRef<int64_t>(logical) != shape) {
      fail(llvm::formatv("{0}: tensor '{1}': shape {2}, expected {3}",
                         info->file, full, fmt(stored),
                         fmt(expectedStored(shape, layout))));
      return nullptr;
    }
    auto op = ParamOp::create(builder, loc,
                              RankedTensorType::get(shape, element), full);
    if (layout.transpose)
      op.setTranspose(true);
    if (layout.rowBlocks)
      op.setRowBlocks(llvm::ArrayRef<int64_t>(*layout.rowBlocks));
    return op;
  }

  /// `llm.param` stacking the archive tensors `names` (per-expert weights).
  Value stackedParam(llvm::StringRef label, llvm::ArrayRef<std::string> names,
                     llvm::ArrayRef<int64_t> partShape) {
    if (failed())
      return nullptr;
    Type element;
    llvm::SmallVector<Attribute> attrs;
    for (const std::string &name : names) {
      std::string full = prefix + name;
      const TensorInfo *info = archive.lookup(full);
      if (!info) {
        fail(llvm::formatv("{0}: missing tensor '{1}' (expected shape {2})",
                           archive.directory(), full, fmt(partShape)));
        return nullptr;
      }
      if (llvm::ArrayRef<int64_t>(info->shape) != partShape) {
        fail(llvm::formatv("{0}: tensor '{1}': shape {2}, expected {3}",
                           info->file, full, fmt(info->shape), fmt(partShape)));
        return nullptr;
      }
      Type t = info->dtype == DType::BF16  ? builder.getBF16Type()
               : info->dtype == DType::F16 ? builder.getF16Type()
               : info->dtype == DType::F32 ? builder.getF32Type()
                                           : Type();
      if (!t || (element && element != t)) {
        fail(llvm::formatv("{0}: tensor '{1}': dtype {2}, expected {3}",
                           info->file, full, getDTypeName(info->dtype),
                           element ? "the dtype of the other experts"
                                   : "F32, F16 or BF16"));
        return nullptr;
      }
      element = t;
      attrs.push_back(builder.getStringAttr(full));
    }
    llvm::SmallVector<int64_t> shape = {static_cast<int64_t>(names.size())};
    shape.append(partShape.begin(), partShape.end());
    auto op =
        ParamOp::create(builder, loc, RankedTensorType::get(shape, element),
                        prefix + label.str());
    op.setStackedAttr(builder.getArrayAttr(attrs));
    return op;
  }

  /// input · Wᵀ (+ b) with W `name`.weight of logical shape [out, in].
  Value linear(Value x, llvm::StringRef name, int64_t out, bool bias,
               ParamLayout layout = {}) {
    if (failed() || !x)
      return nullptr;
    auto xt = cast<RankedTensorType>(x.getType());
    int64_t in = xt.getShape().back();
    Value w =
        param((name + ".weight").str(), {out, in}, /*keepDtype=*/true, layout);
    Value b;
    if (bias) {
      ParamLayout biasLayout;
      biasLayout.rowBlocks = layout.rowBlocks;
      biasLayout.fusedRows = layout.fusedRows;
      b = param((name + ".bias").str(), {out}, false, biasLayout);
    }
    if (failed())
      return nullptr;
    llvm::SmallVector<int64_t> shape(xt.getShape().drop_back());
    shape.push_back(out);
    return LinearOp::create(builder, loc, f32(shape), x, w, b);
  }

  Value rmsNorm(Value x, llvm::StringRef weight, double eps) {
    if (failed() || !x)
      return nullptr;
    int64_t dim = cast<RankedTensorType>(x.getType()).getShape().back();
    Value w = param(weight, {dim});
    if (failed())
      return nullptr;
    return RMSNormOp::create(builder, loc, x.getType(), x, w,
                             builder.getF64FloatAttr(eps),
                             builder.getF64FloatAttr(0.0));
  }

  Value layerNorm(Value x, llvm::StringRef name, double eps) {
    if (failed() || !x)
      return nullptr;
    int64_t dim = cast<RankedTensorType>(x.getType()).getShape().back();
    Value w = param((name + ".weight").str(), {dim});
    Value b = param((name + ".bias").str(), {dim});
    if (failed())
      return nullptr;
    return LayerNormOp::create(builder, loc, x.getType(), x, w, b,
                               builder.getF64FloatAttr(eps));
  }

  Value embedding(Value ids, llvm::StringRef name, int64_t rows, int64_t dim) {
    if (failed())
      return nullptr;
    Value table = param(name, {rows, dim}, /*keepDtype=*/true);
    if (failed())
      return nullptr;
    llvm::SmallVector<int64_t> shape(
        cast<RankedTensorType>(ids.getType()).getShape());
    shape.push_back(dim);
    return EmbeddingOp::create(builder, loc, f32(shape), table, ids);
  }

  Value add(Value a, Value b) {
    if (failed() || !a || !b)
      return nullptr;
    return arith::AddFOp::create(builder, loc, a, b);
  }

  Value scale(Value x, double s) {
    if (failed() || !x)
      return nullptr;
    auto type = cast<RankedTensorType>(x.getType());
    Value c = arith::ConstantOp::create(
        builder, loc, DenseElementsAttr::get(type, builder.getF32FloatAttr(s)));
    return arith::MulFOp::create(builder, loc, x, c);
  }

  Value relu(Value x) {
    if (failed() || !x)
      return nullptr;
    auto type = cast<RankedTensorType>(x.getType());
    Value zero = arith::ConstantOp::create(
        builder, loc,
        DenseElementsAttr::get(type, builder.getF32FloatAttr(0.0)));
    return arith::MaximumFOp::create(builder, loc, x, zero);
  }

  Value attention(Value q, Value k, Value v, int64_t heads, int64_t kvHeads,
                  std::optional<double> scale, MaskKind mask,
                  std::optional<int64_t> window = std::nullopt,
                  Value bias = nullptr) {
    if (failed() || !q || !k || !v)
      return nullptr;
    auto qt = cast<RankedTensorType>(q.getType());
    auto vt = cast<RankedTensorType>(v.getType());
    int64_t vHeadDim = vt.getShape().back() / kvHeads;
    if (decomposeAttention) {
      double headDim = static_cast<double>(qt.getShape().back() / heads);
      return decomposedAttention(q, k, v, heads, kvHeads,
                                 scale.value_or(1.0 / std::sqrt(headDim)), mask,
                                 window, bias);
    }
    auto result = f32({qt.getDimSize(0), qt.getDimSize(1), heads * vHeadDim});
    return AttentionOp::create(
        builder, loc, result, q, k, v, /*key_padding=*/Value(), bias,
        builder.getI64IntegerAttr(heads), builder.getI64IntegerAttr(kvHeads),
        scale ? builder.getF64FloatAttr(*scale) : FloatAttr(),
        MaskKindAttr::get(&context, mask),
        window ? builder.getI64IntegerAttr(*window) : IntegerAttr());
  }

  /// softmax(Q·Kᵀ * factor + bias + mask) · V spelled out op by op over
  /// [batch, heads, seq, head_dim] planes, as exported graphs have it: the
  /// input --llm-fuse-attention raises back into llm.flash_attention.
  Value decomposedAttention(Value q, Value k, Value v, int64_t heads,
                            int64_t kvHeads, double factor, MaskKind mask,
                            std::optional<int64_t> window, Value bias) {
    llvm::ArrayRef<int64_t> qs = cast<RankedTensorType>(q.getType()).getShape();
    int64_t batch = qs[0], qLen = qs[1];
    int64_t kvLen = cast<RankedTensorType>(k.getType()).getDimSize(1);
    int64_t headDim = qs[2] / heads;
    int64_t vHeadDim =
        cast<RankedTensorType>(v.getType()).getDimSize(2) / kvHeads;
    auto split = [&](Value x, int64_t n, int64_t len, int64_t dim) -> Value {
      return SplitHeadsOp::create(builder, loc, f32({batch, n, len, dim}), x,
                                  builder.getI64IntegerAttr(n));
    };
    auto repeat = [&](Value x, int64_t dim) -> Value {
      if (kvHeads == heads)
        return x;
      return RepeatKVOp::create(builder, loc, f32({batch, heads, kvLen, dim}),
                                x, builder.getI64IntegerAttr(heads / kvHeads));
    };
    Value qh = split(q, heads, qLen, headDim);
    Value kh = repeat(split(k, kvHeads, kvLen, headDim), headDim);
    Value vh = repeat(split(v, kvHeads, kvLen, vHeadDim), vHeadDim);
    // Without a bias the factor may as well scale the queries, as some
    // exports do; with one it must scale the scores alone.
    bool scaleQuery = !bias && factor != 1.0;
    if (scaleQuery)
      qh = scale(qh, factor);
    RankedTensorType scoresType = f32({batch, heads, qLen, kvLen});
    Value s = MatmulOp::create(builder, loc, scoresType, qh, kh,
                               builder.getUnitAttr());
    if (!scaleQuery && factor != 1.0)
      s = scale(s, factor);
    if (bias)
      s = add(s, broadcastBias(bias, scoresType));
    if (mask != MaskKind::Bidirectional)
      s = add(s, maskConstant(scoresType, mask, window));
    Value p = SoftmaxOp::create(builder, loc, scoresType, s,
                                builder.getI64IntegerAttr(3));
    Value o = MatmulOp::create(
        builder, loc, f32({batch, heads, qLen, vHeadDim}), p, vh, UnitAttr());
    return MergeHeadsOp::create(builder, loc,
                                f32({batch, qLen, heads * vHeadDim}), o);
  }

  /// A [heads, q_len, kv_len] bias at the scores' [batch, heads, q_len,
  /// kv_len] shape, for arith.addf.
  Value broadcastBias(Value bias, RankedTensorType scoresType) {
    if (bias.getType() == scoresType)
      return bias;
    if (scoresType.getDimSize(0) == 1)
      return tensor::ExpandShapeOp::create(
          builder, loc, scoresType, bias,
          llvm::ArrayRef<ReassociationIndices>{{0, 1}, {2}, {3}});
    Value init = tensor::EmptyOp::create(builder, loc, scoresType.getShape(),
                                         scoresType.getElementType());
    return linalg::BroadcastOp::create(builder, loc, bias, init,
                                       llvm::ArrayRef<int64_t>{0})
        ->getResult(0);
  }

  /// The additive mask: 0 where query i (at position i + kv_len - q_len)
  /// sees key j, -inf elsewhere, the same for every batch and head.
  Value maskConstant(RankedTensorType type, MaskKind mask,
                     std::optional<int64_t> window) {
    llvm::ArrayRef<int64_t> shape = type.getShape();
    int64_t qLen = shape[2], kvLen = shape[3];
    std::vector<float> plane(qLen * kvLen);
    for (int64_t i = 0; i < qLen; ++i) {
      int64_t position = i + kvLen - qLen;
      for (int64_t j = 0; j < kvLen; ++j) {
        bool visible = j <= position;
        if (mask == MaskKind::SlidingWindow && window)
          visible = visible && j > position - *window;
        plane[i * kvLen + j] =
            visible ? 0.0f : -std::numeric_limits<float>::infinity();
      }
    }
    std::vector<float> values;
    values.reserve(type.getNumElements());
    for (int64_t n = 0; n < shape[0] * shape[1]; ++n)
      values.insert(values.end(), plane.begin(), plane.end());
    return arith::ConstantOp::create(
        builder, loc,
        DenseElementsAttr::get(type, llvm::ArrayRef<float>(values)));
  }

  Value rope(Value x, Value positions, int64_t heads, int64_t rotaryDim,
             double theta, RopeScalingAttr scaling) {
    if (failed() || !x)
      return nullptr;
    int64_t headDim =
        cast<RankedTensorType>(x.getType()).getShape().back() / heads;
    return RoPEOp::create(
        builder, loc, x.getType(), x, positions,
        builder.getI64IntegerAttr(heads),
        rotaryDim == headDim ? IntegerAttr()
                             : builder.getI64IntegerAttr(rotaryDim),
        builder.getF64FloatAttr(theta),
        RopePairingAttr::get(&context, RopePairing::NeoX), scaling);
  }

  /// Starts `func.func @forward(args) -> results`; returns its arguments.
  llvm::SmallVector<Value> beginFunction(ModuleOp module,
                                         llvm::ArrayRef<Type> args,
                                         llvm::ArrayRef<Type> results) {
    builder.setInsertionPointToEnd(module.getBody());
    auto fn = func::FuncOp::create(builder, loc, functionName,
                                   builder.getFunctionType(args, results));
    Block *entry = fn.addEntryBlock();
    builder.setInsertionPointToStart(entry);
    return llvm::SmallVector<Value>(entry->getArguments());
  }

  void endFunction(Value result) {
    if (!failed() && result)
      func::ReturnOp::create(builder, loc, result);
  }

  MLIRContext &context;
  OpBuilder builder;
  Location loc;
  /// Sequences per call, and the emitted function's name.
  int64_t batch = 1;
  /// Emit attention op by op (HFImportOptions::decomposeAttention).
  bool decomposeAttention = false;
  std::string functionName = "forward";

private:
  static std::string fmt(llvm::ArrayRef<int64_t> shape) {
    std::string text = "[";
    for (auto [i, d] : llvm::enumerate(shape))
      text += (i ? ", " : "") + std::to_string(d);
    return text + "]";
  }
  /// The stored shape that would have produced `shape` under `layout`.
  static llvm::SmallVector<int64_t>
  expectedStored(llvm::ArrayRef<int64_t> shape, const ParamLayout &layout) {
    llvm::SmallVector<int64_t> s(shape.begin(), shape.end());
    if (layout.rowBlocks && !s.empty() && layout.fusedRows)
      s[0] = layout.fusedRows;
    else if (layout.rowBlocks && !s.empty())
      s[0] = std::max(s[0], (*layout.rowBlocks)[0] +
                                ((*layout.rowBlocks)[3] - 1) *
                                    (*layout.rowBlocks)[2] +
                                (*layout.rowBlocks)[1]);
    if (layout.transpose && s.size() == 2)
      std::swap(s[0], s[1]);
    return s;
  }

  const SafeTensorsArchive &archive;
  std::string prefix;
  std::optional<std::string> error;
};

/// The first of `prefixes` under which `probe` exists in the archive.
std::string findPrefix(const SafeTensorsArchive &archive, llvm::StringRef probe,
                       llvm::ArrayRef<llvm::StringRef> prefixes) {
  for (llvm::StringRef p : prefixes)
    if (archive.lookup((p + probe).str()))
      return p.str();
  return prefixes.front().str();
}

/// Reads rope scaling from `rope_scaling` (transformers v4) or
/// `rope_parameters` (v5). Returns a null attribute for plain RoPE.
RopeScalingAttr readRopeScaling(Config &config, MLIRContext &context,
                                double &theta) {
  std::optional<Config> scaling = config.getObject("rope_scaling");
  if (!scaling)
    scaling = config.getObject("rope_parameters");
  if (!scaling)
    return {};
  if (scaling->has("rope_theta"))
    theta = scaling->getDouble("rope_theta", theta);
  std::string type = scaling->getString("rope_type", "");
  if (type.empty())
    type = scaling->getString("type", "default");
  std::optional<RopeScalingKind> kind;
  if (type == "default")
    kind = RopeScalingKind::None;
  else if (type == "linear")
    kind = RopeScalingKind::Linear;
  else if (type == "dynamic")
    kind = RopeScalingKind::Dynamic;
  else if (type == "yarn")
    kind = RopeScalingKind::Yarn;
  else if (type == "llama3")
    kind = RopeScalingKind::Llama3;
  if (!kind) {
    config.fail(llvm::formatv("{0}: field 'rope_type': unsupported rope "
                              "scaling '{1}'; supported: default, linear, "
                              "dynamic, yarn, llama3",
                              scaling->getFile(), type));
    return {};
  }
  if (*kind == RopeScalingKind::None)
    return {};
  double factor = scaling->getDouble("factor", 1.0);
  int64_t original =
      scaling->getInt("original_max_position_embeddings",
                      config.getInt("max_position_embeddings", 0));
  // Dynamic NTK measures growth against max_position_embeddings.
  if (*kind == RopeScalingKind::Dynamic)
    original = config.getInt("max_position_embeddings", original);
  double attentionFactor = scaling->getDouble("attention_factor", 0.0);
  double lowFreqFactor = scaling->getDouble("low_freq_factor", 1.0);
  double highFreqFactor = scaling->getDouble("high_freq_factor", 4.0);
  double betaFast = scaling->getDouble("beta_fast", 32.0);
  double betaSlow = scaling->getDouble("beta_slow", 1.0);
  if (*kind == RopeScalingKind::Yarn && scaling->has("mscale"))
    config.fail(llvm::formatv("{0}: field 'mscale': YaRN with mscale is not "
                              "supported; supported YaRN fields: factor, "
                              "original_max_position_embeddings, beta_fast, "
                              "beta_slow, attention_factor",
                              scaling->getFile()));
  if (llvm::Error err = scaling->takeError()) {
    config.fail(llvm::toString(std::move(err)));
    return {};
  }
  // The attribute's verifier checks the values: report its message as an
  // error of the config (a bare diagnostic left plain RoPE in place).
  std::string invalid;
  ScopedDiagnosticHandler capture(&context, [&](Diagnostic &diag) {
    if (invalid.empty())
      invalid = diag.str();
    return success();
  });
  auto emitError = [&] { return mlir::emitError(UnknownLoc::get(&context)); };
  RopeScalingAttr attr = RopeScalingAttr::getChecked(
      emitError, &context, *kind, llvm::APFloat(factor), original,
      llvm::APFloat(lowFreqFactor), llvm::APFloat(highFreqFactor),
      llvm::APFloat(betaFast), llvm::APFloat(betaSlow),
      llvm::APFloat(attentionFactor));
  if (!attr)
    config.fail(
        llvm::formatv("{0}: {1}", scaling->getFile(),
                      invalid.empty() ? "invalid rope scaling" : invalid));
  return attr;
}

//===----------------------------------------------------------------------===//
// Families
//===----------------------------------------------------------------------===//

/// LLaMA, Mistral, Qwen2 and Mixtral.
llvm::Error importLlamaFamily(Config &c, Emitter &e, ModuleOp module,
                              llvm::StringRef type, int64_t seq) {
  int64_t vocab = c.getPositive("vocab_size");
  int64_t hidden = c.getPositive("hidden_size");
  int64_t layers = c.getPositive("num_hidden_layers");
  int64_t heads = c.getPositive("num_attention_heads");
  int64_t kvHeads = c.getPositive("num_key_value_heads", heads);
  int64_t headDim = c.has("head_dim") ? c.getPositive("head_dim") : 0;
  if (!headDim) {
    c.check(hidden % heads == 0,
            llvm::formatv("field 'num_attention_heads': expected a divisor of "
                          "hidden_size {0}, found {1}",
                          hidden, heads));
    headDim = heads ? hidden / heads : 0;
  }
  c.check(heads % kvHeads == 0,
          llvm::formatv("field 'num_key_value_heads': expected a divisor of "
                        "num_attention_heads {0}, found {1}",
                        heads, kvHeads));
  double eps = c.getDouble("rms_norm_eps", 1e-6);
  double theta = c.getDouble("rope_theta", 10000.0);
  RopeScalingAttr scaling = readRopeScaling(c, e.context, theta);
  bool tied = c.getBool("tie_word_embeddings", false);
  bool qkvBias = c.getBool("attention_bias", type == "qwen2");
  bool oBias = c.getBool("attention_bias", false);
  bool mlpBias = c.getBool("mlp_bias", false);
  std::string act = c.getString("hidden_act", "silu");
  c.check(
      act == "silu",
      llvm::formatv("field 'hidden_act': expected 'silu', found '{0}'", act));
  std::optional<int64_t> window;
  bool slidingEnabled = type == "mistral" || type == "mixtral" ||
                        c.getBool("use_sliding_window", false);
  if (slidingEnabled && c.has("sliding_window"))
    window = c.getPositive("sliding_window");
  int64_t inter = 0, experts = 0, topK = 0;
  if (type == "mixtral") {
    experts = c.getPositive("num_local_experts");
    topK = c.getPositive("num_experts_per_tok");
    c.check(topK <= experts,
            llvm::formatv("field 'num_experts_per_tok': expected at most "
                          "num_local_experts {0}, found {1}",
                          experts, topK));
  }
  inter = c.getPositive("intermediate_size");
  if (c.failed())
    return c.takeError();

  auto seqTy = e.i64({e.batch, seq});
  llvm::SmallVector<Value> args =
      e.beginFunction(module, {seqTy, seqTy}, {e.f32({e.batch, seq, vocab})});
  Value ids = args[0], positions = args[1];
  Value h = e.embedding(ids, "model.embed_tokens.weight", vocab, hidden);
  MaskKind mask = window ? MaskKind::SlidingWindow : MaskKind::Causal;
  for (int64_t i = 0; i < layers && !e.failed(); ++i) {
    std::string p = llvm::formatv("model.layers.{0}.", i).str();
    Value x = e.rmsNorm(h, p + "input_layernorm.weight", eps);
    Value q = e.linear(x, p + "self_attn.q_proj", heads * headDim, qkvBias);
    Value k = e.linear(x, p + "self_attn.k_proj", kvHeads * headDim, qkvBias);
    Value v = e.linear(x, p + "self_attn.v_proj", kvHeads * headDim, qkvBias);
    q = e.rope(q, positions, heads, headDim, theta, scaling);
    k = e.rope(k, positions, kvHeads, headDim, theta, scaling);
    Value a = e.attention(q, k, v, heads, kvHeads, std::nullopt, mask, window);
    h = e.add(h, e.linear(a, p + "self_attn.o_proj", hidden, oBias));
    x = e.rmsNorm(h, p + "post_attention_layernorm.weight", eps);
    Value y;
    if (type == "mixtral") {
      std::string m = p + "block_sparse_moe.";
      Value router = e.param(m + "gate.weight", {experts, hidden}, true);
      std::vector<std::string> w1, w2, w3;
      for (int64_t j = 0; j < experts; ++j) {
        w1.push_back(llvm::formatv("{0}experts.{1}.w1.weight", m, j).str());
        w2.push_back(llvm::formatv("{0}experts.{1}.w2.weight", m, j).str());
        w3.push_back(llvm::formatv("{0}experts.{1}.w3.weight", m, j).str());
      }
      Value gate = e.stackedParam(m + "experts.w1", w1, {inter, hidden});
      Value up = e.stackedParam(m + "experts.w3", w3, {inter, hidden});
      Value down = e.stackedParam(m + "experts.w2", w2, {hidden, inter});
      if (!e.failed())
        y = MoEOp::create(e.builder, e.loc, x.getType(), x, router, gate, up,
                          down, e.builder.getI64IntegerAttr(topK),
                          e.builder.getUnitAttr(),
                          ActivationAttr::get(&e.context, Activation::SiLU));
    } else {
      Value g = e.linear(x, p + "mlp.gate_proj", inter, mlpBias);
      Value u = e.linear(x, p + "mlp.up_proj", inter, mlpBias);
      Value act;
      if (!e.failed())
        act = GluOp::create(e.builder, e.loc, g.getType(), g, u,
                            ActivationAttr::get(&e.context, Activation::SiLU));
      y = e.linear(act, p + "mlp.down_proj", hidden, mlpBias);
    }
    h = e.add(h, y);
  }
  h = e.rmsNorm(h, "model.norm.weight", eps);
  bool untied = !tied && e.hasTensor("lm_head.weight");
  if (!tied && !untied)
    e.fail("missing tensor 'lm_head.weight' (config.json has "
           "tie_word_embeddings = false)");
  Value logits =
      e.linear(h, untied ? "lm_head" : "model.embed_tokens", vocab, false);
  e.endFunction(logits);
  return e.takeError();
}

llvm::Error importGPT2(Config &c, Emitter &e, ModuleOp module, int64_t seq) {
  int64_t vocab = c.getPositive("vocab_size");
  int64_t hidden = c.getPositive("n_embd");
  int64_t layers = c.getPositive("n_layer");
  int64_t heads = c.getPositive("n_head");
  int64_t positions = c.getPositive("n_positions", 1024);
  int64_t inner = c.getPositive("n_inner", 4 * hidden);
  double eps = c.getDouble("layer_norm_epsilon", 1e-5);
  std::string act = c.getString("activation_function", "gelu_new");
  c.check(act == "gelu_new" || act == "gelu" || act == "gelu_pytorch_tanh",
          llvm::formatv("field 'activation_function': expected 'gelu_new', "
                        "'gelu_pytorch_tanh' or 'gelu', found '{0}'",
                        act));
  c.check(hidden % heads == 0,
          llvm::formatv("field 'n_head': expected a divisor of n_embd {0}, "
                        "found {1}",
                        hidden, heads));
  c.check(seq <= positions,
          llvm::formatv("field 'n_positions': the model supports {0} "
                        "positions, the input needs {1}",
                        positions, seq));
  c.check(
      !c.getBool("scale_attn_by_inverse_layer_idx", false),
      "field 'scale_attn_by_inverse_layer_idx': expected false, found true");
  c.check(c.getBool("scale_attn_weights", true),
          "field 'scale_attn_weights': expected true, found false");
  if (c.failed())
    return c.takeError();
  GeluApproximation approx =
      act == "gelu" ? GeluApproximation::None : GeluApproximation::Tanh;

  auto seqTy = e.i64({e.batch, seq});
  llvm::SmallVector<Value> args =
      e.beginFunction(module, {seqTy, seqTy}, {e.f32({e.batch, seq, vocab})});
  Value h = e.add(e.embedding(args[0], "wte.weight", vocab, hidden),
                  e.embedding(args[1], "wpe.weight", positions, hidden));
  auto part = [](int64_t index, int64_t size) {
    ParamLayout l;
    l.transpose = true;
    l.rowBlocks = std::array<int64_t, 4>{index * size, size, size, 1};
    l.fusedRows = 3 * size;
    return l;
  };
  ParamLayout conv1d;
  conv1d.transpose = true;
  for (int64_t i = 0; i < layers && !e.failed(); ++i) {
    std::string p = llvm::formatv("h.{0}.", i).str();
    Value x = e.layerNorm(h, p + "ln_1", eps);
    Value q = e.linear(x, p + "attn.c_attn", hidden, true, part(0, hidden));
    Value k = e.linear(x, p + "attn.c_attn", hidden, true, part(1, hidden));
    Value v = e.linear(x, p + "attn.c_attn", hidden, true, part(2, hidden));
    Value a =
        e.attention(q, k, v, heads, heads, std::nullopt, MaskKind::Causal);
    h = e.add(h, e.linear(a, p + "attn.c_proj", hidden, true, conv1d));
    x = e.layerNorm(h, p + "ln_2", eps);
    Value f = e.linear(x, p + "mlp.c_fc", inner, true, conv1d);
    if (!e.failed())
      f = GeluOp::create(e.builder, e.loc, f.getType(), f,
                         GeluApproximationAttr::get(&e.context, approx));
    h = e.add(h, e.linear(f, p + "mlp.c_proj", hidden, true, conv1d));
  }
  h = e.layerNorm(h, "ln_f", eps);
  e.endFunction(e.linear(h, "wte", vocab, false));
  return e.takeError();
}

llvm::Error importBloom(Config &c, Emitter &e, ModuleOp module, int64_t seq) {
  int64_t vocab = c.getPositive("vocab_size");
  int64_t hidden = c.has("hidden_size") ? c.getPositive("hidden_size")
                                        : c.getPositive("n_embed");
  int64_t layers = c.has("n_layer") ? c.getPositive("n_layer")
                                    : c.getPositive("num_hidden_layers");
  int64_t heads = c.has("n_head") ? c.getPositive("n_head")
                                  : c.getPositive("num_attention_heads");
  double eps = c.getDouble("layer_norm_epsilon", 1e-5);
  c.check(hidden % heads == 0,
          llvm::formatv("field 'n_head': expected a divisor of hidden_size "
                        "{0}, found {1}",
                        hidden, heads));
  c.check(!c.getBool("apply_residual_connection_post_layernorm", false),
          "field 'apply_residual_connection_post_layernorm': expected false, "
          "found true");
  if (c.failed())
    return c.takeError();
  int64_t headDim = hidden / heads;

  auto seqTy = e.i64({e.batch, seq});
  llvm::SmallVector<Value> args =
      e.beginFunction(module, {seqTy, seqTy}, {e.f32({e.batch, seq, vocab})});
  Value h = e.embedding(args[0], "word_embeddings.weight", vocab, hidden);
  h = e.layerNorm(h, "word_embeddings_layernorm", eps);
  // Fused QKV rows are [head, {q, k, v}, head_dim].
  auto part = [&](int64_t index) {
    ParamLayout l;
    l.rowBlocks =
        std::array<int64_t, 4>{index * headDim, headDim, 3 * headDim, heads};
    l.fusedRows = 3 * headDim * heads;
    return l;
  };
  Value alibi;
  if (!e.failed())
    alibi = AlibiOp::create(e.builder, e.loc, e.f32({heads, seq, seq}),
                            e.builder.getF64FloatAttr(8.0));
  for (int64_t i = 0; i < layers && !e.failed(); ++i) {
    std::string p = llvm::formatv("h.{0}.", i).str();
    Value x = e.layerNorm(h, p + "input_layernorm", eps);
    std::string qkv = p + "self_attention.query_key_value";
    Value q = e.linear(x, qkv, hidden, true, part(0));
    Value k = e.linear(x, qkv, hidden, true, part(1));
    Value v = e.linear(x, qkv, hidden, true, part(2));
    Value a = e.attention(q, k, v, heads, heads, std::nullopt, MaskKind::Causal,
                          std::nullopt, alibi);
    h = e.add(h, e.linear(a, p + "self_attention.dense", hidden, true));
    x = e.layerNorm(h, p + "post_attention_layernorm", eps);
    Value f = e.linear(x, p + "mlp.dense_h_to_4h", 4 * hidden, true);
    if (!e.failed())
      f = GeluOp::create(
          e.builder, e.loc, f.getType(), f,
          GeluApproximationAttr::get(&e.context, GeluApproximation::Tanh));
    h = e.add(h, e.linear(f, p + "mlp.dense_4h_to_h", hidden, true));
  }
  h = e.layerNorm(h, "ln_f", eps);
  e.endFunction(e.linear(h, "word_embeddings", vocab, false));
  return e.takeError();
}

llvm::Error importBert(Config &c, Emitter &e, ModuleOp module,
                       llvm::StringRef type, int64_t seq) {
  int64_t vocab = c.getPositive("vocab_size");
  int64_t hidden = c.getPositive("hidden_size");
  int64_t layers = c.getPositive("num_hidden_layers");
  int64_t heads = c.getPositive("num_attention_heads");
  int64_t inter = c.getPositive("intermediate_size");
  int64_t positions = c.getPositive("max_position_embeddings");
  int64_t typeVocab = c.getPositive("type_vocab_size", 2);
  double eps = c.getDouble("layer_norm_eps", 1e-12);
  std::string act = c.getString("hidden_act", "gelu");
  c.check(act == "gelu" || act == "gelu_new",
          llvm::formatv("field 'hidden_act': expected 'gelu' or 'gelu_new', "
                        "found '{0}'",
                        act));
  c.check(hidden % heads == 0,
          llvm::formatv("field 'num_attention_heads': expected a divisor of "
                        "hidden_size {0}, found {1}",
                        hidden, heads));
  std::string posType = c.getString("position_embedding_type", "absolute");
  c.check(posType == "absolute",
          llvm::formatv("field 'position_embedding_type': expected "
                        "'absolute', found '{0}'",
                        posType));
  if (c.failed())
    return c.takeError();
  (void)type;

  auto seqTy = e.i64({1, seq});
  llvm::SmallVector<Value> args =
      e.beginFunction(module, {seqTy, seqTy, seqTy}, {e.f32({1, seq, hidden})});
  Value h = e.add(
      e.add(e.embedding(args[0], "embeddings.word_embeddings.weight", vocab,
                        hidden),
            e.embedding(args[2], "embeddings.token_type_embeddings.weight",
                        typeVocab, hidden)),
      e.embedding(args[1], "embeddings.position_embeddings.weight", positions,
                  hidden));
  h = e.layerNorm(h, "embeddings.LayerNorm", eps);
  GeluApproximation approx =
      act == "gelu" ? GeluApproximation::None : GeluApproximation::Tanh;
  for (int64_t i = 0; i < layers && !e.failed(); ++i) {
    std::string p = llvm::formatv("encoder.layer.{0}.", i).str();
    Value q = e.linear(h, p + "attention.self.query", hidden, true);
    Value k = e.linear(h, p + "attention.self.key", hidden, true);
    Value v = e.linear(h, p + "attention.self.value", hidden, true);
    Value a = e.attention(q, k, v, heads, heads, std::nullopt,
                          MaskKind::Bidirectional);
    h = e.layerNorm(
        e.add(h, e.linear(a, p + "attention.output.dense", hidden, true)),
        p + "attention.output.LayerNorm", eps);
    Value f = e.linear(h, p + "intermediate.dense", inter, true);
    if (!e.failed())
      f = GeluOp::create(e.builder, e.loc, f.getType(), f,
                         GeluApproximationAttr::get(&e.context, approx));
    h = e.layerNorm(e.add(h, e.linear(f, p + "output.dense", hidden, true)),
                    p + "output.LayerNorm", eps);
  }
  e.endFunction(h);
  return e.takeError();
}

llvm::Error importT5(Config &c, Emitter &e, ModuleOp module, int64_t seq,
                     int64_t decSeq) {
  int64_t vocab = c.getPositive("vocab_size");
  int64_t dModel = c.getPositive("d_model");
  int64_t dKv = c.getPositive("d_kv");
  int64_t dFF = c.getPositive("d_ff");
  int64_t layers = c.getPositive("num_layers");
  int64_t decLayers = c.getPositive("num_decoder_layers", layers);
  int64_t heads = c.getPositive("num_heads");
  int64_t buckets = c.getPositive("relative_attention_num_buckets", 32);
  int64_t maxDistance = c.getPositive("relative_attention_max_distance", 128);
  double eps = c.getDouble("layer_norm_epsilon", 1e-6);
  bool tied = c.getBool("tie_word_embeddings", true);
  // Tied T5 heads see the decoder output scaled by d_model^-0.5
  // (transformers 5 names the switch scale_decoder_outputs).
  bool scaleOutputs = c.getBool("scale_decoder_outputs", tied);
  std::string ff = c.getString("feed_forward_proj", "relu");
  bool gated = llvm::StringRef(ff).starts_with("gated-");
  llvm::StringRef actName = gated ? llvm::StringRef(ff).drop_front(6) : ff;
  std::optional<Activation> act;
  if (actName == "relu")
    act = Activation::ReLU;
  else if (actName == "gelu")
    act = gated ? Activation::GELUTanh : Activation::GELU;
  else if (actName == "silu")
    act = Activation::SiLU;
  else if (actName == "gelu_new")
    act = Activation::GELUTanh;
  c.check(act.has_value(),
          llvm::formatv("field 'feed_forward_proj': expected relu, gelu, "
                        "gated-gelu, gated-relu or gated-silu, found '{0}'",
                        ff));
  c.check(decSeq > 0, "the decoder needs at least one token "
                      "(--decoder-input-ids)");
  if (c.failed())
    return c.takeError();
  int64_t inner = heads * dKv;

  // Row b of the batch is one (encoder input, decoder input) pair.
  llvm::SmallVector<Value> args =
      e.beginFunction(module, {e.i64({e.batch, seq}), e.i64({e.batch, decSeq})},
                      {e.f32({e.batch, decSeq, vocab})});
  auto feedForward = [&](Value x, const std::string &p) -> Value {
    std::string d = p + "DenseReluDense.";
    if (!gated) {
      Value f = e.linear(x, d + "wi", dFF, false);
      if (*act == Activation::ReLU)
        f = e.relu(f);
      else if (!e.failed())
        f = GeluOp::create(e.builder, e.loc, f.getType(), f,
                           GeluApproximationAttr::get(
                               &e.context, *act == Activation::GELU
                                               ? GeluApproximation::None
                                               : GeluApproximation::Tanh));
      return e.linear(f, d + "wo", dModel, false);
    }
    Value g = e.linear(x, d + "wi_0", dFF, false);
    Value u = e.linear(x, d + "wi_1", dFF, false);
    Value f;
    if (!e.failed())
      f = GluOp::create(e.builder, e.loc, g.getType(), g, u,
                        ActivationAttr::get(&e.context, *act));
    return e.linear(f, d + "wo", dModel, false);
  };
  auto relBias = [&](llvm::StringRef name, int64_t q, bool bidirectional) {
    Value table = e.param(name, {buckets, heads});
    if (e.failed())
      return Value();
    auto op = RelativePositionBiasOp::create(
        e.builder, e.loc, e.f32({heads, q, q}), table,
        e.builder.getI64IntegerAttr(buckets),
        e.builder.getI64IntegerAttr(maxDistance),
        bidirectional ? e.builder.getUnitAttr() : UnitAttr());
    return Value(op);
  };

  // Encoder.
  Value h = e.embedding(args[0], "shared.weight", vocab, dModel);
  Value encBias = relBias(
      "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
      seq, true);
  for (int64_t i = 0; i < layers && !e.failed(); ++i) {
    std::string p = llvm::formatv("encoder.block.{0}.layer.", i).str();
    Value x = e.rmsNorm(h, p + "0.layer_norm.weight", eps);
    std::string a = p + "0.SelfAttention.";
    Value att = e.attention(
        e.linear(x, a + "q", inner, false), e.linear(x, a + "k", inner, false),
        e.linear(x, a + "v", inner, false), heads, heads, 1.0,
        MaskKind::Bidirectional, std::nullopt, encBias);
    h = e.add(h, e.linear(att, a + "o", dModel, false));
    h = e.add(
        h, feedForward(e.rmsNorm(h, p + "1.layer_norm.weight", eps), p + "1."));
  }
  Value enc = e.rmsNorm(h, "encoder.final_layer_norm.weight", eps);

  // Decoder.
  h = e.embedding(args[1], "shared.weight", vocab, dModel);
  Value decBias = relBias(
      "decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
      decSeq, false);
  for (int64_t i = 0; i < decLayers && !e.failed(); ++i) {
    std::string p = llvm::formatv("decoder.block.{0}.layer.", i).str();
    Value x = e.rmsNorm(h, p + "0.layer_norm.weight", eps);
    std::string a = p + "0.SelfAttention.";
    Value att = e.attention(e.linear(x, a + "q", inner, false),
                            e.linear(x, a + "k", inner, false),
                            e.linear(x, a + "v", inner, false), heads, heads,
                            1.0, MaskKind::Causal, std::nullopt, decBias);
    h = e.add(h, e.linear(att, a + "o", dModel, false));
    x = e.rmsNorm(h, p + "1.layer_norm.weight", eps);
    std::string ca = p + "1.EncDecAttention.";
    att = e.attention(e.linear(x, ca + "q", inner, false),
                      e.linear(enc, ca + "k", inner, false),
                      e.linear(enc, ca + "v", inner, false), heads, heads, 1.0,
                      MaskKind::Bidirectional);
    h = e.add(h, e.linear(att, ca + "o", dModel, false));
    h = e.add(
        h, feedForward(e.rmsNorm(h, p + "2.layer_norm.weight", eps), p + "2."));
  }
  h = e.rmsNorm(h, "decoder.final_layer_norm.weight", eps);
  if (scaleOutputs)
    h = e.scale(h, 1.0 / std::sqrt(static_cast<double>(dModel)));
  // T5 v1.1 checkpoints carry their own head even where the config claims
  // tied embeddings; transformers then leaves them untied.
  bool untied = e.hasTensor("lm_head.weight");
  if (!tied && !untied)
    e.fail("missing tensor 'lm_head.weight' (config.json has "
           "tie_word_embeddings = false)");
  e.endFunction(e.linear(h, untied ? "lm_head" : "shared", vocab, false));
  return e.takeError();
}

} // namespace

llvm::Expected<OwningOpRef<ModuleOp>>
mlir::llm::importHuggingFace(MLIRContext &context, llvm::StringRef modelDir,
                             const SafeTensorsArchive &archive,
                             const HFImportOptions &options) {
  context.loadDialect<LLMDialect, func::FuncDialect, arith::ArithDialect,
                      linalg::LinalgDialect, tensor::TensorDialect>();
  llvm::Expected<HFModelInfo> info = readHFModelInfo(modelDir);
  if (!info)
    return info.takeError();
  llvm::SmallString<256> path(modelDir);
  llvm::sys::path::append(path, "config.json");
  llvm::Expected<Config> config = Config::read(path);
  if (!config)
    return config.takeError();
  if (options.seqLen <= 0)
    return makeError(llvm::formatv("expected at least one input token, found "
                                   "{0}",
                                   options.seqLen));
  if (info->maxPositions && options.seqLen > info->maxPositions)
    return makeError(llvm::formatv(
        "{0}: the model supports {1} positions, the input has {2} tokens", path,
        info->maxPositions, options.seqLen));

  OwningOpRef<ModuleOp> module = ModuleOp::create(UnknownLoc::get(&context));
  llvm::StringRef type = info->modelType;
  if (options.batch <= 0)
    return makeError(llvm::formatv("expected a batch of at least one "
                                   "sequence, found {0}",
                                   options.batch));
  if (options.batch != 1 && info->kind == HFModelInfo::Kind::Encoder)
    return makeError(llvm::formatv("batches of {0} sequences are supported "
                                   "for decoder and encoder-decoder models; "
                                   "'{1}' takes one",
                                   options.batch, type));
  auto makeEmitter = [&](std::string prefix) {
    Emitter e(context, archive, std::move(prefix));
    e.batch = options.batch;
    e.functionName = options.functionName;
    e.decomposeAttention = options.decomposeAttention;
    return e;
  };
  auto build = [&]() -> llvm::Error {
    if (type == "llama" || type == "mistral" || type == "qwen2" ||
        type == "mixtral") {
      Emitter e = makeEmitter("");
      return importLlamaFamily(*config, e, *module, type, options.seqLen);
    }
    if (type == "gpt2") {
      Emitter e =
          makeEmitter(findPrefix(archive, "wte.weight", {"transformer.", ""}));
      return importGPT2(*config, e, *module, options.seqLen);
    }
    if (type == "bloom") {
      Emitter e = makeEmitter(
          findPrefix(archive, "word_embeddings.weight", {"transformer.", ""}));
      return importBloom(*config, e, *module, options.seqLen);
    }
    if (type == "bert" || type == "roberta") {
      Emitter e =
          makeEmitter(findPrefix(archive, "embeddings.word_embeddings.weight",
                                 {"", type == "bert" ? "bert." : "roberta."}));
      return importBert(*config, e, *module, type, options.seqLen);
    }
    Emitter e = makeEmitter("");
    return importT5(*config, e, *module, options.seqLen, options.decoderSeqLen);
  };
  if (llvm::Error err = build())
    return std::move(err);
  if (failed(verify(*module)))
    return makeError(llvm::formatv("{0}: the imported IR does not verify (see "
                                   "the diagnostics above)",
                                   modelDir));
  return std::move(module);
}
