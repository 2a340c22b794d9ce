#!/usr/bin/env bash
# Installs the Debian packages Weft needs, only those missing. Idempotent; uses sudo only when not
# root. Called first by `make test` and `make bench`.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build git valgrind
  libgtest-dev libgmock-dev libbenchmark-dev libabsl-dev libfmt-dev
  python3-pandas python3-matplotlib python3-scipy python3-pytest
  python3-nbconvert python3-ipykernel
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null; then
    echo "install-deps: need root or sudo to install: ${missing[*]}" >&2
    exit 1
  fi
  SUDO="sudo"
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get install -y --no-install-recommends "${missing[@]}"; then
  $SUDO apt-get update
  $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi
