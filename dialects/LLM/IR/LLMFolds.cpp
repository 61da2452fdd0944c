//===- LLMFolds.cpp - Canonicalization of the llm dialect's operations ----===//
//
// Part of LLMC, under the Apache License v2.0.
//
// Canonical forms let later passes match one spelling of each computation:
// a window that covers every key is a causal mask, top-1 sampling is greedy,
// and a rotary scaling that changes nothing is absent.
//
//===----------------------------------------------------------------------===//

#include "llm/dialects/LLM/IR/LLMOps.h"

#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace mlir::llm;

namespace {

/// A sliding window at least as long as the keys masks nothing that the
/// causal mask does not: rewrite it as `causal`.
struct WideSlidingWindowToCausal : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getMask() != MaskKind::SlidingWindow || !op.getWindow())
      return failure();
    int64_t kvLen = op.getKey().getType().getShape()[1];
    if (ShapedType::isDynamic(kvLen) || *op.getWindow() < kvLen)
      return failure();
    rewriter.modifyOpInPlace(op, [&] {
      op.setMask(MaskKind::Causal);
      op.removeWindowAttr();
    });
    return success();
  }
};

/// Greedy sampling ignores top-k, top-p, min-p and the seed; top-1 sampling
/// is greedy. Both become `temperature = 0` with the filters disabled.
struct CanonicalizeGreedySample : OpRewritePattern<SampleOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(SampleOp op,
                                PatternRewriter &rewriter) const override {
    bool greedy = op.isGreedy() || op.getTopK() == 1;
    if (!greedy)
      return failure();
    bool canonical = op.isGreedy() && op.getTopK() == 0 &&
                     op.getTopP().convertToDouble() == 1.0 &&
                     op.getMinP().convertToDouble() == 0.0 && op.getSeed() == 0;
    if (canonical)
      return failure();
    rewriter.modifyOpInPlace(op, [&] {
      op.setTemperature(APFloat(0.0));
      op.setTopK(0);
      op.setTopP(APFloat(1.0));
      op.setMinP(APFloat(0.0));
      op.setSeed(0);
    });
    return success();
  }
};

/// `none` scaling and `linear` scaling by 1 leave the frequencies unchanged.
struct DropIdentityRopeScaling : OpRewritePattern<RoPEOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(RoPEOp op,
                                PatternRewriter &rewriter) const override {
    std::optional<RopeScalingAttr> scaling = op.getScaling();
    if (!scaling)
      return failure();
    bool identity = scaling->getKind() == RopeScalingKind::None ||
                    (scaling->getKind() == RopeScalingKind::Linear &&
                     scaling->getFactor().convertToDouble() == 1.0);
    if (!identity)
      return failure();
    rewriter.modifyOpInPlace(op, [&] { op.removeScalingAttr(); });
    return success();
  }
};

} // namespace

void AttentionOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                              MLIRContext *context) {
  results.add<WideSlidingWindowToCausal>(context);
}

void SampleOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                           MLIRContext *context) {
  results.add<CanonicalizeGreedySample>(context);
}

void RoPEOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                         MLIRContext *context) {
  results.add<DropIdentityRopeScaling>(context);
}
