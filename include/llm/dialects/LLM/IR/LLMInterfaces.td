//===- LLMInterfaces.td - Op interfaces of the llm dialect --*- tablegen -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_DIALECTS_LLM_IR_LLMINTERFACES_TD
#define LLM_DIALECTS_LLM_IR_LLMINTERFACES_TD

include "mlir/IR/OpBase.td"

def LLM_AttentionOpInterface : OpInterface<"AttentionOpInterface"> {
  let description = [{
    Implemented by every form of attention (`llm.attention`,
    `llm.flash_attention`, `llm.paged_attention`) so that passes and cost
    models can read the head grouping and mask without knowing which form
    they hold. The query is `[batch, q_len, num_heads * head_dim]`.
  }];
  let cppNamespace = "::mlir::llm";
  let methods = [
    InterfaceMethod<"Number of query heads.", "int64_t", "getNumHeads">,
    InterfaceMethod<"Number of key/value heads (== num_heads for MHA, 1 for MQA).",
                    "int64_t", "getNumKvHeads">,
    InterfaceMethod<"Features per query/key head.", "int64_t", "getHeadDim">,
    InterfaceMethod<"The mask kind.", "::mlir::llm::MaskKind", "getMask">,
    InterfaceMethod<"Query heads that share one key/value head.",
                    "int64_t", "getGroupSize", (ins), [{}], [{
      return $_op.getNumHeads() / $_op.getNumKvHeads();
    }]>,
  ];
}

#endif // LLM_DIALECTS_LLM_IR_LLMINTERFACES_TD
