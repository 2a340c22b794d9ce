// weft.h's mt_queue: one scheduler variant's work-stealing queue without a runtime. The owner
// (the creating thread) pushes and pops its local queue (V::LocalQueue<void*>); other threads
// push into its overflow (V::Injector<void*>, which also takes the local queue's spills) and
// steal from both. An owner blocked in mt_queue_pop sleeps on a condition variable that a
// pusher from another thread signals.
//
// The owner's wait and the foreign push must not miss each other (a lost wake-up would leave
// the owner asleep until its timeout with an item waiting). Dekker's pattern, with the mutex
// closing the window between the owner's last check and its wait:
//   owner:  lock; sleepers++ [Q1]; fence [Q2]; pop the overflow; empty: wait (unlocks)
//   pusher: push the overflow; fence [Q3]; sleepers? [Q4]: lock; unlock; notify
// Either the pusher's load sees the owner's increment (then it takes the mutex, which the owner
// holds until it waits, and notifies after), or the owner's pop sees the pushed item.
//
// Synchronization map:
//   [Q1] relaxed RMW of sleepers_ under mu_ (owner) -- ordered against its later pop by [Q2].
//   [Q2] seq_cst fence (owner) between [Q1] and the overflow pop -- pairs with [Q3]: one of the
//        two sides sees the other's write.
//   [Q3] seq_cst fence (pusher) between the overflow push and [Q4] -- pairs with [Q2].
//   [Q4] relaxed load of sleepers_ (pusher) -- ordered after its push by [Q3].
//   The queues' own orderings are their headers' (variants/include/weft/variants/).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>

#include "c_internal.hpp"
#include "weft/variants/registry.hpp"

struct MtQueue {
  MtQueue(std::string_view variant, std::thread::id owner) : variant(variant), owner(owner) {}
  MtQueue(const MtQueue&) = delete;
  MtQueue& operator=(const MtQueue&) = delete;
  virtual ~MtQueue() = default;

  virtual void push_local(void* item) = 0;     // owner
  virtual void push_overflow(void* item) = 0;  // any thread
  virtual bool pop_local(void** item) = 0;     // owner
  virtual bool pop_overflow(void** item) = 0;  // any thread
  // Into `thief` (same variant, the caller's); one item out.
  virtual bool steal_into(MtQueue& thief, void** item) = 0;

  const std::string_view variant;
  const std::thread::id owner;
  std::mutex mu;
  std::condition_variable cv;
  std::atomic<unsigned> sleepers{0};
};

namespace weft::capi {
namespace {

template <class V>
class QueueOf final : public MtQueue {
  using Local = typename V::template LocalQueue<void*>;
  using Overflow = typename V::template Injector<void*>;

 public:
  explicit QueueOf(std::thread::id owner) : MtQueue(V::name, owner) {}

  void push_local(void* item) override {
    local_.push(std::move(item), [this](std::span<void*> batch) { overflow_.push_batch(batch); });
  }
  void push_overflow(void* item) override { overflow_.push(std::move(item)); }
  bool pop_local(void** item) override { return take(local_.pop(), item); }
  bool pop_overflow(void** item) override { return take(overflow_.pop(), item); }

  bool steal_into(MtQueue& thief_base, void** item) override {
    auto& thief = static_cast<QueueOf&>(thief_base);
    if (take(local_.steal_into(thief.local_, true), item)) return true;
    // The local queue was empty: half of the overflow (at least one), the rest to the thief.
    const std::size_t want = std::max<std::size_t>(1, overflow_.size_hint() / 2);
    bool got = false;
    overflow_.pop_batch(std::min(want, variants::kMaxBatch), [&](void*&& v) {
      if (!got) {
        *item = v;
        got = true;
      } else {
        thief.push_local(v);
      }
    });
    return got;
  }

 private:
  static bool take(std::optional<void*> v, void** item) {
    if (!v) return false;
    *item = *v;
    return true;
  }

  Local local_;
  Overflow overflow_;
};

bool is_owner(const MtQueue* q) { return q->owner == std::this_thread::get_id(); }

MtStatus pop_now(MtQueue* q, void** item) {
  if (q->pop_local(item) || q->pop_overflow(item)) return MT_OK;
  return fail(MT_ERR_EMPTY, "weft: the queue is empty");
}

}  // namespace
}  // namespace weft::capi

using weft::capi::fail;
using weft::capi::guarded;

extern "C" {

MtQueue* mt_queue_create(const char* variant) {
  MtQueue* out = nullptr;
  guarded([&] {
    const std::string name = variant != nullptr ? variant : weft::RuntimeOptions{}.variant;
    const bool known = weft::variants::AllVariants::visit(name, [&]<class V>() {
      out = new weft::capi::QueueOf<V>(std::this_thread::get_id());
    });
    if (!known) return fail(MT_ERR_INVALID_ARGUMENT, "weft: unknown variant '" + name + "'");
    return MT_OK;
  });
  return out;
}

void mt_queue_destroy(MtQueue* q) { delete q; }

MtStatus mt_queue_push(MtQueue* q, void* item) {
  return guarded([&] {
    if (q == nullptr || item == nullptr) {
      return fail(MT_ERR_INVALID_ARGUMENT, "weft: a NULL queue or item");
    }
    if (weft::capi::is_owner(q)) {
      q->push_local(item);
      return MT_OK;
    }
    q->push_overflow(item);
    std::atomic_thread_fence(std::memory_order_seq_cst);  // [Q3] pairs with [Q2]
    // [Q4] relaxed: ordered after the push by [Q3].
    if (q->sleepers.load(std::memory_order_relaxed) > 0) {
      { std::lock_guard<std::mutex> guard(q->mu); }  // the owner is waiting, or will see it
      q->cv.notify_one();
    }
    return MT_OK;
  });
}

MtStatus mt_queue_try_pop(MtQueue* q, void** item) {
  if (q == nullptr || item == nullptr) {
    return fail(MT_ERR_INVALID_ARGUMENT, "weft: a NULL queue or item pointer");
  }
  if (!weft::capi::is_owner(q)) return fail(MT_ERR_MISUSE, "weft: pop from a thread not the owner");
  return weft::capi::pop_now(q, item);
}

MtStatus mt_queue_pop(MtQueue* q, void** item, uint64_t timeout_ms) {
  return guarded([&] {
    if (MtStatus s = mt_queue_try_pop(q, item); s != MT_ERR_EMPTY) return s;
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::milliseconds(std::min<uint64_t>(timeout_ms, 1ull << 40));
    std::unique_lock<std::mutex> lock(q->mu);
    // [Q1] relaxed: under mu; ordered against the pop below by [Q2].
    q->sleepers.fetch_add(1, std::memory_order_relaxed);
    MtStatus out = MT_ERR_TIMEOUT;
    for (;;) {
      std::atomic_thread_fence(std::memory_order_seq_cst);  // [Q2] pairs with [Q3]
      if (q->pop_local(item) || q->pop_overflow(item)) {
        out = MT_OK;
        break;
      }
      if (q->cv.wait_until(lock, deadline) == std::cv_status::timeout) {
        if (q->pop_overflow(item)) out = MT_OK;
        break;
      }
    }
    // [Q1] relaxed: as above.
    q->sleepers.fetch_sub(1, std::memory_order_relaxed);
    if (out == MT_ERR_TIMEOUT) return fail(out, "weft: nothing to pop before the timeout");
    return out;
  });
}

MtStatus mt_queue_steal(MtQueue* victim, MtQueue* thief, void** item) {
  return guarded([&] {
    if (victim == nullptr || thief == nullptr || item == nullptr) {
      return fail(MT_ERR_INVALID_ARGUMENT, "weft: a NULL queue or item pointer");
    }
    if (victim->variant != thief->variant) {
      return fail(MT_ERR_INVALID_ARGUMENT, "weft: steal between queues of different variants");
    }
    if (victim == thief || !weft::capi::is_owner(thief) || weft::capi::is_owner(victim)) {
      return fail(MT_ERR_MISUSE, "weft: steal into a queue this thread does not own, or from one it does");
    }
    if (victim->steal_into(*thief, item)) return MT_OK;
    return fail(MT_ERR_EMPTY, "weft: nothing to steal");
  });
}

}  // extern "C"
