//===- CompiledModel.h - A model JIT-compiled for the CPU -------*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_JIT_COMPILEDMODEL_H
#define LLM_JIT_COMPILEDMODEL_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <vector>

namespace llmrt {
class SafeTensorsArchive;
} // namespace llmrt

namespace mlir {
class ExecutionEngine;
namespace llm {
using llmrt::SafeTensorsArchive;

/// One native entry point of a compiled model.
struct EntryPoint {
  std::string name;
  /// Ranked tensors, or !llm.kv_cache (passed as an LLMKCache pointer).
  std::vector<Type> argTypes;
  std::vector<RankedTensorType> resultTypes;
  int64_t arenaBytes = 0;
  void (*fn)(void **params, void *arena, void **args, void **results) = nullptr;
};

/// A module lowered by `llm-lower-to-cpu`, compiled by the ORC JIT, with its
/// parameters bound to a safetensors archive. Weights whose layout and dtype
/// match what the kernels read are used in place from the memory mapping;
/// others (transposed, fused, stacked, or converted to f32) are packed once.
class CompiledModel {
public:
  /// Compiles `lowered` (which must stay alive only during the call) and binds
  /// every `llm.params` entry to `archive`, which must outlive the model.
  static llvm::Expected<std::unique_ptr<CompiledModel>>
  create(ModuleOp lowered, const SafeTensorsArchive &archive,
         unsigned optLevel = 3);
  ~CompiledModel();

  /// The entry point called `name`, or an error listing those that exist.
  llvm::Expected<const EntryPoint *> lookup(llvm::StringRef name) const;

  /// Runs `entry` on buffers matching its argument and result types.
  void run(const EntryPoint &entry, llvm::ArrayRef<void *> args,
           llvm::ArrayRef<void *> results);

  /// Bytes of weights used in place, and bytes packed at load time.
  uint64_t getMappedBytes() const { return mappedBytes; }
  uint64_t getPackedBytes() const { return packedBytes; }

private:
  CompiledModel() = default;
  llvm::Error bindParams(ArrayAttr params, const SafeTensorsArchive &archive);

  std::unique_ptr<ExecutionEngine> engine;
  std::vector<EntryPoint> entries;
  std::vector<void *> paramPointers;
  std::vector<std::unique_ptr<uint8_t[]>> packed;
  std::unique_ptr<uint8_t[]> arenaStorage;
  void *arena = nullptr;
  uint64_t mappedBytes = 0, packedBytes = 0;
};

} // namespace llm
} // namespace mlir

#endif // LLM_JIT_COMPILEDMODEL_H
