"""Merge the per-cell CSVs of Slurm sweeps (scripts/slurm_sweep.py) into one run CSV.

    /usr/bin/python3 scripts/merge_runs.py [--out FILE | --runs-dir DIR] [--allow-mixed]
                                           SWEEP_DIR|CSV [SWEEP_DIR|CSV ...]

A SWEEP_DIR holds manifest.json and the cells' cell-NNNN.csv / cell-NNNN.status; a CSV is
taken as it is (a run from another machine, say). Sweeps from several clusters or
architectures merge into one file whose rows keep their own host, cpu_model and cpus:
plot.py, summary.py and report.py put the machines side by side.

Every CSV must have the same header, weft-bench's schema (scripts/weft_csv.py); a different
one is refused. Rows of Weft's variants from more than one commit (git_sha) or build type
(build) are refused too unless --allow-mixed.

The merged CSV is written to FILE, which must not exist, or to
DIR/<date>_slurm-<sweep id>_<sha>.csv (DIR defaults to results/runs; _2, _3, ... where the
name is taken): a merged file is never overwritten. Its path is printed on stdout; the report
(cells merged, hosts, cells missing or failed and the sbatch line that reruns just those) on
stderr.

Exit 0 every cell arrived, 1 a cell is missing or failed (the cells that did arrive are merged
all the same), 2 bad input (nothing written).
"""
import argparse
import collections
import csv
import datetime
import json
import os
import shlex
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import weft_csv  # noqa: E402

PROG = "merge_runs.py"


def die(msg, code=2):
    print(f"{PROG}: error: {msg}", file=sys.stderr)
    sys.exit(code)


def read_csv(path):
    """(header, rows) of one CSV, the cells as text exactly as written."""
    try:
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        die(f"{path}: cannot read: {e}")
    if not rows:
        die(f"{path}: file is empty (no header)")
    return [c.strip() for c in rows[0]], [r for r in rows[1:] if r]


def read_status(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def sweep_inputs(sweep_dir):
    """(manifest, [csv paths], [(cell, why)]) of one sweep directory."""
    path = os.path.join(sweep_dir, "manifest.json")
    try:
        with open(path) as f:
            manifest = json.load(f)
    except (OSError, ValueError) as e:
        die(f"{path}: cannot read the sweep's manifest: {e}")
    found, missing = [], []
    for cell in manifest["cells"]:
        csv_path = os.path.join(sweep_dir, cell["csv"])
        status = read_status(os.path.join(sweep_dir, cell["csv"][:-4] + ".status"))
        if status is not None and status.get("rc", 1) != 0:
            log = os.path.join(sweep_dir, "logs", cell["csv"][:-4] + ".log")
            missing.append((cell, f"failed (exit {status.get('rc')}) on {status.get('host')}, "
                            f"log: {log}"))
        elif not os.path.isfile(csv_path):
            missing.append((cell, "never arrived" + (" (no status: the task did not run, "
                                                     "or was killed)" if status is None else "")))
        else:
            found.append(csv_path)
    return manifest, found, missing


def resubmit_line(manifest, cells):
    tasks = sorted({c["task"] for c in cells})
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import slurm_sweep  # noqa: E402 (its array_spec)
    line = list(manifest["sbatch"])
    return shlex.join(line[:1] + [f"--array={slurm_sweep.array_spec(tasks)}"] + line[1:])


def free_name(directory, stem):
    path = os.path.join(directory, stem + ".csv")
    i = 2
    while os.path.exists(path):
        path = os.path.join(directory, f"{stem}_{i}.csv")
        i += 1
    return path


def main(argv=None):
    ap = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="Details: scripts/merge_runs.py's docstring.")
    ap.add_argument("inputs", nargs="+", metavar="SWEEP_DIR|CSV")
    where = ap.add_mutually_exclusive_group()
    where.add_argument("--out", help="merged CSV to write (must not exist)")
    where.add_argument("--runs-dir", default=os.path.join("results", "runs"),
                       help="directory of the merged CSV under its default name "
                       "(default results/runs)")
    ap.add_argument("--allow-mixed", action="store_true",
                    help="merge rows of several commits or build types")
    args = ap.parse_args(argv)

    paths, missing, sweeps = [], [], []
    for item in args.inputs:
        if os.path.isdir(item):
            manifest, found, lost = sweep_inputs(item)
            sweeps.append(manifest)
            paths += found
            missing += [(manifest, c, why) for c, why in lost]
        elif os.path.isfile(item):
            paths.append(item)
        else:
            die(f"{item}: neither a sweep directory nor a CSV")

    header, rows = None, []
    for p in paths:
        h, r = read_csv(p)
        lacking = [c for c in weft_csv.REQUIRED if c not in h]
        if lacking:
            die(f"{p}: not weft-bench's schema: missing column(s) {', '.join(lacking)}")
        if header is None:
            header, first = h, p
        elif h != header:
            die(f"{p}: another schema than {first}: columns {','.join(h)} against "
                f"{','.join(header)}")
        rows += r
    if header is not None:
        try:
            weft_csv.load(paths)  # the cells' types, as plot.py and summary.py will read them
        except weft_csv.CsvError as e:
            die(str(e))

    col = {c: header.index(c) for c in header} if header else {}
    weft_rows = [r for r in rows if not weft_csv.is_peer(r[col["variant"]])] if rows else []
    for field in ("git_sha", "build"):
        values = sorted({r[col[field]] for r in weft_rows})
        if len(values) > 1 and not args.allow_mixed:
            die(f"the CSVs hold {len(values)} values of {field}: {', '.join(values)} "
                "(--allow-mixed merges them anyway)")

    for manifest, cell, why in missing:
        print(f"{PROG}: missing: sweep {manifest['sweep_id']} cell {cell['id']} (task "
              f"{cell['task']}: {cell['workload']}/{cell['shape']} {cell['variant']} "
              f"threads={cell['threads']}): {why}", file=sys.stderr)
    by_sweep = collections.OrderedDict()
    for manifest, cell, _ in missing:
        by_sweep.setdefault(manifest["sweep_id"], (manifest, []))[1].append(cell)
    for manifest, cells in by_sweep.values():
        print(f"{PROG}: rerun the {len(cells)} missing cell(s) of {manifest['sweep_id']}, then "
              "merge again:\n  " + resubmit_line(manifest, cells), file=sys.stderr)

    if not rows:
        die("no rows to merge" + (" (no cell arrived)" if missing else ""),
            code=1 if missing else 2)
    if args.out:
        out = args.out
        if os.path.exists(out):
            die(f"{out} exists: a merged file is never overwritten (pick another --out)")
    else:
        shas = sorted({r[col["git_sha"]] for r in weft_rows} or {"unknown"})
        sha = shas[0] if len(shas) == 1 else "mixed"
        ids = "+".join(m["sweep_id"] for m in sweeps) or "csv"
        date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
        os.makedirs(args.runs_dir, exist_ok=True)
        out = free_name(args.runs_dir, f"{date}_slurm-{ids}_{sha}")
    d = os.path.dirname(os.path.abspath(out))
    os.makedirs(d, exist_ok=True)
    try:
        with open(out, "x", newline="") as f:  # "x": never over an existing file
            w = csv.writer(f, lineterminator="\n")
            w.writerow(header)
            w.writerows(rows)
    except FileExistsError:
        die(f"{out} exists: a merged file is never overwritten")

    machines = collections.OrderedDict()
    for r in rows:
        key = (r[col["host"]], r[col["cpu_model"]], r[col["cpus"]])
        machines[key] = machines.get(key, 0) + 1
    n_cells = sum(len(m["cells"]) for m in sweeps)
    arrived = n_cells - len(missing)
    print(f"{PROG}: merged {len(paths)} CSV(s), {len(rows)} rows"
          + (f"; {arrived} of {n_cells} cells arrived" if sweeps else ""), file=sys.stderr)
    for (host, cpu, cpus), n in machines.items():
        print(f"{PROG}:   {host} ({cpu}, {cpus} cores): {n} rows", file=sys.stderr)
    print(out)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
