// ClientThread's event loop: sending, checking echoes, open-mode arrivals (see client_thread.hpp).
#include "client_thread.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "echo_pattern.hpp"

namespace weft::loadgen {
namespace {

constexpr std::size_t kMaxEvents = 1024;
constexpr std::size_t kBufBytes = 64 * 1024;

}  // namespace

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

ClientThread::ClientThread(const LoadConfig& config, const Schedule& schedule, std::vector<int> fds,
                           std::uint32_t first_id, double rate, std::uint64_t seed,
                           bool print_markers)
    : config_(config),
      schedule_(schedule),
      print_markers_(print_markers),
      send_buf_(std::min(static_cast<std::size_t>(config.msg_size), kBufBytes)),
      recv_buf_(kBufBytes),
      events_(kMaxEvents),
      rate_per_ns_(rate * 1e-9),
      rng_(seed) {
  conns_.resize(fds.size());
  live_.resize(fds.size());
  for (std::size_t i = 0; i < fds.size(); ++i) {
    conns_[i].fd = fds[i];
    conns_[i].id = first_id + static_cast<std::uint32_t>(i);
    conns_[i].live_pos = static_cast<std::uint32_t>(i);
    live_[i] = static_cast<std::uint32_t>(i);
  }
  stats_.connections = static_cast<int>(fds.size());
}

ClientThread::~ClientThread() {
  for (Conn& c : conns_) {
    if (c.alive) ::close(c.fd);
  }
  if (epfd_ >= 0) ::close(epfd_);
}

RunStats ClientThread::run() {
  epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
  for (std::size_t i = 0; i < conns_.size(); ++i) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.u64 = i;
    if (epfd_ < 0 || ::epoll_ctl(epfd_, EPOLL_CTL_ADD, conns_[i].fd, &ev) < 0) {
      lose(conns_[i], &ErrorCounts::reset);
    }
  }
  if (config_.mode == Mode::kClosed) {
    for (Conn& c : conns_) {
      if (c.alive) start_message(c, now_ns());
    }
  } else {
    next_arrival_ns_ = static_cast<double>(schedule_.start_ns);
    if (!live_.empty())
      next_arrival_ns_ += std::exponential_distribution<double>(rate_per_ns_)(rng_);
  }

  std::int64_t drain_deadline = 0;
  while (!live_.empty()) {
    const std::int64_t now = now_ns();
    if (now >= schedule_.measure_from_ns) mark(start_marked_, "measure_start");
    if (!stopping_ && now >= schedule_.measure_to_ns) {
      mark(end_marked_, "measure_end");
      begin_drain();
      drain_deadline = now + kDrainGraceNs;
    }
    if (stopping_ && (in_flight_ == 0 || now >= drain_deadline)) break;
    std::int64_t wake = stopping_ ? drain_deadline : schedule_.measure_to_ns;
    if (print_markers_ && !start_marked_) wake = std::min(wake, schedule_.measure_from_ns);
    if (config_.mode == Mode::kOpen && !stopping_) {
      issue_arrivals(now);
      wake = std::min(wake, static_cast<std::int64_t>(std::ceil(next_arrival_ns_)));
    }
    const int n = wait_until(wake);
    for (int i = 0; i < n; ++i) handle(events_[static_cast<std::size_t>(i)]);
  }

  mark(start_marked_, "measure_start");  // all connections were lost before the window
  mark(end_marked_, "measure_end");
  const std::int64_t end = now_ns();
  for (const Conn& c : conns_) {
    if (!c.alive) continue;
    if (config_.mode == Mode::kClosed) {
      if (c.in_flight) ++stats_.errors.timeout;
      continue;
    }
    // Open mode: what the server has not answered yet, with its latency so far.
    auto unfinished = [&](std::int64_t intended) {
      if (!in_window(intended)) return;
      ++stats_.unfinished;
      stats_.latency.record(end - intended);
    };
    if (c.in_flight) unfinished(c.start_ns);
    for (std::size_t i = c.queue_head; i < c.queue.size(); ++i) unfinished(c.queue[i]);
  }
  return std::move(stats_);
}

void ClientThread::mark(bool& printed, const char* line) {
  if (!print_markers_ || printed) return;
  printed = true;
  std::fputs(line, stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

// Sleeps until an event or `deadline_ns`; returns the number of events in events_.
int ClientThread::wait_until(std::int64_t deadline_ns) {
  const std::int64_t left = std::max<std::int64_t>(deadline_ns - now_ns(), 0);
  const int max = static_cast<int>(events_.size());
  int n = -1;
  if (have_pwait2_) {
    const timespec ts{static_cast<time_t>(left / 1'000'000'000),
                      static_cast<long>(left % 1'000'000'000)};
    n = ::epoll_pwait2(epfd_, events_.data(), max, &ts, nullptr);
    if (n < 0 && errno == ENOSYS) have_pwait2_ = false;
  }
  if (!have_pwait2_) {
    const std::int64_t ms = (left + 999'999) / 1'000'000;  // round up: never wake early
    n = ::epoll_wait(epfd_, events_.data(), max,
                     static_cast<int>(std::min<std::int64_t>(ms, 1000)));
  }
  return std::max(n, 0);  // EINTR: go round again
}

void ClientThread::handle(const epoll_event& ev) {
  Conn& c = conns_[ev.data.u64];
  if (!c.alive) return;  // lost earlier in this batch of events
  if (ev.events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
    // A short read means the socket was empty: skip the recv that would only say EAGAIN, unless
    // an end of stream or error is pending, which only a further recv reports.
    receive(c, (ev.events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0);
  }
  if (c.alive && (ev.events & EPOLLOUT)) {
    c.writable = true;
    send_more(c);
  }
}

void ClientThread::receive(Conn& c, bool drain_to_eagain) {
  while (c.alive) {
    const ssize_t n = ::recv(c.fd, recv_buf_.data(), recv_buf_.size(), 0);
    if (n > 0) {
      on_echo(c, recv_buf_.data(), static_cast<std::size_t>(n));
      if (static_cast<std::size_t>(n) < recv_buf_.size() && !drain_to_eagain) return;
    } else if (n == 0) {
      lose(c, &ErrorCounts::closed);
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return;
    } else if (errno != EINTR) {
      lose(c, &ErrorCounts::reset);
    }
  }
}

void ClientThread::on_echo(Conn& c, const std::uint8_t* data, std::size_t len) {
  if (!c.in_flight || c.echoed + len > c.sent) {
    lose(c, &ErrorCounts::unexpected);
    return;
  }
  if (!matches_pattern(c.id, c.echoed, data, len)) c.mismatch = true;
  c.echoed += len;
  if (c.echoed == c.msg_end) complete(c);
}

void ClientThread::complete(Conn& c) {
  const std::int64_t now = now_ns();
  c.in_flight = false;
  --in_flight_;
  const bool counted = config_.mode == Mode::kOpen
                           ? in_window(c.start_ns)
                           : c.start_ns >= schedule_.measure_from_ns && now <= schedule_.measure_to_ns;
  if (c.mismatch) {
    ++stats_.errors.mismatch;
  } else if (counted) {
    ++stats_.msgs;
    stats_.latency.record(now - c.start_ns);
  }
  // Draining: closed mode starts nothing new; open mode still owes the queued arrivals.
  if (stopping_ && config_.mode == Mode::kClosed) return;
  if (config_.mode == Mode::kClosed) {
    start_message(c, now);
  } else if (c.queue_head < c.queue.size()) {
    const std::int64_t intended = c.queue[c.queue_head++];
    if (c.queue_head == c.queue.size()) {
      c.queue.clear();
      c.queue_head = 0;
    }
    start_message(c, intended);
  }
}

void ClientThread::start_message(Conn& c, std::int64_t send_ns) {
  c.msg_end = c.sent + static_cast<std::uint64_t>(config_.msg_size);
  c.start_ns = send_ns;
  c.in_flight = true;
  c.mismatch = false;
  ++in_flight_;
  send_more(c);
}

void ClientThread::send_more(Conn& c) {
  while (c.alive && c.writable && c.sent < c.msg_end) {
    const std::size_t len = std::min<std::uint64_t>(c.msg_end - c.sent, send_buf_.size());
    fill_pattern(c.id, c.sent, send_buf_.data(), len);
    const ssize_t n = ::send(c.fd, send_buf_.data(), len, MSG_NOSIGNAL);
    if (n > 0) {
      c.sent += static_cast<std::uint64_t>(n);
      // Short: the send buffer is full; the next EPOLLOUT edge says when it has room again.
      if (static_cast<std::size_t>(n) < len) c.writable = false;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      c.writable = false;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      lose(c, &ErrorCounts::reset);
    }
  }
}

// Counts one error of `kind` for the connection and whatever it had in flight, and closes it.
void ClientThread::lose(Conn& c, std::uint64_t ErrorCounts::*kind) {
  ++(stats_.errors.*kind);
  ++stats_.lost;
  if (c.in_flight) --in_flight_;
  c.in_flight = false;
  c.alive = false;
  ::close(c.fd);  // also removes it from the epoll set
  stats_.unsent += c.queue.size() - c.queue_head;
  c.queue = {};
  c.queue_head = 0;
  const std::uint32_t last = live_.back();
  live_[c.live_pos] = last;
  conns_[last].live_pos = c.live_pos;
  live_.pop_back();
}

// Open mode: every arrival due by `now` (and before the window closes) goes to a random live
// connection; an idle one sends at once, a busy one queues the intended time.
void ClientThread::issue_arrivals(std::int64_t now) {
  std::exponential_distribution<double> gap(rate_per_ns_);
  while (next_arrival_ns_ <= static_cast<double>(now) &&
         next_arrival_ns_ < static_cast<double>(schedule_.measure_to_ns) && !live_.empty()) {
    const auto intended = static_cast<std::int64_t>(next_arrival_ns_);
    next_arrival_ns_ += gap(rng_);
    std::uniform_int_distribution<std::size_t> pick(0, live_.size() - 1);
    Conn& c = conns_[live_[pick(rng_)]];
    if (c.in_flight) {
      c.queue.push_back(intended);
    } else {
      start_message(c, intended);
    }
  }
}

// The window has closed: no new arrivals or messages; what is queued or in flight drains.
void ClientThread::begin_drain() { stopping_ = true; }

bool ClientThread::in_window(std::int64_t intended_ns) const {
  return intended_ns >= schedule_.measure_from_ns && intended_ns < schedule_.measure_to_ns;
}

}  // namespace weft::loadgen
