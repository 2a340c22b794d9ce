"""`cmake --install` of Weft, used as a C program would use it: every C11 program in tests/capi/
is built against the library installed into a temporary prefix, and run, four ways:

    find_package  tests/capi/consumer/, a C-only CMake project: weft::weft (static) and
                  weft::weft_shared (libweft.so)
    pkg-config    cc -std=c11 ... $(pkg-config --cflags --libs weft), and weft-static

with -Wall -Wextra -Wpedantic -Werror. libweft.so exports weft.h's functions and nothing else
(capi/weft.map).

The tree installed is build/release, which `make test-scripts` builds first (`make build`):
nothing is compiled here but the C programs. WEFT_INSTALL_BUILD=<build dir> installs another.

    /usr/bin/python3 -m pytest -q tests/scripts/test_capi_install.py
"""
import glob
import os
import re
import shutil
import subprocess

import pytest

TIMEOUT_S = 180  # conftest.py; the module's set-up (install, the consumer's build) has its own

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("WEFT_INSTALL_BUILD", os.path.join(ROOT, "build", "release"))
CAPI = os.path.join(ROOT, "tests", "capi")
HEADER = os.path.join(ROOT, "capi", "include", "weft.h")
PROGRAMS = sorted(os.path.basename(p)[:-2] for p in glob.glob(os.path.join(CAPI, "*.c")))
CFLAGS = ["-std=c11", "-Wall", "-Wextra", "-Wpedantic", "-Werror"]
EXPORTED = re.compile(r"(mt|async|timer)_\w+")  # capi/weft.map's globals
RUN_TIMEOUT_S = 60  # each program; spawn_million, the slowest, takes about 2 s


def run(cmd, timeout, **kwargs):
    """Runs cmd; a failure shows its command line and output."""
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kwargs)
    assert r.returncode == 0, (f"exit {r.returncode}: {' '.join(map(str, cmd))}\n"
                               f"{r.stdout[-4000:]}\n{r.stderr[-4000:]}")
    return r


def program_args(name):
    """`chase_lev 2` (a 2-worker runtime on Chase-Lev queues) for a program whose main takes its
    runtime from the command line (check.h's runtime_from_args), none for one with main(void)."""
    source = open(os.path.join(CAPI, f"{name}.c")).read()
    return [] if re.search(r"\bint\s+main\s*\(\s*void\s*\)", source) else ["chase_lev", "2"]


@pytest.fixture(scope="module")
def prefix(tmp_path_factory):
    """The tree installed into a fresh prefix."""
    if not os.path.exists(os.path.join(BUILD, "cmake_install.cmake")):
        pytest.skip(f"{BUILD} is not configured: `make test-scripts` builds build/release first")
    if not os.path.exists(os.path.join(BUILD, "capi", "libweft.so")):
        pytest.skip(f"{BUILD} has no capi/libweft.so: built before it existed, or a sanitizer "
                    "build")
    dest = tmp_path_factory.mktemp("prefix")
    run(["cmake", "--install", BUILD, "--prefix", dest], timeout=60)
    return dest


@pytest.fixture(scope="module")
def consumer(prefix, tmp_path_factory):
    """tests/capi/consumer/ configured against the prefix and built (on past a failed program:
    each test names its own); returns its build folder and the build's output."""
    build = tmp_path_factory.mktemp("consumer")
    run(["cmake", "-S", os.path.join(CAPI, "consumer"), "-B", build, "-G", "Ninja",
         f"-DCMAKE_PREFIX_PATH={prefix}"], timeout=60)
    r = subprocess.run(["ninja", "-C", build, "-k", "0", "-j", str(os.cpu_count() or 2)],
                       capture_output=True, text=True, timeout=120)
    return build, r.stdout + r.stderr


def test_the_programs_are_found():
    assert "readme_example" in PROGRAMS and "check" not in PROGRAMS


def test_shared_library_exports_only_the_c_api(prefix):
    lib = os.path.join(prefix, "lib", "libweft.so")
    out = run(["nm", "-D", "--defined-only", lib], timeout=30).stdout
    names = []
    for line in out.splitlines():
        kind, name = line.split()[-2:]
        if kind == "A" and re.fullmatch(r"WEFT_[\d.]+", name):
            continue  # a version node's own symbol
        symbol, _, version = name.partition("@@")
        assert EXPORTED.fullmatch(symbol) and version.startswith("WEFT_"), \
            f"libweft.so exports {name}, which is not weft.h's"
        names.append(symbol)
    # And every function weft.h declares is there.
    header = re.sub(r"/\*.*?\*/", "", open(HEADER).read(), flags=re.S)
    declared = set(re.findall(r"^(?!typedef|#)\w[\w\s\*]*?\b(\w+)\s*\(", header, flags=re.M))
    assert "mt_runtime_new" in declared
    assert not declared - set(names), "declared in weft.h, not exported by libweft.so"
    soname = run(["readelf", "-d", lib], timeout=30).stdout
    assert "Library soname: [libweft.so.1]" in soname


@pytest.mark.parametrize("link", ["static", "shared"])
@pytest.mark.parametrize("name", PROGRAMS)
def test_find_package_program_builds_as_c11_and_runs(consumer, name, link):
    build, log = consumer
    exe = os.path.join(build, name if link == "static" else f"{name}_shared")
    assert os.path.exists(exe), f"{name} did not build against weft::weft ({link}):\n{log[-6000:]}"
    # The shared one finds libweft.so through the build's RPATH, as CMake sets it.
    run([exe, *program_args(name)], timeout=RUN_TIMEOUT_S)


@pytest.mark.parametrize("package", ["weft", "weft-static"])
@pytest.mark.parametrize("name", PROGRAMS)
def test_pkg_config_program_builds_as_c11_and_runs(prefix, tmp_path, name, package):
    if shutil.which("pkg-config") is None:
        pytest.skip("pkg-config is not installed (scripts/install-deps.sh installs it)")
    env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(prefix, "lib", "pkgconfig"))
    flags = run(["pkg-config", "--cflags", "--libs", package], timeout=30, env=env).stdout.split()
    exe = tmp_path / name
    run(["cc", *CFLAGS, os.path.join(CAPI, f"{name}.c"), "-o", exe, *flags], timeout=60)
    needed = run(["readelf", "-d", exe], timeout=30).stdout
    assert ("[libweft.so.1]" in needed) == (package == "weft")
    env = dict(os.environ, LD_LIBRARY_PATH=os.path.join(prefix, "lib"))
    run([exe, *program_args(name)], timeout=RUN_TIMEOUT_S, env=env)
