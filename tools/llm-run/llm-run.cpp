//===- llm-run.cpp - Runs a model: logits, hidden states, generation ------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// llm-run MODEL --input-ids 1,2,3 [--decoder-input-ids ...]
//         [--dump-logits OUT.npy] [--dump-hidden OUT.npy]
//         [--max-new-tokens N --dump-ids FILE]
//
// MODEL is a Hugging Face folder (config.json + safetensors). The model is
// imported into the llm dialect, lowered by --llm-lower-to-cpu and compiled
// by the ORC JIT; the contract of --dump-logits/--dump-hidden/--dump-ids is
// used by tests outside the project and must not change.
//
//===----------------------------------------------------------------------===//

#include "llm/Import/HFImporter.h"
#include "llm/Import/SafeTensors.h"
#include "llm/JIT/CompiledModel.h"
#include "llm/dialects/LLM/IR/LLMDialect.h"
#include "llm/passes/Passes.h"

#include "Kernels.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>

using namespace mlir;
using namespace mlir::llm;

namespace cl = llvm::cl;

static cl::OptionCategory category("llm-run options");
static cl::opt<std::string> modelPath(cl::Positional, cl::desc("MODEL"),
                                      cl::Required, cl::cat(category));
static cl::opt<std::string>
    inputIds("input-ids", cl::desc("Prompt token ids, comma separated"),
             cl::cat(category));
static cl::opt<std::string> decoderInputIds(
    "decoder-input-ids",
    cl::desc("Decoder token ids of encoder-decoder models (default: the "
             "decoder start token)"),
    cl::cat(category));
static cl::opt<std::string> prompt("prompt", cl::desc("Prompt text"),
                                   cl::cat(category));
static cl::opt<std::string>
    dumpLogits("dump-logits",
               cl::desc("Write float32 logits [sequence, vocab] as .npy"),
               cl::cat(category));
static cl::opt<std::string> dumpHidden(
    "dump-hidden",
    cl::desc("Write the float32 last hidden state [sequence, hidden] as .npy"),
    cl::cat(category));
static cl::opt<int64_t> maxNewTokens("max-new-tokens",
                                     cl::desc("Greedy-generate N tokens"),
                                     cl::init(0), cl::cat(category));
static cl::opt<std::string>
    dumpIds("dump-ids",
            cl::desc("Write generated ids (prompt excluded), comma separated"),
            cl::cat(category));
static cl::opt<int> numThreads("num-threads",
                               cl::desc("Worker threads (0: one per core)"),
                               cl::init(0), cl::cat(category));

static int fail(const llvm::Twine &message) {
  llvm::errs() << "llm-run: error: " << message << "\n";
  return 1;
}

/// Parses "1, 2,3" into ids; the error names the flag and the bad item.
static llvm::Expected<std::vector<int64_t>> parseIds(llvm::StringRef flag,
                                                     llvm::StringRef text) {
  std::vector<int64_t> ids;
  llvm::SmallVector<llvm::StringRef> items;
  text.split(items, ',', -1, /*KeepEmpty=*/false);
  for (llvm::StringRef item : items) {
    item = item.trim();
    int64_t id;
    if (item.empty())
      continue;
    if (item.getAsInteger(10, id))
      return llvm::createStringError(
          llvm::formatv("--{0}: expected comma-separated integers, found "
                        "'{1}'",
                        flag, item));
    ids.push_back(id);
  }
  if (ids.empty())
    return llvm::createStringError(
        llvm::formatv("--{0}: expected at least one token id", flag));
  return ids;
}

/// Writes a float32 C-order .npy file.
static llvm::Error writeNpy(llvm::StringRef path, const float *data,
                            int64_t rows, int64_t cols) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec)
    return llvm::createStringError(
        llvm::formatv("{0}: cannot write: {1}", path, ec.message()));
  std::string header = llvm::formatv("{{'descr': '<f4', 'fortran_order': "
                                     "False, 'shape': ({0}, {1}), }",
                                     rows, cols);
  // Magic (6) + version (2) + length (2) + header + '\n' is a multiple of 64.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  os << "\x93NUMPY" << '\x01' << '\x00';
  os << static_cast<char>(header.size() & 0xff)
     << static_cast<char>(header.size() >> 8);
  os << header;
  os.write(reinterpret_cast<const char *>(data),
           static_cast<size_t>(rows * cols) * sizeof(float));
  os.close();
  if (os.has_error())
    return llvm::createStringError(
        llvm::formatv("{0}: write failed: {1}", path, os.error().message()));
  return llvm::Error::success();
}

namespace {
using Clock = std::chrono::steady_clock;
double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// A compiled forward pass for fixed sequence lengths, and its buffers.
struct Forward {
  std::unique_ptr<CompiledModel> model;
  const EntryPoint *entry = nullptr;
  std::vector<std::vector<int64_t>> intArgs;
  std::vector<float> output;
  double compileSeconds = 0;
};
} // namespace

static llvm::Expected<Forward> compile(MLIRContext &context,
                                       const HFModelInfo &info,
                                       const SafeTensorsArchive &archive,
                                       int64_t seqLen, int64_t decoderSeqLen) {
  auto start = Clock::now();
  HFImportOptions options;
  options.seqLen = seqLen;
  options.decoderSeqLen = decoderSeqLen;
  llvm::Expected<OwningOpRef<ModuleOp>> module =
      importHuggingFace(context, modelPath, archive, options);
  if (!module)
    return module.takeError();
  PassManager pm(&context);
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createLowerToCPUPass());
  if (failed(pm.run(**module)))
    return llvm::createStringError("lowering to the CPU failed (see the "
                                   "diagnostics above)");
  Forward forward;
  llvm::Expected<std::unique_ptr<CompiledModel>> model =
      CompiledModel::create(**module, archive);
  if (!model)
    return model.takeError();
  forward.model = std::move(*model);
  llvm::Expected<const EntryPoint *> entry = forward.model->lookup("forward");
  if (!entry)
    return entry.takeError();
  forward.entry = *entry;
  for (RankedTensorType t : forward.entry->argTypes)
    forward.intArgs.emplace_back(t.getNumElements(), 0);
  forward.output.resize(forward.entry->resultTypes[0].getNumElements());
  forward.compileSeconds = secondsSince(start);
  return std::move(forward);
}

/// Runs the forward pass; returns an error recorded by a kernel.
static llvm::Error run(Forward &forward) {
  std::vector<void *> args;
  for (auto &buffer : forward.intArgs)
    args.push_back(buffer.data());
  void *result = forward.output.data();
  forward.model->run(*forward.entry, args, {result});
  if (const char *error = llmk_take_error())
    return llvm::createStringError(llvm::formatv("kernel error: {0}", error));
  return llvm::Error::success();
}

static int64_t argmax(const float *row, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (row[i] > row[best])
      best = i;
  return best;
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv, "LLMC model runner\n");

  if (!prompt.empty())
    return fail("--prompt needs a tokenizer, which LLMC does not have yet; "
                "pass token ids with --input-ids");
  if (inputIds.empty())
    return fail("expected --input-ids (comma-separated token ids)");
  if (maxNewTokens < 0)
    return fail(llvm::formatv("--max-new-tokens: expected a value >= 0, "
                              "found {0}",
                              maxNewTokens.getValue()));
  if (!dumpIds.empty() && maxNewTokens == 0)
    return fail("--dump-ids needs --max-new-tokens N with N > 0");
  if (!llvm::sys::fs::is_directory(modelPath))
    return fail(llvm::formatv("{0}: expected a Hugging Face model folder "
                              "(config.json + *.safetensors)",
                              modelPath));

  llvm::Expected<HFModelInfo> info = readHFModelInfo(modelPath);
  if (!info)
    return fail(llvm::toString(info.takeError()));
  bool encoder = info->kind == HFModelInfo::Kind::Encoder;
  bool seq2seq = info->kind == HFModelInfo::Kind::EncoderDecoder;
  if (encoder && (maxNewTokens > 0 || !dumpLogits.empty()))
    return fail(llvm::formatv("'{0}' is an encoder: it has no logits and "
                              "cannot generate; use --dump-hidden",
                              info->modelType));
  if (!encoder && !dumpHidden.empty())
    return fail(llvm::formatv("--dump-hidden is for encoder models; '{0}' "
                              "produces logits (--dump-logits)",
                              info->modelType));
  if (!seq2seq && !decoderInputIds.empty())
    return fail("--decoder-input-ids is only for encoder-decoder models");

  llvm::Expected<std::vector<int64_t>> ids = parseIds("input-ids", inputIds);
  if (!ids)
    return fail(llvm::toString(ids.takeError()));
  std::vector<int64_t> decoderIds = {info->decoderStartTokenId};
  if (!decoderInputIds.empty()) {
    llvm::Expected<std::vector<int64_t>> parsed =
        parseIds("decoder-input-ids", decoderInputIds);
    if (!parsed)
      return fail(llvm::toString(parsed.takeError()));
    decoderIds = *parsed;
  }
  for (auto [flag, list] :
       {std::pair<llvm::StringRef, std::vector<int64_t> *>{"input-ids", &*ids},
        {"decoder-input-ids", &decoderIds}})
    for (int64_t id : *list)
      if (id < 0 || id >= info->vocabSize)
        return fail(llvm::formatv("--{0}: token id {1} is outside the "
                                  "vocabulary [0, {2})",
                                  flag, id, info->vocabSize));

  llvm::Expected<std::unique_ptr<SafeTensorsArchive>> archive =
      SafeTensorsArchive::openDirectory(modelPath);
  if (!archive)
    return fail(llvm::toString(archive.takeError()));
  llmk_set_num_threads(numThreads);

  MLIRContext context;
  context.loadDialect<LLMDialect, func::FuncDialect, arith::ArithDialect,
                      LLVM::LLVMDialect>();

  // Causal attention makes position i independent of later positions, so one
  // forward pass compiled for prompt + N tokens serves every generation
  // step: unused tail positions are computed but never read.
  int64_t promptLen = ids->size();
  int64_t seqLen = promptLen, decoderLen = decoderIds.size();
  if (seq2seq)
    decoderLen += maxNewTokens;
  else if (!encoder)
    seqLen += maxNewTokens;
  if (info->maxPositions && !seq2seq) {
    int64_t limit = info->maxPositions;
    if (promptLen > limit)
      return fail(llvm::formatv("the model supports {0} positions, the "
                                "prompt has {1} tokens",
                                limit, promptLen));
    if (seqLen > limit)
      return fail(llvm::formatv("the model supports {0} positions; the prompt "
                                "({1}) plus --max-new-tokens ({2}) exceeds it",
                                limit, promptLen, maxNewTokens.getValue()));
  }
  llvm::Expected<Forward> forward =
      compile(context, *info, **archive, seqLen, seq2seq ? decoderLen : 0);
  if (!forward)
    return fail(llvm::toString(forward.takeError()));
  llvm::outs() << llvm::formatv(
      "compiled {0} ({1}) in {2:f2} s: {3:f1} MB of weights mapped, {4:f1} MB "
      "packed\n",
      modelPath, info->modelType, forward->compileSeconds,
      forward->model->getMappedBytes() / 1e6,
      forward->model->getPackedBytes() / 1e6);

  // Inputs: ids (zero-padded), then positions or decoder ids.
  std::vector<int64_t> &idArg = forward->intArgs[0];
  std::copy(ids->begin(), ids->end(), idArg.begin());
  std::vector<int64_t> *tokens = &idArg;
  int64_t known = promptLen;
  if (seq2seq) {
    tokens = &forward->intArgs[1];
    std::copy(decoderIds.begin(), decoderIds.end(), tokens->begin());
    known = decoderIds.size();
  } else {
    // Positions past the known tokens stay at the offset, so that a
    // position-dependent rope scaling (dynamic NTK) sees the true length.
    std::vector<int64_t> &positions = forward->intArgs[1];
    std::fill(positions.begin(), positions.end(), info->positionOffset);
    for (int64_t i = 0; i < promptLen; ++i)
      positions[i] = info->positionOffset + i;
  }
  int64_t width = encoder ? info->hiddenSize : info->vocabSize;

  auto start = Clock::now();
  if (llvm::Error err = run(*forward))
    return fail(llvm::toString(std::move(err)));
  double firstSeconds = secondsSince(start);
  int64_t rows = seq2seq ? static_cast<int64_t>(decoderIds.size()) : promptLen;
  llvm::outs() << llvm::formatv("forward over {0} tokens: {1:f3} s\n",
                                seq2seq ? decoderLen : seqLen, firstSeconds);
  if (!dumpLogits.empty() || !dumpHidden.empty()) {
    if (llvm::Error err = writeNpy(encoder ? dumpHidden : dumpLogits,
                                   forward->output.data(), rows, width))
      return fail(llvm::toString(std::move(err)));
  }

  if (maxNewTokens > 0) {
    std::vector<int64_t> generated;
    auto genStart = Clock::now();
    for (int64_t step = 0; step < maxNewTokens; ++step) {
      if (step > 0)
        if (llvm::Error err = run(*forward))
          return fail(llvm::toString(std::move(err)));
      int64_t next =
          argmax(forward->output.data() + (known - 1) * width, width);
      generated.push_back(next);
      if (llvm::is_contained(info->eosTokenIds, next))
        break;
      if (!seq2seq)
        forward->intArgs[1][known] = info->positionOffset + known;
      (*tokens)[known++] = next;
    }
    double genSeconds = secondsSince(genStart);
    std::string text = llvm::join(
        llvm::map_range(generated,
                        [](int64_t id) { return std::to_string(id); }),
        ",");
    llvm::outs() << "generated: " << text << "\n";
    llvm::outs() << llvm::formatv("{0} tokens in {1:f3} s ({2:f1} tokens/s, "
                                  "full-sequence recompute per token)\n",
                                  generated.size(), genSeconds,
                                  generated.size() / genSeconds);
    if (!dumpIds.empty()) {
      std::error_code ec;
      llvm::raw_fd_ostream os(dumpIds, ec);
      if (ec)
        return fail(llvm::formatv("{0}: cannot write: {1}", dumpIds.getValue(),
                                  ec.message()));
      os << text << "\n";
    }
  }
  return 0;
}
