"""scripts/io_aims.py: issue 12's I/O aims from one echo CSV (synthetic rows, real script)."""
import csv
import os
import subprocess
import sys

SCRIPTS = os.path.join(os.path.dirname(__file__), "..", "..", "scripts")
HEADER = ["run_id", "timestamp", "git_sha", "host", "cpu_model", "cpus", "compiler", "build",
          "variant", "workload", "shape", "threads", "params", "rep", "metric", "value", "unit"]


def row(variant, shape, threads, params, metric, value):
    return ["r", "2026-12-03T00:00:00Z", "abc", "vm", "cpu", 2, "g++", "Release", variant, "echo",
            shape, threads, params, 1, metric, value, "x"]


def write(path, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        w.writerows(rows)


def run(path):
    return subprocess.run([sys.executable, os.path.join(SCRIPTS, "io_aims.py"), path],
                          capture_output=True, text=True, timeout=60)


def test_ratios_tails_and_open_loop_come_from_the_rows(tmp_path):
    rows = []
    for variant, io, cpu in (("ring", "epoll", 3.0), ("ring", "uring", 2.0), ("tokio", None, 4.0)):
        p = "connections=1000;flavor=multi_thread" + (f";io={io}" if io else "")
        label = variant + ("+uring" if io == "uring" else "")
        rows += [row(label, "closed", 1, p, "server_cpu_us_per_msg", cpu),
                 row(label, "closed", 1, p, "msgs_per_s", 200000),
                 row(label, "closed", 1, p, "latency_p50_us", 1000),
                 row(label, "closed", 1, p, "latency_p999_us", 6000 if io == "uring" else 2000),
                 row(label, "closed", 1, p, "latency_max_us", 3000)]
        rows.append(row(label, "open", 1, p + ";rate=50000", "latency_p99_us", 400))
    path = tmp_path / "run.csv"
    write(path, rows)
    r = run(str(path))
    assert r.returncode == 0, r.stderr
    assert "| 1 | 1000 | tokio 4.000 | 4.000 | ring 3.000 | 0.75x | ring+uring 2.000 | 0.50x |" in r.stdout
    assert "p99.9/p50 <= 5 in 1" in r.stdout  # ring+uring's 6x misses
    assert "| ring | 1 | 200000 | 50000 | 400 | yes |" in r.stdout


def test_a_csv_without_echo_rows_exits_2(tmp_path):
    path = tmp_path / "run.csv"
    write(path, [])
    r = run(str(path))
    assert r.returncode == 2
    assert "no echo rows" in r.stderr
