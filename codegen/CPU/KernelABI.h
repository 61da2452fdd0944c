//===- KernelABI.h - The kernels as the CPU lowering sees them --*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
// The lowering's view of runtime/kernels/cpu/Kernels.def: one `Kernel` per
// declared function and its argument types, so that every emitted call is
// checked against the declaration, and the compiler's enums pinned to the
// kernels' values.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_CODEGEN_CPU_KERNELABI_H
#define LLM_CODEGEN_CPU_KERNELABI_H

#include "llm/dialects/LLM/IR/LLMAttrs.h"

#include "Kernels.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

namespace mlir::llm::cpu {

/// The type of one kernel argument in generated code.
enum class KernelArg { Ptr, I32, I64, F32, F64 };

/// Every function that generated code may call.
enum class Kernel {
#define LLMK_KERNEL(name, args) name,
#include "Kernels.def"
};

/// A kernel's symbol and argument types, as Kernels.def declares them.
struct KernelSignature {
  llvm::StringRef name;
  llvm::ArrayRef<KernelArg> args;
};

/// The declaration of `kernel`.
const KernelSignature &getKernelSignature(Kernel kernel);

/// Every declared kernel, in Kernels.def order.
llvm::ArrayRef<KernelSignature> getKernelSignatures();

// The enums that kernel calls pass as integers are the compiler's enums,
// numbered as Kernels.h numbers them.
static_assert(static_cast<int32_t>(MaskKind::Causal) == LLMK_MASK_CAUSAL);
static_assert(static_cast<int32_t>(MaskKind::Bidirectional) ==
              LLMK_MASK_BIDIRECTIONAL);
static_assert(static_cast<int32_t>(MaskKind::SlidingWindow) ==
              LLMK_MASK_SLIDING_WINDOW);
static_assert(static_cast<int32_t>(MaskKind::Padding) == LLMK_MASK_PADDING);
static_assert(static_cast<int32_t>(Activation::SiLU) == LLMK_ACT_SILU);
static_assert(static_cast<int32_t>(Activation::GELU) == LLMK_ACT_GELU);
static_assert(static_cast<int32_t>(Activation::GELUTanh) == LLMK_ACT_GELU_TANH);
static_assert(static_cast<int32_t>(Activation::ReLU) == LLMK_ACT_RELU);
static_assert(static_cast<int32_t>(RopeScalingKind::None) == LLMK_ROPE_NONE);
static_assert(static_cast<int32_t>(RopeScalingKind::Linear) ==
              LLMK_ROPE_LINEAR);
static_assert(static_cast<int32_t>(RopeScalingKind::Dynamic) ==
              LLMK_ROPE_DYNAMIC);
static_assert(static_cast<int32_t>(RopeScalingKind::Yarn) == LLMK_ROPE_YARN);
static_assert(static_cast<int32_t>(RopeScalingKind::Llama3) ==
              LLMK_ROPE_LLAMA3);

} // namespace mlir::llm::cpu

#endif // LLM_CODEGEN_CPU_KERNELABI_H
