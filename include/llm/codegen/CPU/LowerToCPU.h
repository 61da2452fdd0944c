//===- LowerToCPU.h - Patterns of the CPU lowering --------------*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
// The conversion patterns of `llm-lower-to-cpu`, one set per op family, for
// pipelines that lower along with other rewrites. They rewrite ops inside an
// LLVM function whose signature the pass has set up (see
// codegen/CPU/CPULowering.h): tensors are pointers, and each op becomes
// calls of the kernels declared in runtime/kernels/cpu/Kernels.def.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_CODEGEN_CPU_LOWERTOCPU_H
#define LLM_CODEGEN_CPU_LOWERTOCPU_H

namespace mlir {
class RewritePatternSet;
namespace llm {
namespace cpu {
class CPULowering;
} // namespace cpu

/// llm.attention, llm.flash_attention, llm.kv_cache_append,
/// llm.paged_attention.
void populateAttentionToCPUPatterns(cpu::CPULowering &lowering,
                                    RewritePatternSet &patterns);
/// Norms, softmax, activations, and arith.addf/subf/mulf/maximumf.
void populateElementwiseToCPUPatterns(cpu::CPULowering &lowering,
                                      RewritePatternSet &patterns);
/// llm.embedding, llm.linear, llm.linear_rope, llm.matmul, llm.moe.
void populateLinearToCPUPatterns(cpu::CPULowering &lowering,
                                 RewritePatternSet &patterns);
/// llm.rope, llm.rope_inv_freq, llm.alibi, llm.relative_position_bias.
void populatePositionToCPUPatterns(cpu::CPULowering &lowering,
                                   RewritePatternSet &patterns);
/// llm.param, arith.constant, func.return, llm.sample.
void populateStructureToCPUPatterns(cpu::CPULowering &lowering,
                                    RewritePatternSet &patterns);
/// Every pattern above.
void populateLLMToCPUPatterns(cpu::CPULowering &lowering,
                              RewritePatternSet &patterns);

} // namespace llm
} // namespace mlir

#endif // LLM_CODEGEN_CPU_LOWERTOCPU_H
