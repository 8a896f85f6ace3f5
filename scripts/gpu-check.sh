#!/bin/sh
# Runs on the GPU machine (see docs/codegen.md, "Correctness"): the GPU
# suite prepared in gpu-run/suite, compute-sanitizer on its `regions`
# library, and the whole-model benchmark prepared in gpu-run/bench, with
# logs and results under $OUT (default: gpu-run/out).
#
#   .venv/bin/python test/Integration/GPU/suite.py prepare gpu-run/suite   # here
#   .venv/bin/python bench/model_bench.py prepare gpu-run/bench --only ...  # here
#   scripts/gpu-check.sh [suite libraries] [model patterns]               # GPU
set -u
OUT=${OUT:-gpu-run/out}
mkdir -p "$OUT"
only_suite=${1:-}
only_models=${2:-}
status=0
if [ -d gpu-run/suite ]; then
  python test/Integration/GPU/suite.py run gpu-run/suite \
    ${only_suite:+--only "$only_suite"} >"$OUT/suite.log" 2>&1 || status=1
  tail -3 "$OUT/suite.log"
  for tool in memcheck racecheck; do
    compute-sanitizer --tool "$tool" --error-exitcode 3 \
      python test/Integration/GPU/suite.py run gpu-run/suite --sanitize \
      --only "${only_suite:-regions}" >"$OUT/$tool.log" 2>&1
    rc=$?
    [ $rc -eq 0 ] || status=1
    echo "$tool (exit status $rc):"
    grep "SUMMARY" "$OUT/$tool.log" | tail -1
  done
fi
if [ -d gpu-run/bench ]; then
  python bench/model_bench.py run gpu-run/bench \
    ${only_models:+--only "$only_models"} --out "$OUT/models.json" \
    >"$OUT/models.log" 2>&1 || status=1
  tail -60 "$OUT/models.log"
fi
exit $status
