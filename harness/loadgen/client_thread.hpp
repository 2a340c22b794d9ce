// ClientThread: one client thread's share of the connections, driven by its own epoll instance.
//
// Each connection has at most one message in flight: the next is sent only when the previous
// echo is complete, so a byte read back always belongs to the message in flight.
//   closed mode: a completed echo immediately starts the next message; latency is measured from
//     the actual send.
//   open mode: arrivals are a Poisson process of rate --rate * (this thread's share of the
//     connections); each arrival goes to one of the thread's live connections chosen uniformly at
//     random and joins that connection's FIFO of intended send times. A connection sends the head
//     of its FIFO as soon as its previous echo is complete, and latency is measured from the
//     INTENDED time, so a stalled server shows up as queueing delay instead of vanishing
//     (coordinated omission; Gil Tene, "How NOT to Measure Latency").
//
// Sockets are registered once, edge-triggered (EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET); a send or
// recv is tried first and the connection waits for an edge only after a short transfer. The
// sleep is epoll_pwait2 with a nanosecond timeout (epoll_wait in ms where the kernel lacks it),
// until the next arrival or the end of the window.
//
// When the window closes no new message starts (closed mode) and no new arrival is drawn (open
// mode); the thread waits up to kDrainGraceNs (2 s) for what is in flight and closes its sockets.
// Closed mode counts the echoes complete inside the window; one still in flight after the grace
// is a timeout error. Open mode counts every arrival intended inside the window, whenever its
// echo completes: a connection keeps sending its queued arrivals during the grace, and an arrival
// still unanswered at its end (the offered rate was above what the server returned) is recorded
// with its latency so far, a lower bound, and counted as `unfinished`, so overload shows up in
// the percentiles instead of disappearing from them.
// A thread whose connections are all lost stops at once.
//
// With --markers, the thread running share 0 prints "measure_start" when it first sees the window
// open and "measure_end" when it sees it close (both before it exits, whatever happens), flushing
// each line; nothing else writes stdout until every thread has been joined.
//
// Threads share nothing while they run: each owns its sockets, epoll, buffers and RunStats, and
// reads the LoadConfig and Schedule that were written before it was started.
#pragma once

#include <sys/epoll.h>

#include <cstdint>
#include <random>
#include <vector>

#include "config.hpp"
#include "run_stats.hpp"

namespace weft::loadgen {

inline constexpr std::int64_t kDrainGraceNs = 2'000'000'000;

// steady_clock (CLOCK_MONOTONIC) in nanoseconds.
std::int64_t now_ns();

// The run's time line, shared by every thread: load from `start_ns`, measure [from, to].
struct Schedule {
  std::int64_t start_ns = 0;
  std::int64_t measure_from_ns = 0;
  std::int64_t measure_to_ns = 0;
};

class ClientThread {
 public:
  // Takes ownership of `fds`; connection i's pattern id is first_id + i. `rate` is this thread's
  // share of the offered rate (open mode). `print_markers`: this thread prints the window markers.
  ClientThread(const LoadConfig& config, const Schedule& schedule, std::vector<int> fds,
               std::uint32_t first_id, double rate, std::uint64_t seed, bool print_markers);
  ~ClientThread();
  ClientThread(const ClientThread&) = delete;
  ClientThread& operator=(const ClientThread&) = delete;

  // Runs the whole schedule, then closes every socket.
  RunStats run();

 private:
  struct Conn {
    int fd = -1;
    std::uint32_t id = 0;        // pattern id (echo_pattern.hpp)
    std::uint32_t live_pos = 0;  // index in live_ while alive
    bool alive = true;
    bool writable = true;  // false after a short send, until the next EPOLLOUT edge
    bool in_flight = false;
    bool mismatch = false;            // some byte of the message in flight came back wrong
    std::uint64_t sent = 0;           // stream offset of the next byte to send
    std::uint64_t echoed = 0;         // stream offset of the next byte expected back
    std::uint64_t msg_end = 0;        // stream offset just past the message in flight
    std::int64_t start_ns = 0;        // its send time (intended send time in open mode)
    std::vector<std::int64_t> queue;  // open mode: intended send times, FIFO from queue_head
    std::size_t queue_head = 0;
  };

  void handle(const epoll_event& ev);
  void receive(Conn& c, bool drain_to_eagain);
  void on_echo(Conn& c, const std::uint8_t* data, std::size_t len);
  void complete(Conn& c);
  void start_message(Conn& c, std::int64_t send_ns);
  void send_more(Conn& c);
  void lose(Conn& c, std::uint64_t ErrorCounts::*kind);
  void issue_arrivals(std::int64_t now);
  void begin_drain();
  int wait_until(std::int64_t deadline_ns);
  void mark(bool& printed, const char* line);

  const LoadConfig& config_;
  const Schedule schedule_;
  std::vector<Conn> conns_;
  std::vector<std::uint32_t> live_;  // indices of the live connections, in any order
  int epfd_ = -1;
  bool in_window(std::int64_t intended_ns) const;  // open mode: is this arrival measured?
  bool stopping_ = false;  // the window has closed: drain, start nothing new
  std::int64_t in_flight_ = 0;
  bool have_pwait2_ = true;
  const bool print_markers_;
  bool start_marked_ = false;
  bool end_marked_ = false;
  std::vector<std::uint8_t> send_buf_;
  std::vector<std::uint8_t> recv_buf_;
  std::vector<epoll_event> events_;
  // Open mode.
  double rate_per_ns_ = 0.0;
  double next_arrival_ns_ = 0.0;
  std::mt19937_64 rng_;
  RunStats stats_;
};

}  // namespace weft::loadgen
