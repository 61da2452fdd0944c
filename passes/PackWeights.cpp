//===- PackWeights.cpp - The panel layout for projection weights ----------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// Implements --llm-pack-weights: marks the weights that only projections
// (and embedding lookups of the same table) read with `panels`, the layout
// the CPU GEMM streams; the runtime repacks them once at load time.
//
//===----------------------------------------------------------------------===//

#include "llm/dialects/LLM/IR/LLMOps.h"
#include "llm/passes/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringMap.h"

namespace mlir::llm {
#define GEN_PASS_DEF_PACKWEIGHTSPASS
#include "llm/passes/Passes.h.inc"
} // namespace mlir::llm

using namespace mlir;
using namespace mlir::llm;

namespace {

/// True when `use` reads its value as a projection's weight or an embedding
/// table: the operands whose kernels read the panel layout.
bool readsPanels(OpOperand &use) {
  if (isProjectionWeight(use))
    return true;
  // A grouped product's experts, each packed as one weight.
  if (auto grouped = dyn_cast<GroupedMatmulOp>(use.getOwner()))
    return use.getOperandNumber() ==
           grouped.getWeightsMutable().getOperandNumber();
  if (auto embedding = dyn_cast<EmbeddingOp>(use.getOwner()))
    return use.getOperandNumber() ==
           embedding.getTableMutable().getOperandNumber();
  return false;
}

/// True for a parameter the pass may pack: a 2-D float tensor in an element
/// type the kernels read, not stacked, not already given a layout; or 3-D
/// experts stacked `[experts, out, in]` (read by llm.grouped_matmul: each
/// expert's matrix packed on its own).
bool isPackable(ParamOp param) {
  auto tensor = dyn_cast<RankedTensorType>(param.getType());
  if (!tensor || param.getPanels())
    return false;
  if (tensor.getRank() == 3) {
    if (!llvm::all_of(param->getUses(), [](OpOperand &use) {
          return isa<GroupedMatmulOp>(use.getOwner());
        }))
      return false;
  } else if (tensor.getRank() != 2 || param.getStacked()) {
    return false;
  }
  Type element = tensor.getElementType();
  return element.isF32() || element.isF16() || element.isBF16();
}

struct PackWeightsPass : llm::impl::PackWeightsPassBase<PackWeightsPass> {
  using Base::Base;

  void runOnOperation() override {
    if (panelRows <= 0) {
      getOperation().emitError()
          << "llm-pack-weights: expected panel-rows > 0, found "
          << static_cast<int64_t>(panelRows);
      return signalPassFailure();
    }
    // Per name: packed only if every llm.param of that name qualifies and
    // every use of each reads panels, so all entry points share one layout.
    llvm::StringMap<bool> packable;
    SmallVector<ParamOp> params;
    getOperation().walk([&](ParamOp param) {
      bool ok = isPackable(param) && !param->use_empty() &&
                llvm::all_of(param->getUses(), readsPanels);
      auto [it, inserted] = packable.try_emplace(param.getName(), ok);
      if (!inserted)
        it->second = it->second && ok;
      params.push_back(param);
    });
    Builder builder(&getContext());
    for (ParamOp param : params)
      if (packable.lookup(param.getName()))
        param.setPanelsAttr(builder.getI64IntegerAttr(panelRows));
  }
};

} // namespace
