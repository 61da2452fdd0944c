//===- ManifestTest.cpp - The runtime's reading of the manifest -----------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "Manifest.h"
#include "Kernels.h"

#include "gtest/gtest.h"

using namespace llmrt;

namespace {

constexpr const char *kValid = R"({
  "format": "llmc-manifest", "version": 1,
  "model": {"type": "t5", "kind": "encoder_decoder", "vocab_size": 100,
            "hidden_size": 16, "eos_token_ids": [1], "decoder_start_token_id": 0,
            "max_positions": 0, "sliding_window": 0, "position_offset": 0},
  "params": [
    {"name": "w", "dtype": "bf16", "shape": [4, 8]},
    {"name": "qkv", "dtype": "f32", "shape": [4, 8], "transpose": true,
     "row_blocks": [4, 4, 12, 1]},
    {"name": "experts", "dtype": "f16", "shape": [2, 4], "stacked": ["e0", "e1"]},
    {"name": "q", "dtype": "f32", "shape": [4, 64],
     "quant": {"bits": 4, "group": 32, "symmetric": false, "int8_activations": true,
               "method": "gptq", "checkpoint": "awq"}}
  ],
  "entry_points": [
    {"name": "prefill_enc5_encode", "arena_bytes": 640,
     "args": [{"kind": "encoder_tokens", "dtype": "i64", "shape": [1, 5]},
              {"kind": "cross_cache", "cache": {"layers": 2, "kv_heads": 2,
               "head_dim": 8, "block_size": 4, "dtype": "i8"}},
              {"kind": "cross_slots", "dtype": "i32", "shape": [1, 5]}],
     "results": []},
    {"name": "forward", "arena_bytes": 0,
     "args": [{"kind": "input", "dtype": "f32", "shape": [2, 3]}],
     "results": [{"dtype": "f32", "shape": [2, 3]}]}
  ]})";

TEST(ManifestTest, ReadsEveryField) {
  Expected<Manifest> m = Manifest::parse(kValid, "m.json");
  ASSERT_TRUE(m) << m.error();
  ASSERT_TRUE(m->model);
  EXPECT_EQ(m->model->type, "t5");
  EXPECT_EQ(m->model->kind, ModelKind::EncoderDecoder);
  EXPECT_EQ(m->model->vocabSize, 100);
  EXPECT_EQ(m->model->eosTokenIds, std::vector<int64_t>{1});
  ASSERT_EQ(m->params.size(), 4u);
  ASSERT_TRUE(m->params[3].quant);
  EXPECT_EQ(m->params[3].quant->bits, 4);
  EXPECT_EQ(m->params[3].quant->group, 32);
  EXPECT_FALSE(m->params[3].quant->symmetric);
  EXPECT_TRUE(m->params[3].quant->int8Activations);
  EXPECT_EQ(m->params[3].quant->method, "gptq");
  EXPECT_EQ(m->params[3].quant->checkpoint, "awq");
  EXPECT_FALSE(m->params[0].quant);
  EXPECT_EQ(m->params[0].dtype, ElementType::BF16);
  EXPECT_TRUE(m->params[1].transpose);
  ASSERT_TRUE(m->params[1].rowBlocks);
  EXPECT_EQ((*m->params[1].rowBlocks)[2], 12);
  EXPECT_EQ(m->params[2].stacked, (std::vector<std::string>{"e0", "e1"}));
  const EntryDesc *encode = m->find("prefill_enc5_encode");
  ASSERT_TRUE(encode);
  EXPECT_EQ(encode->arenaBytes, 640);
  ASSERT_TRUE(encode->hasArg(ArgKind::CrossCache));
  const CacheLayout &cache = *encode->getArg(ArgKind::CrossCache).cache;
  EXPECT_EQ(cache.layers, 2);
  EXPECT_EQ(cache.blockSize, 4);
  EXPECT_EQ(cache.dtype, LLMK_I8);
  EXPECT_EQ(encode->getArg(ArgKind::CrossSlots).tensor.getNumElements(), 5);
  EXPECT_EQ(m->find("forward")->args[0].kind, ArgKind::Input);
  EXPECT_EQ(m->find("missing"), nullptr);
}

struct BadCase {
  const char *from;
  const char *to;
  const char *message;
};

class ManifestErrorTest : public ::testing::TestWithParam<BadCase> {};

/// Each case edits the valid manifest once; the error names the field, the
/// expected and the found value.
TEST_P(ManifestErrorTest, NamesTheField) {
  std::string text = kValid;
  size_t at = text.find(GetParam().from);
  ASSERT_NE(at, std::string::npos) << GetParam().from;
  text.replace(at, std::string(GetParam().from).size(), GetParam().to);
  Expected<Manifest> m = Manifest::parse(text, "m.json");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error(), GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ManifestErrorTest,
    ::testing::Values(
        BadCase{"\"version\": 1", "\"version\": 2",
                "m.json: field .version: expected 1 (this runtime's), found "
                "2; recompile the model"},
        BadCase{"\"llmc-manifest\"", "\"other\"",
                "m.json: field .format: expected \"llmc-manifest\", found "
                "\"other\""},
        BadCase{"\"vocab_size\": 100", "\"vocab_size\": -1",
                "m.json: field .model.vocab_size: expected an integer in [1, "
                "2147483647], found -1"},
        BadCase{"\"kind\": \"encoder_decoder\"", "\"kind\": \"seq2seq\"",
                "m.json: field .model.kind: expected one of decoder, encoder, "
                "encoder_decoder, found \"seq2seq\""},
        BadCase{"\"dtype\": \"bf16\"", "\"dtype\": \"f64\"",
                "m.json: field .params[0].dtype: expected one of f32, f16, "
                "bf16, i64, i32, i8, i1, found \"f64\""},
        BadCase{"[4, 4, 12, 1]", "[4, 4]",
                "m.json: field .params[1].row_blocks: expected [start, size, "
                "stride, count], found [4,4]"},
        BadCase{"\"kind\": \"cross_slots\"", "\"kind\": \"slot\"",
                "m.json: field .entry_points[0].args[2].kind: expected one "
                "of input, tokens, positions, token_types, encoder_tokens, "
                "kv_cache, slots, block_tables, context_lens, cross_cache, "
                "cross_slots, cross_block_tables, cross_context_lens, found "
                "\"slot\""},
        BadCase{"\"block_size\": 4", "\"block_size\": 0",
                "m.json: field .entry_points[0].args[1].cache.block_size: "
                "expected an integer in [1, 1048576], found 0"},
        BadCase{"\"dtype\": \"i8\"}", "\"dtype\": \"i64\"}",
                "m.json: field .entry_points[0].args[1].cache.dtype: "
                "expected f32, f16, bf16 or i8, found \"i64\""},
        BadCase{"\"shape\": [1, 5]}", "\"shape\": [1, -5]}",
                "m.json: field .entry_points[0].args[0].shape[1]: expected "
                "an integer in [0, 1099511627776], found -5"},
        BadCase{"\"arena_bytes\": 640", "\"arena_bytes\": \"640\"",
                "m.json: field .entry_points[0].arena_bytes: expected an "
                "integer in [0, 1099511627776], found \"640\""},
        BadCase{"\"name\": \"forward\"", "\"name\": \"prefill_enc5_encode\"",
                "m.json: field .entry_points[1].name: expected a name no "
                "other entry point has, found \"prefill_enc5_encode\""},
        BadCase{"\"bits\": 4", "\"bits\": 7",
                "m.json: field .params[3].quant: expected 8, 6, 5 or 4 bits, "
                "found 7"},
        BadCase{"\"group\": 32", "\"group\": 48",
                "m.json: field .params[3].quant: expected a group size of 0 "
                "(per output channel), 16 or a multiple of 32, found 48"},
        BadCase{"\"group\": 32", "\"group\": 128",
                "m.json: field .params[3].quant: expected a group size that "
                "divides the 64 input features, found 128"},
        BadCase{"\"shape\": [4, 64],\n     \"quant\"",
                "\"shape\": [4, 64], \"panels\": 48,\n     \"quant\"",
                "m.json: field .params[3].quant: expected an f32 2-D "
                "parameter that is neither stacked nor in panels, or stacked "
                "experts rounded to nearest, found "
                "{\"bits\":4,\"group\":32,\"symmetric\":false,"
                "\"int8_activations\":true,\"method\":\"gptq..."},
        BadCase{"\"checkpoint\": \"awq\"", "\"checkpoint\": \"exl2\"",
                "m.json: field .params[3].quant.checkpoint: expected one of "
                "gptq, gptq_v2, awq, ggml_q8_0, ggml_q4_0, ggml_q4_1, "
                "ggml_q5_0, ggml_q5_1, ggml_q4_k, ggml_q5_k, ggml_q6_k, found "
                "\"exl2\""},
        BadCase{"\"method\": \"gptq\"", "\"method\": \"hqq\"",
                "m.json: field .params[3].quant.method: expected one of rtn, "
                "gptq, awq, found \"hqq\""},
        BadCase{"\"int8_activations\": true", "\"int8_activations\": 1",
                "m.json: field .params[3].quant.int8_activations: expected "
                "true or false, found 1"},
        BadCase{"\"params\": [", "\"params\": 3, \"x\": [",
                "m.json: field .params: expected an array, found 3"},
        BadCase{"{\n  \"format\"", "[{\n  \"format\"",
                "m.json: not valid JSON: [25:4, byte=1281]: Expected , or ] "
                "after array element"}));

} // namespace
