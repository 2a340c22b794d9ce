#include "fd_limit.hpp"

#include <sys/resource.h>

#include <climits>
#include <string>

// No fmt here: the TCP load test compiles this file on macOS and the BSDs too, where the
// harness's libraries are not built (tests/CMakeLists.txt).

namespace weft::harness {

std::uint64_t raise_open_file_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
#if defined(__APPLE__)
    // macOS refuses a soft limit above OPEN_MAX, and its hard limit is often "unlimited".
    if (raised.rlim_cur > OPEN_MAX) raised.rlim_cur = OPEN_MAX;
#endif
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return static_cast<std::uint64_t>(limit.rlim_cur);
}

std::string open_file_shortfall(std::uint64_t needed, const std::string& what) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || needed <= limit.rlim_cur) return {};
  return what + " needs about " + std::to_string(needed) +
         " file descriptors, but this process may open only " +
         std::to_string(static_cast<std::uint64_t>(limit.rlim_cur)) + " (the hard limit is " +
         std::to_string(static_cast<std::uint64_t>(limit.rlim_max)) +
         "; raise it with `ulimit -Hn` as root or in /etc/security/limits.conf)";
}

}  // namespace weft::harness
