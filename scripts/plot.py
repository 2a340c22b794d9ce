"""Plot Weft benchmark CSVs: throughput, speedup and efficiency vs threads.

    /usr/bin/python3 scripts/plot.py [--out DIR] [--metric NAME] [--logx] CSV [CSV ...]

Writes one PNG per (workload, shape, config) to DIR (default results/plots),
named <workload>_<shape>[_<config>].png (config: the parameters that vary within
the workload/shape, e.g. connections=1000), with three panels: throughput (median over reps, min-max
band; peers, the production runtimes, as grey dash-dotted reference lines; each I/O backend of a
Weft variant its own line, in the variant's colour with a marker per backend: epoll round,
uring a cross), speedup over each
variant's own smallest-thread run (normally 1 thread)
with the ideal line and the machine's core count, and parallel efficiency. CSVs of several
machines (a merge of Slurm sweeps, scripts/merge_runs.py) get one row of the three panels per
machine (host, CPU model, cores) in the same figure, one above the other.
The throughput metric is --metric, else the first of tasks_per_s, msgs_per_s,
pairs_per_s, ops_per_s present for the workload. Prints the PNG paths written to stdout.
Exit 2 on bad input (no/missing CSV, missing columns, bad cells).
"""
import argparse
import os
import re
import sys
import zlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import EngFormatter, FixedLocator, NullLocator  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import weft_csv  # noqa: E402

PROG = "plot.py"
PALETTE = plt.get_cmap("tab10").colors
KNOWN = ["mutex", "chase_lev", "vyukov", "ring", "bwos"]


# Peers are reference lines: dashed, in greys, each with a marker of its own.
PEER_STYLE = {
    "tokio": ("#000000", "s"), "go": ("#555555", "^"), "asio": ("#777777", "D"),
    "asio_pool": ("#999999", "d"), "libuv": ("#333333", "v"), "tbb": ("#aaaaaa", "P"),
}


def variant_color(name):
    """Stable colour per variant, identical across panels, files and runs."""
    name = weft_csv.base_variant(name)
    if name in PEER_STYLE:
        return PEER_STYLE[name][0]
    if name in KNOWN:
        return PALETTE[KNOWN.index(name)]
    spare = PALETTE[len(KNOWN):]
    return spare[zlib.crc32(name.encode()) % len(spare)]


# The marker of a Weft variant's line by its I/O backend (weft_csv.io_of); the variant keeps
# its colour on every backend. Any other backend: IO_MARKER_OTHER.
IO_MARKERS = {"epoll": "o", "uring": "X"}
IO_MARKER_OTHER = "D"


def line_style(name):
    """matplotlib keywords of a variant's line: Weft's variants solid (current_thread dashed)
    in the variant's colour, with a marker per I/O backend (epoll round, uring a cross, drawn
    thicker); peers dash-dotted (current_thread dotted) in greys with markers of their own."""
    base = weft_csv.base_variant(name)
    dashed = name.endswith(weft_csv.CURRENT_THREAD)
    if base in PEER_STYLE:
        return dict(color=PEER_STYLE[base][0], marker=PEER_STYLE[base][1],
                    linestyle=":" if dashed else "-.", markerfacecolor="white")
    io = weft_csv.io_of(name)
    style = dict(color=variant_color(name), marker=IO_MARKERS.get(io, IO_MARKER_OTHER),
                 linestyle="--" if dashed else "-")
    if io != weft_csv.DEFAULT_IO:
        style.update(linewidth=2.4, markersize=8)
    return style


def short_sha(sha):
    if sha in ("mixed", "?"):
        return sha
    return sha[:7] + ("-dirty" if sha.endswith("dirty") else "")


def title_for(sub, workload, shape, config=""):
    host = weft_csv.one_or_mixed(sub["host"])
    cpu = weft_csv.one_or_mixed(sub["cpu_model"])
    sha = short_sha(weft_csv.one_or_mixed(sub["git_sha"]))
    what = f"{workload}/{shape}" + (f" [{config}]" if config else "")
    if weft_csv.machine_keys(sub):
        return f"{what} \u2014 {sub['machine'].nunique()} machines, {sha}"
    return f"{what} \u2014 {host} ({cpu}), {sha}"


def base_label(bases):
    if len(bases) == 1:
        b = bases.pop()
        return f"speedup vs own {b}-thread run"
    return "speedup vs own smallest-thread run"


def png_name(workload, shape, config=""):
    """File name of the figure of one (workload, shape, config)."""
    name = f"{workload}_{shape}" if shape else workload
    if config:
        name += "_" + config
    return re.sub(r"[^A-Za-z0-9_.=-]+", "-", name) + ".png"


def draw_row(axes, sub, metric, logx, machine=None):
    """The three panels of one machine's rows (all of `sub` when machine is None)."""
    ax_t, ax_s, ax_e = axes
    stats = weft_csv.rep_stats(sub, metric)
    unit = weft_csv.one_or_mixed(sub.loc[sub["metric"] == metric, "unit"])
    threads = sorted(stats["threads"].unique())
    bases = set()
    for variant, v in stats.groupby("variant", sort=True):
        v = v.sort_values("threads")
        t = v["threads"].to_numpy()
        base = int(t[0])
        bases.add(base)
        base_med = float(v["median"].iloc[0])
        ideal = t / base
        style = line_style(variant)
        series = [(ax_t, 1.0), (ax_s, base_med), (ax_e, None)]
        for ax, div in series:
            scale = base_med * ideal if div is None else div
            med, lo, hi = (v[c].to_numpy() / scale for c in ("median", "min", "max"))
            ax.plot(t, med, label=variant, **style)
            if not weft_csv.is_peer(variant):  # a peer is a reference line, without a band
                ax.fill_between(t, lo, hi, color=style["color"], alpha=0.2, linewidth=0)
    for b in sorted(bases):
        xs = [x for x in threads if x >= b]
        label = "ideal (t/%d)" % b if len(bases) > 1 else "ideal"
        ax_s.plot(xs, [x / b for x in xs], "k:", linewidth=1.2, label=label)
    for cpus in sorted(set(sub["cpus"].dropna().astype(int))):
        ax_s.axvline(cpus, color="grey", linestyle="--", linewidth=1,
                     label=f"cores = {cpus}")
    ax_e.axhline(1.0, color="k", linestyle=":", linewidth=1.2, label="ideal")

    ax_t.set_ylabel(f"{metric} ({unit})")
    ax_t.yaxis.set_major_formatter(EngFormatter(sep=""))
    where = "" if machine is None else f"{machine}: "
    ax_t.set_title(f"{where}throughput (median, min-max band)", fontsize=10)
    ax_s.set_ylabel(base_label(set(bases)))
    ax_s.set_title(f"{where}speedup", fontsize=10)
    ax_e.set_ylabel("efficiency = speedup / ideal")
    ax_e.set_title(f"{where}parallel efficiency", fontsize=10)
    for ax in (ax_t, ax_s, ax_e):
        if logx:
            ax.set_xscale("log", base=2)
        ax.xaxis.set_major_locator(FixedLocator(threads))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xticklabels([str(x) for x in threads])
        ax.set_xlabel("threads")
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
    ax_e.set_ylim(0, max(1.1, ax_e.get_ylim()[1]))  # keep the 1.0 line off the frame
    ax_t.legend(fontsize=8, title="variant", title_fontsize=8)
    handles = [h for h in ax_s.get_legend_handles_labels()[0]
               if h.get_label().startswith(("ideal", "cores"))]
    ax_s.legend(handles=handles, fontsize=8, loc="upper left")


def plot_one(sub, workload, shape, metric, out_dir, logx, config=""):
    """One figure: the three panels, one row of them per machine where `sub` holds several
    (weft_csv.machine_keys: a merge of Slurm sweeps), the machines one above the other."""
    machines = (sorted(sub["machine"].unique()) if weft_csv.machine_keys(sub)
                else [None])
    fig, axes = plt.subplots(len(machines), 3, figsize=(16, 5 * len(machines)), sharex="row",
                             squeeze=False)
    for row, machine in zip(axes, machines):
        part = sub if machine is None else sub[sub["machine"] == machine]
        if not (part["metric"] == metric).any():
            for ax in row:
                ax.set_title(f"{machine}: no {metric} rows", fontsize=10)
            continue
        draw_row(row, part, metric, logx, machine)
    fig.suptitle(title_for(sub, workload, shape, config))
    fig.tight_layout(rect=(0, 0, 1, 0.95 if len(machines) == 1 else 0.97))
    path = os.path.join(out_dir, png_name(workload, shape, config))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_all(df, out_dir, metric=None, logx=False):
    """One figure per (workload, shape, config) of `df` into out_dir; the paths written.

    Notes on stderr for what is skipped (no throughput metric, one thread count)."""
    written = []
    for (workload, shape, config), sub in df.groupby(["workload", "shape", "config"],
                                                    sort=True):
        m = weft_csv.throughput_metric(sub, metric)
        if m is None or not (sub["metric"] == m).any():
            want = metric or " / ".join(weft_csv.THROUGHPUT_METRICS)
            print(f"{PROG}: note: skipping {workload}/{shape}: no {want} rows",
                  file=sys.stderr)
            continue
        if config and sub["threads"].nunique() == 1:
            # One thread count per configuration (echo open loop: one per offered rate): a
            # curve against threads says nothing; plot_io.py plots it against its parameter.
            print(f"{PROG}: note: skipping {workload}/{shape} [{config}]: one thread count",
                  file=sys.stderr)
            continue
        written.append(plot_one(sub, workload, shape, m, out_dir, logx, config))
    return written


def main(argv=None):
    ap = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join("results", "plots"),
                    help="output directory (default: results/plots)")
    ap.add_argument("--metric", help="throughput metric to plot "
                    "(default: first of %s present)" % ", ".join(weft_csv.THROUGHPUT_METRICS))
    ap.add_argument("--logx", action="store_true", help="log2 thread axis")
    ap.add_argument("csv", nargs="+", metavar="CSV")
    args = ap.parse_args(argv)
    df = weft_csv.load_or_die(PROG, args.csv)
    if args.metric and args.metric not in set(df["metric"]):
        weft_csv.die(PROG, f"metric '{args.metric}' not in the data; available: "
                     + ", ".join(sorted(set(df["metric"]))))
    os.makedirs(args.out, exist_ok=True)
    written = plot_all(df, args.out, args.metric, args.logx)
    if not written:
        weft_csv.die(PROG, "nothing to plot (no throughput metric found)", code=1)
    for p in written:
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
