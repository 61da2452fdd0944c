//===- NativeCode.cpp - Lowered modules as object files and libraries -----===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "llm/JIT/NativeCode.h"

#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"

#include <algorithm>
#include <cstdlib>
#include <vector>

using namespace mlir;
using namespace mlir::llm;

namespace {

llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// The JIT's target machine (the host's CPU and features), for a shared
/// object: position-independent code.
llvm::Expected<std::unique_ptr<llvm::TargetMachine>>
hostTargetMachine(unsigned optLevel) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  llvm::Expected<llvm::orc::JITTargetMachineBuilder> builder =
      llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!builder)
    return builder.takeError();
  builder->setRelocationModel(llvm::Reloc::PIC_);
  builder->setCodeGenOptLevel(
      static_cast<llvm::CodeGenOptLevel>(std::min(optLevel, 3u)));
  return builder->createTargetMachine();
}

} // namespace

HostCPU mlir::llm::getHostCPU() {
  HostCPU cpu;
  cpu.name = llvm::sys::getHostCPUName().str();
  std::vector<std::string> enabled;
  for (const llvm::StringMapEntry<bool> &feature :
       llvm::sys::getHostCPUFeatures())
    if (feature.getValue())
      enabled.push_back("+" + feature.getKey().str());
  std::sort(enabled.begin(), enabled.end());
  for (const std::string &feature : enabled)
    cpu.features += (cpu.features.empty() ? "" : ",") + feature;
  return cpu;
}

llvm::Expected<std::unique_ptr<llvm::Module>>
mlir::llm::translateToHostLLVMIR(ModuleOp lowered, llvm::LLVMContext &context,
                                 unsigned optLevel) {
  MLIRContext *mlirContext = lowered.getContext();
  registerBuiltinDialectTranslation(*mlirContext);
  registerLLVMDialectTranslation(*mlirContext);
  std::unique_ptr<llvm::Module> module =
      translateModuleToLLVMIR(lowered, context, "llmc");
  if (!module)
    return makeError("translating the lowered module to LLVM IR failed (see "
                     "the diagnostics above)");
  llvm::Expected<std::unique_ptr<llvm::TargetMachine>> machine =
      hostTargetMachine(optLevel);
  if (!machine)
    return machine.takeError();
  ExecutionEngine::setupTargetTripleAndDataLayout(module.get(), machine->get());
  if (llvm::Error err =
          makeOptimizingTransformer(optLevel, 0, nullptr)(module.get()))
    return std::move(err);
  return std::move(module);
}

llvm::Error mlir::llm::emitObjectFile(llvm::Module &module, unsigned optLevel,
                                      llvm::StringRef path) {
  llvm::Expected<std::unique_ptr<llvm::TargetMachine>> machine =
      hostTargetMachine(optLevel);
  if (!machine)
    return machine.takeError();
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec, llvm::sys::fs::OF_None);
  if (ec)
    return makeError(llvm::formatv("{0}: cannot write the object file: {1}",
                                   path, ec.message()));
  llvm::legacy::PassManager passes;
  if ((*machine)->addPassesToEmitFile(passes, os, nullptr,
                                      llvm::CodeGenFileType::ObjectFile))
    return makeError("the host's target machine cannot emit object files");
  passes.run(module);
  os.close();
  if (os.has_error()) {
    std::error_code error = os.error();
    // A stream destroyed with an unchecked error ends the process.
    os.clear_error();
    return makeError(llvm::formatv("{0}: cannot write the object file: {1}",
                                   path, error.message()));
  }
  return llvm::Error::success();
}

/// Runs the system's C compiler driver ($LLMC_LINKER, else cc, clang or
/// gcc) with `args`, which write `output`; its messages on failure.
static llvm::Error runDriver(const std::vector<std::string> &args,
                             llvm::StringRef output) {
  std::string driver;
  if (const char *chosen = std::getenv("LLMC_LINKER"); chosen && *chosen) {
    llvm::ErrorOr<std::string> found = llvm::sys::findProgramByName(chosen);
    if (!found)
      return makeError(llvm::formatv(
          "LLMC_LINKER: cannot find '{0}' (a C compiler driver that links "
          "shared objects, such as cc or clang)",
          chosen));
    driver = *found;
  } else if (llvm::sys::fs::can_execute(LLMC_DEFAULT_LINKER)) {
    // The C compiler LLMC was built with: the sanitizer runtimes of a
    // sanitized build, and nothing to find.
    driver = LLMC_DEFAULT_LINKER;
  } else {
    for (const char *name : {"cc", "clang", "clang-22", "gcc"})
      if (llvm::ErrorOr<std::string> found =
              llvm::sys::findProgramByName(name)) {
        driver = *found;
        break;
      }
    if (driver.empty())
      return makeError("linking the compiled code: expected a C compiler "
                       "driver on the PATH (cc, clang or gcc; or set "
                       "LLMC_LINKER), found none");
  }
  llvm::SmallString<128> log;
  if (std::error_code ec =
          llvm::sys::fs::createTemporaryFile("llmc-link", "log", log))
    return makeError("linking the compiled code: cannot create a log file: " +
                     ec.message());
  std::vector<llvm::StringRef> argv = {driver};
  for (const std::string &arg : args)
    argv.push_back(arg);
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, log.str(),
                                                log.str()};
  std::string message;
  int rc = llvm::sys::ExecuteAndWait(driver, argv, std::nullopt, redirects, 0,
                                     0, &message);
  std::string details;
  if (rc != 0)
    if (llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> text =
            llvm::MemoryBuffer::getFile(log))
      details = (*text)->getBuffer().trim().str();
  llvm::sys::fs::remove(log);
  if (rc != 0)
    return makeError(
        llvm::formatv("linking {0} with '{1}' failed (exit {2}){3}{4}", output,
                      driver, rc, message.empty() ? "" : ": " + message,
                      details.empty() ? "" : ":\n" + details));
  return llvm::Error::success();
}

llvm::Error mlir::llm::linkSharedLibrary(llvm::StringRef object,
                                         llvm::StringRef output) {
  return runDriver({"-shared", "-o", output.str(), object.str()}, output);
}

llvm::Error mlir::llm::linkExecutable(llvm::StringRef object,
                                      const std::vector<std::string> &inputs,
                                      llvm::StringRef output) {
  std::vector<std::string> args = {"-o", output.str(), object.str(),
                                   "-rdynamic"};
  args.insert(args.end(), inputs.begin(), inputs.end());
  return runDriver(args, output);
}

llvm::Error mlir::llm::emitSharedLibrary(ModuleOp lowered, unsigned optLevel,
                                         llvm::StringRef output) {
  llvm::LLVMContext context;
  llvm::Expected<std::unique_ptr<llvm::Module>> module =
      translateToHostLLVMIR(lowered, context, optLevel);
  if (!module)
    return module.takeError();
  std::string object = (output + ".o").str();
  if (llvm::Error err = emitObjectFile(**module, optLevel, object))
    return err;
  llvm::Error linked = linkSharedLibrary(object, output);
  llvm::sys::fs::remove(object);
  return linked;
}
