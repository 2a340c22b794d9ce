// Operation: one I/O request (accept, connect, recv or send) handed to the reactor backend.
//
// An Operation is intrusive: it lives in the awaiting coroutine frame (io/op_awaiter.hpp), so an
// I/O wait allocates nothing. The backend fills `result` and wakes `waker` when an operation that
// could not complete at once completes later (completion style, backend.hpp).
#pragma once

#include <cstddef>
#include <cstdint>

#include "weft/net/native_socket.hpp"
#include "weft/task/waker.hpp"

namespace weft::io {

enum class OpCode : std::uint8_t { kAccept, kConnect, kRecv, kSend };

// What a pending operation waits for; a source holds at most one of each at a time.
enum class Direction : std::uint8_t { kRead, kWrite };

constexpr Direction direction_of(OpCode code) {
  return (code == OpCode::kAccept || code == OpCode::kRecv) ? Direction::kRead
                                                            : Direction::kWrite;
}

constexpr const char* op_name(OpCode code) {
  switch (code) {
    case OpCode::kAccept: return "accept";
    case OpCode::kConnect: return "connect";
    case OpCode::kRecv: return "recv";
    case OpCode::kSend: return "send";
  }
  return "?";
}

struct Operation {
  explicit Operation(OpCode c) : code(c) {}
  Operation(const Operation&) = delete;
  Operation& operator=(const Operation&) = delete;

  const OpCode code;
  // kRecv / kSend: the buffer.
  void* buf = nullptr;
  std::size_t len = 0;
  // kConnect: the address to connect to. kAccept: the peer's address, filled in.
  sockaddr_storage addr{};
  socklen_t addrlen = sizeof(sockaddr_storage);
  // >= 0: bytes moved (recv/send), the accepted socket (accept, a NativeSocket), 0 (connect).
  // < 0: -errno (Winsock errors as the errno of the same meaning).
  std::int64_t result = 0;
  // Woken (from the backend's poll) when a pending operation completes.
  Waker waker;
  // Backend-private: a connect already issued its connect() call and waits for the outcome.
  bool started = false;
};

// Makes the waker of the task being polled (weft::current_waker); called only when an operation
// must wait, so the fast path takes no reference.
using MakeWaker = Waker (*)();

}  // namespace weft::io
