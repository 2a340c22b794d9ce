// EpollBackend: registration, the syscalls of each operation, and the poll loop.
//
// Synchronization map:
//   [E1] relaxed RMW of the registered-source count (see epoll_backend.hpp).
//   [E2] release RMW of that count in register_fd / acquire load in poll: publishes a new
//        Source to the poller that the kernel hands its pointer to (see epoll_backend.hpp).
#include "io/epoll_backend.hpp"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <ctime>
#include <string>

#include "weft/io/errors.hpp"

namespace weft::io {

namespace {

// perform()'s answer when the operation must wait for readiness (no errno collides with it).
constexpr std::int64_t kPending = INT64_MIN;

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
        n = ::send(fd, op.buf, op.len, MSG_NOSIGNAL);
        break;
      case OpCode::kAccept:
        op.addrlen = sizeof(op.addr);
        n = ::accept4(fd, reinterpret_cast<sockaddr*>(&op.addr), &op.addrlen,
                      SOCK_NONBLOCK | SOCK_CLOEXEC);
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

Operation*& slot_of(EpollBackend::Source& s, OpCode code) {
  return direction_of(code) == Direction::kRead ? s.reader : s.writer;
}
bool& ready_of(EpollBackend::Source& s, OpCode code) {
  return direction_of(code) == Direction::kRead ? s.read_ready : s.write_ready;
}

std::uint32_t& edges_of(EpollBackend::Source& s, OpCode code) {
  return direction_of(code) == Direction::kRead ? s.read_edges : s.write_edges;
}

// Under the source's lock: the side's readiness after the operation's syscall answered r. A
// short recv or send means the kernel buffer was emptied or filled at that instant: the next
// data or room comes with a new edge. Not so the EOF or error queued behind data that arrived
// with it: once the peer's end was seen (read_closed), a short recv leaves the side ready.
void note_result(EpollBackend::Source& s, const Operation& op, std::int64_t r) {
  const bool short_transfer =
      (op.code == OpCode::kRecv || op.code == OpCode::kSend) && r > 0 &&
      static_cast<std::size_t>(r) < op.len;
  const bool eof_pending = op.code == OpCode::kRecv && s.read_closed;
  if (r == kPending || (short_transfer && !eof_pending)) ready_of(s, op.code) = false;
}

// Under the source's lock: runs the operation's syscall and updates the side's readiness.
std::int64_t perform_tracked(EpollBackend::Source& s, Operation& op, std::uint64_t& calls) {
  const std::int64_t r = perform(s.fd, op, calls);
  note_result(s, op, r);
  return r;
}

// Under the source's lock, after an edge on this side: performs the parked operation in `slot`.
// Returns its waker once it completed (to be woken after the lock is released).
Waker try_complete(EpollBackend::Source& s, Operation*& slot, std::uint64_t& calls) {
  Operation* op = slot;
  if (op == nullptr) return {};
  const std::int64_t r = perform_tracked(s, *op, calls);
  if (r == kPending) return {};
  op->result = r;
  slot = nullptr;
  return std::move(op->waker);
}

}  // namespace

weft::StatusOr<std::unique_ptr<Backend>> EpollBackend::create() {
  const int epfd = ::epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) return errno_status("epoll_create1", errno);
  const int evfd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (evfd < 0) {
    const int err = errno;
    ::close(epfd);
    return errno_status("eventfd", err);
  }
  // The eventfd is the one registration with a null data pointer. Each write makes a new edge.
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLET;
  ev.data.ptr = nullptr;
  if (::epoll_ctl(epfd, EPOLL_CTL_ADD, evfd, &ev) != 0) {
    const int err = errno;
    ::close(evfd);
    ::close(epfd);
    return errno_status("epoll_ctl(ADD eventfd)", err);
  }
  return std::unique_ptr<Backend>(new EpollBackend(epfd, evfd));
}

EpollBackend::~EpollBackend() {
  free_retired();
  ::close(eventfd_);
  ::close(epfd_);
}

weft::StatusOr<io::Source*> EpollBackend::register_fd(int fd) {
  auto source = std::make_unique<Source>(fd);
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = source.get();
  // [E2] release: the Source is constructed before the kernel can hand its pointer to a poll on
  // another thread. epoll_ctl/epoll_wait order that in the kernel, invisibly to the C++ model
  // (and to TSan); pairs with the acquire load in poll.
  sources_.fetch_add(1, std::memory_order_release);
  count_syscalls();
  if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    const int err = errno;
    sources_.fetch_sub(1, std::memory_order_relaxed);  // [E1] relaxed: a hint
    return errno_status("epoll_ctl(ADD)", err);
  }
  return source.release();
}

void EpollBackend::close(io::Source* base) {
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
    ::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
    ::close(fd);
    count_syscalls(2);
    sources_.fetch_sub(1, std::memory_order_relaxed);  // [E1] relaxed: a hint
  }
  reader.wake();
  writer.wake();
  std::lock_guard lock(retired_mu_);
  retired_.push_back(source);
}

bool EpollBackend::submit(io::Source& base, Operation& op, MakeWaker make_waker) {
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
  // A connect always starts with its syscall; other operations skip it on a side known not
  // ready, since it could only say EAGAIN. The syscall runs outside the lock, so that the poller
  // never waits for it (a send on loopback takes microseconds). An edge on this side meanwhile
  // (edges_of changed) may have come after the kernel said EAGAIN: then try again rather than
  // park, since no later edge would announce that readiness.
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

bool EpollBackend::cancel(io::Source& base, Operation& op) {
  auto& source = static_cast<Source&>(base);
  std::lock_guard lock(source.lock);
  Operation*& slot = slot_of(source, op.code);
  if (slot != &op) return false;
  slot = nullptr;
  op.waker.reset();
  return true;
}

void EpollBackend::free_retired() {
  std::vector<Source*> dead;
  {
    std::lock_guard lock(retired_mu_);
    dead.swap(retired_);
  }
  for (Source* s : dead) delete s;
}

std::size_t EpollBackend::poll(std::optional<std::chrono::nanoseconds> timeout,
                                std::size_t max_events) {
  // Every batch that could still name these sources has been processed (one poller at a time).
  free_retired();
  // Each event completes at most two operations (a read and a write side); an event left in the
  // kernel's ready list is returned by the next poll, in order.
  constexpr int kMaxEvents = 256;
  epoll_event events[kMaxEvents];
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
  int n = ::epoll_pwait2(epfd_, events, max, tsp, nullptr);
  if (n < 0 && errno == ENOSYS) {  // kernels before 5.11: millisecond timeouts, rounded up
    const int ms = !timeout ? -1
                            : static_cast<int>(std::min<std::int64_t>(
                                  (std::max<std::int64_t>(timeout->count(), 0) + 999'999) / 1'000'000,
                                  INT_MAX));
    n = ::epoll_wait(epfd_, events, max, ms);
    ++calls;
  }
  if (n <= 0) {  // timeout, or EINTR: the caller re-polls
    count_syscalls(calls);
    return 0;
  }
  // [E2] acquire: the construction of every Source these events name (pairs with register_fd;
  // the count's later RMWs continue that release sequence).
  (void)sources_.load(std::memory_order_acquire);
  // [O7]: after shut_down() an edge only updates the readiness; the parked operations stay
  // parked until their tasks are dropped (cancel) or their sockets closed.
  const bool stopped = is_shut_down();
  std::size_t completed = 0;
  for (int i = 0; i < n; ++i) {
    auto* source = static_cast<Source*>(events[i].data.ptr);
    if (source == nullptr) continue;  // the eventfd: its job (ending the wait) is done
    const std::uint32_t ev = events[i].events;
    Waker reader, writer;
    {
      std::lock_guard lock(source->lock);
      if (source->fd < 0) continue;
      if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        source->read_ready = true;
        ++source->read_edges;
        if (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) source->read_closed = true;
        if (!stopped) reader = try_complete(*source, source->reader, calls);
      }
      if (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR)) {
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

void EpollBackend::interrupt() {
  const std::uint64_t one = 1;
  // EAGAIN means the counter is near overflow: a wake-up is pending anyway.
  [[maybe_unused]] ssize_t r = ::write(eventfd_, &one, sizeof(one));
  count_syscalls();
}

}  // namespace weft::io
