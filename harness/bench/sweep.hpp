// The sweep plan of weft-bench: every combination of shape, variant and thread count, repeated,
// validated up front so that a bad value fails before anything runs or is written.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "weft/runtime_options.hpp"
#include "workload.hpp"

namespace weft::bench {

struct SweepRequest {
  std::string workload;
  std::string shapes;    // comma list or "all"
  std::string variants;  // comma list of variants, peers and groups (all, peers, everything)
  std::string threads;   // comma list of positive integers; empty: 1..nproc
  std::string flavor;    // multi_thread | current_thread
  std::string reps;      // positive integer
  std::vector<std::string> params;  // "key=value" each
  std::string steal = "default";    // comma list of default, one, half
  std::string victim = "default";   // comma list of default, random, round_robin
  std::string backoff = "default";  // comma list of default, exp, none
  std::string io = "epoll";         // comma list of io_backends() names, or all
};

// One stealing-policy point of the sweep: overrides of the variant's preset.
struct PolicyPoint {
  StealOverrides overrides;
  bool is_default() const {
    return !overrides.amount && !overrides.victim && !overrides.backoff;
  }
};

struct Sweep {
  workloads::Workload* workload = nullptr;
  std::vector<std::string> shapes;
  std::vector<std::string> variants;
  std::vector<std::size_t> threads;
  Flavor flavor = Flavor::kMultiThread;
  int reps = 1;
  std::vector<std::string> overrides;  // "key=value" given on the command line, validated
  std::vector<PolicyPoint> policies;   // at least one (the presets)
  // The I/O backends, at least one, each once, in the order given. A workload that does not use
  // the reactor (Workload::uses_reactor) keeps the first alone; `io_narrowed` then says that
  // more were asked for.
  std::vector<IoBackend> ios;
  bool io_narrowed = false;
};

// InvalidArgument, naming the bad value and the valid ones, for any bad input.
absl::StatusOr<Sweep> plan_sweep(const SweepRequest& request);

// The parameter sets one shape runs with (defaults, then overrides; an override with a comma
// list of values sweeps them), and their CSV form.
std::vector<workloads::Params> params_for(const Sweep& sweep, const std::string& shape);
// `steal` and `io`: the Weft variant's stealing policy and I/O backend; nullopt for a peer,
// which has neither. A Weft row always names both ("...;backoff=exp;io=epoll").
std::string params_column(const workloads::Params& params, Flavor flavor,
                          const std::optional<variants::StealConfig>& steal,
                          std::optional<IoBackend> io);

// The CSV's variant column: the name alone for a preset, else "name:amount/victim/backoff";
// then "+<backend>" when the I/O backend is not the default (RuntimeOptions::io, epoll):
// "ring", "ring+uring", "mutex:one/random/exp+uring".
std::string variant_label(const std::string& variant, const PolicyPoint& policy,
                          const variants::StealConfig& steal, IoBackend io);

}  // namespace weft::bench
