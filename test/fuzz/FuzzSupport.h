//===- FuzzSupport.h - What the MLIR-facing fuzz targets share ---*- C++
//-*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// Header-only helpers of config-fuzzer and pipeline-fuzzer: a diagnostic
// handler that keeps the first diagnostics quiet (to print them only with a
// finding), and a pass instrumentation that verifies the IR after every pass
// that succeeded and aborts when it does not verify.
//
// Why not PassManager::enableVerifier(true) alone: the pass manager reports
// a verifier failure after a pass as that pass failing, which the harnesses
// cannot tell from a pass that rightly refuses its input. So the pass
// managers run with the verifier off and this instrumentation runs it
// instead, after each successful pass (runAfterPass is called only then),
// with the same effect on valid runs and an abort() on the bug.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_TEST_FUZZ_FUZZSUPPORT_H
#define LLMC_TEST_FUZZ_FUZZSUPPORT_H

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Operation.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassInstrumentation.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>
#include <string>
#include <vector>

namespace llmc::fuzz {

/// Swallows every diagnostic of `context` (none reaches stderr) and keeps
/// the first few, to print with a finding.
class QuietDiagnostics {
public:
  explicit QuietDiagnostics(mlir::MLIRContext &context)
      : handler(&context, [this](mlir::Diagnostic &diag) {
          if (kept.size() < 8)
            kept.push_back(diag.str());
          return mlir::success();
        }) {}

  void clear() { kept.clear(); }
  void print(llvm::raw_ostream &os) const {
    for (const std::string &message : kept)
      os << "  diagnostic: " << message << "\n";
  }

private:
  std::vector<std::string> kept;
  mlir::ScopedDiagnosticHandler handler;
};

/// Verifies the IR after every pass that succeeded; a pass that leaves IR
/// which does not verify is a finding: print what happened, then abort().
class VerifyAfterEachPass : public mlir::PassInstrumentation {
public:
  /// `what` describes the run (the pipeline, the options) in the report.
  VerifyAfterEachPass(QuietDiagnostics &diagnostics, std::string what)
      : diagnostics(diagnostics), what(std::move(what)) {}

  void runBeforePass(mlir::Pass *, mlir::Operation *) override {
    diagnostics.clear();
  }
  void runAfterPass(mlir::Pass *pass, mlir::Operation *op) override {
    if (mlir::succeeded(mlir::verify(op)))
      return;
    llvm::errs() << "FINDING: pass '" << pass->getArgument()
                 << "' succeeded but left IR that does not verify (" << what
                 << ")\n";
    diagnostics.print(llvm::errs());
    llvm::errs().flush();
    abort();
  }

private:
  QuietDiagnostics &diagnostics;
  std::string what;
};

} // namespace llmc::fuzz

#endif // LLMC_TEST_FUZZ_FUZZSUPPORT_H
