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
//===----------------------------------------------------------------------===//

#include "llm/InitAll.h"
#include "llm/Support/ToolSupport.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <csignal>
#include <string>

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
  std::unique_ptr<llvm::MemoryBuffer> input =
      mlir::openInputFile(inputFilename, &error);
  if (!input) {
    llvm::errs() << "llm-opt: error: " << error << "\n";
    return 1;
  }
  if (llvm::Error err = mlir::llm::checkDenseArrayKeywords(
          input->getBuffer(), input->getBufferIdentifier())) {
    llvm::errs() << llvm::toString(std::move(err)) << "\n";
    return 1;
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
