//===- Passes.td - Passes of LLMC ---------------------------*- tablegen -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
// Passes are declared here as `def XPass : Pass<"llm-x">`, grouped under
// banners and alphabetical within a group, each with a description that says
// why it exists (see ../shared/STYLE.md).
//
//===----------------------------------------------------------------------===//

#ifndef LLM_PASSES_PASSES_TD
#define LLM_PASSES_PASSES_TD

include "mlir/Pass/PassBase.td"

//===----------------------------------------------------------------------===//
// Code generation
//===----------------------------------------------------------------------===//

def LowerToCPUPass : Pass<"llm-lower-to-cpu", "::mlir::ModuleOp"> {
  let summary = "Lowers llm dialect functions to LLVM calling CPU microkernels";
  let description = [{
    Turns every `func.func` over statically shaped tensors into one LLVM
    function that runs the whole forward pass natively: each `llm` op (and
    each elementwise `arith` op on tensors) becomes a call to the microkernel
    of `runtime/kernels/cpu/Kernels.h`, so there is no interpreter and no
    per-op dispatch. Why: decode is dominated by per-op overhead unless the
    whole entry point is one native function.

    Intermediate tensors live in one arena whose offsets are planned
    statically from liveness (first fit in definition order): the peak
    activation memory is known at compile time and nothing is allocated
    while the model runs. Results are written straight into the caller's
    buffers.

    The generated function is
    `void NAME(void **params, void *arena, void **args, void **results)`.
    The pass records what the runtime needs on the module:
    `llm.params` (one dictionary per distinct `llm.param`, in `params`
    order) and, per function, `llm.arena_bytes`, `llm.arg_types` and
    `llm.result_types`.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

#endif // LLM_PASSES_PASSES_TD
