// ChaseLevDeque<T, Atom>: the Chase-Lev work-stealing deque, with the C11 orderings of
//
//   D. Chase, Y. Lev. "Dynamic Circular Work-Stealing Deque". SPAA 2005.
//   N. M. Le, A. Pop, A. Cohen, F. Zappa Nardelli. "Correct and Efficient Work-Stealing for
//   Weak Memory Models". PPoPP 2013, Fig. 1 (push, take, steal; proved correct for C11).
//
// The owner pushes and pops at the bottom (LIFO); thieves steal at the top (FIFO). The buffer is a
// power-of-two ring of `Atom<T>` slots that doubles when full: the deque is unbounded and never
// spills (kBounded = false). The `chase_lev` variant (ChaseLevVariant, at the end) uses it as the
// per-worker queue.
//
// Deviations from the paper, and why:
//   - Indices are signed 64-bit. The paper's size_t makes take()'s `b - 1` wrap to SIZE_MAX on
//     an empty deque at bottom 0, and then `t <= b` wrongly says non-empty. 2^63 pushes never
//     wrap in practice.
//   - push() reloads the buffer after a resize (the paper's code keeps the old pointer and
//     writes into the retired buffer; found by CDSChecker, Norris & Demsky, OOPSLA 2013).
//   - steal reloads the buffer after reading the slot and gives up if it changed, before its
//     CAS ([S6]; crossbeam-deque's fix for CVE-2021-32810). With this deque's grow-only,
//     never-reused buffers the re-check is belt and braces (a retired buffer is never written
//     again, and its slot for index t still holds item t for as long as top == t, because the
//     owner can only retake index t through the CAS [P7] that would fail our CAS); it is kept
//     so a later change (shrinking, reusing buffers) cannot reintroduce the bug.
//   - Retired buffers are kept, chained from the current one, until the deque is destroyed (no
//     epoch or hazard-pointer reclamation: a thief may still be reading one). They sum to less
//     than the current buffer, so memory is at most 2x the peak. The buffer never shrinks.
//   - The paper's consume load of the buffer pointer is an acquire load ([S4], [S6]).
//   - [U6] is a release store where the paper has relaxed: the release fence [U5] already
//     orders the slot write, but ThreadSanitizer does not model fences and would report the
//     item's payload as racing between the owner and a thief. crossbeam does the same.
//   - steal_into (batch) repeats the single-item steal up to steal_count(len, half) times,
//     one CAS per item, as crossbeam's steal_batch does for LIFO workers. A single CAS over a
//     whole batch [t, t+n) is unsafe here: the owner takes items at b-1 > t without any CAS
//     (only the last item is contended), so it could take an item inside the thief's batch.
//     Each stolen item except the first goes into the thief's own deque through its owner push
//     (the caller owns `thief`); the first (oldest) is returned to run now.
//
// Who may call what:
//   push, pop, capacity        the owner only (one thread at a time; hand-over needs a
//                              happens-before edge, e.g. a thread start)
//   steal_into(thief, half)    any thread except the owner, which must itself be the owner of
//                              `thief` (it pushes into it)
//   size_hint                  anyone; a snapshot that may be stale
//   ctor / dtor                no concurrent calls
//
// T is trivially copyable (static_assert): slots are `Atom<T>`, read by a thief possibly at the
// same time as the owner overwrites them (the thief's CAS then fails and the value is dropped),
// so a slot read must be atomic. The runtime stores `TaskHeader*`. For std::atomic, a T wider
// than 8 bytes works but may not be lock-free.
//
// Invariants (top t, bottom b, current buffer a of capacity c):
//   I1. top_ only grows, by one, through a successful CAS ([S7] or [P7]).
//   I2. The items are the logical indices [t, b); index i lives in a->slot(i) (i mod c), and
//       b - t <= c. b < t only transiently: b = t - 1 between [P3] and [P8] of a pop of an empty
//       deque (size_hint clamps it to 0).
//   I3. Only the owner writes bottom_, buffer_ and the slots. A retired buffer is never
//       written again; every buffer ever published lives until the deque dies.
//   I4. An item is taken by exactly one of: a steal whose CAS [S7] moved top from i to i+1, the
//       owner's pop of index i > t (no CAS: no thief can reach i, see [P4]), or the owner's pop
//       of the last item i == t through [P7].
//
// Synchronization map (labels are on the operations below):
//   [U1] bottom_ load relaxed (push)   owner reads its own writes.
//   [U2] top_ load acquire (push)      pairs with [S7]/[P7]: a thief's read [S5] of a slot below
//                                      top happens before the owner's overwrite [U4] of it.
//   [U3] buffer_ load relaxed (push)   owner reads its own writes.
//   [U4] slot store relaxed (push)     published by [U5]/[U6].
//   [U5] release fence (push)          pairs with [S3]: makes every later bottom_ store carry the
//                                      slot writes, including pop's relaxed [P3]/[P8].
//   [U6] bottom_ store release (push)  pairs with [S3] (release only for TSan, see above).
//   [G1] slot load/store relaxed (grow) copy into the new buffer; published by [G2].
//   [G2] buffer_ store release (grow)  pairs with [S4]/[S6]: the copied slots and the buffer's
//                                      fields are visible to a thief that sees the new pointer.
//   [P1] bottom_ load relaxed (pop)    owner reads its own writes.
//   [P2] buffer_ load relaxed (pop, capacity) owner reads its own writes.
//   [P3] bottom_ store relaxed (pop)   reserves index b; ordered by [P4].
//   [P4] seq_cst fence (pop)           pairs with [S2]: either the thief's [S3] sees the
//                                      decremented bottom, or our [P5] sees its [S7] top.
//   [P5] top_ load relaxed (pop)       ordered after [P3] by [P4].
//   [P6] slot load relaxed (pop)       the owner's own write.
//   [P7] top_ CAS seq_cst (pop)        last item: races [S7] of thieves; exactly one wins.
//   [P8] bottom_ store relaxed (pop)   restores bottom after an empty or last-item pop.
//   [S1] top_ load acquire (steal)     pairs with [S7]/[P7] of others.
//   [S2] seq_cst fence (steal)         pairs with [P4].
//   [S3] bottom_ load acquire (steal)  pairs with [U5]/[U6]: slots below bottom are written.
//   [S4] buffer_ load acquire (steal)  pairs with [G2].
//   [S5] slot load relaxed (steal)     the value is kept only if [S7] succeeds.
//   [S6] buffer_ load acquire (steal)  re-check (CVE-2021-32810); pairs with [G2].
//   [S7] top_ CAS seq_cst (steal)      claims index t; pairs with [P7], other thieves' [S7],
//                                      and the owner's [U2].
//   [H1] bottom_ load relaxed, [H2] top_ load relaxed (size_hint): a hint, no ordering.
// Fences go through thread_fence<Atom> (fence.hpp) so a model checker sees them too.
#pragma once

#include <atomic>
#include <bit>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>

#include "weft/variants/concepts.hpp"
#include "weft/variants/fence.hpp"
#include "weft/variants/vyukov.hpp"
#include "weft/variants/steal.hpp"

namespace weft::variants {

// Test hooks for the model checker (tests/variants/model): each flag plants one known bug, so the
// test can show that it catches it. Production code uses NoPlantedBug, and the flags compile away.
struct NoPlantedBug {
  static constexpr bool kWeakPushRelease = false;   // push publishes bottom_ with no release
  static constexpr bool kSkipStealRecheck = false;  // steal does not re-check the buffer
  static constexpr bool kWeakStealFence = false;    // steal's seq_cst fence is only acquire
};

template <class T, template <class> class Atom = std::atomic, class Plant = NoPlantedBug>
class ChaseLevDeque {
  static_assert(std::is_trivially_copyable_v<T>,
                "ChaseLevDeque keeps items in Atom<T> slots that a thief may read while the "
                "owner overwrites them: T must be trivially copyable (the runtime uses pointers)");

 public:
  static constexpr OwnerOrder kOwnerOrder = OwnerOrder::kLifo;
  static constexpr bool kBounded = false;

  ChaseLevDeque() : ChaseLevDeque(kDefaultLocalCapacity) {}
  // `initial_capacity` is rounded up to a power of two >= 2; the deque grows past it.
  explicit ChaseLevDeque(std::size_t initial_capacity)
      : owned_(std::make_unique<Buffer>(
            static_cast<std::int64_t>(std::bit_ceil(initial_capacity < 2 ? 2 : initial_capacity)))),
        buffer_(owned_.get()) {}

  ChaseLevDeque(const ChaseLevDeque&) = delete;
  ChaseLevDeque& operator=(const ChaseLevDeque&) = delete;

  // Owner only. Never spills (unbounded).
  template <class Spill>
  void push(T item, Spill&& /*spill*/) {
    push_owner(item);
  }

  // Owner only: the most recently pushed item (take() in the paper).
  std::optional<T> pop() {
    // [P1] relaxed: only the owner writes bottom_.
    const std::int64_t b = bottom_.load(std::memory_order_relaxed) - 1;
    // [P2] relaxed: only the owner writes buffer_.
    Buffer* a = buffer_.load(std::memory_order_relaxed);
    // [P3] relaxed: reserve index b; [P4] orders this store before the top_ load.
    bottom_.store(b, std::memory_order_relaxed);
    // [P4] seq_cst fence: store bottom, then load top, with no reordering; pairs with [S2]
    // (steal), so a racing thief either sees bottom = b or we see its incremented top.
    thread_fence<Atom>(std::memory_order_seq_cst);
    // [P5] relaxed: ordered by [P4]; a stale-low top is impossible after the fence pair.
    std::int64_t t = top_.load(std::memory_order_relaxed);
    if (t > b) {
      // Empty. [P8] relaxed: undo the reservation; no thief takes anything at b.
      bottom_.store(b + 1, std::memory_order_relaxed);
      return std::nullopt;
    }
    // [P6] relaxed: the owner's own write [U4]/[G1].
    T item = a->slot(b).load(std::memory_order_relaxed);
    if (t < b) return item;  // more than one item: no thief can reach index b (I4).
    // The last item: race the thieves for it. [P7] seq_cst on success: in the single total
    // order with [S2]/[P4] and the thieves' [S7] (Le et al.); relaxed on failure: we only learn
    // that a thief won. Pairs with [S7].
    const bool won = top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst,
                                                  std::memory_order_relaxed);
    // [P8] relaxed: top is now b + 1 either way; bottom follows it (empty deque).
    bottom_.store(b + 1, std::memory_order_relaxed);
    if (!won) return std::nullopt;
    return item;
  }

  // Called by the owner of `thief` (never this deque's owner): steals up to
  // steal_count(len, half) items from the top, one CAS each; returns the oldest and pushes the
  // others into `thief` (through its owner push). Retries the first item while the deque looks
  // non-empty (each failed CAS means another thread took an item: lock-free); stops the batch at
  // the first failure after that.
  std::optional<T> steal_into(ChaseLevDeque& thief, bool half) {
    assert(&thief != this);
    std::optional<T> first;
    std::size_t want = 1;
    std::size_t taken = 0;
    while (taken < want) {
      std::optional<T> item;
      const Stolen r = steal_one(item, taken == 0 ? &want : nullptr, half);
      if (r == Stolen::kEmpty) break;
      if (r == Stolen::kLost) {
        if (taken == 0) continue;  // lost a race on a non-empty deque: retry the first item
        break;
      }
      if (taken++ == 0) {
        first = item;
      } else {
        thief.push_owner(*item);
      }
    }
    return first;
  }

  // Anyone: bottom - top clamped to [0, ...]; exact when no push, pop or steal is in flight.
  std::size_t size_hint() const {
    // [H1] relaxed: a hint; callers re-check through pop or steal.
    const std::int64_t b = bottom_.load(std::memory_order_relaxed);
    // [H2] relaxed: as [H1]; a pop in flight can make b < t, clamped below.
    const std::int64_t t = top_.load(std::memory_order_relaxed);
    return b > t ? static_cast<std::size_t>(b - t) : 0;
  }

  // Owner only: slots in the current buffer (tests check growth with it).
  std::size_t capacity() const {
    // [P2] relaxed: only the owner writes buffer_.
    return static_cast<std::size_t>(buffer_.load(std::memory_order_relaxed)->capacity);
  }

 private:
  // A power-of-two ring of slots, and the buffer it replaced (kept alive until the deque dies,
  // so a thief that loaded the old pointer can still read it).
  struct Buffer {
    explicit Buffer(std::int64_t cap)
        : capacity(cap), slots(std::make_unique<Atom<T>[]>(static_cast<std::size_t>(cap))) {}
    Atom<T>& slot(std::int64_t i) { return slots[static_cast<std::size_t>(i & (capacity - 1))]; }

    // Safety: plain fields written once by the owner before [G2] publishes the buffer; a thief
    // reads them only after [S4] acquired the pointer.
    const std::int64_t capacity;
    const std::unique_ptr<Atom<T>[]> slots;
    std::unique_ptr<Buffer> retired;  // owner only: the previous buffer, or null
  };

  // Owner only; also the thief's path into its own deque in steal_into.
  void push_owner(T item) {
    // [U1] relaxed: only the owner writes bottom_.
    const std::int64_t b = bottom_.load(std::memory_order_relaxed);
    // [U2] acquire: pairs with the thieves' [S7] (and [P7]): every thief read [S5] of a slot
    // below t happens before we overwrite that slot below.
    const std::int64_t t = top_.load(std::memory_order_acquire);
    // [U3] relaxed: only the owner writes buffer_.
    Buffer* a = buffer_.load(std::memory_order_relaxed);
    if (b - t > a->capacity - 1) a = grow(a, t, b);  // reload after the resize (CDSChecker)
    // [U4] relaxed: published by [U5]/[U6].
    a->slot(b).store(item, std::memory_order_relaxed);
    if constexpr (Plant::kWeakPushRelease) {
      // [U6] relaxed: the planted bug -- nothing orders the slot write before bottom_.
      bottom_.store(b + 1, std::memory_order_relaxed);
      return;
    }
    // [U5] release fence: the slot write before any later bottom_ store; pairs with [S3].
    thread_fence<Atom>(std::memory_order_release);
    // [U6] release: the paper's relaxed plus [U5] suffices; release so TSan (which ignores
    // fences) sees the item's payload published. Pairs with [S3] (steal).
    bottom_.store(b + 1, std::memory_order_release);
  }

  // Owner only: doubles the buffer, copying the live indices [t, b). Returns the new buffer.
  Buffer* grow(Buffer* old, std::int64_t t, std::int64_t b) {
    auto next = std::make_unique<Buffer>(old->capacity * 2);
    for (std::int64_t i = t; i < b; ++i) {
      // [G1] relaxed load and store: the owner's own writes; [G2] publishes the copies.
      next->slot(i).store(old->slot(i).load(std::memory_order_relaxed), std::memory_order_relaxed);
    }
    next->retired = std::move(owned_);
    owned_ = std::move(next);
    // [G2] release: the new buffer's fields and copied slots before its pointer; pairs with [S4]
    // and [S6] (steal).
    buffer_.store(owned_.get(), std::memory_order_release);
    return owned_.get();
  }

  enum class Stolen { kEmpty, kLost, kTaken };

  // One steal of the top item (steal() in the paper) into `out`. Sets *len_out (if given) to
  // the batch size for the length it saw. kLost: the deque was non-empty but another thread
  // took index t first, or the buffer changed under us.
  Stolen steal_one(std::optional<T>& out, std::size_t* len_out, bool half) {
    // [S1] acquire: pairs with [S7]/[P7] of other threads (Le et al.).
    std::int64_t t = top_.load(std::memory_order_acquire);
    // [S2] seq_cst fence: load top, then load bottom, in the single total order with [P4] (pop):
    // if the owner reserved index t, we see it in [S3] or it sees our [S7].
    thread_fence<Atom>(Plant::kWeakStealFence ? std::memory_order_acquire
                                              : std::memory_order_seq_cst);
    // [S3] acquire: pairs with [U5]/[U6] (push): the slots below b are written.
    const std::int64_t b = bottom_.load(std::memory_order_acquire);
    if (t >= b) return Stolen::kEmpty;
    if (len_out != nullptr) *len_out = steal_count(static_cast<std::size_t>(b - t), half);
    // [S4] acquire (the paper's consume): pairs with [G2]; the buffer's slots and fields.
    Buffer* a = buffer_.load(std::memory_order_acquire);
    // [S5] relaxed: ordered after [S3]/[S4]; the value counts only if [S7] succeeds.
    const T item = a->slot(t).load(std::memory_order_relaxed);
    // [S6] acquire: the buffer we read from is still the current one (CVE-2021-32810; see the
    // head comment). Pairs with [G2].
    if (!Plant::kSkipStealRecheck && buffer_.load(std::memory_order_acquire) != a) {
      return Stolen::kLost;
    }
    // [S7] seq_cst on success: claims index t in the total order with [P4]/[S2]/[P7]; its
    // release half pairs with the owner's [U2]. Relaxed on failure: someone else took t.
    if (!top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst,
                                      std::memory_order_relaxed)) {
      return Stolen::kLost;
    }
    out.emplace(item);
    return Stolen::kTaken;
  }

  // [S1]/[S7]/[U2]/[P5]/[P7]/[H2]. Written by thieves (CAS) and, for the last item, by the
  // owner; read by everyone. Its own cache line: thieves hammer it with CAS.
  alignas(kCacheLine) Atom<std::int64_t> top_{0};
  // [U1]/[U6]/[P1]/[P3]/[P8]/[S3]/[H1]. Written by the owner only, read by thieves on every
  // steal. Its own line, so the thieves' CAS on top_ does not steal it from the owner.
  alignas(kCacheLine) Atom<std::int64_t> bottom_{0};
  // Owner only: the current buffer, owning the chain of retired ones (I3). Next to buffer_:
  // both change only on growth, so the line is read-mostly.
  alignas(kCacheLine) std::unique_ptr<Buffer> owned_;
  // [U3]/[G2]/[P2]/[S4]/[S6]. Written by the owner on growth only, read by thieves per steal.
  Atom<Buffer*> buffer_;
};

// The `chase_lev` variant: a Chase-Lev deque per worker (owner LIFO, thieves FIFO), stealing
// half of a random victim's deque, exponential backoff between empty sweeps.
struct ChaseLevVariant {
  static constexpr std::string_view name = "chase_lev";
  template <class T>
  using LocalQueue = ChaseLevDeque<T>;
  // The lock-free variants share Vyukov's bounded MPMC ring (with an overflow list) as injector.
  template <class T>
  using Injector = VyukovInjector<T>;
  using Steal = StealHalf<RandomVictim, ExponentialBackoff>;
};

static_assert(LocalQueue<ChaseLevDeque<void*>, void*>);
static_assert(Variant<ChaseLevVariant>);

}  // namespace weft::variants
