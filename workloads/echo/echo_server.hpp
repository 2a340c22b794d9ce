// The echo server Weft measures: an accept loop that spawns one task per connection, each reading
// into its own buffer and writing every byte back until EOF. Shared by the echo workload (in the
// weft-bench process) and by weft-echo (harness/echo), the standalone server a user can drive
// with a client of their own.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "weft/net/tcp.hpp"
#include "weft/task/join_handle.hpp"
#include "weft/task/task.hpp"

namespace weft::workloads {

// Written by the server's tasks, read by whoever reports them (relaxed: plain tallies).
struct EchoCounters {
  std::atomic<std::int64_t> live{0};       // connections being served now
  std::atomic<std::uint64_t> accepted{0};  // connections accepted
  std::atomic<std::uint64_t> errors{0};    // accept, read or write errors
  std::atomic<std::uint64_t> intruders{0}; // connections from another address, closed unserved
};

// The per-connection buffer for messages of `msg_size` bytes: at least 512, at most 64 KiB.
std::size_t echo_buffer_size(std::int64_t msg_size);

// Accepts until aborted or accept() fails (it waits out EMFILE and the like itself; what it
// returns is final, such as the runtime shutting down); every connection is served by a
// detached task of its own.
// With `only_from`, a connection from any other host address (any port) is closed at once and
// counted in `intruders`, not in `accepted`: the echo workload serves its load generator alone.
Task<void> echo_accept_loop(net::TcpListener listener, std::size_t buffer_size,
                            EchoCounters* counters,
                            std::optional<net::SocketAddress> only_from = std::nullopt);

// Whether two socket addresses name the same host (family and IP address; ports ignored).
bool same_host(const net::SocketAddress& a, const net::SocketAddress& b);

// Aborts the accept loop and waits until its frame (and the listener) is gone; then waits up to
// `drain` for the connections still open to end.
Task<void> echo_stop(JoinHandle<void> acceptor, EchoCounters* counters,
                     std::chrono::milliseconds drain);

}  // namespace weft::workloads
