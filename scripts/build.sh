#!/usr/bin/env bash
#===- scripts/build.sh - Set up, configure and build tesa -----------------===#
#
# Runs scripts/setup.sh, configures build/ (CMake + Ninja against Debian's
# MLIR 22) and builds tesa-opt, the libraries and the unit tests.
# Environment: BUILD_DIR (default build), BUILD_TYPE (default Release).
#
#===----------------------------------------------------------------------===#
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"

"$ROOT/scripts/setup.sh"
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja \
    -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-Release}" \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit >/dev/null
fi
ninja -C "$BUILD_DIR" "$@"
