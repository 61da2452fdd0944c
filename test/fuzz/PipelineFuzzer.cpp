//===- PipelineFuzzer.cpp - libFuzzer target for the llm graph passes -----===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// The input is MLIR text (the llm dialect with func, arith, tensor, ...).
// The harness parses it (a parse failure is fine) and verifies it (an input
// that does not verify is skipped), then runs the passes one at a time, each
// in its own PassManager:
//   1. every pass of kPasses alone on a copy of the input (llm-lower-alibi,
//      llm-fuse-attention with two block sizes, llm-lower-rope,
//      llm-insert-kv-cache with three option sets, canonicalize, cse,
//      llm-lower-to-cpu);
//   2. the passes of buildCPUPipeline in its order, one after the other on
//      the same module, without and with the KV cache, up to the first that
//      fails.
//
// Invariant: a pass never crashes (no sanitizer report, no abort, no hang)
// on verified input, and a pass that succeeds never leaves IR that does not
// verify. The IR is verified after each pass by FuzzSupport.h's
// VerifyAfterEachPass rather than PassManager::enableVerifier(true), which
// would report a verifier failure as the pass failing, as if the pass had
// refused its input; a verifier failure after a successful pass is a finding
// and abort()s, printing the pass and the verifier's diagnostics. A pass
// failure (the pass refusing its input with a diagnostic) is accepted.
// Diagnostics are swallowed (QuietDiagnostics) and printed only with a
// finding. LLMC_FUZZ_VERBOSE=1 prints each pass's outcome.
//
// Reproduce a finding with llm-opt: the pass named in the report, e.g.
//   llm-opt --llm-insert-kv-cache="block-size=4 max-seq-len=10" crash.mlir
//
// Build and run (scripts/fuzz.sh does both; see test/fuzz/README.md):
//   cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Release \
//     -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
//     -DLLMC_SANITIZE="address;undefined" -DLLMC_BUILD_FUZZERS=ON
//   ninja -C build-fuzz pipeline-fuzzer
//   scripts/fuzz.sh pipeline 600
//
//===----------------------------------------------------------------------===//

#include "FuzzSupport.h"
#include "llm/Support/ToolSupport.h"

#include "llm/InitAll.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

using namespace mlir;

// LLVM's allocators poison memory from inline header code, instrumented here
// but not in the prebuilt libLLVM/libMLIR (see scripts/test.sh --sanitize);
// a huge request fails as in production. ASAN_OPTIONS still overrides these.
extern "C" const char *__asan_default_options() {
  return "allow_user_poisoning=0:allocator_may_return_null=1";
}

namespace {
/// Each pass alone, as llm-opt's --pass-pipeline spells it.
const char *const kPasses[] = {
    "llm-lower-alibi",
    "llm-fuse-attention",
    "llm-fuse-attention{block-q=1 block-kv=3}",
    "llm-lower-rope",
    "llm-insert-kv-cache",
    "llm-insert-kv-cache{block-size=4 max-seq-len=10 cache-dtype=f16 "
    "decode-batch=2}",
    "llm-insert-kv-cache{block-size=1 max-seq-len=3 cache-dtype=i8 "
    "decode-batch=1}",
    "canonicalize",
    "cse",
    "llm-lower-to-cpu",
};

/// buildCPUPipeline's order (lib/Pipelines/Pipelines.cpp), without and with
/// the KV cache.
const std::vector<std::vector<const char *>> kChains = {
    {"llm-lower-alibi", "llm-fuse-attention", "llm-lower-rope", "canonicalize",
     "cse", "llm-lower-to-cpu"},
    {"llm-lower-alibi", "llm-fuse-attention", "llm-lower-rope",
     "llm-insert-kv-cache{block-size=4 max-seq-len=16 cache-dtype=bf16 "
     "decode-batch=2}",
     "canonicalize", "cse", "llm-lower-to-cpu"},
};

struct Setup {
  DialectRegistry registry;
  Setup() {
    llm::registerAllPasses();
    llm::registerAllDialects(registry);
    // A typo in a pass spec would make every run vacuous: check them once.
    MLIRContext context(registry);
    std::vector<const char *> all(std::begin(kPasses), std::end(kPasses));
    for (const auto &chain : kChains)
      all.insert(all.end(), chain.begin(), chain.end());
    for (const char *spec : all) {
      PassManager pm(&context);
      if (failed(parsePassPipeline(spec, pm))) {
        llvm::errs() << "pipeline-fuzzer: bad pass spec '" << spec << "'\n";
        exit(1);
      }
    }
  }
};

/// Runs `spec` on `module`; aborts (VerifyAfterEachPass) when the pass
/// succeeds and leaves IR that does not verify. Returns whether it succeeded.
bool runPass(MLIRContext &context, llmc::fuzz::QuietDiagnostics &diags,
             ModuleOp module, const char *spec, const std::string &what) {
  PassManager pm(&context);
  pm.enableVerifier(false); // VerifyAfterEachPass does it and tells apart.
  pm.addInstrumentation(std::make_unique<llmc::fuzz::VerifyAfterEachPass>(
      diags,
      "--pass-pipeline='builtin.module(" + std::string(spec) + ")'" + what));
  if (failed(parsePassPipeline(spec, pm)))
    abort(); // Checked by Setup.
  bool ok = succeeded(pm.run(module));
  static const bool verbose =
      getenv("LLMC_FUZZ_VERBOSE") && *getenv("LLMC_FUZZ_VERBOSE") == '1';
  if (verbose)
    llvm::errs() << "  " << spec << what << ": " << (ok ? "ok" : "pass failure")
                 << "\n";
  if (verbose && !ok)
    diags.print(llvm::errs());
  return ok;
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static Setup setup;
  MLIRContext context(setup.registry);
  context.disableMultithreading();
  llmc::fuzz::QuietDiagnostics diags(context);

  // MLIR's lexer reads the NUL after the buffer (as in a file's
  // MemoryBuffer) to find its end: libFuzzer's bytes have none, a string
  // does.
  std::string text(reinterpret_cast<const char *>(data), size);
  // llm-opt refuses, before parsing, the lists MLIR 22's linalg parsers
  // crash on (llvm/Support/ToolSupport.h); so does this harness.
  if (llvm::Error err = llm::checkDenseArrayKeywords(text, "fuzz")) {
    llvm::consumeError(std::move(err));
    return 0;
  }
  ParserConfig config(&context, /*verifyAfterParse=*/false);
  OwningOpRef<ModuleOp> input = parseSourceString<ModuleOp>(text, config);
  if (!input || failed(verify(*input))) {
    if (getenv("LLMC_FUZZ_VERBOSE"))
      llvm::errs() << "not parsed or not verified\n";
    return 0;
  }

  for (const char *spec : kPasses) {
    OwningOpRef<ModuleOp> copy = input->clone();
    runPass(context, diags, *copy, spec, " alone on the input");
  }
  for (const auto &chain : kChains) {
    OwningOpRef<ModuleOp> copy = input->clone();
    std::string what = " in the chain";
    for (const char *spec : chain)
      what += std::string(" ") + spec;
    for (const char *spec : chain)
      if (!runPass(context, diags, *copy, spec, what))
        break;
  }
  return 0;
}
