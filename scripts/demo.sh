#!/usr/bin/env bash
#===- scripts/demo.sh - Set up, build and run tesa on the examples --------===#
#
# The main job: reads every examples/*.mlir model, verifies its encodings and
# prints a per-tensor sparsity summary.
#
#===----------------------------------------------------------------------===#
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"

"$ROOT/scripts/build.sh" tesa-opt >/dev/null
for model in "$ROOT"/examples/*.mlir; do
  echo "== ${model#$ROOT/}"
  "$BUILD_DIR/bin/tesa-opt" "$model" --tesa-sparsity-summary -o /dev/null
  echo
done
