"""Shared pytest set-up for tests/scripts: every test runs under a timeout.

A test module sets TIMEOUT_S to allow more than the default 60 s (the gate's plant tests run
builds' binaries under valgrind and time real runs)."""
import signal

import pytest

DEFAULT_TIMEOUT_S = 60


@pytest.fixture(autouse=True)
def _timeout(request):
    seconds = getattr(request.module, "TIMEOUT_S", DEFAULT_TIMEOUT_S)

    def boom(signum, frame):
        raise TimeoutError(f"test took longer than {seconds} s")
    old = signal.signal(signal.SIGALRM, boom)
    signal.alarm(seconds)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)
