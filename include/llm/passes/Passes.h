//===- Passes.h - Passes of LLMC --------------------------------*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_PASSES_PASSES_H
#define LLM_PASSES_PASSES_H

#include "llm/dialects/LLM/IR/LLMDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;
} // namespace mlir

namespace mlir::llm {

#define GEN_PASS_DECL
#include "llm/passes/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "llm/passes/Passes.h.inc"

/// The patterns of --llm-fuse-attention, for pipelines that fuse along with
/// other rewrites.
void populateFuseAttentionPatterns(RewritePatternSet &patterns,
                                   int64_t blockQ = 64, int64_t blockKv = 64);

/// The patterns of --llm-lower-alibi.
void populateLowerAlibiPatterns(RewritePatternSet &patterns);

/// The ALiBi slopes of `heads` heads, bit for bit as the CPU kernels'
/// `llmk_alibi_slopes` computes them.
SmallVector<float> computeAlibiSlopes(int64_t heads, double maxBias);

} // namespace mlir::llm

#endif // LLM_PASSES_PASSES_H
