// json_line (see report.hpp).
#include "report.hpp"

#include <cmath>

#include "fmt/format.h"

namespace weft::loadgen {
namespace {

// A JSON number for a double: "5.0" rather than "5" for whole values, shortest round trip else.
std::string number(double v) {
  if (!std::isfinite(v)) return "0";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{:.1f}", v);
  return fmt::format("{}", v);
}

double us(std::int64_t ns) { return static_cast<double>(ns) / 1000.0; }

}  // namespace

std::string json_line(const LoadConfig& config, const RunStats& stats) {
  const LatencyHistogram& h = stats.latency;
  const double offered = config.mode == Mode::kOpen ? config.rate : 0.0;
  return fmt::format(
      "{{\"mode\":\"{}\",\"connections\":{},\"msg_size\":{},\"duration_s\":{},\"msgs\":{},"
      "\"msgs_per_s\":{:.1f},\"latency_p50_us\":{:.3f},\"latency_p99_us\":{:.3f},"
      "\"latency_p999_us\":{:.3f},\"latency_max_us\":{:.3f},\"errors\":{},\"offered_rate\":{},"
      "\"unfinished\":{}}}",
      mode_name(config.mode), config.connections, config.msg_size, number(config.duration_s),
      stats.msgs, static_cast<double>(stats.msgs) / config.duration_s,
      us(h.value_at_percentile(50.0)), us(h.value_at_percentile(99.0)),
      us(h.value_at_percentile(99.9)), us(h.max()), stats.errors.total(),
      offered == 0.0 ? std::string("0") : fmt::format("{}", offered), stats.unfinished);
}

}  // namespace weft::loadgen
