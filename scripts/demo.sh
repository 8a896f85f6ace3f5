#!/usr/bin/env bash
#===- scripts/demo.sh - Set up, build and run tesa on the examples --------===#
#
# The main job: reads every examples/*.mlir model, verifies its encodings,
# propagates them through the whole program and prints the propagation
# report (per tensor: pruned share and bits before and after, and why).
# Then compiles the example MLP into a shared library with tesa-compile and
# runs it: on a machine with an NVIDIA GPU it prints tesa's latency beside
# PyTorch's dense latency and the largest error against float64; without
# one it says that no GPU was found.
#
#===----------------------------------------------------------------------===#
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"

"$ROOT/scripts/build.sh" tesa-opt tesa-compile >/dev/null
for model in "$ROOT"/examples/*.mlir; do
  echo "== ${model#$ROOT/}"
  "$BUILD_DIR/bin/tesa-opt" "$model" --tesa-propagate="report=-" -o /dev/null
  echo
done

DEMO_DIR="$BUILD_DIR/demo"
mkdir -p "$DEMO_DIR"
echo "== tesa-compile examples/mlp.mlir --target=nvvm --chip=sm_90 -o ${DEMO_DIR#$ROOT/}/mlp.so"
"$BUILD_DIR/bin/tesa-compile" "$ROOT/examples/mlp.mlir" --target=nvvm \
  --chip=sm_90 -o "$DEMO_DIR/mlp.so"
"$ROOT/.venv/bin/python" "$ROOT/examples/run_mlp.py" "$DEMO_DIR/mlp.so" \
  "$ROOT/examples/mlp.mlir"
