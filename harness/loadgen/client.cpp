// run_load: connect everything, run one ClientThread per share, merge (see client.hpp).
#include "client.hpp"

#include <optional>
#include <cstdint>
#include <thread>
#include <vector>

#include "client_thread.hpp"
#include "connector.hpp"
#include "fmt/format.h"

namespace weft::loadgen {
namespace {

std::int64_t seconds_to_ns(double s) { return static_cast<std::int64_t>(s * 1e9); }

}  // namespace

absl::StatusOr<RunStats> run_load(const LoadConfig& config) {
  if (absl::Status s = validate(config); !s.ok()) return s;
  absl::StatusOr<Endpoint> endpoint = resolve(config.host, config.port);
  if (!endpoint.ok()) return endpoint.status();

  fmt::print(stderr, "weft-loadgen: connecting {} connections to {}\n", config.connections,
             endpoint->text);
  const std::int64_t connect_start = now_ns();
  std::optional<Endpoint> source;
  if (!config.source.empty()) {
    absl::StatusOr<Endpoint> s = resolve_source(config.source);
    if (!s.ok()) return s.status();
    source = *std::move(s);
  }
  absl::StatusOr<std::vector<int>> fds = connect_all(
      *endpoint, config.connections, config.connect_timeout_s, source ? &*source : nullptr);
  if (!fds.ok()) return fds.status();
  fmt::print(stderr,
             "weft-loadgen: connected in {:.0f} ms; {} mode, {} thread(s), warmup {}s, "
             "measuring {}s\n",
             (now_ns() - connect_start) / 1e6, mode_name(config.mode), config.threads,
             config.warmup_s, config.duration_s);

  Schedule schedule;
  schedule.start_ns = now_ns();
  schedule.measure_from_ns = schedule.start_ns + seconds_to_ns(config.warmup_s);
  schedule.measure_to_ns = schedule.measure_from_ns + seconds_to_ns(config.duration_s);

  // Share t holds connections [t*n/T, (t+1)*n/T); its rate is proportional to its size, so every
  // connection sees the same offered rate and the sum over the threads is --rate.
  const auto n = static_cast<std::size_t>(config.connections);
  const auto threads = static_cast<std::size_t>(config.threads);
  std::vector<RunStats> results(threads);
  auto run_share = [&](std::size_t t) {
    const std::size_t begin = t * n / threads;
    const std::size_t end = (t + 1) * n / threads;
    std::vector<int> share(fds->begin() + static_cast<std::ptrdiff_t>(begin),
                           fds->begin() + static_cast<std::ptrdiff_t>(end));
    const double rate = config.rate * static_cast<double>(end - begin) / static_cast<double>(n);
    ClientThread client(config, schedule, std::move(share), static_cast<std::uint32_t>(begin), rate,
                        config.seed * 0x9E3779B97F4A7C15ull + t, config.markers && t == 0);
    results[t] = client.run();  // results[t] is this thread's alone until join()
  };
  std::vector<std::thread> workers;
  workers.reserve(threads - 1);
  for (std::size_t t = 1; t < threads; ++t) workers.emplace_back(run_share, t);
  run_share(0);
  for (std::thread& w : workers) w.join();

  RunStats total = std::move(results[0]);
  for (std::size_t t = 1; t < threads; ++t) total.merge(results[t]);
  const ErrorCounts& e = total.errors;
  if (e.total() > 0 || total.unsent > 0) {
    fmt::print(stderr,
               "weft-loadgen: errors {} (server closed {}, reset {}, mismatch {}, unexpected "
               "bytes {}, timeout {}); connections lost {} of {}; open-mode arrivals never "
               "sent {}\n",
               e.total(), e.closed, e.reset, e.mismatch, e.unexpected, e.timeout, total.lost,
               total.connections, total.unsent);
  }
  if (config.mode == Mode::kOpen && total.unfinished > 0) {
    fmt::print(stderr,
               "weft-loadgen: the offered rate was above what came back: {} arrivals of the "
               "window were still unanswered {} s after it closed; they are in the percentiles "
               "with their latency so far (a lower bound) and counted as unfinished\n",
               total.unfinished, kDrainGraceNs / 1'000'000'000);
  }
  return total;
}

}  // namespace weft::loadgen
