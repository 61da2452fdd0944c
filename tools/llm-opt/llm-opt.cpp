//===- llm-opt.cpp - Runs pass pipelines on llm dialect IR ----------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "llm/InitAll.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::llm::registerAllPasses();
  mlir::DialectRegistry registry;
  mlir::llm::registerAllDialects(registry);
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "LLMC optimizer driver\n", registry));
}
