"""Sweeps on Slurm (issue 16): scripts/slurm_sweep.py and scripts/merge_runs.py.

The end-to-end test starts a private single-node Slurm (tests/scripts/slurm_local.py: munge key,
slurm.conf, state and logs under the test's temporary directory, free ports, daemons stopped
by pid), submits a tiny sweep as a job array with its dependent merge job, waits for both,
and checks that every cell arrived, that the merged CSV plots, and the report. It skips only
where Slurm cannot start (not root, packages absent: scripts/install-deps.sh installs them);
a daemon that does not come up fails the test with its log.

WEFT_BENCH_BUILD=build/<dir> picks another build's weft-bench (default build/release).
The merge's refusals are tested on synthetic CSVs, without Slurm.
"""
import csv
import json
import os
import re
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import slurm_local  # noqa: E402

TIMEOUT_S = 240
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PY = sys.executable
SWEEP = os.path.join(ROOT, "scripts", "slurm_sweep.py")
MERGE = os.path.join(ROOT, "scripts", "merge_runs.py")
PLOT = os.path.join(ROOT, "scripts", "plot.py")
SUMMARY = os.path.join(ROOT, "scripts", "summary.py")
BUILD = os.environ.get("WEFT_BENCH_BUILD", os.path.join(ROOT, "build", "release"))
BENCH = os.path.join(os.path.join(ROOT, BUILD), "harness", "bench", "weft-bench")
TINY = ["--workload=spawn_storm", "--shape=flat,tree", "--variant=mutex,chase_lev",
        "--threads=1,2", "--reps=1", "--param", "tasks=20000", "--param", "leaves=10000"]
HEADER = ["run_id", "timestamp", "git_sha", "host", "cpu_model", "cpus", "compiler", "build",
          "variant", "workload", "shape", "threads", "params", "rep", "metric", "value", "unit"]


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=ROOT, **kw)


def test_dry_run_prints_the_plan_and_writes_nothing(tmp_path):
    p = run([PY, SWEEP, *TINY, f"--bench={BENCH}", f"--results={tmp_path}",
             "--sweep-id=plan", "--partition=cpu", "--account=lab", "--time=00:10:00",
             "--cells-per-task=3", "--dry-run"])
    assert p.returncode == 0, p.stderr
    assert "8 cells in 3 array tasks" in p.stdout
    array = next(line for line in p.stdout.splitlines() if line.startswith("array: "))
    for opt in ("--array=0-2", "--exclusive", "--partition=cpu", "--account=lab",
                "--time=00:10:00"):
        assert opt in array
    assert "--dependency=afterany:" in p.stdout
    assert "--shape=tree --variant=chase_lev --threads=2" in p.stdout
    assert not os.path.exists(tmp_path / "plan")


# -- the merge, on synthetic sweeps ---------------------------------------------------------

def fake_sweep(root, cells, arrived, failed=(), header=HEADER, sha="abc123"):
    """A sweep directory as slurm_sweep.py and its tasks leave it."""
    d = root / "sweep"
    d.mkdir()
    (d / "logs").mkdir()
    manifest = {"sweep_id": "sweep", "dir": str(d), "tasks": cells, "cells_per_task": 1,
                "sbatch": ["sbatch", "--exclusive", "--job-name=weft-sweep", str(d / "task.sh")],
                "cells": [{"id": i, "task": i, "workload": "spawn_storm", "shape": "flat",
                           "variant": "mutex", "threads": str(i + 1), "csv": f"cell-{i:04d}.csv",
                           "argv": ["weft-bench"]} for i in range(cells)]}
    (d / "manifest.json").write_text(json.dumps(manifest))
    for i in arrived:
        with open(d / f"cell-{i:04d}.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(header)
            row = {"run_id": f"r{i}", "timestamp": "2026-12-04T10:00:00Z", "git_sha": sha,
                   "host": "n1", "cpu_model": "X", "cpus": "2", "compiler": "g++ 12.2.0",
                   "build": "Release", "variant": "mutex", "workload": "spawn_storm",
                   "shape": "flat", "threads": str(i + 1), "params": "tasks=1", "rep": "1",
                   "metric": "tasks_per_s", "value": "1000", "unit": "tasks/s"}
            w.writerow([row.get(c, "x") for c in header])
        (d / f"cell-{i:04d}.status").write_text('{"rc": 0, "host": "n1"}')
    for i in failed:
        (d / f"cell-{i:04d}.status").write_text('{"rc": 1, "host": "n1"}')
    return d


def test_merge_reports_a_missing_and_a_failed_cell_with_the_rerun_line(tmp_path):
    d = fake_sweep(tmp_path, 4, arrived=[0, 2], failed=[3])
    out = tmp_path / "merged.csv"
    p = run([PY, MERGE, "--out", str(out), str(d)])
    assert p.returncode == 1, p.stderr
    assert "cell 1 " in p.stderr and "never arrived" in p.stderr
    assert "cell 3 " in p.stderr and "failed (exit 1)" in p.stderr
    assert f"sbatch --array=1,3 --exclusive --job-name=weft-sweep {d / 'task.sh'}" in p.stderr
    assert "2 of 4 cells arrived" in p.stderr
    assert p.stdout.strip() == str(out)
    assert len(out.read_text().splitlines()) == 3  # the header and the two cells that arrived


def test_merge_refuses_another_schema(tmp_path):
    d = fake_sweep(tmp_path, 2, arrived=[0, 1])
    other = tmp_path / "other.csv"
    other.write_text(",".join(HEADER + ["extra"]) + "\n" + ",".join(["1"] * 18) + "\n")
    out = tmp_path / "merged.csv"
    p = run([PY, MERGE, "--out", str(out), str(d), str(other)])
    assert p.returncode == 2
    assert "another schema" in p.stderr
    assert not out.exists()
    old = tmp_path / "old.csv"
    old.write_text("run_id,variant,value\nr,mutex,1\n")
    p = run([PY, MERGE, "--out", str(out), str(d), str(old)])
    assert p.returncode == 2 and "missing column(s)" in p.stderr and not out.exists()


def test_merge_refuses_mixed_commits_unless_told(tmp_path):
    d = fake_sweep(tmp_path, 1, arrived=[0])
    other = tmp_path / "o"
    other.mkdir()
    d2 = fake_sweep(other, 1, arrived=[0], sha="def456")
    out = tmp_path / "merged.csv"
    p = run([PY, MERGE, "--out", str(out), str(d), str(d2)])
    assert p.returncode == 2 and "git_sha" in p.stderr and not out.exists()
    p = run([PY, MERGE, "--allow-mixed", "--out", str(out), str(d), str(d2)])
    assert p.returncode == 0, p.stderr


def test_merge_never_overwrites_a_merged_file(tmp_path):
    d = fake_sweep(tmp_path, 2, arrived=[0, 1])
    out = tmp_path / "merged.csv"
    out.write_text("an earlier merge\n")
    p = run([PY, MERGE, "--out", str(out), str(d)])
    assert p.returncode == 2 and "never overwritten" in p.stderr
    assert out.read_text() == "an earlier merge\n"
    runs = tmp_path / "runs"
    first = run([PY, MERGE, "--runs-dir", str(runs), str(d)])
    second = run([PY, MERGE, "--runs-dir", str(runs), str(d)])
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    a, b = first.stdout.strip(), second.stdout.strip()
    assert a != b and os.path.basename(b) == os.path.basename(a)[:-4] + "_2.csv"
    assert open(a).read() == open(b).read()


# -- end to end on a private Slurm ----------------------------------------------------------

def test_a_tiny_sweep_runs_as_a_slurm_array_and_merges(tmp_path):
    why = slurm_local.unavailable()
    if why and os.environ.get("WEFT_REQUIRE_SLURM") == "1":  # .ci/run: CI must run it
        pytest.fail(f"WEFT_REQUIRE_SLURM=1 but no private Slurm here: {why}")
    if why:
        pytest.skip(f"no private Slurm here: {why}")
    if not os.path.exists(BENCH):
        pytest.skip(f"{BENCH} is not built (make build)")
    results, report = tmp_path / "results", tmp_path / "report"
    with slurm_local.PrivateSlurm(tmp_path / "slurm") as cluster:
        p = run([PY, SWEEP, *TINY, f"--bench={BENCH}", f"--results={results}",
                 "--sweep-id=tiny", f"--report={report}", "--time=00:05:00"], env=cluster.env)
        assert p.returncode == 0, p.stdout + p.stderr
        array = re.search(r"submitted array job (\d+)", p.stdout).group(1)
        merge = re.search(r"submitted merge job (\d+)", p.stdout).group(1)
        states = cluster.wait_jobs([array, merge], timeout_s=150)
    sweep = results / "tiny"
    logs = "\n".join(f"--- {f}\n{f.read_text()[-2000:]}"
                     for f in sorted((sweep / "logs").iterdir()))
    assert all(s == "COMPLETED" for s in states.values()), f"{states}\n{logs}"
    manifest = json.loads((sweep / "manifest.json").read_text())
    assert len(manifest["cells"]) == 8
    for cell in manifest["cells"]:
        assert (sweep / cell["csv"]).is_file(), f"cell {cell['id']} never arrived\n{logs}"
        status = json.loads((sweep / (cell["csv"][:-4] + ".status")).read_text())
        assert status["rc"] == 0

    # The merge job merged into report/runs/, plotted and wrote the report.
    merged = sorted((report / "runs").glob("*_slurm-tiny_*.csv"))
    assert len(merged) == 1, logs
    with open(merged[0], newline="") as f:
        rows = list(csv.DictReader(f))
    cells = {(r["shape"], r["variant"], r["threads"]) for r in rows}
    assert cells == {(s, v, t) for s in ("flat", "tree") for v in ("mutex", "chase_lev")
                     for t in ("1", "2")}
    assert sorted((report / "plots").glob("spawn_storm_*.png")), logs
    assert "spawn_storm" in (report / "README.md").read_text()

    # Merging again by hand: every cell arrived (exit 0), into a new file; it plots.
    p = run([PY, MERGE, "--runs-dir", str(tmp_path / "again"), str(sweep)])
    assert p.returncode == 0, p.stderr
    assert "8 of 8 cells arrived" in p.stderr
    p = run([PY, PLOT, "--out", str(tmp_path / "plots"), p.stdout.strip()])
    assert p.returncode == 0, p.stderr
    assert len(p.stdout.split()) == 2
    p = run([PY, SUMMARY, "--metric", "ns_per_task", str(merged[0])])
    assert p.returncode == 0 and "chase_lev" in p.stdout, p.stderr


# -- several machines side by side ----------------------------------------------------------

def machine_csv(path, host, cpu, cpus, scale):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        for variant in ("mutex", "chase_lev"):
            for t in (1, 2, 4):
                for rep in (1, 2):
                    ns = scale * (100 if variant == "mutex" else 60) / t
                    for metric, value, unit in (("ns_per_task", ns, "ns"),
                                                ("tasks_per_s", 1e9 / ns, "tasks/s")):
                        w.writerow([f"{host}-r", "2026-12-04T10:00:00Z", "abc123", host, cpu,
                                    cpus, "g++ 12.2.0", "Release", variant, "spawn_storm",
                                    "flat", t, "tasks=1000", rep, metric, value, unit])


def test_a_merge_of_two_machines_keeps_them_apart(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    machine_csv(a, "x86box", "AMD EPYC", 16, 1.0)
    machine_csv(b, "armbox", "Neoverse-N1", 64, 2.0)
    out = tmp_path / "runs" / "merged.csv"
    p = run([PY, MERGE, "--out", str(out), str(a), str(b)])
    assert p.returncode == 0, p.stderr
    assert "x86box (AMD EPYC, 16 cores)" in p.stderr and "armbox (Neoverse-N1, 64" in p.stderr
    p = run([PY, SUMMARY, "--metric", "ns_per_task", str(out)])
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[2].split()[:3] == ["workload", "shape", "machine"]
    row = next(line for line in lines if "armbox" in line and "mutex" in line)
    assert row.split()[-3:] == ["200.0", "100.0", "50.0"]
    row = next(line for line in lines if "x86box" in line and "mutex" in line)
    assert row.split()[-3:] == ["100.0", "50.0", "25.0"]
    p = run([PY, PLOT, "--out", str(tmp_path / "plots"), str(out)])
    assert p.returncode == 0, p.stderr
    import matplotlib.image
    height, width = matplotlib.image.imread(p.stdout.split()[0]).shape[:2]
    assert height > width / 2  # two rows of panels, one per machine (one row: 16 x 5 in)
    p = run([PY, os.path.join(ROOT, "scripts", "report.py"), "--results", str(tmp_path)])
    assert p.returncode == 0, p.stderr
    text = (tmp_path / "README.md").read_text()
    assert "`armbox`, Neoverse-N1, 64 CPUs" in text and "`x86box`, AMD EPYC, 16 CPUs" in text
    assert "| machine |" in text.replace("| config |", "|")
