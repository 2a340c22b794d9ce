#!/usr/bin/env python3
"""Checks issue 12's I/O aims against one `make bench` CSV and prints them as Markdown tables.

    io_aims.py results/runs/<run>.csv

Every figure is the median over reps of one configuration, and every ratio is taken inside this
one run:
  1. echo closed loop, multi_thread: the best Weft variant's server CPU per message on epoll,
     and on io_uring, against the best peer's, at each thread count and connection count
     (aims: epoll <= 1x the best peer at 1 worker, <= Tokio's at 2 workers; io_uring <= 0.8x);
  2. closed loop at 1,000 connections, every Weft variant, flavor and backend: p99.9 / p50 (aim
     <= 5) and max / p50 (aim <= 10);
  3. open loop at nproc workers: the offered rate nearest below a quarter of the variant's own
     closed-loop capacity (1,000 connections, the same threads and backend) and its p99 (aim
     <= 1,000 us).
Exit 0 when it printed (aims missed included), 2 on bad input.
"""
import argparse
import sys

import pandas as pd

import weft_csv

PROG = "io_aims"


def param(df, key):
    return df["params"].str.extract(rf"(?:^|;){key}=([^;]+)")[0]


def load(path):
    try:
        df = pd.read_csv(path)
    except (OSError, pd.errors.ParserError) as e:
        sys.exit(f"{PROG}: cannot read {path}: {e}")
    df = df[df["workload"] == "echo"].copy()
    if df.empty:
        print(f"{PROG}: {path} has no echo rows", file=sys.stderr)
        sys.exit(2)
    df["conns"] = param(df, "connections").astype(int)
    df["flavor"] = param(df, "flavor").fillna("multi_thread")
    df["rate"] = pd.to_numeric(param(df, "rate"), errors="coerce")
    df["peer"] = df["variant"].map(weft_csv.is_peer).astype(bool)
    df["io"] = [("" if p else (io if isinstance(io, str) else "epoll"))
                for p, io in zip(df["peer"], param(df, "io"))]
    return df


def med(df, metric, keys):
    return df[df["metric"] == metric].groupby(keys)["value"].median()


def cpu_table(df):
    closed = df[(df["shape"] == "closed") & (df["flavor"] == "multi_thread")]
    cpu = med(closed, "server_cpu_us_per_msg", ["threads", "conns", "variant", "io", "peer"])
    rows = ["| threads | conns | best peer (us/msg) | tokio | best Weft epoll | ratio | best Weft io_uring | ratio |",
            "|---|---|---|---|---|---|---|---|"]
    for (threads, conns), g in cpu.groupby(level=["threads", "conns"]):
        g = g.droplevel(["threads", "conns"])
        is_peer = g.index.get_level_values("peer").to_numpy(dtype=bool)
        io_of = g.index.get_level_values("io").to_numpy()
        peers = g[is_peer]
        if peers.empty:
            continue
        best_peer = peers.idxmin()
        tokio = peers[peers.index.get_level_values("variant") == "tokio"]
        cells = [str(threads), str(conns), f"{best_peer[0]} {peers.min():.3f}",
                 f"{tokio.iloc[0]:.3f}" if not tokio.empty else "-"]
        for io in ("epoll", "uring"):
            w = g[~is_peer & (io_of == io)]
            if w.empty:
                cells += ["-", "-"]
                continue
            cells += [f"{w.idxmin()[0]} {w.min():.3f}", f"{w.min() / peers.min():.2f}x"]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def tail_table(df):
    closed = df[(df["shape"] == "closed") & (df["conns"] == 1000) & (~df["peer"])]
    keys = ["flavor", "threads", "variant"]
    p50 = med(closed, "latency_p50_us", keys)
    p999 = med(closed, "latency_p999_us", keys)
    mx = med(closed, "latency_max_us", keys)
    t = pd.DataFrame({"p50": p50, "p999/p50": p999 / p50, "max/p50": mx / p50})
    worst = t.sort_values("p999/p50", ascending=False)
    rows = [f"Configurations: {len(t)}; p99.9/p50 <= 5 in {int((t['p999/p50'] <= 5).sum())}, "
            f"max/p50 <= 10 in {int((t['max/p50'] <= 10).sum())}. The five worst by p99.9/p50:",
            "", "| flavor | threads | variant | p50 (us) | p99.9/p50 | max/p50 |", "|---|---|---|---|---|---|"]
    for (flavor, threads, variant), r in worst.head(5).iterrows():
        rows.append(f"| {flavor} | {threads} | {variant} | {r['p50']:.0f} | {r['p999/p50']:.2f} | "
                    f"{r['max/p50']:.2f} |")
    return "\n".join(rows)


def open_table(df):
    opened = df[(df["shape"] == "open") & (~df["peer"])]
    closed = df[(df["shape"] == "closed") & (df["conns"] == 1000) & (df["flavor"] == "multi_thread")]
    cap = med(closed, "msgs_per_s", ["threads", "variant"])
    p99 = med(opened, "latency_p99_us", ["threads", "variant", "rate"])
    rows = ["| variant | threads | capacity (msgs/s) | offered (<= 1/4) | p99 (us) | <= 1 ms |",
            "|---|---|---|---|---|---|"]
    for (threads, variant), g in p99.groupby(level=["threads", "variant"]):
        if (threads, variant) not in cap.index:
            continue
        quarter = cap[(threads, variant)] / 4
        rates = [r for r in g.index.get_level_values("rate") if r <= quarter]
        if not rates:
            continue
        rate = max(rates)
        v = g[(threads, variant, rate)]
        rows.append(f"| {variant} | {threads} | {cap[(threads, variant)]:.0f} | {rate:.0f} | "
                    f"{v:.0f} | {'yes' if v <= 1000 else 'no'} |")
    return "\n".join(rows)


def main():
    ap = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    ap.add_argument("csv")
    args = ap.parse_args()
    df = load(args.csv)
    print("### Server CPU per message, closed loop (median of reps)\n")
    print(cpu_table(df))
    print("\n### Tails at 1,000 connections, closed loop\n")
    print(tail_table(df))
    print("\n### Open loop at a quarter of capacity\n")
    print(open_table(df))
    return 0


if __name__ == "__main__":
    sys.exit(main())
