#!/usr/bin/env bash
# Installs the Debian packages Weft needs, only those missing. Idempotent; uses sudo only when not
# root. Called first by `make test` and `make bench`; `make test-windows` calls it with --windows,
# which also installs the mingw-w64 cross compiler, Wine and GoogleTest's sources (for mingw).
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build git valgrind pkg-config
  libgtest-dev libgmock-dev libbenchmark-dev libabsl-dev libfmt-dev liburing-dev
  python3-pandas python3-matplotlib python3-scipy python3-pytest
  python3-nbconvert python3-ipykernel
  # Slurm and MUNGE: tests/scripts/test_slurm_sweep.py runs a private single-node cluster
  # (its own key, config, ports and state; the system's services are not used).
  munge slurmctld slurmd slurm-client
)
if [ "${1:-}" = "--windows" ]; then
  PACKAGES+=(g++-mingw-w64-x86-64-posix wine64 googletest)
elif [ $# -gt 0 ]; then
  echo "usage: $0 [--windows]" >&2
  exit 2
fi
# The peers' toolchains (harness/peers): Tokio through Debian's cargo and vendored crates (built
# offline), Go, Boost.Asio, libuv, oneTBB. A failed install of these is a warning, not an error:
# weft-bench then skips the peer with one line naming what is missing.
PEER_PACKAGES=(
  cargo rustc librust-tokio-dev golang-go libboost-dev libuv1-dev libtbb-dev
)

missing_of() {
  local pkg
  for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
      echo "$pkg"
    fi
  done
}
mapfile -t missing < <(missing_of "${PACKAGES[@]}")
mapfile -t missing_peers < <(missing_of "${PEER_PACKAGES[@]}")

if [ ${#missing[@]} -eq 0 ] && [ ${#missing_peers[@]} -eq 0 ]; then
  echo "install-deps: all $(( ${#PACKAGES[@]} + ${#PEER_PACKAGES[@]} )) packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null; then
    echo "install-deps: need root or sudo to install: ${missing[*]} ${missing_peers[*]}" >&2
    exit 1
  fi
  SUDO="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
# apt_install PKG...: installs, refreshing the package lists once if the first try fails.
updated=0
apt_install() {
  $SUDO apt-get install -y --no-install-recommends "$@" && return 0
  if [ "$updated" -eq 0 ]; then
    updated=1
    $SUDO apt-get update && $SUDO apt-get install -y --no-install-recommends "$@" && return 0
  fi
  return 1
}
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  apt_install "${missing[@]}"
fi
if [ ${#missing_peers[@]} -gt 0 ]; then
  echo "install-deps: installing the peers' toolchains: ${missing_peers[*]}"
  apt_install "${missing_peers[@]}" ||
    echo "install-deps: warning: could not install ${missing_peers[*]}; weft-bench skips the peers that need them" >&2
fi
