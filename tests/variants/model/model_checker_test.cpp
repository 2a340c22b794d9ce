// The model checker itself: it finds the classic weak-memory outcomes that C++ allows and none
// that it forbids.
#include "model/model_checker.hpp"

#include <memory>
#include <string>

#include "gtest/gtest.h"

namespace {

using weft_model::Atomic;
using weft_model::Explorer;

struct MessagePassing {
  Atomic<int> data{0};
  Atomic<int> flag{0};
  int seen_flag = -1;
  int seen_data = -1;
};

Explorer::Result message_passing(std::memory_order flag_store) {
  Explorer e;
  return e.explore(
      [flag_store] {
        auto w = std::make_shared<MessagePassing>();
        return Explorer::World{
            {[w, flag_store] {
               w->data.store(42, std::memory_order_relaxed);
               w->flag.store(1, flag_store);
             },
             [w] {
               w->seen_flag = w->flag.load(std::memory_order_acquire);
               if (w->seen_flag == 1) w->seen_data = w->data.load(std::memory_order_relaxed);
             }},
            [w]() -> std::string {
              if (w->seen_flag == 1 && w->seen_data != 42) return "stale data after the flag";
              return "";
            },
            w};
      },
      {});
}

TEST(ModelChecker, ReleaseAcquireMessagePassingNeverShowsStaleData) {
  const Explorer::Result r = message_passing(std::memory_order_release);
  EXPECT_TRUE(r.failure.empty()) << r.failure;
  EXPECT_TRUE(r.exhausted);
  EXPECT_GT(r.executions, 2u);
}

TEST(ModelChecker, RelaxedFlagStoreLetsTheReaderSeeStaleData) {
  const Explorer::Result r = message_passing(std::memory_order_relaxed);
  EXPECT_NE(r.failure.find("stale data"), std::string::npos) << r.executions;
}

struct StoreBuffer {
  Atomic<int> x{0};
  Atomic<int> y{0};
  int r0 = -1;
  int r1 = -1;
};

Explorer::Result store_buffering(bool fences) {
  Explorer e;
  return e.explore(
      [fences] {
        auto w = std::make_shared<StoreBuffer>();
        auto side = [w, fences](Atomic<int>& mine, Atomic<int>& other, int& r) {
          mine.store(1, std::memory_order_relaxed);
          if (fences) weft::variants::thread_fence<Atomic>(std::memory_order_seq_cst);
          r = other.load(std::memory_order_relaxed);
        };
        return Explorer::World{
            {[w, side] { side(w->x, w->y, w->r0); }, [w, side] { side(w->y, w->x, w->r1); }},
            [w]() -> std::string { return w->r0 == 0 && w->r1 == 0 ? "both read 0" : ""; },
            w};
      },
      {});
}

TEST(ModelChecker, SeqCstFencesForbidStoreBufferingOutcome) {
  const Explorer::Result r = store_buffering(true);
  EXPECT_TRUE(r.failure.empty()) << r.failure;
  EXPECT_TRUE(r.exhausted);
}

TEST(ModelChecker, WithoutFencesBothThreadsMayReadZero) {
  const Explorer::Result r = store_buffering(false);
  EXPECT_NE(r.failure.find("both read 0"), std::string::npos);
}

TEST(ModelChecker, RmwAlwaysReadsTheLatestValueSoCountersAreExact) {
  Explorer e;
  const Explorer::Result r = e.explore(
      [] {
        auto c = std::make_shared<Atomic<int>>(0);
        auto inc = [c] {
          for (int i = 0; i < 2; ++i) c->fetch_add(1, std::memory_order_relaxed);
        };
        return Explorer::World{{inc, inc, inc},
                               [c]() -> std::string {
                                 return c->load(std::memory_order_relaxed) == 6 ? "" : "lost";
                               },
                               c};
      },
      {});
  EXPECT_TRUE(r.failure.empty()) << r.failure;
  EXPECT_TRUE(r.exhausted);
}

}  // namespace
