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

/// True for a 2-D float weight with no layout of its own.
bool isQuantizable(ParamOp param) {
  auto tensor = dyn_cast<RankedTensorType>(param.getType());
  if (!tensor || tensor.getRank() != 2 || !tensor.hasStaticShape() ||
      param.getStacked() || param.getPanels())
    return false;
  Type element = tensor.getElementType();
  return element.isF32() || element.isF16() || element.isBF16();
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
    // and every use of each is a projection's weight.
    llvm::StringMap<bool> eligible;
    SmallVector<ParamOp> params;
    module.walk([&](ParamOp param) {
      StringRef name = param.getName();
      bool ok = isQuantizable(param) && !param->use_empty() &&
                llvm::all_of(param->getUses(), isProjectionWeight) &&
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
      int64_t in = tensor.getDimSize(1);
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
      if (activations == "int8")
        param.setInt8Activations(true);
      if (method != "rtn")
        param.setQuantMethod(method);
    }
  }
};

} // namespace
