//===- CPULowering.h - What the CPU lowering patterns share -----*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
// `llm-lower-to-cpu` turns each function into one LLVM function
// `void f(void **params, void *arena, void **args, void **results)` whose
// body calls the kernels of Kernels.def. Its conversion patterns (one file
// per op family, *ToCPU.cpp) share the state declared here: where each
// tensor of the function lives (an arena offset planned from liveness, or a
// result buffer), the module's table of parameters, and `KernelCall`, which
// emits one call checked against the kernel's declaration.
//
// Tensors (and `!llm.kv_cache` descriptors) become `!llvm.ptr`: a pattern's
// adaptor holds the pointers of its operands, and the pattern replaces the
// op by the pointers of its results.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_CODEGEN_CPU_CPULOWERING_H
#define LLM_CODEGEN_CPU_CPULOWERING_H

#include "KernelABI.h"

#include "llm/dialects/LLM/IR/LLMOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Transforms/DialectConversion.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"

namespace mlir::llm::cpu {

/// Where one function's tensors live once lowered.
struct FunctionPlan {
  /// Byte offsets of intermediate tensors in the arena.
  DenseMap<Value, int64_t> arenaOffset;
  /// Values computed straight into result buffer N of the caller.
  DenseMap<Value, unsigned> returnedAt;
  /// Peak arena size.
  int64_t arenaBytes = 0;
};

/// The state of one run of the lowering.
class CPULowering {
public:
  /// `passName` prefixes every diagnostic ("llm-lower-to-cpu: ...").
  explicit CPULowering(ModuleOp module,
                       StringRef passName = "llm-lower-to-cpu");

  StringRef getPassName() const { return passName; }

  /// Another target's lowering (llm-lower-to-cuda) calls `replacement`, a
  /// function of the same signature, wherever a pattern calls `kernel`.
  /// Once any substitution is set, a kernel without one cannot be called:
  /// the call is reported as having no lowering for that target.
  void substitute(Kernel kernel, StringRef replacement) {
    substitutions[static_cast<int>(kernel)] = replacement;
  }
  /// The function called for `kernel`, or "" when the target has none.
  StringRef getCallee(Kernel kernel) const;
  /// The target's name in diagnostics ("CUDA"), with substitutions set.
  void setTargetName(StringRef name) { targetName = name.str(); }
  StringRef getTargetName() const { return targetName; }

  /// With `inArena`, dense constants are planned in the arena like computed
  /// tensors (a target whose kernels cannot read host globals copies them
  /// there).
  void setConstantsInArena(bool inArena) { constantsInArena = inArena; }
  bool hasConstantsInArena() const { return constantsInArena; }

  ModuleOp getModule() { return module; }
  const TypeConverter &getTypeConverter() const { return typeConverter; }

  /// Starts lowering the body of `lowered` (whose arguments are params,
  /// arena, args and results) with `plan`.
  void beginFunction(LLVM::LLVMFuncOp lowered, FunctionPlan plan);
  const FunctionPlan &getPlan() const { return plan; }

  /// The pointer holding `result`: its arena slot, or the caller's result
  /// buffer it is computed into.
  Value getDestination(OpBuilder &builder, Location loc, Value result);
  /// `base[index]` of one of the lowered function's pointer arrays.
  Value loadPointer(OpBuilder &builder, Location loc, Value base,
                    int64_t index);
  Value getParamsArg() { return function.getArgument(0); }
  Value getArgsArg() { return function.getArgument(2); }
  Value getResultsArg() { return function.getArgument(3); }

  /// The index of `param` in the module's table, added on first use (two
  /// params with the same name, type and layout share one entry).
  int64_t getParamIndex(ParamOp param);
  /// The table, as `llm.params` records it.
  ArrayAttr getParamsAttr();

  /// A read-only global holding `constant`'s dense value (a splat is
  /// expanded), and its address.
  Value materializeConstant(OpBuilder &builder, arith::ConstantOp constant);
  /// The address of a new zeroed global holding one `llm.sample`'s
  /// generator state (5 words).
  Value createSamplerState(OpBuilder &builder, Location loc);
  /// The declaration of function `name` taking `args`, created on first
  /// use.
  LLVM::LLVMFuncOp getOrDeclare(OpBuilder &builder, StringRef name,
                                ArrayRef<KernelArg> args);

  /// Records that a pattern reported an error: the pass fails once the
  /// conversion is over (the pattern itself still succeeds, so that the
  /// conversion adds no second diagnostic).
  void markFailed() { failed = true; }
  bool hasFailed() const { return failed; }

private:
  ModuleOp module;
  TypeConverter typeConverter;
  LLVM::LLVMFuncOp function;
  FunctionPlan plan;
  SmallVector<Attribute> params;
  DenseMap<Attribute, int64_t> paramIndex;
  int64_t numConstants = 0, numSamplers = 0;
  llvm::StringMap<LLVM::LLVMFuncOp> declarations;
  DenseMap<int, StringRef> substitutions;
  std::string passName, targetName;
  bool constantsInArena = false;
  bool failed = false;
};

/// A splat constant that `use`'s op folds into its kernel call's arguments
/// (a scale factor, ReLU's zero) rather than reading it from memory.
bool isFoldedConstantUse(OpOperand &use);

/// Builds and emits the kernel call that replaces one op. The pointers of
/// the op's results are taken first (in result order), then the pattern
/// adds scalar arguments with i32/i64/f32/f64 and emits the call.
class KernelCall {
public:
  KernelCall(ConversionPatternRewriter &rewriter, Operation *op,
             CPULowering &lowering);

  Value i32(int64_t value);
  Value i64(int64_t value);
  Value f32(double value);
  Value f64(double value);
  /// The pointer of an optional operand: null when absent.
  Value ptrOrNull(Value converted);
  /// The pointer of the op's result `index`.
  Value out(unsigned index = 0) { return results[index]; }

  /// Sets the pointer of a result that is not a tensor (a cache updated in
  /// place is its operand's descriptor).
  void setOut(unsigned index, Value pointer) { results[index] = pointer; }

  /// Emits the call of `kernel` (or of the target's substitute for it);
  /// its arguments must match Kernels.def (a mismatch is reported as an
  /// internal error).
  void emit(Kernel kernel, ArrayRef<Value> args);
  /// Emits the call of function `name` declared with `signature`.
  void emitCall(StringRef name, ArrayRef<KernelArg> signature,
                ArrayRef<Value> args);
  /// Replaces the op by its result pointers: what a pattern returns after
  /// emitting its calls.
  LogicalResult replace();

  /// Reports `message` on the op as "llm-lower-to-cpu: <message>" and marks
  /// the lowering failed. Returns failure.
  LogicalResult report(const Twine &message);
  /// Replaces the op by null pointers after a report: the conversion goes
  /// on (each bad op gets its diagnostic) and the pass fails at the end.
  /// Returns success, for the pattern to return.
  LogicalResult abandon();
  /// `report`, then `abandon`.
  LogicalResult fail(const Twine &message);

  /// Checks of an operand's element type: on a mismatch they report
  /// "expected <type> <what>, found <element>" and return failure.
  LogicalResult requireF32(Value original, StringRef what);
  LogicalResult requireI32(Value original, StringRef what);
  LogicalResult requireI64(Value original, StringRef what);
  /// The `LLMKDtype` of a weight operand (f32, f16 or bf16), or a report.
  FailureOr<int32_t> weightDtype(Value weight);
  /// Checks that `type` is a quantized weight the runtime makes from a
  /// checkpoint's float weight (llm-quantize's: f32 scales, byte or nibble
  /// packing, groups of 0 or a multiple of 32).
  LogicalResult requireRuntimeQuantized(QuantizedType type);
  /// The LLMK_LAYOUT_* of a weight: LLMK_LAYOUT_PANELS for an `llm.param`
  /// with `panels` (which must be the kernels' LLMK_PANEL_ROWS), else rows.
  FailureOr<int32_t> weightLayout(Value weight);

private:
  ConversionPatternRewriter &rewriter;
  Operation *op;
  CPULowering &lowering;
  Location loc;
  SmallVector<Value> results;
  bool emitFailed = false;
};

/// A pattern that lowers `OpTy` into kernel calls.
template <typename OpTy>
class CPUOpLowering : public OpConversionPattern<OpTy> {
public:
  CPUOpLowering(CPULowering &lowering, MLIRContext *context)
      : OpConversionPattern<OpTy>(lowering.getTypeConverter(), context),
        lowering(lowering) {}

protected:
  CPULowering &lowering;
};

/// Lowers every function of `module` with `patterns`: checks that each op
/// has a pattern, plans the arena, sets up the entry point and converts.
/// The body of llm-lower-to-cpu, and of lowerings for other targets that
/// reuse its patterns with substituted kernels.
LogicalResult lowerFunctions(ModuleOp module, CPULowering &lowering,
                             RewritePatternSet &&patterns);

/// Static sizes of lowered tensors.
int64_t getNumElements(Value value);
ArrayRef<int64_t> getShape(Value value);
/// Rows of a tensor seen as [rows, last dim].
int64_t getRows(Value value);
/// Bytes of a tensor type as the kernels store it (i1 as one byte).
int64_t getNumBytes(Type type);

} // namespace mlir::llm::cpu

#endif // LLM_CODEGEN_CPU_CPULOWERING_H
