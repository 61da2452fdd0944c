//===- llm-opt.cpp - Runs pass pipelines on llm dialect IR ----------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// mlir-opt's driver, with LLMC's output handling: the output file is
// written only when the run succeeds, through a temporary renamed into
// place (a failed run or a full disk leaves an existing file as it was), and
// a write error names the file instead of ending in LLVM's "IO failure on
// output stream".
//
// The input may also be a model: a Hugging Face folder (config.json +
// safetensors) or a GGUF file, imported into the llm dialect as llm-run
// imports it (--import-seq-len and the other --import-* options give the
// static shapes) before the passes run.
//
//===----------------------------------------------------------------------===//

#include "llm/Import/GGUFImporter.h"
#include "llm/Import/HFImporter.h"
#include "llm/Import/ONNXImporter.h"
#include "llm/InitAll.h"
#include "llm/Support/ToolSupport.h"

#include "SafeTensors.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <csignal>
#include <string>

namespace {

llvm::cl::OptionCategory importCategory(
    "Model import (the input is a Hugging Face folder, a .gguf or a .onnx "
    "file)");
llvm::cl::opt<int64_t> importSeqLen(
    "import-seq-len",
    llvm::cl::desc("Tokens per sequence of the imported model (the "
                   "encoder's for an encoder-decoder)"),
    llvm::cl::init(16), llvm::cl::cat(importCategory));
llvm::cl::opt<int64_t> importDecoderSeqLen(
    "import-decoder-seq-len",
    llvm::cl::desc("Decoder tokens of an imported encoder-decoder"),
    llvm::cl::init(1), llvm::cl::cat(importCategory));
llvm::cl::opt<int64_t>
    importBatch("import-batch",
                llvm::cl::desc("Sequences per call of an imported model"),
                llvm::cl::init(1), llvm::cl::cat(importCategory));
llvm::cl::opt<bool> importDecomposeAttention(
    "import-decompose-attention",
    llvm::cl::desc("Import attention op by op, as exported graphs spell it "
                   "(for --llm-fuse-attention to raise)"),
    llvm::cl::cat(importCategory));
llvm::cl::opt<bool> onnxStats(
    "onnx-stats",
    llvm::cl::desc("After importing a .onnx file, print to stderr how much "
                   "of the graph was folded and raised into llm ops"),
    llvm::cl::cat(importCategory));
llvm::cl::opt<bool> importGGUFPackedCodes(
    "gguf-packed-codes",
    llvm::cl::desc("Import a GGUF file's 5- and 6-bit codes in the kernels' "
                   "5- and 6-bit layouts"),
    llvm::cl::cat(importCategory));

/// The model at `path` (a folder or a .gguf file) in the llm dialect, as
/// text, or an error naming the path.
llvm::Expected<std::string> importModel(llvm::StringRef path,
                                        mlir::DialectRegistry &registry) {
  using namespace mlir::llm;
  for (auto [flag, value] :
       {std::pair<const char *, int64_t>{"--import-seq-len", importSeqLen},
        {"--import-decoder-seq-len", importDecoderSeqLen},
        {"--import-batch", importBatch}})
    if (value < 1)
      return llvm::createStringError(llvm::formatv(
          "{0}: expected a positive number, found {1}", flag, value));
  if (isONNXPath(path)) {
    mlir::MLIRContext context(registry);
    context.loadAllAvailableDialects();
    ONNXImportOptions options;
    options.seqLen = importSeqLen;
    options.decoderSeqLen = importDecoderSeqLen;
    options.batch = importBatch;
    llvm::Expected<ONNXModel> imported = importONNX(context, path, options);
    if (!imported)
      return imported.takeError();
    if (onnxStats)
      llvm::errs() << formatONNXStats(imported->stats);
    std::string text;
    llvm::raw_string_ostream os(text);
    imported->module->print(os);
    return text;
  }
  if (onnxStats)
    return llvm::createStringError(llvm::formatv(
        "--onnx-stats: expected a .onnx file, found '{0}'", path));
  std::unique_ptr<HFModel> model;
  std::shared_ptr<const llmrt::SafeTensorsArchive> weights;
  if (isGGUFPath(path)) {
    llvm::Expected<GGUFModel> opened = openGGUF(path);
    if (!opened)
      return opened.takeError();
    for (const std::string &note : opened->notes)
      llvm::errs() << "llm-opt: note: " << note << "\n";
    model = std::move(opened->model);
    model->setGGMLPackedCodes(importGGUFPackedCodes);
    weights = std::move(opened->weights);
  } else {
    if (importGGUFPackedCodes)
      return llvm::createStringError(llvm::formatv(
          "--gguf-packed-codes: expected a GGUF file (MODEL.gguf), found "
          "the folder '{0}'",
          path));
    llvm::Expected<std::unique_ptr<HFModel>> opened = HFModel::open(path);
    if (!opened)
      return opened.takeError();
    model = std::move(*opened);
    llmrt::Expected<std::unique_ptr<llmrt::SafeTensorsArchive>> archive =
        llmrt::SafeTensorsArchive::openDirectory(path.str());
    if (!archive)
      return llvm::createStringError(archive.error());
    weights = std::move(*archive);
  }
  mlir::MLIRContext context(registry);
  context.loadAllAvailableDialects();
  HFImportOptions options;
  options.seqLen = importSeqLen;
  options.decoderSeqLen = importDecoderSeqLen;
  options.batch = importBatch;
  options.decomposeAttention = importDecomposeAttention;
  llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>> module =
      model->import(context, *weights, options);
  if (!module)
    return module.takeError();
  std::string text;
  llvm::raw_string_ostream os(text);
  (*module)->print(os);
  return text;
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  // Past a file size limit a write fails and is reported (LLVM's handler
  // would turn SIGXFSZ into a crash report).
  ::signal(SIGXFSZ, SIG_IGN);
  mlir::llm::registerAllPasses();
  mlir::DialectRegistry registry;
  mlir::llm::registerAllDialects(registry);
  auto [inputFilename, outputFilename] = mlir::registerAndParseCLIOptions(
      argc, argv, "LLMC optimizer driver\n", registry);
  mlir::MlirOptMainConfig config =
      mlir::MlirOptMainConfig::createFromCLOptions();

  std::string error;
  std::unique_ptr<llvm::MemoryBuffer> input;
  if (llvm::sys::fs::is_directory(inputFilename) ||
      mlir::llm::isGGUFPath(inputFilename) ||
      mlir::llm::isONNXPath(inputFilename)) {
    llvm::Expected<std::string> text = importModel(inputFilename, registry);
    if (!text) {
      llvm::errs() << "llm-opt: error: " << llvm::toString(text.takeError())
                   << "\n";
      return 1;
    }
    input = llvm::MemoryBuffer::getMemBufferCopy(*text, inputFilename);
  } else {
    input = mlir::openInputFile(inputFilename, &error);
    if (!input) {
      llvm::errs() << "llm-opt: error: " << error << "\n";
      return 1;
    }
    if (llvm::Error err = mlir::llm::checkDenseArrayKeywords(
            input->getBuffer(), input->getBufferIdentifier())) {
      llvm::errs() << llvm::toString(std::move(err)) << "\n";
      return 1;
    }
  }
  std::string text;
  llvm::raw_string_ostream os(text);
  bool ok = mlir::succeeded(
      mlir::MlirOptMain(os, std::move(input), registry, config));
  if (outputFilename == "-") {
    // As mlir-opt: what was printed before a failure is shown too.
    llvm::outs() << text;
    return mlir::llm::finishStandardOutput("llm-opt", ok ? 0 : 1);
  }
  if (!ok)
    return 1;
  if (llvm::Error err = mlir::llm::writeOutputFile(
          outputFilename, [&](llvm::raw_ostream &out) { out << text; })) {
    llvm::errs() << "llm-opt: error: " << llvm::toString(std::move(err))
                 << "\n";
    return 1;
  }
  return mlir::llm::finishStandardOutput("llm-opt", 0);
}
