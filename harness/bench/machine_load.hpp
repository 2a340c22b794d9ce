// MachineLoad: did this process have the machine while it measured? Two figures over a window
// of wall time, written beside every Weft measurement (weft-bench's `cpu_share` and
// `other_load` rows) so that the regression gate can tell a scaling rule measured without the
// cores it needs from evidence (scripts/check_regression.py, `needs_cores`):
//
//   cpu_share   the CPU time this process got (getrusage RUSAGE_SELF, user + sys) over the wall
//               time: 1.9 is two cores kept busy, 1.0 one.
//   other_load  the CPU time every other process got over the same window, in cores: the busy
//               time of all CPUs in /proc/stat (everything but idle and iowait; steal counts,
//               since a hypervisor's other guests took it) minus this process's own.
//
// /proc/stat counts in clock ticks (USER_HZ, 10 ms on Linux), so other_load is only as exact
// as a tick per CPU over the window: weft-bench takes a window of a whole rep of a shape (every
// variant and thread count of it, a second or so), not of one ~10 ms run. Cheap: two syscalls
// and one read of /proc/stat per window. Linux only: elsewhere, or when /proc/stat cannot be
// read, other_load is absent and cpu_share alone is given.
#pragma once

#include <chrono>
#include <optional>

namespace weft::bench {

struct LoadSample {
  std::chrono::steady_clock::time_point wall;
  double self_cpu_s = 0;             // this process, user + sys
  std::optional<double> busy_cpu_s;  // all CPUs together (/proc/stat); nullopt: not known here
};

struct MachineLoad {
  double cpu_share = 0;              // cores' worth of CPU this process got
  std::optional<double> other_load;  // cores' worth everyone else got
};

LoadSample sample_load();

// The load between two samples; nullopt when no wall time passed.
std::optional<MachineLoad> load_between(const LoadSample& begin, const LoadSample& end);

}  // namespace weft::bench
