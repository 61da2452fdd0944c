//===- StructureToCPU.cpp - Weights, constants, returns, sampling ---------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// What is not a computation kernel: weights become loads from the params
// table, dense constants read-only globals, `return` copies of what was not
// computed in place, and `llm.sample` a call of the runtime's sampler with
// a generator state of its own.
//
//===----------------------------------------------------------------------===//

#include "CPULowering.h"

#include "llm/codegen/CPU/LowerToCPU.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

using namespace mlir;
using namespace mlir::llm;
using namespace mlir::llm::cpu;

namespace {

/// `llm.param` -> a load of its slot in the params table.
struct ParamLowering : CPUOpLowering<ParamOp> {
  using CPUOpLowering::CPUOpLowering;
  LogicalResult
  matchAndRewrite(ParamOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    int64_t index = lowering.getParamIndex(op);
    rewriter.replaceOp(op,
                       lowering.loadPointer(rewriter, op.getLoc(),
                                            lowering.getParamsArg(), index));
    return success();
  }
};

/// A dense `arith.constant` -> the address of a read-only global, unless
/// every user folds it into its call (a splat scale factor, ReLU's zero).
struct ConstantLowering : CPUOpLowering<arith::ConstantOp> {
  using CPUOpLowering::CPUOpLowering;
  LogicalResult
  matchAndRewrite(arith::ConstantOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    KernelCall call(rewriter, op, lowering);
    if (!isa<DenseElementsAttr>(op.getValue()))
      return call.fail("expected a dense tensor constant");
    bool folded = llvm::all_of(
        op->getUses(), [](OpOperand &use) { return isFoldedConstantUse(use); });
    if (folded) // A placeholder that nothing reads; removed once dead.
      return call.abandon();
    rewriter.replaceOp(op, lowering.materializeConstant(rewriter, op));
    return success();
  }
};

/// `func.return` -> `llvm.return`, after copying into the result buffers
/// the values that were not computed there (arguments, weights, constants,
/// or a value returned twice). Returned caches were updated in place.
struct ReturnLowering : CPUOpLowering<func::ReturnOp> {
  using CPUOpLowering::CPUOpLowering;
  LogicalResult
  matchAndRewrite(func::ReturnOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    KernelCall call(rewriter, op, lowering);
    const FunctionPlan &plan = lowering.getPlan();
    unsigned result = 0;
    for (auto [original, pointer] :
         llvm::zip(op.getOperands(), adaptor.getOperands())) {
      if (isa<KVCacheType>(original.getType()))
        continue;
      unsigned index = result++;
      auto it = plan.returnedAt.find(original);
      if (it != plan.returnedAt.end() && it->second == index)
        continue;
      call.emit(Kernel::llmk_copy,
                {pointer,
                 lowering.loadPointer(rewriter, op.getLoc(),
                                      lowering.getResultsArg(), index),
                 call.i64(getNumBytes(original.getType()))});
    }
    rewriter.replaceOpWithNewOp<LLVM::ReturnOp>(op, ValueRange());
    return success();
  }
};

/// `llm.sample` -> llmrt_sample, the runtime's sampler.
struct SampleLowering : CPUOpLowering<SampleOp> {
  using CPUOpLowering::CPUOpLowering;
  LogicalResult
  matchAndRewrite(SampleOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    KernelCall call(rewriter, op, lowering);
    if (failed(call.requireF32(op.getLogits(), "logits")))
      return call.abandon();
    ArrayRef<int64_t> logits = getShape(op.getLogits());
    Value prev = op.getPrevTokens();
    auto idBytes = [](Value ids) {
      return cast<RankedTensorType>(ids.getType())
                 .getElementType()
                 .getIntOrFloatBitWidth() /
             8;
    };
    call.emit(Kernel::llmrt_sample,
              {adaptor.getLogits(), call.i64(logits[0]), call.i64(logits[1]),
               call.ptrOrNull(adaptor.getPrevTokens()),
               call.i64(prev ? getShape(prev)[1] : 0),
               call.i32(prev ? idBytes(prev) : 8), call.out(),
               call.i32(idBytes(op.getResult())),
               call.f64(op.getTemperature().convertToDouble()),
               call.i64(op.getTopK()), call.f64(op.getTopP().convertToDouble()),
               call.f64(op.getMinP().convertToDouble()),
               call.f64(op.getRepetitionPenalty().convertToDouble()),
               call.i64(op.getSeed()),
               lowering.createSamplerState(rewriter, op.getLoc())});
    return call.replace();
  }
};

} // namespace

void mlir::llm::populateStructureToCPUPatterns(cpu::CPULowering &lowering,
                                               RewritePatternSet &patterns) {
  patterns.add<ParamLowering, ConstantLowering, ReturnLowering, SampleLowering>(
      lowering, patterns.getContext());
}
