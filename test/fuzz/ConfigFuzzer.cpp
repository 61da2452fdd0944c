//===- ConfigFuzzer.cpp - libFuzzer target for config.json -> CPU IR ------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// The input is the text of a Hugging Face config.json. The harness writes it
// into a fresh temporary folder, opens it with HFModel::open, imports
// it with HFModel::import against the weights of the test/e2e fixtures of
// the same model_type (the first archive that imports is kept; the archives
// are opened once, and the importer checks every weight's presence, dtype and
// shape against them), for two shapes (1 token; 5 tokens in a batch of 2,
// one sequence for encoders, with 3 decoder tokens) and with fused and with
// decomposed attention (HFImportOptions::decomposeAttention), and runs the
// CPU pipeline (buildCPUPipeline, attention passes on) on each module with
// the KV cache off and on.
//
// Invariant: whatever the input, open, import and the pipeline either
// succeed or return an llvm::Error / a pass failure: no crash, no sanitizer
// report, no abort, no hang, no unbounded allocation. And every pass that
// succeeds leaves IR that verifies (FuzzSupport.h aborts otherwise).
// With LLMC_FUZZ_STRICT_IMPORT=1 in the environment, an import that fails
// because its own IR does not verify (the config passed the importer's
// checks but the IR it built is invalid) aborts too.
//
// Sizes: the harness does not cap the config's dimensions, because the
// importer bounds them: every size it builds a tensor of either comes from
// the harness (sequence length, batch) or is checked against a fixture
// weight before IR that depends on it is materialized, and the config reader
// refuses integers outside int32. Work or memory that grows with a config
// value no weight has bounded yet is a finding (libFuzzer reports it as
// out-of-memory or a timeout).
//
// Diagnostics are swallowed (QuietDiagnostics) and printed only with a
// finding. LLMC_FUZZ_VERBOSE=1 prints how far each input got (to check that
// the seeds reach the pipeline).
//
// Build and run (scripts/fuzz.sh does both; see test/fuzz/README.md):
//   cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Release \
//     -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
//     -DLLMC_SANITIZE="address;undefined" -DLLMC_BUILD_FUZZERS=ON
//   ninja -C build-fuzz config-fuzzer
//   scripts/fuzz.sh config 600
// The fixtures are read from LLMC_FUZZ_FIXTURES (default: this tree's
// test/e2e).
//
//===----------------------------------------------------------------------===//

#include "FuzzSupport.h"

#include "llm/Import/HFImporter.h"
#include "llm/InitAll.h"
#include "llm/Pipelines/Pipelines.h"

#include "SafeTensors.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#ifndef LLMC_FUZZ_FIXTURES
#define LLMC_FUZZ_FIXTURES "test/e2e"
#endif

using namespace mlir;
using namespace mlir::llm;

// LLVM's allocators poison memory from inline header code, instrumented here
// but not in the prebuilt libLLVM/libMLIR (see scripts/test.sh --sanitize);
// a huge request fails as in production. ASAN_OPTIONS still overrides these.
extern "C" const char *__asan_default_options() {
  return "allow_user_poisoning=0:allocator_may_return_null=1";
}

namespace {
/// What stays the same for every input: the dialects and the fixtures'
/// weights by model_type.
struct Setup {
  DialectRegistry registry;
  std::map<std::string, std::vector<std::unique_ptr<SafeTensorsArchive>>>
      archives;

  Setup() {
    registerAllDialects(registry);
    std::string fixtures = LLMC_FUZZ_FIXTURES;
    if (const char *env = getenv("LLMC_FUZZ_FIXTURES"))
      fixtures = env;
    // In name order: the first archive of a model_type that imports is
    // kept, the same on every machine.
    std::error_code ec;
    std::vector<std::string> folders;
    for (llvm::sys::fs::directory_iterator it(fixtures, ec), end;
         it != end && !ec; it.increment(ec))
      folders.push_back(it->path());
    llvm::sort(folders);
    size_t count = 0;
    for (const std::string &folder : folders) {
      llvm::SmallString<256> config(folder);
      llvm::sys::path::append(config, "config.json");
      auto buffer = llvm::MemoryBuffer::getFile(config);
      if (!buffer)
        continue;
      llvm::Expected<llvm::json::Value> json =
          llvm::json::parse((*buffer)->getBuffer());
      if (!json) {
        llvm::consumeError(json.takeError());
        continue;
      }
      const llvm::json::Object *object = json->getAsObject();
      std::optional<llvm::StringRef> type =
          object ? object->getString("model_type") : std::nullopt;
      auto archive = llmrt::SafeTensorsArchive::openDirectory(folder);
      if (!type || !archive)
        continue;
      archives[type->str()].push_back(std::move(*archive));
      ++count;
    }
    if (!count) {
      llvm::errs() << "config-fuzzer: no fixture (config.json and weights) "
                      "under '"
                   << fixtures << "'; set LLMC_FUZZ_FIXTURES\n";
      exit(1);
    }
  }
};

Setup &getSetup() {
  static Setup setup;
  return setup;
}

bool verbose() {
  static const bool on =
      getenv("LLMC_FUZZ_VERBOSE") && *getenv("LLMC_FUZZ_VERBOSE") == '1';
  return on;
}

/// One import shape.
struct Shape {
  int64_t seqLen, batch, decoderSeqLen;
};

/// With LLMC_FUZZ_STRICT_IMPORT=1, an import that failed because the IR it
/// built does not verify is a finding.
void checkImportError(llvm::StringRef message,
                      const llmc::fuzz::QuietDiagnostics &diags,
                      const HFImportOptions &options) {
  static const bool strict = getenv("LLMC_FUZZ_STRICT_IMPORT") &&
                             *getenv("LLMC_FUZZ_STRICT_IMPORT") == '1';
  if (!strict || !message.contains("does not verify"))
    return;
  llvm::errs() << "FINDING: the imported IR does not verify (seq="
               << options.seqLen << " batch=" << options.batch
               << " decomposed=" << options.decomposeAttention
               << "): " << message << "\n";
  diags.print(llvm::errs());
  abort();
}

void runPipeline(MLIRContext &context, llmc::fuzz::QuietDiagnostics &diags,
                 ModuleOp module, bool kvCache, const Shape &shape,
                 bool decomposed) {
  CPUPipelineOptions options;
  options.attentionPasses = true; // Decomposed attention needs fusion.
  options.kvCache = kvCache;
  if (kvCache && shape.batch > 1) {
    options.blockSize = 4;
    options.cacheDtype = "f16";
    options.maxSeqLen = 16;
    options.decodeBatch = 2;
  }
  std::string what = "buildCPUPipeline kv-cache=" + std::to_string(kvCache) +
                     " seq=" + std::to_string(shape.seqLen) +
                     " batch=" + std::to_string(shape.batch) +
                     " decomposed=" + std::to_string(decomposed);
  PassManager pm(&context);
  pm.enableVerifier(false); // VerifyAfterEachPass does it and tells apart.
  pm.addInstrumentation(
      std::make_unique<llmc::fuzz::VerifyAfterEachPass>(diags, what));
  buildCPUPipeline(pm, options);
  // A pass failure is an accepted outcome.
  bool ok = succeeded(pm.run(module));
  if (verbose())
    llvm::errs() << "  " << what << ": " << (ok ? "lowered" : "pass failure")
                 << "\n";
  if (verbose() && !ok)
    diags.print(llvm::errs());
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  Setup &setup = getSetup();
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  // A fresh folder per input, removed once open() has read it (import()
  // reads only the parsed config): libFuzzer ends with _Exit, which runs no
  // destructor that could clean up after the last one.
  llvm::SmallString<128> dir;
  if (llvm::sys::fs::createUniqueDirectory("llmc-config-fuzz", dir))
    abort(); // The harness's own folder: not a finding of the project.
  llvm::SmallString<128> path(dir);
  llvm::sys::path::append(path, "config.json");
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(path, ec);
    if (ec)
      abort();
    os << text;
  }
  llvm::Expected<std::unique_ptr<HFModel>> model = HFModel::open(dir);
  llvm::sys::fs::remove(path);
  llvm::sys::fs::remove(dir);
  if (!model) {
    std::string message = llvm::toString(model.takeError());
    if (verbose())
      llvm::errs() << "open: " << message << "\n";
    return 0;
  }
  auto found = setup.archives.find((*model)->getInfo().type);
  if (found == setup.archives.end())
    return 0; // open() knows the type, but no fixture has weights for it.
  bool encoder = (*model)->getInfo().kind == llmrt::ModelKind::Encoder;
  const Shape shapes[] = {{1, 1, 1}, {5, encoder ? 1 : 2, 3}};

  MLIRContext context(setup.registry);
  context.disableMultithreading();
  llmc::fuzz::QuietDiagnostics diags(context);

  // The first fixture archive the config imports against.
  const SafeTensorsArchive *archive = nullptr;
  for (const auto &candidate : found->second) {
    HFImportOptions options;
    options.seqLen = 1;
    options.decoderSeqLen = 1;
    llvm::Expected<OwningOpRef<ModuleOp>> module =
        (*model)->import(context, *candidate, options);
    if (module) {
      archive = candidate.get();
      break;
    }
    std::string message = llvm::toString(module.takeError());
    checkImportError(message, diags, options);
    if (verbose())
      llvm::errs() << "import against " << candidate->directory() << ": "
                   << message << "\n";
  }
  if (!archive)
    return 0;
  if (verbose())
    llvm::errs() << "weights of " << archive->directory() << "\n";

  for (bool decomposed : {false, true}) {
    for (const Shape &shape : shapes) {
      HFImportOptions options;
      options.seqLen = shape.seqLen;
      options.batch = shape.batch;
      options.decoderSeqLen = shape.decoderSeqLen;
      options.decomposeAttention = decomposed;
      diags.clear();
      llvm::Expected<OwningOpRef<ModuleOp>> module =
          (*model)->import(context, *archive, options);
      if (!module) {
        std::string message = llvm::toString(module.takeError());
        checkImportError(message, diags, options);
        if (verbose())
          llvm::errs() << "  import seq=" << shape.seqLen
                       << " decomposed=" << decomposed << ": " << message
                       << "\n";
        continue;
      }
      // The pipeline rewrites the module: the first run gets a copy.
      OwningOpRef<ModuleOp> copy = (*module)->clone();
      runPipeline(context, diags, *copy, /*kvCache=*/false, shape, decomposed);
      runPipeline(context, diags, **module, /*kvCache=*/true, shape,
                  decomposed);
    }
  }
  return 0;
}
