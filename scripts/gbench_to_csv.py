#!/usr/bin/env python3
"""Turn Google Benchmark JSON (weft-micro --benchmark_out_format=json) into Weft's tidy CSV.

    gbench_to_csv.py IN.json [IN.json ...] --out OUT.csv

Benchmark names are `<shape>/<variant>[/<arg>:<value>...][/real_time][/threads:N]`; each
iteration row becomes rows with workload `micro`, that shape and variant, `threads` (the
benchmark's threads, plus the helper threads named by `k`), `params` from the named args, `rep`
from repetition_index, and the metrics ns_per_iteration (real time), ops_per_s
(items_per_second) and every user counter. Aggregate rows (mean, median, stddev) are skipped:
the tidy CSV keeps the repetitions. Exit 2 on bad input.
"""
import argparse
import csv
import json
import os
import sys

HEADER = ["run_id", "timestamp", "git_sha", "host", "cpu_model", "cpus", "compiler", "build",
          "variant", "workload", "shape", "threads", "params", "rep", "metric", "value", "unit"]
TIME_TO_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
SKIP_FIELDS = {"name", "family_index", "per_family_instance_index", "run_name", "run_type",
               "repetitions", "repetition_index", "threads", "iterations", "real_time",
               "cpu_time", "time_unit", "items_per_second", "aggregate_name", "aggregate_unit",
               "label", "error_occurred", "error_message", "big_o", "rms"}
RATIO_COUNTERS = {"steal_success_rate", "owner_share", "stalled_pop_rate"}


def fail(msg):
    print(f"gbench_to_csv: {msg}", file=sys.stderr)
    sys.exit(2)


def parse_name(name):
    """('owner_with_thieves', 'mutex', {'k': '2'}) from 'owner_with_thieves/mutex/k:2/real_time'."""
    parts = name.split("/")
    if len(parts) < 2:
        fail(f"benchmark name {name!r} is not <shape>/<variant>/...")
    args = {}
    for p in parts[2:]:
        if ":" in p:
            k, v = p.split(":", 1)
            if k != "threads":
                args[k] = v
    return parts[0], parts[1], args


def rows_of(doc, path):
    ctx = doc.get("context")
    benches = doc.get("benchmarks")
    if not isinstance(ctx, dict) or not isinstance(benches, list):
        fail(f"{path}: not Google Benchmark JSON (no context/benchmarks)")
    common = {
        "run_id": f"micro-{ctx.get('date', 'unknown')}",
        "timestamp": ctx.get("date", ""),
        "git_sha": ctx.get("git_sha", "unknown"),
        "host": ctx.get("host_name", "unknown"),
        "cpu_model": ctx.get("cpu_model", "unknown"),
        "cpus": ctx.get("num_cpus", 0),
        "compiler": ctx.get("compiler", "unknown"),
        "build": ctx.get("build", "unknown"),
        "workload": "micro",
    }
    for b in benches:
        if b.get("run_type", "iteration") != "iteration" or b.get("error_occurred"):
            continue
        for field in ("name", "real_time", "time_unit", "iterations"):
            if field not in b:
                fail(f"{path}: benchmark entry without {field!r}")
        shape, variant, args = parse_name(b["name"])
        threads = int(b.get("threads", 1)) + int(args.get("k", 0))
        params = ";".join(f"{k}={v}" for k, v in sorted(args.items()))
        key = dict(common, variant=variant, shape=shape, threads=threads, params=params,
                   rep=int(b.get("repetition_index", 0)) + 1)
        scale = TIME_TO_NS.get(b["time_unit"])
        if scale is None:
            fail(f"{path}: unknown time_unit {b['time_unit']!r}")
        yield dict(key, metric="ns_per_iteration", value=b["real_time"] * scale, unit="ns")
        if "items_per_second" in b:
            yield dict(key, metric="ops_per_s", value=b["items_per_second"], unit="ops/s")
        for name, value in b.items():
            if name in SKIP_FIELDS or not isinstance(value, (int, float)):
                continue
            unit = "ratio" if name in RATIO_COUNTERS else "count"
            yield dict(key, metric=name, value=value, unit=unit)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("json", nargs="+")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    rows = []
    for path in args.json:
        if not os.path.isfile(path):
            fail(f"no such file: {path}")
        try:
            with open(path) as f:
                doc = json.load(f)
        except json.JSONDecodeError as e:
            fail(f"{path}: not JSON: {e}")
        rows.extend(rows_of(doc, path))
    if not rows:
        fail("no benchmark iterations in the input")
    with open(args.out, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=HEADER)
        w.writeheader()
        w.writerows(rows)
    print(args.out)


if __name__ == "__main__":
    main()
