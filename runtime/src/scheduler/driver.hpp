// Driver: the runtime's I/O reactor and timers, driven by whichever worker holds it.
//
// ARCHITECTURE.md, worker loop step 5: the first worker to park takes the driver and blocks in
// the reactor with the next timer's deadline as its timeout; the others sleep on their condvars.
// Unparking the driver owner interrupts the reactor (Parker::unpark -> Driver::unpark). A busy
// worker turns the driver without blocking every 61 ticks when fds are registered, and whenever
// a timer is due (maintenance in scheduler.hpp), if nobody else holds it: I/O never blocks a
// worker that has tasks to run, and timers fire on time while every worker is busy.
//
// The Driver is shared (std::shared_ptr) by the scheduler and every socket, so a socket that
// outlives its runtime can still close its fd.
//
// Synchronization map:
//   [D1] acquire exchange / release store of `owned_`: one owner at a time; the release hands
//        the backend's and the timers' owner-only state to the next owner.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>

#include "weft/status.hpp"
#include "io/backend.hpp"
#include "time/timers.hpp"

namespace weft::detail {

class Driver {
 public:
  static weft::StatusOr<std::shared_ptr<Driver>> create(IoBackend kind, std::size_t timer_shards) {
    weft::StatusOr<std::unique_ptr<io::Backend>> backend = io::Backend::create(kind);
    if (!backend.ok()) return backend.status();
    return std::shared_ptr<Driver>(new Driver(std::move(*backend), timer_shards));
  }

  io::Backend& io() { return *io_; }
  Timers& timers() { return timers_; }

  bool try_acquire() {
    // [D1] acquire: the previous owner's release.
    return !owned_.exchange(true, std::memory_order_acquire);
  }
  void release() {
    owned_.store(false, std::memory_order_release);  // [D1] release
  }

  // Owner only. Fires due timers and completes ready I/O, waking their tasks; at most about
  // `io_room` I/O completions (the room in the owner's run queue: what a turn wakes goes there,
  // and an overflow would push its oldest tasks behind newer ones). With `block`, first waits
  // in the reactor until an I/O event, the next timer, or unpark().
  void turn(bool block, std::size_t io_room) {
    // Timers fired here woke their tasks onto the owner's own queue (a parked worker keeps what
    // its turn wakes): blocking now would strand them until some later event, so do not block.
    const bool fired = timers_.fire_due(timers_.now_ns()) != 0;
    if (!block || fired) {
      if (io_room > 0 && io_->has_sources()) io_->poll(std::chrono::nanoseconds(0), io_room);
      return;
    }
    const std::uint64_t until = timers_.earliest();
    if (timers_.begin_sleep(until)) {
      std::optional<std::chrono::nanoseconds> timeout;
      if (until != Timers::kNever) {
        const std::uint64_t now = timers_.now_ns();
        timeout = std::chrono::nanoseconds(until > now ? until - now : 0);
      }
      io_->poll(timeout, io_room);
    }
    timers_.end_sleep();
    timers_.fire_due(timers_.now_ns());
  }

  // Interrupts a blocked turn (from any thread).
  void unpark() { io_->interrupt(); }

  // Files a timer in `shard` and shortens the driver's sleep if it sleeps past it.
  void insert_timer(time::TimerEntry& e, std::size_t shard) {
    if (timers_.insert(e, shard % timers_.num_shards())) unpark();
  }
  bool cancel_timer(time::TimerEntry& e, std::size_t shard) {
    return timers_.cancel(e, shard % timers_.num_shards());
  }

 private:
  Driver(std::unique_ptr<io::Backend> io, std::size_t timer_shards)
      : io_(std::move(io)), timers_(timer_shards) {}

  std::unique_ptr<io::Backend> io_;
  Timers timers_;
  std::atomic<bool> owned_{false};
};

}  // namespace weft::detail
