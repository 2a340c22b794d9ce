#include "sweep.hpp"

#include <algorithm>
#include <optional>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "fd_limit.hpp"
#include "peers.hpp"
#include "weft/runtime.hpp"

namespace weft::bench {
namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  return absl::StrSplit(s, sep);
}

bool parse_positive(const std::string& s, long long& out) {
  std::int64_t v = 0;
  if (!absl::SimpleAtoi(s, &v) || v <= 0) return false;
  out = v;
  return true;
}

// "all" or a comma list, each item one of `valid`.
absl::StatusOr<std::vector<std::string>> pick(const std::string& flag, const std::string& value,
                                              const std::vector<std::string>& valid) {
  if (value == "all") return valid;
  std::vector<std::string> out;
  for (const std::string& item : split(value, ',')) {
    if (std::find(valid.begin(), valid.end(), item) == valid.end()) {
      return absl::InvalidArgumentError(fmt::format("unknown {} '{}'; valid: {} (or all)", flag,
                                                    item, fmt::join(valid, ", ")));
    }
    out.push_back(item);
  }
  return out;
}

// A comma list of Weft variants, peers (harness/peers) and the groups `all` (Weft's variants),
// `peers` and `everything`; each name once, in the order given.
absl::StatusOr<std::vector<std::string>> pick_variants(const std::string& value) {
  const auto names = Runtime::variants();
  const std::vector<std::string> weft(names.begin(), names.end());
  const std::vector<std::string> peers = peer_names();
  std::vector<std::string> out;
  auto add = [&](const std::vector<std::string>& items) {
    for (const std::string& item : items) {
      if (std::find(out.begin(), out.end(), item) == out.end()) out.push_back(item);
    }
  };
  for (const std::string& item : split(value, ',')) {
    if (item == "all") {
      add(weft);
    } else if (item == "peers") {
      add(peers);
    } else if (item == "everything") {
      add(weft);
      add(peers);
    } else if (std::find(weft.begin(), weft.end(), item) != weft.end() ||
               std::find(peers.begin(), peers.end(), item) != peers.end()) {
      add({item});
    } else {
      return absl::InvalidArgumentError(fmt::format(
          "unknown --variant '{}'; valid: {}; peers: {}; or the groups all (Weft's variants), "
          "peers, everything",
          item, fmt::join(weft, ", "), fmt::join(peers, ", ")));
    }
  }
  return out;
}

std::vector<std::string> io_names() {
  std::vector<std::string> names;
  for (IoBackend io : io_backends()) names.emplace_back(io_backend_name(io));
  return names;
}

// A comma list of I/O backends and the group `all` (every backend of this build); each once, in
// the order given.
absl::StatusOr<std::vector<IoBackend>> pick_ios(const std::string& value) {
  std::vector<IoBackend> out;
  auto add = [&](IoBackend io) {
    if (std::find(out.begin(), out.end(), io) == out.end()) out.push_back(io);
  };
  for (const std::string& item : split(value, ',')) {
    if (item == "all") {
      for (IoBackend io : io_backends()) add(io);
    } else if (std::optional<IoBackend> io = parse_io_backend(item)) {
      add(*io);
    } else {
      return absl::InvalidArgumentError(fmt::format("unknown --io '{}'; valid: {} (or all)", item,
                                                    fmt::join(io_names(), ", ")));
    }
  }
  return out;
}

// Every backend of the sweep starts a runtime here, if a Weft variant is swept at all (a peer
// has no Weft backend).
absl::Status check_ios_run_here(const Sweep& s) {
  const auto weft = std::find_if(s.variants.begin(), s.variants.end(),
                                 [](const std::string& v) { return find_peer(v) == nullptr; });
  if (weft == s.variants.end()) return absl::OkStatus();
  for (IoBackend io : s.ios) {
    auto rt = Runtime::create(RuntimeOptions::current_thread(*weft, io));
    if (!rt.ok()) {
      return absl::InvalidArgumentError(fmt::format("--io {} cannot run here: {}",
                                                    io_backend_name(io), rt.status().ToString()));
    }
    (*rt)->shutdown();
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Sweep> plan_sweep(const SweepRequest& r) {
  Sweep s;
  std::vector<std::string> workload_names;
  for (const auto& w : workloads::all_workloads()) workload_names.emplace_back(w->name());
  for (const auto& w : workloads::all_workloads()) {
    if (w->name() == r.workload) s.workload = w.get();
  }
  if (s.workload == nullptr) {
    return absl::InvalidArgumentError(fmt::format("unknown --workload '{}'; valid: {}",
                                                  r.workload, fmt::join(workload_names, ", ")));
  }

  auto shapes = pick("--shape", r.shapes, s.workload->shapes());
  if (!shapes.ok()) return shapes.status();
  s.shapes = *std::move(shapes);

  auto variants = pick_variants(r.variants);
  if (!variants.ok()) return variants.status();
  s.variants = *std::move(variants);

  if (r.flavor == "multi_thread") {
    s.flavor = Flavor::kMultiThread;
  } else if (r.flavor == "current_thread") {
    s.flavor = Flavor::kCurrentThread;
  } else {
    return absl::InvalidArgumentError(
        fmt::format("unknown --flavor '{}'; valid: multi_thread, current_thread", r.flavor));
  }

  if (s.flavor == Flavor::kCurrentThread) {
    s.threads = {1};
  } else if (r.threads.empty()) {
    const unsigned n = std::max(1u, std::thread::hardware_concurrency());
    for (std::size_t t = 1; t <= n; ++t) s.threads.push_back(t);
  } else {
    for (const std::string& item : split(r.threads, ',')) {
      long long t = 0;
      if (!parse_positive(item, t) || t > 4096) {
        return absl::InvalidArgumentError(fmt::format(
            "bad --threads value '{}'; valid: a comma list of worker counts from 1 to 4096",
            item));
      }
      s.threads.push_back(static_cast<std::size_t>(t));
    }
  }

  long long reps = 0;
  if (!parse_positive(r.reps, reps) || reps > 1000) {
    return absl::InvalidArgumentError(
        fmt::format("bad --reps value '{}'; valid: an integer from 1 to 1000", r.reps));
  }
  s.reps = static_cast<int>(reps);

  // Stealing-policy axes: the cartesian product of the three lists.
  std::vector<std::optional<variants::StealAmount>> amounts;
  for (const std::string& v : split(r.steal, ',')) {
    if (v == "default") amounts.emplace_back();
    else if (v == "one") amounts.emplace_back(variants::StealAmount::kOne);
    else if (v == "half") amounts.emplace_back(variants::StealAmount::kHalf);
    else return absl::InvalidArgumentError(
        fmt::format("unknown --steal '{}'; valid: default, one, half", v));
  }
  std::vector<std::optional<variants::VictimOrder>> victims;
  for (const std::string& v : split(r.victim, ',')) {
    if (v == "default") victims.emplace_back();
    else if (v == "random") victims.emplace_back(variants::VictimOrder::kRandom);
    else if (v == "round_robin") victims.emplace_back(variants::VictimOrder::kRoundRobin);
    else return absl::InvalidArgumentError(
        fmt::format("unknown --victim '{}'; valid: default, random, round_robin", v));
  }
  std::vector<std::optional<variants::BackoffMode>> backoffs;
  for (const std::string& v : split(r.backoff, ',')) {
    if (v == "default") backoffs.emplace_back();
    else if (v == "exp") backoffs.emplace_back(variants::BackoffMode::kExponential);
    else if (v == "none") backoffs.emplace_back(variants::BackoffMode::kNone);
    else return absl::InvalidArgumentError(
        fmt::format("unknown --backoff '{}'; valid: default, exp, none", v));
  }
  for (const auto& a : amounts) {
    for (const auto& v : victims) {
      for (const auto& b : backoffs) s.policies.push_back(PolicyPoint{{a, v, b}});
    }
  }

  // The I/O backend axis: names of io_backends(), or all of them; each once, in the order given.
  auto ios = pick_ios(r.io);
  if (!ios.ok()) return ios.status();
  s.ios = *std::move(ios);
  if (!s.workload->uses_reactor() && s.ios.size() > 1) {
    s.ios.resize(1);
    s.io_narrowed = true;
  }

  // Every --param before anything runs or is written: a known key, given once, used by a shape
  // of the sweep, each value inside the parameter's range; then each shape's points as a whole.
  const auto specs = s.workload->params();
  std::vector<std::string> spec_names;
  for (const auto& p : specs) spec_names.push_back(p.name);
  std::vector<std::string> seen;
  for (const std::string& kv : r.params) {
    const auto eq = kv.find('=');
    const std::string key = kv.substr(0, eq);
    const auto spec = std::find_if(specs.begin(), specs.end(),
                                   [&](const workloads::ParamSpec& p) { return p.name == key; });
    if (eq == std::string::npos || spec == specs.end()) {
      return absl::InvalidArgumentError(
          fmt::format("bad --param '{}' for workload {}; valid: key=value with key one of {}", kv,
                      r.workload, fmt::join(spec_names, ", ")));
    }
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
      return absl::InvalidArgumentError(fmt::format(
          "--param {} is given twice; give it once, with a comma list to sweep values", key));
    }
    seen.push_back(key);
    if (std::none_of(s.shapes.begin(), s.shapes.end(), [&](const std::string& shape) {
          return std::find(spec->shapes.begin(), spec->shapes.end(), shape) != spec->shapes.end();
        })) {
      return absl::InvalidArgumentError(
          fmt::format("--param {} is used by none of the shapes swept ({}); it is a parameter "
                      "of {}",
                      key, fmt::join(s.shapes, ", "), fmt::join(spec->shapes, ", ")));
    }
    for (const std::string& value : split(kv.substr(eq + 1), ',')) {
      long long v = 0;
      if (!parse_positive(value, v) || v > spec->max) {
        return absl::InvalidArgumentError(
            fmt::format("bad --param '{}': {} takes integers from 1 to {} (or a comma list of "
                        "them)",
                        kv, key, spec->max));
      }
    }
    s.overrides.push_back(kv);
  }
  for (const std::string& shape : s.shapes) {
    for (const workloads::Params& point : params_for(s, shape)) {
      if (absl::Status v = s.workload->validate(shape, point); !v.ok()) {
        return absl::InvalidArgumentError(fmt::format("bad --param for {}/{}: {}", r.workload,
                                                      shape, std::string(v.message())));
      }
      const std::string why = harness::open_file_shortfall(
          s.workload->descriptors_needed(shape, point), fmt::format("{}/{}", r.workload, shape));
      if (!why.empty()) return absl::InvalidArgumentError(why);
    }
  }

  // A backend the kernel refuses (io_uring disabled, seccomp) fails here, before anything runs,
  // rather than in the middle of the sweep.
  if (absl::Status st = check_ios_run_here(s); !st.ok()) return st;
  return s;
}

std::vector<workloads::Params> params_for(const Sweep& sweep, const std::string& shape) {
  std::vector<workloads::Params> points(1);
  for (const auto& spec : sweep.workload->params()) {
    if (std::find(spec.shapes.begin(), spec.shapes.end(), shape) != spec.shapes.end()) {
      points[0][spec.name] = spec.default_value;
    }
  }
  // Each override replaces a default; a comma list multiplies the points (cartesian product).
  for (const std::string& kv : sweep.overrides) {
    const auto eq = kv.find('=');
    const std::string key = kv.substr(0, eq);
    if (!points[0].contains(key)) continue;  // a parameter of another shape
    std::vector<workloads::Params> next;
    for (const std::string& value : split(kv.substr(eq + 1), ',')) {
      for (workloads::Params p : points) {
        p[key] = value;
        next.push_back(std::move(p));
      }
    }
    points = std::move(next);
  }
  return points;
}

std::string params_column(const workloads::Params& params, Flavor flavor,
                          const std::optional<variants::StealConfig>& steal,
                          std::optional<IoBackend> io) {
  std::vector<std::string> kvs;
  for (const auto& [k, v] : params) kvs.push_back(k + "=" + v);
  if (flavor == Flavor::kCurrentThread) kvs.emplace_back("flavor=current_thread");
  if (steal) {
    kvs.push_back(fmt::format("steal={}", to_string(steal->amount)));
    kvs.push_back(fmt::format("victim={}", to_string(steal->victim)));
    kvs.push_back(fmt::format("backoff={}", to_string(steal->backoff)));
  }
  if (io) kvs.push_back(fmt::format("io={}", io_backend_name(*io)));
  return fmt::format("{}", fmt::join(kvs, ";"));
}

std::string variant_label(const std::string& variant, const PolicyPoint& policy,
                          const variants::StealConfig& steal, IoBackend io) {
  std::string label = policy.is_default()
                          ? variant
                          : fmt::format("{}:{}/{}/{}", variant, to_string(steal.amount),
                                        to_string(steal.victim), to_string(steal.backoff));
  if (io != RuntimeOptions{}.io) label += fmt::format("+{}", io_backend_name(io));
  return label;
}

}  // namespace weft::bench
