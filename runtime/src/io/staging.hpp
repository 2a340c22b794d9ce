// Staging: what the completion backends (io_uring, IOCP) keep per side of a source, and the
// copies between it and the caller's Operation ([O2] and [O3] in backend.hpp).
//
// The kernel only ever holds the backend's memory: a recv lands in the side's staging buffer and
// is copied into the caller's buffer when it is reaped; a send is copied out of the caller's
// buffer when it is issued; an accept's and a connect's addresses live here too. A withdrawn
// operation stays in flight until the kernel hands it back; what it produced is stashed here
// for the next operation on that side, and a new operation waits behind it.
//
// Every function runs under the owning source's lock.
#pragma once

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

#include "io/operation.hpp"

namespace weft::io {

struct StagingSide {
  Operation* owner = nullptr;  // the caller's pending operation ([O1]); null when none
  bool owner_started = false;  // owner's kernel operation was issued (false: waits behind one)
  bool in_flight = false;      // the kernel holds an operation of this side
  bool cancel_sent = false;    // a cancel for the one in flight was issued
  OpCode code = OpCode::kRecv; // of the operation in flight
  std::unique_ptr<std::byte[]> buf;
  std::size_t cap = 0;
  // What a withdrawn operation produced after its caller left ([O3]): recv bytes at
  // buf[stash_off, stash_off + stash_len) when stash_len > 0; otherwise, when has_stash, a recv's
  // EOF or error or an accept's socket (with its address in addr).
  bool has_stash = false;
  std::int64_t stash_result = 0;
  std::size_t stash_off = 0, stash_len = 0;
  sockaddr_storage addr{};  // accept: the peer's address; connect: the target
  socklen_t addrlen = 0;

  // A larger recv or send moves this much per kernel operation.
  static constexpr std::size_t kMaxStaging = 64 * 1024;

  void ensure_capacity(std::size_t n) {
    if (cap >= n) return;
    buf = std::make_unique_for_overwrite<std::byte[]>(n);
    cap = n;
  }

  // Into the caller's Operation ([O1]): the result of this side's operation, with what the
  // kernel wrote into the backend's memory.
  void complete_into(Operation& op, std::int64_t res) const {
    if (code == OpCode::kRecv && res > 0) std::memcpy(op.buf, buf.get(), static_cast<std::size_t>(res));
    if (code == OpCode::kAccept && res >= 0) {
      std::memcpy(&op.addr, &addr, std::min<std::size_t>(addrlen, sizeof(op.addr)));
      op.addrlen = addrlen;
    }
    op.result = res;
  }

  // What a withdrawn operation produced ([O3]). Bytes received, an EOF or error after them, and
  // an accepted connection are kept for the next operation; a send's count and a connect's
  // outcome have nobody to go to.
  void stash(std::int64_t res) {
    if (res == -ECANCELED) return;
    if (code == OpCode::kRecv) {
      has_stash = true;
      stash_result = res;
      stash_off = 0;
      stash_len = res > 0 ? static_cast<std::size_t>(res) : 0;
    } else if (code == OpCode::kAccept && res >= 0) {
      has_stash = true;
      stash_result = res;
    }
  }

  // Hands the stash to `op` (a recv takes what fits; the rest stays).
  void take_stash(Operation& op) {
    if (stash_len > 0) {
      const std::size_t n = std::min(op.len, stash_len);
      std::memcpy(op.buf, buf.get() + stash_off, n);
      stash_off += n;
      stash_len -= n;
      has_stash = stash_len > 0;
      op.result = static_cast<std::int64_t>(n);
      return;
    }
    complete_into(op, stash_result);
    has_stash = false;
  }

  // A stashed accepted connection nobody will take (the source closed): its socket, to close.
  bool stashed_connection() const { return has_stash && code == OpCode::kAccept; }
};

}  // namespace weft::io
