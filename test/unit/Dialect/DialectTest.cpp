//===- DialectTest.cpp - Builds llm dialect IR programmatically -----------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "llm/dialects/LLM/IR/LLMOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"

#include <gtest/gtest.h>

using namespace mlir;
using namespace mlir::llm;

namespace {

/// Shapes of a small LLaMA-style block.
struct BlockConfig {
  int64_t seq = 16;
  int64_t hidden = 256;
  int64_t numHeads = 8;
  int64_t numKvHeads = 2;
  int64_t inter = 688;
  int64_t headDim() const { return hidden / numHeads; }
};

class DialectTest : public ::testing::Test {
protected:
  DialectTest() {
    context.loadDialect<LLMDialect, func::FuncDialect, arith::ArithDialect>();
  }

  RankedTensorType tensor(ArrayRef<int64_t> shape) {
    return RankedTensorType::get(shape, Float32Type::get(&context));
  }

  Value param(OpBuilder &b, StringRef name, ArrayRef<int64_t> shape) {
    return ParamOp::create(b, loc(), tensor(shape), name);
  }

  Location loc() { return UnknownLoc::get(&context); }

  /// Builds `func @block(x, pos) -> x` for one decoder block.
  OwningOpRef<ModuleOp> buildBlock(const BlockConfig &c) {
    OpBuilder b(&context);
    OwningOpRef<ModuleOp> module = ModuleOp::create(loc());
    b.setInsertionPointToEnd(module->getBody());
    auto act = tensor({1, c.seq, c.hidden});
    auto pos = RankedTensorType::get({1, c.seq}, b.getI64Type());
    auto func = func::FuncOp::create(b, loc(), "block",
                                     b.getFunctionType({act, pos}, {act}));
    Block *entry = func.addEntryBlock();
    b.setInsertionPointToStart(entry);
    Value x = entry->getArgument(0), positions = entry->getArgument(1);
    int64_t kvWidth = c.numKvHeads * c.headDim();

    Value norm = param(b, "input_layernorm.weight", {c.hidden});
    Value h = RMSNormOp::create(b, loc(), act, x, norm, b.getF64FloatAttr(1e-5),
                                b.getF64FloatAttr(0.0));
    auto linear = [&](Value input, StringRef name, int64_t out) -> Value {
      auto inShape = cast<RankedTensorType>(input.getType()).getShape();
      Value w = param(b, name, {out, inShape.back()});
      return LinearOp::create(b, loc(), tensor({1, c.seq, out}), input, w,
                              Value());
    };
    Value q = linear(h, "q_proj.weight", c.hidden);
    Value k = linear(h, "k_proj.weight", kvWidth);
    Value v = linear(h, "v_proj.weight", kvWidth);
    auto rope = [&](Value t, int64_t heads) -> Value {
      return RoPEOp::create(
          b, loc(), t.getType(), t, positions, b.getI64IntegerAttr(heads),
          IntegerAttr(), b.getF64FloatAttr(10000.0),
          RopePairingAttr::get(&context, RopePairing::NeoX), RopeScalingAttr());
    };
    q = rope(q, c.numHeads);
    k = rope(k, c.numKvHeads);
    Value attn = AttentionOp::create(
        b, loc(), act, q, k, v, /*key_padding=*/Value(), /*bias=*/Value(),
        b.getI64IntegerAttr(c.numHeads), b.getI64IntegerAttr(c.numKvHeads),
        FloatAttr(), MaskKindAttr::get(&context, MaskKind::Causal),
        IntegerAttr());
    Value o = linear(attn, "o_proj.weight", c.hidden);
    Value r1 = arith::AddFOp::create(b, loc(), x, o);
    Value gate = linear(r1, "gate_proj.weight", c.inter);
    Value up = linear(r1, "up_proj.weight", c.inter);
    Value glu = GluOp::create(b, loc(), gate.getType(), gate, up,
                              ActivationAttr::get(&context, Activation::SiLU));
    Value down = linear(glu, "down_proj.weight", c.hidden);
    Value r2 = arith::AddFOp::create(b, loc(), r1, down);
    func::ReturnOp::create(b, loc(), r2);
    return module;
  }

  MLIRContext context;
};

TEST_F(DialectTest, BuildsAndVerifiesDecoderBlock) {
  OwningOpRef<ModuleOp> module = buildBlock(BlockConfig());
  ASSERT_TRUE(succeeded(verify(*module)));

  // The attention op reports its grouping through the interface.
  AttentionOpInterface attention;
  module->walk([&](AttentionOpInterface op) { attention = op; });
  ASSERT_TRUE(attention);
  EXPECT_EQ(attention.getNumHeads(), 8);
  EXPECT_EQ(attention.getNumKvHeads(), 2);
  EXPECT_EQ(attention.getHeadDim(), 32);
  EXPECT_EQ(attention.getGroupSize(), 4);
  EXPECT_EQ(attention.getMask(), MaskKind::Causal);
  EXPECT_DOUBLE_EQ(
      cast<AttentionOp>(attention.getOperation()).getEffectiveScale(),
      1.0 / std::sqrt(32.0));

  int numParams = 0;
  module->walk([&](ParamOp) { ++numParams; });
  EXPECT_EQ(numParams, 8);
}

TEST_F(DialectTest, RejectsHeadsThatDoNotDivideKvHeads) {
  BlockConfig config;
  config.numKvHeads = 3;
  config.hidden = 240; // 8 heads of 30, 3 kv heads of 30.
  OwningOpRef<ModuleOp> module = buildBlock(config);
  std::string message;
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
    message = diag.str();
    return success();
  });
  EXPECT_TRUE(failed(verify(*module)));
  EXPECT_NE(message.find("expected num_kv_heads 3 to divide num_heads 8"),
            std::string::npos)
      << message;
}

TEST_F(DialectTest, RoundTripsThroughText) {
  OwningOpRef<ModuleOp> module = buildBlock(BlockConfig());
  std::string text;
  llvm::raw_string_ostream os(text);
  module->print(os);
  EXPECT_NE(text.find("llm.attention"), std::string::npos);
  EXPECT_NE(text.find("#llm.mask<causal>"), std::string::npos);
}

TEST_F(DialectTest, KVCacheBytesPerToken) {
  auto f16 =
      KVCacheType::get(&context, 22, 4, 64, 16, Float16Type::get(&context));
  // TinyLlama-1.1B: 22 layers, 4 kv heads of 64, f16: 2 * 22 * 256 * 2 bytes.
  EXPECT_DOUBLE_EQ(f16.getBytesPerToken(), 22528.0);
  auto i8 =
      KVCacheType::get(&context, 22, 4, 64, 16, IntegerType::get(&context, 8));
  // One byte per value plus a 4-byte scale per (block of 16 tokens, head).
  EXPECT_DOUBLE_EQ(i8.getBytesPerToken(),
                   2.0 * 22 * 256 * (1.0 + 4.0 / (64 * 16)));
}

} // namespace
