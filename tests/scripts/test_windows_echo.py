"""The Windows weft-echo (IOCP, mingw-w64 build) serves the Linux weft-loadgen over loopback
under Wine: every echoed byte checked (weft-loadgen counts a wrong byte as an error), every
connection counted by the server, and a clean shutdown when its standard input closes.
Correctness, not speed: Wine's numbers say nothing about Windows.

`make test-windows` runs this file inside scripts/with-wine.sh with WEFT_REQUIRE_WINDOWS=1, after
building both programs; there a missing build fails. Elsewhere (make test-scripts) it skips: outside
with-wine.sh, Wine's system processes would start with this test's pipes and hold them open."""
import json
import os
import select
import subprocess

import pytest

TIMEOUT_S = 240
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ECHO = os.path.join(ROOT, "build", "windows", "harness", "echo", "weft-echo.exe")
LOADGEN = os.path.join(ROOT, "build", "release", "harness", "loadgen", "weft-loadgen")
WINE = os.environ.get("WEFT_WINE64", "")  # set by scripts/with-wine.sh
CONNECTIONS = 100


def _require_programs():
    if not WINE:
        pytest.skip("not under scripts/with-wine.sh (make test-windows runs this)")
    missing = [p for p in (ECHO, LOADGEN, WINE) if not os.path.exists(p)]
    if not missing:
        return
    why = "not built or not installed: " + ", ".join(missing) + " (make test-windows builds them)"
    if os.environ.get("WEFT_REQUIRE_WINDOWS") == "1":
        pytest.fail(why)
    pytest.skip(why)


def _first_line(proc, seconds):
    ready, _, _ = select.select([proc.stdout], [], [], seconds)
    if not ready:
        proc.kill()
        pytest.fail(f"weft-echo printed nothing in {seconds} s: {proc.communicate()[1]}")
    return proc.stdout.readline()


@pytest.mark.parametrize("variant,flavor,threads", [
    ("ring", "multi_thread", 2),
    ("chase_lev", "current_thread", 1),
])
def test_linux_loadgen_drives_the_windows_echo_server(variant, flavor, threads):
    _require_programs()
    server = subprocess.Popen(
        [WINE, ECHO, "--port=0", f"--variant={variant}", f"--flavor={flavor}",
         f"--threads={threads}"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        started = json.loads(_first_line(server, 60))
        assert started["port"] > 0
        assert f"weft {variant} {flavor} iocp" in started["build"]
        load = subprocess.run(
            [LOADGEN, f"--port={started['port']}", f"--connections={CONNECTIONS}",
             "--msg_size=1000", "--warmup=0.5", "--duration=2"],
            capture_output=True, text=True, timeout=120)
        assert load.returncode == 0, load.stderr
        result = json.loads(load.stdout.strip().splitlines()[-1])
        assert result["errors"] == 0, load.stderr
        assert result["msgs"] > 0
        assert result["connections"] == CONNECTIONS

        # communicate() closes the server's stdin: the Windows weft-echo's stop.
        out, err = server.communicate(timeout=60)
        assert server.returncode == 0, err
        final = json.loads(out.strip().splitlines()[-1])
        assert final["connections"] == CONNECTIONS, final
        assert final["errors"] == 0, final
        assert final["intruders"] == 0, final
        assert final["open_at_shutdown"] == 0, final  # weft-loadgen closed every connection
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()


def test_windows_echo_refuses_a_bad_flag():
    _require_programs()
    p = subprocess.run([WINE, ECHO, "--threads=99999"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2
    assert "bad --threads value '99999'; valid: 0..4096" in p.stderr
