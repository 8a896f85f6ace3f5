#!/usr/bin/env bash
#===- scripts/setup.sh - Install everything tesa needs ---------------------===#
#
# Idempotent: installs Debian's MLIR/LLVM 22 packages and build tools with
# apt-get (only when something is missing), then makes the Python virtual
# environment in .venv for lit and python/. Safe to run again and again.
#
#===------------------------------------------------------------------------===#
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

PACKAGES=(
  llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools clang-22 lld-22
  cmake ninja-build g++ libgtest-dev python3 python3-venv rocm-device-libs
  libclang-rt-22-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Python environment for python/ and its tests.
VENV="$ROOT/.venv"
if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV"
  /usr/bin/python3 -m venv "$VENV"
fi
# The pinned packages of python/requirements.txt (numpy, pytest, matplotlib,
# and PyTorch with torch-mlir for tesa.torch), installed again only when the
# file changes.
REQUIREMENTS="$ROOT/python/requirements.txt"
STAMP="$VENV/.tesa-requirements"
if ! cmp -s "$REQUIREMENTS" "$STAMP"; then
  echo "setup: installing python/requirements.txt into $VENV (PyTorch: about 3 GB)"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$REQUIREMENTS"
  cp "$REQUIREMENTS" "$STAMP"
fi
if ! "$VENV/bin/python" -c "import tesa" 2>/dev/null; then
  "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps -e "$ROOT/python"
fi
echo "setup: ok"
