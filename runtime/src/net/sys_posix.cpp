// The socket calls of sys.hpp on POSIX systems (Linux, macOS, the BSDs).
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>
#if !defined(__linux__)
#include <fcntl.h>
#endif

#include <cerrno>
#include <cstring>

#include "net/sys.hpp"
#include "weft/io/errors.hpp"

namespace weft::net::sys {

weft::Status start() { return weft::OkStatus(); }

weft::StatusOr<NativeSocket> open_stream(int family) {
#if defined(__linux__)
  const int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return io::errno_status("socket", errno);
#else
  // macOS has no SOCK_NONBLOCK / SOCK_CLOEXEC: two fcntl calls.
  const int fd = ::socket(family, SOCK_STREAM, 0);
  if (fd < 0) return io::errno_status("socket", errno);
  if (::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK) != 0 ||
      ::fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
    const int err = errno;
    ::close(fd);
    return io::errno_status("fcntl", err);
  }
#if defined(SO_NOSIGPIPE)
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof(one));  // no MSG_NOSIGNAL on macOS
#endif
#endif
  return fd;
}

void close(NativeSocket s) { ::close(s); }

int last_error() { return errno; }

std::string error_text(int err) { return std::strerror(err); }

int set_option(NativeSocket s, int level, int name, int value) {
  return ::setsockopt(s, level, name, &value, sizeof(value));
}

int shutdown_write(NativeSocket s) { return ::shutdown(s, SHUT_WR); }

int bind_and_listen(NativeSocket s, const sockaddr* addr, socklen_t len, int backlog) {
  const int one = 1;
  if (::setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0) return -1;
  if (::bind(s, addr, len) != 0) return -1;
  return ::listen(s, backlog);
}

int name_of(NativeSocket s, bool peer, sockaddr_storage* out, socklen_t* len) {
  auto* sa = reinterpret_cast<sockaddr*>(out);
  return peer ? ::getpeername(s, sa, len) : ::getsockname(s, sa, len);
}

}  // namespace weft::net::sys
