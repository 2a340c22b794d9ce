// What a Runtime is built from, and what its shutdown reports.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "weft/variants/steal.hpp"

namespace weft {

enum class Flavor {
  kMultiThread,    // `workers` threads run the worker loop
  kCurrentThread,  // no threads: the thread inside block_on (or shutdown) runs the loop
};

// Overrides of a variant's stealing preset (variants/steal.hpp); unset keeps the preset.
struct StealOverrides {
  std::optional<variants::StealAmount> amount;
  std::optional<variants::VictimOrder> victim;
  std::optional<variants::BackoffMode> backoff;
};

struct RuntimeOptions {
  std::string variant = "mutex";  // a name from Runtime::variants()
  std::size_t workers = 1;        // ignored (1) for current_thread
  Flavor flavor = Flavor::kMultiThread;
  StealOverrides steal = {};

  static RuntimeOptions multi_thread(std::size_t workers, std::string variant = "mutex") {
    return {std::move(variant), workers, Flavor::kMultiThread, {}};
  }
  static RuntimeOptions current_thread(std::string variant = "mutex") {
    return {std::move(variant), 1, Flavor::kCurrentThread, {}};
  }
};

struct ShutdownReport {
  std::uint64_t completed = 0;    // tasks that ran to completion while shutting down
  std::uint64_t cancelled = 0;    // frames destroyed: tasks suspended with nothing left to run
  bool deadline_exceeded = false; // the drain did not finish in time; the rest were destroyed
};

}  // namespace weft
