//===- StructureToCPU.cpp - Weights, constants, returns, sampling ---------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// What is not a computation kernel: weights become loads from the params
// table, dense constants read-only globals, `return` copies of what was not
// computed in place, a static `tensor.extract_slice` copies of its
// contiguous runs, and `llm.sample` a call of the runtime's sampler with a
// generator state of its own.
//
//===----------------------------------------------------------------------===//

#include "CPULowering.h"

#include "llm/codegen/CPU/LowerToCPU.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/Support/FormatVariadic.h"

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

/// A `tensor.extract_slice` with static offsets and sizes and unit strides
/// (what llm-last-logits makes of a prefill's last position) -> one
/// llmk_copy per contiguous run of the box: the trailing dimensions taken
/// whole with the one before them form a run, repeated over the leading
/// dimensions (one call per row of a [batch, 1, hidden] slice).
struct ExtractSliceLowering : CPUOpLowering<tensor::ExtractSliceOp> {
  using CPUOpLowering::CPUOpLowering;
  /// Most calls one slice may take: a box of more runs would rather need a
  /// strided-copy kernel than this much code.
  static constexpr int64_t kMaxRuns = 4096;

  LogicalResult
  matchAndRewrite(tensor::ExtractSliceOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    KernelCall call(rewriter, op, lowering);
    RankedTensorType source = op.getSourceType();
    if (!op.getOffsets().empty() || !op.getSizes().empty() ||
        !op.hasUnitStride())
      return call.fail("expected a tensor.extract_slice with static offsets "
                       "and sizes and unit strides");
    ArrayRef<int64_t> shape = source.getShape();
    ArrayRef<int64_t> offsets = op.getStaticOffsets();
    ArrayRef<int64_t> sizes = op.getStaticSizes();
    int64_t rank = source.getRank();
    int64_t elementBytes =
        getNumBytes(RankedTensorType::get({1}, source.getElementType()));
    SmallVector<int64_t> strides(rank, 1);
    for (int64_t d = rank - 2; d >= 0; --d)
      strides[d] = strides[d + 1] * shape[d + 1];
    // Elements per run: the trailing dimensions taken whole, times the size
    // taken of the dimension before them (`split`, -1 when all are whole).
    int64_t split = rank - 1, run = 1;
    for (; split >= 0 && offsets[split] == 0 && sizes[split] == shape[split];
         --split)
      run *= shape[split];
    int64_t first = 0, runs = 1;
    if (split >= 0) {
      run *= sizes[split];
      first = offsets[split] * strides[split];
    }
    for (int64_t d = 0; d < split; ++d)
      runs *= sizes[d];
    if (runs > kMaxRuns)
      return call.fail(llvm::formatv("expected a tensor.extract_slice of at "
                                     "most {0} contiguous runs, found {1}",
                                     kMaxRuns, runs)
                           .str());
    Location loc = op.getLoc();
    auto ptr = LLVM::LLVMPointerType::get(rewriter.getContext());
    auto at = [&](Value base, int64_t elements) {
      return LLVM::GEPOp::create(
          rewriter, loc, ptr, rewriter.getI8Type(), base,
          ArrayRef<LLVM::GEPArg>{call.i64(elements * elementBytes)});
    };
    for (int64_t r = 0; r < runs && run > 0; ++r) {
      // Row-major index r over the leading dimensions' sizes.
      int64_t from = first;
      for (int64_t d = split - 1, rest = r; d >= 0; --d) {
        from += (offsets[d] + rest % sizes[d]) * strides[d];
        rest /= sizes[d];
      }
      call.emit(Kernel::llmk_copy,
                {at(adaptor.getSource(), from), at(call.out(), r * run),
                 call.i64(run * elementBytes)});
    }
    return call.replace();
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
  patterns.add<ParamLowering, ConstantLowering, ReturnLowering, SampleLowering,
               ExtractSliceLowering>(lowering, patterns.getContext());
}
