//===- Pipelines.cpp - The canonical pass pipelines of LLMC ---------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "llm/Pipelines/Pipelines.h"
#include "llm/codegen/CPU/Passes.h"
#include "llm/codegen/CUDA/Passes.h"
#include "llm/passes/Passes.h"

#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::llm;

void mlir::llm::buildCPUPipeline(OpPassManager &pm,
                                 const CPUPipelineOptions &options) {
  if (options.attentionPasses) {
    // ALiBi first: as per-head slopes it survives fusion and cache
    // insertion, a materialized bias tensor does neither (fusion hands any
    // ALiBi it raises over as slopes too).
    pm.addPass(createLowerAlibiPass());
    // Raise decomposed attention so that the S x S scores never exist.
    pm.addPass(createFuseAttentionPass());
  }
  // Rotary embedding joins the Q/K projections' epilogue.
  pm.addPass(createLowerRoPEPass());
  // The cache goes in before canonicalization, which would turn the sliding
  // window of a one-token decode function into a causal mask.
  if (options.kvCache) {
    InsertKVCachePassOptions cache;
    cache.blockSize = options.blockSize;
    cache.cacheDtype = options.cacheDtype;
    cache.maxSeqLen = options.maxSeqLen;
    cache.decodeBatch = options.decodeBatch;
    pm.addPass(createInsertKVCachePass(cache));
    // After the cache, whose decode entry point keeps its shapes; before
    // canonicalization, which then sees the narrowed head.
    if (options.lastLogitsOnly)
      pm.addPass(createLastLogitsPass());
  }
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  // Once every use of each weight is final, as the layout below: whether a
  // weight is quantized depends on all the ops that read it.
  if (options.quantizeBits != 0) {
    QuantizePassOptions quantize;
    quantize.bits = options.quantizeBits;
    quantize.groupSize = options.quantizeGroupSize;
    quantize.symmetric = options.quantizeSymmetric;
    quantize.skip = options.quantizeSkip;
    quantize.activations = options.quantizeActivations;
    quantize.method = options.quantizeMethod;
    pm.addPass(createQuantizePass(quantize));
  }
  // After quantization, which reads llm.moe's experts: routing, grouped
  // GEMMs and combine in the IR (no kernel implements llm.moe whole).
  SpecializeMoEPassOptions moe;
  moe.decodeMaxTokens = options.moeDecodeMaxTokens;
  pm.addPass(createSpecializeMoEPass(moe));
  if (options.target == "cuda") {
    // The CUDA kernels read weights in rows: no panels.
    pm.addPass(createLowerToCUDAPass());
    return;
  }
  // Last, once every use of each weight is final: the layout of a weight
  // depends on all the ops that read it.
  if (options.packWeights)
    pm.addPass(createPackWeightsPass());
  // One native function per entry point, calling the microkernels.
  pm.addPass(createLowerToCPUPass());
}

void mlir::llm::registerLLMPipelines() {
  PassPipelineRegistration<CPUPipelineOptions>(
      "llm-cpu-pipeline",
      "Compiles llm dialect functions to LLVM calling the CPU microkernels: "
      "lower ALiBi, fuse attention, optionally insert the paged KV cache "
      "(and compute the prefills' last logits only), canonicalize, "
      "optionally quantize, specialize MoE layers, pack the projections' "
      "weights in panels, lower to the CPU",
      buildCPUPipeline);
}
