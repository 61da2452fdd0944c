//===- Passes.td - CPU code generation passes ---------------*- tablegen -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
// The passes of the CPU backend. They live beside the code they declare
// (codegen/CPU/), as in CIRCT and IREE, so that the graph-level passes
// (include/llm/passes/Passes.td) neither link code generation nor see the
// LLVM dialect.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_CODEGEN_CPU_PASSES_TD
#define LLM_CODEGEN_CPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def LowerToCPUPass : Pass<"llm-lower-to-cpu", "::mlir::ModuleOp"> {
  let summary = "Lowers llm dialect functions to LLVM calling CPU microkernels";
  let description = [{
    Turns every `func.func` over statically shaped tensors into one LLVM
    function that runs the whole forward pass natively: each `llm` op (and
    each elementwise `arith` op on tensors) becomes a call to a microkernel
    declared in `runtime/kernels/cpu/Kernels.def`, so there is no
    interpreter and no per-op dispatch. The patterns (one set per op family,
    `populate*ToCPUPatterns`) check every call against that declaration. Why: decode is dominated by per-op overhead unless the
    whole entry point is one native function.

    Intermediate tensors live in one arena whose offsets are planned
    statically from liveness (first fit in definition order): the peak
    activation memory is known at compile time and nothing is allocated
    while the model runs. Results are written straight into the caller's
    buffers; a returned `!llm.kv_cache` is the argument's cache, updated in
    place, and has no result buffer. `llm.sample` calls the runtime sampler
    with its generator state in a zero-initialized global, and a static
    `tensor.extract_slice` (a prefill's last position, from
    `llm-last-logits`) copies of its contiguous runs.

    The generated function is
    `void NAME(void **params, void *arena, void **args, void **results)`.
    The pass records what the runtime needs in attributes that the `llm`
    dialect declares and verifies: `llm.params` on the module (one
    dictionary per distinct `llm.param`, in `params` order) and, per
    function, `llm.arena_bytes`, `llm.arg_types` and `llm.result_types`.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

#endif // LLM_CODEGEN_CPU_PASSES_TD
