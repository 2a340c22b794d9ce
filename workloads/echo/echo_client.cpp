#include "echo/echo_client.hpp"

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "fmt/format.h"

#ifndef WEFT_LOADGEN_PATH
#define WEFT_LOADGEN_PATH "weft-loadgen"
#endif

namespace weft::workloads {
namespace {

std::string seconds_arg(std::int64_t ms) { return fmt::format("{:.3f}", ms / 1000.0); }

std::vector<std::string> loadgen_argv(std::uint16_t port, std::string_view shape,
                                      const Params& params, const std::string& source) {
  std::vector<std::string> argv = {
      tool_path("WEFT_LOADGEN", WEFT_LOADGEN_PATH),
      "--port=" + std::to_string(port),
      "--connections=" + std::to_string(param_int(params, "connections")),
      "--msg_size=" + std::to_string(param_int(params, "msg_size")),
      "--mode=" + std::string(shape),
      "--duration=" + seconds_arg(param_int(params, "duration_ms")),
      "--warmup=" + seconds_arg(param_int(params, "warmup_ms")),
      "--threads=" + std::to_string(param_int(params, "client_threads")),
      "--markers",
  };
  if (shape == "open") argv.push_back("--rate=" + std::to_string(param_int(params, "rate")));
  if (!source.empty()) argv.push_back("--source=" + source);
  return argv;
}

}  // namespace

absl::StatusOr<RunResult> drive_echo_client(std::uint16_t port, std::string_view shape,
                                            const Params& params,
                                            const std::function<CpuTimes()>& server_cpu,
                                            const std::string& source) {
  const std::vector<std::string> argv = loadgen_argv(port, shape, params, source);
  absl::StatusOr<Subprocess> client = Subprocess::start(argv);
  if (!client.ok()) return client.status();
  std::optional<CpuTimes> cpu_start;
  std::optional<CpuTimes> cpu_end;
  std::string report;
  bool overran = false;
  {
    // The load generator's whole run: connecting (its own timeout is 10 s), warm-up, window, the
    // 2 s it waits for stragglers; a margin on top. A hung client must not hang the sweep.
    const auto limit = std::chrono::milliseconds(param_int(params, "warmup_ms") +
                                                 param_int(params, "duration_ms") + 30'000);
    KillAfter watchdog(client->pid(), limit, "weft-loadgen");
    while (std::optional<std::string> line = client->read_line()) {
      if (*line == "measure_start") cpu_start = server_cpu();
      if (*line == "measure_end") cpu_end = server_cpu();
      if (!line->empty() && line->front() == '{') report = *line;
    }
    overran = watchdog.fired();
  }
  const int status = client->wait();
  if (overran) {
    return absl::DeadlineExceededError(
        fmt::format("echo: weft-loadgen overran its window by more than 30 s and was killed"));
  }
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

}  // namespace weft::workloads
