//! The spawn_storm shapes on Tokio, one per function of workloads/spawn_storm/spawn_storm.cpp:
//!
//!   flat        flat()           -> tokio::spawn of `tasks` leaves, a shared Countdown
//!   tree        skynet()         -> node(): spawns `fanout` children, awaits their JoinHandles
//!   yield_many  spawn_yielders() -> tokio::task::yield_now() `yields` times per task
//!   ping_pong   ping_pongs()     -> two tokio::sync::oneshot channels per pair, pong joined
//!   chained     chained()        -> each link spawns the next (detached); the last one sends
//!
//! Weft's tasks share their Countdown by plain pointer; here it is a leaked `&'static` (one per
//! run), so no task pays an Arc's reference count that Weft's does not.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Instant;

use tokio::runtime::Runtime;
use tokio::sync::{oneshot, Notify};
use tokio::task::JoinHandle;

pub const SHAPES: &[&str] = &["flat", "tree", "yield_many", "ping_pong", "chained"];

/// The shape's sizes, already checked (every one >= 1; leaves a power of fanout >= 2).
pub struct Sizes {
    pub tasks: i64,
    pub leaves: i64,
    pub fanout: i64,
    pub yield_tasks: i64,
    pub yields: i64,
    pub pairs: i64,
}

impl Sizes {
    /// The warm-up run's sizes (../README.md): a tenth of every count, at least 1, and a tree
    /// one level shallower. It starts the runtime's threads and warms its allocator.
    pub fn warm_up(&self) -> Sizes {
        let tenth = |n: i64| (n / 10).max(1);
        Sizes {
            tasks: tenth(self.tasks),
            leaves: (self.leaves / self.fanout).max(1),
            fanout: self.fanout,
            yield_tasks: tenth(self.yield_tasks),
            yields: self.yields,
            pairs: tenth(self.pairs),
        }
    }
}

/// One checked run: the units it counts (the contract's table) and its seconds.
pub struct Run {
    pub units: i64,
    pub seconds: f64,
}

/// Runs `root` as a task on a worker (as Weft's block_on does) and times it, from just before
/// that first spawn to block_on observing its completion.
fn timed<F>(shape: &str, rt: &Runtime, root: F) -> Result<(F::Output, f64), String>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let start = Instant::now();
    let out = rt.block_on(async { tokio::spawn(root).await });
    let seconds = start.elapsed().as_secs_f64();
    out.map(|v| (v, seconds)).map_err(|e| format!("{shape}: the root task failed: {e}"))
}

/// count_down() from N tasks; the last one wakes wait(). fail() marks a wrong result.
struct Countdown {
    remaining: AtomicI64,
    zero: Notify,
    failed: AtomicBool,
}

impl Countdown {
    fn leak(n: i64) -> &'static Countdown {
        Box::leak(Box::new(Countdown {
            remaining: AtomicI64::new(n),
            zero: Notify::new(),
            failed: AtomicBool::new(false),
        }))
    }
    fn count_down(&self) {
        // notify_one keeps a permit when the root is not waiting yet: no lost wake-up.
        if self.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.zero.notify_one();
        }
    }
    fn fail(&self) {
        self.failed.store(true, Ordering::Relaxed);
    }
    async fn wait(&self) {
        self.zero.notified().await;
    }
    fn check(&self, shape: &str) -> Result<(), String> {
        let left = self.remaining.load(Ordering::Acquire);
        if left != 0 {
            return Err(format!("{shape}: countdown ended at {left}, not 0"));
        }
        if self.failed.load(Ordering::Relaxed) {
            return Err(format!("{shape}: a ping did not get 2 back"));
        }
        Ok(())
    }
}

async fn flat(n: i64, done: &'static Countdown) {
    for _ in 0..n {
        tokio::spawn(async move { done.count_down() });
    }
    done.wait().await;
}

// skynet: spawn_node() names the JoinHandle type, which breaks the async fn's type cycle.
fn spawn_node(num: i64, size: i64, fanout: i64) -> JoinHandle<i64> {
    tokio::spawn(node(num, size, fanout))
}

async fn node(num: i64, size: i64, fanout: i64) -> i64 {
    if size == 1 {
        return num;
    }
    let sub = size / fanout;
    let children: Vec<JoinHandle<i64>> =
        (0..fanout).map(|i| spawn_node(num + i * sub, sub, fanout)).collect();
    let mut sum = 0;
    for child in children {
        sum += child.await.expect("tree: a child task failed");
    }
    sum
}

async fn spawn_yielders(n: i64, yields: i64, done: &'static Countdown) {
    for _ in 0..n {
        tokio::spawn(async move {
            for _ in 0..yields {
                tokio::task::yield_now().await;
            }
            done.count_down();
        });
    }
    done.wait().await;
}

async fn ping_side(done: &'static Countdown) {
    let (ping_tx, ping_rx) = oneshot::channel::<i32>();
    let (pong_tx, pong_rx) = oneshot::channel::<i32>();
    let other = tokio::spawn(async move {
        if let Ok(v) = ping_rx.await {
            let _ = pong_tx.send(v + 1);
        }
    });
    let _ = ping_tx.send(1);
    let v = pong_rx.await.unwrap_or(0);
    let _ = other.await; // as Weft's ping awaits its pong's JoinHandle
    if v != 2 {
        done.fail(); // Weft's would hang instead; count down anyway and fail the check
    }
    done.count_down();
}

async fn ping_pongs(pairs: i64, done: &'static Countdown) {
    for _ in 0..pairs {
        tokio::spawn(ping_side(done));
    }
    done.wait().await;
}

// chain: the oneshot Sender travels down the chain with the links counted so far.
fn spawn_chain(remaining: i64, links: i64, done: oneshot::Sender<i64>) {
    tokio::spawn(chain(remaining, links, done));
}

async fn chain(remaining: i64, links: i64, done: oneshot::Sender<i64>) {
    if remaining == 0 {
        let _ = done.send(links);
    } else {
        spawn_chain(remaining - 1, links + 1, done);
    }
}

async fn chained(depth: i64) -> Result<i64, oneshot::error::RecvError> {
    let (tx, rx) = oneshot::channel();
    spawn_chain(depth - 1, 1, tx);
    rx.await
}

/// Runs `shape` once, checks its result, and returns what it counts.
pub fn run(rt: &Runtime, shape: &str, s: &Sizes) -> Result<Run, String> {
    match shape {
        "flat" => {
            let done = Countdown::leak(s.tasks);
            let ((), seconds) = timed(shape, rt, flat(s.tasks, done))?;
            done.check(shape)?;
            Ok(Run { units: s.tasks, seconds })
        }
        "tree" => {
            let (sum, seconds) = timed(shape, rt, node(0, s.leaves, s.fanout))?;
            let expected = s.leaves * (s.leaves - 1) / 2;
            if sum != expected {
                return Err(format!("tree: sum {sum} != expected {expected}"));
            }
            Ok(Run { units: tree_nodes(s.leaves, s.fanout).unwrap_or(0), seconds })
        }
        "yield_many" => {
            let done = Countdown::leak(s.yield_tasks);
            let ((), seconds) = timed(shape, rt, spawn_yielders(s.yield_tasks, s.yields, done))?;
            done.check(shape)?;
            Ok(Run { units: s.yield_tasks * (s.yields + 1), seconds })
        }
        "ping_pong" => {
            let done = Countdown::leak(s.pairs);
            let ((), seconds) = timed(shape, rt, ping_pongs(s.pairs, done))?;
            done.check(shape)?;
            Ok(Run { units: 2 * s.pairs, seconds })
        }
        "chained" => {
            let (links, seconds) = timed(shape, rt, chained(s.tasks))?;
            match links {
                Ok(n) if n == s.tasks => Ok(Run { units: s.tasks, seconds }),
                Ok(n) => Err(format!("chained: the chain ended after {n} links, not {}", s.tasks)),
                Err(_) => Err("chained: a link was dropped before the end".to_string()),
            }
        }
        _ => Err(format!("unknown shape '{shape}' (valid: {})", SHAPES.join(", "))),
    }
}

/// Skynet's node count, leaves + leaves/fanout + ... + 1, or None when leaves is not a power
/// of fanout (or fanout < 2): the same walk as Weft's.
pub fn tree_nodes(leaves: i64, fanout: i64) -> Option<i64> {
    if fanout < 2 {
        return None;
    }
    let (mut nodes, mut level) = (0i64, 1i64);
    while level < leaves {
        nodes += level;
        if level > leaves / fanout {
            break;
        }
        level *= fanout;
    }
    (level == leaves).then(|| nodes + leaves)
}
