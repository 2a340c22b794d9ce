"""The I/O backend axis (weft-bench --io, issue 12) in the scripts: a CSV from before the axis
(no `io` parameter) reads as epoll; epoll and io_uring rows of one variant stay apart in the
tables, plots, report and gate; the echo rows' cost per message is tabled and drawn.

    /usr/bin/python3 -m pytest -q tests/scripts/test_io_backends.py
"""
import csv
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import analysis  # noqa: E402
import check_regression  # noqa: E402
import plot  # noqa: E402
import plot_io  # noqa: E402
import report  # noqa: E402
import summary  # noqa: E402
import weft_csv  # noqa: E402

SUMMARY = os.path.join(ROOT, "scripts", "summary.py")
CHECK = os.path.join(ROOT, "scripts", "check_regression.py")
POLICY = "steal=half;victim=random;backoff=exp"
# msgs/s of each (variant label, io) at t=1; t=2 doubles it; rep r adds r - 2 percent.
MSGS = {("mutex", "epoll"): 50_000.0, ("mutex+uring", "uring"): 80_000.0,
        ("tokio", None): 70_000.0}
SYSCALLS_PER_MSG = {"epoll": 3.0, "uring": 0.5}


def rep_scale(rep):
    return 1 + (rep - 2) / 100


def params(base, io):
    """A row's params as weft-bench writes them: a Weft row ends with its policy and backend
    (io=None: a CSV from before the axis); a peer's has neither."""
    if io is None:
        return base
    return f"{base};{POLICY}" + ("" if io == "old" else f";io={io}")


def echo_rows(io_rows=True, old=False, connections=(100,), stamp="2024-05-01T10:00:00Z"):
    """echo closed rows of mutex on epoll (and on uring if io_rows) and of the peer tokio.
    old=True: the mutex epoll rows carry no io parameter and no I/O metric, as before --io."""
    out = []
    for (variant, io), msgs in MSGS.items():
        if io == "uring" and not io_rows:
            continue
        cell_io = "old" if (old and io == "epoll") else io
        for c in connections:
            for t in (1, 2):
                for rep in (1, 2, 3):
                    p = params(f"connections={c};msg_size=64", cell_io)
                    metrics = [("msgs_per_s", msgs * t * rep_scale(rep), "msgs/s"),
                               ("server_cpu_us_per_msg", 1e6 / msgs * rep_scale(rep), "us")]
                    if io is not None and cell_io != "old":
                        per = SYSCALLS_PER_MSG[io] * rep_scale(rep)
                        metrics += [("io_syscalls_per_msg", per, "ratio"),
                                    ("driver_polls_per_msg", per / 3, "ratio"),
                                    ("io_syscalls", per * msgs * 3, "count")]
                    for m, v, unit in metrics:
                        out.append([f"{stamp}-1", stamp, "abcdef012345", "box", "CPU", 2,
                                    "g++ 12.2.0", "Release", variant, "echo", "closed", t, p,
                                    rep, m, v, unit])
    return out


def spawn_rows(variant, io, value, stamp="2024-05-01T10:00:00Z", shape="flat"):
    """spawn_storm rows of one variant at t=1,2, 3 reps; tasks_per_s = value * t."""
    return [[f"{stamp}-1", stamp, "abcdef012345", "box", "CPU", 2, "g++ 12.2.0", "Release",
             variant, "spawn_storm", shape, t, params("tasks=1000", io), rep, "tasks_per_s",
             value * t * rep_scale(rep), "tasks/s"]
            for t in (1, 2) for rep in (1, 2, 3)]


def write_csv(path, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(weft_csv.REQUIRED)
        w.writerows(rows)
    return str(path)


def run(script, *args):
    return subprocess.run([sys.executable, script, *map(str, args)], capture_output=True,
                          text=True, timeout=50)


# --- weft_csv: the io column and the variant's mark ---------------------------------------------

def test_a_csv_without_io_reads_as_epoll_and_keeps_its_variant_names(tmp_path):
    df = weft_csv.load([write_csv(tmp_path / "old.csv", echo_rows(io_rows=False, old=True))])
    weft = df[df["variant"] != "tokio"]
    assert set(weft["variant"]) == {"mutex"}
    assert set(weft["io"]) == {"epoll"}
    assert set(df.loc[df["variant"] == "tokio", "io"]) == {""}, "a peer has no Weft backend"
    assert set(df["config"]) == {""}


def test_backends_are_variants_of_their_own_and_not_a_configuration(tmp_path):
    df = weft_csv.load([write_csv(tmp_path / "new.csv", echo_rows())])
    assert set(df["variant"]) == {"mutex", "mutex+uring", "tokio"}
    assert set(zip(df["variant"], df["io"])) == {("mutex", "epoll"), ("mutex+uring", "uring"),
                                                 ("tokio", "")}
    assert set(df["config"]) == {""}, "io is a policy key: it never splits a configuration"


def test_an_unmarked_uring_row_is_marked_once_and_flavor_comes_last(tmp_path):
    rows = spawn_rows("ring", "uring", 1e6) + spawn_rows("ring+uring", "uring", 1e6)
    rows += [r[:12] + [r[12] + ";flavor=current_thread"] + r[13:]
             for r in spawn_rows("ring+uring", "uring", 1e6)]
    df = weft_csv.load([write_csv(tmp_path / "x.csv", rows)])
    assert set(df["variant"]) == {"ring+uring", "ring+uring (current_thread)"}


def test_label_helpers():
    assert weft_csv.base_variant("ring+uring (current_thread)") == "ring"
    assert weft_csv.base_variant("mutex:one/random/exp+uring") == "mutex:one/random/exp"
    assert weft_csv.io_of("ring+uring (current_thread)") == "uring"
    assert weft_csv.io_of("ring (current_thread)") == "epoll"
    assert weft_csv.io_of("tokio") == "epoll"
    assert not weft_csv.is_peer("ring+uring")
    assert weft_csv.is_peer("tokio (current_thread)")


# --- plot.py: one line per backend, the variant's colour, a marker per backend ------------------

def test_line_style_tells_backends_apart_and_keeps_the_flavor_dash():
    epoll, uring = plot.line_style("ring"), plot.line_style("ring+uring")
    assert epoll["color"] == uring["color"]
    assert epoll["marker"] != uring["marker"]
    assert epoll["linestyle"] == uring["linestyle"] == "-"
    ct = plot.line_style("ring+uring (current_thread)")
    assert ct["linestyle"] == "--" and ct["marker"] == uring["marker"]
    assert plot.line_style("tokio")["linestyle"] == "-."


def test_plot_draws_each_backend_as_a_line_of_its_own(tmp_path, monkeypatch):
    path = write_csv(tmp_path / "spawn.csv",
                     spawn_rows("ring", "epoll", 1e6) + spawn_rows("ring+uring", "uring", 2e6)
                     + spawn_rows("mutex", "old", 5e5))
    figures = []
    monkeypatch.setattr(plot.plt, "close", figures.append)  # keep the figure to look at it
    written = plot.plot_all(weft_csv.load([path]), str(tmp_path))
    assert [os.path.basename(p) for p in written] == ["spawn_storm_flat.png"]
    figures = [f for f in figures if hasattr(f, "axes")]
    throughput = figures[0].axes[0]
    lines = {ln.get_label(): ln for ln in throughput.get_lines()}
    assert set(lines) == {"mutex", "ring", "ring+uring"}
    assert lines["ring"].get_color() == lines["ring+uring"].get_color()
    assert lines["ring"].get_marker() != lines["ring+uring"].get_marker()
    assert list(lines["ring+uring"].get_ydata()) == pytest.approx([2e6, 4e6])
    assert list(lines["ring"].get_ydata()) == pytest.approx([1e6, 2e6])


# --- summary.py ---------------------------------------------------------------------------------

def test_summary_has_a_row_per_backend(tmp_path):
    path = write_csv(tmp_path / "new.csv", echo_rows())
    r = run(SUMMARY, "--metric", "io_syscalls_per_msg", path)
    assert r.returncode == 0, r.stderr
    lines = {ln.split()[2]: ln.split()[3:] for ln in r.stdout.splitlines()
             if ln.startswith("echo")}
    assert lines == {"mutex": ["3.0", "3.0"], "mutex+uring": ["0.5", "0.5"]}
    r = run(SUMMARY, "--vs-peers", "--metric", "msgs_per_s", path)
    assert r.returncode == 0, r.stderr
    ratios = {ln.split()[2]: ln.split()[3:] for ln in r.stdout.splitlines()
              if ln.startswith("echo")}
    assert ratios["mutex"] == ["1.40", "1.40"] and ratios["mutex+uring"] == ["0.88", "0.88"]


def test_summary_of_an_old_csv_is_unchanged(tmp_path):
    path = write_csv(tmp_path / "old.csv", echo_rows(io_rows=False, old=True))
    r = run(SUMMARY, "--metric", "msgs_per_s", path)
    assert r.returncode == 0, r.stderr
    rows = [ln.split() for ln in r.stdout.splitlines() if ln.startswith("echo")]
    assert [row[2] for row in rows] == ["mutex", "tokio"]
    assert rows[0][3:] == ["50,000", "100,000"]


# --- the gate -----------------------------------------------------------------------------------

RULES = """\
rules = [
  { kind = "ratio", name = "speedup", where = { workload = "spawn_storm", metric = "tasks_per_s" }, num = { threads = 2 }, den = { threads = 1 }, each = "variant", floor = 1.5 },
  { kind = "ratio", name = "ring-vs-mutex", where = { workload = "spawn_storm", metric = "tasks_per_s", threads = 1 }, num = { variant = "ring" }, den = { variant = "mutex" }, floor = 1.9, ceiling = 2.1 },
  { kind = "ratio", name = "epoll-only", where = { workload = "spawn_storm", metric = "tasks_per_s", threads = 1, io = "epoll" }, num = { variant = "ring" }, den = { variant = "mutex" }, floor = 1.9 },
  { kind = "ratio", name = "uring-vs-epoll", where = { workload = "spawn_storm", metric = "tasks_per_s", threads = 1 }, num = { io = "uring" }, den = { io = "epoll", variant = "ring" }, floor = 2.9 },
]
"""


def test_gate_on_an_old_csv_without_io(tmp_path):
    rules = tmp_path / "t.toml"
    rules.write_text("\n".join(RULES.splitlines()[:4]) + "\n]\n")  # the rules with no uring
    old = write_csv(tmp_path / "old.csv",
                    spawn_rows("mutex", "old", 1e6) + spawn_rows("ring", None, 2e6))
    verdicts = check_regression.evaluate(str(rules), [old], kinds=["ratio"])
    assert [(v["rule"], v["verdict"]) for v in verdicts] == [
        ("speedup[mutex]", "PASS"), ("speedup[ring]", "PASS"), ("ring-vs-mutex", "PASS"),
        ("epoll-only", "PASS")]
    r = run(CHECK, "--rules", rules, "--kinds", "ratio", "--csv", old)
    assert r.returncode == 0, r.stdout + r.stderr


def test_gate_keeps_backends_apart(tmp_path):
    rules = tmp_path / "t.toml"
    rules.write_text(RULES)
    csv_path = write_csv(tmp_path / "new.csv",
                         spawn_rows("mutex", "epoll", 1e6) + spawn_rows("ring", "epoll", 2e6)
                         + spawn_rows("ring+uring", "uring", 6e6))
    verdicts = {v["rule"]: v for v in check_regression.evaluate(str(rules), [csv_path],
                                                                kinds=["ratio"])}
    assert set(verdicts) == {"speedup[mutex]", "speedup[ring]", "speedup[ring+uring]",
                             "ring-vs-mutex", "epoll-only", "uring-vs-epoll"}
    assert all(v["verdict"] == "PASS" for v in verdicts.values()), verdicts
    assert verdicts["ring-vs-mutex"]["value"] == pytest.approx(2.0), "ring is epoll's alone"
    assert verdicts["uring-vs-epoll"]["value"] == pytest.approx(3.0)


# --- plot_io.py, report.py, analysis.py ---------------------------------------------------------

def test_io_cost_figure_drawn_when_the_rows_have_it(tmp_path):
    new = weft_csv.load([write_csv(tmp_path / "new.csv", echo_rows(connections=(100, 1000)))])
    path = plot_io.echo_io_cost(new, str(tmp_path))
    assert os.path.basename(path) == plot_io.IO_COST_PNG
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    old = weft_csv.load([write_csv(tmp_path / "old.csv", echo_rows(io_rows=False, old=True))])
    assert plot_io.echo_io_cost(old, str(tmp_path / "none")) is None


def test_report_tables_the_cost_of_a_message_per_backend(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    rows = spawn_rows("mutex", "epoll", 1e6) + echo_rows(connections=(100, 1000))
    write_csv(runs / "full.csv", rows)
    (tmp_path / "plots").mkdir()
    (tmp_path / "plots" / plot_io.IO_COST_PNG).write_bytes(b"\x89PNG\r\n\x1a\n")
    text = report.render(str(tmp_path), str(tmp_path / "README.md"))
    echo = text[text.index("## echo"):]
    assert "`io_syscalls_per_msg` (ratio), median over reps, lower is better:" in echo
    assert "| echo | closed | connections=1000 | mutex+uring | 0.5 | 0.5 |" in echo
    assert "| echo | closed | connections=100 | mutex | 3.0 | 3.0 |" in echo
    assert "`server_cpu_us_per_msg` (us)" in echo
    assert f"![{plot_io.IO_COST_PNG}](plots/{plot_io.IO_COST_PNG})" in echo


def test_rankings_compare_a_backend_with_mutex_on_the_same_backend():
    assert analysis.reference_for("ring") == "mutex"
    assert analysis.reference_for("ring+uring") == "mutex+uring"
    assert analysis.reference_for("ring+uring (current_thread)") == "mutex+uring (current_thread)"
