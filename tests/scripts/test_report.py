"""Tests for scripts/report.py (results/README.md) on a synthetic results tree.

    /usr/bin/python3 -m pytest -q tests/scripts
"""
import os
import subprocess
import sys

import synthetic_results as synth

sys.path.insert(0, os.path.join(synth.ROOT, "scripts"))
import plot  # noqa: E402
import plot_io  # noqa: E402
import report  # noqa: E402

TIMEOUT_S = 150  # conftest.py; the runs below have their own 120 s
REPORT = os.path.join(synth.ROOT, "scripts", "report.py")


def make(tmp_path):
    paths = synth.make_tree(str(tmp_path))
    plots = tmp_path / "plots"
    for name in (plot.png_name("spawn_storm", "flat"), plot_io.PNGS["echo", "open"],
                 plot.png_name("echo", "closed", "connections=100")):
        (plots / name).write_bytes(b"\x89PNG\r\n\x1a\n")
    return paths


def test_render(tmp_path):
    make(tmp_path)
    text = report.render(str(tmp_path), str(tmp_path / "README.md"))
    assert f"`{synth.HOST}`, {synth.CPU}, 2 CPUs" in text
    assert synth.COMPILER in text and f"`{synth.COMPLETE_SHA}`" in text
    assert "[zz_complete.csv](runs/zz_complete.csv)" in text
    # the workloads in order, micro last
    heads = [ln for ln in text.splitlines() if ln.startswith("## ")]
    assert heads == ["## spawn_storm", "## echo", "## timer_churn", "## micro"]
    # summary.py's markdown table: medians (rep 2) per variant x threads
    assert "| workload | shape | variant | t=1 | t=2 |" in text
    assert "| spawn_storm | flat | chase_lev | 2,000,000 | 4,000,000 |" in text
    assert "| timer_churn | million | mutex | 50.0 | 25.0 |" in text
    assert "| echo | open | rate=1000 | chase_lev | 100.0 |" in text  # p99 / 2 / 2 threads
    assert "| echo | closed | connections=10 | mutex (current_thread) | 60,000 | - |" in text
    assert "`latency_p99_us` (us), median over reps, lower is better:" in text
    assert "`tasks_per_s` (tasks/s), median over reps, higher is better:" in text
    # only the figures that exist, under the names plot.py and plot_io.py give them
    assert "![spawn_storm_flat.png](plots/spawn_storm_flat.png)" in text
    assert "![echo_p99_vs_load.png](plots/echo_p99_vs_load.png)" in text
    assert "(plots/echo_closed_connections=100.png)" in text
    assert "spawn_storm_tree.png" not in text and "timer_lateness.png" not in text
    assert "No figure of timer_churn in plots/" in text
    # micro: each benchmark from its newest run
    micro = text[text.index("## micro"):]
    assert "`0000000000dd, " + synth.MICRO_SHA + "`" in micro
    assert "| micro | steal | mutex | 2.5 |" in micro  # the newer run, 4x better
    assert "| micro | push_pop | mutex | 10.0 |" in micro


def test_render_follows_the_data(tmp_path):
    paths = make(tmp_path)
    before = report.render(str(tmp_path), str(tmp_path / "README.md"))
    assert report.render(str(tmp_path), str(tmp_path / "README.md")) == before
    body = synth.rows({"spawn_storm"}, "2025-01-01T00:00:00Z", "abcdefabcdef", scale=3.0)
    synth.write_csv(paths["complete"].replace("zz_complete", "yy_newer"),
                    [r[:3] + ["otherhost"] + r[4:] for r in body])
    os.remove(paths["complete"])
    after = report.render(str(tmp_path), str(tmp_path / "README.md"))
    assert "`otherhost`" in after and "`abcdefabcdef`" in after
    assert "## echo" not in after
    assert "| spawn_storm | flat | chase_lev | 6,000,000 | 12,000,000 |" in after


def test_cli(tmp_path):
    make(tmp_path)
    out = tmp_path / "elsewhere" / "R.md"
    out.parent.mkdir()
    r = subprocess.run([sys.executable, REPORT, "--results", str(tmp_path), "--out", str(out)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    assert "(../plots/spawn_storm_flat.png)" in text
    env = dict(os.environ, WEFT_RESULTS=str(tmp_path))
    r = subprocess.run([sys.executable, REPORT], capture_output=True, text=True, timeout=120,
                       env=env, cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "README.md").read_text() == text.replace("../plots/", "plots/").replace(
        "../runs/", "runs/")


def test_cli_nothing_to_report(tmp_path):
    (tmp_path / "runs").mkdir()
    r = subprocess.run([sys.executable, REPORT, "--results", str(tmp_path)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1
    assert "no full run and no micro run" in r.stderr
    assert not (tmp_path / "README.md").exists()
