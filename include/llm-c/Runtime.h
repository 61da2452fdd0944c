/*===- llm-c/Runtime.h - The C API of libllmrt ------------------*- C -*-===*\
|*                                                                          *|
|* Part of LLMC, under the Apache License v2.0.                             *|
|*                                                                          *|
\*===----------------------------------------------------------------------===*/

/*
 * Runs models that LLMC compiled, with no dependency on MLIR or LLVM.
 *
 * A model (llmrt_model) is the native code of its entry points, the
 * manifest the compiler wrote for them, and its weights. It comes from the
 * JIT (llm-c/JIT.h: llmc_jit_compile) or from native code the host loaded
 * (llmrt_model_load). Over a model:
 *   - llmrt_model_forward runs the full-sequence entry point (logits or
 *     hidden states of every position);
 *   - a session (llmrt_session) holds sequences in a paged KV cache:
 *     prefill, batched decode, forks for beam search, and for
 *     encoder-decoder models a static cross-attention cache filled once per
 *     encoder input;
 *   - llmrt_generate runs greedy decoding, sampling or beam search.
 *
 * Conventions, as in llama.h: opaque handles created by *_create/_load and
 * released by *_free (which accept NULL); *_default_params() for every
 * parameter struct. Every function that can fail returns an llmrt_status:
 * LLMRT_OK, or a code and a message (llmrt_last_error) that names the
 * parameter, file or field with the expected and the found value. Nothing
 * aborts on bad input. Token ids are int64_t; logits are float32, row-major
 * [rows, vocab]. A model and its sessions are used from one thread at a
 * time; calls on one model must not overlap (they share its arena).
 */

#ifndef LLM_C_RUNTIME_H
#define LLM_C_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LLMRT_API __attribute__((visibility("default")))

/*===----------------------------------------------------------------------===
 * Status
 *===----------------------------------------------------------------------===*/

typedef enum llmrt_status {
  LLMRT_OK = 0,
  /** A parameter or an input is invalid (NULL, out of range, ...). */
  LLMRT_ERROR_INVALID_ARGUMENT = 1,
  /** A file is missing or unreadable. */
  LLMRT_ERROR_IO = 2,
  /** A file's contents are malformed (safetensors, manifest, JSON). */
  LLMRT_ERROR_FORMAT = 3,
  LLMRT_ERROR_OUT_OF_MEMORY = 4,
  /** The KV cache has no free block left. */
  LLMRT_ERROR_CACHE_FULL = 5,
  /** A kernel reported an error (e.g. a token id outside the vocabulary). */
  LLMRT_ERROR_KERNEL = 6,
  /** The model or the request needs what was not compiled or built. */
  LLMRT_ERROR_UNSUPPORTED = 7,
  /** A bug in LLMC. */
  LLMRT_ERROR_INTERNAL = 8
} llmrt_status;

/** "ok", "invalid argument", ...; never NULL. */
LLMRT_API const char *llmrt_status_name(llmrt_status status);

/** The message of the last failed call on this thread ("" when none). Valid
 *  until the next failing call on this thread. */
LLMRT_API const char *llmrt_last_error(void);

/** Kernel worker threads (0: one per core). Must not be called while a
 *  model runs. Fails with LLMRT_ERROR_INVALID_ARGUMENT outside [0, 1024]. */
LLMRT_API llmrt_status llmrt_set_num_threads(int32_t n_threads);

/*===----------------------------------------------------------------------===
 * Models
 *===----------------------------------------------------------------------===*/

typedef struct llmrt_model llmrt_model;

typedef enum llmrt_model_kind {
  LLMRT_MODEL_DECODER = 0,
  LLMRT_MODEL_ENCODER = 1,
  LLMRT_MODEL_ENCODER_DECODER = 2
} llmrt_model_kind;

/** What a model is. Pointers are owned by the model. */
typedef struct llmrt_model_info {
  const char *type; /**< Hugging Face model_type ("llama", ...). */
  llmrt_model_kind kind;
  int64_t vocab_size;
  int64_t hidden_size;
  const int64_t *eos_token_ids;
  size_t n_eos_token_ids;
  int64_t decoder_start_token_id;
  /** Longest sequence its positions support (0: unbounded). */
  int64_t max_positions;
  /** The context the model was trained for (0: none); a session refuses
   *  positions past it unless llmrt_session_options.ignore_context_length. */
  int64_t context_length;
  /** The attention window of every layer (0: none). */
  int64_t sliding_window;
  /** Bytes of weights read in place from the checkpoint, and packed. */
  uint64_t mapped_bytes;
  uint64_t packed_bytes;
} llmrt_model_info;

/** Fills `info`. Fails with LLMRT_ERROR_INVALID_ARGUMENT on NULL, and
 *  LLMRT_ERROR_UNSUPPORTED when the compiler described no model. */
LLMRT_API llmrt_status llmrt_model_get_info(const llmrt_model *model,
                                            llmrt_model_info *info);

/** Native code the host provides: `lookup` returns the address of an entry
 *  point (NULL when absent); `release` (may be NULL) is called once when
 *  the model is freed, or when loading fails. */
typedef struct llmrt_code {
  void *context;
  void *(*lookup)(void *context, const char *symbol);
  void (*release)(void *context);
} llmrt_code;

/** Creates a model from its manifest (JSON text of `manifest_size` bytes),
 *  the Hugging Face folder (or any folder of safetensors) holding its
 *  weights (NULL for a model without parameters), and its native code. On
 *  failure `*model` is NULL and `code.release` has been called. */
LLMRT_API llmrt_status llmrt_model_load(const char *manifest_json,
                                        size_t manifest_size,
                                        const char *weights_dir,
                                        llmrt_code code, llmrt_model **model);

/** Loads the artifact folder `path` that `llm-compile MODEL -o NAME.llmc`
 *  wrote: its manifest.json (format version and this CPU's features
 *  checked), params.safetensors (memory-mapped) and model.so (dlopen; its
 *  kernels resolve from libllmrt). The artifact's tokenizer, when it has
 *  one, loads with llmrt_tokenizer_load(path). Errors name the file and
 *  what was expected: another format version, a missing file, a corrupted
 *  params.safetensors, a model.so without an entry point the manifest
 *  lists. On failure `*model` is NULL. */
LLMRT_API llmrt_status llmrt_model_load_artifact(const char *path,
                                                 llmrt_model **model);

LLMRT_API void llmrt_model_free(llmrt_model *model);

/** Runs the full-sequence entry point on `tokens` (an encoder-decoder
 *  model's decoder tokens, with its `encoder_tokens`; NULL/0 otherwise) and
 *  writes one row per token to `out`: logits [n_tokens, vocab] or, for an
 *  encoder, hidden states [n_tokens, hidden]. `out_capacity` is the number
 *  of floats `out` holds. Fails with LLMRT_ERROR_UNSUPPORTED when the model
 *  was compiled without that entry point, LLMRT_ERROR_INVALID_ARGUMENT when
 *  the tokens do not fit it or `out` is too small. */
LLMRT_API llmrt_status llmrt_model_forward(llmrt_model *model,
                                           const int64_t *tokens,
                                           size_t n_tokens,
                                           const int64_t *encoder_tokens,
                                           size_t n_encoder_tokens, float *out,
                                           size_t out_capacity);

/*===----------------------------------------------------------------------===
 * Sessions: sequences over a paged KV cache
 *===----------------------------------------------------------------------===*/

typedef struct llmrt_session llmrt_session;

typedef struct llmrt_session_params {
  /** KV-cache blocks; 0: `max_sequences` sequences as long as the compiled
   *  block tables allow. */
  int64_t n_blocks;
  int64_t max_sequences;
  /** Cross-attention cache blocks (encoder-decoder models); 0: as above. */
  int64_t n_cross_blocks;
  /** Nonzero: sequences may grow past the model's context_length (rotary
   *  positions allow it; the model was not trained for it). */
  int ignore_context_length;
} llmrt_session_params;

/** n_blocks 0, max_sequences 1, n_cross_blocks 0, ignore_context_length 0. */
LLMRT_API llmrt_session_params llmrt_session_default_params(void);

/** Allocates the cache. The model must outlive the session. Fails with
 *  LLMRT_ERROR_UNSUPPORTED for a model compiled without the cache, and
 *  LLMRT_ERROR_OUT_OF_MEMORY. */
LLMRT_API llmrt_status llmrt_session_create(llmrt_model *model,
                                            const llmrt_session_params *params,
                                            llmrt_session **session);

LLMRT_API void llmrt_session_free(llmrt_session *session);

/** Starts a sequence. An encoder-decoder model's `encoder_tokens` run
 *  through its encoder now, into the cross-attention cache; other models
 *  take NULL/0. */
LLMRT_API llmrt_status llmrt_session_add_sequence(llmrt_session *session,
                                                  const int64_t *encoder_tokens,
                                                  size_t n_encoder_tokens,
                                                  int64_t *seq);

/** Appends `n_tokens` tokens to `seq` in one call; `logits` (may be NULL)
 *  receives [n_tokens, vocab]. A model compiled for generation computes
 *  the last token's logits alone (llmc_jit_params.prompt_logits 0): then a
 *  non-NULL `logits` fails with LLMRT_ERROR_UNSUPPORTED, before anything
 *  is appended. */
LLMRT_API llmrt_status llmrt_session_prefill(llmrt_session *session,
                                             int64_t seq, const int64_t *tokens,
                                             size_t n_tokens, float *logits);

/** llmrt_session_prefill, with `logits` (may be NULL) receiving the last
 *  token's logits alone ([vocab]): the next-token logits, which every model
 *  computes. */
LLMRT_API llmrt_status llmrt_session_prefill_last(llmrt_session *session,
                                                  int64_t seq,
                                                  const int64_t *tokens,
                                                  size_t n_tokens,
                                                  float *logits);

/** Appends tokens[i] to seqs[i] for i < n; row i of `logits` ([n, vocab],
 *  may be NULL) receives the next-token logits of seqs[i]. */
LLMRT_API llmrt_status llmrt_session_decode(llmrt_session *session,
                                            const int64_t *seqs,
                                            const int64_t *tokens, size_t n,
                                            float *logits);

/** A new sequence holding a copy of `seq`'s cache. */
LLMRT_API llmrt_status llmrt_session_fork(llmrt_session *session, int64_t seq,
                                          int64_t *copy);

/** Frees `seq`'s cache blocks. */
LLMRT_API llmrt_status llmrt_session_release(llmrt_session *session,
                                             int64_t seq);

/** Tokens `seq` holds, and cache blocks it occupies (fewer than its length
 *  needs once a sliding window has freed the blocks it no longer reads). */
LLMRT_API llmrt_status llmrt_session_get_sequence(const llmrt_session *session,
                                                  int64_t seq, int64_t *length,
                                                  int64_t *n_blocks);

/*===----------------------------------------------------------------------===
 * Generation
 *===----------------------------------------------------------------------===*/

typedef struct llmrt_sampling_params {
  /** 0: greedy (argmax); > 0: sample at this temperature. */
  double temperature;
  int64_t top_k;             /**< 0: off. */
  double top_p;              /**< 1: off. */
  double min_p;              /**< 0: off. */
  double repetition_penalty; /**< 1: off. */
  uint64_t seed;
} llmrt_sampling_params;

typedef struct llmrt_generate_params {
  llmrt_sampling_params sampling;
  int64_t max_new_tokens;
  /** Nonzero: do not stop at the model's eos tokens. */
  int32_t ignore_eos;
  /** > 1: beam search (one prompt, greedy sampling parameters). */
  int64_t num_beams;
  double length_penalty;
  /** Nonzero: prefill + decode over a KV cache (the model must have been
   *  compiled with it); zero: recompute each sequence at every step. */
  int32_t use_kv_cache;
  /** Nonzero: generate past the model's context_length. */
  int32_t ignore_context_length;
} llmrt_generate_params;

/** Greedy, 16 new tokens, stop at eos, 1 beam, length penalty 1, with the
 *  KV cache, within the model's context. */
LLMRT_API llmrt_generate_params llmrt_generate_default_params(void);

/** One prompt: an encoder-decoder model's decoder prompt (NULL/0: its
 *  decoder start token, as in transformers) and encoder input; other models
 *  leave the encoder tokens NULL/0. */
typedef struct llmrt_prompt {
  const int64_t *tokens;
  size_t n_tokens;
  const int64_t *encoder_tokens;
  size_t n_encoder_tokens;
} llmrt_prompt;

typedef struct llmrt_generation llmrt_generation;

/** Generates from `n_prompts` prompts at once (beam search: one). With the
 *  cache it creates a session sized for the request. Fails on invalid
 *  parameters (the message names the field), a model compiled for other
 *  shapes, or a kernel error. */
LLMRT_API llmrt_status llmrt_generate(llmrt_model *model,
                                      const llmrt_prompt *prompts,
                                      size_t n_prompts,
                                      const llmrt_generate_params *params,
                                      llmrt_generation **generation);

/** The number of sequences (the prompts, or one for beam search). */
LLMRT_API size_t llmrt_generation_count(const llmrt_generation *generation);

/** The generated tokens of sequence `index` (the prompt excluded; an eos
 *  that ended it included); NULL with *n_tokens 0 for a bad index. */
LLMRT_API const int64_t *
llmrt_generation_tokens(const llmrt_generation *generation, size_t index,
                        size_t *n_tokens);

LLMRT_API void llmrt_generation_free(llmrt_generation *generation);

/*===-- Tokenizers --------------------------------------------------------===*/

/** A Hugging Face tokenizer: a tokenizer.json, or a model folder with one or
 *  with the older vocab.json + merges.txt, vocab.txt or tokenizer.model.
 *  Immutable once loaded; usable from several threads. */
typedef struct llmrt_tokenizer llmrt_tokenizer;

/** Loads `path`; errors name the file and the field. */
LLMRT_API llmrt_status llmrt_tokenizer_load(const char *path,
                                            llmrt_tokenizer **tokenizer);
LLMRT_API void llmrt_tokenizer_free(llmrt_tokenizer *tokenizer);

/** One more than the largest token id. */
LLMRT_API int64_t llmrt_tokenizer_vocab_size(const llmrt_tokenizer *tokenizer);

/** Encodes `n_bytes` of UTF-8 text (ill-formed sequences become U+FFFD)
 *  into `ids`, as tokenizers' encode(text, add_special_tokens). When
 *  `capacity` is too small, fails with LLMRT_ERROR_INVALID_ARGUMENT and
 *  sets *n_ids to the number needed; otherwise *n_ids is the number
 *  written. tokenizer.json's truncation and padding do not apply. */
LLMRT_API llmrt_status llmrt_tokenizer_encode(const llmrt_tokenizer *tokenizer,
                                              const char *text, size_t n_bytes,
                                              bool add_special_tokens,
                                              int32_t *ids, size_t capacity,
                                              size_t *n_ids);

/** Decodes `ids` into `text` (UTF-8, NUL-terminated, valid UTF-8), as
 *  tokenizers' decode(ids, skip_special_tokens). When `capacity` is too
 *  small (the text and its NUL), fails with LLMRT_ERROR_INVALID_ARGUMENT and
 *  sets *n_bytes to the bytes needed without the NUL; otherwise *n_bytes is
 *  the length written. An id outside the vocabulary is an error. */
LLMRT_API llmrt_status llmrt_tokenizer_decode(const llmrt_tokenizer *tokenizer,
                                              const int32_t *ids, size_t n_ids,
                                              bool skip_special_tokens,
                                              char *text, size_t capacity,
                                              size_t *n_bytes);

#ifdef __cplusplus
}
#endif

#endif /* LLM_C_RUNTIME_H */
