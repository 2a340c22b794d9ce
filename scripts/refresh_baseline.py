#!/usr/bin/env python3
"""Refreshes results/baseline/ from a fresh gate run and says what changed (`make baseline`).

    refresh_baseline.py --icount build/baseline/icount.csv --bench build/baseline/bench.csv \
        [--baseline-dir results/baseline] [--rules results/thresholds.toml]

Copies the fresh instruction counts to <baseline-dir>/instructions.csv and the fresh ratio run to
<baseline-dir>/bench_ci.csv, after printing, per instruction case, the old and new count and the
change, and per ratio rule the old and new value (both evaluated with the same rules). Exit 2 on
bad input.
"""
import argparse
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import weft_csv  # noqa: E402
from check_regression import (BASELINE_INSTRUCTIONS, ICOUNT_METRIC,  # noqa: E402
                              check_ratio, instruction_cases)
from gate_rules import GateError, load_rules  # noqa: E402

PROG = "refresh_baseline"
BASELINE_BENCH = "bench_ci.csv"


def instruction_counts(path):
    return instruction_cases(weft_csv.load([path]))


def ratio_values(rules, path):
    df = weft_csv.load([path])
    out = {}
    for rule in rules:
        if rule["kind"] == "ratio":
            out.update({v["rule"]: v["value"] for v in check_ratio(rule, df)})
    return out


def _change(old, new):
    if old is None:
        return "new"
    if new is None:
        return "gone"
    return f"{(new / old - 1) * 100:+.2f}%" if old else "-"


def print_diff(title, old, new, fmt):
    print(f"{title}:")
    width = max((len(k) for k in set(old) | set(new)), default=4)
    for key in sorted(set(old) | set(new)):
        o, n = old.get(key), new.get(key)
        shown = [fmt(x) if x is not None else "-" for x in (o, n)]
        print(f"  {key:<{width}}  {shown[0]:>12} -> {shown[1]:>12}  {_change(o, n)}")


def main(argv=None):
    ap = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    ap.add_argument("--icount", required=True, help="fresh scripts/icount.py CSV")
    ap.add_argument("--bench", required=True, help="fresh bench-ci weft-bench CSV")
    ap.add_argument("--baseline-dir", default="results/baseline")
    ap.add_argument("--rules", default="results/thresholds.toml")
    args = ap.parse_args(argv)
    old_instr = os.path.join(args.baseline_dir, BASELINE_INSTRUCTIONS)
    old_bench = os.path.join(args.baseline_dir, BASELINE_BENCH)
    try:
        rules = load_rules(args.rules)
        new_counts = instruction_counts(args.icount).to_dict()
        new_ratios = ratio_values(rules, args.bench)
        old_counts = instruction_counts(old_instr).to_dict() if os.path.exists(old_instr) else {}
        old_ratios = ratio_values(rules, old_bench) if os.path.exists(old_bench) else {}
    except (GateError, weft_csv.CsvError) as e:
        weft_csv.die(PROG, str(e))
    if not new_counts:
        weft_csv.die(PROG, f"{args.icount}: no {ICOUNT_METRIC} rows")
    print_diff("instructions per iteration (old -> new)", old_counts, new_counts,
               lambda x: f"{x:.1f}")
    print_diff("gated ratios (old -> new)", old_ratios, new_ratios, lambda x: f"{x:.3f}")
    os.makedirs(args.baseline_dir, exist_ok=True)
    shutil.copyfile(args.icount, old_instr)
    shutil.copyfile(args.bench, old_bench)
    print(f"{PROG}: wrote {old_instr} and {old_bench}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
