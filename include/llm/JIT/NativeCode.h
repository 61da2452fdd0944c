//===- NativeCode.h - Lowered modules as object files and libraries -*- C++
//-*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
// Ahead-of-time code generation for what the JIT compiles in memory: a
// module after llm-lower-to-cpu translated to LLVM IR, optimized as the JIT
// optimizes it, compiled for the host CPU (its name and features, as the
// JIT's target machine) to an object file, and linked into a shared object
// that libllmrt opens (llmrt::openSharedLibrary). The compile cache and
// llm-compile's artifacts are made of these.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_JIT_NATIVECODE_H
#define LLM_JIT_NATIVECODE_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <string>
#include <vector>

namespace llvm {
class LLVMContext;
class Module;
} // namespace llvm

namespace mlir::llm {

/// The host CPU as code generation targets it: its name (LLVM's, as
/// -mcpu takes it) and its enabled features ("+avx2,+fma,...", sorted).
struct HostCPU {
  std::string name;
  std::string features;
};
HostCPU getHostCPU();

/// `lowered` as LLVM IR for the host, optimized at `optLevel` as the JIT
/// does (mlir::makeOptimizingTransformer).
llvm::Expected<std::unique_ptr<llvm::Module>>
translateToHostLLVMIR(ModuleOp lowered, llvm::LLVMContext &context,
                      unsigned optLevel);

/// Compiles `module` (from translateToHostLLVMIR) into an ELF object file
/// for the host CPU, position-independent, at `optLevel`, written to
/// `path`.
llvm::Error emitObjectFile(llvm::Module &module, unsigned optLevel,
                           llvm::StringRef path);

/// Links the object file `object` into the shared object `output` with a C
/// compiler driver ($LLMC_LINKER, else the one LLMC was built with, else
/// cc, clang or gcc on the PATH); the kernels it calls stay undefined, for
/// the runtime to resolve.
llvm::Error linkSharedLibrary(llvm::StringRef object, llvm::StringRef output);

/// Links the object file `object` and `inputs` (libraries, flags) into the
/// executable `output`, its symbols exported (-rdynamic) so that the code
/// finds its own entry points; with the same driver as linkSharedLibrary.
llvm::Error linkExecutable(llvm::StringRef object,
                           const std::vector<std::string> &inputs,
                           llvm::StringRef output);

/// translateToHostLLVMIR, emitObjectFile and linkSharedLibrary in one,
/// through a temporary object file next to `output`.
llvm::Error emitSharedLibrary(ModuleOp lowered, unsigned optLevel,
                              llvm::StringRef output);

} // namespace mlir::llm

#endif // LLM_JIT_NATIVECODE_H
