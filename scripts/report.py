"""Write results/README.md from the CSVs in results/: the newest full run and the newest micro
benchmarks, as markdown.

    /usr/bin/python3 scripts/report.py [--results DIR] [--out FILE]

The README names the machine (host, cpu_model, cpus, compiler, build) and the commit as the
CSV records them (each machine, where the run merges several: scripts/merge_runs.py; its tables
then have a machine column and its figures a row per machine), then per workload
(spawn_storm, echo, timer_churn, any other, then micro) a
table of the median main metric per variant and thread count (summary.py's table; one table
per metric, shapes that share it together; for echo also the cost of a message, where the rows
have it: server_cpu_us_per_msg, io_syscalls_per_msg, driver_polls_per_msg; each I/O backend
is a variant of its own, "ring+uring"), each Weft variant's ratio to the best peer where
peers ran (summary.py --vs-peers) and the figures of it that are in DIR/plots/ under
the names plot.py and plot_io.py give them. Nothing in it is typed by hand: rerun it after a
new run. DIR defaults to $WEFT_RESULTS, else results/; FILE to DIR/README.md. Exit 1 when
DIR/runs/ holds neither a full run nor a micro run.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import analysis  # noqa: E402
import plot  # noqa: E402
import plot_io  # noqa: E402
import summary  # noqa: E402
import weft_csv  # noqa: E402

PROG = "report.py"
ORDER = ["spawn_storm", "echo", "timer_churn"]  # then any other workload, then micro
# Tables a workload gets beside its main metrics, where its rows have them: what an echoed
# message costs the server (each I/O backend a variant of its own: ring, ring+uring).
COST_METRICS = {"echo": ["server_cpu_us_per_msg", "io_syscalls_per_msg", "driver_polls_per_msg"]}


def machine_lines(df, out_dir):
    peer = df["variant"].map(weft_csv.is_peer)
    m = analysis.machine(df[~peer] if (~peer).any() else df)
    sources = sorted(set(df["source"]))
    peers = df[peer].drop_duplicates("variant")
    if weft_csv.machine_keys(df):  # a merge of several machines' sweeps (merge_runs.py)
        hosts = df.drop_duplicates(["host", "cpu_model", "cpus"]).sort_values("host")
        where = ["- machines (each table keeps them apart, each figure gives each a row):",
                 *(f"  - `{r.host}`, {r.cpu_model}, {r.cpus} CPUs ({r.compiler})"
                   for r in hosts.itertuples())]
    else:
        where = [f"- machine: `{m['host']}`, {m['cpu_model']}, {m['cpus']} CPUs"]
    return [*where,
            f"- compiler: {m['compiler']}, build {m['build']}",
            *([("- peers (harness/peers): " + "; ".join(
                f"{r.variant}: {r.build}" for r in peers.itertuples()))] if len(peers) else []),
            f"- commit: `{m['git_sha']}`",
            f"- measured: {m['from']} to {m['to']} ({m['runs']} run_id values)",
            "- from: " + ", ".join(f"[{os.path.basename(s)}]({rel(s, out_dir)})"
                                   for s in sources)]


def rel(path, out_dir):
    return os.path.relpath(path, out_dir).replace(os.sep, "/")


def metric_groups(sub):
    """[(metric, [shape, ...])]: the shapes of one workload grouped by their main metric."""
    groups = {}
    for shape, rows in sub.groupby("shape", sort=True):
        metric = analysis.main_metric(rows)
        if metric is not None:
            groups.setdefault(metric, []).append(shape)
    return list(groups.items())


def plot_names(sub):
    """File names of the figures plot.py and plot_io.py draw from `sub` (one workload)."""
    keys = sub[["workload", "shape", "config"]].drop_duplicates().sort_values(
        ["workload", "shape", "config"])
    names = [plot.png_name(*k) for k in keys.itertuples(index=False)]
    io = [n for k in keys[["workload", "shape"]].drop_duplicates().itertuples(index=False,
                                                                             name=None)
          for n in plot_io.png_names(*k)]
    return names + io


def workload_section(df, workload, plots_dir, out_dir):
    sub = df[df["workload"] == workload]
    lines = [f"## {workload}", ""]
    groups = metric_groups(sub)
    main = {m for m, _ in groups}
    for metric in COST_METRICS.get(workload, []):
        shapes = sorted(set(sub.loc[sub["metric"] == metric, "shape"]))
        if shapes and metric not in main:
            groups.append((metric, shapes))
    for metric, shapes in groups:
        rows = sub[sub["shape"].isin(shapes)]
        unit = weft_csv.one_or_mixed(rows.loc[rows["metric"] == metric, "unit"])
        better = "higher" if weft_csv.higher_is_better(metric) else "lower"
        header, body = summary.build_rows(rows, metric)
        lines += [f"`{metric}` ({unit}), median over reps, {better} is better:", "",
                  summary.render_markdown(header, body), ""]
        ratios = summary.peer_ratio_rows(rows, metric)
        if ratios is not None:
            lines += [f"Each Weft variant's `{metric}` against the best peer at the same point "
                      "(below 1.0: Weft ahead):", "", summary.render_markdown(*ratios), ""]
    figures = [n for n in plot_names(sub) if os.path.isfile(os.path.join(plots_dir, n))]
    for name in figures:
        lines += [f"![{name}]({rel(os.path.join(plots_dir, name), out_dir)})", ""]
    if not figures:
        lines += [f"No figure of {workload} in {rel(plots_dir, out_dir)}/ "
                  "(`make plots CSV=...` draws them).", ""]
    return lines


def render(results, out_path):
    """The README's text, or None when there is nothing to report."""
    runs = analysis.list_runs(results)
    full_path = analysis.newest_full_run(runs)
    micro = analysis.latest_micro(runs)
    if full_path is None and micro is None:
        return None
    out_dir = os.path.dirname(os.path.abspath(out_path))
    plots_dir = os.path.join(results, "plots")
    lines = ["# Results", "",
             "Written by `make report` (scripts/report.py) from the CSVs in runs/; "
             "do not edit by hand.", ""]
    if full_path is not None:
        full = analysis.load_run(full_path)
        lines += ["The newest full run of weft-bench:", ""] + machine_lines(full, out_dir) + [""]
        present = list(dict.fromkeys(full["workload"]))
        for w in [w for w in ORDER if w in present] + sorted(set(present) - set(ORDER)):
            lines += workload_section(full, w, plots_dir, out_dir)
    if micro is not None:
        lines += ["## micro", "", "The newest run of each micro benchmark:", ""]
        lines += machine_lines(micro, out_dir) + [""]
        lines += workload_section(micro, "micro", plots_dir, out_dir)[2:]
    return "\n".join(lines).rstrip() + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    ap.add_argument("--results", default=os.environ.get("WEFT_RESULTS") or "results",
                    help="results tree (default: $WEFT_RESULTS, else results)")
    ap.add_argument("--out", help="README to write (default: RESULTS/README.md)")
    args = ap.parse_args(argv)
    out = args.out or os.path.join(args.results, "README.md")
    text = render(args.results, out)
    if text is None:
        weft_csv.die(PROG, f"no full run and no micro run in {args.results}/runs", code=1)
    with open(out, "w") as f:
        f.write(text)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
