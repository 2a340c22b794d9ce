"""A small synthetic results/ tree for the tests of analysis.py, gate_view.py, report.py and
the notebook: runs in the tidy schema where chase_lev is exactly twice as good as mutex on
every main metric (twice the throughput, half the latency), so every expected number is known.
"""
import csv
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import weft_csv  # noqa: E402

HOST, CPU, COMPILER = "synthbox", "Synthetic CPU 9000", "g++ 99.1"
VARIANTS = {"mutex": 1.0, "chase_lev": 2.0}  # how good: throughput x, latency / this
REPS = (1, 2, 3)  # rep r scales by 1 + (r - 2) / 100: the median is rep 2, the base value
CT = ";flavor=current_thread"
# (workload, shape, threads, [params], {metric: (base value, unit, is a throughput)})
LATENCY = {"latency_p50_us": (100.0, "us", False), "latency_p99_us": (400.0, "us", False),
           "latency_p999_us": (900.0, "us", False)}
SHAPES = [
    ("spawn_storm", "flat", (1, 2), ["tasks=1000"],
     {"tasks_per_s": (1e6, "tasks/s", True), "ns_per_task": (1000.0, "ns", False)}),
    ("spawn_storm", "tree", (1, 2), ["leaves=1000"], {"tasks_per_s": (5e5, "tasks/s", True)}),
    ("echo", "closed", (1, 2), ["connections=10", "connections=100"],
     {"msgs_per_s": (5e4, "msgs/s", True), **LATENCY}),
    ("echo", "closed", (1,), ["connections=10" + CT, "connections=100" + CT],
     {"msgs_per_s": (6e4, "msgs/s", True), **LATENCY}),
    ("echo", "open", (2,), ["rate=1000", "rate=2000"],
     {"msgs_per_s": (1e3, "msgs/s", True), **LATENCY}),
    ("timer_churn", "cancel", (1, 2), ["pairs=100"], {"pairs_per_s": (1e7, "pairs/s", True)}),
    ("timer_churn", "million", (1, 2), ["timers=100"],
     {"insert_ns_per_timer": (50.0, "ns", False), "cleanup_ns_per_timer": (20.0, "ns", False),
      "fire_lag_us": (300.0, "us", False)}),
    ("timer_churn", "accuracy", (1, 2), ["sleepers=10"],
     {"lateness_p50_us": (30.0, "us", False), "lateness_p99_us": (150.0, "us", False),
      "lateness_max_us": (800.0, "us", False)}),
]


def value(base, higher, variant, threads, rep, scale=1.0):
    good = VARIANTS[variant] * scale
    v = base * threads * good if higher else base / good / threads
    return v * (1 + (rep - 2) / 100)


def rows(workloads, stamp, sha, scale=1.0):
    out = []
    for workload, shape, threads, params, metrics in SHAPES:
        if workload not in workloads:
            continue
        for variant in VARIANTS:
            for p in params:
                for t in threads:
                    for rep in REPS:
                        for m, (base, unit, higher) in metrics.items():
                            out.append([f"{stamp}-1", stamp, sha, HOST, CPU, 2, COMPILER,
                                        "Release", variant, workload, shape, t, p, rep, m,
                                        value(base, higher, variant, t, rep, scale), unit])
    return out


def micro_rows(shapes, stamp, sha, scale=1.0):
    return [[f"micro-{stamp}", stamp, sha, HOST, CPU, 2, COMPILER, "Release", variant, "micro",
             shape, 1, "", rep, "ns_per_iteration",
             value(10.0, False, variant, 1, rep, scale), "ns"]
            for shape in shapes for variant in VARIANTS for rep in REPS]


def write_csv(path, body, header=weft_csv.REQUIRED):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(body)
    return str(path)


COMPLETE_SHA = "c0ffee000001"
MICRO_SHA = "feed00000002"
THRESHOLDS = """\
[[rules]]
kind = "ratio"
name = "flat-speedup"
where = { workload = "spawn_storm", shape = "flat", metric = "tasks_per_s" }
num = { threads = 2 }
den = { threads = 1 }
each = "variant"
floor = 1.0
"""


def make_tree(root):
    """A results tree under `root`: one complete full run (older than the others, and named
    so that it sorts last), a newer spawn_storm-only run, a newer echo-only run, two micro
    runs (the newer one re-measures one benchmark), a tidy baseline, instructions.csv and
    thresholds.toml. Returns {name: path}."""
    runs = os.path.join(root, "runs")
    all_three = {"spawn_storm", "echo", "timer_churn"}
    paths = {
        "complete": write_csv(os.path.join(runs, "zz_complete.csv"),
                              rows(all_three, "2024-01-01T10:00:00Z", COMPLETE_SHA)),
        "spawn_only": write_csv(os.path.join(runs, "aa_spawn_only.csv"),
                                rows({"spawn_storm"}, "2024-01-02T10:00:00Z", "0000000000bb")),
        "echo_only": write_csv(os.path.join(runs, "bb_echo_only.csv"),
                               rows({"echo"}, "2024-01-03T10:00:00Z", "0000000000cc")),
        "micro_old": write_csv(os.path.join(runs, "micro_old.csv"),
                               micro_rows(["push_pop", "steal"], "2024-01-01T09:00:00+00:00",
                                          "0000000000dd")),
        "micro_new": write_csv(os.path.join(runs, "micro_new.csv"),
                               micro_rows(["steal"], "2024-01-04T09:00:00+00:00", MICRO_SHA,
                                          scale=4.0)),
        "baseline": write_csv(os.path.join(root, "baseline", "spawn_storm.csv"),
                              rows({"spawn_storm"}, "2023-12-01T10:00:00Z", "0000000000ee",
                                   scale=0.5)),
        "instructions": write_csv(os.path.join(root, "baseline", "instructions.csv"),
                                  [["i-1", "2023-12-01T10:00:00Z", "0000000000ee", HOST, CPU, 2,
                                    COMPILER, "Release", v, "icount", "spawn_run", 1, "", 1,
                                    "instructions_per_iter", 1234.0, "instructions"]
                                   for v in VARIANTS]),
    }
    paths["thresholds"] = os.path.join(root, "thresholds.toml")
    with open(paths["thresholds"], "w") as f:
        f.write(THRESHOLDS)
    os.makedirs(os.path.join(root, "plots"), exist_ok=True)
    return paths
