// What TcpListener::accept does with each errno accept4 (or an io_uring accept) can give, and the
// backoff it waits with. Separate from tcp.cpp so that tests can check every decision without
// provoking the kernel (tests/net/accept_policy_test.cpp).
//
//   kRetry    the failure was one pending connection's (it died in the backlog, or Linux handed
//             over a network error already pending on it, as accept(2) says it may): take the
//             next one at once. Each such error used up a backlog entry, so this cannot spin.
//   kBackOff  the process or the kernel is out of a resource (fds: EMFILE, ENFILE; socket
//             buffers or memory: ENOBUFS, ENOMEM). The connection stays in the backlog and an
//             immediate retry would fail the same way, possibly for as long as the shortage
//             lasts: sleep first (AcceptBackoff), as libuv and Go's net/http Server do, and
//             Tokio's examples advise, and keep serving the connections already open.
//   kFail     anything else (EBADF, EINVAL, ENOTSOCK, EOPNOTSUPP, the ECANCELED of a runtime
//             that is shutting down): the listener cannot go on; accept() returns the error.
#pragma once

#include <cerrno>
#include <chrono>

namespace weft::detail {

enum class AcceptErrorAction { kRetry, kBackOff, kFail };

constexpr AcceptErrorAction accept_error_action(int err) {
  switch (err) {
    case EMFILE:
    case ENFILE:
    case ENOBUFS:
    case ENOMEM:
      return AcceptErrorAction::kBackOff;
    case ECONNABORTED:
    case EPROTO:
    case EINTR:
    case ENETDOWN:
    case ENOPROTOOPT:
#if defined(EHOSTDOWN)
    case EHOSTDOWN:
#endif
#if defined(ENONET)
    case ENONET:
#endif
    case EHOSTUNREACH:
    case ENETUNREACH:
      return AcceptErrorAction::kRetry;
    default:
      return AcceptErrorAction::kFail;
  }
}

// The waits between retries of one accept(): 1 ms, doubling, at most 100 ms (Go's net/http
// Server starts at 5 ms and caps at 1 s; a shorter cap keeps a listener quick to recover once
// the shortage ends, and 100 ms waits cost nothing measurable).
class AcceptBackoff {
 public:
  static constexpr std::chrono::milliseconds kFirst{1};
  static constexpr std::chrono::milliseconds kMax{100};

  // The next wait, and the one after it doubles (up to kMax).
  std::chrono::milliseconds next() {
    const std::chrono::milliseconds d = delay_;
    delay_ = delay_ * 2 < kMax ? delay_ * 2 : kMax;
    return d;
  }

 private:
  std::chrono::milliseconds delay_ = kFirst;
};

}  // namespace weft::detail
