// weft-bench's command line: bad input exits 2 naming the bad and the valid values and writes
// nothing; a good run writes the tidy CSV schema.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace {

namespace fs = std::filesystem;

struct Result {
  int exit_code;
  std::string output;  // stdout and stderr
};

Result run_bench(const std::string& args) {
  const std::string cmd = std::string(WEFT_BENCH_PATH) + " " + args + " 2>&1";
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
    EXPECT_NE(line.find(";victim=round_robin;backoff=none,"), std::string::npos) << line;
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
  EXPECT_NE(line.find(";steal=half;victim=random;backoff=exp,"), std::string::npos) << line;
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
                        "chained", "mutex", "--param tasks=1000000"}) {
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
  EXPECT_EQ(run_bench("--help").exit_code, 0);
  EXPECT_EQ(run_bench("stray").exit_code, 2);
  EXPECT_EQ(run_bench("--append=maybe").exit_code, 2);
}

}  // namespace
