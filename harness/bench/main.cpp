// weft-bench: runs a workload under every requested variant, thread count and repetition, one
// fresh runtime per measurement, and writes tidy CSV rows (csv_writer.hpp).
//
//   weft-bench --workload=spawn_storm --shape=tree --variant=all --threads=1,2 --reps=5
//              --param leaves=100000 --param fanout=10 --out=results/runs/x.csv
//   weft-bench --list
//
// Bad input (an unknown workload, shape, variant, flag or parameter, --threads=0, an unwritable
// --out) exits 2 with a message naming the bad value and the valid ones, before anything runs.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "csv_writer.hpp"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "machine_info.hpp"
#include "sweep.hpp"
#include "weft/runtime.hpp"
#include "workload.hpp"

ABSL_FLAG(std::string, workload, "spawn_storm", "workload to run (see --list)");
ABSL_FLAG(std::string, shape, "all", "comma list of the workload's shapes, or all");
ABSL_FLAG(std::string, variant, "all", "comma list of scheduler variants, or all");
ABSL_FLAG(std::string, threads, "", "comma list of worker counts (default: 1..nproc)");
ABSL_FLAG(std::string, flavor, "multi_thread", "multi_thread or current_thread");
ABSL_FLAG(std::string, reps, "5", "repetitions of every measurement");
ABSL_FLAG(std::string, steal, "default",
          "comma list of steal amounts to sweep: default (the variant's preset), one, half");
ABSL_FLAG(std::string, victim, "default",
          "comma list of victim orders to sweep: default, random, round_robin");
ABSL_FLAG(std::string, backoff, "default",
          "comma list of searcher backoffs to sweep: default, exp, none");
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

// Abseil keeps only the last of a repeated flag, so `--param` occurrences are collected here and
// taken out of argv; every other flag name is checked so an unknown one exits 2, not 1.
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
    if (arg.size() > 1 && arg[0] == '-' && arg != "--") {
      std::string name = arg.substr(arg.find_first_not_of('-'));
      name = name.substr(0, name.find('='));
      const bool known = absl::FindCommandLineFlag(name) != nullptr ||
                         (name.rfind("no", 0) == 0 && absl::FindCommandLineFlag(name.substr(2))) ||
                         name == "help" || name == "helpfull" || name == "helpshort" ||
                         name == "version";
      if (!known) {
        usage_error(fmt::format(
            "unknown flag '{}'; valid: --workload --shape --variant --threads --flavor --reps "
            "--param --steal --victim --backoff --out --append --list --help",
            arg));
      }
    }
    argv[out++] = argv[i];
  }
  argc = out;
  return params;
}

void print_list() {
  fmt::print("variants: {}\n", fmt::join(Runtime::variants(), ", "));
  fmt::print("flavors: multi_thread (default), current_thread\n\n");
  for (const auto& w : workloads::all_workloads()) {
    fmt::print("workload {}: {}\n", w->name(), w->description());
    fmt::print("  shapes: {}\n", fmt::join(w->shapes(), ", "));
    for (const auto& p : w->params()) {
      fmt::print("  --param {}={:<10} {} [{}]\n", p.name, p.default_value, p.help,
                 fmt::join(p.shapes, ", "));
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
  return after;
}

std::string default_out(const MachineInfo& m) {
  return fmt::format("results/runs/{}_{}_{}.csv", utc_date(), m.host, m.git_sha);
}

int run(int argc, char** argv) {
  std::vector<std::string> params = take_params_and_check_flags(argc, argv);
  absl::SetProgramUsageMessage(
      "runs Weft workloads under every requested variant, thread count and repetition, and "
      "writes tidy CSV.\n  weft-bench --workload=spawn_storm --shape=tree --variant=all "
      "--threads=1,2 --reps=5 --param leaves=100000 --out=x.csv\n  weft-bench --list");
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view path) {
    return path.find("harness/bench/") != absl::string_view::npos;
  };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  absl::SetFlagsUsageConfig(usage);
  absl::ParseCommandLine(argc, argv);
  if (absl::GetFlag(FLAGS_list)) {
    print_list();
    return 0;
  }

  SweepRequest request{absl::GetFlag(FLAGS_workload), absl::GetFlag(FLAGS_shape),
                       absl::GetFlag(FLAGS_variant),  absl::GetFlag(FLAGS_threads),
                       absl::GetFlag(FLAGS_flavor),   absl::GetFlag(FLAGS_reps),
                       std::move(params),             absl::GetFlag(FLAGS_steal),
                       absl::GetFlag(FLAGS_victim),   absl::GetFlag(FLAGS_backoff)};
  absl::StatusOr<Sweep> sweep = plan_sweep(request);
  if (!sweep.ok()) usage_error(std::string(sweep.status().message()));

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

  std::size_t points = 0;
  for (const std::string& shape : sweep->shapes) points += params_for(*sweep, shape).size();
  const std::size_t total =
      points * sweep->variants.size() * sweep->policies.size() * sweep->threads.size() * sweep->reps;
  std::size_t index = 0;
  // Repetitions outermost: a drift in machine speed spreads over every configuration alike.
  for (int rep = 1; rep <= sweep->reps; ++rep) {
    for (const std::string& shape : sweep->shapes) {
     for (const workloads::Params& shape_params : params_for(*sweep, shape)) {
      for (const std::string& variant : sweep->variants) {
       for (const PolicyPoint& policy : sweep->policies) {
        for (std::size_t threads : sweep->threads) {
          ++index;
          RuntimeOptions options{variant, threads, sweep->flavor, policy.overrides};
          auto rt = Runtime::create(options);
          if (!rt.ok()) usage_error(std::string(rt.status().message()));
          const variants::StealConfig steal = (*rt)->steal_config();
          const std::string label = variant_label(variant, policy, steal);
          const std::string params_col = params_column(shape_params, sweep->flavor, steal);
          // A cold run first, untimed: it measures the peak RSS from a trimmed heap and warms the
          // allocator, the frame pools and the page tables for the timed run that follows.
          reset_peak_rss();
          absl::StatusOr<workloads::RunResult> result = workloads::RunResult{};
          if (sweep->workload->wants_cold_run()) {
            result = sweep->workload->run(**rt, shape, shape_params);
          }
          std::uint64_t peak_rss = read_peak_rss_bytes();
          const RuntimeStats cold_stats = (*rt)->stats();
          const auto t0 = std::chrono::steady_clock::now();
          if (result.ok()) result = sweep->workload->run(**rt, shape, shape_params);
          const auto t1 = std::chrono::steady_clock::now();
          if (!sweep->workload->wants_cold_run()) peak_rss = read_peak_rss_bytes();
          const RuntimeStats stats = minus((*rt)->stats(), cold_stats);
          (*rt)->shutdown();
          rt->reset();
          if (!result.ok()) {
            fmt::print(stderr, "weft-bench: {}/{} {} t={} rep {} failed: {}\n",
                       sweep->workload->name(), shape, label, threads, rep,
                       result.status().ToString());
            return 1;
          }
          const double wall_ns = std::chrono::duration<double, std::nano>(t1 - t0).count();
          // The workload's own measurement window, if it timed one.
          const double timed_ns = result->seconds > 0 ? result->seconds * 1e9 : wall_ns;
          const RowKey key{label, sweep->workload->name(), shape, threads, params_col, rep};
          CsvWriter& w = **writer;
          const std::string& unit = result->unit;
          if (result->units > 0) {
            w.write(key, "ns_per_" + unit, timed_ns / result->units, "ns");
            w.write(key, unit + "s_per_s", result->units / (timed_ns * 1e-9), unit + "s/s");
          }
          w.write(key, "wall_s", wall_ns * 1e-9, "s");
          w.write(key, "peak_rss_bytes", static_cast<double>(peak_rss), "bytes");
          for (const auto& m : result->metrics) w.write(key, m.name, m.value, m.unit);
          stats.total().for_each([&](std::string_view name, std::uint64_t v) {
            w.write(key, name, static_cast<double>(v), "count");
          });
          fmt::print(stderr, "[{}/{}] {}/{} {} t={} rep {}: {:.1f} ns/{}\n", index, total,
                     sweep->workload->name(), shape, label, threads, rep,
                     result->units > 0 ? timed_ns / result->units : timed_ns, unit);
        }
       }
      }
     }
    }
  }
  fmt::print(stderr, "weft-bench: wrote {}\n", out);
  std::fputs((out + "\n").c_str(), stdout);
  return 0;
}

}  // namespace
}  // namespace weft::bench

int main(int argc, char** argv) { return weft::bench::run(argc, argv); }
