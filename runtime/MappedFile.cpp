//===- MappedFile.cpp - A file's bytes, mapped read-only ------------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "MappedFile.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <new>
#include <system_error>

using namespace llmrt;

namespace {

Status formatError(std::string message) {
  return Status::error(ErrorCode::Format, std::move(message));
}
Status ioError(std::string message) {
  return Status::error(ErrorCode::Io, std::move(message));
}

/// The message of `err` (an errno value), as strerror words it.
std::string errnoMessage(int err) {
  return std::generic_category().message(err);
}

/// Closes a descriptor when it goes out of scope.
struct FileCloser {
  int fd;
  ~FileCloser() {
    if (fd >= 0)
      ::close(fd);
  }
};

} // namespace

MappedFile::~MappedFile() {
  if (mapped)
    ::munmap(const_cast<uint8_t *>(data), length);
  else
    delete[] data;
}

std::unique_ptr<MappedFile> MappedFile::copy(std::string_view source) {
  std::unique_ptr<MappedFile> bytes(new (std::nothrow) MappedFile());
  if (!bytes || source.empty())
    return bytes;
  uint8_t *owned = new (std::nothrow) uint8_t[source.size()];
  if (!owned)
    return nullptr;
  std::memcpy(owned, source.data(), source.size());
  bytes->data = owned;
  bytes->length = source.size();
  return bytes;
}

Expected<std::unique_ptr<MappedFile>>
MappedFile::map(const std::string &openPath, const std::string &displayName,
                uint64_t maxSize) {
  struct stat pathStatus;
  if (::stat(openPath.c_str(), &pathStatus) != 0)
    return ioError(displayName + ": cannot open: " + errnoMessage(errno));
  if (!S_ISREG(pathStatus.st_mode))
    return ioError(
        displayName + ": expected a regular file, found " +
        (S_ISDIR(pathStatus.st_mode) ? "a directory" : "a special file"));

  int fd;
  do
    fd = ::open(openPath.c_str(), O_RDONLY | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0)
    return ioError(displayName + ": cannot open: " + errnoMessage(errno));
  FileCloser closer{fd};

  // Re-check on the descriptor: the path may have changed since.
  struct stat status;
  if (::fstat(fd, &status) != 0)
    return ioError(displayName + ": cannot stat: " + errnoMessage(errno));
  if (!S_ISREG(status.st_mode))
    return ioError(displayName +
                   ": expected a regular file, found another kind");
  uint64_t size = static_cast<uint64_t>(status.st_size);
  if (maxSize && size > maxSize)
    return formatError(displayName + ": file is too large: expected at most " +
                       std::to_string(maxSize) + " bytes, found " +
                       std::to_string(size));
  if (size > std::numeric_limits<size_t>::max())
    return Status::error(ErrorCode::OutOfMemory,
                         displayName +
                             ": cannot read: file does not fit in memory");

  std::unique_ptr<MappedFile> bytes(new (std::nothrow) MappedFile());
  if (!bytes)
    return Status::error(ErrorCode::OutOfMemory,
                         displayName + ": cannot read: out of memory");
  if (size == 0) // mmap refuses empty mappings.
    return std::move(bytes);
  void *p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED) {
    int err = errno;
    return Status::error(err == ENOMEM ? ErrorCode::OutOfMemory : ErrorCode::Io,
                         displayName + ": cannot read: " + errnoMessage(err));
  }
  bytes->data = static_cast<const uint8_t *>(p);
  bytes->length = size;
  bytes->mapped = true;
  return std::move(bytes);
}
