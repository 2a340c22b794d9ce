// Production runtimes as rows of weft-bench (harness/peers/README.md): the table of peers, what
// each expresses, and the runner that starts a peer program and turns its report into the same
// RunResult a Weft variant gives. A peer is a variant name in the CSV (`tokio`, `go`, ...); its
// `build` column holds the peer's toolchain and version, and it has no scheduler counters.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "weft/runtime_options.hpp"
#include "workload.hpp"

namespace weft::bench {

struct PeerSpec {
  std::string_view name = {};       // the CSV's variant column and --variant's name
  std::string_view folder = {};     // harness/peers/<folder>; the program is weft-peer-<folder>
  std::string_view extra_arg = {};  // one more flag for the program ("" for none)
  std::vector<std::string_view> spawn_shapes = {};  // spawn_storm shapes it expresses
  bool echo = false;                 // serves the echo workload
  bool echo_one_thread = false;      // ... on one thread only (one event loop)
  bool current_thread = false;       // has a current_thread flavor
  std::string_view absent = {};      // why the shapes it lacks are absent
};

std::span<const PeerSpec> all_peers();
const PeerSpec* find_peer(std::string_view name);
std::vector<std::string> peer_names();

// Where the peer's program is: $WEFT_PEER_<FOLDER> if set, else the path baked in at build time.
std::string peer_program(const PeerSpec& peer);
// Why the peer cannot run on this machine (its toolchain was missing at build time, or its
// program is not there), or nullopt when it can.
std::optional<std::string> peer_unavailable(const PeerSpec& peer);
// Why the peer does not run this point of the sweep (a shape, flavor or thread count it does
// not express), or nullopt when it does.
std::optional<std::string> peer_skips(const PeerSpec& peer, std::string_view workload,
                                      std::string_view shape, std::size_t threads, Flavor flavor);

struct PeerRun {
  workloads::RunResult result;
  std::string build;                // the peer's toolchain and version, from its own report
  std::uint64_t peak_rss_bytes = 0;  // of the peer's process
};

// Runs one measurement in the peer's own process. An error means the run failed: the program
// exited non-zero (it names the reason on stderr), reported no result, or counted other units
// than Weft's workload would.
absl::StatusOr<PeerRun> run_peer(const PeerSpec& peer, const workloads::Workload& workload,
                                 std::string_view shape, const workloads::Params& params,
                                 std::size_t threads, Flavor flavor);

}  // namespace weft::bench
