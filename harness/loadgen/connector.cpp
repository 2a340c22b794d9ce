// Address resolution and the batched, retrying connect loop (see connector.hpp).
#include "connector.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <unordered_map>

#include "config.hpp"
#include "fmt/format.h"

namespace weft::loadgen {
namespace {

using Clock = std::chrono::steady_clock;

bool retryable(int err) {
  return err == ECONNREFUSED || err == EAGAIN || err == ETIMEDOUT || err == ECONNRESET ||
         err == EADDRNOTAVAIL;
}

// One connect loop: the state that the helpers below share.
class Connector {
 public:
  Connector(const Endpoint& to, int count, const Endpoint* from)
      : to_(to), from_(from), count_(count) {}
  ~Connector() {
    for (const auto& [fd, tries] : in_flight_) ::close(fd);
    for (int fd : done_) ::close(fd);
    if (epfd_ >= 0) ::close(epfd_);
  }

  absl::StatusOr<std::vector<int>> run(double timeout_s) {
    epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epfd_ < 0) return errno_status("epoll_create1");
    const auto start = Clock::now();
    const auto deadline = start + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(timeout_s));
    auto next_report = start + std::chrono::seconds(1);
    done_.reserve(static_cast<std::size_t>(count_));
    epoll_event events[kConnectBatch];
    while (static_cast<int>(done_.size()) < count_) {
      const auto now = Clock::now();
      if (now >= deadline) {
        return absl::DeadlineExceededError(
            fmt::format("connected {} of {} connections to {} within --connect_timeout={}s",
                        done_.size(), count_, to_.text, timeout_s));
      }
      if (now >= next_report) {
        fmt::print(stderr, "weft-loadgen: connected {}/{}\n", done_.size(), count_);
        next_report += std::chrono::seconds(1);
      }
      if (absl::Status s = start_attempts(now); !s.ok()) return s;
      // Sleep until a connect completes, the next retry is due, or the deadline.
      auto wake = std::min(deadline, now + std::chrono::milliseconds(100));
      if (static_cast<int>(in_flight_.size()) < kConnectBatch) {
        for (const Retry& r : retries_) wake = std::min(wake, r.due);
      }
      const auto wait_ms = std::chrono::ceil<std::chrono::milliseconds>(wake - now).count();
      const int n = ::epoll_wait(epfd_, events, kConnectBatch, static_cast<int>(wait_ms));
      if (n < 0 && errno != EINTR) return errno_status("epoll_wait");
      for (int i = 0; i < n; ++i) {
        const int fd = events[i].data.fd;
        int err = 0;
        socklen_t len = sizeof(err);
        if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
        ::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
        const int tries = in_flight_[fd];
        in_flight_.erase(fd);
        if (err == 0) {
          if (absl::Status s = connected(fd); !s.ok()) return s;
        } else {
          ::close(fd);
          if (absl::Status s = failed(err, tries, Clock::now()); !s.ok()) return s;
        }
      }
    }
    std::vector<int> out;
    out.swap(done_);  // the caller owns them now; the destructor must not close them
    return out;
  }

 private:
  struct Retry {
    Clock::time_point due;
    int tries;  // attempts made so far for this connection
  };

  absl::Status errno_status(const char* op) const {
    return absl::UnavailableError(fmt::format("{} ({}): {}", op, to_.text, std::strerror(errno)));
  }

  // Starts due retries first, then fresh connections, while fewer than a batch are in flight.
  absl::Status start_attempts(Clock::time_point now) {
    while (static_cast<int>(in_flight_.size()) < kConnectBatch) {
      auto due = std::find_if(retries_.begin(), retries_.end(),
                              [&](const Retry& r) { return r.due <= now; });
      int tries = 0;
      if (due != retries_.end()) {
        tries = due->tries;
        *due = retries_.back();
        retries_.pop_back();
      } else if (started_ < count_) {
        ++started_;
      } else {
        break;
      }
      if (absl::Status s = attempt(tries + 1, now); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::Status attempt(int tries, Clock::time_point now) {
    const int fd = ::socket(to_.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return errno_status("socket");
    if (from_ != nullptr) {
      const int one = 1;
      ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
      if (::bind(fd, reinterpret_cast<const sockaddr*>(&from_->addr), from_->len) != 0) {
        const absl::Status s = absl::UnavailableError(
            fmt::format("bind to --source {}: {}", from_->text, std::strerror(errno)));
        ::close(fd);
        return s;
      }
    }
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&to_.addr), to_.len) == 0) {
      return connected(fd);
    }
    if (errno != EINPROGRESS) {
      const int err = errno;
      ::close(fd);
      return failed(err, tries, now);
    }
    epoll_event ev{};
    ev.events = EPOLLOUT;
    ev.data.fd = fd;
    if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) < 0) {
      const absl::Status s = errno_status("epoll_ctl");
      ::close(fd);
      return s;
    }
    in_flight_[fd] = tries;
    return absl::OkStatus();
  }

  absl::Status connected(int fd) {
    const int one = 1;
    if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0) {
      const absl::Status s = errno_status("setsockopt(TCP_NODELAY)");
      ::close(fd);
      return s;
    }
    done_.push_back(fd);
    return absl::OkStatus();
  }

  absl::Status failed(int err, int tries, Clock::time_point now) {
    if (!retryable(err) || tries >= kConnectAttempts) {
      return absl::UnavailableError(fmt::format("connect to {}: {} (attempt {} of {})", to_.text,
                                                std::strerror(err), tries, kConnectAttempts));
    }
    retries_.push_back({now + std::chrono::milliseconds(5 << (tries - 1)), tries});
    return absl::OkStatus();
  }

  const Endpoint& to_;
  const Endpoint* from_;  // null: no bind
  const int count_;
  int epfd_ = -1;
  int started_ = 0;                         // fresh connections begun (retries not counted)
  std::unordered_map<int, int> in_flight_;  // fd -> attempts so far, awaiting EPOLLOUT
  std::vector<Retry> retries_;
  std::vector<int> done_;
};

}  // namespace

absl::StatusOr<Endpoint> resolve(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  const std::string service = std::to_string(port);
  if (const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &list); rc != 0) {
    return absl::InvalidArgumentError(
        fmt::format("cannot resolve --host '{}': {}", host, ::gai_strerror(rc)));
  }
  Endpoint e;
  std::memcpy(&e.addr, list->ai_addr, list->ai_addrlen);
  e.len = list->ai_addrlen;
  e.text = list->ai_family == AF_INET6 ? fmt::format("[{}]:{}", host, port)
                                       : fmt::format("{}:{}", host, port);
  ::freeaddrinfo(list);
  return e;
}

absl::StatusOr<Endpoint> resolve_source(const std::string& address) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST;
  addrinfo* list = nullptr;
  if (::getaddrinfo(address.c_str(), "0", &hints, &list) != 0 || list == nullptr) {
    return absl::InvalidArgumentError(fmt::format(
        "bad --source value '{}'; valid: {}", address, valid_range("source")));
  }
  Endpoint e;
  std::memcpy(&e.addr, list->ai_addr, list->ai_addrlen);
  e.len = list->ai_addrlen;
  e.text = address;
  ::freeaddrinfo(list);
  return e;
}

absl::StatusOr<std::vector<int>> connect_all(const Endpoint& to, int count, double timeout_s,
                                             const Endpoint* from) {
  if (from != nullptr && from->addr.ss_family != to.addr.ss_family) {
    return absl::InvalidArgumentError(fmt::format(
        "--source {} is not of the family of {}", from->text, to.text));
  }
  Connector connector(to, count, from);
  return connector.run(timeout_s);
}

}  // namespace weft::loadgen
