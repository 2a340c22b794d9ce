#!/usr/bin/env bash
# Runs a command that starts Windows programs under wine64 (make test-windows: ctest over the
# mingw-w64 build, then tests/scripts/test_windows_echo.py), in a private Wine prefix in a temporary
# directory, with one persistent wineserver and Wine's system processes started before the command
# and stopped after it. Started by a test instead, those processes would inherit that test's output
# pipe and keep it open, and ctest would wait for the pipe until the test's timeout (seen: a suite
# that passed in 0.4 s "timed out" after 300 s). Each test's start is also cheaper with them running
# (0.4 s instead of 1.2 s).
#   scripts/with-wine.sh COMMAND [ARGS...]
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARGS...]" >&2; exit 2; }
wine=/usr/lib/wine/wine64
server=/usr/lib/wine/wineserver64
if [ ! -x "$wine" ]; then
  echo "with-wine: $wine not found (scripts/install-deps.sh --windows)" >&2
  exit 2
fi
export WINEPREFIX WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
WINEPREFIX=$(mktemp -d "${TMPDIR:-/tmp}/weft-wine.XXXXXX")
cleanup() {
  "$server" -k 2>/dev/null || true
  rm -rf "$WINEPREFIX"
}
trap cleanup EXIT
"$server" -p </dev/null >/dev/null 2>&1
"$wine" wineboot --init </dev/null >/dev/null 2>&1
echo "with-wine: $("$wine" --version </dev/null 2>/dev/null), prefix $WINEPREFIX"
export WEFT_WINE64="$wine"
"$@"
