//===- InitAll.h - Registers LLMC's dialects, passes, pipelines -*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
// One place that knows everything a tool may need, as mlir/InitAllDialects.h
// and mlir/InitAllPasses.h do upstream: a new dialect, pass library or
// pipeline is registered here and every tool sees it.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_INITALL_H
#define LLM_INITALL_H

namespace mlir {
class DialectRegistry;
namespace llm {

/// Adds the llm dialect and the upstream dialects that LLMC's IR and its
/// lowering use (arith, func, linalg, tensor, LLVM, ...) to `registry`.
void registerAllDialects(DialectRegistry &registry);

/// Registers LLMC's graph-level passes, its code generation passes, the
/// upstream transforms (canonicalize, cse, ...) and the named pipelines
/// (`--llm-cpu-pipeline`) with the global pass registry.
void registerAllPasses();

} // namespace llm
} // namespace mlir

#endif // LLM_INITALL_H
