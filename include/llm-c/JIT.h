/*===- llm-c/JIT.h - Compile models in-process, from C ----------*- C -*-===*\
|*                                                                          *|
|* Part of LLMC, under the Apache License v2.0.                             *|
|*                                                                          *|
\*===----------------------------------------------------------------------===*/

/*
 * The C view of the JIT library (libLLMJIT, which links MLIR and LLVM):
 * compiles a Hugging Face model folder in-process into an llmrt_model that
 * the runtime API (llm-c/Runtime.h) runs. The model is compiled for the
 * shapes of a run: the prompts' lengths, their number (or the beams), and
 * prompt + max_new_tokens. Errors are reported as in Runtime.h.
 */

#ifndef LLM_C_JIT_H
#define LLM_C_JIT_H

#include "llm-c/Runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct llmc_jit_params {
  /** Nonzero: prefill + decode entry points over a paged KV cache; zero:
   *  the full-sequence entry point. */
  int32_t use_kv_cache;
  /** Tokens a generation adds to the longest prompt (0: forward only). */
  int64_t max_new_tokens;
  /** > 1: the decode entry point takes this many beams. */
  int64_t num_beams;
  /** Tokens per KV-cache block, and the cache's storage: "f32", "f16",
   *  "bf16" or "i8". */
  int64_t kv_block_size;
  const char *kv_dtype;
  /** Nonzero: compile a checkpoint that holds more layers or experts than
   *  config.json says, without them (refused otherwise). */
  int32_t allow_unused_weights;
  /** With the KV cache. Nonzero: the prefill entry points compute the
   *  logits of every prompt position, which llmrt_session_prefill writes.
   *  Zero: the last position's alone (llmrt_session_prefill_last), all that
   *  generation reads, which spares the final norm and LM head over the
   *  rest of the prompt and its [prompt, vocab] buffer. */
  int32_t prompt_logits;
  /** Quantize the projections' weights when binding them (round to
   *  nearest; docs/Quantization.md): NULL or "" for none, "int8", "int4",
   *  or "w8a8" (int8 weights, prefill on int8 activations). The LM head
   *  stays in float. */
  const char *quantize;
  /** With `quantize`: input features per scale, 0 (per output row) or a
   *  multiple of 32 that divides them. */
  int64_t quantize_group_size;
  /** With `quantize` "int8" or "int4": how the values are chosen: NULL or
   *  "rtn" (round to nearest), "gptq" or "awq", which run the float model
   *  on the `n_calibration_ids` tokens `calibration_ids` first. */
  const char *quantize_method;
  const int64_t *calibration_ids;
  size_t n_calibration_ids;
  /** The compile cache's folder (NULL: none): a compilation whose model
   *  files, options, compiler and CPU match an earlier one loads the code it
   *  stored there instead of compiling (llm-run's cache; README). */
  const char *cache_dir;
} llmc_jit_params;

/** KV cache on, 16 new tokens, 1 beam, blocks of 16 tokens, f32 cache,
 *  every repeated checkpoint tensor used, the last prompt position's logits
 *  only, float weights (groups of 32, rounded to nearest, if quantized), no
 *  compile cache. */
LLMRT_API llmc_jit_params llmc_jit_default_params(void);

/** Compiles the Hugging Face folder `model_dir` (config.json and
 *  safetensors), or the GGUF file it names (a path ending in .gguf), for
 *  generating from `prompts` (as llmrt_generate takes
 *  them: an encoder-decoder prompt without decoder tokens starts at the
 *  decoder start token), and binds its weights. On
 *  failure `*model` is NULL; the message names the file, the field and the
 *  expected and found values. */
LLMRT_API llmrt_status llmc_jit_compile(const char *model_dir,
                                        const llmrt_prompt *prompts,
                                        size_t n_prompts,
                                        const llmc_jit_params *params,
                                        llmrt_model **model);

#ifdef __cplusplus
}
#endif

#endif /* LLM_C_JIT_H */
