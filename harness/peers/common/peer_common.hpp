// What the C++ peers (asio/, libuv/, tbb/) share, header-only and standard library only: the
// strict --key=value flags of the peer contract (harness/peers/README.md), the spawn_storm units
// and checks that Weft's workloads/spawn_storm/spawn_storm.cpp counts, the untimed warm-up plus
// timed run with its one JSON line, and the echo server's two JSON lines.
//
// A peer describes itself in a Peer (build string, the shapes it cannot express and why, its own
// extra flags), parses with parse(), then either runs spawn_storm() with one function that runs
// the shape once and returns the value the shape is checked by, or serves echo itself.
#pragma once

#include <algorithm>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace weft_peer {

inline constexpr std::string_view kShapes[] = {"flat", "tree", "yield_many", "ping_pong",
                                               "chained"};

struct Peer {
  std::string name;                           // "asio": prefixes every message
  std::string build;                          // compiler and runtime, from their macros
  std::map<std::string, std::string> absent;  // shape (or "echo") -> why it is not expressed
  std::map<std::string, std::vector<std::string>> extra;  // own flag -> valid values, default first
  std::int64_t max_threads = 1 << 16;                     // the runtime's own cap, if any
};

struct Options {
  std::string mode;   // spawn_storm | echo
  std::string shape;  // spawn_storm only
  std::int64_t threads = 0;
  std::int64_t tasks = 1000000, leaves = 1000000, fanout = 10, yield_tasks = 1000, yields = 1000,
               pairs = 100000;
  std::string bind = "127.0.0.1";
  std::int64_t port = 0, buffer = 4096;
  std::map<std::string, std::string> extra;  // every Peer::extra flag, given or defaulted
};

// The compiler as its own macros name it: "g++ 12.2.0" or "clang++ 14.0.6".
inline std::string compiler() {
#if defined(__clang__)
  return "clang++ " + std::to_string(__clang_major__) + "." + std::to_string(__clang_minor__) +
         "." + std::to_string(__clang_patchlevel__);
#elif defined(__GNUC__)
  return std::string("g++ ") + __VERSION__;
#else
  return "unknown compiler";
#endif
}

template <class... A>
[[noreturn]] void exit_with(int code, const Peer& peer, const char* fmt, A... args) {
  std::fprintf(stderr, "weft-peer-%s: ", peer.name.c_str());
  if constexpr (sizeof...(A) == 0) {
    std::fputs(fmt, stderr);
  } else {
    std::fprintf(stderr, fmt, args...);
  }
  std::fputc('\n', stderr);
  std::exit(code);
}

inline std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

inline std::string expressed_shapes(const Peer& peer) {
  std::vector<std::string> out;
  for (std::string_view s : kShapes) {
    if (!peer.absent.contains(std::string(s))) out.emplace_back(s);
  }
  return join(out);
}

inline Options parse(int argc, char** argv, const Peer& peer) {
  const std::string usage = "usage: weft-peer-" + peer.name +
                            " spawn_storm|echo --threads=T [--key=value ...] (see "
                            "harness/peers/README.md)";
  if (argc < 2) exit_with(2, peer, "%s", usage.c_str());
  Options o;
  o.mode = argv[1];
  if (o.mode != "spawn_storm" && o.mode != "echo") {
    exit_with(2, peer, "unknown workload '%s' (valid: spawn_storm, echo)", o.mode.c_str());
  }
  if (auto it = peer.absent.find(o.mode); it != peer.absent.end()) {
    exit_with(2, peer, "echo is not expressed: %s", it->second.c_str());
  }
  const bool spawn = o.mode == "spawn_storm";
  std::map<std::string, std::int64_t*> ints = {{"threads", &o.threads}};
  if (spawn) {
    ints.insert({{"tasks", &o.tasks},
                 {"leaves", &o.leaves},
                 {"fanout", &o.fanout},
                 {"yield_tasks", &o.yield_tasks},
                 {"yields", &o.yields},
                 {"pairs", &o.pairs}});
  } else {
    ints.insert({{"port", &o.port}, {"buffer", &o.buffer}});
  }
  std::map<std::string, std::vector<std::string>> words = peer.extra;
  words["flavor"] = {"multi_thread"};  // Tokio's current_thread flavor has no C++ counterpart
  std::map<std::string, bool> seen;
  for (int i = 2; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const std::size_t eq = arg.find('=');
    if (arg.substr(0, 2) != "--" || eq == std::string_view::npos) {
      exit_with(2, peer, "'%s' is not --key=value; %s", argv[i], usage.c_str());
    }
    const std::string key(arg.substr(2, eq - 2));
    const std::string value(arg.substr(eq + 1));
    if (seen[key]) exit_with(2, peer, "--%s given twice", key.c_str());
    seen[key] = true;
    if (spawn && key == "shape") {
      bool valid = false;
      for (std::string_view s : kShapes) valid = valid || s == value;
      if (!valid) {
        exit_with(2, peer, "--shape=%s: unknown shape (valid: %s)", value.c_str(),
                  expressed_shapes(peer).c_str());
      }
      if (auto it = peer.absent.find(value); it != peer.absent.end()) {
        exit_with(2, peer, "--shape=%s is not expressed: %s (valid: %s)", value.c_str(),
                  it->second.c_str(), expressed_shapes(peer).c_str());
      }
      o.shape = value;
    } else if (!spawn && key == "bind") {
      if (value.empty()) exit_with(2, peer, "--bind= is empty (an IPv4 or IPv6 address)");
      o.bind = value;
    } else if (auto it = ints.find(key); it != ints.end()) {
      std::int64_t v = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
      const bool is_port = key == "port";
      if (ec != std::errc() || end != value.data() + value.size() || v < (is_port ? 0 : 1) ||
          (is_port && v > 65535)) {
        exit_with(2, peer, "--%s=%s: not %s", key.c_str(), value.c_str(),
                  is_port ? "a port (0..65535)" : "a positive integer");
      }
      *it->second = v;
    } else if (auto w = words.find(key); w != words.end()) {
      bool valid = false;
      for (const std::string& s : w->second) valid = valid || s == value;
      if (!valid) {
        exit_with(2, peer, "--%s=%s: not expressed by %s (valid: %s)", key.c_str(), value.c_str(),
                  peer.name.c_str(), join(w->second).c_str());
      }
      o.extra[key] = value;
    } else {
      std::vector<std::string> valid = {spawn ? "shape" : "bind"};
      for (const auto& [k, v] : ints) valid.push_back(k);
      for (const auto& [k, v] : words) valid.push_back(k);
      exit_with(2, peer, "unknown flag --%s for %s (valid: %s)", key.c_str(), o.mode.c_str(),
                join(valid).c_str());
    }
  }
  for (const auto& [k, v] : peer.extra) o.extra.try_emplace(k, v.front());
  if (spawn && o.shape.empty()) {
    exit_with(2, peer, "spawn_storm needs --shape= (valid: %s)", expressed_shapes(peer).c_str());
  }
  if (o.threads == 0) exit_with(2, peer, "--threads=T is required");
  if (o.threads > peer.max_threads) {
    exit_with(2, peer, "--threads=%lld: %s takes at most %lld", static_cast<long long>(o.threads),
              peer.name.c_str(), static_cast<long long>(peer.max_threads));
  }
  if (spawn && o.shape == "tree") {
    std::int64_t level = 1;
    while (o.fanout >= 2 && level < o.leaves && level <= o.leaves / o.fanout) level *= o.fanout;
    if (o.fanout < 2 || level != o.leaves) {
      exit_with(2, peer, "tree: --leaves=%lld is not a power of --fanout=%lld (fanout >= 2)",
                static_cast<long long>(o.leaves), static_cast<long long>(o.fanout));
    }
  }
  std::int64_t unused = 0;
  if (spawn && (__builtin_mul_overflow(o.leaves, o.leaves - 1, &unused) ||
                __builtin_mul_overflow(o.yield_tasks, o.yields + 1, &unused))) {
    exit_with(2, peer, "--leaves or --yield_tasks x --yields too large for 64-bit counts");
  }
  return o;
}

// Units as Weft's spawn_storm counts them (tasks, or task resumptions for yield_many).
inline std::int64_t units(const Options& o) {
  if (o.shape == "tree") {
    std::int64_t nodes = 0;
    for (std::int64_t level = o.leaves; level >= 1; level /= o.fanout) nodes += level;
    return nodes;
  }
  if (o.shape == "yield_many") return o.yield_tasks * (o.yields + 1);
  if (o.shape == "ping_pong") return 2 * o.pairs;
  return o.tasks;  // flat, chained
}

// The value a run of the shape must return, and what it counts.
inline std::pair<std::int64_t, const char*> expected(const Options& o) {
  if (o.shape == "flat") return {o.tasks, "tasks counted down"};
  if (o.shape == "tree") return {o.leaves * (o.leaves - 1) / 2, "sum"};
  if (o.shape == "yield_many") return {o.yield_tasks, "tasks finished after their yields"};
  if (o.shape == "ping_pong") return {o.pairs, "pings that got 2"};
  return {o.tasks, "chain depth reached"};
}

inline std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += (static_cast<unsigned char>(c) < 0x20) ? ' ' : c;
  }
  return out + "\"";
}

// The warm-up run's sizes (README.md): a tenth of every count, at least 1, and a tree one level
// shallower. It starts the runtime's threads and warms its allocator; the timed run is full size.
inline Options warm_up_sizes(Options o) {
  for (std::int64_t* n : {&o.tasks, &o.yield_tasks, &o.pairs}) *n = std::max<std::int64_t>(1, *n / 10);
  o.leaves = std::max<std::int64_t>(1, o.leaves / o.fanout);
  return o;
}

// One untimed warm-up run, one timed run (from just before `once(sizes)` spawns to its return,
// when it has observed completion), both checked; then the one JSON line. Returns the exit status.
template <class Once>
int spawn_storm(const Peer& peer, const Options& o, Once&& once) {
  const Options warm = warm_up_sizes(o);
  double seconds = 0;
  for (const Options* r : {&warm, &o}) {
    const char* run = r == &o ? "timed" : "warm-up";
    const auto [want, what] = expected(*r);
    const auto start = std::chrono::steady_clock::now();
    const std::int64_t got = once(*r);
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (got != want) {
      exit_with(1, peer, "%s (%s run): %s %lld, expected %lld", o.shape.c_str(), run, what,
                static_cast<long long>(got), static_cast<long long>(want));
    }
  }
  std::printf("{\"units\": %lld, \"unit\": \"task\", \"seconds\": %.9f, \"build\": %s}\n",
              static_cast<long long>(units(o)), seconds, json_string(peer.build).c_str());
  std::fflush(stdout);
  return 0;
}

// The echo server's lines: the port once listening, the counters after SIGTERM/SIGINT. Writes
// to a closed peer must fail with EPIPE, not kill the server.
inline void echo_listening(const Peer& peer, int port) {
  std::signal(SIGPIPE, SIG_IGN);
  std::printf("{\"port\": %d, \"build\": %s}\n", port, json_string(peer.build).c_str());
  std::fflush(stdout);
}

inline int echo_stopped(std::int64_t connections, std::int64_t errors) {
  std::printf("{\"connections\": %lld, \"errors\": %lld}\n", static_cast<long long>(connections),
              static_cast<long long>(errors));
  std::fflush(stdout);
  return 0;
}

}  // namespace weft_peer
