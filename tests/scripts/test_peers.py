"""The peers (harness/peers) through weft-bench, at tiny sizes: every peer runs every shape it
expresses at threads 1 and 2 and writes rows of the CSV schema with its own build string and no
scheduler counters; its echo server is driven by weft-loadgen; a peer that reports a wrong
result, or fails, fails the run with a message. A peer whose toolchain was missing when
build/release was configured is skipped with the reason its CMake wrote (harness/peers/<p>/SKIPPED).

`make test-scripts` builds build/release (peers included) first."""
import csv
import os
import stat
import subprocess

import pytest

TIMEOUT_S = 240
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(ROOT, "build", "release")
BENCH = os.path.join(BUILD, "harness", "bench", "weft-bench")
TINY = ["--param", "tasks=2000", "--param", "leaves=1000", "--param", "yield_tasks=20",
        "--param", "yields=20", "--param", "pairs=500"]
ECHO_TINY = ["--param", "connections=10", "--param", "duration_ms=200",
             "--param", "warmup_ms=50"]

# harness/peers/README.md's table: folder, spawn_storm shapes, echo thread counts.
PEERS = {
    "tokio": ("tokio", {"flat", "tree", "yield_many", "ping_pong", "chained"}, {1, 2}),
    "go": ("go", {"flat", "tree", "yield_many", "ping_pong", "chained"}, {1, 2}),
    "asio": ("asio", {"flat", "tree", "yield_many", "chained"}, {1, 2}),
    "asio_pool": ("asio", {"flat", "tree", "yield_many", "chained"}, {1, 2}),
    "libuv": ("libuv", {"flat", "tree", "chained"}, {1}),
    "tbb": ("tbb", {"flat", "tree", "chained"}, set()),
}
SHAPES = "flat,tree,yield_many,ping_pong,chained"
COUNTERS = {"polls", "steal_attempts", "parks"}


def program(peer):
    folder = PEERS[peer][0]
    return os.path.join(BUILD, "harness", "peers", folder, f"weft-peer-{folder}")


def need(peer):
    if not os.path.exists(BENCH):
        pytest.skip(f"{BENCH} is not built (make build)")
    if os.access(program(peer), os.X_OK):
        return
    skipped = os.path.join(os.path.dirname(program(peer)), "SKIPPED")
    reason = open(skipped).read().strip() if os.path.exists(skipped) else "not built"
    pytest.skip(f"peer {peer}: {reason}")


def bench(tmp_path, *args, env=None):
    out = tmp_path / "out.csv"
    p = subprocess.run([BENCH, *args, "--reps=1", f"--out={out}"], capture_output=True,
                       text=True, env=env, timeout=TIMEOUT_S - 20)
    rows = list(csv.DictReader(open(out))) if out.exists() else []
    return p, rows


@pytest.mark.parametrize("peer", sorted(PEERS))
def test_every_expressed_shape_writes_rows_at_threads_1_and_2(tmp_path, peer):
    need(peer)
    p, rows = bench(tmp_path, f"--variant={peer}", "--workload=spawn_storm", f"--shape={SHAPES}",
                    "--threads=1,2", *TINY)
    assert p.returncode == 0, p.stderr
    shapes = PEERS[peer][1]
    got = {(r["shape"], r["threads"]) for r in rows if r["metric"] == "ns_per_task"}
    assert got == {(s, t) for s in shapes for t in ("1", "2")}, p.stderr
    for shape in set(SHAPES.split(",")) - shapes:
        assert f"skipping peer {peer}: it does not express spawn_storm/{shape}" in p.stderr
    assert {r["variant"] for r in rows} == {peer}
    builds = {r["build"] for r in rows}
    assert len(builds) == 1 and builds != {"Release"}, builds
    metrics = {r["metric"] for r in rows}
    assert {"ns_per_task", "tasks_per_s", "peak_rss_bytes"} <= metrics
    assert not metrics & COUNTERS, "a peer has no scheduler counters"
    assert all(float(r["value"]) > 0 for r in rows if r["metric"] == "peak_rss_bytes")


@pytest.mark.parametrize("peer", sorted(p for p in PEERS if PEERS[p][2]))
def test_echo_server_is_driven_by_weft_loadgen(tmp_path, peer):
    need(peer)
    p, rows = bench(tmp_path, f"--variant={peer}", "--workload=echo", "--shape=closed",
                    "--threads=1,2", *ECHO_TINY)
    assert p.returncode == 0, p.stderr
    by = {(r["threads"], r["metric"]): float(r["value"]) for r in rows}
    for t in PEERS[peer][2]:
        assert by[(str(t), "msgs_per_s")] > 0
        assert by[(str(t), "server_connections")] == 10
        assert by[(str(t), "errors")] == 0
        assert by[(str(t), "server_cpu_us_per_msg")] >= 0
        assert (str(t), "latency_p99_us") in by
    if PEERS[peer][2] == {1}:
        assert f"skipping peer {peer}: its echo server runs one event loop" in p.stderr


def test_tokio_current_thread_flavor(tmp_path):
    need("tokio")
    p, rows = bench(tmp_path, "--variant=tokio,go", "--workload=spawn_storm", "--shape=tree",
                    "--flavor=current_thread", "--param", "leaves=1000")
    assert p.returncode == 0, p.stderr
    assert {r["variant"] for r in rows} == {"tokio"}
    assert all("flavor=current_thread" in r["params"] for r in rows)
    assert "skipping peer go: it has no current_thread flavor" in p.stderr


def stand_in(tmp_path, body):
    """A peer program that is not one: a shell script standing in for weft-peer-tokio."""
    path = tmp_path / "stand-in"
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return dict(os.environ, WEFT_PEER_TOKIO=str(path))


def test_a_wrong_count_fails_the_run_and_keeps_the_earlier_csv(tmp_path):
    env = stand_in(tmp_path, 'echo \'{"units": 999, "unit": "task", "seconds": 0.01, '
                             '"build": "stand-in"}\'')
    (tmp_path / "out.csv").write_text("earlier results\n")
    p, _ = bench(tmp_path, "--variant=mutex,tokio", "--workload=spawn_storm", "--shape=flat",
                 "--threads=1", "--param", "tasks=1000", env=env)
    assert p.returncode == 1
    assert "peer tokio counted 999 tasks where 1000 were expected" in p.stderr
    assert (tmp_path / "out.csv").read_text() == "earlier results\n"
    partial = [f for f in os.listdir(tmp_path) if f.startswith("out.csv.partial-")]
    assert len(partial) == 1, os.listdir(tmp_path)
    assert "the rows measured are in" in p.stderr
    rows = list(csv.DictReader(open(tmp_path / partial[0])))
    assert {r["variant"] for r in rows} == {"mutex"}, "mutex's rows kept, none of the failed peer"


def test_a_failed_check_fails_the_run_with_the_peers_message(tmp_path):
    env = stand_in(tmp_path, 'echo "weft-peer-tokio: tree: sum 41 != 499500" >&2; exit 1')
    p, _ = bench(tmp_path, "--variant=tokio", "--workload=spawn_storm", "--shape=tree",
                 "--threads=1", "--param", "leaves=1000", env=env)
    assert p.returncode == 1
    assert "sum 41 != 499500" in p.stderr
    assert "peer tokio exited with status 1" in p.stderr


def test_no_report_fails_the_run(tmp_path):
    env = stand_in(tmp_path, "exit 0")
    p, _ = bench(tmp_path, "--variant=tokio", "--workload=spawn_storm", "--shape=flat",
                 "--threads=1", "--param", "tasks=10", env=env)
    assert p.returncode == 1
    assert "peer tokio reported no complete result" in p.stderr


def test_an_echo_server_that_never_listens_fails_the_run(tmp_path):
    env = stand_in(tmp_path, 'echo "cannot bind" >&2; exit 1')
    p, _ = bench(tmp_path, "--variant=tokio", "--workload=echo", "--shape=closed",
                 "--threads=1", *ECHO_TINY, env=env)
    assert p.returncode == 1
    assert "echo server did not report a port" in p.stderr


def test_variant_groups(tmp_path):
    if not os.path.exists(BENCH):
        pytest.skip("weft-bench is not built")
    listing = subprocess.run([BENCH, "--list"], capture_output=True, text=True).stdout
    for peer in PEERS:
        assert f"  {peer} " in listing
    assert "variant groups: all (Weft's variants), peers, everything" in listing
    p = subprocess.run([BENCH, "--variant=mutex,nope", "--out=/dev/null"], capture_output=True,
                       text=True)
    assert p.returncode == 2
    assert "peers: tokio, go, asio, asio_pool, libuv, tbb" in p.stderr
