// The socket calls of sys.hpp on Windows (Winsock 2). Sockets are created overlapped for the
// IOCP backend and not inheritable; Winsock's errors become errno values (sys.hpp).
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "net/sys.hpp"
#include "weft/io/errors.hpp"

namespace weft::net::sys {

weft::Status start() {
  static std::once_flag once;
  static int result = 0;
  std::call_once(once, [] {
    WSADATA data;
    result = ::WSAStartup(MAKEWORD(2, 2), &data);
  });
  if (result != 0) {
    return weft::FailedPreconditionError("weft: WSAStartup failed: " +
                                         error_text(errno_from_windows(result)));
  }
  return weft::OkStatus();
}

weft::StatusOr<NativeSocket> open_stream(int family) {
  if (weft::Status st = start(); !st.ok()) return st;
  const SOCKET s = ::WSASocketW(family, SOCK_STREAM, IPPROTO_TCP, nullptr, 0,
                                WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
  if (s == INVALID_SOCKET) return io::errno_status("socket", last_error());
  return s;
}

void close(NativeSocket s) { ::closesocket(s); }

int last_error() { return errno_from_windows(static_cast<unsigned long>(::WSAGetLastError())); }

int errno_from_windows(unsigned long error) {
  switch (error) {
    case 0: return 0;
    case WSAEINTR: return EINTR;
    case WSAEBADF: case WSAENOTSOCK: case ERROR_INVALID_HANDLE: return EBADF;
    case WSAEACCES: case ERROR_ACCESS_DENIED: return EACCES;
    case WSAEFAULT: return EFAULT;
    case WSAEINVAL: case ERROR_INVALID_PARAMETER: return EINVAL;
    case WSAEMFILE: case ERROR_TOO_MANY_OPEN_FILES: return EMFILE;
    case WSAEWOULDBLOCK: return EAGAIN;
    case WSAEINPROGRESS: return EINPROGRESS;
    case WSAEALREADY: return EALREADY;
    case WSAEDESTADDRREQ: return EDESTADDRREQ;
    case WSAEMSGSIZE: return EMSGSIZE;
    case WSAEPROTOTYPE: return EPROTOTYPE;
    case WSAENOPROTOOPT: return ENOPROTOOPT;
    case WSAEPROTONOSUPPORT: return EPROTONOSUPPORT;
    case WSAEOPNOTSUPP: return EOPNOTSUPP;
    case WSAEAFNOSUPPORT: return EAFNOSUPPORT;
    case WSAEADDRINUSE: return EADDRINUSE;
    case WSAEADDRNOTAVAIL: return EADDRNOTAVAIL;
    case WSAENETDOWN: return ENETDOWN;
    case WSAENETUNREACH: case ERROR_NETWORK_UNREACHABLE: return ENETUNREACH;
    case WSAENETRESET: return ENETRESET;
    case WSAECONNABORTED: case ERROR_CONNECTION_ABORTED: case ERROR_REQUEST_ABORTED:
      return ECONNABORTED;
    case WSAECONNRESET: case ERROR_NETNAME_DELETED: return ECONNRESET;
    case WSAENOBUFS: case ERROR_NOT_ENOUGH_MEMORY: case ERROR_NO_SYSTEM_RESOURCES: return ENOBUFS;
    case WSAEISCONN: return EISCONN;
    case WSAENOTCONN: return ENOTCONN;
    case WSAESHUTDOWN: case ERROR_BROKEN_PIPE: return EPIPE;
    case WSAETIMEDOUT: case ERROR_SEM_TIMEOUT: return ETIMEDOUT;
    case WSAECONNREFUSED: case ERROR_CONNECTION_REFUSED: case ERROR_PORT_UNREACHABLE:
      return ECONNREFUSED;
    case WSAEHOSTUNREACH: case ERROR_HOST_UNREACHABLE: return EHOSTUNREACH;
    case WSA_OPERATION_ABORTED: return ECANCELED;  // == ERROR_OPERATION_ABORTED
    default: return EIO;
  }
}

std::string error_text(int err) {
  // msvcrt's strerror knows the C errnos but not the POSIX socket ones ("Unknown error"):
  // these are glibc's texts, so messages read the same on both platforms.
  switch (err) {
    case EADDRINUSE: return "Address already in use";
    case EADDRNOTAVAIL: return "Cannot assign requested address";
    case EAFNOSUPPORT: return "Address family not supported by protocol";
    case EALREADY: return "Operation already in progress";
    case ECANCELED: return "Operation canceled";
    case ECONNABORTED: return "Software caused connection abort";
    case ECONNREFUSED: return "Connection refused";
    case ECONNRESET: return "Connection reset by peer";
    case EDESTADDRREQ: return "Destination address required";
    case EHOSTUNREACH: return "No route to host";
    case EINPROGRESS: return "Operation now in progress";
    case EISCONN: return "Transport endpoint is already connected";
    case EMSGSIZE: return "Message too long";
    case ENETDOWN: return "Network is down";
    case ENETRESET: return "Network dropped connection on reset";
    case ENETUNREACH: return "Network is unreachable";
    case ENOBUFS: return "No buffer space available";
    case ENOPROTOOPT: return "Protocol not available";
    case ENOTCONN: return "Transport endpoint is not connected";
    case ENOTSOCK: return "Socket operation on non-socket";
    case EOPNOTSUPP: return "Operation not supported";
    case EPROTONOSUPPORT: return "Protocol not supported";
    case EPROTOTYPE: return "Protocol wrong type for socket";
    case ETIMEDOUT: return "Connection timed out";
    case EWOULDBLOCK: return "Resource temporarily unavailable";
    case EPIPE: return "Broken pipe";
    case EMFILE: return "Too many open files";
    case EBADF: return "Bad file descriptor";
    case EINVAL: return "Invalid argument";
    case EBUSY: return "Device or resource busy";
    default: return std::strerror(err);
  }
}

int set_option(NativeSocket s, int level, int name, int value) {
  const DWORD v = static_cast<DWORD>(value);
  return ::setsockopt(s, level, name, reinterpret_cast<const char*>(&v), sizeof(v)) == 0 ? 0 : -1;
}

int shutdown_write(NativeSocket s) { return ::shutdown(s, SD_SEND) == 0 ? 0 : -1; }

int bind_and_listen(NativeSocket s, const sockaddr* addr, socklen_t len, int backlog) {
  // Windows' SO_REUSEADDR lets a second socket steal a bound port; SO_EXCLUSIVEADDRUSE is what
  // POSIX's default is. A closed listener's port is free again at once on Windows.
  const BOOL one = TRUE;
  if (::setsockopt(s, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, reinterpret_cast<const char*>(&one),
                   sizeof(one)) != 0) {
    return -1;
  }
  if (::bind(s, addr, len) != 0) return -1;
  return ::listen(s, backlog) == 0 ? 0 : -1;
}

int name_of(NativeSocket s, bool peer, sockaddr_storage* out, socklen_t* len) {
  auto* sa = reinterpret_cast<sockaddr*>(out);
  return (peer ? ::getpeername(s, sa, len) : ::getsockname(s, sa, len)) == 0 ? 0 : -1;
}

}  // namespace weft::net::sys
