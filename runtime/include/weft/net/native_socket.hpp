// NativeSocket: the operating system's socket handle, and the headers that declare sockaddr.
//
//   POSIX (Linux, macOS, the BSDs)  int, a file descriptor; -1 is none
//   Windows                         SOCKET (an unsigned pointer-sized handle); INVALID_SOCKET
//
// The runtime's public API names sockets by this type (TcpStream::native_handle) and everything
// else about sockets is the same on every platform.
#pragma once

#include <cstdint>

#if defined(_WIN32)
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#endif

namespace weft::net {

#if defined(_WIN32)
using NativeSocket = SOCKET;
inline constexpr NativeSocket kNoSocket = INVALID_SOCKET;
#else
using NativeSocket = int;
inline constexpr NativeSocket kNoSocket = -1;
#endif

}  // namespace weft::net
