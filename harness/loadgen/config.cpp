// Valid ranges of weft-loadgen's settings and the check against them (see config.hpp).
#include "config.hpp"

#include <cmath>

#include "fmt/format.h"

namespace weft::loadgen {

std::string_view mode_name(Mode mode) { return mode == Mode::kOpen ? "open" : "closed"; }

std::string_view valid_range(std::string_view flag) {
  if (flag == "host") return "an IPv4/IPv6 address or host name";
  if (flag == "port") return "1..65535 (required)";
  if (flag == "connections") return "1..19000";
  if (flag == "msg_size") return "1..1048576 bytes";
  if (flag == "mode") return "closed, open";
  if (flag == "rate") return "> 0 and <= 1e8 msgs/s (required in open mode)";
  if (flag == "duration") return "> 0 and <= 86400 seconds";
  if (flag == "warmup") return ">= 0 and <= 86400 seconds";
  if (flag == "threads") return "1..64 and at most --connections";
  if (flag == "connect_timeout") return "> 0 and <= 86400 seconds";
  if (flag == "markers") return "true, false";
  if (flag == "source") return "a numeric IPv4/IPv6 address of the host's family, or empty";
  return "";
}

absl::Status parse_mode(std::string_view text, Mode& mode) {
  if (text == "closed") {
    mode = Mode::kClosed;
  } else if (text == "open") {
    mode = Mode::kOpen;
  } else {
    return absl::InvalidArgumentError(
        fmt::format("bad --mode value '{}'; valid: {}", text, valid_range("mode")));
  }
  return absl::OkStatus();
}

namespace {

template <class T>
absl::Status bad(std::string_view flag, const T& value) {
  return absl::InvalidArgumentError(
      fmt::format("bad --{} value '{}'; valid: {}", flag, value, valid_range(flag)));
}

// NaN fails every comparison, so each check is written as "inside the range".
bool in_seconds_range(double v, bool zero_ok) {
  return std::isfinite(v) && (zero_ok ? v >= 0.0 : v > 0.0) && v <= kMaxSeconds;
}

}  // namespace

absl::Status validate(const LoadConfig& c) {
  if (c.host.empty()) return bad("host", c.host);
  if (c.port < 1 || c.port > 65535) return bad("port", c.port);  // 0, the default: not given
  if (c.connections < 1 || c.connections > kMaxConnections) {
    return bad("connections", c.connections);
  }
  if (c.msg_size < 1 || c.msg_size > kMaxMsgSize) return bad("msg_size", c.msg_size);
  if (c.mode == Mode::kOpen) {  // --rate defaults to 0, so a missing --rate fails here too
    if (!(std::isfinite(c.rate) && c.rate > 0.0 && c.rate <= kMaxRate)) return bad("rate", c.rate);
  }
  if (!in_seconds_range(c.duration_s, false)) return bad("duration", c.duration_s);
  if (!in_seconds_range(c.warmup_s, true)) return bad("warmup", c.warmup_s);
  if (c.threads < 1 || c.threads > kMaxThreads || c.threads > c.connections) {
    return bad("threads", c.threads);
  }
  if (!in_seconds_range(c.connect_timeout_s, false)) {
    return bad("connect_timeout", c.connect_timeout_s);
  }
  return absl::OkStatus();
}

}  // namespace weft::loadgen
