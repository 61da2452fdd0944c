//===- Passes.h - Passes of LLMC --------------------------------*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_PASSES_PASSES_H
#define LLM_PASSES_PASSES_H

#include "llm/dialects/LLM/IR/LLMAttrs.h"
#include "llm/dialects/LLM/IR/LLMDialect.h"
#include "mlir/Pass/Pass.h"

#include "PositionMath.h"

namespace mlir {
class OpBuilder;
class RewritePatternSet;
} // namespace mlir

namespace mlir::llm {

/// Tokens per KV-cache block when nothing else is asked for: the default of
/// llm-insert-kv-cache's block-size, of the CPU pipeline's and of the tools'.
inline constexpr int64_t kDefaultKVBlockSize = 16;

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

/// The ALiBi slopes of `heads` heads, bit for bit as the kernels compute
/// them (llmk::alibiSlopes of PositionMath.h).
SmallVector<float> computeAlibiSlopes(int64_t heads, double maxBias);

/// The kernels' view of a RoPE scaling (the defaults when `scaling` is
/// null), for PositionMath.h and the kernel calls.
llmk::RopeScalingParams getRopeScalingParams(RopeScalingAttr scaling);

/// For an attention bias that is an `llm.alibi` (possibly expanded to a unit
/// batch dimension) of `numHeads` heads, or of one head for all, creates the
/// `[numHeads]` f32 `alibi_slopes` constant that replaces it; returns null
/// for any other bias.
Value createAlibiSlopes(OpBuilder &builder, Value bias, int64_t numHeads);

} // namespace mlir::llm

#endif // LLM_PASSES_PASSES_H
