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
  text.split(items, ',');
  bool allEmpty = llvm::all_of(
      items, [](llvm::StringRef item) { return item.trim().empty(); });
  for (auto [i, item] : llvm::enumerate(items)) {
    item = item.trim();
    if (allEmpty)
      break;
    // "1,,2" is a typo, not two ids.
    if (item.empty())
      return llvm::createStringError(llvm::formatv(
          "--{0}: expected comma-separated integers, found an empty item "
          "(item {1} of {2})",
          flag, i + 1, items.size()));
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
  return writeOutputFile(path, [&](llvm::raw_ostream &os) {
    std::string header = llvm::formatv("{{'descr': '<f4', 'fortran_order': "
                                       "False, 'shape': ({0}, {1}), }",
                                       rows, cols);
    // Magic (6) + version (2) + length (2) + header + '\n' is a multiple of
    // 64.
    header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
    header += '\n';
    os << "\x93NUMPY" << '\x01' << '\x00'
       << static_cast<char>(header.size() & 0xff)
       << static_cast<char>(header.size() >> 8) << header;
    os.write(reinterpret_cast<const char *>(data),
             static_cast<size_t>(rows * cols) * sizeof(float));
  });
}

int mlir::llm::finishStandardOutput(llvm::StringRef tool, int exitCode) {
  llvm::raw_fd_ostream &out = llvm::outs();
  out.flush();
  if (!out.has_error())
    return exitCode;
  std::string why = out.error().message();
  out.clear_error();
  llvm::errs() << tool << ": error: cannot write to standard output: " << why
               << "\n";
  return 1;
}

llvm::Error mlir::llm::writeOutputFile(
    llvm::StringRef path, llvm::function_ref<void(llvm::raw_ostream &)> write) {
  auto failure = [&](const llvm::Twine &why) {
    return llvm::createStringError(
        llvm::formatv("{0}: cannot write: {1}", path, why.str()));
  };
  // Writes through `os`; an unhandled stream error would be a fatal "IO
  // failure" in LLVM.
  auto writeAndClose = [&](llvm::raw_fd_ostream &os) -> std::string {
    write(os);
    os.close();
    if (!os.has_error())
      return "";
    std::string message = os.error().message();
    os.clear_error();
    return message;
  };
  // An existing output is replaced where it really is: a symlink's target
  // (the link stays), and a device or pipe (/dev/stdout, /dev/null) is
  // written to directly, never replaced by a file.
  llvm::SmallString<256> target(path);
  llvm::sys::fs::file_status status;
  if (!llvm::sys::fs::status(path, status) && llvm::sys::fs::exists(status)) {
    if (status.type() != llvm::sys::fs::file_type::regular_file) {
      std::error_code ec;
      llvm::raw_fd_ostream os(path, ec);
      if (ec)
        return failure(ec.message());
      std::string message = writeAndClose(os);
      return message.empty() ? llvm::Error::success() : failure(message);
    }
    if (std::error_code ec = llvm::sys::fs::real_path(path, target))
      return failure(ec.message());
  }
  // A regular file is written to a temporary beside it (the rename stays
  // within one file system) and renamed into place once complete.
  int fd;
  llvm::SmallString<256> temporary;
  if (std::error_code ec = llvm::sys::fs::createUniqueFile(
          target + ".tmp-%%%%%%%%", fd, temporary))
    return failure(ec.message());
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    std::string message = writeAndClose(os);
    if (!message.empty()) {
      llvm::sys::fs::remove(temporary);
      return failure(message);
    }
  }
  if (std::error_code ec = llvm::sys::fs::rename(temporary, target)) {
    llvm::sys::fs::remove(temporary);
    return failure(ec.message());
  }
  return llvm::Error::success();
}

llvm::Error mlir::llm::checkNotAnInput(llvm::StringRef flag,
                                       llvm::StringRef path,
                                       llvm::ArrayRef<std::string> inputs) {
  llvm::sys::fs::UniqueID output;
  if (path.empty() || llvm::sys::fs::getUniqueID(path, output))
    return llvm::Error::success(); // A new file.
  for (const std::string &input : inputs) {
    llvm::sys::fs::UniqueID id;
    if (!llvm::sys::fs::getUniqueID(input, id) && id == output)
      return llvm::createStringError(llvm::formatv(
          "--{0}: {1}: expected a file the run does not read, found the "
          "model's own '{2}'",
          flag, path, input));
  }
  return llvm::Error::success();
}

std::string mlir::llm::joinTokenIds(llvm::ArrayRef<int64_t> ids) {
  return llvm::join(
      llvm::map_range(ids, [](int64_t id) { return std::to_string(id); }), ",");
}

llvm::Error
mlir::llm::writeTokenIds(llvm::StringRef path,
                         const std::vector<std::vector<int64_t>> &lists) {
  return writeOutputFile(path, [&](llvm::raw_ostream &os) {
    for (const std::vector<int64_t> &ids : lists)
      os << joinTokenIds(ids) << "\n";
  });
}

llvm::Error mlir::llm::checkDenseArrayKeywords(llvm::StringRef text,
                                               llvm::StringRef name) {
  auto isWord = [](char c) { return llvm::isAlnum(c) || c == '_'; };
  // What MLIR's lexer skips: ' ', '\t', '\n', '\r' and // comments (not
  // '\v' or '\f', which it rejects).
  auto skipSpaces = [&](size_t i) {
    while (i < text.size()) {
      char c = text[i];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        ++i;
      } else if (text.substr(i, 2) == "//") {
        i = text.find('\n', i);
        if (i == llvm::StringRef::npos)
          return text.size();
      } else {
        break;
      }
    }
    return i;
  };
  auto error = [&](size_t at, llvm::StringRef keyword) {
    size_t line = 1 + text.take_front(at).count('\n');
    size_t lineStart = text.take_front(at).rfind('\n');
    size_t column =
        at - (lineStart == llvm::StringRef::npos ? 0 : lineStart + 1) + 1;
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        llvm::formatv("{0}:{1}:{2}: error: expected '{3} = [' integers "
                      "separated by ',' ']' (MLIR 22's linalg parsers "
                      "crash on anything else)",
                      name, line, column, keyword));
  };
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '"') { // a string: skip to its closing quote
      for (++i; i < text.size() && text[i] != '"'; ++i)
        if (text[i] == '\\')
          ++i;
      continue;
    }
    if (c == '/' && text.substr(i, 2) == "//") { // a comment
      i = text.find('\n', i);
      if (i == llvm::StringRef::npos)
        break;
      continue;
    }
    if (i > 0 && isWord(text[i - 1]))
      continue;
    for (llvm::StringRef keyword : {"permutation", "dimensions"}) {
      if (!text.substr(i).starts_with(keyword) ||
          (i + keyword.size() < text.size() &&
           isWord(text[i + keyword.size()])))
        continue;
      size_t at = skipSpaces(i + keyword.size());
      if (at >= text.size() || text[at] != '=')
        continue;
      at = skipSpaces(at + 1);
      llvm::StringRef rest = text.substr(at);
      if (rest.starts_with("array<") || rest.starts_with("dense<"))
        continue;
      if (rest.empty() || rest[0] != '[')
        return error(at, keyword);
      at = skipSpaces(at + 1);
      if (at < text.size() && text[at] == ']')
        continue; // empty: the parser reports what it expects
      while (true) {
        if (at < text.size() && text[at] == '-')
          ++at;
        size_t digits = at;
        while (at < text.size() && llvm::isDigit(text[at]))
          ++at;
        if (at == digits)
          return error(at, keyword);
        at = skipSpaces(at);
        if (at < text.size() && text[at] == ',') {
          at = skipSpaces(at + 1);
          continue;
        }
        if (at < text.size() && text[at] == ']')
          break;
        return error(at, keyword);
      }
    }
  }
  return llvm::Error::success();
}
