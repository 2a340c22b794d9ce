// I/O fairness: a task woken by I/O is not buried by the I/O wake-ups that come after it, on
// every variant (LIFO local queues included), flavor and I/O backend. Real sockets on 127.0.0.1.
//
// The scene: a probe task reading one connection, and kPairs connections with a relay task at
// each end that reads a byte and writes it back, so the byte goes back and forth between them:
// every hop is an I/O wake-up, and a worker's own writes keep its driver turns supplied with
// fresh ones for as long as the relays go on (no outside thread whose scheduling could let the
// stream run dry). While a gate task holds every worker, so that no driver turn can run, one of
// the gates writes the probe's byte and then each pair's first byte: the next turn wakes the
// probe first and one relay of every pair after it. The measure is how many relay hops ran
// before the probe did.
//
// The bound. In FIFO order the probe, woken first, runs before any relay on its worker. The test
// allows each of the 2 x kPairs relays to hop twice on every worker first: room for a worker the
// OS deschedules while it holds the probe, but not for a queue that lets each turn's wake-ups
// overtake the probe for as long as they keep coming (a LIFO queue that takes I/O wake-ups as it
// takes spawns: there the probe waited until the relays stopped). A count, never a time: the
// relays stop at the bound, so a failure ends the stream instead of hanging the test.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "weft/status.hpp"
#include "net/net_test_util.hpp"
#include "runtime/runtime_test_params.hpp"
#include "weft/weft.hpp"

namespace weft_test {
namespace {

using weft::JoinHandle;
using weft::Task;

// More pairs than one interval's worth of polls (a driver turn at least every 61 ticks), so the
// first turn after the burst comes before the burst has run; and fewer than one turn may wake
// (128), so one turn wakes the whole burst.
constexpr std::size_t kPairs = 80;
// CPU time of one hop. It keeps the count of hops the other workers run while the OS
// deschedules the one holding the probe (4 workers share 2 cores here) far below the bound.
constexpr auto kHopWork = std::chrono::microseconds(50);

// What the tasks share: the test's own signals.
struct Scene {
  std::uint64_t bound = 0;                    // hops after which the relays stop
  std::vector<weft::net::NativeSocket> burst_fds;                 // the probe's client end, then each pair's
  std::atomic<std::size_t> reading{0};        // tasks that have issued their first read
  std::atomic<std::size_t> gates_started{0};  // workers held by a gate
  std::atomic<bool> burst_claimed{false};
  std::atomic<bool> burst_written{false};
  std::atomic<bool> every_worker_held{false};  // the burst was written with every worker held
  std::atomic<std::uint64_t> hops{0};          // reads done by the relays
  std::atomic<bool> probe_ran{false};
};

void busy_for(std::chrono::nanoseconds d) {
  const auto until = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < until) {
  }
}

// One end of a pair: reads the byte and writes it back, until the probe has run or the hops
// reach the bound. Returning closes the stream, which ends the other end with EOF (its byte was
// read, so nothing unread is left to turn the close into a reset).
Task<weft::Status> relay(TcpStream stream, Scene* scene) {
  TcpStream s = std::move(stream);
  std::byte buf[64];
  scene->reading.fetch_add(1);
  for (;;) {
    weft::StatusOr<std::size_t> n = co_await s.read(buf);
    if (!n.ok()) co_return n.status();
    if (*n == 0) co_return weft::OkStatus();
    busy_for(kHopWork);
    const std::uint64_t hops = scene->hops.fetch_add(1) + 1;
    if (scene->probe_ran.load() || hops > scene->bound) co_return weft::OkStatus();
    weft::Status w = co_await s.write_all(std::span(buf, *n));
    if (!w.ok()) co_return w;
  }
}

// Reads the probe's one byte; returns how many hops had run by then.
Task<weft::StatusOr<std::uint64_t>> probe(TcpStream stream, Scene* scene) {
  TcpStream s = std::move(stream);
  std::byte b[1];
  scene->reading.fetch_add(1);
  weft::StatusOr<std::size_t> n = co_await s.read(b);
  const std::uint64_t hops = scene->hops.load();
  scene->probe_ran.store(true);
  if (!n.ok()) co_return n.status();
  if (*n != 1) co_return weft::DataLossError("the probe read EOF instead of its byte");
  co_return hops;
}

// Holds its worker (no co_await) until the burst is written; the gate that finds every worker
// held writes it. If they never all start (a lost wake-up) it is written anyway, after the
// bound, and every_worker_held says so.
Task<void> gate(Scene* scene, std::size_t workers) {
  scene->gates_started.fetch_add(1);
  const bool held = spin_until([&] { return scene->gates_started.load() == workers; });
  if (!scene->burst_claimed.exchange(true)) {
    scene->every_worker_held.store(held);
    const char byte = 'x';
    for (weft::net::NativeSocket s : scene->burst_fds) (void)send_byte(s, byte);
    scene->burst_written.store(true);
  } else {
    spin_until([&] { return scene->burst_written.load(); });
  }
  co_return;
}

struct Outcome {
  weft::StatusOr<std::uint64_t> probe = weft::UnknownError("not run");
  weft::Status relays = weft::OkStatus();
};

Task<Outcome> scene_on(Scene* scene, std::size_t workers) {
  Outcome out;
  weft::StatusOr<TcpListener> listener = bind_loopback();
  if (!listener.ok()) {
    out.probe = listener.status();
    co_return out;
  }
  const SocketAddress addr = *listener->local_addr();
  // Connection 0 is the probe's; 1..kPairs are the pairs'.
  std::vector<TcpStream> clients, servers;
  for (std::size_t i = 0; i < kPairs + 1; ++i) {
    weft::StatusOr<TcpStream> c = co_await TcpStream::connect(addr);
    if (!c.ok()) {
      out.probe = c.status();
      co_return out;
    }
    weft::StatusOr<TcpStream> s = co_await listener->accept();
    if (!s.ok()) {
      out.probe = s.status();
      co_return out;
    }
    scene->burst_fds.push_back(c->native_handle());
    clients.push_back(*std::move(c));
    servers.push_back(*std::move(s));
  }
  JoinHandle<weft::StatusOr<std::uint64_t>> p = weft::spawn(probe(std::move(servers[0]), scene));
  std::vector<JoinHandle<weft::Status>> relays;
  for (std::size_t i = 1; i < kPairs + 1; ++i) {
    relays.push_back(weft::spawn(relay(std::move(servers[i]), scene)));
    relays.push_back(weft::spawn(relay(std::move(clients[i]), scene)));
  }
  if (co_await yield_until([&] { return scene->reading.load() == 2 * kPairs + 1; })) {
    // Every worker idles once, so a driver turn takes in every event still pending from the
    // setup: the burst's events then come in the order written.
    co_await weft::sleep_for(std::chrono::milliseconds(1));
  }
  for (std::size_t i = 0; i < workers; ++i) weft::spawn(gate(scene, workers)).detach();
  out.probe = co_await p;
  for (auto& r : relays) {
    weft::Status st = co_await r;
    if (!st.ok() && out.relays.ok()) out.relays = st;
  }
  co_return out;  // clients[0], the probe's client end, closes here
}

class IoFairnessTest : public RuntimeTest {};
WEFT_INSTANTIATE_FOR_EVERY_RUNTIME_AND_BACKEND(IoFairnessTest);

TEST_P(IoFairnessTest, ATaskWokenByIoRunsWithinBoundedPollsWhileLaterIoWakeUpsKeepComing) {
  auto rt = make_runtime();
  const std::size_t workers = rt->options().workers;
  Scene scene;
  scene.bound = 2 * (2 * kPairs) * workers;
  const Outcome out = rt->block_on(scene_on(&scene, workers));
  ASSERT_TRUE(out.probe.ok()) << out.probe.status();
  EXPECT_TRUE(out.relays.ok()) << out.relays;
  EXPECT_TRUE(scene.every_worker_held) << "the gates never held every worker at once";
  RecordProperty("hops_before_probe", std::to_string(*out.probe));
  EXPECT_LE(*out.probe, scene.bound)
      << "relay hops that ran before the probe, woken by I/O before all of them";
}

}  // namespace
}  // namespace weft_test
