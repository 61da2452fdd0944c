//===- CAPITest.cpp - include/llm-c/Runtime.h over the stand-in model -----===//
//
// Part of LLMC, under the Apache License v2.0.
//
// The C API with native code a host provides (llmrt_model_load): loading
// and its failures (the code is released exactly once on every path),
// sessions, generation, and status codes with messages for bad input. The
// JIT-backed path is tested end to end by test/runtime/c-api.test.
//
//===----------------------------------------------------------------------===//

#include "llm-c/Runtime.h"

#include "StandInModel.h"

#include "gtest/gtest.h"

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

using namespace llmrt::testing;

namespace {

int releases = 0;

llmrt_code standInCode() {
  llmrt_code code;
  code.context = nullptr;
  code.lookup = [](void *, const char *symbol) {
    return lookupStandIn(symbol);
  };
  code.release = [](void *) { ++releases; };
  return code;
}

llmrt_model *load(const std::string &manifest, llmrt_code code,
                  llmrt_status expected = LLMRT_OK) {
  llmrt_model *model = reinterpret_cast<llmrt_model *>(1);
  EXPECT_EQ(
      llmrt_model_load(manifest.data(), manifest.size(), nullptr, code, &model),
      expected)
      << llmrt_last_error();
  return model;
}

TEST(CAPITest, LoadReleasesTheCodeOnceOnEveryPath) {
  releases = 0;
  llmrt_model *model = load(standInManifest(0), standInCode());
  ASSERT_NE(model, nullptr);
  llmrt_model_info info;
  ASSERT_EQ(llmrt_model_get_info(model, &info), LLMRT_OK);
  EXPECT_STREQ(info.type, "toy");
  EXPECT_EQ(info.kind, LLMRT_MODEL_DECODER);
  EXPECT_EQ(info.vocab_size, kVocab);
  ASSERT_EQ(info.n_eos_token_ids, 1u);
  EXPECT_EQ(info.eos_token_ids[0], 7);
  EXPECT_EQ(releases, 0);
  llmrt_model_free(model);
  EXPECT_EQ(releases, 1);

  // A manifest of another version, and native code without an entry point
  // the manifest lists: the code is released, the model is NULL.
  std::string manifest = standInManifest(0);
  manifest.replace(manifest.find("\"version\": 1"), 12, "\"version\": 9");
  EXPECT_EQ(load(manifest, standInCode(), LLMRT_ERROR_UNSUPPORTED), nullptr);
  EXPECT_STREQ(llmrt_last_error(), "manifest: field .version: expected 1 "
                                   "(this runtime's), found 9; recompile the "
                                   "model");
  EXPECT_EQ(releases, 2);
  llmrt_code missing = standInCode();
  missing.lookup = [](void *, const char *symbol) -> void * {
    return std::string(symbol) == "decode" ? nullptr : lookupStandIn(symbol);
  };
  EXPECT_EQ(load(standInManifest(0), missing, LLMRT_ERROR_FORMAT), nullptr);
  EXPECT_STREQ(llmrt_last_error(), "the native code has no entry point "
                                   "'decode', which the manifest lists");
  EXPECT_EQ(releases, 3);
  EXPECT_EQ(load("{", standInCode(), LLMRT_ERROR_FORMAT), nullptr);
  EXPECT_EQ(releases, 4);
  llmrt_model_free(nullptr);
}

TEST(CAPITest, SessionPrefillDecodeForkRelease) {
  llmrt_model *model = load(standInManifest(4), standInCode());
  ASSERT_NE(model, nullptr);
  llmrt_session_params params = llmrt_session_default_params();
  llmrt_session *session = nullptr;
  ASSERT_EQ(llmrt_session_create(model, &params, &session), LLMRT_OK)
      << llmrt_last_error();
  int64_t seq = -1;
  ASSERT_EQ(llmrt_session_add_sequence(session, nullptr, 0, &seq), LLMRT_OK);
  const int64_t prompt[] = {1, 2, 3};
  std::vector<float> logits(3 * kVocab);
  ASSERT_EQ(llmrt_session_prefill(session, seq, prompt, 3, logits.data()),
            LLMRT_OK)
      << llmrt_last_error();
  EXPECT_EQ(logits[2 * kVocab + 3], 1.0f);
  int64_t copy = -1;
  ASSERT_EQ(llmrt_session_fork(session, seq, &copy), LLMRT_OK);
  const int64_t seqs[] = {seq, copy}, tokens[] = {3, 3};
  for (int step = 0; step < 40; ++step)
    ASSERT_EQ(llmrt_session_decode(session, seqs, tokens, 2, logits.data()),
              LLMRT_OK)
        << llmrt_last_error();
  int64_t length = 0, blocks = 0;
  ASSERT_EQ(llmrt_session_get_sequence(session, copy, &length, &blocks),
            LLMRT_OK);
  EXPECT_EQ(length, 43);
  EXPECT_LE(blocks, 3); // The window of 4 frees what it no longer reads.
  EXPECT_EQ(llmrt_session_release(session, copy), LLMRT_OK);
  EXPECT_EQ(llmrt_session_release(session, copy), LLMRT_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(llmrt_last_error(), "llmrt_session_release: no live sequence 1");
  EXPECT_EQ(llmrt_session_prefill(session, seq, nullptr, 2, nullptr),
            LLMRT_ERROR_INVALID_ARGUMENT);
  // prefill_5 computes the last token's logits alone: only
  // llmrt_session_prefill_last writes them.
  int64_t last = -1;
  ASSERT_EQ(llmrt_session_add_sequence(session, nullptr, 0, &last), LLMRT_OK);
  const int64_t five[] = {1, 2, 3, 4, 5};
  EXPECT_EQ(llmrt_session_prefill(session, last, five, 5, logits.data()),
            LLMRT_ERROR_UNSUPPORTED);
  ASSERT_EQ(llmrt_session_prefill_last(session, last, five, 5, logits.data()),
            LLMRT_OK)
      << llmrt_last_error();
  EXPECT_EQ(logits[5], 1.0f);
  EXPECT_EQ(llmrt_session_prefill_last(session, last, nullptr, 1, nullptr),
            LLMRT_ERROR_INVALID_ARGUMENT);
  llmrt_session_free(session);
  llmrt_model_free(model);
}

TEST(CAPITest, GenerateAndItsErrors) {
  llmrt_model *model = load(standInManifest(0), standInCode());
  ASSERT_NE(model, nullptr);
  const int64_t prompt[] = {1, 2, 3};
  llmrt_prompt p = {prompt, 3, nullptr, 0};
  llmrt_generate_params params = llmrt_generate_default_params();
  params.max_new_tokens = 10;
  llmrt_generation *generation = nullptr;
  ASSERT_EQ(llmrt_generate(model, &p, 1, &params, &generation), LLMRT_OK)
      << llmrt_last_error();
  ASSERT_EQ(llmrt_generation_count(generation), 1u);
  size_t n = 0;
  const int64_t *ids = llmrt_generation_tokens(generation, 0, &n);
  // The stand-in predicts position + 1; eos (7) ends the sequence.
  EXPECT_EQ(std::vector<int64_t>(ids, ids + n),
            (std::vector<int64_t>{3, 4, 5, 6, 7}));
  EXPECT_EQ(llmrt_generation_tokens(generation, 1, &n), nullptr);
  EXPECT_EQ(n, 0u);
  llmrt_generation_free(generation);

  params.sampling.top_p = 1.5;
  EXPECT_EQ(llmrt_generate(model, &p, 1, &params, &generation),
            LLMRT_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(llmrt_last_error(), "top_p: expected a value in (0, 1], found "
                                   "1.5");
  EXPECT_EQ(generation, nullptr);
  params = llmrt_generate_default_params();
  params.use_kv_cache = 0; // The stand-in has no full-sequence entry point.
  EXPECT_EQ(llmrt_generate(model, &p, 1, &params, &generation),
            LLMRT_ERROR_UNSUPPORTED);
  EXPECT_STREQ(llmrt_last_error(), "the model has no full-sequence entry "
                                   "point (compile it without the KV cache)");
  EXPECT_EQ(llmrt_generate(nullptr, &p, 1, &params, &generation),
            LLMRT_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(llmrt_set_num_threads(5000), LLMRT_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(llmrt_status_name(LLMRT_ERROR_CACHE_FULL), "KV cache full");
  llmrt_model_free(model);
}

} // namespace

// The tokenizer through the C API: a WordLevel tokenizer.json with a
// special </s>, encoded and decoded with the buffer-size protocol.
TEST(CAPITest, TokenizerEncodesAndDecodes) {
  std::string dir = ::testing::TempDir() + "capi-tokenizer";
  std::string path = dir + ".json";
  {
    std::ofstream out(path);
    out << R"({"added_tokens": [{"id": 2, "content": "</s>", "special": true,
      "normalized": false}], "pre_tokenizer": {"type": "WhitespaceSplit"},
      "post_processor": {"type": "TemplateProcessing", "single": [
        {"Sequence": {"id": "A", "type_id": 0}},
        {"SpecialToken": {"id": "</s>", "type_id": 0}}],
        "special_tokens": {"</s>": {"id": "</s>", "ids": [2],
          "tokens": ["</s>"]}}},
      "model": {"type": "WordLevel", "unk_token": "?",
        "vocab": {"?": 0, "hello": 1, "</s>": 2, "world": 3}}})";
  }
  llmrt_tokenizer *tokenizer = nullptr;
  ASSERT_EQ(llmrt_tokenizer_load(path.c_str(), &tokenizer), LLMRT_OK)
      << llmrt_last_error();
  EXPECT_EQ(llmrt_tokenizer_vocab_size(tokenizer), 4);
  std::string text = "hello world there";
  size_t n = 0;
  // Too small: the count needed comes back.
  EXPECT_EQ(llmrt_tokenizer_encode(tokenizer, text.data(), text.size(), true,
                                   nullptr, 0, &n),
            LLMRT_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(n, 4u);
  std::vector<int32_t> ids(n);
  ASSERT_EQ(llmrt_tokenizer_encode(tokenizer, text.data(), text.size(), true,
                                   ids.data(), ids.size(), &n),
            LLMRT_OK);
  EXPECT_EQ(ids, (std::vector<int32_t>{1, 3, 0, 2}));
  char buffer[64];
  ASSERT_EQ(llmrt_tokenizer_decode(tokenizer, ids.data(), ids.size(), true,
                                   buffer, sizeof(buffer), &n),
            LLMRT_OK);
  EXPECT_EQ(std::string(buffer), "hello world ?");
  EXPECT_EQ(n, 13u);
  EXPECT_EQ(llmrt_tokenizer_decode(tokenizer, ids.data(), ids.size(), false,
                                   buffer, 5, &n),
            LLMRT_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(n, 18u); // "hello world ? </s>"
  int32_t bad = 7;
  EXPECT_EQ(llmrt_tokenizer_decode(tokenizer, &bad, 1, false, buffer,
                                   sizeof(buffer), &n),
            LLMRT_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(llmrt_last_error()).find("found 7"), std::string::npos);
  llmrt_tokenizer_free(tokenizer);

  // A folder without a tokenizer names what it looked for.
  EXPECT_EQ(llmrt_tokenizer_load(::testing::TempDir().c_str(), &tokenizer),
            LLMRT_ERROR_IO);
  EXPECT_EQ(tokenizer, nullptr);
  EXPECT_NE(std::string(llmrt_last_error()).find("expected a tokenizer"),
            std::string::npos);
  std::remove(path.c_str());
}
