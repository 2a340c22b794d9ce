// The echo and timer_churn workloads run end to end on every variant and flavor: echo against a
// real weft-loadgen process over loopback, timer_churn through the runtime's timers. Only the
// behaviour is checked (messages echoed without errors, every timer fired); speed is the
// benchmark's business.
#include <algorithm>
#include <map>
#include <string>

#include "echo/echo.hpp"
#include "gtest/gtest.h"
#include "timer_churn/timer_churn.hpp"
#include "weft/runtime.hpp"

namespace {

using weft::Runtime;
using weft::RuntimeOptions;

struct Case {
  RuntimeOptions options;
  std::string label;
};

std::vector<Case> cases() {
  std::vector<Case> out;
  for (std::string_view v : Runtime::variants()) {
    const std::string name(v);
    out.push_back({RuntimeOptions::current_thread(name), name + "_ct"});
    out.push_back({RuntimeOptions::multi_thread(2, name), name + "_mt2"});
  }
  return out;
}

double metric(const weft::workloads::RunResult& r, const std::string& name) {
  for (const auto& m : r.metrics) {
    if (m.name == name) return m.value;
  }
  ADD_FAILURE() << "no metric " << name;
  return -1;
}

class IoWorkloads : public ::testing::TestWithParam<Case> {};

TEST_P(IoWorkloads, EchoClosedLoopEchoesWithoutErrors) {
  auto workload = weft::workloads::make_echo();
  auto rt = Runtime::create(GetParam().options);
  ASSERT_TRUE(rt.ok()) << rt.status();
  auto r = workload->run(**rt, "closed",
                         {{"connections", "50"}, {"msg_size", "100"}, {"duration_ms", "300"},
                          {"warmup_ms", "100"}, {"client_threads", "1"}});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_GT(r->units, 0);
  EXPECT_EQ(r->unit, "msg");
  EXPECT_GT(r->seconds, 0);
  EXPECT_EQ(metric(*r, "errors"), 0);
  EXPECT_EQ(metric(*r, "server_errors"), 0);
  EXPECT_EQ(metric(*r, "server_connections"), 50);
  EXPECT_GE(metric(*r, "latency_p99_us"), metric(*r, "latency_p50_us"));
  EXPECT_GT(metric(*r, "server_cpu_us_per_msg"), 0);
  EXPECT_EQ((*rt)->shutdown().cancelled, 0u) << "every connection task ended on the client's EOF";
}

TEST_P(IoWorkloads, EchoOpenLoopReportsLatencyAtTheOfferedRate) {
  auto workload = weft::workloads::make_echo();
  auto rt = Runtime::create(GetParam().options);
  ASSERT_TRUE(rt.ok()) << rt.status();
  auto r = workload->run(**rt, "open",
                         {{"connections", "20"}, {"msg_size", "64"}, {"rate", "2000"},
                          {"duration_ms", "300"}, {"warmup_ms", "100"}, {"client_threads", "1"}});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_GT(r->units, 0);
  EXPECT_EQ(metric(*r, "errors"), 0);
  EXPECT_EQ(metric(*r, "offered_rate"), 2000);
}

TEST_P(IoWorkloads, TimerChurnEveryShapeCompletes) {
  auto workload = weft::workloads::make_timer_churn();
  const std::map<std::string, weft::workloads::Params> params{
      {"cancel", {{"pairs", "20000"}}},
      {"million", {{"timers", "20000"}, {"spread_ms", "50"}}},
      {"accuracy", {{"sleepers", "50"}, {"duration_ms", "300"}, {"busy_us", "50"}}},
  };
  for (const std::string& shape : workload->shapes()) {
    auto rt = Runtime::create(GetParam().options);
    ASSERT_TRUE(rt.ok()) << rt.status();
    auto r = workload->run(**rt, shape, params.at(shape));
    ASSERT_TRUE(r.ok()) << shape << ": " << r.status();
    if (shape == "cancel") {
      EXPECT_EQ(r->units, 20000.0 * static_cast<double>((*rt)->options().workers));
    } else if (shape == "million") {
      EXPECT_GE(metric(*r, "fire_lag_us"), 0) << "never before the last deadline";
    } else {
      EXPECT_GT(metric(*r, "timers_fired"), 0);
      EXPECT_GE(metric(*r, "lateness_p50_us"), 0) << "never early";
    }
    EXPECT_EQ((*rt)->shutdown().cancelled, 0u) << shape;
  }
}

TEST(IoWorkloadsCli, EchoRejectsMoreConnectionsThanTheFdLimitAllows) {
  auto workload = weft::workloads::make_echo();
  auto rt = Runtime::create(RuntimeOptions::current_thread("mutex"));
  ASSERT_TRUE(rt.ok());
  auto r = workload->run(**rt, "closed",
                         {{"connections", "20000"}, {"msg_size", "64"}, {"duration_ms", "100"},
                          {"warmup_ms", "100"}, {"client_threads", "1"}});
  EXPECT_FALSE(r.ok());
}

INSTANTIATE_TEST_SUITE_P(AllVariants, IoWorkloads, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return info.param.label; });

}  // namespace
