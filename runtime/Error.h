//===- Error.h - Errors as values in the runtime ----------------*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
// The runtime reports every failure as a value: a `Status` (a code and a
// readable message that names the file, the field, and the expected and
// found values) or an `Expected<T>` (a T or a failed Status). Nothing in the
// runtime throws on bad input or aborts; the C API (include/llm-c/Runtime.h)
// turns a Status into an `llmrt_status` code and a message. No MLIR or LLVM:
// this is llvm::Error's role for code that links neither.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_RUNTIME_ERROR_H
#define LLM_RUNTIME_ERROR_H

#include <optional>
#include <string>
#include <utility>

namespace llmrt {

/// What kind of failure a Status is; the C API's `llmrt_status` codes have
/// the same values.
enum class ErrorCode {
  Ok = 0,
  /// A parameter or an input of the caller is invalid.
  InvalidArgument = 1,
  /// A file is missing, unreadable or not what it should be.
  Io = 2,
  /// A file's contents are malformed (safetensors, manifest, JSON).
  Format = 3,
  /// An allocation failed or a size would exceed the address space.
  OutOfMemory = 4,
  /// The paged KV cache has no free block left.
  CacheFull = 5,
  /// A kernel recorded an error (an id outside the vocabulary, ...).
  Kernel = 6,
  /// The model or the request needs something this build does not support.
  Unsupported = 7,
  /// A bug in LLMC: an invariant the runtime relies on does not hold.
  Internal = 8,
};

/// Success, or a failure with a code and a message.
class [[nodiscard]] Status {
public:
  Status() = default;
  static Status ok() { return Status(); }
  static Status error(ErrorCode code, std::string message) {
    Status s;
    s.code_ = code == ErrorCode::Ok ? ErrorCode::Internal : code;
    s.message_ = std::move(message);
    return s;
  }
  /// An InvalidArgument failure.
  static Status invalid(std::string message) {
    return error(ErrorCode::InvalidArgument, std::move(message));
  }

  bool isOk() const { return code_ == ErrorCode::Ok; }
  ErrorCode code() const { return code_; }
  /// "" on success.
  const std::string &message() const { return message_; }

private:
  ErrorCode code_ = ErrorCode::Ok;
  std::string message_;
};

/// A value of type T, or the Status that says why there is none.
template <typename T> class [[nodiscard]] Expected {
public:
  Expected(T value) : value_(std::move(value)) {}
  /// `status` must be a failure.
  Expected(Status status) : status_(std::move(status)) {
    if (status_.isOk())
      status_ = Status::error(ErrorCode::Internal,
                              "internal error: Expected built from success");
  }

  bool hasValue() const { return value_.has_value(); }
  explicit operator bool() const { return hasValue(); }
  T &operator*() { return *value_; }
  const T &operator*() const { return *value_; }
  T *operator->() { return &*value_; }
  const T *operator->() const { return &*value_; }
  /// Success when there is a value.
  const Status &status() const { return status_; }
  Status takeStatus() { return std::move(status_); }
  const std::string &error() const { return status_.message(); }

private:
  std::optional<T> value_;
  Status status_;
};

} // namespace llmrt

#endif // LLM_RUNTIME_ERROR_H
