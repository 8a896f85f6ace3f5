#!/bin/sh
# Runs on the GPU machine (see docs/codegen.md, "Correctness"): the GPU
# suite prepared in gpu-run/suite, compute-sanitizer on some of its
# libraries, the whole-model benchmark prepared in gpu-run/bench and the
# demo's MLP compiled into gpu-run/demo, with logs and results under $OUT
# (default: gpu-run/out).
#
#   .venv/bin/python test/Integration/GPU/suite.py prepare gpu-run/suite   # here
#   .venv/bin/python bench/model_bench.py prepare gpu-run/bench [--only ...] # here
#   build/bin/tesa-compile examples/mlp.mlir --target=nvvm --chip=sm_90 \
#     -o gpu-run/demo/mlp.so                                             # here
#   scripts/gpu-check.sh [suite libraries] [model patterns]               # GPU
#
# Environment: SANITIZE, the suite libraries compute-sanitizer runs
# (default: the first argument, else `regions`); COMPILED, the model
# patterns also timed beside torch.compile (max-autotune-no-cudagraphs) in
# a second pass, into models-compile.json (default: none; the first pass
# runs without it).
set -u
OUT=${OUT:-gpu-run/out}
mkdir -p "$OUT"
only_suite=${1:-}
only_models=${2:-}
sanitize=${SANITIZE:-${only_suite:-regions}}
status=0
if [ -d gpu-run/suite ]; then
  python test/Integration/GPU/suite.py run gpu-run/suite \
    ${only_suite:+--only "$only_suite"} >"$OUT/suite.log" 2>&1 || status=1
  tail -3 "$OUT/suite.log"
  for tool in memcheck racecheck synccheck; do
    compute-sanitizer --tool "$tool" --error-exitcode 3 \
      python test/Integration/GPU/suite.py run gpu-run/suite --sanitize \
      --only "$sanitize" >"$OUT/$tool.log" 2>&1
    rc=$?
    [ $rc -eq 0 ] || status=1
    echo "$tool (exit status $rc):"
    grep "SUMMARY" "$OUT/$tool.log" | tail -1
  done
fi
if [ -d gpu-run/bench ]; then
  python bench/model_bench.py run gpu-run/bench --torch-compile off \
    ${only_models:+--only "$only_models"} --out "$OUT/models.json" \
    >"$OUT/models.log" 2>&1 || status=1
  tail -20 "$OUT/models.log"
  if [ -n "${COMPILED:-}" ]; then
    python bench/model_bench.py run gpu-run/bench --only "$COMPILED" \
      --out "$OUT/models-compile.json" >"$OUT/models-compile.log" 2>&1 ||
      status=1
    tail -8 "$OUT/models-compile.log"
  fi
fi
if [ -f gpu-run/demo/mlp.so ]; then
  PYTHONPATH=python python examples/run_mlp.py gpu-run/demo/mlp.so \
    examples/mlp.mlir >"$OUT/demo.log" 2>&1 || status=1
  cat "$OUT/demo.log"
fi
exit $status
