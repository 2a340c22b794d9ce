// Backend::create and the backend names: which backends this build has, and their names.
#include "io/backend.hpp"

#include "absl/status/status.h"

#if defined(__linux__)
#include "io/epoll_backend.hpp"
#include "io/uring_backend.hpp"
#endif

namespace weft {

namespace {
#if defined(__linux__)
constexpr IoBackend kBackends[] = {IoBackend::kEpoll, IoBackend::kUring};
#endif
}  // namespace

std::string_view io_backend_name(IoBackend io) {
  switch (io) {
    case IoBackend::kEpoll: return "epoll";
    case IoBackend::kUring: return "uring";
  }
  return "?";
}

std::optional<IoBackend> parse_io_backend(std::string_view name) {
  for (IoBackend b : io_backends()) {
    if (io_backend_name(b) == name) return b;
  }
  return std::nullopt;
}

std::span<const IoBackend> io_backends() { return kBackends; }

}  // namespace weft

namespace weft::io {

absl::StatusOr<std::unique_ptr<Backend>> Backend::create(IoBackend kind) {
  switch (kind) {
    case IoBackend::kEpoll: return EpollBackend::create();
    case IoBackend::kUring: return UringBackend::create();
  }
  return absl::InvalidArgumentError("weft: unknown I/O backend");
}

}  // namespace weft::io
