// The echo and timer_churn workloads run end to end on every variant and flavor: echo against a
// real weft-loadgen process over loopback, timer_churn through the runtime's timers. Only the
// behaviour is checked (messages echoed without errors, every timer fired); speed is the
// benchmark's business.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <thread>

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
      {"accuracy",
       {{"sleepers", "50"}, {"duration_ms", "300"}, {"busy_us", "50"}, {"os_sleepers", "2"}}},
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
      EXPECT_GT(metric(*r, "os_sleeps"), 0) << "the OS's reference sleeps ran beside them";
      EXPECT_GE(metric(*r, "os_lateness_max_us"), metric(*r, "os_lateness_p99_us"));
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

// The TCP ports this process listens on now: its own descriptors (/proc/self/fd) that are
// listening sockets (SO_ACCEPTCONN), asked directly, so that the machine's other sockets (a
// parallel test's ten thousand) cannot slow the search.
std::set<int> own_listening_ports() {
  std::set<int> ports;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    int fd = -1;
    try {
      fd = std::stoi(e.path().filename().string());
    } catch (const std::exception&) {
      continue;
    }
    int listening = 0;
    socklen_t len = sizeof(listening);
    if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening) continue;
    sockaddr_in a{};
    socklen_t alen = sizeof(a);
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &alen) == 0 && a.sin_family == AF_INET) {
      ports.insert(ntohs(a.sin_port));
    }
  }
  return ports;
}

// Another process on the machine that finds the echo workload's port is not served and adds no
// connection to the measurement: an idle intruder and one that streams, both from 127.0.0.1.
TEST(IoWorkloadsEcho, IntrudersAreClosedAndCountedApart) {
  auto workload = weft::workloads::make_echo();
  auto rt = Runtime::create(RuntimeOptions::multi_thread(2, "ring"));
  ASSERT_TRUE(rt.ok()) << rt.status();
  const std::set<int> before = own_listening_ports();
  std::atomic<bool> done{false};
  std::atomic<int> intruders_connected{0};
  std::thread intruder([&] {
    std::set<int> tried;
    while (!done.load() && intruders_connected.load() < 2) {
      for (int port : own_listening_ports()) {
        if (before.count(port) || tried.count(port)) continue;
        tried.insert(port);
        for (int i = 0; i < 2; ++i) {  // (a port found closing again is skipped: not ours)  // the first stays idle, the second streams
          const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
          sockaddr_in a{};
          a.sin_family = AF_INET;
          a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
          a.sin_port = htons(static_cast<std::uint16_t>(port));
          if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0) {
            ++intruders_connected;
            if (i == 1) {
              char junk[4096] = {};
              while (::send(fd, junk, sizeof(junk), MSG_NOSIGNAL) > 0) {
              }
            } else {
              char c;
              ::recv(fd, &c, 1, 0);  // returns once the server closes it
            }
          }
          ::close(fd);
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  auto r = workload->run(**rt, "closed",
                         {{"connections", "20"}, {"msg_size", "64"}, {"duration_ms", "1000"},
                          {"warmup_ms", "500"}, {"client_threads", "1"}});
  done = true;
  intruder.join();
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(intruders_connected.load(), 2) << "the intruder never found the port";
  EXPECT_EQ(metric(*r, "server_connections"), 20);
  EXPECT_EQ(metric(*r, "server_intruders"), 2);
  EXPECT_EQ(metric(*r, "errors"), 0);
}

INSTANTIATE_TEST_SUITE_P(AllVariants, IoWorkloads, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return info.param.label; });

}  // namespace
