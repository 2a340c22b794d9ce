// OwnedTasks: every spawned task that has not completed, so shutdown can find and destroy the
// frames of tasks that are suspended with nobody to wake them (Tokio's OwnedTasks).
//
// Sharded intrusive doubly-linked lists (links in the TaskHeader), one spin lock per shard. A
// worker inserts into its own shard, so the list head and the neighbour it links to are usually
// in its own cache; outside threads spread over the shards by a hash of their id. Insert and
// remove are O(1) and rarely contended. Once closed, inserts fail and the caller cancels the task.
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <new>
#include <vector>

#include "weft/scheduler/spin_lock.hpp"
#include "weft/task/header.hpp"

namespace weft::detail {

class OwnedTasks {
 public:
  static constexpr std::size_t kMaxShards = 1u << 16;  // owned_shard is 16 bits

  explicit OwnedTasks(std::size_t workers)
      : mask_(std::bit_ceil(std::min(std::max(workers * 4, std::size_t{16}), kMaxShards)) - 1),
        shards_(std::make_unique<Shard[]>(mask_ + 1)) {}

  // False (and nothing inserted) once closed. `hint` picks the shard (a worker index, or a hash).
  bool insert(TaskHeader* task, std::size_t hint) {
    task->owned_shard = static_cast<std::uint16_t>(hint & mask_);
    Shard& s = shards_[task->owned_shard];
    std::lock_guard lock(s.lock);
    if (s.closed) return false;
    task->owned_prev = nullptr;
    task->owned_next = s.head;
    if (s.head != nullptr) s.head->owned_prev = task;
    s.head = task;
    return true;
  }

  void remove(TaskHeader* task) {
    Shard& s = shards_[task->owned_shard];
    std::lock_guard lock(s.lock);
    if (task->owned_prev != nullptr) {
      task->owned_prev->owned_next = task->owned_next;
    } else {
      s.head = task->owned_next;
    }
    if (task->owned_next != nullptr) task->owned_next->owned_prev = task->owned_prev;
    task->owned_prev = task->owned_next = nullptr;
  }

  // Closes every shard and hands each remaining task to `f` (outside the shard lock); `f` must
  // remove it (through `remove`) or otherwise dispose of it.
  template <class F>
  void close_and_drain(F&& f) {
    for (std::size_t i = 0; i <= mask_; ++i) {
      Shard& s = shards_[i];
      {
        std::lock_guard lock(s.lock);
        s.closed = true;
      }
      for (;;) {
        TaskHeader* task;
        {
          std::lock_guard lock(s.lock);
          task = s.head;
        }
        if (task == nullptr) break;
        f(task);
      }
    }
  }

 private:
  struct alignas(variants::kCacheLine) Shard {
    SpinLock lock;
    bool closed = false;  // guarded by lock
    TaskHeader* head = nullptr;
  };

  std::size_t mask_;
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace weft::detail
