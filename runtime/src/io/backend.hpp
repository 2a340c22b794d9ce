// The reactor backend contract: operation-level and completion-style, with the ownership rules
// that let a completion backend (io_uring, IOCP) sit behind it as well as a readiness one (epoll,
// kqueue).
//
// A backend takes whole operations (accept, connect, recv, send: io/operation.hpp) and reports
// them complete, rather than reporting fds ready:
//   * readiness backends try the syscall at once and, on EAGAIN, park the operation on its fd and
//     perform it when the fd becomes ready (runtime/src/io/epoll_backend.*);
//   * completion backends hand the operation to the kernel and reap it
//     (runtime/src/io/uring_backend.*).
// Either way the caller sees the same three steps: submit, maybe suspend, get woken with a result.
//
// Ownership: who may touch which memory, and until when (the rules a completion backend needs).
//   [O1] The caller's Operation and its buffer (the awaiting coroutine frame) are the backend's
//        only from submit() until the operation completes or cancel() returns. The backend reads
//        the inputs (the bytes to send, the address to connect to) and writes the outputs (the
//        result, the bytes received, the peer's address) only in that window and only under the
//        source's lock; cancel() takes the same lock, so once it returns nothing writes there.
//   [O2] The kernel never holds a pointer into the caller's memory across a return to the
//        caller. A readiness backend runs each syscall inside submit() (whose caller is
//        blocked in it) or inside poll() under the source's lock while the operation is
//        pending (cancel() waits for that lock). A completion backend gives the kernel
//        only memory the backend owns (a staging buffer and address storage per source and
//        side) and copies between that and the caller's Operation under the source's lock.
//   [O3] cancel() is synchronous for the caller and may be asynchronous for the kernel: once it
//        returns true the caller's Operation and buffer may die, while the kernel may still be
//        finishing the operation into the backend's memory. Nothing it produced is lost: bytes
//        a withdrawn recv received are returned by the next recv on that source, a connection a
//        withdrawn accept took is returned by the next accept. (A withdrawn send may have sent a
//        prefix of its bytes, as a write dropped half-way does in Tokio: write_all is not
//        cancel-safe.) Until the kernel lets go, the source's side stays busy for the kernel; a
//        new operation on that side waits behind it, invisibly to the caller.
//   [O4] close() completes the source's pending operations with ECANCELED (their tasks are
//        woken) and closes the fd; the Source's memory lives on until the kernel has released
//        every operation on it, and is then freed by the backend (never by the caller).
//   [O5] One owner per source: submit(), cancel() and close() of one source come from its
//        owner (the socket object) and never overlap with its close(); only poll() runs beside
//        them. So a backend may use the fd outside the source's lock inside submit().
//   [O6] A task aborted or dropped with I/O in flight (IoOp's destructor, io/op_awaiter.hpp)
//        calls cancel(), so [O1]-[O3] cover abort, shutdown and timeouts alike.
//   [O7] shut_down() (the runtime's shutdown begins) is final. From then on submit() completes
//        every operation at once with ECANCELED, without a syscall, and poll() completes no
//        pending operation: what the kernel delivers for one is kept as for a withdrawn one
//        ([O3]) and its task stays suspended until the runtime drops it (Tokio drops every task
//        at shutdown, and its I/O resources report "the runtime is shutting down"). So I/O can no
//        longer keep tasks running, a peer that keeps sending cannot hold the drain open, and a
//        socket that outlives its runtime fails its operations instead of waiting for a poller
//        that is gone. cancel() and close() work as before.
//
// The calls (any thread unless said otherwise):
//   Backend::create(kind)           -> the backend, or why it cannot run here (io_uring disabled
//                                      by the kernel or a seccomp filter: FailedPrecondition)
//   b.register_fd(fd)               -> Source*: the fd now belongs to b
//   b.close(source)                 see [O4]; the caller forgets the Source
//   b.submit(source, op, make_waker)-> true: completed now (op.result set, no waker taken);
//                                      false: pending; make_waker() was called once and the
//                                      waker is woken (from some thread's poll) once op.result
//                                      is set. At most one read-side (accept, recv) and one
//                                      write-side (connect, send) operation per source pend at
//                                      a time; another completes at once with EBUSY.
//   b.cancel(source, op)            -> true: withdrawn, it will never complete ([O3]); false: it
//                                      has completed already (its wake may still be on its way)
//   b.poll(timeout, max)            waits up to timeout (nullopt: forever; 0: not at all) for
//                                      completions, wakes at most about `max` of them (the room
//                                      in the poller's run queue) outside any backend lock,
//                                      returns how many. One thread polls at a time.
//   b.interrupt()                   makes a blocked poll return soon.
//   b.shut_down()                   see [O7]; idempotent. b.is_shut_down() says whether it was.
//   b.has_sources()                 whether any fd is registered (a poll would find nothing).
//   b.stats()                       the syscalls made so far (IoStats).
//
// On Linux both epoll and io_uring are compiled in and RuntimeOptions::io picks one per runtime;
// Windows has IOCP (io/iocp_backend.*), macOS and the BSDs kqueue (io/kqueue_backend.*). The
// platform-specific socket calls outside the backends live in net/sys.hpp.
//
// Synchronization map:
//   [B1] relaxed RMW/load of the statistics counters: values for Runtime::stats(), no ordering.
//   [B2] release store of shut_down_ in shut_down() / acquire loads in is_shut_down() (submit,
//        poll, the sockets' error reports): whoever sees the flag sees what the shutting-down
//        thread did before (the scheduler's phase change). A submit or poll that reads it just
//        before the store completes one more operation, as if it had run a moment earlier.
//   The registered-source count is each backend's (see its synchronization map).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

#include "weft/status.hpp"
#include "io/operation.hpp"
#include "weft/runtime_options.hpp"
#include "weft/scheduler/stats.hpp"

namespace weft::io {

// A registered fd. Each backend derives its own; callers only hold the pointer.
struct Source {
 protected:
  Source() = default;
  ~Source() = default;
};

class Backend {
 public:
  static weft::StatusOr<std::unique_ptr<Backend>> create(IoBackend kind);
  virtual ~Backend() = default;
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  virtual IoBackend kind() const = 0;
  virtual weft::StatusOr<Source*> register_fd(net::NativeSocket socket) = 0;
  virtual void close(Source* source) = 0;
  virtual bool submit(Source& source, Operation& op, MakeWaker make_waker) = 0;
  virtual bool cancel(Source& source, Operation& op) = 0;
  virtual std::size_t poll(std::optional<std::chrono::nanoseconds> timeout,
                           std::size_t max_events) = 0;
  virtual void interrupt() = 0;
  virtual bool has_sources() const = 0;

  // [O7]: from now on every operation fails at once with ECANCELED and none completes.
  void shut_down() {
    shut_down_.store(true, std::memory_order_release);  // [B2] release: see the map
    interrupt();  // a blocked poll goes round and stops completing
  }
  bool is_shut_down() const {
    return shut_down_.load(std::memory_order_acquire);  // [B2] acquire: pairs with shut_down()
  }

  IoStats stats() const {
    IoStats s;
    s.io_syscalls = syscalls_.load(std::memory_order_relaxed);        // [B1] relaxed
    s.io_waits = waits_.load(std::memory_order_relaxed);              // [B1] relaxed
    s.io_completions = completions_.load(std::memory_order_relaxed);  // [B1] relaxed
    return s;
  }

 protected:
  Backend() = default;
  void count_syscalls(std::uint64_t n = 1) {
    syscalls_.fetch_add(n, std::memory_order_relaxed);  // [B1] relaxed: a statistic
  }
  void count_wait() {
    waits_.fetch_add(1, std::memory_order_relaxed);  // [B1] relaxed: a statistic
  }
  void count_completions(std::uint64_t n) {
    completions_.fetch_add(n, std::memory_order_relaxed);  // [B1] relaxed: a statistic
  }

 private:
  std::atomic<std::uint64_t> syscalls_{0};
  std::atomic<std::uint64_t> waits_{0};
  std::atomic<std::uint64_t> completions_{0};
  std::atomic<bool> shut_down_{false};
};

}  // namespace weft::io
