// weft-peer-libuv echo: Weft's echo server (workloads/echo) on one libuv loop, so --threads=1
// only. uv_tcp_bind + uv_listen(4096); each accepted connection gets uv_tcp_nodelay and reads up
// to `buffer` bytes into a block that carries its own uv_write_t, which writes them all back and
// is freed when the write completes (libuv's own echo-server benchmark does the same). EOF or an
// error closes the connection. SIGTERM/SIGINT (uv_signal): close the listener, every connection
// and the signal handles, let the loop end, print the counters, exit 0.
#include <uv.h>

#include <cstdint>
#include <cstdlib>
#include <unordered_set>

#include "peer_common.hpp"

namespace weft_peer::libuv_peer {
namespace {

struct Server {
  uv_loop_t loop;
  uv_tcp_t listener;
  uv_signal_t term, intr;
  std::size_t buffer = 4096;
  std::int64_t connections = 0, errors = 0;
  bool stopping = false;
  std::unordered_set<uv_tcp_t*> live;
};

// A read buffer with the write request that echoes it, in one allocation.
struct Block {
  uv_write_t req;
  char* data() { return reinterpret_cast<char*>(this + 1); }
  static Block* of(char* data) { return reinterpret_cast<Block*>(data) - 1; }
};

Server& server_of(uv_handle_t* h) { return *static_cast<Server*>(h->loop->data); }
uv_handle_t* handle(uv_tcp_t* t) { return reinterpret_cast<uv_handle_t*>(t); }
uv_stream_t* stream(uv_tcp_t* t) { return reinterpret_cast<uv_stream_t*>(t); }

void close_connection(uv_tcp_t* conn) {
  if (uv_is_closing(handle(conn))) return;
  server_of(handle(conn)).live.erase(conn);
  uv_close(handle(conn), [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
}

// EOF, a reset and our own close at shutdown end a connection normally; anything else counts.
void end(uv_tcp_t* conn, int status) {
  if (status != UV_EOF && status != UV_ECONNRESET && status != UV_EPIPE && status != UV_ECANCELED) {
    ++server_of(handle(conn)).errors;
  }
  close_connection(conn);
}

void on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
  auto* conn = reinterpret_cast<uv_tcp_t*>(s);
  Block* block = buf->base != nullptr ? Block::of(buf->base) : nullptr;
  if (nread > 0) {
    const uv_buf_t out = uv_buf_init(buf->base, static_cast<unsigned>(nread));
    const int r = uv_write(&block->req, s, &out, 1, [](uv_write_t* req, int status) {
      auto* c = reinterpret_cast<uv_tcp_t*>(req->handle);
      std::free(reinterpret_cast<Block*>(req));
      if (status < 0) end(c, status);
    });
    if (r < 0) {
      std::free(block);
      end(conn, r);
    }
    return;
  }
  std::free(block);
  if (nread < 0) end(conn, static_cast<int>(nread));
}

void on_connection(uv_stream_t* listener, int status) {
  Server& server = server_of(reinterpret_cast<uv_handle_t*>(listener));
  if (status < 0) return;
  auto* conn = new uv_tcp_t;
  uv_tcp_init(&server.loop, conn);
  if (uv_accept(listener, stream(conn)) != 0) {
    uv_close(handle(conn), [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
    return;
  }
  ++server.connections;
  server.live.insert(conn);
  uv_tcp_nodelay(conn, 1);
  uv_read_start(
      stream(conn),
      [](uv_handle_t* h, std::size_t, uv_buf_t* buf) {
        const std::size_t size = server_of(h).buffer;
        void* block = std::malloc(sizeof(Block) + size);
        *buf = uv_buf_init(block != nullptr ? static_cast<Block*>(block)->data() : nullptr,
                           block != nullptr ? static_cast<unsigned>(size) : 0);
      },
      on_read);
}

void on_signal(uv_signal_t* sig, int) {
  Server& server = server_of(reinterpret_cast<uv_handle_t*>(sig));
  if (server.stopping) return;
  server.stopping = true;
  uv_close(handle(&server.listener), nullptr);
  while (!server.live.empty()) close_connection(*server.live.begin());
  uv_close(reinterpret_cast<uv_handle_t*>(&server.term), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&server.intr), nullptr);
}

}  // namespace

int echo(const Peer& peer, const Options& o) {
  if (o.threads != 1) {
    exit_with(2, peer, "echo: --threads=%lld: libuv runs one loop (valid: --threads=1)",
              static_cast<long long>(o.threads));
  }
  sockaddr_storage addr{};
  const int port = static_cast<int>(o.port);
  if (uv_ip4_addr(o.bind.c_str(), port, reinterpret_cast<sockaddr_in*>(&addr)) != 0 &&
      uv_ip6_addr(o.bind.c_str(), port, reinterpret_cast<sockaddr_in6*>(&addr)) != 0) {
    exit_with(2, peer, "--bind=%s: not an IPv4 or IPv6 address", o.bind.c_str());
  }
  Server server;
  server.buffer = static_cast<std::size_t>(o.buffer);
  uv_loop_init(&server.loop);
  server.loop.data = &server;
  uv_tcp_init(&server.loop, &server.listener);
  int r = uv_tcp_bind(&server.listener, reinterpret_cast<const sockaddr*>(&addr), 0);
  if (r == 0) r = uv_listen(stream(&server.listener), 4096, on_connection);
  if (r != 0) {
    exit_with(1, peer, "echo: listen on %s:%d: %s", o.bind.c_str(), port, uv_strerror(r));
  }
  sockaddr_storage bound{};
  int len = sizeof(bound);
  uv_tcp_getsockname(&server.listener, reinterpret_cast<sockaddr*>(&bound), &len);
  const int bound_port =
      ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                        : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  uv_signal_init(&server.loop, &server.term);
  uv_signal_init(&server.loop, &server.intr);
  uv_signal_start(&server.term, on_signal, SIGTERM);
  uv_signal_start(&server.intr, on_signal, SIGINT);
  echo_listening(peer, bound_port);
  uv_run(&server.loop, UV_RUN_DEFAULT);
  uv_loop_close(&server.loop);
  return echo_stopped(server.connections, server.errors);
}

}  // namespace weft_peer::libuv_peer
