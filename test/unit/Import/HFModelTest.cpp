//===- HFModelTest.cpp - HFModel: config.json read once, imported often ---===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "llm/Import/HFImporter.h"

#include "SafeTensors.h"

#include "llm/dialects/LLM/IR/LLMOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

#include <string>

using namespace mlir;
using namespace mlir::llm;

namespace {

/// A copy of a fixture of test/e2e in a temporary folder, so that a test may
/// change or remove its config files.
class FixtureCopyTest : public ::testing::Test {
protected:
  void copyFixture(llvm::StringRef fixture) {
    ASSERT_FALSE(
        llvm::sys::fs::createUniqueDirectory("llmc-hfmodel-test", dir));
    for (const char *name :
         {"config.json", "generation_config.json", "model.safetensors"}) {
      llvm::SmallString<256> from(LLMC_E2E_FIXTURES);
      llvm::sys::path::append(from, fixture, name);
      ASSERT_FALSE(llvm::sys::fs::copy_file(from, path(name))) << from.c_str();
    }
  }
  void TearDown() override { llvm::sys::fs::remove_directories(dir); }

  /// Sets the fields of `set` in config.json and removes those of `remove`.
  void editConfig(llvm::json::Object set,
                  llvm::ArrayRef<llvm::StringRef> remove = {}) {
    llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> text =
        llvm::MemoryBuffer::getFile(path("config.json"));
    ASSERT_TRUE(bool(text));
    llvm::Expected<llvm::json::Value> json =
        llvm::json::parse((*text)->getBuffer());
    ASSERT_TRUE(bool(json)) << llvm::toString(json.takeError());
    llvm::json::Object &config = *json->getAsObject();
    for (auto &[key, value] : set)
      config[key] = std::move(value);
    for (llvm::StringRef key : remove)
      config.erase(key);
    std::error_code ec;
    llvm::raw_fd_ostream out(path("config.json"), ec);
    ASSERT_FALSE(ec) << ec.message();
    out << *json;
  }

  std::string path(llvm::StringRef name) const {
    llvm::SmallString<256> p(dir);
    llvm::sys::path::append(p, name);
    return std::string(p);
  }

  llvm::SmallString<256> dir;
};

/// The T5 fixture.
class HFModelTest : public FixtureCopyTest {
protected:
  void SetUp() override { copyFixture("t5"); }

  static HFImportOptions options(std::string name, int64_t decoderSeqLen) {
    HFImportOptions o;
    o.seqLen = 3;
    o.decoderSeqLen = decoderSeqLen;
    o.functionName = std::move(name);
    return o;
  }
};

TEST_F(HFModelTest, OpenReadsTheInfo) {
  llvm::Expected<std::unique_ptr<HFModel>> model = HFModel::open(dir);
  ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
  const HFModelInfo &info = (*model)->getInfo();
  EXPECT_EQ(info.type, "t5");
  EXPECT_EQ(info.kind, llmrt::ModelKind::EncoderDecoder);
  EXPECT_EQ(info.vocabSize, 112);
  EXPECT_EQ(info.hiddenSize, 32);
  EXPECT_EQ(info.decoderStartTokenId, 0);
  EXPECT_EQ(info.eosTokenIds, std::vector<int64_t>{1});
  EXPECT_EQ(info.positionOffset, 0);
  EXPECT_EQ(info.maxPositions, 0);
  EXPECT_EQ(info.contextLength, 0);
  EXPECT_EQ(info.slidingWindow, 0);
  EXPECT_EQ((*model)->getDirectory(), dir.str());
}

// Every import reuses the config parsed by open(): the files may be gone.
TEST_F(HFModelTest, ImportsWithoutRereadingTheConfig) {
  llvm::Expected<std::unique_ptr<HFModel>> model = HFModel::open(dir);
  ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
  ASSERT_FALSE(llvm::sys::fs::remove(path("config.json")));
  ASSERT_FALSE(llvm::sys::fs::remove(path("generation_config.json")));
  llmrt::Expected<std::unique_ptr<SafeTensorsArchive>> archive =
      SafeTensorsArchive::openDirectory(dir.str().str());
  ASSERT_TRUE(bool(archive)) << archive.error();
  MLIRContext context;
  for (const char *name : {"prefill_1", "prefill_2"}) {
    llvm::Expected<OwningOpRef<ModuleOp>> module =
        (*model)->import(context, **archive, options(name, 2));
    ASSERT_TRUE(bool(module)) << llvm::toString(module.takeError());
    auto fn = (*module)->lookupSymbol<func::FuncOp>(name);
    ASSERT_TRUE(fn) << name;
    // The module records the info read by open(), the arguments their kinds.
    EXPECT_EQ((*module)->getOperation()->getAttr("llm.model"),
              ModelInfoAttr::get(&context, "t5", ModelKind::EncoderDecoder, 112,
                                 32, 0, {1}, 0, 0, 0, 0));
    auto kind = [&](unsigned i) {
      return fn.getArgAttrOfType<ArgKindAttr>(i, "llm.arg_kind");
    };
    ASSERT_EQ(fn.getNumArguments(), 2u);
    EXPECT_EQ(kind(0), ArgKindAttr::get(&context, ArgKind::EncoderTokens));
    EXPECT_EQ(kind(1), ArgKindAttr::get(&context, ArgKind::Tokens));
  }
}

// A config error of one import (T5 needs a decoder token) does not stick to
// the next.
TEST_F(HFModelTest, AnImportErrorDoesNotStick) {
  llvm::Expected<std::unique_ptr<HFModel>> model = HFModel::open(dir);
  ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
  llmrt::Expected<std::unique_ptr<SafeTensorsArchive>> archive =
      SafeTensorsArchive::openDirectory(dir.str().str());
  ASSERT_TRUE(bool(archive)) << archive.error();
  MLIRContext context;
  llvm::Expected<OwningOpRef<ModuleOp>> bad =
      (*model)->import(context, **archive, options("forward", 0));
  ASSERT_FALSE(bool(bad));
  EXPECT_EQ(llvm::toString(bad.takeError()),
            path("config.json") +
                ": the decoder needs at least one token (--decoder-input-ids)");
  llvm::Expected<OwningOpRef<ModuleOp>> good =
      (*model)->import(context, **archive, options("forward", 1));
  EXPECT_TRUE(bool(good)) << llvm::toString(good.takeError());
}

/// The Qwen2 fixture, whose config.json a test rewrites before open().
class SlidingWindowTest : public FixtureCopyTest {
protected:
  void SetUp() override { copyFixture("qwen2"); }

  /// HFModelInfo::slidingWindow as open() reads it (-1 when it fails).
  int64_t openWindow() {
    llvm::Expected<std::unique_ptr<HFModel>> model = HFModel::open(dir);
    if (!model) {
      ADD_FAILURE() << llvm::toString(model.takeError());
      return -1;
    }
    return (*model)->getInfo().slidingWindow;
  }

  /// What the Qwen2 fixture needs for a window of 4: use_sliding_window.
  static llvm::json::Object windowOf4() {
    return llvm::json::Object{{"use_sliding_window", true},
                              {"sliding_window", 4}};
  }
};

TEST_F(SlidingWindowTest, NoneWithoutUseSlidingWindow) {
  EXPECT_EQ(openWindow(), 0);
  // Qwen2 ignores sliding_window without use_sliding_window.
  editConfig(llvm::json::Object{
      {"sliding_window", 4},
      {"max_window_layers", 0},
      {"layer_types", {"sliding_attention", "sliding_attention"}}});
  EXPECT_EQ(openWindow(), 0);
}

// layer_types names the windowed layers: every one, or the window is not
// the whole model's.
TEST_F(SlidingWindowTest, LayerTypes) {
  editConfig(windowOf4());
  EXPECT_EQ(openWindow(), 0); // The fixture's layers are full_attention.
  editConfig(llvm::json::Object{
      {"layer_types", {"full_attention", "sliding_attention"}}});
  EXPECT_EQ(openWindow(), 0);
  editConfig(llvm::json::Object{
      {"layer_types", {"sliding_attention", "sliding_attention"}}});
  EXPECT_EQ(openWindow(), 4);
  // It overrides max_window_layers (28 in the fixture).
  editConfig(llvm::json::Object{{"max_window_layers", 1}});
  EXPECT_EQ(openWindow(), 4);
  // A list of another length than num_hidden_layers (2) is not trusted.
  editConfig(llvm::json::Object{{"layer_types", {"sliding_attention"}}});
  EXPECT_EQ(openWindow(), 0);
}

// Without layer_types, the layers from max_window_layers (default 28) on
// are windowed, those below have full attention.
TEST_F(SlidingWindowTest, MaxWindowLayers) {
  editConfig(windowOf4(), {"layer_types"});
  EXPECT_EQ(openWindow(), 0); // 28.
  editConfig(llvm::json::Object{{"max_window_layers", 1}});
  EXPECT_EQ(openWindow(), 0);
  editConfig(llvm::json::Object{{"max_window_layers", 0}});
  EXPECT_EQ(openWindow(), 4);
  editConfig(llvm::json::Object(), {"max_window_layers"});
  EXPECT_EQ(openWindow(), 0);
}

// Mistral windows every layer, whatever use_sliding_window,
// max_window_layers and layer_types say.
TEST_F(SlidingWindowTest, MistralWindowsEveryLayer) {
  editConfig(
      llvm::json::Object{{"model_type", "mistral"}, {"sliding_window", 4}});
  EXPECT_EQ(openWindow(), 4);
  editConfig(llvm::json::Object{{"sliding_window", nullptr}});
  EXPECT_EQ(openWindow(), 0);
}

// A malformed window is the import's error, as it was before open() read
// the window: open() succeeds without one.
TEST_F(SlidingWindowTest, MalformedWindowFailsTheImport) {
  editConfig(
      llvm::json::Object{{"model_type", "mistral"}, {"sliding_window", 0}});
  llvm::Expected<std::unique_ptr<HFModel>> model = HFModel::open(dir);
  ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
  EXPECT_EQ((*model)->getInfo().slidingWindow, 0);
  llmrt::Expected<std::unique_ptr<SafeTensorsArchive>> archive =
      SafeTensorsArchive::openDirectory(dir.str().str());
  ASSERT_TRUE(bool(archive)) << archive.error();
  MLIRContext context;
  HFImportOptions options;
  options.seqLen = 3;
  llvm::Expected<OwningOpRef<ModuleOp>> module =
      (*model)->import(context, **archive, options);
  ASSERT_FALSE(bool(module));
  EXPECT_EQ(llvm::toString(module.takeError()),
            path("config.json") + ": field 'sliding_window': expected a "
                                  "positive integer, found 0");
}

/// The LLaMA fixture (max_position_embeddings 64).
class ContextLengthTest : public FixtureCopyTest {
protected:
  void SetUp() override { copyFixture("llama"); }

  /// HFModelInfo::contextLength with `scaling` as rope_scaling (-1 when
  /// open() fails).
  int64_t openContext(llvm::json::Value scaling) {
    editConfig(llvm::json::Object{{"rope_scaling", std::move(scaling)}});
    llvm::Expected<std::unique_ptr<HFModel>> model = HFModel::open(dir);
    if (!model) {
      ADD_FAILURE() << llvm::toString(model.takeError());
      return -1;
    }
    EXPECT_EQ((*model)->getInfo().maxPositions, 0);
    return (*model)->getInfo().contextLength;
  }
};

// max_position_embeddings, stretched by the rope scaling that extends it.
TEST_F(ContextLengthTest, RopeScalingStretchesTheContext) {
  EXPECT_EQ(openContext(nullptr), 64);
  EXPECT_EQ(openContext(llvm::json::Object{{"rope_type", "default"}}), 64);
  EXPECT_EQ(
      openContext(llvm::json::Object{{"type", "linear"}, {"factor", 4.0}}),
      256);
  // YaRN and Llama 3 stretch the original context; a longer
  // max_position_embeddings stays.
  EXPECT_EQ(
      openContext(llvm::json::Object{{"rope_type", "yarn"},
                                     {"factor", 4.0},
                                     {"original_max_position_embeddings", 32}}),
      128);
  EXPECT_EQ(
      openContext(llvm::json::Object{{"rope_type", "llama3"},
                                     {"factor", 8.0},
                                     {"original_max_position_embeddings", 4}}),
      64);
  // Dynamic NTK rescales as the sequence grows: no limit.
  EXPECT_EQ(openContext(
                llvm::json::Object{{"rope_type", "dynamic"}, {"factor", 2.0}}),
            0);
  // A factor so large that nothing is a limit.
  EXPECT_EQ(openContext(
                llvm::json::Object{{"rope_type", "linear"}, {"factor", 1e300}}),
            0);
}

TEST_F(ContextLengthTest, NoMaxPositionEmbeddingsNoLimit) {
  editConfig(llvm::json::Object{}, {"max_position_embeddings"});
  llvm::Expected<std::unique_ptr<HFModel>> model = HFModel::open(dir);
  ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
  EXPECT_EQ((*model)->getInfo().contextLength, 0);
}

TEST_F(ContextLengthTest, InvalidMaxPositionEmbeddingsIsAnError) {
  editConfig(llvm::json::Object{{"max_position_embeddings", -3}});
  llvm::Expected<std::unique_ptr<HFModel>> model = HFModel::open(dir);
  ASSERT_FALSE(bool(model));
  EXPECT_EQ(llvm::toString(model.takeError()),
            path("config.json") + ": field 'max_position_embeddings': "
                                  "expected a positive integer, found -3");
}

TEST(HFModelTypes, ListFromTheTable) {
  EXPECT_EQ(getSupportedModelTypes(),
            "bert, bloom, gpt2, llama, mistral, mixtral, qwen2, qwen2_moe, "
            "qwen3_moe, roberta, t5");
}

} // namespace
