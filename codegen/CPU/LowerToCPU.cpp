//===- LowerToCPU.cpp - llm dialect to LLVM calls of CPU microkernels -----===//
//
// Part of LLMC, under the Apache License v2.0.
//
// Implements --llm-lower-to-cpu: every function over static tensors becomes
// one LLVM function that calls the microkernels of
// runtime/kernels/cpu/Kernels.h, with intermediate tensors at offsets of one
// arena planned from liveness.
//
//===----------------------------------------------------------------------===//

#include "llm/codegen/CPU/Passes.h"
#include "llm/dialects/LLM/IR/LLMOps.h"
#include "llm/passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/TypeSwitch.h"

namespace mlir::llm {
#define GEN_PASS_DEF_LOWERTOCPUPASS
#include "llm/codegen/CPU/Passes.h.inc"
} // namespace mlir::llm

using namespace mlir;
using namespace mlir::llm;

namespace {

/// Bytes of one element as the kernels store it (i1 as one byte).
int64_t getElementBytes(Type type) {
  if (type.isInteger(1))
    return 1;
  return llvm::divideCeil(type.getIntOrFloatBitWidth(), 8);
}

int64_t getNumBytes(Type type) {
  auto tensor = cast<RankedTensorType>(type);
  return tensor.getNumElements() * getElementBytes(tensor.getElementType());
}

int64_t getNumElements(Value value) {
  return cast<RankedTensorType>(value.getType()).getNumElements();
}

ArrayRef<int64_t> getShape(Value value) {
  return cast<RankedTensorType>(value.getType()).getShape();
}

/// Rows of a tensor seen as [rows, last dim].
int64_t getRows(Value value) {
  ArrayRef<int64_t> shape = getShape(value);
  return shape.empty() ? 1 : getNumElements(value) / shape.back();
}

/// First-fit placement of tensors in one arena, in definition order, freeing
/// each tensor after its last use.
class ArenaPlanner {
public:
  static constexpr int64_t kAlignment = 64;

  int64_t allocate(int64_t bytes) {
    bytes = llvm::alignTo(std::max<int64_t>(bytes, 1), kAlignment);
    int64_t offset = 0;
    auto it = live.begin();
    for (; it != live.end(); ++it) {
      if (it->first - offset >= bytes)
        break;
      offset = std::max(offset, it->first + it->second);
    }
    live.insert(it, {offset, bytes});
    peak = std::max(peak, offset + bytes);
    return offset;
  }

  void release(int64_t offset) {
    auto it =
        llvm::find_if(live, [&](auto &block) { return block.first == offset; });
    if (it != live.end())
      live.erase(it);
  }

  int64_t getPeak() const { return peak; }

private:
  /// (offset, size) of live tensors, sorted by offset.
  SmallVector<std::pair<int64_t, int64_t>> live;
  int64_t peak = 0;
};

/// The returned tensors; returned caches are updated in place and have no
/// result buffer.
SmallVector<Value> getTensorResults(func::ReturnOp ret) {
  SmallVector<Value> tensors;
  for (Value operand : ret.getOperands())
    if (!isa<KVCacheType>(operand.getType()))
      tensors.push_back(operand);
  return tensors;
}

class FunctionLowering {
public:
  FunctionLowering(ModuleOp module, func::FuncOp func,
                   SmallVectorImpl<Attribute> &params,
                   DenseMap<Attribute, int64_t> &paramIndex)
      : module(module), func(func), builder(module.getContext()),
        loc(func.getLoc()), params(params), paramIndex(paramIndex) {}

  LogicalResult run();

private:
  // Constants and types.
  Type ptrType() { return LLVM::LLVMPointerType::get(builder.getContext()); }
  Value i64(int64_t v) {
    return LLVM::ConstantOp::create(builder, loc, builder.getI64Type(),
                                    builder.getI64IntegerAttr(v));
  }
  Value i32(int64_t v) {
    return LLVM::ConstantOp::create(builder, loc, builder.getI32Type(),
                                    builder.getI32IntegerAttr(v));
  }
  Value f32(double v) {
    return LLVM::ConstantOp::create(builder, loc, builder.getF32Type(),
                                    builder.getF32FloatAttr(v));
  }
  Value f64(double v) {
    return LLVM::ConstantOp::create(builder, loc, builder.getF64Type(),
                                    builder.getF64FloatAttr(v));
  }
  Value null() { return LLVM::ZeroOp::create(builder, loc, ptrType()); }

  /// `base[index]` of an array of pointers.
  Value loadPointer(Value base, int64_t index) {
    Value slot = LLVM::GEPOp::create(builder, loc, ptrType(), ptrType(), base,
                                     ArrayRef<LLVM::GEPArg>{index});
    return LLVM::LoadOp::create(builder, loc, ptrType(), slot);
  }

  void call(StringRef name, ArrayRef<Value> args);

  /// The data pointer of a lowered tensor (NULL for an absent operand).
  Value ptr(Value tensor);

  /// A read-only global holding a dense constant, and its address.
  Value materializeConstant(arith::ConstantOp op);
  /// The address of a new zeroed global holding one `llm.sample`'s
  /// generator state.
  Value samplerState();

  /// Weight dtype code of `LLMKDtype`.
  FailureOr<int64_t> weightDtype(Operation *op, Value weight);

  LogicalResult planArena();
  LogicalResult lowerOp(Operation *op);
  LogicalResult lowerAttention(Operation *op, Value q, Value k, Value v,
                               Value keyPadding, Value bias, Value slopes,
                               int64_t numHeads, int64_t numKvHeads,
                               double scale, MaskKind mask,
                               std::optional<int64_t> window);

  ModuleOp module;
  func::FuncOp func;
  OpBuilder builder;
  Location loc;
  SmallVectorImpl<Attribute> &params;
  DenseMap<Attribute, int64_t> &paramIndex;

  Value paramsArg, arenaArg, argsArg, resultsArg;
  /// Arena offsets of intermediate tensors; returned values go straight to
  /// the result buffers instead.
  DenseMap<Value, int64_t> arenaOffset;
  DenseMap<Value, unsigned> returnedAt;
  int64_t arenaBytes = 0;
  /// Lowered data pointer of each tensor value.
  DenseMap<Value, Value> values;
  int64_t numConstants = 0, numSamplers = 0;
  /// Set when a kernel call had an operand with no lowering.
  bool missingOperand = false;
};

Value FunctionLowering::ptr(Value tensor) {
  if (!tensor)
    return null();
  if (Value lowered = values.lookup(tensor))
    return lowered;
  if (auto constant = tensor.getDefiningOp<arith::ConstantOp>())
    return values[tensor] = materializeConstant(constant);
  return nullptr;
}

Value FunctionLowering::samplerState() {
  // Five zeroed words: "seeded" and the generator's state, kept between
  // calls so that each call continues the op's random sequence.
  std::string name =
      ("__llm_sampler_" + func.getSymName() + "_" + Twine(numSamplers++)).str();
  {
    OpBuilder::InsertionGuard guard(builder);
    builder.setInsertionPointToStart(module.getBody());
    auto type = RankedTensorType::get({5}, builder.getI64Type());
    LLVM::GlobalOp::create(
        builder, loc, LLVM::LLVMArrayType::get(builder.getI64Type(), 5),
        /*isConstant=*/false, LLVM::Linkage::Internal, name,
        DenseElementsAttr::get(type, builder.getI64IntegerAttr(0)));
  }
  return LLVM::AddressOfOp::create(builder, loc, ptrType(), name);
}

Value FunctionLowering::materializeConstant(arith::ConstantOp op) {
  auto dense = dyn_cast<DenseElementsAttr>(op.getValue());
  if (!dense)
    return nullptr;
  auto type = cast<RankedTensorType>(dense.getType());
  std::string name =
      ("__llm_constant_" + func.getSymName() + "_" + Twine(numConstants++))
          .str();
  {
    OpBuilder::InsertionGuard guard(builder);
    builder.setInsertionPointToStart(module.getBody());
    auto arrayType =
        LLVM::LLVMArrayType::get(type.getElementType(), type.getNumElements());
    // A splat is expanded: kernels read every element.
    DenseElementsAttr flat = dense.reshape(
        RankedTensorType::get({type.getNumElements()}, type.getElementType()));
    if (dense.isSplat())
      flat = DenseElementsAttr::get(
          RankedTensorType::get({type.getNumElements()}, type.getElementType()),
          dense.getSplatValue<Attribute>());
    LLVM::GlobalOp::create(builder, loc, arrayType, /*isConstant=*/true,
                           LLVM::Linkage::Internal, name, flat);
  }
  return LLVM::AddressOfOp::create(builder, loc, ptrType(), name);
}

void FunctionLowering::call(StringRef name, ArrayRef<Value> args) {
  if (llvm::any_of(args, [](Value v) { return !v; })) {
    missingOperand = true;
    return;
  }
  auto callee = module.lookupSymbol<LLVM::LLVMFuncOp>(name);
  if (!callee) {
    OpBuilder::InsertionGuard guard(builder);
    builder.setInsertionPointToStart(module.getBody());
    SmallVector<Type> types;
    for (Value arg : args)
      types.push_back(arg.getType());
    auto fnType = LLVM::LLVMFunctionType::get(
        LLVM::LLVMVoidType::get(builder.getContext()), types);
    callee = LLVM::LLVMFuncOp::create(builder, loc, name, fnType);
  }
  LLVM::CallOp::create(builder, loc, callee, args);
}

FailureOr<int64_t> FunctionLowering::weightDtype(Operation *op, Value weight) {
  Type type = weight.getType();
  if (isa<QuantizedType>(type))
    return op->emitOpError()
           << "llm-lower-to-cpu: quantized weights are not supported yet";
  Type element = cast<RankedTensorType>(type).getElementType();
  if (element.isF32())
    return 0;
  if (element.isF16())
    return 1;
  if (element.isBF16())
    return 2;
  return op->emitOpError() << "llm-lower-to-cpu: expected an f32, f16 or bf16 "
                              "weight, found "
                           << element;
}

LogicalResult FunctionLowering::planArena() {
  Block &body = func.getBody().front();
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  for (auto [i, operand] : llvm::enumerate(getTensorResults(ret))) {
    Operation *def = operand.getDefiningOp();
    // A value returned twice, or an argument or weight, is copied out.
    if (def && !isa<ParamOp, arith::ConstantOp>(def) &&
        !returnedAt.count(operand))
      returnedAt[operand] = i;
    else
      returnedAt.erase(operand);
  }

  DenseMap<Operation *, int64_t> order;
  for (auto [i, op] : llvm::enumerate(body))
    order[&op] = i;
  // Tensors whose storage ends after each op.
  DenseMap<int64_t, SmallVector<Value>> freedAfter;
  ArenaPlanner planner;
  for (auto [i, op] : llvm::enumerate(body)) {
    // An op's outputs never alias its inputs: storage is released only after
    // the op that last reads it.
    llvm::scope_exit releaseDead([&, i = i] {
      for (Value v : freedAfter.lookup(i))
        planner.release(arenaOffset[v]);
    });
    if (isa<ParamOp, arith::ConstantOp>(op))
      continue;
    for (Value result : op.getResults()) {
      if (!isa<RankedTensorType>(result.getType()))
        continue;
      if (returnedAt.count(result))
        continue;
      if (!cast<RankedTensorType>(result.getType()).hasStaticShape())
        return op.emitOpError()
               << "llm-lower-to-cpu: expected static shapes, found "
               << result.getType();
      int64_t lastUse = i;
      for (Operation *user : result.getUsers())
        lastUse = std::max(lastUse, order.lookup(user));
      arenaOffset[result] = planner.allocate(getNumBytes(result.getType()));
      freedAfter[lastUse].push_back(result);
    }
  }
  arenaBytes = planner.getPeak();
  return success();
}

LogicalResult FunctionLowering::run() {
  if (!func.getBody().hasOneBlock())
    return func.emitOpError()
           << "llm-lower-to-cpu: expected a function with one block";
  for (Type type : llvm::concat<const Type>(func.getArgumentTypes(),
                                            func.getResultTypes())) {
    // A cache argument is a pointer to the runtime's LLMKCache descriptor.
    if (isa<KVCacheType>(type))
      continue;
    auto tensor = dyn_cast<RankedTensorType>(type);
    if (!tensor || !tensor.hasStaticShape())
      return func.emitOpError() << "llm-lower-to-cpu: expected statically "
                                   "shaped tensor arguments and results, found "
                                << type;
  }
  if (failed(planArena()))
    return failure();

  builder.setInsertionPoint(func);
  Type ptr = ptrType();
  auto fnType = LLVM::LLVMFunctionType::get(
      LLVM::LLVMVoidType::get(builder.getContext()), {ptr, ptr, ptr, ptr});
  std::string name = func.getSymName().str();
  auto lowered =
      LLVM::LLVMFuncOp::create(builder, loc, name + ".lowered", fnType);
  SmallVector<Attribute> argTypes, resultTypes;
  for (Type t : func.getArgumentTypes())
    argTypes.push_back(TypeAttr::get(t));
  // A returned cache is the argument's cache, updated in place: the native
  // function's results are the tensors alone.
  for (Type t : func.getResultTypes())
    if (!isa<KVCacheType>(t))
      resultTypes.push_back(TypeAttr::get(t));
  lowered->setAttr("llm.arg_types", builder.getArrayAttr(argTypes));
  lowered->setAttr("llm.result_types", builder.getArrayAttr(resultTypes));
  lowered->setAttr("llm.arena_bytes", builder.getI64IntegerAttr(arenaBytes));

  Block *entry = lowered.addEntryBlock(builder);
  builder.setInsertionPointToStart(entry);
  paramsArg = entry->getArgument(0);
  arenaArg = entry->getArgument(1);
  argsArg = entry->getArgument(2);
  resultsArg = entry->getArgument(3);

  Block &body = func.getBody().front();
  for (auto [i, arg] : llvm::enumerate(body.getArguments()))
    values[arg] = loadPointer(argsArg, i);
  for (Operation &op : body.without_terminator()) {
    for (Value result : op.getResults()) {
      if (auto it = returnedAt.find(result); it != returnedAt.end()) {
        values[result] = loadPointer(resultsArg, it->second);
      } else if (auto off = arenaOffset.find(result);
                 off != arenaOffset.end()) {
        values[result] =
            LLVM::GEPOp::create(builder, loc, ptr, builder.getI8Type(),
                                arenaArg, ArrayRef<LLVM::GEPArg>{off->second});
      }
    }
    if (failed(lowerOp(&op)))
      return failure();
    if (missingOperand)
      return op.emitOpError() << "llm-lower-to-cpu: an operand has no CPU "
                                 "lowering (only tensors computed here, "
                                 "arguments, parameters and dense constants "
                                 "do)";
  }
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  for (auto [i, operand] : llvm::enumerate(getTensorResults(ret))) {
    if (returnedAt.lookup(operand) == i && returnedAt.count(operand))
      continue;
    Value src = values.lookup(operand);
    if (!src)
      return ret.emitOpError() << "llm-lower-to-cpu: cannot return a constant";
    call("llmk_copy", {src, loadPointer(resultsArg, i),
                       i64(getNumBytes(operand.getType()))});
  }
  LLVM::ReturnOp::create(builder, loc, ValueRange());
  // The native function takes the source function's name.
  func.erase();
  lowered.setSymName(name);
  return success();
}

LogicalResult FunctionLowering::lowerAttention(
    Operation *op, Value q, Value k, Value v, Value keyPadding, Value bias,
    Value slopes, int64_t numHeads, int64_t numKvHeads, double scale,
    MaskKind mask, std::optional<int64_t> window) {
  ArrayRef<int64_t> qs = getShape(q), ks = getShape(k), vs = getShape(v);
  int64_t batch = qs[0], qLen = qs[1], kvLen = ks[1];
  int64_t headDim = qs[2] / numHeads, vHeadDim = vs[2] / numKvHeads;
  int64_t batchStride = 0, headStride = 0;
  if (bias) {
    ArrayRef<int64_t> b = getShape(bias);
    int64_t plane = qLen * kvLen;
    if (b.size() == 3) {
      headStride = b[0] == 1 ? 0 : plane;
    } else {
      headStride = b[1] == 1 ? 0 : plane;
      batchStride = b[0] == 1 ? 0 : b[1] * plane;
    }
  }
  call("llmk_attention",
       {ptr(q), ptr(k), ptr(v), ptr(keyPadding), ptr(bias), i64(batchStride),
        i64(headStride), ptr(slopes), values[op->getResult(0)], i64(batch),
        i64(qLen), i64(kvLen), i64(numHeads), i64(numKvHeads), i64(headDim),
        i64(vHeadDim), f32(scale), i32(static_cast<int64_t>(mask)),
        i64(window.value_or(0))});
  return success();
}

LogicalResult FunctionLowering::lowerOp(Operation *op) {
  auto out = [&](unsigned i = 0) { return values[op->getResult(i)]; };
  auto requireI32 = [&](Value value, StringRef what) -> LogicalResult {
    Type element = cast<RankedTensorType>(value.getType()).getElementType();
    if (element.isInteger(32))
      return success();
    return op->emitOpError() << "llm-lower-to-cpu: expected i32 " << what
                             << ", found " << element;
  };
  auto requireF32 = [&](Value value, StringRef what) -> LogicalResult {
    Type element = cast<RankedTensorType>(value.getType()).getElementType();
    if (element.isF32())
      return success();
    return op->emitOpError() << "llm-lower-to-cpu: expected an f32 " << what
                             << ", found " << element;
  };
  for (Value result : op->getResults())
    if (auto tensor = dyn_cast<RankedTensorType>(result.getType());
        tensor && !isa<ParamOp, arith::ConstantOp, SampleOp>(op) &&
        !tensor.getElementType().isF32())
      return op->emitOpError() << "llm-lower-to-cpu: expected f32 results "
                                  "(the CPU kernels compute in fp32), found "
                               << tensor.getElementType();

  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case([&](ParamOp param) {
        NamedAttrList attrs(param->getAttrDictionary());
        attrs.set("type", TypeAttr::get(param.getType()));
        Attribute key = attrs.getDictionary(builder.getContext());
        auto [it, inserted] = paramIndex.try_emplace(key, params.size());
        if (inserted)
          params.push_back(key);
        values[param] = loadPointer(paramsArg, it->second);
        return success();
      })
      .Case([&](arith::ConstantOp) {
        // Splat constants are folded into the ops that use them.
        return success();
      })
      .Case([&](EmbeddingOp e) -> LogicalResult {
        FailureOr<int64_t> dtype = weightDtype(op, e.getTable());
        if (failed(dtype))
          return failure();
        if (!e.getIds().getType().getElementType().isInteger(64))
          return op->emitOpError() << "llm-lower-to-cpu: expected i64 ids";
        ArrayRef<int64_t> table = getShape(e.getTable());
        call("llmk_embedding",
             {ptr(e.getIds()), ptr(e.getTable()), i32(*dtype), out(),
              i64(getNumElements(e.getIds())), i64(table[0]), i64(table[1])});
        return success();
      })
      .Case([&](LinearOp l) -> LogicalResult {
        FailureOr<int64_t> dtype = weightDtype(op, l.getWeight());
        if (failed(dtype))
          return failure();
        if (l.getBias() && failed(requireF32(l.getBias(), "bias")))
          return failure();
        ArrayRef<int64_t> w = getShape(l.getWeight());
        call("llmk_linear", {ptr(l.getInput()), ptr(l.getWeight()), i32(*dtype),
                             ptr(l.getBias()), out(),
                             i64(getRows(l.getInput())), i64(w[1]), i64(w[0])});
        return success();
      })
      .Case([&](MatmulOp m) -> LogicalResult {
        if (failed(requireF32(m.getRhs(), "rhs")))
          return failure();
        ArrayRef<int64_t> a = getShape(m.getLhs());
        size_t r = a.size();
        int64_t batch = getNumElements(m.getLhs()) / (a[r - 2] * a[r - 1]);
        int64_t n = getShape(m.getResult()).back();
        call("llmk_matmul", {ptr(m.getLhs()), ptr(m.getRhs()), out(),
                             i64(batch), i64(a[r - 2]), i64(a[r - 1]), i64(n),
                             i32(m.getTransposeRhs() ? 1 : 0)});
        return success();
      })
      .Case([&](RMSNormOp n) -> LogicalResult {
        if (failed(requireF32(n.getWeight(), "norm weight")))
          return failure();
        call("llmk_rms_norm",
             {ptr(n.getInput()), ptr(n.getWeight()), out(),
              i64(getRows(n.getInput())), i64(getShape(n.getInput()).back()),
              f32(n.getEpsilon().convertToDouble()),
              f32(n.getWeightOffset().convertToDouble())});
        return success();
      })
      .Case([&](LayerNormOp n) -> LogicalResult {
        if (failed(requireF32(n.getWeight(), "norm weight")) ||
            (n.getBias() && failed(requireF32(n.getBias(), "norm bias"))))
          return failure();
        call("llmk_layer_norm",
             {ptr(n.getInput()), ptr(n.getWeight()), ptr(n.getBias()), out(),
              i64(getRows(n.getInput())), i64(getShape(n.getInput()).back()),
              f32(n.getEpsilon().convertToDouble())});
        return success();
      })
      .Case([&](RoPEInvFreqOp r) -> LogicalResult {
        if (!r.getPositions().getType().getElementType().isInteger(64))
          return op->emitOpError()
                 << "llm-lower-to-cpu: expected i64 positions";
        llmk::RopeScalingParams sc = getRopeScalingParams(r.getScalingAttr());
        call("llmk_rope_inv_freq_at",
             {ptr(r.getPositions()), i64(getNumElements(r.getPositions())),
              out(), i64(r.getRotaryDim()), f64(r.getTheta().convertToDouble()),
              i32(sc.kind), f64(sc.factor), i64(sc.originalMaxPosition),
              f64(sc.lowFreqFactor), f64(sc.highFreqFactor), f64(sc.betaFast),
              f64(sc.betaSlow), f64(sc.attentionFactor)});
        return success();
      })
      .Case([&](RoPEOp r) -> LogicalResult {
        if (!r.getPositions().getType().getElementType().isInteger(64))
          return op->emitOpError()
                 << "llm-lower-to-cpu: expected i64 positions";
        llmk::RopeScalingParams sc = getRopeScalingParams(r.getScalingAttr());
        call("llmk_rope",
             {ptr(r.getInput()), ptr(r.getPositions()), out(),
              i64(getRows(r.getInput())), i64(r.getNumHeads()),
              i64(r.getHeadDim()), i64(r.getEffectiveRotaryDim()),
              f64(r.getTheta().convertToDouble()),
              i32(r.getPairing() == RopePairing::GPTJ ? 1 : 0), i32(sc.kind),
              f64(sc.factor), i64(sc.originalMaxPosition),
              f64(sc.lowFreqFactor), f64(sc.highFreqFactor), f64(sc.betaFast),
              f64(sc.betaSlow), f64(sc.attentionFactor),
              // The kernel takes the sequence length from the positions.
              i64(-1)});
        return success();
      })
      .Case([&](LinearRoPEOp l) -> LogicalResult {
        FailureOr<int64_t> dtype = weightDtype(op, l.getWeight());
        if (failed(dtype))
          return failure();
        if ((l.getBias() && failed(requireF32(l.getBias(), "bias"))) ||
            failed(requireF32(l.getInvFreq(), "inv_freq table")))
          return failure();
        if (!l.getPositions().getType().getElementType().isInteger(64))
          return op->emitOpError()
                 << "llm-lower-to-cpu: expected i64 positions";
        ArrayRef<int64_t> w = getShape(l.getWeight());
        call("llmk_linear_rope",
             {ptr(l.getInput()), ptr(l.getWeight()), i32(*dtype),
              ptr(l.getBias()), out(), i64(getRows(l.getInput())), i64(w[1]),
              i64(w[0]), ptr(l.getPositions()), ptr(l.getInvFreq()),
              i64(l.getNumHeads()), i64(w[0] / l.getNumHeads()),
              i64(l.getRotaryDim()),
              i32(l.getPairing() == RopePairing::GPTJ ? 1 : 0),
              f32(l.getAttentionScaling().convertToDouble())});
        return success();
      })
      .Case([&](AttentionOp a) {
        return lowerAttention(
            op, a.getQuery(), a.getKey(), a.getValue(), a.getKeyPadding(),
            a.getBias(), Value(), a.getNumHeads(), a.getNumKvHeads(),
            a.getEffectiveScale(), a.getMask(), a.getWindow());
      })
      .Case([&](FlashAttentionOp a) {
        return lowerAttention(
            op, a.getQuery(), a.getKey(), a.getValue(), a.getKeyPadding(),
            a.getBias(), a.getAlibiSlopes(), a.getNumHeads(), a.getNumKvHeads(),
            a.getScale().convertToDouble(), a.getMask(), a.getWindow());
      })
      .Case([&](KVCacheAppendOp a) -> LogicalResult {
        if (failed(requireI32(a.getSlots(), "slots")))
          return failure();
        // The cache is updated in place: the result is the same descriptor.
        values[a.getResult()] = ptr(a.getCache());
        call("llmk_kv_cache_append",
             {ptr(a.getCache()), i64(a.getLayer()), ptr(a.getSlots()),
              ptr(a.getKey()), ptr(a.getValue()), i64(getRows(a.getKey()))});
        return success();
      })
      .Case([&](PagedAttentionOp p) -> LogicalResult {
        if (failed(requireI32(p.getBlockTables(), "block tables")) ||
            failed(requireI32(p.getContextLens(), "context lengths")))
          return failure();
        if (p.getRelativeBiasTable() &&
            failed(requireF32(p.getRelativeBiasTable(), "bias table")))
          return failure();
        ArrayRef<int64_t> q = getShape(p.getQuery());
        call("llmk_paged_attention",
             {ptr(p.getQuery()), ptr(p.getCache()), i64(p.getLayer()),
              ptr(p.getBlockTables()), i64(getShape(p.getBlockTables())[1]),
              ptr(p.getContextLens()), ptr(p.getAlibiSlopes()),
              ptr(p.getRelativeBiasTable()), i64(p.getNumBuckets().value_or(0)),
              i64(p.getMaxDistance().value_or(0)),
              i32(p.getBidirectionalBuckets() ? 1 : 0), out(), i64(q[0]),
              i64(q[1]), i64(p.getNumHeads()),
              f32(p.getScale().convertToDouble()),
              i32(static_cast<int64_t>(p.getMask())),
              i64(p.getWindow().value_or(0))});
        return success();
      })
      .Case([&](AlibiOp a) {
        ArrayRef<int64_t> s = getShape(a.getResult());
        call("llmk_alibi", {out(), i64(s[0]), i64(s[1]), i64(s[2]),
                            f64(a.getMaxBias().convertToDouble())});
        return success();
      })
      .Case([&](RelativePositionBiasOp r) -> LogicalResult {
        if (failed(requireF32(r.getTable(), "bias table")))
          return failure();
        ArrayRef<int64_t> s = getShape(r.getResult());
        call("llmk_relative_position_bias",
             {ptr(r.getTable()), out(), i64(s[0]), i64(s[1]), i64(s[2]),
              i64(r.getNumBuckets()), i64(r.getMaxDistance()),
              i32(r.getBidirectional() ? 1 : 0)});
        return success();
      })
      .Case([&](SampleOp s) -> LogicalResult {
        if (failed(requireF32(s.getLogits(), "logits")))
          return failure();
        ArrayRef<int64_t> l = getShape(s.getLogits());
        Value prev = s.getPrevTokens();
        auto idBytes = [](Value ids) {
          return cast<RankedTensorType>(ids.getType())
                     .getElementType()
                     .getIntOrFloatBitWidth() /
                 8;
        };
        call("llmrt_sample",
             {ptr(s.getLogits()), i64(l[0]), i64(l[1]), ptr(prev),
              i64(prev ? getShape(prev)[1] : 0), i32(prev ? idBytes(prev) : 8),
              out(), i32(idBytes(s.getResult())),
              f64(s.getTemperature().convertToDouble()), i64(s.getTopK()),
              f64(s.getTopP().convertToDouble()),
              f64(s.getMinP().convertToDouble()),
              f64(s.getRepetitionPenalty().convertToDouble()), i64(s.getSeed()),
              samplerState()});
        return success();
      })
      .Case([&](GeluOp g) {
        call("llmk_gelu",
             {ptr(g.getInput()), out(), i64(getNumElements(g.getInput())),
              i32(g.getApproximate() == GeluApproximation::Tanh ? 1 : 0)});
        return success();
      })
      .Case([&](SiluOp s) {
        call("llmk_silu",
             {ptr(s.getInput()), out(), i64(getNumElements(s.getInput()))});
        return success();
      })
      .Case([&](GluOp g) {
        call("llmk_glu", {ptr(g.getGate()), ptr(g.getUp()), out(),
                          i64(getNumElements(g.getGate())),
                          i32(static_cast<int64_t>(g.getActivation()))});
        return success();
      })
      .Case([&](SoftmaxOp s) -> LogicalResult {
        if (s.getAxis() !=
            static_cast<int64_t>(getShape(s.getInput()).size()) - 1)
          return op->emitOpError() << "llm-lower-to-cpu: expected softmax over "
                                      "the last axis, found axis "
                                   << s.getAxis();
        call("llmk_softmax",
             {ptr(s.getInput()), out(), i64(getRows(s.getInput())),
              i64(getShape(s.getInput()).back())});
        return success();
      })
      .Case([&](MoEOp m) -> LogicalResult {
        FailureOr<int64_t> dtype = weightDtype(op, m.getGate());
        if (failed(dtype))
          return failure();
        for (Value w : {m.getRouter(), m.getUp(), m.getDown()})
          if (cast<RankedTensorType>(w.getType()).getElementType() !=
              cast<RankedTensorType>(m.getGate().getType()).getElementType())
            return op->emitOpError() << "llm-lower-to-cpu: expected router "
                                        "and expert weights of one dtype";
        ArrayRef<int64_t> gate = getShape(m.getGate());
        call("llmk_moe",
             {ptr(m.getInput()), ptr(m.getRouter()), ptr(m.getGate()),
              ptr(m.getUp()), ptr(m.getDown()), i32(*dtype), out(),
              i64(getRows(m.getInput())), i64(gate[2]), i64(gate[1]),
              i64(gate[0]), i64(m.getTopK()), i32(m.getNormalize() ? 1 : 0),
              i32(static_cast<int64_t>(m.getActivation()))});
        return success();
      })
      .Case<arith::AddFOp, arith::SubFOp, arith::MulFOp>(
          [&](Operation *binary) -> LogicalResult {
            Value lhs = binary->getOperand(0), rhs = binary->getOperand(1);
            auto splat = [](Value v) -> std::optional<double> {
              DenseFPElementsAttr attr;
              if (matchPattern(v, m_Constant(&attr)) && attr.isSplat())
                return attr.getSplatValue<APFloat>().convertToDouble();
              return std::nullopt;
            };
            int64_t n = getNumElements(lhs);
            if (isa<arith::MulFOp>(binary)) {
              if (std::optional<double> s = splat(rhs)) {
                call("llmk_scale", {ptr(lhs), out(), i64(n), f32(*s)});
                return success();
              }
              if (std::optional<double> s = splat(lhs)) {
                call("llmk_scale", {ptr(rhs), out(), i64(n), f32(*s)});
                return success();
              }
            }
            if (!ptr(lhs) || !ptr(rhs))
              return op->emitOpError()
                     << "llm-lower-to-cpu: expected tensor operands or a "
                        "splat multiplier";
            StringRef name = isa<arith::AddFOp>(binary)   ? "llmk_add"
                             : isa<arith::SubFOp>(binary) ? "llmk_sub"
                                                          : "llmk_mul";
            call(name, {ptr(lhs), ptr(rhs), out(), i64(n)});
            return success();
          })
      .Case([&](arith::MaximumFOp m) -> LogicalResult {
        DenseFPElementsAttr zero;
        if (!matchPattern(m.getRhs(), m_Constant(&zero)) || !zero.isSplat() ||
            !zero.getSplatValue<APFloat>().isZero())
          return op->emitOpError() << "llm-lower-to-cpu: expected max(x, 0) "
                                      "(ReLU)";
        call("llmk_relu",
             {ptr(m.getLhs()), out(), i64(getNumElements(m.getLhs()))});
        return success();
      })
      .Default([&](Operation *other) {
        return other->emitOpError()
               << "llm-lower-to-cpu: no CPU lowering for this operation";
      });
}

struct LowerToCPUPass : llm::impl::LowerToCPUPassBase<LowerToCPUPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<Attribute> params;
    DenseMap<Attribute, int64_t> paramIndex;
    SmallVector<func::FuncOp> funcs(module.getOps<func::FuncOp>());
    for (func::FuncOp func : funcs) {
      if (func.isDeclaration())
        continue;
      FunctionLowering lowering(module, func, params, paramIndex);
      if (failed(lowering.run()))
        return signalPassFailure();
    }
    module->setAttr("llm.params", ArrayAttr::get(&getContext(), params));
  }
};

} // namespace
