// What a Runtime is built from, and what its shutdown reports.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

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

// The I/O backend behind the runtime's reactor (io/backend.hpp). On Linux both are compiled in
// and chosen here; elsewhere the one the platform has. kUring fails Runtime::create with
// FailedPrecondition (naming the reason) where the kernel refuses io_uring.
enum class IoBackend {
  kEpoll,  // readiness: try the syscall, park on EAGAIN, perform it when the fd is ready
  kUring,  // completion: the kernel performs the operation; one io_uring_enter per driver turn
};

// "epoll", "uring".
std::string_view io_backend_name(IoBackend io);
// The backend of that name, if this build has it.
std::optional<IoBackend> parse_io_backend(std::string_view name);
// The backends this build can run, in the order of IoBackend.
std::span<const IoBackend> io_backends();

struct RuntimeOptions {
  std::string variant = "mutex";  // a name from Runtime::variants()
  std::size_t workers = 1;        // ignored (1) for current_thread
  Flavor flavor = Flavor::kMultiThread;
  StealOverrides steal = {};
  IoBackend io = IoBackend::kEpoll;

  static RuntimeOptions multi_thread(std::size_t workers, std::string variant = "mutex",
                                     IoBackend io = IoBackend::kEpoll) {
    return {std::move(variant), workers, Flavor::kMultiThread, {}, io};
  }
  static RuntimeOptions current_thread(std::string variant = "mutex",
                                       IoBackend io = IoBackend::kEpoll) {
    return {std::move(variant), 1, Flavor::kCurrentThread, {}, io};
  }
};

struct ShutdownReport {
  std::uint64_t completed = 0;    // tasks that ran to completion while shutting down
  std::uint64_t cancelled = 0;    // frames destroyed: tasks suspended with nothing left to run
  bool deadline_exceeded = false; // the drain did not finish in time; the rest were destroyed
};

}  // namespace weft
