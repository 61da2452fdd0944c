//===- ToolSupport.cpp - What LLMC's command-line tools share -------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "llm/Support/ToolSupport.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

llvm::Error mlir::llm::checkOutputPath(llvm::StringRef flag,
                                       llvm::StringRef path) {
  llvm::StringRef dir = llvm::sys::path::parent_path(path);
  if (llvm::sys::fs::is_directory(path))
    return llvm::createStringError(llvm::formatv(
        "--{0}: expected a file path, found the directory '{1}'", flag, path));
  if (!path.empty() && !dir.empty() && !llvm::sys::fs::is_directory(dir))
    return llvm::createStringError(llvm::formatv(
        "--{0}: {1}: expected an existing directory '{2}', found {3}", flag,
        path, dir, llvm::sys::fs::exists(dir) ? "a file" : "nothing"));
  return llvm::Error::success();
}

llvm::Expected<std::vector<int64_t>>
mlir::llm::parseTokenIds(llvm::StringRef flag, llvm::StringRef text) {
  std::vector<int64_t> ids;
  llvm::SmallVector<llvm::StringRef> items;
  text.split(items, ',', -1, /*KeepEmpty=*/false);
  for (llvm::StringRef item : items) {
    item = item.trim();
    if (item.empty())
      continue;
    if (item.getAsInteger(10, ids.emplace_back()))
      return llvm::createStringError(llvm::formatv(
          "--{0}: expected comma-separated integers, found '{1}'", flag, item));
  }
  if (ids.empty())
    return llvm::createStringError(
        llvm::formatv("--{0}: expected at least one token id", flag));
  return ids;
}

llvm::Error mlir::llm::writeNpy(llvm::StringRef path, const float *data,
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
  header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  os << "\x93NUMPY" << '\x01' << '\x00'
     << static_cast<char>(header.size() & 0xff)
     << static_cast<char>(header.size() >> 8) << header;
  os.write(reinterpret_cast<const char *>(data),
           static_cast<size_t>(rows * cols) * sizeof(float));
  os.close();
  if (os.has_error())
    return llvm::createStringError(
        llvm::formatv("{0}: write failed: {1}", path, os.error().message()));
  return llvm::Error::success();
}

std::string mlir::llm::joinTokenIds(llvm::ArrayRef<int64_t> ids) {
  return llvm::join(
      llvm::map_range(ids, [](int64_t id) { return std::to_string(id); }), ",");
}

llvm::Error
mlir::llm::writeTokenIds(llvm::StringRef path,
                         const std::vector<std::vector<int64_t>> &lists) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec)
    return llvm::createStringError(
        llvm::formatv("{0}: cannot write: {1}", path, ec.message()));
  for (const std::vector<int64_t> &ids : lists)
    os << joinTokenIds(ids) << "\n";
  os.close();
  if (os.has_error())
    return llvm::createStringError(
        llvm::formatv("{0}: write failed: {1}", path, os.error().message()));
  return llvm::Error::success();
}
