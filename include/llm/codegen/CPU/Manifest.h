//===- Manifest.h - The entry-point manifest of a lowered module -*- C++
//-*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
// What the runtime reads instead of MLIR types (runtime/Manifest.h
// documents the format): the model's description, the parameters to bind,
// and each entry point's arguments (kind, dtype, shape or cache layout),
// results and arena size. Written from the attributes that importers,
// llm-insert-kv-cache and llm-lower-to-cpu record.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_CODEGEN_CPU_MANIFEST_H
#define LLM_CODEGEN_CPU_MANIFEST_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <string>

namespace mlir::llm {

/// The manifest of `lowered`, a module after `llm-lower-to-cpu`, as JSON
/// text. Fails (naming the function or parameter) on a type the runtime
/// cannot describe.
llvm::Expected<std::string> buildManifest(ModuleOp lowered);

} // namespace mlir::llm

#endif // LLM_CODEGEN_CPU_MANIFEST_H
