// The reactor backend contract: operation-level and completion-style.
//
// A backend takes whole operations (accept, connect, recv, send: io/operation.hpp) and reports
// them complete, rather than reporting fds ready. That shape fits both families natively:
//   * readiness backends (epoll, kqueue) try the syscall at once and, on EAGAIN, park the
//     operation on its fd and perform it when the fd becomes ready;
//   * completion backends (io_uring, IOCP) hand the operation to the kernel and reap it.
// Either way the caller sees the same three steps: submit, maybe suspend, get woken with a result.
//
//   B::create()                     -> absl::StatusOr<std::unique_ptr<B>>
//   b.register_fd(fd)               -> absl::StatusOr<B::Source*>: the fd now belongs to b
//   b.close(source)                 cancels what is pending on it (ECANCELED), closes the fd
//   b.submit(source, op, make_waker)-> true: completed now (op.result set, no waker taken);
//                                      false: pending; make_waker() was called once and the
//                                      waker is woken (from some thread's poll) once op.result
//                                      is set. At most one read-side (accept, recv) and one
//                                      write-side (connect, send) operation per source pend at
//                                      a time; another completes at once with EBUSY.
//   b.cancel(source, op)            -> true: withdrawn, it will never complete; false: it has
//                                      completed already (its wake may still be on its way)
//   b.poll(timeout, max)            waits up to timeout (nullopt: forever; 0: not at all) for
//                                      completions, wakes at most about `max` of them (the room
//                                      in the poller's run queue) outside any backend lock,
//                                      returns how many. One thread polls at a time.
//   b.interrupt()                   makes a blocked poll return soon (any thread).
//   b.has_sources()                 whether any fd is registered (a poll would find nothing).
//
// One backend is compiled per platform, picked at configure time with
// -DWEFT_IO_BACKEND=auto|epoll (auto: epoll on Linux). io_uring, kqueue and IOCP fit the same
// contract and are not written yet; CMake refuses them with a clear message.
#pragma once

#include <chrono>
#include <concepts>
#include <memory>
#include <optional>

#include "absl/status/statusor.h"
#include "weft/io/operation.hpp"

#if defined(WEFT_IO_BACKEND_EPOLL)
#include "weft/io/epoll_backend.hpp"
#else
#error "weft: no I/O backend selected (configure with -DWEFT_IO_BACKEND=auto|epoll)"
#endif

namespace weft::io {

template <class B>
concept Backend = requires(B& b, typename B::Source* source, Operation& op, int fd,
                           std::optional<std::chrono::nanoseconds> timeout) {
  { B::create() } -> std::same_as<absl::StatusOr<std::unique_ptr<B>>>;
  { b.register_fd(fd) } -> std::same_as<absl::StatusOr<typename B::Source*>>;
  { b.close(source) } -> std::same_as<void>;
  { b.submit(*source, op, MakeWaker{}) } -> std::same_as<bool>;
  { b.cancel(*source, op) } -> std::same_as<bool>;
  { b.poll(timeout, std::size_t{}) } -> std::same_as<std::size_t>;
  { b.interrupt() } -> std::same_as<void>;
  { b.has_sources() } -> std::same_as<bool>;
};

#if defined(WEFT_IO_BACKEND_EPOLL)
using SelectedBackend = EpollBackend;
#endif
static_assert(Backend<SelectedBackend>);

}  // namespace weft::io
