// Timers: the runtime's timer wheels, one shard per worker, and the handshake that lets a timer
// inserted on any thread shorten the driver's sleep.
//
// A worker inserts into its own shard (an uncontended spin lock: one exchange and one plain
// release store), so the request-timeout pattern (insert, then cancel before it fires) scales
// with the workers. The driver owner fires every shard's due timers, in batches of 64 whose
// wakers it wakes after dropping the shard's lock.
//
// `earliest_` is a lower bound of every pending deadline (kNever: none). Inserting lowers it;
// cancelling leaves it (stale-low only causes an early wake-up, after which fire_due recomputes
// it). Workers read it once per tick to see whether a timer is due while nobody is parked in the
// driver.
//
// The sleep handshake (a Dekker pair): the driver publishes the time it will block until in
// `sleep_until_` and then re-reads `earliest_`; an inserter lowers `earliest_` and then reads
// `sleep_until_`. With both in the SeqCst total order, either the driver sees the new deadline
// (and does not block past it) or the inserter sees the driver's sleep (and interrupts it).
//
// Synchronization map:
//   [T1] seq_cst CAS lowering earliest_ (insert, fire_due) -- Dekker pair with [T3].
//   [T2] seq_cst load of sleep_until_ by an inserter that lowered earliest_ -- pairs with [T3].
//   [T3] seq_cst store of sleep_until_, then seq_cst load of earliest_ (begin_sleep / end_sleep).
//   [T4] relaxed load of earliest_: the workers' per-tick hint (a miss is caught by the driver).
//   [T5] seq_cst store resetting earliest_ before fire_due recomputes it from the shards; an
//        insert after the reset lowers it again by [T1], one before it is in its shard's scan.
//   The wheels themselves are guarded by their shard's SpinLock.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <vector>

#include "weft/scheduler/spin_lock.hpp"
#include "time/wheel.hpp"

namespace weft::detail {

class Timers {
 public:
  static constexpr std::uint64_t kNever = std::numeric_limits<std::uint64_t>::max();

  explicit Timers(std::size_t shards) : epoch_(std::chrono::steady_clock::now()) {
    shards_.reserve(shards);
    for (std::size_t i = 0; i < shards; ++i) shards_.push_back(std::make_unique<Shard>());
  }

  std::size_t num_shards() const { return shards_.size(); }

  // The wheels' clock: nanoseconds since this object was made.
  std::uint64_t now_ns() const { return to_ns(std::chrono::steady_clock::now()); }
  std::uint64_t to_ns(std::chrono::steady_clock::time_point t) const {
    return t <= epoch_ ? 0
                       : static_cast<std::uint64_t>(
                             std::chrono::duration_cast<std::chrono::nanoseconds>(t - epoch_).count());
  }

  // Files `e` (deadline_ns and waker set) in `shard`. True if the driver is blocked past this
  // deadline and must be interrupted.
  bool insert(time::TimerEntry& e, std::size_t shard) {
    {
      std::lock_guard lock(shards_[shard]->lock);
      shards_[shard]->wheel.insert(e);
    }
    if (!lower_earliest(e.deadline_ns)) return false;
    // [T2] seq_cst: read the driver's sleep after lowering earliest_ (Dekker pair with [T3]).
    return e.deadline_ns < sleep_until_.load(std::memory_order_seq_cst);
  }

  // Unlinks `e` from `shard` unless it fired already. True if it was pending.
  bool cancel(time::TimerEntry& e, std::size_t shard) {
    std::lock_guard lock(shards_[shard]->lock);
    return shards_[shard]->wheel.cancel(e);
  }

  // Driver owner: fires every timer due at `now` (their wakers are woken outside the shard
  // locks) and recomputes earliest_. Returns how many fired.
  std::size_t fire_due(std::uint64_t now) {
    // Nothing due (earliest_ is a lower bound): skip the shard scan. [T3] seq_cst load.
    if (earliest_.load(std::memory_order_seq_cst) > now) return 0;
    // [T5] seq_cst: reset, then lower again from the shards' exact next deadlines.
    earliest_.store(kNever, std::memory_order_seq_cst);
    std::size_t fired = 0;
    std::uint64_t next = kNever;
    for (auto& shard : shards_) {
      constexpr std::size_t kBatch = 64;
      for (;;) {
        Waker batch[kBatch];
        std::size_t n = 0;
        std::uint64_t shard_next = kNever;
        {
          std::lock_guard lock(shard->lock);
          n = shard->wheel.poll(now, [&](time::TimerEntry& e) { batch[n++] = std::move(e.waker); },
                                kBatch);
          shard_next = shard->wheel.next_deadline_ns();
        }
        for (std::size_t i = 0; i < n; ++i) batch[i].wake();
        fired += n;
        if (n < kBatch) {
          next = std::min(next, shard_next);
          break;
        }
      }
    }
    lower_earliest(next);
    return fired;
  }

  std::uint64_t earliest() const {
    return earliest_.load(std::memory_order_seq_cst);  // [T3] seq_cst: the driver's re-read
  }

  // A worker's per-tick check: is a timer due? One relaxed load when no timer is pending.
  bool maybe_due() const {
    // [T4] relaxed: a hint; the driver owner recomputes under the shard locks.
    const std::uint64_t e = earliest_.load(std::memory_order_relaxed);
    return e != kNever && e <= now_ns();
  }

  // Driver owner, before blocking until `until` (kNever: no timer pending). False if an earlier
  // timer arrived meanwhile: do not block that long (call end_sleep either way).
  bool begin_sleep(std::uint64_t until) {
    // [T3] seq_cst store then load: publish the sleep, then re-read earliest_ (Dekker pair).
    sleep_until_.store(std::max<std::uint64_t>(until, 1), std::memory_order_seq_cst);
    return earliest_.load(std::memory_order_seq_cst) >= until;  // [T3]
  }
  void end_sleep() {
    sleep_until_.store(0, std::memory_order_seq_cst);  // [T3] seq_cst: not blocked any more
  }

  // Pending timers in every shard (tests and shutdown reports).
  std::size_t size() {
    std::size_t n = 0;
    for (auto& shard : shards_) {
      std::lock_guard lock(shard->lock);
      n += shard->wheel.size();
    }
    return n;
  }

 private:
  struct alignas(64) Shard {
    SpinLock lock;
    time::TimerWheel wheel;
  };

  // True if this call lowered earliest_ to `deadline`.
  bool lower_earliest(std::uint64_t deadline) {
    // [T4] relaxed: a first guess; the CAS below carries the ordering.
    std::uint64_t cur = earliest_.load(std::memory_order_relaxed);
    while (deadline < cur) {
      // [T1] seq_cst CAS: Dekker pair with [T3].
      if (earliest_.compare_exchange_weak(cur, deadline, std::memory_order_seq_cst,
                                          std::memory_order_relaxed)) {
        return true;
      }
    }
    return false;
  }

  const std::chrono::steady_clock::time_point epoch_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::atomic<std::uint64_t> earliest_{kNever};
  std::atomic<std::uint64_t> sleep_until_{0};  // 0: the driver is not blocked
};

}  // namespace weft::detail
