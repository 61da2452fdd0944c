//===- AttentionToCPU.cpp - Attention and the paged KV cache --------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// Attention over the call's own keys (llm.attention, llm.flash_attention:
// the tiled online-softmax kernel, which never builds the score matrix) and
// over a paged KV cache (llm.kv_cache_append, llm.paged_attention: the cache
// descriptor is updated in place).
//
//===----------------------------------------------------------------------===//

#include "CPULowering.h"

#include "llm/codegen/CPU/LowerToCPU.h"

using namespace mlir;
using namespace mlir::llm;
using namespace mlir::llm::cpu;

namespace {

/// The operands of llmk_attention that both attention ops share.
struct AttentionArgs {
  Value q, k, v, keyPadding, bias, slopes;
  /// The original (tensor) q, k, v and bias, for their shapes.
  Value qType, kType, vType, biasType;
  int64_t numHeads, numKvHeads;
  double scale;
  MaskKind mask;
  std::optional<int64_t> window;
};

void emitAttention(KernelCall &call, const AttentionArgs &a) {
  ArrayRef<int64_t> qs = getShape(a.qType), ks = getShape(a.kType),
                    vs = getShape(a.vType);
  int64_t batch = qs[0], qLen = qs[1], kvLen = ks[1];
  int64_t headDim = qs[2] / a.numHeads, vHeadDim = vs[2] / a.numKvHeads;
  // A bias is [heads, q, kv] or [batch, heads, q, kv]; a dimension of 1
  // broadcasts (stride 0).
  int64_t batchStride = 0, headStride = 0;
  if (a.biasType) {
    ArrayRef<int64_t> b = getShape(a.biasType);
    int64_t plane = qLen * kvLen;
    if (b.size() == 3) {
      headStride = b[0] == 1 ? 0 : plane;
    } else {
      headStride = b[1] == 1 ? 0 : plane;
      batchStride = b[0] == 1 ? 0 : b[1] * plane;
    }
  }
  call.emit(
      Kernel::llmk_attention,
      {a.q, a.k, a.v, call.ptrOrNull(a.keyPadding), call.ptrOrNull(a.bias),
       call.i64(batchStride), call.i64(headStride), call.ptrOrNull(a.slopes),
       call.out(), call.i64(batch), call.i64(qLen), call.i64(kvLen),
       call.i64(a.numHeads), call.i64(a.numKvHeads), call.i64(headDim),
       call.i64(vHeadDim), call.f32(a.scale),
       call.i32(static_cast<int32_t>(a.mask)), call.i64(a.window.value_or(0))});
}

/// `llm.attention` -> llmk_attention.
struct AttentionLowering : CPUOpLowering<AttentionOp> {
  using CPUOpLowering::CPUOpLowering;
  LogicalResult
  matchAndRewrite(AttentionOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    KernelCall call(rewriter, op, lowering);
    emitAttention(call,
                  {adaptor.getQuery(), adaptor.getKey(), adaptor.getValue(),
                   adaptor.getKeyPadding(), adaptor.getBias(), Value(),
                   op.getQuery(), op.getKey(), op.getValue(), op.getBias(),
                   op.getNumHeads(), op.getNumKvHeads(), op.getEffectiveScale(),
                   op.getMask(), op.getWindow()});
    return call.replace();
  }
};

/// `llm.flash_attention` -> llmk_attention (with ALiBi slopes).
struct FlashAttentionLowering : CPUOpLowering<FlashAttentionOp> {
  using CPUOpLowering::CPUOpLowering;
  LogicalResult
  matchAndRewrite(FlashAttentionOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    KernelCall call(rewriter, op, lowering);
    emitAttention(call,
                  {adaptor.getQuery(), adaptor.getKey(), adaptor.getValue(),
                   adaptor.getKeyPadding(), adaptor.getBias(),
                   adaptor.getAlibiSlopes(), op.getQuery(), op.getKey(),
                   op.getValue(), op.getBias(), op.getNumHeads(),
                   op.getNumKvHeads(), op.getScale().convertToDouble(),
                   op.getMask(), op.getWindow()});
    return call.replace();
  }
};

/// `llm.kv_cache_append` -> llmk_kv_cache_append; the result is the same
/// cache descriptor, updated in place.
struct KVCacheAppendLowering : CPUOpLowering<KVCacheAppendOp> {
  using CPUOpLowering::CPUOpLowering;
  LogicalResult
  matchAndRewrite(KVCacheAppendOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    KernelCall call(rewriter, op, lowering);
    if (failed(call.requireI32(op.getSlots(), "slots")))
      return call.abandon();
    call.setOut(0, adaptor.getCache());
    call.emit(Kernel::llmk_kv_cache_append,
              {adaptor.getCache(), call.i64(op.getLayer()), adaptor.getSlots(),
               adaptor.getKey(), adaptor.getValue(),
               call.i64(getRows(op.getKey()))});
    return call.replace();
  }
};

/// `llm.paged_attention` -> llmk_paged_attention.
struct PagedAttentionLowering : CPUOpLowering<PagedAttentionOp> {
  using CPUOpLowering::CPUOpLowering;
  LogicalResult
  matchAndRewrite(PagedAttentionOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    KernelCall call(rewriter, op, lowering);
    if (failed(call.requireI32(op.getBlockTables(), "block tables")) ||
        failed(call.requireI32(op.getContextLens(), "context lengths")) ||
        (op.getRelativeBiasTable() &&
         failed(call.requireF32(op.getRelativeBiasTable(), "bias table"))))
      return call.abandon();
    ArrayRef<int64_t> q = getShape(op.getQuery());
    call.emit(
        Kernel::llmk_paged_attention,
        {adaptor.getQuery(), adaptor.getCache(), call.i64(op.getLayer()),
         adaptor.getBlockTables(), call.i64(getShape(op.getBlockTables())[1]),
         adaptor.getContextLens(), call.ptrOrNull(adaptor.getAlibiSlopes()),
         call.ptrOrNull(adaptor.getRelativeBiasTable()),
         call.i64(op.getNumBuckets().value_or(0)),
         call.i64(op.getMaxDistance().value_or(0)),
         call.i32(op.getBidirectionalBuckets() ? 1 : 0), call.out(),
         call.i64(q[0]), call.i64(q[1]), call.i64(op.getNumHeads()),
         call.f32(op.getScale().convertToDouble()),
         call.i32(static_cast<int32_t>(op.getMask())),
         call.i64(op.getWindow().value_or(0))});
    return call.replace();
  }
};

} // namespace

void mlir::llm::populateAttentionToCPUPatterns(cpu::CPULowering &lowering,
                                               RewritePatternSet &patterns) {
  patterns.add<AttentionLowering, FlashAttentionLowering, KVCacheAppendLowering,
               PagedAttentionLowering>(lowering, patterns.getContext());
}
