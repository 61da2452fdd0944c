//===- Runtime.cpp - The C API of libllmrt --------------------------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// include/llm-c/Runtime.h over the C++ runtime: handles wrap llmrt::Model,
// llmrt::Session and generation results; every failure becomes a status
// code and a thread-local message.
//
//===----------------------------------------------------------------------===//

#include "llm-c/Runtime.h"

#include "Artifact.h"
#include "CAPI.h"
#include "Generate.h"
#include "Kernels.h"
#include "SafeTensors.h"
#include "Session.h"
#include "Tokenizer.h"

#include <string>

using namespace llmrt;

struct llmrt_session {
  std::unique_ptr<Session> session;
};

struct llmrt_generation {
  std::vector<std::vector<int64_t>> tokens;
};

struct llmrt_tokenizer {
  std::unique_ptr<Tokenizer> tokenizer;
};

namespace {

thread_local std::string lastError;

/// Native code provided through the C API.
class CCode : public CodeProvider {
public:
  explicit CCode(llmrt_code code) : code(code) {}
  ~CCode() override {
    if (code.release)
      code.release(code.context);
  }
  void *lookup(std::string_view symbol) override {
    std::string name(symbol);
    return code.lookup ? code.lookup(code.context, name.c_str()) : nullptr;
  }

private:
  llmrt_code code;
};

llmrt_status invalid(const std::string &message) {
  return llmrt::capi::fail(Status::invalid(message));
}

} // namespace

llmrt_status llmrt::capi::fail(const Status &status) {
  lastError = status.message();
  return static_cast<llmrt_status>(status.code());
}

llmrt_status llmrt::capi::check(const Status &status) {
  return status.isOk() ? LLMRT_OK : fail(status);
}

const char *llmrt_status_name(llmrt_status status) {
  switch (status) {
  case LLMRT_OK:
    return "ok";
  case LLMRT_ERROR_INVALID_ARGUMENT:
    return "invalid argument";
  case LLMRT_ERROR_IO:
    return "i/o error";
  case LLMRT_ERROR_FORMAT:
    return "malformed file";
  case LLMRT_ERROR_OUT_OF_MEMORY:
    return "out of memory";
  case LLMRT_ERROR_CACHE_FULL:
    return "KV cache full";
  case LLMRT_ERROR_KERNEL:
    return "kernel error";
  case LLMRT_ERROR_UNSUPPORTED:
    return "unsupported";
  case LLMRT_ERROR_INTERNAL:
    return "internal error";
  }
  return "unknown status";
}

const char *llmrt_last_error(void) { return lastError.c_str(); }

llmrt_status llmrt_set_num_threads(int32_t n_threads) {
  if (n_threads < 0 || n_threads > 1024)
    return invalid("n_threads: expected a value in [0, 1024], found " +
                   std::to_string(n_threads));
  setNumThreads(n_threads);
  return LLMRT_OK;
}

//===----------------------------------------------------------------------===//
// Models
//===----------------------------------------------------------------------===//

llmrt_status llmrt_model_get_info(const llmrt_model *model,
                                  llmrt_model_info *info) {
  if (!model || !info)
    return invalid("llmrt_model_get_info: expected a model and an info, "
                   "found NULL");
  Expected<const ModelInfo *> described = model->model->getInfo();
  if (!described)
    return llmrt::capi::fail(described.status());
  const ModelInfo &m = **described;
  info->type = m.type.c_str();
  info->kind = static_cast<llmrt_model_kind>(m.kind);
  info->vocab_size = m.vocabSize;
  info->hidden_size = m.hiddenSize;
  info->eos_token_ids = m.eosTokenIds.data();
  info->n_eos_token_ids = m.eosTokenIds.size();
  info->decoder_start_token_id = m.decoderStartTokenId;
  info->max_positions = m.maxPositions;
  info->context_length = m.contextLength;
  info->sliding_window = m.slidingWindow;
  info->mapped_bytes = model->model->getMappedBytes();
  info->packed_bytes = model->model->getPackedBytes();
  return LLMRT_OK;
}

llmrt_status llmrt_model_load(const char *manifest_json, size_t manifest_size,
                              const char *weights_dir, llmrt_code code,
                              llmrt_model **model) {
  // The code is released on every path, by CCode.
  auto provider = std::make_unique<CCode>(code);
  if (!model)
    return invalid("llmrt_model_load: expected a model pointer, found NULL");
  *model = nullptr;
  if (!manifest_json || !code.lookup)
    return invalid("llmrt_model_load: expected a manifest and a lookup "
                   "function, found NULL");
  Expected<Manifest> manifest = Manifest::parse(
      std::string_view(manifest_json, manifest_size), "manifest");
  if (!manifest)
    return llmrt::capi::fail(manifest.status());
  std::shared_ptr<const SafeTensorsArchive> weights;
  if (weights_dir) {
    Expected<std::unique_ptr<SafeTensorsArchive>> archive =
        SafeTensorsArchive::openDirectory(weights_dir);
    if (!archive)
      return llmrt::capi::fail(archive.status());
    weights = std::move(*archive);
  }
  Expected<std::unique_ptr<Model>> created =
      Model::create(std::move(*manifest), std::move(weights),
                    [&]() -> Expected<std::unique_ptr<CodeProvider>> {
                      return std::unique_ptr<CodeProvider>(std::move(provider));
                    });
  if (!created)
    return llmrt::capi::fail(created.status());
  *model = new llmrt_model{std::move(*created)};
  return LLMRT_OK;
}

llmrt_status llmrt_model_load_artifact(const char *path, llmrt_model **model) {
  if (!model)
    return invalid(
        "llmrt_model_load_artifact: expected a model pointer, found NULL");
  *model = nullptr;
  if (!path)
    return invalid("llmrt_model_load_artifact: expected a path, found NULL");
  Expected<std::unique_ptr<Model>> loaded = loadArtifact(path);
  if (!loaded)
    return llmrt::capi::fail(loaded.status());
  *model = new llmrt_model{std::move(*loaded)};
  return LLMRT_OK;
}

void llmrt_model_free(llmrt_model *model) { delete model; }

llmrt_status llmrt_model_forward(llmrt_model *model, const int64_t *tokens,
                                 size_t n_tokens, const int64_t *encoder_tokens,
                                 size_t n_encoder_tokens, float *out,
                                 size_t out_capacity) {
  if (!model || !tokens || !out || n_tokens == 0 ||
      (n_encoder_tokens && !encoder_tokens))
    return invalid("llmrt_model_forward: expected a model, at least one "
                   "token and an output buffer");
  Expected<std::unique_ptr<SequenceSet>> sequences =
      makeRecomputedSequences(*model->model);
  if (!sequences)
    return llmrt::capi::fail(sequences.status());
  Expected<const ModelInfo *> info = model->model->getInfo();
  int64_t width = (*info)->kind == ModelKind::Encoder ? (*info)->hiddenSize
                                                      : (*info)->vocabSize;
  if (out_capacity < n_tokens * static_cast<size_t>(width))
    return invalid("llmrt_model_forward: out_capacity: expected at least " +
                   std::to_string(n_tokens * width) + " floats, found " +
                   std::to_string(out_capacity));
  Expected<int64_t> seq =
      (*sequences)
          ->start(TokenSpan(tokens, n_tokens),
                  TokenSpan(encoder_tokens, n_encoder_tokens), out);
  return seq ? LLMRT_OK : llmrt::capi::fail(seq.status());
}

//===----------------------------------------------------------------------===//
// Sessions
//===----------------------------------------------------------------------===//

llmrt_session_params llmrt_session_default_params(void) {
  return {/*n_blocks=*/0, /*max_sequences=*/1, /*n_cross_blocks=*/0,
          /*ignore_context_length=*/0};
}

llmrt_status llmrt_session_create(llmrt_model *model,
                                  const llmrt_session_params *params,
                                  llmrt_session **session) {
  if (!model || !params || !session)
    return invalid("llmrt_session_create: expected a model, params and a "
                   "session pointer, found NULL");
  *session = nullptr;
  SessionOptions options;
  options.numBlocks = params->n_blocks;
  options.maxSequences = params->max_sequences;
  options.numCrossBlocks = params->n_cross_blocks;
  options.ignoreContextLength = params->ignore_context_length != 0;
  Expected<std::unique_ptr<Session>> created =
      Session::create(*model->model, options);
  if (!created)
    return llmrt::capi::fail(created.status());
  *session = new llmrt_session{std::move(*created)};
  return LLMRT_OK;
}

void llmrt_session_free(llmrt_session *session) { delete session; }

llmrt_status llmrt_session_add_sequence(llmrt_session *session,
                                        const int64_t *encoder_tokens,
                                        size_t n_encoder_tokens, int64_t *seq) {
  if (!session || !seq || (n_encoder_tokens && !encoder_tokens))
    return invalid("llmrt_session_add_sequence: expected a session and a "
                   "sequence pointer, found NULL");
  Expected<int64_t> added = session->session->addSequence(
      TokenSpan(encoder_tokens, n_encoder_tokens));
  if (!added)
    return llmrt::capi::fail(added.status());
  *seq = *added;
  return LLMRT_OK;
}

llmrt_status llmrt_session_prefill(llmrt_session *session, int64_t seq,
                                   const int64_t *tokens, size_t n_tokens,
                                   float *logits) {
  if (!session || (!tokens && n_tokens))
    return invalid("llmrt_session_prefill: expected a session and tokens, "
                   "found NULL");
  return llmrt::capi::check(
      session->session->prefill(seq, TokenSpan(tokens, n_tokens), logits));
}

llmrt_status llmrt_session_prefill_last(llmrt_session *session, int64_t seq,
                                        const int64_t *tokens, size_t n_tokens,
                                        float *logits) {
  if (!session || (!tokens && n_tokens))
    return invalid("llmrt_session_prefill_last: expected a session and "
                   "tokens, found NULL");
  return llmrt::capi::check(session->session->prefill(
      seq, TokenSpan(tokens, n_tokens), logits, PrefillLogits::Last));
}

llmrt_status llmrt_session_decode(llmrt_session *session, const int64_t *seqs,
                                  const int64_t *tokens, size_t n,
                                  float *logits) {
  if (!session || !seqs || !tokens)
    return invalid("llmrt_session_decode: expected a session, sequences and "
                   "tokens, found NULL");
  return llmrt::capi::check(session->session->decode(
      std::vector<int64_t>(seqs, seqs + n),
      std::vector<int64_t>(tokens, tokens + n), logits));
}

llmrt_status llmrt_session_fork(llmrt_session *session, int64_t seq,
                                int64_t *copy) {
  if (!session || !copy)
    return invalid("llmrt_session_fork: expected a session and a copy "
                   "pointer, found NULL");
  Expected<int64_t> forked = session->session->fork(seq);
  if (!forked)
    return llmrt::capi::fail(forked.status());
  *copy = *forked;
  return LLMRT_OK;
}

llmrt_status llmrt_session_release(llmrt_session *session, int64_t seq) {
  if (!session)
    return invalid("llmrt_session_release: expected a session, found NULL");
  if (!session->session->isLive(seq))
    return invalid("llmrt_session_release: no live sequence " +
                   std::to_string(seq));
  session->session->release(seq);
  return LLMRT_OK;
}

llmrt_status llmrt_session_get_sequence(const llmrt_session *session,
                                        int64_t seq, int64_t *length,
                                        int64_t *n_blocks) {
  if (!session || !length || !n_blocks)
    return invalid("llmrt_session_get_sequence: expected a session and "
                   "output pointers, found NULL");
  if (!session->session->isLive(seq))
    return invalid("llmrt_session_get_sequence: no live sequence " +
                   std::to_string(seq));
  *length = session->session->getLength(seq);
  *n_blocks = session->session->getNumHeldBlocks(seq);
  return LLMRT_OK;
}

//===----------------------------------------------------------------------===//
// Generation
//===----------------------------------------------------------------------===//

llmrt_generate_params llmrt_generate_default_params(void) {
  llmrt_generate_params params;
  params.sampling = {/*temperature=*/0.0,
                     /*top_k=*/0,
                     /*top_p=*/1.0,
                     /*min_p=*/0.0,
                     /*repetition_penalty=*/1.0,
                     /*seed=*/0};
  params.max_new_tokens = 16;
  params.ignore_eos = 0;
  params.num_beams = 1;
  params.length_penalty = 1.0;
  params.use_kv_cache = 1;
  params.ignore_context_length = 0;
  return params;
}

llmrt_status llmrt_generate(llmrt_model *model, const llmrt_prompt *prompts,
                            size_t n_prompts,
                            const llmrt_generate_params *params,
                            llmrt_generation **generation) {
  if (!model || !prompts || !params || !generation || n_prompts == 0)
    return invalid("llmrt_generate: expected a model, at least one prompt, "
                   "params and a generation pointer");
  *generation = nullptr;
  Expected<const ModelInfo *> info = model->model->getInfo();
  if (!info)
    return llmrt::capi::fail(info.status());
  GenerateParams p;
  const llmrt_sampling_params &s = params->sampling;
  p.sampler = sampler_params(s.temperature, s.top_k, s.top_p, s.min_p,
                             s.repetition_penalty, s.seed);
  p.maxNewTokens = params->max_new_tokens;
  p.numBeams = params->num_beams;
  p.lengthPenalty = params->length_penalty;
  p.ignoreContextLength = params->ignore_context_length != 0;
  if (!params->ignore_eos)
    p.stopTokenIds = (*info)->eosTokenIds;
  Status status = checkGenerateParams(p);
  if (!status.isOk())
    return llmrt::capi::fail(status);
  if (p.numBeams > 1 && n_prompts != 1)
    return invalid("num_beams: beam search takes a single prompt, found " +
                   std::to_string(n_prompts));
  std::vector<Prompt> list;
  for (size_t i = 0; i < n_prompts; ++i) {
    const llmrt_prompt &prompt = prompts[i];
    if ((!prompt.tokens && prompt.n_tokens) ||
        (!prompt.encoder_tokens && prompt.n_encoder_tokens))
      return invalid("prompts[" + std::to_string(i) +
                     "]: expected tokens, found NULL");
    list.push_back(
        {std::vector<int64_t>(prompt.tokens, prompt.tokens + prompt.n_tokens),
         std::vector<int64_t>(prompt.encoder_tokens,
                              prompt.encoder_tokens +
                                  prompt.n_encoder_tokens)});
    // An encoder-decoder prompt without decoder tokens starts the decoder
    // at its start token, as transformers does.
    if (list.back().tokens.empty() &&
        (*info)->kind == ModelKind::EncoderDecoder)
      list.back().tokens = {(*info)->decoderStartTokenId};
    status = checkContextLength(**info, list.back().tokens.size(), p);
    if (!status.isOk())
      return llmrt::capi::fail(status);
  }
  std::unique_ptr<Session> session;
  std::unique_ptr<SequenceSet> sequences;
  if (params->use_kv_cache) {
    Expected<SessionOptions> options =
        getSessionOptions(*model->model, list, p);
    if (!options)
      return llmrt::capi::fail(options.status());
    Expected<std::unique_ptr<Session>> created =
        Session::create(*model->model, *options);
    if (!created)
      return llmrt::capi::fail(created.status());
    session = std::move(*created);
    sequences = makeCachedSequences(*session);
  } else {
    Expected<std::unique_ptr<SequenceSet>> recomputed =
        makeRecomputedSequences(*model->model);
    if (!recomputed)
      return llmrt::capi::fail(recomputed.status());
    sequences = std::move(*recomputed);
  }
  Expected<GenerationResult> result =
      p.numBeams > 1 ? beamSearch(*sequences, list[0], p, (*info)->vocabSize)
                     : generate(*sequences, list, p, (*info)->vocabSize);
  if (!result)
    return llmrt::capi::fail(result.status());
  *generation = new llmrt_generation{std::move(result->tokens)};
  return LLMRT_OK;
}

size_t llmrt_generation_count(const llmrt_generation *generation) {
  return generation ? generation->tokens.size() : 0;
}

const int64_t *llmrt_generation_tokens(const llmrt_generation *generation,
                                       size_t index, size_t *n_tokens) {
  if (n_tokens)
    *n_tokens = 0;
  if (!generation || index >= generation->tokens.size())
    return nullptr;
  if (n_tokens)
    *n_tokens = generation->tokens[index].size();
  return generation->tokens[index].data();
}

void llmrt_generation_free(llmrt_generation *generation) { delete generation; }

llmrt_status llmrt_tokenizer_load(const char *path,
                                  llmrt_tokenizer **tokenizer) {
  if (!path || !tokenizer)
    return invalid("llmrt_tokenizer_load: path and tokenizer must not be "
                   "NULL");
  *tokenizer = nullptr;
  Expected<std::unique_ptr<Tokenizer>> loaded = Tokenizer::load(path);
  if (!loaded)
    return capi::fail(loaded.status());
  *tokenizer = new llmrt_tokenizer{std::move(*loaded)};
  return LLMRT_OK;
}

void llmrt_tokenizer_free(llmrt_tokenizer *tokenizer) { delete tokenizer; }

int64_t llmrt_tokenizer_vocab_size(const llmrt_tokenizer *tokenizer) {
  return tokenizer ? tokenizer->tokenizer->getVocabSize() : 0;
}

llmrt_status llmrt_tokenizer_encode(const llmrt_tokenizer *tokenizer,
                                    const char *text, size_t n_bytes,
                                    bool add_special_tokens, int32_t *ids,
                                    size_t capacity, size_t *n_ids) {
  if (!tokenizer || (!text && n_bytes) || !n_ids || (!ids && capacity))
    return invalid("llmrt_tokenizer_encode: tokenizer, n_ids, and text and "
                   "ids when their sizes are not 0, must not be NULL");
  *n_ids = 0;
  Expected<std::vector<int32_t>> encoded = tokenizer->tokenizer->encode(
      std::string_view(text ? text : "", n_bytes), add_special_tokens,
      /*truncateAndPad=*/false);
  if (!encoded)
    return capi::fail(encoded.status());
  *n_ids = encoded->size();
  if (encoded->size() > capacity)
    return invalid("llmrt_tokenizer_encode: the text has " +
                   std::to_string(encoded->size()) +
                   " tokens, more than the capacity " +
                   std::to_string(capacity));
  std::copy(encoded->begin(), encoded->end(), ids);
  return LLMRT_OK;
}

llmrt_status llmrt_tokenizer_decode(const llmrt_tokenizer *tokenizer,
                                    const int32_t *ids, size_t n_ids,
                                    bool skip_special_tokens, char *text,
                                    size_t capacity, size_t *n_bytes) {
  if (!tokenizer || (!ids && n_ids) || !n_bytes || (!text && capacity))
    return invalid("llmrt_tokenizer_decode: tokenizer, n_bytes, and ids and "
                   "text when their sizes are not 0, must not be NULL");
  *n_bytes = 0;
  Expected<std::string> decoded = tokenizer->tokenizer->decode(
      std::vector<int32_t>(ids, ids + n_ids), skip_special_tokens);
  if (!decoded)
    return capi::fail(decoded.status());
  *n_bytes = decoded->size();
  if (decoded->size() + 1 > capacity)
    return invalid("llmrt_tokenizer_decode: the text has " +
                   std::to_string(decoded->size()) +
                   " bytes and its NUL, more than the capacity " +
                   std::to_string(capacity));
  std::copy(decoded->begin(), decoded->end(), text);
  text[decoded->size()] = '\0';
  return LLMRT_OK;
}
