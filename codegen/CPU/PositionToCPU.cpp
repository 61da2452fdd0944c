//===- PositionToCPU.cpp - RoPE, ALiBi and T5 position biases -------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// Position encodings that survive the graph passes: rotary embedding not
// folded into a projection, dynamic NTK's run-time frequency table, and
// materialized ALiBi and T5 biases (the attention kernels take slopes and
// bias tables directly once the passes have run).
//
//===----------------------------------------------------------------------===//

#include "CPULowering.h"

#include "llm/codegen/CPU/LowerToCPU.h"
#include "llm/passes/Passes.h"

using namespace mlir;
using namespace mlir::llm;
using namespace mlir::llm::cpu;

namespace {

/// `llm.rope` -> llmk_rope.
struct RoPELowering : CPUOpLowering<RoPEOp> {
  using CPUOpLowering::CPUOpLowering;
  LogicalResult
  matchAndRewrite(RoPEOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    KernelCall call(rewriter, op, lowering);
    if (failed(call.requireI64(op.getPositions(), "positions")))
      return call.abandon();
    llmk::RopeScalingParams s = getRopeScalingParams(op.getScalingAttr());
    call.emit(Kernel::llmk_rope,
              {adaptor.getInput(), adaptor.getPositions(), call.out(),
               call.i64(getRows(op.getInput())), call.i64(op.getNumHeads()),
               call.i64(op.getHeadDim()), call.i64(op.getEffectiveRotaryDim()),
               call.f64(op.getTheta().convertToDouble()),
               call.i32(op.getPairing() == RopePairing::GPTJ ? 1 : 0),
               call.i32(s.kind), call.f64(s.factor),
               call.i64(s.originalMaxPosition), call.f64(s.lowFreqFactor),
               call.f64(s.highFreqFactor), call.f64(s.betaFast),
               call.f64(s.betaSlow), call.f64(s.attentionFactor),
               // The kernel takes the sequence length from the positions.
               call.i64(-1)});
    return call.replace();
  }
};

/// `llm.rope_inv_freq` -> llmk_rope_inv_freq_at (once per call, over all
/// the call's positions).
struct RoPEInvFreqLowering : CPUOpLowering<RoPEInvFreqOp> {
  using CPUOpLowering::CPUOpLowering;
  LogicalResult
  matchAndRewrite(RoPEInvFreqOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    KernelCall call(rewriter, op, lowering);
    if (failed(call.requireI64(op.getPositions(), "positions")))
      return call.abandon();
    llmk::RopeScalingParams s = getRopeScalingParams(op.getScalingAttr());
    call.emit(Kernel::llmk_rope_inv_freq_at,
              {adaptor.getPositions(),
               call.i64(getNumElements(op.getPositions())), call.out(),
               call.i64(op.getRotaryDim()),
               call.f64(op.getTheta().convertToDouble()), call.i32(s.kind),
               call.f64(s.factor), call.i64(s.originalMaxPosition),
               call.f64(s.lowFreqFactor), call.f64(s.highFreqFactor),
               call.f64(s.betaFast), call.f64(s.betaSlow),
               call.f64(s.attentionFactor)});
    return call.replace();
  }
};

/// `llm.alibi` -> llmk_alibi (a materialized bias).
struct AlibiLowering : CPUOpLowering<AlibiOp> {
  using CPUOpLowering::CPUOpLowering;
  LogicalResult
  matchAndRewrite(AlibiOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    KernelCall call(rewriter, op, lowering);
    ArrayRef<int64_t> s = getShape(op.getResult());
    call.emit(Kernel::llmk_alibi,
              {call.out(), call.i64(s[0]), call.i64(s[1]), call.i64(s[2]),
               call.f64(op.getMaxBias().convertToDouble())});
    return call.replace();
  }
};

/// `llm.relative_position_bias` -> llmk_relative_position_bias.
struct RelativePositionBiasLowering : CPUOpLowering<RelativePositionBiasOp> {
  using CPUOpLowering::CPUOpLowering;
  LogicalResult
  matchAndRewrite(RelativePositionBiasOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    KernelCall call(rewriter, op, lowering);
    if (failed(call.requireF32(op.getTable(), "bias table")))
      return call.abandon();
    ArrayRef<int64_t> s = getShape(op.getResult());
    call.emit(Kernel::llmk_relative_position_bias,
              {adaptor.getTable(), call.out(), call.i64(s[0]), call.i64(s[1]),
               call.i64(s[2]), call.i64(op.getNumBuckets()),
               call.i64(op.getMaxDistance()),
               call.i32(op.getBidirectional() ? 1 : 0)});
    return call.replace();
  }
};

} // namespace

void mlir::llm::populatePositionToCPUPatterns(cpu::CPULowering &lowering,
                                              RewritePatternSet &patterns) {
  patterns.add<RoPELowering, RoPEInvFreqLowering, AlibiLowering,
               RelativePositionBiasLowering>(lowering, patterns.getContext());
}
