#include "fd_limit.hpp"

#include <sys/resource.h>

#include "fmt/format.h"

namespace weft::harness {

std::uint64_t raise_open_file_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return static_cast<std::uint64_t>(limit.rlim_cur);
}

std::string open_file_shortfall(std::uint64_t needed, const std::string& what) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || needed <= limit.rlim_cur) return {};
  return fmt::format(
      "{} needs about {} file descriptors, but this process may open only {} (the hard limit "
      "is {}; raise it with `ulimit -Hn` as root or in /etc/security/limits.conf)",
      what, needed, static_cast<std::uint64_t>(limit.rlim_cur),
      static_cast<std::uint64_t>(limit.rlim_max));
}

}  // namespace weft::harness
