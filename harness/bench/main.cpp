// weft-bench: runs a workload under every requested variant, thread count and repetition, one
// fresh runtime per measurement, and writes tidy CSV rows (csv_writer.hpp).
//
//   weft-bench --workload=spawn_storm --shape=tree --variant=all --threads=1,2 --reps=5
//              --param leaves=100000 --param fanout=10 --out=results/runs/x.csv
//   weft-bench --workload=echo --shape=closed --variant=everything --threads=1,2 --io=all
//   weft-bench --list
//
// Peers (harness/peers: Tokio, Go, Asio, libuv, oneTBB) are variants by name, run as processes of
// their own, and write the same rows; a peer whose program is missing, or that does not express a
// shape, is skipped with one line on stderr. The I/O backend (--io) is an axis like the stealing
// policy: every Weft row names its backend in params (io=epoll), and a backend other than the
// default marks the variant column too (ring+uring).
//
// Every Weft measurement also gets `cpu_share` and `other_load` rows: the CPU this process got
// and the load of every other process, in cores, over the rep of its shape (machine_load.hpp),
// so that the regression gate can tell whether a scaling figure had the cores it needs.
//
// Bad input (an unknown workload, shape, variant, flag or parameter, --threads=0, an unwritable
// --out) exits 2 with a message naming the bad value and the valid ones, before anything runs.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "csv_writer.hpp"
#include "fd_limit.hpp"
#include "flag_check.hpp"
#include "peers.hpp"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "machine_info.hpp"
#include "machine_load.hpp"
#include "sweep.hpp"
#include "weft/runtime.hpp"
#include "workload.hpp"

ABSL_FLAG(std::string, workload, "spawn_storm", "workload to run (see --list)");
ABSL_FLAG(std::string, shape, "all", "comma list of the workload's shapes, or all");
ABSL_FLAG(std::string, variant, "all",
          "comma list of scheduler variants and peers (tokio, go, asio, asio_pool, libuv, tbb), "
          "or the groups all (Weft's variants), peers, everything");
ABSL_FLAG(std::string, threads, "", "comma list of worker counts (default: 1..nproc)");
ABSL_FLAG(std::string, flavor, "multi_thread", "multi_thread or current_thread");
ABSL_FLAG(std::string, reps, "5", "repetitions of every measurement");
ABSL_FLAG(std::string, steal, "default",
          "comma list of steal amounts to sweep: default (the variant's preset), one, half");
ABSL_FLAG(std::string, victim, "default",
          "comma list of victim orders to sweep: default, random, round_robin");
ABSL_FLAG(std::string, backoff, "default",
          "comma list of searcher backoffs to sweep: default, exp, none");
ABSL_FLAG(std::string, io, "epoll",
          "comma list of I/O backends to sweep (epoll, uring), or all; swept for the workloads "
          "that use the reactor (echo, timer_churn), while spawn_storm runs at the first one "
          "only; peers, which have no Weft backend, run once");
ABSL_FLAG(std::string, out, "",
          "CSV to write (default: results/runs/<date>_<host>_<sha>.csv)");
ABSL_FLAG(bool, append, false, "add rows to --out instead of replacing it");
ABSL_FLAG(std::vector<std::string>, param, {},
          "key=value workload parameter, or key=v1,v2,... to sweep it; repeat the flag for "
          "several (see --list)");
ABSL_FLAG(bool, list, false, "print workloads, shapes, variants and parameters, then exit");

namespace weft::bench {
namespace {

[[noreturn]] void usage_error(const std::string& message) {
  fmt::print(stderr, "weft-bench: {}\n", message);
  std::exit(2);
}

constexpr const char* kFlagNames[] = {"workload", "shape",  "variant", "threads", "flavor",
                                      "reps",     "param",  "steal",   "victim",  "backoff",
                                      "io",       "out",    "append",  "list"};

void print_help() {
  fmt::print(
      "weft-bench: runs Weft workloads under every requested variant and peer, thread count and "
      "repetition, and writes tidy CSV.\n  weft-bench --workload=spawn_storm --shape=tree "
      "--variant=all --threads=1,2 --reps=5 --param leaves=100000 --out=x.csv\n  weft-bench "
      "--list\n\n");
  for (const char* name : kFlagNames) {
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    fmt::print("  --{} (default '{}')\n      {}\n", name, flag->DefaultValue(), flag->Help());
  }
  fmt::print("\nExit: 0 ok, 1 a run failed or a write failed, 2 bad input (nothing run).\n");
}

// Abseil keeps only the last of a repeated flag, so `--param` occurrences are collected here and
// taken out of argv. Abseil exits 1 on an unknown flag or a badly typed value, and after --help;
// here bad input exits 2 and --help 0, so the rest is checked first (harness/common/flag_check).
std::vector<std::string> take_params_and_check_flags(int& argc, char** argv) {
  std::vector<std::string> params;
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--param" || arg == "-param") {
      if (i + 1 >= argc) usage_error("--param needs a key=value");
      params.emplace_back(argv[++i]);
      continue;
    }
    if (arg.rfind("--param=", 0) == 0 || arg.rfind("-param=", 0) == 0) {
      params.push_back(arg.substr(arg.find('=') + 1));
      continue;
    }
    argv[out++] = argv[i];
  }
  argc = out;
  using Kind = harness::FlagProblem::Kind;
  const std::optional<harness::FlagProblem> p =
      harness::first_bad_flag(argc, argv, "harness/bench", false);
  if (!p) return params;
  switch (p->kind) {
    case Kind::kHelp:
      print_help();
      std::exit(0);
    case Kind::kMissingValue:
      usage_error(fmt::format("--{} needs a value", p->name));
    case Kind::kBadValue:
      usage_error(fmt::format("bad --{} value '{}': {}", p->name, p->value, p->error));
    case Kind::kUnknown:
    case Kind::kPositional:
      break;
  }
  usage_error(fmt::format(
      "unknown {} '{}'; valid: --workload --shape --variant --threads --flavor --reps --param "
      "--steal --victim --backoff --io --out --append --list --help",
      p->kind == Kind::kPositional ? "argument" : "flag", p->arg));
}

void print_list() {
  fmt::print("variants: {}\n", fmt::join(Runtime::variants(), ", "));
  fmt::print("peers (harness/peers/README.md):\n");
  for (const PeerSpec& p : all_peers()) {
    const std::optional<std::string> missing = peer_unavailable(p);
    fmt::print("  {:<10} spawn_storm: {}; echo: {}{}{}\n", p.name, fmt::join(p.spawn_shapes, ", "),
               p.echo ? (p.echo_one_thread ? "threads=1" : "yes") : "no",
               p.current_thread ? "; current_thread flavor" : "",
               missing ? fmt::format(" [not available: {}]", *missing) : "");
    fmt::print("  {:<10} absent: {}\n", "", p.absent);
  }
  fmt::print("variant groups: all (Weft's variants), peers, everything\n");
  fmt::print("flavors: multi_thread (default), current_thread\n");
  std::vector<std::string> ios;
  for (IoBackend io : io_backends()) ios.emplace_back(io_backend_name(io));
  fmt::print("io backends (--io): {} (default {}); swept by the workloads that use the reactor\n\n",
             fmt::join(ios, ", "), io_backend_name(RuntimeOptions{}.io));
  for (const auto& w : workloads::all_workloads()) {
    fmt::print("workload {}: {}{}\n", w->name(), w->description(),
               w->uses_reactor() ? "" : " [no I/O: runs at the first --io backend only]");
    fmt::print("  shapes: {}\n", fmt::join(w->shapes(), ", "));
    for (const auto& p : w->params()) {
      fmt::print("  --param {}={:<10} {} [{}; 1..{}]\n", p.name, p.default_value, p.help,
                 fmt::join(p.shapes, ", "), p.max);
    }
  }
}

// The counters of the timed run alone.
RuntimeStats minus(RuntimeStats after, const RuntimeStats& before) {
  for (std::size_t i = 0; i < after.workers.size() && i < before.workers.size(); ++i) {
    WorkerStats& a = after.workers[i];
    const WorkerStats& b = before.workers[i];
#define WEFT_SUB(name) a.name -= b.name;
    WEFT_WORKER_COUNTERS(WEFT_SUB)
#undef WEFT_SUB
  }
  after.io -= before.io;
  return after;
}

// One point of the sweep, whoever runs it.
struct Point {
  workloads::Workload& workload;
  const std::string& shape;
  const workloads::Params& params;
  std::size_t threads;
  Flavor flavor;
  int rep;
};

// What one run measured, ready for the CSV.
struct Measurement {
  std::string label;       // the variant column
  std::string params_col;  // the params column
  std::string build;       // the build column when it is not Weft's own ("" for Weft)
  workloads::RunResult result;
  double wall_ns = 0;
  double timed_ns = 0;  // the workload's own window if it timed one, else the wall time
  std::uint64_t peak_rss = 0;
  std::optional<RuntimeStats> stats;  // Weft's scheduler and I/O counters; a peer has none
};

absl::StatusOr<Measurement> measure_weft(const std::string& variant, const PolicyPoint& policy,
                                         IoBackend io, const Point& p) {
  RuntimeOptions options{variant, p.threads, p.flavor, policy.overrides, io};
  auto rt = Runtime::create(options);  // the sweep was checked: an error here is the machine's
  if (!rt.ok()) return rt.status();
  const variants::StealConfig steal = (*rt)->steal_config();
  Measurement m;
  m.label = variant_label(variant, policy, steal, io);
  m.params_col = params_column(p.params, p.flavor, steal, io);
  // A cold run first, untimed: it measures the peak RSS from a trimmed heap and warms the
  // allocator, the frame pools and the page tables for the timed run that follows.
  reset_peak_rss();
  absl::StatusOr<workloads::RunResult> result = workloads::RunResult{};
  workloads::Workload& workload = p.workload;
  if (workload.wants_cold_run()) result = workload.run(**rt, p.shape, p.params);
  m.peak_rss = read_peak_rss_bytes();
  const RuntimeStats cold_stats = (*rt)->stats();
  const auto t0 = std::chrono::steady_clock::now();
  if (result.ok()) result = workload.run(**rt, p.shape, p.params);
  const auto t1 = std::chrono::steady_clock::now();
  if (!workload.wants_cold_run()) m.peak_rss = read_peak_rss_bytes();
  m.stats = minus((*rt)->stats(), cold_stats);
  (*rt)->shutdown();
  rt->reset();
  if (!result.ok()) return result.status();
  m.result = *std::move(result);
  m.wall_ns = std::chrono::duration<double, std::nano>(t1 - t0).count();
  m.timed_ns = m.result.seconds > 0 ? m.result.seconds * 1e9 : m.wall_ns;
  return m;
}

std::optional<std::string> peer_not_here(const PeerSpec& peer, const Point& p) {
  if (auto why = peer_skips(peer, p.workload.name(), p.shape, p.threads, p.flavor)) return why;
  return peer_unavailable(peer);
}

absl::StatusOr<Measurement> measure_peer(const PeerSpec& peer, const Point& p) {
  Measurement m;
  m.label = std::string(peer.name);
  m.params_col = params_column(p.params, p.flavor, std::nullopt, std::nullopt);
  const auto t0 = std::chrono::steady_clock::now();
  absl::StatusOr<PeerRun> run = run_peer(peer, p.workload, p.shape, p.params, p.threads, p.flavor);
  const auto t1 = std::chrono::steady_clock::now();
  if (!run.ok()) return run.status();
  m.build = std::move(run->build);
  m.result = std::move(run->result);
  m.peak_rss = run->peak_rss_bytes;
  // The peer timed its own run (without its process start and warm-up): that is both figures.
  m.timed_ns = m.result.seconds * 1e9;
  m.wall_ns = p.workload.name() == "echo" ? std::chrono::duration<double, std::nano>(t1 - t0).count()
                                          : m.timed_ns;
  return m;
}

void write_rows(CsvWriter& w, const Measurement& m, const Point& p) {
  const RowKey key{m.label, p.workload.name(), p.shape, p.threads, m.params_col, p.rep, m.build};
  const std::string& unit = m.result.unit;
  if (m.result.units > 0) {
    w.write(key, "ns_per_" + unit, m.timed_ns / m.result.units, "ns");
    w.write(key, unit + "s_per_s", m.result.units / (m.timed_ns * 1e-9), unit + "s/s");
  }
  w.write(key, "wall_s", m.wall_ns * 1e-9, "s");
  w.write(key, "peak_rss_bytes", static_cast<double>(m.peak_rss), "bytes");
  for (const auto& metric : m.result.metrics) w.write(key, metric.name, metric.value, metric.unit);
  if (m.stats) {
    auto count = [&](std::string_view name, std::uint64_t v) {
      w.write(key, name, static_cast<double>(v), "count");
    };
    m.stats->total().for_each(count);
    m.stats->io.for_each(count);
  }
}

// The Weft measurements of one rep of one shape point, and whether the process had the machine
// over them (machine_load.hpp): a window of all of them, long enough for /proc/stat's ticks.
// Peers run as processes of their own, so this one's CPU says nothing of theirs: they get no
// load rows (the gate counts a row without them as measured on a machine it had).
class LoadWindow {
 public:
  LoadWindow() : begin_(sample_load()) {}
  void add(const Measurement& m, std::size_t threads) {
    if (m.stats) keys_.push_back({m.label, m.params_col, threads});
  }
  void write(CsvWriter& w, const Point& p) const {
    const std::optional<MachineLoad> load = load_between(begin_, sample_load());
    if (!load) return;
    for (const Key& k : keys_) {
      const RowKey key{k.label, p.workload.name(), p.shape, k.threads, k.params_col, p.rep};
      w.write(key, "cpu_share", load->cpu_share, "cores");
      if (load->other_load) w.write(key, "other_load", *load->other_load, "cores");
    }
  }

 private:
  struct Key {
    std::string label, params_col;
    std::size_t threads;
  };
  LoadSample begin_;
  std::vector<Key> keys_;
};

// results/runs/<date>_<host>_<sha>.csv, or _2, _3, ... after it: never an earlier run's file.
std::string default_out(const MachineInfo& m) {
  const std::string stem = fmt::format("results/runs/{}_{}_{}", utc_date(), m.host, m.git_sha);
  std::string out = stem + ".csv";
  for (int i = 2; std::filesystem::exists(out); ++i) out = fmt::format("{}_{}.csv", stem, i);
  return out;
}

int run(int argc, char** argv) {
  harness::raise_open_file_limit();  // for the echo workload; weft-loadgen inherits it
  std::vector<std::string> params = take_params_and_check_flags(argc, argv);
  absl::SetProgramUsageMessage(
      "runs Weft workloads under every requested variant, thread count and repetition, and "
      "writes tidy CSV.\n  weft-bench --workload=spawn_storm --shape=tree --variant=all "
      "--threads=1,2 --reps=5 --param leaves=100000 --out=x.csv\n  weft-bench --list");
  absl::ParseCommandLine(argc, argv);
  if (absl::GetFlag(FLAGS_list)) {
    print_list();
    return 0;
  }

  SweepRequest request{absl::GetFlag(FLAGS_workload), absl::GetFlag(FLAGS_shape),
                       absl::GetFlag(FLAGS_variant),  absl::GetFlag(FLAGS_threads),
                       absl::GetFlag(FLAGS_flavor),   absl::GetFlag(FLAGS_reps),
                       std::move(params),             absl::GetFlag(FLAGS_steal),
                       absl::GetFlag(FLAGS_victim),   absl::GetFlag(FLAGS_backoff),
                       absl::GetFlag(FLAGS_io)};
  absl::StatusOr<Sweep> sweep = plan_sweep(request);
  if (!sweep.ok()) usage_error(std::string(sweep.status().message()));
  if (sweep->io_narrowed) {
    fmt::print(stderr, "weft-bench: {} does no I/O: it runs at the first --io backend ({}) only\n",
               sweep->workload->name(), io_backend_name(sweep->ios.front()));
  }

  MachineInfo machine = read_machine_info();
  std::string out = absl::GetFlag(FLAGS_out);
  if (out.empty()) {
    out = default_out(machine);
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(out).parent_path(), ec);
  }
  const std::string run_id = fmt::format("{}-{}", utc_timestamp(), ::getpid());
  auto writer = CsvWriter::open(out, machine, run_id, absl::GetFlag(FLAGS_append));
  if (!writer.ok()) usage_error(std::string(writer.status().message()));
  // A failed run keeps what it measured apart, and whatever was at --out before intact.
  auto failed = [&](const std::string& message) {
    fmt::print(stderr, "weft-bench: {}\n", message);
    if ((*writer)->partial_path() != out) {
      fmt::print(stderr, "weft-bench: {}; the rows measured are in {}\n",
                 std::filesystem::exists(out) ? out + " is unchanged" : "nothing was written to " + out,
                 (*writer)->partial_path());
    }
    return 1;
  };
  if (!(*writer)->status().ok()) return failed((*writer)->status().ToString());

  std::size_t points = 0;
  for (const std::string& shape : sweep->shapes) points += params_for(*sweep, shape).size();
  const std::size_t total = points * sweep->variants.size() * sweep->policies.size() *
                            sweep->ios.size() * sweep->threads.size() * sweep->reps;
  std::size_t index = 0;
  std::set<std::string> notes;  // each skipped peer point is said once
  // Repetitions outermost: a drift in machine speed spreads over every configuration alike.
  for (int rep = 1; rep <= sweep->reps; ++rep) {
    for (const std::string& shape : sweep->shapes) {
     for (const workloads::Params& shape_params : params_for(*sweep, shape)) {
      LoadWindow window;
      for (const std::string& variant : sweep->variants) {
       const PeerSpec* peer = find_peer(variant);
       for (const PolicyPoint& policy : sweep->policies) {
        for (const IoBackend io : sweep->ios) {
         for (std::size_t threads : sweep->threads) {
          ++index;
          Point point{*sweep->workload, shape, shape_params, threads, sweep->flavor, rep};
          absl::StatusOr<Measurement> m = absl::UnknownError("not run");
          if (peer != nullptr) {
            // A peer has no stealing policy and no Weft backend: it runs at the sweep's first
            // policy and I/O point only.
            if (&policy != &sweep->policies.front() || io != sweep->ios.front()) continue;
            if (std::optional<std::string> why = peer_not_here(*peer, point)) {
              if (notes.insert(variant + *why).second) {
                fmt::print(stderr, "weft-bench: skipping peer {}: {}\n", variant, *why);
              }
              continue;
            }
            m = measure_peer(*peer, point);
          } else {
            m = measure_weft(variant, policy, io, point);
          }
          if (!m.ok()) {
            return failed(fmt::format("{}/{} {} io={} t={} rep {} failed: {}",
                                      sweep->workload->name(), shape, variant,
                                      peer != nullptr ? "-" : io_backend_name(io), threads, rep,
                                      m.status().ToString()));
          }
          write_rows(**writer, *m, point);
          window.add(*m, threads);
          if (!(*writer)->status().ok()) return failed((*writer)->status().ToString());
          const double per_unit = m->result.units > 0 ? m->timed_ns / m->result.units : m->timed_ns;
          fmt::print(stderr, "[{}/{}] {}/{} {} t={} rep {}: {:.1f} ns/{}\n", index, total,
                     sweep->workload->name(), shape, m->label, threads, rep, per_unit,
                     m->result.unit);
         }
        }
       }
      }
      window.write(**writer, Point{*sweep->workload, shape, shape_params, 1, sweep->flavor, rep});
      if (!(*writer)->status().ok()) return failed((*writer)->status().ToString());
     }
    }
  }
  if (absl::Status s = (*writer)->commit(); !s.ok()) return failed(s.ToString());
  fmt::print(stderr, "weft-bench: wrote {}\n", out);
  std::fputs((out + "\n").c_str(), stdout);
  return 0;
}

}  // namespace
}  // namespace weft::bench

// No exception leaves the program: it ends with exit 1 and the message (out of memory, a thread
// that cannot start), and what was at --out before stays as it was.
int main(int argc, char** argv) {
  try {
    return weft::bench::run(argc, argv);
  } catch (const std::bad_alloc&) {
    fmt::print(stderr, "weft-bench: out of memory\n");
  } catch (const std::exception& e) {
    fmt::print(stderr, "weft-bench: {}\n", e.what());
  }
  return 1;
}
