// IocpBackend: the completion port, overlapped issue, reaping and cancellation
// (iocp_backend.hpp).
//
// Synchronization map:
//   [W1] relaxed RMW of the registered-source count (see iocp_backend.hpp).
#include "io/iocp_backend.hpp"

#include <ws2tcpip.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>

#include "net/sys.hpp"
#include "weft/io/errors.hpp"

namespace weft::io {

namespace {

constexpr ULONG_PTR kSocketKey = 1;  // every socket's packets
constexpr ULONG_PTR kWakeKey = 2;    // interrupt()'s packet
constexpr ULONG kBatch = 128;        // completions one GetQueuedCompletionStatusEx reaps at most
constexpr DWORD kAddrLen = sizeof(sockaddr_storage) + 16;  // AcceptEx's per-address room

using Slot = IocpBackend::Slot;

Slot& side_of(IocpBackend::Source& s, OpCode code) {
  return direction_of(code) == Direction::kRead ? s.read : s.write;
}

Slot& slot_of(OVERLAPPED* ov) {
  static_assert(std::is_standard_layout_v<IocpBackend::Overlapped>);
  return *reinterpret_cast<IocpBackend::Overlapped*>(ov)->slot;
}

int windows_errno() { return net::sys::errno_from_windows(::GetLastError()); }
int winsock_errno() { return net::sys::errno_from_windows(static_cast<DWORD>(::WSAGetLastError())); }

template <class Fn>
weft::Status load_extension(SOCKET s, GUID guid, Fn* fn, const char* name) {
  DWORD bytes = 0;
  if (::WSAIoctl(s, SIO_GET_EXTENSION_FUNCTION_POINTER, &guid, sizeof(guid), fn, sizeof(*fn),
                 &bytes, nullptr, nullptr) != 0) {
    return errno_status(std::string("WSAIoctl(") + name + ")", winsock_errno());
  }
  return weft::OkStatus();
}

// The milliseconds GetQueuedCompletionStatusEx waits for `timeout`, rounded up so a wait never
// ends before a timer is due.
DWORD wait_ms(std::optional<std::chrono::nanoseconds> timeout) {
  if (!timeout) return INFINITE;
  const long long ns = std::max<long long>(timeout->count(), 0);
  const long long ms = (ns + 999'999) / 1'000'000;
  return static_cast<DWORD>(std::min<long long>(ms, INFINITE - 1));
}

}  // namespace

weft::StatusOr<std::unique_ptr<Backend>> IocpBackend::create() {
  if (weft::Status st = net::sys::start(); !st.ok()) return st;
  HANDLE port = ::CreateIoCompletionPort(INVALID_HANDLE_VALUE, nullptr, 0, 0);
  if (port == nullptr) return errno_status("CreateIoCompletionPort", windows_errno());
  std::unique_ptr<IocpBackend> b(new IocpBackend(port));
  // The extension functions come from the TCP provider, through any TCP socket.
  const SOCKET probe = ::WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, nullptr, 0,
                                    WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
  if (probe == INVALID_SOCKET) return errno_status("socket", winsock_errno());
  weft::Status st = load_extension(probe, WSAID_ACCEPTEX, &b->accept_ex_, "AcceptEx");
  if (st.ok()) st = load_extension(probe, WSAID_CONNECTEX, &b->connect_ex_, "ConnectEx");
  if (st.ok()) {
    st = load_extension(probe, WSAID_GETACCEPTEXSOCKADDRS, &b->accept_addrs_,
                        "GetAcceptExSockaddrs");
  }
  ::closesocket(probe);
  if (!st.ok()) return st;
  return std::unique_ptr<Backend>(std::move(b));
}

IocpBackend::~IocpBackend() {
  // The kernel may still hold sides of sources closed with operations in flight: reap their
  // completions (closing the socket aborted them) before the memory goes.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (;;) {
    {
      std::lock_guard lock(retired_mu_);
      if (retired_.empty()) break;
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
    poll(std::chrono::milliseconds(100), SIZE_MAX);
  }
  ::CloseHandle(port_);
  for (Source* s : retired_) delete s;
}

weft::StatusOr<io::Source*> IocpBackend::register_fd(net::NativeSocket socket) {
  if (::CreateIoCompletionPort(reinterpret_cast<HANDLE>(socket), port_, kSocketKey, 0) == nullptr) {
    return errno_status("CreateIoCompletionPort(socket)", windows_errno());
  }
  count_syscalls();
  auto* source = new Source(socket);
  sources_.fetch_add(1, std::memory_order_relaxed);  // [W1] relaxed: a hint
  return source;
}

void IocpBackend::close(io::Source* base) {
  auto* s = static_cast<Source*>(base);
  Waker woken[2];
  SOCKET socket = INVALID_SOCKET;
  bool free_now = false;
  {
    std::lock_guard lock(s->lock);
    socket = std::exchange(s->socket, INVALID_SOCKET);
    int i = 0;
    for (Slot* slot : {&s->read, &s->write}) {
      if (slot->owner != nullptr) {
        slot->owner->result = -ECANCELED;
        woken[i] = std::move(slot->owner->waker);
        slot->owner = nullptr;
        slot->owner_started = false;
      }
      ++i;
      if (slot->stashed_connection()) {
        ::closesocket(static_cast<SOCKET>(slot->stash_result));  // nobody will take it
        count_syscalls();
      }
      slot->has_stash = false;
      slot->stash_len = 0;
    }
    free_now = can_free(*s);
    if (!free_now) {
      std::lock_guard retired(retired_mu_);
      retired_.insert(s);
    }
  }
  if (socket != INVALID_SOCKET) {
    ::closesocket(socket);  // aborts the operations in flight; their completions still come
    count_syscalls();
    sources_.fetch_sub(1, std::memory_order_relaxed);  // [W1] relaxed: a hint
  }
  for (Waker& w : woken) w.wake();
  if (free_now) delete s;
}

bool IocpBackend::submit(io::Source& base, Operation& op, MakeWaker make_waker) {
  auto& s = static_cast<Source&>(base);
  std::lock_guard lock(s.lock);
  if (s.socket == INVALID_SOCKET) {
    op.result = -EBADF;
    return true;
  }
  if (is_shut_down()) {
    op.result = -ECANCELED;  // [O7]: the runtime is shutting down (or gone)
    return true;
  }
  Slot& slot = side_of(s, op.code);
  if (slot.owner != nullptr) {
    op.result = -EBUSY;  // one pending read-side and one write-side operation per socket
    return true;
  }
  if (slot.has_stash) {  // a withdrawn operation's result, still to be handed out ([O3])
    slot.take_stash(op);
    return true;
  }
  slot.owner = &op;
  slot.owner_started = false;
  if (!slot.in_flight) {
    // Its completion needs this lock to be reaped, so the waker can be set after the issue.
    const std::int64_t err = start(slot);
    if (err < 0) {
      slot.owner = nullptr;
      op.result = err;
      return true;
    }
  }  // else it starts when the withdrawn one is reaped
  op.waker = make_waker();
  return false;
}

bool IocpBackend::cancel(io::Source& base, Operation& op) {
  auto& s = static_cast<Source&>(base);
  std::lock_guard lock(s.lock);
  Slot& slot = side_of(s, op.code);
  if (slot.owner != &op) return false;
  slot.owner = nullptr;
  op.waker.reset();
  if (slot.owner_started && slot.in_flight && !slot.cancel_sent &&
      s.socket != INVALID_SOCKET) {
    slot.cancel_sent = true;
    // The completion (aborted, or done if it won the race) comes through the port and is
    // reaped as a withdrawn operation's; the slot's memory stays until then ([O3]).
    ::CancelIoEx(reinterpret_cast<HANDLE>(s.socket), &slot.ov.ov);
    count_syscalls();
  }
  slot.owner_started = false;
  return true;
}

std::int64_t IocpBackend::start(Slot& slot) {
  Operation& op = *slot.owner;
  Source& s = *slot.source;
  slot.owner_started = true;
  slot.cancel_sent = false;
  slot.code = op.code;
  slot.ov.ov = OVERLAPPED{};
  const std::size_t n = std::min(op.len, Slot::kMaxStaging);
  bool issued = false;
  count_syscalls();
  switch (op.code) {
    case OpCode::kRecv: {
      slot.ensure_capacity(n);
      WSABUF wb{static_cast<ULONG>(n), reinterpret_cast<char*>(slot.buf.get())};
      DWORD flags = 0;
      issued = ::WSARecv(s.socket, &wb, 1, nullptr, &flags, &slot.ov.ov, nullptr) == 0 ||
               ::WSAGetLastError() == WSA_IO_PENDING;
      break;
    }
    case OpCode::kSend: {
      slot.ensure_capacity(n);
      std::memcpy(slot.buf.get(), op.buf, n);  // [O2]: the kernel reads the backend's copy
      WSABUF wb{static_cast<ULONG>(n), reinterpret_cast<char*>(slot.buf.get())};
      issued = ::WSASend(s.socket, &wb, 1, nullptr, 0, &slot.ov.ov, nullptr) == 0 ||
               ::WSAGetLastError() == WSA_IO_PENDING;
      break;
    }
    case OpCode::kAccept: {
      sockaddr_storage local{};
      int len = sizeof(local);
      if (::getsockname(s.socket, reinterpret_cast<sockaddr*>(&local), &len) != 0) {
        slot.owner_started = false;
        return -winsock_errno();
      }
      slot.accept_socket = ::WSASocketW(local.ss_family, SOCK_STREAM, IPPROTO_TCP, nullptr, 0,
                                        WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
      if (slot.accept_socket == INVALID_SOCKET) {
        slot.owner_started = false;
        return -winsock_errno();  // EMFILE, ENOBUFS: TcpListener::accept backs off
      }
      DWORD bytes = 0;
      issued = accept_ex_(s.socket, slot.accept_socket, slot.accept_addrs, 0, kAddrLen, kAddrLen,
                          &bytes, &slot.ov.ov) ||
               ::WSAGetLastError() == ERROR_IO_PENDING;
      if (!issued) {
        const int err = winsock_errno();
        ::closesocket(std::exchange(slot.accept_socket, INVALID_SOCKET));
        slot.owner_started = false;
        return -err;
      }
      break;
    }
    case OpCode::kConnect: {
      std::memcpy(&slot.addr, &op.addr, sizeof(slot.addr));
      slot.addrlen = op.addrlen;
      if (!s.bound) {  // ConnectEx only takes a bound socket: the wildcard address, any port
        sockaddr_storage any{};
        any.ss_family = op.addr.ss_family;
        const int len = any.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
        if (::bind(s.socket, reinterpret_cast<const sockaddr*>(&any), len) != 0) {
          slot.owner_started = false;
          return -winsock_errno();
        }
        s.bound = true;
      }
      issued = connect_ex_(s.socket, reinterpret_cast<const sockaddr*>(&slot.addr), slot.addrlen,
                           nullptr, 0, nullptr, &slot.ov.ov) ||
               ::WSAGetLastError() == ERROR_IO_PENDING;
      break;
    }
  }
  if (!issued) {
    slot.owner_started = false;
    return -winsock_errno();
  }
  slot.in_flight = true;
  return 0;
}

std::size_t IocpBackend::poll(std::optional<std::chrono::nanoseconds> timeout,
                              std::size_t max_events) {
  const DWORD ms = wait_ms(timeout);
  OVERLAPPED_ENTRY entries[kBatch];
  const ULONG want = static_cast<ULONG>(std::clamp<std::size_t>(max_events, 1, kBatch));
  ULONG got = 0;
  if (ms != 0) count_wait();
  count_syscalls();
  if (!::GetQueuedCompletionStatusEx(port_, entries, want, &got, ms, FALSE)) got = 0;
  std::size_t woken = 0;
  for (ULONG i = 0; i < got; ++i) {
    if (entries[i].lpCompletionKey == kWakeKey || entries[i].lpOverlapped == nullptr) continue;
    // Internal holds the operation's NTSTATUS: success is non-negative.
    const bool succeeded = static_cast<LONG>(entries[i].Internal) >= 0;
    Waker w = reap(slot_of(entries[i].lpOverlapped), succeeded,
                   entries[i].dwNumberOfBytesTransferred);
    if (w) {
      ++woken;
      w.wake();
    }
  }
  count_completions(woken);
  return woken;
}

Waker IocpBackend::reap(Slot& slot, bool succeeded, DWORD bytes) {
  Source& s = *slot.source;
  Waker waker;
  bool free_now = false;
  // [O7]: after shut_down() nothing completes; what the kernel delivered is kept as a withdrawn
  // operation's would be, and the owner stays pending (not started) until its task is dropped.
  const bool stopped = is_shut_down();
  {
    std::lock_guard lock(s.lock);
    slot.in_flight = false;
    slot.cancel_sent = false;
    std::int64_t res = 0;
    if (!succeeded) {
      int err = ECANCELED;  // a closed socket's operations were aborted
      if (s.socket != INVALID_SOCKET) {
        DWORD n = 0, flags = 0;
        ::WSAGetOverlappedResult(s.socket, &slot.ov.ov, &n, FALSE, &flags);
        err = winsock_errno();
        count_syscalls();
      }
      res = -(err != 0 ? err : EIO);
    } else if (slot.code == OpCode::kRecv || slot.code == OpCode::kSend) {
      res = bytes;
    } else if (slot.code == OpCode::kConnect) {
      // getpeername and shutdown work on a ConnectEx socket only after this.
      ::setsockopt(s.socket, SOL_SOCKET, SO_UPDATE_CONNECT_CONTEXT, nullptr, 0);
      count_syscalls();
    } else if (s.socket != INVALID_SOCKET) {  // an accept: the new socket takes the listener's
      ::setsockopt(slot.accept_socket, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT,
                   reinterpret_cast<const char*>(&s.socket), sizeof(s.socket));
      sockaddr* local = nullptr;
      sockaddr* remote = nullptr;
      int local_len = 0, remote_len = 0;
      accept_addrs_(slot.accept_addrs, 0, kAddrLen, kAddrLen, &local, &local_len, &remote,
                    &remote_len);
      slot.addrlen = static_cast<socklen_t>(
          std::min<std::size_t>(static_cast<std::size_t>(remote_len), sizeof(slot.addr)));
      if (remote != nullptr) std::memcpy(&slot.addr, remote, slot.addrlen);
      res = static_cast<std::int64_t>(std::exchange(slot.accept_socket, INVALID_SOCKET));
      count_syscalls();
    }
    if (slot.code == OpCode::kAccept && slot.accept_socket != INVALID_SOCKET) {
      ::closesocket(std::exchange(slot.accept_socket, INVALID_SOCKET));  // failed or orphaned
      if (res >= 0) res = -ECANCELED;
    }
    if (slot.owner != nullptr && slot.owner_started && !stopped) {
      slot.complete_into(*slot.owner, res);
      waker = std::move(slot.owner->waker);
      slot.owner = nullptr;
      slot.owner_started = false;
    } else {
      if (s.socket != INVALID_SOCKET) {
        slot.stash(res);
      } else if (slot.code == OpCode::kAccept && res >= 0) {
        ::closesocket(static_cast<SOCKET>(res));  // closed meanwhile: nobody will take it
        count_syscalls();
      }
      if (slot.owner != nullptr && stopped) {
        slot.owner_started = false;  // nothing in flight for it: cancel() sends no cancel
      } else if (slot.owner != nullptr) {  // an operation waited behind the withdrawn one
        if (slot.has_stash) {
          slot.take_stash(*slot.owner);
        } else if (const std::int64_t err = start(slot); err < 0) {
          slot.owner->result = err;
        }
        if (!slot.in_flight) {  // handed a result now: wake its task
          waker = std::move(slot.owner->waker);
          slot.owner = nullptr;
          slot.owner_started = false;
        }
      }
    }
    free_now = can_free(s);
  }
  if (free_now) {
    {
      std::lock_guard retired(retired_mu_);
      retired_.erase(&s);
    }
    delete &s;
  }
  return waker;
}

void IocpBackend::interrupt() {
  ::PostQueuedCompletionStatus(port_, 0, kWakeKey, nullptr);
  count_syscalls();
}

}  // namespace weft::io
