//===- ToolSupport.h - What LLMC's command-line tools share ----*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
// Flag parsing and output files of the drivers (llm-run, and the tools that
// follow it). Errors name the flag with its leading dashes, the expected and
// the found value.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_SUPPORT_TOOLSUPPORT_H
#define LLM_SUPPORT_TOOLSUPPORT_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mlir::llm {

/// Checks, before anything is computed, that `path` (the value of `flag`;
/// empty: not given) names a file that can be created: not a directory, in
/// an existing directory.
llvm::Error checkOutputPath(llvm::StringRef flag, llvm::StringRef path);

/// Parses "1, 2,3" into token ids; the error names the flag and the bad
/// item, or says that there is none.
llvm::Expected<std::vector<int64_t>> parseTokenIds(llvm::StringRef flag,
                                                   llvm::StringRef text);

/// "1,2,3": ids as --dump-ids writes them.
std::string joinTokenIds(llvm::ArrayRef<int64_t> ids);

/// Flushes llvm::outs() at the end of a tool: when writing it failed (a
/// full disk, a file size limit, a closed pipe), reports "<tool>: error:
/// cannot write to standard output: <why>" and returns 1, else `exitCode`.
/// Without it LLVM ends the process with "IO failure on output stream".
int finishStandardOutput(llvm::StringRef tool, int exitCode);

/// Writes `path` through a temporary file in its folder, renamed into place
/// once complete: a failed write (a full disk) leaves an existing file as it
/// was. An existing symlink's target is replaced (the link stays), and an
/// existing device or pipe (/dev/stdout) is written to directly. Errors read
/// "<path>: cannot write: <why>".
llvm::Error
writeOutputFile(llvm::StringRef path,
                llvm::function_ref<void(llvm::raw_ostream &)> write);

/// Refuses an output `path` (the value of `flag`) that is one of `inputs`
/// (the same file: device and inode, whatever the path), which the run has
/// open or memory-mapped: writing it would destroy the checkpoint under the
/// run's feet.
llvm::Error checkNotAnInput(llvm::StringRef flag, llvm::StringRef path,
                            llvm::ArrayRef<std::string> inputs);

/// Writes each list of ids on a line of `path`, as --dump-ids does.
llvm::Error writeTokenIds(llvm::StringRef path,
                          const std::vector<std::vector<int64_t>> &lists);

/// Writes `rows` x `cols` floats as a float32 C-order NumPy .npy file.
llvm::Error writeNpy(llvm::StringRef path, const float *data, int64_t rows,
                     int64_t cols);

/// MLIR 22's custom parsers of linalg.transpose, linalg.broadcast and
/// linalg.reduce crash when the integer list after `permutation =` or
/// `dimensions =` does not parse: they add the null attribute that the failed
/// parseDenseI64ArrayAttr returns, and NamedAttrList::set dereferences it
/// (found by test/fuzz's pipeline-fuzzer; stock mlir-opt crashes the same
/// way, test/fuzz/upstream/). Until LLMC builds against an MLIR with the
/// fix, MLIR text is checked for such a list before it is parsed:
/// "<name>:<line>:<column>: error: expected ..." for the first bad one.
/// Lists in attribute form (`array<i64: ...>`) and text in comments or
/// strings are left to the parser.
llvm::Error checkDenseArrayKeywords(llvm::StringRef text, llvm::StringRef name);

} // namespace mlir::llm

#endif // LLM_SUPPORT_TOOLSUPPORT_H
