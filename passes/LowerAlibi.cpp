//===- LowerAlibi.cpp - ALiBi biases into per-head slopes -----------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// Implements --llm-lower-alibi: attention whose bias is an llm.alibi gets the
// bias's slopes as an `alibi_slopes` constant instead, so the kernel adds
// `slope_h * (j - i')` as it computes each score and the [heads, q_len,
// kv_len] bias tensor disappears.
//
//===----------------------------------------------------------------------===//

#include "llm/dialects/LLM/IR/LLMOps.h"
#include "llm/passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>

namespace mlir::llm {
#define GEN_PASS_DEF_LOWERALIBIPASS
#include "llm/passes/Passes.h.inc"
} // namespace mlir::llm

using namespace mlir;
using namespace mlir::llm;

SmallVector<float> mlir::llm::computeAlibiSlopes(int64_t heads,
                                                 double maxBias) {
  SmallVector<float> slopes(std::max<int64_t>(heads, 0));
  llmk::alibiSlopes(heads, maxBias, slopes.data());
  return slopes;
}

Value mlir::llm::createAlibiSlopes(OpBuilder &builder, Value bias,
                                   int64_t numHeads) {
  if (!bias)
    return Value();
  if (auto expand = bias.getDefiningOp<tensor::ExpandShapeOp>()) {
    SmallVector<ReassociationIndices> groups = expand.getReassociationIndices();
    if (expand.getResultType().getRank() == 4 &&
        expand.getResultType().getDimSize(0) == 1 && groups.size() == 3 &&
        groups[0] == ReassociationIndices{0, 1})
      bias = expand.getSrc();
  }
  auto alibi = bias.getDefiningOp<AlibiOp>();
  if (!alibi)
    return Value();
  int64_t heads = alibi.getType().getDimSize(0);
  if (heads != numHeads && heads != 1)
    return Value();
  SmallVector<float> slopes =
      computeAlibiSlopes(heads, alibi.getMaxBias().convertToDouble());
  slopes.resize(numHeads, slopes.front());
  auto type = RankedTensorType::get({numHeads}, builder.getF32Type());
  return arith::ConstantOp::create(
      builder, alibi.getLoc(),
      DenseElementsAttr::get(type, ArrayRef<float>(slopes)));
}

namespace {

/// `llm.flash_attention` with an ALiBi bias takes its slopes instead.
struct FlashAttentionAlibiToSlopes : OpRewritePattern<FlashAttentionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(FlashAttentionOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getAlibiSlopes())
      return rewriter.notifyMatchFailure(op, "already has slopes");
    Value slopes = createAlibiSlopes(rewriter, op.getBias(), op.getNumHeads());
    if (!slopes)
      return rewriter.notifyMatchFailure(op, "bias is not an llm.alibi");
    rewriter.replaceOpWithNewOp<FlashAttentionOp>(
        op, op.getType(), op.getQuery(), op.getKey(), op.getValue(),
        op.getKeyPadding(), /*bias=*/Value(), slopes, op.getNumHeadsAttr(),
        op.getNumKvHeadsAttr(), op.getScaleAttr(), op.getMaskAttr(),
        op.getWindowAttr(), op.getBlockQAttr(), op.getBlockKvAttr());
    return success();
  }
};

/// `llm.attention` with an ALiBi bias becomes `llm.flash_attention`, the op
/// that carries slopes, with the same inputs, mask and effective scale.
struct AttentionAlibiToSlopes : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    Value slopes = createAlibiSlopes(rewriter, op.getBias(), op.getNumHeads());
    if (!slopes)
      return rewriter.notifyMatchFailure(op, "bias is not an llm.alibi");
    rewriter.replaceOpWithNewOp<FlashAttentionOp>(
        op, op.getType(), op.getQuery(), op.getKey(), op.getValue(),
        op.getKeyPadding(), /*bias=*/Value(), slopes, op.getNumHeadsAttr(),
        op.getNumKvHeadsAttr(),
        rewriter.getF64FloatAttr(op.getEffectiveScale()), op.getMaskAttr(),
        op.getWindowAttr(), /*block_q=*/IntegerAttr(),
        /*block_kv=*/IntegerAttr());
    return success();
  }
};

} // namespace

void mlir::llm::populateLowerAlibiPatterns(RewritePatternSet &patterns) {
  patterns.add<FlashAttentionAlibiToSlopes, AttentionAlibiToSlopes>(
      patterns.getContext());
}

namespace {

struct LowerAlibiPass : llm::impl::LowerAlibiPassBase<LowerAlibiPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateLowerAlibiPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
