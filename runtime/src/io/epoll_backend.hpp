// EpollBackend: the Linux readiness reactor behind the completion-style contract (backend.hpp).
// Private to the runtime: only the Backend interface is public.
//
// Every fd is registered once, edge-triggered, for everything it may ever wait for
// (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET), as Tokio's mio does: no epoll_ctl per operation.
// submit() tries the syscall at once and parks the operation on its source only on EAGAIN (or
// at once when the source is known not ready: see Source); the poller performs it when the fd
// reports ready and wakes the task with the result (libuv's scheme). An echo round trip thus
// costs one recv and one send: no recv that says EAGAIN. submit() runs its syscall outside the
// source's lock (the poller must not spin while a send delivers on loopback) and parks under
// it; an edge that arrives between the EAGAIN and the parking is not lost, since the poller
// counts edges under the lock and submit() tries again when the count moved. The poller
// performs a parked operation under the lock, so cancel() returns only once it is done.
//
// Lifetime of a Source: close() deregisters and closes the fd at once, but the Source object is
// freed only at the start of a later poll: events of the batch being processed may still name it
// (the in-flight batch then sees fd = -1 and does nothing). One thread polls at a time, so every
// batch that could name a source closed before a poll has finished when that poll starts.
//
// Timeouts go to epoll_pwait2 with nanosecond resolution (sub-millisecond timer deadlines).
// interrupt() writes an eventfd registered in the same epoll set.
//
// Synchronization map:
//   [E1] relaxed RMW/load of the registered-source count: a hint for skipping a poll that could
//        find nothing; a source registered concurrently is polled next time.
//   [E2] release RMW of the same count in register_fd, before epoll_ctl(ADD) / acquire load in
//        poll, after epoll_wait returned events: a Source built on one thread reaches the poller
//        through the kernel (the event's data pointer); this makes that hand-off a
//        happens-before edge of the C++ model, which TSan checks.
//   Source state (fd, parked operations) is guarded by the source's SpinLock; the retired list
//   by retired_mu_. Operation results reach the woken task through the task's state word.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "weft/status.hpp"
#include "io/backend.hpp"
#include "io/operation.hpp"
#include "weft/scheduler/spin_lock.hpp"

namespace weft::io {

class EpollBackend final : public Backend {
 public:
  struct Source : io::Source {
    explicit Source(int f) : fd(f) {}
    detail::SpinLock lock;
    int fd;                       // -1 once closed
    Operation* reader = nullptr;  // the pending accept or recv
    Operation* writer = nullptr;  // the pending connect or send
    // Readiness as far as we know: false after EAGAIN or a short transfer (the kernel buffer was
    // emptied or filled), true again at the next edge. An operation on a side known not ready
    // parks without a syscall that could only say EAGAIN (Tokio clears readiness the same way).
    bool read_ready = true;
    bool write_ready = true;
    // The peer's FIN, a reset or an error was seen (EPOLLRDHUP, EPOLLHUP, EPOLLERR). Final, as
    // Tokio's READ_CLOSED: a short recv then does not mean "drained", since the EOF or error
    // after the data is still to be read and no further edge will announce it.
    bool read_closed = false;
    // Edges seen on each side (wrapping): submit() runs its syscall outside the lock and
    // compares these before and after, to tell an EAGAIN from before an edge.
    std::uint32_t read_edges = 0;
    std::uint32_t write_edges = 0;
  };

  static weft::StatusOr<std::unique_ptr<Backend>> create();
  ~EpollBackend() override;

  IoBackend kind() const override { return IoBackend::kEpoll; }
  weft::StatusOr<io::Source*> register_fd(int fd) override;
  void close(io::Source* source) override;
  bool submit(io::Source& source, Operation& op, MakeWaker make_waker) override;
  bool cancel(io::Source& source, Operation& op) override;
  std::size_t poll(std::optional<std::chrono::nanoseconds> timeout,
                   std::size_t max_events) override;
  void interrupt() override;
  bool has_sources() const override {
    return sources_.load(std::memory_order_relaxed) != 0;  // [E1] relaxed: a hint
  }

 private:
  EpollBackend(int epfd, int eventfd) : epfd_(epfd), eventfd_(eventfd) {}
  void free_retired();

  const int epfd_;
  const int eventfd_;
  std::atomic<std::size_t> sources_{0};
  std::mutex retired_mu_;
  std::vector<Source*> retired_;  // guarded by retired_mu_
};

}  // namespace weft::io
