// UringBackend: ring set-up, staging, submission, reaping and cancellation (uring_backend.hpp).
//
// Synchronization map:
//   [U1] relaxed RMW of the registered-source count (see uring_backend.hpp).
//   [U3] relaxed load/store of waiting_: written under sq_lock_; kick() reads it first without
//        the lock, after its queue() took that lock (see kick()).
//   [U2] the ring's shared indices, through liburing's barriers: a release store of the SQ tail
//        after the SQEs are written (the kernel reads them after it sees the tail), an acquire
//        load of the SQ head (the kernel's progress). The CQ side is liburing's own.
#include "io/uring_backend.hpp"

#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <utility>

#include "weft/io/errors.hpp"

namespace weft::io {

namespace {

constexpr std::uint64_t kWakeTag = 1;    // the eventfd read
constexpr std::uint64_t kCancelTag = 2;  // an ASYNC_CANCEL's own completion
constexpr std::uint64_t kGenMask = 15;   // Slot is 16-aligned
constexpr unsigned kSqEntries = 1024;
constexpr unsigned kCqEntries = 16384;  // completions the kernel can post before we reap

using Slot = UringBackend::Slot;

Slot& side_of(UringBackend::Source& s, OpCode code) {
  return direction_of(code) == Direction::kRead ? s.read : s.write;
}

std::uint64_t tag_of(const Slot& slot) {
  return reinterpret_cast<std::uintptr_t>(&slot) | slot.gen;
}

std::string disabled_hint() {
  std::ifstream f("/proc/sys/kernel/io_uring_disabled");
  std::string v;
  if (f >> v) return " (kernel.io_uring_disabled = " + v + ")";
  return "";
}

}  // namespace

weft::StatusOr<std::unique_ptr<Backend>> UringBackend::create() {
  const int evfd = ::eventfd(0, EFD_CLOEXEC);  // blocking: the ring's read of it waits
  if (evfd < 0) return errno_status("eventfd", errno);
  std::unique_ptr<UringBackend> b(new UringBackend(evfd));
  io_uring_params params{};
  params.flags = IORING_SETUP_CQSIZE;
  params.cq_entries = kCqEntries;
  const int r = io_uring_queue_init_params(kSqEntries, &b->ring_, &params);
  if (r < 0) {
    return weft::FailedPreconditionError(
        "weft: io_uring is not available here: io_uring_setup: " + std::string(std::strerror(-r)) +
        disabled_hint() + "; a seccomp filter or container policy may refuse it too. Use io=epoll");
  }
  b->ring_ready_ = true;
  const unsigned need = IORING_FEAT_NODROP | IORING_FEAT_EXT_ARG;
  if ((params.features & need) != need) {
    return weft::FailedPreconditionError(
        "weft: this kernel's io_uring lacks NODROP or EXT_ARG (Linux 5.11 or later needed). Use "
        "io=epoll");
  }
  b->arm_wakeup();
  std::unique_lock lock(b->sq_lock_);
  const unsigned n = b->flush_locked();
  lock.unlock();
  b->enter(n, /*wait=*/false, nullptr);
  return std::unique_ptr<Backend>(std::move(b));
}

UringBackend::~UringBackend() {
  if (ring_ready_) {
    // The kernel may hold memory of ours: the wake-up read, and the slots of sources closed
    // with operations in flight (their cancels are queued). Reap until it holds nothing.
    stopping_ = true;
    queue(kCancelTag, [](io_uring_sqe* sqe) { io_uring_prep_cancel64(sqe, kWakeTag, 0); });
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    for (;;) {
      bool busy = wake_in_flight_;
      {
        std::lock_guard lock(retired_mu_);
        busy = busy || !retired_.empty();
      }
      if (!busy || std::chrono::steady_clock::now() >= deadline) break;
      poll(std::chrono::milliseconds(100), SIZE_MAX);
    }
    io_uring_queue_exit(&ring_);
    for (Source* s : retired_) delete s;
  }
  ::close(eventfd_);
}

weft::StatusOr<io::Source*> UringBackend::register_fd(int fd) {
  auto* source = new Source(fd);
  sources_.fetch_add(1, std::memory_order_relaxed);  // [U1] relaxed: a hint
  return source;
}

void UringBackend::close(io::Source* base) {
  auto* s = static_cast<Source*>(base);
  Waker woken[2];
  int fd = -1;
  bool free_now = false;
  {
    std::lock_guard lock(s->lock);
    fd = std::exchange(s->fd, -1);
    int i = 0;
    for (Slot* slot : {&s->read, &s->write}) {
      if (slot->owner != nullptr) {
        slot->owner->result = -ECANCELED;
        woken[i] = std::move(slot->owner->waker);
        slot->owner = nullptr;
        slot->owner_started = false;
      }
      ++i;
      if (slot->in_flight && !slot->cancel_sent) send_cancel(*slot);
      if (slot->stashed_connection()) {
        ::close(static_cast<int>(slot->stash_result));  // a connection nobody will take
        count_syscalls();
      }
      slot->has_stash = false;
      slot->stash_len = 0;
    }
    free_now = can_free(*s);
    if (!free_now) {
      std::lock_guard retired(retired_mu_);
      retired_.insert(s);
    }
  }
  if (fd >= 0) {
    ::close(fd);  // an operation in flight holds the file until its cancel lands
    count_syscalls();
    sources_.fetch_sub(1, std::memory_order_relaxed);  // [U1] relaxed: a hint
  }
  kick();
  for (Waker& w : woken) w.wake();
  if (free_now) delete s;
}

bool UringBackend::submit(io::Source& base, Operation& op, MakeWaker make_waker) {
  auto& s = static_cast<Source&>(base);
  std::unique_lock lock(s.lock);
  if (s.fd < 0) {
    op.result = -EBADF;
    return true;
  }
  if (is_shut_down()) {
    op.result = -ECANCELED;  // [O7]: the runtime is shutting down (or gone)
    return true;
  }
  Slot& slot = side_of(s, op.code);
  if (slot.owner != nullptr) {
    op.result = -EBUSY;  // one pending read-side and one write-side operation per socket
    return true;
  }
  if (slot.has_stash) {  // a withdrawn operation's result, still to be handed out ([O3])
    slot.take_stash(op);
    return true;
  }
  op.waker = make_waker();
  slot.owner = &op;
  slot.owner_started = false;
  if (slot.in_flight) return false;  // it starts when the withdrawn one is reaped
  start(slot);
  lock.unlock();
  kick();
  return false;
}

bool UringBackend::cancel(io::Source& base, Operation& op) {
  auto& s = static_cast<Source&>(base);
  std::unique_lock lock(s.lock);
  Slot& slot = side_of(s, op.code);
  if (slot.owner != &op) return false;
  slot.owner = nullptr;
  op.waker.reset();
  const bool send = slot.owner_started && slot.in_flight && !slot.cancel_sent;
  if (send) send_cancel(slot);
  slot.owner_started = false;
  lock.unlock();
  if (send) kick();
  return true;
}

void UringBackend::start(Slot& slot) {
  Operation& op = *slot.owner;
  slot.owner_started = true;
  slot.in_flight = true;
  slot.cancel_sent = false;
  slot.gen = static_cast<std::uint8_t>((slot.gen + 1) & kGenMask);
  slot.code = op.code;
  const int fd = slot.source->fd;
  const std::uint64_t tag = tag_of(slot);
  const std::size_t n = std::min(op.len, Slot::kMaxStaging);
  switch (op.code) {
    case OpCode::kRecv:
      slot.ensure_capacity(n);
      queue(tag, [&](io_uring_sqe* sqe) { io_uring_prep_recv(sqe, fd, slot.buf.get(), n, 0); });
      break;
    case OpCode::kSend:
      slot.ensure_capacity(n);
      std::memcpy(slot.buf.get(), op.buf, n);  // [O2]: the kernel reads the backend's copy
      queue(tag, [&](io_uring_sqe* sqe) {
        io_uring_prep_send(sqe, fd, slot.buf.get(), n, MSG_NOSIGNAL);
      });
      break;
    case OpCode::kAccept:
      slot.addrlen = sizeof(slot.addr);
      queue(tag, [&](io_uring_sqe* sqe) {
        io_uring_prep_accept(sqe, fd, reinterpret_cast<sockaddr*>(&slot.addr), &slot.addrlen,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
      });
      break;
    case OpCode::kConnect:
      std::memcpy(&slot.addr, &op.addr, sizeof(slot.addr));
      slot.addrlen = op.addrlen;
      queue(tag, [&](io_uring_sqe* sqe) {
        io_uring_prep_connect(sqe, fd, reinterpret_cast<const sockaddr*>(&slot.addr),
                              slot.addrlen);
      });
      break;
  }
}

void UringBackend::send_cancel(Slot& slot) {
  slot.cancel_sent = true;
  const std::uint64_t target = tag_of(slot);
  queue(kCancelTag, [&](io_uring_sqe* sqe) { io_uring_prep_cancel64(sqe, target, 0); });
}

void UringBackend::arm_wakeup() {
  wake_in_flight_ = true;
  queue(kWakeTag, [this](io_uring_sqe* sqe) {
    io_uring_prep_read(sqe, eventfd_, &eventfd_value_, sizeof(eventfd_value_), 0);
  });
}

template <class Fill>
void UringBackend::queue(std::uint64_t tag, Fill&& fill) {
  std::unique_lock lock(sq_lock_);
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  while (sqe == nullptr) {  // the queue is full: hand it to the kernel now
    const unsigned n = flush_locked();
    enter(n, /*wait=*/false, nullptr);
    sqe = io_uring_get_sqe(&ring_);
    if (sqe == nullptr) std::this_thread::yield();  // the kernel is backed up: let the poller reap
  }
  fill(sqe);
  io_uring_sqe_set_data64(sqe, tag);
}

void UringBackend::kick() {
  // [U3] relaxed: our queue() took sq_lock_ after any poll() that set waiting_ before seeing
  // our SQE, so this load sees that true (or a later false: that poller is back and flushes).
  if (!waiting_.load(std::memory_order_relaxed)) return;  // the poller's next turn submits it
  std::unique_lock lock(sq_lock_);
  if (!waiting_.load(std::memory_order_relaxed)) return;  // [U3] relaxed: under sq_lock_
  // The poller is blocked in the ring and would not see it: submit it ourselves.
  const unsigned n = flush_locked();
  lock.unlock();
  enter(n, /*wait=*/false, nullptr);
}

unsigned UringBackend::flush_locked() {
  io_uring_sq& sq = ring_.sq;
  const unsigned tail = sq.sqe_tail;
  if (sq.sqe_head != tail) {
    sq.sqe_head = tail;
    io_uring_smp_store_release(sq.ktail, tail);  // [U2] release: the SQEs before the tail
  }
  return tail - io_uring_smp_load_acquire(sq.khead);  // [U2] acquire: the kernel's progress
}

void UringBackend::enter(unsigned to_submit, bool wait, const __kernel_timespec* ts) {
  if (!wait && to_submit == 0) return;
  unsigned flags = 0;
  io_uring_getevents_arg arg{};
  void* argp = nullptr;
  std::size_t argsz = 0;
  if (wait) {
    flags = IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG;
    arg.ts = reinterpret_cast<std::uintptr_t>(ts);
    argp = &arg;
    argsz = sizeof(arg);
  }
  // Errors: ETIME and EINTR end a wait as a timeout would; EBUSY/EAGAIN (completions backed
  // up) leave the SQEs queued for the next turn, after this one reaps.
  (void)::syscall(__NR_io_uring_enter, ring_.ring_fd, to_submit, wait ? 1 : 0, flags, argp, argsz);
  count_syscalls();
}

std::size_t UringBackend::poll(std::optional<std::chrono::nanoseconds> timeout,
                               std::size_t max_events) {
  const bool may_block = !timeout || timeout->count() > 0;
  bool wait = false;
  unsigned to_submit = 0;
  {
    std::lock_guard lock(sq_lock_);
    to_submit = flush_locked();
    wait = may_block && io_uring_cq_ready(&ring_) == 0;
    if (wait) waiting_.store(true, std::memory_order_relaxed);  // [U3] relaxed: under sq_lock_
  }
  if (wait) {
    count_wait();
    __kernel_timespec ts{};
    if (timeout) {
      ts.tv_sec = timeout->count() / 1'000'000'000;
      ts.tv_nsec = timeout->count() % 1'000'000'000;
    }
    enter(to_submit, /*wait=*/true, timeout ? &ts : nullptr);
    std::lock_guard lock(sq_lock_);
    waiting_.store(false, std::memory_order_relaxed);  // [U3] relaxed: under sq_lock_
  } else {
    enter(to_submit, /*wait=*/false, nullptr);
  }
  std::size_t woken = 0;
  const std::size_t max = std::max<std::size_t>(max_events, 1);
  while (woken < max) {
    io_uring_cqe* cqe = nullptr;
    if (io_uring_peek_cqe(&ring_, &cqe) != 0 || cqe == nullptr) break;
    const std::uint64_t tag = cqe->user_data;
    const std::int32_t res = cqe->res;
    io_uring_cqe_seen(&ring_, cqe);
    Waker w = reap(tag, res);
    if (w) {
      ++woken;
      w.wake();
    }
  }
  count_completions(woken);
  return woken;
}

Waker UringBackend::reap(std::uint64_t tag, std::int32_t res) {
  if (tag == kCancelTag) return {};
  if (tag == kWakeTag) {
    if (stopping_) {
      wake_in_flight_ = false;
    } else {
      arm_wakeup();
    }
    return {};
  }
  Slot& slot = *reinterpret_cast<Slot*>(tag & ~kGenMask);
  Source& s = *slot.source;
  Waker waker;
  bool free_now = false;
  // [O7]: after shut_down() nothing completes; what the kernel delivered is kept as a withdrawn
  // operation's would be, and the owner stays pending (not started) until its task is dropped.
  const bool stopped = is_shut_down();
  {
    std::lock_guard lock(s.lock);
    slot.in_flight = false;
    slot.cancel_sent = false;
    if (slot.owner != nullptr && slot.owner_started && !stopped) {
      slot.complete_into(*slot.owner, res);
      waker = std::move(slot.owner->waker);
      slot.owner = nullptr;
      slot.owner_started = false;
    } else {
      if (s.fd >= 0) {
        slot.stash(res);
      } else if (slot.code == OpCode::kAccept && res >= 0) {
        ::close(res);  // closed meanwhile: a connection nobody will take
        count_syscalls();
      }
      if (slot.owner != nullptr && stopped) {
        slot.owner_started = false;  // nothing in flight for it: cancel() sends no cancel
      } else if (slot.owner != nullptr) {  // an operation waited behind the withdrawn one
        if (slot.has_stash) {
          slot.take_stash(*slot.owner);
          waker = std::move(slot.owner->waker);
          slot.owner = nullptr;
        } else {
          start(slot);
        }
      }
    }
    free_now = can_free(s);
  }
  if (free_now) {
    {
      std::lock_guard retired(retired_mu_);
      retired_.erase(&s);
    }
    delete &s;
  }
  return waker;
}

void UringBackend::interrupt() {
  const std::uint64_t one = 1;
  [[maybe_unused]] ssize_t r = ::write(eventfd_, &one, sizeof(one));
  count_syscalls();
}

}  // namespace weft::io
