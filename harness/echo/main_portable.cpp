// weft-echo where the harness's Linux parts are missing (Windows, macOS, the BSDs): the same echo
// server (workloads/echo/echo_server.hpp) on the platform's backend, for the Linux load
// generator to drive over loopback (make test-windows runs it under Wine against weft-loadgen:
// correctness, not speed). main.cpp is the Linux one; this one needs neither Abseil nor fmt,
// nor signals: Windows has no SIGTERM to send a process, so it serves until its standard input
// closes (or reads "stop").
//
//   weft-echo --port=0 --variant=ring --threads=2 < pipe
//
// stdout: {"port": P, "build": "..."} once it listens; when stdin closes it stops accepting,
// lets open connections end for --drain_ms, shuts the runtime down and prints {"connections":
// N, "errors": E, "intruders": I, "open_at_shutdown": L, "shutdown_completed": C,
// "shutdown_cancelled": X}. Exit: 0 served and shut down; 1 could not serve; 2 bad flags.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>

#include "common/event.hpp"
#include "echo/echo_server.hpp"
#include "weft/runtime.hpp"
#include "weft/weft.hpp"

namespace weft::echo_server {
namespace {

[[noreturn]] void usage_error(const std::string& message) {
  std::fprintf(stderr, "weft-echo: %s (weft-echo --help lists the flags)\n", message.c_str());
  std::exit(2);
}

struct Flags {
  long port = 0;
  std::string bind = "127.0.0.1";
  std::string variant = "ring";
  long threads = 0;
  std::string flavor = "multi_thread";
  long buffer = 4096;
  long drain_ms = 1000;
};

constexpr const char* kHelp =
    "weft-echo: Weft's TCP echo server; serves until standard input closes or reads 'stop'.\n\n"
    "  --port=N       TCP port, 0..65535 (0: an ephemeral port, printed on stdout)\n"
    "  --bind=ADDR    address to listen on, an IPv4 or IPv6 literal (default 127.0.0.1)\n"
    "  --variant=V    scheduler variant (default ring)\n"
    "  --threads=N    worker threads, 1..4096 (default 0: one per core)\n"
    "  --flavor=F     multi_thread (default) or current_thread\n"
    "  --buffer=N     bytes read at a time per connection, 512..65536 (default 4096)\n"
    "  --drain_ms=N   after stdin closes, how long open connections may take to end, 0..3600000\n"
    "                 (default 1000)\n\n"
    "Exit: 0 clean shutdown, 1 could not serve, 2 bad flags.\n";

long parse_number(std::string_view name, const std::string& value, long lo, long hi) {
  char* end = nullptr;
  const long v = std::strtol(value.c_str(), &end, 10);
  if (value.empty() || *end != '\0' || v < lo || v > hi) {
    usage_error("bad --" + std::string(name) + " value '" + value + "'; valid: " +
                std::to_string(lo) + ".." + std::to_string(hi));
  }
  return v;
}

Flags parse_flags(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kHelp, stdout);
      std::exit(0);
    }
    const std::size_t eq = arg.find('=');
    if (arg.substr(0, 2) != "--" || eq == std::string_view::npos) {
      usage_error("unknown argument '" + std::string(arg) + "'; flags are --name=value");
    }
    const std::string_view name = arg.substr(2, eq - 2);
    const std::string value(arg.substr(eq + 1));
    if (name == "port") {
      f.port = parse_number(name, value, 0, 65535);
    } else if (name == "bind") {
      f.bind = value;
    } else if (name == "variant") {
      f.variant = value;
    } else if (name == "threads") {
      f.threads = parse_number(name, value, 0, 4096);
    } else if (name == "flavor") {
      if (value != "multi_thread" && value != "current_thread") {
        usage_error("bad --flavor value '" + value + "'; valid: multi_thread, current_thread");
      }
      f.flavor = value;
    } else if (name == "buffer") {
      f.buffer = parse_number(name, value, 512, 65536);
    } else if (name == "drain_ms") {
      f.drain_ms = parse_number(name, value, 0, 3'600'000);
    } else {
      usage_error("unknown flag '--" + std::string(name) + "'");
    }
  }
  return f;
}

Task<StatusOr<net::TcpListener>> listen_on(net::SocketAddress addr) {
  co_return net::TcpListener::bind(addr, 4096);
}

// Returns when stdin reaches end of file or a line "stop".
void wait_for_stdin_to_close() {
  char line[256];
  while (std::fgets(line, sizeof(line), stdin) != nullptr) {
    if (std::string_view(line).substr(0, 4) == "stop") return;
  }
}

int run(int argc, char** argv) {
  const Flags flags = parse_flags(argc, argv);
  const bool bare_ipv6 = flags.bind.find(':') != std::string::npos && flags.bind.front() != '[';
  const StatusOr<net::SocketAddress> addr = net::SocketAddress::parse(
      (bare_ipv6 ? "[" + flags.bind + "]" : flags.bind) + ":" + std::to_string(flags.port));
  if (!addr.ok()) {
    usage_error("bad --bind value '" + flags.bind + "'; valid: an IPv4 or IPv6 literal");
  }
  RuntimeOptions options;
  options.variant = flags.variant;
  if (flags.flavor == "current_thread") options.flavor = Flavor::kCurrentThread;
  options.workers = flags.threads > 0 ? static_cast<std::size_t>(flags.threads)
                                      : std::max(1u, std::thread::hardware_concurrency());

  workloads::EchoCounters counters;
  ShutdownReport report;
  {
    auto rt = Runtime::create(options);
    if (!rt.ok()) usage_error(std::string(rt.status().message()));
    StatusOr<net::TcpListener> listener = (*rt)->block_on(listen_on(*addr));
    if (!listener.ok()) {
      std::fprintf(stderr, "weft-echo: %s\n", std::string(listener.status().message()).c_str());
      return 1;
    }
    const StatusOr<net::SocketAddress> local = listener->local_addr();
    JoinHandle<void> acceptor = (*rt)->spawn(workloads::echo_accept_loop(
        std::move(*listener), static_cast<std::size_t>(flags.buffer), &counters));
    std::printf("{\"port\": %d, \"build\": \"weft %s %s %s\"}\n",
                local.ok() ? static_cast<int>(local->port()) : 0, flags.variant.c_str(),
                flags.flavor.c_str(), std::string(io_backend_name(options.io)).c_str());
    std::fflush(stdout);

    // A current_thread runtime runs only inside block_on: the main thread waits there, and a
    // thread of its own watches stdin.
    workloads::OneShotEvent stop;
    std::thread stdin_watcher([&] {
      wait_for_stdin_to_close();
      stop.set();
    });
    (*rt)->block_on(workloads::wait_for(&stop));
    stdin_watcher.join();
    std::fprintf(stderr, "weft-echo: stdin closed: stopping\n");
    (*rt)->block_on(workloads::echo_stop(std::move(acceptor), &counters,
                                         std::chrono::milliseconds(flags.drain_ms)));
    report = (*rt)->shutdown();
  }
  std::printf(
      "{\"connections\": %llu, \"errors\": %llu, \"intruders\": %llu, \"open_at_shutdown\": %lld, "
      "\"shutdown_completed\": %llu, \"shutdown_cancelled\": %llu}\n",
      static_cast<unsigned long long>(counters.accepted.load()),
      static_cast<unsigned long long>(counters.errors.load()),
      static_cast<unsigned long long>(counters.intruders.load()),
      static_cast<long long>(counters.live.load()),
      static_cast<unsigned long long>(report.completed),
      static_cast<unsigned long long>(report.cancelled));
  std::fflush(stdout);
  return 0;
}

}  // namespace
}  // namespace weft::echo_server

int main(int argc, char** argv) { return weft::echo_server::run(argc, argv); }
