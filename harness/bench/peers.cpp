#include "peers.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <fstream>

#include "absl/status/status.h"
#include "common/subprocess.hpp"
#include "echo/echo_client.hpp"
#include "echo/echo_server.hpp"
#include "fmt/format.h"

#ifndef WEFT_PEERS_DIR
#define WEFT_PEERS_DIR "harness/peers"
#endif

namespace weft::bench {
namespace {

using workloads::KillAfter;
using workloads::Params;
using workloads::RunResult;
using workloads::Subprocess;

// The table of harness/peers/README.md.
const std::vector<PeerSpec>& peer_table() {
  static const std::string_view kNoAsioChannel =
      "remote, pipeline: not written for any peer; flat_c: Weft's C ABI; ping_pong: Boost "
      "1.74's Asio has no channel (asio::experimental::channel is 1.80)";
  static const std::vector<PeerSpec> kPeers = {
      {.name = "tokio", .folder = "tokio",
       .spawn_shapes = {"flat", "tree", "yield_many", "ping_pong", "chained"},
       .echo = true, .current_thread = true,
       .absent = "remote and pipeline: not written for any peer; flat_c: Weft's C ABI"},
      {.name = "go", .folder = "go",
       .spawn_shapes = {"flat", "tree", "yield_many", "ping_pong", "chained"},
       .echo = true,
       .absent = "remote and pipeline: not written for any peer; flat_c: Weft's C ABI"},
      {.name = "asio", .folder = "asio", .extra_arg = "--contexts=shared",
       .spawn_shapes = {"flat", "tree", "yield_many", "chained"},
       .echo = true, .absent = kNoAsioChannel},
      {.name = "asio_pool", .folder = "asio", .extra_arg = "--contexts=per_thread",
       .spawn_shapes = {"flat", "tree", "yield_many", "chained"},
       .echo = true, .absent = kNoAsioChannel},
      {.name = "libuv", .folder = "libuv", .spawn_shapes = {"flat", "tree", "chained"},
       .echo = true, .echo_one_thread = true,
       .absent = "remote, pipeline: not written for any peer; flat_c: Weft's C ABI; "
                 "yield_many, ping_pong: a uv_queue_work item can neither yield nor wait for a "
                 "message; echo runs one loop, so threads=1 only"},
      {.name = "tbb", .folder = "tbb", .spawn_shapes = {"flat", "tree", "chained"},
       .absent = "remote, pipeline: not written for any peer; flat_c: Weft's C ABI; "
                 "yield_many, ping_pong: TBB tasks run to completion (no yield, no awaiting a "
                 "message); echo: oneTBB has no I/O"},
  };
  return kPeers;
}

std::vector<std::string> base_argv(const PeerSpec& peer, std::string_view workload,
                                   std::size_t threads, Flavor flavor) {
  std::vector<std::string> argv = {peer_program(peer), std::string(workload),
                                   fmt::format("--threads={}", threads)};
  if (flavor == Flavor::kCurrentThread) argv.emplace_back("--flavor=current_thread");
  if (!peer.extra_arg.empty()) argv.emplace_back(peer.extra_arg);
  return argv;
}

double number(const std::map<std::string, std::string>& json, const char* key) {
  auto it = json.find(key);
  if (it == json.end()) return -1;
  char* end = nullptr;
  const double v = std::strtod(it->second.c_str(), &end);
  return end != it->second.c_str() ? v : -1;
}

std::string exit_text(std::string_view peer, int status) {
  return fmt::format("peer {} exited with status {} (its message is above)", peer, status);
}

absl::StatusOr<PeerRun> run_spawn_storm(const PeerSpec& peer, const workloads::Workload& workload,
                                        std::string_view shape, const Params& params,
                                        std::size_t threads, Flavor flavor) {
  std::vector<std::string> argv = base_argv(peer, workload.name(), threads, flavor);
  argv.push_back(fmt::format("--shape={}", shape));
  for (const auto& [key, value] : params) argv.push_back(fmt::format("--{}={}", key, value));
  absl::StatusOr<Subprocess> child = Subprocess::start(argv);
  if (!child.ok()) return child.status();
  std::string report;
  {
    KillAfter watchdog(child->pid(), std::chrono::minutes(5), fmt::format("peer {}", peer.name));
    while (std::optional<std::string> line = child->read_line()) {
      if (!line->empty() && line->front() == '{') report = *line;
    }
  }
  const int status = child->wait();
  if (status != 0) return absl::InternalError(exit_text(peer.name, status));
  const auto json = workloads::parse_flat_json(report);
  PeerRun run;
  run.peak_rss_bytes = child->peak_rss_bytes();
  run.build = json.contains("build") ? json.at("build") : "";
  run.result.units = number(json, "units");
  run.result.seconds = number(json, "seconds");
  run.result.unit = json.contains("unit") ? json.at("unit") : "";
  if (run.result.units <= 0 || run.result.seconds <= 0 || run.result.unit.empty() ||
      run.build.empty()) {
    return absl::InternalError(
        fmt::format("peer {} reported no complete result: '{}'", peer.name, report));
  }
  const std::optional<double> expected = workload.expected_units(shape, params);
  if (expected && *expected != run.result.units) {
    return absl::InternalError(fmt::format("peer {} counted {} {}s where {} were expected",
                                           peer.name, run.result.units, run.result.unit,
                                           *expected));
  }
  return run;
}

absl::StatusOr<PeerRun> run_echo(const PeerSpec& peer, std::string_view shape,
                                 const Params& params, std::size_t threads, Flavor flavor) {
  std::vector<std::string> argv = base_argv(peer, "echo", threads, flavor);
  argv.emplace_back("--bind=127.0.0.1");
  argv.emplace_back("--port=0");
  argv.push_back(fmt::format(
      "--buffer={}", workloads::echo_buffer_size(workloads::param_int(params, "msg_size"))));
  absl::StatusOr<Subprocess> server = Subprocess::start(argv);
  if (!server.ok()) return server.status();
  PeerRun run;
  absl::StatusOr<RunResult> result = absl::UnknownError("no result");
  std::map<std::string, std::string> counters;
  {
    // Bounds the whole conversation: start-up, the load generator's window and the shutdown.
    const auto window_s = (workloads::param_int(params, "duration_ms") +
                           workloads::param_int(params, "warmup_ms")) / 1000;
    KillAfter watchdog(server->pid(), std::chrono::seconds(60 + window_s),
                       fmt::format("peer {}'s echo server", peer.name));
    const std::optional<std::string> hello = server->read_line();
    const auto json = workloads::parse_flat_json(hello.value_or(""));
    const double port = number(json, "port");
    if (port < 1 || port > 65535) {
      result = absl::InternalError(fmt::format(
          "peer {}'s echo server did not report a port: '{}'", peer.name, hello.value_or("")));
    } else {
      run.build = json.contains("build") ? json.at("build") : "";
      const pid_t pid = server->pid();
      result = workloads::drive_echo_client(static_cast<std::uint16_t>(port), shape, params,
                                            [pid] { return workloads::process_cpu_seconds(pid); });
    }
    server->kill(SIGTERM);
    while (std::optional<std::string> line = server->read_line()) {
      if (line->find("\"connections\"") != std::string::npos) {
        counters = workloads::parse_flat_json(*line);
      }
    }
  }
  const int status = server->wait();
  if (!result.ok()) return result.status();
  if (status != 0) return absl::InternalError(exit_text(peer.name, status));
  if (counters.empty()) {
    return absl::InternalError(
        fmt::format("peer {}'s echo server printed no counters at shutdown", peer.name));
  }
  run.result = *std::move(result);
  run.result.metrics.push_back({"server_connections", number(counters, "connections"), "count"});
  run.result.metrics.push_back({"server_errors", number(counters, "errors"), "count"});
  run.peak_rss_bytes = server->peak_rss_bytes();
  return run;
}

}  // namespace

std::span<const PeerSpec> all_peers() { return peer_table(); }

const PeerSpec* find_peer(std::string_view name) {
  for (const PeerSpec& p : peer_table()) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

std::vector<std::string> peer_names() {
  std::vector<std::string> names;
  for (const PeerSpec& p : peer_table()) names.emplace_back(p.name);
  return names;
}

std::string peer_program(const PeerSpec& peer) {
  std::string var = "WEFT_PEER_";
  for (char c : peer.folder) var += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return workloads::tool_path(
      var.c_str(), fmt::format("{}/{}/weft-peer-{}", WEFT_PEERS_DIR, peer.folder, peer.folder)
                       .c_str());
}

std::optional<std::string> peer_unavailable(const PeerSpec& peer) {
  const std::string program = peer_program(peer);
  if (::access(program.c_str(), X_OK) == 0) return std::nullopt;
  std::ifstream skipped(fmt::format("{}/{}/SKIPPED", WEFT_PEERS_DIR, peer.folder));
  std::string reason;
  if (std::getline(skipped, reason) && !reason.empty()) return reason;
  return fmt::format("{} is not built (make build builds it)", program);
}

std::optional<std::string> peer_skips(const PeerSpec& peer, std::string_view workload,
                                      std::string_view shape, std::size_t threads,
                                      Flavor flavor) {
  if (flavor == Flavor::kCurrentThread && !peer.current_thread) {
    return std::string("it has no current_thread flavor");
  }
  if (workload == "spawn_storm") {
    if (std::find(peer.spawn_shapes.begin(), peer.spawn_shapes.end(), shape) ==
        peer.spawn_shapes.end()) {
      return fmt::format("it does not express spawn_storm/{} ({})", shape, peer.absent);
    }
    return std::nullopt;
  }
  if (workload == "echo") {
    if (!peer.echo) return fmt::format("it has no echo server ({})", peer.absent);
    if (peer.echo_one_thread && threads != 1) {
      return std::string("its echo server runs one event loop: threads=1 only");
    }
    return std::nullopt;
  }
  return fmt::format("no peer runs the {} workload", workload);
}

absl::StatusOr<PeerRun> run_peer(const PeerSpec& peer, const workloads::Workload& workload,
                                 std::string_view shape, const Params& params,
                                 std::size_t threads, Flavor flavor) {
  if (workload.name() == "echo") return run_echo(peer, shape, params, threads, flavor);
  return run_spawn_storm(peer, workload, shape, params, threads, flavor);
}

}  // namespace weft::bench
