// Shared pieces of the TCP tests: payloads of distinct bytes, exact reads, an echo handler, an
// accept loop (the open-fd count is in socket_util.hpp). Real sockets on 127.0.0.1, no mocks.
//
// Coroutines here report failures through their return values (or ADD_FAILURE); the tests
// assert on what they return. ASSERT_* cannot be used inside a coroutine.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "net/socket_util.hpp"
#include "runtime/runtime_test_params.hpp"
#include "weft/status.hpp"
#include "weft/weft.hpp"

namespace weft_test {

using weft::net::SocketAddress;
using weft::net::TcpListener;
using weft::net::TcpStream;

// `size` bytes that differ from connection to connection (splitmix64 of seed and position).
inline std::vector<std::byte> payload(std::uint64_t seed, std::size_t size) {
  std::vector<std::byte> out(size);
  std::uint64_t x = seed * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL;
  for (std::size_t i = 0; i < size; i += 8) {
    x += 0x9E3779B97F4A7C15ULL;
    std::uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    for (std::size_t j = 0; j < 8 && i + j < size; ++j) {
      out[i + j] = static_cast<std::byte>(z >> (8 * j));
    }
  }
  return out;
}

inline std::span<const std::byte> as_bytes(const std::string& s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

inline std::string to_string(std::span<const std::byte> b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

// Reads exactly buf.size() bytes. EOF first is an error (DataLoss).
inline weft::Task<weft::Status> read_exactly(TcpStream& s, std::span<std::byte> buf) {
  std::size_t got = 0;
  while (got < buf.size()) {
    weft::StatusOr<std::size_t> n = co_await s.read(buf.subspan(got));
    if (!n.ok()) co_return n.status();
    if (*n == 0) {
      co_return weft::DataLossError("EOF after " + std::to_string(got) + " of " +
                                    std::to_string(buf.size()) + " bytes");
    }
    got += *n;
  }
  co_return weft::OkStatus();
}

// Reads until EOF; what it read, or the error.
inline weft::Task<weft::StatusOr<std::vector<std::byte>>> read_to_eof(TcpStream& s) {
  std::vector<std::byte> out;
  std::byte buf[4096];
  for (;;) {
    weft::StatusOr<std::size_t> n = co_await s.read(buf);
    if (!n.ok()) co_return n.status();
    if (*n == 0) co_return out;
    out.insert(out.end(), buf, buf + *n);
  }
}

// Writes back whatever it reads until EOF, then closes. Returns the bytes echoed.
inline weft::Task<weft::StatusOr<std::size_t>> echo_until_eof(TcpStream stream) {
  TcpStream s = std::move(stream);
  std::byte buf[4096];
  std::size_t total = 0;
  for (;;) {
    weft::StatusOr<std::size_t> n = co_await s.read(buf);
    if (!n.ok()) co_return n.status();
    if (*n == 0) co_return total;
    weft::Status w = co_await s.write_all(std::span(buf, *n));
    if (!w.ok()) co_return w;
    total += *n;
  }
}

// A listener on 127.0.0.1 with a port the kernel picks. From inside a task.
inline weft::StatusOr<TcpListener> bind_loopback() {
  return TcpListener::bind(SocketAddress::ipv4_loopback(0));
}

// Accepts `n` connections, echoes each on a task of its own, joins them. Returns the total bytes
// echoed, or the first error. Counts accepted connections in `accepted` (may be null).
inline weft::Task<weft::StatusOr<std::size_t>> echo_server(TcpListener listener, std::size_t n,
                                                           std::atomic<std::size_t>* accepted) {
  TcpListener l = std::move(listener);
  std::vector<weft::JoinHandle<weft::StatusOr<std::size_t>>> handlers;
  handlers.reserve(n);
  weft::Status first_error = weft::OkStatus();
  for (std::size_t i = 0; i < n; ++i) {
    weft::StatusOr<TcpStream> s = co_await l.accept();
    if (!s.ok()) {
      first_error = s.status();
      break;
    }
    if (accepted != nullptr) accepted->fetch_add(1);
    handlers.push_back(weft::spawn(echo_until_eof(*std::move(s))));
  }
  std::size_t total = 0;
  for (auto& h : handlers) {
    weft::StatusOr<std::size_t> r = co_await h;
    if (r.ok()) {
      total += *r;
    } else if (first_error.ok()) {
      first_error = r.status();
    }
  }
  if (!first_error.ok()) co_return first_error;
  co_return total;
}

// Sends `data` and checks it comes back (one message on an echo connection).
inline weft::Task<weft::Status> echo_round_trip(TcpStream& s, std::span<const std::byte> data) {
  weft::Status w = co_await s.write_all(data);
  if (!w.ok()) co_return w;
  std::vector<std::byte> back(data.size());
  weft::Status r = co_await read_exactly(s, back);
  if (!r.ok()) co_return r;
  if (!std::equal(back.begin(), back.end(), data.begin())) {
    co_return weft::DataLossError("the echo differs from what was sent");
  }
  co_return weft::OkStatus();
}

// Writes all of `data`, then half-closes (the peer reads EOF after it).
inline weft::Task<weft::Status> write_all_then_shutdown(TcpStream* s,
                                                        std::span<const std::byte> data) {
  weft::Status w = co_await s->write_all(data);
  if (!w.ok()) co_return w;
  co_return s->shutdown_write();
}

// One echo connection seen from the client: connects, sends payload(seed, size) from a writer
// task of its own while this task reads the echo (so neither side's buffers can fill up and
// stall), checks every byte came back in order and that EOF follows.
inline weft::Task<weft::Status> echo_client(SocketAddress addr, std::uint64_t seed,
                                            std::size_t size) {
  weft::StatusOr<TcpStream> s = co_await TcpStream::connect(addr);
  if (!s.ok()) co_return s.status();
  const std::vector<std::byte> out = payload(seed, size);
  weft::JoinHandle<weft::Status> writer = weft::spawn(write_all_then_shutdown(&*s, out));
  std::vector<std::byte> in(size);
  const weft::Status r = co_await read_exactly(*s, in);
  // The writer borrows the stream: join it before anything else can end this frame.
  const weft::Status w = co_await writer;
  if (!r.ok()) co_return r;
  if (!w.ok()) co_return w;
  for (std::size_t i = 0; i < size; ++i) {
    if (in[i] != out[i]) {
      co_return weft::DataLossError("connection " + std::to_string(seed) + ": byte " +
                                    std::to_string(i) + " of " + std::to_string(size) + " differs");
    }
  }
  std::byte extra[16];
  weft::StatusOr<std::size_t> eof = co_await s->read(extra);
  if (!eof.ok()) co_return eof.status();
  if (*eof != 0) co_return weft::DataLossError("bytes after the echo instead of EOF");
  co_return weft::OkStatus();
}

struct Pair {
  weft::Status setup = weft::OkStatus();
  TcpListener listener;
  TcpStream client, server;
};

// A listener and both ends of one loopback connection to it (setup: why not).
inline weft::Task<Pair> connected_pair() {
  Pair p;
  weft::StatusOr<TcpListener> l = bind_loopback();
  if (!l.ok()) {
    p.setup = l.status();
    co_return p;
  }
  const SocketAddress addr = *l->local_addr();
  weft::JoinHandle<weft::StatusOr<TcpStream>> acc = weft::spawn(l->accept());
  weft::StatusOr<TcpStream> c = co_await TcpStream::connect(addr);
  weft::StatusOr<TcpStream> s = co_await acc;
  if (!c.ok() || !s.ok()) {
    p.setup = !c.ok() ? c.status() : s.status();
    co_return p;
  }
  p.listener = *std::move(l);
  p.client = *std::move(c);
  p.server = *std::move(s);
  co_return p;
}

}  // namespace weft_test
