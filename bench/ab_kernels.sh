#!/usr/bin/env bash
#===- bench/ab_kernels.sh - Kernel benchmark of several builds, alternated -===#
#
# Runs on the GPU machine, from the repository root: the kernel benchmark
# (bench/gpu_kernels.py run) on each directory that `gpu_kernels.py prepare`
# wrote, one after the other, ROUNDS times (default 2), so that builds of
# the same cases (before and after a change) are timed side by side on one
# GPU. Each run's results go to $OUT/<directory name>-<round>.json and its
# output to $OUT/ab.log.
#
#   bench/ab_kernels.sh gpu-run/bench-base gpu-run/bench-new
#
#===----------------------------------------------------------------------===#
set -uo pipefail
OUT="${OUT:-gpu-run/out}"
ROUNDS="${ROUNDS:-2}"
mkdir -p "$OUT"
status=0
for round in $(seq 1 "$ROUNDS"); do
  for dir in "$@"; do
    name=$(basename "$dir")
    echo "== $name, round $round" | tee -a "$OUT/ab.log"
    python bench/gpu_kernels.py run "$dir" >>"$OUT/ab.log" 2>&1 || status=1
    cp "$dir/results.json" "$OUT/$name-$round.json" 2>/dev/null || status=1
  done
done
exit $status
