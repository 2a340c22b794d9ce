"""scripts/echo_profile.py: its parsing of perf's reports, its servers, its flags (no perf run:
perf is not part of the test set-up; `make echo-profile` runs the real thing)."""
import os
import subprocess
import sys

SCRIPTS = os.path.join(os.path.dirname(__file__), "..", "..", "scripts")
sys.path.insert(0, SCRIPTS)
import echo_profile  # noqa: E402

CHILDREN = """
# Children      Self  Symbol
    90.26%     0.05%  [k] do_syscall_64
    65.96%     0.01%  [k] tcp_sendmsg
    64.65%     2.18%  [k] tcp_sendmsg_locked
    15.55%     1.46%  [k] tcp_recvmsg
     7.60%     0.06%  [k] do_epoll_wait
     1.04%     1.04%  [.] weft::io::UringBackend::submit
"""
DSO = """
# Overhead  Shared Object
    90.69%  [kernel.kallsyms]
     7.31%  weft-echo
     2.00%  libc.so.6
"""


def test_shares_are_the_inclusive_percentages_and_user_is_what_the_kernel_did_not_take():
    s = echo_profile.parse_shares(CHILDREN, DSO)
    assert s["send"] == 65.96  # tcp_sendmsg, not tcp_sendmsg_locked counted twice
    assert s["recv"] == 15.55
    assert s["wait"] == 7.60
    assert abs(s["user"] - 9.31) < 1e-9


def test_servers_map_to_the_built_programs():
    assert echo_profile.server_argv("b", "weft:ring:uring", 2) == [
        "b/harness/echo/weft-echo", "--variant=ring", "--threads=2", "--io=uring"]
    assert echo_profile.server_argv("b", "asio_pool", 1) == [
        "b/harness/peers/asio/weft-peer-asio", "echo", "--threads=1", "--contexts=per_thread"]
    assert echo_profile.server_argv("b", "tokio", 1)[:2] == ["b/harness/peers/tokio/weft-peer-tokio",
                                                             "echo"]


def test_bad_flags_exit_2_and_an_existing_output_is_not_overwritten(tmp_path):
    script = os.path.join(SCRIPTS, "echo_profile.py")
    r = subprocess.run([sys.executable, script, "--threads=0"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 2 and "--threads" in r.stderr
    out = tmp_path / "profile.md"
    out.write_text("earlier")
    r = subprocess.run([sys.executable, script, "--out", str(out)], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 2 and "exists" in r.stderr
    assert out.read_text() == "earlier"
