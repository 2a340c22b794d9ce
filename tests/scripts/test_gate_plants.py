"""The gate catches planted slowdowns, with the real rules of results/thresholds.toml.

`make test-scripts` first builds the Release tree (build/release) and two planted builds of
weft-icount and weft-bench (runtime/CMakeLists.txt, WEFT_PLANT):
  build/plant-spin      a fixed 64-iteration loop before every task poll
  build/plant-no_lifo   no LIFO slot: a woken task goes to the local queue
Which rule kind should catch which plant:
  instructions  both: spin adds 260 instructions to a spawn+run and to a wake round trip;
                no_lifo puts a queue push and pop where the slot was
  ratio         no_lifo, through lifo-share (the share of ping_pong's polls served from the
                LIFO slot: two thirds, then none). A spin on every poll slows every variant
                alike, which is what ratios inside one run are built to cancel: not kind 2's.
  ab            both: spin through yield-ab (a yield is one short poll), no_lifo through
                ping-pong-ab (the round trip the slot serves)
The reference for kinds 1 and 3 is build/release, measured in the same test, never a committed
number. The ab tests time real runs; the plants slow them by far more than the rule's 10%.

    make test-scripts            (or: /usr/bin/python3 -m pytest -q tests/scripts)
"""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPTS = os.path.join(ROOT, "scripts")
RULES = os.path.join(ROOT, "results", "thresholds.toml")
REFERENCE = os.path.join(ROOT, "build", "release")
PLANTS = {p: os.path.join(ROOT, "build", f"plant-{p}") for p in ("spin", "no_lifo")}
ICOUNT = os.path.join("harness", "icount", "weft-icount")
BENCH = os.path.join("harness", "bench", "weft-bench")
INSTR_CASES = r"^(spawn_run|wake_run)/"


TIMEOUT_S = 300  # conftest.py


def binary(build, name):
    path = os.path.join(build, name)
    if not os.access(path, os.X_OK):
        pytest.skip(f"{path} is not built: `make test-scripts` builds it first")
    return path


def script(name, *args):
    return subprocess.run([sys.executable, os.path.join(SCRIPTS, name), *args],
                          capture_output=True, text=True, cwd=ROOT)


def gate(*args):
    return script("check_regression.py", "--rules", RULES, *args)


def icount(build, out):
    p = script("icount.py", "--binary", binary(build, ICOUNT), "--cases", INSTR_CASES,
               "--out", str(out))
    assert p.returncode == 0, p.stderr
    return str(out)


@pytest.fixture(scope="module")
def reference_counts(tmp_path_factory):
    """A baseline dir with build/release's instruction counts of the spawn and wake cases."""
    base = tmp_path_factory.mktemp("baseline")
    icount(REFERENCE, base / "instructions.csv")
    return str(base)


def test_instruction_rules_pass_the_reference_against_itself(reference_counts, tmp_path):
    fresh = icount(REFERENCE, tmp_path / "icount.csv")
    p = gate("--kinds", "instructions", "--rule", "spawn-run", "--rule", "wake-run",
             "--csv", fresh, "--baseline-dir", reference_counts)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "+0.00%" in p.stdout


@pytest.mark.parametrize("plant", ["spin", "no_lifo"])
def test_instruction_rules_catch_each_plant(reference_counts, tmp_path, plant):
    fresh = icount(PLANTS[plant], tmp_path / "icount.csv")
    p = gate("--kinds", "instructions", "--rule", "spawn-run", "--rule", "wake-run",
             "--csv", fresh, "--baseline-dir", reference_counts)
    assert p.returncode == 1, p.stdout + p.stderr
    failed = [l for l in p.stdout.splitlines() if l.startswith("FAIL")]
    # Every variant's spawn+run and wake round trip costs more than 5% more instructions.
    assert len(failed) == 10, p.stdout
    assert all("limit +5%" in l and "vs baseline" in l for l in failed)
    summary = next(l for l in p.stdout.splitlines() if "FAILED:" in l)
    assert "spawn-run[spawn_run/mutex]" in summary and "wake-run[wake_run/ring]" in summary


def ping_pong_run(build, out):
    p = subprocess.run([binary(build, BENCH), "--workload=spawn_storm", "--shape=ping_pong",
                        "--variant=all", "--threads=1", "--reps=3", "--param", "pairs=20000",
                        f"--out={out}"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return str(out)


def test_lifo_share_rule_passes_the_reference(tmp_path):
    p = gate("--kinds", "ratio", "--rule", "lifo-share",
             "--csv", ping_pong_run(REFERENCE, tmp_path / "run.csv"))
    assert p.returncode == 0, p.stdout + p.stderr


def test_lifo_share_rule_catches_no_lifo(tmp_path):
    p = gate("--kinds", "ratio", "--rule", "lifo-share",
             "--csv", ping_pong_run(PLANTS["no_lifo"], tmp_path / "run.csv"))
    assert p.returncode == 1, p.stdout + p.stderr
    failed = [l for l in p.stdout.splitlines() if l.startswith("FAIL")]
    assert len(failed) == 5 and all("value=0 " in l and ">= 0.5" in l for l in failed), p.stdout


@pytest.mark.parametrize("plant,rule", [("spin", "yield-ab"), ("no_lifo", "ping-pong-ab")])
def test_ab_rule_catches_the_plant(tmp_path, plant, rule):
    run = script("bench_ab.py", "--rules", RULES, "--rule", rule,
                 "--base-bin", binary(REFERENCE, BENCH), "--cand-bin", binary(PLANTS[plant], BENCH),
                 "--out-dir", str(tmp_path))
    assert run.returncode == 0, run.stderr
    p = gate("--kinds", "ab", "--rule", rule, "--ab-base", str(tmp_path / "base.csv"),
             "--ab-cand", str(tmp_path / "cand.csv"))
    assert p.returncode == 1, p.stdout + p.stderr
    assert f"FAILED: {rule}[" in p.stdout
