//===- ONNXFuzzer.cpp - libFuzzer target for the ONNX importer ------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// Feeds arbitrary bytes to mlir::llm::importONNXBuffer at a prompt of 4
// tokens. Whatever the input, the importer must return a module or an
// error (no crash, no sanitizer report, no unbounded allocation: folded
// values are bounded). A module it returns has verified, and it must name
// the model's kind and hold a function.
//
// Build and run: configure with -DLLMC_BUILD_FUZZERS=ON and build
// onnx-fuzzer (scripts/fuzz.sh), then
//   ./onnx-fuzzer -max_total_time=60 corpus/ test/fuzz/corpus/onnx
//
//===----------------------------------------------------------------------===//

#include "llm/Import/ONNXImporter.h"
#include "llm/InitAll.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static mlir::DialectRegistry *registry = [] {
    auto *r = new mlir::DialectRegistry();
    mlir::llm::registerAllDialects(*r);
    return r;
  }();
  mlir::MLIRContext context(*registry);
  context.disableMultithreading();
  mlir::llm::ONNXImportOptions options;
  options.seqLen = 4;
  llvm::Expected<mlir::llm::ONNXModel> imported = mlir::llm::importONNXBuffer(
      context, llvm::StringRef(reinterpret_cast<const char *>(data), size),
      "/nonexistent/fuzz.onnx", options);
  if (!imported) {
    llvm::consumeError(imported.takeError());
    return 0;
  }
  if (!imported->module || imported->module->getBody()->empty() ||
      imported->info.type != "onnx")
    abort();
  return 0;
}
