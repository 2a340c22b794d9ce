"""Print a table of the median of one metric over reps from Weft benchmark CSVs.

    /usr/bin/python3 scripts/summary.py [--metric ns_per_task] [--markdown] CSV [CSV ...]

One row per (workload, shape, config, variant), one column per thread count
(t=1, t=2, ...); '-' where that thread count was not measured. `config` (shown
only when some workload has one) lists the parameters that vary within a
workload/shape (e.g. connections=1000); `machine` (host, CPU model, cores: shown only when
the CSVs hold several machines, a merge of Slurm sweeps) keeps each machine's rows apart,
side by side under each workload and shape; current_thread runs are marked in the
variant column, and so is an I/O backend other than epoll (ring and ring+uring are two
rows; a CSV without the io parameter is epoll). Values below 1 get two significant
digits, those < 1000 one decimal, larger ones thousands separators and no decimals. Workloads without
the metric are skipped. --markdown prints a GitHub markdown table instead of
fixed-width text.

--vs-peers prints, instead, each Weft variant's ratio to the best peer (the production
runtimes of harness/peers) at the same workload, shape, config and thread count: the Weft
median over the best peer's for a time (lower is better), the best peer's over Weft's for a
throughput, so that below 1.0 Weft is ahead either way; a "best peer" row names the peer. Exit 2 on bad input (no/missing CSV, missing columns, bad
cells, or a metric absent from every file).
"""
import argparse
import math
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import weft_csv  # noqa: E402

PROG = "summary.py"
KEYS = ["workload", "shape", "variant"]


def fmt(x):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if 0 < abs(x) < 1:  # a ratio per message (driver_polls_per_msg 0.026): two digits that count
        return f"{x:.2g}"
    return f"{x:.1f}" if abs(x) < 1000 else f"{x:,.0f}"


def keys_for(stats):
    """The key columns of a table; `machine` (before the variant) where the data holds
    several machines (weft_csv.machine_keys)."""
    keys = KEYS[:2] + (["config"] if (stats["config"] != "").any() else [])
    return keys + weft_csv.machine_keys(stats) + KEYS[2:]


def build_rows(df, metric):
    """(header, rows) with rows as lists of strings, sorted by the key columns."""
    stats = weft_csv.rep_stats(df, metric)
    keys = keys_for(stats)
    threads = sorted(stats["threads"].unique())
    wide = stats.pivot_table(index=keys, columns="threads", values="median",
                             aggfunc="first")
    header = keys + [f"t={t}" for t in threads]
    rows = []
    for key, row in wide.iterrows():
        rows.append(list(key) + [fmt(row.get(t)) for t in threads])
    rows.sort(key=lambda r: [natural_key(c) for c in r[:len(keys)]])
    return header, rows


def peer_ratio_rows(df, metric):
    """(header, rows) of --vs-peers; None when the data has no peer or no Weft row."""
    stats = weft_csv.rep_stats(df, metric)
    peer = stats["variant"].map(weft_csv.is_peer)
    if not peer.any() or peer.all():
        return None
    keys = keys_for(stats)
    where = [k for k in keys if k != "variant"] + ["threads"]
    peers, weft = stats[peer], stats[~peer]
    pick = peers.groupby(where)["median"]
    best = peers.loc[pick.idxmax() if weft_csv.higher_is_better(metric) else pick.idxmin()]
    best = best[where + ["variant", "median"]].rename(
        columns={"variant": "best_peer", "median": "peer_median"})
    m = weft.merge(best, on=where)
    if m.empty:
        return None
    m["ratio"] = (m["peer_median"] / m["median"] if weft_csv.higher_is_better(metric)
                  else m["median"] / m["peer_median"])
    threads = sorted(m["threads"].unique())
    header = keys + [f"t={t}" for t in threads]
    rows = []
    ratios = m.pivot_table(index=keys, columns="threads", values="ratio", aggfunc="first")
    for key, row in ratios.iterrows():
        rows.append(list(key) + [fmt_ratio(row.get(t)) for t in threads])
    names = best.pivot_table(index=where[:-1], columns="threads", values="best_peer",
                             aggfunc="first")
    for key, row in names.iterrows():
        key = key if isinstance(key, tuple) else (key,)
        rows.append(list(key) + ["best peer"] + [str(row.get(t, "-")) if isinstance(
            row.get(t), str) else "-" for t in threads])
    rows.sort(key=lambda r: [natural_key(c) for c in r[:len(keys) - 1]]
              + [r[len(keys) - 1] != "best peer", natural_key(r[len(keys) - 1])])
    return header, rows


def fmt_ratio(x):
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.2f}"


def natural_key(text):
    """Sorts numbers inside text by value: rate=25000 before rate=100000."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part)
            for part in re.split(r"(\d+)", str(text)) if part]


def render_text(header, rows):
    n_text = sum(1 for h in header if not h.startswith("t="))
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]

    def line(cells):
        out = [c.ljust(w) if i < n_text else c.rjust(w)
               for i, (c, w) in enumerate(zip(cells, widths))]
        return "  ".join(out).rstrip()

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), sep] + [line(r) for r in rows])


def render_markdown(header, rows):
    n_text = sum(1 for h in header if not h.startswith("t="))
    align = [":---" if i < n_text else "---:" for i in range(len(header))]
    lines = [header, align] + rows
    return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)


def main(argv=None):
    ap = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    ap.add_argument("--metric", default="ns_per_task",
                    help="metric to summarise (default: ns_per_task)")
    ap.add_argument("--markdown", action="store_true",
                    help="print a GitHub markdown table")
    ap.add_argument("--vs-peers", action="store_true",
                    help="each Weft variant's ratio to the best peer (below 1.0: Weft ahead)")
    ap.add_argument("csv", nargs="+", metavar="CSV")
    args = ap.parse_args(argv)
    df = weft_csv.load_or_die(PROG, args.csv)
    present = df["metric"] == args.metric
    if not present.any():
        weft_csv.die(PROG, f"metric '{args.metric}' not in the data; available: "
                     + ", ".join(sorted(set(df["metric"]))))
    for w in sorted(set(df["workload"]) - set(df.loc[present, "workload"])):
        print(f"{PROG}: note: skipping workload {w}: no {args.metric} rows",
              file=sys.stderr)
    unit = weft_csv.one_or_mixed(df.loc[present, "unit"])
    render = render_markdown if args.markdown else render_text
    if args.vs_peers:
        table = peer_ratio_rows(df, args.metric)
        if table is None:
            print(f"{PROG}: note: no {args.metric} rows of both a peer and a Weft variant at the "
                  "same point", file=sys.stderr)
            return 0
        print(f"{args.metric}: Weft variant / best peer (below 1.0: Weft ahead), medians over "
              "reps\n")
        print(render(*table))
        return 0
    header, rows = build_rows(df, args.metric)
    print(f"{args.metric} ({unit}), median over reps\n")
    print(render(header, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
