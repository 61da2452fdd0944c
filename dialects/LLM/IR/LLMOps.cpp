//===- LLMOps.cpp - Verifiers of the llm dialect's operations -------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// Every verifier states the expected and the found value, so that a model
// that imports wrongly is reported at the op that is wrong.
//
//===----------------------------------------------------------------------===//

#include "llm/dialects/LLM/IR/LLMOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"

#include <cmath>

using namespace mlir;
using namespace mlir::llm;

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

/// Formats a shape as `[1, 8, ?]`.
static std::string fmtShape(ArrayRef<int64_t> shape) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "[";
  llvm::interleaveComma(shape, os, [&](int64_t d) {
    if (ShapedType::isDynamic(d))
      os << "?";
    else
      os << d;
  });
  os << "]";
  return text;
}

static ArrayRef<int64_t> shapeOf(Type type) {
  return cast<ShapedType>(type).getShape();
}

/// Dimensions agree unless both are static and differ.
static bool dimsMatch(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

static bool shapesMatch(ArrayRef<int64_t> a, ArrayRef<int64_t> b) {
  return a.size() == b.size() && llvm::all_of(llvm::zip(a, b), [](auto pair) {
           return dimsMatch(std::get<0>(pair), std::get<1>(pair));
         });
}

/// Checks that `value` has rank `rank`; `what` names it in the message.
static LogicalResult checkRank(Operation *op, StringRef what, Type type,
                               int64_t rank, StringRef layout) {
  auto shaped = cast<ShapedType>(type);
  if (shaped.getRank() == rank)
    return success();
  return op->emitOpError() << "expected " << what << " of rank " << rank << " ("
                           << layout << "), found rank " << shaped.getRank();
}

/// Checks that `type` has exactly `expected` as its shape.
static LogicalResult checkShape(Operation *op, StringRef what, Type type,
                                ArrayRef<int64_t> expected) {
  ArrayRef<int64_t> found = cast<ShapedType>(type).getShape();
  if (shapesMatch(found, expected))
    return success();
  return op->emitOpError() << "expected " << what << " shape "
                           << fmtShape(expected) << ", found "
                           << fmtShape(found);
}

static LogicalResult checkPositive(Operation *op, StringRef what,
                                   int64_t value) {
  if (value > 0)
    return success();
  return op->emitOpError() << "expected " << what << " > 0, found " << value;
}

static LogicalResult checkSameElementType(Operation *op, StringRef what,
                                          Type type, Type reference,
                                          StringRef referenceName) {
  Type found = getElementTypeOrSelf(type);
  Type expected = getElementTypeOrSelf(reference);
  if (found == expected)
    return success();
  return op->emitOpError() << "expected " << what << " element type "
                           << expected << " (as " << referenceName
                           << "), found " << found;
}

/// The `[out, in]` shape of a weight operand (tensor or qweight).
static FailureOr<SmallVector<int64_t, 2>>
getWeightShape(Operation *op, StringRef what, Type type) {
  if (auto quantized = dyn_cast<QuantizedType>(type))
    return SmallVector<int64_t, 2>(quantized.getShape());
  if (failed(checkRank(op, what, type, 2, "[rows, columns]")))
    return failure();
  return SmallVector<int64_t, 2>(cast<RankedTensorType>(type).getShape());
}

//===----------------------------------------------------------------------===//
// Structure
//===----------------------------------------------------------------------===//

bool mlir::llm::isProjectionWeight(OpOperand &use) {
  Operation *user = use.getOwner();
  if (auto linear = dyn_cast<LinearOp>(user))
    return use.getOperandNumber() ==
           linear.getWeightMutable().getOperandNumber();
  if (auto linear = dyn_cast<LinearRoPEOp>(user))
    return use.getOperandNumber() ==
           linear.getWeightMutable().getOperandNumber();
  return false;
}

LogicalResult ParamOp::verify() {
  if (getName().empty())
    return emitOpError() << "expected a non-empty parameter name";
  auto tensor = dyn_cast<RankedTensorType>(getType());
  if (tensor && !tensor.hasStaticShape())
    return emitOpError() << "expected a statically shaped parameter, found "
                         << tensor;
  auto quantized = dyn_cast<QuantizedType>(getType());
  if ((getTranspose() || getRowBlocks()) && !tensor)
    return emitOpError() << "expected a tensor result for 'transpose' or "
                            "'row_blocks', found "
                         << getType();
  if (getStacked() && !tensor &&
      !(quantized && quantized.getShape().size() == 3))
    return emitOpError() << "expected a tensor or a rank-3 !llm.qweight "
                            "result for 'stacked', found "
                         << getType();
  if (getTranspose() && tensor.getRank() != 2)
    return emitOpError() << "expected a result of rank 2 for 'transpose', "
                            "found rank "
                         << tensor.getRank();
  if (getInt8Activations() && !isa<QuantizedType>(getType()))
    return emitOpError() << "expected a !llm.qweight result for "
                            "'int8_activations', found "
                         << getType();
  if (std::optional<StringRef> method = getQuantMethod()) {
    if (!isa<QuantizedType>(getType()))
      return emitOpError() << "expected a !llm.qweight result for "
                              "'quant_method', found "
                           << getType();
    if (*method != "gptq" && *method != "awq")
      return emitOpError() << "expected 'quant_method' \"gptq\" or \"awq\", "
                              "found \""
                           << *method << "\"";
  }
  if (std::optional<StringRef> format = getCheckpointFormat()) {
    if (!isa<QuantizedType>(getType()))
      return emitOpError() << "expected a !llm.qweight result for "
                              "'checkpoint_format', found "
                           << getType();
    if (!llvm::is_contained(getCheckpointFormats(), *format))
      return emitOpError() << "expected 'checkpoint_format' one of "
                           << llvm::join(getCheckpointFormats(), ", ")
                           << ", found \"" << *format << "\"";
    if (getQuantMethod())
      return emitOpError() << "expected 'checkpoint_format' (values from "
                              "the checkpoint) without 'quant_method' "
                              "(values from calibration)";
  }
  if (getActOrder() && !getCheckpointFormat().value_or("").starts_with("gptq"))
    return emitOpError() << "expected 'act_order' with a GPTQ "
                            "'checkpoint_format' (gptq or gptq_v2)";
  if (std::optional<int64_t> panels = getPanels()) {
    // A matrix, or experts stacked [experts, out, in], each packed alone.
    if (!tensor || (tensor.getRank() != 2 && tensor.getRank() != 3))
      return emitOpError() << "expected a tensor result of rank 2 (or 3: "
                              "stacked experts) for 'panels', found "
                           << getType();
    if (*panels <= 0)
      return emitOpError() << "expected 'panels' > 0 rows per panel, found "
                           << *panels;
    if (getStacked() && tensor.getRank() == 2)
      return emitOpError() << "expected 'panels' without 'stacked' on a "
                              "matrix";
  }
  if (std::optional<ArrayRef<int64_t>> blocks = getRowBlocks()) {
    if (blocks->size() != 4)
      return emitOpError() << "expected row_blocks = [start, size, stride, "
                              "count] (4 values), found "
                           << blocks->size() << " values";
    int64_t start = (*blocks)[0], size = (*blocks)[1], stride = (*blocks)[2],
            count = (*blocks)[3];
    if (start < 0 || size <= 0 || count <= 0 || (count > 1 && stride < size))
      return emitOpError() << "expected row_blocks with start >= 0, size > 0, "
                              "count > 0 and stride >= size, found ["
                           << start << ", " << size << ", " << stride << ", "
                           << count << "]";
    if (tensor.getRank() < 1)
      return emitOpError() << "expected a result of rank >= 1 for "
                              "'row_blocks', found rank 0";
    if (tensor.getDimSize(0) != size * count)
      return emitOpError() << "expected row_blocks to select "
                           << tensor.getDimSize(0)
                           << " rows (the result's first dimension), found "
                           << size * count;
  }
  if (std::optional<ArrayAttr> stacked = getStacked()) {
    ArrayRef<int64_t> dims = tensor ? tensor.getShape() : quantized.getShape();
    if (dims.empty())
      return emitOpError() << "expected a result of rank >= 1 for "
                              "'stacked', found rank 0";
    if (dims[0] != static_cast<int64_t>(stacked->size()))
      return emitOpError() << "expected a first dimension of "
                           << stacked->size()
                           << " (the number of stacked tensors), found "
                           << dims[0];
    if (getTranspose() || getRowBlocks())
      return emitOpError()
             << "expected 'stacked' without 'transpose' or 'row_blocks'";
  }
  return success();
}

LogicalResult EmbeddingOp::verify() {
  FailureOr<SmallVector<int64_t, 2>> table =
      getWeightShape(*this, "table", getTable().getType());
  if (failed(table))
    return failure();
  SmallVector<int64_t> expected(getIds().getType().getShape());
  expected.push_back((*table)[1]);
  if (failed(checkShape(*this, "result", getType(), expected)))
    return failure();
  // Tables stored in f16/bf16 may be widened to f32 as rows are gathered.
  Type result = getType().getElementType();
  auto tableType = dyn_cast<RankedTensorType>(getTable().getType());
  if (!tableType || result.isF32() || result == tableType.getElementType())
    return success();
  return emitOpError() << "expected result element type f32 or "
                       << tableType.getElementType() << " (the table's), found "
                       << result;
}

LogicalResult LinearOp::verify() {
  FailureOr<SmallVector<int64_t, 2>> weight =
      getWeightShape(*this, "weight", getWeight().getType());
  if (failed(weight))
    return failure();
  int64_t outFeatures = (*weight)[0], inFeatures = (*weight)[1];
  ArrayRef<int64_t> input = getInput().getType().getShape();
  if (input.empty())
    return emitOpError() << "expected input of rank >= 1, found rank 0";
  if (!dimsMatch(input.back(), inFeatures))
    return emitOpError() << "expected input features (last dimension) "
                         << inFeatures
                         << " to match weight [out, in] = " << fmtShape(*weight)
                         << ", found " << input.back();
  if (Value bias = getBias())
    if (failed(checkShape(*this, "bias", bias.getType(), {outFeatures})))
      return failure();
  SmallVector<int64_t> expected(input.drop_back());
  expected.push_back(outFeatures);
  if (failed(checkShape(*this, "result", getType(), expected)))
    return failure();
  return checkSameElementType(*this, "result", getType(), getInput().getType(),
                              "the input");
}

LogicalResult MatmulOp::verify() {
  ArrayRef<int64_t> lhs = getLhs().getType().getShape();
  ArrayRef<int64_t> rhs = getRhs().getType().getShape();
  if (lhs.size() < 2)
    return emitOpError() << "expected lhs of rank >= 2, found rank "
                         << lhs.size();
  if (rhs.size() != lhs.size())
    return emitOpError() << "expected rhs of rank " << lhs.size()
                         << " (as lhs), found rank " << rhs.size();
  size_t batchRank = lhs.size() - 2;
  if (!shapesMatch(lhs.take_front(batchRank), rhs.take_front(batchRank)))
    return emitOpError() << "expected equal batch dimensions, found "
                         << fmtShape(lhs.take_front(batchRank)) << " and "
                         << fmtShape(rhs.take_front(batchRank));
  int64_t m = lhs[batchRank], k = lhs[batchRank + 1];
  bool transposed = getTransposeRhs();
  int64_t rhsK = rhs[batchRank + (transposed ? 1 : 0)];
  int64_t n = rhs[batchRank + (transposed ? 0 : 1)];
  if (!dimsMatch(k, rhsK))
    return emitOpError() << "expected contraction dimension of rhs to be " << k
                         << " (lhs columns), found " << rhsK;
  SmallVector<int64_t> expected(lhs.take_front(batchRank));
  expected.append({m, n});
  if (failed(checkShape(*this, "result", getType(), expected)))
    return failure();
  return checkSameElementType(*this, "result", getType(), getLhs().getType(),
                              "lhs");
}

//===----------------------------------------------------------------------===//
// Norms and activations
//===----------------------------------------------------------------------===//

static LogicalResult verifyNorm(Operation *op, RankedTensorType input,
                                Type weight, Value bias, double epsilon) {
  if (input.getRank() < 1)
    return op->emitOpError() << "expected input of rank >= 1, found rank 0";
  int64_t dim = input.getShape().back();
  if (failed(checkShape(op, "weight", weight, {dim})))
    return failure();
  if (bias && failed(checkShape(op, "bias", bias.getType(), {dim})))
    return failure();
  if (!(epsilon >= 0.0))
    return op->emitOpError() << "expected epsilon >= 0, found " << epsilon;
  return success();
}

LogicalResult LayerNormOp::verify() {
  return verifyNorm(*this, getInput().getType(), getWeight().getType(),
                    getBias(), getEpsilon().convertToDouble());
}

LogicalResult RMSNormOp::verify() {
  // A weight that divides the last dimension normalizes each group of its
  // size (per-head norms).
  RankedTensorType input = getInput().getType();
  auto weight = dyn_cast<RankedTensorType>(getWeight().getType());
  if (input.getRank() >= 1 && weight && weight.getRank() == 1 &&
      !weight.isDynamicDim(0) && weight.getDimSize(0) > 0 &&
      !input.isDynamicDim(input.getRank() - 1) &&
      weight.getDimSize(0) < input.getShape().back()) {
    int64_t dim = input.getShape().back(), group = weight.getDimSize(0);
    if (dim % group != 0)
      return emitOpError() << "expected a weight of " << dim
                           << " elements (the last dimension) or of a divisor "
                              "of it (one per group), found "
                           << group;
    double epsilon = getEpsilon().convertToDouble();
    if (!(epsilon >= 0.0))
      return emitOpError() << "expected epsilon >= 0, found " << epsilon;
    return success();
  }
  return verifyNorm(*this, getInput().getType(), getWeight().getType(), Value(),
                    getEpsilon().convertToDouble());
}

LogicalResult SigmoidGateOp::verify() {
  RankedTensorType input = getInput().getType();
  Type gate = getGate().getType();
  if (input.getRank() < 1)
    return emitOpError() << "expected input of rank >= 1, found rank 0";
  if (failed(checkSameElementType(*this, "gate", gate, input, "the input")))
    return failure();
  // One gate per value, or per row (a last dimension of 1).
  SmallVector<int64_t> perRow(input.getShape());
  perRow.back() = 1;
  ArrayRef<int64_t> found = cast<ShapedType>(gate).getShape();
  if (shapesMatch(found, input.getShape()) || shapesMatch(found, perRow))
    return success();
  return emitOpError() << "expected gate shape " << fmtShape(perRow)
                       << " (one per row) or " << fmtShape(input.getShape())
                       << ", found " << fmtShape(found);
}

LogicalResult SoftmaxOp::verify() {
  int64_t rank = getInput().getType().getRank();
  int64_t axis = getAxis();
  if (axis < 0 || axis >= rank)
    return emitOpError() << "expected axis in [0, " << rank << "), found "
                         << axis;
  return success();
}

//===----------------------------------------------------------------------===//
// Positions
//===----------------------------------------------------------------------===//

/// Checks that `numHeads` splits `features` into heads; returns the head dim.
static FailureOr<int64_t> verifyHeads(Operation *op, StringRef headsName,
                                      int64_t numHeads, StringRef featuresName,
                                      int64_t features) {
  if (failed(checkPositive(op, headsName, numHeads)))
    return failure();
  if (ShapedType::isDynamic(features))
    return op->emitOpError()
           << "expected a static " << featuresName << " dimension";
  if (features % numHeads != 0)
    return op->emitOpError()
           << "expected " << headsName << " " << numHeads << " to divide the "
           << featuresName << " " << features << ", found remainder "
           << features % numHeads;
  return features / numHeads;
}

LogicalResult RoPEOp::verify() {
  ArrayRef<int64_t> input = getInput().getType().getShape();
  if (input.size() < 2)
    return emitOpError() << "expected input of rank >= 2 ([..., seq, num_heads "
                            "* head_dim]), found rank "
                         << input.size();
  FailureOr<int64_t> headDim = verifyHeads(*this, "num_heads", getNumHeads(),
                                           "hidden size", input.back());
  if (failed(headDim))
    return failure();
  if (std::optional<int64_t> rotaryDim = getRotaryDim()) {
    if (*rotaryDim <= 0 || *rotaryDim % 2 != 0)
      return emitOpError() << "expected a positive even rotary_dim, found "
                           << *rotaryDim;
    if (*rotaryDim > *headDim)
      return emitOpError() << "expected rotary_dim <= head_dim " << *headDim
                           << ", found " << *rotaryDim;
  } else if (*headDim % 2 != 0) {
    return emitOpError() << "expected an even head_dim for full rotary, found "
                         << *headDim;
  }
  double theta = getTheta().convertToDouble();
  if (!(theta > 0.0))
    return emitOpError() << "expected theta > 0, found " << theta;
  return checkShape(*this, "positions", getPositions().getType(),
                    input.drop_back());
}

LogicalResult RoPEInvFreqOp::verify() {
  int64_t rotaryDim = getRotaryDim();
  if (rotaryDim <= 0 || rotaryDim % 2 != 0)
    return emitOpError() << "expected a positive even rotary_dim, found "
                         << rotaryDim;
  double theta = getTheta().convertToDouble();
  if (!(theta > 0.0))
    return emitOpError() << "expected theta > 0, found " << theta;
  std::optional<RopeScalingAttr> scaling = getScaling();
  if (scaling && scaling->getKind() == RopeScalingKind::Dynamic &&
      rotaryDim <= 2)
    return emitOpError() << "expected rotary_dim > 2 for dynamic NTK scaling "
                            "(its base exponent is dim / (dim - 2)), found "
                         << rotaryDim;
  if (failed(checkShape(*this, "result", getType(), {rotaryDim / 2})))
    return failure();
  if (!getType().getElementType().isF32())
    return emitOpError() << "expected an f32 result, found "
                         << getType().getElementType();
  return success();
}

LogicalResult LinearRoPEOp::verify() {
  FailureOr<SmallVector<int64_t, 2>> weight =
      getWeightShape(*this, "weight", getWeight().getType());
  if (failed(weight))
    return failure();
  ArrayRef<int64_t> input = getInput().getType().getShape();
  if (input.size() < 2)
    return emitOpError() << "expected input of rank >= 2 ([..., seq, in]), "
                            "found rank "
                         << input.size();
  if (!dimsMatch(input.back(), (*weight)[1]))
    return emitOpError() << "expected input features (last dimension) "
                         << (*weight)[1]
                         << " to match weight [out, in] = " << fmtShape(*weight)
                         << ", found " << input.back();
  int64_t out = (*weight)[0];
  if (Value bias = getBias())
    if (failed(checkShape(*this, "bias", bias.getType(), {out})))
      return failure();
  SmallVector<int64_t> expected(input.drop_back());
  expected.push_back(out);
  if (failed(checkShape(*this, "result", getType(), expected)) ||
      failed(checkShape(*this, "positions", getPositions().getType(),
                        input.drop_back())))
    return failure();
  FailureOr<int64_t> headDim =
      verifyHeads(*this, "num_heads", getNumHeads(), "output features", out);
  if (failed(headDim))
    return failure();
  int64_t rotaryDim = getRotaryDim();
  if (rotaryDim <= 0 || rotaryDim % 2 != 0 || rotaryDim > *headDim)
    return emitOpError() << "expected an even rotary_dim in (0, " << *headDim
                         << "] (the head dim), found " << rotaryDim;
  if (failed(checkShape(*this, "inv_freq", getInvFreq().getType(),
                        {rotaryDim / 2})))
    return failure();
  return checkSameElementType(*this, "inv_freq", getInvFreq().getType(),
                              getType(), "the result");
}

LogicalResult AlibiOp::verify() {
  if (failed(
          checkRank(*this, "result", getType(), 3, "[heads, q_len, kv_len]")))
    return failure();
  double maxBias = getMaxBias().convertToDouble();
  if (!(maxBias > 0.0))
    return emitOpError() << "expected max_bias > 0, found " << maxBias;
  ArrayRef<int64_t> shape = getType().getShape();
  if (!ShapedType::isDynamic(shape[1]) && !ShapedType::isDynamic(shape[2]) &&
      shape[1] > shape[2])
    return emitOpError() << "expected q_len <= kv_len, found q_len = "
                         << shape[1] << ", kv_len = " << shape[2];
  return success();
}

/// Checks T5's bucket parameters (of llm.relative_position_bias and the
/// relative bias of llm.paged_attention).
static LogicalResult verifyRelativeBuckets(Operation *op, int64_t numBuckets,
                                           int64_t maxDistance,
                                           bool bidirectional) {
  if (failed(checkPositive(op, "num_buckets", numBuckets)))
    return failure();
  if (bidirectional && numBuckets % 2 != 0)
    return op->emitOpError() << "expected an even num_buckets for "
                                "bidirectional buckets, found "
                             << numBuckets;
  // T5 spends half of its buckets (of one direction) on exact distances.
  int64_t exact = (bidirectional ? numBuckets / 2 : numBuckets) / 2;
  if (maxDistance <= exact)
    return op->emitOpError()
           << "expected max_distance > " << exact
           << " (the exact-distance buckets), found " << maxDistance;
  return success();
}

LogicalResult RelativePositionBiasOp::verify() {
  int64_t numBuckets = getNumBuckets();
  if (failed(verifyRelativeBuckets(*this, numBuckets, getMaxDistance(),
                                   getBidirectional())))
    return failure();
  if (failed(checkRank(*this, "table", getTable().getType(), 2,
                       "[num_buckets, heads]")))
    return failure();
  if (failed(
          checkRank(*this, "result", getType(), 3, "[heads, q_len, kv_len]")))
    return failure();
  if (failed(checkShape(*this, "table", getTable().getType(),
                        {numBuckets, getType().getShape()[0]})))
    return failure();
  return checkSameElementType(*this, "result", getType(), getTable().getType(),
                              "the table");
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

/// Checks the window against the mask kind.
static LogicalResult verifyMaskAndWindow(Operation *op, MaskKind mask,
                                         std::optional<int64_t> window) {
  if (mask == MaskKind::SlidingWindow) {
    if (!window)
      return op->emitOpError()
             << "expected a 'window' attribute for mask 'sliding_window'";
    return checkPositive(op, "window", *window);
  }
  if (window)
    return op->emitOpError()
           << "expected no 'window' attribute for mask '"
           << stringifyMaskKind(mask) << "', found window = " << *window;
  return success();
}

static LogicalResult verifyScale(Operation *op, std::optional<double> scale) {
  if (scale && !(*scale > 0.0))
    return op->emitOpError() << "expected scale > 0, found " << *scale;
  return success();
}

/// The shape rules shared by `llm.attention` and `llm.flash_attention`.
static LogicalResult verifyDenseAttention(
    Operation *op, Value query, Value key, Value value, Value keyPadding,
    Value bias, Type resultType, int64_t numHeads, int64_t numKvHeads,
    std::optional<double> scale, MaskKind mask, std::optional<int64_t> window) {
  const char *layout = "[batch, seq, heads * head_dim]";
  if (failed(checkRank(op, "query", query.getType(), 3, layout)) ||
      failed(checkRank(op, "key", key.getType(), 3, layout)) ||
      failed(checkRank(op, "value", value.getType(), 3, layout)))
    return failure();
  ArrayRef<int64_t> q = shapeOf(query.getType());
  ArrayRef<int64_t> k = shapeOf(key.getType());
  ArrayRef<int64_t> v = shapeOf(value.getType());
  FailureOr<int64_t> headDim =
      verifyHeads(op, "num_heads", numHeads, "query features", q[2]);
  if (failed(headDim) || failed(checkPositive(op, "num_kv_heads", numKvHeads)))
    return failure();
  if (numHeads % numKvHeads != 0)
    return op->emitOpError()
           << "expected num_kv_heads " << numKvHeads << " to divide num_heads "
           << numHeads << " (grouped-query attention), found remainder "
           << numHeads % numKvHeads;
  if (failed(checkShape(op, "key", key.getType(),
                        {q[0], ShapedType::kDynamic, numKvHeads * *headDim})))
    return failure();
  FailureOr<int64_t> valueDim =
      verifyHeads(op, "num_kv_heads", numKvHeads, "value features", v[2]);
  if (failed(valueDim))
    return failure();
  if (!dimsMatch(q[0], v[0]) || !dimsMatch(k[1], v[1]))
    return op->emitOpError()
           << "expected value shape " << fmtShape({q[0], k[1], v[2]})
           << " (batch and kv_len of key), found " << fmtShape(v);
  if (failed(checkShape(op, "result", resultType,
                        {q[0], q[1], numHeads * *valueDim})))
    return failure();
  if (failed(checkSameElementType(op, "result", resultType, query.getType(),
                                  "the query")) ||
      failed(checkSameElementType(op, "key", key.getType(), query.getType(),
                                  "the query")) ||
      failed(checkSameElementType(op, "value", value.getType(), query.getType(),
                                  "the query")))
    return failure();
  if (failed(verifyMaskAndWindow(op, mask, window)) ||
      failed(verifyScale(op, scale)))
    return failure();
  bool causal = mask == MaskKind::Causal || mask == MaskKind::SlidingWindow;
  if (causal && !ShapedType::isDynamic(q[1]) && !ShapedType::isDynamic(k[1]) &&
      q[1] > k[1])
    return op->emitOpError()
           << "expected q_len <= kv_len for mask '" << stringifyMaskKind(mask)
           << "', found q_len = " << q[1] << ", kv_len = " << k[1];
  if (mask == MaskKind::Padding && !keyPadding)
    return op->emitOpError()
           << "expected a 'key_padding' operand for mask 'padding'";
  if (keyPadding &&
      failed(checkShape(op, "key_padding", keyPadding.getType(), {q[0], k[1]})))
    return failure();
  if (bias && failed(checkSameElementType(op, "bias", bias.getType(),
                                          query.getType(), "the query")))
    return failure();
  if (bias) {
    ArrayRef<int64_t> b = shapeOf(bias.getType());
    auto broadcasts = [](int64_t dim, int64_t to) {
      return dim == 1 || dimsMatch(dim, to);
    };
    bool ok = false;
    if (b.size() == 3)
      ok = broadcasts(b[0], numHeads) && dimsMatch(b[1], q[1]) &&
           dimsMatch(b[2], k[1]);
    else if (b.size() == 4)
      ok = broadcasts(b[0], q[0]) && broadcasts(b[1], numHeads) &&
           dimsMatch(b[2], q[1]) && dimsMatch(b[3], k[1]);
    if (!ok)
      return op->emitOpError() << "expected bias broadcastable to [batch, "
                                  "heads, q_len, kv_len] = "
                               << fmtShape({q[0], numHeads, q[1], k[1]})
                               << ", found " << fmtShape(b);
  }
  return success();
}

static std::optional<double> toDouble(std::optional<APFloat> value) {
  if (!value)
    return std::nullopt;
  return value->convertToDouble();
}

LogicalResult AttentionOp::verify() {
  return verifyDenseAttention(*this, getQuery(), getKey(), getValue(),
                              getKeyPadding(), getBias(), getType(),
                              getNumHeads(), getNumKvHeads(),
                              toDouble(getScale()), getMask(), getWindow());
}

double AttentionOp::getEffectiveScale() {
  if (std::optional<APFloat> scale = getScale())
    return scale->convertToDouble();
  return 1.0 / std::sqrt(static_cast<double>(getHeadDim()));
}

/// Checks that ALiBi slopes are one per query head.
static LogicalResult verifyAlibiSlopes(Operation *op, Value slopes,
                                       int64_t numHeads) {
  if (!slopes)
    return success();
  if (failed(checkShape(op, "alibi_slopes", slopes.getType(), {numHeads})))
    return failure();
  Type element = cast<ShapedType>(slopes.getType()).getElementType();
  if (element.isF32())
    return success();
  return op->emitOpError() << "expected alibi_slopes element type f32, found "
                           << element;
}

LogicalResult FlashAttentionOp::verify() {
  if (failed(verifyDenseAttention(
          *this, getQuery(), getKey(), getValue(), getKeyPadding(), getBias(),
          getType(), getNumHeads(), getNumKvHeads(),
          getScale().convertToDouble(), getMask(), getWindow())))
    return failure();
  if (failed(checkPositive(*this, "block_q", getBlockQ())) ||
      failed(checkPositive(*this, "block_kv", getBlockKv())))
    return failure();
  return verifyAlibiSlopes(*this, getAlibiSlopes(), getNumHeads());
}

/// Checks that `layer` indexes the layers of `cache`.
static LogicalResult verifyLayer(Operation *op, int64_t layer,
                                 KVCacheType cache) {
  if (layer >= 0 && layer < cache.getNumLayers())
    return success();
  return op->emitOpError() << "expected layer in [0, " << cache.getNumLayers()
                           << "), found " << layer;
}

LogicalResult PagedAttentionOp::verify() {
  KVCacheType cache = getCache().getType();
  if (failed(verifyLayer(*this, getLayer(), cache)))
    return failure();
  if (failed(checkRank(*this, "query", getQuery().getType(), 3,
                       "[batch, q_len, heads * head_dim]")))
    return failure();
  ArrayRef<int64_t> q = getQuery().getType().getShape();
  if (failed(checkPositive(*this, "num_heads", getNumHeads())))
    return failure();
  if (getNumHeads() % cache.getNumKvHeads() != 0)
    return emitOpError() << "expected the cache's kv_heads "
                         << cache.getNumKvHeads() << " to divide num_heads "
                         << getNumHeads() << ", found remainder "
                         << getNumHeads() % cache.getNumKvHeads();
  if (!dimsMatch(q[2], getNumHeads() * cache.getHeadDim()))
    return emitOpError() << "expected query features "
                         << getNumHeads() * cache.getHeadDim()
                         << " (num_heads * the cache's head_dim), found "
                         << q[2];
  if (failed(checkRank(*this, "block_tables", getBlockTables().getType(), 2,
                       "[batch, max_blocks]")) ||
      failed(checkShape(*this, "block_tables", getBlockTables().getType(),
                        {q[0], ShapedType::kDynamic})) ||
      failed(checkShape(*this, "context_lens", getContextLens().getType(),
                        {q[0]})))
    return failure();
  if (getMask() != MaskKind::Causal && getMask() != MaskKind::SlidingWindow &&
      getMask() != MaskKind::Bidirectional)
    return emitOpError() << "expected mask 'causal', 'sliding_window' or "
                            "'bidirectional', found '"
                         << stringifyMaskKind(getMask()) << "'";
  if (failed(verifyMaskAndWindow(*this, getMask(), getWindow())) ||
      failed(verifyScale(*this, getScale().convertToDouble())))
    return failure();
  if (failed(checkShape(*this, "result", getType(), q)) ||
      failed(checkSameElementType(*this, "result", getType(),
                                  getQuery().getType(), "the query")))
    return failure();
  if (failed(verifyAlibiSlopes(*this, getAlibiSlopes(), getNumHeads())))
    return failure();
  bool hasBuckets = getNumBuckets() || getMaxDistance();
  if (!getRelativeBiasTable()) {
    if (hasBuckets || getBidirectionalBuckets())
      return emitOpError() << "expected num_buckets, max_distance and "
                              "bidirectional_buckets only with a "
                              "relative_bias_table, found no table";
    return success();
  }
  if (getAlibiSlopes())
    return emitOpError() << "expected alibi_slopes or relative_bias_table, "
                            "found both";
  if (!getNumBuckets() || !getMaxDistance())
    return emitOpError() << "expected num_buckets and max_distance with a "
                            "relative_bias_table, found "
                         << (getNumBuckets() ? "no max_distance"
                                             : "no num_buckets");
  if (failed(verifyRelativeBuckets(*this, *getNumBuckets(), *getMaxDistance(),
                                   getBidirectionalBuckets())))
    return failure();
  auto table = cast<RankedTensorType>(getRelativeBiasTable().getType());
  if (failed(checkRank(*this, "relative_bias_table", table, 2,
                       "[num_buckets, num_heads]")) ||
      failed(checkShape(*this, "relative_bias_table", table,
                        {*getNumBuckets(), getNumHeads()})))
    return failure();
  return checkSameElementType(*this, "relative_bias_table", table,
                              getQuery().getType(), "the query");
}

//===----------------------------------------------------------------------===//
// KV cache
//===----------------------------------------------------------------------===//

LogicalResult KVCacheAppendOp::verify() {
  KVCacheType cache = getCache().getType();
  if (failed(verifyLayer(*this, getLayer(), cache)))
    return failure();
  if (failed(checkRank(*this, "key", getKey().getType(), 3,
                       "[batch, seq, kv_heads * head_dim]")))
    return failure();
  ArrayRef<int64_t> k = getKey().getType().getShape();
  if (failed(checkShape(*this, "key", getKey().getType(),
                        {k[0], k[1], cache.getTokenWidth()})) ||
      failed(checkShape(*this, "value", getValue().getType(), k)) ||
      failed(checkShape(*this, "slots", getSlots().getType(), {k[0], k[1]})))
    return failure();
  return checkSameElementType(*this, "value", getValue().getType(),
                              getKey().getType(), "the key");
}

LogicalResult KVCacheGatherOp::verify() {
  KVCacheType cache = getCache().getType();
  if (failed(verifyLayer(*this, getLayer(), cache)))
    return failure();
  if (failed(checkRank(*this, "block_tables", getBlockTables().getType(), 2,
                       "[batch, max_blocks]")))
    return failure();
  ArrayRef<int64_t> tables = getBlockTables().getType().getShape();
  int64_t tokens = ShapedType::isDynamic(tables[1])
                       ? ShapedType::kDynamic
                       : tables[1] * cache.getBlockSize();
  SmallVector<int64_t> expected = {tables[0], tokens, cache.getTokenWidth()};
  if (failed(checkShape(*this, "key", getKey().getType(), expected)) ||
      failed(checkShape(*this, "value", getValue().getType(), expected)))
    return failure();
  return checkSameElementType(*this, "value", getValue().getType(),
                              getKey().getType(), "the key");
}

//===----------------------------------------------------------------------===//
// Mixture of experts
//===----------------------------------------------------------------------===//

/// Checks `0 < topK <= numExperts`.
static LogicalResult verifyTopK(Operation *op, int64_t topK,
                                int64_t numExperts) {
  if (topK > 0 && (ShapedType::isDynamic(numExperts) || topK <= numExperts))
    return success();
  if (ShapedType::isDynamic(numExperts))
    return op->emitOpError() << "expected top_k >= 1, found " << topK;
  return op->emitOpError() << "expected top_k in [1, " << numExperts
                           << "] (the number of experts), found " << topK;
}

/// The shape of a tensor or of a qweight.
static ArrayRef<int64_t> getDims(Type type) {
  if (auto quantized = dyn_cast<QuantizedType>(type))
    return quantized.getShape();
  return cast<ShapedType>(type).getShape();
}

LogicalResult MoEOp::verify() {
  ArrayRef<int64_t> x = getInput().getType().getShape();
  if (x.size() < 2)
    return emitOpError() << "expected input of rank >= 2, found rank "
                         << x.size();
  if (failed(checkRank(*this, "router", getRouter().getType(), 2,
                       "[experts, hidden]")))
    return failure();
  if (getDims(getGate().getType()).size() != 3)
    return emitOpError() << "expected gate of rank 3 ([experts, inter, "
                            "hidden]), found rank "
                         << getDims(getGate().getType()).size();
  int64_t hidden = x.back();
  int64_t experts = getRouter().getType().getShape()[0];
  int64_t inter = getDims(getGate().getType())[1];
  if (failed(checkShape(*this, "router", getRouter().getType(),
                        {experts, hidden})))
    return failure();
  const std::pair<StringRef, Value> weights[] = {
      {"gate", getGate()}, {"up", getUp()}, {"down", getDown()}};
  for (auto [what, value] : weights) {
    SmallVector<int64_t, 3> expected = {experts, inter, hidden};
    if (what == "down")
      expected = {experts, hidden, inter};
    ArrayRef<int64_t> found = getDims(value.getType());
    if (!shapesMatch(found, expected))
      return emitOpError() << "expected " << what << " shape "
                           << fmtShape(expected) << ", found "
                           << fmtShape(found);
  }
  return verifyTopK(*this, getTopK(), experts);
}

/// `a * b` unless either is dynamic.
static int64_t mulDims(int64_t a, int64_t b) {
  if (ShapedType::isDynamic(a) || ShapedType::isDynamic(b))
    return ShapedType::kDynamic;
  return a * b;
}

/// `shape` with its last dimension replaced by `last`.
static SmallVector<int64_t> withLast(ArrayRef<int64_t> shape, int64_t last) {
  SmallVector<int64_t> result(shape);
  result.back() = last;
  return result;
}

/// The product of the leading (token) dimensions of `shape`, dynamic if one
/// is.
static int64_t leadingTokens(ArrayRef<int64_t> shape) {
  int64_t tokens = 1;
  for (int64_t d : shape.drop_back())
    tokens =
        ShapedType::isDynamic(d) ? ShapedType::kDynamic : mulDims(tokens, d);
  return tokens;
}

/// Checks that `type` has rank >= 2: tokens in its leading dimensions.
static LogicalResult checkTokens(Operation *op, StringRef what, Type type,
                                 StringRef layout) {
  int64_t rank = cast<ShapedType>(type).getRank();
  if (rank >= 2)
    return success();
  return op->emitOpError() << "expected " << what << " of rank >= 2 (" << layout
                           << "), found rank " << rank;
}

LogicalResult MoERouteOp::verify() {
  if (failed(checkTokens(*this, "logits", getLogits().getType(),
                         "[tokens..., experts]")))
    return failure();
  ArrayRef<int64_t> logits = getLogits().getType().getShape();
  if (failed(verifyTopK(*this, getTopK(), logits.back())))
    return failure();
  SmallVector<int64_t> chosen = withLast(logits, getTopK());
  if (failed(checkShape(*this, "weights", getWeights().getType(), chosen)) ||
      failed(checkShape(*this, "indices", getIndices().getType(), chosen)))
    return failure();
  return checkSameElementType(*this, "weights", getWeights().getType(),
                              getLogits().getType(), "the logits");
}

LogicalResult MoEPermuteOp::verify() {
  // (I64Attr's getter is unsigned.)
  const int64_t capacity = static_cast<int64_t>(getCapacity());
  if (capacity < 0)
    return emitOpError() << "expected capacity >= 0 (0: no limit), found "
                         << capacity;
  if (failed(checkPositive(*this, "num_experts", getNumExperts())) ||
      failed(checkTokens(*this, "input", getInput().getType(),
                         "[tokens..., hidden]")) ||
      failed(checkTokens(*this, "indices", getIndices().getType(),
                         "[tokens..., top_k]")))
    return failure();
  ArrayRef<int64_t> x = getInput().getType().getShape();
  ArrayRef<int64_t> idx = getIndices().getType().getShape();
  if (failed(checkShape(*this, "indices", getIndices().getType(),
                        withLast(x, idx.back()))))
    return failure();
  int64_t rows = mulDims(leadingTokens(x), idx.back());
  if (failed(checkShape(*this, "permuted", getPermuted().getType(),
                        {rows, x.back()})) ||
      failed(checkShape(*this, "offsets", getOffsets().getType(),
                        {getNumExperts() + 1})) ||
      failed(checkShape(*this, "sources", getSources().getType(), {rows})))
    return failure();
  return checkSameElementType(*this, "permuted", getPermuted().getType(),
                              getInput().getType(), "the input");
}

LogicalResult GroupedMatmulOp::verify() {
  if (failed(checkRank(*this, "input", getInput().getType(), 2, "[rows, in]")))
    return failure();
  ArrayRef<int64_t> w;
  if (auto quantized = dyn_cast<QuantizedType>(getWeights().getType())) {
    w = quantized.getShape();
    if (w.size() != 3)
      return emitOpError() << "expected quantized weights of rank 3 "
                              "([experts, out, in]), found rank "
                           << w.size();
  } else {
    if (failed(checkRank(*this, "weights", getWeights().getType(), 3,
                         "[experts, out, in]")))
      return failure();
    w = cast<RankedTensorType>(getWeights().getType()).getShape();
  }
  ArrayRef<int64_t> x = getInput().getType().getShape();
  if (!dimsMatch(x[1], w[2]))
    return emitOpError() << "expected weights in-features " << x[1]
                         << " (the input's columns), found " << w[2];
  int64_t groups =
      ShapedType::isDynamic(w[0]) ? ShapedType::kDynamic : w[0] + 1;
  if (failed(checkShape(*this, "offsets", getOffsets().getType(), {groups})) ||
      failed(checkShape(*this, "result", getType(), {x[0], w[1]})))
    return failure();
  return checkSameElementType(*this, "result", getType(), getInput().getType(),
                              "the input");
}

LogicalResult MoECombineOp::verify() {
  if (failed(checkRank(*this, "expert_out", getExpertOut().getType(), 2,
                       "[tokens * top_k, hidden]")) ||
      failed(checkTokens(*this, "weights", getWeights().getType(),
                         "[tokens..., top_k]")))
    return failure();
  ArrayRef<int64_t> eo = getExpertOut().getType().getShape();
  ArrayRef<int64_t> w = getWeights().getType().getShape();
  int64_t rows = mulDims(leadingTokens(w), w.back());
  if (failed(checkShape(*this, "expert_out", getExpertOut().getType(),
                        {rows, eo[1]})) ||
      failed(checkShape(*this, "sources", getSources().getType(), {rows})) ||
      failed(checkShape(*this, "result", getType(), withLast(w, eo[1]))))
    return failure();
  return checkSameElementType(*this, "result", getType(),
                              getExpertOut().getType(), "expert_out");
}

//===----------------------------------------------------------------------===//
// Quantization
//===----------------------------------------------------------------------===//

LogicalResult DequantizeOp::verify() {
  return checkShape(*this, "result", getType(),
                    getInput().getType().getShape());
}

//===----------------------------------------------------------------------===//
// Sampling
//===----------------------------------------------------------------------===//

LogicalResult SampleOp::verify() {
  if (failed(checkRank(*this, "logits", getLogits().getType(), 2,
                       "[batch, vocab]")))
    return failure();
  int64_t batch = getLogits().getType().getShape()[0];
  if (failed(checkShape(*this, "result", getType(), {batch})))
    return failure();
  double temperature = getTemperature().convertToDouble();
  double topP = getTopP().convertToDouble();
  double minP = getMinP().convertToDouble();
  double penalty = getRepetitionPenalty().convertToDouble();
  if (!(temperature >= 0.0))
    return emitOpError() << "expected temperature >= 0, found " << temperature;
  if (getTopK() < 0)
    return emitOpError() << "expected top_k >= 0 (0 disables it), found "
                         << getTopK();
  if (!(topP > 0.0 && topP <= 1.0))
    return emitOpError() << "expected top_p in (0, 1], found " << topP;
  if (!(minP >= 0.0 && minP <= 1.0))
    return emitOpError() << "expected min_p in [0, 1], found " << minP;
  if (!(penalty > 0.0))
    return emitOpError() << "expected repetition_penalty > 0, found "
                         << penalty;
  if (Value prev = getPrevTokens()) {
    if (failed(
            checkRank(*this, "prev_tokens", prev.getType(), 2, "[batch, n]")) ||
        failed(checkShape(*this, "prev_tokens", prev.getType(),
                          {batch, ShapedType::kDynamic})))
      return failure();
  } else if (penalty != 1.0) {
    return emitOpError() << "expected a 'prev_tokens' operand for "
                            "repetition_penalty "
                         << penalty;
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Attention layout
//===----------------------------------------------------------------------===//

LogicalResult SplitHeadsOp::verify() {
  if (failed(checkRank(*this, "input", getInput().getType(), 3,
                       "[batch, seq, heads * head_dim]")))
    return failure();
  ArrayRef<int64_t> x = getInput().getType().getShape();
  FailureOr<int64_t> headDim =
      verifyHeads(*this, "num_heads", getNumHeads(), "input features", x[2]);
  if (failed(headDim) ||
      failed(checkShape(*this, "result", getType(),
                        {x[0], getNumHeads(), x[1], *headDim})))
    return failure();
  return checkSameElementType(*this, "result", getType(), getInput().getType(),
                              "the input");
}

LogicalResult MergeHeadsOp::verify() {
  if (failed(checkRank(*this, "input", getInput().getType(), 4,
                       "[batch, heads, seq, head_dim]")))
    return failure();
  ArrayRef<int64_t> x = getInput().getType().getShape();
  if (failed(checkShape(*this, "result", getType(),
                        {x[0], x[2], mulDims(x[1], x[3])})))
    return failure();
  return checkSameElementType(*this, "result", getType(), getInput().getType(),
                              "the input");
}

LogicalResult RepeatKVOp::verify() {
  if (failed(checkRank(*this, "input", getInput().getType(), 4,
                       "[batch, kv_heads, seq, head_dim]")) ||
      failed(checkPositive(*this, "repeats", getRepeats())))
    return failure();
  ArrayRef<int64_t> x = getInput().getType().getShape();
  if (failed(checkShape(*this, "result", getType(),
                        {x[0], mulDims(x[1], getRepeats()), x[2], x[3]})))
    return failure();
  return checkSameElementType(*this, "result", getType(), getInput().getType(),
                              "the input");
}

#define GET_OP_CLASSES
#include "llm/dialects/LLM/IR/LLMOps.cpp.inc"
