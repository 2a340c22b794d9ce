// What one weft-loadgen run is asked to do (LoadConfig), the valid range of every setting, and
// the check that names a bad value together with its range. main.cpp fills a LoadConfig from the
// command line; tests build one directly.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace weft::loadgen {

// closed: every connection keeps exactly one message in flight (capacity).
// open: Poisson arrivals at an aggregate rate; latency from the intended send time.
enum class Mode { kClosed, kOpen };

std::string_view mode_name(Mode mode);

// The open-file limit is 20000 per process and cannot be raised; a few fds stay for stdio, the
// epoll instances and the connector.
inline constexpr int kMaxConnections = 19000;
inline constexpr std::int64_t kMaxMsgSize = std::int64_t{1} << 20;
inline constexpr int kMaxThreads = 64;
inline constexpr double kMaxRate = 1e8;         // msgs/s
inline constexpr double kMaxSeconds = 86400.0;  // --duration, --warmup, --connect_timeout

struct LoadConfig {
  std::string host = "127.0.0.1";
  // A numeric local address every connection binds to before connecting (empty: the kernel's
  // choice). The echo workload picks a random 127.x.y.z so that its server serves only us.
  std::string source;
  int port = 0;  // required: 0 is rejected
  int connections = 100;
  std::int64_t msg_size = 64;  // signed, so that a negative flag value is reported as given
  Mode mode = Mode::kClosed;
  double rate = 0.0;  // msgs/s over all connections; open mode only
  double duration_s = 5.0;
  double warmup_s = 1.0;
  int threads = 1;
  double connect_timeout_s = 10.0;
  // Print "measure_start" and "measure_end" lines on stdout as the window opens and closes, so
  // that the process driving the server can sample its own counters (CPU time) over the window.
  bool markers = false;
  std::uint64_t seed = 1;  // open-mode arrivals and connection choice: runs are repeatable
};

// The valid values of a flag, as shown in error messages ("1..65535"); empty for an unknown name.
std::string_view valid_range(std::string_view flag);

// Parses "closed" or "open"; InvalidArgument naming the bad value and the valid ones otherwise.
absl::Status parse_mode(std::string_view text, Mode& mode);

// InvalidArgument naming the first bad setting, its value and its valid range.
absl::Status validate(const LoadConfig& config);

}  // namespace weft::loadgen
