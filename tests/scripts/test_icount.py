"""Tests for scripts/icount.py: callgrind output parsing and the (Ir(2N) - Ir(N)) / N arithmetic
on canned text, the whole script against a fake valgrind, and one real callgrind run of
weft-icount when it has been built (build/release/harness/icount/weft-icount, or $WEFT_ICOUNT).

    /usr/bin/python3 -m pytest -q tests/scripts
"""
import csv
import os
import shutil
import stat
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPTS = os.path.join(ROOT, "scripts")
ICOUNT = os.path.join(SCRIPTS, "icount.py")
sys.path.insert(0, SCRIPTS)
import icount  # noqa: E402
import weft_csv  # noqa: E402

BINARY = os.path.abspath(os.environ.get(
    "WEFT_ICOUNT", os.path.join(ROOT, "build", "release", "harness", "icount", "weft-icount")))

STDERR = """\
==4242== Callgrind, a call-graph generating cache profiler
==4242== Command: weft-icount --case=mutex_lock_unlock --iters=10
==4242==
==4242== For interactive control, run 'callgrind_control -h'.
==4242==
==4242== Events    : Ir
==4242== Collected : 7251722
==4242==
==4242== I   refs:      7,251,722
"""

OUT_FILE = """\
# callgrind format
version: 1
creator: callgrind-3.19.0
pid: 4242
cmd:  weft-icount --case=spawn_run/ring --iters=1000
part: 1

positions: line
events: Ir
summary: 9599178

fn=(1) main
0 12
totals: 9599178
"""


TIMEOUT_S = 120  # conftest.py


# --- parsing and arithmetic ---------------------------------------------------------------------

def test_total_comes_from_the_collected_line_on_stderr():
    assert icount.parse_total(STDERR) == 7251722


def test_total_falls_back_to_the_i_refs_line_with_thousands_separators():
    text = "\n".join(l for l in STDERR.splitlines() if "Collected" not in l and "Events" not in l)
    assert icount.parse_total(text) == 7251722


def test_total_comes_from_the_out_files_summary_line():
    assert icount.parse_total(OUT_FILE) == 9599178
    assert icount.parse_total(OUT_FILE.replace("summary: 9599178\n", "")) == 9599178  # totals:


def test_with_several_events_the_ir_column_is_taken():
    text = "==1== Events    : Dr Ir Dw\n==1== Collected : 5 1234 7\n"
    assert icount.parse_total(text) == 1234
    assert icount.parse_total("events: Ir Bc\nsummary: 99 3\n") == 99


def test_output_without_a_total_or_without_ir_is_an_error():
    with pytest.raises(icount.CallgrindError):
        icount.parse_total("==1== Command: x\n==1== \n")
    with pytest.raises(icount.CallgrindError, match="Ir"):
        icount.parse_total("==1== Events    : Dr\n==1== Collected : 5\n")


def test_per_iteration_subtracts_the_n_run_from_the_2n_run():
    # Setup 7,000,000 and 759.5 instructions per iteration: N = 1000 and 2N = 2000.
    ir_n = 7_000_000 + 759.5 * 1000
    ir_2n = 7_000_000 + 759.5 * 2000
    assert icount.per_iteration(int(ir_n), int(ir_2n), 1000) == pytest.approx(759.5)
    assert icount.per_iteration(100, 100, 10) == 0


def test_per_iteration_rejects_a_2n_run_cheaper_than_the_n_run_and_n_zero():
    with pytest.raises(ValueError, match="below"):
        icount.per_iteration(200, 100, 10)
    with pytest.raises(ValueError):
        icount.per_iteration(100, 200, 0)


def test_case_names_split_into_shape_and_variant():
    assert icount.split_case("spawn_run/chase_lev") == ("spawn_run", "chase_lev")
    assert icount.split_case("timer_insert_cancel") == ("timer_insert_cancel", "mutex")


def test_values_are_written_with_at_most_three_decimals():
    assert icount.format_value(759.0) == "759"
    assert icount.format_value(88.375) == "88.375"
    assert icount.format_value(755.6316) == "755.632"


# --- the script, against a fake valgrind and a fake weft-icount ---------------------------------

FAKE_BINARY = """#!/bin/sh
case "$1" in
  --list) printf 'spawn_run/mutex\\nspawn_run/ring\\nmutex_lock_unlock\\n' ;;
  --info) printf 'git_sha=abc123\\nhost=box\\ncpu_model=Some CPU\\ncpus=2\\ncompiler=g++ 12.2.0\\nbuild=Release\\n' ;;
  *) exit 2 ;;
esac
"""

# Prints a callgrind-style total of 5,000,000 + 7 instructions per iteration (+ 3 for ring).
FAKE_VALGRIND = """#!/bin/sh
for a in "$@"; do
  case "$a" in
    --case=*) c="${a#--case=}" ;;
    --iters=*) n="${a#--iters=}" ;;
  esac
done
per=7
[ "$c" = spawn_run/ring ] && per=10
echo "==99== Events    : Ir" >&2
echo "==99== Collected : $((5000000 + per * n))" >&2
"""


def _executable(path, text):
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


@pytest.fixture
def fakes(tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    _executable(bindir / "valgrind", FAKE_VALGRIND)
    binary = _executable(tmp_path / "weft-icount", FAKE_BINARY)
    env = dict(os.environ, PATH=f"{bindir}:/usr/bin:/bin")
    return binary, env


def run(args, env=None):
    return subprocess.run([sys.executable, ICOUNT, *args], capture_output=True, text=True,
                          env=env, cwd=ROOT)


def test_script_writes_one_tidy_row_per_case(tmp_path, fakes):
    binary, env = fakes
    out = tmp_path / "icount.csv"
    r = run(["--binary", binary, "--out", str(out), "--iters", "100"], env)
    assert r.returncode == 0, r.stderr
    df = weft_csv.load([str(out)])  # the schema's columns and types
    got = {(row.shape, row.variant): row.value for row in df.itertuples()}
    assert got == {("spawn_run", "mutex"): 7, ("spawn_run", "ring"): 10,
                   ("mutex_lock_unlock", "mutex"): 7}
    assert set(df["workload"]) == {"icount"}
    assert set(df["metric"]) == {"instructions_per_iter"}
    assert set(df["unit"]) == {"instructions"}
    assert set(df["threads"]) == {1} and set(df["rep"]) == {1}
    assert set(df["params"]) == {"iters=100;tool=callgrind"}
    assert set(df["host"]) == {"box"} and set(df["build"]) == {"Release"}
    assert "spawn_run/ring" in r.stdout


def test_cases_regex_filters_and_default_iters_are_per_case(tmp_path, fakes):
    binary, env = fakes
    out = tmp_path / "icount.csv"
    r = run(["--binary", binary, "--out", str(out), "--cases", "^spawn_run/r"], env)
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert [(row["shape"], row["variant"]) for row in rows] == [("spawn_run", "ring")]
    assert rows[0]["params"] == f"iters={icount.DEFAULT_ITERS['spawn_run']};tool=callgrind"


def test_a_cases_regex_matching_nothing_exits_2_naming_the_cases(tmp_path, fakes):
    binary, env = fakes
    r = run(["--binary", binary, "--out", str(tmp_path / "x.csv"), "--cases", "nope"], env)
    assert r.returncode == 2
    assert "nope" in r.stderr and "spawn_run/mutex" in r.stderr


def test_a_missing_binary_exits_2(tmp_path, fakes):
    _, env = fakes
    r = run(["--binary", str(tmp_path / "missing"), "--out", str(tmp_path / "x.csv")], env)
    assert r.returncode == 2
    assert "no weft-icount binary" in r.stderr and "missing" in r.stderr


def test_a_missing_valgrind_exits_2(tmp_path, fakes):
    binary, env = fakes
    empty = tmp_path / "empty"
    empty.mkdir()
    r = run(["--binary", binary, "--out", str(tmp_path / "x.csv")], dict(env, PATH=str(empty)))
    assert r.returncode == 2
    assert "valgrind not found" in r.stderr


# --- the real thing -----------------------------------------------------------------------------

needs_binary = pytest.mark.skipif(
    not os.path.isfile(BINARY),
    reason=f"weft-icount not built at {BINARY} (make build, or set $WEFT_ICOUNT)")
needs_valgrind = pytest.mark.skipif(shutil.which("valgrind") is None,
                                    reason="valgrind not installed (scripts/install-deps.sh)")


@needs_binary
def test_weft_icount_rejects_bad_input_with_exit_2():
    for args, named in ((["--case=nope", "--iters=5"], "mutex_lock_unlock"),
                        (["--case=mutex_lock_unlock", "--iters=zero"], "zero"),
                        (["--bogus"], "--bogus")):
        r = subprocess.run([BINARY, *args], capture_output=True, text=True, timeout=30)
        assert r.returncode == 2, args
        assert named in r.stderr, (args, r.stderr)


@needs_binary
@needs_valgrind
def test_a_real_case_under_callgrind_is_deterministic(tmp_path):
    counts = []
    for name in ("a", "b"):
        out = tmp_path / f"{name}.csv"
        r = run(["--binary", BINARY, "--out", str(out), "--cases", "^mutex_lock_unlock$",
                 "--iters", "2000"])
        assert r.returncode == 0, r.stderr
        rows = list(csv.DictReader(out.read_text().splitlines()))
        assert len(rows) == 1 and rows[0]["shape"] == "mutex_lock_unlock"
        counts.append(float(rows[0]["value"]))
    # Uncontended lock + unlock: two CASes and some bookkeeping, tens of instructions.
    assert 5 < counts[0] < 500
    assert counts[0] == counts[1]
