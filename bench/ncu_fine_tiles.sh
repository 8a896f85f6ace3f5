#!/usr/bin/env bash
#===- bench/ncu_fine_tiles.sh - Nsight Compute on fine f16 tensor-core parts ===#
#
# Runs on the GPU machine, from the repository root: Nsight Compute on the
# compute kernel (`part0`) of each named case of a directory that
# `bench/gpu_kernels.py prepare` wrote (default: the decode steps at 90% and
# 50%), called once through bench/profile_parts.py: its time, occupancy,
# instructions, L2 and DRAM traffic and the stall reasons that are not
# negligible.
#
#   bench/ncu_fine_tiles.sh gpu-run/fine16 fine_f16prog_decode_90
#
#===----------------------------------------------------------------------===#
set -uo pipefail
export PATH="$PATH:/usr/local/cuda/bin"
dir=$1; shift
cases=("$@")
[ ${#cases[@]} -eq 0 ] && cases=(fine_f16prog_decode_90 fine_f16prog_decode_50)
metrics='regex:smsp__average_warps_issue_stalled_.*_per_issue_active\.ratio,sm__warps_active.avg.pct_of_peak_sustained_active,smsp__inst_executed.sum,sm__throughput.avg.pct_of_peak_sustained_elapsed,lts__throughput.avg.pct_of_peak_sustained_elapsed,dram__bytes_read.sum,lts__t_bytes.sum,gpu__time_duration.sum,launch__registers_per_thread,launch__occupancy_limit_registers,launch__occupancy_limit_shared_mem'
for name in "${cases[@]}"; do
  echo "=== $dir $name"
  ncu --metrics "$metrics" -k regex:'^part0$' -c 1 \
    python bench/profile_parts.py case "$dir" "$name" 2>&1 |
    grep -E 'relative error|stalled|warps_active|inst_executed|throughput|bytes|duration|registers|occupancy' |
    awk '{$1=$1};1' |
    grep -vE 'stalled_[a-z_]+_per_issue_active.ratio inst 0(\.0[0-9])?$'
done
