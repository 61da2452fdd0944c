//===- LowerToCUDA.cpp - llm dialect to LLVM host code launching CUDA -----===//
//
// Part of LLMC, under the Apache License v2.0.
//
// Implements --llm-lower-to-cuda: the CPU lowering (codegen/CPU) with each
// kernel call replaced by its CUDA launcher (runtime/cuda/Launchers.def),
// dense constants copied into the arena, and the configurations no CUDA
// kernel serves refused up front with the op named.
//
//===----------------------------------------------------------------------===//

#include "CPULowering.h"

#include "llm/codegen/CPU/LowerToCPU.h"
#include "llm/codegen/CUDA/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace mlir::llm {
#define GEN_PASS_DEF_LOWERTOCUDAPASS
#include "llm/codegen/CUDA/Passes.h.inc"
} // namespace mlir::llm

using namespace mlir;
using namespace mlir::llm;
using namespace mlir::llm::cpu;

namespace {

constexpr StringLiteral kPassName = "llm-lower-to-cuda";

/// A dense constant a kernel reads -> its arena slot, filled from a host
/// global by `llmc_cuda_upload` (host -> device) where it is defined.
/// Preferred over the CPU lowering's pattern, which passes the global's
/// address.
struct ConstantToArena : OpConversionPattern<arith::ConstantOp> {
  ConstantToArena(CPULowering &lowering, MLIRContext *context)
      : OpConversionPattern(lowering.getTypeConverter(), context,
                            /*benefit=*/2),
        lowering(lowering) {}
  LogicalResult
  matchAndRewrite(arith::ConstantOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    KernelCall call(rewriter, op, lowering);
    if (!isa<DenseElementsAttr>(op.getValue()))
      return call.fail("expected a dense tensor constant");
    if (llvm::all_of(op->getUses(),
                     [](OpOperand &use) { return isFoldedConstantUse(use); }))
      return call.abandon();
    Value host = lowering.materializeConstant(rewriter, op);
    static constexpr KernelArg kUpload[] = {KernelArg::Ptr, KernelArg::Ptr,
                                            KernelArg::I64};
    call.emitCall("llmc_cuda_upload", kUpload,
                  {host, call.out(), call.i64(getNumBytes(op.getType()))});
    return call.replace();
  }

  CPULowering &lowering;
};

/// What the CUDA kernels do not serve although the op's CPU kernel has a
/// launcher: reported on the op before lowering.
LogicalResult checkSupported(ModuleOp module) {
  WalkResult result = module.walk([&](Operation *op) -> WalkResult {
    auto error = [&](const Twine &message) {
      op->emitOpError() << kPassName << ": " << message;
      return WalkResult::interrupt();
    };
    if (auto param = dyn_cast<ParamOp>(op))
      if (param.getPanels())
        return error("expected a weight in rows, found one packed in panels "
                     "(llm-pack-weights makes the CPU kernels' layout; do not "
                     "run it before this pass)");
    return WalkResult::advance();
  });
  return failure(result.wasInterrupted());
}

struct LowerToCUDAPass : llm::impl::LowerToCUDAPassBase<LowerToCUDAPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *context = &getContext();
    context->getOrLoadDialect<LLMDialect>();
    if (failed(checkSupported(module)))
      return signalPassFailure();
    CPULowering lowering(module, kPassName);
    lowering.setTargetName("CUDA");
    lowering.setConstantsInArena(true);
#define LLMC_LAUNCHER(kernel, launcher)                                        \
  lowering.substitute(Kernel::kernel, #launcher);
#include "Launchers.def"
    RewritePatternSet patterns(context);
    populateLLMToCPUPatterns(lowering, patterns);
    patterns.add<ConstantToArena>(lowering, context);
    if (failed(lowerFunctions(module, lowering, std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
