//===- InitAll.cpp - Registers LLMC's dialects, passes, pipelines ---------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "llm/InitAll.h"
#include "llm/Pipelines/Pipelines.h"
#include "llm/codegen/CPU/Passes.h"
#include "llm/codegen/CUDA/Passes.h"
#include "llm/dialects/LLM/IR/LLMDialect.h"
#include "llm/passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Transforms/Passes.h"

void mlir::llm::registerAllDialects(DialectRegistry &registry) {
  registry.insert<LLMDialect, arith::ArithDialect,
                  bufferization::BufferizationDialect, func::FuncDialect,
                  LLVM::LLVMDialect, linalg::LinalgDialect, math::MathDialect,
                  memref::MemRefDialect, scf::SCFDialect, tensor::TensorDialect,
                  vector::VectorDialect>();
}

void mlir::llm::registerAllPasses() {
  registerTransformsPasses();
  registerLLMPasses();
  registerLLMCodegenCPUPasses();
  registerLLMCodegenCUDAPasses();
  registerLLMPipelines();
}
