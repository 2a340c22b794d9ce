"""Tests for scripts/check_regression.py and scripts/gate_rules.py on synthetic CSVs and rules.

    /usr/bin/python3 -m pytest -q tests/scripts
"""
import csv
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPTS = os.path.join(ROOT, "scripts")
CHECK = os.path.join(SCRIPTS, "check_regression.py")
sys.path.insert(0, SCRIPTS)
import check_regression  # noqa: E402
from gate_rules import GateError, load_rules  # noqa: E402

HEADER = ("run_id,timestamp,git_sha,host,cpu_model,cpus,compiler,build,variant,"
          "workload,shape,threads,params,rep,metric,value,unit").split(",")


def write_csv(path, rows):
    """rows: dicts with variant, workload, shape, threads, rep, metric, value (rest filled)."""
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=HEADER)
        w.writeheader()
        for r in rows:
            w.writerow({"run_id": "r", "timestamp": "t", "git_sha": "abc", "host": "h",
                        "cpu_model": "cpu", "cpus": 2, "compiler": "g++", "build": "Release",
                        "params": "", "unit": "x", **r})
    return str(path)


def icount_rows(counts):
    return [{"variant": v, "workload": "icount", "shape": s, "threads": 1, "rep": 1,
             "metric": "instructions_per_iter", "value": n} for (s, v), n in counts.items()]


def bench_rows(values):
    """values: {(variant, shape, threads): [rep values]} of tasks_per_s."""
    return [{"variant": v, "workload": "spawn_storm", "shape": s, "threads": t, "rep": i + 1,
             "metric": "tasks_per_s", "value": x}
            for (v, s, t), xs in values.items() for i, x in enumerate(xs)]


def write_rules(path, *lines):
    path.write_text("rules = [\n" + "".join(f"  {line},\n" for line in lines) + "]\n")
    return str(path)


INSTR_RULE = '{ kind = "instructions", name = "spawn", case = "spawn_run/*", max_increase_pct = 5 }'
SPEEDUP_RULE = ('{ kind = "ratio", name = "tree-speedup", where = { workload = "spawn_storm", '
                'shape = "tree", metric = "tasks_per_s" }, num = { threads = 2 }, '
                'den = { threads = 1 }, each = "variant", floor = 1.2 }')
VS_MUTEX_RULE = ('{ kind = "ratio", name = "flat-vs-mutex", where = { workload = "spawn_storm", '
                 'shape = "flat", metric = "tasks_per_s", threads = 1 }, num = {}, '
                 'den = { variant = "mutex" }, each = "variant", floor = 0.5 }')


@pytest.fixture
def gate(tmp_path):
    base_dir = tmp_path / "baseline"
    base_dir.mkdir()
    write_csv(base_dir / "instructions.csv",
              icount_rows({("spawn_run", "mutex"): 400.0, ("spawn_run", "ring"): 380.0,
                           ("queue_push_pop", "ring"): 40.0}))
    rules = write_rules(tmp_path / "t.toml", INSTR_RULE, SPEEDUP_RULE, VS_MUTEX_RULE)
    return tmp_path, str(base_dir), rules


def fresh(tmp_path, spawn_mutex=404.0, ring_tree2=(1.5e6, 1.6e6, 1.4e6)):
    rows = icount_rows({("spawn_run", "mutex"): spawn_mutex, ("spawn_run", "ring"): 380.0,
                        ("queue_push_pop", "ring"): 90.0})
    rows += bench_rows({("mutex", "tree", 1): [1e6, 1.1e6, 0.9e6],
                        ("mutex", "tree", 2): [1.5e6, 1.5e6, 1.5e6],
                        ("ring", "tree", 1): [1e6, 1e6, 1e6],
                        ("ring", "tree", 2): list(ring_tree2),
                        ("mutex", "flat", 1): [1e7, 1e7, 1e7],
                        ("ring", "flat", 1): [0.8e7, 0.9e7, 1e7]})
    return write_csv(tmp_path / "fresh.csv", rows)


def run(*args):
    return subprocess.run([sys.executable, CHECK, *args], capture_output=True, text=True)


def test_unchanged_results_pass_every_rule(gate):
    tmp, base_dir, rules = gate
    p = run("--rules", rules, "--csv", fresh(tmp), "--baseline-dir", base_dir,
            "--kinds", "instructions,ratio", "--json", str(tmp / "v.json"))
    assert p.returncode == 0, p.stdout + p.stderr
    lines = [l for l in p.stdout.splitlines() if l.startswith(("PASS", "FAIL"))]
    # 2 instruction cases (queue_push_pop is outside the glob), 2 speedups, 2 vs-mutex ratios.
    assert len(lines) == 6 and all(l.startswith("PASS") for l in lines)
    assert "6 checks: 6 pass, 0 fail" in p.stdout
    verdicts = json.loads((tmp / "v.json").read_text())
    speed = {v["rule"]: v for v in verdicts}["tree-speedup[ring]"]
    assert speed["value"] == pytest.approx(1.5) and speed["bound"] == ">= 1.2"


def test_instruction_increase_above_limit_fails_naming_rule_and_numbers(gate):
    tmp, base_dir, rules = gate
    p = run("--rules", rules, "--csv", fresh(tmp, spawn_mutex=424.0), "--baseline-dir", base_dir,
            "--kinds", "instructions")
    assert p.returncode == 1
    line = next(l for l in p.stdout.splitlines() if l.startswith("FAIL"))
    assert "spawn[spawn_run/mutex]" in line and "424.0 vs baseline 400.0" in line
    assert "+6.00%" in line and "FAILED: spawn[spawn_run/mutex]" in p.stdout


def test_ratio_below_floor_fails(gate):
    tmp, base_dir, rules = gate
    p = run("--rules", rules, "--csv", fresh(tmp, ring_tree2=(1.1e6, 1.0e6, 1.2e6)),
            "--kinds", "ratio")
    assert p.returncode == 1
    fails = [l for l in p.stdout.splitlines() if l.startswith("FAIL")]
    assert len(fails) == 1 and "tree-speedup[ring]" in fails[0] and "value=1.1" in fails[0]


def test_bad_input_exits_2_with_a_message_naming_it(gate, tmp_path):
    tmp, base_dir, rules = gate
    csv_path = fresh(tmp)
    p = run("--rules", str(tmp / "missing.toml"), "--csv", csv_path)
    assert p.returncode == 2 and "missing.toml: file not found" in p.stderr
    p = run("--rules", rules, "--csv", str(tmp / "nope.csv"))
    assert p.returncode == 2 and "nope.csv: file not found" in p.stderr
    p = run("--rules", rules, "--csv", csv_path, "--baseline-dir", str(tmp / "empty"),
            "--kinds", "instructions")
    assert p.returncode == 2 and "instructions.csv: file not found" in p.stderr
    bad_col = write_rules(tmp / "c.toml", SPEEDUP_RULE.replace("shape =", "shap ="))
    p = run("--rules", bad_col, "--csv", csv_path)
    assert p.returncode == 2 and "unknown column 'shap'" in p.stderr and "tree-speedup" in p.stderr
    (tmp / "m.toml").write_text("rules = [ { kind = \"ratio\", \n")
    p = run("--rules", str(tmp / "m.toml"), "--csv", csv_path)
    assert p.returncode == 2 and "not valid TOML" in p.stderr
    p = run("--rules", rules, "--csv", csv_path, "--kinds", "ratio,speed")
    assert p.returncode == 2 and "unknown kind(s) speed" in p.stderr


def test_a_rule_that_matches_nothing_is_bad_input_not_a_pass(gate):
    tmp, base_dir, rules = gate
    only = write_rules(tmp / "o.toml", SPEEDUP_RULE.replace('"tree"', '"pipeline"'))
    p = run("--rules", only, "--csv", fresh(tmp), "--kinds", "ratio")
    assert p.returncode == 2 and "no rows match" in p.stderr and "shape=pipeline" in p.stderr


def test_a_kind_asked_for_without_its_input_is_bad_input(gate):
    tmp, base_dir, rules = gate
    bench_only = write_csv(tmp / "b.csv", bench_rows({("mutex", "tree", 1): [1.0]}))
    p = run("--rules", rules, "--csv", bench_only, "--baseline-dir", base_dir,
            "--kinds", "instructions")
    assert p.returncode == 2 and "no instructions input" in p.stderr


@pytest.mark.parametrize("rule,message", [
    ('{ kind = "speed" }', "'kind' must be one of"),
    ('{ kind = "instructions", case = "x" }', "missing key(s) max_increase_pct"),
    ('{ kind = "instructions", case = "x", max_increase_pct = 5, cap = 1 }', "unknown key(s) cap"),
    ('{ kind = "ratio", where = {}, num = {}, den = {} }', "needs a 'floor' or a 'ceiling'"),
    ('{ kind = "ratio", where = {}, num = {}, den = {}, floor = "x" }', "must be numbers"),
    ('{ kind = "ratio", where = {}, num = {}, den = {}, floor = 1, each = "colour" }',
     "'each' must name columns"),
    ('{ kind = "ab", args = "--shape=flat", where = { shape = "flat" }, max_slowdown_pct = 10 }',
     "'where' must name the metric"),
    ('{ kind = "ab", args = "", where = { metric = "m" }, max_slowdown_pct = 10 }', "'args'"),
])
def test_malformed_rules_are_named(tmp_path, rule, message):
    path = write_rules(tmp_path / "r.toml", rule)
    with pytest.raises(GateError) as e:
        load_rules(path)
    assert message in str(e.value) and "rule 1" in str(e.value)


def test_duplicate_rule_names_are_refused(tmp_path):
    path = write_rules(tmp_path / "r.toml", INSTR_RULE, INSTR_RULE)
    with pytest.raises(GateError, match="unique: spawn"):
        load_rules(path)


def ab_rows(values, metric="ns_per_task"):
    return [{"variant": "mutex", "workload": "spawn_storm", "shape": "flat", "threads": 1,
             "rep": i + 1, "metric": metric, "value": x} for i, x in enumerate(values)]


AB_RULE = ('{ kind = "ab", name = "flat-ab", args = "--workload=spawn_storm --shape=flat", '
           'where = { workload = "spawn_storm", shape = "flat", metric = "ns_per_task" }, '
           'each = "variant", pairs = 9, p = 0.01, max_slowdown_pct = 10 }')


@pytest.mark.parametrize("cand,verdict", [
    ([100, 101, 99, 102, 98, 100, 101, 99, 100], "PASS"),    # the same
    ([120, 121, 119, 122, 118, 120, 121, 119, 120], "FAIL"),  # 20% slower, clearly
    ([104, 105, 103, 106, 102, 104, 105, 103, 104], "PASS"),  # significant but under 10%
    ([100, 140, 95, 101, 150, 99, 98, 102, 97], "PASS"),      # noisy: not significant
])
def test_ab_rule_needs_significance_and_size(tmp_path, cand, verdict):
    base = write_csv(tmp_path / "base.csv", ab_rows([100, 101, 99, 102, 98, 100, 101, 99, 100]))
    cand_csv = write_csv(tmp_path / "cand.csv", ab_rows(cand))
    rules = write_rules(tmp_path / "r.toml", AB_RULE)
    out = check_regression.evaluate(rules, [], kinds=["ab"], ab_base=base, ab_cand=cand_csv)
    assert [v["verdict"] for v in out] == [verdict], out


def test_ab_direction_follows_the_metric():
    assert check_regression.slowdown_pct(110, 100, "ns_per_task") == pytest.approx(10)
    assert check_regression.slowdown_pct(90, 100, "tasks_per_s") == pytest.approx(11.111, 1e-3)
    slower = [90.0] * 5 + [89.0] * 4
    assert check_regression.mann_whitney_worse(slower, [100.0] * 9, "tasks_per_s") < 0.01
    assert check_regression.mann_whitney_worse(slower, [100.0] * 9, "ns_per_task") > 0.5


def test_ab_with_too_few_pairs_is_bad_input(tmp_path):
    base = write_csv(tmp_path / "base.csv", ab_rows([100] * 9))
    cand_csv = write_csv(tmp_path / "cand.csv", ab_rows([100] * 5))
    rules = write_rules(tmp_path / "r.toml", AB_RULE)
    p = run("--rules", rules, "--kinds", "ab", "--ab-base", base, "--ab-cand", cand_csv)
    assert p.returncode == 2 and "5 candidate values, need 9" in p.stderr


def test_evaluate_skips_kinds_without_input_when_none_are_named(gate):
    tmp, base_dir, rules = gate
    bench_only = write_csv(tmp / "b.csv", bench_rows({("mutex", "tree", 1): [1.0],
                                                     ("mutex", "tree", 2): [2.0],
                                                     ("mutex", "flat", 1): [1.0]}))
    out = check_regression.evaluate(rules, [bench_only], base_dir)
    assert {v["verdict"] for v in out if v["kind"] == "instructions"} == {"SKIP"}
    assert {v["verdict"] for v in out if v["kind"] == "ratio"} == {"PASS"}


def test_ratios_pair_up_rep_by_rep_so_a_slow_spell_cancels(tmp_path):
    # Reps 2 and 3 ran while the machine was slow (both sides lost 60%); in rep 4 only ring did.
    rows = bench_rows({("mutex", "flat", 1): [10.0, 4.0, 4.0, 10.0, 10.0],
                       ("ring", "flat", 1): [12.0, 4.8, 4.8, 4.8, 12.0]})
    rules = write_rules(tmp_path / "r.toml", VS_MUTEX_RULE)
    out = check_regression.evaluate(rules, [write_csv(tmp_path / "f.csv", rows)], kinds=["ratio"])
    ring = {v["rule"]: v for v in out}["flat-vs-mutex[ring]"]
    assert ring["value"] == pytest.approx(1.2)
    assert "median of 5 per-rep ratios" in ring["detail"]
    # Without a common (run_id, rep) key the rule falls back to the ratio of the medians.
    for r in rows:
        r["run_id"] = r["variant"]
    out = check_regression.evaluate(rules, [write_csv(tmp_path / "g.csv", rows)], kinds=["ratio"])
    ring = {v["rule"]: v for v in out}["flat-vs-mutex[ring]"]
    assert ring["value"] == pytest.approx(0.48) and "ratio of medians" in ring["detail"]


FAKE_BENCH = """#!/bin/sh
# A stand-in weft-bench: logs which side ran, writes 3 reps of one measurement (value = rep*10).
echo "{side}" >> "{log}"
for a in "$@"; do case "$a" in --out=*) out="${{a#--out=}}";; esac; done
echo "{header}" > "$out"
for rep in 1 2 3; do
  echo "r,t,abc,h,cpu,2,g++,Release,mutex,spawn_storm,flat,1,,$rep,ns_per_task,$((rep * 10 + {bias})),ns" >> "$out"
done
"""


def test_bench_ab_alternates_abba_and_keeps_the_median_of_each_run(tmp_path):
    log = tmp_path / "order.log"
    bins = {}
    for side, bias in (("base", 0), ("cand", 5)):
        path = tmp_path / f"{side}-bench"
        path.write_text(FAKE_BENCH.format(side=side, log=log, header=",".join(HEADER), bias=bias))
        path.chmod(0o755)
        bins[side] = str(path)
    rules = write_rules(tmp_path / "r.toml", AB_RULE)
    p = subprocess.run([sys.executable, os.path.join(SCRIPTS, "bench_ab.py"), "--rules", rules,
                        "--base-bin", bins["base"], "--cand-bin", bins["cand"],
                        "--out-dir", str(tmp_path / "ab"), "--pairs", "4"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert log.read_text().split() == ["base", "cand", "cand", "base"] * 2
    with open(tmp_path / "ab" / "cand.csv") as f:
        rows = list(csv.DictReader(f))
    assert [(r["rep"], float(r["value"])) for r in rows] == [(str(i), 25.0) for i in range(1, 5)]


def test_refresh_baseline_says_what_changed_and_replaces_the_files(gate):
    tmp, base_dir, rules = gate
    write_csv(os.path.join(base_dir, "bench_ci.csv"),
              bench_rows({("mutex", "tree", 1): [1.0] * 3, ("mutex", "tree", 2): [1.5] * 3,
                          ("mutex", "flat", 1): [1.0] * 3}))
    new_icount = write_csv(tmp / "icount.csv", icount_rows({("spawn_run", "mutex"): 420.0,
                                                            ("spawn_run", "bwos"): 500.0}))
    new_bench = write_csv(tmp / "bench.csv",
                          bench_rows({("mutex", "tree", 1): [1.0] * 3,
                                      ("mutex", "tree", 2): [1.8] * 3,
                                      ("mutex", "flat", 1): [1.0] * 3}))
    p = subprocess.run([sys.executable, os.path.join(SCRIPTS, "refresh_baseline.py"),
                        "--icount", new_icount, "--bench", new_bench, "--baseline-dir", base_dir,
                        "--rules", rules], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    lines = {l.split()[0]: l for l in p.stdout.splitlines() if l.startswith("  ")}
    assert lines["spawn_run/mutex"].split()[1:] == ["400.0", "->", "420.0", "+5.00%"]
    assert lines["spawn_run/bwos"].endswith("new") and lines["queue_push_pop/ring"].endswith("gone")
    assert lines["tree-speedup[mutex]"].split()[1:] == ["1.500", "->", "1.800", "+20.00%"]
    with open(os.path.join(base_dir, "instructions.csv")) as f, open(new_icount) as g:
        assert f.read() == g.read()
    p = subprocess.run([sys.executable, os.path.join(SCRIPTS, "refresh_baseline.py"),
                        "--icount", str(tmp / "nope.csv"), "--bench", new_bench,
                        "--baseline-dir", base_dir, "--rules", rules],
                       capture_output=True, text=True)
    assert p.returncode == 2 and "nope.csv: file not found" in p.stderr
