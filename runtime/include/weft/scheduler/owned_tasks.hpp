// OwnedTasks: every spawned task that has not completed, so shutdown can find and destroy the
// frames of tasks that are suspended with nobody to wake them (Tokio's OwnedTasks).
//
// Sharded intrusive doubly-linked lists (links in the TaskHeader), one spin lock per shard; the
// shard is a hash of the task's address, so insert and remove are O(1) and rarely contended.
// Once closed, inserts fail and the caller cancels the task instead.
#pragma once

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
  explicit OwnedTasks(std::size_t workers)
      : mask_(std::bit_ceil(workers * 4 < 16 ? std::size_t{16} : workers * 4) - 1),
        shards_(std::make_unique<Shard[]>(mask_ + 1)) {}

  // False (and nothing inserted) once closed.
  bool insert(TaskHeader* task) {
    Shard& s = shard_of(task);
    std::lock_guard lock(s.lock);
    if (s.closed) return false;
    task->owned_prev = nullptr;
    task->owned_next = s.head;
    if (s.head != nullptr) s.head->owned_prev = task;
    s.head = task;
    ++s.count;
    return true;
  }

  void remove(TaskHeader* task) {
    Shard& s = shard_of(task);
    std::lock_guard lock(s.lock);
    if (task->owned_prev != nullptr) {
      task->owned_prev->owned_next = task->owned_next;
    } else {
      s.head = task->owned_next;
    }
    if (task->owned_next != nullptr) task->owned_next->owned_prev = task->owned_prev;
    task->owned_prev = task->owned_next = nullptr;
    --s.count;
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

  std::size_t size() {
    std::size_t n = 0;
    for (std::size_t i = 0; i <= mask_; ++i) {
      std::lock_guard lock(shards_[i].lock);
      n += shards_[i].count;
    }
    return n;
  }

 private:
  struct alignas(variants::kCacheLine) Shard {
    SpinLock lock;
    bool closed = false;  // guarded by lock
    TaskHeader* head = nullptr;
    std::size_t count = 0;
  };

  Shard& shard_of(TaskHeader* task) {
    const auto addr = reinterpret_cast<std::uintptr_t>(task);
    return shards_[(addr >> 7) * 0x9E3779B97F4A7C15ULL >> 40 & mask_];
  }

  std::size_t mask_;
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace weft::detail
