// KqueueBackend: the macOS/BSD readiness reactor behind the completion-style contract
// (backend.hpp). Private to the runtime: only the Backend interface is public.
//
// The design is EpollBackend's (io/epoll_backend.hpp), with kevent for epoll: every fd is
// registered once, edge-triggered, for both directions (EVFILT_READ and EVFILT_WRITE with
// EV_CLEAR, both changes in one kevent call, udata = the Source), as Tokio's mio does. submit()
// tries the syscall at once, outside the source's lock, and parks the operation on EAGAIN (or at
// once when the side is known not ready); the poller performs it under the lock when the fd
// reports ready and wakes the task. Edges are counted under the lock, so an edge between an
// EAGAIN and the parking is not lost; cancel() returns only once a running poll is done with it.
//
// How it differs from epoll:
//   * One event names one filter, so one side: a read event is one edge on the read side, a write
//     event one on the write side. EV_EOF on the read filter is the peer's FIN (EPOLLRDHUP); an
//     error (EV_ERROR, or EV_EOF with a socket error in fflags) is EPOLLERR: both sides.
//     EV_EOF on the write filter alone (our own shutdown_write) makes no read-side edge.
//   * close() just closes the fd: that removes its kevents, and any not yet returned with them
//     (epoll needs EPOLL_CTL_DEL first). Under libkqueue on Linux it does not, so there close()
//     deletes them first. The Source is freed at the start of a later poll, as with epoll.
//   * Timeouts are kevent's timespec: nanoseconds everywhere, no epoll_wait fallback.
//   * interrupt() triggers an EVFILT_USER event (ident 0, null udata) instead of an eventfd.
//   * macOS has no accept4 and no MSG_NOSIGNAL: accept() is followed by fcntl calls and
//     SO_NOSIGPIPE, as net/sys_posix.cpp does for the sockets it opens.
// Built and run on macOS/BSD CI only; this machine has no kqueue.
//
// Synchronization map:
//   [K1] relaxed RMW/load of the registered-source count: a hint for skipping a poll that could
//        find nothing; a source registered concurrently is polled next time.
//   [K2] release RMW of the same count in register_fd, before kevent(EV_ADD) / acquire load in
//        poll, after kevent returned events: a Source built on one thread reaches the poller
//        through the kernel (the event's udata); this makes that hand-off a happens-before
//        edge of the C++ model, which TSan checks.
//   Source state (fd, parked operations) is guarded by the source's SpinLock; the retired list
//   by retired_mu_. Operation results reach the woken task through the task's state word.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "weft/status.hpp"
#include "io/backend.hpp"
#include "io/operation.hpp"
#include "weft/scheduler/spin_lock.hpp"

namespace weft::io {

class KqueueBackend final : public Backend {
 public:
  // As EpollBackend::Source (see there for the readiness and edge fields).
  struct Source : io::Source {
    explicit Source(int f) : fd(f) {}
    detail::SpinLock lock;
    int fd;                       // -1 once closed
    Operation* reader = nullptr;  // the pending accept or recv
    Operation* writer = nullptr;  // the pending connect or send
    // Readiness as far as we know: false after EAGAIN or a short transfer, true at the next edge.
    bool read_ready = true;
    bool write_ready = true;
    // The peer's FIN, a reset or an error was seen (EV_EOF on the read filter, or an error).
    // Final: a short recv then does not mean "drained", since no further edge will announce
    // the EOF or error behind the data.
    bool read_closed = false;
    // Edges seen on each side (wrapping), compared by submit() around its unlocked syscall.
    std::uint32_t read_edges = 0;
    std::uint32_t write_edges = 0;
  };

  static weft::StatusOr<std::unique_ptr<Backend>> create();
  ~KqueueBackend() override;

  IoBackend kind() const override { return IoBackend::kKqueue; }
  weft::StatusOr<io::Source*> register_fd(int fd) override;
  void close(io::Source* source) override;
  bool submit(io::Source& source, Operation& op, MakeWaker make_waker) override;
  bool cancel(io::Source& source, Operation& op) override;
  std::size_t poll(std::optional<std::chrono::nanoseconds> timeout,
                   std::size_t max_events) override;
  void interrupt() override;
  bool has_sources() const override {
    return sources_.load(std::memory_order_relaxed) != 0;  // [K1] relaxed: a hint
  }

 private:
  explicit KqueueBackend(int kq) : kq_(kq) {}
  void free_retired();

  const int kq_;
  std::atomic<std::size_t> sources_{0};
  std::mutex retired_mu_;
  std::vector<Source*> retired_;  // guarded by retired_mu_
};

}  // namespace weft::io
