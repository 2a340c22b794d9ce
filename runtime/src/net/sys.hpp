// The platform's socket calls, as the runtime uses them: one declaration here, one definition
// per platform (sys_posix.cpp for Linux, macOS and the BSDs; sys_win.cpp for Winsock), in the
// way libuv keeps src/unix/ and src/win/ apart. Errors are errno values everywhere: Winsock's
// WSAE* codes are mapped to the errno of the same meaning (WSAECONNRESET -> ECONNRESET), so the
// runtime's error handling, its Status codes and its messages are the same on every platform.
#pragma once

#include <string>

#include "weft/net/native_socket.hpp"
#include "weft/status.hpp"

namespace weft::net::sys {

// Whatever the platform needs before the first socket call (Windows: WSAStartup, once per
// process). FailedPrecondition with the reason when it cannot.
weft::Status start();

// A TCP socket of `family` the backends can drive: non-blocking and close-on-exec on POSIX,
// overlapped and not inheritable on Windows.
weft::StatusOr<NativeSocket> open_stream(int family);
void close(NativeSocket s);

// The last socket call's error, as an errno value.
int last_error();
// An errno value's text (strerror; on Windows a table for the socket errors, whose strerror
// says "Unknown error").
std::string error_text(int err);

// 0, or -1 with last_error() set.
int set_option(NativeSocket s, int level, int name, int value);
int shutdown_write(NativeSocket s);
int bind_and_listen(NativeSocket s, const sockaddr* addr, socklen_t len, int backlog);
int name_of(NativeSocket s, bool peer, sockaddr_storage* out, socklen_t* len);

}  // namespace weft::net::sys

#if defined(_WIN32)
namespace weft::net::sys {
// The errno value of the same meaning as a Winsock or Win32 error (WSAECONNRESET and
// ERROR_NETNAME_DELETED -> ECONNRESET, ERROR_OPERATION_ABORTED -> ECANCELED, ...); EIO for
// errors without one.
int errno_from_windows(unsigned long error);
}  // namespace weft::net::sys
#endif
