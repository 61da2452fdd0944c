//===- HFModelTest.cpp - HFModel: config.json read once, imported often ---===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "llm/Import/HFImporter.h"

#include "SafeTensors.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <gtest/gtest.h>

#include <string>

using namespace mlir;
using namespace mlir::llm;

namespace {

/// A copy of the T5 fixture of test/e2e in a temporary folder, so that a
/// test may remove its config files.
class HFModelTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_FALSE(
        llvm::sys::fs::createUniqueDirectory("llmc-hfmodel-test", dir));
    for (const char *name :
         {"config.json", "generation_config.json", "model.safetensors"}) {
      llvm::SmallString<256> from(LLMC_E2E_FIXTURES);
      llvm::sys::path::append(from, "t5", name);
      ASSERT_FALSE(llvm::sys::fs::copy_file(from, path(name))) << from.c_str();
    }
  }
  void TearDown() override { llvm::sys::fs::remove_directories(dir); }

  std::string path(llvm::StringRef name) const {
    llvm::SmallString<256> p(dir);
    llvm::sys::path::append(p, name);
    return std::string(p);
  }

  static HFImportOptions options(std::string name, int64_t decoderSeqLen) {
    HFImportOptions o;
    o.seqLen = 3;
    o.decoderSeqLen = decoderSeqLen;
    o.functionName = std::move(name);
    return o;
  }

  llvm::SmallString<256> dir;
};

TEST_F(HFModelTest, OpenReadsTheInfo) {
  llvm::Expected<std::unique_ptr<HFModel>> model = HFModel::open(dir);
  ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
  const HFModelInfo &info = (*model)->getInfo();
  EXPECT_EQ(info.modelType, "t5");
  EXPECT_EQ(info.kind, HFModelInfo::Kind::EncoderDecoder);
  EXPECT_EQ(info.vocabSize, 112);
  EXPECT_EQ(info.hiddenSize, 32);
  EXPECT_EQ(info.decoderStartTokenId, 0);
  EXPECT_EQ(info.eosTokenIds, std::vector<int64_t>{1});
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
    EXPECT_TRUE((*module)->lookupSymbol<func::FuncOp>(name)) << name;
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

TEST(HFModelTypes, ListFromTheTable) {
  EXPECT_EQ(getSupportedModelTypes(),
            "bert, bloom, gpt2, llama, mistral, mixtral, qwen2, roberta, t5");
}

} // namespace
