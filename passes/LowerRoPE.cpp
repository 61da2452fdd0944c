//===- LowerRoPE.cpp - Rotary embedding in the projection epilogue --------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// Implements --llm-lower-rope: llm.rope of a projection becomes
// llm.linear_rope with a compile-time table of inverse frequencies.
//
//===----------------------------------------------------------------------===//

#include "llm/dialects/LLM/IR/LLMOps.h"
#include "llm/passes/Passes.h"

#include "PositionMath.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::llm {
#define GEN_PASS_DEF_LOWERROPEPASS
#include "llm/passes/Passes.h.inc"
} // namespace mlir::llm

using namespace mlir;
using namespace mlir::llm;

llmk::RopeScalingParams mlir::llm::getRopeScalingParams(RopeScalingAttr s) {
  llmk::RopeScalingParams params;
  if (!s)
    return params;
  params.kind = static_cast<int32_t>(s.getKind());
  params.factor = s.getFactor().convertToDouble();
  params.originalMaxPosition = s.getOriginalMaxPosition();
  params.lowFreqFactor = s.getLowFreqFactor().convertToDouble();
  params.highFreqFactor = s.getHighFreqFactor().convertToDouble();
  params.betaFast = s.getBetaFast().convertToDouble();
  params.betaSlow = s.getBetaSlow().convertToDouble();
  params.attentionFactor = s.getAttentionFactor().convertToDouble();
  return params;
}

namespace {

/// rope(linear(x)) with a length-independent scaling -> linear_rope.
struct FoldRoPEIntoProjection : OpRewritePattern<RoPEOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(RoPEOp rope,
                                PatternRewriter &rewriter) const override {
    auto linear = rope.getInput().getDefiningOp<LinearOp>();
    if (!linear || !linear->hasOneUse())
      return rewriter.notifyMatchFailure(rope, "input is not a projection "
                                               "used only by the rope");
    RopeScalingAttr scaling = rope.getScalingAttr();
    RopeScalingKind kind = scaling ? scaling.getKind() : RopeScalingKind::None;
    int64_t rotaryDim = rope.getEffectiveRotaryDim();
    auto tableType =
        RankedTensorType::get({rotaryDim / 2}, rewriter.getF32Type());
    auto replace = [&](Value table, float attentionScaling) {
      rewriter.replaceOpWithNewOp<LinearRoPEOp>(
          rope, rope.getType(), linear.getInput(), linear.getWeight(),
          linear.getBias(), rope.getPositions(), table,
          rewriter.getI64IntegerAttr(rope.getNumHeads()),
          rewriter.getI64IntegerAttr(rotaryDim), rope.getPairingAttr(),
          rewriter.getF64FloatAttr(attentionScaling));
      rewriter.eraseOp(linear);
      return success();
    };
    // Dynamic NTK depends on the length the call sees: its table is
    // computed at run time, from the positions.
    if (kind == RopeScalingKind::Dynamic)
      return replace(
          RoPEInvFreqOp::create(rewriter, rope.getLoc(), tableType,
                                rope.getPositions(),
                                rewriter.getI64IntegerAttr(rotaryDim),
                                rope.getThetaAttr(), scaling),
          1.0f);
    llmk::RopeScalingParams params = getRopeScalingParams(scaling);
    double theta = rope.getTheta().convertToDouble();
    if (!llmk::isValidRopeScaling(rotaryDim, theta, params))
      return rewriter.notifyMatchFailure(rope, "unsupported rope parameters");
    llmk::RopeFrequencies freqs =
        llmk::ropeFrequencies(rotaryDim, theta, params, /*seqLen=*/0);
    Value table = arith::ConstantOp::create(
        rewriter, rope.getLoc(),
        DenseElementsAttr::get(tableType,
                               llvm::ArrayRef<float>(freqs.invFreq)));
    return replace(table, freqs.attentionScaling);
  }
};

struct LowerRoPEPass : llm::impl::LowerRoPEPassBase<LowerRoPEPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FoldRoPEIntoProjection>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
