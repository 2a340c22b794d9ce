#include "echo/echo_server.hpp"

#if defined(_WIN32)
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <netinet/in.h>
#include <sys/socket.h>
#endif

#include <algorithm>
#include <cstring>
#include <span>
#include <vector>

#include "weft/weft.hpp"

namespace weft::workloads {
namespace {

Task<void> serve(net::TcpStream stream, std::size_t buffer_size, EchoCounters* counters) {
  std::vector<std::byte> buf(buffer_size);
  for (;;) {
    weft::StatusOr<std::size_t> n = co_await stream.read(buf);
    if (!n.ok()) {
      counters->errors.fetch_add(1, std::memory_order_relaxed);
      break;
    }
    if (*n == 0) break;  // the client closed
    if (!(co_await stream.write_all(std::span(buf).first(*n))).ok()) {
      counters->errors.fetch_add(1, std::memory_order_relaxed);
      break;
    }
  }
  counters->live.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace

std::size_t echo_buffer_size(std::int64_t msg_size) {
  return static_cast<std::size_t>(std::clamp<std::int64_t>(msg_size, 512, 65536));
}

bool same_host(const net::SocketAddress& a, const net::SocketAddress& b) {
  if (a.family() != b.family()) return false;
  if (a.family() == AF_INET) {
    return reinterpret_cast<const sockaddr_in*>(a.native())->sin_addr.s_addr ==
           reinterpret_cast<const sockaddr_in*>(b.native())->sin_addr.s_addr;
  }
  if (a.family() == AF_INET6) {
    return std::memcmp(&reinterpret_cast<const sockaddr_in6*>(a.native())->sin6_addr,
                       &reinterpret_cast<const sockaddr_in6*>(b.native())->sin6_addr,
                       sizeof(in6_addr)) == 0;
  }
  return false;
}

Task<void> echo_accept_loop(net::TcpListener listener, std::size_t buffer_size,
                            EchoCounters* counters, std::optional<net::SocketAddress> only_from) {
  for (;;) {
    weft::StatusOr<net::TcpStream> stream = co_await listener.accept();
    if (!stream.ok()) {
      // accept() already waited out what can pass (EMFILE, ENOBUFS, ...) and skipped dead
      // connections: what it returns is final (a runtime shutting down, a broken listener), and
      // retrying at once would spin.
      counters->errors.fetch_add(1, std::memory_order_relaxed);
      co_return;
    }
    if (only_from) {
      const weft::StatusOr<net::SocketAddress> peer = stream->peer_addr();
      if (!peer.ok() || !same_host(*peer, *only_from)) {
        counters->intruders.fetch_add(1, std::memory_order_relaxed);
        continue;  // the stream closes as it goes out of scope
      }
    }
    counters->accepted.fetch_add(1, std::memory_order_relaxed);
    counters->live.fetch_add(1, std::memory_order_relaxed);
    weft::spawn(serve(std::move(*stream), buffer_size, counters)).detach();
  }
}

Task<void> echo_stop(JoinHandle<void> acceptor, EchoCounters* counters,
                     std::chrono::milliseconds drain) {
  acceptor.abort();
  try {
    co_await acceptor;
  } catch (const JoinError&) {
  }
  const auto until = std::chrono::steady_clock::now() + drain;
  while (counters->live.load(std::memory_order_relaxed) > 0 &&
         std::chrono::steady_clock::now() < until) {
    co_await sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace weft::workloads
