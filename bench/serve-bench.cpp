//===- serve-bench.cpp - Continuous against static batching ---------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// llm-serve-bench MODEL_DIR [--serve-requests 32] [--decode-batch 8]
//                 [--num-threads N] [--serve-rounds 3]
//
// Serves the same requests (mixed prompt lengths and generation lengths,
// all arriving at once, greedy) two ways over one compiled model and one
// KV cache, alternating, and reports medians:
//   - static batching: requests in groups of the decode batch, in arrival
//     order; a group runs until its longest request finishes, and the next
//     group starts only then;
//   - continuous batching (llmrt::Scheduler): requests join the running
//     batch between decode steps as others finish, with chunked prefill
//     and prefix sharing.
// Throughput is generated tokens / wall time; latency is each request's
// time from arrival to its last token, averaged. Both runs must generate
// the same tokens (checked).
//
//===----------------------------------------------------------------------===//

#include "llm/Import/HFImporter.h"
#include "llm/JIT/JIT.h"

#include "Kernels.h"
#include "Model.h"
#include "SafeTensors.h"
#include "Scheduler.h"
#include "Session.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <random>

using namespace mlir::llm;
using namespace llmrt;
namespace cl = llvm::cl;

static cl::opt<std::string> modelDir(cl::Positional, cl::Required,
                                     cl::desc("<model folder>"));
static cl::opt<int> numRequests("serve-requests", cl::init(32),
                                cl::desc("Requests served"));
static cl::opt<int> batch("decode-batch", cl::init(8),
                          cl::desc("Decode batch (static batching's group)"));
static cl::opt<int> threads("num-threads", cl::init(0),
                            cl::desc("Threads (0: all cores)"));
static cl::opt<int> rounds("serve-rounds", cl::init(3),
                           cl::desc("Alternating rounds (medians)"));

namespace {

using Clock = std::chrono::steady_clock;

struct Outcome {
  double seconds = 0;
  int64_t tokens = 0;
  double meanLatency = 0;
  std::vector<std::vector<int64_t>> outputs;
};

/// Serves `requests` through `session`, `group` at a time (static) or all
/// through one scheduler (continuous).
Outcome serve(Session &session, const std::vector<SchedulerRequest> &requests,
              bool continuous, int64_t group) {
  Outcome outcome;
  outcome.outputs.resize(requests.size());
  std::vector<double> finished(requests.size(), 0);
  auto start = Clock::now();
  auto since = [&] {
    return std::chrono::duration<double>(Clock::now() - start).count();
  };
  SchedulerOptions options;
  options.chunkTokens = 256;
  auto drain = [&](Scheduler &scheduler, const std::vector<int64_t> &ids,
                   size_t offset) {
    std::vector<bool> seen(ids.size(), false);
    while (!scheduler.isIdle()) {
      Status status = scheduler.step();
      if (!status.isOk()) {
        llvm::errs() << "llm-serve-bench: " << status.message() << "\n";
        std::exit(1);
      }
      for (size_t i = 0; i < ids.size(); ++i)
        if (!seen[i] && scheduler.getResult(ids[i]).finished) {
          seen[i] = true;
          finished[offset + i] = since();
          outcome.outputs[offset + i] = scheduler.getResult(ids[i]).tokens;
        }
    }
  };
  if (continuous) {
    // As many running as the decode batch takes, the rest waiting.
    options.maxRunning = group;
    Scheduler scheduler(session, options);
    std::vector<int64_t> ids;
    for (const SchedulerRequest &request : requests)
      ids.push_back(scheduler.submit(request));
    drain(scheduler, ids, 0);
  } else {
    for (size_t first = 0; first < requests.size(); first += group) {
      options.maxRunning = group;
      Scheduler scheduler(session, options);
      std::vector<int64_t> ids;
      for (size_t i = first; i < std::min(requests.size(), first + group); ++i)
        ids.push_back(scheduler.submit(requests[i]));
      drain(scheduler, ids, first);
    }
  }
  outcome.seconds = since();
  for (size_t i = 0; i < requests.size(); ++i) {
    outcome.tokens += static_cast<int64_t>(outcome.outputs[i].size());
    outcome.meanLatency += finished[i] / requests.size();
  }
  return outcome;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

} // namespace

int main(int argc, char **argv) {
  cl::ParseCommandLineOptions(argc, argv,
                              "continuous against static batching\n");
  if (threads > 0)
    llmk_set_num_threads(threads);
  llvm::Expected<std::unique_ptr<HFModel>> hf = HFModel::open(modelDir);
  if (!hf) {
    llvm::errs() << llvm::toString(hf.takeError()) << "\n";
    return 1;
  }
  Expected<std::unique_ptr<SafeTensorsArchive>> weights =
      SafeTensorsArchive::openDirectory(modelDir.getValue());
  if (!weights) {
    llvm::errs() << weights.error() << "\n";
    return 1;
  }
  // Mixed lengths: prompts of 16-240 tokens, 16-128 new tokens; a third
  // share a 64-token system prompt.
  std::mt19937 rng(42);
  const int64_t vocab = (*hf)->getInfo().vocabSize;
  std::vector<int64_t> system;
  for (int i = 0; i < 64; ++i)
    system.push_back(3 + rng() % (vocab - 3));
  std::vector<SchedulerRequest> requests(numRequests);
  int64_t longest = 0;
  for (int r = 0; r < numRequests; ++r) {
    SchedulerRequest &request = requests[r];
    const int64_t length = 16 + rng() % 225;
    for (int64_t i = 0; i < length; ++i)
      request.prompt.push_back(r % 3 == 0 && i < 64 ? system[i]
                                                    : 3 + rng() % (vocab - 3));
    request.maxNewTokens = 16 + rng() % 113;
    request.ignoreStop = true;
    longest = std::max<int64_t>(longest, length + request.maxNewTokens);
  }
  JITOptions options;
  options.kvCache = true;
  options.promptLens = {16, 64, 256};
  options.decodeBatch = batch;
  options.maxSeqLen = (longest + 15) / 16 * 16;
  options.lastLogitsOnly = true;
  mlir::MLIRContext context;
  llvm::Expected<std::unique_ptr<Model>> model =
      compileModel(context, **hf, std::move(*weights), options);
  if (!model) {
    llvm::errs() << llvm::toString(model.takeError()) << "\n";
    return 1;
  }
  SessionOptions sessionOptions;
  sessionOptions.maxSequences = numRequests;
  Expected<std::unique_ptr<Session>> session =
      Session::create(**model, sessionOptions);
  if (!session) {
    llvm::errs() << session.error() << "\n";
    return 1;
  }
  std::vector<double> staticTput, staticLat, contTput, contLat;
  for (int round = 0; round < rounds; ++round) {
    Outcome s = serve(**session, requests, false, batch);
    Outcome c = serve(**session, requests, true, batch);
    if (s.outputs != c.outputs) {
      llvm::errs() << "llm-serve-bench: static and continuous batching "
                      "generated different tokens\n";
      return 1;
    }
    staticTput.push_back(s.tokens / s.seconds);
    staticLat.push_back(s.meanLatency);
    contTput.push_back(c.tokens / c.seconds);
    contLat.push_back(c.meanLatency);
    llvm::errs() << llvm::formatv(
        "round {0}: static {1:f1} tok/s, {2:f2} s mean latency; continuous "
        "{3:f1} tok/s, {4:f2} s\n",
        round + 1, staticTput.back(), staticLat.back(), contTput.back(),
        contLat.back());
  }
  llvm::outs() << llvm::formatv(
      "| batching | throughput (tokens/s) | mean latency (s) |\n|---|---|---|\n"
      "| static (groups of {0}) | {1:f1} | {2:f2} |\n"
      "| continuous | {3:f1} | {4:f2} |\n",
      batch.getValue(), median(staticTput), median(staticLat), median(contTput),
      median(contLat));
  return 0;
}
