// Async TCP: TcpListener and TcpStream on the runtime's reactor.
//
//   auto listener = weft::net::TcpListener::bind(*SocketAddress::parse("127.0.0.1:0"));
//   auto stream = co_await listener->accept();           // StatusOr<TcpStream>
//   auto n = co_await stream->read(buf);                  // StatusOr<size_t>; 0 is EOF
//   co_await stream->write_all(buf.first(*n));            // Status
//
// Sockets are non-blocking and registered with the reactor of the runtime they are created on
// (bind and connect are called from inside a task). Every result is an weft::Status(Or) whose
// message names the operation and the errno text. Streams have TCP_NODELAY set.
//
// One read and one write may be pending on a stream at a time (a second gets EBUSY); a stream
// must outlive the operations awaited on it. Destroying a stream closes it.
//
// Accepting survives running out of file descriptors or kernel memory: on EMFILE, ENFILE,
// ENOBUFS or ENOMEM accept() backs off (1 ms doubling to 100 ms, sleeping on the runtime's
// timers, never spinning) and retries, so the connections already open keep being served;
// emfile_backoffs() counts those waits (all four errors). A connection that died in the backlog
// (ECONNABORTED, EPROTO, a pending network error) is skipped; other errors are returned.
//
// Once the runtime's shutdown begins, every operation fails at once with FailedPrecondition
// ("the runtime is shut down"), also on a socket that outlives its runtime, and operations
// already pending never complete (their tasks are dropped): see Runtime::shutdown.
//
// Synchronization map:
//   [N1] relaxed RMW/load of the EMFILE backoff counter: a statistic, readable from any thread
//        while accept() runs; nothing else is ordered by it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "weft/status.hpp"
#include "weft/net/address.hpp"
#include "weft/task/task.hpp"

namespace weft::detail {
class Driver;
}
namespace weft::io {
struct Source;  // a backend's registration of one fd (runtime/src/io/backend.hpp)
}

namespace weft::net {

// A registered socket: the fd, its reactor source, and the driver that keeps both alive.
class Socket {
 public:
  Socket() = default;
  Socket(std::shared_ptr<detail::Driver> driver, io::Source* source, NativeSocket fd)
      : driver_(std::move(driver)), source_(source), fd_(fd) {}
  Socket(Socket&& other) noexcept
      : driver_(std::move(other.driver_)),
        source_(std::exchange(other.source_, nullptr)),
        fd_(std::exchange(other.fd_, kNoSocket)) {}
  Socket& operator=(Socket&& other) noexcept;
  ~Socket() { close(); }

  // Registers `fd` with the reactor of the runtime running this thread (closes it on failure).
  static weft::StatusOr<Socket> adopt(NativeSocket fd);
  static weft::StatusOr<Socket> adopt(std::shared_ptr<detail::Driver> driver, NativeSocket fd);

  bool is_open() const { return source_ != nullptr; }
  NativeSocket fd() const;
  void close();
  weft::StatusOr<SocketAddress> local_addr() const;
  weft::StatusOr<SocketAddress> peer_addr() const;

  detail::Driver& driver() const { return *driver_; }
  const std::shared_ptr<detail::Driver>& shared_driver() const { return driver_; }
  io::Source& source() const { return *source_; }

 private:
  std::shared_ptr<detail::Driver> driver_;
  io::Source* source_ = nullptr;
  NativeSocket fd_ = kNoSocket;  // the registered socket while source_ is set
};

class TcpStream {
 public:
  TcpStream() = default;
  explicit TcpStream(Socket socket) : socket_(std::move(socket)) {}

  // Connects to `addr` (IPv4 or IPv6). From inside a task.
  static Task<weft::StatusOr<TcpStream>> connect(SocketAddress addr);

  // Reads up to buf.size() bytes; 0 means the peer closed its side (EOF).
  Task<weft::StatusOr<std::size_t>> read(std::span<std::byte> buf);
  // Writes some of `buf`; returns how much.
  Task<weft::StatusOr<std::size_t>> write(std::span<const std::byte> buf);
  // Writes all of `buf` (several writes if the socket buffer fills).
  Task<weft::Status> write_all(std::span<const std::byte> buf);
  // Half-close: the peer reads EOF; this side can still read.
  weft::Status shutdown_write();
  weft::Status set_nodelay(bool on);

  weft::StatusOr<SocketAddress> local_addr() const { return socket_.local_addr(); }
  weft::StatusOr<SocketAddress> peer_addr() const { return socket_.peer_addr(); }
  bool is_open() const { return socket_.is_open(); }
  NativeSocket native_handle() const { return socket_.fd(); }
  void close() { socket_.close(); }

 private:
  Socket socket_;
};

class TcpListener {
 public:
  TcpListener() = default;
  // Binds (SO_REUSEADDR) and listens on `addr` (port 0 picks a free port; see local_addr). From
  // inside a task (FailedPrecondition elsewhere).
  static weft::StatusOr<TcpListener> bind(const SocketAddress& addr, int backlog = SOMAXCONN);

  // The next connection. EMFILE, ENFILE, ENOBUFS and ENOMEM are waited out (see the head
  // comment); other errors are returned.
  Task<weft::StatusOr<TcpStream>> accept();

  weft::StatusOr<SocketAddress> local_addr() const { return socket_.local_addr(); }
  std::uint64_t emfile_backoffs() const {
    // [N1] relaxed: a statistic. A moved-from listener has none.
    return emfile_backoffs_ ? emfile_backoffs_->load(std::memory_order_relaxed) : 0;
  }
  NativeSocket native_handle() const { return socket_.fd(); }
  void close() { socket_.close(); }

 private:
  explicit TcpListener(Socket socket) : socket_(std::move(socket)) {}
  Socket socket_;
  // Boxed so the listener stays movable.
  std::unique_ptr<std::atomic<std::uint64_t>> emfile_backoffs_ =
      std::make_unique<std::atomic<std::uint64_t>>(0);
};

}  // namespace weft::net
