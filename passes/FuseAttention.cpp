//===- FuseAttention.cpp - Decomposed attention into flash attention ------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// Implements --llm-fuse-attention: finds softmax(Q·Kᵀ * scale + bias + mask)
// · V spelled out with llm.matmul, arith and head-layout ops, and replaces it
// with one llm.flash_attention over the packed q, k and v. Every check whose
// failure could change the result refuses the match, leaving the IR as it
// was.
//
//===----------------------------------------------------------------------===//

#include "llm/dialects/LLM/IR/LLMOps.h"
#include "llm/passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::llm {
#define GEN_PASS_DEF_FUSEATTENTIONPASS
#include "llm/passes/Passes.h.inc"
} // namespace mlir::llm

using namespace mlir;
using namespace mlir::llm;

namespace {

//===----------------------------------------------------------------------===//
// Matching helpers
//===----------------------------------------------------------------------===//

/// Additive mask entries at or below this hide a key as -inf does: the
/// masks of exported graphs use the dtype's lowest value or -1e9.
constexpr double kMaskedThreshold = -1e9;

/// The value of a positive splat floating-point constant.
std::optional<double> getPositiveSplat(Value value) {
  DenseFPElementsAttr attr;
  if (!matchPattern(value, m_Constant(&attr)) || !attr.isSplat())
    return std::nullopt;
  double splat = attr.getSplatValue<APFloat>().convertToDouble();
  if (!(splat > 0.0) || !std::isfinite(splat))
    return std::nullopt;
  return splat;
}

/// True for an entry that hides a key: -inf or a large negative value.
bool isMaskedValue(const APFloat &value) {
  return value.isNegative() &&
         (value.isInfinity() || value.convertToDouble() <= kMaskedThreshold);
}

/// Looks through multiplications of `value` by positive splats (either
/// operand) and divisions by them, multiplying their factor into `scale`.
Value peelScale(Value value, double &scale) {
  while (Operation *def = value.getDefiningOp()) {
    if (auto mul = dyn_cast<arith::MulFOp>(def)) {
      if (std::optional<double> s = getPositiveSplat(mul.getRhs())) {
        scale *= *s;
        value = mul.getLhs();
        continue;
      }
      if (std::optional<double> s = getPositiveSplat(mul.getLhs())) {
        scale *= *s;
        value = mul.getRhs();
        continue;
      }
    }
    if (auto div = dyn_cast<arith::DivFOp>(def)) {
      if (std::optional<double> s = getPositiveSplat(div.getRhs())) {
        scale /= *s;
        value = div.getLhs();
        continue;
      }
    }
    break;
  }
  return value;
}

bool isPermutation(linalg::TransposeOp op, ArrayRef<int64_t> permutation) {
  return op.getPermutation() == permutation;
}

/// True for the reassociation `groups` of the given form, e.g. {{0}, {1},
/// {2, 3}}.
bool isReassociation(ArrayRef<ReassociationIndices> groups,
                     ArrayRef<ArrayRef<int64_t>> expected) {
  if (groups.size() != expected.size())
    return false;
  for (auto [group, want] : llvm::zip(groups, expected))
    if (ArrayRef<int64_t>(group) != want)
      return false;
  return true;
}

/// A `[batch, heads, seq, head_dim]` attention operand traced back to its
/// packed `[batch, seq, heads * head_dim]` source.
struct HeadSource {
  Value packed;
  int64_t numHeads = 0;
  /// `llm.repeat_kv` factor between the split and the product.
  int64_t repeats = 1;
};

/// `[b, s, h * d]` expanded to `[b, s, h, d]`.
FailureOr<HeadSource> matchExpandedHeads(Value value) {
  auto expand = value.getDefiningOp<tensor::ExpandShapeOp>();
  if (!expand || expand.getSrcType().getRank() != 3 ||
      !isReassociation(expand.getReassociationIndices(), {{0}, {1}, {2, 3}}))
    return failure();
  return HeadSource{expand.getSrc(), expand.getResultType().getDimSize(2)};
}

/// Heads split from packed activations by `llm.split_heads`, or by
/// `tensor.expand_shape` to `[b, s, h, d]` and `linalg.transpose [0, 2, 1,
/// 3]`.
FailureOr<HeadSource> matchSplitHeads(Value value) {
  if (auto split = value.getDefiningOp<SplitHeadsOp>())
    return HeadSource{split.getInput(), split.getNumHeads()};
  auto transpose = value.getDefiningOp<linalg::TransposeOp>();
  if (!transpose || !isPermutation(transpose, {0, 2, 1, 3}))
    return failure();
  return matchExpandedHeads(transpose.getInput());
}

/// Traces a per-head operand of an attention product to its packed source
/// through `llm.repeat_kv`. For queries and keys (`scale` given), splat
/// factors anywhere on the way scale the scores and are collected; a factor
/// on the values would scale the output and is not looked through.
FailureOr<HeadSource> matchHeads(Value value, double *scale) {
  if (scale)
    value = peelScale(value, *scale);
  int64_t repeats = 1;
  if (auto repeat = value.getDefiningOp<RepeatKVOp>()) {
    repeats = repeat.getRepeats();
    value = repeat.getInput();
    if (scale)
      value = peelScale(value, *scale);
  }
  FailureOr<HeadSource> source = matchSplitHeads(value);
  if (failed(source))
    return failure();
  source->repeats = repeats;
  if (scale)
    source->packed = peelScale(source->packed, *scale);
  return source;
}

/// The keys of the score product `Q·Kᵀ`: the rhs with `transpose_rhs`, or a
/// `linalg.transpose` that swaps the last two dimensions of the key heads
/// (or makes `[b, h, d, s]` straight from `[b, s, h, d]`).
FailureOr<HeadSource> matchKeyHeads(MatmulOp product, double &scale) {
  if (product.getTransposeRhs())
    return matchHeads(product.getRhs(), &scale);
  auto transpose = product.getRhs().getDefiningOp<linalg::TransposeOp>();
  if (!transpose)
    return failure();
  if (isPermutation(transpose, {0, 1, 3, 2}))
    return matchHeads(transpose.getInput(), &scale);
  if (!isPermutation(transpose, {0, 2, 3, 1}))
    return failure();
  FailureOr<HeadSource> source =
      matchExpandedHeads(peelScale(transpose.getInput(), scale));
  if (succeeded(source))
    source->packed = peelScale(source->packed, scale);
  return source;
}

//===----------------------------------------------------------------------===//
// Masks
//===----------------------------------------------------------------------===//

struct MaskInfo {
  MaskKind kind = MaskKind::Bidirectional;
  std::optional<int64_t> window;
  /// Keys are hidden by a finite value rather than -inf: a scale applied
  /// after the mask would shrink it.
  bool finite = false;
};

/// The mask kind whose visible keys are `visible` (row-major over the
/// `[batch, heads, q_len, kv_len]` scores): every batch and head must see
/// the same keys, and query `i` (at position `i + kv_len - q_len`) all of
/// them, those up to its position, or the last `window` of those.
FailureOr<MaskInfo> classifyMask(ArrayRef<bool> visible,
                                 ArrayRef<int64_t> shape) {
  if (shape.size() != 4 || ShapedType::isDynamicShape(shape))
    return failure();
  int64_t qLen = shape[2], kvLen = shape[3];
  size_t plane = qLen * kvLen;
  if (plane == 0 || visible.size() % plane != 0)
    return failure();
  ArrayRef<bool> first = visible.take_front(plane);
  for (size_t offset = plane; offset < visible.size(); offset += plane)
    if (visible.slice(offset, plane) != first)
      return failure();
  if (llvm::all_of(first, [](bool v) { return v; }))
    return MaskInfo{};
  if (qLen > kvLen)
    return failure();
  // Each row sees one run of keys that ends at its own position.
  SmallVector<int64_t> begins;
  for (int64_t i = 0; i < qLen; ++i) {
    int64_t position = i + kvLen - qLen;
    ArrayRef<bool> row = first.slice(i * kvLen, kvLen);
    int64_t begin = 0;
    while (begin < kvLen && !row[begin])
      ++begin;
    if (begin > position)
      return failure();
    for (int64_t j = 0; j < kvLen; ++j)
      if (row[j] != (j >= begin && j <= position))
        return failure();
    begins.push_back(begin);
  }
  std::optional<int64_t> window;
  for (int64_t i = 0; i < qLen; ++i)
    if (begins[i] > 0) {
      window = i + kvLen - qLen - begins[i] + 1;
      break;
    }
  if (!window)
    return MaskInfo{MaskKind::Causal, std::nullopt};
  for (int64_t i = 0; i < qLen; ++i) {
    int64_t position = i + kvLen - qLen;
    if (begins[i] != std::max<int64_t>(0, position - *window + 1))
      return failure();
  }
  return MaskInfo{MaskKind::SlidingWindow, window};
}

/// The keys an additive mask constant leaves visible: 0 keeps a key, -inf
/// (or a large negative value, which sets `finite`) hides it; anything else
/// is a bias, not a mask.
FailureOr<SmallVector<bool>> getAdditiveMaskVisibility(DenseFPElementsAttr attr,
                                                       bool &finite) {
  SmallVector<bool> visible;
  visible.reserve(attr.getNumElements());
  for (const APFloat &value : attr.getValues<APFloat>()) {
    if (value.isZero()) {
      visible.push_back(true);
    } else if (isMaskedValue(value)) {
      visible.push_back(false);
      finite |= !value.isInfinity();
    } else {
      return failure();
    }
  }
  return visible;
}

FailureOr<MaskInfo> classifyAdditiveMask(DenseFPElementsAttr attr) {
  ArrayRef<int64_t> shape = attr.getType().getShape();
  if (attr.isSplat()) {
    if (attr.getSplatValue<APFloat>().isZero())
      return MaskInfo{};
    return failure();
  }
  bool finite = false;
  FailureOr<SmallVector<bool>> visible =
      getAdditiveMaskVisibility(attr, finite);
  if (failed(visible))
    return failure();
  FailureOr<MaskInfo> mask = classifyMask(*visible, shape);
  if (succeeded(mask))
    mask->finite = finite;
  return mask;
}

/// `arith.select` of a constant condition between the scores and a splat
/// that hides keys; returns the scores operand and the mask.
FailureOr<std::pair<Value, MaskInfo>> matchSelectMask(arith::SelectOp select) {
  DenseIntElementsAttr condition;
  if (!matchPattern(select.getCondition(), m_Constant(&condition)) ||
      !condition.getElementType().isInteger(1))
    return failure();
  bool finite = false;
  auto isMaskSplat = [&](Value value) {
    DenseFPElementsAttr attr;
    if (!matchPattern(value, m_Constant(&attr)) || !attr.isSplat() ||
        !isMaskedValue(attr.getSplatValue<APFloat>()))
      return false;
    finite = !attr.getSplatValue<APFloat>().isInfinity();
    return true;
  };
  // The condition selects the scores (true keeps a key) or the mask value
  // (true hides it).
  bool keepOnTrue;
  Value scores;
  if (isMaskSplat(select.getFalseValue())) {
    keepOnTrue = true;
    scores = select.getTrueValue();
  } else if (isMaskSplat(select.getTrueValue())) {
    keepOnTrue = false;
    scores = select.getFalseValue();
  } else {
    return failure();
  }
  // A splat condition keeps every key or none: no need to expand it (a
  // [1, 1, 40000, 40000] splat was 1.6e9 bools).
  if (condition.isSplat()) {
    if (condition.getSplatValue<bool>() != keepOnTrue)
      return failure();
    MaskInfo all;
    all.finite = finite;
    return std::make_pair(scores, all);
  }
  SmallVector<bool> visible;
  visible.reserve(condition.getNumElements());
  for (bool hit : condition.getValues<bool>())
    visible.push_back(hit == keepOnTrue);
  FailureOr<MaskInfo> mask =
      classifyMask(visible, condition.getType().getShape());
  if (failed(mask))
    return failure();
  mask->finite = finite;
  return std::make_pair(scores, *mask);
}

//===----------------------------------------------------------------------===//
// Scores
//===----------------------------------------------------------------------===//

/// What lies between the score product and the softmax.
struct ScoreChain {
  MatmulOp product;
  double scale = 1.0;
  /// A scale was seen between here and the softmax: a bias below it would
  /// be scaled too, which the fused op cannot express.
  bool scaledAbove = false;
  std::optional<MaskInfo> mask;
  Value bias;
};

/// Walks from the softmax input down to `Q·Kᵀ` through at most one bias,
/// one mask and any positive scales, each intermediate used only here.
LogicalResult matchScoreChain(Value value, ScoreChain &chain) {
  if (!value.hasOneUse())
    return failure();
  Operation *def = value.getDefiningOp();
  if (!def)
    return failure();
  if (auto product = dyn_cast<MatmulOp>(def)) {
    chain.product = product;
    return success();
  }
  if (auto mul = dyn_cast<arith::MulFOp>(def)) {
    for (auto [scores, factor] : {std::pair(mul.getLhs(), mul.getRhs()),
                                  std::pair(mul.getRhs(), mul.getLhs())})
      if (std::optional<double> s = getPositiveSplat(factor)) {
        chain.scale *= *s;
        chain.scaledAbove = true;
        return matchScoreChain(scores, chain);
      }
    return failure();
  }
  if (auto div = dyn_cast<arith::DivFOp>(def)) {
    std::optional<double> s = getPositiveSplat(div.getRhs());
    if (!s)
      return failure();
    chain.scale /= *s;
    chain.scaledAbove = true;
    return matchScoreChain(div.getLhs(), chain);
  }
  if (auto select = dyn_cast<arith::SelectOp>(def)) {
    FailureOr<std::pair<Value, MaskInfo>> mask = matchSelectMask(select);
    if (failed(mask) || chain.mask ||
        (mask->second.finite && chain.scaledAbove))
      return failure();
    chain.mask = mask->second;
    return matchScoreChain(mask->first, chain);
  }
  auto add = dyn_cast<arith::AddFOp>(def);
  if (!add)
    return failure();
  for (auto [scores, other] : {std::pair(add.getLhs(), add.getRhs()),
                               std::pair(add.getRhs(), add.getLhs())}) {
    DenseFPElementsAttr constant;
    if (!matchPattern(other, m_Constant(&constant)))
      continue;
    // A constant added to the scores must be a mask kind.
    FailureOr<MaskInfo> mask = classifyAdditiveMask(constant);
    if (failed(mask) || chain.mask || (mask->finite && chain.scaledAbove))
      return failure();
    chain.mask = *mask;
    return matchScoreChain(scores, chain);
  }
  if (chain.bias || chain.scaledAbove)
    return failure();
  for (auto [scores, bias] : {std::pair(add.getLhs(), add.getRhs()),
                              std::pair(add.getRhs(), add.getLhs())}) {
    ScoreChain attempt = chain;
    attempt.bias = bias;
    if (succeeded(matchScoreChain(scores, attempt))) {
      chain = attempt;
      return success();
    }
  }
  return failure();
}

/// The bias operand of the fused op: a `[heads, q_len, kv_len]` bias
/// brought to the scores' rank (`tensor.expand_shape` to a unit batch, or
/// `linalg.broadcast` over the batch) is taken from before that.
Value getFusedBias(Value bias) {
  auto expand = bias.getDefiningOp<tensor::ExpandShapeOp>();
  if (expand && expand.getSrcType().getRank() == 3 &&
      expand.getResultType().getRank() == 4 &&
      expand.getResultType().getDimSize(0) == 1 &&
      isReassociation(expand.getReassociationIndices(), {{0, 1}, {2}, {3}}))
    return expand.getSrc();
  auto broadcast = bias.getDefiningOp<linalg::BroadcastOp>();
  if (broadcast && broadcast->getNumResults() == 1 &&
      broadcast.getDimensions() == ArrayRef<int64_t>{0} &&
      cast<ShapedType>(broadcast.getInput().getType()).getRank() == 3)
    return broadcast.getInput();
  return bias;
}

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

/// Replaces `root`, which packs the heads `heads` (`[batch, heads, q_len,
/// head_dim]`) of a decomposed attention, by `llm.flash_attention`.
LogicalResult fuseAttention(Operation *root, Value heads, int64_t blockQ,
                            int64_t blockKv, PatternRewriter &rewriter) {
  auto output = heads.getDefiningOp<MatmulOp>();
  if (!output || output.getTransposeRhs() || !heads.hasOneUse())
    return rewriter.notifyMatchFailure(root, "heads are not a P·V product");
  auto softmax = output.getLhs().getDefiningOp<SoftmaxOp>();
  if (!softmax)
    return rewriter.notifyMatchFailure(root, "P is not a softmax");
  int64_t rank = softmax.getType().getRank();
  if (rank != 4 || softmax.getAxis() != rank - 1)
    return rewriter.notifyMatchFailure(root, "softmax not over the keys");
  if (!softmax.getResult().hasOneUse())
    return rewriter.notifyMatchFailure(root, "probabilities have other users");

  ScoreChain chain;
  if (failed(matchScoreChain(softmax.getInput(), chain)))
    return rewriter.notifyMatchFailure(
        root, "scores are not Q·Kᵀ with scale, bias and mask");
  double scale = chain.scale;
  MatmulOp product = chain.product;
  FailureOr<HeadSource> query = matchHeads(product.getLhs(), &scale);
  FailureOr<HeadSource> key = matchKeyHeads(product, scale);
  FailureOr<HeadSource> value = matchHeads(output.getRhs(), nullptr);
  if (failed(query) || failed(key) || failed(value))
    return rewriter.notifyMatchFailure(root, "q, k or v is not split heads");
  if (query->repeats != 1)
    return rewriter.notifyMatchFailure(root, "repeated query heads");
  if (key->numHeads != value->numHeads || key->repeats != value->repeats ||
      key->numHeads * key->repeats != query->numHeads)
    return rewriter.notifyMatchFailure(root, "mismatched heads");
  Type element = getElementTypeOrSelf(query->packed.getType());
  if (getElementTypeOrSelf(key->packed.getType()) != element ||
      getElementTypeOrSelf(value->packed.getType()) != element)
    return rewriter.notifyMatchFailure(root, "mixed element types");
  if (!(scale > 0.0) || !std::isfinite(scale))
    return rewriter.notifyMatchFailure(root, "scale out of range");

  MaskInfo mask = chain.mask.value_or(MaskInfo{});
  Value bias = chain.bias ? getFusedBias(chain.bias) : Value();
  // ALiBi needs no bias tensor: take its slopes now, as --llm-lower-alibi
  // would, so that none is left whatever order a pipeline runs the passes.
  Value slopes = createAlibiSlopes(rewriter, bias, query->numHeads);
  if (slopes)
    bias = Value();
  auto fused = FlashAttentionOp::create(
      rewriter, root->getLoc(), root->getResult(0).getType(), query->packed,
      key->packed, value->packed, /*key_padding=*/Value(), bias, slopes,
      rewriter.getI64IntegerAttr(query->numHeads),
      rewriter.getI64IntegerAttr(key->numHeads),
      rewriter.getF64FloatAttr(scale),
      MaskKindAttr::get(rewriter.getContext(), mask.kind),
      mask.window ? rewriter.getI64IntegerAttr(*mask.window) : IntegerAttr(),
      rewriter.getI64IntegerAttr(blockQ), rewriter.getI64IntegerAttr(blockKv));
  rewriter.replaceOp(root, fused.getResult());
  return success();
}

/// Fuses the attention whose heads `llm.merge_heads` packs.
struct FuseMergedAttention : OpRewritePattern<MergeHeadsOp> {
  FuseMergedAttention(MLIRContext *context, int64_t blockQ, int64_t blockKv)
      : OpRewritePattern(context), blockQ(blockQ), blockKv(blockKv) {}

  LogicalResult matchAndRewrite(MergeHeadsOp op,
                                PatternRewriter &rewriter) const override {
    return fuseAttention(op, op.getInput(), blockQ, blockKv, rewriter);
  }

  int64_t blockQ, blockKv;
};

/// Fuses the attention whose heads `linalg.transpose [0, 2, 1, 3]` and
/// `tensor.collapse_shape` pack.
struct FuseCollapsedAttention : OpRewritePattern<tensor::CollapseShapeOp> {
  FuseCollapsedAttention(MLIRContext *context, int64_t blockQ, int64_t blockKv)
      : OpRewritePattern(context), blockQ(blockQ), blockKv(blockKv) {}

  LogicalResult matchAndRewrite(tensor::CollapseShapeOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getSrcType().getRank() != 4 ||
        !isReassociation(op.getReassociationIndices(), {{0}, {1}, {2, 3}}))
      return failure();
    auto transpose = op.getSrc().getDefiningOp<linalg::TransposeOp>();
    if (!transpose || !isPermutation(transpose, {0, 2, 1, 3}) ||
        !op.getSrc().hasOneUse())
      return failure();
    return fuseAttention(op, transpose.getInput(), blockQ, blockKv, rewriter);
  }

  int64_t blockQ, blockKv;
};

} // namespace

void mlir::llm::populateFuseAttentionPatterns(RewritePatternSet &patterns,
                                              int64_t blockQ, int64_t blockKv) {
  patterns.add<FuseMergedAttention, FuseCollapsedAttention>(
      patterns.getContext(), blockQ, blockKv);
}

namespace {

struct FuseAttentionPass : llm::impl::FuseAttentionPassBase<FuseAttentionPass> {
  using Base::Base;

  void runOnOperation() override {
    if (blockQ <= 0 || blockKv <= 0) {
      getOperation().emitError()
          << "llm-fuse-attention: expected block-q > 0 and block-kv > 0, "
             "found block-q = "
          << blockQ.getValue() << ", block-kv = " << blockKv.getValue();
      return signalPassFailure();
    }
    RewritePatternSet patterns(&getContext());
    populateFuseAttentionPatterns(patterns, blockQ, blockKv);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
