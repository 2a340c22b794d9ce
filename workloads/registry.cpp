// The list of workloads the harness can run.
#include <charconv>
#include <stdexcept>
#include <string>

#include "echo/echo.hpp"
#include "spawn_storm/spawn_storm.hpp"
#include "timer_churn/timer_churn.hpp"
#include "workload.hpp"

namespace weft::workloads {

std::span<const std::unique_ptr<Workload>> all_workloads() {
  static const std::vector<std::unique_ptr<Workload>> kAll = [] {
    std::vector<std::unique_ptr<Workload>> v;
    v.push_back(make_spawn_storm());
    v.push_back(make_echo());
    v.push_back(make_timer_churn());
    return v;
  }();
  return kAll;
}

const Workload* find_workload(std::string_view name) {
  for (const auto& w : all_workloads()) {
    if (w->name() == name) return w.get();
  }
  return nullptr;
}

std::int64_t param_int(const Params& params, std::string_view name) {
  auto it = params.find(name);
  if (it == params.end()) throw std::invalid_argument("missing parameter " + std::string(name));
  std::int64_t v = 0;
  const std::string& s = it->second;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) {
    throw std::invalid_argument("parameter " + std::string(name) + " is not an integer: " + s);
  }
  return v;
}

}  // namespace weft::workloads
