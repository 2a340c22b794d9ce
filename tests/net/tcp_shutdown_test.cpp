// Runtime::shutdown with connections open and timers pending: it returns (bounded), reports
// every task suspended on I/O or a timer as cancelled, destroys their frames (which closes their
// sockets and cancels their timers), and the process's fd count is back where it was. ASan's
// leak check (detect_leaks=1) sees the rest. For every variant and flavor.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "net/net_test_util.hpp"
#include "scheduler/driver.hpp"  // white-box: the runtime's timers
#include "runtime/runtime_test_params.hpp"
#include "weft/weft.hpp"

namespace weft_test {
namespace {

using std::chrono::steady_clock;
using weft::JoinHandle;
using weft::Task;

class TcpShutdownTest : public RuntimeTest {};
WEFT_INSTANTIATE_FOR_EVERY_RUNTIME_AND_BACKEND(TcpShutdownTest);

constexpr std::size_t kConnections = 200;
constexpr std::size_t kSleepers = 200;

struct Counters {
  std::atomic<int> destroyed{0};  // frames of the suspended tasks, counted by a local
  std::atomic<int> resumed{0};    // any of them got past its await: must stay 0
  std::atomic<std::size_t> reading{0};
  std::atomic<std::size_t> sleeping{0};
};

Task<void> read_forever(TcpStream stream, Counters* c) {
  DestructionCounter local(&c->destroyed);
  TcpStream s = std::move(stream);
  std::byte b[64];
  c->reading.fetch_add(1);
  absl::StatusOr<std::size_t> n = co_await s.read(b);  // nobody ever writes
  c->resumed.fetch_add(1);
  ADD_FAILURE() << "a read completed: " << (n.ok() ? std::to_string(*n) : n.status().ToString());
}

Task<void> accept_forever(TcpListener listener, Counters* c) {
  DestructionCounter local(&c->destroyed);
  TcpListener l = std::move(listener);
  for (;;) {
    absl::StatusOr<TcpStream> s = co_await l.accept();
    if (!s.ok()) {
      c->resumed.fetch_add(1);
      ADD_FAILURE() << "accept failed: " << s.status();
      co_return;
    }
    weft::spawn(read_forever(*std::move(s), c)).detach();
  }
}

Task<void> connect_and_read_forever(SocketAddress addr, Counters* c) {
  DestructionCounter local(&c->destroyed);
  absl::StatusOr<TcpStream> s = co_await TcpStream::connect(addr);
  if (!s.ok()) {
    c->resumed.fetch_add(1);
    ADD_FAILURE() << "connect failed: " << s.status();
    co_return;
  }
  std::byte b[64];
  c->reading.fetch_add(1);
  absl::StatusOr<std::size_t> n = co_await s->read(b);
  c->resumed.fetch_add(1);
  ADD_FAILURE() << "a client read completed: "
                << (n.ok() ? std::to_string(*n) : n.status().ToString());
}

Task<void> sleep_an_hour(Counters* c) {
  DestructionCounter local(&c->destroyed);
  c->sleeping.fetch_add(1);
  co_await weft::sleep_for(std::chrono::hours(1));
  c->resumed.fetch_add(1);
}

struct Suspended {
  absl::Status status = absl::OkStatus();
  std::vector<JoinHandle<void>> kept;  // some of the suspended tasks' handles
  weft::detail::Timers* timers = nullptr;
  std::size_t pending_timers = 0;
  int fds_open = -1;
};

// Leaves 1 accept loop, `n` server readers, `n` client readers and `t` sleepers suspended.
Task<Suspended> open_connections_and_timers(std::size_t n, std::size_t t, Counters* c) {
  Suspended out;
  out.timers = &weft::detail::context().scheduler->driver().timers();
  absl::StatusOr<TcpListener> listener = bind_loopback();
  if (!listener.ok()) {
    out.status = listener.status();
    co_return out;
  }
  const SocketAddress addr = *listener->local_addr();
  out.kept.push_back(weft::spawn(accept_forever(*std::move(listener), c)));
  for (std::size_t i = 0; i < n; ++i) {
    JoinHandle<void> h = weft::spawn(connect_and_read_forever(addr, c));
    if (i % 2 == 0) out.kept.push_back(std::move(h));
  }
  for (std::size_t i = 0; i < t; ++i) {
    JoinHandle<void> h = weft::spawn(sleep_an_hour(c));
    if (i % 2 == 0) out.kept.push_back(std::move(h));
  }
  const bool settled = co_await yield_until([&] {
    return c->reading.load() == 2 * n && c->sleeping.load() == t && out.timers->size() == t;
  });
  if (!settled) out.status = absl::DeadlineExceededError("the tasks did not all suspend");
  out.pending_timers = out.timers->size();
  out.fds_open = open_fd_count();
  co_return out;
}

TEST_P(TcpShutdownTest, ShutdownWithOpenConnectionsAndPendingTimersCancelsAndClosesEverything) {
  const int fds_before_runtime = open_fd_count();
  Counters c;
  auto rt = make_runtime();
  const int fds_with_runtime = open_fd_count();
  Suspended s = rt->block_on(open_connections_and_timers(kConnections, kSleepers, &c));
  ASSERT_TRUE(s.status.ok()) << s.status;
  EXPECT_EQ(s.pending_timers, kSleepers);
  // The listener and both ends of every connection.
  EXPECT_EQ(s.fds_open, fds_with_runtime + 1 + 2 * static_cast<int>(kConnections));
  EXPECT_EQ(c.destroyed.load(), 0);

  const auto start = steady_clock::now();
  const weft::ShutdownReport report = rt->shutdown();
  const auto took = steady_clock::now() - start;
  const int suspended = 1 + 2 * static_cast<int>(kConnections) + static_cast<int>(kSleepers);
  EXPECT_LT(took, std::chrono::seconds(20)) << "shutdown waited for I/O or a timer";
  EXPECT_FALSE(report.deadline_exceeded);
  EXPECT_EQ(report.cancelled, static_cast<std::uint64_t>(suspended));
  EXPECT_EQ(report.completed, 0u);
  EXPECT_EQ(c.destroyed.load(), suspended);
  EXPECT_EQ(c.resumed.load(), 0);
  EXPECT_EQ(s.timers->size(), 0u) << "a destroyed sleeper left its timer behind";
  EXPECT_EQ(open_fd_count(), fds_with_runtime) << "a destroyed task's socket was not closed";
  for (auto& h : s.kept) {
    EXPECT_TRUE(h.is_finished());
    EXPECT_THROW(h.take_result(), weft::JoinError);
  }
  rt.reset();
  EXPECT_EQ(open_fd_count(), fds_before_runtime) << "the runtime's own fds were not closed";
}

// The same, with the runtime simply destroyed (its destructor shuts down).
TEST_P(TcpShutdownTest, DestroyingTheRuntimeWithOpenConnectionsClosesEverything) {
  const int fds_before_runtime = open_fd_count();
  Counters c;
  auto rt = make_runtime();
  Suspended s = rt->block_on(open_connections_and_timers(kConnections / 4, kSleepers / 4, &c));
  ASSERT_TRUE(s.status.ok()) << s.status;
  s.kept.clear();
  rt.reset();
  EXPECT_EQ(c.destroyed.load(),
            1 + 2 * static_cast<int>(kConnections / 4) + static_cast<int>(kSleepers / 4));
  EXPECT_EQ(c.resumed.load(), 0);
  EXPECT_EQ(open_fd_count(), fds_before_runtime);
}

}  // namespace
}  // namespace weft_test
