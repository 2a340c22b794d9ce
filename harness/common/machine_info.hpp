// Facts about the machine, the build and the process that go into every CSV row.
#pragma once

#include <cstdint>
#include <string>

namespace weft::bench {

struct MachineInfo {
  std::string git_sha;    // WEFT_GIT_SHA, else `git rev-parse --short=12 HEAD` (+ "-dirty")
  std::string host;       // gethostname
  std::string cpu_model;  // /proc/cpuinfo "model name"
  unsigned cpus = 0;      // online cores
  std::string compiler;   // e.g. "g++ 12.2.0"
  std::string build;      // CMake build type, plus "+asan"/"+tsan"
};

MachineInfo read_machine_info();

// Resets the process's peak resident set size (VmHWM) to the current RSS, after returning freed
// heap to the OS, so the next read_peak_rss_bytes() measures one run.
void reset_peak_rss();
std::uint64_t read_peak_rss_bytes();

// UTC, ISO 8601 ("2026-11-24T10:15:03Z"), and the date alone ("2026-11-24").
std::string utc_timestamp();
std::string utc_date();

}  // namespace weft::bench
