// Opening many TCP connections at once: address resolution and batched non-blocking connects.
//
// 10,000 connections to one listener cannot all be started at the same instant: the listener's
// accept queue (at most SOMAXCONN = 4096 here, often less) overflows, the kernel drops the SYNs,
// and the client waits out a 1 s SYN retransmit. So at most kConnectBatch connects are in flight;
// each waits for EPOLLOUT and reads SO_ERROR. ECONNREFUSED, EAGAIN, ETIMEDOUT, ECONNRESET and
// EADDRNOTAVAIL are retried with a fresh socket after 5, 10, 20, 40, 80 ms; any other error, the
// last retry failing, or the deadline passing fails the whole call and closes every fd it opened.
#pragma once

#include <sys/socket.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace weft::loadgen {

inline constexpr int kConnectBatch = 256;
inline constexpr int kConnectAttempts = 6;

struct Endpoint {
  sockaddr_storage addr{};
  socklen_t len = 0;
  std::string text;  // "host:port", for messages
};

// The first TCP address of host:port (numeric or a name).
absl::StatusOr<Endpoint> resolve(const std::string& host, int port);

// A numeric local address (port 0) to bind connections to: "127.0.0.5". InvalidArgument naming
// --source when it is not a numeric address.
absl::StatusOr<Endpoint> resolve_source(const std::string& address);

// `count` connected sockets (non-blocking, TCP_NODELAY, close-on-exec), owned by the caller;
// each bound to `from` first when given (IP_BIND_ADDRESS_NO_PORT: the port is picked at
// connect time, so 10,000 connections do not run out of ports at bind time).
absl::StatusOr<std::vector<int>> connect_all(const Endpoint& to, int count, double timeout_s,
                                             const Endpoint* from = nullptr);

}  // namespace weft::loadgen
