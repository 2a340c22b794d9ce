"""Run a weft-bench sweep on a Slurm cluster: one array task per cell (or per few cells), each on
a node of its own, then a dependent job that merges the CSVs and writes the plots and report.

    /usr/bin/python3 scripts/slurm_sweep.py [SWEEP FLAGS] [SLURM OPTIONS] [--dry-run]
    make bench-slurm ARGS='--shape=flat,tree --variant=mutex,chase_lev --partition=cpu'

The sweep flags are weft-bench's (--workload, --shape, --variant, --threads, --reps, --param,
--flavor, --steal, --victim, --backoff, --io). A cell is one (shape, variant[, threads]) of the
sweep: --shape and --variant are comma lists (all, peers and everything are expanded with
`weft-bench --list`), and --threads, when given, is split too; without --threads each cell runs
weft-bench's default, 1..N with N the online CPUs of the node it lands on (under --exclusive the
job has all of them).
Every other flag goes to every cell unchanged (a swept --param stays inside its cell), except
that a cell gets only the --params its shape uses (weft-bench --list says which).

Each array task runs its cells with `--exclusive` (a benchmark never shares a node) from the
repository root (the CSV's git_sha is the checkout's) and writes, under RESULTS/SWEEP_ID/:
cell-NNNN.csv (the cell's rows, renamed into place only when weft-bench succeeded),
cell-NNNN.status (JSON: exit status, host, job), logs/. manifest.json, written at submit time,
lists every cell, its task and exact command; scripts/merge_runs.py reads it to find the cells
that never arrived and print the sbatch line that reruns only those. A second job
(--dependency=afterany on the array) runs merge_runs.py into REPORT/runs/, plot.py into
REPORT/plots/ and report.py (REPORT/README.md); --no-report leaves it out.

--dry-run writes nothing and submits nothing: it prints the plan (cells, tasks, commands) and
the two sbatch lines. Exit 0 submitted (or planned), 1 sbatch failed, 2 bad input.
"""
import argparse
import datetime
import itertools
import json
import os
import re
import shlex
import subprocess
import sys

PROG = "slurm_sweep.py"
ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
DEFAULT_BENCH = os.path.join("build", "release", "harness", "bench", "weft-bench")
# weft-bench flags passed to every cell as given (None: weft-bench's default, not passed).
PASSTHROUGH = ("flavor", "steal", "victim", "backoff", "io")


def die(msg, code=2):
    print(f"{PROG}: error: {msg}", file=sys.stderr)
    sys.exit(code)


def split(text):
    return [x.strip() for x in str(text).split(",") if x.strip()]


def bench_list(bench):
    """{'variants': [...], 'peers': [...], 'shapes': {workload: [...]}} from `weft-bench
    --list`, or None where it cannot run."""
    try:
        out = subprocess.run([bench, "--list"], capture_output=True, text=True, timeout=60,
                             cwd=ROOT).stdout
    except OSError:
        return None
    info = {"variants": [], "peers": [], "shapes": {}, "param_shapes": {}}
    workload = None
    in_peers = False
    for line in out.splitlines():
        if line.startswith("variants:"):
            info["variants"] = split(line.split(":", 1)[1])
        elif line.startswith("peers"):
            in_peers = True
        elif line.startswith("variant groups") or line.startswith("workload "):
            in_peers = False
        if in_peers and re.match(r"^  [a-z_]+\s", line):
            info["peers"].append(line.split()[0])
        m = re.match(r"^workload (\S+):", line)
        if m:
            workload = m.group(1)
        m = re.match(r"^\s+shapes: (.*)$", line)
        if m and workload:
            info["shapes"][workload] = split(m.group(1))
        # "  --param tasks=1000000  tasks spawned ... [flat, flat_c, remote, chained; 1..2000]"
        m = re.match(r"^\s+--param (\w+)=.*\[([^;\]]*)[;\]]", line)
        if m and workload:
            info["param_shapes"][(workload, m.group(1))] = split(m.group(2))
    return info if info["variants"] else None


def expand(values, groups, what):
    """A comma list with its group names (all, peers, ...) expanded; the names kept as they
    are where `groups` is None (no weft-bench to ask)."""
    out = []
    for v in split(values):
        if groups is not None and v in groups:
            out += [x for x in groups[v] if x not in out]
        elif v not in out:
            out.append(v)
    if not out:
        die(f"--{what} is empty")
    return out


def plan_cells(args, info):
    shape_groups = variant_groups = None
    if info is not None:
        shapes = info["shapes"].get(args.workload)
        if shapes is None:
            die(f"unknown workload '{args.workload}' (weft-bench --list: "
                + ", ".join(sorted(info["shapes"])) + ")")
        shape_groups = {"all": shapes}
        variant_groups = {"all": info["variants"], "peers": info["peers"],
                          "everything": info["variants"] + info["peers"]}
    shapes = expand(args.shape, shape_groups, "shape")
    variants = expand(args.variant, variant_groups, "variant")
    threads = split(args.threads) if args.threads else [None]
    for t in threads:
        if t is not None and not t.isdigit():
            die(f"--threads: '{t}' is not a thread count")
    cells = []
    for shape, variant, t in itertools.product(shapes, variants, threads):
        argv = [args.bench, f"--workload={args.workload}", f"--shape={shape}",
                f"--variant={variant}"]
        if t is not None:
            argv.append(f"--threads={t}")
        argv.append(f"--reps={args.reps}")
        for p in args.param:
            # weft-bench refuses a parameter none of its shapes uses: a cell gets only those
            # of its own shape (all of them where --list does not say).
            uses = (info or {}).get("param_shapes", {}).get((args.workload, p.split("=")[0]))
            if uses is None or shape in uses:
                argv += ["--param", p]
        for flag in PASSTHROUGH:
            value = getattr(args, flag)
            if value is not None:
                argv.append(f"--{flag}={value}")
        i = len(cells)
        cells.append({"id": i, "task": i // args.cells_per_task, "workload": args.workload,
                      "shape": shape, "variant": variant,
                      "threads": t if t is not None else "node (1..N)",
                      "csv": f"cell-{i:04d}.csv", "argv": argv})
    return cells


TASK_SCRIPT = """#!/bin/bash
# Array task of the Weft sweep {sweep_id}: written by scripts/slurm_sweep.py (see manifest.json).
# Runs the cells of task $SLURM_ARRAY_TASK_ID; each writes cell-NNNN.csv and cell-NNNN.status.
set -u
DIR={dir}
cd {repo} || exit 1
mkdir -p "$DIR/logs"
worst=0
run_cell() {{
  local id=$1; shift
  local start; start=$(date -u +%FT%TZ)
  rm -f "$DIR/cell-$id.csv.part"
  "$@" --out="$DIR/cell-$id.csv.part" > "$DIR/logs/cell-$id.log" 2>&1
  local rc=$?
  if [ $rc -eq 0 ] && [ -s "$DIR/cell-$id.csv.part" ]; then
    mv -f "$DIR/cell-$id.csv.part" "$DIR/cell-$id.csv"
  elif [ $rc -eq 0 ]; then
    rc=1
  fi
  printf '{{"rc": %d, "host": "%s", "job": "%s", "task": "%s", "start": "%s", "end": "%s"}}\\n' \\
    $rc "$(hostname)" "${{SLURM_ARRAY_JOB_ID:-${{SLURM_JOB_ID:-}}}}" \\
    "${{SLURM_ARRAY_TASK_ID:-}}" "$start" "$(date -u +%FT%TZ)" > "$DIR/cell-$id.status"
  [ $rc -eq 0 ] || worst=$rc
}}
case "${{SLURM_ARRAY_TASK_ID:?not an array task}}" in
{cases}
  *) echo "no cells for task $SLURM_ARRAY_TASK_ID" >&2; exit 2 ;;
esac
exit $worst
"""

MERGE_SCRIPT = """#!/bin/bash
# Merge job of the Weft sweep {sweep_id}: written by scripts/slurm_sweep.py; runs after the
# array ends (afterany), whatever became of its tasks.
set -u
cd {repo} || exit 1
mkdir -p {runs} {plots}
merged=$({python} scripts/merge_runs.py --runs-dir {runs} {dir})
rc=$?
if [ -n "$merged" ] && [ -f "$merged" ]; then
  {python} scripts/plot.py --out {plots} "$merged" || rc=1
  {python} scripts/summary.py --metric ns_per_task "$merged"
  {python} scripts/report.py --results {report} || rc=1
fi
exit $rc
"""


def sbatch_common(args):
    out = []
    if args.partition:
        out.append(f"--partition={args.partition}")
    if args.account:
        out.append(f"--account={args.account}")
    return out


def array_spec(ids):
    """Slurm's --array value of a sorted list of task ids: 0-3,7,9-10."""
    parts, ids = [], sorted(set(ids))
    for _, run in itertools.groupby(enumerate(ids), lambda p: p[1] - p[0]):
        run = [v for _, v in run]
        parts.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
    spec = ",".join(parts)
    return spec


def main(argv=None):
    ap = argparse.ArgumentParser(prog=PROG, description=" ".join(__doc__.split("\n\n")[0].split()),
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="Details: scripts/slurm_sweep.py's docstring and "
                                 "README.md, 'On a cluster'.")
    g = ap.add_argument_group("sweep (weft-bench's flags)")
    g.add_argument("--workload", default="spawn_storm", help="(default spawn_storm)")
    g.add_argument("--shape", default="all", help="comma list or all (default all)")
    g.add_argument("--variant", default="all",
                   help="comma list of variants and peers, or all, peers, everything")
    g.add_argument("--threads", default="",
                   help="comma list of worker counts "
                   "(default: 1..N, N the online CPUs of each node)")
    g.add_argument("--reps", type=int, default=5, help="repetitions (default 5)")
    g.add_argument("--param", action="append", default=[], metavar="K=V",
                   help="workload parameter, repeatable; passed to every cell")
    for flag in PASSTHROUGH:
        g.add_argument(f"--{flag}", default=None, help="passed to every cell")
    s = ap.add_argument_group("Slurm")
    s.add_argument("--partition", help="sbatch --partition")
    s.add_argument("--account", help="sbatch --account")
    s.add_argument("--time", default="01:00:00", help="time limit of each array task "
                   "(default 01:00:00)")
    s.add_argument("--merge-time", default="00:30:00",
                   help="time limit of the merge job (default 00:30:00)")
    s.add_argument("--cells-per-task", type=int, default=1,
                   help="cells run one after another by each array task (default 1)")
    s.add_argument("--max-running", type=int, default=0,
                   help="at most this many array tasks at once (sbatch --array=...%%N)")
    s.add_argument("--sbatch-arg", action="append", default=[], metavar="ARG",
                   help="one more sbatch option for the array, e.g. --constraint=x86; "
                   "repeatable")
    s.add_argument("--results", default=os.path.join("results", "slurm"),
                   help="shared results directory; the sweep's files go to RESULTS/SWEEP_ID "
                   "(default results/slurm)")
    s.add_argument("--sweep-id", help="name of this sweep (default: UTC date and time)")
    s.add_argument("--bench", default=DEFAULT_BENCH,
                   help=f"weft-bench to run on the nodes (default {DEFAULT_BENCH})")
    s.add_argument("--report", default="results",
                   help="results tree the merge job writes to: REPORT/runs/ (merged CSV), "
                   "REPORT/plots/, REPORT/README.md (default results)")
    s.add_argument("--no-report", action="store_true",
                   help="submit the array only, no merge job")
    s.add_argument("--dry-run", action="store_true",
                   help="print the plan and the sbatch lines; write and submit nothing")
    args = ap.parse_args(argv)
    if args.reps < 1 or args.cells_per_task < 1:
        die("--reps and --cells-per-task must be at least 1")

    absolute = lambda p: p if os.path.isabs(p) else os.path.join(ROOT, p)  # noqa: E731
    args.bench = absolute(args.bench)
    if not os.access(args.bench, os.X_OK):
        if not args.dry_run:
            die(f"{args.bench} is not built (make build)")
        print(f"{PROG}: note: {args.bench} is not built: all/peers are not expanded",
              file=sys.stderr)
    info = bench_list(args.bench) if os.access(args.bench, os.X_OK) else None
    cells = plan_cells(args, info)
    sweep_id = args.sweep_id or datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y%m%dT%H%M%SZ")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", sweep_id):
        die(f"--sweep-id '{sweep_id}': letters, digits, '_', '.', '-' only")
    sweep_dir = os.path.join(absolute(args.results), sweep_id)
    report = absolute(args.report)
    if os.path.exists(os.path.join(sweep_dir, "manifest.json")) and not args.dry_run:
        die(f"{sweep_dir} holds a sweep already (pick another --sweep-id)")
    n_tasks = cells[-1]["task"] + 1
    task_script = os.path.join(sweep_dir, "task.sh")
    merge_script = os.path.join(sweep_dir, "merge.sh")
    array = f"0-{n_tasks - 1}" + (f"%{args.max_running}" if args.max_running else "")
    array_opts = (["--parsable", f"--job-name=weft-{sweep_id}", "--exclusive", "--nodes=1",
                   f"--time={args.time}", f"--chdir={ROOT}",
                   f"--output={os.path.join(sweep_dir, 'logs', 'task-%a.out')}"]
                  + sbatch_common(args) + args.sbatch_arg)
    array_line = ["sbatch", f"--array={array}"] + array_opts + [task_script]
    merge_opts = (["--parsable", f"--job-name=weft-{sweep_id}-merge",
                   f"--time={args.merge_time}", f"--chdir={ROOT}",
                   f"--output={os.path.join(sweep_dir, 'logs', 'merge.out')}"]
                  + sbatch_common(args))
    merge_line = (["sbatch", "--dependency=afterany:<array job id>"] + merge_opts
                  + [merge_script])

    q = shlex.join
    print(f"sweep {sweep_id}: {len(cells)} cells in {n_tasks} array tasks "
          f"({args.cells_per_task} cell(s) each), results in {sweep_dir}")
    for c in cells:
        print(f"  task {c['task']:>3}  cell {c['id']:>3}  {c['workload']}/{c['shape']} "
              f"{c['variant']} threads={c['threads']}: {q(c['argv'])} --out=.../{c['csv']}")
    print("array: " + q(array_line))
    if not args.no_report:
        print("merge: " + q(merge_line))
    if args.dry_run:
        return 0

    os.makedirs(os.path.join(sweep_dir, "logs"), exist_ok=True)
    cases = []
    for t in range(n_tasks):
        lines = [f"    run_cell {c['id']:04d} {q(c['argv'])}" for c in cells if c["task"] == t]
        cases.append(f"  {t})\n" + "\n".join(lines) + " ;;")
    with open(task_script, "w") as f:
        f.write(TASK_SCRIPT.format(sweep_id=sweep_id, dir=shlex.quote(sweep_dir),
                                   repo=shlex.quote(ROOT), cases="\n".join(cases)))
    with open(merge_script, "w") as f:
        f.write(MERGE_SCRIPT.format(
            sweep_id=sweep_id, repo=shlex.quote(ROOT), dir=shlex.quote(sweep_dir),
            python=shlex.quote(sys.executable), runs=shlex.quote(os.path.join(report, "runs")),
            plots=shlex.quote(os.path.join(report, "plots")), report=shlex.quote(report)))
    os.chmod(task_script, 0o755)
    os.chmod(merge_script, 0o755)
    manifest = {
        "sweep_id": sweep_id, "created": datetime.datetime.now(
            datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "repo": ROOT, "dir": sweep_dir, "bench": args.bench, "report": report,
        "cells_per_task": args.cells_per_task, "tasks": n_tasks,
        # The array's sbatch line without --array: merge_runs.py reruns tasks with it.
        "sbatch": ["sbatch"] + [o for o in array_opts if o != "--parsable"] + [task_script],
        "cells": cells,
    }
    tmp = os.path.join(sweep_dir, "manifest.json.part")
    with open(tmp, "w") as f:
        json.dump(manifest, f, indent=1)
    os.replace(tmp, os.path.join(sweep_dir, "manifest.json"))

    r = subprocess.run(array_line, capture_output=True, text=True)
    if r.returncode != 0:
        print(r.stderr, end="", file=sys.stderr)
        die(f"sbatch of the array failed (exit {r.returncode})", code=1)
    job = r.stdout.strip().split(";")[0]
    print(f"submitted array job {job}")
    manifest["array_job"] = job
    if not args.no_report:
        line = ["sbatch", f"--dependency=afterany:{job}"] + merge_opts + [merge_script]
        r = subprocess.run(line, capture_output=True, text=True)
        if r.returncode != 0:
            print(r.stderr, end="", file=sys.stderr)
            die(f"sbatch of the merge job failed (exit {r.returncode}); the array {job} runs "
                f"anyway: merge with scripts/merge_runs.py {sweep_dir}", code=1)
        manifest["merge_job"] = r.stdout.strip().split(";")[0]
        print(f"submitted merge job {manifest['merge_job']} (after {job})")
    with open(tmp, "w") as f:
        json.dump(manifest, f, indent=1)
    os.replace(tmp, os.path.join(sweep_dir, "manifest.json"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
