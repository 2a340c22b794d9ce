// weft-peer-asio: Weft's spawn_storm shapes and echo server on Boost.Asio (harness/peers/README.md,
// variants `asio` and `asio_pool`, see contexts.hpp). A Weft task is a handler posted with
// asio::post; where a Weft task awaits its children, the handler passes its continuation on:
//   flat:       one handler posts `tasks` trivial handlers; each counts down, the last tells main.
//   tree:       skynet in continuation-passing style: a node posts its `fanout` children; each
//               child adds its sum into the parent's record, and the last to finish completes the
//               parent, up to the root.
//   yield_many: each task re-posts itself `yields` times to its own context (Asio's yield: back
//               of the queue), then counts down.
//   chained:    each handler posts the next; the last tells main.
//   ping_pong:  absent: Boost 1.74's Asio has no channel (asio::experimental::channel is 1.80).
// The echo server is in echo.cpp.
#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/version.hpp>
#include <boost/version.hpp>
#include <cstdint>
#include <string>

#include "contexts.hpp"
#include "peer_common.hpp"

namespace weft_peer::asio_peer {

int echo(const Peer& peer, const Options& o);  // echo.cpp

namespace {

std::int64_t flat(Contexts& cx, std::int64_t n) {
  std::atomic<std::int64_t> left{n};
  Done done;
  asio::post(cx.next(), [&cx, &left, &done, n] {
    for (std::int64_t i = 0; i < n; ++i) {
      asio::post(cx.next(), [&left, &done, n] {
        if (left.fetch_sub(1, std::memory_order_acq_rel) == 1) done.set(n);
      });
    }
  });
  return done.wait();
}

struct Node {
  Node* parent;
  std::atomic<std::int64_t> sum{0};
  std::atomic<std::int64_t> pending;
};

struct Tree {
  Contexts& cx;
  std::int64_t fanout;
  Done done;
};

// Hands `value` up: into the parent's sum, and when it was the parent's last child, the parent's
// own sum further up, up to the root, which tells main.
void complete(Tree& t, Node* parent, std::int64_t value) {
  while (parent != nullptr) {
    parent->sum.fetch_add(value, std::memory_order_relaxed);
    if (parent->pending.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    value = parent->sum.load(std::memory_order_relaxed);
    Node* up = parent->parent;
    delete parent;
    parent = up;
  }
  t.done.set(value);
}

void node(Tree& t, Node* parent, std::int64_t num, std::int64_t size) {
  if (size == 1) return complete(t, parent, num);
  Node* self = new Node{parent, {0}, {t.fanout}};
  const std::int64_t sub = size / t.fanout;
  for (std::int64_t i = 0; i < t.fanout; ++i) {
    asio::post(t.cx.next(), [&t, self, num = num + i * sub, sub] { node(t, self, num, sub); });
  }
}

std::int64_t tree(Contexts& cx, std::int64_t leaves, std::int64_t fanout) {
  Tree t{cx, fanout, {}};
  asio::post(cx.next(), [&t, leaves] { node(t, nullptr, 0, leaves); });
  return t.done.wait();
}

struct Yielders {
  std::atomic<std::int64_t> left;
  Done done;
  std::int64_t tasks;
};

void yielder(asio::io_context& own, Yielders& y, std::int64_t yields) {
  if (yields > 0) {
    asio::post(own, [&own, &y, yields] { yielder(own, y, yields - 1); });
  } else if (y.left.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    y.done.set(y.tasks);
  }
}

std::int64_t yield_many(Contexts& cx, std::int64_t tasks, std::int64_t yields) {
  Yielders y{{tasks}, {}, tasks};
  asio::post(cx.next(), [&cx, &y, tasks, yields] {
    for (std::int64_t i = 0; i < tasks; ++i) {
      asio::io_context& own = cx.next();
      asio::post(own, [&own, &y, yields] { yielder(own, y, yields); });
    }
  });
  return y.done.wait();
}

struct Chain {
  Contexts& cx;
  std::int64_t depth;
  Done done;
};

void link(Chain& c, std::int64_t index) {  // index: 1..depth
  if (index == c.depth) return c.done.set(index);
  asio::post(c.cx.next(), [&c, index] { link(c, index + 1); });
}

std::int64_t chained(Contexts& cx, std::int64_t depth) {
  Chain c{cx, depth, {}};
  asio::post(cx.next(), [&c] { link(c, 1); });
  return c.done.wait();
}

std::string build() {
  return compiler() + ", Boost.Asio " + std::to_string(BOOST_VERSION / 100000) + "." +
         std::to_string(BOOST_VERSION / 100 % 1000) + "." + std::to_string(BOOST_VERSION % 100) +
         " (Asio " + std::to_string(BOOST_ASIO_VERSION / 100000) + "." +
         std::to_string(BOOST_ASIO_VERSION / 100 % 1000) + "." +
         std::to_string(BOOST_ASIO_VERSION % 100) + ")";
}

}  // namespace
}  // namespace weft_peer::asio_peer

int main(int argc, char** argv) {
  using namespace weft_peer;
  using namespace weft_peer::asio_peer;
  const Peer peer{
      "asio",
      build(),
      {{"ping_pong",
        "Boost 1.74's Asio has no channel (asio::experimental::channel arrived in "
        "Boost 1.80), so a handler cannot await a message"}},
      {{"contexts", {"shared", "per_thread"}}},
  };
  const Options o = parse(argc, argv, peer);
  if (o.mode == "echo") return echo(peer, o);
  Contexts cx(static_cast<std::size_t>(o.threads), o.extra.at("contexts") == "per_thread");
  return spawn_storm(peer, o, [&](const Options& r) -> std::int64_t {
    if (r.shape == "flat") return flat(cx, r.tasks);
    if (r.shape == "tree") return tree(cx, r.leaves, r.fanout);
    if (r.shape == "yield_many") return yield_many(cx, r.yield_tasks, r.yields);
    return chained(cx, r.tasks);
  });
}
