// weft-peer-libuv: Weft's spawn_storm shapes on libuv (harness/peers/README.md, variant `libuv`).
// One loop; a Weft task is a uv_queue_work item: its work callback runs on libuv's thread pool
// (UV_THREADPOOL_SIZE = --threads), its after-work callback back on the loop thread, which is
// where a task's continuation (Weft's join) runs. The root runs in a timer callback on the loop.
//   flat:    the root queues `tasks` items; each work callback counts, each after-work counts
//            down; the loop ends when the last is done.
//   tree:    skynet: a node's after-work queues its `fanout` children; a leaf's work callback
//            produces its number; children report sums to the parent in after-work, and the
//            parent's last child completes it, up to the root.
//   chained: each item's after-work queues the next; the last records the depth reached.
//   yield_many, ping_pong: absent: a work item runs to completion on a pool thread; it can
//            neither yield nor wait for another item's message.
// The echo server is in echo.cpp.
#include <uv.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "peer_common.hpp"

namespace weft_peer::libuv_peer {

int echo(const Peer& peer, const Options& o);  // echo.cpp

namespace {

const Peer* g_peer = nullptr;

// Queues `item` (which starts with its uv_work_t) on the pool.
template <class T>
void queue(uv_loop_t* loop, T* item, uv_work_cb work, uv_after_work_cb after) {
  if (const int r = uv_queue_work(loop, &item->req, work, after); r != 0) {
    exit_with(1, *g_peer, "uv_queue_work: %s", uv_strerror(r));
  }
}

template <class T>
T* item_of(uv_work_t* req) {
  return static_cast<T*>(req->data);
}

struct Flat {
  uv_loop_t* loop;
  std::int64_t tasks;
  std::int64_t left;
  std::atomic<std::int64_t> ran{0};
};
struct FlatItem {
  uv_work_t req;
  Flat* run;
};

void flat_root(Flat& f) {
  for (std::int64_t i = 0; i < f.tasks; ++i) {
    auto* item = new FlatItem{{}, &f};
    item->req.data = item;
    queue(
        f.loop, item,
        [](uv_work_t* r) {
          item_of<FlatItem>(r)->run->ran.fetch_add(1, std::memory_order_relaxed);
        },
        [](uv_work_t* r, int) {
          FlatItem* it = item_of<FlatItem>(r);
          --it->run->left;
          delete it;
        });
  }
}

struct Tree {
  uv_loop_t* loop;
  std::int64_t fanout;
  std::int64_t result = -1;
};
struct TreeNode {
  uv_work_t req;
  Tree* tree;
  TreeNode* parent;
  std::int64_t num, size, sum = 0, pending = 0;
};

void tree_queue(Tree& t, TreeNode* parent, std::int64_t num, std::int64_t size);

// On the loop: `value` goes into the parent's sum; the parent's last child completes it, up.
void tree_report(Tree& t, TreeNode* parent, std::int64_t value) {
  while (parent != nullptr) {
    parent->sum += value;
    if (--parent->pending != 0) return;
    value = parent->sum;
    TreeNode* up = parent->parent;
    delete parent;
    parent = up;
  }
  t.result = value;
}

void tree_after(uv_work_t* r, int) {
  TreeNode* node = item_of<TreeNode>(r);
  Tree& t = *node->tree;
  if (node->size == 1) {
    tree_report(t, node->parent, node->sum);
    delete node;
    return;
  }
  node->pending = t.fanout;
  const std::int64_t sub = node->size / t.fanout;
  for (std::int64_t i = 0; i < t.fanout; ++i) tree_queue(t, node, node->num + i * sub, sub);
}

void tree_queue(Tree& t, TreeNode* parent, std::int64_t num, std::int64_t size) {
  auto* node = new TreeNode{{}, &t, parent, num, size};
  node->req.data = node;
  queue(
      t.loop, node,
      [](uv_work_t* r) {
        TreeNode* n = item_of<TreeNode>(r);
        if (n->size == 1) n->sum = n->num;
      },
      tree_after);
}

struct Chain {
  uv_loop_t* loop;
  std::int64_t depth;
  std::int64_t reached = 0;
};
struct Link {
  uv_work_t req;
  Chain* chain;
  std::int64_t index;  // 1..depth
};

void chain_queue(Chain& c, std::int64_t index) {
  auto* link = new Link{{}, &c, index};
  link->req.data = link;
  queue(
      c.loop, link, [](uv_work_t*) {},
      [](uv_work_t* r, int) {
        Link* l = item_of<Link>(r);
        if (l->index == l->chain->depth) {
          l->chain->reached = l->index;
        } else {
          chain_queue(*l->chain, l->index + 1);
        }
        delete l;
      });
}

// Runs `root` in a timer callback on the loop, then the loop until no item is left.
template <class F>
void run_on_loop(uv_loop_t* loop, uv_timer_t* timer, F& root) {
  timer->data = &root;
  uv_timer_start(
      timer, [](uv_timer_t* t) { (*static_cast<F*>(t->data))(); }, 0, 0);
  uv_run(loop, UV_RUN_DEFAULT);
}

}  // namespace
}  // namespace weft_peer::libuv_peer

int main(int argc, char** argv) {
  using namespace weft_peer;
  using namespace weft_peer::libuv_peer;
  const std::string absent = "a uv_queue_work item runs to completion on a pool thread: it ";
  const Peer peer{"libuv",
                  compiler() + ", libuv " + uv_version_string(),
                  {{"yield_many", absent + "cannot yield to the scheduler"},
                   {"ping_pong", absent + "cannot wait for another item's message"}},
                  {},
                  1024};  // libuv's MAX_THREADPOOL_SIZE
  g_peer = &peer;
  const Options o = parse(argc, argv, peer);
  if (o.mode == "echo") return echo(peer, o);
  // Before the first uv_queue_work, which starts the pool (it lasts for the process).
  setenv("UV_THREADPOOL_SIZE", std::to_string(o.threads).c_str(), 1);
  uv_loop_t loop;
  uv_timer_t timer;
  uv_loop_init(&loop);
  uv_timer_init(&loop, &timer);
  const int rc = spawn_storm(peer, o, [&](const Options& r) -> std::int64_t {
    if (r.shape == "flat") {
      Flat f{&loop, r.tasks, r.tasks};
      auto root = [&f] { flat_root(f); };
      run_on_loop(&loop, &timer, root);
      return f.left == 0 ? f.ran.load() : -1;
    }
    if (r.shape == "tree") {
      Tree t{&loop, r.fanout};
      auto root = [&t, &r] { tree_queue(t, nullptr, 0, r.leaves); };
      run_on_loop(&loop, &timer, root);
      return t.result;
    }
    Chain c{&loop, r.tasks};
    auto root = [&c] { chain_queue(c, 1); };
    run_on_loop(&loop, &timer, root);
    return c.reached;
  });
  uv_close(reinterpret_cast<uv_handle_t*>(&timer), nullptr);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  return rc;
}
