// TaskHeader's out-of-line transitions: wakers, the join protocol, deallocation.
//
// Synchronization map: the state word's labels are defined in weft/task/header.hpp; used here:
//   [H0] relaxed load  first guess of a CAS loop.
//   [H3] acq_rel CAS   complete_and_release: publishes the output; acquires for a dealloc.
//   [H7] acq_rel RMW   the join protocol and the last reference (see header.hpp).
//   [H9] relaxed load  the epoch or FRAME_GONE, read under RUNNING or the last reference.
#include "weft/task/header.hpp"

#include "weft/task/frame_pool.hpp"

namespace weft {

namespace {

void task_wake_by_ref(void* data, std::uint32_t epoch) {
  static_cast<TaskHeader*>(data)->wake_by_ref(epoch);
}
void task_clone(void* data) { static_cast<TaskHeader*>(data)->ref_inc(); }
void task_drop(void* data) { static_cast<TaskHeader*>(data)->ref_dec(); }

constexpr WakerVTable kTaskWakerVTable{&task_wake_by_ref, &task_clone, &task_drop};

}  // namespace

Waker TaskHeader::make_waker() {
  ref_inc();
  // [H9] relaxed: the caller polls this task (RUNNING), so the epoch cannot change under it.
  const std::uint64_t s = state_.load(std::memory_order_relaxed);
  return Waker(this, epoch(s), &kTaskWakerVTable);
}

bool TaskHeader::set_join_waker(Waker waker) {
  // [H7] acquire: see COMPLETE and the output it publishes.
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
  Waker previous = take_join_slot();  // from an earlier await, if any
  set_join_slot(std::move(waker));
  // [H0] relaxed: first guess for the CAS loop.
  cur = state_.load(std::memory_order_relaxed);
  do {
    if (cur & kComplete) {
      take_join_slot().reset();
      return false;
    }
    // [H7] acq_rel CAS: release the waker to the completer's acquire in notify_join.
  } while (!state_.compare_exchange_weak(cur, cur | kJoinWaker, std::memory_order_acq_rel,
                                         std::memory_order_acquire));
  return true;
}

void TaskHeader::drop_join_handle() {
  // [H0] relaxed: first guess for the CAS loop.
  std::uint64_t cur = state_.load(std::memory_order_relaxed);
  std::uint64_t next;
  do {
    // Once complete, the waker slot belongs to the completer: leave JOIN_WAKER alone.
    next = ((cur & kComplete) ? (cur & ~kJoinInterest) : (cur & ~(kJoinInterest | kJoinWaker))) -
           kRefOne;
    // [H7] acq_rel CAS: give up the join reference; acquire the slot back if incomplete, and
    // every other holder's writes if this was the last reference.
  } while (!state_.compare_exchange_weak(cur, next, std::memory_order_acq_rel,
                                         std::memory_order_relaxed));
  // Incomplete means the scheduler still holds its reference: `next` cannot be the last one.
  if (!(cur & kComplete) && (cur & kJoinWaker)) take_join_slot().reset();
  if (refs(next) == 0) dealloc();
}

void TaskHeader::complete_and_release(bool cancelled) {
  // [H0] relaxed: first guess for the CAS loop.
  std::uint64_t cur = state_.load(std::memory_order_relaxed);
  std::uint64_t next;
  do {
    next = (cur & ~(kRunning | kNotified | kCancelled)) | kComplete | (cancelled ? kCancelled : 0);
    // Nobody to wake: drop the scheduler's reference in the same step.
    if (!(cur & kJoinWaker)) next -= kRefOne;
    // [H3] acq_rel CAS: release the output to the JoinHandle; acquire for a dealloc.
  } while (!state_.compare_exchange_weak(cur, next, std::memory_order_acq_rel,
                                         std::memory_order_relaxed));
  if (cur & kJoinWaker) {
    notify_join(next);
    ref_dec();
  } else if (refs(next) == 0) {
    dealloc();
  }
}

void TaskHeader::notify_join(std::uint64_t completed_state) {
  if (!(completed_state & kJoinInterest) || !(completed_state & kJoinWaker)) return;
  // [H3]'s acquire saw JOIN_WAKER: the slot is ours. Take the waker out before handing the slot
  // back, so its reference is dropped here: a waker left in the slot would keep the waiting task
  // alive until this one is freed, and a JoinHandle in the waiting task's frame keeps this one
  // alive (a cycle).
  Waker waiter = take_join_slot();
  // [H7] acq_rel RMW: hand the (empty) slot back.
  state_.fetch_and(~kJoinWaker, std::memory_order_acq_rel);
  waiter.wake();
}

void TaskHeader::dealloc() {
  // The last reference: no other thread can see this task any more.
  take_join_slot().reset();
  // [H9] relaxed: the last reference's [H7] acquire already ordered FRAME_GONE.
  if (!(state_.load(std::memory_order_relaxed) & kFrameGone)) {
    root().destroy();  // operator delete leaves the block to us (SPAWNED)
  }
  detail::free_task_block(this);
}

}  // namespace weft
