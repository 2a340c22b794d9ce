// Echo at 10,000 connections, as `make bench-10k` runs it but asserting behaviour: weft-echo
// serves 10,000 concurrent connections of weft-loadgen (two processes, as the benchmark runs
// them: each end needs 10,000 descriptors), on each I/O backend. Every message comes back
// byte-exact (weft-loadgen checks each echoed byte against the pattern its connection sent, so
// a byte lost or garbled in either direction is a mismatch), no connection fails, and once the
// load generator has gone the server's descriptor count is back where it was before it came.
// No assertion is about speed.
#include <dirent.h>
#include <signal.h>

#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "common/subprocess.hpp"
#include "fd_limit.hpp"
#include "gtest/gtest.h"

namespace {

using weft::workloads::parse_flat_json;
using weft::workloads::Subprocess;

constexpr int kConnections = 10'000;

// Descriptors open in process `pid` (its /proc/<pid>/fd entries), or -1.
int open_fds(pid_t pid) {
  const std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return -1;
  int n = 0;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(d);
  return n;
}

// The last JSON line of a finished child, and its exit status.
std::pair<std::map<std::string, std::string>, int> finish(Subprocess& p,
                                                          const std::string& marker) {
  std::map<std::string, std::string> json;
  while (std::optional<std::string> line = p.read_line()) {
    if (line->find(marker) != std::string::npos) json = parse_flat_json(*line);
  }
  return {json, p.wait()};
}

class Echo10k : public ::testing::TestWithParam<std::string> {};

TEST_P(Echo10k, TenThousandConnectionsEchoByteExactAndGiveEveryDescriptorBack) {
  // Each process raises its own soft limit to the hard one; the hard limit must allow 10,000
  // sockets plus the runtime's own descriptors.
  weft::harness::raise_open_file_limit();
  if (const std::string why = weft::harness::open_file_shortfall(kConnections + 256, "this test");
      !why.empty()) {
    GTEST_SKIP() << why;
  }
  absl::StatusOr<Subprocess> server = Subprocess::start(
      {WEFT_ECHO_PATH, "--variant=ring", "--threads=2", "--io=" + GetParam(), "--drain_ms=200"});
  ASSERT_TRUE(server.ok()) << server.status();
  const std::optional<std::string> hello = server->read_line();
  ASSERT_TRUE(hello.has_value()) << "weft-echo printed no first line";
  const int port = std::stoi(parse_flat_json(*hello)["port"]);
  ASSERT_GT(port, 0);
  const int fds_before = open_fds(server->pid());
  ASSERT_GT(fds_before, 0);

  absl::StatusOr<Subprocess> client = Subprocess::start(
      {WEFT_LOADGEN_PATH, "--port=" + std::to_string(port),
       "--connections=" + std::to_string(kConnections), "--msg_size=64", "--warmup=0",
       "--duration=1", "--connect_timeout=60"});
  ASSERT_TRUE(client.ok()) << client.status();
  auto [report, client_status] = finish(*client, "msgs_per_s");
  EXPECT_EQ(client_status, 0) << "weft-loadgen failed (its stderr is above)";
  ASSERT_FALSE(report.empty()) << "weft-loadgen printed no report";
  EXPECT_EQ(report["errors"], "0") << "mismatch, reset, closed or timed-out connections";
  EXPECT_GT(std::stod(report["msgs"]), 0.0);

  // The server closes each connection when it sees the client's EOF: wait for the count to
  // come back (a leak never does; the test's own timeout bounds the wait).
  int fds_after = open_fds(server->pid());
  for (int i = 0; i < 600 && fds_after != fds_before; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    fds_after = open_fds(server->pid());
  }
  EXPECT_EQ(fds_after, fds_before) << "descriptors the server kept after 10,000 connections";

  server->kill(SIGTERM);
  auto [counters, server_status] = finish(*server, "\"connections\"");
  EXPECT_EQ(server_status, 0);
  EXPECT_EQ(counters["connections"], std::to_string(kConnections));
  EXPECT_EQ(counters["fds_leaked"], "0");
}

INSTANTIATE_TEST_SUITE_P(Backends, Echo10k, ::testing::Values("epoll", "uring"),
                         [](const auto& info) { return info.param; });

}  // namespace
