//! weft-peer-tokio: Weft's spawn_storm shapes (shapes.rs) and echo server (echo.rs) on Tokio,
//! for `weft-bench --variant=peers`. The command line, output and exit codes are the contract
//! in harness/peers/README.md:
//!
//!   weft-peer-tokio spawn_storm --shape=S --threads=T [--flavor=multi_thread|current_thread]
//!                   [--tasks=N] [--leaves=N] [--fanout=N] [--yield_tasks=N] [--yields=N]
//!                   [--pairs=N]
//!   weft-peer-tokio echo --threads=T [--flavor=...] [--bind=127.0.0.1] [--port=0] [--buffer=N]
//!
//! multi_thread is Builder::new_multi_thread() with worker_threads = T; current_thread is
//! Builder::new_current_thread() and takes T = 1 only. Both enable_all(), as Tokio's own
//! rt_multi_threaded benches do.

mod echo;
mod flags;
mod shapes;

use std::net::{IpAddr, SocketAddr};

use flags::Flags;
use tokio::runtime::{Builder, Runtime};

/// "rustc 1.63.0, tokio 1.24.2": CMake reads both versions at configure time.
const BUILD: &str = match option_env!("WEFT_PEER_BUILD") {
    Some(b) => b,
    None => "rustc ?, tokio ?",
};

const STORM_FLAGS: &[&str] =
    &["shape", "threads", "flavor", "tasks", "leaves", "fanout", "yield_tasks", "yields", "pairs"];
const ECHO_FLAGS: &[&str] = &["threads", "flavor", "bind", "port", "buffer"];

enum Failure {
    Usage(String), // exit 2
    Failed(String), // exit 1
}

fn runtime(flags: &Flags) -> Result<Runtime, Failure> {
    let threads = flags.int("threads", None, 1).map_err(Failure::Usage)?;
    let flavor = flags
        .choice("flavor", Some("multi_thread"), &["multi_thread", "current_thread"])
        .map_err(Failure::Usage)?;
    let mut builder = if flavor == "current_thread" {
        if threads != 1 {
            return Err(Failure::Usage(format!(
                "--flavor=current_thread runs on one thread: --threads={threads} must be 1"
            )));
        }
        Builder::new_current_thread()
    } else {
        let mut b = Builder::new_multi_thread();
        b.worker_threads(threads as usize);
        b
    };
    builder.enable_all().build().map_err(|e| Failure::Failed(format!("runtime: {e}")))
}

fn spawn_storm(args: &[String]) -> Result<(), Failure> {
    let flags = Flags::parse(args, STORM_FLAGS).map_err(Failure::Usage)?;
    let shape = flags.choice("shape", None, shapes::SHAPES).map_err(Failure::Usage)?;
    let int = |key, default| flags.int(key, Some(default), 1).map_err(Failure::Usage);
    let sizes = shapes::Sizes {
        tasks: int("tasks", 1_000_000)?,
        leaves: int("leaves", 1_000_000)?,
        fanout: int("fanout", 10)?,
        yield_tasks: int("yield_tasks", 1000)?,
        yields: int("yields", 1000)?,
        pairs: int("pairs", 100_000)?,
    };
    if shape == "tree" && shapes::tree_nodes(sizes.leaves, sizes.fanout).is_none() {
        return Err(Failure::Usage(format!(
            "tree: --leaves={} is not a power of --fanout={} (fanout >= 2)",
            sizes.leaves, sizes.fanout
        )));
    }
    let rt = runtime(&flags)?;
    shapes::run(&rt, &shape, &sizes.warm_up()).map_err(Failure::Failed)?; // warm-up, untimed
    let run = shapes::run(&rt, &shape, &sizes).map_err(Failure::Failed)?;
    println!(
        "{{\"units\": {}, \"unit\": \"task\", \"seconds\": {:.9}, \"build\": \"{BUILD}\"}}",
        run.units, run.seconds
    );
    Ok(())
}

fn echo(args: &[String]) -> Result<(), Failure> {
    let flags = Flags::parse(args, ECHO_FLAGS).map_err(Failure::Usage)?;
    let bind = flags.text("bind", Some("127.0.0.1")).map_err(Failure::Usage)?;
    let ip: IpAddr = bind
        .parse()
        .map_err(|_| Failure::Usage(format!("--bind={bind}: want an IPv4 or IPv6 address")))?;
    let port = flags.int("port", Some(0), 0).map_err(Failure::Usage)?;
    if port > 65535 {
        return Err(Failure::Usage(format!("--port={port}: want 0 (any) to 65535")));
    }
    let buffer = flags.int("buffer", Some(4096), 1).map_err(Failure::Usage)?;
    let rt = runtime(&flags)?;
    echo::run(rt, SocketAddr::new(ip, port as u16), buffer as usize, BUILD).map_err(Failure::Failed)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("spawn_storm") => spawn_storm(&args[1..]),
        Some("echo") => echo(&args[1..]),
        Some(mode) => Err(Failure::Usage(format!(
            "unknown mode '{mode}' (valid: spawn_storm, echo)"
        ))),
        None => Err(Failure::Usage(
            "usage: weft-peer-tokio spawn_storm|echo --key=value ...".into(),
        )),
    };
    std::process::exit(match result {
        Ok(()) => 0,
        Err(Failure::Failed(msg)) => {
            eprintln!("weft-peer-tokio: {msg}");
            1
        }
        Err(Failure::Usage(msg)) => {
            eprintln!("weft-peer-tokio: {msg}");
            2
        }
    });
}
