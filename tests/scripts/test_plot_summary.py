"""Tests for scripts/plot.py and scripts/summary.py on small synthetic CSVs.

    /usr/bin/python3 -m pytest -q tests/scripts
"""
import csv
import os
import statistics
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLOT = os.path.join(ROOT, "scripts", "plot.py")
SUMMARY = os.path.join(ROOT, "scripts", "summary.py")
HEADER = ("run_id,timestamp,git_sha,host,cpu_model,cpus,compiler,build,variant,"
          "workload,shape,threads,params,rep,metric,value,unit").split(",")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
VARIANTS = ["mutex", "chase_lev"]
SHAPES = ["flat", "tree"]


def ns_value(variant, shape, threads, rep):
    """Deterministic, distinct ns_per_task per cell; rep 3 is an outlier."""
    base = {"mutex": 900.0, "chase_lev": 400.0}[variant] + (50 if shape == "tree" else 0)
    return base / threads + rep * 7.5 + (300.0 if rep == 3 else 0.0)


def row(variant, shape, threads, rep, metric, value, unit):
    return ["r1", "2024-01-01T00:00:00Z", "0123456789abcdef", "box",
            "AMD EPYC 7763, 64-Core", 4, "g++ 12.2.0", "release", variant,
            "spawn_storm", shape, threads, "tasks=1000;depth=3", rep, metric,
            value, unit]


def write_csv(path, rows, header=HEADER):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return str(path)


@pytest.fixture
def grid_csv(tmp_path):
    rows = []
    for v in VARIANTS:
        for s in SHAPES:
            for t in (1, 2):
                for rep in (1, 2, 3):
                    ns = ns_value(v, s, t, rep)
                    rows.append(row(v, s, t, rep, "ns_per_task", ns, "ns"))
                    rows.append(row(v, s, t, rep, "tasks_per_s", 1e9 / ns, "tasks/s"))
                    rows.append(row(v, s, t, rep, "polls", 1000 * t, "count"))
    return write_csv(tmp_path / "grid.csv", rows)


@pytest.fixture
def single_csv(tmp_path):
    """Edge case: one variant, one thread count, one rep."""
    rows = [row("vyukov", "remote", 1, 1, "tasks_per_s", 2.5e6, "tasks/s"),
            row("vyukov", "remote", 1, 1, "ns_per_task", 400.0, "ns")]
    return write_csv(tmp_path / "single.csv", rows)


def run(script, *args, cwd=None):
    return subprocess.run([sys.executable, script, *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=50)


def assert_png(path):
    assert os.path.isfile(path), path
    with open(path, "rb") as f:
        data = f.read()
    assert len(data) > 1000
    assert data[:8] == PNG_MAGIC


def test_plot_grid(grid_csv, tmp_path):
    out = tmp_path / "plots"
    r = run(PLOT, "--out", out, grid_csv)
    assert r.returncode == 0, r.stderr
    expected = sorted(str(out / f"spawn_storm_{s}.png") for s in SHAPES)
    assert sorted(r.stdout.split()) == expected
    for p in expected:
        assert_png(p)


def test_plot_default_out_dir(grid_csv, tmp_path):
    r = run(PLOT, grid_csv, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert_png(tmp_path / "results" / "plots" / "spawn_storm_flat.png")


def test_plot_single_thread_single_rep(single_csv, tmp_path):
    out = tmp_path / "p"
    r = run(PLOT, "--out", out, "--logx", single_csv)
    assert r.returncode == 0, r.stderr
    assert_png(out / "spawn_storm_remote.png")


def test_plot_skips_without_throughput(tmp_path, single_csv):
    lat = write_csv(tmp_path / "lat.csv",
                    [row("ring", "ping_pong", 1, 1, "latency_p99_us", 3.0, "us")])
    out = tmp_path / "p"
    r = run(PLOT, "--out", out, single_csv, lat)
    assert r.returncode == 0, r.stderr
    assert "ping_pong" in r.stderr
    assert not (out / "spawn_storm_ping_pong.png").exists()
    assert_png(out / "spawn_storm_remote.png")


def test_plot_explicit_metric(grid_csv, tmp_path):
    r = run(PLOT, "--out", tmp_path, "--metric", "polls", grid_csv)
    assert r.returncode == 0, r.stderr
    assert_png(tmp_path / "spawn_storm_flat.png")


def expected_median(v, s, t):
    return statistics.median(ns_value(v, s, t, rep) for rep in (1, 2, 3))


def test_summary_medians(grid_csv):
    r = run(SUMMARY, grid_csv)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    head = next(ln for ln in lines if ln.startswith("workload"))
    assert head.split() == ["workload", "shape", "variant", "t=1", "t=2"]
    for v in VARIANTS:
        for s in SHAPES:
            line = next(ln for ln in lines if ln.split()[:3] == ["spawn_storm", s, v])
            want = [f"{expected_median(v, s, t):.1f}" for t in (1, 2)]
            assert line.split()[3:] == want
    # fixed width: every table line has the same length up to the last column
    table = lines[lines.index(head):]
    assert len({len(ln) for ln in table}) == 1


def test_summary_thousands(grid_csv):
    r = run(SUMMARY, "--metric", "tasks_per_s", grid_csv)
    assert r.returncode == 0, r.stderr
    med = statistics.median(1e9 / ns_value("mutex", "flat", 1, rep) for rep in (1, 2, 3))
    assert f"{med:,.0f}" in r.stdout


def test_summary_markdown(grid_csv):
    r = run(SUMMARY, "--markdown", grid_csv)
    assert r.returncode == 0, r.stderr
    table = [ln for ln in r.stdout.splitlines() if ln.startswith("|")]
    assert len(table) == 2 + len(VARIANTS) * len(SHAPES)
    assert table[0].replace(" ", "") == "|workload|shape|variant|t=1|t=2|"
    assert set(table[1]) <= set("|-: ")
    assert f"| {expected_median('mutex', 'tree', 2):.1f} |" in r.stdout


def test_summary_single_and_missing_metric(single_csv, tmp_path):
    r = run(SUMMARY, single_csv)
    assert r.returncode == 0, r.stderr
    assert "400.0" in r.stdout
    r = run(SUMMARY, "--metric", "no_such_metric", single_csv)
    assert r.returncode == 2
    assert "no_such_metric" in r.stderr


@pytest.mark.parametrize("script", [PLOT, SUMMARY])
def test_missing_file(script, tmp_path):
    missing = tmp_path / "nope.csv"
    r = run(script, missing)
    assert r.returncode == 2
    assert "nope.csv" in r.stderr


@pytest.mark.parametrize("script", [PLOT, SUMMARY])
def test_missing_column(script, tmp_path):
    header = [h for h in HEADER if h != "threads"]
    bad = write_csv(tmp_path / "bad.csv", [["x"] * len(header)], header=header)
    r = run(script, bad)
    assert r.returncode == 2
    assert "threads" in r.stderr and "bad.csv" in r.stderr


@pytest.mark.parametrize("script", [PLOT, SUMMARY])
def test_no_csv_given(script):
    r = run(script)
    assert r.returncode == 2
    assert "CSV" in r.stderr


@pytest.mark.parametrize("script", [PLOT, SUMMARY])
def test_bad_int_cell(script, tmp_path):
    r0 = row("mutex", "flat", "two", 1, "tasks_per_s", 1.0, "tasks/s")
    bad = write_csv(tmp_path / "badint.csv", [r0])
    r = run(script, bad)
    assert r.returncode == 2
    assert "threads" in r.stderr and "two" in r.stderr
