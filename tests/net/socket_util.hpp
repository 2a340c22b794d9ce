// The few raw socket and process calls the tests make beside the runtime's API, one spelling for
// Linux and Windows (make test-windows): the process's open descriptor or handle count, an
// errno's text as the runtime words it, an abortive close, a one-byte send, and a bound socket
// that does not listen. Built on the runtime's own platform layer (net/sys.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "net/sys.hpp"
#include "weft/net/native_socket.hpp"

#if defined(_WIN32)
#include <windows.h>
#else
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>
#endif

#include "weft/net/address.hpp"

namespace weft_test {

using weft::net::NativeSocket;

// Whether this process runs under Wine (make test-windows) rather than on Windows itself.
inline bool under_wine() {
#if defined(_WIN32)
  static const bool wine =
      ::GetProcAddress(::GetModuleHandleW(L"ntdll.dll"), "wine_get_version") != nullptr;
  return wine;
#else
  return false;
#endif
}

// POSIX: entries of /proc/self/fd (macOS: /dev/fd), not counting the one that reading the directory
// opens; -1 if the directory cannot be opened (out of fds). Windows: the open sockets, since a
// process's other handles come and go with threads and Winsock's own start-up (and Wine 8's
// GetProcessHandleCount always says 0): each multiple of 4 that GetHandleInformation accepts and
// getsockopt(SO_TYPE) calls a socket, until 4,096 values in a row are not handles (handle values
// are handed out lowest free first, so the table has no wider gaps).
inline int open_fd_count() {
#if defined(_WIN32)
  int count = 0;
  DWORD flags = 0;
  for (ULONG_PTR h = 4, gap = 0; gap < 4096; h += 4) {
    if (!::GetHandleInformation(reinterpret_cast<HANDLE>(h), &flags)) {
      ++gap;
      continue;
    }
    gap = 0;
    int type = 0;
    int len = sizeof(type);
    if (::getsockopt(static_cast<SOCKET>(h), SOL_SOCKET, SO_TYPE, reinterpret_cast<char*>(&type),
                     &len) == 0) {
      ++count;
    }
  }
  return count;
#else
#if defined(__linux__)
  DIR* dir = ::opendir("/proc/self/fd");
#else
  DIR* dir = ::opendir("/dev/fd");  // macOS; a BSD with fdescfs mounted
#endif
  if (dir == nullptr) return -1;
  int n = 0;
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(dir);
  return n - 1;
#endif
}

// An errno value's text as the runtime's messages carry it (strerror on POSIX; on Windows the
// runtime's table, since msvcrt has no text for the socket errors).
inline std::string error_text(int err) { return weft::net::sys::error_text(err); }

// Wine 8 reports a peer's reset as EOF when the reset is already there as the recv starts (a
// plain blocking recv returns 0 there too, after the data that came before it); Linux and
// Windows itself fail the read with ECONNRESET. True for such a read under Wine.
inline bool wine_read_a_reset_as_eof(const weft::StatusOr<std::size_t>& read) {
  return under_wine() && read.ok() && *read == 0;
}

// The next close of `s` sends a reset (SO_LINGER on, 0 s), not a FIN. 0 or -1.
inline int reset_on_close(NativeSocket s) {
  const linger abortive{1, 0};
  return ::setsockopt(s, SOL_SOCKET, SO_LINGER, reinterpret_cast<const char*>(&abortive),
                      sizeof(abortive));
}

// A plain blocking socket connected to `addr` (a client outside the runtime), or kNoSocket with
// the errno in *err.
inline NativeSocket blocking_connect(const weft::net::SocketAddress& addr, int* err) {
#if defined(_WIN32)
  const NativeSocket s = ::socket(addr.family(), SOCK_STREAM, IPPROTO_TCP);
#else
  const NativeSocket s = ::socket(addr.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
#endif
  if (s == weft::net::kNoSocket || ::connect(s, addr.native(), addr.native_len()) != 0) {
    *err = weft::net::sys::last_error();
    if (s != weft::net::kNoSocket) weft::net::sys::close(s);
    return weft::net::kNoSocket;
  }
  return s;
}

inline void set_nonblocking(NativeSocket s) {
#if defined(_WIN32)
  u_long on = 1;
  ::ioctlsocket(s, FIONBIO, &on);
#else
  ::fcntl(s, F_SETFL, ::fcntl(s, F_GETFL) | O_NONBLOCK);
#endif
}

// poll(2) over sockets (WSAPoll on Windows; an entry whose fd is kNoSocket is skipped on both).
inline int poll_sockets(pollfd* fds, std::size_t n, int timeout_ms) {
#if defined(_WIN32)
  return ::WSAPoll(fds, static_cast<ULONG>(n), timeout_ms);
#else
  return ::poll(fds, n, timeout_ms);
#endif
}

// recv and send of a non-blocking socket (send without SIGPIPE): bytes, or -1 with the errno
// in *err.
inline long recv_some(NativeSocket s, void* buf, std::size_t len, int* err) {
  const long r = ::recv(s, static_cast<char*>(buf), static_cast<int>(len), 0);
  if (r < 0) *err = weft::net::sys::last_error();
  return r;
}
inline long send_some(NativeSocket s, const void* buf, std::size_t len, int* err) {
#if defined(_WIN32)
  const long w = ::send(s, static_cast<const char*>(buf), static_cast<int>(len), 0);
#else
  const long w = ::send(s, buf, len, MSG_NOSIGNAL);
#endif
  if (w < 0) *err = weft::net::sys::last_error();
  return w;
}

// One byte, without SIGPIPE on a closed peer; what send returned.
inline long send_byte(NativeSocket s, char byte) {
  int err = 0;
  return send_some(s, &byte, 1, &err);
}

// A TCP socket bound to the loopback address of `family` on a port the kernel picks, not
// listening: nothing else can take the port and a connect to it is refused. kNoSocket when the
// address cannot be bound (e.g. ::1 is not configured).
class BoundSocket {
 public:
  explicit BoundSocket(int family) {
    weft::StatusOr<NativeSocket> s = weft::net::sys::open_stream(family);
    if (!s.ok()) return;
    sockaddr_storage a{};
    socklen_t len = 0;
    if (family == AF_INET6) {
      auto* in6 = reinterpret_cast<sockaddr_in6*>(&a);
      in6->sin6_family = AF_INET6;
      in6->sin6_addr = in6addr_loopback;
      len = sizeof(sockaddr_in6);
    } else {
      auto* in4 = reinterpret_cast<sockaddr_in*>(&a);
      in4->sin_family = AF_INET;
      in4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      len = sizeof(sockaddr_in);
    }
    if (::bind(*s, reinterpret_cast<const sockaddr*>(&a), len) != 0 ||
        weft::net::sys::name_of(*s, /*peer=*/false, &a, &len) != 0) {
      weft::net::sys::close(*s);
      return;
    }
    socket_ = *s;
    port_ = ntohs(family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&a)->sin6_port
                                     : reinterpret_cast<sockaddr_in*>(&a)->sin_port);
  }
  ~BoundSocket() {
    if (socket_ != weft::net::kNoSocket) weft::net::sys::close(socket_);
  }
  BoundSocket(const BoundSocket&) = delete;
  BoundSocket& operator=(const BoundSocket&) = delete;

  bool ok() const { return socket_ != weft::net::kNoSocket; }
  std::uint16_t port() const { return port_; }

 private:
  NativeSocket socket_ = weft::net::kNoSocket;
  std::uint16_t port_ = 0;
};

}  // namespace weft_test
