//===- JITSampleTest.cpp - llm.sample compiled and run --------------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// `llm.sample` lowered by llm-lower-to-cpu and run by the JIT picks the
// tokens the runtime sampler picks with the same parameters and seed, and
// its generator carries over from one call to the next.
//
//===----------------------------------------------------------------------===//

#include "llm/JIT/JIT.h"
#include "llm/codegen/CPU/Passes.h"
#include "llm/dialects/LLM/IR/LLMDialect.h"

#include "Kernels.h"
#include "Model.h"
#include "SafeTensors.h"
#include "Sampler.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

#include <random>

using namespace mlir;
using namespace mlir::llm;
using llmrt::SafeTensorsArchive;

namespace {

constexpr int64_t kBatch = 3, kVocab = 50, kPrev = 4;

/// A folder with a one-tensor model.safetensors: the JIT binds weights from
/// an archive, and these functions have none.
class TempModel {
public:
  TempModel() {
    EXPECT_FALSE(llvm::sys::fs::createUniqueDirectory("llmc-sample", dir));
    llvm::SmallString<128> file(dir);
    llvm::sys::path::append(file, "model.safetensors");
    std::error_code ec;
    llvm::raw_fd_ostream os(file, ec);
    EXPECT_FALSE(ec);
    std::string header =
        R"({"unused":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
    uint64_t size = header.size();
    os.write(reinterpret_cast<const char *>(&size), 8);
    os << header;
    os.write("\0\0\0\0", 4);
  }
  ~TempModel() { llvm::sys::fs::remove_directories(dir); }
  llvm::StringRef path() const { return dir; }

private:
  llvm::SmallString<128> dir;
};

/// Compiles functions without weights: the JIT binds weights from an
/// archive, here the one-tensor folder of `TempModel`.
class Compiler {
public:
  Compiler() {
    context.loadDialect<LLMDialect, func::FuncDialect, LLVM::LLVMDialect>();
    llmrt::Expected<std::unique_ptr<SafeTensorsArchive>> opened =
        SafeTensorsArchive::openDirectory(folder.path());
    if (opened)
      archive = std::move(*opened);
    else
      ADD_FAILURE() << opened.error();
  }

  /// The compiled `source`, or nullptr after reporting why.
  std::unique_ptr<llmrt::Model> compile(llvm::StringRef source) {
    if (!archive)
      return nullptr;
    OwningOpRef<ModuleOp> module =
        parseSourceString<ModuleOp>(source, &context);
    if (!module)
      return nullptr;
    PassManager pm(&context);
    pm.addPass(llm::createLowerToCPUPass());
    if (failed(pm.run(*module)))
      return nullptr;
    llvm::Expected<std::unique_ptr<llmrt::Model>> model =
        jitCompile(*module, archive);
    if (!model) {
      ADD_FAILURE() << llvm::toString(model.takeError());
      return nullptr;
    }
    return std::move(*model);
  }

private:
  MLIRContext context;
  TempModel folder;
  std::shared_ptr<const SafeTensorsArchive> archive;
};

struct SampleCase {
  const char *attrs;
  llmrt::SamplerParams params;
};

class JITSampleTest : public ::testing::TestWithParam<SampleCase> {};

TEST_P(JITSampleTest, MatchesTheRuntimeSampler) {
  const SampleCase &c = GetParam();
  Compiler compiler;
  std::string source =
      (llvm::Twine("func.func @pick(%l: tensor<3x50xf32>, %prev: "
                   "tensor<3x4xi32>) -> tensor<3xi64> {\n"
                   "  %n = llm.sample %l prev(%prev : tensor<3x4xi32>) {") +
       c.attrs +
       "} : tensor<3x50xf32> -> tensor<3xi64>\n"
       "  return %n : tensor<3xi64>\n}\n")
          .str();
  std::unique_ptr<llmrt::Model> model = compiler.compile(source);
  ASSERT_TRUE(model);
  const llmrt::Entry *entry = model->find("pick");
  ASSERT_TRUE(entry);

  std::mt19937 gen(3);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  llmrt::Sampler sampler(c.params);
  llmrt::Rng rng(c.params.seed);
  // Three calls: the compiled op's generator continues where it stopped.
  for (int call = 0; call < 3; ++call) {
    std::vector<float> logits(kBatch * kVocab);
    for (float &x : logits)
      x = normal(gen);
    std::vector<int32_t> prev(kBatch * kPrev);
    for (int32_t &id : prev)
      id = static_cast<int32_t>(gen() % kVocab);
    std::vector<int64_t> picked(kBatch, -2);
    void *args[] = {logits.data(), prev.data()};
    void *results[] = {picked.data()};
    llmrt::Status status = model->run(*entry, args, results);
    ASSERT_TRUE(status.isOk()) << status.message();
    for (int64_t b = 0; b < kBatch; ++b) {
      std::vector<int64_t> history(prev.begin() + b * kPrev,
                                   prev.begin() + (b + 1) * kPrev);
      int64_t expected =
          sampler.sample(logits.data() + b * kVocab, kVocab, history, rng);
      EXPECT_EQ(picked[b], expected) << "call " << call << ", row " << b;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, JITSampleTest,
    ::testing::Values(
        SampleCase{"temperature = 0.0",
                   llmrt::sampler_params(0.0, 0, 1.0, 0.0, 1.0, 0)},
        SampleCase{"temperature = 0.0, repetition_penalty = 1.5",
                   llmrt::sampler_params(0.0, 0, 1.0, 0.0, 1.5, 0)},
        SampleCase{"temperature = 0.8, top_k = 10, top_p = 0.9, seed = 42",
                   llmrt::sampler_params(0.8, 10, 0.9, 0.0, 1.0, 42)},
        SampleCase{"temperature = 1.3, min_p = 0.05, repetition_penalty = "
                   "1.2, seed = 7",
                   llmrt::sampler_params(1.3, 0, 1.0, 0.05, 1.2, 7)}));

/// A NaN logit is reported through llmk_take_error, not a crash.
TEST(JITSampleErrorTest, NaNLogitIsReported) {
  Compiler compiler;
  std::unique_ptr<llmrt::Model> model = compiler.compile(
      "func.func @pick(%l: tensor<1x4xf32>) -> tensor<1xi32> {\n"
      "  %n = llm.sample %l {temperature = 1.0, seed = 1} : "
      "tensor<1x4xf32> -> tensor<1xi32>\n"
      "  return %n : tensor<1xi32>\n}\n");
  ASSERT_TRUE(model);
  const llmrt::Entry *entry = model->find("pick");
  ASSERT_TRUE(entry);
  float logits[4] = {1.0f, std::nanf(""), 0.0f, 2.0f};
  int32_t picked = 5;
  void *args[] = {logits};
  void *results[] = {&picked};
  llmrt::Status status = model->run(*entry, args, results);
  EXPECT_EQ(status.code(), llmrt::ErrorCode::Kernel);
  EXPECT_EQ(status.message(),
            "kernel error: llmrt_sample: cannot sample (a NaN logit, every "
            "logit -inf, or a previous token outside the vocabulary)");
  EXPECT_EQ(picked, -1);
}

} // namespace
