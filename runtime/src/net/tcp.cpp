// TcpListener, TcpStream and the registered Socket under both.
//
// Synchronization map: [N1] is defined in weft/net/tcp.hpp (the EMFILE backoff counter).
#include "weft/net/tcp.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <string_view>

#include "weft/io/errors.hpp"
#include "io/op_awaiter.hpp"
#include "net/accept_policy.hpp"
#include "net/sys.hpp"
#include "scheduler/driver.hpp"
#include "weft/scheduler/scheduler_base.hpp"
#include "weft/spawn.hpp"
#include "weft/time/sleep.hpp"

namespace weft::net {

namespace {

weft::StatusOr<std::shared_ptr<detail::Driver>> current_driver(const char* what) {
  detail::SchedulerBase* s = detail::context().scheduler;
  if (s == nullptr) {
    return weft::FailedPreconditionError(std::string("weft: ") + what +
                                         " called outside a runtime's task");
  }
  return s->shared_driver();
}

void enable_nodelay(NativeSocket fd) { sys::set_option(fd, IPPROTO_TCP, TCP_NODELAY, 1); }

// The error of an operation on `socket` that failed with `err`. ECANCELED from a backend that was
// shut down ([O7] in io/backend.hpp) means the socket's runtime is shutting down or gone: say so
// (FailedPrecondition), rather than "Operation canceled", which a closed socket gives.
weft::Status io_error(const Socket& socket, std::string_view op, int err) {
  if (err == ECANCELED && socket.is_open() && socket.driver().io().is_shut_down()) {
    return weft::FailedPreconditionError("weft: " + std::string(op) +
                                         ": the runtime is shut down (ECANCELED)");
  }
  return io::errno_status(op, err);
}

weft::StatusOr<SocketAddress> name_of(NativeSocket fd, bool peer) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (sys::name_of(fd, peer, &ss, &len) != 0) {
    return io::errno_status(peer ? "getpeername" : "getsockname", sys::last_error());
  }
  return SocketAddress::from_native(reinterpret_cast<const sockaddr*>(&ss), len);
}

}  // namespace

// --- Socket ---------------------------------------------------------------------------------

Socket& Socket::operator=(Socket&& other) noexcept {
  if (this != &other) {
    close();
    driver_ = std::move(other.driver_);
    source_ = std::exchange(other.source_, nullptr);
    fd_ = std::exchange(other.fd_, kNoSocket);
  }
  return *this;
}

weft::StatusOr<Socket> Socket::adopt(NativeSocket fd) {
  weft::StatusOr<std::shared_ptr<detail::Driver>> driver = current_driver("socket registration");
  if (!driver.ok()) {
    sys::close(fd);
    return driver.status();
  }
  return adopt(std::move(*driver), fd);
}

weft::StatusOr<Socket> Socket::adopt(std::shared_ptr<detail::Driver> driver, NativeSocket fd) {
  weft::StatusOr<io::Source*> source = driver->io().register_fd(fd);
  if (!source.ok()) {
    sys::close(fd);
    return source.status();
  }
  return Socket(std::move(driver), *source, fd);
}

NativeSocket Socket::fd() const { return source_ == nullptr ? kNoSocket : fd_; }

void Socket::close() {
  if (source_ != nullptr) driver_->io().close(std::exchange(source_, nullptr));
  fd_ = kNoSocket;
  driver_.reset();
}

weft::StatusOr<SocketAddress> Socket::local_addr() const {
  if (!is_open()) return weft::FailedPreconditionError("weft: local_addr of a closed socket");
  return name_of(fd(), /*peer=*/false);
}

weft::StatusOr<SocketAddress> Socket::peer_addr() const {
  if (!is_open()) return weft::FailedPreconditionError("weft: peer_addr of a closed socket");
  return name_of(fd(), /*peer=*/true);
}

// --- TcpStream ------------------------------------------------------------------------------

Task<weft::StatusOr<TcpStream>> TcpStream::connect(SocketAddress addr) {
  weft::StatusOr<NativeSocket> fd = sys::open_stream(addr.family());
  if (!fd.ok()) co_return fd.status();
  weft::StatusOr<Socket> socket = Socket::adopt(*fd);
  if (!socket.ok()) co_return socket.status();
  enable_nodelay(socket->fd());
  detail::IoOp op(socket->driver().io(), socket->source(), io::OpCode::kConnect);
  std::memcpy(&op.op().addr, addr.native(), addr.native_len());
  op.op().addrlen = addr.native_len();
  const std::int64_t r = co_await op;
  if (r < 0) co_return io_error(*socket, "connect to " + addr.to_string(), static_cast<int>(-r));
  co_return TcpStream(std::move(*socket));
}

Task<weft::StatusOr<std::size_t>> TcpStream::read(std::span<std::byte> buf) {
  if (!is_open()) co_return weft::FailedPreconditionError("weft: read on a closed stream");
  if (!detail::consume_budget()) co_await yield_now();
  detail::IoOp op(socket_.driver().io(), socket_.source(), io::OpCode::kRecv);
  op.op().buf = buf.data();
  op.op().len = buf.size();
  const std::int64_t r = co_await op;
  if (r < 0) co_return io_error(socket_, "recv", static_cast<int>(-r));
  co_return static_cast<std::size_t>(r);
}

Task<weft::StatusOr<std::size_t>> TcpStream::write(std::span<const std::byte> buf) {
  if (!is_open()) co_return weft::FailedPreconditionError("weft: write on a closed stream");
  if (!detail::consume_budget()) co_await yield_now();
  detail::IoOp op(socket_.driver().io(), socket_.source(), io::OpCode::kSend);
  op.op().buf = const_cast<std::byte*>(buf.data());
  op.op().len = buf.size();
  const std::int64_t r = co_await op;
  if (r < 0) co_return io_error(socket_, "send", static_cast<int>(-r));
  co_return static_cast<std::size_t>(r);
}

Task<weft::Status> TcpStream::write_all(std::span<const std::byte> buf) {
  while (!buf.empty()) {
    weft::StatusOr<std::size_t> n = co_await write(buf);
    if (!n.ok()) co_return n.status();
    buf = buf.subspan(*n);
  }
  co_return weft::OkStatus();
}

weft::Status TcpStream::shutdown_write() {
  if (!is_open()) return weft::FailedPreconditionError("weft: shutdown_write on a closed stream");
  if (sys::shutdown_write(socket_.fd()) != 0) {
    return io::errno_status("shutdown(SHUT_WR)", sys::last_error());
  }
  return weft::OkStatus();
}

weft::Status TcpStream::set_nodelay(bool on) {
  if (sys::set_option(socket_.fd(), IPPROTO_TCP, TCP_NODELAY, on ? 1 : 0) != 0) {
    return io::errno_status("setsockopt(TCP_NODELAY)", sys::last_error());
  }
  return weft::OkStatus();
}

// --- TcpListener ----------------------------------------------------------------------------

weft::StatusOr<TcpListener> TcpListener::bind(const SocketAddress& addr, int backlog) {
  weft::StatusOr<NativeSocket> fd = sys::open_stream(addr.family());
  if (!fd.ok()) return fd.status();
  if (sys::bind_and_listen(*fd, addr.native(), addr.native_len(), backlog) != 0) {
    const int err = sys::last_error();
    sys::close(*fd);
    return io::errno_status("bind/listen on " + addr.to_string(), err);
  }
  weft::StatusOr<Socket> socket = Socket::adopt(*fd);
  if (!socket.ok()) return socket.status();
  return TcpListener(std::move(*socket));
}

Task<weft::StatusOr<TcpStream>> TcpListener::accept() {
  if (!socket_.is_open()) co_return weft::FailedPreconditionError("weft: accept on a closed listener");
  if (!detail::consume_budget()) co_await yield_now();
  detail::AcceptBackoff backoff;
  for (;;) {
    std::int64_t r = 0;
    {
      detail::IoOp op(socket_.driver().io(), socket_.source(), io::OpCode::kAccept);
      r = co_await op;
    }
    if (r >= 0) {
      const auto fd = static_cast<NativeSocket>(r);
      enable_nodelay(fd);
      weft::StatusOr<Socket> socket = Socket::adopt(socket_.shared_driver(), fd);
      if (socket.ok()) co_return TcpStream(std::move(*socket));
      co_return socket.status();
    }
    const int err = static_cast<int>(-r);
    switch (detail::accept_error_action(err)) {
      case detail::AcceptErrorAction::kRetry:
        continue;  // one connection's failure, not the listener's: take the next one
      case detail::AcceptErrorAction::kBackOff:
        // Out of fds or kernel memory: the pending connection stays in the backlog. Wait,
        // without spinning, for the shortage to pass (the open connections keep being served).
        emfile_backoffs_->fetch_add(1, std::memory_order_relaxed);  // [N1] relaxed: a statistic
        co_await sleep_for(backoff.next());
        continue;
      case detail::AcceptErrorAction::kFail:
        break;
    }
    co_return io_error(socket_, "accept", err);
  }
}

}  // namespace weft::net
