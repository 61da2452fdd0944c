//===- KernelABI.cpp - The kernels as the CPU lowering sees them ----------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "KernelABI.h"

using namespace mlir::llm::cpu;

namespace {

// One array of argument types per kernel: LLMK_ARGS strips the parentheses
// of Kernels.def's argument list.
#define LLMK_ARGS(...) __VA_ARGS__
#define LLMK_PTR(type, name) KernelArg::Ptr
#define LLMK_I32(name) KernelArg::I32
#define LLMK_I64(name) KernelArg::I64
#define LLMK_U64(name) KernelArg::I64
#define LLMK_F32(name) KernelArg::F32
#define LLMK_F64(name) KernelArg::F64
#define LLMK_KERNEL(name, args)                                                \
  constexpr KernelArg name##Args[] = {LLMK_ARGS args};
#include "Kernels.def"

constexpr KernelSignature kSignatures[] = {
#define LLMK_KERNEL(name, args) {#name, name##Args},
#include "Kernels.def"
};

} // namespace

const KernelSignature &mlir::llm::cpu::getKernelSignature(Kernel kernel) {
  return kSignatures[static_cast<size_t>(kernel)];
}

llvm::ArrayRef<KernelSignature> mlir::llm::cpu::getKernelSignatures() {
  return kSignatures;
}
