// The workload interface: a workload is written once against weft::Runtime and reports named
// metrics. It contains no CSV, timing-loop or flag code: the harness (harness/bench) creates a
// fresh runtime per measurement, times `run`, and writes the rows.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "weft/runtime.hpp"

namespace weft::workloads {

struct ParamSpec {
  std::string name;
  std::string default_value;
  std::string help;
  std::vector<std::string> shapes;  // the shapes that use it
  std::int64_t max = 1'000'000'000;  // the largest value it takes (every value is >= 1)
};

// Resolved parameters: every parameter of the shape, defaults filled in, all validated.
using Params = std::map<std::string, std::string, std::less<>>;

struct Metric {
  std::string name;  // snake_case; the unit goes in `unit`
  double value;
  std::string unit;
};

struct RunResult {
  // Units of work done; the harness reports ns per unit and units per second from the wall time
  // of run(). `unit` is singular ("task"): metrics become ns_per_task and tasks_per_s.
  double units = 0;
  std::string unit;
  std::vector<Metric> metrics;  // anything else the workload measured itself
  // > 0: the workload timed its own measurement window (e.g. the load generator's, without the
  // connection set-up and warm-up); the harness computes the per-unit figures from it instead
  // of from run()'s wall time.
  double seconds = 0;
};

class Workload {
 public:
  virtual ~Workload() = default;
  virtual std::string_view name() const = 0;
  virtual std::string_view description() const = 0;
  virtual std::vector<std::string> shapes() const = 0;
  virtual std::vector<ParamSpec> params() const = 0;
  // Whether the harness runs `run` once untimed first (peak RSS from a trimmed heap, warm
  // caches). Workloads with their own warm-up (echo) say no: a run there costs seconds.
  virtual bool wants_cold_run() const { return true; }
  // Whether the workload's runs go through the reactor (sockets, timers), so that the I/O
  // backend (RuntimeOptions::io, weft-bench --io) is an axis of it. A workload that says no
  // runs at the first --io point of a sweep only.
  virtual bool uses_reactor() const { return true; }
  // Rules that join several parameters (a tree's leaves must be a power of its fanout), checked
  // by the harness before anything runs; each parameter's own range is its ParamSpec's.
  virtual absl::Status validate(std::string_view /*shape*/, const Params& /*params*/) const {
    return absl::OkStatus();
  }
  // File descriptors a run of `shape` holds in the harness's process at once (0: a handful); the
  // harness refuses, before it starts, a sweep that needs more than the open-file limit.
  virtual std::uint64_t descriptors_needed(std::string_view /*shape*/,
                                           const Params& /*params*/) const {
    return 0;
  }
  // The units `run` reports for `shape` with `params` when they follow from the parameters alone
  // (the harness holds a peer program's count to it: harness/peers); nullopt when they do not.
  virtual std::optional<double> expected_units(std::string_view /*shape*/,
                                               const Params& /*params*/) const {
    return std::nullopt;
  }
  // Runs one measurement of `shape` on `runtime`. An error means the run is invalid (e.g. a
  // wrong checksum), not merely slow.
  virtual absl::StatusOr<RunResult> run(Runtime& runtime, std::string_view shape,
                                        const Params& params) = 0;
};

// Every workload, in --list order.
std::span<const std::unique_ptr<Workload>> all_workloads();
const Workload* find_workload(std::string_view name);

// Reads a positive integer parameter (validated by the harness against the spec).
std::int64_t param_int(const Params& params, std::string_view name);

}  // namespace weft::workloads
