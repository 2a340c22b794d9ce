// TaskHeader: the bookkeeping that sits in front of every task's coroutine frame.
//
// A spawned task is one allocation: [TaskHeader | coroutine frame (promise inside)]. The
// promise's operator new (frame_pool.hpp) reserves the header in front of every Task frame; it
// only comes alive when the task is spawned. The header outlives the frame when it must: a
// task destroyed at shutdown loses its frame at once, but wakers held elsewhere keep the header
// (and its state word) valid until the last reference is dropped.
//
// The state word (one 64-bit atomic):
//
//   bit  0      RUNNING        a worker is polling the frame (exclusive access to it)
//   bit  1      NOTIFIED       woken: queued, or to be re-queued when the current poll ends
//   bit  2      COMPLETE       the frame reached final_suspend (or was cancelled)
//   bit  3      CANCELLED      abort() or shutdown asked for the frame to be destroyed
//   bit  4      JOIN_INTEREST  a JoinHandle is alive and may read the output
//   bit  5      JOIN_WAKER     the join waker slot is set (protocol below)
//   bit  6      SPAWNED        set at spawn: the block belongs to the refcount, not to the
//                              frame's operator delete
//   bit  7      FRAME_GONE     the frame was destroyed early (cancellation); the header lives on
//   bits 8-31   refcount       references: the scheduler's (until complete), the JoinHandle's,
//                              one per Waker clone. Queue entries hold none: a queued task is
//                              NOTIFIED and not COMPLETE, so the scheduler's reference is live.
//   bits 32-63  epoch          bumped at every poll start; a waker made during poll e only
//                              wakes the task while the epoch is still e.
//
// Wake rules (each is one CAS): N wakes before a poll give one poll (NOTIFIED is already set);
// a wake while RUNNING sets NOTIFIED and the poller re-queues the task once when the poll ends;
// a wake after COMPLETE, or with a stale epoch, does nothing.
//
// Join waker protocol (Tokio's): while JOIN_WAKER is clear and the task is not COMPLETE, the
// JoinHandle owns `join_waker`; it writes it, then sets JOIN_WAKER with a CAS that fails if the
// task completed meanwhile. Once JOIN_WAKER is set the completer owns it: it takes the waker out,
// clears JOIN_WAKER, then wakes it and drops it. (Leaving it in the slot would let a JoinHandle
// held in the waiting task's own frame keep both tasks alive: a reference cycle.)
//
// Synchronization map (every operation on `state_`):
//   [H1] acq_rel CAS  transition_to_running: acquire pairs with the release in [H2]/[H3] of the
//                     previous poll (the frame's plain data), and with [H5] (the spawner's init).
//   [H2] acq_rel CAS  transition_to_idle: release publishes this poll's writes to the next poller.
//   [H3] acq_rel CAS  complete_and_release: release publishes the output to the JoinHandle's
//                     acquire in [H7]; acquire, when it drops the last reference, orders dealloc.
//   [H4] acq_rel CAS  wake_by_ref / abort: release orders the waker's writes before the poll that
//                     the wake causes (pairs with [H1]).
//   [H5] relaxed store init_spawned: before the task is published; the queue push publishes it.
//   [H6] relaxed RMW  ref_inc: the caller already holds a reference.
//   [H7] acq_rel RMW  ref_dec / join transitions: the last reference acquires every earlier
//                     release so dealloc sees all writes; the JoinHandle acquires the output.
//   [H8] relaxed RMW  destroy_frame sets FRAME_GONE; dealloc reads it after [H7].
//   [H0] relaxed load the first guess of a CAS loop; the CAS itself carries the ordering.
//   [H9] relaxed load SPAWNED, FRAME_GONE or the epoch, read by a thread that already holds
//                     the ordering it needs (RUNNING, the last reference, or the spawner).
#pragma once

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>

#include "weft/task/waker.hpp"

namespace weft {

class TaskHeader;

namespace detail {
// The scheduler side of a task: implemented once per Scheduler<Variant>. This is the one
// indirect call per spawn or wake; nothing virtual runs inside the worker loop.
class TaskScheduler {
 public:
  virtual void schedule(TaskHeader* task, bool is_yield) = 0;

 protected:
  ~TaskScheduler() = default;
};
}  // namespace detail

class alignas(16) TaskHeader {
 public:
  static constexpr std::uint64_t kRunning = 1u << 0;
  static constexpr std::uint64_t kNotified = 1u << 1;
  static constexpr std::uint64_t kComplete = 1u << 2;
  static constexpr std::uint64_t kCancelled = 1u << 3;
  static constexpr std::uint64_t kJoinInterest = 1u << 4;
  static constexpr std::uint64_t kJoinWaker = 1u << 5;
  static constexpr std::uint64_t kSpawned = 1u << 6;
  static constexpr std::uint64_t kFrameGone = 1u << 7;
  static constexpr unsigned kRefShift = 8;
  static constexpr std::uint64_t kRefOne = std::uint64_t{1} << kRefShift;
  static constexpr unsigned kEpochShift = 32;
  static constexpr std::uint64_t kRefMask = ((std::uint64_t{1} << kEpochShift) - 1) & ~(kRefOne - 1);
  static constexpr std::uint64_t kEpochOne = std::uint64_t{1} << kEpochShift;
  static_assert((kFrameGone << 1) == kRefOne, "flags sit below the refcount");
  static_assert(kRefMask >> kRefShift == (1u << 24) - 1, "24 refcount bits");

  static std::uint64_t refs(std::uint64_t s) { return (s & kRefMask) >> kRefShift; }
  static std::uint32_t epoch(std::uint64_t s) { return static_cast<std::uint32_t>(s >> kEpochShift); }

  // Blocks larger than this record only that they are large (they bypass the frame pools, and
  // free() needs no size).
  static constexpr std::size_t kLargeBlock = 0xFFFF0;
  explicit TaskHeader(std::size_t block_size)
      : block_units_(static_cast<std::uint16_t>(
            block_size >= kLargeBlock ? kLargeBlock / 16 : block_size / 16)) {}

  // The coroutine frame follows the header in the same block.
  void* frame() { return reinterpret_cast<std::byte*>(this) + sizeof(TaskHeader); }
  static TaskHeader* from_frame(void* frame) {
    return reinterpret_cast<TaskHeader*>(static_cast<std::byte*>(frame) - sizeof(TaskHeader));
  }
  std::coroutine_handle<> root() { return std::coroutine_handle<>::from_address(frame()); }

  // --- lifecycle, called by the runtime -----------------------------------------------------

  // Spawner, before the task is visible to any other thread: scheduler ref + join ref, NOTIFIED.
  void init_spawned(detail::TaskScheduler* scheduler) {
    scheduler_ = scheduler;
    resume_ = root();
    // [H5] relaxed: the task is not shared yet; publishing it (queue push) orders this store.
    state_.store(kSpawned | kNotified | kJoinInterest | 2 * kRefOne, std::memory_order_relaxed);
  }

  enum class PollStart { kRun, kCancel };
  // Worker taking a queued task. Precondition: NOTIFIED, not RUNNING.
  PollStart transition_to_running() {
    // [H0] relaxed: a first guess for the CAS loop below, which re-reads on failure.
    std::uint64_t cur = state_.load(std::memory_order_relaxed);
    std::uint64_t next;
    do {
      next = ((cur & ~kNotified) | kRunning) + kEpochOne;
      // [H1] acq_rel CAS: acquire the previous poll's writes (pairs with [H2]/[H4]).
    } while (!state_.compare_exchange_weak(cur, next, std::memory_order_acq_rel,
                                           std::memory_order_relaxed));
    return (next & kCancelled) ? PollStart::kCancel : PollStart::kRun;
  }

  enum class PollEnd { kIdle, kNotified, kCancel };
  // Worker after a poll that did not complete the task.
  PollEnd transition_to_idle() {
    // [H0] relaxed: a first guess for the CAS loop below, which re-reads on failure.
    std::uint64_t cur = state_.load(std::memory_order_relaxed);
    std::uint64_t next;
    do {
      if (cur & kCancelled) return PollEnd::kCancel;  // keep RUNNING: the caller cancels
      next = cur & ~kRunning;
      // [H2] acq_rel CAS: release this poll's frame writes to the next poller's [H1].
    } while (!state_.compare_exchange_weak(cur, next, std::memory_order_acq_rel,
                                           std::memory_order_relaxed));
    return (next & kNotified) ? PollEnd::kNotified : PollEnd::kIdle;
  }

  // Worker holding RUNNING, when the frame reached final_suspend (cancelled = false) or was
  // destroyed (cancelled = true): RUNNING -> COMPLETE, and the scheduler's reference is dropped.
  // One CAS when no JoinHandle waits; otherwise the join waker is woken in between. The task may
  // be freed when this returns.
  void complete_and_release(bool cancelled);

  // Shutdown, with the workers stopped: take a task that is not running or complete.
  // Returns false if it completed already.
  bool transition_to_shutdown() {
    // [H0] relaxed: a first guess for the CAS loop below, which re-reads on failure.
    std::uint64_t cur = state_.load(std::memory_order_relaxed);
    do {
      if (cur & (kComplete | kRunning)) return false;
      // [H4] acq_rel CAS: acquire the last poll's writes before destroying the frame.
    } while (!state_.compare_exchange_weak(cur, cur | kRunning | kCancelled,
                                           std::memory_order_acq_rel, std::memory_order_relaxed));
    return true;
  }

  // --- waking, from any thread --------------------------------------------------------------

  void wake_by_ref(std::uint32_t at_epoch) {
    // [H0] relaxed: a first guess for the CAS loop below, which re-reads on failure.
    std::uint64_t cur = state_.load(std::memory_order_relaxed);
    std::uint64_t next;
    do {
      if (epoch(cur) != at_epoch || (cur & (kComplete | kNotified))) return;
      next = cur | kNotified;
      // [H4] acq_rel CAS: release the waker's writes to the poll this wake causes ([H1]).
    } while (!state_.compare_exchange_weak(cur, next, std::memory_order_acq_rel,
                                           std::memory_order_relaxed));
    if (!(cur & kRunning)) scheduler_->schedule(this, /*is_yield=*/false);
  }

  // JoinHandle::abort. Idempotent; a no-op once complete.
  void abort() {
    // [H0] relaxed: a first guess for the CAS loop below, which re-reads on failure.
    std::uint64_t cur = state_.load(std::memory_order_relaxed);
    std::uint64_t next;
    do {
      if (cur & (kComplete | kCancelled)) return;
      next = cur | kCancelled | kNotified;
      // [H4] acq_rel CAS: as for a wake.
    } while (!state_.compare_exchange_weak(cur, next, std::memory_order_acq_rel,
                                           std::memory_order_relaxed));
    // Idle (neither queued nor running): queue it so a worker destroys the frame.
    if (!(cur & (kRunning | kNotified))) scheduler_->schedule(this, /*is_yield=*/false);
  }

  // A waker for the poll in progress (RUNNING, so the epoch is stable). Takes one reference.
  Waker make_waker();

  // The polling thread wakes its own task (yield): no waker and no reference are needed, since
  // RUNNING keeps the task alive; the wake sets NOTIFIED and the poll's end re-queues it.
  void wake_self() {
    // [H9] relaxed: under RUNNING the epoch cannot change.
    wake_by_ref(epoch(state_.load(std::memory_order_relaxed)));
  }

  // --- references ---------------------------------------------------------------------------

  void ref_inc() {
    // [H6] relaxed: the caller holds a reference already, so the task cannot die meanwhile.
    state_.fetch_add(kRefOne, std::memory_order_relaxed);
  }
  // Drops one reference; frees the task when it was the last.
  void ref_dec() {
    // [H7] acq_rel: the last decrement acquires every other holder's release.
    const std::uint64_t prev = state_.fetch_sub(kRefOne, std::memory_order_acq_rel);
    if (refs(prev) == 1) dealloc();
  }

  // --- join protocol ------------------------------------------------------------------------

  std::uint64_t load_state() const {
    // [H7] acquire: COMPLETE and CANCELLED come with the output the completer published.
    return state_.load(std::memory_order_acquire);
  }

  // JoinHandle: registers `waker` to be woken on completion. Returns false if the task is
  // already complete (nothing registered; read the output).
  bool set_join_waker(Waker waker);
  // JoinHandle destructor / detach: gives up the output and the join reference (one CAS).
  void drop_join_handle();

  // --- data for the runtime -------------------------------------------------------------------

  // The coroutine to resume next: the innermost Task the root is awaiting. Written and read only
  // by the thread that holds RUNNING (the state word orders it between polls).
  std::coroutine_handle<> resume_point() const { return resume_; }
  void set_resume_point(std::coroutine_handle<> h) { resume_ = h; }

  detail::TaskScheduler* scheduler() const { return scheduler_; }
  // Only meaningful to the frame's own operator delete: an unspawned header is never shared.
  bool spawned() const {
    // [H9] relaxed: SPAWNED is set before the task is shared, and operator delete runs on a
    // thread that owns the frame (the spawner, or the holder of RUNNING / the last reference).
    return state_.load(std::memory_order_relaxed) & kSpawned;
  }
  // The block's size, or kLargeBlock for any block at least that large.
  std::size_t block_size() const { return std::size_t{block_units_} * 16; }

  // Destroys the frame now (cancellation); the header lives until the last reference drops.
  // Caller holds RUNNING.
  void destroy_frame() {
    // [H8] relaxed RMW: FRAME_GONE is read by dealloc after the last reference's acquire ([H7]).
    state_.fetch_or(kFrameGone, std::memory_order_relaxed);
    root().destroy();
  }


 private:
  void notify_join(std::uint64_t completed_state);
  void dealloc();

  // The join waker slot, a Waker stored in parts to keep the header at 64 bytes.
  void set_join_slot(Waker w) {
    join_data_ = w.raw_data();
    join_vtable_ = w.raw_vtable();
    join_aux_ = w.raw_aux();
    w.release_raw();
  }
  Waker take_join_slot() {
    Waker w(join_data_, join_aux_, join_vtable_);
    join_vtable_ = nullptr;
    join_data_ = nullptr;
    return w;
  }

  std::atomic<std::uint64_t> state_{0};
  detail::TaskScheduler* scheduler_ = nullptr;
  std::coroutine_handle<> resume_;
  void* join_data_ = nullptr;
  const WakerVTable* join_vtable_ = nullptr;
  std::uint32_t join_aux_ = 0;
  std::uint16_t block_units_;  // block size / 16

 public:
  // Intrusive links of the scheduler's owned-task list, guarded by that list's shard lock, and
  // the shard (the spawning worker's, so a worker's inserts touch lines it already holds).
  std::uint16_t owned_shard = 0;
  TaskHeader* owned_prev = nullptr;
  TaskHeader* owned_next = nullptr;
};

static_assert(sizeof(TaskHeader) == 64, "one cache line: keep the per-task footprint small");

}  // namespace weft
