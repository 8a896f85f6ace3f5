#!/bin/sh
# Nsight Compute profile of the kernels one model of a `model_bench.py
# prepare` folder launches (run on the GPU machine):
#
#   sh bench/ncu_model.sh DIR NAME [KERNEL_REGEX]
#
# Writes under $OUT (default gpu-run/out): NAME.ncu-rep (every section of
# the full set, source counters included), NAME-details.txt (the report's
# sections as text) and NAME-sass.csv (every SASS instruction of every
# profiled kernel with its executions and warp stall samples), for finding
# which instructions a kernel waits on.
set -u
dir=$1
name=$2
kernels=${3:-regex:.*}
OUT=${OUT:-gpu-run/out}
mkdir -p "$OUT"
PYTHONPATH=python ncu --set full --import-source yes --kernel-name "$kernels" \
  -f -o "$OUT/$name" python bench/call_model.py "$dir" "$name" --calls 1 \
  >"$OUT/$name-ncu.log" 2>&1 || { tail -20 "$OUT/$name-ncu.log"; exit 1; }
ncu --import "$OUT/$name.ncu-rep" --page details >"$OUT/$name-details.txt"
ncu --import "$OUT/$name.ncu-rep" --page source --csv --print-source sass \
  >"$OUT/$name-sass.csv" 2>&1 || true
grep -E "^  [a-zA-Z_0-9]+|Duration|Achieved Occupancy|Registers Per|Theoretical Occ|Executed Ipc A|Warp Cycles Per Issued" \
  "$OUT/$name-details.txt" | head -80
