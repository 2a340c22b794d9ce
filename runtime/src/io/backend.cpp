// Backend::create and the backend names: which backends this build has, and their names.
#include "io/backend.hpp"

#include <string>

#include "weft/status.hpp"

#if defined(__linux__)
#include "io/epoll_backend.hpp"
#include "io/uring_backend.hpp"
#elif defined(_WIN32)
#include "io/iocp_backend.hpp"
#endif
#if defined(WEFT_HAVE_KQUEUE)
#include "io/kqueue_backend.hpp"
#endif

namespace weft {

namespace {
#if defined(__linux__) && defined(WEFT_HAVE_KQUEUE)
constexpr IoBackend kBackends[] = {IoBackend::kEpoll, IoBackend::kUring, IoBackend::kKqueue};
#elif defined(__linux__)
constexpr IoBackend kBackends[] = {IoBackend::kEpoll, IoBackend::kUring};
#elif defined(_WIN32)
constexpr IoBackend kBackends[] = {IoBackend::kIocp};
#else
constexpr IoBackend kBackends[] = {IoBackend::kKqueue};
#endif
static_assert(kBackends[0] == kDefaultIoBackend);
}  // namespace

std::string_view io_backend_name(IoBackend io) {
  switch (io) {
    case IoBackend::kEpoll: return "epoll";
    case IoBackend::kUring: return "uring";
    case IoBackend::kIocp: return "iocp";
    case IoBackend::kKqueue: return "kqueue";
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

weft::StatusOr<std::unique_ptr<Backend>> Backend::create(IoBackend kind) {
  switch (kind) {
#if defined(__linux__)
    case IoBackend::kEpoll: return EpollBackend::create();
    case IoBackend::kUring: return UringBackend::create();
#elif defined(_WIN32)
    case IoBackend::kIocp: return IocpBackend::create();
#endif
#if defined(WEFT_HAVE_KQUEUE)
    case IoBackend::kKqueue: return KqueueBackend::create();
#endif
    default: break;
  }
  std::string have;
  for (IoBackend b : io_backends()) have += (have.empty() ? "" : ", ") + std::string(io_backend_name(b));
  return weft::InvalidArgumentError("weft: this build has no " +
                                    std::string(io_backend_name(kind)) +
                                    " I/O backend (it has: " + have + ")");
}

}  // namespace weft::io
