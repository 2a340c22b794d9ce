// weft.h's TCP over weft::net: bind, accept, connect, read, write. The C++ operations are
// coroutines (Task<...>), so each C operation runs its C++ one as a task of its own, spawned at
// the first poll on the polling task's runtime, and polls that task's join handle. Dropping a
// pending operation aborts that task: the runtime destroys it, cancelling its I/O before the
// memory goes ([O5]-[O7] in runtime/src/io/backend.hpp). The task owns what it touches (the
// stream or listener through a shared_ptr, its own buffer), so a C caller may drop the
// operation, free its buffer or close its stream at once. The price is a spawn per operation
// and a copy of the bytes.
#include <cerrno>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "c_internal.hpp"
#include "weft/net/tcp.hpp"

struct MtTcpStream {
  std::shared_ptr<weft::net::TcpStream> s;
};

struct MtTcpListener {
  std::shared_ptr<weft::net::TcpListener> l;
};

namespace weft::capi {
namespace {

using weft::net::SocketAddress;
using weft::net::TcpListener;
using weft::net::TcpStream;
using Bytes = std::shared_ptr<std::vector<std::byte>>;

// The status of a failed I/O operation, with errno (as the runtime's message names it, by its
// strerror text: weft::Status carries no errno) in os_error for MT_ERR_IO.
MtStatus io_fail(const weft::Status& s, MtOpResult* r) {
  const std::string message(s.message());
  if (message.find("the runtime is shut down") != std::string::npos) {
    return fail(MT_ERR_SHUTDOWN, message);
  }
  if (s.code() != weft::StatusCode::kFailedPrecondition &&
      s.code() != weft::StatusCode::kInvalidArgument) {
    for (int e = 1; e < 200; ++e) {
      const std::string text = std::string(": ") + std::strerror(e);
      if (message.size() >= text.size() &&
          message.compare(message.size() - text.size(), text.size(), text) == 0) {
        if (r != nullptr) r->os_error = e;
        return fail(MT_ERR_IO, message);
      }
    }
  }
  return fail_with(s);
}

// An operation run as a task of its own (see the head comment); T is its C++ result.
template <class T>
class SpawnedOp : public MtOp {
 public:
  ~SpawnedOp() override { handle_.abort(); }  // a no-op once done; the handle then detaches

  bool poll(MtContext* cx, MtOpResult* r) final {
    if (!handle_.valid()) handle_ = weft::spawn(start());
    if (!join_ready(handle_, cx)) return false;
    finish(handle_.take_result(), r);  // JoinError if the runtime dropped it: MT_ERR_CANCELLED
    return true;
  }

 protected:
  virtual weft::Task<T> start() = 0;
  virtual void finish(T&& result, MtOpResult* r) = 0;

 private:
  weft::JoinHandle<T> handle_;
};

// An accept's or a connect's result: the new stream, or why not.
void stream_result(weft::StatusOr<TcpStream>& s, MtOpResult* r) {
  if (!s.ok()) {
    r->status = io_fail(s.status(), r);
    return;
  }
  r->stream = new MtTcpStream{std::make_shared<TcpStream>(*std::move(s))};
}

// The coroutines: parameters by value, so each task's frame owns what it uses.
weft::Task<weft::StatusOr<TcpStream>> accept_task(std::shared_ptr<TcpListener> l) {
  co_return co_await l->accept();
}
weft::Task<weft::StatusOr<std::size_t>> read_task(std::shared_ptr<TcpStream> s, Bytes buf) {
  co_return co_await s->read(std::span<std::byte>(*buf));
}
weft::Task<weft::Status> write_task(std::shared_ptr<TcpStream> s, Bytes buf) {
  co_return co_await s->write_all(std::span<const std::byte>(*buf));
}

class AcceptOp final : public SpawnedOp<weft::StatusOr<TcpStream>> {
 public:
  explicit AcceptOp(std::shared_ptr<TcpListener> l) : l_(std::move(l)) {}

 private:
  weft::Task<weft::StatusOr<TcpStream>> start() override { return accept_task(l_); }
  void finish(weft::StatusOr<TcpStream>&& s, MtOpResult* r) override { stream_result(s, r); }
  std::shared_ptr<TcpListener> l_;
};

class ConnectOp final : public SpawnedOp<weft::StatusOr<TcpStream>> {
 public:
  explicit ConnectOp(SocketAddress addr) : addr_(std::move(addr)) {}

 private:
  weft::Task<weft::StatusOr<TcpStream>> start() override { return TcpStream::connect(addr_); }
  void finish(weft::StatusOr<TcpStream>&& s, MtOpResult* r) override { stream_result(s, r); }
  SocketAddress addr_;
};

class ReadOp final : public SpawnedOp<weft::StatusOr<std::size_t>> {
 public:
  ReadOp(std::shared_ptr<TcpStream> s, void* out, std::size_t len)
      : s_(std::move(s)), buf_(std::make_shared<std::vector<std::byte>>(len)), out_(out) {}

 private:
  weft::Task<weft::StatusOr<std::size_t>> start() override { return read_task(s_, buf_); }
  void finish(weft::StatusOr<std::size_t>&& n, MtOpResult* r) override {
    if (!n.ok()) {
      r->status = io_fail(n.status(), r);
      return;
    }
    if (*n > 0) std::memcpy(out_, buf_->data(), *n);
    r->size = *n;
  }
  std::shared_ptr<TcpStream> s_;
  Bytes buf_;
  void* out_;
};

class WriteOp final : public SpawnedOp<weft::Status> {
 public:
  WriteOp(std::shared_ptr<TcpStream> s, const void* data, std::size_t len)
      : s_(std::move(s)),
        buf_(std::make_shared<std::vector<std::byte>>(static_cast<const std::byte*>(data),
                                                       static_cast<const std::byte*>(data) + len)) {}

 private:
  weft::Task<weft::Status> start() override { return write_task(s_, buf_); }
  void finish(weft::Status&& st, MtOpResult* r) override {
    if (!st.ok()) {
      r->status = io_fail(st, r);
      return;
    }
    r->size = buf_->size();
  }
  std::shared_ptr<TcpStream> s_;
  Bytes buf_;
};

}  // namespace
}  // namespace weft::capi

using weft::capi::fail;
using weft::capi::guarded;

extern "C" {

MtStatus async_tcp_bind(const char* address, MtTcpListener** listener) {
  return guarded([&] {
    if (address == nullptr || listener == nullptr) {
      return fail(MT_ERR_INVALID_ARGUMENT, "weft: a NULL address or listener pointer");
    }
    weft::StatusOr<weft::net::SocketAddress> addr = weft::net::SocketAddress::parse(address);
    if (!addr.ok()) return weft::capi::fail_with(addr.status());
    weft::StatusOr<weft::net::TcpListener> l = weft::net::TcpListener::bind(*addr);
    if (!l.ok()) return weft::capi::io_fail(l.status(), nullptr);
    *listener = new MtTcpListener{std::make_shared<weft::net::TcpListener>(*std::move(l))};
    return MT_OK;
  });
}

MtStatus mt_tcp_listener_address(const MtTcpListener* listener, char* buf, size_t len) {
  return guarded([&] {
    if (listener == nullptr || buf == nullptr) {
      return fail(MT_ERR_INVALID_ARGUMENT, "weft: a NULL listener or buffer");
    }
    weft::StatusOr<weft::net::SocketAddress> addr = listener->l->local_addr();
    if (!addr.ok()) return weft::capi::fail_with(addr.status());
    const std::string text = addr->to_string();
    if (text.size() + 1 > len) return fail(MT_ERR_INVALID_ARGUMENT, "weft: buffer too small");
    std::memcpy(buf, text.c_str(), text.size() + 1);
    return MT_OK;
  });
}

MtOp* async_tcp_accept(MtTcpListener* listener) {
  if (listener == nullptr) {
    fail(MT_ERR_INVALID_ARGUMENT, "weft: a NULL listener");
    return nullptr;
  }
  return weft::capi::make_op<weft::capi::AcceptOp>(listener->l);
}

MtOp* async_tcp_connect(const char* address) {
  if (address == nullptr) {
    fail(MT_ERR_INVALID_ARGUMENT, "weft: a NULL address");
    return nullptr;
  }
  weft::StatusOr<weft::net::SocketAddress> addr = weft::net::SocketAddress::parse(address);
  if (!addr.ok()) {
    weft::capi::fail_with(addr.status());
    return nullptr;
  }
  return weft::capi::make_op<weft::capi::ConnectOp>(*std::move(addr));
}

MtOp* async_read(MtTcpStream* stream, void* buf, size_t len) {
  if (stream == nullptr || (buf == nullptr && len > 0)) {
    fail(MT_ERR_INVALID_ARGUMENT, "weft: a NULL stream or buffer");
    return nullptr;
  }
  return weft::capi::make_op<weft::capi::ReadOp>(stream->s, buf, len);
}

MtOp* async_write(MtTcpStream* stream, const void* buf, size_t len) {
  if (stream == nullptr || (buf == nullptr && len > 0)) {
    fail(MT_ERR_INVALID_ARGUMENT, "weft: a NULL stream or buffer");
    return nullptr;
  }
  return weft::capi::make_op<weft::capi::WriteOp>(stream->s, buf, len);
}

MtStatus async_tcp_shutdown_write(MtTcpStream* stream) {
  return guarded([&] {
    if (stream == nullptr) return fail(MT_ERR_INVALID_ARGUMENT, "weft: a NULL stream");
    const weft::Status s = stream->s->shutdown_write();
    return s.ok() ? MT_OK : weft::capi::io_fail(s, nullptr);
  });
}

void mt_tcp_close(MtTcpStream* stream) { delete stream; }

void mt_tcp_listener_close(MtTcpListener* listener) { delete listener; }

}  // extern "C"
