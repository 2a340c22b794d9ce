// UringBackend: the Linux completion reactor (io_uring through liburing) behind backend.hpp.
// Private to the runtime: only the Backend interface is public.
//
// Each operation becomes one SQE whose buffers are the backend's ([O2] in backend.hpp): every
// source has a Slot per side (read: accept, recv; write: connect, send) with a staging buffer
// and address storage; a recv lands in the staging buffer and is copied into the caller's buffer
// when it is reaped, a send is copied out of the caller's buffer when it is submitted. The copy
// is the price of [O3]: a caller may withdraw at any time, and the kernel must never write into
// memory that went with it. A withdrawn operation's slot stays in flight until its CQE is
// reaped (an ASYNC_CANCEL hurries it); what it produced is stashed for the next operation on
// that side, and a new operation waits behind it (started when the old one is reaped).
//
// Batched submission: submit() only queues an SQE. The poller flushes the queue and waits in
// one io_uring_enter per turn, so a turn that completes and re-arms a hundred operations costs
// one syscall. While the poller is blocked inside the kernel nobody else would flush, so a
// submitter that finds it blocked (waiting_) enters the ring itself to submit, without waiting,
// once it has released the source's lock (kick()).
// The kernel serialises submissions of several threads on one ring.
//
// Wake-up: an eventfd (blocking, so the read waits in the kernel) with a READ always in flight;
// interrupt() writes it, the read completes and ends the wait, the poller re-arms it.
//
// A Source is freed once it is closed and the kernel holds nothing of it (no slot in flight):
// by close() itself, or by the poller when it reaps the last CQE naming it. CQE user_data is
// the slot's address with the slot's operation generation in the low bits (Slot is 16-aligned),
// so a cancel aimed at an operation that has ended cannot hit the next one on the same slot.
//
// Synchronization map:
//   [U1] relaxed RMW/load of the registered-source count: a hint for has_sources().
//   [U3] relaxed load/store of waiting_ (see uring_backend.cpp).
//   Slot and Source state is guarded by the source's SpinLock; the submission queue by
//   sq_lock_ (lock order: a source's lock, then sq_lock_); the completion queue
//   and the retired set's frees are the poller's alone (one poller at a time), the set itself
//   is guarded by retired_mu_. Operation results reach the woken task through the task's state
//   word.
#pragma once

#include <liburing.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_set>

#include "weft/status.hpp"
#include "io/backend.hpp"
#include "io/operation.hpp"
#include "io/staging.hpp"
#include "weft/scheduler/spin_lock.hpp"

namespace weft::io {

class UringBackend final : public Backend {
 public:
  struct Source;

  // One side of a source (read: accept, recv; write: connect, send), with its staging
  // (io/staging.hpp).
  struct alignas(16) Slot : StagingSide {
    Source* source = nullptr;
    std::uint8_t gen = 0;  // of the operation in flight (user_data's low bits)
  };

  struct Source : io::Source {
    explicit Source(int f) : fd(f) {
      read.source = this;
      write.source = this;
    }
    detail::SpinLock lock;
    int fd;  // -1 once closed
    Slot read, write;
  };

  static weft::StatusOr<std::unique_ptr<Backend>> create();
  ~UringBackend() override;

  IoBackend kind() const override { return IoBackend::kUring; }
  weft::StatusOr<io::Source*> register_fd(int fd) override;
  void close(io::Source* source) override;
  bool submit(io::Source& source, Operation& op, MakeWaker make_waker) override;
  bool cancel(io::Source& source, Operation& op) override;
  std::size_t poll(std::optional<std::chrono::nanoseconds> timeout,
                   std::size_t max_events) override;
  void interrupt() override;
  bool has_sources() const override {
    return sources_.load(std::memory_order_relaxed) != 0;  // [U1] relaxed: a hint
  }

 private:
  explicit UringBackend(int eventfd) : eventfd_(eventfd) {}

  // Under the slot's source lock: queue the SQE of the slot's owner (staging its inputs).
  void start(Slot& slot);
  // Under the slot's source lock: queue an ASYNC_CANCEL for the slot's operation in flight.
  void send_cancel(Slot& slot);
  // Queues one SQE filled by `fill`, tagged `tag` (takes sq_lock_).
  template <class Fill>
  void queue(std::uint64_t tag, Fill&& fill);
  // Outside every source lock, after queueing: submits the queue if the poller is blocked in
  // the ring (a send submitted so runs inline for microseconds: no source lock may be held).
  void kick();
  void arm_wakeup();
  // Under sq_lock_: hands the queued SQEs to the kernel's ring; returns how many await submission.
  unsigned flush_locked();
  // Enters the ring: submits `to_submit`, and with `wait` waits up to `ts` for one completion.
  void enter(unsigned to_submit, bool wait, const __kernel_timespec* ts);
  // Reaps one CQE: completes or stashes, returns the waker to wake (outside every lock).
  Waker reap(std::uint64_t user_data, std::int32_t res);
  // Under the source's lock: it is closed and the kernel holds nothing of it.
  static bool can_free(const Source& s) {
    return s.fd < 0 && !s.read.in_flight && !s.write.in_flight;
  }

  io_uring ring_{};
  bool ring_ready_ = false;
  const int eventfd_;
  std::uint64_t eventfd_value_ = 0;  // the wake-up read's target (kernel-written)
  bool wake_in_flight_ = false;      // the poller's: the wake-up read is in the kernel
  bool stopping_ = false;            // the destructor's: do not re-arm the wake-up read
  std::atomic<std::size_t> sources_{0};
  detail::SpinLock sq_lock_;
  // The poller is (about to be) blocked in the ring: written under sq_lock_ ([U3]).
  std::atomic<bool> waiting_{false};
  std::mutex retired_mu_;
  std::unordered_set<Source*> retired_;  // closed with operations in flight; guarded
};

}  // namespace weft::io
