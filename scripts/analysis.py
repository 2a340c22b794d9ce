"""What notebooks/analysis.ipynb and report.py compute from results/: which runs there are,
which one is the newest full run, variant rankings and latency percentiles.

    sys.path.insert(0, "scripts"); import analysis
    runs = analysis.list_runs(analysis.results_dir("."))   # one row per results/runs/*.csv
    df = analysis.load_run(analysis.newest_full_run(runs))
    analysis.ranking_summary(analysis.rankings(df))

Nothing here knows a particular run: files are found with glob, runs are ordered by the
timestamps inside them. WEFT_RESULTS (absolute, or relative to the repository root) points
everything at another results tree.
"""
import glob
import math
import os
import sys

import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import plot  # noqa: E402
import plot_io  # noqa: E402
import weft_csv  # noqa: E402

REFERENCE = "mutex"  # the variant every other one is ranked against
FULL = "spawn_storm"  # a run CSV with this workload is a full run of weft-bench
COMPLETE = {"spawn_storm", "echo", "timer_churn"}  # preferred: a full run with all three
# The main metric of a shape where it is not the throughput metric weft_csv picks: echo's open
# loop offers a fixed rate (its msgs/s says nothing), timer_churn's million and accuracy shapes
# have no throughput, and every micro benchmark reports ns per iteration.
MAIN_METRICS = {
    ("echo", "open"): "latency_p99_us",
    ("timer_churn", "million"): "insert_ns_per_timer",
    ("timer_churn", "accuracy"): "lateness_p99_us",
    "micro": "ns_per_iteration",
}
ECHO_LATENCY = ["latency_p50_us", "latency_p99_us", "latency_p999_us"]
TIMER_LATENESS = ["lateness_p50_us", "lateness_p99_us", "lateness_max_us"]


def results_dir(root):
    """$WEFT_RESULTS (relative to `root` unless absolute), else <root>/results."""
    return os.path.join(root, os.environ.get("WEFT_RESULTS") or "results")


def list_runs(results):
    """One row per <results>/runs/*.csv, newest first: path, name, kind (full, partial, micro
    or unreadable), complete (a full run with echo and timer_churn too), timestamp (its newest
    row), git_sha, host, workloads, rows, error."""
    rows = []
    for path in sorted(glob.glob(os.path.join(results, "runs", "*.csv"))):
        row = {"path": path, "name": os.path.basename(path), "kind": "unreadable",
               "complete": False, "timestamp": pd.NaT, "git_sha": "", "host": "",
               "workloads": "", "rows": 0, "error": ""}
        try:
            df = weft_csv.load([path])
        except weft_csv.CsvError as e:
            rows.append({**row, "error": str(e)})
            continue
        workloads = set(df["workload"])
        kind = ("micro" if workloads == {"micro"} else "full" if FULL in workloads
                else "partial")
        rows.append({**row, "kind": kind, "complete": COMPLETE <= workloads,
                     "timestamp": pd.to_datetime(df["timestamp"], utc=True,
                                                 errors="coerce").max(),
                     "git_sha": weft_csv.one_or_mixed(df["git_sha"]),
                     "host": weft_csv.one_or_mixed(df["host"]),
                     "workloads": ",".join(sorted(workloads)), "rows": len(df)})
    runs = pd.DataFrame(rows, columns=["path", "name", "kind", "complete", "timestamp",
                                       "git_sha", "host", "workloads", "rows", "error"])
    return runs.sort_values(["timestamp", "name"], ascending=False, na_position="last",
                            ignore_index=True)


def newest_full_run(runs):
    """Path of the newest full run, preferring complete ones; None if there is none."""
    full = runs[runs["kind"] == "full"]
    if full.empty:
        return None
    best = full.sort_values(["complete", "timestamp"], ascending=False, na_position="last")
    return best["path"].iloc[0]


def gate_inputs(runs):
    """The CSVs the gate reads: the newest full run, and for each workload it lacks (micro
    aside) the newest run CSV that has it (instruction counts, say). [] without a full run."""
    full = newest_full_run(runs)
    if full is None:
        return []
    have = set(runs.loc[runs["path"] == full, "workloads"].iloc[0].split(","))
    out = [full]
    for _, run in runs[runs["kind"].isin(["full", "partial"])].iterrows():  # newest first
        extra = set(run["workloads"].split(",")) - have
        if extra:
            out.append(run["path"])
            have |= extra
    return out


def load_run(path):
    return weft_csv.load([path])


def latest_micro(runs):
    """Rows of every micro benchmark, each from the newest micro CSV that has it; None if
    there are no micro runs."""
    micro = runs[runs["kind"] == "micro"].sort_values("timestamp", ascending=False)
    parts, seen = [], set()
    for path in micro["path"]:
        df = weft_csv.load([path])
        fresh = df[~df["shape"].isin(seen)]
        seen |= set(fresh["shape"])
        if not fresh.empty:
            parts.append(fresh)
    return pd.concat(parts, ignore_index=True) if parts else None


def distinct(series):
    """The distinct non-empty values of `series` as text, comma-separated."""
    return ", ".join(sorted({str(v) for v in series.dropna() if str(v) != ""})) or "?"


def machine(df):
    """{field: value} of the machine, build and commit of `df` (all values where several),
    the time span of its rows and how many run_ids it holds."""
    fields = ["host", "cpu_model", "cpus", "compiler", "build", "git_sha"]
    out = {f: distinct(df[f]) for f in fields}
    stamps = pd.to_datetime(df["timestamp"], utc=True, errors="coerce")
    out["from"], out["to"] = str(stamps.min()), str(stamps.max())
    out["runs"] = df["run_id"].nunique()
    return out


def main_metric(sub):
    """The metric that ranks variants on `sub` (one workload and shape), or None."""
    workload, shape = sub["workload"].iloc[0], sub["shape"].iloc[0]
    present = set(sub["metric"])
    for m in (MAIN_METRICS.get((workload, shape)), MAIN_METRICS.get(workload)):
        if m in present:
            return m
    return weft_csv.throughput_metric(sub)


def reference_for(variant):
    """The variant `variant` is ranked against: REFERENCE of the same flavor and I/O backend
    ("mutex+uring (current_thread)" for "ring+uring (current_thread)"); a peer's is REFERENCE
    on the default backend."""
    io = weft_csv.io_of(variant)
    return (REFERENCE + (weft_csv.IO_MARK + io if io != weft_csv.DEFAULT_IO else "")
            + (weft_csv.CURRENT_THREAD if variant.endswith(weft_csv.CURRENT_THREAD) else ""))


def rankings(df):
    """Median main metric per variant at each (workload, shape, config, threads), against the
    reference variant there (reference_for): vs_ref = median / reference median; score
    orients it so that > 1 is always better than the reference; rank 1 is the best in the
    cell. Sorted by cell, then rank."""
    parts = []
    machines = weft_csv.machine_keys(df)  # several machines: each ranked on its own
    for (workload, shape), sub in df.groupby(["workload", "shape"], sort=True):
        metric = main_metric(sub)
        if metric is None:
            continue
        stats = weft_csv.rep_stats(sub, metric)
        stats["metric"] = metric
        stats["unit"] = weft_csv.one_or_mixed(sub.loc[sub["metric"] == metric, "unit"])
        parts.append(stats)
    cols = weft_csv.GROUP_KEYS + machines + ["metric", "unit", "median", "n", "reference",
                                             "vs_ref", "score", "rank"]
    if not parts:
        return pd.DataFrame(columns=cols)
    out = pd.concat(parts, ignore_index=True)
    cell = ["workload", "shape", "config"] + machines + ["threads"]
    out["reference"] = out["variant"].map(reference_for)
    ref = out[out["variant"] == out["reference"]].set_index(cell + ["reference"])["median"]
    out = out.join(ref.rename("ref"), on=cell + ["reference"])
    out["vs_ref"] = out["median"] / out["ref"]
    up = out["metric"].map(weft_csv.higher_is_better)
    out["score"] = out["vs_ref"].where(up, 1.0 / out["vs_ref"])
    good = out["median"].where(up, -out["median"])
    out["rank"] = good.groupby([out[c] for c in cell]).rank(ascending=False, method="min")
    out["rank"] = out["rank"].astype(int)
    return out.sort_values(cell + ["rank", "variant"], ignore_index=True)[cols]


def geomean(x):
    x = x[(x > 0) & x.notna()]
    return math.exp(x.map(math.log).mean()) if len(x) else float("nan")


def ranking_summary(ranks):
    """Per workload (and machine, where the rankings hold several), each variant's geometric
    mean score against the reference over every shape, configuration and thread count it was
    measured at (n cells), best first."""
    g = ranks.groupby(["workload"] + weft_csv.machine_keys(ranks) + ["variant"])
    out = g.agg(score=("score", geomean), best=("rank", lambda r: int((r == 1).sum())),
                n=("score", "count")).reset_index()
    by = ["workload"] + weft_csv.machine_keys(ranks)
    out = out.sort_values(by + ["score"], ascending=[True] * len(by) + [False],
                          ignore_index=True)
    out["rank"] = out.groupby(by)["score"].rank(ascending=False, method="min")
    out["rank"] = out["rank"].astype("Int64")
    return out


def ranking_pivot(ranks, workload):
    """Scores of one workload: a row per variant (best first), a column per shape, config
    and thread count."""
    sub = ranks[ranks["workload"] == workload].copy()
    sub["cell"] = (sub["shape"] + sub["config"].map(lambda c: f" [{c}]" if c else "")
                   + " t=" + sub["threads"].astype(str))
    index = weft_csv.machine_keys(sub) + ["variant"]  # several machines: a row per machine too
    wide = sub.pivot(index=index, columns="cell", values="score")
    summary = ranking_summary(sub)
    order = (pd.MultiIndex.from_frame(summary[index]) if len(index) > 1
             else summary["variant"])
    return wide.reindex(index=order, columns=list(dict.fromkeys(sub["cell"])))


def percentiles(df, workload, shape, metrics, param=None):
    """Median/min/max over reps of each of `metrics` per variant, threads and (if given)
    the numeric parameter `param`; tidy, with a `metric` column. Empty if no rows."""
    d = df[(df["workload"] == workload) & (df["shape"] == shape)]
    keys = weft_csv.machine_keys(d) + ["variant", "threads"]
    if param is not None:
        d = plot_io.with_param(d, param)
        if (d[param] % 1 == 0).all():
            d[param] = d[param].astype("int64")
        keys.append(param)
    parts = []
    for m in metrics:
        s = plot_io.stats_by(d, m, keys)
        s["metric"] = m
        parts.append(s)
    out = pd.concat(parts, ignore_index=True)
    return out[keys + ["metric", "median", "min", "max"]]


def percentile_table(tidy):
    """`percentiles` output as one row per variant/threads(/param), one column per metric."""
    keys = [c for c in tidy.columns if c not in ("metric", "median", "min", "max")]
    return tidy.pivot_table(index=keys, columns="metric", values="median", sort=True)


def plot_percentiles(df, workload, shape, metrics, param, out_dir, name):
    """One panel per metric of `percentiles(df, ...)`: median (min-max band) against `param`,
    a line per variant (and thread count where there are several). The PNG path, or None
    when there are no rows."""
    import matplotlib.pyplot as plt  # plot.py has selected the Agg backend
    tidy = percentiles(df, workload, shape, metrics, param)
    if tidy.empty:
        return None
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.5 * len(metrics), 4.3),
                             squeeze=False)
    several = tidy["threads"].nunique() > 1
    for ax, m in zip(axes[0], metrics):
        machines = weft_csv.machine_keys(tidy)  # several machines: a line each, named
        for key, v in tidy[tidy["metric"] == m].groupby(machines + ["variant", "threads"]):
            machine, variant, t = key if machines else (None, *key)
            v = v.sort_values(param)
            style = plot.line_style(variant)  # flavor, backend and peers told apart
            label = f"{variant} t={t}" if several else variant
            ax.plot(v[param], v["median"], label=label if machine is None
                    else f"{machine.split(' ')[0]}: {label}", **style)
            ax.fill_between(v[param], v["min"], v["max"], color=style["color"], alpha=0.2,
                            linewidth=0)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(param)
        ax.set_ylabel(m)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    sub = df[(df["workload"] == workload) & (df["shape"] == shape)]
    return plot_io.save(fig, out_dir, name, sub, f"{workload}/{shape}: latency vs {param}")


# (title, workload, shape, metrics, parameter or None, figure): figure(df, out_dir) draws it;
# None: plot_percentiles against the parameter.
LATENCY_VIEWS = [
    ("echo closed loop: latency vs connections", "echo", "closed", ECHO_LATENCY, "connections",
     None),
    ("echo open loop: latency vs offered rate", "echo", "open", ECHO_LATENCY, "rate", None),
    ("timer_churn accuracy: lateness", "timer_churn", "accuracy", TIMER_LATENESS, None,
     plot_io.timer_lateness),
]


def latency_views(df, out_dir):
    """[(title, table, PNG path or None)] for each of LATENCY_VIEWS that `df` has rows of:
    median percentiles per variant, threads (and parameter), and their figure."""
    os.makedirs(out_dir, exist_ok=True)
    out = []
    for title, workload, shape, metrics, param, figure in LATENCY_VIEWS:
        tidy = percentiles(df, workload, shape, metrics, param)
        if tidy.empty:
            continue
        if figure is None:
            png = plot_percentiles(df, workload, shape, metrics, param, out_dir,
                                   f"{workload}_{shape}_latency_vs_{param}.png")
        else:
            png = figure(df, out_dir)
        out.append((title, percentile_table(tidy), png))
    return out
