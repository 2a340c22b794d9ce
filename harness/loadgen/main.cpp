// weft-loadgen: the TCP echo load generator, a process of its own (the open-file limit is per
// process) built on plain epoll, so that it is the same client whatever server variant it drives.
//
//   weft-loadgen --port=7000 --connections=10000 --mode=closed --duration=5 --threads=2
//   weft-loadgen --port=7000 --connections=1000 --mode=open --rate=50000 --msg_size=64
//
// stdout: exactly one JSON line at the end (report.hpp), preceded by "measure_start" and
// "measure_end" lines only with --markers; progress and diagnostics go to stderr.
// Exit status: 0 success; 1 the run failed (could not connect, or the server closed or reset
// every connection: the JSON line is still printed); 2 bad flags, with a message naming the bad
// value and the valid range, before anything connects.
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "client.hpp"
#include "config.hpp"
#include "fd_limit.hpp"
#include "flag_check.hpp"
#include "fmt/format.h"
#include "report.hpp"

ABSL_FLAG(std::string, host, "127.0.0.1", "server address or host name");
ABSL_FLAG(std::string, source, "",
          "numeric local address every connection binds to first (empty: the kernel's choice; "
          "the echo workload passes a random 127.x.y.z and its server serves only that)");
ABSL_FLAG(int, port, 0, "server port, 1..65535 (required)");
ABSL_FLAG(int, connections, 100, "TCP connections, 1..19000");
ABSL_FLAG(std::int64_t, msg_size, 64, "bytes per message, 1..1048576");
ABSL_FLAG(std::string, mode, "closed",
          "closed (one message in flight per connection: capacity) or open (Poisson arrivals at "
          "--rate; latency from the intended send time)");
ABSL_FLAG(double, rate, 0.0, "open mode: offered msgs/s over all connections (required, > 0)");
ABSL_FLAG(double, duration, 5.0, "seconds of measurement");
ABSL_FLAG(double, warmup, 1.0, "seconds of load before measuring");
ABSL_FLAG(int, threads, 1, "client threads, each with its own epoll and share of connections");
ABSL_FLAG(double, connect_timeout, 10.0, "seconds to open every connection");
ABSL_FLAG(bool, markers, false,
          "also print 'measure_start' and 'measure_end' lines on stdout as the measurement "
          "window opens and closes (for a driver that samples the server over the window)");

namespace weft::loadgen {
namespace {

constexpr const char* kFlagNames[] = {
    "host",     "port",   "connections", "msg_size",        "mode",   "rate",
    "duration", "warmup", "threads",     "connect_timeout", "markers", "source"};

[[noreturn]] void usage_error(const std::string& message) {
  fmt::print(stderr, "weft-loadgen: {}\n", message);
  std::exit(2);
}

void print_help() {
  fmt::print("weft-loadgen: TCP echo load generator; prints one JSON line of results.\n\n");
  for (const char* name : kFlagNames) {
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    fmt::print("  --{} (default {})\n      {}\n", name, flag->DefaultValue(), flag->Help());
  }
  fmt::print("\nExit: 0 ok, 1 run failed (connect, server gone), 2 bad flags.\n");
}

// Abseil exits 1 on an unknown flag or a value of the wrong type, and this Abseil also exits 1
// after --help. Here bad input exits 2 and --help 0, so every flag is checked first
// (harness/common/flag_check.hpp); positionals are rejected after parsing.
void check_flags(int argc, char** argv) {
  using Kind = harness::FlagProblem::Kind;
  const std::optional<harness::FlagProblem> p =
      harness::first_bad_flag(argc, argv, "loadgen", true);
  if (!p) return;
  switch (p->kind) {
    case Kind::kHelp:
      print_help();
      std::exit(0);
    case Kind::kMissingValue:
      usage_error(
          fmt::format("--{} needs a value; valid: {}", p->name, loadgen::valid_range(p->name)));
    case Kind::kBadValue:
      usage_error(fmt::format("bad --{} value '{}'; valid: {}", p->name, p->value,
                              loadgen::valid_range(p->name)));
    case Kind::kUnknown:
    case Kind::kPositional:
      usage_error(
          fmt::format("unknown flag '{}'; valid: --host --port --connections "
                      "--msg_size --mode --rate --duration --warmup --threads "
                      "--connect_timeout --markers --source --help",
                      p->arg));
  }
}

int run(int argc, char** argv) {
  absl::SetProgramUsageMessage("TCP echo load generator: weft-loadgen --port=N [flags]");
  check_flags(argc, argv);
  const std::vector<char*> rest = absl::ParseCommandLine(argc, argv);
  if (rest.size() > 1) usage_error(fmt::format("unexpected argument '{}'", rest[1]));

  LoadConfig config;
  config.host = absl::GetFlag(FLAGS_host);
  config.source = absl::GetFlag(FLAGS_source);
  config.port = absl::GetFlag(FLAGS_port);
  config.connections = absl::GetFlag(FLAGS_connections);
  config.msg_size = absl::GetFlag(FLAGS_msg_size);
  if (absl::Status s = parse_mode(absl::GetFlag(FLAGS_mode), config.mode); !s.ok()) {
    usage_error(std::string(s.message()));
  }
  config.rate = absl::GetFlag(FLAGS_rate);
  if (config.mode == Mode::kClosed && config.rate != 0.0) {
    fmt::print(stderr, "weft-loadgen: --rate is ignored in closed mode\n");
    config.rate = 0.0;
  }
  config.duration_s = absl::GetFlag(FLAGS_duration);
  config.warmup_s = absl::GetFlag(FLAGS_warmup);
  config.threads = absl::GetFlag(FLAGS_threads);
  config.connect_timeout_s = absl::GetFlag(FLAGS_connect_timeout);
  config.markers = absl::GetFlag(FLAGS_markers);
  if (absl::Status s = validate(config); !s.ok()) usage_error(std::string(s.message()));
  harness::raise_open_file_limit();
  const std::string why = harness::open_file_shortfall(
      static_cast<std::uint64_t>(config.connections) + 64,
      fmt::format("--connections={}", config.connections));
  if (!why.empty()) usage_error(why);

  absl::StatusOr<RunStats> stats = run_load(config);
  if (!stats.ok()) {
    fmt::print(stderr, "weft-loadgen: {}\n", std::string(stats.status().message()));
    return absl::IsInvalidArgument(stats.status()) ? 2 : 1;  // an unresolvable --host is input
  }
  std::fputs((json_line(config, *stats) + "\n").c_str(), stdout);
  if (server_vanished(*stats)) {
    fmt::print(stderr, "weft-loadgen: the server closed or reset all {} connections\n",
               stats->connections);
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace weft::loadgen

int main(int argc, char** argv) { return weft::loadgen::run(argc, argv); }
