// Child processes for workloads that need one (the echo workload's load generator runs as its
// own process: the open-file limit is per process, and the client must not share the server's
// runtime). Lines of the child's stdout are read as they come; stderr is inherited.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"

namespace weft::workloads {

class Subprocess {
 public:
  static absl::StatusOr<Subprocess> start(const std::vector<std::string>& argv);
  Subprocess(Subprocess&& other) noexcept;
  Subprocess& operator=(Subprocess&&) = delete;
  ~Subprocess();  // kills and reaps a child still running

  // The next line of its stdout without the newline; nullopt at EOF.
  std::optional<std::string> read_line();
  // Waits for it to exit; returns its exit status (128 + signal if killed).
  int wait();
  // Sends `signal` to a child still running.
  void kill(int signal);
  pid_t pid() const { return pid_; }
  // The child's peak resident set size (ru_maxrss), known once wait() has reaped it.
  std::uint64_t peak_rss_bytes() const { return peak_rss_bytes_; }

 private:
  Subprocess(pid_t pid, int out_fd) : pid_(pid), out_fd_(out_fd) {}
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string buffer_;
  std::uint64_t peak_rss_bytes_ = 0;
};

// Kills a child that overruns `limit` (a hung child must not hang the harness), saying so on
// stderr with `what`. Destroy it before reaping the child, so the pid it may signal is still
// the child's; fired() tells whether it had to.
class KillAfter {
 public:
  KillAfter(pid_t pid, std::chrono::milliseconds limit, std::string what);
  ~KillAfter();
  KillAfter(const KillAfter&) = delete;
  KillAfter& operator=(const KillAfter&) = delete;
  bool fired() const { return fired_.load(); }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::atomic<bool> fired_{false};
  std::thread thread_;
};

// The values of a one-line JSON object of numbers and strings (the load generator's report).
std::map<std::string, std::string> parse_flat_json(const std::string& line);

// CPU seconds a process has used, from /proc/<pid>/stat (this process by default).
struct CpuTimes {
  double user = 0;
  double system = 0;
  double total() const { return user + system; }
};
CpuTimes process_cpu_seconds(pid_t pid = 0);

// Where a sibling tool is: $<env_var> if set, else `built_path` (baked in at build time).
std::string tool_path(const char* env_var, const char* built_path);

}  // namespace weft::workloads
