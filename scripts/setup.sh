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
# matplotlib draws docs/benchmarks.png (bench/plot_benchmarks.py).
if ! "$VENV/bin/python" -c "import numpy, pytest, matplotlib" 2>/dev/null; then
  "$VENV/bin/pip" install -q --disable-pip-version-check numpy pytest matplotlib
fi
# On a machine with an NVIDIA GPU, the demo and the GPU suite compare with
# PyTorch and pass it CUDA tensors.
if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1 &&
   ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
  echo "setup: NVIDIA GPU found, installing PyTorch into $VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check torch
fi
if ! "$VENV/bin/python" -c "import tesa" 2>/dev/null; then
  "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps -e "$ROOT/python"
fi
echo "setup: ok"
