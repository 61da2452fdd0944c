//===- LowerToCPU.cpp - llm dialect to LLVM calls of CPU microkernels -----===//
//
// Part of LLMC, under the Apache License v2.0.
//
// Implements --llm-lower-to-cpu: every function over static tensors becomes
// one LLVM function that calls the microkernels of Kernels.def, with
// intermediate tensors at offsets of one arena planned from liveness. This
// file plans the arena and sets up each function; the *ToCPU.cpp files hold
// the conversion patterns of each op family.
//
//===----------------------------------------------------------------------===//

#include "CPULowering.h"

#include "llm/codegen/CPU/LowerToCPU.h"
#include "llm/codegen/CPU/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/ScopeExit.h"

namespace mlir::llm {
#define GEN_PASS_DEF_LOWERTOCPUPASS
#include "llm/codegen/CPU/Passes.h.inc"
} // namespace mlir::llm

using namespace mlir;
using namespace mlir::llm;
using namespace mlir::llm::cpu;

void mlir::llm::populateLLMToCPUPatterns(CPULowering &lowering,
                                         RewritePatternSet &patterns) {
  populateAttentionToCPUPatterns(lowering, patterns);
  populateElementwiseToCPUPatterns(lowering, patterns);
  populateLinearToCPUPatterns(lowering, patterns);
  populatePositionToCPUPatterns(lowering, patterns);
  populateStructureToCPUPatterns(lowering, patterns);
}

namespace {

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

/// Checks what the patterns rely on: one block, static tensor arguments and
/// results, a pattern for every op, and fp32 activations.
LogicalResult checkLowerable(func::FuncOp func,
                             const DenseSet<OperationName> &lowerable,
                             StringRef passName, StringRef targetName) {
  if (!func.getBody().hasOneBlock())
    return func.emitOpError()
           << passName << ": expected a function with one block";
  for (Type type : llvm::concat<const Type>(func.getArgumentTypes(),
                                            func.getResultTypes())) {
    // A cache argument is a pointer to the runtime's LLMKCache descriptor.
    if (isa<KVCacheType>(type))
      continue;
    auto tensor = dyn_cast<RankedTensorType>(type);
    if (!tensor || !tensor.hasStaticShape())
      return func.emitOpError() << passName
                                << ": expected statically shaped tensor "
                                   "arguments and results, found "
                                << type;
  }
  for (Operation &op : func.getBody().front().without_terminator()) {
    for (Value result : op.getResults()) {
      auto tensor = dyn_cast<RankedTensorType>(result.getType());
      if (!tensor)
        continue;
      if (!tensor.hasStaticShape())
        return op.emitOpError()
               << passName << ": expected static shapes, found "
               << result.getType();
      // The MoE routing's expert indices, offsets and sources are i32.
      bool index = isa<MoERouteOp, MoEPermuteOp>(op) &&
                   tensor.getElementType().isInteger(32);
      if (!isa<ParamOp, arith::ConstantOp, SampleOp>(op) && !index &&
          !tensor.getElementType().isF32())
        return op.emitOpError()
               << passName << ": expected f32 results (the "
               << (targetName.empty() ? StringRef("CPU") : targetName)
               << " kernels compute in fp32), found "
               << tensor.getElementType();
    }
    if (!lowerable.contains(op.getName()))
      return op.emitOpError()
             << passName << ": no "
             << (targetName.empty() ? StringRef("CPU") : targetName)
             << " lowering for this operation";
  }
  return success();
}

/// Places every intermediate tensor of `func` in the arena; values returned
/// once, and computed here, go straight to their result buffer.
FunctionPlan planFunction(func::FuncOp func, bool constantsInArena) {
  FunctionPlan plan;
  Block &body = func.getBody().front();
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  for (auto [i, operand] : llvm::enumerate(getTensorResults(ret))) {
    Operation *def = operand.getDefiningOp();
    // A value returned twice, or an argument or weight, is copied out.
    if (def && !isa<ParamOp, arith::ConstantOp>(def) &&
        !plan.returnedAt.count(operand))
      plan.returnedAt[operand] = i;
    else
      plan.returnedAt.erase(operand);
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
        planner.release(plan.arenaOffset[v]);
    });
    if (isa<ParamOp>(op) || (isa<arith::ConstantOp>(op) && !constantsInArena))
      continue;
    for (Value result : op.getResults()) {
      if (!isa<RankedTensorType>(result.getType()) ||
          plan.returnedAt.count(result))
        continue;
      int64_t lastUse = i;
      for (Operation *user : result.getUsers())
        lastUse = std::max(lastUse, order.lookup(user));
      plan.arenaOffset[result] =
          planner.allocate(getNumBytes(result.getType()));
      freedAfter[lastUse].push_back(result);
    }
  }
  plan.arenaBytes = planner.getPeak();
  return plan;
}

/// Replaces `func` by the LLVM function
/// `void NAME(void **params, void *arena, void **args, void **results)`
/// holding its body: each argument is loaded from `args` (and cast back to
/// its tensor type until the patterns have run). Records the signature in
/// `llm.arg_types`, `llm.result_types` and `llm.arena_bytes`.
LLVM::LLVMFuncOp createEntryPoint(func::FuncOp func, const FunctionPlan &plan,
                                  CPULowering &lowering) {
  MLIRContext *context = func.getContext();
  OpBuilder builder(func);
  Location loc = func.getLoc();
  auto ptr = LLVM::LLVMPointerType::get(context);
  auto fnType = LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(context),
                                            {ptr, ptr, ptr, ptr});
  std::string name = func.getSymName().str();
  auto lowered =
      LLVM::LLVMFuncOp::create(builder, loc, name + ".lowered", fnType);
  SmallVector<Attribute> argTypes, argKinds, resultTypes;
  auto *dialect = context->getLoadedDialect<LLMDialect>();
  for (auto [i, t] : llvm::enumerate(func.getArgumentTypes())) {
    argTypes.push_back(TypeAttr::get(t));
    // The manifest tells the runtime what each argument holds.
    Attribute kind =
        func.getArgAttr(i, LLMDialect::ArgKindAttrHelper::getNameStr());
    argKinds.push_back(kind ? kind : UnitAttr::get(context));
  }
  // A returned cache is the argument's cache, updated in place: the native
  // function's results are the tensors alone.
  for (Type t : func.getResultTypes())
    if (!isa<KVCacheType>(t))
      resultTypes.push_back(TypeAttr::get(t));
  dialect->getArgTypesAttrHelper().setAttr(lowered,
                                           builder.getArrayAttr(argTypes));
  dialect->getArgKindsAttrHelper().setAttr(lowered,
                                           builder.getArrayAttr(argKinds));
  dialect->getResultTypesAttrHelper().setAttr(
      lowered, builder.getArrayAttr(resultTypes));
  dialect->getArenaBytesAttrHelper().setAttr(
      lowered, builder.getI64IntegerAttr(plan.arenaBytes));

  Block *entry = lowered.addEntryBlock(builder);
  builder.setInsertionPointToStart(entry);
  Block &body = func.getBody().front();
  for (auto [i, arg] : llvm::enumerate(body.getArguments())) {
    Value pointer =
        lowering.loadPointer(builder, loc, entry->getArgument(2), i);
    arg.replaceAllUsesWith(
        UnrealizedConversionCastOp::create(builder, loc, arg.getType(), pointer)
            .getResult(0));
  }
  entry->getOperations().splice(entry->end(), body.getOperations());
  // The native function takes the source function's name.
  func.erase();
  lowered.setSymName(name);
  return lowered;
}

} // namespace

LogicalResult mlir::llm::cpu::lowerFunctions(ModuleOp module,
                                             CPULowering &lowering,
                                             RewritePatternSet &&patterns) {
  MLIRContext *context = module.getContext();
  DenseSet<OperationName> lowerable;
  for (const std::unique_ptr<RewritePattern> &pattern :
       patterns.getNativePatterns())
    if (std::optional<OperationName> root = pattern->getRootKind())
      lowerable.insert(*root);
  FrozenRewritePatternSet frozen(std::move(patterns));

  ConversionTarget target(*context);
  target.addLegalDialect<LLVM::LLVMDialect>();
  target.addIllegalDialect<LLMDialect, arith::ArithDialect, func::FuncDialect,
                           tensor::TensorDialect>();

  SmallVector<func::FuncOp> funcs(module.getOps<func::FuncOp>());
  for (func::FuncOp func : funcs) {
    if (func.isDeclaration())
      continue;
    if (failed(checkLowerable(func, lowerable, lowering.getPassName(),
                              lowering.getTargetName())))
      return failure();
    FunctionPlan plan = planFunction(func, lowering.hasConstantsInArena());
    LLVM::LLVMFuncOp lowered = createEntryPoint(func, plan, lowering);
    lowering.beginFunction(lowered, std::move(plan));
    if (failed(applyPartialConversion(lowered, target, frozen)) ||
        lowering.hasFailed())
      return failure();
    // The arguments' casts back to tensors meet the patterns' casts to
    // pointers. A constant folded into its users' calls was replaced by a
    // null pointer that nothing reads: erased.
    SmallVector<UnrealizedConversionCastOp> casts;
    lowered.walk(
        [&](UnrealizedConversionCastOp cast) { casts.push_back(cast); });
    reconcileUnrealizedCasts(casts);
    lowered.walk([](LLVM::ZeroOp zero) {
      if (zero->use_empty())
        zero.erase();
    });
  }
  context->getLoadedDialect<LLMDialect>()->getParamsAttrHelper().setAttr(
      module, lowering.getParamsAttr());
  return success();
}

namespace {

struct LowerToCPUPass : llm::impl::LowerToCPUPassBase<LowerToCPUPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    getContext().getOrLoadDialect<LLMDialect>();
    CPULowering lowering(module);
    RewritePatternSet patterns(&getContext());
    populateLLMToCPUPatterns(lowering, patterns);
    if (failed(lowerFunctions(module, lowering, std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
