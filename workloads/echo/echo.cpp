// echo: a TCP echo server on 127.0.0.1 under the runtime being measured, driven by weft-loadgen,
// a separate process on plain epoll (the same client for every variant; the open-file limit is
// per process).
//
// Shapes: `closed` (N connections, one message in flight each: capacity) and `open` (Poisson
// arrivals at `rate` msgs/s, latency from the intended send time: latency under load without
// coordinated omission). The load generator reports msgs, latency percentiles and errors for its
// measurement window, which it marks on stdout; the server's CPU time over that window (from
// /proc/self/stat) gives server_cpu_us_per_msg, and the runtime's counters over the same window
// give the I/O cost per message: io_syscalls_per_msg (every syscall the I/O backend made: the
// operations, the waits, the wake-ups) and driver_polls_per_msg (turns of the reactor).
//
// Only the load generator is served: it binds its connections to a random 127.x.y.z (weft-loadgen
// --source; all of 127/8 is loopback), and the server closes a connection from any other address
// at once, counting it in server_intruders rather than server_connections. So another process on
// the machine that finds the port neither adds a connection nor load to the measurement.
#include "echo/echo.hpp"

#include <chrono>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "common/event.hpp"
#include "echo/echo_client.hpp"
#include "echo/echo_server.hpp"
#include "fmt/format.h"
#include "weft/weft.hpp"

namespace weft::workloads {
namespace {

using net::SocketAddress;
using net::TcpListener;

Task<absl::StatusOr<TcpListener>> bind_loopback() {
  co_return TcpListener::bind(SocketAddress::ipv4_loopback(0), 4096);
}

// A random loopback address other than 127.0.0.1, for the load generator to connect from.
std::string random_loopback_source() {
  std::random_device rd;
  std::uniform_int_distribution<int> octet(1, 254);
  return fmt::format("127.{}.{}.{}", octet(rd), octet(rd), octet(rd));
}

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
        {"connections", "100", "client connections (the server and weft-loadgen each need one "
         "descriptor per connection)", {"closed", "open"}, 19'000},
        {"msg_size", "64", "bytes per message", {"closed", "open"}, 1 << 20},
        {"rate", "50000", "offered load, msgs/s over all connections", {"open"}, 100'000'000},
        {"duration_ms", "3000", "measurement window", {"closed", "open"}, 86'400'000},
        {"warmup_ms", "1000", "load before the window (not measured)", {"closed", "open"},
         86'400'000},
        {"client_threads", "1", "load generator threads (at most connections)", {"closed", "open"},
         64},
    };
  }
  bool wants_cold_run() const override { return false; }
  // The server's end of every connection, plus the runtime's and the process's own.
  std::uint64_t descriptors_needed(std::string_view /*shape*/,
                                   const Params& params) const override {
    return static_cast<std::uint64_t>(param_int(params, "connections")) + 128;
  }
  absl::Status validate(std::string_view /*shape*/, const Params& params) const override {
    if (param_int(params, "client_threads") <= param_int(params, "connections")) {
      return absl::OkStatus();
    }
    return absl::InvalidArgumentError(
        fmt::format("echo: client_threads={} is more than connections={}",
                    param_int(params, "client_threads"), param_int(params, "connections")));
  }

  absl::StatusOr<RunResult> run(Runtime& rt, std::string_view shape,
                                const Params& params) override {
    const std::int64_t msg_size = param_int(params, "msg_size");
    absl::StatusOr<TcpListener> listener = rt.block_on(bind_loopback());
    if (!listener.ok()) return listener.status();
    absl::StatusOr<SocketAddress> addr = listener->local_addr();
    if (!addr.ok()) return addr.status();
    EchoCounters counters;
    const std::string source = random_loopback_source();
    absl::StatusOr<SocketAddress> only_from = SocketAddress::parse(source + ":0");
    if (!only_from.ok()) return only_from.status();
    JoinHandle<void> acceptor = rt.spawn(echo_accept_loop(
        std::move(*listener), echo_buffer_size(msg_size), &counters, *only_from));

    // The load generator is read from a thread of its own while this thread waits in block_on:
    // a current_thread runtime runs only inside block_on.
    absl::StatusOr<RunResult> result = absl::UnknownError("echo: no result");
    OneShotEvent client_done;
    std::vector<RuntimeStats> window;  // the runtime's counters as the window opens and closes
    std::thread client([&] {
      result = drive_echo_client(addr->port(), shape, params, [&] {
        window.push_back(rt.stats());
        return process_cpu_seconds();
      }, source);
      client_done.set();
    });
    rt.block_on(wait_for(&client_done));
    client.join();
    rt.block_on(echo_stop(std::move(acceptor), &counters, std::chrono::seconds(5)));
    if (!result.ok()) return result;
    result->metrics.push_back({"server_connections", static_cast<double>(counters.accepted.load()), "count"});
    result->metrics.push_back({"server_errors", static_cast<double>(counters.errors.load()), "count"});
    result->metrics.push_back(
        {"server_intruders", static_cast<double>(counters.intruders.load()), "count"});
    if (window.size() == 2 && result->units > 0) {
      // Per echoed message of the window: the count server_cpu_us_per_msg divides by.
      const double syscalls =
          static_cast<double>(window[1].io.io_syscalls - window[0].io.io_syscalls);
      const double polls = static_cast<double>(window[1].total().driver_polls -
                                               window[0].total().driver_polls);
      result->metrics.push_back({"io_syscalls_per_msg", syscalls / result->units, "ratio"});
      result->metrics.push_back({"driver_polls_per_msg", polls / result->units, "ratio"});
    }
    return result;
  }
};

}  // namespace

std::unique_ptr<Workload> make_echo() { return std::make_unique<Echo>(); }

}  // namespace weft::workloads
