#!/usr/bin/env python3
"""Instructions per iteration of weft-icount's hot paths, counted by valgrind's callgrind.

    icount.py [--binary build/release/harness/icount/weft-icount] [--cases REGEX]
              [--iters N] [-j JOBS] [--out CSV]

For regression testing, not timing: callgrind counts the instructions the program executes
(no cache or branch simulation), which on one machine and build is the same on every run (the
cases run on one thread and weft-icount's clock is virtual: see harness/icount/icount.cpp).
Each case runs twice, at N and at 2N iterations; setup and teardown (loading the program,
building the runtime) are the same in both runs, so

    instructions_per_iter = (Ir(2N) - Ir(N)) / N

is the cost of one iteration alone. N is per case (DEFAULT_ITERS; --iters overrides it) and
keeps each run well under a second on a 2-core VM; the runs go JOBS at a time (default: nproc).

Writes the tidy CSV (ARCHITECTURE.md) with one row per case: workload `icount`, shape the case
name without its variant, variant the variant (the variant-free cases, timer_insert_cancel,
mutex_lock_unlock and channel_send_recv, run on the mutex variant and say `mutex`), threads 1,
rep 1, params `iters=N;tool=callgrind`, metric `instructions_per_iter`, unit `instructions`.
The machine and build columns come from `weft-icount --info`. Default --out:
results/runs/icount_<date>_<host>_<sha>.csv. Prints a table of the counts too.

Exit: 0 done, 1 a run failed, 2 bad input (no valgrind, no binary, a --cases that matches no
case) with a message naming it.
"""
import argparse
import concurrent.futures
import csv
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import weft_csv  # noqa: E402

PROG = "icount"
DEFAULT_BINARY = "build/release/harness/icount/weft-icount"
# Iterations per case, by the case name's first part: 10-50M instructions between the N and 2N
# runs, a few hundred ms of callgrind each.
DEFAULT_ITERS = {
    "queue_push_pop": 200_000,
    "spawn_run": 20_000,
    "wake_run": 20_000,
    "timer_insert_cancel": 50_000,
    "mutex_lock_unlock": 200_000,
    "channel_send_recv": 100_000,
}
FALLBACK_ITERS = 20_000
# The variant a case without one in its name runs on (icount.cpp's kDefaultVariant).
VARIANT_FREE = "mutex"
METRIC = "instructions_per_iter"
UNIT = "instructions"


class CallgrindError(Exception):
    """Callgrind's output has no instruction total."""


def _event_total(events_line, totals_line, source):
    events = events_line.split()
    totals = totals_line.split()
    if "Ir" not in events:
        raise CallgrindError(f"{source}: events {events} do not include Ir")
    i = events.index("Ir")
    if i >= len(totals):
        raise CallgrindError(f"{source}: no Ir value in {totals_line!r}")
    return int(totals[i].replace(",", ""))


def parse_total(text):
    """Total Ir (instructions executed) from callgrind's stderr or from its out file.

    stderr:   "==123== Events    : Ir" then "==123== Collected : 7251722"
              (or, without those, "==123== I   refs:      7,251,722")
    out file: "events: Ir" then "summary: 7251722" or "totals: 7251722"
    Several events (e.g. with --cache-sim=yes) are matched up by position."""
    events = re.search(r"^==\d+==\s+Events\s*:\s*(.+)$", text, re.M)
    collected = re.search(r"^==\d+==\s+Collected\s*:\s*(.+)$", text, re.M)
    if events and collected:
        return _event_total(events.group(1), collected.group(1), "stderr")
    refs = re.search(r"^==\d+==\s+I\s+refs:\s+([\d,]+)\s*$", text, re.M)
    if refs:
        return int(refs.group(1).replace(",", ""))
    events = re.search(r"^events:\s*(.+)$", text, re.M)
    totals = re.search(r"^(?:summary|totals):\s*(.+)$", text, re.M)
    if events and totals:
        return _event_total(events.group(1), totals.group(1), "out file")
    raise CallgrindError("no instruction total (no 'Collected :', 'I refs:', 'summary:' or "
                         "'totals:' line) in callgrind's output")


def per_iteration(ir_n, ir_2n, n):
    """(Ir(2N) - Ir(N)) / N: the instructions of one iteration, setup and teardown cancelled."""
    if n <= 0:
        raise ValueError(f"iterations must be positive, not {n}")
    if ir_2n < ir_n:
        raise ValueError(f"Ir(2N)={ir_2n} is below Ir(N)={ir_n}: not one case at N and 2N")
    return (ir_2n - ir_n) / n


def split_case(name):
    """(shape, variant) of a case name: 'spawn_run/ring' -> ('spawn_run', 'ring');
    'mutex_lock_unlock' -> ('mutex_lock_unlock', 'mutex')."""
    shape, _, variant = name.partition("/")
    return shape, variant or VARIANT_FREE


def iters_for(name, override=None):
    return override or DEFAULT_ITERS.get(split_case(name)[0], FALLBACK_ITERS)


def format_value(v):
    """Up to 3 decimals, no trailing zeros: 759.0 -> '759', 88.125 -> '88.125'."""
    return f"{v:.3f}".rstrip("0").rstrip(".")


def _run_binary(binary, *args):
    try:
        return subprocess.run([binary, *args], capture_output=True, text=True, timeout=60)
    except OSError as e:
        weft_csv.die(PROG, f"cannot run {binary}: {e}")


def list_cases(binary):
    r = _run_binary(binary, "--list")
    if r.returncode != 0:
        weft_csv.die(PROG, f"{binary} --list failed (exit {r.returncode}): {r.stderr.strip()}")
    return [line.strip() for line in r.stdout.splitlines() if line.strip()]


def machine_info(binary):
    r = _run_binary(binary, "--info")
    if r.returncode != 0:
        weft_csv.die(PROG, f"{binary} --info failed (exit {r.returncode}): {r.stderr.strip()}")
    return dict(line.split("=", 1) for line in r.stdout.splitlines() if "=" in line)


def count(valgrind, binary, case, iters):
    """Ir of one run of `case` at `iters` iterations under callgrind."""
    cmd = [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", binary,
           f"--case={case}", f"--iters={iters}"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        tail = "\n".join(r.stderr.strip().splitlines()[-10:])
        raise RuntimeError(f"{case} at {iters} iterations: exit {r.returncode}\n{tail}")
    try:
        return parse_total(r.stderr)
    except CallgrindError as e:
        raise RuntimeError(f"{case} at {iters} iterations: {e}") from None


def measure(valgrind, binary, cases, iters_override, jobs):
    """{case: (n, Ir(N), Ir(2N), per_iter)}, the runs `jobs` at a time."""
    plan = {c: iters_for(c, iters_override) for c in cases}
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {(c, k): pool.submit(count, valgrind, binary, c, k * n)
                   for c, n in plan.items() for k in (1, 2)}
        try:
            irs = {key: f.result() for key, f in futures.items()}
        except RuntimeError as e:
            for f in futures.values():
                f.cancel()
            print(f"{PROG}: error: run failed: {e}", file=sys.stderr)
            sys.exit(1)
    return {c: (n, irs[(c, 1)], irs[(c, 2)], per_iteration(irs[(c, 1)], irs[(c, 2)], n))
            for c, n in plan.items()}


def rows(results, info, timestamp, run_id):
    common = {
        "run_id": run_id, "timestamp": timestamp,
        "git_sha": info.get("git_sha", "unknown"), "host": info.get("host", "unknown"),
        "cpu_model": info.get("cpu_model", "unknown"), "cpus": info.get("cpus", "0"),
        "compiler": info.get("compiler", "unknown"), "build": info.get("build", "unknown"),
        "workload": "icount", "threads": 1, "rep": 1, "metric": METRIC, "unit": UNIT,
    }
    for case, (n, _, _, value) in results.items():
        shape, variant = split_case(case)
        yield dict(common, shape=shape, variant=variant, params=f"iters={n};tool=callgrind",
                   value=format_value(value))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", default=DEFAULT_BINARY, help=f"weft-icount (default {DEFAULT_BINARY})")
    ap.add_argument("--cases", default="", help="regex: only the cases it matches (re.search)")
    ap.add_argument("--iters", type=int, default=None,
                    help="N for every case (default: per case, see DEFAULT_ITERS)")
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1,
                    help="callgrind runs at a time (default: nproc)")
    ap.add_argument("--out", help="CSV to write (default results/runs/icount_<date>_<host>_<sha>.csv)")
    args = ap.parse_args(argv)
    if args.iters is not None and args.iters <= 0:
        weft_csv.die(PROG, f"--iters must be a positive integer, not {args.iters}")
    if args.jobs <= 0:
        weft_csv.die(PROG, f"--jobs must be a positive integer, not {args.jobs}")
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        weft_csv.die(PROG, "valgrind not found on PATH (scripts/install-deps.sh installs it)")
    if not (os.path.isfile(args.binary) and os.access(args.binary, os.X_OK)):
        weft_csv.die(PROG, f"no weft-icount binary at {args.binary} (build it: "
                           f"ninja -C build/release weft-icount, or give --binary)")
    try:
        pattern = re.compile(args.cases)
    except re.error as e:
        weft_csv.die(PROG, f"bad --cases regex {args.cases!r}: {e}")
    available = list_cases(args.binary)
    cases = [c for c in available if pattern.search(c)]
    if not cases:
        weft_csv.die(PROG, f"--cases {args.cases!r} matches no case; valid: {', '.join(available)}")
    info = machine_info(args.binary)

    started = time.monotonic()
    results = measure(valgrind, args.binary, cases, args.iters, args.jobs)
    elapsed = time.monotonic() - started

    now = time.gmtime()
    timestamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", now)
    out = args.out or os.path.join(
        "results", "runs",
        f"icount_{time.strftime('%Y-%m-%d', now)}_{info.get('host', 'unknown')}_"
        f"{info.get('git_sha', 'unknown')}.csv")
    if os.path.dirname(out):
        os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=weft_csv.REQUIRED)
        w.writeheader()
        w.writerows(rows(results, info, timestamp, f"icount-{timestamp}-{os.getpid()}"))

    width = max(len(c) for c in results)
    print(f"{'case':<{width}}  {'N':>7}  {'Ir(N)':>12}  {'Ir(2N)':>12}  {'per iter':>10}")
    for case, (n, ir_n, ir_2n, value) in results.items():
        print(f"{case:<{width}}  {n:>7}  {ir_n:>12}  {ir_2n:>12}  {format_value(value):>10}")
    print(f"{len(results)} cases, {2 * len(results)} callgrind runs in {elapsed:.1f} s "
          f"(-j {args.jobs}); wrote {out}")


if __name__ == "__main__":
    main()
