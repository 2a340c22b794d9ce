#!/usr/bin/env python3
"""Wall-clock A/B runs for the gate's `ab` rules (results/thresholds.toml, scripts/gate_rules.py).

    bench_ab.py --base-bin build/ab-base/harness/bench/weft-bench \
        --cand-bin build/release/harness/bench/weft-bench --out-dir build/ab [--pairs N]

For every ab rule, runs `weft-bench <args> --reps=<reps>` on the baseline and the candidate
binary in alternation, `pairs` times each, in the order ABBA ABBA ... so a drift of the machine's
speed during the runs weighs on both sides alike. Each run gives one sample per measurement: the
median over its reps (one measurement of a short shape can land in a slow mode; the median of a
few inside one process does not), appended to <out-dir>/base.csv or <out-dir>/cand.csv with
`rep` set to the pair's number; check_regression.py --kinds ab reads them. Exit 2 on bad input (a missing binary, bad rules), 1 if a run fails.
"""
import argparse
import csv
import os
import shlex
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import weft_csv  # noqa: E402
from check_regression import select_rules  # noqa: E402
from gate_rules import GateError, load_rules  # noqa: E402

PROG = "bench_ab"


def run_once(binary, args, reps, rep, out_csv):
    """Runs weft-bench once with `reps` repetitions and appends, per measurement key, the median
    over them to out_csv as one row with rep = `rep` (the pair's number)."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp_csv = os.path.join(tmp, "run.csv")
        cmd = [binary, *shlex.split(args), f"--reps={reps}", f"--out={tmp_csv}"]
        proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if proc.returncode != 0:
            print(f"{PROG}: {' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr}",
                  file=sys.stderr)
            sys.exit(1)
        with open(tmp_csv, newline="") as f:
            rows = list(csv.DictReader(f))
    groups = {}
    for row in rows:
        key = tuple(row[k] for k in weft_csv.REQUIRED if k not in ("rep", "value"))
        groups.setdefault(key, (row, []))[1].append(float(row["value"]))
    new = not os.path.exists(out_csv)
    with open(out_csv, "a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=weft_csv.REQUIRED)
        if new:
            w.writeheader()
        for row, values in groups.values():
            w.writerow({**{k: row[k] for k in weft_csv.REQUIRED}, "rep": rep,
                        "value": statistics.median(values)})


def main(argv=None):
    ap = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    ap.add_argument("--rules", default="results/thresholds.toml")
    ap.add_argument("--base-bin", required=True, help="the baseline's weft-bench")
    ap.add_argument("--cand-bin", required=True, help="the candidate's weft-bench")
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--pairs", type=int, help="override every rule's number of pairs")
    ap.add_argument("--rule", action="append", help="run only ab rules named like this glob")
    args = ap.parse_args(argv)
    for b in (args.base_bin, args.cand_bin):
        if not os.access(b, os.X_OK):
            weft_csv.die(PROG, f"{b}: no such executable (build it first)")
    try:
        rules = [r for r in select_rules(load_rules(args.rules), args.rule) if r["kind"] == "ab"]
    except GateError as e:
        weft_csv.die(PROG, str(e))
    if not rules:
        weft_csv.die(PROG, f"{args.rules} has no ab rule")
    if args.pairs is not None and args.pairs < 2:
        weft_csv.die(PROG, "--pairs must be at least 2")
    os.makedirs(args.out_dir, exist_ok=True)
    outs = {side: os.path.join(args.out_dir, f"{side}.csv") for side in ("base", "cand")}
    for path in outs.values():
        if os.path.exists(path):
            os.remove(path)
    bins = {"base": args.base_bin, "cand": args.cand_bin}
    # Rules with the same args (other metrics of the same runs) share their runs.
    runs = {}
    for rule in rules:
        pairs, reps = runs.get(rule["args"], (0, 0))
        runs[rule["args"]] = (max(pairs, args.pairs or rule["pairs"]), max(reps, rule["reps"]))
    for bench_args, (pairs, reps) in runs.items():
        print(f"{PROG}: {pairs} pairs of weft-bench {bench_args} --reps={reps}", flush=True)
        for i in range(pairs):
            order = ("base", "cand") if i % 2 == 0 else ("cand", "base")
            for side in order:
                run_once(bins[side], bench_args, reps, i + 1, outs[side])
    print(f"{PROG}: wrote {outs['base']} and {outs['cand']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
