// Runtime::shutdown with connections open and timers pending: it returns (bounded), reports
// every task suspended on I/O or a timer as cancelled, destroys their frames (which closes their
// sockets and cancels their timers), and the process's fd count is back where it was. ASan's
// leak check (detect_leaks=1) sees the rest. For every variant and flavor.
//
// Also with peers that keep sending throughout (I/O stops at shutdown: it must not keep the
// drain going until its deadline), and a stream used after its runtime is gone (its operations
// fail at once instead of waiting for a poller that no longer exists).
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <string>
#include <thread>
#include <vector>

#include "weft/status.hpp"
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
  std::atomic<int> resumed{0};    // any of them got past its await: must stay 0...
  // ...but for an operation started after shutdown began ([O7] in io/backend.hpp): a task can
  // have counted itself in `reading` and not yet submitted its read when the test shuts down,
  // and that read fails at once with the shut-down error, as it must.
  std::atomic<int> started_late{0};
  std::atomic<std::size_t> reading{0};
  std::atomic<std::size_t> sleeping{0};
};

// Whether `s` is the error of an operation started after its runtime's shutdown began.
bool started_after_shutdown(const weft::Status& s) {
  return weft::IsFailedPrecondition(s) &&
         s.message().find("the runtime is shut down") != std::string_view::npos;
}

Task<void> read_forever(TcpStream stream, Counters* c) {
  DestructionCounter local(&c->destroyed);
  TcpStream s = std::move(stream);
  std::byte b[64];
  c->reading.fetch_add(1);
  weft::StatusOr<std::size_t> n = co_await s.read(b);  // nobody ever writes
  if (!n.ok() && started_after_shutdown(n.status())) {
    c->started_late.fetch_add(1);
    co_return;
  }
  c->resumed.fetch_add(1);
  ADD_FAILURE() << "a read completed: " << (n.ok() ? std::to_string(*n) : n.status().ToString());
}

Task<void> accept_forever(TcpListener listener, Counters* c) {
  DestructionCounter local(&c->destroyed);
  TcpListener l = std::move(listener);
  for (;;) {
    weft::StatusOr<TcpStream> s = co_await l.accept();
    if (!s.ok() && started_after_shutdown(s.status())) {
      c->started_late.fetch_add(1);
      co_return;
    }
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
  weft::StatusOr<TcpStream> s = co_await TcpStream::connect(addr);
  if (!s.ok()) {
    c->resumed.fetch_add(1);
    ADD_FAILURE() << "connect failed: " << s.status();
    co_return;
  }
  std::byte b[64];
  c->reading.fetch_add(1);
  weft::StatusOr<std::size_t> n = co_await s->read(b);
  if (!n.ok() && started_after_shutdown(n.status())) {
    c->started_late.fetch_add(1);
    co_return;
  }
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
  weft::Status status = weft::OkStatus();
  std::vector<JoinHandle<void>> kept;  // some of the suspended tasks' handles
  weft::detail::Timers* timers = nullptr;
  std::size_t pending_timers = 0;
  int fds_open = -1;
};

// Leaves 1 accept loop, `n` server readers, `n` client readers and `t` sleepers suspended.
Task<Suspended> open_connections_and_timers(std::size_t n, std::size_t t, Counters* c) {
  Suspended out;
  out.timers = &weft::detail::context().scheduler->driver().timers();
  weft::StatusOr<TcpListener> listener = bind_loopback();
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
  if (!settled) out.status = weft::DeadlineExceededError("the tasks did not all suspend");
  out.pending_timers = out.timers->size();
  out.fds_open = open_fd_count();
  co_return out;
}

TEST_P(TcpShutdownTest, ShutdownWithOpenConnectionsAndPendingTimersCancelsAndClosesEverything) {
  const int fds_before_runtime = open_fd_count();
  Counters c;
  auto rt = make_runtime();
  // No count is taken while the workers may still be starting: one ASan CI run saw 2 transient
  // descriptors right after make_runtime (mutex_mt4). s.fds_open is taken once every task has
  // suspended, and the next one after shutdown has joined the workers.
  Suspended s = rt->block_on(open_connections_and_timers(kConnections, kSleepers, &c));
  ASSERT_TRUE(s.status.ok()) << s.status;
  EXPECT_EQ(s.pending_timers, kSleepers);
  EXPECT_EQ(c.destroyed.load(), 0);

  const auto start = steady_clock::now();
  const weft::ShutdownReport report = rt->shutdown();
  const auto took = steady_clock::now() - start;
  const int suspended = 1 + 2 * static_cast<int>(kConnections) + static_cast<int>(kSleepers);
  EXPECT_LT(took, std::chrono::seconds(20)) << "shutdown waited for I/O or a timer";
  EXPECT_FALSE(report.deadline_exceeded);
  // A task that had not yet reached its await completes with the shut-down error instead.
  const auto late = static_cast<std::uint64_t>(c.started_late.load());
  EXPECT_EQ(report.cancelled + late, static_cast<std::uint64_t>(suspended));
  EXPECT_EQ(report.completed, late);
  EXPECT_EQ(c.destroyed.load(), suspended);
  EXPECT_EQ(c.resumed.load(), 0);
  EXPECT_EQ(s.timers->size(), 0u) << "a destroyed sleeper left its timer behind";
  // The listener and both ends of every connection were open, and shutdown closed them all.
  EXPECT_EQ(s.fds_open - open_fd_count(), 1 + 2 * static_cast<int>(kConnections))
      << "a destroyed task's socket was not closed";
  std::uint64_t kept_completed = 0;  // only late starters complete; the rest were cancelled
  for (auto& h : s.kept) {
    EXPECT_TRUE(h.is_finished());
    try {
      h.take_result();
      ++kept_completed;
    } catch (const weft::JoinError&) {
    }
  }
  EXPECT_LE(kept_completed, late);
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

// --- shutdown while peers keep sending ------------------------------------------------------

constexpr std::size_t kStreamingConnections = 8;
constexpr std::size_t kEchoedBeforeShutdown = 1 << 20;  // bytes echoed in all, before shutdown

// A thread outside the runtime with `n` blocking-connected, then non-blocking, connections to
// `addr`: it sends and reads on all of them, as fast as they go, until stop(). A connection the
// server closes (EOF, reset) is counted in `closed_by_server` and left alone.
class StreamingPeer {
 public:
  StreamingPeer(const SocketAddress& addr, std::size_t n) : addr_(addr), n_(n) {
    thread_ = std::thread([this] { run(); });
  }
  ~StreamingPeer() { stop(); }
  StreamingPeer(const StreamingPeer&) = delete;
  StreamingPeer& operator=(const StreamingPeer&) = delete;

  void stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }

  std::atomic<std::size_t> connected{0};
  std::atomic<std::uint64_t> sent{0};
  std::atomic<std::uint64_t> received{0};
  std::atomic<std::size_t> closed_by_server{0};
  std::atomic<int> failed_errno{0};  // a connect or send/recv error before the server closed

 private:
  void run() {
    std::vector<pollfd> fds;
    std::vector<NativeSocket> sockets;
    for (std::size_t i = 0; i < n_; ++i) {
      int err = 0;
      const NativeSocket s = blocking_connect(addr_, &err);
      if (s == weft::net::kNoSocket) {
        failed_errno.store(err);
        break;
      }
      set_nonblocking(s);
      sockets.push_back(s);
      fds.push_back({s, POLLIN | POLLOUT, 0});
      connected.fetch_add(1);
    }
    const std::vector<std::byte> out = payload(7, 16 * 1024);
    std::vector<std::byte> in(64 * 1024);
    while (!stop_.load()) {
      if (poll_sockets(fds.data(), fds.size(), 1) < 0 && weft::net::sys::last_error() != EINTR) {
        break;
      }
      for (pollfd& p : fds) {
        if (p.fd == weft::net::kNoSocket) continue;
        bool closed = false;
        int err = 0;
        // Drain what came back and fill the socket buffer each round, so that the server
        // always has data waiting (it never runs out of work on its own).
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
          for (;;) {
            const long r = recv_some(p.fd, in.data(), in.size(), &err);
            if (r > 0) {
              received.fetch_add(static_cast<std::uint64_t>(r));
              continue;
            }
            closed = r == 0 || (err != EAGAIN && err != EINTR);
            break;
          }
        }
        if (!closed && (p.revents & POLLOUT)) {
          for (;;) {
            const long w = send_some(p.fd, out.data(), out.size(), &err);
            if (w > 0) {
              sent.fetch_add(static_cast<std::uint64_t>(w));
              continue;
            }
            closed = err != EAGAIN && err != EINTR;
            break;
          }
        }
        if (closed) {  // the server's end went away: keep the socket (closed below), stop polling
          closed_by_server.fetch_add(1);
          p.fd = weft::net::kNoSocket;
        }
      }
    }
    for (NativeSocket s : sockets) weft::net::sys::close(s);
  }

  const SocketAddress addr_;
  const std::size_t n_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

struct EchoCounters {
  std::atomic<int> destroyed{0};  // frames of the accept loop and the echo tasks
  std::atomic<std::size_t> accepted{0};
  std::atomic<std::uint64_t> echoed{0};
  std::atomic<int> shutdown_errors{0};  // operations failed with "the runtime is shut down"
  std::atomic<int> other_errors{0};     // anything else ending a task: must stay 0
  std::atomic<int> eofs{0};             // a peer closed first: must stay 0
};

void count_error(const weft::Status& status, EchoCounters* c) {
  if (status.code() == weft::StatusCode::kFailedPrecondition &&
      status.message().find("shut down") != std::string_view::npos) {
    c->shutdown_errors.fetch_add(1);
  } else {
    c->other_errors.fetch_add(1);
    ADD_FAILURE() << "unexpected error: " << status;
  }
}

Task<void> echo_counted(TcpStream stream, EchoCounters* c) {
  DestructionCounter local(&c->destroyed);
  TcpStream s = std::move(stream);
  std::byte buf[16 * 1024];
  for (;;) {
    weft::StatusOr<std::size_t> n = co_await s.read(buf);
    if (!n.ok()) {
      count_error(n.status(), c);
      co_return;
    }
    if (*n == 0) {
      c->eofs.fetch_add(1);
      co_return;
    }
    const weft::Status w = co_await s.write_all(std::span(buf, *n));
    if (!w.ok()) {
      count_error(w, c);
      co_return;
    }
    c->echoed.fetch_add(*n);
  }
}

Task<void> accept_and_echo(TcpListener listener, EchoCounters* c) {
  DestructionCounter local(&c->destroyed);
  TcpListener l = std::move(listener);
  for (;;) {
    weft::StatusOr<TcpStream> s = co_await l.accept();
    if (!s.ok()) {
      count_error(s.status(), c);
      co_return;
    }
    c->accepted.fetch_add(1);
    weft::spawn(echo_counted(*std::move(s), c)).detach();
  }
}

Task<weft::StatusOr<SocketAddress>> start_echo_server(EchoCounters* c) {
  weft::StatusOr<TcpListener> listener = bind_loopback();
  if (!listener.ok()) co_return listener.status();
  const SocketAddress addr = *listener->local_addr();
  weft::spawn(accept_and_echo(*std::move(listener), c)).detach();
  co_return addr;
}

// Runs the runtime (a current_thread one runs only inside block_on) until every connection is
// accepted and echoing, and the peer is still sending at the end.
Task<bool> until_streaming(EchoCounters* c, StreamingPeer* peer) {
  const bool echoing = co_await yield_until([&] {
    return c->accepted.load() == kStreamingConnections &&
           c->echoed.load() >= kEchoedBeforeShutdown && peer->received.load() > 0;
  });
  const std::uint64_t sent = peer->sent.load();
  co_return echoing && co_await yield_until([&] { return peer->sent.load() > sent; });
}

TEST_P(TcpShutdownTest, ShutdownEndsPromptlyWhilePeersKeepSending) {
  const int fds_before_runtime = open_fd_count();
  EchoCounters c;
  auto rt = make_runtime();
  weft::StatusOr<SocketAddress> addr = rt->block_on(start_echo_server(&c));
  ASSERT_TRUE(addr.ok()) << addr.status();
  StreamingPeer peer(*addr, kStreamingConnections);
  ASSERT_TRUE(rt->block_on(until_streaming(&c, &peer)))
      << "accepted " << c.accepted.load() << ", echoed " << c.echoed.load() << ", peer errno "
      << peer.failed_errno.load();
  ASSERT_EQ(peer.closed_by_server.load(), 0u);

  // The peer goes on sending all through shutdown. The deadline is the default one (30 s): a
  // drain that I/O kept going would run into it.
  const auto start = steady_clock::now();
  const weft::ShutdownReport report = rt->shutdown(std::chrono::seconds(30));
  const auto took = steady_clock::now() - start;
  EXPECT_FALSE(report.deadline_exceeded) << "the drain ran to its deadline";
  EXPECT_LT(took, std::chrono::seconds(30));
  // Every task ended in the drain: it failed its next operation with the shutdown error
  // (completed), or it was suspended on I/O and destroyed (cancelled).
  const std::size_t tasks = 1 + kStreamingConnections;
  EXPECT_EQ(report.completed + report.cancelled, tasks);
  EXPECT_EQ(c.destroyed.load(), static_cast<int>(tasks));
  EXPECT_EQ(c.other_errors.load(), 0);
  EXPECT_EQ(c.eofs.load(), 0);
  EXPECT_EQ(static_cast<std::uint64_t>(c.shutdown_errors.load()), report.completed);
  // Every server end was closed with its task: the peer sees each connection end.
  EXPECT_TRUE(spin_until([&] { return peer.closed_by_server.load() == kStreamingConnections; }))
      << peer.closed_by_server.load() << " of " << kStreamingConnections << " closed";
  peer.stop();
  EXPECT_EQ(peer.failed_errno.load(), 0);
  rt.reset();
  EXPECT_EQ(open_fd_count(), fds_before_runtime);
}

// --- a stream that outlives its runtime -------------------------------------------------------

struct AfterResults {
  weft::Status read, write, accept;
};

// Each operation under a generous timeout: before the fix the read and the accept never
// completed (no poller was left to complete them).
Task<AfterResults> use_after_runtime(Pair* e) {
  AfterResults out;
  std::byte buf[64] = {};
  auto read = [](TcpStream* s, std::span<std::byte> b) -> Task<weft::Status> {
    weft::StatusOr<std::size_t> n = co_await s->read(b);
    co_return n.ok() ? weft::OkStatus() : n.status();
  };
  auto write = [](TcpStream* s, std::span<const std::byte> b) -> Task<weft::Status> {
    co_return co_await s->write_all(b);
  };
  auto accept = [](TcpListener* l) -> Task<weft::Status> {
    weft::StatusOr<TcpStream> s = co_await l->accept();
    co_return s.ok() ? weft::OkStatus() : s.status();
  };
  auto flat = [](weft::StatusOr<weft::Status> r) { return r.ok() ? *r : r.status(); };
  out.read = flat(co_await weft::timeout(kWaitBound, read(&e->server, buf)));
  out.write = flat(co_await weft::timeout(kWaitBound, write(&e->client, buf)));
  out.accept = flat(co_await weft::timeout(kWaitBound, accept(&e->listener)));
  co_return out;
}

bool is_shut_down_error(const weft::Status& s) {
  return s.code() == weft::StatusCode::kFailedPrecondition &&
         s.message().find("runtime is shut down") != std::string_view::npos;
}

TEST_P(TcpShutdownTest, AStreamUsedAfterItsRuntimeIsGoneFailsAtOnce) {
  const int fds_before = open_fd_count();
  Pair e;
  {
    auto rt = make_runtime();
    e = rt->block_on(connected_pair());
    ASSERT_TRUE(e.setup.ok()) << e.setup;
  }  // the runtime is shut down and destroyed; the sockets live on
  auto other = make_runtime();
  const auto start = steady_clock::now();
  const AfterResults r = other->block_on(use_after_runtime(&e));
  EXPECT_LT(steady_clock::now() - start, kWaitBound);
  EXPECT_TRUE(is_shut_down_error(r.read)) << r.read;
  EXPECT_TRUE(is_shut_down_error(r.write)) << r.write;
  EXPECT_TRUE(is_shut_down_error(r.accept)) << r.accept;
  e = Pair{};  // closing the sockets still works
  other.reset();
  EXPECT_EQ(open_fd_count(), fds_before);
}

}  // namespace
}  // namespace weft_test
