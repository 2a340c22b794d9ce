"""weft-bench against a hostile machine (issue 13).

The open-file limit (item 4): weft-bench and weft-loadgen raise a low soft limit (a stock login's
1,024) to the hard limit at start, and refuse up front, naming the limit, a run that needs more
descriptors than the hard limit allows, instead of failing halfway with EMFILE. Each child
process gets its limits from resource.setrlimit before it starts.

A hung load generator (item 6) ends the run: a watchdog kills it 30 s past its window and the
run fails with that message."""
import os
import resource
import stat
import subprocess
import time

import pytest

TIMEOUT_S = 120
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(ROOT, "build", "release")
BENCH = os.path.join(BUILD, "harness", "bench", "weft-bench")
LOADGEN = os.path.join(BUILD, "harness", "loadgen", "weft-loadgen")
HARD = resource.getrlimit(resource.RLIMIT_NOFILE)[1]


def limited(soft, hard):
    def preexec():
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return preexec


def run(argv, soft, hard):
    return subprocess.run(argv, capture_output=True, text=True, preexec_fn=limited(soft, hard),
                          timeout=TIMEOUT_S - 20)


def echo_args(tmp_path, connections):
    return [BENCH, "--workload=echo", "--shape=closed", "--variant=ring", "--threads=1",
            "--reps=1", "--param", f"connections={connections}", "--param", "duration_ms=200",
            "--param", "warmup_ms=50", f"--out={tmp_path / 'out.csv'}"]


@pytest.fixture(autouse=True)
def built():
    if not os.path.exists(BENCH):
        pytest.skip(f"{BENCH} is not built (make build)")


def test_a_soft_limit_of_1024_is_raised_for_2000_connections(tmp_path):
    if HARD != resource.RLIM_INFINITY and HARD < 2500:
        pytest.skip(f"the hard limit here is {HARD}: too low to show the raise")
    p = run(echo_args(tmp_path, 2000), 1024, HARD)
    assert p.returncode == 0, p.stderr
    assert ",server_connections,2000," in (tmp_path / "out.csv").read_text()


def test_a_hard_limit_too_low_is_refused_before_the_run(tmp_path):
    (tmp_path / "out.csv").write_text("earlier results\n")
    p = run(echo_args(tmp_path, 2000), 1024, 1024)
    assert p.returncode == 2, p.stderr
    assert "echo/closed needs about 2128 file descriptors" in p.stderr
    assert "may open only 1024" in p.stderr
    assert (tmp_path / "out.csv").read_text() == "earlier results\n"


def test_weft_loadgen_refuses_more_connections_than_its_limit():
    p = run([LOADGEN, "--port=9", "--connections=2000"], 1024, 1024)
    assert p.returncode == 2, p.stderr
    assert "--connections=2000 needs about 2064 file descriptors" in p.stderr


def test_a_hung_load_generator_ends_the_run(tmp_path):
    hung = tmp_path / "hung-loadgen"
    hung.write_text("#!/bin/sh\nexec sleep 600\n")  # exec: the watchdog's pid is the sleeper
    hung.chmod(hung.stat().st_mode | stat.S_IEXEC)
    start = time.monotonic()
    p = subprocess.run(echo_args(tmp_path, 10), capture_output=True, text=True,
                       env=dict(os.environ, WEFT_LOADGEN=str(hung)), timeout=TIMEOUT_S - 20)
    assert p.returncode == 1, p.stderr
    assert "weft-loadgen overran its time" in p.stderr
    assert "weft-loadgen overran its window by more than 30 s and was killed" in p.stderr
    assert time.monotonic() - start < 60


def test_threads_that_cannot_start_are_an_error_not_an_abort(tmp_path):
    """Item 3: 4,096 workers under a 2 GiB address-space limit (8 MiB of stack each): thread
    creation fails part way; Runtime::create stops the threads that started and returns an
    error, and the run fails with it (exit 1, no SIGABRT)."""
    def preexec():
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
    (tmp_path / "out.csv").write_text("earlier results\n")
    p = subprocess.run([BENCH, "--variant=ring", "--shape=flat", "--threads=4096", "--reps=1",
                        "--param", "tasks=100", f"--out={tmp_path / 'out.csv'}"],
                       capture_output=True, text=True, preexec_fn=preexec, timeout=TIMEOUT_S - 20)
    assert p.returncode == 1, (p.returncode, p.stderr)
    assert "cannot start 4096 worker threads" in p.stderr
    assert (tmp_path / "out.csv").read_text() == "earlier results\n"
