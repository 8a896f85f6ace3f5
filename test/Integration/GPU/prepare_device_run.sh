#!/usr/bin/env bash
#===- test/Integration/GPU/prepare_device_run.sh - Build what a GPU run needs -===#
#
# Compiles, on this machine, everything device_run.sh runs on the GPU machine,
# into gpu-run/ (ignored by git; name it in the device tool's `carry`):
# the GPU suite's libraries, the demo MLP, the runtime's unit tests and the
# commit they were built at.
#
#   prepare_device_run.sh [--only-suite LIBS]
#
# --only-suite: only the suite's libraries LIBS (comma-separated names, as
# `suite.py prepare --only` takes them), for a run that fits the 64 MiB the
# device tool carries.
#
#===----------------------------------------------------------------------===#
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
cd "$ROOT"
ONLY=()
case "${1:-}" in
  --only-suite) ONLY=(--only "${2:?--only-suite needs a list of libraries}") ;;
  "") ;;
  *) echo "usage: $0 [--only-suite LIBS]" >&2; exit 1 ;;
esac
OUT=gpu-run
mkdir -p "$OUT/demo"
grep -qx '/gpu-run/' .git/info/exclude 2>/dev/null || echo '/gpu-run/' >> .git/info/exclude
ninja -C build tesa-compile TesaRuntimeTests >/dev/null
.venv/bin/python test/Integration/GPU/suite.py prepare "$OUT/suite" \
  --seeded-inputs=false "${ONLY[@]}"
build/bin/tesa-compile examples/mlp.mlir --target=nvvm --chip=sm_90 -o "$OUT/demo/mlp.so"
cp build/test/Unit/TesaRuntimeTests "$OUT/"
git rev-parse --short HEAD > "$OUT/COMMIT"
git diff --quiet HEAD -- lib include tools || echo "(with uncommitted changes)" >> "$OUT/COMMIT"
du -sh "$OUT"
