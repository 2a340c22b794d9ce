// Task synchronization (weft/sync/): AsyncMutex, Semaphore and Notify, for every variant and
// flavor. The mutex gives exact counts under contention and hands the lock over in arrival
// order, survives the abort of a queued waiter (and of one it was already handed to), and does
// not let try_lock barge past waiters; the semaphore serves waiters FIFO with exact permits;
// Notify wakes waiters from a plain std::thread and completes later waits at once.
//
// Every wait is bounded (yield_until / kWaitBound, and the ctest TIMEOUT): a lost wake-up fails
// the test instead of hanging it.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <utility>
#include <vector>

#include "runtime/runtime_test_params.hpp"
#include "weft/sync/mutex.hpp"
#include "weft/sync/notify.hpp"
#include "weft/sync/semaphore.hpp"
#include "weft/weft.hpp"

namespace weft_test {
namespace {

using weft::AsyncMutex;
using weft::AsyncMutexGuard;
using weft::JoinHandle;
using weft::Notify;
using weft::Semaphore;
using weft::Task;

class SyncTest : public RuntimeTest {};
WEFT_INSTANTIATE_FOR_EVERY_RUNTIME(SyncTest);

constexpr int kCounterTasks = 8;
constexpr int kIncrementsPerTask = 20'000;
constexpr int kFifoWaiters = 8;

// --- AsyncMutex ------------------------------------------------------------------------------

// Increments a plain int under the lock; every 16th time it yields while holding it, so the
// others queue up and the hand-off path runs, not only the uncontended CAS.
Task<void> increment_under_lock(AsyncMutex* m, int* counter) {
  for (int i = 0; i < kIncrementsPerTask; ++i) {
    AsyncMutexGuard g = co_await m->lock();
    ++*counter;  // plain data: TSan checks the mutex orders it
    if (i % 16 == 0) co_await weft::yield_now();
  }
}

Task<int> count_with_tasks() {
  AsyncMutex m;
  int counter = 0;
  std::vector<JoinHandle<void>> handles;
  for (int t = 0; t < kCounterTasks; ++t)
    handles.push_back(weft::spawn(increment_under_lock(&m, &counter)));
  for (auto& h : handles) co_await h;
  EXPECT_FALSE(m.is_locked());
  co_return counter;
}

TEST_P(SyncTest, MutexIncrementsFromManyTasksGiveTheExactTotal) {
  auto rt = make_runtime();
  EXPECT_EQ(rt->block_on(count_with_tasks()), kCounterTasks * kIncrementsPerTask);
}

Task<void> lock_and_record(AsyncMutex* m, int id, std::vector<int>* order) {
  AsyncMutexGuard g = co_await m->lock();
  order->push_back(id);  // guarded by *m
}

Task<std::vector<int>> queue_waiters_in_order() {
  AsyncMutex m;
  std::vector<int> order;
  std::vector<JoinHandle<void>> handles;
  {
    AsyncMutexGuard g = co_await m.lock();
    for (int i = 0; i < kFifoWaiters; ++i) {
      handles.push_back(weft::spawn(lock_and_record(&m, i, &order)));
      const std::size_t want = static_cast<std::size_t>(i) + 1;
      EXPECT_TRUE(co_await yield_until([&m, want] { return m.waiter_count() == want; }));
    }
  }
  for (auto& h : handles) co_await h;
  co_return order;
}

TEST_P(SyncTest, MutexHandsTheLockToWaitersInArrivalOrder) {
  auto rt = make_runtime();
  std::vector<int> expected;
  for (int i = 0; i < kFifoWaiters; ++i) expected.push_back(i);
  EXPECT_EQ(rt->block_on(queue_waiters_in_order()), expected);
}

Task<bool> abort_a_queued_waiter() {
  AsyncMutex m;
  std::vector<int> order;
  JoinHandle<void> a, b, c;
  {
    AsyncMutexGuard g = co_await m.lock();
    a = weft::spawn(lock_and_record(&m, 0, &order));
    EXPECT_TRUE(co_await yield_until([&m] { return m.waiter_count() == 1; }));
    b = weft::spawn(lock_and_record(&m, 1, &order));
    EXPECT_TRUE(co_await yield_until([&m] { return m.waiter_count() == 2; }));
    c = weft::spawn(lock_and_record(&m, 2, &order));
    EXPECT_TRUE(co_await yield_until([&m] { return m.waiter_count() == 3; }));
    b.abort();
    // Its frame is destroyed by a worker; the awaiter's destructor unlinks it.
    EXPECT_TRUE(co_await yield_until([&m] { return m.waiter_count() == 2; }));
  }
  co_await a;
  co_await c;
  const bool b_cancelled = co_await join_fails_with_join_error(std::move(b));
  EXPECT_EQ(order, (std::vector<int>{0, 2}));
  EXPECT_FALSE(m.is_locked());
  co_return b_cancelled;
}

TEST_P(SyncTest, MutexAbortedQueuedWaiterLeavesAndTheNextGetsTheLock) {
  auto rt = make_runtime();
  EXPECT_TRUE(rt->block_on(abort_a_queued_waiter()));
}

// Unlock hands the lock to A, then A is aborted at once. On a current_thread runtime A cannot
// have run in between, so its destructor holds a lock it never used and must pass it to B; on a
// multi_thread runtime A may win the race and run. Either way B must get the lock.
Task<bool> abort_a_waiter_after_the_hand_off(bool current_thread) {
  AsyncMutex m;
  std::vector<int> order;
  JoinHandle<void> a, b;
  {
    AsyncMutexGuard g = co_await m.lock();
    a = weft::spawn(lock_and_record(&m, 0, &order));
    EXPECT_TRUE(co_await yield_until([&m] { return m.waiter_count() == 1; }));
    b = weft::spawn(lock_and_record(&m, 1, &order));
    EXPECT_TRUE(co_await yield_until([&m] { return m.waiter_count() == 2; }));
  }  // hands the lock to A
  a.abort();
  co_await join_fails_with_join_error(std::move(a));  // either outcome is fine
  co_await b;
  EXPECT_FALSE(m.is_locked());
  // On current_thread A never ran: B got the lock from A's destructor.
  if (current_thread) {
    EXPECT_EQ(order, (std::vector<int>{1}));
  }
  // B is in, after A or without it.
  co_return !order.empty() && order.back() == 1;
}

TEST_P(SyncTest, MutexWaiterAbortedAfterTheHandOffPassesTheLockOn) {
  auto rt = make_runtime();
  EXPECT_TRUE(rt->block_on(abort_a_waiter_after_the_hand_off(is_current_thread())));
}

// Takes the lock, says so, and keeps it until `release` is set.
Task<void> hold_until(AsyncMutex* m, std::atomic<bool>* holding, AsyncEvent* release) {
  AsyncMutexGuard g = co_await m->lock();
  holding->store(true);
  co_await release->wait();
}

Task<void> try_lock_never_barges() {
  AsyncMutex m;
  EXPECT_TRUE(m.try_lock());
  EXPECT_FALSE(m.try_lock());  // held
  m.unlock();
  EXPECT_FALSE(m.is_locked());

  std::atomic<bool> w1_holding{false}, w2_holding{false};
  AsyncEvent release1, release2;
  JoinHandle<void> w1, w2;
  {
    AsyncMutexGuard g = co_await m.lock();
    w1 = weft::spawn(hold_until(&m, &w1_holding, &release1));
    EXPECT_TRUE(co_await yield_until([&m] { return m.waiter_count() == 1; }));
    w2 = weft::spawn(hold_until(&m, &w2_holding, &release2));
    EXPECT_TRUE(co_await yield_until([&m] { return m.waiter_count() == 2; }));
    EXPECT_FALSE(m.try_lock());  // held, two waiting
  }
  // Handed to W1 (maybe not running yet): a newcomer must not take it.
  EXPECT_FALSE(m.try_lock());
  EXPECT_TRUE(co_await yield_until([&w1_holding] { return w1_holding.load(); }));
  EXPECT_FALSE(m.try_lock());  // W1 holds it, W2 waits
  release1.set();
  EXPECT_TRUE(co_await yield_until([&w2_holding] { return w2_holding.load(); }));
  EXPECT_FALSE(m.try_lock());  // W2 holds it
  release2.set();
  co_await w1;
  co_await w2;
  EXPECT_TRUE(m.try_lock());
  AsyncMutexGuard adopted(m, std::adopt_lock);
  EXPECT_TRUE(m.is_locked());
  adopted.unlock();
  EXPECT_FALSE(m.is_locked());
}

TEST_P(SyncTest, MutexTryLockFailsWhileHeldAndWhileOthersWait) {
  auto rt = make_runtime();
  rt->block_on(try_lock_never_barges());
}

// --- Semaphore -------------------------------------------------------------------------------

Task<void> acquire_and_record(Semaphore* s, std::size_t n, std::atomic<int>* done) {
  co_await s->acquire(n);
  done->fetch_add(1);
}

Task<void> semaphore_is_fifo_with_exact_permits() {
  Semaphore s(3);
  co_await s.acquire(3);
  EXPECT_EQ(s.available_permits(), 0u);
  std::atomic<int> big_done{0}, small_done{0};
  JoinHandle<void> big = weft::spawn(acquire_and_record(&s, 5, &big_done));
  EXPECT_TRUE(co_await yield_until([&s] { return s.waiter_count() == 1; }));
  JoinHandle<void> small = weft::spawn(acquire_and_record(&s, 1, &small_done));
  EXPECT_TRUE(co_await yield_until([&s] { return s.waiter_count() == 2; }));

  s.release(3);  // 3 < 5: the big head blocks the small one behind it
  EXPECT_EQ(s.available_permits(), 3u);
  EXPECT_EQ(s.waiter_count(), 2u);
  EXPECT_FALSE(s.try_acquire(1));  // no barging past waiters

  std::thread([&s] { s.release(2); }).join();  // from a plain thread: 5 go to the big one
  co_await big;
  EXPECT_EQ(big_done.load(), 1);
  EXPECT_EQ(small_done.load(), 0);
  EXPECT_EQ(s.available_permits(), 0u);

  s.release(5);  // the big one's back: 1 to the small one, 4 left
  co_await small;
  EXPECT_EQ(s.available_permits(), 4u);
  EXPECT_TRUE(s.try_acquire(4));
  EXPECT_FALSE(s.try_acquire(1));
  s.release(4);
  EXPECT_EQ(s.available_permits(), 4u);
}

TEST_P(SyncTest, SemaphoreServesWaitersInOrderWithExactPermits) {
  auto rt = make_runtime();
  rt->block_on(semaphore_is_fifo_with_exact_permits());
}

Task<bool> abort_the_blocking_head() {
  Semaphore s(2);
  std::atomic<int> big_done{0}, small_done{0};
  JoinHandle<void> big = weft::spawn(acquire_and_record(&s, 5, &big_done));
  EXPECT_TRUE(co_await yield_until([&s] { return s.waiter_count() == 1; }));
  JoinHandle<void> small = weft::spawn(acquire_and_record(&s, 1, &small_done));
  EXPECT_TRUE(co_await yield_until([&s] { return s.waiter_count() == 2; }));
  EXPECT_EQ(small_done.load(), 0);
  big.abort();  // the head leaves: the small one fits now
  co_await small;
  EXPECT_EQ(s.available_permits(), 1u);
  EXPECT_EQ(s.waiter_count(), 0u);
  co_return co_await join_fails_with_join_error(std::move(big));
}

TEST_P(SyncTest, SemaphoreAbortedHeadWaiterUnblocksTheOnesBehindIt) {
  auto rt = make_runtime();
  EXPECT_TRUE(rt->block_on(abort_the_blocking_head()));
}

constexpr int kSemTasks = 16;
constexpr int kSemRounds = 500;
constexpr std::size_t kSemPermits = 3;

Task<void> use_permits(Semaphore* s, std::atomic<int>* inside, std::atomic<int>* max_inside) {
  for (int i = 0; i < kSemRounds; ++i) {
    const std::size_t n = 1 + static_cast<std::size_t>(i % 2);
    co_await s->acquire(n);
    const int now = inside->fetch_add(static_cast<int>(n)) + static_cast<int>(n);
    int seen = max_inside->load();
    while (now > seen && !max_inside->compare_exchange_weak(seen, now)) {
    }
    if (i % 8 == 0) co_await weft::yield_now();
    inside->fetch_sub(static_cast<int>(n));
    s->release(n);
  }
}

Task<int> semaphore_stress() {
  Semaphore s(kSemPermits);
  std::atomic<int> inside{0}, max_inside{0};
  std::vector<JoinHandle<void>> handles;
  for (int t = 0; t < kSemTasks; ++t)
    handles.push_back(weft::spawn(use_permits(&s, &inside, &max_inside)));
  for (auto& h : handles) co_await h;
  EXPECT_EQ(s.available_permits(), kSemPermits);
  co_return max_inside.load();
}

TEST_P(SyncTest, SemaphoreNeverLetsMoreThanItsPermitsIn) {
  auto rt = make_runtime();
  const int max_inside = rt->block_on(semaphore_stress());
  EXPECT_LE(max_inside, static_cast<int>(kSemPermits));
  EXPECT_GE(max_inside, 1);
}

// --- Notify ----------------------------------------------------------------------------------

constexpr int kNotifyWaiters = 8;

Task<void> wait_notified(Notify* n, std::atomic<int>* woken) {
  co_await n->notified();
  woken->fetch_add(1);
}

Task<int> notify_from_a_thread() {
  Notify n;
  std::atomic<int> woken{0};
  std::vector<JoinHandle<void>> handles;
  for (int i = 0; i < kNotifyWaiters; ++i)
    handles.push_back(weft::spawn(wait_notified(&n, &woken)));
  EXPECT_TRUE(co_await yield_until([&n] { return n.waiter_count() == kNotifyWaiters; }));
  EXPECT_EQ(woken.load(), 0);
  EXPECT_FALSE(n.is_notified());
  std::thread notifier([&n] { n.notify(); });
  for (auto& h : handles) co_await h;
  notifier.join();
  EXPECT_TRUE(n.is_notified());
  co_await n.notified();  // a later wait completes at once
  n.notify();             // idempotent
  co_await n.notified();
  co_return woken.load();
}

TEST_P(SyncTest, NotifyFromAPlainThreadWakesEveryWaiterAndLaterWaitsCompleteAtOnce) {
  auto rt = make_runtime();
  EXPECT_EQ(rt->block_on(notify_from_a_thread()), kNotifyWaiters);
}

Task<void> abort_a_notify_waiter() {
  Notify n;
  std::atomic<int> woken{0};
  JoinHandle<void> a = weft::spawn(wait_notified(&n, &woken));
  JoinHandle<void> b = weft::spawn(wait_notified(&n, &woken));
  EXPECT_TRUE(co_await yield_until([&n] { return n.waiter_count() == 2; }));
  a.abort();
  EXPECT_TRUE(co_await yield_until([&n] { return n.waiter_count() == 1; }));
  n.notify();
  co_await b;
  EXPECT_TRUE(co_await join_fails_with_join_error(std::move(a)));
  EXPECT_EQ(woken.load(), 1);
}

TEST_P(SyncTest, NotifyAbortedWaiterLeavesTheQueue) {
  auto rt = make_runtime();
  rt->block_on(abort_a_notify_waiter());
}

}  // namespace
}  // namespace weft_test
