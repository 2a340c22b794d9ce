// The load generator's core, callable in-process: connect, run the client threads, merge.
//
// run_load() validates the config, resolves --host, opens every connection from the calling
// thread (connector.hpp), then splits them into --threads contiguous shares, one ClientThread
// each (the caller's thread runs share 0), and merges their RunStats after joining them. The
// measurement window opens --warmup seconds after the threads start and lasts --duration.
//
// Threads and data: the config, the Schedule and each thread's fds are written before the
// std::thread that reads them is constructed; each thread's RunStats is read only after join().
// Thread start and join are the only synchronization, so there are no atomics.
#pragma once

#include "absl/status/statusor.h"
#include "config.hpp"
#include "run_stats.hpp"

namespace weft::loadgen {

// InvalidArgument for a bad config or host; Unavailable / DeadlineExceeded when the connections
// could not all be opened. Errors during the run are counted in RunStats, not returned.
absl::StatusOr<RunStats> run_load(const LoadConfig& config);

// Every connection ended in an error before the run did: the server went away.
inline bool server_vanished(const RunStats& stats) {
  return stats.connections > 0 && stats.lost == stats.connections;
}

}  // namespace weft::loadgen
