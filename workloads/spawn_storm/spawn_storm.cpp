#include "spawn_storm/spawn_storm.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "common/event.hpp"
#include "fmt/format.h"
#include "spawn_storm/flat_c.h"
#include "weft/sync/channel.hpp"
#include "weft/weft.hpp"
#include "weft_cpp.h"

namespace weft::workloads {
namespace {

Task<void> leaf(Countdown* done) {
  done->count_down();
  co_return;
}

Task<void> flat(std::int64_t n, Countdown* done) {
  for (std::int64_t i = 0; i < n; ++i) weft::spawn(leaf(done)).detach();
  co_await done->wait();
}

Task<std::int64_t> skynet(std::int64_t num, std::int64_t size, std::int64_t fanout) {
  if (size == 1) co_return num;
  const std::int64_t sub = size / fanout;
  std::vector<JoinHandle<std::int64_t>> children;
  children.reserve(static_cast<std::size_t>(fanout));
  for (std::int64_t i = 0; i < fanout; ++i) {
    children.push_back(weft::spawn(skynet(num + i * sub, sub, fanout)));
  }
  std::int64_t sum = 0;
  for (auto& child : children) sum += co_await child;
  co_return sum;
}

Task<void> yielder(std::int64_t yields, Countdown* done) {
  for (std::int64_t i = 0; i < yields; ++i) co_await yield_now();
  done->count_down();
}

Task<void> spawn_yielders(std::int64_t tasks, std::int64_t yields, Countdown* done) {
  for (std::int64_t i = 0; i < tasks; ++i) weft::spawn(yielder(yields, done)).detach();
  co_await done->wait();
}

struct PingPong {
  Oneshot<int> ping;
  Oneshot<int> pong;
};

Task<void> pong_side(PingPong* p) {
  const int v = co_await p->ping.recv();
  p->pong.send(v + 1);
}

Task<void> ping_side(Countdown* done) {
  PingPong p;
  JoinHandle<void> other = weft::spawn(pong_side(&p));
  p.ping.send(1);
  const int v = co_await p.pong.recv();
  co_await other;  // `p` lives in this frame: outlive the other side
  if (v == 2) done->count_down();
}

Task<void> ping_pongs(std::int64_t pairs, Countdown* done) {
  for (std::int64_t i = 0; i < pairs; ++i) weft::spawn(ping_side(done)).detach();
  co_await done->wait();
}

Task<void> chain(std::int64_t remaining, OneShotEvent* done) {
  if (remaining == 0) {
    done->set();
  } else {
    weft::spawn(chain(remaining - 1, done)).detach();
  }
  co_return;
}

Task<void> chained(std::int64_t depth, OneShotEvent* done) {
  weft::spawn(chain(depth - 1, done)).detach();
  co_await done->wait();
}

// pipeline: a source, `stages` relay tasks and a sink joined by channels of `capacity`; every
// item crosses every channel, so each hop is a send and a recv (and, when a side waits, a wake).
Task<void> pipeline_source(Channel<std::int64_t>* out, std::int64_t items) {
  for (std::int64_t i = 0; i < items; ++i) co_await out->send(i);
  out->close();
}

Task<void> pipeline_stage(Channel<std::int64_t>* in, Channel<std::int64_t>* out) {
  while (std::optional<std::int64_t> v = co_await in->recv()) co_await out->send(*v + 1);
  out->close();
}

Task<std::int64_t> pipeline(std::int64_t items, std::int64_t stages, std::int64_t capacity) {
  std::vector<std::unique_ptr<Channel<std::int64_t>>> channels;
  for (std::int64_t i = 0; i <= stages; ++i) {
    channels.push_back(std::make_unique<Channel<std::int64_t>>(static_cast<std::size_t>(capacity)));
  }
  std::vector<JoinHandle<void>> tasks;
  tasks.push_back(weft::spawn(pipeline_source(channels[0].get(), items)));
  for (std::int64_t i = 0; i < stages; ++i) {
    tasks.push_back(weft::spawn(pipeline_stage(channels[i].get(), channels[i + 1].get())));
  }
  std::int64_t sum = 0;
  while (std::optional<std::int64_t> v = co_await channels.back()->recv()) sum += *v;
  for (auto& t : tasks) co_await t;
  co_return sum;
}

// Nodes of a skynet tree with `leaves` leaves (leaves + leaves/fanout + ... + 1), or nullopt when
// `leaves` is not a power of `fanout`.
std::optional<std::int64_t> skynet_nodes(std::int64_t leaves, std::int64_t fanout) {
  if (fanout < 2) return std::nullopt;
  std::int64_t nodes = 0;
  std::int64_t level = 1;
  while (level < leaves) {
    nodes += level;
    if (level > leaves / fanout) return std::nullopt;
    level *= fanout;
  }
  if (level != leaves) return std::nullopt;
  return nodes + leaves;
}

class SpawnStorm final : public Workload {
 public:
  std::string_view name() const override { return "spawn_storm"; }
  std::string_view description() const override {
    return "1M trivial tasks in Tokio's rt_multi_threaded shapes; ns per task";
  }
  std::vector<std::string> shapes() const override {
    return {"flat", "flat_c", "remote", "tree", "yield_many", "ping_pong", "chained", "pipeline"};
  }
  // No socket and no timer: only a parked worker's wait passes through the reactor.
  bool uses_reactor() const override { return false; }
  std::vector<ParamSpec> params() const override {
    return {
        // Upper bounds keep every run inside memory: flat holds `tasks` frames at once.
        {"tasks", "1000000", "tasks spawned (flat, flat_c, remote) or chain depth (chained)",
         {"flat", "flat_c", "remote", "chained"}, 20'000'000},
        {"leaves", "1000000", "leaves of the skynet tree (a power of fanout)", {"tree"},
         100'000'000},
        {"fanout", "10", "children per skynet node", {"tree"}, 1'000},
        {"yield_tasks", "1000", "tasks that yield", {"yield_many"}, 1'000'000},
        {"yields", "1000", "yields per task", {"yield_many"}, 1'000'000'000},
        {"pairs", "100000", "ping-pong pairs (2 tasks each)", {"ping_pong"}, 10'000'000},
        {"items", "200000", "items through the pipeline", {"pipeline"}, 1'000'000'000},
        {"stages", "4", "relay tasks between source and sink", {"pipeline"}, 10'000},
        {"capacity", "64", "capacity of every channel", {"pipeline"}, 1 << 20},
    };
  }

  absl::Status validate(std::string_view shape, const Params& params) const override {
    if (shape != "tree") return absl::OkStatus();
    const std::int64_t leaves = param_int(params, "leaves");
    const std::int64_t fanout = param_int(params, "fanout");
    if (skynet_nodes(leaves, fanout)) return absl::OkStatus();
    return absl::InvalidArgumentError(fmt::format(
        "tree: leaves={} is not a power of fanout={} (fanout >= 2; e.g. leaves={})", leaves,
        fanout, fanout >= 2 ? fanout * fanout * fanout : 1000));
  }

  std::optional<double> expected_units(std::string_view shape,
                                       const Params& params) const override {
    if (shape == "flat" || shape == "flat_c" || shape == "remote" || shape == "chained") {
      return static_cast<double>(param_int(params, "tasks"));
    }
    if (shape == "tree") {
      const auto nodes = skynet_nodes(param_int(params, "leaves"), param_int(params, "fanout"));
      return nodes ? std::optional<double>(static_cast<double>(*nodes)) : std::nullopt;
    }
    if (shape == "yield_many") {
      return static_cast<double>(param_int(params, "yield_tasks") *
                                 (param_int(params, "yields") + 1));
    }
    if (shape == "ping_pong") return static_cast<double>(2 * param_int(params, "pairs"));
    return std::nullopt;
  }

  absl::StatusOr<RunResult> run(Runtime& rt, std::string_view shape,
                                const Params& params) override {
    if (shape == "flat") {
      const std::int64_t n = param_int(params, "tasks");
      Countdown done(n);
      rt.block_on(flat(n, &done));
      return tasks(n);
    }
    if (shape == "flat_c") {  // `flat` through the C ABI, on this runtime (flat_c.c)
      const std::int64_t n = param_int(params, "tasks");
      const capi::BorrowedRuntime c_rt(rt);
      char error[256];
      if (const MtStatus s = spawn_storm_flat_c(c_rt.get(), n, error, sizeof error); s != MT_OK) {
        return absl::InternalError(fmt::format("flat_c: {}: {}", mt_status_name(s), error));
      }
      return tasks(n);
    }
    if (shape == "remote") {
      const std::int64_t n = param_int(params, "tasks");
      Countdown done(n);
      std::thread spawner([&] {
        for (std::int64_t i = 0; i < n; ++i) rt.spawn(leaf(&done)).detach();
      });
      rt.block_on(wait_for(&done));
      spawner.join();
      return tasks(n);
    }
    if (shape == "tree") {
      const std::int64_t leaves = param_int(params, "leaves");
      const std::int64_t fanout = param_int(params, "fanout");
      const std::optional<std::int64_t> nodes = skynet_nodes(leaves, fanout);
      if (!nodes) {
        return absl::InvalidArgumentError(
            fmt::format("tree: leaves={} is not a power of fanout={}", leaves, fanout));
      }
      const std::int64_t sum = rt.block_on(skynet(0, leaves, fanout));
      const std::int64_t expected = leaves * (leaves - 1) / 2;
      if (sum != expected) {
        return absl::InternalError(fmt::format("tree: sum {} != expected {}", sum, expected));
      }
      return tasks(*nodes);
    }
    if (shape == "yield_many") {
      const std::int64_t n = param_int(params, "yield_tasks");
      const std::int64_t yields = param_int(params, "yields");
      Countdown done(n);
      rt.block_on(spawn_yielders(n, yields, &done));
      return RunResult{static_cast<double>(n * (yields + 1)), "task",
                       {{"yields", static_cast<double>(n * yields), "count"}}};
    }
    if (shape == "ping_pong") {
      const std::int64_t pairs = param_int(params, "pairs");
      Countdown done(pairs);
      rt.block_on(ping_pongs(pairs, &done));
      return tasks(2 * pairs);
    }
    if (shape == "chained") {
      const std::int64_t depth = param_int(params, "tasks");
      OneShotEvent done;
      rt.block_on(chained(depth, &done));
      return tasks(depth);
    }
    if (shape == "pipeline") {
      const std::int64_t items = param_int(params, "items");
      const std::int64_t stages = param_int(params, "stages");
      const std::int64_t sum = rt.block_on(pipeline(items, stages, param_int(params, "capacity")));
      const std::int64_t expected = items * (items - 1) / 2 + items * stages;
      if (sum != expected) {
        return absl::InternalError(fmt::format("pipeline: sum {} != expected {}", sum, expected));
      }
      // One unit per hop: every item crosses stages + 1 channels.
      return RunResult{static_cast<double>(items * (stages + 1)), "hop", {}};
    }
    return absl::InvalidArgumentError(fmt::format("spawn_storm: unknown shape '{}'", shape));
  }

 private:
  static RunResult tasks(std::int64_t n) { return RunResult{static_cast<double>(n), "task", {}}; }
};

}  // namespace

std::unique_ptr<Workload> make_spawn_storm() { return std::make_unique<SpawnStorm>(); }

}  // namespace weft::workloads
