/*===- embed.c - A C11 host running an LLMC artifact
 * ------------------------===*
 *
 * Part of LLMC, under the Apache License v2.0.
 *
 *===----------------------------------------------------------------------===*/

/*
 * The smallest complete host of a compiled model: it links libllmrt alone
 * (no MLIR, no LLVM, no compiler), loads an artifact that
 *
 *   llm-compile MODEL -o NAME.llmc
 *
 * wrote, tokenizes a prompt with the artifact's tokenizer, and generates
 * greedily over a session of the paged KV cache, handing every new token
 * to a callback as soon as it exists, with the text it adds:
 *
 *   llmc-embed NAME.llmc "prompt text" [max_new_tokens]
 *
 * prints the completion as it streams, then a line "ids: ..." with the
 * generated token ids. Errors go to stderr with llmrt_last_error()'s
 * message, and the exit status is 1.
 */

#include "llm-c/Runtime.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Called once per generated token: its id, and the text it adds to the
 * completion (may be empty: a token that ends inside a UTF-8 character). */
typedef void (*token_callback)(void *user, int64_t id, const char *text);

static int report(const char *what) {
  fprintf(stderr, "llmc-embed: error: %s: %s\n", what, llmrt_last_error());
  return 1;
}

/* The argmax of `logits` [vocab]. */
static int64_t argmax(const float *logits, int64_t vocab) {
  int64_t best = 0;
  for (int64_t i = 1; i < vocab; ++i)
    if (logits[i] > logits[best])
      best = i;
  return best;
}

/* The text of ids[0..n) (special tokens skipped), in a buffer that grows;
 * NULL on error. */
static char *decode(const llmrt_tokenizer *tokenizer, const int32_t *ids,
                    size_t n, char **buffer, size_t *capacity) {
  size_t needed = 0;
  llmrt_status status = llmrt_tokenizer_decode(tokenizer, ids, n, true, *buffer,
                                               *capacity, &needed);
  if (status == LLMRT_OK)
    return *buffer;
  if (needed + 1 <= *capacity)
    return NULL; /* A real error, not a short buffer. */
  char *grown = realloc(*buffer, needed + 1);
  if (!grown)
    return NULL;
  *buffer = grown;
  *capacity = needed + 1;
  if (llmrt_tokenizer_decode(tokenizer, ids, n, true, *buffer, *capacity,
                             &needed) != LLMRT_OK)
    return NULL;
  return *buffer;
}

/* Greedy generation of up to `max_new` tokens after `prompt`, stopping at
 * the model's eos; each token goes to `on_token`. Returns 0, or 1 after
 * reporting an error. */
static int generate(llmrt_model *model, const llmrt_tokenizer *tokenizer,
                    const int32_t *prompt, size_t n_prompt, int64_t max_new,
                    token_callback on_token, void *user, int32_t *out,
                    size_t *n_out) {
  llmrt_model_info info;
  if (llmrt_model_get_info(model, &info) != LLMRT_OK)
    return report("model info");
  llmrt_session_params params = llmrt_session_default_params();
  llmrt_session *session = NULL;
  if (llmrt_session_create(model, &params, &session) != LLMRT_OK)
    return report("session");
  int rc = 1;
  float *logits = malloc(sizeof(float) * (size_t)info.vocab_size);
  int64_t *tokens = malloc(sizeof(int64_t) * (n_prompt ? n_prompt : 1));
  int32_t *all = malloc(sizeof(int32_t) * (size_t)(max_new > 0 ? max_new : 1));
  char *text = NULL;
  size_t capacity = 0, shown = 0, n_all = 0;
  int64_t seq = 0;
  if (!logits || !tokens || !all) {
    fprintf(stderr, "llmc-embed: error: out of memory\n");
    goto done;
  }
  for (size_t i = 0; i < n_prompt; ++i)
    tokens[i] = prompt[i];
  if (llmrt_session_add_sequence(session, NULL, 0, &seq) != LLMRT_OK) {
    report("add a sequence");
    goto done;
  }
  /* The prompt in one call (an artifact without an entry point of its
   * length prefills it in chunks), then one token per decode step. */
  if (llmrt_session_prefill_last(session, seq, tokens, n_prompt, logits) !=
      LLMRT_OK) {
    report("prefill");
    goto done;
  }
  for (int64_t step = 0; step < max_new; ++step) {
    int64_t next = argmax(logits, info.vocab_size);
    all[n_all++] = (int32_t)next;
    /* The text this token adds: the completion decoded so far, past what
     * was shown (a partial UTF-8 character decodes as U+FFFD until its
     * last byte arrives, so it is held back while it ends the text). */
    const char *decoded = decode(tokenizer, all, n_all, &text, &capacity);
    if (!decoded) {
      report("decode");
      goto done;
    }
    size_t length = strlen(decoded);
    bool partial =
        length >= 3 && memcmp(decoded + length - 3, "\xEF\xBF\xBD", 3) == 0;
    const char *added = "";
    if (!partial && length > shown) {
      added = decoded + shown;
      shown = length;
    }
    on_token(user, next, added);
    bool eos = false;
    for (size_t i = 0; i < info.n_eos_token_ids; ++i)
      eos = eos || info.eos_token_ids[i] == next;
    if (eos || step + 1 == max_new)
      break;
    if (llmrt_session_decode(session, &seq, &next, 1, logits) != LLMRT_OK) {
      report("decode step");
      goto done;
    }
  }
  memcpy(out, all, n_all * sizeof(int32_t));
  *n_out = n_all;
  rc = 0;
done:
  free(text);
  free(all);
  free(tokens);
  free(logits);
  llmrt_session_free(session);
  return rc;
}

/* The streaming callback: each token's text, as soon as it exists. */
static void print_token(void *user, int64_t id, const char *text) {
  (void)id;
  FILE *stream = user;
  fputs(text, stream);
  fflush(stream);
}

int main(int argc, char **argv) {
  if (argc < 3 || argc > 4) {
    fprintf(stderr, "usage: %s NAME.llmc \"prompt\" [max_new_tokens]\n",
            argv[0]);
    return 2;
  }
  char *end = NULL;
  long long max_new = argc == 4 ? strtoll(argv[3], &end, 10) : 32;
  if ((argc == 4 && (*end || end == argv[3])) || max_new < 1 ||
      max_new > 1 << 20) {
    fprintf(stderr,
            "llmc-embed: error: max_new_tokens: expected an integer "
            "in [1, 1048576], found '%s'\n",
            argv[3]);
    return 1;
  }
  llmrt_model *model = NULL;
  if (llmrt_model_load_artifact(argv[1], &model) != LLMRT_OK)
    return report(argv[1]);
  llmrt_tokenizer *tokenizer = NULL;
  if (llmrt_tokenizer_load(argv[1], &tokenizer) != LLMRT_OK) {
    llmrt_model_free(model);
    return report("tokenizer");
  }
  int rc = 1;
  size_t n_prompt = 0;
  int32_t *prompt = NULL, *ids = malloc(sizeof(int32_t) * (size_t)max_new);
  /* The first call sizes the prompt's ids. */
  llmrt_tokenizer_encode(tokenizer, argv[2], strlen(argv[2]), true, NULL, 0,
                         &n_prompt);
  prompt = malloc(sizeof(int32_t) * (n_prompt ? n_prompt : 1));
  size_t n_ids = 0;
  if (!ids || !prompt) {
    fprintf(stderr, "llmc-embed: error: out of memory\n");
  } else if (llmrt_tokenizer_encode(tokenizer, argv[2], strlen(argv[2]), true,
                                    prompt, n_prompt, &n_prompt) != LLMRT_OK) {
    report("encode the prompt");
  } else if (n_prompt == 0) {
    fprintf(stderr, "llmc-embed: error: the prompt encodes to no tokens\n");
  } else if (generate(model, tokenizer, prompt, n_prompt, max_new, print_token,
                      stdout, ids, &n_ids) == 0) {
    printf("\nids:");
    for (size_t i = 0; i < n_ids; ++i)
      printf("%s%d", i ? "," : " ", ids[i]);
    printf("\n");
    rc = 0;
  }
  free(prompt);
  free(ids);
  llmrt_tokenizer_free(tokenizer);
  llmrt_model_free(model);
  return rc;
}
