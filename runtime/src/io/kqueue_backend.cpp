// KqueueBackend: registration, the syscalls of each operation, and the poll loop. The structure
// is epoll_backend.cpp's, step for step; the comments here say where kqueue differs.
//
// Synchronization map:
//   [K1] relaxed RMW of the registered-source count (see kqueue_backend.hpp).
//   [K2] release RMW of that count in register_fd / acquire load in poll: publishes a new
//        Source to the poller that the kernel hands its pointer to (see kqueue_backend.hpp).
#include "io/kqueue_backend.hpp"

#include <fcntl.h>
#include <sys/event.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <ctime>
#include <utility>

#include "weft/io/errors.hpp"

namespace weft::io {

namespace {

// perform()'s answer when the operation must wait for readiness (no errno collides with it).
constexpr std::int64_t kPending = INT64_MIN;

#if defined(MSG_NOSIGNAL)
constexpr int kSendFlags = MSG_NOSIGNAL;
#else
constexpr int kSendFlags = 0;  // macOS: the socket has SO_NOSIGPIPE instead (accept_socket)
#endif

// accept4 where there is one (FreeBSD; Linux under libkqueue). macOS has none: accept(), then
// the flags with fcntl (a fresh socket has no other status flag to keep). Either way the new
// socket gets SO_NOSIGPIPE where it exists, as net/sys_posix.cpp gives the sockets it opens.
// Returns the new socket, or -1 with errno set; adds the syscalls after the first to `calls`.
int accept_socket(int fd, Operation& op, [[maybe_unused]] std::uint64_t& calls) {
  auto* addr = reinterpret_cast<sockaddr*>(&op.addr);
  op.addrlen = sizeof(op.addr);
#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
  const int s = ::accept4(fd, addr, &op.addrlen, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (s < 0) return -1;
#else
  const int s = ::accept(fd, addr, &op.addrlen);
  if (s < 0) return -1;
  calls += 2;
  if (::fcntl(s, F_SETFL, O_NONBLOCK) != 0 || ::fcntl(s, F_SETFD, FD_CLOEXEC) != 0) {
    const int err = errno;
    ::close(s);  // the connection is lost; the accept reports why
    errno = err;
    return -1;
  }
#endif
#if defined(SO_NOSIGPIPE)
  const int one = 1;
  ++calls;
  ::setsockopt(s, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof(one));
#endif
  return s;
}

// Runs the operation's syscall once on a non-blocking fd (adding the syscalls made to `calls`).
// Returns the result, -errno, or kPending (the fd is not ready).
std::int64_t perform(int fd, Operation& op, std::uint64_t& calls) {
  for (;;) {
    ssize_t n = 0;
    if (op.code != OpCode::kConnect) ++calls;
    switch (op.code) {
      case OpCode::kRecv:
        n = ::recv(fd, op.buf, op.len, 0);
        break;
      case OpCode::kSend:
        n = ::send(fd, op.buf, op.len, kSendFlags);
        break;
      case OpCode::kAccept:
        n = accept_socket(fd, op, calls);
        break;
      case OpCode::kConnect: {
        if (!op.started) {
          op.started = true;
          ++calls;
          if (::connect(fd, reinterpret_cast<const sockaddr*>(&op.addr), op.addrlen) == 0) return 0;
          // EINTR: the connection goes on in the background, as with EINPROGRESS.
          if (errno == EINPROGRESS || errno == EINTR) return kPending;
          return -errno;  // EAGAIN here means no local port was free: an error, not a wait
        }
        int err = 0;
        socklen_t len = sizeof(err);
        ++calls;
        if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return -errno;
        if (err != 0) return -err;
        sockaddr_storage peer{};
        socklen_t peer_len = sizeof(peer);
        ++calls;
        if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) == 0) return 0;
        return errno == ENOTCONN ? kPending : -errno;
      }
    }
    if (n >= 0) return n;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return kPending;
    return -errno;
  }
}

Operation*& slot_of(KqueueBackend::Source& s, OpCode code) {
  return direction_of(code) == Direction::kRead ? s.reader : s.writer;
}
bool& ready_of(KqueueBackend::Source& s, OpCode code) {
  return direction_of(code) == Direction::kRead ? s.read_ready : s.write_ready;
}

std::uint32_t& edges_of(KqueueBackend::Source& s, OpCode code) {
  return direction_of(code) == Direction::kRead ? s.read_edges : s.write_edges;
}

// Under the source's lock: the side's readiness after the operation's syscall answered r (as in
// epoll_backend.cpp: a short transfer emptied or filled the kernel buffer, unless the peer's end
// was seen and its EOF or error still waits behind the data).
void note_result(KqueueBackend::Source& s, const Operation& op, std::int64_t r) {
  const bool short_transfer =
      (op.code == OpCode::kRecv || op.code == OpCode::kSend) && r > 0 &&
      static_cast<std::size_t>(r) < op.len;
  const bool eof_pending = op.code == OpCode::kRecv && s.read_closed;
  if (r == kPending || (short_transfer && !eof_pending)) ready_of(s, op.code) = false;
}

// Under the source's lock, after an edge on this side: performs the parked operation in `slot`.
// Returns its waker once it completed (to be woken after the lock is released).
Waker try_complete(KqueueBackend::Source& s, Operation*& slot, std::uint64_t& calls) {
  Operation* op = slot;
  if (op == nullptr) return {};
  const std::int64_t r = perform(s.fd, *op, calls);
  note_result(s, *op, r);
  if (r == kPending) return {};
  op->result = r;
  slot = nullptr;
  return std::move(op->waker);
}

// A change to both filters of `fd`.
void set_both(struct kevent (&changes)[2], int fd, std::uint16_t flags, void* udata) {
  const auto ident = static_cast<std::uintptr_t>(fd);
  EV_SET(&changes[0], ident, EVFILT_READ, flags, 0, 0, udata);
  EV_SET(&changes[1], ident, EVFILT_WRITE, flags, 0, 0, udata);
}

}  // namespace

weft::StatusOr<std::unique_ptr<Backend>> KqueueBackend::create() {
  const int kq = ::kqueue();
  if (kq < 0) return errno_status("kqueue", errno);
  // Close-on-exec, as EPOLL_CLOEXEC; then the wake-up event, the one with a null udata. Each
  // NOTE_TRIGGER makes it fire once (EV_CLEAR resets it when a poll returns it).
  struct kevent ev;
  EV_SET(&ev, 0, EVFILT_USER, EV_ADD | EV_CLEAR, 0, 0, nullptr);
  const char* failed = nullptr;
  if (::fcntl(kq, F_SETFD, FD_CLOEXEC) != 0) {
    failed = "fcntl(kqueue)";
  } else if (::kevent(kq, &ev, 1, nullptr, 0, nullptr) != 0) {
    failed = "kevent(EVFILT_USER)";
  }
  if (failed != nullptr) {
    const int err = errno;
    ::close(kq);
    return errno_status(failed, err);
  }
  return std::unique_ptr<Backend>(new KqueueBackend(kq));
}

KqueueBackend::~KqueueBackend() {
  free_retired();
  ::close(kq_);
}

weft::StatusOr<io::Source*> KqueueBackend::register_fd(int fd) {
  auto source = std::make_unique<Source>(fd);
  // Both filters in one call. EV_RECEIPT: each change reports its own outcome in `out`
  // (EV_ERROR, with 0 or the errno in data) and the call returns no pending event, so a failure
  // of one change is seen even if the other took.
  struct kevent changes[2];
  struct kevent out[2];
  set_both(changes, fd, EV_ADD | EV_CLEAR | EV_RECEIPT, source.get());
  // [K2] release: the Source is constructed before the kernel can hand its pointer to a poll on
  // another thread. kevent orders that in the kernel, invisibly to the C++ model (and to TSan);
  // pairs with the acquire load in poll.
  sources_.fetch_add(1, std::memory_order_release);
  count_syscalls();
  const timespec no_wait{};
  const int n = ::kevent(kq_, changes, 2, out, 2, &no_wait);
  int err = n < 0 ? errno : 0;
  for (int i = 0; i < n && err == 0; ++i) {
    if ((out[i].flags & EV_ERROR) != 0 && out[i].data != 0) err = static_cast<int>(out[i].data);
  }
  if (err == 0) return source.release();
  sources_.fetch_sub(1, std::memory_order_relaxed);  // [K1] relaxed: a hint
  // One filter may have taken, and fired into a poll already: remove it and retire the Source as
  // close() does (fd = -1, freed by a later poll), but leave the fd open: it is still the caller's.
  set_both(changes, fd, EV_DELETE | EV_RECEIPT, nullptr);
  (void)::kevent(kq_, changes, 2, out, 2, &no_wait);  // ENOENT for the one never added
  count_syscalls();
  {
    std::lock_guard lock(source->lock);
    source->fd = -1;
  }
  std::lock_guard lock(retired_mu_);
  retired_.push_back(source.release());
  return errno_status("kevent(EV_ADD)", err);
}

void KqueueBackend::close(io::Source* base) {
  auto* source = static_cast<Source*>(base);
  Waker reader, writer;
  int fd = -1;
  {
    std::lock_guard lock(source->lock);
    fd = std::exchange(source->fd, -1);
    for (Operation** slot : {&source->reader, &source->writer}) {
      if (*slot == nullptr) continue;
      (*slot)->result = -ECANCELED;
      (slot == &source->reader ? reader : writer) = std::move((*slot)->waker);
      *slot = nullptr;
    }
  }
  if (fd >= 0) {
#if defined(__linux__)
    // libkqueue keeps the kevents of a closed fd (a BSD kernel drops them): delete them first.
    struct kevent changes[2];
    set_both(changes, fd, EV_DELETE, nullptr);
    (void)::kevent(kq_, changes, 2, nullptr, 0, nullptr);
    count_syscalls();
#endif
    ::close(fd);  // removes its kevents, also those not yet returned by a poll
    count_syscalls();
    sources_.fetch_sub(1, std::memory_order_relaxed);  // [K1] relaxed: a hint
  }
  reader.wake();
  writer.wake();
  std::lock_guard lock(retired_mu_);
  retired_.push_back(source);
}

bool KqueueBackend::submit(io::Source& base, Operation& op, MakeWaker make_waker) {
  auto& source = static_cast<Source&>(base);
  std::unique_lock lock(source.lock);
  Operation*& slot = slot_of(source, op.code);
  if (source.fd < 0) {
    op.result = -EBADF;
    return true;
  }
  if (is_shut_down()) {
    op.result = -ECANCELED;  // [O7]: the runtime is shutting down (or gone)
    return true;
  }
  if (slot != nullptr) {
    op.result = -EBUSY;  // one pending read-side and one write-side operation per socket
    return true;
  }
  // As in epoll_backend.cpp: the syscall runs outside the lock, skipped on a side known not
  // ready (except a connect's); an edge meanwhile means try again rather than park.
  while (op.code == OpCode::kConnect || ready_of(source, op.code)) {
    const std::uint32_t edges = edges_of(source, op.code);
    const int fd = source.fd;  // close() never runs beside submit() on one source (backend.hpp)
    lock.unlock();
    std::uint64_t calls = 0;
    const std::int64_t r = perform(fd, op, calls);
    count_syscalls(calls);
    lock.lock();
    const bool quiet = edges_of(source, op.code) == edges;
    if (quiet) note_result(source, op, r);  // else the edge says ready, whatever r says
    if (r != kPending) {
      op.result = r;
      return true;
    }
    if (quiet) break;
  }
  op.waker = make_waker();
  slot = &op;
  return false;
}

bool KqueueBackend::cancel(io::Source& base, Operation& op) {
  auto& source = static_cast<Source&>(base);
  std::lock_guard lock(source.lock);
  Operation*& slot = slot_of(source, op.code);
  if (slot != &op) return false;
  slot = nullptr;
  op.waker.reset();
  return true;
}

void KqueueBackend::free_retired() {
  std::vector<Source*> dead;
  {
    std::lock_guard lock(retired_mu_);
    dead.swap(retired_);
  }
  for (Source* s : dead) delete s;
}

std::size_t KqueueBackend::poll(std::optional<std::chrono::nanoseconds> timeout,
                                std::size_t max_events) {
  // Every batch that could still name these sources has been processed (one poller at a time).
  free_retired();
  // Each event completes at most one operation (two for an error); an event left in the kernel's
  // queue is returned by the next poll.
  constexpr int kMaxEvents = 256;
  struct kevent events[kMaxEvents];
  const int max = static_cast<int>(std::clamp<std::size_t>(max_events, 1, kMaxEvents));
  timespec ts{};
  timespec* tsp = nullptr;
  if (timeout) {
    const auto ns = std::max<std::int64_t>(timeout->count(), 0);
    ts.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(ns % 1'000'000'000);
    tsp = &ts;
  }
  if (!timeout || timeout->count() > 0) count_wait();
  std::uint64_t calls = 1;
  const int n = ::kevent(kq_, nullptr, 0, events, max, tsp);
  if (n <= 0) {  // timeout, or EINTR: the caller re-polls
    count_syscalls(calls);
    return 0;
  }
  // [K2] acquire: the construction of every Source these events name (pairs with register_fd;
  // the count's later RMWs continue that release sequence).
  (void)sources_.load(std::memory_order_acquire);
  // [O7]: after shut_down() an edge only updates the readiness; the parked operations stay
  // parked until their tasks are dropped (cancel) or their sockets closed.
  const bool stopped = is_shut_down();
  std::size_t completed = 0;
  for (int i = 0; i < n; ++i) {
    const struct kevent& ev = events[i];
    auto* source = static_cast<Source*>(ev.udata);
    if (source == nullptr) continue;  // the EVFILT_USER event: its job (ending the wait) is done
    // One event is one side, but an error (EV_ERROR, or EV_EOF carrying the socket's error in
    // fflags) is EPOLLERR: both sides, and the read side closed. The parked operations then get
    // the error from their syscalls. EV_EOF on the read filter is the peer's FIN (EPOLLRDHUP).
    const bool error = (ev.flags & EV_ERROR) != 0 || ((ev.flags & EV_EOF) != 0 && ev.fflags != 0);
    const bool on_read = error || ev.filter == EVFILT_READ;
    const bool on_write = error || ev.filter == EVFILT_WRITE;
    Waker reader, writer;
    {
      std::lock_guard lock(source->lock);
      if (source->fd < 0) continue;
      if (on_read) {
        source->read_ready = true;
        ++source->read_edges;
        if (error || (ev.flags & EV_EOF) != 0) source->read_closed = true;
        if (!stopped) reader = try_complete(*source, source->reader, calls);
      }
      if (on_write) {
        source->write_ready = true;
        ++source->write_edges;
        if (!stopped) writer = try_complete(*source, source->writer, calls);
      }
    }
    completed += (reader ? 1 : 0) + (writer ? 1 : 0);
    reader.wake();
    writer.wake();
  }
  count_syscalls(calls);
  count_completions(completed);
  return completed;
}

void KqueueBackend::interrupt() {
  struct kevent ev;
  EV_SET(&ev, 0, EVFILT_USER, 0, NOTE_TRIGGER, 0, nullptr);
  // A trigger while one is pending merges with it: a wake-up is pending anyway.
  (void)::kevent(kq_, &ev, 1, nullptr, 0, nullptr);
  count_syscalls();
}

}  // namespace weft::io
