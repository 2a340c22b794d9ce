// weft-echo, the standalone server, as a user runs it: a process started with flags, driven over
// real loopback sockets by this test, stopped with SIGTERM or SIGINT. It must echo byte-exact
// (small and large writes, many connections), report its port and build on its first line, and
// on the signal stop, close what is still open, print its counters and exit 0 with no descriptor
// left open. Bad flags exit 2; --help exits 0. No assertion is about speed.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "common/subprocess.hpp"
#include "gtest/gtest.h"

namespace {

using weft::workloads::parse_flat_json;
using weft::workloads::Subprocess;

struct Server {
  Subprocess process;
  int port;
  std::map<std::string, std::string> hello;
};

Server start(std::vector<std::string> flags) {
  flags.insert(flags.begin(), WEFT_ECHO_PATH);
  absl::StatusOr<Subprocess> p = Subprocess::start(flags);
  EXPECT_TRUE(p.ok()) << p.status();
  std::optional<std::string> line = p->read_line();
  EXPECT_TRUE(line.has_value()) << "weft-echo printed no first line";
  auto hello = parse_flat_json(line.value_or(""));
  return Server{*std::move(p), std::stoi(hello.count("port") ? hello["port"] : "0"), hello};
}

// A blocking loopback connection with a receive timeout (a hang fails, not blocks, the test).
int connect_to(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  return fd;
}

// Sends `bytes` (from a writer thread, so a large message cannot deadlock on full buffers) and
// reads back as many; true when every byte came back in order.
bool echoes(int fd, const std::vector<std::uint8_t>& bytes) {
  std::thread writer([&] {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;
      sent += static_cast<std::size_t>(n);
    }
  });
  std::vector<std::uint8_t> got;
  std::uint8_t buf[65536];
  while (got.size() < bytes.size()) {
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    got.insert(got.end(), buf, buf + n);
  }
  writer.join();
  return got == bytes;
}

std::vector<std::uint8_t> pattern(std::size_t n, std::uint32_t seed) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>((i * 2654435761u + seed) >> 13);
  return v;
}

// Stops the server with `signal`; returns its final counters and expects exit 0.
std::map<std::string, std::string> stop(Server& s, int signal) {
  s.process.kill(signal);
  std::map<std::string, std::string> counters;
  while (std::optional<std::string> line = s.process.read_line()) {
    if (line->find("\"connections\"") != std::string::npos) counters = parse_flat_json(*line);
  }
  EXPECT_EQ(s.process.wait(), 0);
  return counters;
}

class WeftEcho : public ::testing::TestWithParam<std::vector<std::string>> {};

TEST_P(WeftEcho, EchoesByteExactThenStopsCleanlyOnSigterm) {
  Server s = start(GetParam());
  ASSERT_GT(s.port, 0);
  EXPECT_NE(s.hello["build"].find("weft"), std::string::npos) << s.hello["build"];
  std::vector<int> fds;
  for (int i = 0; i < 16; ++i) fds.push_back(connect_to(s.port));
  for (std::size_t i = 0; i < fds.size(); ++i) {
    EXPECT_TRUE(echoes(fds[i], pattern(1 + i * 97, static_cast<std::uint32_t>(i)))) << i;
  }
  EXPECT_TRUE(echoes(fds[0], pattern(4 << 20, 7))) << "4 MiB in one go";
  // Half of them close before the signal; the other half are still open when it comes.
  for (std::size_t i = 0; i < fds.size() / 2; ++i) ::close(fds[i]);
  const auto counters = stop(s, SIGTERM);
  EXPECT_EQ(counters.at("connections"), "16");
  EXPECT_EQ(counters.at("errors"), "0");
  EXPECT_EQ(counters.at("fds_leaked"), "0");
  // The connections open at shutdown were closed by the server: EOF, not a hang.
  for (std::size_t i = fds.size() / 2; i < fds.size(); ++i) {
    char c;
    EXPECT_EQ(::recv(fds[i], &c, 1, 0), 0) << "connection " << i << " sees EOF";
    ::close(fds[i]);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Flavors, WeftEcho,
    ::testing::Values(std::vector<std::string>{"--variant=ring", "--threads=2", "--drain_ms=50"},
                      std::vector<std::string>{"--variant=chase_lev", "--threads=1",
                                               "--drain_ms=50"},
                      std::vector<std::string>{"--variant=mutex", "--flavor=current_thread",
                                               "--drain_ms=50"}));

TEST(WeftEchoSignals, SigintStopsAnIdleServer) {
  Server s = start({"--threads=1"});
  ASSERT_GT(s.port, 0);
  const auto counters = stop(s, SIGINT);
  EXPECT_EQ(counters.at("connections"), "0");
  EXPECT_EQ(counters.at("fds_leaked"), "0");
}

int exit_code_of(const std::vector<std::string>& flags) {
  std::vector<std::string> argv = {WEFT_ECHO_PATH};
  argv.insert(argv.end(), flags.begin(), flags.end());
  absl::StatusOr<Subprocess> p = Subprocess::start(argv);
  EXPECT_TRUE(p.ok());
  while (p->read_line()) {
  }
  return p->wait();
}

TEST(WeftEchoFlags, BadFlagsExit2AndHelpExits0) {
  EXPECT_EQ(exit_code_of({"--variant=nope"}), 2);
  EXPECT_EQ(exit_code_of({"--port=70000"}), 2);
  EXPECT_EQ(exit_code_of({"--bind=not-an-address"}), 2);
  EXPECT_EQ(exit_code_of({"--flavor=sideways"}), 2);
  EXPECT_EQ(exit_code_of({"--threads=-1"}), 2);
  EXPECT_EQ(exit_code_of({"--no_such_flag"}), 2);
  EXPECT_EQ(exit_code_of({"positional"}), 2);
  EXPECT_EQ(exit_code_of({"--help"}), 0);
}

}  // namespace
