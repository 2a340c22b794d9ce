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

// The I/O backend behind the runtime's reactor (io/backend.hpp). A build has its platform's:
//   Linux    epoll (the default) and io_uring, both compiled in and chosen here; kUring fails
//            Runtime::create with FailedPrecondition (naming the reason) where the kernel
//            refuses io_uring
//   Windows  IOCP
//   macOS, the BSDs  kqueue
// Asking for one the build does not have fails Runtime::create with InvalidArgument.
enum class IoBackend {
  kEpoll,   // readiness: try the syscall, park on EAGAIN, perform it when the fd is ready
  kUring,   // completion: the kernel performs the operation; one io_uring_enter per driver turn
  kIocp,    // completion: overlapped Winsock calls reaped from one I/O completion port
  kKqueue,  // readiness, as epoll, through kevent
};

// "epoll", "uring", "iocp", "kqueue".
std::string_view io_backend_name(IoBackend io);
// The backend of that name, if this build has it.
std::optional<IoBackend> parse_io_backend(std::string_view name);
// The backends this build can run, in the order of IoBackend; the first is the default.
std::span<const IoBackend> io_backends();

// This platform's default backend (the first of io_backends()).
#if defined(_WIN32)
inline constexpr IoBackend kDefaultIoBackend = IoBackend::kIocp;
#elif defined(__linux__)
inline constexpr IoBackend kDefaultIoBackend = IoBackend::kEpoll;
#else
inline constexpr IoBackend kDefaultIoBackend = IoBackend::kKqueue;
#endif

struct RuntimeOptions {
  std::string variant = "mutex";  // a name from Runtime::variants()
  std::size_t workers = 1;        // ignored (1) for current_thread
  Flavor flavor = Flavor::kMultiThread;
  StealOverrides steal = {};
  IoBackend io = kDefaultIoBackend;

  static RuntimeOptions multi_thread(std::size_t workers, std::string variant = "mutex",
                                     IoBackend io = kDefaultIoBackend) {
    return {std::move(variant), workers, Flavor::kMultiThread, {}, io};
  }
  static RuntimeOptions current_thread(std::string variant = "mutex",
                                       IoBackend io = kDefaultIoBackend) {
    return {std::move(variant), 1, Flavor::kCurrentThread, {}, io};
  }
};

struct ShutdownReport {
  std::uint64_t completed = 0;    // tasks that ran to completion while shutting down
  std::uint64_t cancelled = 0;    // frames destroyed: tasks suspended with nothing left to run
  bool deadline_exceeded = false; // the drain did not finish in time; the rest were destroyed
};

}  // namespace weft
