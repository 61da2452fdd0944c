//===- ElementwiseToCPU.cpp - Norms, activations, arithmetic --------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// Row-wise ops (norms, softmax) and elementwise ops (activations and the
// `arith` ops on tensors that models spell residuals and scales with), each
// one kernel call over the whole tensor.
//
//===----------------------------------------------------------------------===//

#include "CPULowering.h"

#include "llm/codegen/CPU/LowerToCPU.h"

#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace mlir::llm;
using namespace mlir::llm::cpu;

namespace {

/// `llm.rms_norm` -> llmk_rms_norm.
struct RMSNormLowering : CPUOpLowering<RMSNormOp> {
  using CPUOpLowering::CPUOpLowering;
  LogicalResult
  matchAndRewrite(RMSNormOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    KernelCall call(rewriter, op, lowering);
    if (failed(call.requireF32(op.getWeight(), "norm weight")))
      return call.abandon();
    // Groups of the weight's size (per-head norms) are rows of their own:
    // [rows, groups x size] is [rows x groups, size] in memory.
    const int64_t dim = getShape(op.getInput()).back();
    const int64_t size = getShape(op.getWeight()).front();
    call.emit(Kernel::llmk_rms_norm,
              {adaptor.getInput(), adaptor.getWeight(), call.out(),
               call.i64(getRows(op.getInput()) * (dim / size)), call.i64(size),
               call.f32(op.getEpsilon().convertToDouble()),
               call.f32(op.getWeightOffset().convertToDouble())});
    return call.replace();
  }
};

/// `llm.layer_norm` -> llmk_layer_norm.
struct LayerNormLowering : CPUOpLowering<LayerNormOp> {
  using CPUOpLowering::CPUOpLowering;
  LogicalResult
  matchAndRewrite(LayerNormOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    KernelCall call(rewriter, op, lowering);
    if (failed(call.requireF32(op.getWeight(), "norm weight")) ||
        (op.getBias() && failed(call.requireF32(op.getBias(), "norm bias"))))
      return call.abandon();
    call.emit(Kernel::llmk_layer_norm,
              {adaptor.getInput(), adaptor.getWeight(),
               call.ptrOrNull(adaptor.getBias()), call.out(),
               call.i64(getRows(op.getInput())),
               call.i64(getShape(op.getInput()).back()),
               call.f32(op.getEpsilon().convertToDouble())});
    return call.replace();
  }
};

/// `llm.softmax` over the last axis -> llmk_softmax.
struct SoftmaxLowering : CPUOpLowering<SoftmaxOp> {
  using CPUOpLowering::CPUOpLowering;
  LogicalResult
  matchAndRewrite(SoftmaxOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    KernelCall call(rewriter, op, lowering);
    int64_t lastAxis = static_cast<int64_t>(getShape(op.getInput()).size()) - 1;
    if (op.getAxis() != lastAxis)
      return call.fail("expected softmax over the last axis, found axis " +
                       Twine(op.getAxis()));
    call.emit(Kernel::llmk_softmax,
              {adaptor.getInput(), call.out(), call.i64(getRows(op.getInput())),
               call.i64(getShape(op.getInput()).back())});
    return call.replace();
  }
};

/// `llm.gelu` -> llmk_gelu (exact or tanh).
struct GeluLowering : CPUOpLowering<GeluOp> {
  using CPUOpLowering::CPUOpLowering;
  LogicalResult
  matchAndRewrite(GeluOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    KernelCall call(rewriter, op, lowering);
    call.emit(
        Kernel::llmk_gelu,
        {adaptor.getInput(), call.out(),
         call.i64(getNumElements(op.getInput())),
         call.i32(op.getApproximate() == GeluApproximation::Tanh ? 1 : 0)});
    return call.replace();
  }
};

/// `llm.silu` -> llmk_silu.
struct SiluLowering : CPUOpLowering<SiluOp> {
  using CPUOpLowering::CPUOpLowering;
  LogicalResult
  matchAndRewrite(SiluOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    KernelCall call(rewriter, op, lowering);
    call.emit(Kernel::llmk_silu, {adaptor.getInput(), call.out(),
                                  call.i64(getNumElements(op.getInput()))});
    return call.replace();
  }
};

/// `llm.glu` -> llmk_glu: act(gate) * up.
struct GluLowering : CPUOpLowering<GluOp> {
  using CPUOpLowering::CPUOpLowering;
  LogicalResult
  matchAndRewrite(GluOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    KernelCall call(rewriter, op, lowering);
    call.emit(Kernel::llmk_glu,
              {adaptor.getGate(), adaptor.getUp(), call.out(),
               call.i64(getNumElements(op.getGate())),
               call.i32(static_cast<int32_t>(op.getActivation()))});
    return call.replace();
  }
};

/// `llm.sigmoid_gate` -> llmk_sigmoid_gate.
struct SigmoidGateLowering : CPUOpLowering<SigmoidGateOp> {
  using CPUOpLowering::CPUOpLowering;
  LogicalResult
  matchAndRewrite(SigmoidGateOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    KernelCall call(rewriter, op, lowering);
    if (failed(call.requireF32(op.getGate(), "gate")))
      return call.abandon();
    const int64_t cols = getShape(op.getInput()).back();
    call.emit(Kernel::llmk_sigmoid_gate,
              {adaptor.getInput(), adaptor.getGate(), call.out(),
               call.i64(getRows(op.getInput())), call.i64(cols),
               call.i64(getShape(op.getGate()).back())});
    return call.replace();
  }
};

/// The value of a splat float constant operand.
std::optional<double> getSplat(Value value) {
  DenseFPElementsAttr attr;
  if (matchPattern(value, m_Constant(&attr)) && attr.isSplat())
    return attr.getSplatValue<APFloat>().convertToDouble();
  return std::nullopt;
}

/// `arith.addf`/`subf`/`mulf` on tensors -> llmk_add/sub/mul, and a
/// multiplication by a splat -> llmk_scale.
template <typename OpTy, Kernel kernel>
struct BinaryLowering : CPUOpLowering<OpTy> {
  using CPUOpLowering<OpTy>::CPUOpLowering;
  using OpAdaptor = typename OpTy::Adaptor;
  LogicalResult
  matchAndRewrite(OpTy op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    KernelCall call(rewriter, op, this->lowering);
    int64_t n = getNumElements(op.getLhs());
    if (std::is_same_v<OpTy, arith::MulFOp>) {
      for (auto [scaled, factor] : {std::pair(adaptor.getLhs(), op.getRhs()),
                                    std::pair(adaptor.getRhs(), op.getLhs())}) {
        if (std::optional<double> s = getSplat(factor)) {
          call.emit(Kernel::llmk_scale,
                    {scaled, call.out(), call.i64(n), call.f32(*s)});
          return call.replace();
        }
      }
    }
    call.emit(kernel,
              {adaptor.getLhs(), adaptor.getRhs(), call.out(), call.i64(n)});
    return call.replace();
  }
};

/// `arith.maximumf %x, 0` -> llmk_relu.
struct ReluLowering : CPUOpLowering<arith::MaximumFOp> {
  using CPUOpLowering::CPUOpLowering;
  LogicalResult
  matchAndRewrite(arith::MaximumFOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    KernelCall call(rewriter, op, lowering);
    std::optional<double> zero = getSplat(op.getRhs());
    if (!zero || *zero != 0.0)
      return call.fail("expected max(x, 0) (ReLU)");
    call.emit(Kernel::llmk_relu, {adaptor.getLhs(), call.out(),
                                  call.i64(getNumElements(op.getLhs()))});
    return call.replace();
  }
};

} // namespace

void mlir::llm::populateElementwiseToCPUPatterns(cpu::CPULowering &lowering,
                                                 RewritePatternSet &patterns) {
  patterns.add<RMSNormLowering, LayerNormLowering, SoftmaxLowering,
               GeluLowering, SiluLowering, GluLowering, SigmoidGateLowering,
               BinaryLowering<arith::AddFOp, Kernel::llmk_add>,
               BinaryLowering<arith::SubFOp, Kernel::llmk_sub>,
               BinaryLowering<arith::MulFOp, Kernel::llmk_mul>, ReluLowering>(
      lowering, patterns.getContext());
}
