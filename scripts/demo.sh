#!/usr/bin/env bash
#===- scripts/demo.sh - Set up, build and run tesa on the examples --------===#
#
# The main job: reads every examples/*.mlir model, verifies its encodings,
# propagates them through the whole program and prints the propagation
# report (per tensor: pruned share and bits before and after, and why).
#
#===----------------------------------------------------------------------===#
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"

"$ROOT/scripts/build.sh" tesa-opt >/dev/null
for model in "$ROOT"/examples/*.mlir; do
  echo "== ${model#$ROOT/}"
  "$BUILD_DIR/bin/tesa-opt" "$model" --tesa-propagate="report=-" -o /dev/null
  echo
done
