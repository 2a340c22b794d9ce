"""scripts/ctest_failures.py: prints the output of the tests a ctest run failed, from ctest's own
logs (a synthetic build directory here; the Makefile's test targets run it on the real ones)."""
import os
import subprocess
import sys

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "ctest_failures.py")


def block(n, name, status, output):
    return "\n".join([
        f"{n}/3 Testing: {name}", f"{n}/3 Test: {name}",
        f'Command: "/b/tests/t" "--gtest_filter={name}"', "Directory: /b/tests",
        f'"{name}" start time: Dec 03 17:22 UTC', "Output:", "-" * 58, *output,
        "<end of output>", "Test time =   0.25 sec", "-" * 58, status,
        f'"{name}" end time: Dec 03 17:22 UTC', "-" * 58, ""])


def write_build(tmp_path, failed):
    temporary = tmp_path / "Testing" / "Temporary"
    temporary.mkdir(parents=True)
    log = "Start testing: Dec 03 17:22 UTC\n" + "-" * 58 + "\n"
    log += block(2, "S.Passes", "Test Passed.", ["[  PASSED  ] 1 test."])
    log += block(1, "S.Fails", 'Test Failed.', ["line"] * 200 + ["x.cpp:9: Failure", "[  FAILED  ] S.Fails"])
    (temporary / "LastTest.log").write_text(log)
    (temporary / "LastTestsFailed.log").write_text("".join(f"{n}:{name}\n" for n, name in failed))
    return tmp_path


def run(build, *extra):
    return subprocess.run([sys.executable, SCRIPT, str(build), *extra], capture_output=True,
                          text=True, check=True)


def test_prints_the_end_of_each_failed_tests_output_and_nothing_of_the_passed_ones(tmp_path):
    out = run(write_build(tmp_path, [(1, "S.Fails")]), "--lines=5").stdout
    assert "=== FAILED: S.Fails" in out
    assert "x.cpp:9: Failure" in out and "[  FAILED  ] S.Fails" in out
    assert "(197 earlier lines of its output left out)" in out
    assert "Test Failed." in out
    assert "S.Passes" not in out


def test_a_failed_test_without_a_block_is_named_and_no_failures_is_said(tmp_path):
    out = run(write_build(tmp_path, [(7, "S.Gone")])).stdout
    assert "test #7: no output recorded" in out
    empty = run(tmp_path / "nothing")
    assert empty.stdout == "" and "no failed tests recorded" in empty.stderr
