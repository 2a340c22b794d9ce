// The io_contexts and threads behind both Asio variants (harness/peers/README.md):
//   --contexts=shared      (variant `asio`):      one io_context run by T threads;
//   --contexts=per_thread  (variant `asio_pool`): T io_contexts, one thread each, Asio's
//                          io_context-per-CPU design: work is dealt round robin, never stolen.
// next() is where a new task (Weft's spawn) or an accepted socket goes; Done is how the main
// thread, outside the contexts, observes a completion (Weft's block_on).
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace weft_peer::asio_peer {

namespace asio = boost::asio;

class Contexts {
 public:
  Contexts(std::size_t threads, bool per_thread) {
    const std::size_t n = per_thread ? threads : 1;
    for (std::size_t i = 0; i < n; ++i) {
      contexts_.push_back(std::make_unique<asio::io_context>(per_thread ? 1 : int(threads)));
      guards_.emplace_back(asio::make_work_guard(*contexts_.back()));
    }
    for (std::size_t i = 0; i < threads; ++i) {
      threads_.emplace_back([this, i] {
        cursor() = i + 1;  // each thread deals round robin starting past its own context
        contexts_[i % contexts_.size()]->run();
      });
    }
  }
  Contexts(const Contexts&) = delete;
  Contexts& operator=(const Contexts&) = delete;
  ~Contexts() {
    release();
    join();
  }

  // The context for the next task posted from this thread.
  asio::io_context& next() {
    if (contexts_.size() == 1) return *contexts_.front();
    return *contexts_[cursor()++ % contexts_.size()];
  }

  // Lets run() return once the contexts run out of work.
  void release() {
    for (auto& g : guards_) g.reset();
  }
  void join() {
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

 private:
  static std::size_t& cursor() {
    thread_local std::size_t c = 0;
    return c;
  }

  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::vector<std::optional<asio::executor_work_guard<asio::io_context::executor_type>>> guards_;
  std::vector<std::thread> threads_;
};

// A one-shot result handed from a handler to the thread that waits for it.
class Done {
 public:
  void set(std::int64_t v) {
    std::lock_guard lock(mu_);  // notify under the lock: the waiter may free *this right after
    value_ = v;
    set_ = true;
    cv_.notify_one();
  }
  std::int64_t wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return set_; });
    return value_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool set_ = false;
  std::int64_t value_ = 0;
};

}  // namespace weft_peer::asio_peer
