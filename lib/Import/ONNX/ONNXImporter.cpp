//===- ONNXImporter.cpp - ONNX models into the llm dialect ----------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// See ONNXImporter.h for the three stages. The graph is held as ONNX has
// it (nodes in order, values by name); constants are folded in fp64 (which
// holds fp32 and the int64 of shapes exactly), and IR is emitted on demand
// from the graph's output back, so that the nodes a pattern consumes are
// never emitted one by one.
//
//===----------------------------------------------------------------------===//

#include "llm/Import/ONNXImporter.h"
#include "llm/Import/HFImporter.h"
#include "llm/Import/JSON.h"

#include "../HF/Emitter.h"

#include "PositionMath.h"

#include "llm/dialects/LLM/IR/LLMOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <onnx/onnx_pb.h>

#include <google/protobuf/io/coded_stream.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <numeric>
#include <optional>
#include <set>

using namespace mlir;
using namespace mlir::llm;
using llmrt::DType;
using llmrt::TensorInfo;

namespace {

llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

std::string fmtShape(llvm::ArrayRef<int64_t> shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

/// The product of the dimensions: -1 when one is negative, INT64_MAX when
/// it overflows.
int64_t numElements(llvm::ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0)
      return -1;
    if (__builtin_mul_overflow(n, d, &n))
      return std::numeric_limits<int64_t>::max();
  }
  return n;
}

/// The most elements a folded constant may have (shape arithmetic and
/// masks are far smaller; this bounds what a hostile file can allocate).
constexpr int64_t kMaxFoldedElements = int64_t(1) << 26;

/// ONNX's TensorProto.DataType values that LLMC reads.
enum ElemType : int32_t {
  kFloat = 1,
  kUint8 = 2,
  kInt8 = 3,
  kInt32 = 6,
  kInt64 = 7,
  kBool = 9,
  kFloat16 = 10,
  kDouble = 11,
  kBfloat16 = 16,
};

std::optional<DType> toDType(int32_t type) {
  switch (type) {
  case kFloat:
    return DType::F32;
  case kUint8:
    return DType::U8;
  case kInt8:
    return DType::I8;
  case kInt32:
    return DType::I32;
  case kInt64:
    return DType::I64;
  case kBool:
    return DType::BOOL;
  case kFloat16:
    return DType::F16;
  case kDouble:
    return DType::F64;
  case kBfloat16:
    return DType::BF16;
  default:
    return std::nullopt;
  }
}

bool isFloatType(int32_t type) {
  return type == kFloat || type == kFloat16 || type == kDouble ||
         type == kBfloat16;
}

/// A folded tensor: values in fp64 (exact for fp32 and shape int64).
struct Constant {
  int32_t type = kFloat;
  std::vector<int64_t> shape;
  std::vector<double> data;

  int64_t size() const { return static_cast<int64_t>(data.size()); }
  std::vector<int64_t> ints() const {
    std::vector<int64_t> out;
    // INT64_MAX and INT64_MIN (Slice's "to the end") round to +-2^63 in
    // fp64, which does not convert back: saturate.
    for (double v : data)
      out.push_back(v >= 9.2e18    ? std::numeric_limits<int64_t>::max()
                    : v <= -9.2e18 ? std::numeric_limits<int64_t>::min()
                                   : static_cast<int64_t>(v));
    return out;
  }
};

/// The value of an element of `type`, rounded as that type stores it.
double roundTo(int32_t type, double v) {
  if (type == kFloat || type == kFloat16 || type == kBfloat16)
    return static_cast<double>(static_cast<float>(v));
  if (type == kBool)
    return v != 0.0 ? 1.0 : 0.0;
  if (type == kDouble)
    return v;
  return std::trunc(v);
}

/// The largest maximum distance tried when reading T5's bucketing back.
constexpr int64_t kMaxRelativeDistance = 1 << 16;
/// The sequence length at which a graph is folded again when a short
/// import leaves T5's bucketing ambiguous (T5's default maximum distance is
/// 128).
constexpr int64_t kProbeLength = 256;

/// θ of the default RoPE whose `d` rotary features have these inverse
/// frequencies (inv_freq[i] = θ^(-2i/d)), checked against every one of
/// them; none for any other (a scaled RoPE).
std::optional<double> ropeTheta(llvm::ArrayRef<double> invFreq, int64_t d) {
  const int64_t half = static_cast<int64_t>(invFreq.size());
  // θ from inv_freq[1] = θ^(-2/d), rounded when it is near an integer.
  const double estimate =
      half > 1 ? std::pow(invFreq[1], -static_cast<double>(d) / 2) : 10000.0;
  const double theta =
      std::abs(estimate - std::round(estimate)) < 1e-3 * estimate
          ? std::round(estimate)
          : estimate;
  if (!std::isfinite(theta) || theta <= 1.0)
    return std::nullopt;
  std::vector<float> expected =
      llmk::defaultInvFreq(static_cast<float>(theta), d);
  for (int64_t i = 0; i < half; ++i)
    if (!(std::abs(expected[i] - invFreq[i]) <= 1e-6 * std::abs(expected[i])))
      return std::nullopt;
  return theta;
}

/// The T5 bucketing (maximum distance, bidirectional) that gives the
/// [q, q] bucket table `found` of `buckets` buckets: the first match,
/// trying the `preferred` distances first in each direction, then every
/// distance up to kMaxRelativeDistance. `ambiguous` tells whether another
/// bucketing would give the table too (always at one token), unless the
/// match is `configured`'s distance.
std::optional<std::pair<int64_t, bool>>
findBucketing(const std::vector<int64_t> &found, int64_t q, int64_t buckets,
              llvm::ArrayRef<int64_t> preferred,
              std::optional<int64_t> configured, bool &ambiguous) {
  auto matches = [&](int64_t maxDistance, bool bidirectional) {
    llmk::RelativeBuckets bucketing(buckets, maxDistance, bidirectional);
    if (!bucketing.isValid())
      return false;
    for (int64_t i = 0; i < q; ++i)
      for (int64_t j = 0; j < q; ++j)
        if (bucketing.bucket(j - i) != found[i * q + j])
          return false;
    return true;
  };
  std::optional<std::pair<int64_t, bool>> first;
  ambiguous = q < 2;
  for (bool bidirectional : {true, false}) {
    const int64_t exact = (bidirectional ? buckets / 2 : buckets) / 2;
    std::vector<int64_t> order(preferred.begin(), preferred.end());
    for (int64_t d = exact + 1; d <= kMaxRelativeDistance; ++d)
      order.push_back(d);
    for (int64_t d : order) {
      if (!matches(d, bidirectional) ||
          (first && first->first == d && first->second == bidirectional))
        continue;
      if (!first) {
        first = {d, bidirectional};
        if (configured && d == *configured)
          break;
        continue;
      }
      ambiguous = true;
      break;
    }
    if (first)
      break;
  }
  return first;
}

/// Reads `t`'s elements as fp64.
std::vector<double> decode(const TensorInfo &t) {
  std::vector<double> out(static_cast<size_t>(t.getNumElements()));
  const uint8_t *p = t.data;
  for (size_t i = 0; i < out.size(); ++i) {
    switch (t.dtype) {
    case DType::F32: {
      float v;
      std::memcpy(&v, p + 4 * i, 4);
      out[i] = v;
      break;
    }
    case DType::F64:
      std::memcpy(&out[i], p + 8 * i, 8);
      break;
    case DType::I64: {
      int64_t v;
      std::memcpy(&v, p + 8 * i, 8);
      out[i] = static_cast<double>(v);
      break;
    }
    case DType::I32: {
      int32_t v;
      std::memcpy(&v, p + 4 * i, 4);
      out[i] = v;
      break;
    }
    case DType::I8:
      out[i] = static_cast<int8_t>(p[i]);
      break;
    case DType::U8:
    case DType::BOOL:
      out[i] = p[i];
      break;
    default: {
      float v = 0;
      TensorInfo one = t;
      one.shape = {1};
      one.data = p + llmrt::getDTypeSize(t.dtype) * i;
      one.numBytes = llmrt::getDTypeSize(t.dtype);
      (void)llmrt::copyAsF32(one, &v);
      out[i] = v;
    }
    }
  }
  return out;
}

/// Initializers whose elements are folded as constants too: integer and
/// boolean ones (shapes, indices, masks) up to this many elements, float
/// ones only up to kMaxFoldedFloats and of rank <= 1 (scalars: scales,
/// epsilons, fills), so that no weight table is folded into the IR (a
/// position embedding gathered at constant positions, or a tiny T5's
/// [buckets, heads] bias table, stays a parameter).
constexpr int64_t kMaxFoldedInitializer = 1 << 20;
constexpr int64_t kMaxFoldedFloats = 16;

/// What a graph value is.
struct ValueInfo {
  int32_t type = 0;
  std::vector<int64_t> shape;
  bool shapeKnown = false;
  std::optional<Constant> constant;
  const TensorInfo *initializer = nullptr;
  /// The node that produces it (-1: an input or initializer).
  int producer = -1;
  mlir::Value ir;
};

/// The ids of the graph inputs LLMC binds.
enum class InputRole {
  Tokens,
  Positions,
  AttentionMask,
  TokenTypes,
  DecoderTokens,
  DecoderAttentionMask,
  PastKeyValues
};

/// What keeps an initializer's bytes alive: the parsed model (raw_data) and
/// external data files, with the copies of typed fields.
struct Storage {
  onnx::ModelProto model;
  std::vector<std::unique_ptr<llvm::MemoryBuffer>> files;
  std::vector<std::vector<uint8_t>> copies;
};

class Importer {
public:
  Importer(MLIRContext &context, llvm::StringRef path,
           const ONNXImportOptions &options)
      : context(context), path(path.str()), options(options) {}
  /// Imports `bytes`, named `path` in messages (external data resolves
  /// against its folder).
  Importer(MLIRContext &context, llvm::StringRef bytes, llvm::StringRef path,
           const ONNXImportOptions &options)
      : context(context), path(path.str()), options(options), contents(bytes),
        fromBuffer(true) {}

  llvm::Expected<ONNXModel> run();

private:
  llvm::Error parse();
  /// Parses and checks the ModelProto `bytes` of `file` into `model`,
  /// returning its default-domain opset.
  llvm::Expected<int64_t> parseModel(llvm::StringRef file,
                                     llvm::StringRef bytes,
                                     onnx::ModelProto &model);
  /// Optimum's encoder-decoder export: the decoder graph (decoder_model.onnx,
  /// with an `encoder_hidden_states` input) is joined by the
  /// encoder_model.onnx beside it into one graph, as one export of both
  /// would have it.
  llvm::Error joinEncoder(onnx::GraphProto &decoder);
  llvm::Error readInitializers();
  llvm::Error bindInputs();
  llvm::Error inferAndFold();
  llvm::Error inferNode(int index);
  llvm::Error emitFunction(ONNXModel &result);

  // Folding helpers.
  std::optional<Constant> fold(const onnx::NodeProto &node,
                               llvm::ArrayRef<const ValueInfo *> inputs,
                               std::vector<std::vector<int64_t>> &shapes,
                               std::vector<int32_t> &types, std::string &error);

  /// IR for value `name` (null after an error).
  mlir::Value emit(const std::string &name);
  mlir::Value emitNode(int index, const std::string &output);
  mlir::Value emitConstant(const Constant &c,
                           llvm::ArrayRef<int64_t> shape = {});
  mlir::Value paramOf(const std::string &name, llvm::ArrayRef<int64_t> shape,
                      bool transpose = false, bool keepDtype = false);

  // Pattern helpers: the producer of a value, when it is of `opType`.
  const onnx::NodeProto *producerOf(const std::string &name,
                                    llvm::StringRef opType) const;
  std::optional<double> scalarOf(const std::string &name) const;
  bool isArangeOverSequence(const std::string &name) const;
  std::optional<double> attrFloat(const onnx::NodeProto &node,
                                  llvm::StringRef name) const;
  std::optional<int64_t> attrInt(const onnx::NodeProto &node,
                                 llvm::StringRef name) const;
  std::vector<int64_t> attrInts(const onnx::NodeProto &node,
                                llvm::StringRef name) const;

  /// A linear layer rooted at a node: MatMul or Gemm of a value by a 2-D
  /// initializer, and the Add of a 1-D initializer bias.
  struct LinearMatch {
    std::string x, weight, bias;
    /// Where the layer's `out` values start in `bias`, when the bias is
    /// fused (several layers' biases in one tensor).
    std::optional<int64_t> biasOffset;
    bool transB = false;
    int64_t out = 0, in = 0;
    int nodes = 1;
  };
  std::optional<LinearMatch> analyzeLinear(const onnx::NodeProto &root) const;
  /// The linear layer, or rows [rowStart, rowStart + rows) of its output
  /// features (rows 0: all).
  mlir::Value emitLinear(const LinearMatch &match, int64_t rowStart = 0,
                         int64_t rows = 0);
  /// `name` seen through the reshapes that only regroup leading dimensions
  /// (flattening [b, s, h] to [b * s, h] and back), identities and float
  /// casts: the IR keeps the unflattened form.
  std::string throughViews(const std::string &name) const;
  bool isView(const onnx::NodeProto &node) const;
  /// K^T over heads, [b, h, d, s], in the forms exporters write it: the
  /// name of the [b, h, s, d] value transposed, or with `fromReshape` the
  /// [b, s, h, d] Reshape whose Transpose(0,2,3,1) it is.
  struct KeyTranspose {
    std::string name;
    bool fromReshape = false;
    /// Nodes of the transposition beyond the split's own.
    int nodes = 0;
  };
  std::optional<KeyTranspose> matchKeyTranspose(const std::string &name);
  /// split_heads of the [b, s, h * d] input of a Reshape to [b, s, h, d].
  mlir::Value emitSplitHeads(const onnx::NodeProto &reshape);
  /// Any node producing `name`, constant or not.
  const onnx::NodeProto *nodeOf(const std::string &name,
                                llvm::StringRef opType) const;
  mlir::Value matchRope(const onnx::NodeProto &root);
  /// ONNX Runtime's contrib ops (SkipLayerNormalization, BiasGelu, ...).
  mlir::Value emitContrib(const onnx::NodeProto &node,
                          const std::string &output);
  /// θ of the default RoPE whose `rotary` features the cos and sin caches
  /// [positions, rotary / 2] tabulate (RotaryEmbedding, GroupQueryAttention),
  /// read back from row 1 and checked on every row; their rows become the
  /// position limit. None after an error.
  /// llm.attention of a contrib attention op's Q, K and V, with its
  /// `scale` attribute.
  mlir::Value emitContribAttention(const onnx::NodeProto &node, mlir::Value q,
                                   mlir::Value k, mlir::Value v, int64_t heads,
                                   int64_t kvHeads, MaskKind mask);
  std::optional<double> ropeFromCaches(const onnx::NodeProto &node,
                                       const std::string &cosName,
                                       const std::string &sinName,
                                       int64_t rotary);
  /// `name` + the 1-D initializer `bias`: the bias joins the linear layer
  /// that produces `name` (ONNX Runtime's fusions move a MatMul's bias into
  /// the op after it). With `offset` >= 0 the bias is fused, and the layer's
  /// part starts there.
  mlir::Value emitBiased(const onnx::NodeProto &node, const std::string &name,
                         const std::string &bias, int64_t offset = -1);
  mlir::Value matchRepeatKV(const onnx::NodeProto &root);
  mlir::Value matchLayerNorm(const onnx::NodeProto &root);
  mlir::Value matchRmsNorm(const onnx::NodeProto &root);
  mlir::Value matchGelu(const onnx::NodeProto &root);
  mlir::Value matchMergeHeads(const onnx::NodeProto &root);
  /// T5's relative position bias [1, heads, q, q], Unsqueeze(Transpose(
  /// Gather(table [buckets, heads], the folded buckets [q, q]), 2, 0, 1)),
  /// as llm.relative_position_bias [heads, q, q], its bucketing (direction,
  /// maximum distance) read back from the folded buckets; null when `name`
  /// is not one.
  mlir::Value matchRelativeBias(const std::string &name);
  /// relative_attention_max_distance of a config.json beside the file, if
  /// it has one (a hint: the folded buckets decide); read once, on first
  /// use.
  std::optional<int64_t> configuredMaxDistance();
  std::optional<std::optional<int64_t>> maxDistanceHint;
  /// Value `name` of the graph folded at kProbeLength tokens (encoder and
  /// decoder), or null when that fails; folded once, on first use.
  const ValueInfo *probeValue(const std::string &name);
  std::unique_ptr<Importer> probe;
  bool probed = false;
  /// x [b, s, h*d] of a split into heads [b, h, s, d] (Reshape then
  /// Transpose 0,2,1,3), or with the key layout [b, h, d, s] (0,2,3,1).
  std::optional<std::pair<std::string, int64_t>>
  matchSplitHeads(const std::string &name, bool *keyLayout);

  void raised(llvm::StringRef pattern, int64_t nodes) {
    stats.raisedNodes[pattern.str()] += nodes;
  }
  std::string describe(const onnx::NodeProto &node) const {
    return llvm::formatv("node '{0}' ({1}{2}, opset {3})",
                         !node.name().empty()     ? node.name()
                         : node.output_size() > 0 ? node.output(0)
                                                  : std::string("(unnamed)"),
                         node.domain().empty() ? "" : node.domain() + ".",
                         node.op_type(), opset)
        .str();
  }
  void fail(const llvm::Twine &message) {
    if (!error)
      error = message.str();
  }
  /// fail(), as the null value a pattern returns.
  mlir::Value failure(const llvm::Twine &message) {
    fail(message);
    return nullptr;
  }

  MLIRContext &context;
  std::string path;
  std::string folder;
  ONNXImportOptions options;
  llvm::StringRef contents;
  bool fromBuffer = false;
  std::shared_ptr<Storage> storage = std::make_shared<Storage>();
  const onnx::GraphProto *graph = nullptr;
  int64_t opset = 0;
  std::vector<TensorInfo> tensors;
  std::map<std::string, ValueInfo> values;
  std::map<std::string, InputRole> inputs;
  /// Values that are an initializer under another name (the Identity nodes
  /// of exporters' weight deduplication), by the initializer's name.
  std::map<std::string, std::string> aliases;
  std::string paramName(const std::string &name) const {
    auto it = aliases.find(name);
    return it == aliases.end() ? name : it->second;
  }
  /// The folded tensors emitted as arith.constant, by value, use and shape.
  std::map<std::string, mlir::Value> constants;
  std::set<int> folded;
  std::unique_ptr<llmrt::SafeTensorsArchive> archive;
  std::unique_ptr<hf::Emitter> emitter;
  /// The function's arguments; an encoder-decoder graph has
  /// `decoderTokens` and no `positions`.
  mlir::Value tokens, positions, decoderTokens;
  /// The llm.relative_position_bias of each bucket table and length.
  std::map<std::string, mlir::Value> relativeBiases;
  ONNXImportStats stats;
  std::optional<std::string> error;
  int64_t vocab = 0, hidden = 0, maxPositions = 0;
  /// What sets maxPositions, for the error past it.
  std::string positionLimit;
};

llvm::Error Importer::parse() {
  llvm::StringRef bytes = contents;
  std::unique_ptr<llvm::MemoryBuffer> file;
  if (!fromBuffer) {
    llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
        llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                    /*RequiresNullTerminator=*/false);
    if (!buffer)
      return makeError(llvm::formatv("{0}: cannot read the file: {1}", path,
                                     buffer.getError().message()));
    file = std::move(*buffer);
    bytes = file->getBuffer();
  }
  folder = llvm::sys::path::parent_path(path).str();
  if (folder.empty())
    folder = ".";
  llvm::Expected<int64_t> parsed = parseModel(path, bytes, storage->model);
  if (!parsed)
    return parsed.takeError();
  opset = *parsed;
  onnx::GraphProto &main = *storage->model.mutable_graph();
  if (llvm::any_of(main.input(), [](const onnx::ValueInfoProto &input) {
        return input.name() == "encoder_hidden_states";
      }))
    if (llvm::Error err = joinEncoder(main))
      return err;
  graph = &storage->model.graph();
  stats.onnxNodes = graph->node_size();
  return llvm::Error::success();
}

llvm::Expected<int64_t> Importer::parseModel(llvm::StringRef file,
                                             llvm::StringRef bytes,
                                             onnx::ModelProto &model) {
  if (bytes.size() > static_cast<size_t>(INT32_MAX))
    return makeError(llvm::formatv(
        "{0}: {1} bytes: expected at most 2 GiB in the .onnx file (larger "
        "models keep their weights in external data files)",
        file, bytes.size()));
  google::protobuf::io::CodedInputStream stream(
      reinterpret_cast<const uint8_t *>(bytes.data()),
      static_cast<int>(bytes.size()));
  stream.SetTotalBytesLimit(INT32_MAX);
  if (!model.ParseFromCodedStream(&stream) || !stream.ConsumedEntireMessage())
    return makeError(llvm::formatv(
        "{0}: expected an ONNX ModelProto, found {1} bytes that do not parse "
        "as one (a truncated or corrupted file, or not ONNX)",
        file, bytes.size()));
  if (model.ir_version() < 7)
    return makeError(
        llvm::formatv("{0}: field 'ir_version': expected 7 or newer, found {1}",
                      file, model.ir_version()));
  if (!model.has_graph() || model.graph().node_size() == 0)
    return makeError(llvm::formatv(
        "{0}: field 'graph': expected a graph with nodes, found {1}", file,
        model.has_graph() ? "an empty graph" : "none"));
  int64_t version = 0;
  for (const onnx::OperatorSetIdProto &set : model.opset_import())
    if (set.domain().empty() || set.domain() == "ai.onnx")
      version = set.version();
  if (version < 14)
    return makeError(llvm::formatv(
        "{0}: field 'opset_import': expected the default domain at opset 14 "
        "or newer, found {1}",
        file, version ? std::to_string(version) : std::string("none")));
  return version;
}

llvm::Error Importer::joinEncoder(onnx::GraphProto &decoder) {
  const std::string encoderPath = folder + "/encoder_model.onnx";
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
      llvm::MemoryBuffer::getFile(encoderPath, /*IsText=*/false,
                                  /*RequiresNullTerminator=*/false);
  if (!buffer)
    return makeError(llvm::formatv(
        "{0}: graph input 'encoder_hidden_states': expected the encoder "
        "beside it, {1} ({2})",
        path, encoderPath, buffer.getError().message()));
  onnx::ModelProto encoderModel;
  llvm::Expected<int64_t> encoderOpset =
      parseModel(encoderPath, (*buffer)->getBuffer(), encoderModel);
  if (!encoderOpset)
    return encoderOpset.takeError();
  if (*encoderOpset != opset)
    return makeError(llvm::formatv(
        "{0}: field 'opset_import': expected the decoder's opset {1}, found "
        "{2}",
        encoderPath, opset, *encoderOpset));
  onnx::GraphProto &encoder = *encoderModel.mutable_graph();
  if (encoder.output_size() < 1)
    return makeError(
        llvm::formatv("{0}: the graph has no output", encoderPath));
  // The encoder's values are renamed under "encoder/", except its inputs:
  // input_ids (the encoder's tokens) and attention_mask. The decoder's
  // input_ids becomes decoder_input_ids, its encoder_attention_mask the
  // encoder's attention_mask, and its encoder_hidden_states the encoder's
  // output.
  std::map<std::string, std::string> encoderNames,
      decoderNames = {{"input_ids", "decoder_input_ids"},
                      {"encoder_attention_mask", "attention_mask"}};
  for (const onnx::ValueInfoProto &input : encoder.input())
    if (input.name() != "input_ids" && input.name() != "attention_mask")
      return makeError(llvm::formatv(
          "{0}: graph input '{1}': expected input_ids or attention_mask",
          encoderPath, input.name()));
  auto encoderName = [&](const std::string &name) {
    if (name.empty() || name == "input_ids" || name == "attention_mask")
      return name;
    return "encoder/" + name;
  };
  decoderNames["encoder_hidden_states"] = encoderName(encoder.output(0).name());
  auto rename = [](google::protobuf::RepeatedPtrField<std::string> &names,
                   auto &&to) {
    for (std::string &name : names)
      name = to(name);
  };
  auto inDecoder = [&](const std::string &name) {
    auto it = decoderNames.find(name);
    return it == decoderNames.end() ? name : it->second;
  };
  for (onnx::NodeProto &node : *decoder.mutable_node()) {
    rename(*node.mutable_input(), inDecoder);
    rename(*node.mutable_output(), inDecoder);
  }
  for (onnx::ValueInfoProto &input : *decoder.mutable_input())
    input.set_name(inDecoder(input.name()));
  // The decoder's encoder_hidden_states is now computed: not an input. Its
  // attention_mask input stays (one binding serves both graphs).
  auto &decoderInputs = *decoder.mutable_input();
  for (int i = decoderInputs.size() - 1; i >= 0; --i)
    if (decoderInputs.Get(i).name() == decoderNames["encoder_hidden_states"] ||
        (decoderInputs.Get(i).name() == "attention_mask" &&
         llvm::any_of(encoder.input(), [](const onnx::ValueInfoProto &in) {
           return in.name() == "attention_mask";
         })))
      decoderInputs.DeleteSubrange(i, 1);
  // The encoder's nodes come first (the decoder reads their output).
  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  for (onnx::NodeProto &node : *encoder.mutable_node()) {
    rename(*node.mutable_input(), encoderName);
    rename(*node.mutable_output(), encoderName);
    if (!node.name().empty())
      node.set_name("encoder/" + node.name());
    nodes.Add(std::move(node));
  }
  for (onnx::NodeProto &node : *decoder.mutable_node())
    nodes.Add(std::move(node));
  decoder.mutable_node()->Swap(&nodes);
  for (onnx::TensorProto &t : *encoder.mutable_initializer()) {
    t.set_name(encoderName(t.name()));
    *decoder.add_initializer() = std::move(t);
  }
  for (const onnx::ValueInfoProto &input : encoder.input())
    *decoder.add_input() = input;
  return llvm::Error::success();
}

llvm::Error Importer::readInitializers() {
  std::vector<std::string> names;
  for (const onnx::TensorProto &t : graph->initializer()) {
    std::optional<DType> dtype = toDType(t.data_type());
    if (!dtype)
      return makeError(llvm::formatv(
          "{0}: initializer '{1}': field 'data_type': expected FLOAT, "
          "FLOAT16, BFLOAT16, DOUBLE, INT64, INT32, INT8, UINT8 or BOOL, "
          "found {2}",
          path, t.name(), t.data_type()));
    TensorInfo info;
    info.name = t.name();
    info.dtype = *dtype;
    info.file = path;
    for (int64_t d : t.dims()) {
      if (d < 0)
        return makeError(llvm::formatv(
            "{0}: initializer '{1}': field 'dims': expected sizes >= 0, "
            "found {2}",
            path, t.name(), d));
      info.shape.push_back(d);
    }
    const int64_t count = numElements(info.shape);
    if (count > (int64_t(1) << 40))
      return makeError(llvm::formatv(
          "{0}: initializer '{1}': field 'dims': expected at most 2^40 "
          "elements, found {2}",
          path, t.name(), fmtShape(info.shape)));
    const uint64_t bytes = count * llmrt::getDTypeSize(*dtype);
    if (t.data_location() == onnx::TensorProto::EXTERNAL) {
      std::string location;
      uint64_t offset = 0;
      std::optional<uint64_t> length;
      for (const onnx::StringStringEntryProto &entry : t.external_data()) {
        uint64_t number = 0;
        if ((entry.key() == "offset" || entry.key() == "length") &&
            llvm::StringRef(entry.value()).getAsInteger(10, number))
          return makeError(llvm::formatv(
              "{0}: initializer '{1}': external_data '{2}': expected a "
              "number, found '{3}'",
              path, t.name(), entry.key(), entry.value()));
        if (entry.key() == "location")
          location = entry.value();
        else if (entry.key() == "offset")
          offset = number;
        else if (entry.key() == "length")
          length = number;
      }
      // The location is relative to the model's folder and stays inside
      // it: no absolute path, no "..", no link out of it.
      llvm::SmallString<256> resolved(folder);
      llvm::sys::path::append(resolved, location);
      llvm::SmallString<256> real, realFolder;
      bool escapes = location.empty() ||
                     llvm::sys::path::is_absolute(location) ||
                     llvm::StringRef(location).contains("..");
      if (!escapes && !llvm::sys::fs::real_path(resolved, real) &&
          !llvm::sys::fs::real_path(folder, realFolder))
        escapes = !llvm::StringRef(real).starts_with(
            (realFolder + llvm::sys::path::get_separator()).str());
      if (escapes)
        return makeError(llvm::formatv(
            "{0}: initializer '{1}': external_data 'location': expected a "
            "file inside the model's folder '{2}', found '{3}'",
            path, t.name(), folder, location));
      llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> file =
          llvm::MemoryBuffer::getFile(real, /*IsText=*/false,
                                      /*RequiresNullTerminator=*/false);
      if (!file)
        return makeError(llvm::formatv(
            "{0}: initializer '{1}': external data file '{2}': {3}", path,
            t.name(), resolved, file.getError().message()));
      const uint64_t size = (*file)->getBufferSize();
      if (length && *length != bytes)
        return makeError(llvm::formatv(
            "{0}: initializer '{1}': external_data 'length': expected {2} "
            "bytes ({3} of {4}), found {5}",
            path, t.name(), bytes, fmtShape(info.shape),
            llmrt::getDTypeName(*dtype), *length));
      if (offset > size || bytes > size - offset)
        return makeError(llvm::formatv(
            "{0}: initializer '{1}': external data '{2}': expected {3} bytes "
            "at offset {4}, found a file of {5} bytes",
            path, t.name(), resolved, bytes, offset, size));
      info.data =
          reinterpret_cast<const uint8_t *>((*file)->getBufferStart()) + offset;
      storage->files.push_back(std::move(*file));
    } else if (t.has_raw_data()) {
      if (t.raw_data().size() != bytes)
        return makeError(llvm::formatv(
            "{0}: initializer '{1}': field 'raw_data': expected {2} bytes "
            "({3} of {4}), found {5}",
            path, t.name(), bytes, fmtShape(info.shape),
            llmrt::getDTypeName(*dtype), t.raw_data().size()));
      info.data = reinterpret_cast<const uint8_t *>(t.raw_data().data());
    } else {
      // Typed fields: float_data, int64_data, int32_data (also the 16-bit
      // and 8-bit types), double_data.
      std::vector<uint8_t> copy(bytes);
      int64_t found = 0;
      auto put = [&](auto values, auto convert) {
        found = values.size();
        for (int64_t i = 0; i < std::min<int64_t>(found, count); ++i)
          convert(i, values[i]);
      };
      switch (t.data_type()) {
      case kFloat:
        put(t.float_data(), [&](int64_t i, float v) {
          std::memcpy(copy.data() + 4 * i, &v, 4);
        });
        break;
      case kInt64:
        put(t.int64_data(), [&](int64_t i, int64_t v) {
          std::memcpy(copy.data() + 8 * i, &v, 8);
        });
        break;
      case kDouble:
        put(t.double_data(), [&](int64_t i, double v) {
          std::memcpy(copy.data() + 8 * i, &v, 8);
        });
        break;
      case kInt32:
        put(t.int32_data(), [&](int64_t i, int32_t v) {
          std::memcpy(copy.data() + 4 * i, &v, 4);
        });
        break;
      case kFloat16:
      case kBfloat16:
        put(t.int32_data(), [&](int64_t i, int32_t v) {
          uint16_t half = static_cast<uint16_t>(v);
          std::memcpy(copy.data() + 2 * i, &half, 2);
        });
        break;
      default: // INT8, UINT8, BOOL
        put(t.int32_data(),
            [&](int64_t i, int32_t v) { copy[i] = static_cast<uint8_t>(v); });
      }
      if (found != count)
        return makeError(llvm::formatv(
            "{0}: initializer '{1}': expected {2} values ({3}), found {4}",
            path, t.name(), count, fmtShape(info.shape), found));
      storage->copies.push_back(std::move(copy));
      info.data = storage->copies.back().data();
    }
    info.numBytes = bytes;
    tensors.push_back(std::move(info));
  }
  archive = llmrt::SafeTensorsArchive::fromTensors(path, tensors, storage);
  for (const TensorInfo &t : tensors) {
    ValueInfo value;
    value.type =
        graph->initializer(static_cast<int>(&t - tensors.data())).data_type();
    value.shape = t.shape;
    value.shapeKnown = true;
    value.initializer = archive->lookup(t.name);
    const bool weight =
        isFloatType(value.type) &&
        (t.shape.size() > 1 || t.getNumElements() > kMaxFoldedFloats);
    if (!weight && t.getNumElements() <= kMaxFoldedInitializer)
      value.constant = Constant{value.type, t.shape, decode(t)};
    values[t.name] = std::move(value);
  }
  return llvm::Error::success();
}

llvm::Error Importer::bindInputs() {
  for (const onnx::ValueInfoProto &input : graph->input()) {
    if (values.count(input.name()))
      continue; // an initializer listed as an input (older exporters)
    static const std::pair<const char *, InputRole> kRoles[] = {
        {"input_ids", InputRole::Tokens},
        {"position_ids", InputRole::Positions},
        {"attention_mask", InputRole::AttentionMask},
        {"token_type_ids", InputRole::TokenTypes},
        {"decoder_input_ids", InputRole::DecoderTokens},
        {"decoder_attention_mask", InputRole::DecoderAttentionMask}};
    auto role = llvm::find_if(
        kRoles, [&](const auto &r) { return input.name() == r.first; });
    // An export with past key values (past_key_values.<i>.key/value, as
    // Optimum's text-generation-with-past writes them): LLMC keeps its own
    // KV cache, so the past is bound empty and the graph computes the
    // prompt's keys and values alone.
    if (role == std::end(kRoles) &&
        (llvm::StringRef(input.name()).starts_with("past_key_values") ||
         llvm::StringRef(input.name()).starts_with("past."))) {
      const onnx::TypeProto &type = input.type();
      const int rank = type.has_tensor_type() && type.tensor_type().has_shape()
                           ? type.tensor_type().shape().dim_size()
                           : -1;
      ValueInfo value;
      value.type = type.has_tensor_type() ? type.tensor_type().elem_type() : 0;
      if (rank != 4 || !isFloatType(value.type))
        return makeError(llvm::formatv(
            "{0}: graph input '{1}': expected past keys or values, a float "
            "tensor [batch, heads, past sequence, head dim], found element "
            "type {2} and rank {3}",
            path, input.name(), value.type, rank));
      // Heads and head features as the graph gives them; a symbolic one
      // (ONNX Runtime GenAI's kv_cache_dim) stays 0: the tensor is empty
      // either way, and a Concat takes its shape from the new keys.
      value.shape = {options.batch, 0, 0, 0};
      for (int i : {1, 3}) {
        const onnx::TensorShapeProto::Dimension &dim =
            type.tensor_type().shape().dim(i);
        if (dim.has_dim_value() && dim.dim_value() < 0)
          return makeError(llvm::formatv(
              "{0}: graph input '{1}': dimension {2}: expected a size >= 0, "
              "found {3}",
              path, input.name(), i, dim.dim_value()));
        value.shape[i] = dim.has_dim_value() ? dim.dim_value() : 0;
      }
      value.shapeKnown = true;
      value.constant = Constant{value.type, value.shape, {}};
      values[input.name()] = std::move(value);
      inputs[input.name()] = InputRole::PastKeyValues;
      continue;
    }
    if (role == std::end(kRoles))
      return makeError(llvm::formatv(
          "{0}: graph input '{1}': expected input_ids, position_ids, "
          "attention_mask, token_type_ids, decoder_input_ids or "
          "decoder_attention_mask",
          path, input.name()));
    // An encoder-decoder's decoder inputs have the decoder's length.
    const bool decoder = role->second == InputRole::DecoderTokens ||
                         role->second == InputRole::DecoderAttentionMask;
    const int64_t length = decoder ? options.decoderSeqLen : options.seqLen;
    const onnx::TypeProto &type = input.type();
    const int32_t elem =
        type.has_tensor_type() ? type.tensor_type().elem_type() : 0;
    const int rank = type.has_tensor_type() && type.tensor_type().has_shape()
                         ? type.tensor_type().shape().dim_size()
                         : -1;
    if (rank != 2 || (elem != kInt64 && elem != kInt32))
      return makeError(llvm::formatv(
          "{0}: graph input '{1}': expected an int64 tensor [batch, "
          "sequence], found element type {2} and rank {3}",
          path, input.name(), elem, rank));
    // Static dimensions must be the ones asked for.
    const int64_t wanted[2] = {options.batch, length};
    for (int i = 0; i < 2; ++i) {
      const onnx::TensorShapeProto::Dimension &dim =
          type.tensor_type().shape().dim(i);
      if (dim.has_dim_value() && dim.dim_value() != wanted[i])
        return makeError(llvm::formatv(
            "{0}: graph input '{1}': dimension {2}: expected {3} ({4}), "
            "found the static size {5}",
            path, input.name(), i, wanted[i],
            i == 0    ? "the batch"
            : decoder ? "the decoder's sequence length"
                      : "the sequence length",
            dim.dim_value()));
    }
    ValueInfo value;
    value.type = kInt64;
    value.shape = {options.batch, length};
    value.shapeKnown = true;
    // Without padding every token is attended and of segment 0: the mask
    // is ones and the token types zeros, which folding then removes.
    if (role->second == InputRole::AttentionMask ||
        role->second == InputRole::DecoderAttentionMask)
      value.constant =
          Constant{kInt64, value.shape,
                   std::vector<double>(options.batch * length, 1.0)};
    if (role->second == InputRole::TokenTypes)
      value.constant =
          Constant{kInt64, value.shape,
                   std::vector<double>(options.batch * length, 0.0)};
    values[input.name()] = std::move(value);
    inputs[input.name()] = role->second;
  }
  if (!llvm::any_of(inputs, [](const auto &entry) {
        return entry.second == InputRole::Tokens;
      }))
    return makeError(llvm::formatv(
        "{0}: graph inputs: expected 'input_ids', found none", path));
  return llvm::Error::success();
}

std::optional<double> Importer::attrFloat(const onnx::NodeProto &node,
                                          llvm::StringRef name) const {
  for (const onnx::AttributeProto &a : node.attribute())
    if (a.name() == name)
      return a.f();
  return std::nullopt;
}
std::optional<int64_t> Importer::attrInt(const onnx::NodeProto &node,
                                         llvm::StringRef name) const {
  for (const onnx::AttributeProto &a : node.attribute())
    if (a.name() == name)
      return a.i();
  return std::nullopt;
}
std::vector<int64_t> Importer::attrInts(const onnx::NodeProto &node,
                                        llvm::StringRef name) const {
  for (const onnx::AttributeProto &a : node.attribute())
    if (a.name() == name)
      return std::vector<int64_t>(a.ints().begin(), a.ints().end());
  return {};
}

/// numpy broadcasting of two shapes, or nullopt.
std::optional<std::vector<int64_t>> broadcast(llvm::ArrayRef<int64_t> a,
                                              llvm::ArrayRef<int64_t> b) {
  std::vector<int64_t> out(std::max(a.size(), b.size()));
  for (size_t i = 0; i < out.size(); ++i) {
    int64_t x = i < out.size() - a.size() ? 1 : a[i - (out.size() - a.size())];
    int64_t y = i < out.size() - b.size() ? 1 : b[i - (out.size() - b.size())];
    if (x != y && x != 1 && y != 1)
      return std::nullopt;
    out[i] = x == 1 ? y : x;
  }
  return out;
}

/// The flat index into a tensor of `shape` broadcast to `out` of the
/// element at flat index `i` of `out`.
int64_t broadcastIndex(llvm::ArrayRef<int64_t> shape,
                       llvm::ArrayRef<int64_t> out, int64_t i) {
  int64_t index = 0, stride = 1;
  for (int64_t d = static_cast<int64_t>(out.size()) - 1; d >= 0; --d) {
    const int64_t coordinate = i % out[d];
    i /= out[d];
    const int64_t sd = d - (static_cast<int64_t>(out.size()) -
                            static_cast<int64_t>(shape.size()));
    if (sd >= 0) {
      if (shape[sd] != 1)
        index += coordinate * stride;
      stride *= shape[sd];
    }
  }
  return index;
}

std::vector<int64_t> stridesOf(llvm::ArrayRef<int64_t> shape) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (int64_t d = static_cast<int64_t>(shape.size()) - 2; d >= 0; --d)
    strides[d] = strides[d + 1] * shape[d + 1];
  return strides;
}

int64_t normalizeAxis(int64_t axis, int64_t rank) {
  return axis < 0 ? axis + rank : axis;
}

llvm::Error Importer::inferAndFold() {
  std::set<std::string> defined;
  for (const auto &entry : values)
    defined.insert(entry.first);
  std::map<std::string, int> producers;
  for (int i = 0; i < graph->node_size(); ++i)
    for (const std::string &out : graph->node(i).output())
      producers[out] = i;
  for (int i = 0; i < graph->node_size(); ++i) {
    const onnx::NodeProto &node = graph->node(i);
    for (const std::string &in : node.input()) {
      if (in.empty() || defined.count(in))
        continue;
      auto later = producers.find(in);
      if (later != producers.end())
        return makeError(llvm::formatv(
            "{0}: {1} reads '{2}' before {3} produces it: expected a graph "
            "in topological order without cycles",
            path, describe(node), in, describe(graph->node(later->second))));
      return makeError(llvm::formatv(
          "{0}: {1} reads '{2}', which no node, initializer or graph input "
          "defines (a missing initializer?)",
          path, describe(node), in));
    }
    if (node.output_size() == 0 || node.output(0).empty())
      return makeError(llvm::formatv("{0}: {1}: expected at least one output",
                                     path, describe(node)));
    for (const std::string &out : node.output())
      if (!out.empty() && !defined.insert(out).second)
        return makeError(llvm::formatv(
            "{0}: {1} defines '{2}', which is defined already: expected each "
            "value defined once",
            path, describe(node), out));
    if (llvm::Error err = inferNode(i))
      return err;
  }
  for (const onnx::ValueInfoProto &out : graph->output())
    if (!values.count(out.name()))
      return makeError(llvm::formatv(
          "{0}: graph output '{1}': no node produces it", path, out.name()));
  return llvm::Error::success();
}

llvm::Error Importer::inferNode(int index) {
  const onnx::NodeProto &node = graph->node(index);
  std::vector<const ValueInfo *> ins;
  for (const std::string &name : node.input())
    ins.push_back(name.empty() ? nullptr : &values.at(name));
  std::vector<std::vector<int64_t>> shapes(node.output_size());
  std::vector<int32_t> types(node.output_size(), kFloat);
  std::string why;
  std::optional<Constant> constant = fold(node, ins, shapes, types, why);
  if (!why.empty())
    return makeError(llvm::formatv("{0}: {1}: {2}", path, describe(node), why));
  for (int o = 0; o < node.output_size(); ++o) {
    ValueInfo v;
    v.type = types[o];
    v.shape = shapes[o];
    v.shapeKnown = true;
    v.producer = index;
    // fold() returns a value only when it does not depend on the model's
    // inputs (all inputs constant, or only their shapes read).
    if (o == 0 && constant) {
      v.constant = std::move(constant);
      v.shape = v.constant->shape;
    }
    if (!node.output(o).empty())
      values[node.output(o)] = std::move(v);
  }
  if (values.at(node.output(0)).constant)
    folded.insert(index);
  // An Identity of an initializer is that initializer.
  if (node.op_type() == "Identity" && ins.size() == 1 && ins[0] &&
      ins[0]->initializer) {
    ValueInfo &out = values.at(node.output(0));
    out.initializer = ins[0]->initializer;
    aliases[node.output(0)] = paramName(node.input(0));
    folded.insert(index);
  }
  return llvm::Error::success();
}

/// Shape inference and folding, op by op. Fills each output's shape and
/// type; returns the first output's value when every input is constant
/// (the caller decides) and the op folds. `why` is set for an op LLMC
/// does not know or inputs it does not accept.
std::optional<Constant>
Importer::fold(const onnx::NodeProto &node,
               llvm::ArrayRef<const ValueInfo *> in,
               std::vector<std::vector<int64_t>> &shapes,
               std::vector<int32_t> &types, std::string &why) {
  const std::string &op = node.op_type();
  auto constantOf = [&](size_t i) -> const Constant * {
    return i < in.size() && in[i] && in[i]->constant ? &*in[i]->constant
                                                     : nullptr;
  };
  const bool allConstant = llvm::all_of(
      in, [](const ValueInfo *v) { return !v || v->constant.has_value(); });
  auto shapeOf = [&](size_t i) -> std::vector<int64_t> {
    return i < in.size() && in[i] ? in[i]->shape : std::vector<int64_t>{};
  };
  auto need = [&](size_t count) {
    if (in.size() < count || llvm::any_of(in.take_front(count), [](auto *v) {
          return v == nullptr;
        })) {
      why = llvm::formatv("expected {0} inputs, found {1}", count, in.size());
      return false;
    }
    return true;
  };
  auto needConstant = [&](size_t i, llvm::StringRef what) {
    if (!constantOf(i)) {
      why = llvm::formatv("input {0} ({1}) must fold to a constant at static "
                          "shapes, found a value computed from the inputs",
                          i, what);
      return false;
    }
    return true;
  };
  // Every output shape must be valid, and a folded value small enough.
  auto fits = [&](llvm::ArrayRef<int64_t> shape) {
    const int64_t n = numElements(shape);
    if (n < 0 || n > kMaxFoldedElements) {
      why = llvm::formatv("the output {0} {1}", fmtShape(shape),
                          n < 0 ? "has a negative dimension"
                                : "is too large to fold (more than 2^26 "
                                  "elements)");
      return false;
    }
    return true;
  };
  types[0] = in.empty() || !in[0] ? kFloat : in[0]->type;
  if (node.domain() == "com.microsoft") {
    // ONNX Runtime's contrib ops of transformer graphs (its
    // ContribOperators.md), never folded: their outputs are activations.
    if (op == "SkipLayerNormalization" ||
        op == "SkipSimplifiedLayerNormalization") {
      if (!need(3))
        return std::nullopt;
      if (shapeOf(0).empty()) {
        why = "expected the input to have a hidden dimension";
        return std::nullopt;
      }
      // Outputs: the norm, the mean and the inverse deviation (one per
      // row), the sum.
      for (size_t o = 0; o < shapes.size(); ++o) {
        shapes[o] = shapeOf(0);
        if (o == 1 || o == 2)
          shapes[o].back() = 1;
      }
      return std::nullopt;
    }
    if (op == "BiasGelu" || op == "FastGelu") {
      if (!need(1))
        return std::nullopt;
      shapes[0] = shapeOf(0);
      return std::nullopt;
    }
    if (op == "Attention") {
      // input [b, s, in], weights [in, 3 hidden]: output [b, s, hidden].
      if (!need(2))
        return std::nullopt;
      const std::vector<int64_t> x = shapeOf(0), w = shapeOf(1);
      if (x.size() != 3 || w.size() != 2 || w[0] != x[2] || w[1] % 3 != 0) {
        why = llvm::formatv("expected an input [batch, seq, in] and weights "
                            "[in, 3 * hidden], found {0} and {1}",
                            fmtShape(x), fmtShape(w));
        return std::nullopt;
      }
      shapes[0] = {x[0], x[1], w[1] / 3};
      return std::nullopt;
    }
    if (op == "RotaryEmbedding") {
      if (!need(1))
        return std::nullopt;
      shapes[0] = shapeOf(0);
      return std::nullopt;
    }
    if (op == "GroupQueryAttention") {
      // query [b, s, heads * d] (or packed [b, s, (heads + 2 kv heads) *
      // d] without key and value): [b, s, heads * d]; the presents [b, kv
      // heads, s, d] (an empty past).
      if (!need(1))
        return std::nullopt;
      const std::vector<int64_t> q = shapeOf(0);
      const int64_t heads = attrInt(node, "num_heads").value_or(0);
      const int64_t kvHeads = attrInt(node, "kv_num_heads").value_or(0);
      const bool packed = in.size() < 2 || !in[1];
      const int64_t parts = packed ? heads + 2 * kvHeads : heads;
      if (q.size() != 3 || heads <= 0 || kvHeads <= 0 || q[2] % parts != 0) {
        why = llvm::formatv("expected a query [batch, seq, hidden] whose "
                            "hidden size {0} heads divide (num_heads {1}, "
                            "kv_num_heads {2}), found {3}",
                            packed ? "num_heads + 2 kv_num_heads" : "num_heads",
                            heads, kvHeads, fmtShape(q));
        return std::nullopt;
      }
      const int64_t d = q[2] / parts;
      shapes[0] = {q[0], q[1], heads * d};
      for (size_t o = 1; o < shapes.size(); ++o) {
        shapes[o] = {q[0], kvHeads, q[1], d};
        types[o] = types[0];
      }
      return std::nullopt;
    }
    if (op == "MultiHeadAttention") {
      // query [b, s, H], key [b, kv, H], value [b, kv, Hv]: [b, s, Hv].
      if (!need(3))
        return std::nullopt;
      const std::vector<int64_t> q = shapeOf(0), k = shapeOf(1), v = shapeOf(2);
      if (q.size() != 3 || k.size() != 3 || v.size() != 3 || k[2] != q[2] ||
          k[1] != v[1]) {
        why = llvm::formatv("expected query, key and value [batch, seq, "
                            "hidden] with key's hidden size query's (the "
                            "packed forms are not supported), found {0}, {1} "
                            "and {2}",
                            fmtShape(q), fmtShape(k), fmtShape(v));
        return std::nullopt;
      }
      shapes[0] = {q[0], q[1], v[2]};
      return std::nullopt;
    }
    why = "the op is not supported (domain 'com.microsoft'; supported: "
          "Attention, GroupQueryAttention, MultiHeadAttention, "
          "RotaryEmbedding, "
          "SkipLayerNormalization, "
          "SkipSimplifiedLayerNormalization, BiasGelu, FastGelu)";
    return std::nullopt;
  }
  if (!node.domain().empty() && node.domain() != "ai.onnx") {
    why =
        llvm::formatv("the op is not supported (domain '{0}')", node.domain());
    return std::nullopt;
  }

  // Elementwise binary ops with broadcasting.
  static const std::map<std::string, std::function<double(double, double)>>
      kBinary = {
          {"Add", [](double a, double b) { return a + b; }},
          {"Sub", [](double a, double b) { return a - b; }},
          {"Mul", [](double a, double b) { return a * b; }},
          {"Div", [](double a, double b) { return a / b; }},
          {"Pow", [](double a, double b) { return std::pow(a, b); }},
          {"Max", [](double a, double b) { return std::max(a, b); }},
          {"Min", [](double a, double b) { return std::min(a, b); }},
          {"Equal", [](double a, double b) { return double(a == b); }},
          {"Less", [](double a, double b) { return double(a < b); }},
          {"LessOrEqual", [](double a, double b) { return double(a <= b); }},
          {"Greater", [](double a, double b) { return double(a > b); }},
          {"GreaterOrEqual", [](double a, double b) { return double(a >= b); }},
          {"And", [](double a, double b) { return double(a && b); }},
          {"Or", [](double a, double b) { return double(a || b); }},
      };
  if (auto it = kBinary.find(op); it != kBinary.end()) {
    if (!need(2))
      return std::nullopt;
    std::optional<std::vector<int64_t>> out = broadcast(shapeOf(0), shapeOf(1));
    if (!out) {
      why = llvm::formatv("shapes {0} and {1} do not broadcast",
                          fmtShape(shapeOf(0)), fmtShape(shapeOf(1)));
      return std::nullopt;
    }
    shapes[0] = *out;
    const bool compare = op == "Equal" || op == "Less" || op == "LessOrEqual" ||
                         op == "Greater" || op == "GreaterOrEqual" ||
                         op == "And" || op == "Or";
    if (compare)
      types[0] = kBool;
    if (!allConstant || !fits(shapes[0]))
      return std::nullopt;
    Constant c{types[0], *out, {}};
    const bool integerDivision = op == "Div" && !isFloatType(in[0]->type);
    for (int64_t i = 0; i < numElements(*out); ++i) {
      double a = constantOf(0)->data[broadcastIndex(shapeOf(0), *out, i)];
      double b = constantOf(1)->data[broadcastIndex(shapeOf(1), *out, i)];
      double r = integerDivision ? std::trunc(a / b) : it->second(a, b);
      c.data.push_back(roundTo(c.type, r));
    }
    return c;
  }
  // Elementwise unary ops.
  static const std::map<std::string, std::function<double(double)>> kUnary = {
      {"Sqrt", [](double x) { return std::sqrt(x); }},
      {"Reciprocal", [](double x) { return 1.0 / x; }},
      {"Neg", [](double x) { return -x; }},
      {"Abs", [](double x) { return std::fabs(x); }},
      {"Log", [](double x) { return std::log(x); }},
      {"Exp", [](double x) { return std::exp(x); }},
      {"Floor", [](double x) { return std::floor(x); }},
      {"Ceil", [](double x) { return std::ceil(x); }},
      {"Relu", [](double x) { return x > 0.0 || std::isnan(x) ? x : 0.0; }},
      {"Erf", [](double x) { return std::erf(x); }},
      {"Tanh", [](double x) { return std::tanh(x); }},
      {"Sigmoid", [](double x) { return 1.0 / (1.0 + std::exp(-x)); }},
      {"Cos", [](double x) { return std::cos(x); }},
      {"Sin", [](double x) { return std::sin(x); }},
      {"Not", [](double x) { return double(x == 0.0); }},
      {"IsNaN", [](double x) { return double(std::isnan(x)); }},
      {"Identity", [](double x) { return x; }},
      {"Softmax", nullptr},
      {"Gelu", nullptr},
      {"Cast", nullptr},
      {"LayerNormalization", nullptr},
      {"RMSNormalization", nullptr},
      {"SimplifiedLayerNormalization", nullptr},
  };
  if (auto it = kUnary.find(op); it != kUnary.end()) {
    if (!need(1))
      return std::nullopt;
    shapes[0] = shapeOf(0);
    if (op == "Not" || op == "IsNaN")
      types[0] = kBool;
    if (op == "Cast") {
      std::optional<int64_t> to = attrInt(node, "to");
      if (!to || !toDType(*to)) {
        why = llvm::formatv("attribute 'to': expected a numeric type, found "
                            "{0}",
                            to ? *to : -1);
        return std::nullopt;
      }
      types[0] = static_cast<int32_t>(*to);
    }
    if (op == "LayerNormalization" || op == "SimplifiedLayerNormalization")
      for (int o = 1; o < static_cast<int>(shapes.size()); ++o)
        shapes[o] = shapeOf(0); // mean and inverse std (unused)
    if (!allConstant || op == "Softmax" || op == "Gelu" ||
        op == "LayerNormalization" || op == "RMSNormalization" ||
        op == "SimplifiedLayerNormalization")
      return std::nullopt;
    Constant c{types[0], shapes[0], {}};
    for (double x : constantOf(0)->data)
      c.data.push_back(roundTo(c.type, it->second ? it->second(x) : x));
    return c;
  }
  if (op == "Constant") {
    for (const onnx::AttributeProto &a : node.attribute()) {
      if (a.name() == "value" && a.has_t()) {
        const onnx::TensorProto &t = a.t();
        std::optional<DType> dtype = toDType(t.data_type());
        if (!dtype) {
          why = "attribute 'value': unsupported data type";
          return std::nullopt;
        }
        Constant c{t.data_type(), {}, {}};
        for (int64_t d : t.dims())
          c.shape.push_back(d);
        const int64_t count = numElements(c.shape);
        if (t.has_raw_data()) {
          TensorInfo info;
          info.dtype = *dtype;
          info.shape = c.shape;
          info.data = reinterpret_cast<const uint8_t *>(t.raw_data().data());
          info.numBytes = t.raw_data().size();
          if (info.numBytes != count * llmrt::getDTypeSize(*dtype)) {
            why = llvm::formatv("attribute 'value': expected {0} bytes, "
                                "found {1}",
                                count * llmrt::getDTypeSize(*dtype),
                                info.numBytes);
            return std::nullopt;
          }
          c.data = decode(info);
        } else {
          for (float v : t.float_data())
            c.data.push_back(v);
          for (int64_t v : t.int64_data())
            c.data.push_back(static_cast<double>(v));
          for (int32_t v : t.int32_data())
            c.data.push_back(v);
          for (double v : t.double_data())
            c.data.push_back(v);
          if (c.size() != count) {
            why = llvm::formatv("attribute 'value': expected {0} values, "
                                "found {1}",
                                count, c.size());
            return std::nullopt;
          }
        }
        types[0] = c.type;
        shapes[0] = c.shape;
        return c;
      }
      if (a.name() == "value_float" || a.name() == "value_int") {
        types[0] = a.name() == "value_float" ? kFloat : kInt64;
        shapes[0] = {};
        return Constant{
            types[0],
            {},
            {a.name() == "value_float" ? double(a.f()) : double(a.i())}};
      }
      if (a.name() == "value_ints" || a.name() == "value_floats") {
        Constant c{a.name() == "value_ints" ? kInt64 : kFloat, {}, {}};
        for (int64_t v : a.ints())
          c.data.push_back(static_cast<double>(v));
        for (float v : a.floats())
          c.data.push_back(v);
        c.shape = {c.size()};
        types[0] = c.type;
        shapes[0] = c.shape;
        return c;
      }
    }
    why = "expected a 'value', 'value_float', 'value_int', 'value_ints' or "
          "'value_floats' attribute";
    return std::nullopt;
  }
  if (op == "Shape") {
    if (!need(1))
      return std::nullopt;
    std::vector<int64_t> dims = shapeOf(0);
    int64_t rank = static_cast<int64_t>(dims.size());
    int64_t start = normalizeAxis(attrInt(node, "start").value_or(0), rank);
    int64_t end = normalizeAxis(attrInt(node, "end").value_or(rank), rank);
    start = std::clamp<int64_t>(start, 0, rank);
    end = std::clamp<int64_t>(end, start, rank);
    Constant c{kInt64, {end - start}, {}};
    for (int64_t d = start; d < end; ++d)
      c.data.push_back(static_cast<double>(dims[d]));
    types[0] = kInt64;
    shapes[0] = c.shape;
    return c; // always constant: shapes are static
  }
  if (op == "Size") {
    types[0] = kInt64;
    shapes[0] = {};
    return Constant{kInt64, {}, {double(numElements(shapeOf(0)))}};
  }
  if (op == "ConstantOfShape") {
    if (!need(1) || !needConstant(0, "the shape"))
      return std::nullopt;
    if (!fits(constantOf(0)->ints()))
      return std::nullopt;
    Constant c{kFloat, constantOf(0)->ints(), {}};
    double fill = 0.0;
    for (const onnx::AttributeProto &a : node.attribute())
      if (a.name() == "value" && a.has_t()) {
        c.type = a.t().data_type();
        if (a.t().has_raw_data()) {
          TensorInfo info;
          info.dtype = toDType(c.type).value_or(DType::F32);
          info.shape = {1};
          info.data =
              reinterpret_cast<const uint8_t *>(a.t().raw_data().data());
          info.numBytes = a.t().raw_data().size();
          fill = decode(info).at(0);
        } else if (a.t().float_data_size()) {
          fill = a.t().float_data(0);
        } else if (a.t().int64_data_size()) {
          fill = static_cast<double>(a.t().int64_data(0));
        } else if (a.t().int32_data_size()) {
          fill = a.t().int32_data(0);
        }
      }
    c.data.assign(numElements(c.shape), fill);
    types[0] = c.type;
    shapes[0] = c.shape;
    return c;
  }
  if (op == "Range") {
    if (!need(3) || !needConstant(0, "start") || !needConstant(1, "limit") ||
        !needConstant(2, "delta"))
      return std::nullopt;
    const double start = constantOf(0)->data.at(0),
                 limit = constantOf(1)->data.at(0),
                 delta = constantOf(2)->data.at(0);
    if (delta == 0.0) {
      why = "input 2 (delta): expected a nonzero step, found 0";
      return std::nullopt;
    }
    Constant c{in[0]->type, {}, {}};
    const double steps = std::ceil((limit - start) / delta);
    if (!(steps < static_cast<double>(kMaxFoldedElements))) {
      why = llvm::formatv("expected at most 2^26 values, found a range of "
                          "{0}",
                          steps);
      return std::nullopt;
    }
    const int64_t count = std::max<int64_t>(0, static_cast<int64_t>(steps));
    for (int64_t i = 0; i < count; ++i)
      c.data.push_back(roundTo(c.type, start + i * delta));
    c.shape = {count};
    types[0] = c.type;
    shapes[0] = c.shape;
    return c;
  }
  if (op == "Reshape") {
    if (!need(2) || !needConstant(1, "the shape"))
      return std::nullopt;
    std::vector<int64_t> target = constantOf(1)->ints();
    std::vector<int64_t> from = shapeOf(0);
    int64_t known = 1, inferred = -1;
    for (size_t d = 0; d < target.size(); ++d) {
      if (target[d] == 0 && !attrInt(node, "allowzero").value_or(0))
        target[d] = d < from.size() ? from[d] : 0;
      if (target[d] == -1)
        inferred = static_cast<int64_t>(d);
      else
        known *= target[d];
    }
    if (inferred >= 0 && known != 0)
      target[inferred] = numElements(from) / known;
    if (numElements(target) != numElements(from)) {
      why = llvm::formatv("expected a shape of {0} elements (the input's {1}), "
                          "found {2}",
                          numElements(from), fmtShape(from),
                          fmtShape(constantOf(1)->ints()));
      return std::nullopt;
    }
    shapes[0] = target;
    if (!allConstant || !fits(shapes[0]))
      return std::nullopt;
    Constant c = *constantOf(0);
    c.shape = target;
    return c;
  }
  if (op == "Flatten") {
    if (!need(1))
      return std::nullopt;
    std::vector<int64_t> from = shapeOf(0);
    int64_t axis = normalizeAxis(attrInt(node, "axis").value_or(1),
                                 static_cast<int64_t>(from.size()));
    int64_t outer = 1;
    for (int64_t d = 0; d < axis; ++d)
      outer *= from[d];
    shapes[0] = {outer, outer ? numElements(from) / outer : 0};
    if (!allConstant || !fits(shapes[0]))
      return std::nullopt;
    Constant c = *constantOf(0);
    c.shape = shapes[0];
    return c;
  }
  if (op == "Unsqueeze" || op == "Squeeze") {
    if (!need(1))
      return std::nullopt;
    std::vector<int64_t> axes = attrInts(node, "axes");
    if (in.size() > 1 && in[1]) {
      if (!needConstant(1, "the axes"))
        return std::nullopt;
      axes = constantOf(1)->ints();
    }
    std::vector<int64_t> out = shapeOf(0);
    if (op == "Unsqueeze") {
      const int64_t rank = static_cast<int64_t>(out.size() + axes.size());
      for (int64_t &a : axes)
        a = normalizeAxis(a, rank);
      llvm::sort(axes);
      for (int64_t a : axes)
        out.insert(out.begin() + std::min<int64_t>(a, out.size()), 1);
    } else {
      const int64_t rank = static_cast<int64_t>(out.size());
      std::vector<int64_t> kept;
      for (int64_t d = 0; d < rank; ++d) {
        bool drop =
            axes.empty() ? out[d] == 1 : llvm::any_of(axes, [&](int64_t a) {
              return normalizeAxis(a, rank) == d;
            });
        if (!drop)
          kept.push_back(out[d]);
      }
      out = kept;
    }
    shapes[0] = out;
    if (!allConstant || !fits(shapes[0]))
      return std::nullopt;
    Constant c = *constantOf(0);
    c.shape = out;
    return c;
  }
  if (op == "Concat") {
    // The shape of an operand with elements (an empty past may leave its
    // other dimensions 0).
    std::vector<int64_t> out = shapeOf(0);
    for (size_t i = 0; i < in.size(); ++i)
      if (numElements(shapeOf(i)) > 0) {
        out = shapeOf(i);
        break;
      }
    const int64_t rank = static_cast<int64_t>(out.size());
    const int64_t axis = normalizeAxis(attrInt(node, "axis").value_or(0), rank);
    if (axis < 0 || axis >= rank) {
      why = llvm::formatv("attribute 'axis': expected a dimension of the "
                          "rank-{0} inputs, found {1}",
                          rank, attrInt(node, "axis").value_or(0));
      return std::nullopt;
    }
    out[axis] = 0;
    for (size_t i = 0; i < in.size(); ++i) {
      if (shapeOf(i).size() != out.size()) {
        why = llvm::formatv("expected operands of one rank, found {0} and {1}",
                            fmtShape(out), fmtShape(shapeOf(i)));
        return std::nullopt;
      }
      out[axis] += shapeOf(i)[axis];
    }
    shapes[0] = out;
    if (!allConstant || !fits(shapes[0]))
      return std::nullopt;
    Constant c{in[0]->type, out, {}};
    int64_t outer = 1;
    for (int64_t d = 0; d < axis; ++d)
      outer *= out[d];
    for (int64_t o = 0; o < outer; ++o)
      for (size_t i = 0; i < in.size(); ++i) {
        const std::vector<int64_t> &s = in[i]->shape;
        int64_t inner = 1;
        for (int64_t d = axis; d < rank; ++d)
          inner *= s[d];
        for (int64_t j = 0; j < inner; ++j)
          c.data.push_back(constantOf(i)->data[o * inner + j]);
      }
    return c;
  }
  if (op == "Gather") {
    if (!need(2))
      return std::nullopt;
    std::vector<int64_t> data = shapeOf(0), indices = shapeOf(1);
    const int64_t rank = static_cast<int64_t>(data.size());
    const int64_t axis = normalizeAxis(attrInt(node, "axis").value_or(0), rank);
    std::vector<int64_t> out(data.begin(), data.begin() + axis);
    out.insert(out.end(), indices.begin(), indices.end());
    out.insert(out.end(), data.begin() + axis + 1, data.end());
    shapes[0] = out;
    if (!allConstant || !fits(shapes[0]))
      return std::nullopt;
    Constant c{in[0]->type, out, {}};
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d)
      outer *= data[d];
    for (int64_t d = axis + 1; d < rank; ++d)
      inner *= data[d];
    for (int64_t o = 0; o < outer; ++o)
      for (double raw : constantOf(1)->data) {
        int64_t index = static_cast<int64_t>(raw);
        if (index < 0)
          index += data[axis];
        if (index < 0 || index >= data[axis]) {
          why = llvm::formatv("index {0} is outside the {1} entries of axis "
                              "{2}",
                              static_cast<int64_t>(raw), data[axis], axis);
          return std::nullopt;
        }
        for (int64_t j = 0; j < inner; ++j)
          c.data.push_back(
              constantOf(0)->data[(o * data[axis] + index) * inner + j]);
      }
    return c;
  }
  if (op == "GatherElements") {
    if (!need(2))
      return std::nullopt;
    std::vector<int64_t> data = shapeOf(0), indices = shapeOf(1);
    const int64_t rank = static_cast<int64_t>(data.size());
    const int64_t axis = normalizeAxis(attrInt(node, "axis").value_or(0), rank);
    if (static_cast<int64_t>(indices.size()) != rank || axis < 0 ||
        axis >= rank) {
      why = llvm::formatv("indices {0} and data {1}: expected one rank and "
                          "an axis of it",
                          fmtShape(indices), fmtShape(data));
      return std::nullopt;
    }
    shapes[0] = indices;
    if (!allConstant || !fits(shapes[0]))
      return std::nullopt;
    std::vector<int64_t> dataStrides = stridesOf(data);
    Constant c{in[0]->type, indices, {}};
    for (int64_t i = 0; i < numElements(indices); ++i) {
      int64_t rest = i, at = 0;
      for (int64_t d = rank - 1; d >= 0; --d) {
        int64_t coordinate = rest % indices[d];
        rest /= indices[d];
        if (d == axis) {
          coordinate = static_cast<int64_t>(constantOf(1)->data[i]);
          if (coordinate < 0)
            coordinate += data[d];
          if (coordinate < 0 || coordinate >= data[d]) {
            why = llvm::formatv("index {0} is outside axis {1} of size {2}",
                                coordinate, d, data[d]);
            return std::nullopt;
          }
        }
        at += coordinate * dataStrides[d];
      }
      c.data.push_back(constantOf(0)->data[at]);
    }
    return c;
  }
  // The flat offset in data of `strides` of the index tuple index[t, t +
  // m) (GatherND, ScatterND), negative indices counting from the end; none,
  // with `why`, outside the data.
  auto tupleOffset =
      [&](const std::vector<double> &index, size_t t, int64_t m,
          const std::vector<int64_t> &data,
          const std::vector<int64_t> &strides) -> std::optional<int64_t> {
    int64_t at = 0;
    for (int64_t j = 0; j < m; ++j) {
      int64_t k = static_cast<int64_t>(index[t + j]);
      if (k < 0)
        k += data[j];
      if (k < 0 || k >= data[j]) {
        why = llvm::formatv("index {0} is outside dimension {1} of size {2}",
                            static_cast<int64_t>(index[t + j]), j, data[j]);
        return std::nullopt;
      }
      at += k * strides[j];
    }
    return at;
  };
  if (op == "GatherND") {
    if (!need(2))
      return std::nullopt;
    if (attrInt(node, "batch_dims").value_or(0) != 0) {
      why = "attribute 'batch_dims': expected 0";
      return std::nullopt;
    }
    std::vector<int64_t> data = shapeOf(0), indices = shapeOf(1);
    const int64_t m = indices.empty() ? 0 : indices.back();
    if (indices.empty() || m > static_cast<int64_t>(data.size())) {
      why = llvm::formatv("indices {0} do not index data {1}",
                          fmtShape(indices), fmtShape(data));
      return std::nullopt;
    }
    std::vector<int64_t> out(indices.begin(), indices.end() - 1);
    out.insert(out.end(), data.begin() + m, data.end());
    shapes[0] = out;
    if (!allConstant || !fits(shapes[0]))
      return std::nullopt;
    std::vector<int64_t> strides = stridesOf(data);
    int64_t inner = 1;
    for (size_t d = m; d < data.size(); ++d)
      inner *= data[d];
    Constant c{in[0]->type, out, {}};
    const std::vector<double> &index = constantOf(1)->data;
    for (size_t t = 0; t + m <= index.size() && m > 0; t += m) {
      std::optional<int64_t> at = tupleOffset(index, t, m, data, strides);
      if (!at)
        return std::nullopt;
      for (int64_t e = 0; e < inner; ++e)
        c.data.push_back(constantOf(0)->data[*at + e]);
    }
    return c;
  }
  if (op == "ScatterND") {
    // data with the slices at `indices` replaced by `updates`.
    if (!need(3))
      return std::nullopt;
    std::string reduction = "none";
    for (const onnx::AttributeProto &a : node.attribute())
      if (a.name() == "reduction")
        reduction = a.s();
    const std::vector<int64_t> data = shapeOf(0), indices = shapeOf(1);
    const int64_t m = indices.empty() ? 0 : indices.back();
    std::vector<int64_t> updates(
        indices.begin(), indices.empty() ? indices.end() : indices.end() - 1);
    if (m >= 1 && m <= static_cast<int64_t>(data.size()))
      updates.insert(updates.end(), data.begin() + m, data.end());
    if (reduction != "none" || m < 1 || m > static_cast<int64_t>(data.size()) ||
        shapeOf(2) != updates) {
      why = llvm::formatv("expected indices [..., m <= {0}] into data {1}, "
                          "updates {2} and no reduction, found indices {3}, "
                          "updates {4} and reduction '{5}'",
                          data.size(), fmtShape(data), fmtShape(updates),
                          fmtShape(indices), fmtShape(shapeOf(2)), reduction);
      return std::nullopt;
    }
    shapes[0] = data;
    if (!allConstant || !fits(shapes[0]))
      return std::nullopt;
    std::vector<int64_t> strides = stridesOf(data);
    int64_t inner = 1;
    for (size_t d = m; d < data.size(); ++d)
      inner *= data[d];
    Constant c = *constantOf(0);
    c.shape = data;
    const std::vector<double> &index = constantOf(1)->data;
    const std::vector<double> &update = constantOf(2)->data;
    for (size_t t = 0, u = 0; t + m <= index.size(); t += m, u += inner) {
      std::optional<int64_t> at = tupleOffset(index, t, m, data, strides);
      if (!at)
        return std::nullopt;
      for (int64_t e = 0; e < inner; ++e)
        c.data[*at + e] = roundTo(c.type, update[u + e]);
    }
    return c;
  }
  if (op == "Slice") {
    if (!need(3) || !needConstant(1, "starts") || !needConstant(2, "ends"))
      return std::nullopt;
    std::vector<int64_t> data = shapeOf(0);
    const int64_t rank = static_cast<int64_t>(data.size());
    std::vector<int64_t> starts = constantOf(1)->ints(),
                         ends = constantOf(2)->ints(), axes, steps;
    if (in.size() > 3 && in[3]) {
      if (!needConstant(3, "axes"))
        return std::nullopt;
      axes = constantOf(3)->ints();
    } else {
      for (size_t i = 0; i < starts.size(); ++i)
        axes.push_back(static_cast<int64_t>(i));
    }
    if (in.size() > 4 && in[4]) {
      if (!needConstant(4, "steps"))
        return std::nullopt;
      steps = constantOf(4)->ints();
    } else {
      steps.assign(starts.size(), 1);
    }
    std::vector<int64_t> begin(rank, 0), step(rank, 1), out = data;
    for (size_t i = 0; i < axes.size(); ++i) {
      const int64_t a = normalizeAxis(axes[i], rank);
      const int64_t dim = data[a];
      int64_t s = starts[i] < 0 ? starts[i] + dim : starts[i];
      int64_t e = ends[i] < 0 ? ends[i] + dim : ends[i];
      if (steps[i] > 0) {
        s = std::clamp<int64_t>(s, 0, dim);
        e = std::clamp<int64_t>(e, 0, dim);
        out[a] = std::max<int64_t>(0, (e - s + steps[i] - 1) / steps[i]);
      } else {
        s = std::clamp<int64_t>(s, 0, dim - 1);
        e = std::clamp<int64_t>(e, -1, dim - 1);
        out[a] = std::max<int64_t>(0, (s - e - steps[i] - 1) / -steps[i]);
      }
      begin[a] = s;
      step[a] = steps[i];
    }
    shapes[0] = out;
    if (!allConstant || !fits(shapes[0]))
      return std::nullopt;
    Constant c{in[0]->type, out, {}};
    std::vector<int64_t> inStrides = stridesOf(data);
    for (int64_t i = 0; i < numElements(out); ++i) {
      int64_t rest = i, at = 0;
      for (int64_t d = rank - 1; d >= 0; --d) {
        const int64_t coordinate = rest % out[d];
        rest /= out[d];
        at += (begin[d] + coordinate * step[d]) * inStrides[d];
      }
      c.data.push_back(constantOf(0)->data[at]);
    }
    return c;
  }
  if (op == "Transpose") {
    if (!need(1))
      return std::nullopt;
    std::vector<int64_t> data = shapeOf(0);
    const int64_t rank = static_cast<int64_t>(data.size());
    std::vector<int64_t> perm = attrInts(node, "perm");
    if (perm.empty())
      for (int64_t d = rank - 1; d >= 0; --d)
        perm.push_back(d);
    std::vector<int64_t> out;
    for (int64_t p : perm)
      out.push_back(data[p]);
    shapes[0] = out;
    if (!allConstant || !fits(shapes[0]))
      return std::nullopt;
    Constant c{in[0]->type, out, std::vector<double>(numElements(out))};
    std::vector<int64_t> inStrides = stridesOf(data);
    for (int64_t i = 0; i < numElements(out); ++i) {
      int64_t rest = i, at = 0;
      for (int64_t d = rank - 1; d >= 0; --d) {
        at += (rest % out[d]) * inStrides[perm[d]];
        rest /= out[d];
      }
      c.data[i] = constantOf(0)->data[at];
    }
    return c;
  }
  if (op == "Expand") {
    if (!need(2) || !needConstant(1, "the shape"))
      return std::nullopt;
    std::optional<std::vector<int64_t>> out =
        broadcast(shapeOf(0), constantOf(1)->ints());
    if (!out) {
      why = "the shape does not broadcast with the input";
      return std::nullopt;
    }
    shapes[0] = *out;
    if (!allConstant || !fits(shapes[0]))
      return std::nullopt;
    Constant c{in[0]->type, *out, {}};
    for (int64_t i = 0; i < numElements(*out); ++i)
      c.data.push_back(
          constantOf(0)->data[broadcastIndex(shapeOf(0), *out, i)]);
    return c;
  }
  if (op == "Where") {
    if (!need(3))
      return std::nullopt;
    std::optional<std::vector<int64_t>> ab = broadcast(shapeOf(1), shapeOf(2));
    std::optional<std::vector<int64_t>> out =
        ab ? broadcast(shapeOf(0), *ab) : std::nullopt;
    if (!out) {
      why = "the condition and the two branches do not broadcast";
      return std::nullopt;
    }
    shapes[0] = *out;
    types[0] = in[1]->type;
    if (!allConstant || !fits(shapes[0]))
      return std::nullopt;
    Constant c{types[0], *out, {}};
    for (int64_t i = 0; i < numElements(*out); ++i)
      c.data.push_back(
          constantOf(0)->data[broadcastIndex(shapeOf(0), *out, i)] != 0.0
              ? constantOf(1)->data[broadcastIndex(shapeOf(1), *out, i)]
              : constantOf(2)->data[broadcastIndex(shapeOf(2), *out, i)]);
    return c;
  }
  if (op == "Trilu") {
    if (!need(1))
      return std::nullopt;
    shapes[0] = shapeOf(0);
    if (!allConstant || !fits(shapes[0]))
      return std::nullopt;
    const int64_t k = in.size() > 1 && in[1] ? constantOf(1)->ints().at(0) : 0;
    const bool upper = attrInt(node, "upper").value_or(1) != 0;
    Constant c = *constantOf(0);
    const int64_t rank = static_cast<int64_t>(c.shape.size());
    const int64_t rows = c.shape[rank - 2], cols = c.shape[rank - 1];
    for (int64_t i = 0; i < c.size(); ++i) {
      const int64_t r = (i / cols) % rows, col = i % cols;
      if (upper ? col - r < k : col - r > k)
        c.data[i] = 0.0;
    }
    return c;
  }
  if (op == "CumSum") {
    if (!need(2) || !needConstant(1, "the axis"))
      return std::nullopt;
    shapes[0] = shapeOf(0);
    if (!allConstant || !fits(shapes[0]))
      return std::nullopt;
    Constant c = *constantOf(0);
    const int64_t rank = static_cast<int64_t>(c.shape.size());
    const int64_t axis = normalizeAxis(constantOf(1)->ints().at(0), rank);
    const bool exclusive = attrInt(node, "exclusive").value_or(0) != 0;
    const bool reverse = attrInt(node, "reverse").value_or(0) != 0;
    std::vector<int64_t> strides = stridesOf(c.shape);
    const int64_t n = c.shape[axis], stride = strides[axis];
    std::vector<double> out(c.data.size());
    for (int64_t base = 0; base < c.size(); ++base) {
      if ((base / stride) % n != 0)
        continue;
      double sum = 0.0;
      for (int64_t j = 0; j < n; ++j) {
        const int64_t k = reverse ? n - 1 - j : j;
        const int64_t at = base + k * stride;
        if (exclusive) {
          out[at] = sum;
          sum += c.data[at];
        } else {
          sum += c.data[at];
          out[at] = sum;
        }
      }
    }
    c.data = out;
    return c;
  }
  if (op == "ReduceMean" || op == "ReduceSum" || op == "ReduceMax") {
    if (!need(1))
      return std::nullopt;
    std::vector<int64_t> axes = attrInts(node, "axes");
    if (in.size() > 1 && in[1]) {
      if (!needConstant(1, "the axes"))
        return std::nullopt;
      axes = constantOf(1)->ints();
    }
    std::vector<int64_t> data = shapeOf(0);
    const int64_t rank = static_cast<int64_t>(data.size());
    if (axes.empty())
      for (int64_t d = 0; d < rank; ++d)
        axes.push_back(d);
    for (int64_t &a : axes)
      a = normalizeAxis(a, rank);
    const bool keep = attrInt(node, "keepdims").value_or(1) != 0;
    std::vector<int64_t> out;
    for (int64_t d = 0; d < rank; ++d) {
      if (!llvm::is_contained(axes, d))
        out.push_back(data[d]);
      else if (keep)
        out.push_back(1);
    }
    shapes[0] = out;
    if (!allConstant || !fits(shapes[0]))
      return std::nullopt;
    // Reduce to the kept-dims shape, then drop dims.
    std::vector<int64_t> kept = data;
    for (int64_t a : axes)
      kept[a] = 1;
    Constant c{in[0]->type, out,
               std::vector<double>(
                   numElements(kept),
                   op == "ReduceMax" ? -std::numeric_limits<double>::infinity()
                                     : 0.0)};
    int64_t count = 1;
    for (int64_t a : axes)
      count *= data[a];
    for (int64_t i = 0; i < numElements(data); ++i) {
      const int64_t at = broadcastIndex(kept, data, i);
      const double v = constantOf(0)->data[i];
      c.data[at] = op == "ReduceMax" ? std::max(c.data[at], v) : c.data[at] + v;
    }
    if (op == "ReduceMean")
      for (double &v : c.data)
        v /= count;
    for (double &v : c.data)
      v = roundTo(c.type, v);
    return c;
  }
  if (op == "MatMul") {
    if (!need(2))
      return std::nullopt;
    std::vector<int64_t> a = shapeOf(0), b = shapeOf(1);
    if (a.size() < 2 || b.size() < 2 || a.back() != b[b.size() - 2]) {
      why = llvm::formatv("shapes {0} and {1} do not multiply", fmtShape(a),
                          fmtShape(b));
      return std::nullopt;
    }
    std::optional<std::vector<int64_t>> batch = broadcast(
        llvm::ArrayRef(a).drop_back(2), llvm::ArrayRef(b).drop_back(2));
    if (!batch) {
      why = llvm::formatv("batch dimensions of {0} and {1} do not broadcast",
                          fmtShape(a), fmtShape(b));
      return std::nullopt;
    }
    std::vector<int64_t> out = *batch;
    out.push_back(a[a.size() - 2]);
    out.push_back(b.back());
    shapes[0] = out;
    return std::nullopt; // activations: never folded
  }
  if (op == "Gemm") {
    if (!need(2))
      return std::nullopt;
    std::vector<int64_t> a = shapeOf(0), b = shapeOf(1);
    if (a.size() != 2 || b.size() != 2) {
      why = "expected 2-D inputs";
      return std::nullopt;
    }
    const bool ta = attrInt(node, "transA").value_or(0) != 0;
    const bool tb = attrInt(node, "transB").value_or(0) != 0;
    shapes[0] = {ta ? a[1] : a[0], tb ? b[0] : b[1]};
    return std::nullopt;
  }
  if (op == "Split") {
    if (!need(1))
      return std::nullopt;
    std::vector<int64_t> data = shapeOf(0);
    const int64_t rank = static_cast<int64_t>(data.size());
    const int64_t axis = normalizeAxis(attrInt(node, "axis").value_or(0), rank);
    std::vector<int64_t> sizes = attrInts(node, "split");
    if (in.size() > 1 && in[1]) {
      if (!needConstant(1, "the sizes"))
        return std::nullopt;
      sizes = constantOf(1)->ints();
    }
    const int64_t parts = node.output_size();
    if (sizes.empty())
      for (int64_t p = 0; p < parts; ++p)
        sizes.push_back(
            (data[axis] + parts - 1) / parts -
            (p == parts - 1
                 ? (data[axis] + parts - 1) / parts * parts - data[axis]
                 : 0));
    for (int64_t p = 0; p < parts; ++p) {
      shapes[p] = data;
      shapes[p][axis] = sizes[p];
      types[p] = in[0]->type;
    }
    return std::nullopt;
  }
  why = "the op is not supported by the ONNX importer";
  return std::nullopt;
}

//===----------------------------------------------------------------------===//
// Emission and raising
//===----------------------------------------------------------------------===//

const onnx::NodeProto *Importer::producerOf(const std::string &name,
                                            llvm::StringRef opType) const {
  auto it = values.find(name);
  if (it == values.end() || it->second.producer < 0 || it->second.constant)
    return nullptr;
  const onnx::NodeProto &node = graph->node(it->second.producer);
  return node.op_type() == opType ? &node : nullptr;
}

std::optional<double> Importer::scalarOf(const std::string &name) const {
  auto it = values.find(name);
  if (it == values.end() || !it->second.constant)
    return std::nullopt;
  const Constant &c = *it->second.constant;
  if (c.data.empty() ||
      llvm::any_of(c.data, [&](double v) { return v != c.data[0]; }))
    return std::nullopt;
  return c.data[0];
}

/// A constant whose every row of the last axis is 0, 1, ..., seq - 1: the
/// positions of a prompt, which exporters compute with Range and which is
/// the positions argument.
bool Importer::isArangeOverSequence(const std::string &name) const {
  auto it = values.find(name);
  if (it == values.end() || !it->second.constant || it->second.initializer)
    return false;
  const Constant &c = *it->second.constant;
  if (c.shape.empty() || c.shape.back() != options.seqLen)
    return false;
  for (int64_t i = 0; i < c.size(); ++i)
    if (c.data[i] != static_cast<double>(i % options.seqLen))
      return false;
  if (options.seqLen > 1)
    return true;
  // One token: [0] is also constant ids (BERT's token types). Positions
  // are the ones the graph computes with Range.
  std::vector<std::string> work = {name};
  std::set<std::string> seen;
  while (!work.empty() && seen.size() < 256) {
    std::string at = work.back();
    work.pop_back();
    auto v = values.find(at);
    if (at.empty() || !seen.insert(at).second || v == values.end() ||
        v->second.producer < 0)
      continue;
    const onnx::NodeProto &node = graph->node(v->second.producer);
    if (node.op_type() == "Range")
      return true;
    for (const std::string &in : node.input())
      work.push_back(in);
  }
  return false;
}

RankedTensorType f32Type(MLIRContext &context, llvm::ArrayRef<int64_t> shape) {
  return RankedTensorType::get(shape, Float32Type::get(&context));
}

mlir::Value Importer::emitConstant(const Constant &c,
                                   llvm::ArrayRef<int64_t> shape) {
  std::vector<int64_t> target =
      shape.empty() ? c.shape : std::vector<int64_t>(shape);
  std::vector<float> data(numElements(target));
  for (int64_t i = 0; i < static_cast<int64_t>(data.size()); ++i)
    data[i] = static_cast<float>(c.data[broadcastIndex(c.shape, target, i)]);
  auto type = f32Type(context, target);
  return arith::ConstantOp::create(
      emitter->builder, emitter->loc,
      DenseElementsAttr::get(type, llvm::ArrayRef<float>(data)));
}

mlir::Value Importer::paramOf(const std::string &name,
                              llvm::ArrayRef<int64_t> shape, bool transpose,
                              bool keepDtype) {
  hf::ParamLayout layout;
  layout.transpose = transpose;
  mlir::Value v = emitter->param(paramName(name), shape, keepDtype, layout);
  if (!v)
    fail(llvm::toString(emitter->takeError()));
  return v;
}

mlir::Value Importer::emit(const std::string &name) {
  if (error)
    return nullptr;
  ValueInfo &v = values.at(name);
  if (v.ir)
    return v.ir;
  if (v.constant && !v.initializer) {
    if (!isFloatType(v.constant->type)) {
      fail(llvm::formatv("{0}: the constant '{1}' ({2}) is read as a tensor "
                         "of the model; only float constants are",
                         path, name, fmtShape(v.shape)));
      return nullptr;
    }
    return v.ir = emitConstant(*v.constant);
  }
  if (v.initializer)
    return v.ir = paramOf(name, v.shape);
  if (v.producer < 0) {
    auto role = inputs.find(name);
    if (role != inputs.end() && role->second == InputRole::Tokens)
      return v.ir = tokens;
    if (role != inputs.end() && role->second == InputRole::Positions)
      return v.ir = positions;
    fail(llvm::formatv("{0}: graph input '{1}' is read as a tensor of the "
                       "model",
                       path, name));
    return nullptr;
  }
  mlir::Value result = emitNode(v.producer, name);
  if (result)
    v.ir = result;
  return result;
}

bool Importer::isView(const onnx::NodeProto &node) const {
  if (node.op_type() == "Identity")
    return true;
  if (node.op_type() == "Cast")
    return isFloatType(values.at(node.input(0)).type) &&
           isFloatType(values.at(node.output(0)).type);
  if (node.op_type() != "Reshape")
    return false;
  const std::vector<int64_t> &from = values.at(node.input(0)).shape;
  const std::vector<int64_t> &to = values.at(node.output(0)).shape;
  return !from.empty() && !to.empty() && from.back() == to.back() &&
         from.size() >= 2 && to.size() >= 2 &&
         numElements(from) == numElements(to);
}

std::string Importer::throughViews(const std::string &name) const {
  std::string at = name;
  for (;;) {
    auto it = values.find(at);
    if (it == values.end() || it->second.producer < 0 || it->second.constant)
      return at;
    const onnx::NodeProto &node = graph->node(it->second.producer);
    if (!isView(node))
      return at;
    at = node.input(0);
  }
}

std::optional<Importer::LinearMatch>
Importer::analyzeLinear(const onnx::NodeProto &root) const {
  LinearMatch match;
  const onnx::NodeProto *matmul = &root;
  if (root.op_type() == "Add") {
    matmul = nullptr;
    for (int side = 0; side < 2 && !matmul; ++side) {
      const std::string source = throughViews(root.input(side));
      const onnx::NodeProto *m = producerOf(source, "MatMul");
      if (!m)
        m = producerOf(source, "Gemm");
      const ValueInfo &b = values.at(root.input(1 - side));
      if (m && b.initializer && b.shape.size() == 1 &&
          (m->op_type() == "MatMul" || m->input_size() < 3 ||
           m->input(2).empty())) {
        matmul = m;
        match.bias = root.input(1 - side);
        match.nodes = 2;
      }
    }
    if (!matmul)
      return std::nullopt;
  }
  if (matmul->op_type() == "Gemm") {
    if (attrInt(*matmul, "transA").value_or(0) ||
        attrFloat(*matmul, "alpha").value_or(1.0f) != 1.0f ||
        attrFloat(*matmul, "beta").value_or(1.0f) != 1.0f)
      return std::nullopt;
    if (matmul->input_size() > 2 && !matmul->input(2).empty())
      match.bias = matmul->input(2);
    match.transB = attrInt(*matmul, "transB").value_or(0) != 0;
  } else if (matmul->op_type() != "MatMul") {
    return std::nullopt;
  }
  match.weight = matmul->input(1);
  // A tied head reads the embedding table through a Transpose, which
  // exporters do not fold for large tables: W^T of an initializer [out, in].
  if (const onnx::NodeProto *t = producerOf(match.weight, "Transpose")) {
    const std::vector<int64_t> perm = attrInts(*t, "perm");
    if ((perm.empty() || perm == std::vector<int64_t>{1, 0}) &&
        values.at(t->input(0)).initializer &&
        values.at(t->input(0)).shape.size() == 2) {
      match.weight = t->input(0);
      match.transB = !match.transB;
      ++match.nodes;
    }
  }
  const ValueInfo &w = values.at(match.weight);
  if (!w.initializer || w.shape.size() != 2)
    return std::nullopt;
  match.x = matmul->input(0);
  match.out = match.transB ? w.shape[0] : w.shape[1];
  match.in = match.transB ? w.shape[1] : w.shape[0];
  if (!match.bias.empty() &&
      (!values.at(match.bias).initializer ||
       values.at(match.bias).shape != std::vector<int64_t>{match.out}))
    return std::nullopt;
  return match;
}

mlir::Value Importer::emitLinear(const LinearMatch &match, int64_t rowStart,
                                 int64_t rows) {
  mlir::Value x = emit(match.x);
  if (!x)
    return nullptr;
  const int64_t out = rows ? rows : match.out;
  hf::ParamLayout layout;
  layout.transpose = !match.transB;
  if (rows)
    layout.rowBlocks = std::array<int64_t, 4>{rowStart, rows, rows, 1};
  mlir::Value weight = emitter->param(paramName(match.weight), {out, match.in},
                                      /*keepDtype=*/true, layout);
  mlir::Value bias;
  if (weight && !match.bias.empty()) {
    hf::ParamLayout biasLayout;
    biasLayout.rowBlocks = layout.rowBlocks;
    if (match.biasOffset)
      biasLayout.rowBlocks =
          std::array<int64_t, 4>{*match.biasOffset + rowStart, out, out, 1};
    bias = emitter->param(paramName(match.bias), {out}, false, biasLayout);
  }
  if (emitter->failed()) {
    fail(llvm::toString(emitter->takeError()));
    return nullptr;
  }
  llvm::SmallVector<int64_t> shape(
      cast<RankedTensorType>(x.getType()).getShape());
  if (shape.back() != match.in) {
    fail(llvm::formatv("{0}: the linear layer of '{1}' reads {2} features, "
                       "its input has {3}",
                       path, match.weight, match.in, shape.back()));
    return nullptr;
  }
  shape.back() = out;
  return LinearOp::create(emitter->builder, emitter->loc,
                          f32Type(context, shape), x, weight, bias);
}

mlir::Value Importer::matchLayerNorm(const onnx::NodeProto &root) {
  // Add(Mul(Div(d, Sqrt(Add(ReduceMean(Pow(d, 2)), eps))), w), b) with
  // d = Sub(x, ReduceMean(x)); Mul's and Add's operands in either order.
  if (root.op_type() != "Add")
    return nullptr;
  for (int side = 0; side < 2; ++side) {
    const onnx::NodeProto *mul = producerOf(root.input(side), "Mul");
    const ValueInfo &b = values.at(root.input(1 - side));
    if (!mul || !b.initializer || b.shape.size() != 1)
      continue;
    for (int mside = 0; mside < 2; ++mside) {
      const onnx::NodeProto *div = producerOf(mul->input(mside), "Div");
      const ValueInfo &w = values.at(mul->input(1 - mside));
      if (!div || !w.initializer || w.shape != b.shape)
        continue;
      const onnx::NodeProto *sub = producerOf(div->input(0), "Sub");
      const onnx::NodeProto *sqrt = producerOf(div->input(1), "Sqrt");
      if (!sub || !sqrt)
        continue;
      const onnx::NodeProto *mean = producerOf(sub->input(1), "ReduceMean");
      if (!mean || mean->input(0) != sub->input(0))
        continue;
      const onnx::NodeProto *addEps = producerOf(sqrt->input(0), "Add");
      if (!addEps)
        continue;
      const onnx::NodeProto *var = producerOf(addEps->input(0), "ReduceMean");
      std::optional<double> eps = scalarOf(addEps->input(1));
      if (!var || !eps || !(*eps >= 0.0))
        continue;
      const onnx::NodeProto *pow = producerOf(var->input(0), "Pow");
      if (!pow || pow->input(0) != div->input(0) ||
          scalarOf(pow->input(1)) != 2.0)
        continue;
      // Both means over the last axis only.
      const int64_t rank =
          static_cast<int64_t>(values.at(sub->input(0)).shape.size());
      auto lastAxisOnly = [&](const onnx::NodeProto &reduce) {
        std::vector<int64_t> axes = attrInts(reduce, "axes");
        if (reduce.input_size() > 1) {
          const ValueInfo &a = values.at(reduce.input(1));
          if (!a.constant)
            return false;
          axes = a.constant->ints();
        }
        return axes.size() == 1 && normalizeAxis(axes[0], rank) == rank - 1;
      };
      if (!lastAxisOnly(*mean) || !lastAxisOnly(*var))
        continue;
      mlir::Value x = emit(sub->input(0));
      mlir::Value weight = paramOf(mul->input(1 - mside), w.shape);
      mlir::Value bias = paramOf(root.input(1 - side), b.shape);
      if (!x || !weight || !bias)
        return nullptr;
      raised("layer_norm", 9);
      return LayerNormOp::create(emitter->builder, emitter->loc, x.getType(), x,
                                 weight, bias,
                                 emitter->builder.getF64FloatAttr(*eps));
    }
  }
  return nullptr;
}

mlir::Value Importer::matchRmsNorm(const onnx::NodeProto &root) {
  // Mul(w, Mul(x, Reciprocal(Sqrt(Add(ReduceMean(Pow(x, 2)), eps))))), or
  // with Div(x, Sqrt(...)) for the inner product; operands in either order.
  if (root.op_type() != "Mul")
    return nullptr;
  for (int side = 0; side < 2; ++side) {
    const ValueInfo &w = values.at(root.input(1 - side));
    if (!w.initializer || w.shape.size() != 1)
      continue;
    // x / sqrt(...), x * reciprocal(sqrt(...)) or x * (1 / sqrt(...)),
    // through float casts (the TorchScript exporter's fp32 upcasts).
    std::string x;
    const onnx::NodeProto *sqrt = nullptr;
    int consumed = 0;
    const std::string inner = throughViews(root.input(side));
    if (const onnx::NodeProto *div = producerOf(inner, "Div")) {
      x = div->input(0);
      sqrt = producerOf(div->input(1), "Sqrt");
      consumed = 1;
    } else if (const onnx::NodeProto *mul = producerOf(inner, "Mul")) {
      for (int mside = 0; mside < 2 && !sqrt; ++mside) {
        if (const onnx::NodeProto *recip =
                producerOf(mul->input(mside), "Reciprocal"))
          sqrt = producerOf(recip->input(0), "Sqrt");
        else if (const onnx::NodeProto *one =
                     producerOf(mul->input(mside), "Div");
                 one && scalarOf(one->input(0)) == 1.0)
          sqrt = producerOf(one->input(1), "Sqrt");
        if (sqrt) {
          x = mul->input(1 - mside);
          consumed = 2;
        }
      }
    }
    if (!sqrt)
      continue;
    const onnx::NodeProto *addEps = producerOf(sqrt->input(0), "Add");
    const onnx::NodeProto *mean =
        addEps ? producerOf(addEps->input(0), "ReduceMean") : nullptr;
    std::optional<double> eps =
        addEps ? scalarOf(addEps->input(1)) : std::nullopt;
    const onnx::NodeProto *pow =
        mean ? producerOf(mean->input(0), "Pow") : nullptr;
    if (!pow || !eps || !(*eps >= 0.0) || pow->input(0) != x ||
        scalarOf(pow->input(1)) != 2.0)
      continue;
    if (values.at(x).shape.empty() || values.at(x).shape.back() != w.shape[0])
      continue;
    mlir::Value input = emit(x);
    mlir::Value weight = paramOf(root.input(1 - side), w.shape);
    if (!input || !weight)
      return nullptr;
    raised("rms_norm", 5 + consumed);
    return RMSNormOp::create(emitter->builder, emitter->loc, input.getType(),
                             input, weight,
                             emitter->builder.getF64FloatAttr(*eps),
                             emitter->builder.getF64FloatAttr(0.0));
  }
  return nullptr;
}

mlir::Value Importer::matchGelu(const onnx::NodeProto &root) {
  // Exact: Mul(Mul(x, 0.5), Add(Erf(Div(x, sqrt 2)), 1)) (also x * (0.5 *
  // (1 + erf)) and Mul(x, sqrt 1/2) inside the erf).
  // Tanh: Mul(Mul(0.5, x), Add(1, Tanh(Mul(c, Add(x, Mul(0.044715,
  // Pow(x, 3))))))).
  if (root.op_type() != "Mul")
    return nullptr;
  // The candidates (x, the Add of 1): Mul(Mul(x, 0.5), Add(..., 1)),
  // Mul(x, Mul(0.5, Add(..., 1))) and Mul(Mul(x, Add(..., 1)), 0.5), each
  // product in either order.
  std::vector<std::pair<std::string, const onnx::NodeProto *>> candidates;
  auto halfOf = [&](const onnx::NodeProto *mul) -> std::string {
    for (int h = 0; mul && h < 2; ++h)
      if (scalarOf(mul->input(h)) == 0.5)
        return mul->input(1 - h);
    return "";
  };
  for (int side = 0; side < 2; ++side) {
    if (const onnx::NodeProto *add = producerOf(root.input(side), "Add")) {
      std::string x = halfOf(producerOf(root.input(1 - side), "Mul"));
      if (!x.empty())
        candidates.push_back({x, add});
    }
    std::string inner = halfOf(producerOf(root.input(side), "Mul"));
    if (const onnx::NodeProto *add =
            inner.empty() ? nullptr : producerOf(inner, "Add"))
      candidates.push_back({root.input(1 - side), add});
    // (x * (1 + erf)) * 0.5, as the TorchScript exporter writes it.
    if (scalarOf(root.input(1 - side)) == 0.5)
      if (const onnx::NodeProto *mul = producerOf(root.input(side), "Mul"))
        for (int m = 0; m < 2; ++m)
          if (const onnx::NodeProto *add = producerOf(mul->input(m), "Add"))
            candidates.push_back({mul->input(1 - m), add});
  }
  for (const auto &[x, add] : candidates) {
    for (int a = 0; a < 2; ++a) {
      if (scalarOf(add->input(1 - a)) != 1.0)
        continue;
      if (const onnx::NodeProto *erf = producerOf(add->input(a), "Erf")) {
        const onnx::NodeProto *div = producerOf(erf->input(0), "Div");
        const onnx::NodeProto *mul = producerOf(erf->input(0), "Mul");
        bool ok = false;
        if (div && div->input(0) == x) {
          std::optional<double> s = scalarOf(div->input(1));
          ok = s && std::fabs(*s - std::sqrt(2.0)) < 1e-6;
        }
        if (mul)
          for (int m = 0; m < 2; ++m) {
            std::optional<double> s = scalarOf(mul->input(1 - m));
            ok = ok || (mul->input(m) == x && s &&
                        std::fabs(*s - std::sqrt(0.5)) < 1e-6);
          }
        if (!ok)
          continue;
        mlir::Value input = emit(x);
        if (!input)
          return nullptr;
        raised("gelu", 5);
        return emitter->gelu(input, GeluApproximation::None);
      }
      if (const onnx::NodeProto *tanh = producerOf(add->input(a), "Tanh")) {
        const onnx::NodeProto *scale = producerOf(tanh->input(0), "Mul");
        if (!scale)
          continue;
        for (int m = 0; m < 2; ++m) {
          std::optional<double> c = scalarOf(scale->input(1 - m));
          const onnx::NodeProto *inner = producerOf(scale->input(m), "Add");
          if (!c || std::fabs(*c - std::sqrt(2.0 / M_PI)) > 1e-6 || !inner)
            continue;
          bool ok = false;
          for (int i = 0; i < 2; ++i) {
            const onnx::NodeProto *cubic =
                producerOf(inner->input(1 - i), "Mul");
            if (inner->input(i) != x || !cubic)
              continue;
            for (int k = 0; k < 2; ++k) {
              std::optional<double> coefficient = scalarOf(cubic->input(1 - k));
              const onnx::NodeProto *pow = producerOf(cubic->input(k), "Pow");
              ok = ok || (coefficient &&
                          std::fabs(*coefficient - 0.044715) < 1e-7 && pow &&
                          pow->input(0) == x && scalarOf(pow->input(1)) == 3.0);
            }
          }
          if (!ok)
            continue;
          mlir::Value input = emit(x);
          if (!input)
            return nullptr;
          raised("gelu", 8);
          return emitter->gelu(input, GeluApproximation::Tanh);
        }
      }
    }
  }
  return nullptr;
}

std::optional<std::pair<std::string, int64_t>>
Importer::matchSplitHeads(const std::string &name, bool *keyLayout) {
  const onnx::NodeProto *transpose = producerOf(name, "Transpose");
  if (!transpose)
    return std::nullopt;
  std::vector<int64_t> perm = attrInts(*transpose, "perm");
  const bool query = perm == std::vector<int64_t>{0, 2, 1, 3};
  const bool key = perm == std::vector<int64_t>{0, 2, 3, 1};
  if (!query && !key)
    return std::nullopt;
  const onnx::NodeProto *reshape = producerOf(transpose->input(0), "Reshape");
  if (!reshape)
    return std::nullopt;
  const std::vector<int64_t> &from = values.at(reshape->input(0)).shape;
  const std::vector<int64_t> &to = values.at(reshape->output(0)).shape;
  if (from.size() != 3 || to.size() != 4 || from[0] != to[0] ||
      from[1] != to[1] || from[2] != to[2] * to[3])
    return std::nullopt;
  *keyLayout = key;
  return std::make_pair(reshape->input(0), to[2]);
}

std::optional<Importer::KeyTranspose>
Importer::matchKeyTranspose(const std::string &name) {
  bool key = false;
  // Transpose(0,2,3,1) of the keys reshaped to [b, s, h, d].
  if (auto split = matchSplitHeads(name, &key); split && key)
    return KeyTranspose{producerOf(name, "Transpose")->input(0), true, 0};
  // Transpose(0,1,3,2) of keys over heads.
  if (const onnx::NodeProto *t = producerOf(name, "Transpose"))
    if (attrInts(*t, "perm") == std::vector<int64_t>{0, 1, 3, 2} &&
        values.at(t->input(0)).shape.size() == 4)
      return KeyTranspose{t->input(0), false, 1};
  // Reshape(Transpose(Reshape(K, [b * h, s, d]), 0,2,1), [b, h, d, s]).
  if (const onnx::NodeProto *outer = producerOf(name, "Reshape"))
    if (const onnx::NodeProto *t = producerOf(outer->input(0), "Transpose"))
      if (attrInts(*t, "perm") == std::vector<int64_t>{0, 2, 1})
        if (const onnx::NodeProto *inner = producerOf(t->input(0), "Reshape")) {
          const std::vector<int64_t> &heads = values.at(inner->input(0)).shape;
          const std::vector<int64_t> &to = values.at(name).shape;
          if (heads.size() == 4 && to.size() == 4 && to[0] == heads[0] &&
              to[1] == heads[1] && to[2] == heads[3] && to[3] == heads[2])
            return KeyTranspose{inner->input(0), false, 3};
        }
  return std::nullopt;
}

mlir::Value Importer::emitSplitHeads(const onnx::NodeProto &reshape) {
  const std::vector<int64_t> &to = values.at(reshape.output(0)).shape;
  mlir::Value x = emit(reshape.input(0));
  if (!x)
    return nullptr;
  auto t = cast<RankedTensorType>(x.getType());
  if (t.getRank() != 3 || t.getShape().back() != to[2] * to[3]) {
    fail(llvm::formatv("{0}: {1}: expected to split [batch, seq, {2}] into "
                       "{3} heads",
                       path, describe(reshape), to[2] * to[3], to[2]));
    return nullptr;
  }
  raised("split_heads", 2);
  return SplitHeadsOp::create(
      emitter->builder, emitter->loc,
      f32Type(context, {t.getShape()[0], to[2], t.getShape()[1], to[3]}), x,
      emitter->builder.getI64IntegerAttr(to[2]));
}

const onnx::NodeProto *Importer::nodeOf(const std::string &name,
                                        llvm::StringRef opType) const {
  auto it = values.find(name);
  if (it == values.end() || it->second.producer < 0)
    return nullptr;
  const onnx::NodeProto &node = graph->node(it->second.producer);
  return node.op_type() == opType ? &node : nullptr;
}

mlir::Value Importer::matchRepeatKV(const onnx::NodeProto &root) {
  // Reshape(Expand(Unsqueeze(x [b, kvh, s, d], 2), [b, kvh, n, s, d]),
  // [b, kvh * n, s, d]): GQA's repeat_kv.
  const onnx::NodeProto *expand = producerOf(root.input(0), "Expand");
  const onnx::NodeProto *unsqueeze =
      expand ? producerOf(expand->input(0), "Unsqueeze") : nullptr;
  if (!unsqueeze)
    return nullptr;
  const std::vector<int64_t> &from = values.at(unsqueeze->input(0)).shape;
  const std::vector<int64_t> &mid = values.at(expand->output(0)).shape;
  const std::vector<int64_t> &to = values.at(root.output(0)).shape;
  if (from.size() != 4 || mid.size() != 5 || to.size() != 4 ||
      mid[1] != from[1] || mid[3] != from[2] || mid[4] != from[3] ||
      to[1] != from[1] * mid[2] || to[2] != from[2] || to[3] != from[3])
    return nullptr;
  mlir::Value x = emit(unsqueeze->input(0));
  if (!x)
    return nullptr;
  raised("repeat_kv", 3);
  if (mid[2] == 1)
    return x;
  return RepeatKVOp::create(emitter->builder, emitter->loc,
                            f32Type(context, to), x,
                            emitter->builder.getI64IntegerAttr(mid[2]));
}

mlir::Value Importer::matchRope(const onnx::NodeProto &root) {
  // Add(Mul(x, cos), Mul(rotate_half(x), sin)), x over heads, cos and sin
  // folded tables computed from positions 0..seq-1 and inv_freq, with
  // rotate_half(x) = Concat(Neg(x[..., d/2:]), x[..., :d/2]).
  for (int side = 0; side < 2; ++side) {
    const onnx::NodeProto *cosMul = producerOf(root.input(side), "Mul");
    const onnx::NodeProto *sinMul = producerOf(root.input(1 - side), "Mul");
    if (!cosMul || !sinMul)
      continue;
    for (int c = 0; c < 2; ++c)
      for (int sSide = 0; sSide < 2; ++sSide) {
        const std::string &x = cosMul->input(c);
        const std::string &cosName = cosMul->input(1 - c);
        const onnx::NodeProto *cat = producerOf(sinMul->input(sSide), "Concat");
        const std::string &sinName = sinMul->input(1 - sSide);
        // cos and sin are either folded tables (positions computed in the
        // graph) or computed from the position_ids input.
        if (!cat || cat->input_size() != 2 ||
            (!values.at(cosName).constant && !nodeOf(cosName, "Unsqueeze") &&
             !nodeOf(cosName, "Cos") && !nodeOf(cosName, "Cast")) ||
            (!values.at(sinName).constant && !nodeOf(sinName, "Unsqueeze") &&
             !nodeOf(sinName, "Sin") && !nodeOf(sinName, "Cast")))
          continue;
        const std::vector<int64_t> &shape = values.at(x).shape;
        if (shape.size() != 4)
          continue;
        const int64_t d = shape[3], half = d / 2;
        const onnx::NodeProto *neg = producerOf(cat->input(0), "Neg");
        const onnx::NodeProto *upper =
            neg ? producerOf(neg->input(0), "Slice") : nullptr;
        const onnx::NodeProto *lower = producerOf(cat->input(1), "Slice");
        if (!upper || !lower || upper->input(0) != x || lower->input(0) != x ||
            values.at(upper->output(0)).shape.back() != half ||
            values.at(lower->output(0)).shape.back() != half)
          continue;
        // Which halves: the slices' starts.
        auto start = [&](const onnx::NodeProto &slice) -> int64_t {
          const ValueInfo &starts = values.at(slice.input(1));
          return starts.constant ? starts.constant->ints().at(0) : -1;
        };
        if (start(*upper) != half || start(*lower) != 0)
          continue;
        // The table's source: Cos(Concat(f, f)), f = positions * inv_freq.
        // Through unsqueezes, casts and a scaling by 1 (transformers'
        // attention_scaling of the default RoPE).
        std::string at = cosName;
        for (;;) {
          if (const onnx::NodeProto *n = nodeOf(at, "Unsqueeze"))
            at = n->input(0);
          else if (const onnx::NodeProto *n = nodeOf(at, "Cast"))
            at = n->input(0);
          else if (const onnx::NodeProto *n = nodeOf(at, "Mul");
                   n && scalarOf(n->input(1)) == 1.0)
            at = n->input(0);
          else
            break;
        }
        const onnx::NodeProto *cosNode = nodeOf(at, "Cos");
        const onnx::NodeProto *twice =
            cosNode ? nodeOf(cosNode->input(0), "Concat") : nullptr;
        const std::string angles = twice && twice->input_size() == 2 &&
                                           twice->input(0) == twice->input(1)
                                       ? twice->input(0)
                                       : std::string();
        // The angles: positions * inv_freq (Mul), or transformers'
        // (inv_freq[:, None] @ positions[None, :]).transpose(1, 2).
        const onnx::NodeProto *freqs =
            angles.empty() ? nullptr : nodeOf(angles, "Mul");
        if (!freqs && !angles.empty())
          if (const onnx::NodeProto *t = nodeOf(angles, "Transpose");
              t && attrInts(*t, "perm") == std::vector<int64_t>{0, 2, 1})
            freqs = nodeOf(t->input(0), "MatMul");
        if (!freqs)
          return failure(llvm::formatv(
              "{0}: {1}: a rotary embedding whose cos table is not "
              "cos(concat(positions * inv_freq, positions * "
              "inv_freq)) is not raised",
              path, describe(root)));
        // One factor is 0..seq-1 (the positions), the other has d / 2
        // values (inv_freq); with seq == d / 2 the order decides.
        // The positions: a folded 0..seq-1, or the position_ids input
        // through casts and reshapes.
        auto isPositions = [&](std::string name) {
          for (;;) {
            auto role = inputs.find(name);
            if (role != inputs.end())
              return role->second == InputRole::Positions;
            const ValueInfo &v = values.at(name);
            if (v.constant) {
              if (v.constant->size() != options.batch * options.seqLen)
                return false;
              for (int64_t i = 0; i < v.constant->size(); ++i)
                if (v.constant->data[i] !=
                    static_cast<double>(i % options.seqLen))
                  return false;
              return true;
            }
            const onnx::NodeProto *n =
                v.producer >= 0 ? &graph->node(v.producer) : nullptr;
            if (!n ||
                !llvm::is_contained(
                    {llvm::StringRef("Cast"), llvm::StringRef("Unsqueeze"),
                     llvm::StringRef("Reshape"), llvm::StringRef("Expand"),
                     llvm::StringRef("Identity")},
                    llvm::StringRef(n->op_type())))
              return false;
            name = n->input(0);
          }
        };
        std::optional<Constant> invFreq;
        bool arange = false;
        for (int f = 0; f < 2 && !invFreq; ++f) {
          const ValueInfo &v = values.at(freqs->input(f));
          if (v.constant && v.constant->size() == half &&
              isPositions(freqs->input(1 - f))) {
            invFreq = v.constant;
            arange = true;
          }
        }
        if (!invFreq || !arange)
          return failure(llvm::formatv(
              "{0}: {1}: expected the rotary angles as the positions "
              "(position_ids, or 0..seq-1) times a constant inv_freq "
              "of {2} values",
              path, describe(root), half));
        std::optional<double> theta = ropeTheta(invFreq->data, d);
        if (!theta)
          return failure(llvm::formatv(
              "{0}: {1}: inv_freq is not θ^(-2i/{2}) for any θ (a "
              "scaled RoPE); only the default RoPE is raised from "
              "ONNX",
              path, describe(root), d));
        // x is Q or K split into heads; the rotation applies before the
        // split, at the positions argument.
        bool key = false;
        auto split = matchSplitHeads(x, &key);
        if (!split || key)
          return failure(llvm::formatv("{0}: {1}: expected the rotary "
                                       "embedding of a projection split into "
                                       "heads",
                                       path, describe(root)));
        mlir::Value source = emit(split->first);
        if (!source)
          return nullptr;
        mlir::Value rotated = emitter->rope(source, positions, split->second, d,
                                            *theta, RopeScalingAttr());
        raised("rope", 9);
        auto t = cast<RankedTensorType>(rotated.getType());
        return SplitHeadsOp::create(
            emitter->builder, emitter->loc,
            f32Type(context,
                    {t.getShape()[0], split->second, t.getShape()[1], d}),
            rotated, emitter->builder.getI64IntegerAttr(split->second));
      }
  }
  return nullptr;
}

mlir::Value Importer::matchMergeHeads(const onnx::NodeProto &root) {
  // Reshape(Transpose(o, 0,2,1,3), [b, s, h*d]).
  if (root.op_type() != "Reshape")
    return nullptr;
  const onnx::NodeProto *transpose = producerOf(root.input(0), "Transpose");
  if (!transpose ||
      attrInts(*transpose, "perm") != std::vector<int64_t>{0, 2, 1, 3})
    return nullptr;
  const std::vector<int64_t> &from = values.at(transpose->input(0)).shape;
  const std::vector<int64_t> &to = values.at(root.output(0)).shape;
  // To [b, s, h * d], or flattened to [b * s, h * d] (the IR keeps
  // [b, s, h * d]).
  if (from.size() != 4 || to.empty() || to.back() != from[1] * from[3] ||
      numElements(to) != numElements(from) ||
      (to.size() == 3 && (to[0] != from[0] || to[1] != from[2])))
    return nullptr;
  mlir::Value heads = emit(transpose->input(0));
  if (!heads)
    return nullptr;
  raised("merge_heads", 2);
  auto t = cast<RankedTensorType>(heads.getType());
  return MergeHeadsOp::create(
      emitter->builder, emitter->loc,
      f32Type(context, {t.getShape()[0], t.getShape()[2],
                        t.getShape()[1] * t.getShape()[3]}),
      heads);
}

mlir::Value Importer::emitBiased(const onnx::NodeProto &node,
                                 const std::string &name,
                                 const std::string &bias, int64_t offset) {
  if (bias.empty())
    return emit(name);
  auto it = values.find(throughViews(name));
  const onnx::NodeProto *root =
      it != values.end() && it->second.producer >= 0 && !it->second.constant
          ? &graph->node(it->second.producer)
          : nullptr;
  std::optional<LinearMatch> linear =
      root && root->op_type() != "Add" ? analyzeLinear(*root) : std::nullopt;
  const std::vector<int64_t> &biasShape = values.at(bias).shape;
  if (!linear || !linear->bias.empty() || !values.at(bias).initializer ||
      biasShape.size() != 1 ||
      (offset >= 0 ? biasShape[0] < offset + linear->out
                   : biasShape[0] != linear->out)) {
    fail(llvm::formatv("{0}: {1}: expected its bias input to add to a "
                       "linear layer's output",
                       path, describe(node)));
    return nullptr;
  }
  linear->bias = bias;
  if (offset >= 0)
    linear->biasOffset = offset;
  raised("linear", linear->nodes);
  return emitLinear(*linear);
}

std::optional<double> Importer::ropeFromCaches(const onnx::NodeProto &node,
                                               const std::string &cosName,
                                               const std::string &sinName,
                                               int64_t rotary) {
  auto table = [&](const std::string &name) -> const TensorInfo * {
    const ValueInfo &v = values.at(name);
    if (!v.initializer || v.shape.size() != 2 || v.shape[0] < 2 ||
        v.shape[1] * 2 != rotary)
      return nullptr;
    auto t = llvm::find_if(tensors, [&](const TensorInfo &info) {
      return info.name == paramName(name);
    });
    return t == tensors.end() ? nullptr : &*t;
  };
  const TensorInfo *cosTable = table(cosName), *sinTable = table(sinName);
  if (!cosTable || !sinTable || cosTable->shape != sinTable->shape) {
    fail(llvm::formatv("{0}: {1}: expected cos_cache and sin_cache as "
                       "initializers [rows >= 2, {2}] (the rotary dimensions "
                       "/ 2)",
                       path, describe(node), rotary / 2));
    return std::nullopt;
  }
  const std::vector<double> cosines = decode(*cosTable);
  const std::vector<double> sines = decode(*sinTable);
  const int64_t half = rotary / 2, rows = cosTable->shape[0];
  std::vector<double> invFreq(half);
  for (int64_t i = 0; i < half; ++i)
    invFreq[i] = std::atan2(sines[half + i], cosines[half + i]);
  std::optional<double> theta = ropeTheta(invFreq, rotary);
  for (int64_t p = 0; theta && p < rows; ++p)
    for (int64_t i = 0; i < half; ++i) {
      const double angle = static_cast<double>(p) * invFreq[i];
      if (std::abs(cosines[p * half + i] - std::cos(angle)) > 1e-4 ||
          std::abs(sines[p * half + i] - std::sin(angle)) > 1e-4)
        theta.reset();
    }
  if (!theta) {
    fail(llvm::formatv("{0}: {1}: the caches are not cos and sin of position "
                       "* θ^(-2i/{2}) for any θ (a scaled RoPE); only the "
                       "default RoPE is raised",
                       path, describe(node), rotary));
    return std::nullopt;
  }
  // The caches' rows are the positions the model has.
  if (!maxPositions || rows < maxPositions) {
    maxPositions = rows;
    positionLimit = "the rows of the cos and sin caches";
  }
  return theta;
}

mlir::Value Importer::emitContribAttention(const onnx::NodeProto &node,
                                           mlir::Value q, mlir::Value k,
                                           mlir::Value v, int64_t heads,
                                           int64_t kvHeads, MaskKind mask) {
  // The op's `scale`, where given and not 0 (its default: 1 / sqrt(d)).
  std::optional<double> scale;
  if (std::optional<double> given = attrFloat(node, "scale");
      given && *given != 0.0)
    scale = *given;
  raised("attention", 1);
  mlir::Value result = emitter->attention(q, k, v, heads, kvHeads, scale, mask);
  if (!result)
    return failure(llvm::toString(emitter->takeError()));
  return result;
}

mlir::Value Importer::emitContrib(const onnx::NodeProto &node,
                                  const std::string &output) {
  const std::string &op = node.op_type();
  auto input = [&](int i) -> std::string {
    return i < node.input_size() ? node.input(i) : std::string();
  };
  if (op == "BiasGelu" || op == "FastGelu") {
    if (output != node.output(0))
      return nullptr;
    mlir::Value x = emitBiased(node, input(0), input(1));
    if (!x)
      return nullptr;
    raised("gelu", 1);
    return emitter->gelu(x, op == "FastGelu" ? GeluApproximation::Tanh
                                             : GeluApproximation::None);
  }
  if (op == "Attention") {
    // Attention(input, weights [in, 3H], bias [3H]?, mask_index?): Q, K and V
    // as linear layers over blocks of the weight's columns (read in place),
    // then llm.attention, causal with unidirectional=1. Past state,
    // attention_bias and unequal qkv_hidden_sizes are not supported.
    if (output != node.output(0))
      return failure(llvm::formatv("{0}: {1}: its present-state output is "
                                   "not supported",
                                   path, describe(node)));
    const ValueInfo &w = values.at(input(1));
    const int64_t hidden = w.shape[1] / 3;
    const int64_t heads = attrInt(node, "num_heads").value_or(0);
    if (!w.initializer || heads <= 0 || hidden % heads != 0)
      return failure(llvm::formatv(
          "{0}: {1}: expected the weights as an initializer and num_heads "
          "dividing {2}, found {3}",
          path, describe(node), hidden, heads));
    for (int i = 4; i < node.input_size(); ++i)
      if (!node.input(i).empty())
        return failure(llvm::formatv("{0}: {1}: input {2} (past state or "
                                     "attention bias) is not supported",
                                     path, describe(node), i));
    if (!attrInts(node, "qkv_hidden_sizes").empty())
      return failure(llvm::formatv("{0}: {1}: attribute 'qkv_hidden_sizes' is "
                                   "not supported",
                                   path, describe(node)));
    // A mask index is supported when it masks nothing (the attention_mask
    // input, bound to ones).
    if (!input(3).empty()) {
      const ValueInfo &mask = values.at(input(3));
      if (!mask.constant ||
          llvm::any_of(mask.constant->data, [](double v) { return v != 1.0; }))
        return failure(llvm::formatv(
            "{0}: {1}: expected mask_index to mask nothing (ones), found {2}",
            path, describe(node),
            mask.constant ? "a mask with zeros" : "a computed mask"));
    }
    const ValueInfo *bias = input(2).empty() ? nullptr : &values.at(input(2));
    if (bias &&
        (!bias->initializer || bias->shape != std::vector<int64_t>{3 * hidden}))
      return failure(llvm::formatv("{0}: {1}: expected the bias as an "
                                   "initializer of {2} values",
                                   path, describe(node), 3 * hidden));
    LinearMatch linear;
    linear.x = input(0);
    linear.weight = input(1);
    linear.bias = bias ? input(2) : std::string();
    linear.out = 3 * hidden;
    linear.in = w.shape[0];
    mlir::Value q = emitLinear(linear, 0, hidden);
    mlir::Value k = emitLinear(linear, hidden, hidden);
    mlir::Value v = emitLinear(linear, 2 * hidden, hidden);
    if (!q || !k || !v)
      return nullptr;
    return emitContribAttention(node, q, k, v, heads, heads,
                                attrInt(node, "unidirectional").value_or(0)
                                    ? MaskKind::Causal
                                    : MaskKind::Bidirectional);
  }
  if (op == "RotaryEmbedding") {
    // RotaryEmbedding(input [b, s, heads * d], position_ids, cos_cache,
    // sin_cache [positions, rotary / 2]): llm.rope at the positions
    // argument, NeoX pairs or (interleaved=1) GPT-J pairs, θ read back from
    // the caches' row 1 (atan2(sin, cos) = inv_freq) and checked against
    // every frequency and every row.
    const std::vector<int64_t> &x = values.at(input(0)).shape;
    const int64_t heads = attrInt(node, "num_heads").value_or(0);
    if (x.size() != 3 || heads <= 0 || x[2] % heads != 0)
      return failure(llvm::formatv(
          "{0}: {1}: expected an input [batch, seq, heads * head dim] and "
          "num_heads dividing its {2} features, found {3} and num_heads {4}",
          path, describe(node), x.empty() ? 0 : x.back(), fmtShape(x), heads));
    const int64_t headDim = x[2] / heads;
    const int64_t rotary = attrInt(node, "rotary_embedding_dim").value_or(0) > 0
                               ? *attrInt(node, "rotary_embedding_dim")
                               : headDim;
    if (attrInt(node, "is_packed_batching").value_or(0) != 0 ||
        attrFloat(node, "scale").value_or(1.0f) != 1.0f)
      return failure(llvm::formatv("{0}: {1}: packed batching and a scale "
                                   "are not supported",
                                   path, describe(node)));
    std::optional<double> theta =
        ropeFromCaches(node, input(2), input(3), rotary);
    if (!theta)
      return nullptr;
    auto role = inputs.find(throughViews(input(1)));
    if (!(role != inputs.end() && role->second == InputRole::Positions) &&
        !isArangeOverSequence(input(1)))
      return failure(llvm::formatv("{0}: {1}: expected the position_ids "
                                   "input or 0..seq-1 as positions",
                                   path, describe(node)));
    mlir::Value source = emit(input(0));
    if (!source)
      return nullptr;
    raised("rope", 1);
    OpBuilder &b = emitter->builder;
    return RoPEOp::create(
        b, emitter->loc, source.getType(), source, positions,
        b.getI64IntegerAttr(heads),
        rotary == headDim ? IntegerAttr() : b.getI64IntegerAttr(rotary),
        b.getF64FloatAttr(*theta),
        RopePairingAttr::get(&context, attrInt(node, "interleaved").value_or(0)
                                           ? RopePairing::GPTJ
                                           : RopePairing::NeoX),
        RopeScalingAttr());
  }
  if (op == "GroupQueryAttention") {
    // GroupQueryAttention(query, key?, value?, past_key, past_value,
    // seqlens_k, total_sequence_length, cos_cache?, sin_cache?, ...), as
    // ONNX Runtime GenAI's model builder writes it: with an empty past
    // (LLMC keeps its own cache) and unpadded sequences, Q, K and V (three
    // row blocks of the packed projection), RoPE on Q and K with
    // do_rotary, then causal llm.attention over kv_num_heads.
    if (output != node.output(0))
      return failure(llvm::formatv("{0}: {1}: its present outputs are not "
                                   "supported (LLMC keeps its own KV cache)",
                                   path, describe(node)));
    const int64_t heads = attrInt(node, "num_heads").value_or(0);
    const int64_t kvHeads = attrInt(node, "kv_num_heads").value_or(0);
    const bool packed = input(1).empty();
    const int64_t hidden = values.at(input(0)).shape.back();
    const int64_t d = hidden / (packed ? heads + 2 * kvHeads : heads);
    for (int i : {3, 4})
      if (!input(i).empty() && numElements(values.at(input(i)).shape) != 0)
        return failure(llvm::formatv(
            "{0}: {1}: input {2}: expected an empty past (a past_key_values "
            "input), found {3}",
            path, describe(node), i, fmtShape(values.at(input(i)).shape)));
    // seqlens_k = total - 1 per sequence and total_sequence_length: the
    // unpadded prompt's.
    auto constantIs = [&](int i, int64_t expected) {
      const std::optional<Constant> &c = values.at(input(i)).constant;
      return c && llvm::all_of(c->data, [&](double v) {
               return v == static_cast<double>(expected);
             });
    };
    if (input(5).empty() || input(6).empty() ||
        !constantIs(5, options.seqLen - 1) || !constantIs(6, options.seqLen))
      return failure(llvm::formatv(
          "{0}: {1}: expected seqlens_k = {2} and total_sequence_length = "
          "{3} folded from an attention mask of ones (unpadded sequences of "
          "{3} tokens and no past)",
          path, describe(node), options.seqLen - 1, options.seqLen));
    if (attrInt(node, "local_window_size").value_or(-1) > 0 ||
        attrFloat(node, "softcap").value_or(0.0f) != 0.0f ||
        attrInt(node, "smooth_softmax").value_or(0) != 0 || !input(10).empty())
      return failure(llvm::formatv("{0}: {1}: a local window, softcap, "
                                   "smooth softmax and an attention bias are "
                                   "not supported",
                                   path, describe(node)));
    mlir::Value q, k, v;
    if (packed) {
      auto it = values.find(throughViews(input(0)));
      std::optional<LinearMatch> linear;
      if (it != values.end() && it->second.producer >= 0 &&
          !it->second.constant)
        linear = analyzeLinear(graph->node(it->second.producer));
      if (!linear)
        return failure(llvm::formatv("{0}: {1}: expected the packed query "
                                     "from a linear layer",
                                     path, describe(node)));
      raised("linear", linear->nodes);
      q = emitLinear(*linear, 0, heads * d);
      k = emitLinear(*linear, heads * d, kvHeads * d);
      v = emitLinear(*linear, (heads + kvHeads) * d, kvHeads * d);
    } else {
      q = emit(input(0));
      k = emit(input(1));
      v = emit(input(2));
    }
    if (!q || !k || !v)
      return nullptr;
    if (attrInt(node, "do_rotary").value_or(0)) {
      if (!input(9).empty()) {
        auto role = inputs.find(throughViews(input(9)));
        if (!(role != inputs.end() && role->second == InputRole::Positions) &&
            !isArangeOverSequence(input(9)))
          return failure(llvm::formatv("{0}: {1}: expected the position_ids "
                                       "input or 0..seq-1 as positions",
                                       path, describe(node)));
      }
      std::optional<double> theta = ropeFromCaches(node, input(7), input(8), d);
      if (!theta)
        return nullptr;
      OpBuilder &b = emitter->builder;
      auto pairing = RopePairingAttr::get(
          &context, attrInt(node, "rotary_interleaved").value_or(0)
                        ? RopePairing::GPTJ
                        : RopePairing::NeoX);
      auto rope = [&](mlir::Value x, int64_t n) -> mlir::Value {
        return RoPEOp::create(b, emitter->loc, x.getType(), x, positions,
                              b.getI64IntegerAttr(n), IntegerAttr(),
                              b.getF64FloatAttr(*theta), pairing,
                              RopeScalingAttr());
      };
      q = rope(q, heads);
      k = rope(k, kvHeads);
    }
    return emitContribAttention(node, q, k, v, heads, kvHeads,
                                MaskKind::Causal);
  }
  if (op == "MultiHeadAttention") {
    // MultiHeadAttention(query, key, value, bias?, key_padding_mask?, ...):
    // the projections' outputs, with the fused bias [Hq + Hk + Hv] joining
    // them, then llm.attention (causal with unidirectional=1; query and
    // key lengths may differ: cross-attention). Attention bias, past state
    // and a mask that masks something are not supported.
    if (output != node.output(0))
      return failure(llvm::formatv("{0}: {1}: its present-state outputs are "
                                   "not supported",
                                   path, describe(node)));
    const int64_t heads = attrInt(node, "num_heads").value_or(0);
    const int64_t hq = values.at(input(0)).shape.back();
    const int64_t hv = values.at(input(2)).shape.back();
    if (heads <= 0 || hq % heads != 0 || hv % heads != 0)
      return failure(llvm::formatv(
          "{0}: {1}: attribute 'num_heads': expected a divisor of the hidden "
          "sizes {2} and {3}, found {4}",
          path, describe(node), hq, hv, heads));
    for (int i = 5; i < node.input_size(); ++i)
      if (!node.input(i).empty())
        return failure(llvm::formatv("{0}: {1}: input {2} (attention bias or "
                                     "past state) is not supported",
                                     path, describe(node), i));
    if (!input(4).empty()) {
      const ValueInfo &mask = values.at(input(4));
      if (!mask.constant ||
          llvm::any_of(mask.constant->data, [](double v) { return v != 1.0; }))
        return failure(llvm::formatv(
            "{0}: {1}: expected key_padding_mask to mask nothing (ones), "
            "found {2}",
            path, describe(node),
            mask.constant ? "a mask with zeros" : "a computed mask"));
    }
    const std::string bias = input(3);
    if (!bias.empty() &&
        values.at(bias).shape != std::vector<int64_t>{hq + hq + hv})
      return failure(llvm::formatv(
          "{0}: {1}: expected the bias [{2}] (query, key and value's), "
          "found {3}",
          path, describe(node), hq + hq + hv, fmtShape(values.at(bias).shape)));
    mlir::Value q = emitBiased(node, input(0), bias, 0);
    mlir::Value k = q ? emitBiased(node, input(1), bias, hq) : nullptr;
    mlir::Value v = k ? emitBiased(node, input(2), bias, 2 * hq) : nullptr;
    if (!q || !k || !v)
      return nullptr;
    return emitContribAttention(node, q, k, v, heads, heads,
                                attrInt(node, "unidirectional").value_or(0)
                                    ? MaskKind::Causal
                                    : MaskKind::Bidirectional);
  }
  // SkipLayerNormalization(input, skip, gamma, beta?, bias?): output 0 the
  // norm of input + skip + bias, output 3 that sum (the residual).
  const bool simplified = op == "SkipSimplifiedLayerNormalization";
  const int biasIndex = simplified ? 3 : 4;
  mlir::Value sum;
  {
    mlir::Value x = emitBiased(node, input(0), input(biasIndex));
    mlir::Value skip = emit(input(1));
    if (!x || !skip)
      return nullptr;
    if (x.getType() != skip.getType()) {
      fail(llvm::formatv("{0}: {1}: expected the input and the skip of one "
                         "shape",
                         path, describe(node)));
      return nullptr;
    }
    sum = arith::AddFOp::create(emitter->builder, emitter->loc, x, skip);
  }
  if (node.output_size() > 3 && output == node.output(3))
    return sum;
  if (output != node.output(0)) {
    fail(llvm::formatv("{0}: {1}: its mean and inverse deviation outputs are "
                       "not supported",
                       path, describe(node)));
    return nullptr;
  }
  // The sum is output 3's value too: emit it once.
  if (node.output_size() > 3 && !node.output(3).empty())
    values.at(node.output(3)).ir = sum;
  const ValueInfo &gamma = values.at(input(2));
  if (!gamma.initializer) {
    fail(llvm::formatv("{0}: {1}: expected gamma as an initializer", path,
                       describe(node)));
    return nullptr;
  }
  mlir::Value weight = paramOf(input(2), gamma.shape);
  const double eps = attrFloat(node, "epsilon").value_or(1e-12f);
  if (!(eps >= 0.0))
    return failure(llvm::formatv("{0}: {1}: attribute 'epsilon': expected a "
                                 "value >= 0, found {2}",
                                 path, describe(node), eps));
  if (!weight)
    return nullptr;
  raised(simplified ? "rms_norm" : "layer_norm", 1);
  if (simplified)
    return RMSNormOp::create(emitter->builder, emitter->loc, sum.getType(), sum,
                             weight, emitter->builder.getF64FloatAttr(eps),
                             emitter->builder.getF64FloatAttr(0.0));
  mlir::Value beta = input(3).empty()
                         ? mlir::Value()
                         : paramOf(input(3), values.at(input(3)).shape);
  if (error)
    return nullptr;
  return LayerNormOp::create(emitter->builder, emitter->loc, sum.getType(), sum,
                             weight, beta,
                             emitter->builder.getF64FloatAttr(eps));
}

std::optional<int64_t> Importer::configuredMaxDistance() {
  if (maxDistanceHint)
    return *maxDistanceHint;
  maxDistanceHint.emplace();
  const std::string config = folder + "/config.json";
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> text =
      llvm::MemoryBuffer::getFile(config);
  if (!text)
    return std::nullopt;
  llvm::Expected<llvm::json::Value> json =
      parseJsonBounded((*text)->getBuffer(), config);
  if (!json) {
    llvm::consumeError(json.takeError());
    return std::nullopt;
  }
  const llvm::json::Object *object = json->getAsObject();
  const llvm::json::Value *field =
      object ? object->get("relative_attention_max_distance") : nullptr;
  std::optional<uint64_t> value = field ? field->getAsUINT64() : std::nullopt;
  if (value && *value <= static_cast<uint64_t>(kMaxRelativeDistance))
    *maxDistanceHint = static_cast<int64_t>(*value);
  return *maxDistanceHint;
}

const ValueInfo *Importer::probeValue(const std::string &name) {
  if (!probed) {
    probed = true;
    ONNXImportOptions wider = options;
    wider.seqLen = std::max(wider.seqLen, kProbeLength);
    wider.decoderSeqLen = std::max(wider.decoderSeqLen, kProbeLength);
    auto folded =
        fromBuffer ? std::make_unique<Importer>(context, contents, path, wider)
                   : std::make_unique<Importer>(context, path, wider);
    bool ok = true;
    for (auto step : {&Importer::parse, &Importer::readInitializers,
                      &Importer::bindInputs, &Importer::inferAndFold})
      if (ok)
        if (llvm::Error err = ((*folded).*step)()) {
          llvm::consumeError(std::move(err));
          ok = false;
        }
    if (ok)
      probe = std::move(folded);
  }
  if (!probe)
    return nullptr;
  auto it = probe->values.find(name);
  return it == probe->values.end() ? nullptr : &it->second;
}

mlir::Value Importer::matchRelativeBias(const std::string &name) {
  // Through slices that keep every element (transformers 4's
  // position_bias[:, :, -seq_length:, :] without a past).
  std::string at = name;
  int64_t slices = 0;
  while (const onnx::NodeProto *slice = producerOf(at, "Slice")) {
    const std::optional<Constant> *steps =
        slice->input_size() > 4 && !slice->input(4).empty()
            ? &values.at(slice->input(4)).constant
            : nullptr;
    if (values.at(slice->input(0)).shape != values.at(at).shape ||
        (steps && (!*steps || llvm::any_of((*steps)->data,
                                           [](double v) { return v != 1.0; }))))
      break;
    at = slice->input(0);
    ++slices;
  }
  const onnx::NodeProto *unsqueeze = producerOf(at, "Unsqueeze");
  if (!unsqueeze)
    return nullptr;
  std::vector<int64_t> axes = attrInts(*unsqueeze, "axes");
  if (unsqueeze->input_size() > 1) {
    const std::optional<Constant> &given =
        values.at(unsqueeze->input(1)).constant;
    axes = given ? given->ints() : std::vector<int64_t>{};
  }
  const onnx::NodeProto *transpose =
      axes == std::vector<int64_t>{0}
          ? producerOf(unsqueeze->input(0), "Transpose")
          : nullptr;
  if (!transpose ||
      attrInts(*transpose, "perm") != std::vector<int64_t>{2, 0, 1})
    return nullptr;
  const onnx::NodeProto *gather = producerOf(transpose->input(0), "Gather");
  if (!gather || attrInt(*gather, "axis").value_or(0) != 0)
    return nullptr;
  const ValueInfo &table = values.at(gather->input(0));
  const ValueInfo &index = values.at(gather->input(1));
  if (!table.initializer || table.shape.size() != 2 || !index.constant ||
      index.shape.size() != 2 || index.shape[0] != index.shape[1])
    return nullptr;
  const int64_t buckets = table.shape[0], heads = table.shape[1];
  const int64_t q = index.shape[0];
  const std::string key = paramName(gather->input(0)) + "|" + std::to_string(q);
  if (mlir::Value cached = relativeBiases[key])
    return cached;
  // The folded buckets are T5's of key - query for one direction setting
  // and maximum distance: read them back. Tried first: config.json's
  // maximum distance beside the file (an export's copy of the model's),
  // then T5's default (128), then the smallest.
  std::optional<int64_t> configured = configuredMaxDistance();
  std::vector<int64_t> preferred = {128};
  if (configured)
    preferred.insert(preferred.begin(), *configured);
  bool ambiguous = false;
  std::optional<std::pair<int64_t, bool>> bucketing = findBucketing(
      index.constant->ints(), q, buckets, preferred, configured, ambiguous);
  // Short sequences say little: at one token both directions give bucket
  // 0, and over few tokens many maximum distances give the same buckets,
  // while a KV cache later looks up longer distances. Then the graph is
  // folded again at kProbeLength tokens, and its buckets decide.
  if (bucketing && ambiguous)
    if (const ValueInfo *wider = probeValue(gather->input(1));
        wider && wider->constant && wider->shape.size() == 2 &&
        wider->shape[0] == wider->shape[1] && wider->shape[0] > q) {
      bool stillAmbiguous = false;
      if (std::optional<std::pair<int64_t, bool>> probed =
              findBucketing(wider->constant->ints(), wider->shape[0], buckets,
                            preferred, configured, stillAmbiguous))
        bucketing = probed;
    }
  if (!bucketing)
    return failure(llvm::formatv(
        "{0}: {1}: the relative position buckets of '{2}' ([{3}, {3}]) are "
        "not T5's for {4} buckets in either direction and any maximum "
        "distance",
        path, describe(*gather), gather->input(0), q, buckets));
  mlir::Value weight = paramOf(gather->input(0), table.shape);
  if (!weight)
    return nullptr;
  raised("relative_position_bias", 3 + slices);
  OpBuilder &b = emitter->builder;
  return relativeBiases[key] = RelativePositionBiasOp::create(
             b, emitter->loc, f32Type(context, {heads, q, q}), weight,
             b.getI64IntegerAttr(buckets),
             b.getI64IntegerAttr(bucketing->first),
             bucketing->second ? b.getUnitAttr() : UnitAttr());
}

mlir::Value Importer::emitNode(int index, const std::string &output) {
  const onnx::NodeProto &node = graph->node(index);
  const std::string &op = node.op_type();
  const std::vector<int64_t> &shape = values.at(output).shape;
  OpBuilder &b = emitter->builder;
  Location loc = emitter->loc;
  auto unsupported = [&](const llvm::Twine &why) -> mlir::Value {
    fail(llvm::formatv("{0}: {1}: {2}", path, describe(node), why));
    return nullptr;
  };
  if (node.domain() == "com.microsoft")
    return emitContrib(node, output);
  if (output != node.output(0) && op != "Split")
    return unsupported("only its first output is supported");

  // Patterns rooted here, largest first.
  if (op == "Add" || op == "MatMul" || op == "Gemm") {
    if (op == "Add") {
      if (mlir::Value v = matchLayerNorm(node))
        return v;
      if (mlir::Value v = matchRope(node))
        return v;
      if (error)
        return nullptr;
    }
    if (std::optional<LinearMatch> linear = analyzeLinear(node)) {
      raised("linear", linear->nodes);
      return emitLinear(*linear);
    }
  }
  if (op == "Mul") {
    if (mlir::Value v = matchGelu(node))
      return v;
    if (mlir::Value v = matchRmsNorm(node))
      return v;
  }
  if (op == "Reshape") {
    if (mlir::Value v = matchMergeHeads(node))
      return v;
    if (mlir::Value v = matchRepeatKV(node))
      return v;
  }
  if (op == "Transpose" &&
      attrInts(node, "perm") == std::vector<int64_t>{0, 2, 1, 3}) {
    bool key = false;
    if (auto split = matchSplitHeads(output, &key); split && !key)
      return emitSplitHeads(*producerOf(node.input(0), "Reshape"));
  }
  if (error)
    return nullptr;

  // Single nodes.
  if (isView(node)) {
    raised("view", 1);
    return emit(node.input(0));
  }
  if (op == "Split") {
    // The fused projection's parts (GPT-2's c_attn): each a linear layer
    // over a block of the weight's rows, read in place.
    const std::vector<int64_t> &whole = values.at(node.input(0)).shape;
    const int64_t axis = normalizeAxis(attrInt(node, "axis").value_or(0),
                                       static_cast<int64_t>(whole.size()));
    const onnx::NodeProto *root = nullptr;
    auto it = values.find(throughViews(node.input(0)));
    if (it != values.end() && it->second.producer >= 0 && !it->second.constant)
      root = &graph->node(it->second.producer);
    std::optional<LinearMatch> linear =
        root ? analyzeLinear(*root) : std::nullopt;
    if (!linear || axis != static_cast<int64_t>(whole.size()) - 1)
      return unsupported("a split is raised only over the output features "
                         "of a linear layer");
    int64_t start = 0;
    for (int o = 0; o < node.output_size(); ++o) {
      const int64_t size = values.at(node.output(o)).shape.back();
      if (node.output(o) == output) {
        raised("linear", o == 0 ? linear->nodes + 1 : 0);
        return emitLinear(*linear, start, size);
      }
      start += size;
    }
    return nullptr;
  }
  if (op == "LayerNormalization" || op == "RMSNormalization" ||
      op == "SimplifiedLayerNormalization") {
    // RMSNormalization (opset 23), and ONNX Runtime's
    // SimplifiedLayerNormalization: x / sqrt(mean(x^2) + eps) * scale.
    const bool rms = op != "LayerNormalization";
    const int64_t rank = static_cast<int64_t>(shape.size());
    if (normalizeAxis(attrInt(node, "axis").value_or(-1), rank) != rank - 1)
      return unsupported("expected normalization over the last axis only");
    const ValueInfo &w = values.at(node.input(1));
    if (!w.initializer ||
        (!rms && node.input_size() > 2 && !node.input(2).empty() &&
         !values.at(node.input(2)).initializer))
      return unsupported("expected the scale and bias as initializers");
    const float eps = attrFloat(node, "epsilon").value_or(1e-5f);
    if (!(eps >= 0.0f))
      return unsupported(llvm::formatv(
          "attribute 'epsilon': expected a value >= 0, found {0}", eps));
    mlir::Value x = emit(node.input(0));
    mlir::Value weight = paramOf(node.input(1), w.shape);
    mlir::Value bias =
        node.input_size() > 2 && !node.input(2).empty()
            ? paramOf(node.input(2), values.at(node.input(2)).shape)
            : mlir::Value();
    if (!x || !weight || error)
      return nullptr;
    raised(rms ? "rms_norm" : "layer_norm", 1);
    if (rms)
      return RMSNormOp::create(b, loc, x.getType(), x, weight,
                               b.getF64FloatAttr(eps), b.getF64FloatAttr(0.0));
    return LayerNormOp::create(b, loc, x.getType(), x, weight, bias,
                               b.getF64FloatAttr(eps));
  }
  if (op == "Gelu") {
    mlir::Value x = emit(node.input(0));
    if (!x)
      return nullptr;
    std::string approximate = "none";
    for (const onnx::AttributeProto &a : node.attribute())
      if (a.name() == "approximate")
        approximate = a.s();
    raised("gelu", 1);
    return emitter->gelu(x, approximate == "tanh" ? GeluApproximation::Tanh
                                                  : GeluApproximation::None);
  }
  if (op == "Softmax") {
    const int64_t rank = static_cast<int64_t>(shape.size());
    const int64_t axis =
        normalizeAxis(attrInt(node, "axis").value_or(-1), rank);
    if (axis != rank - 1)
      return unsupported(llvm::formatv("expected the last axis ({0}), found "
                                       "{1}",
                                       rank - 1, axis));
    mlir::Value x = emit(node.input(0));
    if (!x)
      return nullptr;
    raised("softmax", 1);
    return SoftmaxOp::create(b, loc, x.getType(), x, b.getI64IntegerAttr(axis));
  }
  if (op == "Concat") {
    // The empty past joined to the new keys or values (an export with past
    // key values): the one operand that has elements.
    std::vector<std::string> filled;
    for (const std::string &in : node.input())
      if (numElements(values.at(in).shape) > 0)
        filled.push_back(in);
    if (filled.size() == 1) {
      raised("empty_past", 1);
      return emit(filled[0]);
    }
    return unsupported("a concatenation is raised only where all but one "
                       "operand are empty (a past of no tokens)");
  }
  if (op == "Relu") {
    mlir::Value x = emit(node.input(0));
    if (!x)
      return nullptr;
    raised("relu", 1);
    return emitter->relu(x);
  }
  if (op == "Sigmoid")
    return unsupported("sigmoid is raised only as silu, x * sigmoid(x)");
  if (op == "Gather") {
    const ValueInfo &table = values.at(node.input(0));
    if (!table.initializer || table.shape.size() != 2 ||
        attrInt(node, "axis").value_or(0) != 0)
      return unsupported("expected an embedding: rows of a 2-D initializer");
    mlir::Value ids;
    // The rows gathered: a sequence of the encoder's (or decoder-only
    // model's) length, or of the decoder's.
    int64_t length = options.seqLen;
    auto role = inputs.find(throughViews(node.input(1)));
    if (role != inputs.end() && role->second == InputRole::Tokens)
      ids = tokens;
    else if (role != inputs.end() && role->second == InputRole::DecoderTokens) {
      ids = decoderTokens;
      length = options.decoderSeqLen;
    } else if ((role != inputs.end() && role->second == InputRole::Positions) ||
               isArangeOverSequence(node.input(1)))
      ids = positions;
    else if (const std::optional<Constant> &fixed =
                 values.at(node.input(1)).constant;
             fixed &&
             numElements(fixed->shape) == options.batch * options.seqLen) {
      // Ids the graph fixes (BERT's token types without an input: zeros).
      std::vector<int64_t> data;
      for (int64_t id : fixed->ints()) {
        if (id < 0 || id >= table.shape[0])
          return unsupported(
              llvm::formatv("index {0} is outside the {1} rows of '{2}'", id,
                            table.shape[0], node.input(0)));
        data.push_back(id);
      }
      auto type = RankedTensorType::get({options.batch, options.seqLen},
                                        b.getI64Type());
      ids = arith::ConstantOp::create(
          b, loc, DenseElementsAttr::get(type, llvm::ArrayRef<int64_t>(data)));
    } else
      return unsupported("expected the token ids, the positions or constant "
                         "ids as indices");
    const std::vector<int64_t> &indexShape = values.at(node.input(1)).shape;
    if (numElements(indexShape) != options.batch * length &&
        indexShape != std::vector<int64_t>{1, length})
      return unsupported(llvm::formatv(
          "expected indices of shape [batch, sequence], found {0}",
          fmtShape(indexShape)));
    mlir::Value weight =
        paramOf(node.input(0), table.shape, false, /*keepDtype=*/true);
    if (!weight)
      return nullptr;
    if (ids == tokens || ids == decoderTokens) {
      vocab = table.shape[0];
      hidden = table.shape[1];
    }
    // Learned positions: the table's rows are the positions the model has.
    if (ids == positions)
      if (!maxPositions || table.shape[0] < maxPositions) {
        maxPositions = table.shape[0];
        positionLimit = "its position embedding's rows";
      }
    raised("embedding", 1);
    return EmbeddingOp::create(
        b, loc, f32Type(context, {options.batch, length, table.shape[1]}),
        weight, ids);
  }
  if (op == "Transpose" || op == "Reshape") {
    // The split into heads, consumed by the MatMul of the scores or of the
    // values; alone it is an error.
    return unsupported("a reshape or transpose is raised only as the split "
                       "or merge of attention heads");
  }
  if (op == "MatMul") {
    // Attention's products over heads: scores = Q K^T and out = P V, Q, K
    // and V split into heads. A scalar factor on either operand (exporters
    // scale Q and K by d^-1/4 each) moves onto the product.
    double factor = 1.0;
    int consumed = 1;
    auto stripScale = [&](std::string name) {
      if (const onnx::NodeProto *mul = producerOf(name, "Mul"))
        for (int side = 0; side < 2; ++side)
          if (std::optional<double> c = scalarOf(mul->input(1 - side))) {
            factor *= *c;
            ++consumed;
            return mul->input(side);
          }
      return name;
    };
    const std::string lhsName = stripScale(node.input(0));
    const std::string rhsName = stripScale(node.input(1));
    if (values.at(lhsName).shape.size() != 4 ||
        values.at(rhsName).shape.size() != 4)
      return unsupported("expected attention's products over heads (Q K^T "
                         "or P V, split into heads) or a linear layer (an "
                         "initializer weight)");
    mlir::Value lhs = emit(lhsName), rhs;
    bool transposeRhs = false;
    if (std::optional<KeyTranspose> kt = matchKeyTranspose(rhsName)) {
      rhs = kt->fromReshape ? emitSplitHeads(*producerOf(kt->name, "Reshape"))
                            : emit(kt->name);
      transposeRhs = true;
      consumed += kt->nodes;
    } else {
      rhs = emit(rhsName);
    }
    if (!lhs || !rhs)
      return nullptr;
    auto lt = cast<RankedTensorType>(lhs.getType());
    auto rt = cast<RankedTensorType>(rhs.getType());
    if (lt.getRank() != 4)
      return unsupported("expected the left operand over heads (rank 4)");
    llvm::SmallVector<int64_t> product(lt.getShape());
    product.back() = transposeRhs ? rt.getShape()[2] : rt.getShape()[3];
    raised("attention_matmul", consumed);
    mlir::Value result =
        MatmulOp::create(b, loc, f32Type(context, product), lhs, rhs,
                         transposeRhs ? b.getUnitAttr() : UnitAttr());
    if (factor != 1.0)
      result = emitter->scale(result, static_cast<float>(factor));
    return result;
  }
  if (op == "Where") {
    // Where(IsNaN(p), c, p): the guard of fully masked rows, which the
    // additive masks here never make (each row sees its own position).
    if (const onnx::NodeProto *isNaN = producerOf(node.input(0), "IsNaN"))
      if (isNaN->input(0) == node.input(2) && scalarOf(node.input(1))) {
        raised("nan_guard", 2);
        return emit(node.input(2));
      }
    // An additive mask: Where(cond, x, fill) with cond and fill constant.
    const ValueInfo &cond = values.at(node.input(0));
    const ValueInfo &fill = values.at(node.input(2));
    if (!cond.constant || !fill.constant)
      return unsupported("expected a constant condition and fill (a mask)");
    Constant mask{kFloat, shape, std::vector<double>(numElements(shape))};
    for (int64_t i = 0; i < numElements(shape); ++i)
      if (cond.constant->data[broadcastIndex(cond.shape, shape, i)] == 0.0)
        mask.data[i] =
            -std::numeric_limits<double>::infinity(); // softmax weight 0
    mlir::Value x = emit(node.input(1));
    if (!x || values.at(node.input(1)).shape != shape)
      return x ? unsupported("expected the scores at the mask's shape")
               : nullptr;
    raised("mask", 1);
    return arith::AddFOp::create(b, loc, x, emitConstant(mask));
  }
  if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") {
    const ValueInfo &lhs = values.at(node.input(0));
    const ValueInfo &rhs = values.at(node.input(1));
    auto isParam = [](const ValueInfo &v) {
      return v.initializer && !v.constant;
    };
    // x op constant: a scale, or an additive constant at x's shape.
    for (int side = 0; side < 2; ++side) {
      const ValueInfo &k = side ? lhs : rhs;
      const ValueInfo &x = side ? rhs : lhs;
      if (!k.constant || x.constant || x.shape != shape)
        continue;
      if ((op == "Sub" || op == "Div") && side == 1)
        return unsupported("expected the constant on the right");
      mlir::Value value = emit(side ? node.input(1) : node.input(0));
      if (!value)
        return nullptr;
      Constant c = *k.constant;
      if (op == "Div")
        for (double &v : c.data)
          v = 1.0 / v;
      if (op == "Sub")
        for (double &v : c.data)
          v = -v;
      // One IR constant per folded tensor, operation and shape: every
      // layer adds the same mask.
      const std::string key = (side ? node.input(0) : node.input(1)) + "|" +
                              op + "|" + fmtShape(shape);
      mlir::Value &constant = constants[key];
      if (!constant)
        constant = emitConstant(c, shape);
      if (op == "Mul" || op == "Div")
        return arith::MulFOp::create(b, loc, value, constant);
      return arith::AddFOp::create(b, loc, value, constant);
    }
    // Scores + position bias (+ mask): T5's attention, whose bias and mask
    // the attention op takes apart (--llm-fuse-attention).
    if (op == "Add")
      for (int side = 0; side < 2; ++side) {
        // The mask: added (a constant), or applied by Where(constant
        // condition, bias, constant fill), which hides what the condition
        // rules out as an additive -inf does.
        std::string biasName = node.input(1 - side), maskName;
        std::optional<Constant> mask;
        if (const onnx::NodeProto *sum = producerOf(biasName, "Add"))
          for (int term = 0; term < 2; ++term)
            if (values.at(sum->input(term)).constant &&
                !values.at(sum->input(1 - term)).constant) {
              maskName = sum->input(term);
              mask = values.at(maskName).constant;
              biasName = sum->input(1 - term);
            }
        if (const onnx::NodeProto *where = producerOf(biasName, "Where"))
          if (const std::optional<Constant> &cond =
                  values.at(where->input(0)).constant;
              cond && values.at(where->input(2)).constant) {
            maskName = where->output(0);
            mask = Constant{kFloat, cond->shape,
                            std::vector<double>(cond->data.size())};
            for (size_t i = 0; i < cond->data.size(); ++i)
              if (cond->data[i] == 0.0)
                mask->data[i] = -std::numeric_limits<double>::infinity();
            biasName = where->input(1);
          }
        mlir::Value bias = matchRelativeBias(biasName);
        if (error)
          return nullptr;
        if (!bias)
          continue;
        mlir::Value scores = emit(node.input(side));
        if (!scores)
          return nullptr;
        auto scoresType = cast<RankedTensorType>(scores.getType());
        auto biasType = cast<RankedTensorType>(bias.getType());
        if (scoresType.getShape() != llvm::ArrayRef<int64_t>(shape) ||
            shape.size() != 4 || shape[1] != biasType.getDimSize(0) ||
            shape[2] != biasType.getDimSize(1) ||
            shape[3] != biasType.getDimSize(2))
          return unsupported(llvm::formatv(
              "expected attention scores [batch, {0}, {1}, {2}] with the "
              "relative position bias, found {3}",
              biasType.getDimSize(0), biasType.getDimSize(1),
              biasType.getDimSize(2), fmtShape(shape)));
        mlir::Value sum = arith::AddFOp::create(
            b, loc, scores, emitter->broadcastBias(bias, scoresType));
        raised("relative_position_bias", maskName.empty() ? 1 : 2);
        if (!mask ||
            llvm::all_of(mask->data, [](double v) { return v == 0.0; }))
          return sum;
        mlir::Value &added = constants[maskName + "|Add|" + fmtShape(shape)];
        if (!added)
          added = emitConstant(*mask, shape);
        return arith::AddFOp::create(b, loc, sum, added);
      }
    if (lhs.shape != shape || rhs.shape != shape || isParam(lhs) ||
        isParam(rhs))
      return unsupported(llvm::formatv(
          "expected two computed tensors of one shape, found {0} and {1}",
          fmtShape(lhs.shape), fmtShape(rhs.shape)));
    if (op == "Div")
      return unsupported("a division of two computed tensors is not raised");
    // silu(g) * u: SwiGLU's product, llm.glu.
    auto siluOf = [&](const std::string &name) -> std::string {
      if (const onnx::NodeProto *mul = producerOf(name, "Mul"))
        for (int side = 0; side < 2; ++side)
          if (const onnx::NodeProto *sigmoid =
                  producerOf(mul->input(side), "Sigmoid"))
            if (sigmoid->input(0) == mul->input(1 - side))
              return sigmoid->input(0);
      return "";
    };
    if (op == "Mul")
      for (int side = 0; side < 2; ++side) {
        std::string gate = siluOf(node.input(side));
        if (gate.empty() || siluOf(node.input(1 - side)) == gate)
          continue;
        mlir::Value g = emit(gate), u = emit(node.input(1 - side));
        if (!g || !u)
          return nullptr;
        raised("glu", 3);
        return emitter->glu(g, u, Activation::SiLU);
      }
    // x * sigmoid(x): silu.
    if (op == "Mul")
      for (int side = 0; side < 2; ++side)
        if (const onnx::NodeProto *sigmoid =
                producerOf(node.input(side), "Sigmoid"))
          if (sigmoid->input(0) == node.input(1 - side)) {
            mlir::Value x = emit(sigmoid->input(0));
            if (!x)
              return nullptr;
            raised("silu", 2);
            return SiluOp::create(b, loc, x.getType(), x);
          }
    mlir::Value x = emit(node.input(0)), y = emit(node.input(1));
    if (!x || !y)
      return nullptr;
    if (op == "Add")
      return arith::AddFOp::create(b, loc, x, y);
    if (op == "Sub")
      return arith::SubFOp::create(b, loc, x, y);
    return arith::MulFOp::create(b, loc, x, y);
  }
  return unsupported("no llm op takes it here, and it does not fold to a "
                     "constant (its inputs depend on the model's inputs)");
}

llvm::Error Importer::emitFunction(ONNXModel &result) {
  context.loadDialect<LLMDialect, func::FuncDialect, arith::ArithDialect,
                      linalg::LinalgDialect, tensor::TensorDialect>();
  OwningOpRef<ModuleOp> module = ModuleOp::create(UnknownLoc::get(&context));
  emitter = std::make_unique<hf::Emitter>(context, *archive);
  emitter->batch = options.batch;
  emitter->functionName = options.functionName;
  if (graph->output_size() < 1)
    return makeError(llvm::formatv("{0}: the graph has no output", path));
  const std::string &outName = graph->output(0).name();
  const ValueInfo &out = values.at(outName);
  if (!isFloatType(out.type))
    return makeError(llvm::formatv(
        "{0}: graph output '{1}': expected a float tensor (logits or hidden "
        "states), found element type {2}",
        path, outName, out.type));
  auto ids = RankedTensorType::get({options.batch, options.seqLen},
                                   IntegerType::get(&context, 64));
  // An encoder-decoder graph (decoder_input_ids) takes the encoder's tokens
  // and the decoder's, as the Hugging Face importer's T5 does; its relative
  // positions fold into constants, so it has no positions argument.
  const bool seq2seq = llvm::any_of(inputs, [](const auto &entry) {
    return entry.second == InputRole::DecoderTokens;
  });
  if (seq2seq) {
    auto decoderIds = RankedTensorType::get(
        {options.batch, options.decoderSeqLen}, IntegerType::get(&context, 64));
    llvm::SmallVector<Value> args = emitter->beginFunction(
        *module, {{ids, ArgKind::EncoderTokens}, {decoderIds, ArgKind::Tokens}},
        {f32Type(context, out.shape)});
    tokens = args[0];
    decoderTokens = args[1];
  } else {
    llvm::SmallVector<Value> args = emitter->beginFunction(
        *module, {{ids, ArgKind::Tokens}, {ids, ArgKind::Positions}},
        {f32Type(context, out.shape)});
    tokens = args[0];
    positions = args[1];
  }
  mlir::Value logits = emit(outName);
  if (error)
    return makeError(*error);
  if (maxPositions && options.seqLen > maxPositions)
    return makeError(llvm::formatv(
        "{0}: the model supports {1} positions ({2}), the input has {3} "
        "tokens",
        path, maxPositions, positionLimit, options.seqLen));
  emitter->endFunction(logits);
  // The token embedding gives the vocabulary; an output over it is a
  // language model's logits, anything else an encoder's hidden states.
  const bool lm = vocab > 0 && !out.shape.empty() && out.shape.back() == vocab;
  llmrt::ModelInfo &info = result.info;
  info.type = "onnx";
  info.vocabSize = vocab;
  info.hiddenSize = hidden;
  info.kind = seq2seq ? llmrt::ModelKind::EncoderDecoder
              : lm    ? llmrt::ModelKind::Decoder
                      : llmrt::ModelKind::Encoder;
  info.maxPositions = maxPositions;
  ModelKind kind = seq2seq ? ModelKind::EncoderDecoder
                   : lm    ? ModelKind::Decoder
                           : ModelKind::Encoder;
  if (seq2seq && !lm)
    return makeError(llvm::formatv(
        "{0}: graph output '{1}': expected an encoder-decoder's logits [batch, "
        "decoder sequence, {2}] (the token embedding's rows), found {3}",
        path, outName, vocab, fmtShape(out.shape)));
  // A config.json beside the file (an export's copy of the model's) names
  // the model and gives its stop tokens, decoder start, position limit and
  // sliding window. One LLMC cannot read is left aside: the graph is the
  // model.
  if (!fromBuffer && llvm::sys::fs::exists(folder + "/config.json")) {
    llvm::Expected<std::unique_ptr<HFModel>> config = HFModel::open(folder);
    if (config) {
      const HFModelInfo &c = (*config)->getInfo();
      info.type = c.type + " (onnx)";
      llvm::copy_if(c.eosTokenIds, std::back_inserter(info.eosTokenIds),
                    [](int64_t id) { return id >= 0; });
      if (seq2seq)
        info.decoderStartTokenId = c.decoderStartTokenId;
      if (c.maxPositions)
        info.maxPositions = c.maxPositions;
      info.slidingWindow = c.slidingWindow;
    } else {
      llvm::consumeError(config.takeError());
    }
  }
  context.getLoadedDialect<LLMDialect>()->getModelAttrHelper().setAttr(
      *module, ModelInfoAttr::get(&context, info.type, kind, info.vocabSize,
                                  info.hiddenSize, 0, info.eosTokenIds,
                                  info.decoderStartTokenId, info.maxPositions,
                                  0, info.slidingWindow));
  if (failed(verify(*module)))
    return makeError(llvm::formatv(
        "{0}: the imported IR does not verify (see the diagnostics above)",
        path));
  stats.foldedNodes = static_cast<int64_t>(folded.size());
  module->walk([&](Operation *op) {
    if (isa<ModuleOp, func::FuncOp, func::ReturnOp, ParamOp, arith::ConstantOp>(
            op))
      return;
    ++stats.ops[op->getName().getStringRef().str()];
    if (op->getDialect()->getNamespace() != "llm")
      ++stats.genericOps;
  });
  result.module = std::move(module);
  return llvm::Error::success();
}

llvm::Expected<ONNXModel> Importer::run() {
  if (options.seqLen < 1 || options.batch < 1 || options.decoderSeqLen < 1)
    return makeError(llvm::formatv(
        "expected a positive sequence length, decoder length and batch, found "
        "{0}, {1} and {2}",
        options.seqLen, options.decoderSeqLen, options.batch));
  if (llvm::Error err = parse())
    return std::move(err);
  if (llvm::Error err = readInitializers())
    return std::move(err);
  if (llvm::Error err = bindInputs())
    return std::move(err);
  if (llvm::Error err = inferAndFold())
    return std::move(err);
  ONNXModel result;
  if (llvm::Error err = emitFunction(result))
    return std::move(err);
  result.weights = std::move(archive);
  result.stats = stats;
  return result;
}

} // namespace

bool mlir::llm::isONNXPath(llvm::StringRef path) {
  return path.ends_with_insensitive(".onnx");
}

llvm::Expected<ONNXModel>
mlir::llm::importONNX(MLIRContext &context, llvm::StringRef path,
                      const ONNXImportOptions &options) {
  Importer importer(context, path, options);
  return importer.run();
}

llvm::Expected<ONNXModel>
mlir::llm::importONNXBuffer(MLIRContext &context, llvm::StringRef bytes,
                            llvm::StringRef name,
                            const ONNXImportOptions &options) {
  Importer importer(context, bytes, name, options);
  return importer.run();
}

std::string mlir::llm::formatONNXStats(const ONNXImportStats &stats) {
  std::string text;
  llvm::raw_string_ostream os(text);
  int64_t raised = 0, llmOps = 0;
  for (const auto &entry : stats.raisedNodes)
    raised += entry.second;
  for (const auto &entry : stats.ops)
    if (llvm::StringRef(entry.first).starts_with("llm."))
      llmOps += entry.second;
  os << "onnx nodes: " << stats.onnxNodes << " (" << stats.foldedNodes
     << " folded into constants, " << raised << " raised by patterns)\n";
  for (const auto &entry : stats.raisedNodes)
    os << "  raised " << entry.first << ": " << entry.second << " nodes\n";
  os << "llm ops: " << llmOps << "\n";
  os << "generic ops: " << stats.genericOps << "\n";
  for (const auto &entry : stats.ops)
    os << "  " << entry.first << ": " << entry.second << "\n";
  return text;
}
