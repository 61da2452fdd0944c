//===- Passes.td - CUDA code generation passes --------------*- tablegen -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
// The passes of the CUDA backend, beside the code they declare
// (codegen/CUDA/).
//
//===----------------------------------------------------------------------===//

#ifndef LLM_CODEGEN_CUDA_PASSES_TD
#define LLM_CODEGEN_CUDA_PASSES_TD

include "mlir/Pass/PassBase.td"

def LowerToCUDAPass : Pass<"llm-lower-to-cuda", "::mlir::ModuleOp"> {
  let summary = "Lowers llm dialect functions to LLVM host code launching "
                "CUDA kernels";
  let description = [{
    Turns every `func.func` into the host program of a CUDA forward pass:
    one LLVM function with the ABI of `llm-lower-to-cpu`
    (`void NAME(void **params, void *arena, void **args, void **results)`,
    the same `llm.params`, `llm.arena_bytes`, `llm.arg_types` and
    `llm.result_types`), whose calls are the launchers of
    `runtime/cuda/Launchers.def` instead of the CPU kernels. Each launcher
    takes its CPU kernel's arguments, in device memory, and launches the
    CUDA kernels of `runtime/cuda/kernels/Kernels.cu` that do that work
    (projections as a GEMV per row or, from 16 rows, a tensor-core GEMM;
    paged attention split over the keys; ...).

    Why this shape: the CPU lowering's patterns already decide, op by op,
    which kernel runs with which shapes, arena offsets and parameters; the
    CUDA lowering reuses them whole, so the two backends cannot disagree
    about an op's meaning, and the arena planned from liveness becomes the
    device's activation memory. Dense constants (RoPE's frequency tables)
    are planned in the arena too and copied there from host globals at the
    start of their use (`llmc_cuda_upload`), since a kernel cannot read the
    host's memory.

    Every CPU kernel has a launcher; weights packed in panels
    (`llm-pack-weights`, the CPU kernels' layout) are an error that names
    the op.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

#endif // LLM_CODEGEN_CUDA_PASSES_TD
