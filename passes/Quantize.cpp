//===- Quantize.cpp - Quantized weights for projections -------------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// Implements --llm-quantize: gives the weights that only projections read a
// `!llm.qweight` type; the runtime quantizes them when it binds the
// parameters, and llm-lower-to-cpu calls the integer kernels for them.
//
//===----------------------------------------------------------------------===//

#include "llm/dialects/LLM/IR/LLMOps.h"
#include "llm/passes/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"

namespace mlir::llm {
#define GEN_PASS_DEF_QUANTIZEPASS
#include "llm/passes/Passes.h.inc"
} // namespace mlir::llm

using namespace mlir;
using namespace mlir::llm;

namespace {

/// The input features per activation block of the quantized kernels.
constexpr int64_t kBlock = 32;

/// True for a float weight with no layout of its own: a 2-D one, or the
/// experts' weights stacked [experts, out, in].
bool isQuantizable(ParamOp param) {
  auto tensor = dyn_cast<RankedTensorType>(param.getType());
  if (!tensor || !tensor.hasStaticShape() || param.getPanels())
    return false;
  bool matrix = tensor.getRank() == 2 && !param.getStacked();
  bool experts = tensor.getRank() == 3 && param.getStacked();
  Type element = tensor.getElementType();
  return (matrix || experts) &&
         (element.isF32() || element.isF16() || element.isBF16());
}

/// True when `use` is an expert weight (gate, up or down) of `llm.moe`.
bool isExpertWeight(OpOperand &use) {
  auto moe = dyn_cast<MoEOp>(use.getOwner());
  return moe && llvm::is_contained({moe.getGateMutable().getOperandNumber(),
                                    moe.getUpMutable().getOperandNumber(),
                                    moe.getDownMutable().getOperandNumber()},
                                   use.getOperandNumber());
}

struct QuantizePass : llm::impl::QuantizePassBase<QuantizePass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto fail = [&](const Twine &message) {
      module.emitError() << "llm-quantize: " << message;
      signalPassFailure();
    };
    if (bits != 8 && bits != 4)
      return fail("expected bits=8 or bits=4, found " +
                  Twine(static_cast<int64_t>(bits)));
    if (groupSize < 0 || groupSize % kBlock != 0)
      return fail("expected group-size=0 (per output channel) or a multiple "
                  "of " +
                  Twine(kBlock) + ", found " +
                  Twine(static_cast<int64_t>(groupSize)));
    if (method != "rtn" && method != "gptq" && method != "awq")
      return fail("expected method=rtn, method=gptq or method=awq, found '" +
                  method + "'");
    if (activations != "none" && activations != "int8")
      return fail("expected activations=none or activations=int8, found '" +
                  activations + "'");
    SmallVector<StringRef> patterns;
    StringRef(skip).split(patterns, ',', -1, /*KeepEmpty=*/false);

    // Per name: quantized only if every llm.param of that name qualifies
    // and every use of each is a projection's weight (an expert's, for
    // stacked experts).
    llvm::StringMap<bool> eligible;
    SmallVector<ParamOp> params;
    module.walk([&](ParamOp param) {
      StringRef name = param.getName();
      bool ok = isQuantizable(param) && !param->use_empty() &&
                llvm::all_of(param->getUses(), param.getStacked()
                                                   ? isExpertWeight
                                                   : isProjectionWeight) &&
                llvm::none_of(patterns, [&](StringRef pattern) {
                  return name.contains(pattern.trim());
                });
      auto [it, inserted] = eligible.try_emplace(name, ok);
      if (!inserted)
        it->second = it->second && ok;
      params.push_back(param);
    });

    Builder builder(&getContext());
    for (ParamOp param : params) {
      if (!eligible.lookup(param.getName()))
        continue;
      auto tensor = cast<RankedTensorType>(param.getType());
      int64_t in = tensor.getShape().back();
      if (groupSize > 0 && in % groupSize != 0) {
        param.emitError() << "llm-quantize: parameter '" << param.getName()
                          << "' has " << in
                          << " input features, which group-size="
                          << static_cast<int64_t>(groupSize)
                          << " does not divide";
        return signalPassFailure();
      }
      if (bits == 4 && in % 2 != 0) {
        param.emitError() << "llm-quantize: parameter '" << param.getName()
                          << "' has an odd number of input features (" << in
                          << "), which 4-bit packing needs even";
        return signalPassFailure();
      }
      auto type = QuantizedType::get(
          &getContext(), tensor.getShape(), static_cast<unsigned>(bits),
          groupSize, builder.getF32Type(), symmetric,
          bits == 8 ? QuantPacking::Byte : QuantPacking::Nibble);
      param.getResult().setType(type);
      // Experts round to nearest and run on decode's integer kernels: the
      // calibration observes projections only, and the MoE kernel has no
      // W8A8 path.
      if (param.getStacked())
        continue;
      if (activations == "int8")
        param.setInt8Activations(true);
      if (method != "rtn")
        param.setQuantMethod(method);
    }
  }
};

} // namespace
