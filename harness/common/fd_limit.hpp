// The open-file limit: a stock login's soft limit is often 1,024 while the hard limit is far
// higher. The harness's programs (weft-bench, weft-loadgen, weft-echo) and the test binaries
// raise the soft limit to the hard one at start, and a run that needs more descriptors than that
// says so before it starts, naming the limit, instead of failing halfway with EMFILE.
#pragma once

#include <cstdint>
#include <string>

namespace weft::harness {

// Raises RLIMIT_NOFILE's soft limit to its hard limit; returns the soft limit now in force.
std::uint64_t raise_open_file_limit();

// Empty when `needed` descriptors fit under the soft limit, else a message naming what needs
// them, the limit and how to raise it.
std::string open_file_shortfall(std::uint64_t needed, const std::string& what);

}  // namespace weft::harness
