#include "machine_info.hpp"

#include <malloc.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <thread>

#include "fmt/format.h"

#ifndef WEFT_BUILD_TYPE
#define WEFT_BUILD_TYPE "unknown"
#endif

namespace weft::bench {
namespace {

std::string run_command(const char* cmd) {
  std::string out;
  FILE* pipe = ::popen(cmd, "r");
  if (pipe == nullptr) return out;
  std::array<char, 256> buf;
  while (std::fgets(buf.data(), buf.size(), pipe) != nullptr) out += buf.data();
  ::pclose(pipe);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

std::string git_sha() {
  if (const char* env = std::getenv("WEFT_GIT_SHA"); env != nullptr && *env != '\0') return env;
  std::string sha = run_command("git rev-parse --short=12 HEAD 2>/dev/null");
  if (sha.empty()) return "unknown";
  if (!run_command("git status --porcelain --untracked-files=no 2>/dev/null").empty()) {
    sha += "-dirty";
  }
  return sha;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) {
        std::string v = line.substr(colon + 1);
        v.erase(0, v.find_first_not_of(" \t"));
        return v;
      }
    }
  }
  return "unknown";
}

std::string compiler() {
#if defined(__clang__)
  return fmt::format("clang++ {}.{}.{}", __clang_major__, __clang_minor__, __clang_patchlevel__);
#elif defined(__GNUC__)
  return fmt::format("g++ {}.{}.{}", __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__);
#else
  return "unknown";
#endif
}

std::string build_type() {
  std::string b = WEFT_BUILD_TYPE;
#if defined(__SANITIZE_ADDRESS__)
  b += "+asan";
#elif defined(__SANITIZE_THREAD__)
  b += "+tsan";
#endif
  return b;
}

std::string format_utc(const char* pattern) {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  std::array<char, 32> buf;
  const std::size_t n = std::strftime(buf.data(), buf.size(), pattern, &tm);
  return std::string(buf.data(), n);
}

}  // namespace

MachineInfo read_machine_info() {
  MachineInfo m;
  m.git_sha = git_sha();
  std::array<char, 256> host{};
  if (::gethostname(host.data(), host.size() - 1) == 0) m.host = host.data();
  if (m.host.empty()) m.host = "unknown";
  m.cpu_model = cpu_model();
  m.cpus = std::thread::hardware_concurrency();
  m.compiler = compiler();
  m.build = build_type();
  return m;
}

void reset_peak_rss() {
  ::malloc_trim(0);
  // "5" resets VmHWM to the current RSS (proc(5), /proc/pid/clear_refs).
  std::ofstream("/proc/self/clear_refs") << "5";
}

std::uint64_t read_peak_rss_bytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10) * 1024;
  }
  return 0;
}

std::string utc_timestamp() { return format_utc("%Y-%m-%dT%H:%M:%SZ"); }
std::string utc_date() { return format_utc("%Y-%m-%d"); }

}  // namespace weft::bench
