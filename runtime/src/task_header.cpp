// TaskHeader's out-of-line transitions: wakers, the join protocol, deallocation.
#include "weft/task/header.hpp"

#include "weft/task/frame_pool.hpp"

namespace weft {

namespace {

void task_wake_by_ref(void* data, std::uint64_t epoch) {
  static_cast<TaskHeader*>(data)->wake_by_ref(static_cast<std::uint32_t>(epoch));
}
void task_clone(void* data) { static_cast<TaskHeader*>(data)->ref_inc(); }
void task_drop(void* data) { static_cast<TaskHeader*>(data)->ref_dec(); }

constexpr WakerVTable kTaskWakerVTable{&task_wake_by_ref, &task_clone, &task_drop};

}  // namespace

Waker TaskHeader::make_waker() {
  ref_inc();
  const std::uint64_t s = state_.load(std::memory_order_relaxed);
  return Waker(this, epoch(s), &kTaskWakerVTable);
}

bool TaskHeader::set_join_waker(Waker waker) {
  std::uint64_t cur = state_.load(std::memory_order_acquire);
  if (cur & kComplete) return false;
  if (cur & kJoinWaker) {
    // Registered before (an earlier await): take the slot back unless the task completed.
    do {
      if (cur & kComplete) return false;
      // [H7] acq_rel CAS: acquire the slot back from a completer that has not started.
    } while (!state_.compare_exchange_weak(cur, cur & ~kJoinWaker, std::memory_order_acq_rel,
                                           std::memory_order_acquire));
  }
  // JOIN_WAKER is clear and the task incomplete: the slot is ours.
  join_waker_ = std::move(waker);
  cur = state_.load(std::memory_order_relaxed);
  do {
    if (cur & kComplete) {
      join_waker_.reset();
      return false;
    }
    // [H7] acq_rel CAS: release the waker to the completer's acquire in notify_join.
  } while (!state_.compare_exchange_weak(cur, cur | kJoinWaker, std::memory_order_acq_rel,
                                         std::memory_order_acquire));
  return true;
}

void TaskHeader::drop_join_handle() {
  std::uint64_t cur = state_.load(std::memory_order_relaxed);
  std::uint64_t next;
  do {
    // Once complete, the waker slot belongs to the completer: leave JOIN_WAKER alone.
    next = (cur & kComplete) ? (cur & ~kJoinInterest) : (cur & ~(kJoinInterest | kJoinWaker));
    // [H7] acq_rel CAS: take the slot back (acquire) if the task has not completed.
  } while (!state_.compare_exchange_weak(cur, next, std::memory_order_acq_rel,
                                         std::memory_order_relaxed));
  if (!(cur & kComplete) && (cur & kJoinWaker)) join_waker_.reset();
  ref_dec();
}

void TaskHeader::notify_join(std::uint64_t completed_state) {
  if (!(completed_state & kJoinInterest) || !(completed_state & kJoinWaker)) return;
  // [H3]'s acquire saw JOIN_WAKER: the slot is ours.
  join_waker_.wake_by_ref();
  // [H7] acq_rel RMW: hand the slot back; if the JoinHandle is gone, nobody else will drop it.
  const std::uint64_t prev = state_.fetch_and(~kJoinWaker, std::memory_order_acq_rel);
  if (!(prev & kJoinInterest)) join_waker_.reset();
}

void TaskHeader::dealloc() {
  // The last reference: no other thread can see this task any more.
  join_waker_.reset();
  if (!frame_destroyed_) {
    frame_destroyed_ = true;
    root().destroy();  // operator delete leaves the block to us (spawned_)
  }
  detail::free_task_block(this);
}

}  // namespace weft
