// echo: a TCP echo server on 127.0.0.1 under the runtime being measured, driven by weft-loadgen,
// a separate process on plain epoll (the same client for every variant; the open-file limit is
// per process).
//
// Shapes: `closed` (N connections, one message in flight each: capacity) and `open` (Poisson
// arrivals at `rate` msgs/s, latency from the intended send time: latency under load without
// coordinated omission). The load generator reports msgs, latency percentiles and errors for its
// measurement window, which it marks on stdout; the server's CPU time over that window (from
// /proc/self/stat) gives server_cpu_us_per_msg.
#include "echo/echo.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "common/event.hpp"
#include "common/subprocess.hpp"
#include "fmt/format.h"
#include "weft/weft.hpp"

#ifndef WEFT_LOADGEN_PATH
#define WEFT_LOADGEN_PATH "weft-loadgen"
#endif

namespace weft::workloads {
namespace {

using net::SocketAddress;
using net::TcpListener;
using net::TcpStream;

struct ServerCounters {
  std::atomic<std::int64_t> live{0};
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> errors{0};
};

Task<void> serve(TcpStream stream, std::size_t buffer_size, ServerCounters* counters) {
  std::vector<std::byte> buf(buffer_size);
  for (;;) {
    absl::StatusOr<std::size_t> n = co_await stream.read(buf);
    if (!n.ok()) {
      counters->errors.fetch_add(1, std::memory_order_relaxed);
      break;
    }
    if (*n == 0) break;  // the client closed
    if (!(co_await stream.write_all(std::span(buf).first(*n))).ok()) {
      counters->errors.fetch_add(1, std::memory_order_relaxed);
      break;
    }
  }
  counters->live.fetch_sub(1, std::memory_order_relaxed);
}

Task<void> accept_loop(TcpListener listener, std::size_t buffer_size, ServerCounters* counters) {
  for (;;) {
    absl::StatusOr<TcpStream> stream = co_await listener.accept();
    if (!stream.ok()) {
      counters->errors.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    counters->accepted.fetch_add(1, std::memory_order_relaxed);
    counters->live.fetch_add(1, std::memory_order_relaxed);
    weft::spawn(serve(std::move(*stream), buffer_size, counters)).detach();
  }
}

Task<absl::StatusOr<TcpListener>> bind_loopback() {
  co_return TcpListener::bind(SocketAddress::ipv4_loopback(0), 4096);
}

// Aborts the accept loop and waits until its frame (and the listener) is gone; then waits, for
// a bounded time, for the connections the client closed to finish.
Task<void> stop(JoinHandle<void> acceptor, ServerCounters* counters) {
  acceptor.abort();
  try {
    co_await acceptor;
  } catch (const JoinError&) {
  }
  for (int i = 0; i < 5000 && counters->live.load(std::memory_order_relaxed) > 0; ++i) {
    co_await sleep_for(std::chrono::milliseconds(1));
  }
}

std::string seconds_arg(std::int64_t ms) { return fmt::format("{:.3f}", ms / 1000.0); }

class Echo final : public Workload {
 public:
  std::string_view name() const override { return "echo"; }
  std::string_view description() const override {
    return "TCP echo server on 127.0.0.1 driven by weft-loadgen (closed: capacity; open: "
           "Poisson arrivals, latency from the intended send time)";
  }
  std::vector<std::string> shapes() const override { return {"closed", "open"}; }
  std::vector<ParamSpec> params() const override {
    return {
        {"connections", "100", "client connections (10000 needs no more than 19000 fds)",
         {"closed", "open"}},
        {"msg_size", "64", "bytes per message", {"closed", "open"}},
        {"rate", "50000", "offered load, msgs/s over all connections", {"open"}},
        {"duration_ms", "3000", "measurement window", {"closed", "open"}},
        {"warmup_ms", "1000", "load before the window (not measured)", {"closed", "open"}},
        {"client_threads", "1", "load generator threads", {"closed", "open"}},
    };
  }
  bool wants_cold_run() const override { return false; }

  absl::StatusOr<RunResult> run(Runtime& rt, std::string_view shape,
                                const Params& params) override {
    const std::int64_t connections = param_int(params, "connections");
    const std::int64_t msg_size = param_int(params, "msg_size");
    if (connections > 19000) {
      return absl::InvalidArgumentError("echo: connections must be at most 19000 (fd limit)");
    }
    absl::StatusOr<TcpListener> listener = rt.block_on(bind_loopback());
    if (!listener.ok()) return listener.status();
    absl::StatusOr<SocketAddress> addr = listener->local_addr();
    if (!addr.ok()) return addr.status();
    ServerCounters counters;
    const std::size_t buffer_size = static_cast<std::size_t>(std::clamp<std::int64_t>(msg_size, 512, 65536));
    JoinHandle<void> acceptor = rt.spawn(accept_loop(std::move(*listener), buffer_size, &counters));

    std::vector<std::string> argv = {
        tool_path("WEFT_LOADGEN", WEFT_LOADGEN_PATH),
        "--port=" + std::to_string(addr->port()),
        "--connections=" + std::to_string(connections),
        "--msg_size=" + std::to_string(msg_size),
        "--mode=" + std::string(shape),
        "--duration=" + seconds_arg(param_int(params, "duration_ms")),
        "--warmup=" + seconds_arg(param_int(params, "warmup_ms")),
        "--threads=" + std::to_string(param_int(params, "client_threads")),
        "--markers",
    };
    if (shape == "open") argv.push_back("--rate=" + std::to_string(param_int(params, "rate")));

    // The load generator is read from a thread of its own while this thread waits in block_on:
    // a current_thread runtime runs only inside block_on.
    absl::StatusOr<RunResult> result = absl::UnknownError("echo: no result");
    OneShotEvent client_done;
    std::thread client([&] {
      result = drive(argv);
      client_done.set();
    });
    rt.block_on(wait_for(&client_done));
    client.join();
    rt.block_on(stop(std::move(acceptor), &counters));
    if (!result.ok()) return result;
    result->metrics.push_back({"server_connections", static_cast<double>(counters.accepted.load()), "count"});
    result->metrics.push_back({"server_errors", static_cast<double>(counters.errors.load()), "count"});
    return result;
  }

 private:
  // Runs the load generator to the end; the server's CPU time is read at its window markers.
  static absl::StatusOr<RunResult> drive(const std::vector<std::string>& argv) {
    absl::StatusOr<Subprocess> client = Subprocess::start(argv);
    if (!client.ok()) return client.status();
    std::optional<CpuTimes> cpu_start;
    std::optional<CpuTimes> cpu_end;
    std::string report;
    while (std::optional<std::string> line = client->read_line()) {
      if (*line == "measure_start") cpu_start = process_cpu_seconds();
      if (*line == "measure_end") cpu_end = process_cpu_seconds();
      if (!line->empty() && line->front() == '{') report = *line;
    }
    const int status = client->wait();
    if (status != 0 || report.empty() || !cpu_start || !cpu_end) {
      return absl::InternalError(fmt::format(
          "echo: weft-loadgen ({}) exited with status {} {}", argv[0], status,
          report.empty() ? "and no report" : "after: " + report));
    }
    const auto r = parse_flat_json(report);
    auto num = [&](const char* key) {
      auto it = r.find(key);
      return it == r.end() ? 0.0 : std::stod(it->second);
    };
    RunResult out;
    out.unit = "msg";
    out.units = num("msgs");
    out.seconds = num("duration_s");
    if (out.units <= 0) return absl::InternalError("echo: no message was echoed: " + report);
    for (const char* key : {"latency_p50_us", "latency_p99_us", "latency_p999_us",
                            "latency_max_us"}) {
      out.metrics.push_back({key, num(key), "us"});
    }
    out.metrics.push_back({"errors", num("errors"), "count"});
    if (num("offered_rate") > 0) {
      out.metrics.push_back({"offered_rate", num("offered_rate"), "msgs/s"});
      // Arrivals still unanswered 2 s after the window: the server fell behind the offered rate.
      out.metrics.push_back({"unfinished", num("unfinished"), "count"});
    }
    const double per_msg = 1e6 / out.units;
    out.metrics.push_back(
        {"server_cpu_us_per_msg", (cpu_end->total() - cpu_start->total()) * per_msg, "us"});
    out.metrics.push_back(
        {"server_user_us_per_msg", (cpu_end->user - cpu_start->user) * per_msg, "us"});
    out.metrics.push_back(
        {"server_sys_us_per_msg", (cpu_end->system - cpu_start->system) * per_msg, "us"});
    return out;
  }
};

}  // namespace

std::unique_ptr<Workload> make_echo() { return std::make_unique<Echo>(); }

}  // namespace weft::workloads
