// IocpBackend: the Windows completion reactor (an I/O completion port and overlapped Winsock
// calls) behind backend.hpp. Private to the runtime: only the Backend interface is public.
//
// Every socket is associated with the backend's one completion port when it is registered.
// Each operation is one overlapped call issued at once from submit(): AcceptEx (into a socket
// the backend creates), ConnectEx (after binding to the wildcard address, as ConnectEx needs),
// WSARecv, WSASend. As with io_uring, the kernel only holds the backend's memory ([O2]): each
// side of a source has its OVERLAPPED, a staging buffer and address storage (io/staging.hpp).
// The completion port reports every operation, also one that finished inside the call
// (FILE_SKIP_COMPLETION_PORT_ON_SUCCESS is not set), so there is one path to completion.
//
// poll() reaps completions in batches with GetQueuedCompletionStatusEx, waiting up to the timer
// wheel's deadline (rounded up to whole milliseconds, the call's unit). interrupt() posts a
// packet with the wake-up key. cancel() withdraws the caller at once and asks the kernel with
// CancelIoEx; the operation's memory is released only when its completion (usually "aborted")
// has been reaped, and what it produced meanwhile is stashed for the next operation ([O3]).
// close() closes the socket, which aborts its operations; the Source is freed when the last of
// their completions is reaped ([O4]).
//
// Synchronization map:
//   [W1] relaxed RMW/load of the registered-source count: a hint for has_sources().
//   Side and Source state is guarded by the source's SpinLock; the retired set by retired_mu_.
//   The completion port orders an operation's issue before its completion packet, and its
//   packet before the reaping thread's read of the side (taken under the source's lock).
//   Operation results reach the woken task through the task's state word.
#pragma once

#include <winsock2.h>
#include <mswsock.h>
#include <windows.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_set>

#include "io/backend.hpp"
#include "io/operation.hpp"
#include "io/staging.hpp"
#include "weft/scheduler/spin_lock.hpp"
#include "weft/status.hpp"

namespace weft::io {

class IocpBackend final : public Backend {
 public:
  struct Source;

  struct Slot;
  // The kernel's handle on a side's operation in flight; a completion's OVERLAPPED* is the
  // address of one of these (standard layout, OVERLAPPED first), which names its side.
  struct Overlapped {
    OVERLAPPED ov{};
    Slot* slot = nullptr;
  };

  // One side of a source (read: accept, recv; write: connect, send).
  struct Slot : StagingSide {
    Overlapped ov;
    Source* source = nullptr;
    SOCKET accept_socket = INVALID_SOCKET;  // AcceptEx's new socket while one is in flight
    // AcceptEx writes the local and the remote address here (each with 16 bytes of slack).
    alignas(8) std::byte accept_addrs[2 * (sizeof(sockaddr_storage) + 16)];
  };

  struct Source : io::Source {
    explicit Source(SOCKET s) : socket(s) {
      read.source = this;
      write.source = this;
      read.ov.slot = &read;
      write.ov.slot = &write;
    }
    detail::SpinLock lock;
    SOCKET socket;       // INVALID_SOCKET once closed
    bool bound = false;  // ConnectEx needs a bound socket: bound once, before the first connect
    Slot read, write;
  };

  static weft::StatusOr<std::unique_ptr<Backend>> create();
  ~IocpBackend() override;

  IoBackend kind() const override { return IoBackend::kIocp; }
  weft::StatusOr<io::Source*> register_fd(net::NativeSocket socket) override;
  void close(io::Source* source) override;
  bool submit(io::Source& source, Operation& op, MakeWaker make_waker) override;
  bool cancel(io::Source& source, Operation& op) override;
  std::size_t poll(std::optional<std::chrono::nanoseconds> timeout,
                   std::size_t max_events) override;
  void interrupt() override;
  bool has_sources() const override {
    return sources_.load(std::memory_order_relaxed) != 0;  // [W1] relaxed: a hint
  }

 private:
  explicit IocpBackend(HANDLE port) : port_(port) {}

  // Under the slot's source lock: issues the owner's operation (staging its inputs). 0 when it
  // is in flight (its completion will come through the port); -errno when the call failed at
  // once (nothing is in flight and no completion will come).
  std::int64_t start(Slot& slot);
  // Reaps one completion: completes or stashes, returns the waker to wake (outside every lock).
  Waker reap(Slot& slot, bool succeeded, DWORD bytes);
  // Under the source's lock: it is closed and the kernel holds nothing of it.
  static bool can_free(const Source& s) {
    return s.socket == INVALID_SOCKET && !s.read.in_flight && !s.write.in_flight;
  }

  HANDLE port_;
  LPFN_ACCEPTEX accept_ex_ = nullptr;
  LPFN_CONNECTEX connect_ex_ = nullptr;
  LPFN_GETACCEPTEXSOCKADDRS accept_addrs_ = nullptr;
  std::atomic<std::size_t> sources_{0};
  std::mutex retired_mu_;
  std::unordered_set<Source*> retired_;  // closed with operations in flight; guarded
};

}  // namespace weft::io
