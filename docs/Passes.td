//===- Passes.td - Every pass of LLMC, for docs/Passes.md ---*- tablegen -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
// Not compiled: only gathers the graph-level and code generation passes so
// that `-gen-pass-doc` writes one reference of every pass.
//
//===----------------------------------------------------------------------===//

include "llm/passes/Passes.td"
include "llm/codegen/CPU/Passes.td"
include "llm/codegen/CUDA/Passes.td"
