//===- embed_jit.cpp - A C++ host compiling a model in-process ------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// The embeddable JIT (include/llm/JIT/): a host application compiles a
// Hugging Face folder, a GGUF file or a .mlir module (the llm dialect, its
// parameters read from WEIGHTS_DIR) in-process, with its options and the
// compile cache, into an llmrt::Model (the same interface an artifact
// loads into), then runs it through a session of the paged KV cache:
//
//   llmc-embed-jit MODEL IDS [max_new_tokens [WEIGHTS_DIR]]
//
// generates greedily after the comma-separated prompt ids, hands each token
// to a streaming callback (which prints it), then prints "ids: ...". The
// first run compiles; a second one with the same model and options loads
// the code from the compile cache ($LLMC_CACHE_DIR, else ~/.cache/llmc),
// and says which on stderr.
//
//===----------------------------------------------------------------------===//

#include "llm/Import/GGUFImporter.h"
#include "llm/Import/HFImporter.h"
#include "llm/JIT/CompileCache.h"
#include "llm/JIT/JIT.h"

#include "Generate.h"
#include "Model.h"
#include "SafeTensors.h"
#include "Session.h"

#include "llm/InitAll.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

using namespace mlir::llm;

namespace {

int fail(const std::string &message) {
  std::fprintf(stderr, "llmc-embed-jit: error: %s\n", message.c_str());
  return 1;
}

/// Greedy generation over a session, each token handed to `onToken`.
llmrt::Status generate(llmrt::Model &model, const std::vector<int64_t> &prompt,
                       int64_t maxNew,
                       const std::function<void(int64_t)> &onToken) {
  llmrt::Expected<std::unique_ptr<llmrt::Session>> session =
      llmrt::Session::create(model);
  if (!session)
    return session.takeStatus();
  llmrt::Expected<int64_t> seq = (*session)->addSequence();
  if (!seq)
    return seq.takeStatus();
  const llmrt::ModelInfo &info = (*session)->getInfo();
  std::vector<float> logits(info.vocabSize);
  llmrt::Status status = (*session)->prefill(*seq, prompt, logits.data(),
                                             llmrt::PrefillLogits::Last);
  for (int64_t step = 0; status.isOk() && step < maxNew; ++step) {
    const int64_t next =
        std::max_element(logits.begin(), logits.end()) - logits.begin();
    onToken(next);
    if (std::find(info.eosTokenIds.begin(), info.eosTokenIds.end(), next) !=
            info.eosTokenIds.end() ||
        step + 1 == maxNew)
      break;
    status = (*session)->decode({*seq}, {next}, logits.data());
  }
  return status;
}

/// Generates with `model` and prints the tokens (see the file comment).
int finish(llmrt::Model &model, const JITTimings &timings,
           const std::vector<int64_t> &prompt, int64_t maxNew);

} // namespace

int main(int argc, char **argv) {
  if (argc < 3 || argc > 5) {
    std::fprintf(stderr, "usage: %s MODEL IDS [max_new_tokens [WEIGHTS_DIR]]\n",
                 argv[0]);
    return 2;
  }
  const std::string path = argv[1];
  std::vector<int64_t> prompt;
  std::stringstream ids(argv[2]);
  for (std::string item; std::getline(ids, item, ',');) {
    char *end = nullptr;
    long long id = std::strtoll(item.c_str(), &end, 10);
    if (item.empty() || *end)
      return fail("IDS: expected comma-separated token ids, found '" + item +
                  "'");
    prompt.push_back(id);
  }
  const int64_t maxNew = argc >= 4 ? std::atoll(argv[3]) : 16;
  if (prompt.empty() || maxNew < 1)
    return fail("expected at least one prompt id and max_new_tokens >= 1");

  mlir::MLIRContext context;
  JITTimings timings;
  llvm::Expected<std::unique_ptr<llmrt::Model>> compiled =
      llvm::Expected<std::unique_ptr<llmrt::Model>>(nullptr);
  if (llvm::StringRef(path).ends_with(".mlir")) {
    // A module: its functions become the cache's entry points (a prefill of
    // each function's length, a decode step), over the weights' folder.
    if (argc != 5)
      return fail("a .mlir module needs WEIGHTS_DIR, the folder of the "
                  "safetensors its parameters name");
    mlir::DialectRegistry registry;
    mlir::llm::registerAllDialects(registry);
    context.appendDialectRegistry(registry);
    mlir::OwningOpRef<mlir::ModuleOp> module =
        mlir::parseSourceFile<mlir::ModuleOp>(path, &context);
    if (!module)
      return fail(path + ": cannot parse the module (see the diagnostics "
                         "above)");
    llmrt::Expected<std::unique_ptr<llmrt::SafeTensorsArchive>> archive =
        llmrt::SafeTensorsArchive::openDirectory(argv[4]);
    if (!archive)
      return fail(archive.error());
    JITOptions options;
    options.kvCache = true;
    options.decodeBatch = 1;
    options.maxSeqLen =
        (static_cast<int64_t>(prompt.size()) + maxNew + 15) / 16 * 16;
    options.lastLogitsOnly = true;
    options.cacheDir = CompileCache::getDefaultDirectory();
    compiled =
        compileModule(*module, argv[4], std::move(*archive), options, &timings);
    if (!compiled)
      return fail(llvm::toString(compiled.takeError()));
    return finish(**compiled, timings, prompt, maxNew);
  }

  // The model and its weights: a Hugging Face folder or a GGUF file.
  std::unique_ptr<HFModel> model;
  std::shared_ptr<const llmrt::SafeTensorsArchive> weights;
  if (isGGUFPath(path)) {
    llvm::Expected<GGUFModel> opened = openGGUF(path);
    if (!opened)
      return fail(llvm::toString(opened.takeError()));
    model = std::move(opened->model);
    weights = std::move(opened->weights);
  } else {
    llvm::Expected<std::unique_ptr<HFModel>> opened = HFModel::open(path);
    if (!opened)
      return fail(llvm::toString(opened.takeError()));
    model = std::move(*opened);
    llmrt::Expected<std::unique_ptr<llmrt::SafeTensorsArchive>> archive =
        llmrt::SafeTensorsArchive::openDirectory(path);
    if (!archive)
      return fail(archive.error());
    weights = std::move(*archive);
  }

  // The entry points this prompt needs, compiled through the cache.
  JITOptions options = planCompilation(
      /*encoderDecoder=*/false, /*encoderOnly=*/false, {{prompt, {}}}, maxNew,
      /*numBeams=*/1, /*kvCache=*/true);
  options.cacheDir = CompileCache::getDefaultDirectory();
  options.warn = [](const std::string &message) {
    std::fprintf(stderr, "llmc-embed-jit: warning: %s\n", message.c_str());
  };
  compiled = compileModel(context, *model, weights, options, &timings);
  if (!compiled)
    return fail(llvm::toString(compiled.takeError()));
  return finish(**compiled, timings, prompt, maxNew);
}

namespace {

int finish(llmrt::Model &model, const JITTimings &timings,
           const std::vector<int64_t> &prompt, int64_t maxNew) {
  std::fprintf(stderr, "code: %s\n",
               timings.cached ? "from the compile cache" : "compiled");

  std::vector<int64_t> generated;
  llmrt::Status status = generate(model, prompt, maxNew, [&](int64_t token) {
    // The streaming callback: each token as it is chosen.
    std::printf("%s%lld", generated.empty() ? "" : " ",
                static_cast<long long>(token));
    std::fflush(stdout);
    generated.push_back(token);
  });
  if (!status.isOk())
    return fail(status.message());
  std::printf("\nids:");
  for (size_t i = 0; i < generated.size(); ++i)
    std::printf("%s%lld", i ? "," : " ", static_cast<long long>(generated[i]));
  std::printf("\n");
  return 0;
}

} // namespace
