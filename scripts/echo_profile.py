#!/usr/bin/env python3
"""Where an echo server's CPU goes: a floor under what any I/O backend can save.

    echo_profile.py [--build build/release] [--threads 1] [--connections 100] [--seconds 3]
                    [--servers weft:ring:epoll,weft:ring:uring,tokio,asio_pool] [--out FILE.md]

Each server runs alone with weft-loadgen (closed loop, 64-byte messages) on loopback. Over the
measured window it takes the server's CPU time from /proc/<pid>/stat (as weft-bench does) and
samples it with `perf record -e cpu-clock -g` (no hardware counters needed). From the call graphs
it reports the inclusive share of:
  * send: tcp_sendmsg, the kernel's TCP send; on loopback it also delivers the segment to the
    peer's socket and wakes the peer (all charged to the sender);
  * recv: tcp_recvmsg, the copy out of the socket;
  * wait: the backend's wait (do_epoll_wait, io_cqring_wait);
  * user: samples outside the kernel;
and the floor: (send + recv) x CPU per message, what the server would cost if its backend,
its wake-ups and its user space cost nothing. Every server must receive and send each message,
so the floor divided by the best peer's CPU per message bounds the ratio a backend can reach.

Exit 0 when it printed, 1 when a server or perf failed, 2 on bad flags.
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

PROG = "echo_profile"
KERNEL_SYMBOLS = {"send": ["tcp_sendmsg"], "recv": ["tcp_recvmsg"],
                  "wait": ["do_epoll_wait", "io_cqring_wait"]}


def server_argv(build, spec, threads):
    """weft:<variant>:<io> or a peer name (tokio, asio, asio_pool, go, libuv)."""
    parts = spec.split(":")
    if parts[0] == "weft":
        if len(parts) != 3:
            raise ValueError(f"'{spec}': want weft:<variant>:<epoll|uring>")
        return [f"{build}/harness/echo/weft-echo", f"--variant={parts[1]}",
                f"--threads={threads}", f"--io={parts[2]}"]
    folder = {"asio_pool": "asio"}.get(spec, spec)
    argv = [f"{build}/harness/peers/{folder}/weft-peer-{folder}", "echo", f"--threads={threads}"]
    if spec == "asio":
        argv.append("--contexts=shared")
    if spec == "asio_pool":
        argv.append("--contexts=per_thread")
    return argv


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def parse_shares(children_text, dso_text):
    """From `perf report --children --sort sym` and `--sort dso` text: the inclusive percentage
    of each group of KERNEL_SYMBOLS, and the user-space share (all samples outside the kernel)."""
    shares = {}
    for line in children_text.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+([\d.]+)%\s+\[([k.])\]\s+(\S+)", line)
        if m:
            shares.setdefault(m.group(4), float(m.group(1)))
    kernel = sum(float(m.group(1)) for m in re.finditer(r"([\d.]+)%\s+\[kernel", dso_text))
    result = {k: sum(shares.get(s, 0.0) for s in syms) for k, syms in KERNEL_SYMBOLS.items()}
    result["user"] = max(0.0, 100.0 - kernel)
    return result


def inclusive_shares(perf_data):
    def report(*args):
        return subprocess.run(["perf", "report", "-i", perf_data, *args, "--stdio", "-g", "none"],
                              capture_output=True, text=True, check=True).stdout
    return parse_shares(report("--children", "--sort", "sym"),
                        report("--no-children", "--sort", "dso"))


def profile(build, spec, threads, connections, seconds, tmp):
    argv = server_argv(build, spec, threads)
    if not os.access(argv[0], os.X_OK):
        raise RuntimeError(f"{argv[0]} is not built (make build)")
    server = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        hello = json.loads(server.stdout.readline())
        port = int(hello["port"])
        warmup = 1.0
        loadgen = subprocess.Popen(
            [f"{build}/harness/loadgen/weft-loadgen", f"--port={port}",
             f"--connections={connections}", f"--duration={int(seconds) + 2}", "--warmup=1"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        time.sleep(warmup + 0.3)
        perf_data = os.path.join(tmp, "perf.data")
        t0, c0 = time.monotonic(), cpu_ticks(server.pid)
        subprocess.run(["perf", "record", "-q", "-e", "cpu-clock", "-g", "-p", str(server.pid),
                        "-o", perf_data, "--", "sleep", str(seconds)],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        t1, c1 = time.monotonic(), cpu_ticks(server.pid)
        report = json.loads(loadgen.communicate(timeout=seconds + 60)[0].strip().splitlines()[-1])
        if loadgen.returncode != 0:
            raise RuntimeError(f"weft-loadgen failed against {spec}")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    msgs = float(report["msgs_per_s"]) * (t1 - t0)
    cpu_us = (c1 - c0) / os.sysconf("SC_CLK_TCK") * 1e6 / msgs
    shares = inclusive_shares(perf_data)
    floor = (shares["send"] + shares["recv"]) / 100.0 * cpu_us
    return {"server": spec, "msgs_per_s": float(report["msgs_per_s"]), "cpu_us": cpu_us,
            "floor_us": floor, **shares}


def main():
    ap = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build/release")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--connections", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--servers", default="weft:ring:epoll,weft:ring:uring,tokio,asio_pool")
    ap.add_argument("--out", help="also write the table to this Markdown file (must not exist)")
    args = ap.parse_args()
    if args.threads < 1 or args.connections < 1 or not 0.5 <= args.seconds <= 600:
        ap.error("--threads and --connections must be >= 1, --seconds 0.5..600")
    if args.out and os.path.exists(args.out):
        ap.error(f"{args.out} exists; choose another name")
    if shutil.which("perf") is None:
        print(f"{PROG}: perf is not installed (Debian: linux-perf)", file=sys.stderr)
        return 1
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for spec in args.servers.split(","):
            try:
                rows.append(profile(args.build, spec, args.threads, args.connections,
                                    args.seconds, tmp))
            except (ValueError, RuntimeError, OSError, KeyError, IndexError,
                    json.JSONDecodeError, subprocess.SubprocessError) as e:
                print(f"{PROG}: {spec}: {e}", file=sys.stderr)
                return 1
    peers = [r for r in rows if not r["server"].startswith("weft:")]
    best = min((r["cpu_us"] for r in peers), default=None)
    lines = [f"Echo servers, {args.threads} thread(s), {args.connections} connections, 64-byte "
             f"messages, closed loop, {args.seconds:g} s each ({os.uname().nodename}, "
             f"{os.cpu_count()} CPUs, Linux {os.uname().release}).", "",
             "| server | msgs/s | CPU us/msg | send % | recv % | wait % | user % | floor us/msg |"
             " floor / best peer |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ratio = f"{r['floor_us'] / best:.2f}x" if best else "-"
        lines.append(f"| {r['server']} | {r['msgs_per_s']:.0f} | {r['cpu_us']:.2f} | "
                     f"{r['send']:.1f} | {r['recv']:.1f} | {r['wait']:.1f} | {r['user']:.1f} | "
                     f"{r['floor_us']:.2f} | {ratio} |")
    text = "\n".join(lines) + "\n"
    print(text, end="")
    if args.out:
        with open(args.out + ".tmp", "w") as f:
            f.write(text)
        os.replace(args.out + ".tmp", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
