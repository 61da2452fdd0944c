//===- CPULowering.cpp - What the CPU lowering patterns share -------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "CPULowering.h"

#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace mlir::llm;
using namespace mlir::llm::cpu;

int64_t mlir::llm::cpu::getNumElements(Value value) {
  return cast<RankedTensorType>(value.getType()).getNumElements();
}

ArrayRef<int64_t> mlir::llm::cpu::getShape(Value value) {
  return cast<RankedTensorType>(value.getType()).getShape();
}

int64_t mlir::llm::cpu::getRows(Value value) {
  ArrayRef<int64_t> shape = getShape(value);
  return shape.empty() ? 1 : getNumElements(value) / shape.back();
}

int64_t mlir::llm::cpu::getNumBytes(Type type) {
  auto tensor = cast<RankedTensorType>(type);
  Type element = tensor.getElementType();
  int64_t elementBytes =
      element.isInteger(1)
          ? 1
          : llvm::divideCeil(element.getIntOrFloatBitWidth(), 8);
  return tensor.getNumElements() * elementBytes;
}

bool mlir::llm::cpu::isFoldedConstantUse(OpOperand &use) {
  DenseFPElementsAttr splat;
  if (!matchPattern(use.get(), m_Constant(&splat)) || !splat.isSplat())
    return false;
  Operation *user = use.getOwner();
  // max(x, 0) becomes llmk_relu(x).
  if (isa<arith::MaximumFOp>(user))
    return use.getOperandNumber() == 1;
  // x * s becomes llmk_scale(x, s), s being the rhs when it is a splat,
  // else the lhs.
  auto mul = dyn_cast<arith::MulFOp>(user);
  if (!mul)
    return false;
  DenseFPElementsAttr rhs;
  bool rhsSplat = matchPattern(mul.getRhs(), m_Constant(&rhs)) && rhs.isSplat();
  return use.getOperandNumber() == 1 ? rhsSplat : !rhsSplat;
}

//===----------------------------------------------------------------------===//
// CPULowering
//===----------------------------------------------------------------------===//

CPULowering::CPULowering(ModuleOp module, StringRef passName)
    : module(module), passName(passName.str()) {
  MLIRContext *context = module.getContext();
  auto ptr = LLVM::LLVMPointerType::get(context);
  // Tried last to first: tensors, caches and quantized weights are
  // pointers; anything else is kept.
  typeConverter.addConversion([](Type type) { return type; });
  typeConverter.addConversion([ptr](RankedTensorType) { return ptr; });
  typeConverter.addConversion([ptr](KVCacheType) { return ptr; });
  typeConverter.addConversion([ptr](QuantizedType) { return ptr; });
}

void CPULowering::beginFunction(LLVM::LLVMFuncOp lowered,
                                FunctionPlan functionPlan) {
  function = lowered;
  plan = std::move(functionPlan);
}

Value CPULowering::loadPointer(OpBuilder &builder, Location loc, Value base,
                               int64_t index) {
  auto ptr = LLVM::LLVMPointerType::get(builder.getContext());
  Value slot = LLVM::GEPOp::create(builder, loc, ptr, ptr, base,
                                   ArrayRef<LLVM::GEPArg>{index});
  return LLVM::LoadOp::create(builder, loc, ptr, slot);
}

Value CPULowering::getDestination(OpBuilder &builder, Location loc,
                                  Value result) {
  if (auto it = plan.returnedAt.find(result); it != plan.returnedAt.end())
    return loadPointer(builder, loc, getResultsArg(), it->second);
  auto it = plan.arenaOffset.find(result);
  if (it == plan.arenaOffset.end())
    return nullptr;
  return LLVM::GEPOp::create(builder, loc,
                             LLVM::LLVMPointerType::get(builder.getContext()),
                             builder.getI8Type(), function.getArgument(1),
                             ArrayRef<LLVM::GEPArg>{it->second});
}

int64_t CPULowering::getParamIndex(ParamOp param) {
  NamedAttrList attrs(param->getAttrDictionary());
  attrs.set("type", TypeAttr::get(param.getType()));
  Attribute key = attrs.getDictionary(module.getContext());
  auto [it, inserted] = paramIndex.try_emplace(key, params.size());
  if (inserted)
    params.push_back(key);
  return it->second;
}

ArrayAttr CPULowering::getParamsAttr() {
  return ArrayAttr::get(module.getContext(), params);
}

Value CPULowering::materializeConstant(OpBuilder &builder,
                                       arith::ConstantOp constant) {
  auto dense = dyn_cast<DenseElementsAttr>(constant.getValue());
  if (!dense)
    return nullptr;
  auto type = cast<RankedTensorType>(dense.getType());
  std::string name =
      ("__llm_constant_" + function.getSymName() + "_" + Twine(numConstants++))
          .str();
  {
    OpBuilder::InsertionGuard guard(builder);
    builder.setInsertionPointToStart(module.getBody());
    auto flatType =
        RankedTensorType::get({type.getNumElements()}, type.getElementType());
    // A splat is expanded: kernels read every element.
    DenseElementsAttr flat =
        dense.isSplat()
            ? DenseElementsAttr::get(flatType, dense.getSplatValue<Attribute>())
            : dense.reshape(flatType);
    LLVM::GlobalOp::create(
        builder, constant.getLoc(),
        LLVM::LLVMArrayType::get(type.getElementType(), type.getNumElements()),
        /*isConstant=*/true, LLVM::Linkage::Internal, name, flat);
  }
  return LLVM::AddressOfOp::create(
      builder, constant.getLoc(),
      LLVM::LLVMPointerType::get(builder.getContext()), name);
}

Value CPULowering::createSamplerState(OpBuilder &builder, Location loc) {
  // Five zeroed words: "seeded" and the generator's state, kept between
  // calls so that each call continues the op's random sequence.
  std::string name =
      ("__llm_sampler_" + function.getSymName() + "_" + Twine(numSamplers++))
          .str();
  {
    OpBuilder::InsertionGuard guard(builder);
    builder.setInsertionPointToStart(module.getBody());
    auto type = RankedTensorType::get({5}, builder.getI64Type());
    LLVM::GlobalOp::create(
        builder, loc, LLVM::LLVMArrayType::get(builder.getI64Type(), 5),
        /*isConstant=*/false, LLVM::Linkage::Internal, name,
        DenseElementsAttr::get(type, builder.getI64IntegerAttr(0)));
  }
  return LLVM::AddressOfOp::create(
      builder, loc, LLVM::LLVMPointerType::get(builder.getContext()), name);
}

StringRef CPULowering::getCallee(Kernel kernel) const {
  if (substitutions.empty())
    return getKernelSignature(kernel).name;
  return substitutions.lookup(static_cast<int>(kernel));
}

LLVM::LLVMFuncOp CPULowering::getOrDeclare(OpBuilder &builder, StringRef name,
                                           ArrayRef<KernelArg> args) {
  LLVM::LLVMFuncOp &declaration = declarations[name];
  if (declaration)
    return declaration;
  MLIRContext *context = builder.getContext();
  SmallVector<Type> types;
  for (KernelArg arg : args) {
    switch (arg) {
    case KernelArg::Ptr:
      types.push_back(LLVM::LLVMPointerType::get(context));
      break;
    case KernelArg::I32:
      types.push_back(builder.getI32Type());
      break;
    case KernelArg::I64:
      types.push_back(builder.getI64Type());
      break;
    case KernelArg::F32:
      types.push_back(builder.getF32Type());
      break;
    case KernelArg::F64:
      types.push_back(builder.getF64Type());
      break;
    }
  }
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToStart(module.getBody());
  declaration = LLVM::LLVMFuncOp::create(
      builder, module.getLoc(), name,
      LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(context), types));
  return declaration;
}

//===----------------------------------------------------------------------===//
// KernelCall
//===----------------------------------------------------------------------===//

KernelCall::KernelCall(ConversionPatternRewriter &rewriter, Operation *op,
                       CPULowering &lowering)
    : rewriter(rewriter), op(op), lowering(lowering), loc(op->getLoc()) {
  for (Value result : op->getResults())
    results.push_back(isa<RankedTensorType>(result.getType())
                          ? lowering.getDestination(rewriter, loc, result)
                          : Value());
}

Value KernelCall::i32(int64_t value) {
  return LLVM::ConstantOp::create(rewriter, loc, rewriter.getI32Type(),
                                  rewriter.getI32IntegerAttr(value));
}

Value KernelCall::i64(int64_t value) {
  return LLVM::ConstantOp::create(rewriter, loc, rewriter.getI64Type(),
                                  rewriter.getI64IntegerAttr(value));
}

Value KernelCall::f32(double value) {
  return LLVM::ConstantOp::create(rewriter, loc, rewriter.getF32Type(),
                                  rewriter.getF32FloatAttr(value));
}

Value KernelCall::f64(double value) {
  return LLVM::ConstantOp::create(rewriter, loc, rewriter.getF64Type(),
                                  rewriter.getF64FloatAttr(value));
}

Value KernelCall::ptrOrNull(Value converted) {
  if (converted)
    return converted;
  return LLVM::ZeroOp::create(rewriter, loc,
                              LLVM::LLVMPointerType::get(op->getContext()));
}

void KernelCall::emit(Kernel kernel, ArrayRef<Value> args) {
  const KernelSignature &signature = getKernelSignature(kernel);
  StringRef callee = lowering.getCallee(kernel);
  if (callee.empty()) {
    (void)report("no " + lowering.getTargetName() + " kernel for " +
                 signature.name + " (what this op lowers to) yet");
    emitFailed = true;
    return;
  }
  emitCall(callee, signature.args, args);
}

void KernelCall::emitCall(StringRef name, ArrayRef<KernelArg> signature,
                          ArrayRef<Value> args) {
  LLVM::LLVMFuncOp callee = lowering.getOrDeclare(rewriter, name, signature);
  ArrayRef<Type> params = callee.getFunctionType().getParams();
  bool matches = args.size() == params.size();
  for (size_t i = 0; matches && i < args.size(); ++i)
    matches = args[i] && args[i].getType() == params[i];
  if (!matches) {
    // A lowering that disagrees with Kernels.def is a bug in LLMC: reported
    // instead of emitting a call with a mismatched signature.
    (void)report("internal error: the call of " + name +
                 " does not match its declaration (" + Twine(args.size()) +
                 " arguments, expected " + Twine(params.size()) + ")");
    emitFailed = true;
    return;
  }
  LLVM::CallOp::create(rewriter, loc, callee, args);
}

LogicalResult KernelCall::replace() {
  if (emitFailed)
    return abandon();
  for (Value result : results)
    if (!result)
      return fail("internal error: a result has no storage");
  if (op->getNumResults() == 0)
    rewriter.eraseOp(op);
  else
    rewriter.replaceOp(op, results);
  return success();
}

LogicalResult KernelCall::report(const Twine &message) {
  op->emitOpError() << lowering.getPassName() << ": " << message;
  lowering.markFailed();
  return failure();
}

LogicalResult KernelCall::abandon() {
  auto ptr = LLVM::LLVMPointerType::get(op->getContext());
  SmallVector<Value> nulls;
  for (unsigned i = 0; i < op->getNumResults(); ++i)
    nulls.push_back(LLVM::ZeroOp::create(rewriter, loc, ptr));
  if (nulls.empty())
    rewriter.eraseOp(op);
  else
    rewriter.replaceOp(op, nulls);
  return success();
}

LogicalResult KernelCall::fail(const Twine &message) {
  (void)report(message);
  return abandon();
}

/// `type` as the IR prints it.
static std::string describe(Type type) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << type;
  return text;
}

static LogicalResult requireElement(KernelCall &call, Value value,
                                    StringRef what, StringRef expected,
                                    function_ref<bool(Type)> accepts) {
  Type element = cast<ShapedType>(value.getType()).getElementType();
  if (accepts(element))
    return success();
  std::string found;
  llvm::raw_string_ostream os(found);
  os << element;
  return call.report("expected " + expected + " " + what + ", found " + found);
}

LogicalResult KernelCall::requireF32(Value original, StringRef what) {
  return requireElement(*this, original, what, "an f32",
                        [](Type t) { return t.isF32(); });
}

LogicalResult KernelCall::requireI32(Value original, StringRef what) {
  return requireElement(*this, original, what, "i32",
                        [](Type t) { return t.isInteger(32); });
}

LogicalResult KernelCall::requireI64(Value original, StringRef what) {
  return requireElement(*this, original, what, "i64",
                        [](Type t) { return t.isInteger(64); });
}

FailureOr<int32_t> KernelCall::weightLayout(Value weight) {
  auto param = weight.getDefiningOp<ParamOp>();
  std::optional<int64_t> panels = param ? param.getPanels() : std::nullopt;
  if (!panels)
    return int32_t(LLMK_LAYOUT_ROWS);
  if (*panels != LLMK_PANEL_ROWS)
    return report("expected a weight in panels of " +
                  std::to_string(LLMK_PANEL_ROWS) +
                  " rows (the CPU kernels' LLMK_PANEL_ROWS), found panels = " +
                  std::to_string(*panels));
  return int32_t(LLMK_LAYOUT_PANELS);
}

LogicalResult KernelCall::requireRuntimeQuantized(QuantizedType type) {
  if (!type.getScaleType().isF32() ||
      (type.getPacking() != QuantPacking::Byte &&
       type.getPacking() != QuantPacking::Nibble &&
       type.getPacking() != QuantPacking::NibblePlane))
    return report("expected a quantized weight with f32 scales and 'byte', "
                  "'nibble' or 'nibble_plane' packing (the runtime's "
                  "layouts), found " +
                  describe(type));
  if (type.getGroupSize() % 32 != 0 && type.getGroupSize() != 16)
    return report("expected a quantized weight with groups of 16 or a "
                  "multiple of 32 input features, or per_channel, found " +
                  describe(type));
  return success();
}

FailureOr<int32_t> KernelCall::weightDtype(Value weight) {
  if (isa<QuantizedType>(weight.getType()))
    return report("expected a float weight: this op's kernel does not read "
                  "quantized weights, found " +
                  describe(weight.getType()));
  Type element = cast<RankedTensorType>(weight.getType()).getElementType();
  if (element.isF32())
    return int32_t(LLMK_F32);
  if (element.isF16())
    return int32_t(LLMK_F16);
  if (element.isBF16())
    return int32_t(LLMK_BF16);
  std::string found;
  llvm::raw_string_ostream os(found);
  os << element;
  return report("expected an f32, f16 or bf16 weight, found " + found);
}
