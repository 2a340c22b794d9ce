// weft::fallback: Status and StatusOr<T> for builds without Abseil (Windows through mingw-w64,
// where Debian has no Abseil). The same names, codes and calls as absl::Status / absl::StatusOr
// that the runtime and its tests use, so one source builds against either; weft/status.hpp picks
// which one `weft::Status` is. Tested on Linux too (tests/runtime/status_fallback_test.cpp).
//
// Only what the runtime needs: a code, a message, ok(), ToString(), printing, equality, and a
// StatusOr that holds a value or a non-OK Status (value() on an error aborts, as Abseil's does
// with exceptions off).
#pragma once

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace weft::fallback {

// Abseil's canonical codes, with Abseil's numbers.
enum class StatusCode : int {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
  kUnauthenticated = 16,
};

inline std::string_view StatusCodeToString(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "OK";
    case StatusCode::kCancelled: return "CANCELLED";
    case StatusCode::kUnknown: return "UNKNOWN";
    case StatusCode::kInvalidArgument: return "INVALID_ARGUMENT";
    case StatusCode::kDeadlineExceeded: return "DEADLINE_EXCEEDED";
    case StatusCode::kNotFound: return "NOT_FOUND";
    case StatusCode::kAlreadyExists: return "ALREADY_EXISTS";
    case StatusCode::kPermissionDenied: return "PERMISSION_DENIED";
    case StatusCode::kResourceExhausted: return "RESOURCE_EXHAUSTED";
    case StatusCode::kFailedPrecondition: return "FAILED_PRECONDITION";
    case StatusCode::kAborted: return "ABORTED";
    case StatusCode::kOutOfRange: return "OUT_OF_RANGE";
    case StatusCode::kUnimplemented: return "UNIMPLEMENTED";
    case StatusCode::kInternal: return "INTERNAL";
    case StatusCode::kUnavailable: return "UNAVAILABLE";
    case StatusCode::kDataLoss: return "DATA_LOSS";
    case StatusCode::kUnauthenticated: return "UNAUTHENTICATED";
  }
  return "UNKNOWN";
}

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string_view message)
      : code_(code), message_(code == StatusCode::kOk ? std::string() : std::string(message)) {}

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  std::string_view message() const { return message_; }
  // "CODE: message", or "OK" (Abseil's format).
  std::string ToString() const {
    if (ok()) return "OK";
    return std::string(StatusCodeToString(code_)) + ": " + message_;
  }
  void IgnoreError() const {}
  // Keeps the first error: an OK status becomes `other`, an error stays (Abseil's Update).
  void Update(const Status& other) {
    if (ok() && !other.ok()) *this = other;
  }

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }
  friend std::ostream& operator<<(std::ostream& os, const Status& s) { return os << s.ToString(); }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status OkStatus() { return Status(); }

#define WEFT_FALLBACK_STATUS_KIND(Name)                                                     \
  inline Status Name##Error(std::string_view message) {                                     \
    return Status(StatusCode::k##Name, message);                                            \
  }                                                                                         \
  inline bool Is##Name(const Status& s) { return s.code() == StatusCode::k##Name; }
WEFT_FALLBACK_STATUS_KIND(Cancelled)
WEFT_FALLBACK_STATUS_KIND(Unknown)
WEFT_FALLBACK_STATUS_KIND(InvalidArgument)
WEFT_FALLBACK_STATUS_KIND(DeadlineExceeded)
WEFT_FALLBACK_STATUS_KIND(NotFound)
WEFT_FALLBACK_STATUS_KIND(AlreadyExists)
WEFT_FALLBACK_STATUS_KIND(PermissionDenied)
WEFT_FALLBACK_STATUS_KIND(ResourceExhausted)
WEFT_FALLBACK_STATUS_KIND(FailedPrecondition)
WEFT_FALLBACK_STATUS_KIND(Aborted)
WEFT_FALLBACK_STATUS_KIND(OutOfRange)
WEFT_FALLBACK_STATUS_KIND(Unimplemented)
WEFT_FALLBACK_STATUS_KIND(Internal)
WEFT_FALLBACK_STATUS_KIND(Unavailable)
WEFT_FALLBACK_STATUS_KIND(DataLoss)
WEFT_FALLBACK_STATUS_KIND(Unauthenticated)
#undef WEFT_FALLBACK_STATUS_KIND

// The code Abseil gives an errno value (absl::ErrnoToStatusCode), for the errors sockets and
// threads report; anything else is kUnknown.
inline StatusCode ErrnoToStatusCode(int err) {
  switch (err) {
    case 0: return StatusCode::kOk;
    case EINVAL: case ENAMETOOLONG: case E2BIG: case EDESTADDRREQ: case EDOM: case EFAULT:
    case EILSEQ: case ENOPROTOOPT: case ENOTSOCK: case ENOTTY: case EPROTOTYPE: case ESPIPE:
      return StatusCode::kInvalidArgument;
    case ETIMEDOUT: return StatusCode::kDeadlineExceeded;
    case ENODEV: case ENOENT: case ENXIO: case ESRCH: return StatusCode::kNotFound;
    case EEXIST: case EADDRNOTAVAIL: case EALREADY: return StatusCode::kAlreadyExists;
    case EPERM: case EACCES: case EROFS: return StatusCode::kPermissionDenied;
    case ENOTEMPTY: case EISDIR: case ENOTDIR: case EADDRINUSE: case EBADF: case EBUSY:
    case ECHILD: case EISCONN: case ENOTCONN: case EPIPE: case ETXTBSY:
      return StatusCode::kFailedPrecondition;
    case ENOSPC: case EMFILE: case EMLINK: case ENFILE: case ENOBUFS: case ENOMEM:
      return StatusCode::kResourceExhausted;
    case EFBIG: case EOVERFLOW: case ERANGE: return StatusCode::kOutOfRange;
    case ENOSYS: case ENOTSUP: case EAFNOSUPPORT: case EPROTONOSUPPORT: case EXDEV:
      return StatusCode::kUnimplemented;
    case EAGAIN: case ECONNREFUSED: case ECONNABORTED: case ECONNRESET: case EINTR:
    case EHOSTUNREACH: case ENETDOWN: case ENETRESET: case ENETUNREACH: case ENOLCK:
    case ENOLINK:
      return StatusCode::kUnavailable;
    case EDEADLK: return StatusCode::kAborted;
    case ECANCELED: return StatusCode::kCancelled;
    default: return StatusCode::kUnknown;
  }
}

template <class T>
class [[nodiscard]] StatusOr {
  static constexpr bool kOfStatus = std::is_same_v<std::remove_cv_t<T>, Status>;

 public:
  using value_type = T;

  // A value, or a non-OK status (an OK one becomes kInternal, as in Abseil). A StatusOr<Status>
  // (weft::timeout of a Task<Status>) takes any Status as its value: DeadlineExceeded from the
  // timeout and the task's own error read alike through *r.
  template <class U = T,
            std::enable_if_t<std::is_constructible_v<T, U&&> &&
                                 !std::is_same_v<std::remove_cvref_t<U>, StatusOr> &&
                                 (kOfStatus || !std::is_same_v<std::remove_cvref_t<U>, Status>),
                             int> = 0>
  StatusOr(U&& value) : v_(std::in_place_index<1>, std::forward<U>(value)) {}  // NOLINT
  template <class S = Status, std::enable_if_t<!kOfStatus && std::is_same_v<S, Status>, int> = 0>
  StatusOr(const S& status) : v_(std::in_place_index<0>, checked(status)) {}  // NOLINT
  template <class S = Status, std::enable_if_t<!kOfStatus && std::is_same_v<S, Status>, int> = 0>
  StatusOr(S&& status) : v_(std::in_place_index<0>, checked(std::move(status))) {}  // NOLINT
  // From a StatusOr of a convertible type (StatusOr<unique_ptr<Derived>> -> <unique_ptr<Base>>).
  template <class U, std::enable_if_t<!std::is_same_v<U, T> && std::is_constructible_v<T, U&&>,
                                      int> = 0>
  StatusOr(StatusOr<U>&& other)  // NOLINT
      : v_(std::in_place_index<0>, Status()) {
    if (other.ok()) {
      v_.template emplace<1>(std::move(*other));
    } else {
      v_.template emplace<0>(other.status());
    }
  }

  bool ok() const { return v_.index() == 1; }
  Status status() const { return ok() ? Status() : std::get<0>(v_); }

  T& value() & { return must(); }
  const T& value() const& { return const_cast<StatusOr*>(this)->must(); }
  T&& value() && { return std::move(must()); }
  T& operator*() & { return must(); }
  const T& operator*() const& { return const_cast<StatusOr*>(this)->must(); }
  T&& operator*() && { return std::move(must()); }
  T* operator->() { return &must(); }
  const T* operator->() const { return &const_cast<StatusOr*>(this)->must(); }
  template <class U>
  T value_or(U&& fallback) const& {
    return ok() ? std::get<1>(v_) : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  static Status checked(Status s) {
    if (s.ok()) return Status(StatusCode::kInternal, "an OK status is not a valid StatusOr error");
    return s;
  }
  T& must() {
    if (!ok()) {
      std::fprintf(stderr, "weft: StatusOr::value() of an error: %s\n",
                   std::get<0>(v_).ToString().c_str());
      std::abort();
    }
    return std::get<1>(v_);
  }

  std::variant<Status, T> v_;
};

}  // namespace weft::fallback
