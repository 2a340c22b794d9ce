"""Plot the I/O and timer workloads of Weft benchmark CSVs.

    /usr/bin/python3 scripts/plot_io.py [--out DIR] CSV [CSV ...]

Writes to DIR (default results/plots), from whatever of these the CSVs hold:
  echo_msgs_vs_connections.png  echo closed loop: msgs/s vs connections, one line per
                                variant at each thread count (current_thread marked)
  echo_p99_vs_load.png          echo open loop: p99 and p999 latency vs offered load
  echo_io_cost.png              echo closed loop: what a message costs the server, per
                                variant (each I/O backend its own: ring, ring+uring) and
                                thread count, a row per connection count: io_syscalls_per_msg,
                                driver_polls_per_msg, server_cpu_us_per_msg (the peers'
                                CPU beside); epoll bars plain, other backends hatched
  timer_lateness.png            timer_churn accuracy: lateness p50/p99/max per variant
                                and thread count (log scale)
  timer_million.png             timer_churn million: insert and cleanup ns per timer,
                                and how late the last of a million timers fired
(msgs/s vs threads comes from plot.py, one PNG per connection count.) Medians
over reps; bands or whiskers span min-max. Prints the PNG paths written. Exit 2
on bad input, 1 when the CSVs hold none of these workloads.
"""
import argparse
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import plot  # noqa: E402
import weft_csv  # noqa: E402

PROG = "plot_io.py"
# The file each plot writes, by the (workload, shape) it draws from (report.py links them).
PNGS = {
    ("echo", "closed"): "echo_msgs_vs_connections.png",
    ("echo", "open"): "echo_p99_vs_load.png",
    ("timer_churn", "accuracy"): "timer_lateness.png",
    ("timer_churn", "million"): "timer_million.png",
}
IO_COST_PNG = "echo_io_cost.png"
# The panels of IO_COST_PNG: the figures of a message's cost that echo rows carry.
IO_COST_METRICS = [("io_syscalls_per_msg", "I/O syscalls per message"),
                   ("driver_polls_per_msg", "driver polls per message"),
                   ("server_cpu_us_per_msg", "server CPU per message (us)")]


def png_names(workload, shape):
    """The files this script draws from the rows of (workload, shape)."""
    names = [PNGS.get((workload, shape))]
    if (workload, shape) == ("echo", "closed"):
        names.append(IO_COST_PNG)
    return [n for n in names if n is not None]


def with_param(df, key, cast=float):
    """Rows of df that have parameter `key`, with it as a numeric column."""
    vals = df["params"].map(lambda p: weft_csv.parse_params(p).get(key))
    out = df[vals.notna()].copy()
    out[key] = vals[vals.notna()].map(cast)
    return out


def stats_by(df, metric, keys):
    sub = df[df["metric"] == metric]
    return sub.groupby(keys, sort=True)["value"].agg(
        median="median", min="min", max="max").reset_index()


def save(fig, out_dir, name, title_df, title):
    host = weft_csv.one_or_mixed(title_df["host"])
    cpu = weft_csv.one_or_mixed(title_df["cpu_model"])
    sha = plot.short_sha(weft_csv.one_or_mixed(title_df["git_sha"]))
    fig.suptitle(f"{title} \u2014 {host} ({cpu}), {sha}")
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    path = os.path.join(out_dir, name)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def outside_legend(ax):
    """The legend right of the axes: with a dozen series or more it would cover the lines."""
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)


def echo_connections(df, out_dir):
    d = with_param(df[(df["workload"] == "echo") & (df["shape"] == "closed")], "connections", int)
    if d.empty or d["connections"].nunique() < 2:
        return None
    s = stats_by(d, "msgs_per_s", ["variant", "threads", "connections"])
    threads = sorted(s["threads"].unique())
    fig, axes = plt.subplots(1, len(threads), figsize=(8.5 * len(threads), 5), squeeze=False)
    for ax, t in zip(axes[0], threads):
        for variant, v in s[s["threads"] == t].groupby("variant"):
            v = v.sort_values("connections")
            style = plot.line_style(variant)
            ax.plot(v["connections"], v["median"], label=variant, **style)
            if not weft_csv.is_peer(variant):
                ax.fill_between(v["connections"], v["min"], v["max"], color=style["color"],
                                alpha=0.2, linewidth=0)
        ax.set_xscale("log")
        ax.set_xlabel("connections")
        ax.set_ylabel("msgs/s (closed loop)")
        ax.set_title(f"{t} worker thread(s)", fontsize=10)
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
        outside_legend(ax)
    return save(fig, out_dir, PNGS["echo", "closed"], d, "echo: msgs/s vs connections")


def echo_io_cost(df, out_dir):
    """IO_COST_PNG from the echo closed-loop rows; None without io_syscalls_per_msg or
    driver_polls_per_msg rows (a CSV from before weft-bench wrote them)."""
    d = with_param(df[(df["workload"] == "echo") & (df["shape"] == "closed")], "connections", int)
    if d.empty or not d["metric"].isin([m for m, _ in IO_COST_METRICS[:2]]).any():
        return None
    panels = [(m, label) for m, label in IO_COST_METRICS if (d["metric"] == m).any()]
    conns = sorted(d["connections"].unique())
    fig, axes = plt.subplots(len(conns), len(panels), squeeze=False,
                             figsize=(5.5 * len(panels), 3.8 * len(conns)))
    for row, c in zip(axes, conns):
        for ax, (m, label) in zip(row, panels):
            s = stats_by(d[d["connections"] == c], m, ["variant", "threads"])
            keys = list(s[["variant", "threads"]].itertuples(index=False, name=None))
            x = np.arange(len(keys))
            med = s["median"].to_numpy()
            bars = ax.bar(x, med, yerr=[med - s["min"].to_numpy(), s["max"].to_numpy() - med],
                          capsize=2, color=[plot.variant_color(v) for v, _ in keys],
                          edgecolor="black", linewidth=0.5)
            for bar, (v, _) in zip(bars, keys):
                if weft_csv.io_of(v) != weft_csv.DEFAULT_IO and not weft_csv.is_peer(v):
                    bar.set_hatch("//")
            ax.set_xticks(x)
            ax.set_xticklabels([f"{v}\nt={t}" for v, t in keys], fontsize=7, rotation=90)
            ax.set_title(f"{label}, {c} connections", fontsize=10)
            ax.grid(True, axis="y", alpha=0.3)
    return save(fig, out_dir, IO_COST_PNG, d, "echo closed loop: cost per message")


def echo_latency(df, out_dir):
    d = with_param(df[(df["workload"] == "echo") & (df["shape"] == "open")], "rate")
    if d.empty:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(18, 5))
    for ax, metric in zip(axes, ["latency_p99_us", "latency_p999_us"]):
        s = stats_by(d, metric, ["variant", "threads", "rate"])
        for (variant, t), v in s.groupby(["variant", "threads"]):
            v = v.sort_values("rate")
            style = plot.line_style(variant)
            label = variant if s["threads"].nunique() == 1 else f"{variant} t={t}"
            ax.plot(v["rate"], v["median"] / 1000.0, label=label, **style)
            if not weft_csv.is_peer(variant):
                ax.fill_between(v["rate"], v["min"] / 1000.0, v["max"] / 1000.0,
                                color=style["color"], alpha=0.2, linewidth=0)
        ax.set_yscale("log")
        ax.set_xlabel("offered load (msgs/s, Poisson arrivals)")
        ax.set_ylabel(metric.replace("latency_", "").replace("_us", "") + " latency (ms)")
        ax.set_title("from the intended send time (no coordinated omission)", fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        outside_legend(ax)
    return save(fig, out_dir, PNGS["echo", "open"], d, "echo open loop: latency vs load")


def timer_lateness(df, out_dir):
    d = df[(df["workload"] == "timer_churn") & (df["shape"] == "accuracy")]
    if d.empty:
        return None
    metrics = ["lateness_p50_us", "lateness_p99_us", "lateness_max_us"]
    s = {m: stats_by(d, m, ["variant", "threads"]) for m in metrics}
    keys = list(s[metrics[0]][["variant", "threads"]].itertuples(index=False, name=None))
    fig, ax = plt.subplots(figsize=(max(8, 1.1 * len(keys) + 3), 4.8))
    width = 0.8 / len(metrics)
    x = np.arange(len(keys))
    for i, m in enumerate(metrics):
        v = s[m].set_index(["variant", "threads"]).loc[keys]
        med = v["median"].to_numpy()
        err = [med - v["min"].to_numpy(), v["max"].to_numpy() - med]
        ax.bar(x + (i - 1) * width, med, width, yerr=err, capsize=2,
               label=m.replace("lateness_", "").replace("_us", ""))
    # The OS's own sleep lateness under the same load (os_sleepers threads beside the runtime's
    # sleepers; absent from CSVs written before weft-bench measured it).
    if (d["metric"] == "os_lateness_max_us").any():
        os_max = stats_by(d, "os_lateness_max_us", ["variant", "threads"])
        os_max = os_max.set_index(["variant", "threads"]).reindex(keys)["median"].to_numpy()
        ax.scatter(x + width, os_max, marker="_", s=300, color="black", zorder=3,
                   label="OS threads' own max")
    ax.axhline(1000, color="red", linestyle=":", linewidth=1, label="1 ms")
    ax.axhline(2000, color="darkred", linestyle="--", linewidth=1, label="2 ms")
    ax.set_yscale("log")
    ax.set_xticks(x)
    ax.set_xticklabels([f"{v}\nt={t}" for v, t in keys], fontsize=8)
    ax.set_ylabel("timer lateness (us): wake time - deadline")
    ax.set_title("random 1-100 ms sleeps while every worker runs CPU-bound tasks", fontsize=10)
    ax.grid(True, axis="y", which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return save(fig, out_dir, PNGS["timer_churn", "accuracy"], d, "timer_churn accuracy")


def timer_million(df, out_dir):
    d = df[(df["workload"] == "timer_churn") & (df["shape"] == "million")]
    if d.empty:
        return None
    panels = [("insert_ns_per_timer", "insert (ns/timer)"),
              ("cleanup_ns_per_timer", "cancel of a pending timer (ns/timer)"),
              ("fire_lag_us", "last fire after last deadline (us)")]
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.5))
    for ax, (m, label) in zip(axes, panels):
        s = stats_by(d, m, ["variant", "threads"])
        keys = list(s[["variant", "threads"]].itertuples(index=False, name=None))
        x = np.arange(len(keys))
        med = s["median"].to_numpy()
        ax.bar(x, med, yerr=[med - s["min"].to_numpy(), s["max"].to_numpy() - med], capsize=2,
               color=[plot.variant_color(v) for v, _ in keys])
        ax.set_xticks(x)
        ax.set_xticklabels([f"{v}\nt={t}" for v, t in keys], fontsize=7)
        ax.set_title(label, fontsize=10)
        ax.grid(True, axis="y", alpha=0.3)
    return save(fig, out_dir, PNGS["timer_churn", "million"], d, "timer_churn million")


def plot_all(df, out_dir):
    """Every plot above that `df` has rows for, into out_dir; the paths written."""
    plots = (echo_connections, echo_io_cost, echo_latency, timer_lateness, timer_million)
    return [p for p in (f(df, out_dir) for f in plots) if p is not None]


def main(argv=None):
    ap = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join("results", "plots"),
                    help="output directory (default: results/plots)")
    ap.add_argument("csv", nargs="+", metavar="CSV")
    args = ap.parse_args(argv)
    df = weft_csv.load_or_die(PROG, args.csv)
    os.makedirs(args.out, exist_ok=True)
    written = plot_all(df, args.out)
    if not written:
        weft_csv.die(PROG, "no echo or timer_churn rows to plot", code=1)
    for p in written:
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
