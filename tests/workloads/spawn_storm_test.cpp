// Every spawn_storm shape completes with its checks passing, on every variant and flavor.
#include "spawn_storm/spawn_storm.hpp"

#include <string>

#include "gtest/gtest.h"
#include "weft/runtime.hpp"

namespace {

using weft::Runtime;
using weft::RuntimeOptions;

struct Case {
  std::string variant;
  RuntimeOptions options;
  std::string label;
};

std::vector<Case> cases() {
  std::vector<Case> out;
  for (std::string_view v : Runtime::variants()) {
    const std::string name(v);
    out.push_back({name, RuntimeOptions::current_thread(name), name + "_ct"});
    for (std::size_t w : {1, 2, 4}) {
      out.push_back({name, RuntimeOptions::multi_thread(w, name), name + "_mt" + std::to_string(w)});
    }
  }
  return out;
}

class SpawnStorm : public ::testing::TestWithParam<Case> {};

TEST_P(SpawnStorm, EveryShapeCompletesAndCountsItsUnits) {
  auto workload = weft::workloads::make_spawn_storm();
  const weft::workloads::Params params{{"tasks", "20000"}, {"leaves", "10000"},
                                       {"fanout", "10"},   {"yield_tasks", "50"},
                                       {"yields", "100"},  {"pairs", "2000"},
                                       {"items", "5000"},  {"stages", "3"},
                                       {"capacity", "4"}};
  const std::map<std::string, double> expected_units{
      {"flat", 20000},    {"flat_c", 20000},        {"remote", 20000},
      {"tree", 11111},    {"yield_many", 50 * 101}, {"ping_pong", 4000},
      {"chained", 20000}, {"pipeline", 5000 * 4}};
  for (const std::string& shape : workload->shapes()) {
    auto rt = Runtime::create(GetParam().options);
    ASSERT_TRUE(rt.ok()) << rt.status();
    auto result = workload->run(**rt, shape, params);
    ASSERT_TRUE(result.ok()) << shape << ": " << result.status();
    EXPECT_EQ(result->units, expected_units.at(shape)) << shape;
    EXPECT_EQ(result->unit, shape == "pipeline" ? "hop" : "task");
    const weft::ShutdownReport report = (*rt)->shutdown();
    EXPECT_EQ(report.cancelled, 0u) << shape << ": nothing is left suspended";
  }
}

TEST_P(SpawnStorm, TreeRejectsLeavesThatAreNotAPowerOfFanout) {
  auto workload = weft::workloads::make_spawn_storm();
  auto rt = Runtime::create(GetParam().options);
  ASSERT_TRUE(rt.ok());
  auto result = workload->run(**rt, "tree", {{"leaves", "50"}, {"fanout", "10"}});
  EXPECT_FALSE(result.ok());
}

INSTANTIATE_TEST_SUITE_P(AllVariants, SpawnStorm, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return info.param.label; });

}  // namespace
