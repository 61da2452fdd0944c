/*===- generate.c - Generate with LLMC from C ----------------------------===*\
|*                                                                          *|
|* Part of LLMC, under the Apache License v2.0.                             *|
|*                                                                          *|
\*===----------------------------------------------------------------------===*/

/*
 * A host application in C: it compiles a Hugging Face model folder with the
 * JIT (llm-c/JIT.h) and generates with the runtime (llm-c/Runtime.h),
 * printing the generated ids of each prompt on a line, as llm-run's
 * --dump-ids writes them. The tests compare its ids with llm-run's.
 *
 *   llmc-generate MODEL_DIR IDS [--max-new-tokens N] [--temperature T]
 *       [--top-k K] [--top-p P] [--seed S] [--num-beams K] [--no-kv-cache]
 *       [--ignore-eos] [--ignore-context-length] [--kv-block-size N]
 *       [--quantize int8|int4|w8a8] [--group-size N]
 *       [--method rtn|gptq|awq --calib-ids FILE] [--manual] [--encoder]
 *
 * IDS is a comma-separated prompt; several prompts are separated by ';'.
 * --calib-ids reads calibration token ids separated by commas or white
 * space (for --method gptq or awq).
 * With --encoder (encoder-decoder models) they are the encoder inputs, and
 * the decoder starts at the model's decoder start token. --manual drives a
 * session by hand instead of llmrt_generate: prefill, greedy argmax and batched
 * decode, with a fork of the first sequence whose logits must equal the
 * original's; it reports on stderr the most cache blocks a sequence held.
 */

#include "llm-c/JIT.h"
#include "llm-c/Runtime.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PROMPTS 16
#define MAX_TOKENS 4096

static int failed(const char *what, llmrt_status status) {
  fprintf(stderr, "llmc-generate: %s: %s: %s\n", what,
          llmrt_status_name(status), llmrt_last_error());
  return 1;
}

/* Reads the token ids of `path` (separated by commas or white space) into
 * a new array; returns 0 (with a message) when it cannot. */
static int readCalibration(const char *path, int64_t **ids, size_t *count) {
  FILE *file = fopen(path, "r");
  if (!file) {
    fprintf(stderr, "llmc-generate: --calib-ids: cannot open '%s'\n", path);
    return 0;
  }
  size_t capacity = 1024;
  *count = 0;
  *ids = malloc(capacity * sizeof(int64_t));
  long long id;
  int c;
  while (*ids) {
    if (fscanf(file, " %lld", &id) == 1) {
      if (*count == capacity)
        *ids = realloc(*ids, (capacity *= 2) * sizeof(int64_t));
      if (*ids)
        (*ids)[(*count)++] = id;
    } else if ((c = fgetc(file)) == EOF) {
      break;
    } else if (c != ',') {
      fprintf(stderr, "llmc-generate: %s: expected token ids, found '%c'\n",
              path, c);
      fclose(file);
      return 0;
    }
  }
  fclose(file);
  return *ids != NULL;
}

/* Parses "1,2,3;4,5" into prompts; returns their number, or -1. */
static int parsePrompts(const char *text, int64_t ids[][MAX_TOKENS],
                        size_t *lens) {
  int n = 0;
  lens[0] = 0;
  for (const char *p = text; *p;) {
    if (*p == ';') {
      if (++n == MAX_PROMPTS)
        return -1;
      lens[n] = 0;
      ++p;
    } else if (*p == ',' || *p == ' ') {
      ++p;
    } else {
      char *end;
      long long value = strtoll(p, &end, 10);
      if (end == p || lens[n] == MAX_TOKENS)
        return -1;
      ids[n][lens[n]++] = value;
      p = end;
    }
  }
  return n + 1;
}

static void printIds(const int64_t *ids, size_t n) {
  for (size_t i = 0; i < n; ++i)
    printf(i ? ",%lld" : "%lld", (long long)ids[i]);
  printf("\n");
}

static int64_t argmax(const float *row, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (row[i] > row[best])
      best = i;
  return best;
}

/* Rows equal up to the rounding of a differently blocked GEMM row. */
static int sameRow(const float *a, const float *b, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    float scale = fabsf(a[i]) > 1.0f ? fabsf(a[i]) : 1.0f;
    if (fabsf(a[i] - b[i]) > 1e-4f * scale)
      return 0;
  }
  return 1;
}

static int isEos(const llmrt_model_info *info, int64_t id) {
  for (size_t i = 0; i < info->n_eos_token_ids; ++i)
    if (info->eos_token_ids[i] == id)
      return 1;
  return 0;
}

/* Greedy decoding through the session API. */
static int runManual(llmrt_model *model, const llmrt_model_info *info,
                     const llmrt_prompt *prompts, int n, int64_t maxNew,
                     int ignoreEos, int ignoreContext) {
  llmrt_session_params sp = llmrt_session_default_params();
  sp.max_sequences = n + 1; /* the prompts and one fork */
  sp.ignore_context_length = ignoreContext;
  llmrt_session *session;
  llmrt_status status = llmrt_session_create(model, &sp, &session);
  if (status != LLMRT_OK)
    return failed("llmrt_session_create", status);
  int64_t vocab = info->vocab_size, seqs[MAX_PROMPTS], next[MAX_PROMPTS];
  static int64_t out[MAX_PROMPTS][MAX_TOKENS];
  size_t outLen[MAX_PROMPTS] = {0};
  int done[MAX_PROMPTS] = {0}, rc = 0;
  int64_t maxBlocks = 0;
  float *logits = malloc(sizeof(float) * vocab * (MAX_PROMPTS + MAX_TOKENS));
  for (int b = 0; b < n && !rc; ++b) {
    const llmrt_prompt *p = &prompts[b];
    status = llmrt_session_add_sequence(session, p->encoder_tokens,
                                        p->n_encoder_tokens, &seqs[b]);
    if (status == LLMRT_OK)
      status = llmrt_session_prefill_last(session, seqs[b], p->tokens,
                                          p->n_tokens, logits);
    if (status != LLMRT_OK)
      rc = failed("prefill", status);
    else
      next[b] = argmax(logits, vocab);
  }
  /* A fork of the first sequence continues exactly as it does. */
  int64_t copy = -1;
  if (!rc && (status = llmrt_session_fork(session, seqs[0], &copy)) != LLMRT_OK)
    rc = failed("llmrt_session_fork", status);
  for (int64_t step = 0; step < maxNew && !rc; ++step) {
    int64_t active[MAX_PROMPTS + 1], tokens[MAX_PROMPTS + 1];
    int rows = 0;
    for (int b = 0; b < n; ++b) {
      if (done[b])
        continue;
      out[b][outLen[b]++] = next[b];
      done[b] =
          outLen[b] == (size_t)maxNew || (!ignoreEos && isEos(info, next[b]));
      if (!done[b]) {
        active[rows] = seqs[b];
        tokens[rows++] = next[b];
      }
    }
    if (rows == 0)
      break;
    int forkRow = -1;
    if (copy >= 0 && !done[0]) {
      forkRow = rows;
      active[rows] = copy;
      tokens[rows++] = next[0];
    }
    status = llmrt_session_decode(session, active, tokens, rows, logits);
    if (status != LLMRT_OK) {
      rc = failed("llmrt_session_decode", status);
      break;
    }
    if (forkRow >= 0 && !sameRow(logits, logits + forkRow * vocab, vocab)) {
      fprintf(stderr, "llmc-generate: the fork's logits differ at step %lld\n",
              (long long)step);
      rc = 3;
      break;
    }
    for (int b = 0, r = 0; b < n; ++b) {
      if (done[b])
        continue;
      next[b] = argmax(logits + r++ * vocab, vocab);
      int64_t length, blocks;
      if (llmrt_session_get_sequence(session, seqs[b], &length, &blocks) ==
              LLMRT_OK &&
          blocks > maxBlocks)
        maxBlocks = blocks;
    }
  }
  if (copy >= 0 && !rc)
    llmrt_session_release(session, copy);
  if (!rc) {
    for (int b = 0; b < n; ++b)
      printIds(out[b], outLen[b]);
    fprintf(stderr, "max blocks held by a sequence: %lld\n",
            (long long)maxBlocks);
  }
  free(logits);
  llmrt_session_free(session);
  return rc;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: llmc-generate MODEL_DIR IDS [options]\n");
    return 2;
  }
  static int64_t ids[MAX_PROMPTS][MAX_TOKENS];
  size_t lens[MAX_PROMPTS];
  int n = parsePrompts(argv[2], ids, lens);
  if (n < 0) {
    fprintf(stderr, "llmc-generate: IDS: expected comma-separated ids\n");
    return 2;
  }
  llmrt_generate_params params = llmrt_generate_default_params();
  llmc_jit_params jit = llmc_jit_default_params();
  int64_t *calibration = NULL;
  int manual = 0, encoder = 0;
  for (int i = 3; i < argc; ++i) {
    const char *flag = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(flag, "--no-kv-cache"))
      params.use_kv_cache = 0;
    else if (!strcmp(flag, "--ignore-eos"))
      params.ignore_eos = 1;
    else if (!strcmp(flag, "--ignore-context-length"))
      params.ignore_context_length = 1;
    else if (!strcmp(flag, "--manual"))
      manual = 1;
    else if (!strcmp(flag, "--encoder"))
      encoder = 1;
    else if (!value) {
      fprintf(stderr, "llmc-generate: %s: expected a value\n", flag);
      return 2;
    } else {
      ++i;
      if (!strcmp(flag, "--max-new-tokens"))
        params.max_new_tokens = atoll(value);
      else if (!strcmp(flag, "--temperature"))
        params.sampling.temperature = atof(value);
      else if (!strcmp(flag, "--top-k"))
        params.sampling.top_k = atoll(value);
      else if (!strcmp(flag, "--top-p"))
        params.sampling.top_p = atof(value);
      else if (!strcmp(flag, "--seed"))
        params.sampling.seed = strtoull(value, NULL, 10);
      else if (!strcmp(flag, "--num-beams"))
        params.num_beams = atoll(value);
      else if (!strcmp(flag, "--kv-block-size"))
        jit.kv_block_size = atoll(value);
      else if (!strcmp(flag, "--quantize"))
        jit.quantize = value;
      else if (!strcmp(flag, "--group-size"))
        jit.quantize_group_size = atoll(value);
      else if (!strcmp(flag, "--method"))
        jit.quantize_method = value;
      else if (!strcmp(flag, "--calib-ids")) {
        if (!readCalibration(value, &calibration, &jit.n_calibration_ids))
          return 2;
        jit.calibration_ids = calibration;
      } else {
        fprintf(stderr, "llmc-generate: unknown flag %s\n", flag);
        return 2;
      }
    }
  }
  jit.use_kv_cache = params.use_kv_cache;
  jit.max_new_tokens = params.max_new_tokens;
  jit.num_beams = params.num_beams;

  llmrt_prompt prompts[MAX_PROMPTS];
  for (int b = 0; b < n; ++b)
    prompts[b] = encoder ? (llmrt_prompt){NULL, 0, ids[b], lens[b]}
                         : (llmrt_prompt){ids[b], lens[b], NULL, 0};
  llmrt_model *model;
  llmrt_status status = llmc_jit_compile(argv[1], prompts, n, &jit, &model);
  if (status != LLMRT_OK)
    return failed("llmc_jit_compile", status);
  llmrt_model_info info;
  if ((status = llmrt_model_get_info(model, &info)) != LLMRT_OK)
    return failed("llmrt_model_get_info", status);
  /* A session is driven with the decoder prompt spelled out. */
  int64_t start = info.decoder_start_token_id;
  if (encoder)
    for (int b = 0; b < n; ++b)
      prompts[b].tokens = &start, prompts[b].n_tokens = 1;

  int rc = 0;
  if (manual) {
    rc = runManual(model, &info, prompts, n, params.max_new_tokens,
                   params.ignore_eos, params.ignore_context_length);
  } else {
    llmrt_generation *generation;
    status = llmrt_generate(model, prompts, n, &params, &generation);
    if (status != LLMRT_OK) {
      rc = failed("llmrt_generate", status);
    } else {
      for (size_t b = 0; b < llmrt_generation_count(generation); ++b) {
        size_t count;
        const int64_t *tokens = llmrt_generation_tokens(generation, b, &count);
        printIds(tokens, count);
      }
      llmrt_generation_free(generation);
    }
  }
  llmrt_model_free(model);
  free(calibration);
  return rc;
}
