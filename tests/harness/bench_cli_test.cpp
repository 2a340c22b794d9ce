// weft-bench's command line: bad input exits 2 naming the bad and the valid values and writes
// nothing; a good run writes the tidy CSV schema.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace {

namespace fs = std::filesystem;

struct Result {
  int exit_code;
  std::string output;  // stdout and stderr
};

// `env`: "NAME=value ..." set for weft-bench alone.
Result run_bench(const std::string& args, const std::string& env = "") {
  const std::string cmd =
      (env.empty() ? "" : "env " + env + " ") + std::string(WEFT_BENCH_PATH) + " " + args + " 2>&1";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  Result r{-1, ""};
  if (pipe == nullptr) return r;
  std::array<char, 512> buf;
  while (std::fgets(buf.data(), buf.size(), pipe) != nullptr) r.output += buf.data();
  const int status = ::pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

class BenchCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("weft_bench_cli_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    out_ = (dir_ / "out.csv").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs with a small valid baseline plus `extra`, expecting exit 2 and nothing written.
  void expect_rejected(const std::string& extra, const std::string& bad,
                       const std::string& valid) {
    const Result r = run_bench("--shape=flat --threads=1 --reps=1 --param tasks=10 --out=" +
                               out_ + " " + extra);
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_NE(r.output.find(bad), std::string::npos) << "names the bad value: " << r.output;
    EXPECT_NE(r.output.find(valid), std::string::npos) << "names the valid ones: " << r.output;
    EXPECT_FALSE(fs::exists(out_)) << "nothing written";
  }

  fs::path dir_;
  std::string out_;
};

TEST_F(BenchCli, UnknownWorkloadExits2) {
  expect_rejected("--workload=nope", "'nope'", "spawn_storm");
}
TEST_F(BenchCli, UnknownShapeExits2) { expect_rejected("--shape=nope", "'nope'", "tree"); }
TEST_F(BenchCli, UnknownVariantExits2) {
  expect_rejected("--variant=mutex,nope", "'nope'", "mutex");
}
TEST_F(BenchCli, ZeroThreadsExits2) { expect_rejected("--threads=0", "'0'", "worker counts"); }
TEST_F(BenchCli, NonNumericThreadsExits2) {
  expect_rejected("--threads=1,two", "'two'", "worker counts");
}
TEST_F(BenchCli, ZeroRepsExits2) { expect_rejected("--reps=0", "'0'", "integer"); }
TEST_F(BenchCli, UnknownParamExits2) { expect_rejected("--param bogus=1", "bogus", "leaves"); }
TEST_F(BenchCli, NonNumericParamExits2) {
  expect_rejected("--shape=flat,tree --param leaves=x", "leaves=x", "integer");
}
TEST_F(BenchCli, UnknownFlagExits2) { expect_rejected("--frobnicate=1", "frobnicate", "--shape"); }
TEST_F(BenchCli, UnknownFlavorExits2) {
  expect_rejected("--flavor=fibers", "'fibers'", "current_thread");
}

TEST_F(BenchCli, UnknownStealAmountExits2) {
  expect_rejected("--steal=half,most", "'most'", "one, half");
}
TEST_F(BenchCli, UnknownVictimOrderExits2) {
  expect_rejected("--victim=nearest", "'nearest'", "round_robin");
}
TEST_F(BenchCli, UnknownBackoffExits2) { expect_rejected("--backoff=sleep", "'sleep'", "exp"); }
TEST_F(BenchCli, UnknownIoBackendExits2) {
  expect_rejected("--io=epoll,kqueue", "'kqueue'", "valid: epoll");
}
TEST_F(BenchCli, EmptyIoBackendExits2) { expect_rejected("--io=", "--io ''", "valid: epoll"); }
TEST_F(BenchCli, IoWithoutAValueExits2) {
  const Result r = run_bench("--shape=flat --threads=1 --reps=1 --out=" + out_ + " --io");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--io needs a value"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(out_));
}

TEST_F(BenchCli, PolicySweepLabelsEachPointAndRecordsThePolicyInEveryRow) {
  const Result r = run_bench(
      "--variant=mutex --shape=flat --threads=2 --reps=1 --param tasks=1000 --steal=default,one "
      "--victim=round_robin --backoff=none --out=" + out_);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream in(out_);
  std::string line;
  std::getline(in, line);  // header
  int preset_rows = 0, one_rows = 0, rows = 0;
  for (; std::getline(in, line); ++rows) {
    EXPECT_NE(line.find(";victim=round_robin;backoff=none;io=epoll,"), std::string::npos) << line;
    // default steal with victim/backoff overridden is still an override of the preset
    if (line.find(",mutex:half/round_robin/none,") != std::string::npos) ++preset_rows;
    if (line.find(",mutex:one/round_robin/none,") != std::string::npos &&
        line.find(";steal=one;") != std::string::npos) {
      ++one_rows;
    }
  }
  EXPECT_GT(preset_rows, 0);
  EXPECT_GT(one_rows, 0);
  EXPECT_EQ(preset_rows + one_rows, rows);
}

TEST_F(BenchCli, PresetRowsKeepThePlainVariantNameAndNameThePolicy) {
  const Result r =
      run_bench("--variant=mutex --shape=flat --threads=1 --reps=1 --param tasks=1000 --out=" +
                out_);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream in(out_);
  std::string line;
  std::getline(in, line);
  ASSERT_TRUE(std::getline(in, line));
  EXPECT_NE(line.find(",mutex,spawn_storm,flat,1,"), std::string::npos) << line;
  EXPECT_NE(line.find(";steal=half;victim=random;backoff=exp;io=epoll,"), std::string::npos)
      << line;
}

TEST_F(BenchCli, UnwritableOutExits2) {
  const std::string bad = (dir_ / "missing_dir" / "x.csv").string();
  const Result r =
      run_bench("--shape=flat --threads=1 --reps=1 --param tasks=10 --out=" + bad);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find(bad), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(bad));
}

TEST_F(BenchCli, ListNamesWorkloadsShapesVariantsAndParams) {
  const Result r = run_bench("--list");
  EXPECT_EQ(r.exit_code, 0);
  for (const char* s : {"spawn_storm", "flat", "remote", "tree", "yield_many", "ping_pong",
                        "chained", "mutex", "--param tasks=1000000", "io backends (--io): epoll",
                        "runs at the first --io backend only"}) {
    EXPECT_NE(r.output.find(s), std::string::npos) << s << " missing from:\n" << r.output;
  }
}

TEST_F(BenchCli, RunWritesTidyRowsForEveryRepParamAndCounter) {
  const Result r = run_bench(
      "--variant=mutex --shape=flat,tree --threads=1,2 --reps=2 --param tasks=1000 "
      "--param leaves=100 --out=" +
      out_);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("[8/8] spawn_storm/tree mutex t=2 rep 2:"), std::string::npos)
      << r.output;
  std::ifstream in(out_);
  std::string header;
  std::getline(in, header);
  EXPECT_EQ(header,
            "run_id,timestamp,git_sha,host,cpu_model,cpus,compiler,build,variant,workload,shape,"
            "threads,params,rep,metric,value,unit");
  int rows = 0, ns_rows = 0, steal_rows = 0;
  bool saw_params = false;
  for (std::string line; std::getline(in, line);) {
    ++rows;
    if (line.find(",ns_per_task,") != std::string::npos) ++ns_rows;
    if (line.find(",steal_attempts,") != std::string::npos) ++steal_rows;
    if (line.find(",fanout=10;leaves=100;steal=") != std::string::npos) saw_params = true;
  }
  EXPECT_EQ(ns_rows, 8);  // 2 shapes x 2 thread counts x 2 reps
  EXPECT_EQ(steal_rows, 8);
  EXPECT_TRUE(saw_params);
  EXPECT_GT(rows, 8 * 10);
}

// --- nothing lost (issue 13): bad input never touches --out; write errors exit 1 ---------------

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST_F(BenchCli, BadParamsLeaveAnExistingCsvIntact) {
  { std::ofstream(out_) << "earlier results\n"; }
  for (const std::string bad :
       {"--shape=tree --param leaves=7", "--shape=pipeline --param capacity=1000000000000",
        "--shape=flat --param tasks=1000000000000", "--shape=flat --param tasks=1 --param tasks=2",
        "--shape=flat --param leaves=100", "--workload=echo --param connections=20000",
        "--workload=echo --param client_threads=65", "--workload=echo --param msg_size=2000000",
        "--workload=echo --param connections=2 --param client_threads=3"}) {
    const Result r = run_bench(bad + " --threads=1 --reps=1 --out=" + out_);
    EXPECT_EQ(r.exit_code, 2) << bad << ": " << r.output;
    EXPECT_NE(r.output.find("--param"), std::string::npos) << bad << ": " << r.output;
  }
  EXPECT_EQ(slurp(out_), "earlier results\n");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1)
      << "no partial file either";
}

TEST_F(BenchCli, AppendKeepsEarlierRowsAndWritesNoPartialFile) {
  const std::string args = "--variant=mutex --shape=flat --threads=1 --reps=1 --param tasks=100 ";
  ASSERT_EQ(run_bench(args + "--out=" + out_).exit_code, 0);
  const std::string first = slurp(out_);
  ASSERT_EQ(run_bench(args + "--append --out=" + out_).exit_code, 0);
  const std::string both = slurp(out_);
  EXPECT_EQ(both.substr(0, first.size()), first);
  EXPECT_GT(both.size(), first.size() + 100);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
}

TEST_F(BenchCli, AWriteErrorExits1) {
  const Result r = run_bench("--variant=mutex --shape=flat --threads=1 --reps=1 --param tasks=100 "
                             "--out=/dev/full");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("No space left on device"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("wrote"), std::string::npos) << r.output;
}

TEST_F(BenchCli, HelpExits0AndPositionalsAndBadlyTypedFlagsExit2) {
  const Result help = run_bench("--help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.output.find("--io (default 'epoll')"), std::string::npos) << help.output;
  EXPECT_NE(help.output.find("spawn_storm runs at the first one"), std::string::npos)
      << help.output;
  EXPECT_EQ(run_bench("stray").exit_code, 2);
  EXPECT_EQ(run_bench("--append=maybe").exit_code, 2);
}


// --- the I/O backend axis (issue 12): --io sweeps like --steal -----------------------------------

// The rows of a CSV, each split into its 17 columns (a field may be quoted: a peer's build).
std::vector<std::vector<std::string>> read_rows(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::vector<std::string>> rows;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::vector<std::string> cols(1);
    bool quoted = false;
    for (std::size_t i = 0; i < line.size(); ++i) {
      const char c = line[i];
      if (c == '"' && quoted && i + 1 < line.size() && line[i + 1] == '"') {
        cols.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = !quoted;
      } else if (c == ',' && !quoted) {
        cols.emplace_back();
      } else {
        cols.back() += c;
      }
    }
    rows.push_back(std::move(cols));
  }
  return rows;
}
constexpr int kVariant = 8, kThreads = 11, kParams = 12, kMetric = 14, kValue = 15, kUnit = 16;

bool has_key(const std::string& params, const std::string& kv) {
  return (";" + params + ";").find(";" + kv + ";") != std::string::npos;
}

// A run asked for io_uring where it cannot start exits 2 (nothing run) with this text.
constexpr const char* kNoUring = "--io uring cannot run here";

TEST_F(BenchCli, EveryWeftRowNamesItsBackendAndOnlyANonDefaultOneMarksTheVariant) {
  const Result r = run_bench(
      "--workload=timer_churn --shape=cancel --variant=mutex --threads=1,2 --reps=1 "
      "--param pairs=1000 --io=all --out=" + out_);
  if (r.exit_code == 2 && r.output.find(kNoUring) != std::string::npos) {
    GTEST_SKIP() << "io_uring is not available here: " << r.output;
  }
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("[4/4] timer_churn/cancel mutex+uring t=2 rep 1:"), std::string::npos)
      << r.output;
  std::map<std::string, std::set<std::string>> threads_by_label;
  for (const auto& row : read_rows(out_)) {
    ASSERT_EQ(row.size(), 17u);
    const std::string& label = row[kVariant];
    const std::string& params = row[kParams];
    if (label == "mutex") {
      EXPECT_TRUE(has_key(params, "io=epoll")) << params;
    } else {
      EXPECT_EQ(label, "mutex+uring");
      EXPECT_TRUE(has_key(params, "io=uring")) << params;
    }
    threads_by_label[label].insert(row[kThreads]);
  }
  EXPECT_EQ(threads_by_label["mutex"], (std::set<std::string>{"1", "2"}));
  EXPECT_EQ(threads_by_label["mutex+uring"], (std::set<std::string>{"1", "2"}));
}

TEST_F(BenchCli, IoAndStealPointsCombineInTheLabel) {
  const Result r = run_bench(
      "--workload=timer_churn --shape=cancel --variant=mutex --threads=1 --reps=1 "
      "--param pairs=1000 --steal=one --io=uring --out=" + out_);
  if (r.exit_code == 2 && r.output.find(kNoUring) != std::string::npos) {
    GTEST_SKIP() << "io_uring is not available here: " << r.output;
  }
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto rows = read_rows(out_);
  ASSERT_FALSE(rows.empty());
  for (const auto& row : rows) {
    EXPECT_EQ(row[kVariant], "mutex:one/random/exp+uring");
    EXPECT_TRUE(has_key(row[kParams], "steal=one")) << row[kParams];
    EXPECT_TRUE(has_key(row[kParams], "io=uring")) << row[kParams];
  }
}

TEST_F(BenchCli, AWorkloadWithoutIoRunsAtTheFirstBackendOnly) {
  const Result r = run_bench(
      "--variant=mutex --shape=flat --threads=1 --reps=1 --param tasks=100 --io=epoll,uring "
      "--out=" + out_);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("spawn_storm does no I/O: it runs at the first --io backend (epoll)"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("[1/1] spawn_storm/flat mutex t=1 rep 1:"), std::string::npos)
      << r.output;
  for (const auto& row : read_rows(out_)) {
    EXPECT_EQ(row[kVariant], "mutex");
    EXPECT_TRUE(has_key(row[kParams], "io=epoll")) << row[kParams];
  }
}

TEST_F(BenchCli, EchoRowsCarryTheIoCountersAndTheirCostPerMessage) {
  const Result r = run_bench(
      "--workload=echo --shape=closed --variant=mutex --threads=1 --reps=1 "
      "--param connections=4 --param duration_ms=300 --param warmup_ms=50 --out=" + out_);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::map<std::string, std::pair<double, std::string>> metrics;
  for (const auto& row : read_rows(out_)) {
    EXPECT_EQ(row[kVariant], "mutex");
    EXPECT_TRUE(has_key(row[kParams], "io=epoll")) << row[kParams];
    metrics[row[kMetric]] = {std::stod(row[kValue]), row[kUnit]};
  }
  for (const char* counter : {"io_syscalls", "io_waits", "io_completions", "driver_polls"}) {
    ASSERT_TRUE(metrics.contains(counter)) << counter;
    EXPECT_EQ(metrics[counter].second, "count") << counter;
  }
  for (const char* ratio : {"io_syscalls_per_msg", "driver_polls_per_msg"}) {
    ASSERT_TRUE(metrics.contains(ratio)) << ratio;
    EXPECT_EQ(metrics[ratio].second, "ratio") << ratio;
    EXPECT_GE(metrics[ratio].first, 0) << ratio;
  }
  // Every echoed message costs the server at least its recv and its send (the backend counts
  // every syscall it makes: weft/scheduler/stats.hpp).
  EXPECT_GE(metrics["io_syscalls_per_msg"].first, 2.0);
}

// A peer has no Weft backend: it runs once, at the first --io point. weft-echo stands in for
// Tokio's echo server (the same shape of process, harness/peers/README.md).
TEST_F(BenchCli, APeerRunsOnceAcrossTheIoAxisAndNamesNoBackend) {
  const fs::path stand_in = dir_ / "weft-peer-tokio";
  {
    std::ofstream f(stand_in);
    f << "#!/bin/sh\nshift  # the workload, echo\nexec " << WEFT_ECHO_PATH << " \"$@\"\n";
  }
  fs::permissions(stand_in, fs::perms::owner_all);
  const Result r = run_bench("--workload=echo --shape=closed --variant=mutex,tokio --threads=1 "
                             "--reps=1 --param connections=4 --param duration_ms=200 "
                             "--param warmup_ms=50 --io=epoll,uring --out=" + out_,
                             "WEFT_PEER_TOKIO=" + stand_in.string());
  if (r.exit_code == 2 && r.output.find(kNoUring) != std::string::npos) {
    GTEST_SKIP() << "io_uring is not available here: " << r.output;
  }
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::map<std::string, int> msgs_rows;
  for (const auto& row : read_rows(out_)) {
    if (row[kMetric] == "msgs_per_s") ++msgs_rows[row[kVariant]];
    if (row[kVariant] == "tokio") {
      EXPECT_EQ(row[kParams].find("io="), std::string::npos) << row[kParams];
      EXPECT_NE(row[kMetric].rfind("io_", 0), 0u) << "a peer has no I/O counters: " << row[kMetric];
    }
  }
  EXPECT_EQ(msgs_rows, (std::map<std::string, int>{{"mutex", 1}, {"mutex+uring", 1}, {"tokio", 1}}));
}

}  // namespace
