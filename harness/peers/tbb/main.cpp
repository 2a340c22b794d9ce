// weft-peer-tbb: Weft's spawn_storm shapes on oneTBB (harness/peers/README.md, variant `tbb`).
// Everything runs inside one tbb::task_arena of --threads slots (the main thread takes one, TBB's
// workers the rest); a Weft task is a functor run into a tbb::task_group, and Weft's join is
// task_group::wait, during which the waiting thread runs other tasks.
//   flat:    a task_group runs one task, which runs `tasks` trivial tasks into the same group;
//            each counts down; the root waits on the group.
//   tree:    skynet with a task_group per node: run the `fanout` children, wait, sum.
//   chained: each task runs the next into one shared task_group; the last records the depth
//            reached; the root waits on the group.
//   yield_many, ping_pong: absent: a TBB task runs to completion; it can neither yield to the
//            scheduler nor suspend awaiting a message.
//   echo:    absent: oneTBB has no I/O.
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>
#include <oneapi/tbb/version.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "peer_common.hpp"

namespace weft_peer::tbb_peer {
namespace {

std::int64_t flat(std::int64_t n) {
  std::atomic<std::int64_t> left{n};
  tbb::task_group tg;
  tg.run([&tg, &left, n] {
    for (std::int64_t i = 0; i < n; ++i) {
      tg.run([&left] { left.fetch_sub(1, std::memory_order_relaxed); });
    }
  });
  tg.wait();
  return n - left.load();
}

std::int64_t skynet(std::int64_t num, std::int64_t size, std::int64_t fanout) {
  if (size == 1) return num;
  const std::int64_t sub = size / fanout;
  std::vector<std::int64_t> sums(static_cast<std::size_t>(fanout));
  tbb::task_group tg;
  for (std::int64_t i = 0; i < fanout; ++i) {
    tg.run([&sums, i, num, sub, fanout] {
      sums[static_cast<std::size_t>(i)] = skynet(num + i * sub, sub, fanout);
    });
  }
  tg.wait();
  std::int64_t sum = 0;
  for (std::int64_t s : sums) sum += s;
  return sum;
}

struct Chain {
  tbb::task_group tg;
  std::int64_t depth;
  std::int64_t reached = 0;
};

void link(Chain& c, std::int64_t index) {  // index: 1..depth
  if (index == c.depth) {
    c.reached = index;
  } else {
    c.tg.run([&c, index] { link(c, index + 1); });
  }
}

std::int64_t chained(std::int64_t depth) {
  Chain c{{}, depth};
  c.tg.run([&c] { link(c, 1); });
  c.tg.wait();
  return c.reached;
}

}  // namespace
}  // namespace weft_peer::tbb_peer

int main(int argc, char** argv) {
  using namespace weft_peer;
  using namespace weft_peer::tbb_peer;
  const std::string runs = "a TBB task runs to completion: it cannot ";
  const Peer peer{"tbb",
                  compiler() + ", oneTBB " + std::to_string(TBB_VERSION_MAJOR) + "." +
                      std::to_string(TBB_VERSION_MINOR) + "." + std::to_string(TBB_VERSION_PATCH),
                  {{"yield_many", runs + "yield to the scheduler"},
                   {"ping_pong", runs + "suspend awaiting a message"},
                   {"echo", "oneTBB has no I/O (no sockets, no event loop)"}},
                  {}};
  const Options o = parse(argc, argv, peer);
  const int threads = static_cast<int>(o.threads);
  // TBB's workers default to the cores less one; let --threads exceed that, as the others do.
  tbb::global_control workers(
      tbb::global_control::max_allowed_parallelism,
      static_cast<std::size_t>(std::max(threads, tbb::this_task_arena::max_concurrency())));
  tbb::task_arena arena(threads);
  arena.initialize();
  return spawn_storm(peer, o, [&](const Options& r) -> std::int64_t {
    return arena.execute([&]() -> std::int64_t {
      if (r.shape == "flat") return flat(r.tasks);
      if (r.shape == "tree") return skynet(0, r.leaves, r.fanout);
      return chained(r.tasks);
    });
  });
}
