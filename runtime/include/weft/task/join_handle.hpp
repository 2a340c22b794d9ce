// JoinHandle<T>: the spawner's handle on a spawned task.
//
//   co_await handle      the task's value; an exception the task threw is rethrown; a task that
//                        was aborted or destroyed at shutdown throws weft::JoinError.
//   handle.detach()      let the task run on with nobody to collect its value (also what the
//                        destructor does, as in Tokio).
//   handle.abort()       ask for the task to be cancelled: a queued or suspended task has its
//                        frame destroyed without being resumed; a running one after its poll.
//
// A JoinHandle may be awaited once, from inside a task (block_on waits for one from outside).
#pragma once

#include <coroutine>
#include <stdexcept>
#include <utility>

#include "weft/task/context.hpp"
#include "weft/task/header.hpp"
#include "weft/task/task.hpp"

namespace weft {

class JoinError : public std::runtime_error {
 public:
  JoinError() : std::runtime_error("weft: task was cancelled before it completed") {}
};

template <class T>
class [[nodiscard]] JoinHandle {
 public:
  JoinHandle() = default;
  // Takes over the join reference of a freshly spawned task.
  explicit JoinHandle(TaskHeader* task) noexcept : task_(task) {}
  JoinHandle(JoinHandle&& other) noexcept : task_(std::exchange(other.task_, nullptr)) {}
  JoinHandle& operator=(JoinHandle&& other) noexcept {
    if (this != &other) {
      detach();
      task_ = std::exchange(other.task_, nullptr);
    }
    return *this;
  }
  JoinHandle(const JoinHandle&) = delete;
  JoinHandle& operator=(const JoinHandle&) = delete;
  ~JoinHandle() { detach(); }

  bool valid() const { return task_ != nullptr; }
  TaskHeader* header() const { return task_; }

  void detach() {
    if (task_ != nullptr) std::exchange(task_, nullptr)->drop_join_handle();
  }

  void abort() {
    if (task_ != nullptr) task_->abort();
  }

  // True once the task completed or was cancelled (co_await will not suspend).
  bool is_finished() const {
    return task_ != nullptr && (task_->load_state() & TaskHeader::kComplete);
  }

  // For block_on: registers `waker` for completion; false if already complete.
  bool register_waker(Waker waker) { return task_->set_join_waker(std::move(waker)); }

  // The value of a completed task (consumes it). Throws JoinError if it was cancelled.
  T take_result() {
    const std::uint64_t s = task_->load_state();
    if (s & TaskHeader::kCancelled) throw JoinError();
    using Promise = detail::TaskPromise<T>;
    auto h = std::coroutine_handle<Promise>::from_address(task_->frame());
    return h.promise().take_result();
  }

  auto operator co_await() noexcept {
    struct Awaiter {
      JoinHandle* self;
      bool forced_yield = false;
      bool await_ready() noexcept {
        if (!self->is_finished()) return false;
        // Ready at once: spend budget, and yield if it ran out (see context.hpp).
        forced_yield = !detail::consume_budget();
        return !forced_yield;
      }
      bool await_suspend(std::coroutine_handle<>) {
        TaskHeader* me = detail::current_task();
        if (me == nullptr) {
          throw std::logic_error("weft: a JoinHandle is awaited from outside a task");
        }
        if (forced_yield) {
          // Complete already: yield once, then read the value.
          me->wake_self();
          return true;
        }
        // Suspend unless the task completed while we registered.
        return self->register_waker(me->make_waker());
      }
      T await_resume() { return self->take_result(); }
    };
    return Awaiter{this};
  }

 private:
  TaskHeader* task_ = nullptr;
};

}  // namespace weft
