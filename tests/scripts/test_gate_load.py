"""The gate judges a rule that needs cores only on reps that had them (scripts/gate_load.py).

Unit tests on synthetic CSVs: which reps qualify, the INCONCLUSIVE verdict and exit 3, and
that a failure wins over it; then the proof on a real run: weft-bench's scaling rules measured
while busy loops hold the cores they need come out inconclusive, not failed.

    /usr/bin/python3 -m pytest -q tests/scripts/test_gate_load.py
    WEFT_BENCH_BUILD=build/<dir> ...   (the real-run test's weft-bench; default build/release)
"""
import csv
import os
import re
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPTS = os.path.join(ROOT, "scripts")
RULES = os.path.join(ROOT, "results", "thresholds.toml")
sys.path.insert(0, SCRIPTS)
import check_regression  # noqa: E402
from gate_rules import GateError, load_rules  # noqa: E402

HEADER = ("run_id,timestamp,git_sha,host,cpu_model,cpus,compiler,build,variant,"
          "workload,shape,threads,params,rep,metric,value,unit").split(",")
SPEEDUP = ('{{ kind = "ratio", name = "tree-speedup", where = {{ workload = "spawn_storm", '
           'shape = "tree", metric = "tasks_per_s" }}, num = {{ threads = 2 }}, '
           'den = {{ threads = 1 }}, each = "variant", floor = 1.2{extra} }}')
VS_MUTEX = ('{ kind = "ratio", name = "tree-vs-mutex-t1", where = { workload = "spawn_storm", '
            'shape = "tree", metric = "tasks_per_s", threads = 1 }, num = { variant = "ring" }, '
            'den = { variant = "mutex" }, floor = 2.0 }')


def rules(tmp_path, *lines):
    path = tmp_path / "t.toml"
    path.write_text("rules = [\n" + "".join(f"  {line},\n" for line in lines) + "]\n")
    return str(path)


def speedup_rule(extra=", needs_cores = 2"):
    return SPEEDUP.format(extra=extra)


def run_csv(tmp_path, speedups, loads, cpus=2, share=1.5):
    """One tree run of mutex and ring: rep i has a 2-worker speedup of speedups[i] and, when
    loads[i] is not None, cpu_share `share` and other_load loads[i] rows."""
    rows = []
    for rep, (speedup, load) in enumerate(zip(speedups, loads), start=1):
        for variant in ("mutex", "ring"):
            for threads, value in ((1, 1e6), (2, 1e6 * speedup)):
                key = {"variant": variant, "threads": threads, "rep": rep}
                rows.append({**key, "metric": "tasks_per_s", "value": value})
                if load is not None:
                    rows.append({**key, "metric": "cpu_share", "value": share})
                    rows.append({**key, "metric": "other_load", "value": load})
    path = tmp_path / "run.csv"
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=HEADER)
        w.writeheader()
        for r in rows:
            w.writerow({"run_id": "r", "timestamp": "t", "git_sha": "abc", "host": "h",
                        "cpu_model": "cpu", "cpus": cpus, "compiler": "g++", "build": "Release",
                        "workload": "spawn_storm", "shape": "tree", "params": "io=epoll",
                        "unit": "x", **r})
    return str(path)


def gate(rules_path, csv_path, *more):
    return subprocess.run([sys.executable, os.path.join(SCRIPTS, "check_regression.py"),
                           "--rules", rules_path, "--kinds", "ratio", "--csv", csv_path, *more],
                          capture_output=True, text=True, cwd=ROOT)


def verdicts(rules_path, csv_path):
    return {v["rule"]: v for v in check_regression.evaluate(rules_path, [csv_path],
                                                             kinds=["ratio"])}


def test_needs_cores_and_min_reps_are_validated(tmp_path):
    (rule,) = load_rules(rules(tmp_path, speedup_rule()))
    assert rule["needs_cores"] == 2 and rule["min_reps"] == 3
    for bad in (", needs_cores = 0", ", needs_cores = \"2\"", ", min_reps = true"):
        with pytest.raises(GateError, match="must be an integer >= 1"):
            load_rules(rules(tmp_path, speedup_rule(bad)))


def test_the_real_rules_state_the_cores_of_the_two_worker_rules():
    needs = {r["name"]: r.get("needs_cores") for r in load_rules(RULES)}
    assert needs["tree-speedup"] == needs["tree-vs-mutex-t2"] == needs["flat-vs-mutex-t2"] == 2
    assert needs["tree-vs-mutex-t1"] is None and needs["lifo-share"] is None


def test_rows_without_load_figures_qualify(tmp_path):
    v = verdicts(rules(tmp_path, speedup_rule()), run_csv(tmp_path, [1.5] * 3, [None] * 3))
    assert v["tree-speedup[ring]"]["verdict"] == "PASS"
    assert "3 of 3 reps had 2 of 2 cores" in v["tree-speedup[ring]"]["detail"]


def test_a_busy_machine_is_inconclusive_with_exit_3_naming_rule_and_load(tmp_path):
    # A neighbour held a core in every rep, and the speedup collapsed: no evidence either way.
    p = gate(rules(tmp_path, speedup_rule()), run_csv(tmp_path, [0.9] * 4, [1.0, 1.1, 0.9, 1.2]))
    assert p.returncode == 3, p.stdout + p.stderr
    lines = [l for l in p.stdout.splitlines() if l.startswith("INCONCLUSIVE")]
    assert len(lines) == 2 and "tree-speedup[mutex]" in lines[0]
    assert "0 of 4 reps had 2 of 2 cores (other_load 0.90-1.20 cores, allowed <= 0.5" in lines[0]
    assert "0 fail, 2 inconclusive" in p.stdout and "FAILED" not in p.stdout


def test_only_the_reps_that_had_the_cores_are_judged(tmp_path):
    # Reps 1-3 ran beside a busy neighbour (a speedup of 0.5); the three quiet ones pass.
    csv_path = run_csv(tmp_path, [0.5, 0.5, 0.5, 1.5, 1.6, 1.4], [1.0, 1.0, 1.0, 0.1, 0.0, 0.3])
    v = verdicts(rules(tmp_path, speedup_rule()), csv_path)
    assert v["tree-speedup[ring]"]["verdict"] == "PASS" and v["tree-speedup[ring]"]["value"] == 1.5
    assert "3 of 6 reps had 2 of 2 cores" in v["tree-speedup[ring]"]["detail"]
    # Without needs_cores the same rows fail: the busy reps drag the median down.
    v = verdicts(rules(tmp_path, speedup_rule("")), csv_path)
    assert v["tree-speedup[ring]"]["verdict"] == "FAIL"


def test_too_few_qualifying_reps_is_inconclusive(tmp_path):
    csv_path = run_csv(tmp_path, [1.5] * 4, [0.1, 0.2, 1.0, 1.0])
    v = verdicts(rules(tmp_path, speedup_rule()), csv_path)
    assert v["tree-speedup[ring]"]["verdict"] == "INCONCLUSIVE"
    assert "needs 3 such reps" in v["tree-speedup[ring]"]["detail"]
    v = verdicts(rules(tmp_path, speedup_rule(", needs_cores = 2, min_reps = 2")), csv_path)
    assert v["tree-speedup[ring]"]["verdict"] == "PASS"


def test_figures_that_claim_more_than_the_machine_do_not_qualify(tmp_path):
    # 2.4 cores of our own and 0.3 of others' on 2 cores: a broken sample, not evidence.
    csv_path = run_csv(tmp_path, [1.5] * 3, [0.3] * 3, share=2.4)
    v = verdicts(rules(tmp_path, speedup_rule()), csv_path)
    assert v["tree-speedup[ring]"]["verdict"] == "INCONCLUSIVE"
    # The same load on 4 cores leaves 2 free.
    v = verdicts(rules(tmp_path, speedup_rule()), run_csv(tmp_path, [1.5] * 3, [1.4] * 3, cpus=4))
    assert v["tree-speedup[ring]"]["verdict"] == "PASS"


def test_a_failure_wins_over_inconclusive(tmp_path):
    csv_path = run_csv(tmp_path, [1.5] * 3, [1.0] * 3)  # ring/mutex on one worker: 1.0 < 2.0
    p = gate(rules(tmp_path, speedup_rule(), VS_MUTEX), csv_path)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "FAILED: tree-vs-mutex-t1" in p.stdout and "INCONCLUSIVE" in p.stdout


def test_help_documents_exit_3():
    p = subprocess.run([sys.executable, os.path.join(SCRIPTS, "check_regression.py"), "--help"],
                       capture_output=True, text=True)
    assert p.returncode == 0 and "3 inconclusive" in p.stdout


# --- the proof on a real run ---

BUILD = os.environ.get("WEFT_BENCH_BUILD", os.path.join(ROOT, "build", "release"))
BENCH = os.path.join(BUILD, "harness", "bench", "weft-bench")
SCALING_RULES = ("tree-speedup", "tree-vs-mutex-t2", "flat-vs-mutex-t2")
BUSY_LOOP = "while True: pass"


def test_scaling_rules_are_inconclusive_while_a_neighbour_holds_a_core(tmp_path):
    if not os.access(BENCH, os.X_OK):
        pytest.skip(f"{BENCH} is not built: `make test-scripts` builds it first")
    # Hold all but one core: the 2-worker rules then lack one of the two they need.
    hogs = [subprocess.Popen([sys.executable, "-c", BUSY_LOOP])
            for _ in range(max(1, (os.cpu_count() or 2) - 1))]
    try:
        time.sleep(0.3)  # the loops are running before the first rep's window opens
        out = tmp_path / "run.csv"
        run = subprocess.run([BENCH, "--workload=spawn_storm", "--shape=tree,flat",
                              "--variant=all", "--threads=1,2", "--reps=3",
                              "--param", "leaves=10000", "--param", "tasks=20000",
                              f"--out={out}"], capture_output=True, text=True, timeout=50)
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    assert run.returncode == 0, run.stderr
    assert "other_load" in out.read_text(), f"{BENCH} writes no load rows: rebuild it"
    p = gate(RULES, str(out), *[a for r in SCALING_RULES for a in ("--rule", r)])
    assert p.returncode == 3, p.stdout + p.stderr
    verdict_lines = [l for l in p.stdout.splitlines() if "ratio" in l.split()[1:2]]
    assert len(verdict_lines) == 13 and all(l.startswith("INCONCLUSIVE") for l in verdict_lines)
    # The busy loop is the OS's to schedule: a rep may still have had both cores, never 3 of 3.
    assert re.search(r"[012] of 3 reps had 2 of", verdict_lines[0]), verdict_lines[0]
