//===- Passes.td - Passes of LLMC ---------------------------*- tablegen -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
// Passes are declared here as `def XPass : Pass<"llm-x">`, grouped under
// banners and alphabetical within a group, each with a description that says
// why it exists (see ../shared/STYLE.md).
//
//===----------------------------------------------------------------------===//

#ifndef LLM_PASSES_PASSES_TD
#define LLM_PASSES_PASSES_TD

include "mlir/Pass/PassBase.td"

#endif // LLM_PASSES_PASSES_TD
