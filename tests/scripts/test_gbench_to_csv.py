"""gbench_to_csv.py: Google Benchmark JSON -> the tidy CSV schema; bad input exits 2."""
import csv
import json
import os
import subprocess
import sys

import pytest

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "gbench_to_csv.py")
HEADER = ("run_id,timestamp,git_sha,host,cpu_model,cpus,compiler,build,variant,workload,shape,"
          "threads,params,rep,metric,value,unit")


def run(*args):
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True)


def doc():
    ctx = {"date": "2026-11-24T01:00:00+00:00", "host_name": "box", "num_cpus": 16,
           "git_sha": "abc123", "cpu_model": "Some CPU, 3 GHz", "compiler": "g++ 12.2.0",
           "build": "Release"}
    bench = [
        {"name": "owner_push_pop/mutex", "run_type": "iteration", "repetition_index": 0,
         "threads": 1, "iterations": 10, "real_time": 12.5, "cpu_time": 12.4,
         "time_unit": "ns", "items_per_second": 8e7},
        {"name": "owner_with_thieves/ring/k:3/real_time", "run_type": "iteration",
         "repetition_index": 1, "threads": 1, "iterations": 10, "real_time": 2.0,
         "cpu_time": 1.0, "time_unit": "us", "items_per_second": 3e7,
         "steal_success_rate": 0.5, "tasks_per_steal": 6.0},
        {"name": "owner_push_pop/mutex_mean", "run_type": "aggregate", "aggregate_name": "mean",
         "iterations": 10, "real_time": 12.5, "cpu_time": 12.4, "time_unit": "ns"},
        {"name": "injector_mpmc/chase_lev/real_time/threads:2", "run_type": "iteration",
         "repetition_index": 0, "threads": 2, "iterations": 10, "real_time": 30,
         "cpu_time": 55, "time_unit": "ns", "items_per_second": 3.3e7},
    ]
    return {"context": ctx, "benchmarks": bench}


def test_iterations_become_tidy_rows_and_aggregates_are_skipped(tmp_path):
    src = tmp_path / "m.json"
    src.write_text(json.dumps(doc()))
    out = tmp_path / "m.csv"
    r = run(str(src), "--out", str(out))
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    assert text.splitlines()[0] == HEADER
    rows = list(csv.DictReader(text.splitlines()))
    assert all(row["workload"] == "micro" for row in rows)
    assert {row["variant"] for row in rows} == {"mutex", "ring", "chase_lev"}
    thieves = [row for row in rows if row["shape"] == "owner_with_thieves"]
    assert {row["threads"] for row in thieves} == {"4"}  # 1 owner + k=3 thieves
    assert {row["params"] for row in thieves} == {"k=3"}
    assert {row["rep"] for row in thieves} == {"2"}
    by_metric = {row["metric"]: row for row in thieves}
    assert float(by_metric["ns_per_iteration"]["value"]) == pytest.approx(2000.0)
    assert by_metric["steal_success_rate"]["unit"] == "ratio"
    assert float(by_metric["ops_per_s"]["value"]) == pytest.approx(3e7)
    inj = [row for row in rows if row["shape"] == "injector_mpmc"]
    assert {row["threads"] for row in inj} == {"2"}
    assert not any("mean" in row["variant"] for row in rows)
    assert rows[0]["cpu_model"] == "Some CPU, 3 GHz"  # quoted, round-trips


def test_missing_file_exits_2_naming_it(tmp_path):
    r = run(str(tmp_path / "nope.json"), "--out", str(tmp_path / "o.csv"))
    assert r.returncode == 2
    assert "nope.json" in r.stderr


def test_not_benchmark_json_exits_2(tmp_path):
    src = tmp_path / "x.json"
    src.write_text(json.dumps({"hello": 1}))
    r = run(str(src), "--out", str(tmp_path / "o.csv"))
    assert r.returncode == 2
    assert "x.json" in r.stderr
