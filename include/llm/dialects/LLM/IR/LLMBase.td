//===- LLMBase.td - The llm dialect and its shared constraints -*- tablegen -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_DIALECTS_LLM_IR_LLMBASE_TD
#define LLM_DIALECTS_LLM_IR_LLMBASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"

def LLM_Dialect : Dialect {
  let name = "llm";
  let cppNamespace = "::mlir::llm";
  let summary = "Graph-level operations of transformer language models";
  let description = [{
    The `llm` dialect describes transformer language models at the level at
    which their authors think of them: embeddings, projections, norms, rotary
    and ALiBi positions, attention with its head grouping and mask, mixtures
    of experts, a paged KV cache, quantized weights and sampling.

    Activations are ranked builtin tensors of `f32`, `f16` or `bf16`. Token
    activations use the layout `[batch, sequence, features]`; attention keeps
    heads packed in the feature dimension (`[batch, sequence, heads *
    head_dim]`) so that projections feed attention without reshapes. Weights
    are never inlined: `llm.param` names a tensor in the parameter archive.

    Every op checks its shapes and attributes and reports the expected and
    the found value, so a malformed model is rejected at import time rather
    than miscompiled.
  }];
  let useDefaultTypePrinterParser = 1;
  let useDefaultAttributePrinterParser = 1;
  // What the compiler records for the runtime, declared here and checked by
  // verifyOperationAttribute and verifyRegionArgAttribute:
  // - `llm.model` (a #llm.model) on the module, set by importers;
  // - `llm.arg_kind` (a #llm.arg_kind) on entry-point arguments, set by
  //   importers and llm-insert-kv-cache;
  // - from code generation, `llm.params` on the module (one dictionary per
  //   weight the native code reads: name, type, and transpose, row_blocks or
  //   stacked when the archive stores it otherwise), and on each lowered
  //   function `llm.arena_bytes`, the tensor types of `llm.arg_types` and
  //   `llm.result_types`, and the `llm.arg_kinds` of its arguments (unit
  //   where an argument has none).
  let discardableAttrs = (ins
    "::mlir::llm::ModelInfoAttr":$model,
    "::mlir::llm::ArgKindAttr":$arg_kind,
    "::mlir::ArrayAttr":$params,
    "::mlir::IntegerAttr":$arena_bytes,
    "::mlir::ArrayAttr":$arg_types,
    "::mlir::ArrayAttr":$result_types,
    "::mlir::ArrayAttr":$arg_kinds
  );
  let hasOperationAttrVerify = 1;
  let hasRegionArgAttrVerify = 1;
  let extraClassDeclaration = [{
    void registerTypes();
    void registerAttributes();
  }];
}

//===----------------------------------------------------------------------===//
// Shared attribute and type constraints
//===----------------------------------------------------------------------===//

/// A signed 64-bit integer attribute. Verifiers check the ranges themselves
/// so that the diagnostic can state the expected and the found value.
def LLM_IntAttr : TypedSignlessIntegerAttrBase<I64, "int64_t",
                                               "64-bit signless integer attribute"> {
  let convertFromStorage = "$_self.getValue().getSExtValue()";
}

/// Floating-point element types for activations.
def LLM_FloatElement : AnyTypeOf<[F32, F16, BF16]>;

/// A ranked activation tensor.
def LLM_Tensor : RankedTensorOf<[F32, F16, BF16]>;

/// A ranked tensor of token ids, slots, block indices or lengths.
def LLM_IndexTensor : RankedTensorOf<[I32, I64]>;

/// A ranked boolean tensor (padding masks).
def LLM_BoolTensor : RankedTensorOf<[I1]>;

#endif // LLM_DIALECTS_LLM_IR_LLMBASE_TD
