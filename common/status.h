// Status and Result<T>: how errors cross module boundaries in resyncwatch.
// A Status is a code plus one human-readable line; Result<T> holds a value or a Status.
// Both are plain values: cheap to move, safe to pass between threads, never thrown.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace resyncwatch {

class Status {
 public:
  enum class Code { kOk, kInvalidArgument, kNotFound, kCorruption, kIoError, kUnsupported, kBusy };

  Status() = default;
  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string msg) {
    return {Code::kInvalidArgument, std::move(msg)};
  }
  static Status NotFound(std::string msg) { return {Code::kNotFound, std::move(msg)}; }
  static Status Corruption(std::string msg) { return {Code::kCorruption, std::move(msg)}; }
  static Status IoError(std::string msg) { return {Code::kIoError, std::move(msg)}; }
  static Status Unsupported(std::string msg) { return {Code::kUnsupported, std::move(msg)}; }
  static Status Busy(std::string msg) { return {Code::kBusy, std::move(msg)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }
  const std::string& message() const { return message_; }
  // "invalid argument: <message>", for the one line a CLI prints.
  std::string ToString() const;
  // The same code with another message (to reword or escape an error passed on).
  Status WithMessage(std::string msg) const { return Status(code_, std::move(msg)); }

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

inline std::string Status::ToString() const {
  std::string_view prefix;
  switch (code_) {
    case Code::kOk:
      return "ok";
    case Code::kInvalidArgument:
      prefix = "invalid argument";
      break;
    case Code::kNotFound:
      prefix = "not found";
      break;
    case Code::kCorruption:
      prefix = "corruption";
      break;
    case Code::kIoError:
      prefix = "I/O error";
      break;
    case Code::kUnsupported:
      prefix = "unsupported";
      break;
    case Code::kBusy:
      prefix = "busy";
      break;
  }
  return std::string(prefix) + ": " + message_;
}

// A value or the Status that explains why there is none. REQUIRES: a Result made
// from a Status carries a non-ok Status.
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace resyncwatch
