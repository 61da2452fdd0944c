//===- LastLogits.cpp - A prefill's logits at its last position -----------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// Implements --llm-last-logits: the final norm and LM head of a cached
// multi-token entry point run on the last position of each sequence only.
//
//===----------------------------------------------------------------------===//

#include "llm/dialects/LLM/IR/LLMOps.h"
#include "llm/passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir::llm {
#define GEN_PASS_DEF_LASTLOGITSPASS
#include "llm/passes/Passes.h.inc"
} // namespace mlir::llm

using namespace mlir;
using namespace mlir::llm;

namespace {

/// `type` ([batch, seq, ...]) with one position per row: [batch, 1, ...].
RankedTensorType atOnePosition(Type type) {
  auto tensor = cast<RankedTensorType>(type);
  SmallVector<int64_t> shape(tensor.getShape());
  shape[1] = 1;
  return tensor.clone(shape);
}

/// True for a tensor whose leading dimensions are [batch, seq].
bool isPerPosition(Type type, int64_t batch, int64_t seq) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  return tensor && tensor.getRank() >= 2 && tensor.getDimSize(0) == batch &&
         tensor.getDimSize(1) == seq;
}

/// A splat constant of `type`.
bool isSplatConstantOf(Value v, Type type) {
  auto constant = v.getDefiningOp<arith::ConstantOp>();
  return constant && constant.getType() == type &&
         isa<SplatElementsAttr>(constant.getValue());
}

/// When `op` computes each position of its [batch, seq, ...] result from
/// the same position of one operand alone (and from weights or splat
/// constants), the index of that operand.
std::optional<unsigned> getPositionWiseInput(Operation *op, int64_t batch,
                                             int64_t seq) {
  if (op->getNumResults() != 1 ||
      !isPerPosition(op->getResult(0).getType(), batch, seq))
    return std::nullopt;
  // The activation first, then weights that do not depend on the position.
  if (isa<LinearOp, RMSNormOp, LayerNormOp>(op)) {
    if (!isPerPosition(op->getOperand(0).getType(), batch, seq) ||
        llvm::any_of(op->getOperands().drop_front(), [&](Value w) {
          return isPerPosition(w.getType(), batch, seq);
        }))
      return std::nullopt;
    return 0;
  }
  if (isa<GeluOp, SiluOp>(op))
    return 0;
  // x op splat or splat op x (T5 rescales before its head).
  if (isa<arith::AddFOp, arith::SubFOp, arith::MulFOp, arith::DivFOp,
          arith::MaximumFOp, arith::MinimumFOp>(op)) {
    Type type = op->getResult(0).getType();
    for (unsigned i = 0; i < 2; ++i)
      if (op->getOperand(i).getType() == type &&
          isSplatConstantOf(op->getOperand(1 - i), type))
        return i;
  }
  return std::nullopt;
}

struct LastLogitsPass : llm::impl::LastLogitsPassBase<LastLogitsPass> {
  using Base::Base;

  void runOnOperation() override {
    for (func::FuncOp func : getOperation().getOps<func::FuncOp>())
      rewrite(func);
  }

  /// The [batch, seq] of the tokens a cached entry point appends: the shape
  /// of its `slots` argument, if it has one.
  static std::optional<std::pair<int64_t, int64_t>>
  getNewTokens(func::FuncOp func) {
    for (unsigned i = 0; i < func.getNumArguments(); ++i) {
      auto kind = func.getArgAttrOfType<ArgKindAttr>(
          i, LLMDialect::ArgKindAttrHelper::getNameStr());
      auto type = dyn_cast<RankedTensorType>(func.getArgument(i).getType());
      if (kind && kind.getValue() == ArgKind::Slots && type &&
          type.getRank() == 2 && type.hasStaticShape())
        return std::make_pair(type.getDimSize(0), type.getDimSize(1));
    }
    return std::nullopt;
  }

  void rewrite(func::FuncOp func) {
    if (func.isDeclaration())
      return;
    std::optional<std::pair<int64_t, int64_t>> tokens = getNewTokens(func);
    if (!tokens || tokens->second <= 1)
      return;
    auto [batch, seq] = *tokens;
    auto ret = cast<func::ReturnOp>(func.getBody().front().getTerminator());
    bool changed = false;
    for (OpOperand &result : ret->getOpOperands())
      if (isPerPosition(result.get().getType(), batch, seq)) {
        result.set(narrow(result.get(), batch, seq));
        changed = true;
      }
    if (changed)
      func.setType(FunctionType::get(&getContext(), func.getArgumentTypes(),
                                     ret.getOperandTypes()));
  }

  /// Returns `v` at position seq - 1 of each row: the position-wise ops that
  /// compute `v` (each used only by the next) now run on that position
  /// alone, after a slice of their first input.
  Value narrow(Value v, int64_t batch, int64_t seq) {
    SmallVector<std::pair<Operation *, unsigned>> chain;
    Value cut = v;
    // `v` itself may be returned twice, or read elsewhere: it is then
    // sliced as it is.
    while (Operation *def = cut.getDefiningOp()) {
      if (!cut.hasOneUse())
        break;
      std::optional<unsigned> input = getPositionWiseInput(def, batch, seq);
      if (!input)
        break;
      chain.push_back({def, *input});
      cut = def->getOperand(*input);
    }
    OpBuilder b(&getContext());
    b.setInsertionPointAfterValue(cut);
    auto type = cast<RankedTensorType>(cut.getType());
    SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0)), sizes,
        strides(type.getRank(), b.getIndexAttr(1));
    for (int64_t size : type.getShape())
      sizes.push_back(b.getIndexAttr(size));
    offsets[1] = b.getIndexAttr(seq - 1);
    sizes[1] = b.getIndexAttr(1);
    Value last = tensor::ExtractSliceOp::create(
        b, cut.getLoc(), atOnePosition(type), cut, offsets, sizes, strides);
    // Each op of the chain is the only user of the value before it: it
    // takes the narrowed value in place, and so do its splat constants.
    for (auto [op, input] : llvm::reverse(chain)) {
      op->setOperand(input, last);
      Type narrowed = atOnePosition(op->getResult(0).getType());
      for (OpOperand &operand : op->getOpOperands()) {
        if (operand.getOperandNumber() == input ||
            !isSplatConstantOf(operand.get(), op->getResult(0).getType()))
          continue;
        auto constant = operand.get().getDefiningOp<arith::ConstantOp>();
        b.setInsertionPoint(op);
        auto splat = cast<SplatElementsAttr>(constant.getValue());
        operand.set(arith::ConstantOp::create(
            b, constant.getLoc(),
            DenseElementsAttr::get(cast<ShapedType>(narrowed),
                                   splat.getSplatValue<Attribute>())));
        if (constant->use_empty())
          constant->erase();
      }
      op->getResult(0).setType(narrowed);
      last = op->getResult(0);
    }
    return last;
  }
};

} // namespace
