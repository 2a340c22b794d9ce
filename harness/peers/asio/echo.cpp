// weft-peer-asio echo: Weft's echo server (workloads/echo) on Boost.Asio handlers. One acceptor;
// each accepted socket (TCP_NODELAY) goes to Contexts::next(): the one shared io_context run by T
// threads, where the socket's handlers run on a strand of their own, or, with per_thread
// contexts, the next io_context round robin. A session reads up to `buffer` bytes, writes them all
// back, and reads again, until EOF or an error. SIGTERM/SIGINT (asio::signal_set): stop
// accepting, close every connection on its own executor, let the contexts run dry, print the
// counters, exit 0.
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <csignal>
#include <memory>
#include <mutex>
#include <unordered_set>
#include <vector>

#include "contexts.hpp"
#include "peer_common.hpp"

namespace weft_peer::asio_peer {
namespace {

using asio::ip::tcp;
using boost::system::error_code;

class Server;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Server& server, tcp::socket socket, std::size_t buffer);
  ~Session();
  void read();
  void close() {
    error_code ignored;
    socket_.close(ignored);
  }
  asio::any_io_executor executor() { return socket_.get_executor(); }

 private:
  void end(const error_code& ec);

  Server& server_;
  tcp::socket socket_;
  std::vector<char> buf_;
};

class Server {
 public:
  Server(Contexts& cx, asio::io_context& first, bool per_thread, std::size_t buffer)
      : cx_(cx),
        per_thread_(per_thread),
        buffer_(buffer),
        control_(asio::make_strand(first)),
        acceptor_(control_),
        signals_(control_, SIGTERM, SIGINT) {}

  int listen(const Peer& peer, const Options& o) {
    error_code ec;
    const asio::ip::address address = asio::ip::make_address(o.bind, ec);
    if (ec) exit_with(2, peer, "--bind=%s: not an IPv4 or IPv6 address", o.bind.c_str());
    const tcp::endpoint endpoint(address, static_cast<unsigned short>(o.port));
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(endpoint, ec);
    if (ec) {
      exit_with(1, peer, "echo: bind %s:%lld: %s", o.bind.c_str(), static_cast<long long>(o.port),
                ec.message().c_str());
    }
    acceptor_.listen(4096);
    signals_.async_wait([this](const error_code& e, int) {
      if (!e) stop();
    });
    accept();
    return acceptor_.local_endpoint().port();
  }

  void count_error() { errors_.fetch_add(1, std::memory_order_relaxed); }
  void forget(Session* s) {
    std::lock_guard lock(mu_);
    live_.erase(s);
  }
  std::int64_t connections() const { return connections_.load(); }
  std::int64_t errors() const { return errors_.load(); }

 private:
  void accept() {
    asio::io_context& target = cx_.next();
    const asio::any_io_executor ex = per_thread_ ? asio::any_io_executor(target.get_executor())
                                                 : asio::any_io_executor(asio::make_strand(target));
    acceptor_.async_accept(ex, [this](const error_code& ec, tcp::socket socket) {
      if (stopping_) return;  // on control_, as stop() is: nothing is registered after it
      if (!ec) {
        connections_.fetch_add(1, std::memory_order_relaxed);
        error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        auto session = std::make_shared<Session>(*this, std::move(socket), buffer_);
        {
          std::lock_guard lock(mu_);
          live_.insert(session.get());
        }
        session->read();
      }
      accept();
    });
  }

  void stop() {
    stopping_ = true;
    error_code ignored;
    acceptor_.close(ignored);
    std::lock_guard lock(mu_);
    for (Session* s : live_) {
      if (std::shared_ptr<Session> alive = s->weak_from_this().lock()) {
        asio::post(alive->executor(), [alive] { alive->close(); });
      }
    }
    cx_.release();
  }

  Contexts& cx_;
  const bool per_thread_;
  const std::size_t buffer_;
  asio::strand<asio::io_context::executor_type> control_;  // the acceptor and the signals
  tcp::acceptor acceptor_;
  asio::signal_set signals_;
  bool stopping_ = false;
  std::mutex mu_;
  std::unordered_set<Session*> live_;
  std::atomic<std::int64_t> connections_{0}, errors_{0};
};

Session::Session(Server& server, tcp::socket socket, std::size_t buffer)
    : server_(server), socket_(std::move(socket)), buf_(buffer) {}

Session::~Session() { server_.forget(this); }

void Session::read() {
  socket_.async_read_some(asio::buffer(buf_),
                          [self = shared_from_this()](const error_code& ec, std::size_t n) {
                            if (ec) return self->end(ec);
                            asio::async_write(self->socket_, asio::buffer(self->buf_.data(), n),
                                              [self](const error_code& e, std::size_t) {
                                                if (e) return self->end(e);
                                                self->read();
                                              });
                          });
}

// EOF, a reset and our own close at shutdown end a connection normally; anything else counts.
void Session::end(const error_code& ec) {
  if (ec != asio::error::eof && ec != asio::error::connection_reset &&
      ec != asio::error::broken_pipe && ec != asio::error::operation_aborted) {
    server_.count_error();
  }
}

}  // namespace

int echo(const Peer& peer, const Options& o) {
  const bool per_thread = o.extra.at("contexts") == "per_thread";
  Contexts cx(static_cast<std::size_t>(o.threads), per_thread);
  Server server(cx, cx.next(), per_thread, static_cast<std::size_t>(o.buffer));
  echo_listening(peer, server.listen(peer, o));
  cx.join();
  return echo_stopped(server.connections(), server.errors());
}

}  // namespace weft_peer::asio_peer
