// Building a Runtime and the misuse it must refuse: unknown variants, zero workers, block_on on
// a worker thread, weft::spawn outside a runtime.
#include <algorithm>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "weft/status.hpp"
#include "runtime/runtime_test_params.hpp"
#include "weft/variants/registry.hpp"
#include "weft/weft.hpp"

namespace weft_test {
namespace {

using weft::Flavor;
using weft::Runtime;
using weft::RuntimeOptions;
using weft::Task;

Task<int> answer() { co_return 42; }

// The status message names `bad` and every registered variant.
void expect_names_value_and_variants(const weft::Status& status, const std::string& bad) {
  EXPECT_EQ(status.code(), weft::StatusCode::kInvalidArgument) << status;
  const std::string message(status.message());
  EXPECT_NE(message.find(bad), std::string::npos) << "'" << bad << "' not named in: " << message;
  for (std::string_view v : Runtime::variants()) {
    EXPECT_NE(message.find(v), std::string::npos)
        << "variant " << v << " not named in: " << message;
  }
}

// True if `number` occurs in `text` as a number of its own (no digit right before or after).
bool names_number(const std::string& text, const std::string& number) {
  auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  for (std::size_t at = text.find(number); at != std::string::npos;
       at = text.find(number, at + 1)) {
    const bool digit_before = at > 0 && is_digit(text[at - 1]);
    const std::size_t end = at + number.size();
    const bool digit_after = end < text.size() && is_digit(text[end]);
    if (!digit_before && !digit_after) return true;
  }
  return false;
}

TEST(RuntimeCreate, RejectsAnUnknownVariantNamingItAndTheValidVariants) {
  for (const RuntimeOptions& options : {RuntimeOptions::multi_thread(2, "no_such_variant"),
                                        RuntimeOptions::current_thread("no_such_variant")}) {
    auto rt = Runtime::create(options);
    ASSERT_FALSE(rt.ok());
    expect_names_value_and_variants(rt.status(), "no_such_variant");
  }
}

TEST(RuntimeCreate, RejectsAnEmptyVariantName) {
  auto rt = Runtime::create(RuntimeOptions::multi_thread(1, ""));
  ASSERT_FALSE(rt.ok());
  EXPECT_EQ(rt.status().code(), weft::StatusCode::kInvalidArgument);
}

TEST(RuntimeCreate, RejectsZeroWorkersNamingTheBadValue) {
  for (std::string_view v : Runtime::variants()) {
    auto rt = Runtime::create(RuntimeOptions::multi_thread(0, std::string(v)));
    ASSERT_FALSE(rt.ok());
    EXPECT_EQ(rt.status().code(), weft::StatusCode::kInvalidArgument) << rt.status();
    const std::string message(rt.status().message());
    EXPECT_NE(message.find("worker"), std::string::npos) << message;
    // The bad value itself, as a number of its own ("got 0"), as the too-many message does.
    EXPECT_TRUE(names_number(message, "0"))
        << "the rejected worker count 0 is not named in: " << message;
  }
}

TEST(RuntimeCreate, RejectsAbsurdWorkerCountsNamingTheBadValue) {
  auto rt = Runtime::create(RuntimeOptions::multi_thread(100'000));
  ASSERT_FALSE(rt.ok());
  EXPECT_EQ(rt.status().code(), weft::StatusCode::kInvalidArgument);
  EXPECT_TRUE(names_number(std::string(rt.status().message()), "100000")) << rt.status();
}

TEST(RuntimeCreate, AcceptsEveryRegisteredVariantInEveryFlavor) {
  for (std::string_view v : Runtime::variants()) {
    for (const RuntimeOptions& options : {RuntimeOptions::current_thread(std::string(v)),
                                          RuntimeOptions::multi_thread(1, std::string(v)),
                                          RuntimeOptions::multi_thread(3, std::string(v))}) {
      auto rt = Runtime::create(options);
      ASSERT_TRUE(rt.ok()) << v << ": " << rt.status();
      EXPECT_EQ((*rt)->options().variant, v);
      EXPECT_EQ((*rt)->options().flavor, options.flavor);
      EXPECT_EQ((*rt)->options().workers, options.workers);
      EXPECT_EQ((*rt)->stats().workers.size(), options.workers);
      EXPECT_EQ((*rt)->block_on(answer()), 42);
    }
  }
}

TEST(RuntimeCreate, CurrentThreadIgnoresTheWorkerCount) {
  auto rt = Runtime::create(RuntimeOptions{"mutex", 0, Flavor::kCurrentThread});
  ASSERT_TRUE(rt.ok()) << rt.status();
  EXPECT_EQ((*rt)->options().workers, 1u);
  EXPECT_EQ((*rt)->block_on(answer()), 42);
}

TEST(RuntimeCreate, VariantsListsExactlyTheRegistry) {
  const auto& names = weft::variants::AllVariants::names;
  ASSERT_EQ(Runtime::variants().size(), names.size());
  EXPECT_TRUE(std::equal(names.begin(), names.end(), Runtime::variants().begin()));
  EXPECT_NE(std::find(names.begin(), names.end(), "mutex"), names.end())
      << "the baseline variant is always registered";
}

TEST(RuntimeMisuse, SpawnFromANonWorkerThreadThrowsLogicError) {
  EXPECT_THROW((void)weft::spawn(answer()), std::logic_error);
  // Also while a runtime exists, from a thread that is none of its workers.
  auto rt = Runtime::create(RuntimeOptions::multi_thread(1));
  ASSERT_TRUE(rt.ok());
  bool threw = false;
  std::thread outside([&] {
    try {
      (void)weft::spawn(answer());
    } catch (const std::logic_error&) {
      threw = true;
    }
  });
  outside.join();
  EXPECT_TRUE(threw);
}

class RuntimeMisuseTest : public RuntimeTest {};
WEFT_INSTANTIATE_FOR_EVERY_RUNTIME(RuntimeMisuseTest);

// Calls block_on of `rt` from inside a task; counts the std::logic_error it throws.
Task<int> block_on_inside(Runtime* rt, int* caught) {
  try {
    (void)rt->block_on(answer());
  } catch (const std::logic_error&) {
    ++*caught;
  }
  co_return 1;
}

TEST_P(RuntimeMisuseTest, BlockOnFromInsideAWorkerThrowsLogicError) {
  int caught = 0;
  auto rt = make_runtime();
  EXPECT_EQ(rt->block_on(block_on_inside(rt.get(), &caught)), 1);
  EXPECT_EQ(caught, 1);
}

TEST_P(RuntimeMisuseTest, BlockOnOfAnotherRuntimeFromInsideAWorkerThrowsLogicError) {
  int caught = 0;
  auto rt = make_runtime();
  auto other = make_runtime();
  EXPECT_EQ(rt->block_on(block_on_inside(other.get(), &caught)), 1);
  EXPECT_EQ(caught, 1);
}

// Calls shutdown of `rt` from inside one of its own tasks (it would wait for itself).
Task<int> shutdown_inside(Runtime* rt, int* caught) {
  try {
    (void)rt->shutdown();
  } catch (const std::logic_error&) {
    ++*caught;
  }
  co_return 1;
}

TEST_P(RuntimeMisuseTest, ShutdownFromOneOfItsOwnTasksThrowsLogicError) {
  int caught = 0;
  auto rt = make_runtime();
  EXPECT_EQ(rt->block_on(shutdown_inside(rt.get(), &caught)), 1);
  EXPECT_EQ(caught, 1);
  EXPECT_EQ(rt->block_on(answer()), 42) << "the runtime still runs after the refused shutdown";
}

TEST_P(RuntimeMisuseTest, SpawnOfAnEmptyTaskThrowsInvalidArgument) {
  auto rt = make_runtime();
  EXPECT_THROW((void)rt->spawn(Task<int>()), std::invalid_argument);
  EXPECT_EQ(rt->block_on(answer()), 42);
}

TEST_P(RuntimeMisuseTest, StatsHasOneEntryPerWorkerAndCountsPolls) {
  auto rt = make_runtime();
  EXPECT_EQ(rt->stats().workers.size(), is_current_thread() ? 1u : workers());
  const std::uint64_t before = total_polls(*rt);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(rt->block_on(answer()), 42);
  EXPECT_EQ(total_polls(*rt) - before, 10u);
}

}  // namespace
}  // namespace weft_test

TEST(RuntimeCreate, StealOverridesReplaceTheVariantPresetAxisByAxis) {
  using weft::Runtime;
  using weft::RuntimeOptions;
  using weft::variants::BackoffMode;
  using weft::variants::StealAmount;
  using weft::variants::VictimOrder;
  for (std::string_view v : Runtime::variants()) {
    auto preset = Runtime::create(RuntimeOptions::multi_thread(2, std::string(v)));
    ASSERT_TRUE(preset.ok()) << preset.status();
    const weft::variants::StealConfig p = (*preset)->steal_config();

    RuntimeOptions options = RuntimeOptions::multi_thread(2, std::string(v));
    options.steal.victim = VictimOrder::kRoundRobin;
    auto rt = Runtime::create(options);
    ASSERT_TRUE(rt.ok()) << rt.status();
    const weft::variants::StealConfig c = (*rt)->steal_config();
    EXPECT_EQ(c.victim, VictimOrder::kRoundRobin) << v;
    EXPECT_EQ(c.amount, p.amount) << v << ": untouched axes keep the preset";
    EXPECT_EQ(c.backoff, p.backoff) << v;

    options.steal.amount = StealAmount::kOne;
    options.steal.backoff = BackoffMode::kNone;
    auto all = Runtime::create(options);
    ASSERT_TRUE(all.ok());
    EXPECT_EQ((*all)->steal_config().amount, StealAmount::kOne);
    EXPECT_EQ((*all)->steal_config().backoff, BackoffMode::kNone);
    // And it still runs: a rendezvous of two tasks needs a steal.
    EXPECT_EQ((*all)->block_on([]() -> weft::Task<int> {
      auto a = weft::spawn([]() -> weft::Task<int> { co_return 20; }());
      auto b = weft::spawn([]() -> weft::Task<int> { co_return 22; }());
      co_return co_await a + co_await b;
    }()), 42);
  }
}
