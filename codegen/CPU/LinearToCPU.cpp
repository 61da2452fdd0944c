//===- LinearToCPU.cpp - Projections, embeddings, matmul, MoE -------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// The ops that read weights: each becomes one call of its GEMM/GEMV-based
// kernel, which reads f32, f16 or bf16 weights in place, in rows or in the
// panels `llm-pack-weights` chose, or the quantized weights `llm-quantize`
// typed (llmk_linear_q, llmk_linear_q_rope).
//
//===----------------------------------------------------------------------===//

#include "CPULowering.h"

#include "llm/codegen/CPU/LowerToCPU.h"

using namespace mlir;
using namespace mlir::llm;
using namespace mlir::llm::cpu;

namespace {

/// A quantized weight's packing (W8A8 copy, permutation) is its llm.param's
/// attributes: the weight must come straight from one.
LogicalResult requireParam(KernelCall &call, Value weight) {
  if (weight.getDefiningOp<ParamOp>())
    return success();
  return call.report("expected a quantized weight defined by llm.param (its "
                     "attributes say how the runtime packs it)");
}

/// llmk_linear_q's `flags` for the weight's llm.param: int8 activations
/// (W8A8), input features permuted (an act-order checkpoint), and for a
/// weight in one of llama.cpp's block formats (checkpoint_format ggml_*)
/// prefill on activations quantized per block of 32, as llama.cpp computes
/// with its blocks and as decode does.
int32_t quantFlags(Value weight) {
  auto param = weight.getDefiningOp<ParamOp>();
  if (!param)
    return 0;
  std::optional<llvm::StringRef> format = param.getCheckpointFormat();
  return (param.getInt8Activations() ? LLMK_QUANT_INT8_ACTIVATIONS : 0) |
         (param.getActOrder() ? LLMK_QUANT_PERMUTED : 0) |
         (format && format->starts_with("ggml_") ? LLMK_QUANT_INT8_BLOCKS : 0);
}

/// `llm.embedding` -> llmk_embedding.
struct EmbeddingLowering : CPUOpLowering<EmbeddingOp> {
  using CPUOpLowering::CPUOpLowering;
  LogicalResult
  matchAndRewrite(EmbeddingOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    KernelCall call(rewriter, op, lowering);
    FailureOr<int32_t> dtype = call.weightDtype(op.getTable());
    FailureOr<int32_t> layout = call.weightLayout(op.getTable());
    if (failed(dtype) || failed(layout) ||
        failed(call.requireI64(op.getIds(), "ids")))
      return call.abandon();
    ArrayRef<int64_t> table = getShape(op.getTable());
    call.emit(Kernel::llmk_embedding,
              {adaptor.getIds(), adaptor.getTable(), call.i32(*dtype),
               call.i32(*layout), call.out(),
               call.i64(getNumElements(op.getIds())), call.i64(table[0]),
               call.i64(table[1])});
    return call.replace();
  }
};

/// `llm.linear` -> llmk_linear.
struct LinearLowering : CPUOpLowering<LinearOp> {
  using CPUOpLowering::CPUOpLowering;
  LogicalResult
  matchAndRewrite(LinearOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    KernelCall call(rewriter, op, lowering);
    if (op.getBias() && failed(call.requireF32(op.getBias(), "bias")))
      return call.abandon();
    ArrayRef<int64_t> w = getShape(op.getWeight());
    if (auto q = dyn_cast<QuantizedType>(op.getWeight().getType())) {
      if (failed(call.requireRuntimeQuantized(q)) ||
          failed(requireParam(call, op.getWeight())))
        return call.abandon();
      call.emit(
          Kernel::llmk_linear_q,
          {adaptor.getInput(), adaptor.getWeight(),
           call.i32(static_cast<int32_t>(q.getBits())),
           call.i64(q.getGroupSize()), call.i32(quantFlags(op.getWeight())),
           call.ptrOrNull(adaptor.getBias()), call.out(),
           call.i64(getRows(op.getInput())), call.i64(w[1]), call.i64(w[0])});
      return call.replace();
    }
    FailureOr<int32_t> dtype = call.weightDtype(op.getWeight());
    FailureOr<int32_t> layout = call.weightLayout(op.getWeight());
    if (failed(dtype) || failed(layout))
      return call.abandon();
    call.emit(Kernel::llmk_linear,
              {adaptor.getInput(), adaptor.getWeight(), call.i32(*dtype),
               call.i32(*layout), call.ptrOrNull(adaptor.getBias()), call.out(),
               call.i64(getRows(op.getInput())), call.i64(w[1]),
               call.i64(w[0])});
    return call.replace();
  }
};

/// `llm.linear_rope` -> llmk_linear_rope.
struct LinearRoPELowering : CPUOpLowering<LinearRoPEOp> {
  using CPUOpLowering::CPUOpLowering;
  LogicalResult
  matchAndRewrite(LinearRoPEOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    KernelCall call(rewriter, op, lowering);
    if ((op.getBias() && failed(call.requireF32(op.getBias(), "bias"))) ||
        failed(call.requireF32(op.getInvFreq(), "inv_freq table")) ||
        failed(call.requireI64(op.getPositions(), "positions")))
      return call.abandon();
    ArrayRef<int64_t> w = getShape(op.getWeight());
    Kernel kernel = Kernel::llmk_linear_rope;
    SmallVector<Value> operands = {adaptor.getInput(), adaptor.getWeight()};
    if (auto q = dyn_cast<QuantizedType>(op.getWeight().getType())) {
      // (bits, group, activations) in place of (dtype, layout).
      if (failed(call.requireRuntimeQuantized(q)) ||
          failed(requireParam(call, op.getWeight())))
        return call.abandon();
      kernel = Kernel::llmk_linear_q_rope;
      operands.append({call.i32(static_cast<int32_t>(q.getBits())),
                       call.i64(q.getGroupSize()),
                       call.i32(quantFlags(op.getWeight()))});
    } else {
      FailureOr<int32_t> dtype = call.weightDtype(op.getWeight());
      FailureOr<int32_t> layout = call.weightLayout(op.getWeight());
      if (failed(dtype) || failed(layout))
        return call.abandon();
      operands.append({call.i32(*dtype), call.i32(*layout)});
    }
    operands.append({call.ptrOrNull(adaptor.getBias()), call.out(),
                     call.i64(getRows(op.getInput())), call.i64(w[1]),
                     call.i64(w[0]), adaptor.getPositions(),
                     adaptor.getInvFreq(), call.i64(op.getNumHeads()),
                     call.i64(w[0] / op.getNumHeads()),
                     call.i64(op.getRotaryDim()),
                     call.i32(op.getPairing() == RopePairing::GPTJ ? 1 : 0),
                     call.f32(op.getAttentionScaling().convertToDouble())});
    call.emit(kernel, operands);
    return call.replace();
  }
};

/// `llm.matmul` -> llmk_matmul over the leading (batch) dimensions.
struct MatmulLowering : CPUOpLowering<MatmulOp> {
  using CPUOpLowering::CPUOpLowering;
  LogicalResult
  matchAndRewrite(MatmulOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    KernelCall call(rewriter, op, lowering);
    if (failed(call.requireF32(op.getRhs(), "rhs")))
      return call.abandon();
    ArrayRef<int64_t> a = getShape(op.getLhs());
    size_t r = a.size();
    int64_t batch = getNumElements(op.getLhs()) / (a[r - 2] * a[r - 1]);
    call.emit(Kernel::llmk_matmul,
              {adaptor.getLhs(), adaptor.getRhs(), call.out(), call.i64(batch),
               call.i64(a[r - 2]), call.i64(a[r - 1]),
               call.i64(getShape(op.getResult()).back()),
               call.i32(op.getTransposeRhs() ? 1 : 0)});
    return call.replace();
  }
};

/// `llm.moe` has no kernel of its own: llm-specialize-moe (in the CPU
/// pipeline) spells it out as the routing, permutation, grouped products
/// and combine below. Reaching here, it gets an error saying so.
struct MoELowering : CPUOpLowering<MoEOp> {
  using CPUOpLowering::CPUOpLowering;
  LogicalResult
  matchAndRewrite(MoEOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    return KernelCall(rewriter, op, lowering)
        .fail("expected llm-specialize-moe to have rewritten llm.moe (into "
              "llm.moe_route, llm.moe_permute, llm.grouped_matmul and "
              "llm.moe_combine, which the CPU kernels implement)");
  }
};

/// `llm.moe_route` -> llmk_moe_route.
struct MoERouteLowering : CPUOpLowering<MoERouteOp> {
  using CPUOpLowering::CPUOpLowering;
  LogicalResult
  matchAndRewrite(MoERouteOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    KernelCall call(rewriter, op, lowering);
    call.emit(Kernel::llmk_moe_route,
              {adaptor.getLogits(), call.out(0), call.out(1),
               call.i64(getRows(op.getLogits())),
               call.i64(getShape(op.getLogits()).back()),
               call.i64(op.getTopK()), call.i32(op.getNormalize() ? 1 : 0)});
    return call.replace();
  }
};

/// `llm.moe_permute` -> llmk_moe_permute.
struct MoEPermuteLowering : CPUOpLowering<MoEPermuteOp> {
  using CPUOpLowering::CPUOpLowering;
  LogicalResult
  matchAndRewrite(MoEPermuteOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    KernelCall call(rewriter, op, lowering);
    if (failed(call.requireI32(op.getIndices(), "expert indices")))
      return call.abandon();
    call.emit(Kernel::llmk_moe_permute,
              {adaptor.getInput(), adaptor.getIndices(), call.out(0),
               call.out(1), call.out(2), call.i64(getRows(op.getInput())),
               call.i64(getShape(op.getInput()).back()),
               call.i64(op.getNumExperts()),
               call.i64(getShape(op.getIndices()).back()),
               call.i64(static_cast<int64_t>(op.getCapacity()))});
    return call.replace();
  }
};

/// `llm.grouped_matmul` -> llmk_grouped_matmul, or llmk_grouped_gemv in
/// the decode form (`_q` for quantized experts).
struct GroupedMatmulLowering : CPUOpLowering<GroupedMatmulOp> {
  using CPUOpLowering::CPUOpLowering;
  LogicalResult
  matchAndRewrite(GroupedMatmulOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    KernelCall call(rewriter, op, lowering);
    if (auto q = dyn_cast<QuantizedType>(op.getWeights().getType())) {
      // Quantized experts: each expert's matrix as llmk_linear_q reads it,
      // one every llmk::quantExpertBytes.
      if (failed(call.requireRuntimeQuantized(q)) ||
          failed(call.requireI32(op.getOffsets(), "offsets")))
        return call.abandon();
      ArrayRef<int64_t> w = q.getShape();
      call.emit(op.getDecode() ? Kernel::llmk_grouped_gemv_q
                               : Kernel::llmk_grouped_matmul_q,
                {adaptor.getInput(), adaptor.getWeights(),
                 call.i32(static_cast<int32_t>(q.getBits())),
                 call.i64(q.getGroupSize()), adaptor.getOffsets(), call.out(),
                 call.i64(getShape(op.getInput())[0]), call.i64(w[2]),
                 call.i64(w[1]), call.i64(w[0])});
      return call.replace();
    }
    FailureOr<int32_t> dtype = call.weightDtype(op.getWeights());
    FailureOr<int32_t> layout = call.weightLayout(op.getWeights());
    if (failed(dtype) || failed(layout) ||
        failed(call.requireI32(op.getOffsets(), "offsets")))
      return call.abandon();
    ArrayRef<int64_t> w = getShape(op.getWeights());
    call.emit(op.getDecode() ? Kernel::llmk_grouped_gemv
                             : Kernel::llmk_grouped_matmul,
              {adaptor.getInput(), adaptor.getWeights(), call.i32(*dtype),
               call.i32(*layout), adaptor.getOffsets(), call.out(),
               call.i64(getShape(op.getInput())[0]), call.i64(w[2]),
               call.i64(w[1]), call.i64(w[0])});
    return call.replace();
  }
};

/// `llm.moe_combine` -> llmk_moe_combine.
struct MoECombineLowering : CPUOpLowering<MoECombineOp> {
  using CPUOpLowering::CPUOpLowering;
  LogicalResult
  matchAndRewrite(MoECombineOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    KernelCall call(rewriter, op, lowering);
    if (failed(call.requireI32(op.getSources(), "sources")))
      return call.abandon();
    call.emit(Kernel::llmk_moe_combine,
              {adaptor.getExpertOut(), adaptor.getWeights(),
               adaptor.getSources(), call.out(),
               call.i64(getRows(op.getWeights())),
               call.i64(getShape(op.getExpertOut()).back()),
               call.i64(getShape(op.getWeights()).back())});
    return call.replace();
  }
};

} // namespace

void mlir::llm::populateLinearToCPUPatterns(cpu::CPULowering &lowering,
                                            RewritePatternSet &patterns) {
  patterns.add<EmbeddingLowering, LinearLowering, LinearRoPELowering,
               MatmulLowering, MoELowering, MoERouteLowering,
               MoEPermuteLowering, GroupedMatmulLowering, MoECombineLowering>(
      lowering, patterns.getContext());
}
