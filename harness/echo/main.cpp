// weft-echo: Weft's echo server as a process of its own, so that any client (weft-loadgen, wrk,
// a user's own) can drive it; the same shape of process as the peers' echo servers
// (harness/peers/README.md) and the same server code as weft-bench's echo workload
// (workloads/echo/echo_server.hpp).
//
//   weft-echo --port=7000 --variant=ring --threads=2
//   weft-echo --variant=chase_lev --flavor=current_thread --bind=::1
//   weft-echo --variant=ring --threads=1 --io=uring
//
// stdout: one JSON line once it listens, {"port": P, "build": "..."}; on SIGINT or SIGTERM it
// stops accepting, lets open connections end for --drain_ms, shuts the runtime down (destroying
// the connections still open) and prints one more JSON line: connections, errors, the shutdown
// report, the scheduler counters, and fds_leaked (descriptors open at exit that were not open at
// start; 0 unless something leaked). Exit: 0 served and shut down cleanly; 1 could not serve
// (bind failed, a descriptor leaked); 2 bad flags, with a message naming the bad value.
#include <dirent.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "common/event.hpp"
#include "echo/echo_server.hpp"
#include "fd_limit.hpp"
#include "flag_check.hpp"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "machine_info.hpp"
#include "weft/runtime.hpp"
#include "weft/weft.hpp"

ABSL_FLAG(int, port, 0, "TCP port, 0..65535 (0: an ephemeral port, printed on stdout)");
ABSL_FLAG(std::string, bind, "127.0.0.1", "address to listen on (an IPv4 or IPv6 literal)");
ABSL_FLAG(std::string, variant, "ring", "scheduler variant (weft-bench --list names them)");
ABSL_FLAG(int, threads, 0, "worker threads, 1..4096 (0: one per core)");
ABSL_FLAG(std::string, flavor, "multi_thread", "multi_thread or current_thread");
ABSL_FLAG(std::string, io, "epoll", "I/O backend: epoll or uring");
ABSL_FLAG(int, buffer, 4096, "bytes read at a time per connection, 512..65536");
ABSL_FLAG(int, drain_ms, 1000, "after a signal, how long open connections may take to end");

namespace weft::echo_server {
namespace {

constexpr const char* kFlagNames[] = {"port",   "bind",   "variant",  "threads",
                                      "flavor", "io",     "buffer",   "drain_ms"};

[[noreturn]] void usage_error(const std::string& message) {
  fmt::print(stderr, "weft-echo: {}\n", message);
  std::exit(2);
}

void check_flags(int argc, char** argv) {
  using Kind = harness::FlagProblem::Kind;
  const std::optional<harness::FlagProblem> p =
      harness::first_bad_flag(argc, argv, "harness/echo", false);
  if (!p) return;
  switch (p->kind) {
    case Kind::kHelp:
      fmt::print("weft-echo: Weft's TCP echo server; serves until SIGINT or SIGTERM.\n\n");
      for (const char* name : kFlagNames) {
        const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
        fmt::print("  --{} (default {})\n      {}\n", name, flag->DefaultValue(), flag->Help());
      }
      fmt::print("\nExit: 0 clean shutdown, 1 could not serve, 2 bad flags.\n");
      std::exit(0);
    case Kind::kMissingValue:
      usage_error(fmt::format("--{} needs a value", p->name));
    case Kind::kBadValue:
      usage_error(fmt::format("bad --{} value '{}': {}", p->name, p->value, p->error));
    case Kind::kUnknown:
    case Kind::kPositional:
      usage_error(fmt::format("unknown argument '{}'; valid: --{} --help", p->arg,
                              fmt::join(kFlagNames, " --")));
  }
}

int open_fds() {
  int n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (const dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
    ::closedir(d);
    --n;  // the directory stream itself
  }
  return n;
}

Task<absl::StatusOr<net::TcpListener>> listen_on(net::SocketAddress addr) {
  co_return net::TcpListener::bind(addr, 4096);
}

int run(int argc, char** argv) {
  absl::SetProgramUsageMessage("Weft's TCP echo server: weft-echo [--port=N] [flags]");
  harness::raise_open_file_limit();
  check_flags(argc, argv);
  absl::ParseCommandLine(argc, argv);

  const int port = absl::GetFlag(FLAGS_port);
  if (port < 0 || port > 65535) usage_error(fmt::format("bad --port value '{}'; valid: 0..65535", port));
  const std::string bind = absl::GetFlag(FLAGS_bind);
  const bool bare_ipv6 = bind.find(':') != std::string::npos && bind.front() != '[';
  const absl::StatusOr<net::SocketAddress> addr = net::SocketAddress::parse(
      (bare_ipv6 ? "[" + bind + "]" : bind) + ":" + std::to_string(port));
  if (!addr.ok()) {
    usage_error(fmt::format("bad --bind value '{}'; valid: an IPv4 or IPv6 literal",
                            absl::GetFlag(FLAGS_bind)));
  }
  const int buffer = absl::GetFlag(FLAGS_buffer);
  if (buffer < 512 || buffer > 65536) {
    usage_error(fmt::format("bad --buffer value '{}'; valid: 512..65536", buffer));
  }
  const int drain_ms = absl::GetFlag(FLAGS_drain_ms);
  if (drain_ms < 0 || drain_ms > 3'600'000) {
    usage_error(fmt::format("bad --drain_ms value '{}'; valid: 0..3600000", drain_ms));
  }
  RuntimeOptions options;
  options.variant = absl::GetFlag(FLAGS_variant);
  const std::string flavor = absl::GetFlag(FLAGS_flavor);
  if (flavor == "current_thread") {
    options.flavor = Flavor::kCurrentThread;
  } else if (flavor != "multi_thread") {
    usage_error(fmt::format("bad --flavor value '{}'; valid: multi_thread, current_thread", flavor));
  }
  const std::string io = absl::GetFlag(FLAGS_io);
  if (std::optional<IoBackend> b = parse_io_backend(io)) {
    options.io = *b;
  } else {
    std::vector<std::string> names;
    for (IoBackend b : io_backends()) names.emplace_back(io_backend_name(b));
    usage_error(fmt::format("bad --io value '{}'; valid: {}", io, fmt::join(names, ", ")));
  }
  const int threads = absl::GetFlag(FLAGS_threads);
  if (threads < 0 || threads > 4096) {
    usage_error(fmt::format("bad --threads value '{}'; valid: 1..4096, or 0 for one per core", threads));
  }
  options.workers = threads > 0 ? static_cast<std::size_t>(threads)
                                 : std::max(1u, std::thread::hardware_concurrency());

  // The signals are taken by sigwait below; every thread the runtime starts inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  const int fds_at_start = open_fds();

  workloads::EchoCounters counters;
  ShutdownReport report;
  RuntimeStats stats;
  {
    auto rt = Runtime::create(options);
    if (!rt.ok()) usage_error(std::string(rt.status().message()));
    absl::StatusOr<net::TcpListener> listener = (*rt)->block_on(listen_on(*addr));
    if (!listener.ok()) {
      fmt::print(stderr, "weft-echo: {}\n", listener.status().ToString());
      return 1;
    }
    absl::StatusOr<net::SocketAddress> local = listener->local_addr();
    const bench::MachineInfo machine = bench::read_machine_info();
    JoinHandle<void> acceptor = (*rt)->spawn(workloads::echo_accept_loop(
        std::move(*listener), static_cast<std::size_t>(buffer), &counters));
    fmt::print("{{\"port\": {}, \"build\": \"weft {} {} {}, {} {}\"}}\n",
               local.ok() ? local->port() : 0, options.variant, flavor, io, machine.compiler,
               machine.build);
    std::fflush(stdout);

    // A current_thread runtime runs only inside block_on, so the main thread waits there for
    // the signal, which a thread of its own takes.
    workloads::OneShotEvent stop;
    int signal = 0;
    std::thread signal_taker([&] {
      sigwait(&stop_signals, &signal);
      stop.set();
    });
    (*rt)->block_on(workloads::wait_for(&stop));
    signal_taker.join();
    fmt::print(stderr, "weft-echo: signal {}: stopping\n", signal);
    (*rt)->block_on(workloads::echo_stop(std::move(acceptor), &counters,
                                         std::chrono::milliseconds(drain_ms)));
    stats = (*rt)->stats();
    report = (*rt)->shutdown();
  }
  const int fds_leaked = open_fds() - fds_at_start;
  std::string line = fmt::format(
      "{{\"connections\": {}, \"errors\": {}, \"open_at_shutdown\": {}, \"shutdown_completed\": {}, "
      "\"shutdown_cancelled\": {}, \"fds_leaked\": {}",
      counters.accepted.load(), counters.errors.load(), counters.live.load(), report.completed,
      report.cancelled, fds_leaked);
  const auto add = [&](std::string_view name, std::uint64_t v) {
    line += fmt::format(", \"{}\": {}", name, v);
  };
  stats.total().for_each(add);
  stats.io.for_each(add);
  fmt::print("{}}}\n", line);
  std::fflush(stdout);
  if (fds_leaked != 0) {
    fmt::print(stderr, "weft-echo: {} descriptor(s) left open at exit\n", fds_leaked);
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace weft::echo_server

int main(int argc, char** argv) { return weft::echo_server::run(argc, argv); }
