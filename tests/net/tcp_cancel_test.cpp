// Operations withdrawn while the kernel may hold them (backend.hpp, ownership rules [O1]-[O6]):
// a task aborted while blocked in a read, an accept or a write, on both backends, every variant
// and flavor. The buffers live in the aborted task's frame, so a backend that let the kernel or
// its own completion path write there after the abort would write into freed memory (ASan).
// What a withdrawn read or accept took from the kernel is not lost: the next one returns it.

#include <atomic>
#include <chrono>
#include <cstring>
#include <span>
#include <vector>

#include "net/net_test_util.hpp"

namespace weft_test {
namespace {

using weft::JoinHandle;
using weft::Task;

class TcpCancelTest : public RuntimeTest {};
WEFT_INSTANTIATE_FOR_EVERY_RUNTIME_AND_BACKEND(TcpCancelTest);

// Long enough for the operation to be parked in the reactor (or in flight in the ring) before
// the abort; if it were not yet, the test would only be weaker, never wrong.
constexpr auto kSettle = std::chrono::milliseconds(20);

// Reads into a buffer of its own frame; never returns unless data comes.
Task<weft::StatusOr<std::size_t>> read_in_frame(TcpStream* s, std::atomic<bool>* started) {
  std::byte buf[4096];
  started->store(true);
  weft::StatusOr<std::size_t> n = co_await s->read(buf);
  co_return n;
}

// Accepts into the frame; never returns unless a client connects.
Task<weft::StatusOr<TcpStream>> accept_in_frame(TcpListener* l, std::atomic<bool>* started) {
  started->store(true);
  co_return co_await l->accept();
}

// Writes a large buffer of its own (heap, freed with the frame) to a peer that never reads.
Task<weft::Status> write_forever(TcpStream* s, std::atomic<bool>* started) {
  std::vector<std::byte> big = payload(9, 8 << 20);
  started->store(true);
  co_return co_await s->write_all(big);
}

template <class T>
Task<bool> abort_after_start(JoinHandle<T> h, std::atomic<bool>* started) {
  JoinHandle<T> handle = std::move(h);
  if (!co_await yield_until([started] { return started->load(); })) co_return false;
  co_await weft::sleep_for(kSettle);
  handle.abort();
  co_return co_await join_fails_with_join_error(std::move(handle));
}

struct Outcome {
  weft::Status setup = weft::OkStatus();
  bool aborted = false;
  weft::Status after = weft::UnknownError("not run");
};

// A read aborted while blocked; then the peer sends; the next read returns exactly those bytes.
Task<Outcome> aborted_read_then_peer_sends() {
  Outcome out;
  Pair p = co_await connected_pair();
  out.setup = p.setup;
  if (!out.setup.ok()) co_return out;
  std::atomic<bool> started{false};
  out.aborted = co_await abort_after_start(weft::spawn(read_in_frame(&p.server, &started)), &started);
  const std::vector<std::byte> msg = payload(1, 777);
  out.after = co_await p.client.write_all(msg);
  if (!out.after.ok()) co_return out;
  std::vector<std::byte> got(msg.size());
  out.after = co_await read_exactly(p.server, got);
  if (out.after.ok() && got != msg) out.after = weft::DataLossError("the bytes differ");
  co_return out;
}

// An accept aborted while blocked; then a client connects; the next accept returns it.
Task<Outcome> aborted_accept_then_client_connects() {
  Outcome out;
  weft::StatusOr<TcpListener> l = bind_loopback();
  if (!l.ok()) {
    out.setup = l.status();
    co_return out;
  }
  const SocketAddress addr = *l->local_addr();
  std::atomic<bool> started{false};
  out.aborted = co_await abort_after_start(weft::spawn(accept_in_frame(&*l, &started)), &started);
  weft::StatusOr<TcpStream> c = co_await TcpStream::connect(addr);
  if (!c.ok()) {
    out.after = c.status();
    co_return out;
  }
  weft::StatusOr<TcpStream> s = co_await l->accept();
  if (!s.ok()) {
    out.after = s.status();
    co_return out;
  }
  const std::vector<std::byte> msg = payload(2, 100);
  out.after = co_await c->write_all(msg);
  std::vector<std::byte> got(msg.size());
  if (out.after.ok()) out.after = co_await read_exactly(*s, got);
  if (out.after.ok() && got != msg) out.after = weft::DataLossError("the bytes differ");
  co_return out;
}

// A write aborted while blocked on a peer that never reads; then the stream is closed and the
// peer drains what was sent: every byte it gets is a prefix of what was written, in order.
Task<Outcome> aborted_write_to_a_peer_that_never_reads() {
  Outcome out;
  Pair p = co_await connected_pair();
  out.setup = p.setup;
  if (!out.setup.ok()) co_return out;
  std::atomic<bool> started{false};
  out.aborted = co_await abort_after_start(weft::spawn(write_forever(&p.server, &started)), &started);
  p.server.close();
  weft::StatusOr<std::vector<std::byte>> got = co_await read_to_eof(p.client);
  if (!got.ok()) {
    out.after = got.status();
    co_return out;
  }
  const std::vector<std::byte> sent = payload(9, 8 << 20);
  if (got->size() > sent.size() || !std::equal(got->begin(), got->end(), sent.begin())) {
    out.after = weft::DataLossError("the peer got bytes that were not a prefix of the write");
    co_return out;
  }
  out.after = weft::OkStatus();
  co_return out;
}

// A task that owns the stream is aborted while reading: the stream closes with it, the peer
// then sends into a closed socket and reads EOF or a reset, never a hang.
Task<weft::StatusOr<std::size_t>> own_and_read(TcpStream s, std::atomic<bool>* started) {
  TcpStream mine = std::move(s);
  std::byte buf[512];
  started->store(true);
  co_return co_await mine.read(buf);
}

Task<Outcome> aborted_owner_of_a_reading_stream() {
  Outcome out;
  Pair p = co_await connected_pair();
  out.setup = p.setup;
  if (!out.setup.ok()) co_return out;
  std::atomic<bool> started{false};
  out.aborted = co_await abort_after_start(
      weft::spawn(own_and_read(std::move(p.server), &started)), &started);
  (void)co_await p.client.write_all(payload(4, 300));  // may fail with a reset: either is fine
  std::byte buf[64];
  weft::StatusOr<std::size_t> n = co_await p.client.read(buf);
  out.after = (!n.ok() || *n == 0) ? weft::OkStatus()
                                   : weft::InternalError("read data from a closed peer");
  co_return out;
}

TEST_P(TcpCancelTest, AReadAbortedWhileBlockedLosesNothingTheNextReadGetsThePeersBytes) {
  const int fds_before = open_fd_count();
  {
    auto rt = make_runtime();
    const Outcome r = rt->block_on(aborted_read_then_peer_sends());
    ASSERT_TRUE(r.setup.ok()) << r.setup;
    EXPECT_TRUE(r.aborted);
    EXPECT_TRUE(r.after.ok()) << r.after;
  }
  EXPECT_EQ(open_fd_count(), fds_before);
}

TEST_P(TcpCancelTest, AnAcceptAbortedWhileBlockedLosesNoConnection) {
  const int fds_before = open_fd_count();
  {
    auto rt = make_runtime();
    const Outcome r = rt->block_on(aborted_accept_then_client_connects());
    ASSERT_TRUE(r.setup.ok()) << r.setup;
    EXPECT_TRUE(r.aborted);
    EXPECT_TRUE(r.after.ok()) << r.after;
  }
  EXPECT_EQ(open_fd_count(), fds_before);
}

TEST_P(TcpCancelTest, AWriteAbortedWhileBlockedOnAPeerThatNeverReadsSentOnlyAPrefix) {
  const int fds_before = open_fd_count();
  {
    auto rt = make_runtime();
    const Outcome r = rt->block_on(aborted_write_to_a_peer_that_never_reads());
    ASSERT_TRUE(r.setup.ok()) << r.setup;
    EXPECT_TRUE(r.aborted);
    EXPECT_TRUE(r.after.ok()) << r.after;
  }
  EXPECT_EQ(open_fd_count(), fds_before);
}

TEST_P(TcpCancelTest, AbortingTheTaskThatOwnsAReadingStreamClosesIt) {
  const int fds_before = open_fd_count();
  {
    auto rt = make_runtime();
    const Outcome r = rt->block_on(aborted_owner_of_a_reading_stream());
    ASSERT_TRUE(r.setup.ok()) << r.setup;
    EXPECT_TRUE(r.aborted);
    EXPECT_TRUE(r.after.ok()) << r.after;
  }
  EXPECT_EQ(open_fd_count(), fds_before);
}

}  // namespace
}  // namespace weft_test
