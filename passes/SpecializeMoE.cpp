//===- SpecializeMoE.cpp - llm.moe as routing, grouped GEMMs, combine -----===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "llm/dialects/LLM/IR/LLMOps.h"
#include "llm/passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

#include <cmath>

namespace mlir::llm {
#define GEN_PASS_DEF_SPECIALIZEMOEPASS
#include "llm/passes/Passes.h.inc"
} // namespace mlir::llm

using namespace mlir;
using namespace mlir::llm;

namespace {

struct SpecializeMoEPass : llm::impl::SpecializeMoEPassBase<SpecializeMoEPass> {
  using Base::Base;

  void runOnOperation() override {
    if (capacityFactor < 0.0) {
      getOperation().emitError()
          << "llm-specialize-moe: expected capacity-factor >= 0 (0: no "
             "limit), found "
          << capacityFactor.getValue();
      return signalPassFailure();
    }
    if (decodeMaxTokens < 0) {
      getOperation().emitError()
          << "llm-specialize-moe: expected decode-max-tokens >= 0 (0: always "
             "the prefill form), found "
          << decodeMaxTokens.getValue();
      return signalPassFailure();
    }
    SmallVector<MoEOp> layers;
    getOperation().walk([&](MoEOp op) { layers.push_back(op); });
    for (MoEOp op : layers)
      specialize(op);
  }

  void specialize(MoEOp op) {
    auto x = cast<RankedTensorType>(op.getInput().getType());
    auto router = cast<RankedTensorType>(op.getRouter().getType());
    // Float experts or llm-quantize's, each of gate, up and down either.
    auto shapeOf = [](Type type) -> std::optional<ArrayRef<int64_t>> {
      if (auto q = dyn_cast<QuantizedType>(type))
        return q.getShape();
      if (auto t = dyn_cast<RankedTensorType>(type))
        return t.getShape();
      return std::nullopt;
    };
    std::optional<ArrayRef<int64_t>> gate = shapeOf(op.getGate().getType());
    std::optional<ArrayRef<int64_t>> up = shapeOf(op.getUp().getType());
    std::optional<ArrayRef<int64_t>> down = shapeOf(op.getDown().getType());
    auto isStatic = [](std::optional<ArrayRef<int64_t>> shape) {
      return shape && llvm::none_of(*shape, ShapedType::isDynamic);
    };
    if (!x.hasStaticShape() || !router.hasStaticShape() || !isStatic(gate) ||
        !isStatic(up) || !isStatic(down)) {
      op.emitRemark() << "llm-specialize-moe: left as it is: dynamic shapes "
                         "(the routing buffers are sized at compile time)";
      return;
    }
    OpBuilder b(op);
    Location loc = op.getLoc();
    MLIRContext *context = &getContext();
    const int64_t experts = (*gate)[0], inter = (*gate)[1];
    const int64_t hidden = x.getShape().back(), topK = op.getTopK();
    int64_t tokens = 1;
    for (int64_t d : x.getShape().drop_back())
      tokens *= d;
    const int64_t rows = tokens * topK;
    const int64_t capacity =
        capacityFactor > 0.0
            ? static_cast<int64_t>(
                  std::ceil(capacityFactor * double(rows) / double(experts)))
            : 0;
    Type f32 = x.getElementType(), i32 = b.getI32Type();
    auto withLast = [&](int64_t last, Type element) {
      SmallVector<int64_t> shape(x.getShape());
      shape.back() = last;
      return RankedTensorType::get(shape, element);
    };

    Value logits = LinearOp::create(b, loc, withLast(experts, f32),
                                    op.getInput(), op.getRouter(), Value());
    auto route =
        MoERouteOp::create(b, loc, withLast(topK, f32), withLast(topK, i32),
                           logits, b.getI64IntegerAttr(topK),
                           op.getNormalize() ? b.getUnitAttr() : UnitAttr());
    auto permute = MoEPermuteOp::create(
        b, loc, RankedTensorType::get({rows, hidden}, f32),
        RankedTensorType::get({experts + 1}, i32),
        RankedTensorType::get({rows}, i32), op.getInput(), route.getIndices(),
        b.getI64IntegerAttr(experts), b.getI64IntegerAttr(capacity));
    // The form, chosen here where the token count is known: few tokens
    // stream each chosen expert once, split across the threads.
    const bool decode = tokens <= decodeMaxTokens;
    auto grouped = [&](Value input, Value weights, int64_t out) -> Value {
      return GroupedMatmulOp::create(
          b, loc, RankedTensorType::get({rows, out}, f32), input, weights,
          permute.getOffsets(), decode ? b.getUnitAttr() : UnitAttr());
    };
    Value g = grouped(permute.getPermuted(), op.getGate(), inter);
    Value u = grouped(permute.getPermuted(), op.getUp(), inter);
    Value a = GluOp::create(b, loc, g.getType(), g, u,
                            ActivationAttr::get(context, op.getActivation()));
    Value d = grouped(a, op.getDown(), hidden);
    Value y = MoECombineOp::create(b, loc, x, d, route.getWeights(),
                                   permute.getSources());
    op.replaceAllUsesWith(y);
    op.erase();
  }
};

} // namespace
