// weft::Channel<T> (weft/sync/channel.hpp), for every variant and flavor: 4 producers x 4
// consumers through capacity 1, 16 and 1024 deliver every value exactly once and keep each
// producer's order at each consumer; close() wakes suspended senders (value back) and receivers
// (nullopt after the drain); values are moved, never copied, and destroyed exactly once, even
// when left in a destroyed channel; try_send/try_recv work from a plain std::thread; an aborted
// receiver never swallows a value handed to it, even when the channel filled up meanwhile.
//
// Every wait is bounded (yield_until / kWaitBound, and the ctest TIMEOUT).
#include "weft/sync/channel.hpp"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "runtime/runtime_test_params.hpp"
#include "weft/weft.hpp"

namespace weft_test {
namespace {

using weft::Channel;
using weft::JoinHandle;
using weft::Task;

class ChannelTest : public RuntimeTest {};
WEFT_INSTANTIATE_FOR_EVERY_RUNTIME(ChannelTest);

constexpr int kProducers = 4;
constexpr int kConsumers = 4;
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr std::uint64_t kValuesPerProducer = 2'000;
#else
constexpr std::uint64_t kValuesPerProducer = 20'000;
#endif

// --- MPMC stress -----------------------------------------------------------------------------

// Value = producer << 32 | sequence number.
Task<void> produce(Channel<std::uint64_t>* ch, std::uint64_t producer) {
  for (std::uint64_t i = 0; i < kValuesPerProducer; ++i) {
    std::optional<std::uint64_t> back = co_await ch->send((producer << 32) | i);
    EXPECT_FALSE(back.has_value());  // never closed while producing
  }
}

// Receives until closed; checks each producer's values arrive in increasing order here.
Task<std::vector<std::uint64_t>> consume(Channel<std::uint64_t>* ch) {
  std::vector<std::uint64_t> got;
  std::vector<std::int64_t> last(kProducers, -1);
  bool in_order = true;
  while (std::optional<std::uint64_t> v = co_await ch->recv()) {
    const std::uint64_t producer = *v >> 32;
    const auto seq = static_cast<std::int64_t>(*v & 0xffffffffu);
    if (producer >= kProducers || seq <= last[producer]) in_order = false;
    if (producer < kProducers) last[producer] = seq;
    got.push_back(*v);
  }
  EXPECT_TRUE(in_order);
  co_return got;
}

Task<void> mpmc(std::size_t capacity) {
  Channel<std::uint64_t> ch(capacity);
  std::vector<JoinHandle<std::vector<std::uint64_t>>> consumers;
  std::vector<JoinHandle<void>> producers;
  for (int c = 0; c < kConsumers; ++c) consumers.push_back(weft::spawn(consume(&ch)));
  for (int p = 0; p < kProducers; ++p)
    producers.push_back(weft::spawn(produce(&ch, static_cast<std::uint64_t>(p))));
  for (auto& h : producers) co_await h;
  ch.close();
  // Checked per value: seen[producer][seq] counts how often it arrived.
  std::vector<std::vector<int>> seen(kProducers, std::vector<int>(kValuesPerProducer, 0));
  std::size_t total = 0;
  for (auto& h : consumers) {
    std::vector<std::uint64_t> got = co_await h;
    total += got.size();
    for (std::uint64_t v : got) {
      const std::uint64_t producer = v >> 32, seq = v & 0xffffffffu;
      if (producer < kProducers && seq < kValuesPerProducer) ++seen[producer][seq];
    }
  }
  EXPECT_EQ(total, kProducers * kValuesPerProducer);
  std::size_t bad = 0;
  for (const auto& per : seen)
    for (int n : per) bad += n != 1;
  EXPECT_EQ(bad, 0u) << "values not received exactly once";
  EXPECT_EQ(ch.size(), 0u);
}

TEST_P(ChannelTest, FourByFourThroughCapacity1DeliversEveryValueOnceInProducerOrder) {
  auto rt = make_runtime();
  rt->block_on(mpmc(1));
}

TEST_P(ChannelTest, FourByFourThroughCapacity16DeliversEveryValueOnceInProducerOrder) {
  auto rt = make_runtime();
  rt->block_on(mpmc(16));
}

TEST_P(ChannelTest, FourByFourThroughCapacity1024DeliversEveryValueOnceInProducerOrder) {
  auto rt = make_runtime();
  rt->block_on(mpmc(1024));
}

// --- close -----------------------------------------------------------------------------------

Task<std::optional<int>> recv_one(Channel<int>* ch) { co_return co_await ch->recv(); }
Task<std::optional<int>> send_one(Channel<int>* ch, int v) { co_return co_await ch->send(v); }

Task<void> close_wakes_suspended_receivers() {
  Channel<int> ch(2);
  std::vector<JoinHandle<std::optional<int>>> rs;
  for (int i = 0; i < 3; ++i) {
    rs.push_back(weft::spawn(recv_one(&ch)));
    const std::size_t want = static_cast<std::size_t>(i) + 1;
    EXPECT_TRUE(co_await yield_until([&ch, want] { return ch.receiver_count() == want; }));
  }
  std::thread([&ch] { ch.close(); }).join();  // from a plain thread
  for (auto& h : rs) EXPECT_EQ(co_await h, std::nullopt);
  EXPECT_TRUE(ch.is_closed());
  EXPECT_EQ(co_await ch.send(5), std::optional<int>(5));
  EXPECT_EQ(co_await ch.recv(), std::nullopt);
}

TEST_P(ChannelTest, CloseWakesSuspendedReceiversWithNullopt) {
  auto rt = make_runtime();
  rt->block_on(close_wakes_suspended_receivers());
}

Task<void> close_wakes_suspended_senders() {
  Channel<int> ch(2);
  EXPECT_EQ(co_await ch.send(1), std::nullopt);
  EXPECT_EQ(ch.try_send(2), std::nullopt);
  EXPECT_EQ(ch.try_send(9), std::optional<int>(9));  // full, not closed
  EXPECT_FALSE(ch.is_closed());
  std::vector<JoinHandle<std::optional<int>>> ss;
  for (int i = 0; i < 3; ++i) {
    ss.push_back(weft::spawn(send_one(&ch, 10 + i)));
    const std::size_t want = static_cast<std::size_t>(i) + 1;
    EXPECT_TRUE(co_await yield_until([&ch, want] { return ch.sender_count() == want; }));
  }
  ch.close();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(co_await ss[i], std::optional<int>(10 + i));  // back
  EXPECT_EQ(ch.try_send(3), std::optional<int>(3));                                   // closed
  EXPECT_TRUE(ch.is_closed());
  EXPECT_EQ(co_await ch.send(4), std::optional<int>(4));
  // What was sent before close is drained, in order, then nullopt.
  EXPECT_EQ(co_await ch.recv(), std::optional<int>(1));
  EXPECT_EQ(ch.try_recv(), std::optional<int>(2));
  EXPECT_EQ(co_await ch.recv(), std::nullopt);
  EXPECT_EQ(ch.try_recv(), std::nullopt);
  ch.close();  // idempotent
}

TEST_P(ChannelTest, CloseHandsSuspendedSendersTheirValuesAndKeepsWhatWasSent) {
  auto rt = make_runtime();
  rt->block_on(close_wakes_suspended_senders());
}

// --- value handling --------------------------------------------------------------------------

// Counts constructions and destructions; copying is deleted, so the channel must move.
struct Counted {
  static inline std::atomic<int> constructed{0};
  static inline std::atomic<int> destroyed{0};
  int v;
  explicit Counted(int x) noexcept : v(x) { constructed.fetch_add(1); }
  Counted(Counted&& o) noexcept : v(o.v) { constructed.fetch_add(1); }
  Counted(const Counted&) = delete;
  Counted& operator=(const Counted&) = delete;
  Counted& operator=(Counted&&) = delete;
  ~Counted() { destroyed.fetch_add(1); }
};

Task<std::optional<int>> recv_counted(Channel<Counted>* ch) {
  std::optional<Counted> c = co_await ch->recv();
  co_return c ? std::optional<int>(c->v) : std::nullopt;
}
Task<bool> send_counted(Channel<Counted>* ch, int v) {
  std::optional<Counted> back = co_await ch->send(Counted(v));
  co_return back.has_value();
}

Task<void> counted_values() {
  {
    Channel<Counted> ch(3);
    // Hand-off to a waiting receiver.
    JoinHandle<std::optional<int>> r = weft::spawn(recv_counted(&ch));
    EXPECT_TRUE(co_await yield_until([&ch] { return ch.receiver_count() == 1; }));
    EXPECT_FALSE(ch.try_send(Counted(1)).has_value());
    EXPECT_EQ(co_await r, std::optional<int>(1));
    // Fill; a waiting sender is admitted when a slot frees.
    for (int i = 2; i <= 4; ++i) EXPECT_FALSE((co_await ch.send(Counted(i))).has_value());
    JoinHandle<bool> s = weft::spawn(send_counted(&ch, 5));
    EXPECT_TRUE(co_await yield_until([&ch] { return ch.sender_count() == 1; }));
    std::optional<Counted> two = co_await ch.recv();
    EXPECT_TRUE(two && two->v == 2);
    EXPECT_FALSE(co_await s);                          // sent
    EXPECT_TRUE(ch.try_send(Counted(6)).has_value());  // full: back
    // A sender woken by close gets its value back and destroys it.
    JoinHandle<bool> s2 = weft::spawn(send_counted(&ch, 7));
    EXPECT_TRUE(co_await yield_until([&ch] { return ch.sender_count() == 1; }));
    ch.close();
    EXPECT_TRUE(co_await s2);
    EXPECT_EQ(ch.size(), 3u);  // 3, 4, 5 stay in the channel as it is destroyed
  }
  EXPECT_EQ(Counted::constructed.load(), Counted::destroyed.load());
}

TEST_P(ChannelTest, EveryValueIsDestroyedExactlyOnceIncludingThoseLeftInTheChannel) {
  Counted::constructed.store(0);
  Counted::destroyed.store(0);
  {
    auto rt = make_runtime();
    rt->block_on(counted_values());
  }
  EXPECT_GT(Counted::constructed.load(), 0);
  EXPECT_EQ(Counted::constructed.load(), Counted::destroyed.load());
}

using Box = std::unique_ptr<int>;

Task<int> recv_box(Channel<Box>* ch) {
  std::optional<Box> b = co_await ch->recv();
  co_return (b && *b) ? **b : -1;
}
Task<void> send_box(Channel<Box>* ch, int v) {
  EXPECT_FALSE((co_await ch->send(std::make_unique<int>(v))).has_value());
}

Task<void> move_only_values() {
  Channel<Box> ch(1);
  JoinHandle<int> r = weft::spawn(recv_box(&ch));
  EXPECT_TRUE(co_await yield_until([&ch] { return ch.receiver_count() == 1; }));
  EXPECT_FALSE(co_await ch.send(std::make_unique<int>(1)));  // handed to r
  EXPECT_EQ(co_await r, 1);
  EXPECT_FALSE(ch.try_send(std::make_unique<int>(2)).has_value());
  JoinHandle<void> s = weft::spawn(send_box(&ch, 3));
  EXPECT_TRUE(co_await yield_until([&ch] { return ch.sender_count() == 1; }));
  std::optional<Box> two = ch.try_recv();  // admits the sender of 3
  EXPECT_TRUE(two && *two && **two == 2);
  co_await s;
  std::optional<Box> back = ch.try_send(std::make_unique<int>(4));  // full
  EXPECT_TRUE(back && *back && **back == 4);
  std::optional<Box> three = co_await ch.recv();
  EXPECT_TRUE(three && *three && **three == 3);
}

TEST_P(ChannelTest, MoveOnlyValuesTravelThroughEveryPath) {
  auto rt = make_runtime();
  rt->block_on(move_only_values());
}

// --- outside threads -------------------------------------------------------------------------

constexpr int kThreadValues = 2'000;

Task<void> try_ops_from_a_thread() {
  Channel<int> ch(8);
  // A thread sends with try_send (retrying while full); this task receives in order.
  std::thread sender([&ch] {
    for (int i = 0; i < kThreadValues; ++i) {
      std::optional<int> v = i;
      while ((v = ch.try_send(std::move(*v)))) {
        EXPECT_FALSE(ch.is_closed());
        std::this_thread::yield();
      }
    }
  });
  bool in_order = true;
  for (int i = 0; i < kThreadValues; ++i) {
    std::optional<int> v = co_await ch.recv();
    if (v != std::optional<int>(i)) in_order = false;
  }
  sender.join();
  EXPECT_TRUE(in_order);
  // A thread receives with try_recv; this task sends (suspending while full).
  std::atomic<int> received{0};
  std::atomic<bool> thread_in_order{true};
  std::thread receiver([&ch, &received, &thread_in_order] {
    int next = 0;
    while (next < kThreadValues) {
      if (std::optional<int> v = ch.try_recv()) {
        if (*v != next) thread_in_order.store(false);
        ++next;
        received.fetch_add(1);
      } else {
        std::this_thread::yield();
      }
    }
  });
  for (int i = 0; i < kThreadValues; ++i) EXPECT_EQ(co_await ch.send(i), std::nullopt);
  receiver.join();
  EXPECT_EQ(received.load(), kThreadValues);
  EXPECT_TRUE(thread_in_order.load());
  EXPECT_EQ(ch.try_recv(), std::nullopt);
}

TEST_P(ChannelTest, TrySendAndTryRecvWorkFromAPlainThread) {
  auto rt = make_runtime();
  rt->block_on(try_ops_from_a_thread());
}

// --- aborted receivers -----------------------------------------------------------------------

Task<void> recv_and_record(Channel<int>* ch, std::mutex* mu, std::vector<int>* got) {
  std::optional<int> v = co_await ch->recv();
  if (v) {
    std::lock_guard<std::mutex> g(*mu);
    got->push_back(*v);
  }
}

// A queued receiver is aborted (it leaves); then A is handed a value and aborted at once. On a
// current_thread runtime A cannot have run, so its destructor must pass the value to B; on a
// multi_thread runtime A may have run and kept it. Either way no value is lost.
Task<void> aborted_receivers_do_not_swallow(bool current_thread) {
  Channel<int> ch(1);
  std::mutex mu;
  std::vector<int> got;
  JoinHandle<void> q = weft::spawn(recv_and_record(&ch, &mu, &got));
  EXPECT_TRUE(co_await yield_until([&ch] { return ch.receiver_count() == 1; }));
  q.abort();
  EXPECT_TRUE(co_await yield_until([&ch] { return ch.receiver_count() == 0; }));
  EXPECT_TRUE(co_await join_fails_with_join_error(std::move(q)));

  JoinHandle<void> a = weft::spawn(recv_and_record(&ch, &mu, &got));
  EXPECT_TRUE(co_await yield_until([&ch] { return ch.receiver_count() == 1; }));
  JoinHandle<void> b = weft::spawn(recv_and_record(&ch, &mu, &got));
  EXPECT_TRUE(co_await yield_until([&ch] { return ch.receiver_count() == 2; }));
  EXPECT_EQ(ch.try_send(1), std::nullopt);  // handed to A
  a.abort();
  co_await join_fails_with_join_error(std::move(a));  // either outcome
  EXPECT_EQ(ch.try_send(2), std::nullopt);            // to B if A kept 1, else to the ring
  co_await b;
  std::vector<int> drained;
  while (std::optional<int> v = ch.try_recv()) drained.push_back(*v);
  // A lone receiver handed a value and aborted: the value goes back into the channel.
  JoinHandle<void> d = weft::spawn(recv_and_record(&ch, &mu, &got));
  EXPECT_TRUE(co_await yield_until([&ch] { return ch.receiver_count() == 1; }));
  EXPECT_EQ(ch.try_send(3), std::nullopt);  // handed to D
  d.abort();
  co_await join_fails_with_join_error(std::move(d));
  while (std::optional<int> v = ch.try_recv()) drained.push_back(*v);
  std::vector<int> all = drained;
  {
    std::lock_guard<std::mutex> g(mu);
    all.insert(all.end(), got.begin(), got.end());
  }
  while (std::optional<int> v = ch.try_recv()) all.push_back(*v);
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, (std::vector<int>{1, 2, 3}));
  if (current_thread) {
    std::lock_guard<std::mutex> g(mu);
    EXPECT_EQ(got, (std::vector<int>{1}));         // A's 1 went to B
    EXPECT_EQ(drained, (std::vector<int>{2, 3}));  // 2 into the ring; D's 3 put back
  }
}

TEST_P(ChannelTest, AnAbortedReceiverDoesNotSwallowAValue) {
  auto rt = make_runtime();
  rt->block_on(aborted_receivers_do_not_swallow(is_current_thread()));
}

// Two receivers are handed values, a third value fills the ring (capacity 1), then both
// receivers are aborted. On a current_thread runtime neither ran, so both values come back into
// the full ring, which grows past its capacity rather than lose one; senders still see it full.
Task<void> given_back_values_overflow_a_full_ring(bool current_thread) {
  Channel<int> ch(1);
  std::mutex mu;
  std::vector<int> got;
  JoinHandle<void> a = weft::spawn(recv_and_record(&ch, &mu, &got));
  EXPECT_TRUE(co_await yield_until([&ch] { return ch.receiver_count() == 1; }));
  JoinHandle<void> b = weft::spawn(recv_and_record(&ch, &mu, &got));
  EXPECT_TRUE(co_await yield_until([&ch] { return ch.receiver_count() == 2; }));
  EXPECT_EQ(ch.try_send(1), std::nullopt);  // to A
  EXPECT_EQ(ch.try_send(2), std::nullopt);  // to B
  EXPECT_EQ(ch.try_send(3), std::nullopt);  // into the ring, now full
  a.abort();
  b.abort();
  co_await join_fails_with_join_error(std::move(a));
  co_await join_fails_with_join_error(std::move(b));
  if (current_thread) {
    EXPECT_EQ(ch.size(), 3u);
    EXPECT_EQ(ch.try_send(4), std::optional<int>(4));  // still full
  }
  std::vector<int> all;
  while (std::optional<int> v = ch.try_recv()) all.push_back(*v);
  {
    std::lock_guard<std::mutex> g(mu);
    all.insert(all.end(), got.begin(), got.end());
  }
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(ch.try_send(5), std::nullopt);  // room again
  EXPECT_EQ(ch.try_recv(), std::optional<int>(5));
}

TEST_P(ChannelTest, ValuesGivenBackByAbortedReceiversFitEvenIntoAFullChannel) {
  auto rt = make_runtime();
  rt->block_on(given_back_values_overflow_a_full_ring(is_current_thread()));
}

}  // namespace
}  // namespace weft_test
