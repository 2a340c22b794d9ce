#include "machine_load.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>

namespace weft::bench {
namespace {

double seconds(const timeval& tv) { return static_cast<double>(tv.tv_sec) + tv.tv_usec * 1e-6; }

// The first line of /proc/stat: "cpu user nice system idle iowait irq softirq steal guest
// guest_nice", in ticks. guest and guest_nice are already inside user and nice, so they are
// left out; idle and iowait are the only time no process had the CPU.
std::optional<double> busy_cpu_seconds() {
#if defined(__linux__)
  std::FILE* f = std::fopen("/proc/stat", "r");
  if (f == nullptr) return std::nullopt;
  unsigned long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0,
                     steal = 0;
  const int got = std::fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &user, &nice,
                              &system, &idle, &iowait, &irq, &softirq, &steal);
  std::fclose(f);
  const long ticks_per_s = ::sysconf(_SC_CLK_TCK);
  if (got < 4 || ticks_per_s <= 0) return std::nullopt;
  const unsigned long long busy = user + nice + system + irq + softirq + steal;
  return static_cast<double>(busy) / static_cast<double>(ticks_per_s);
#else
  return std::nullopt;
#endif
}

}  // namespace

LoadSample sample_load() {
  LoadSample s;
  s.busy_cpu_s = busy_cpu_seconds();
  rusage ru{};
  if (::getrusage(RUSAGE_SELF, &ru) == 0) {
    s.self_cpu_s = seconds(ru.ru_utime) + seconds(ru.ru_stime);
  }
  s.wall = std::chrono::steady_clock::now();
  return s;
}

std::optional<MachineLoad> load_between(const LoadSample& begin, const LoadSample& end) {
  const double wall = std::chrono::duration<double>(end.wall - begin.wall).count();
  if (wall <= 0) return std::nullopt;
  MachineLoad load;
  const double self = end.self_cpu_s - begin.self_cpu_s;
  load.cpu_share = self / wall;
  if (begin.busy_cpu_s && end.busy_cpu_s) {
    load.other_load = (*end.busy_cpu_s - *begin.busy_cpu_s - self) / wall;
  }
  return load;
}

}  // namespace weft::bench
