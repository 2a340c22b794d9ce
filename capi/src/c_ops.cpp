// weft.h's operations on the runtime's own awaiters: sleeps (weft::Sleep), channel sends and
// receives (weft::Channel<void*>), mutex locks (weft::AsyncMutex); and mt_op_poll/mt_op_drop.
// An operation holds its awaiter and steps it as a coroutine would, a poll at a time
// (AwaitStep): await_ready, then await_suspend, which registers the polling task's waker; later
// polls ask the awaiter whether it was notified. So these operations allocate nothing beyond
// themselves, and dropping one runs the awaiter's destructor, which already handles a task
// destroyed while waiting (unlink; pass on a lock or a value handed to it meanwhile).
#include <chrono>
#include <coroutine>
#include <memory>
#include <optional>
#include <utility>

#include "c_internal.hpp"
#include "weft/sync/channel.hpp"
#include "weft/sync/mutex.hpp"
#include "weft/time/sleep.hpp"

struct MtChannel {
  std::shared_ptr<weft::Channel<void*>> ch;
};

struct MtMutex {
  std::shared_ptr<weft::AsyncMutex> m;
};

namespace weft::capi {
namespace {

// Steps an awaiter one poll at a time; ready() is true once await_resume may be called.
template <class Awaiter>
class AwaitStep {
 public:
  template <class... Args>
  explicit AwaitStep(Args&&... args) : awaiter_(std::forward<Args>(args)...) {}

  bool ready() {
    if (waiting_) return awaiter_.is_notified();  // a poll before the wake: still waiting
    if (awaiter_.await_ready() || !awaiter_.await_suspend(std::noop_coroutine())) return true;
    waiting_ = true;
    return false;
  }
  Awaiter& awaiter() { return awaiter_; }

 private:
  Awaiter awaiter_;
  bool waiting_ = false;
};

using Clock = std::chrono::steady_clock;

class SleepOp final : public MtOp {
 public:
  explicit SleepOp(std::uint64_t deadline_ns) : deadline_ns_(deadline_ns) {}

  bool poll(MtContext* cx, MtOpResult*) override {
    // Bound to the polling task's runtime at the first poll, so that the op can be made
    // anywhere.
    if (!sleep_) sleep_.emplace(time_point(deadline_ns_));
    if (sleep_->is_elapsed()) {
      sleep_->disarm();  // fired (nothing to cancel) or about to: the wheel lets it go
      return true;
    }
    if (!armed_) {
      const MtWaker* w = mt_context_waker(cx);
      if (w == nullptr) throw std::logic_error(last_error);
      sleep_->arm(w->waker);  // timer_wheel_insert
      armed_ = true;
    }
    return false;
  }

  static Clock::time_point time_point(std::uint64_t ns) {
    using Ns = std::chrono::nanoseconds;
    if (ns >= static_cast<std::uint64_t>(Ns::max().count())) return Clock::time_point::max();
    return Clock::time_point(std::chrono::duration_cast<Clock::duration>(
        Ns(static_cast<Ns::rep>(ns))));
  }

  void reset(std::uint64_t deadline_ns) {
    sleep_.reset();  // timer_wheel_cancel if armed
    armed_ = false;
    deadline_ns_ = deadline_ns;
    done = false;
  }

 private:
  std::uint64_t deadline_ns_;
  std::optional<weft::Sleep> sleep_;
  bool armed_ = false;
};

// Members in this order: the awaiter goes first, while the channel it points into lives.
class SendOp final : public MtOp {
 public:
  SendOp(std::shared_ptr<weft::Channel<void*>> ch, void* value)
      : ch_(std::move(ch)), step_(*ch_, std::move(value)) {}
  bool poll(MtContext*, MtOpResult* r) override {
    if (!step_.ready()) return false;
    if (std::optional<void*> back = step_.awaiter().await_resume()) {
      r->status = fail(MT_ERR_CLOSED, "weft: send on a closed channel");
      r->value = *back;
    }
    return true;
  }

 private:
  std::shared_ptr<weft::Channel<void*>> ch_;
  AwaitStep<weft::Channel<void*>::SendAwaiter> step_;
};

class RecvOp final : public MtOp {
 public:
  explicit RecvOp(std::shared_ptr<weft::Channel<void*>> ch) : ch_(std::move(ch)), step_(*ch_) {}
  bool poll(MtContext*, MtOpResult* r) override {
    if (!step_.ready()) return false;
    if (std::optional<void*> v = step_.awaiter().await_resume()) {
      r->value = *v;
    } else {
      r->status = fail(MT_ERR_CLOSED, "weft: the channel is closed and drained");
    }
    return true;
  }

 private:
  std::shared_ptr<weft::Channel<void*>> ch_;
  AwaitStep<weft::Channel<void*>::RecvAwaiter> step_;
};

class LockOp final : public MtOp {
 public:
  explicit LockOp(std::shared_ptr<weft::AsyncMutex> m) : m_(std::move(m)), step_(*m_) {}
  bool poll(MtContext*, MtOpResult*) override {
    if (!step_.ready()) return false;
    step_.awaiter().await_resume().release();  // the C caller unlocks (async_mutex_unlock)
    return true;
  }

 private:
  std::shared_ptr<weft::AsyncMutex> m_;
  weft::capi::AwaitStep<weft::AsyncMutex::LockAwaiter> step_;
};

}  // namespace
}  // namespace weft::capi

using weft::capi::fail;
using weft::capi::guarded;

extern "C" {

MtPoll mt_op_poll(MtOp* op, MtContext* cx, MtOpResult* result) {
  MtOpResult scratch;
  MtOpResult* r = result != nullptr ? result : &scratch;
  *r = MtOpResult{};
  bool ready = true;
  r->status = guarded([&] {
    if (op == nullptr || cx == nullptr || result == nullptr) {
      return fail(MT_ERR_INVALID_ARGUMENT, op == nullptr   ? "weft: a NULL operation"
                                           : cx == nullptr ? "weft: a NULL context"
                                                           : "weft: a NULL result");
    }
    if (op->done) return fail(MT_ERR_ALREADY_TAKEN, "weft: the operation already completed");
    ready = op->poll(cx, r);
    op->done = ready;
    return r->status;
  });
  return ready ? MT_READY : MT_PENDING;
}

void mt_op_drop(MtOp* op) { delete op; }

uint64_t mt_now_ns(void) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   weft::capi::Clock::now().time_since_epoch())
                                   .count());
}

MtOp* mt_sleep_until(uint64_t deadline_ns) {
  return weft::capi::make_op<weft::capi::SleepOp>(deadline_ns);
}

MtOp* mt_sleep(uint64_t duration_ms) {
  const uint64_t now = mt_now_ns();
  const uint64_t max_ms = (UINT64_MAX - now) / 1'000'000;
  return mt_sleep_until(duration_ms >= max_ms ? UINT64_MAX : now + duration_ms * 1'000'000);
}

MtStatus mt_sleep_reset(MtOp* op, uint64_t deadline_ns) {
  auto* sleep = dynamic_cast<weft::capi::SleepOp*>(op);
  if (sleep == nullptr) return fail(MT_ERR_INVALID_ARGUMENT, "weft: not a sleep");
  sleep->reset(deadline_ns);
  return MT_OK;
}

MtChannel* async_channel_new(size_t capacity) {
  MtChannel* out = nullptr;
  guarded([&] {
    if (capacity == 0) return fail(MT_ERR_INVALID_ARGUMENT, "weft: a channel needs capacity >= 1");
    out = new MtChannel{std::make_shared<weft::Channel<void*>>(capacity)};
    return MT_OK;
  });
  return out;
}

MtOp* async_channel_send(MtChannel* ch, void* value) {
  if (ch == nullptr) {
    fail(MT_ERR_INVALID_ARGUMENT, "weft: a NULL channel");
    return nullptr;
  }
  return weft::capi::make_op<weft::capi::SendOp>(ch->ch, value);
}

MtOp* async_channel_recv(MtChannel* ch) {
  if (ch == nullptr) {
    fail(MT_ERR_INVALID_ARGUMENT, "weft: a NULL channel");
    return nullptr;
  }
  return weft::capi::make_op<weft::capi::RecvOp>(ch->ch);
}

MtStatus async_channel_try_recv(MtChannel* ch, void** value) {
  if (ch == nullptr || value == nullptr) {
    return fail(MT_ERR_INVALID_ARGUMENT, "weft: a NULL channel or value pointer");
  }
  if (std::optional<void*> v = ch->ch->try_recv()) {
    *value = *v;
    return MT_OK;
  }
  // Closed is checked after the empty ring: a value sent before close() is never missed.
  if (ch->ch->is_closed()) {
    if (std::optional<void*> v = ch->ch->try_recv()) {
      *value = *v;
      return MT_OK;
    }
    return fail(MT_ERR_CLOSED, "weft: the channel is closed and drained");
  }
  return fail(MT_ERR_EMPTY, "weft: the channel is empty");
}

MtStatus async_channel_close(MtChannel* ch) {
  if (ch == nullptr) return fail(MT_ERR_INVALID_ARGUMENT, "weft: a NULL channel");
  ch->ch->close();
  return MT_OK;
}

void async_channel_destroy(MtChannel* ch) { delete ch; }

MtMutex* async_mutex_new(void) {
  MtMutex* out = nullptr;
  guarded([&] {
    out = new MtMutex{std::make_shared<weft::AsyncMutex>()};
    return MT_OK;
  });
  return out;
}

MtOp* async_mutex_lock(MtMutex* m) {
  if (m == nullptr) {
    fail(MT_ERR_INVALID_ARGUMENT, "weft: a NULL mutex");
    return nullptr;
  }
  return weft::capi::make_op<weft::capi::LockOp>(m->m);
}

MtStatus async_mutex_unlock(MtMutex* m) {
  if (m == nullptr) return fail(MT_ERR_INVALID_ARGUMENT, "weft: a NULL mutex");
  if (!m->m->is_locked()) return fail(MT_ERR_MISUSE, "weft: unlock of a mutex nobody holds");
  m->m->unlock();
  return MT_OK;
}

void async_mutex_destroy(MtMutex* m) { delete m; }

}  // extern "C"
